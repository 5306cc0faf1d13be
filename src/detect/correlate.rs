//! Joins across observations — what no single record shows.
//!
//! - [`enrich`]: fills parent and ancestry from the rest of the set (live snapshot by pid, Sysmon
//!   by ProcessGuid), so "script host spawned X" and "Office → shell" rules see the whole chain
//!   even when one event logged only the parent.
//! - Written then run: a staged file (temp_file observation: temp_scripts collector, Sysmon 11)
//!   that is a process image, a script argument, or named in a task / cron / timer / at /
//!   service / history command. The finding points at both records and carries the file hash.
//! - Execution → C2: a script host, shell, LOLBin, or a process running from a temp path or
//!   from memory, holding a connection to a public address (process ↔ connection by pid, or
//!   the image Sysmon 3 logged).
//!
//! The guidance this follows: "Link execution events to subsequent network connections
//! (Sysmon 3) for C2 detection"; "newly written .ps1, .vbs, .js, .bat or .exe files followed
//! quickly by execution" (TA0002 guidance, shared/guidance/000_*.txt).

use std::collections::HashMap;

use super::eval::is_public;
use super::finding::{Finding, MatchedValue};
use super::observation::{
    EvidenceRef, Observation, ObservationKind, image_name, path_in_temp, path_in_user_writable,
    path_tokens, snippet, strip_exe,
};
use super::rules::{Severity, Tactic};

/// Longest ancestry chain rebuilt (also guards against pid/guid loops).
const MAX_DEPTH: usize = 32;

/// Fills `parent_image`, `parent_command_line` and `ancestry` from the rest of the set.
pub fn enrich(obs: &mut [Observation]) {
    // Live snapshot: pid → index of the process observation.
    let by_pid: HashMap<u32, usize> = obs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == ObservationKind::Process)
        .filter_map(|(i, o)| o.pid.map(|p| (p, i)))
        .collect();
    let by_guid: HashMap<String, usize> = obs
        .iter()
        .enumerate()
        .filter(|(_, o)| o.kind == ObservationKind::ProcessEvent)
        .filter_map(|(i, o)| o.process_guid.as_ref().map(|g| (g.to_ascii_lowercase(), i)))
        .collect();
    // (index, parent image + command line, ancestor names)
    type Update = (usize, Option<(String, Option<String>)>, Vec<String>);
    let mut updates: Vec<Update> = Vec::new();
    for (i, o) in obs.iter().enumerate() {
        let parent_of = |j: usize| -> Option<usize> {
            let p = &obs[j];
            match p.kind {
                ObservationKind::Process => p.ppid.and_then(|pp| by_pid.get(&pp).copied()),
                ObservationKind::ProcessEvent => p
                    .parent_process_guid
                    .as_ref()
                    .and_then(|g| by_guid.get(&g.to_ascii_lowercase()).copied()),
                _ => None,
            }
        };
        if !matches!(
            o.kind,
            ObservationKind::Process | ObservationKind::ProcessEvent
        ) {
            continue;
        }
        let mut chain = Vec::new();
        let mut cur = i;
        let mut first_parent = None;
        while chain.len() < MAX_DEPTH {
            match parent_of(cur) {
                Some(p) if p != i && !chain.contains(&p) => {
                    first_parent.get_or_insert(p);
                    chain.push(p);
                    cur = p;
                }
                _ => break,
            }
        }
        if chain.len() <= o.ancestry.len() && o.parent_image.is_some() {
            continue;
        }
        let names: Vec<String> = chain
            .iter()
            .filter_map(|&j| obs[j].image.as_deref().map(image_name))
            .collect();
        let parent = first_parent.and_then(|p| {
            obs[p]
                .image
                .clone()
                .map(|img| (img, obs[p].command_line.clone()))
        });
        updates.push((i, parent, names));
    }
    for (i, parent, names) in updates {
        let o = &mut obs[i];
        if o.parent_image.is_none()
            && let Some((img, cmd)) = parent
        {
            o.parent_image = Some(img);
            if o.parent_command_line.is_none() {
                o.parent_command_line = cmd;
            }
        }
        if names.len() > o.ancestry.len() {
            o.ancestry = names;
        }
    }
}

/// Every join finding over (already enriched) observations.
pub fn correlate(obs: &[Observation]) -> Vec<Finding> {
    let mut out = written_then_run(obs);
    out.extend(exec_to_c2(obs));
    out
}

fn norm_path(p: &str) -> String {
    p.trim()
        .trim_matches(|c| c == '"' || c == '\'')
        .to_lowercase()
        .replace('/', "\\")
}

/// Same file: equal, or one is a suffix of the other at a separator, or the same directory
/// name and file name (`%TEMP%\x.ps1` vs `C:\Users\b\AppData\Local\Temp\x.ps1`).
fn same_file(a: &str, b: &str) -> bool {
    let (a, b) = (norm_path(a), norm_path(b));
    if a == b {
        return true;
    }
    let suffix = |long: &str, short: &str| {
        long.ends_with(short) && long[..long.len() - short.len()].ends_with('\\')
    };
    if suffix(&a, &b) || suffix(&b, &a) {
        return true;
    }
    let last2 = |s: &str| -> Option<(String, String)> {
        let mut it = s.rsplit('\\');
        let f = it.next()?.to_string();
        let d = it.next()?.trim_matches('%').to_string();
        Some((d, f))
    };
    matches!((last2(&a), last2(&b)), (Some(x), Some(y)) if x == y && !x.0.is_empty())
}

/// `C:\...`, `\\server\...`, `/...`, or an environment-variable root (`%TEMP%\...`).
fn is_absolute(p: &str) -> bool {
    let p = p.trim().trim_matches(|c| c == '"' || c == '\'');
    let b = p.as_bytes();
    (b.len() > 2 && b[0].is_ascii_alphabetic() && b[1] == b':' && (b[2] == b'\\' || b[2] == b'/'))
        || p.starts_with("\\\\")
        || p.starts_with('/')
        || p.starts_with('%')
        || p.to_ascii_lowercase().starts_with("$env:")
}

/// Scripts written then run are the guidance's headline chain; binaries dropped in temp and
/// run are also how every updater works, so they weigh less unless a scheduler runs them.
fn is_script(path: &str) -> bool {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    matches!(
        ext.as_str(),
        "ps1"
            | "psm1"
            | "bat"
            | "cmd"
            | "vbs"
            | "vbe"
            | "js"
            | "jse"
            | "wsf"
            | "wsh"
            | "hta"
            | "sh"
            | "bash"
            | "py"
            | "pl"
            | "rb"
            | "php"
            | "sct"
    )
}

/// Parents whose dropped-and-started binary is a dropper's payload rather than an update.
const DROPPER_PARENTS: &[&str] = &[
    "powershell",
    "pwsh",
    "cmd",
    "wscript",
    "cscript",
    "mshta",
    "rundll32",
    "regsvr32",
    "winword",
    "excel",
    "powerpnt",
    "outlook",
    "msaccess",
    "onenote",
    "acrord32",
    "acrobat",
    "hh",
    "wmiprvse",
    "msbuild",
    "certutil",
    "bitsadmin",
];

fn dropped_by_interpreter(runner: &Observation) -> bool {
    runner
        .ancestry
        .first()
        .is_some_and(|p| DROPPER_PARENTS.contains(&strip_exe(p)))
}

fn technique_for(path: &str) -> &'static str {
    let ext = path.rsplit('.').next().unwrap_or("").to_ascii_lowercase();
    match ext.as_str() {
        "ps1" | "psm1" | "psd1" => "T1059.001",
        "bat" | "cmd" => "T1059.003",
        "sh" | "bash" | "zsh" => "T1059.004",
        "vbs" | "vbe" | "wsf" => "T1059.005",
        "py" | "pyc" => "T1059.006",
        "js" | "jse" => "T1059.007",
        "hta" => "T1218.005",
        "dll" | "cpl" | "ocx" => "T1218.011",
        _ => "T1204.002",
    }
}

fn written_then_run(obs: &[Observation]) -> Vec<Finding> {
    let mut by_name: HashMap<String, Vec<usize>> = HashMap::new();
    for (i, o) in obs.iter().enumerate() {
        // Only staged files: a file written under Program Files or System32 by an installer
        // is installation, not staging.
        if o.kind == ObservationKind::TempFile
            && let Some(p) = &o.file_path
            && path_in_user_writable(p)
        {
            by_name.entry(image_name(p)).or_default().push(i);
        }
    }
    if by_name.is_empty() {
        return Vec::new();
    }
    let mut out = Vec::new();
    for runner in obs {
        if matches!(
            runner.kind,
            ObservationKind::TempFile | ObservationKind::NetworkConnection
        ) {
            continue;
        }
        let mut candidates: Vec<&str> = Vec::new();
        candidates.extend(runner.image.as_deref());
        candidates.extend(runner.script_path.as_deref());
        if let Some(cmd) = &runner.command_line {
            candidates.extend(path_tokens(cmd));
        }
        // A bare file name matches any file of that name: only absolute paths join.
        candidates.retain(|c| is_absolute(c));
        let mut done: Vec<usize> = Vec::new();
        for cand in candidates {
            for &t in by_name
                .get(&image_name(cand))
                .map(Vec::as_slice)
                .unwrap_or(&[])
            {
                let file = &obs[t];
                let path = file.file_path.as_deref().unwrap_or("");
                if done.contains(&t) || !same_file(cand, path) {
                    continue;
                }
                done.push(t);
                let mut file_ev = file.evidence.clone();
                if file_ev.sha256.is_none() {
                    file_ev.sha256 = file.file_sha256;
                }
                let mut matched = vec![
                    MatchedValue {
                        field: "file_path".into(),
                        value: snippet(path, 0, path.len(), 200),
                    },
                    MatchedValue {
                        field: format!("{}.path", runner.kind.as_str()),
                        value: snippet(cand, 0, cand.len(), 200),
                    },
                ];
                if let Some(h) = file.file_sha256 {
                    matched.push(MatchedValue {
                        field: "file_sha256".into(),
                        value: h.to_hex(),
                    });
                }
                let scheduled = matches!(
                    runner.kind,
                    ObservationKind::TaskAction
                        | ObservationKind::CronCommand
                        | ObservationKind::TimerCommand
                        | ObservationKind::AtCommand
                        | ObservationKind::ServiceCommand
                );
                let mut techniques = vec![technique_for(path).to_string()];
                if scheduled {
                    techniques.push(
                        match runner.kind {
                            ObservationKind::TaskAction => "T1053.005",
                            ObservationKind::CronCommand => "T1053.003",
                            ObservationKind::TimerCommand => "T1053.006",
                            ObservationKind::AtCommand => "T1053.002",
                            _ => "T1569.002",
                        }
                        .to_string(),
                    );
                }
                out.push(code_finding(
                    "corr-written-then-run",
                    "File written to a temp or user-writable place, then executed",
                    "A staged file is a running image, a script argument or a scheduled command: dropped-then-run is the classic execution chain.",
                    techniques,
                    Tactic::Execution,
                    if scheduled || is_script(path) || dropped_by_interpreter(runner) {
                        Severity::High
                    } else {
                        Severity::Low
                    },
                    runner,
                    vec![runner.evidence.clone(), file_ev],
                    matched,
                ));
            }
        }
    }
    out
}

/// Images whose outbound connection to the internet is itself the signal.
const C2_HOSTS: &[&str] = &[
    "powershell",
    "pwsh",
    "powershell_ise",
    "cmd",
    "wscript",
    "cscript",
    "mshta",
    "rundll32",
    "regsvr32",
    "msbuild",
    "installutil",
    "regasm",
    "regsvcs",
    "cmstp",
    "msiexec",
    "certutil",
    "bitsadmin",
    "hh",
    "wmic",
    "forfiles",
    "pcalua",
    "msxsl",
    "sh",
    "bash",
    "dash",
    "zsh",
    "ksh",
    "nc",
    "ncat",
    "netcat",
    "socat",
    "telnet",
];
/// Interpreters that also make legitimate connections (package managers, tools): medium.
const C2_INTERPRETERS: &[&str] = &[
    "python", "python2", "python3", "perl", "ruby", "php", "node", "lua",
];

fn exec_to_c2(obs: &[Observation]) -> Vec<Finding> {
    let by_pid: HashMap<u32, &Observation> = obs
        .iter()
        .filter(|o| o.kind == ObservationKind::Process)
        .filter_map(|o| o.pid.map(|p| (p, o)))
        .collect();
    let mut out = Vec::new();
    for conn in obs
        .iter()
        .filter(|o| o.kind == ObservationKind::NetworkConnection)
    {
        let Some(addr) = conn.remote_address.as_deref() else {
            continue;
        };
        let public = addr
            .trim()
            .trim_matches(['[', ']'])
            .parse()
            .ok()
            .is_some_and(is_public);
        if !public {
            continue;
        }
        let proc_obs = conn.pid.and_then(|p| by_pid.get(&p).copied());
        let image = conn
            .image
            .as_deref()
            .or(proc_obs.and_then(|p| p.image.as_deref()));
        let Some(image) = image else { continue };
        let name = image_name(image);
        let base = strip_exe(&name);
        // Versioned interpreter names (python3.11) count as their family.
        let family = base.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
        let fileless = proc_obs.is_some_and(|p| p.image_fileless);
        // Script hosts, shells and memory-only images calling out are the chain itself; a
        // binary in temp calling out is also every updater, so it weighs less.
        let severity = if C2_HOSTS.contains(&base) || fileless {
            Severity::High
        } else if path_in_temp(image)
            || C2_INTERPRETERS.contains(&base)
            || C2_INTERPRETERS.contains(&family)
        {
            Severity::Medium
        } else {
            continue;
        };
        let remote = match conn.remote_port {
            Some(p) => format!("{addr}:{p}"),
            None => addr.to_string(),
        };
        let mut evidence = vec![conn.evidence.clone()];
        if let Some(p) = proc_obs {
            evidence.push(p.evidence.clone());
        }
        let mut matched = vec![
            MatchedValue {
                field: "image".into(),
                value: snippet(image, 0, image.len(), 200),
            },
            MatchedValue {
                field: "remote".into(),
                value: remote.clone(),
            },
        ];
        if let Some(cmd) = proc_obs.and_then(|p| p.command_line.as_deref()) {
            matched.push(MatchedValue {
                field: "command_line".into(),
                value: snippet(cmd, 0, 0, 200),
            });
        }
        let mut f = code_finding(
            "corr-exec-to-c2",
            "Script host, shell or temp-path process connected to a public address",
            "An interpreter or staged binary holding an internet connection is the execution → C2 step (user action → script → callback).",
            vec!["T1059".into(), "T1071".into()],
            Tactic::CommandAndControl,
            severity,
            conn,
            evidence,
            matched,
        );
        f.summary = snippet(&format!("{image} → {remote}"), 0, 0, 300);
        out.push(f);
    }
    out
}

#[allow(clippy::too_many_arguments)]
fn code_finding(
    id: &str,
    title: &str,
    description: &str,
    techniques: Vec<String>,
    tactic: Tactic,
    severity: Severity,
    about: &Observation,
    evidence: Vec<EvidenceRef>,
    matched: Vec<MatchedValue>,
) -> Finding {
    Finding {
        rule_id: id.to_string(),
        title: title.to_string(),
        description: description.to_string(),
        techniques,
        tactic,
        tactic_id: tactic.id().to_string(),
        severity,
        observation_kind: about.kind,
        summary: about.label(),
        evidence,
        occurrences: 1,
        matched,
        decoded: None,
        rule_origin: "builtin:correlate".to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn same_file_matches_env_and_suffix_forms() {
        assert!(same_file(
            "%TEMP%\\x.ps1",
            "C:\\Users\\b\\AppData\\Local\\Temp\\x.ps1"
        ));
        assert!(same_file("/tmp/a.sh", "/tmp/a.sh"));
        assert!(same_file("\"C:\\TMP\\mim.exe\"", "c:\\tmp\\MIM.EXE"));
        assert!(!same_file("/tmp/a.sh", "/var/tmp/b/a.sh"));
        assert!(!same_file("a.sh", "/tmp/a.shx"));
    }
}
