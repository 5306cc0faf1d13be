//! systemd timers: every `.timer` in the system and user unit directories, joined to the
//! service it activates (`Unit=` or the same name with `.service`, templates `foo@x` →
//! `foo@.service`) and that service's `ExecStart`, `User=` and working directory. Enabled
//! means a `*.wants/` (or `.requires/`) link names the timer. Directories are searched in
//! systemd's order of precedence, so a timer shadowed by one of the same name earlier in the
//! path says so; a file reached twice (`/lib` → `/usr/lib` on merged-usr systems) is read once.

use super::systemd_schedule::{link_matches, summarize, template_of, triggers};
use super::{Ingested, Run, join_argv};
use crate::collectors::CollectError;
use crate::parsers::systemd_unit::{UnitFile, parse_unit, timer_target_unit};
use crate::record::{
    ActionKind, ParseStatus, ScheduledAction, ScheduledKind, ScheduledTaskRecord, SystemdDetail,
    UnitScope,
};
use crate::source::{FileType, SourceError};
use std::collections::{BTreeMap, HashMap, HashSet};
use std::path::{Path, PathBuf};

/// System unit directories, highest precedence first (systemd.unit(5)).
const SYSTEM_DIRS: [&str; 6] = [
    "/etc/systemd/system",
    "/run/systemd/transient",
    "/run/systemd/system",
    "/usr/local/lib/systemd/system",
    "/usr/lib/systemd/system",
    "/lib/systemd/system",
];
/// Unit directories every user's manager reads, after the user's own.
const GLOBAL_USER_DIRS: [&str; 4] = [
    "/etc/systemd/user",
    "/usr/local/lib/systemd/user",
    "/usr/lib/systemd/user",
    "/lib/systemd/user",
];
/// Link directories that enable a unit.
const LINK_DIR_SUFFIXES: [&str; 3] = [".wants", ".requires", ".upholds"];

/// One unit directory, listed once.
struct UnitDir {
    transient: bool,
    /// Unit name → (logical path, is a symlink).
    units: BTreeMap<String, (PathBuf, bool)>,
    /// Enabling links: (unit name the link carries, display path of the link).
    links: Vec<(String, String)>,
    /// Drop-ins: unit name → (`*.conf` file name, logical path), from `<unit>.d/`.
    dropins: BTreeMap<String, Vec<(String, PathBuf)>>,
}

/// Directories searched together, in precedence order: the system manager, or one user's.
struct Group {
    scope: UnitScope,
    user: Option<String>,
    /// Indexes into the scanned directories.
    dirs: Vec<usize>,
    /// Timers are recorded only from these (global user dirs belong to every user's group
    /// but are recorded once, in their own group).
    own: Vec<usize>,
}

/// A service already read (copied once even if several timers activate it).
struct ServiceInfo {
    display: String,
    drop_ins: Vec<String>,
    member: Option<String>,
    sha256: Option<crate::record::Sha256>,
    unit: Option<UnitFile>,
    error: Option<String>,
}

pub(super) fn collect(run: &mut Run) -> Result<(), CollectError> {
    let mut dirs: Vec<UnitDir> = Vec::new();
    let mut scan = |run: &mut Run, logical: PathBuf, transient: bool| -> Option<usize> {
        let d = scan_dir(run, logical, transient)?;
        dirs.push(d);
        Some(dirs.len() - 1)
    };
    let system: Vec<usize> = SYSTEM_DIRS
        .iter()
        .filter_map(|d| scan(run, PathBuf::from(d), d.contains("/transient")))
        .collect();
    let global_user: Vec<usize> = GLOBAL_USER_DIRS
        .iter()
        .filter_map(|d| scan(run, PathBuf::from(d), false))
        .collect();
    let mut groups = vec![
        Group {
            scope: UnitScope::System,
            user: None,
            dirs: system.clone(),
            own: system,
        },
        Group {
            scope: UnitScope::User,
            user: None,
            dirs: global_user.clone(),
            own: global_user.clone(),
        },
    ];
    let mut homes_seen = HashSet::new();
    for u in run.ctx.fs.users() {
        if !homes_seen.insert(u.home.clone()) {
            continue;
        }
        let mut own = Vec::new();
        own.extend(scan(run, u.home.join(".config/systemd/user"), false));
        if let Some(uid) = u.uid {
            own.extend(scan(
                run,
                PathBuf::from(format!("/run/user/{uid}/systemd/transient")),
                true,
            ));
        }
        if own.is_empty() {
            continue;
        }
        let mut all = own.clone();
        all.extend(global_user.iter().copied());
        groups.push(Group {
            scope: UnitScope::User,
            user: Some(u.name.clone()),
            dirs: all,
            own,
        });
    }

    let mut seen_files: HashSet<(u64, u64)> = HashSet::new();
    let mut services: HashMap<PathBuf, ServiceInfo> = HashMap::new();
    for g in &groups {
        for &di in &g.own {
            let names: Vec<(String, PathBuf, bool)> = dirs[di]
                .units
                .iter()
                .filter(|(n, _)| n.ends_with(".timer"))
                .map(|(n, (p, l))| (n.clone(), p.clone(), *l))
                .collect();
            for (name, path, is_link) in names {
                if run.stopped() {
                    return Ok(());
                }
                timer(
                    run,
                    &dirs,
                    g,
                    di,
                    &name,
                    &path,
                    is_link,
                    &mut seen_files,
                    &mut services,
                )?;
            }
        }
    }
    Ok(())
}

fn scan_dir(run: &mut Run, logical: PathBuf, transient: bool) -> Option<UnitDir> {
    let entries = run.list_dir(&logical)?;
    let mut d = UnitDir {
        transient,
        units: BTreeMap::new(),
        links: Vec::new(),
        dropins: BTreeMap::new(),
    };
    for e in entries {
        let name = e.name.to_string_lossy().into_owned();
        let ft = e.meta.as_ref().map(|m| m.file_type).ok();
        let is_dir = ft == Some(FileType::Directory);
        if is_dir && LINK_DIR_SUFFIXES.iter().any(|s| name.ends_with(s)) {
            // Links are only named here, never followed: the name is the unit enabled.
            for l in run.list_dir(&e.path).unwrap_or_default() {
                let lname = l.name.to_string_lossy().into_owned();
                if lname.ends_with(".timer") {
                    let shown = run.display(&l.path);
                    d.links.push((lname, shown));
                }
            }
            continue;
        }
        if is_dir
            && let Some(unit) = name
                .strip_suffix(".d")
                .filter(|u| u.ends_with(".timer") || u.ends_with(".service"))
        {
            let confs: Vec<(String, PathBuf)> = run
                .list_dir(&e.path)
                .unwrap_or_default()
                .into_iter()
                .map(|c| (c.name.to_string_lossy().into_owned(), c.path))
                .filter(|(n, _)| n.ends_with(".conf"))
                .collect();
            d.dropins.insert(unit.to_string(), confs);
            continue;
        }
        if (name.ends_with(".timer") || name.ends_with(".service"))
            && matches!(ft, Some(FileType::Regular | FileType::Symlink))
        {
            d.units
                .insert(name, (e.path.clone(), ft == Some(FileType::Symlink)));
        }
    }
    Some(d)
}

#[allow(clippy::too_many_arguments)]
fn timer(
    run: &mut Run,
    dirs: &[UnitDir],
    g: &Group,
    di: usize,
    name: &str,
    logical: &Path,
    is_link: bool,
    seen: &mut HashSet<(u64, u64)>,
    services: &mut HashMap<PathBuf, ServiceInfo>,
) -> Result<(), CollectError> {
    let display = run.display(logical);
    let mut rec = ScheduledTaskRecord::new(
        ScheduledKind::SystemdTimer,
        name.to_string(),
        display.clone(),
    );
    let mut masked = false;
    let opened = match run.ctx.fs.open(logical) {
        Ok(f) => Some(f),
        // A unit linked to /dev/null is masked: systemd will not start it. A dangling link
        // (the target missing, e.g. /dev/null absent from an image) reads the same way.
        Err(e @ SourceError::NotRegular { .. }) if is_link => {
            masked = true;
            rec.parse_error = Some(e.to_string());
            None
        }
        Err(e) if is_link && e.is_not_found() => {
            masked = true;
            rec.parse_error = Some(format!("{e} (dangling link, or masked to /dev/null)"));
            None
        }
        Err(e) => {
            run.report_open_error(logical, &e);
            return Ok(());
        }
    };
    let mut unit = None;
    let mut timer_drop_ins = Vec::new();
    if let Some(f) = opened {
        if let (Some(dev), Some(ino)) = (f.meta.dev, f.meta.inode)
            && !seen.insert((dev, ino))
        {
            // Same file reached through another directory (/lib → /usr/lib): one record.
            return Ok(());
        }
        let keep = run.parse_keep();
        let file = run.stream(logical, f, keep)?;
        file.fill(&mut rec);
        if let Some(why) = file.incomplete() {
            rec.parse_status = ParseStatus::Partial;
            rec.parse_error = Some(why.clone());
            run.out.error(why);
        }
        let (parsed, drop_ins) = parse_with_dropins(run, dirs, g, name, &file.outcome.kept)?;
        unit = Some(parsed);
        timer_drop_ins = drop_ins;
    } else {
        rec.parse_status = ParseStatus::Failed;
    }

    // Precedence: the first directory of the group holding this name wins.
    let overridden_by = g
        .dirs
        .iter()
        .take_while(|&&d| d != di)
        .find_map(|&d| dirs[d].units.get(name))
        .map(|(p, _)| run.display(p));
    let enabled_by: Vec<String> = g
        .dirs
        .iter()
        .flat_map(|&d| dirs[d].links.iter())
        .filter(|(l, _)| link_matches(l, name))
        .map(|(_, shown)| shown.clone())
        .collect();
    let transient = dirs[di].transient;

    let timer_spec = unit
        .as_ref()
        .and_then(|u| u.timer.clone())
        .unwrap_or_default();
    if unit.as_ref().is_some_and(|u| u.timer.is_none()) {
        rec.warnings
            .push("no [Timer] section: the timer never fires".into());
    }
    let service_unit = timer_target_unit(name, &timer_spec);
    let has_install = unit
        .as_ref()
        .is_some_and(|u| u.sections.iter().any(|s| s.name == "Install"));
    rec.enabled = if masked {
        Some(false)
    } else if transient || !enabled_by.is_empty() {
        Some(true)
    } else if has_install {
        Some(false)
    } else {
        // A static timer (no [Install]) is started by whatever pulls it in: unknown here.
        None
    };
    if let Some(u) = &unit {
        rec.description = u.description.clone();
        rec.warnings
            .extend(u.warnings.iter().map(|w| w.to_string()));
    }
    rec.triggers = triggers(&timer_spec);
    rec.schedule = summarize(&timer_spec);

    let svc = find_service(run, dirs, g, &service_unit, services)?;
    let mut detail = SystemdDetail {
        scope: g.scope,
        user: g.user.clone(),
        timer: timer_spec,
        service_unit: service_unit.clone(),
        service_path: None,
        service_archive_member: None,
        service_sha256: None,
        service_description: None,
        service: None,
        wanted_by: unit
            .as_ref()
            .map(|u| u.wanted_by.clone())
            .unwrap_or_default(),
        enabled_by,
        masked,
        overridden_by,
        transient,
        drop_ins: timer_drop_ins,
    };
    let default_user = match g.scope {
        UnitScope::System => Some("root".to_string()),
        UnitScope::User => g.user.clone(),
    };
    rec.run_as = default_user;
    match svc {
        Some(info) => {
            detail.service_path = Some(info.display.clone());
            detail.drop_ins.extend(info.drop_ins.iter().cloned());
            detail.service_archive_member = info.member.clone();
            detail.service_sha256 = info.sha256;
            if let Some(e) = &info.error {
                rec.warnings.push(format!("service {service_unit}: {e}"));
            }
            if let Some(u) = &info.unit {
                detail.service_description = u.description.clone();
                rec.warnings.extend(
                    u.warnings
                        .iter()
                        .map(|w| format!("service {service_unit}: {w}")),
                );
                if let Some(s) = &u.service {
                    if g.scope == UnitScope::System
                        && let Some(user) = &s.user
                    {
                        rec.run_as = Some(user.clone());
                    }
                    rec.actions = s
                        .exec_start
                        .iter()
                        .map(|x| {
                            let args: Vec<&str> =
                                x.argv.iter().skip(1).map(String::as_str).collect();
                            let line = join_argv(
                                std::iter::once(x.path.as_str()).chain(args.iter().copied()),
                            );
                            let (command_line, truncated) = run.clip(&line);
                            ScheduledAction {
                                kind: ActionKind::Exec,
                                command: x.path.clone(),
                                arguments: (!args.is_empty()).then(|| join_argv(args.clone())),
                                working_directory: s.working_directory.clone(),
                                command_line,
                                argv: x.argv.clone(),
                                shell: None,
                                stdin: None,
                                data: None,
                                truncated,
                            }
                        })
                        .collect();
                    detail.service = Some(s.clone());
                } else {
                    rec.warnings
                        .push(format!("{service_unit} has no [Service] section"));
                }
            }
        }
        None => {
            rec.warnings.push(format!(
                "activated unit {service_unit} not found in the unit directories"
            ));
        }
    }
    rec.systemd = Some(Box::new(detail));
    run.emit(rec)
}

fn find_service<'s>(
    run: &mut Run,
    dirs: &[UnitDir],
    g: &Group,
    service: &str,
    cache: &'s mut HashMap<PathBuf, ServiceInfo>,
) -> Result<Option<&'s ServiceInfo>, CollectError> {
    let lookup = |n: &str| {
        g.dirs
            .iter()
            .find_map(|&d| dirs[d].units.get(n))
            .map(|(p, _)| p.clone())
    };
    let found = lookup(service).or_else(|| template_of(service).and_then(|t| lookup(&t)));
    let Some(path) = found else {
        return Ok(None);
    };
    if !cache.contains_key(&path) {
        let keep = run.parse_keep();
        let info = match run.try_ingest(&path, keep)? {
            Ok(file) => service_info(run, dirs, g, service, &file)?,
            Err(e) => ServiceInfo {
                display: run.display(&path),
                drop_ins: Vec::new(),
                member: None,
                sha256: None,
                unit: None,
                error: Some(match e {
                    SourceError::NotRegular { .. } => format!("{e} (masked)"),
                    e => run.explain(&e),
                }),
            },
        };
        cache.insert(path.clone(), info);
    }
    Ok(cache.get(&path))
}

fn service_info(
    run: &mut Run,
    dirs: &[UnitDir],
    g: &Group,
    name: &str,
    file: &Ingested,
) -> Result<ServiceInfo, CollectError> {
    let mut error = None;
    if let Some(why) = file.incomplete() {
        run.out.error(why.clone());
        error = Some(why);
    }
    let (unit, drop_ins) = parse_with_dropins(run, dirs, g, name, &file.outcome.kept)?;
    Ok(ServiceInfo {
        display: file.display.clone(),
        drop_ins,
        member: file.outcome.member.clone(),
        sha256: file.outcome.sha256,
        unit: Some(unit),
        error,
    })
}

/// Parse a unit with its drop-ins applied, as systemd does: every `<unit>.d/*.conf` (and the
/// template's `<foo@.service>.d/`) in the group's directories, a file name in a directory of
/// higher precedence hiding the same name further down, applied in file-name order after the
/// unit itself. Parsing the concatenation gives systemd's semantics, list resets included
/// (`ExecStart=` then a new `ExecStart=` is how an override replaces the command). Each
/// drop-in is copied and hashed; their display paths are returned.
fn parse_with_dropins(
    run: &mut Run,
    dirs: &[UnitDir],
    g: &Group,
    name: &str,
    main: &[u8],
) -> Result<(UnitFile, Vec<String>), CollectError> {
    let mut chosen: BTreeMap<String, PathBuf> = BTreeMap::new();
    let template = template_of(name);
    for &d in &g.dirs {
        for unit in std::iter::once(name).chain(template.as_deref()) {
            for (conf, path) in dirs[d].dropins.get(unit).into_iter().flatten() {
                chosen.entry(conf.clone()).or_insert_with(|| path.clone());
            }
        }
    }
    if chosen.is_empty() {
        return Ok((parse_unit(main), Vec::new()));
    }
    let mut text = main.to_vec();
    let mut shown = Vec::new();
    for path in chosen.values() {
        let keep = run.parse_keep();
        if let Some(f) = run.ingest_keep(path, keep)? {
            text.push(b'\n');
            text.extend_from_slice(&f.outcome.kept);
            shown.push(f.display);
        }
    }
    Ok((parse_unit(&text), shown))
}
