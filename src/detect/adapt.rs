//! Adapters: parser and record types → [`Observation`]s.
//!
//! One function per source type. Each takes the [`EvidenceRef`] of the record it reads (the
//! caller knows the archive member and line), and maps fields plainly: nothing is filtered
//! here, so every rule sees every record and "benign" is decided by rules, not by adapters.

use crate::parsers::cron::{AnacronJob, AtJob, CronEntry, CronSchedule, CronSpecial};
use crate::parsers::exec_events::{ApplicationSource, ExecEvent, TaskAuditAction};
use crate::parsers::powershell::{PsEvent, PsEventKind, ScriptBlock};
use crate::parsers::shell_history::HistoryEntry;
use crate::parsers::systemd_unit::UnitFile;
use crate::parsers::task_xml::{
    RunLevel, TaskAction, TaskDefinition, exec_command_line, parse_task_xml,
};
use crate::record::{ConnectionRecord, ImageKind, ProcessRecord, Sha256};

use super::observation::{EvidenceRef, Observation, ObservationKind as K, TaskAttrs};

/// Sysmon 1/3/11 and Security 4688/4697/4698/4702. Task-creation events yield one observation
/// per Exec action of the embedded task XML. Other events yield none.
pub fn from_exec_event(ev: &ExecEvent, evidence: EvidenceRef) -> Vec<Observation> {
    let h = ev.header();
    let mut out = exec_event_observations(ev, evidence);
    for o in &mut out {
        o.set_origin(&h.computer, &h.channel, h.event_id);
    }
    out
}

fn exec_event_observations(ev: &ExecEvent, evidence: EvidenceRef) -> Vec<Observation> {
    match ev {
        ExecEvent::SysmonProcessCreate(p) => {
            let sha = p
                .hashes
                .iter()
                .find(|(k, _)| k.eq_ignore_ascii_case("sha256"))
                .and_then(|(_, v)| Sha256::from_hex(&v.to_ascii_lowercase()));
            vec![
                Observation::new(K::ProcessEvent, evidence)
                    .timestamp(p.utc_time.or(p.header.time))
                    .pids(p.process_id, p.parent_process_id)
                    .guids(p.process_guid.clone(), p.parent_process_guid.clone())
                    .image(p.image.clone())
                    .original_name(p.original_file_name.clone())
                    .command_line(p.command_line.clone())
                    .parent_image(p.parent_image.clone())
                    .parent_command_line(p.parent_command_line.clone())
                    .user(p.user.clone())
                    .cwd(p.current_directory.clone())
                    .file(None::<String>, sha),
            ]
        }
        ExecEvent::SecurityProcessCreate(p) => {
            let user = join_user(&p.target_domain_name, &p.target_user_name)
                .or_else(|| join_user(&p.subject_domain_name, &p.subject_user_name));
            vec![
                Observation::new(K::ProcessEvent, evidence)
                    .timestamp(p.header.time)
                    .pids(p.new_process_id, p.creator_process_id)
                    .image(p.new_process_name.clone())
                    .command_line(p.command_line.clone())
                    .parent_image(p.parent_process_name.clone())
                    .user(user),
            ]
        }
        ExecEvent::SysmonNetworkConnect(n) => {
            // Inbound connections log the local end as destination.
            let (addr, port) = if n.initiated == Some(false) {
                (n.source_ip.clone(), n.source_port)
            } else {
                (n.destination_ip.clone(), n.destination_port)
            };
            vec![
                Observation::new(K::NetworkConnection, evidence)
                    .timestamp(n.utc_time.or(n.header.time))
                    .pids(n.process_id, None)
                    .guids(n.process_guid.clone(), None)
                    .image(n.image.clone())
                    .user(n.user.clone())
                    .remote(addr, port),
            ]
        }
        ExecEvent::SysmonFileCreate(f) => vec![
            Observation::new(K::TempFile, evidence)
                .timestamp(f.creation_utc_time.or(f.utc_time).or(f.header.time))
                .pids(f.process_id, None)
                .image(f.image.clone())
                .user(f.user.clone())
                .file(f.target_filename.clone(), None),
        ],
        ExecEvent::SecurityTask(t) => {
            if !matches!(
                t.action,
                TaskAuditAction::Created | TaskAuditAction::Updated
            ) {
                return Vec::new();
            }
            let Some(xml) = t.task_content.as_deref() else {
                return Vec::new();
            };
            let task = match parse_task_xml(xml.as_bytes()) {
                Ok(t) => t,
                Err(e) => match e.partial() {
                    Some(p) => p.clone(),
                    None => return Vec::new(),
                },
            };
            let mut obs = from_task_definition(&task, evidence);
            for o in &mut obs {
                o.timestamp = t.header.time;
                if let (Some(attrs), Some(name)) = (o.task.as_mut(), &t.task_name) {
                    attrs.name = Some(name.clone());
                }
            }
            obs
        }
        ExecEvent::SecurityServiceInstall(s) => vec![
            Observation::new(K::ServiceCommand, evidence)
                .timestamp(s.header.time)
                .command_with_image(s.service_file_name.clone())
                .user(s.service_account.clone())
                .task(TaskAttrs {
                    name: s.service_name.clone(),
                    run_as: s.service_account.clone(),
                    ..TaskAttrs::default()
                }),
        ],
        ExecEvent::SystemServiceInstall(s) => vec![
            Observation::new(K::ServiceCommand, evidence)
                .timestamp(s.header.time)
                .command_with_image(s.image_path.clone())
                .user(s.account_name.clone())
                .task(TaskAttrs {
                    name: s.service_name.clone(),
                    run_as: s.account_name.clone(),
                    ..TaskAttrs::default()
                }),
        ],
        ExecEvent::SysmonImageLoad(e) => vec![
            Observation::new(K::ImageLoad, evidence)
                .timestamp(e.utc_time.or(e.header.time))
                .actor(e.process_id, &e.process_guid, &e.image, &e.user)
                .file(e.image_loaded.clone(), None)
                .details(image_load_details(e)),
        ],
        ExecEvent::SysmonRemoteThread(e) => vec![
            Observation::new(K::RemoteThread, evidence)
                .timestamp(e.utc_time.or(e.header.time))
                .actor(
                    e.source_process_id,
                    &e.source_process_guid,
                    &e.source_image,
                    &e.source_user,
                )
                .target(e.target_image.clone())
                .details(e.start_module.clone().or_else(|| e.start_function.clone())),
        ],
        ExecEvent::SysmonProcessAccess(e) => vec![
            Observation::new(K::ProcessAccess, evidence)
                .timestamp(e.utc_time.or(e.header.time))
                .actor(
                    e.source_process_id,
                    &e.source_process_guid,
                    &e.source_image,
                    &e.source_user,
                )
                .target(e.target_image.clone())
                // The access mask, then the call stack (UNKNOWN frames are unbacked code).
                .details(match (&e.granted_access, &e.call_trace) {
                    (Some(a), Some(c)) => Some(format!("{a} {c}")),
                    (a, c) => a.clone().or_else(|| c.clone()),
                }),
        ],
        ExecEvent::SysmonRegistry(e) => {
            if e.event_type
                .as_deref()
                .is_some_and(|t| t.trim().to_ascii_lowercase().starts_with("delete"))
            {
                return Vec::new();
            }
            vec![
                Observation::new(K::RegistryWrite, evidence)
                    .timestamp(e.utc_time.or(e.header.time))
                    .actor(e.process_id, &e.process_guid, &e.image, &e.user)
                    .target(e.target_object.clone())
                    .details(e.details.clone().or_else(|| e.new_name.clone())),
            ]
        }
        ExecEvent::SysmonPipe(e) => vec![
            Observation::new(K::Pipe, evidence)
                .timestamp(e.utc_time.or(e.header.time))
                .actor(e.process_id, &e.process_guid, &e.image, &e.user)
                .target(e.pipe_name.clone()),
        ],
        ExecEvent::SysmonWmi(e) => {
            let script = e
                .consumer_type
                .as_deref()
                .is_some_and(|t| t.to_ascii_lowercase().contains("script"));
            let mut o = Observation::new(K::WmiSubscription, evidence)
                .timestamp(e.utc_time.or(e.header.time))
                .user(e.user.clone())
                .details(e.query.clone().or_else(|| e.consumer_type.clone()))
                .target(e.consumer.clone().or_else(|| e.event_namespace.clone()))
                .task(TaskAttrs {
                    name: e.name.clone(),
                    ..TaskAttrs::default()
                });
            o = if script {
                o.script(e.destination.clone(), None::<String>)
            } else {
                o.command_with_image(e.destination.clone())
            };
            vec![o]
        }
        // 5860 (temporary subscription) lives only as long as its client: an operation.
        ExecEvent::WmiActivity(e) => match e.header.event_id {
            5861 => vec![
                Observation::new(K::WmiSubscription, evidence)
                    .timestamp(e.header.time)
                    .user(e.user.clone())
                    // 5861's PossibleCause holds the consumer's whole definition.
                    .script(e.possible_cause.clone(), None::<String>)
                    .details(e.query.clone().or_else(|| e.ess.clone()))
                    .target(e.namespace.clone().or_else(|| e.namespace_name.clone()))
                    .task(TaskAttrs {
                        name: e.consumer.clone(),
                        ..TaskAttrs::default()
                    }),
            ],
            _ => vec![
                Observation::new(K::WmiOperation, evidence)
                    .timestamp(e.header.time)
                    .pids(e.client_process_id, None)
                    .user(e.user.clone())
                    .image(e.host_process.clone())
                    .command_line(e.operation.clone().or_else(|| e.query.clone()))
                    .file(e.provider_path.clone(), None)
                    .remote(e.client_machine.clone(), None)
                    .details(e.result_code.map(|c| format!("0x{c:08x}"))),
            ],
        },
        ExecEvent::Bits(e) => vec![
            Observation::new(K::BitsJob, evidence)
                .timestamp(e.header.time)
                .pids(e.process_id, None)
                .image(e.process_path.clone())
                .user(e.job_owner.clone().or_else(|| e.user.clone()))
                .target(e.url.clone().or_else(|| e.remote_name.clone()))
                .file(e.local_name.clone(), None)
                .task(TaskAttrs {
                    name: e.job_title.clone().or_else(|| e.name.clone()),
                    ..TaskAttrs::default()
                }),
        ],
        ExecEvent::SecurityShareAccess(e) => vec![
            Observation::new(K::ShareAccess, evidence)
                .timestamp(e.header.time)
                .user(join_user(&e.subject_domain_name, &e.subject_user_name))
                .target(e.share_name.clone())
                .file(e.relative_target_name.clone(), None)
                .remote(e.ip_address.clone(), e.ip_port)
                .details(e.access_list.clone()),
        ],
        ExecEvent::LogCleared(e) => vec![
            Observation::new(K::LogCleared, evidence)
                .timestamp(e.header.time)
                .user(join_user(&e.subject_domain_name, &e.subject_user_name))
                .target(Some(
                    e.cleared_channel
                        .clone()
                        .unwrap_or_else(|| e.header.channel.clone()),
                )),
        ],
        ExecEvent::Application(a) => match a.source {
            ApplicationSource::SqlServer => {
                let text = a
                    .sql_statement()
                    .map(str::to_string)
                    .or_else(|| (a.header.event_id == 15457).then(|| a.data.join(" ")));
                match text {
                    Some(t) => vec![
                        Observation::new(K::SqlStatement, evidence)
                            .timestamp(a.header.time)
                            .command_line(Some(t)),
                    ],
                    None => Vec::new(),
                }
            }
            ApplicationSource::WindowsInstaller => vec![
                Observation::new(K::MsiInstall, evidence)
                    .timestamp(a.header.time)
                    .file(a.data.first().cloned(), None)
                    .details(Some(a.data.join(" "))),
            ],
        },
        ExecEvent::TaskSchedulerOp(_)
        | ExecEvent::SysmonDriverLoad(_)
        | ExecEvent::SysmonFileStream(_)
        | ExecEvent::SysmonFileDelete(_)
        | ExecEvent::SysmonDnsQuery(_)
        | ExecEvent::SystemServiceState(_)
        | ExecEvent::WinRm(_)
        | ExecEvent::Defender(_) => Vec::new(),
    }
}

/// A loaded module's signature facts for rules: `signed=false`, `signature=...`, the status.
fn image_load_details(e: &crate::parsers::exec_events::SysmonImageLoad) -> Option<String> {
    let mut parts = Vec::new();
    if let Some(s) = e.signed {
        parts.push(format!("signed={s}"));
    }
    if let Some(s) = &e.signature_status {
        parts.push(format!("signature_status={s}"));
    }
    if let Some(s) = &e.signature {
        parts.push(format!("signature={s}"));
    }
    if let Some(s) = &e.original_file_name {
        parts.push(format!("original_file_name={s}"));
    }
    (!parts.is_empty()).then(|| parts.join(" "))
}

fn join_user(domain: &Option<String>, name: &Option<String>) -> Option<String> {
    let name = name.as_deref().filter(|n| !n.is_empty() && *n != "-")?;
    Some(
        match domain.as_deref().filter(|d| !d.is_empty() && *d != "-") {
            Some(d) => format!("{d}\\{name}"),
            None => name.to_string(),
        },
    )
}

/// PowerShell events: 4104 (unassembled; prefer [`from_script_block`]), 4103 and 800 pipeline
/// text, 400 engine start (its HostApplication is the PowerShell command line, logged even
/// without any logging policy). Others (403, 600, 4100, session events) repeat what these
/// carry and yield none.
pub fn from_ps_event(ev: &PsEvent, evidence: EvidenceRef) -> Option<Observation> {
    let user = ev.user.clone().or_else(|| ev.user_sid.clone());
    let base = |kind| {
        Observation::new(kind, evidence.clone())
            .origin(&ev.computer, &ev.channel, ev.event_id)
            .timestamp(ev.time)
            .pids(ev.process_id, None)
            .user(user.clone())
    };
    match ev.kind {
        PsEventKind::ScriptBlock => {
            Some(base(K::ScriptBlock).script(ev.script_block_text.clone(), ev.path.clone()))
        }
        PsEventKind::ModuleLogging => Some(
            base(K::PsPipeline)
                .command_with_image(ev.host_application.clone())
                .script(ev.payload.clone(), ev.script_name.clone()),
        ),
        PsEventKind::PipelineExecution => {
            let text = match (&ev.pipeline_text, &ev.details) {
                (Some(p), Some(d)) => Some(format!("{p}\n{d}")),
                (p, d) => p.clone().or_else(|| d.clone()),
            };
            Some(
                base(K::PsPipeline)
                    .command_with_image(ev.host_application.clone())
                    .script(text, ev.script_name.clone()),
            )
        }
        PsEventKind::EngineStart => {
            Some(base(K::PsPipeline).command_with_image(ev.host_application.clone()))
        }
        _ => None,
    }
}

/// A reassembled 4104 script block.
pub fn from_script_block(sb: &ScriptBlock, evidence: EvidenceRef) -> Observation {
    Observation::new(K::ScriptBlock, evidence)
        .origin("", "Microsoft-Windows-PowerShell/Operational", 4104)
        .timestamp(sb.first_time)
        .pids(sb.process_id, None)
        .user(sb.user_sid.clone())
        .script(Some(sb.text.clone()), sb.path.clone())
}

/// One observation per Exec action of a task (COM handler actions run no command line).
pub fn from_task_definition(task: &TaskDefinition, evidence: EvidenceRef) -> Vec<Observation> {
    let principal = task.effective_principal();
    let run_as = principal.and_then(|p| p.user_id.clone().or_else(|| p.group_id.clone()));
    let reg = &task.registration_info;
    let registration_time = reg.date.as_ref().and_then(|d| {
        // Task dates are usually local wall-clock time; taken as UTC they are at most a day
        // off, which is fine for "registered recently".
        d.utc.or_else(|| d.wall_clock.map(|w| w.and_utc()))
    });
    let schedule = (!task.triggers.is_empty()).then(|| {
        task.triggers
            .iter()
            .map(|t| t.kind.element_name().into_owned())
            .collect::<Vec<_>>()
            .join(", ")
    });
    let attrs = TaskAttrs {
        name: reg.uri.clone(),
        hidden: task.settings.hidden,
        run_as: run_as.clone(),
        highest_privileges: principal
            .and_then(|p| p.run_level.as_ref())
            .map(|r| *r == RunLevel::HighestAvailable),
        registration_time,
        from_temp: None,
        schedule,
    };
    task.actions
        .iter()
        .filter_map(|a| match a {
            TaskAction::Exec {
                command,
                working_directory,
                ..
            } => Some(
                Observation::new(K::TaskAction, evidence.clone())
                    .image(Some(command.trim_matches('"').to_string()))
                    .command_line(Some(exec_command_line(a)))
                    .cwd(working_directory.clone())
                    .user(run_as.clone())
                    .timestamp(registration_time)
                    .task(attrs.clone()),
            ),
            _ => None,
        })
        .collect()
}

/// One history command (bash, zsh, fish, sh, Python, PSReadLine).
pub fn from_history_entry(
    entry: &HistoryEntry,
    user: Option<&str>,
    evidence: EvidenceRef,
) -> Observation {
    Observation::new(K::HistoryCommand, evidence)
        .timestamp(entry.timestamp)
        .command_with_image(Some(entry.command.clone()))
        .user(user)
}

fn cron_schedule(s: &CronSchedule) -> String {
    match s {
        CronSchedule::Fields {
            minute,
            hour,
            day_of_month,
            month,
            day_of_week,
        } => format!("{minute} {hour} {day_of_month} {month} {day_of_week}"),
        CronSchedule::Special(sp) => match sp {
            CronSpecial::Reboot => "@reboot".into(),
            CronSpecial::Yearly => "@yearly".into(),
            CronSpecial::Monthly => "@monthly".into(),
            CronSpecial::Weekly => "@weekly".into(),
            CronSpecial::Daily => "@daily".into(),
            CronSpecial::Hourly => "@hourly".into(),
            CronSpecial::Other(o) => format!("@{o}"),
        },
    }
}

/// A crontab entry. `owner` is the crontab's user for per-user crontabs (system crontabs carry
/// the user on each line).
pub fn from_cron_entry(
    entry: &CronEntry,
    owner: Option<&str>,
    evidence: EvidenceRef,
) -> Observation {
    let user = entry.user.clone().or(owner.map(str::to_string));
    Observation::new(K::CronCommand, evidence)
        .command_with_image(Some(entry.command.clone()))
        .script(entry.stdin.clone(), None::<String>)
        .user(user.clone())
        .task(TaskAttrs {
            run_as: user,
            schedule: Some(cron_schedule(&entry.schedule)),
            ..TaskAttrs::default()
        })
}

/// An anacrontab job (run by root).
pub fn from_anacron_job(job: &AnacronJob, evidence: EvidenceRef) -> Observation {
    Observation::new(K::CronCommand, evidence)
        .command_with_image(Some(job.command.clone()))
        .user(Some("root"))
        .task(TaskAttrs {
            name: Some(job.job_identifier.clone()),
            run_as: Some("root".into()),
            schedule: Some(format!("{:?}", job.period).to_lowercase()),
            ..TaskAttrs::default()
        })
}

/// An at(1) job: its commands are a shell script.
pub fn from_at_job(job: &AtJob, evidence: EvidenceRef) -> Observation {
    let user = job.uid.map(|u| u.to_string());
    Observation::new(K::AtCommand, evidence)
        .command_with_image(Some(job.command.clone()))
        .cwd(job.working_directory.clone())
        .user(user.clone())
        .task(TaskAttrs {
            run_as: user,
            ..TaskAttrs::default()
        })
}

/// The commands a systemd timer starts: the `ExecStart*` lines of its service (system units
/// run as root unless `User=` says otherwise). `timer_name` is the `.timer` file name.
pub fn from_timer(
    timer_name: &str,
    timer: &UnitFile,
    service: Option<&UnitFile>,
    evidence: EvidenceRef,
) -> Vec<Observation> {
    let Some(svc) = service.and_then(|s| s.service.as_ref()) else {
        return Vec::new();
    };
    let schedule = timer.timer.as_ref().map(|t| {
        let mut parts = Vec::new();
        for (k, v) in [
            ("OnCalendar", &t.on_calendar),
            ("OnBootSec", &t.on_boot_sec),
            ("OnStartupSec", &t.on_startup_sec),
            ("OnActiveSec", &t.on_active_sec),
            ("OnUnitActiveSec", &t.on_unit_active_sec),
            ("OnUnitInactiveSec", &t.on_unit_inactive_sec),
        ] {
            parts.extend(v.iter().map(|x| format!("{k}={x}")));
        }
        parts.join(" ")
    });
    let user = svc.user.clone().unwrap_or_else(|| "root".to_string());
    svc.exec_start_pre
        .iter()
        .chain(&svc.exec_start)
        .chain(&svc.exec_start_post)
        .map(|e| {
            let cmd = if e.argv.len() > 1 {
                format!("{} {}", e.path, e.argv[1..].join(" "))
            } else {
                e.path.clone()
            };
            Observation::new(K::TimerCommand, evidence.clone())
                .image(Some(e.path.clone()))
                .command_line(Some(cmd))
                .argv(e.argv.clone())
                .cwd(svc.working_directory.clone())
                .user(Some(user.clone()))
                .task(TaskAttrs {
                    name: Some(timer_name.to_string()),
                    run_as: Some(user.clone()),
                    schedule: schedule.clone(),
                    ..TaskAttrs::default()
                })
        })
        .collect()
}

/// A live process. Kernel threads run nothing from disk: none.
pub fn from_process_record(p: &ProcessRecord, evidence: EvidenceRef) -> Option<Observation> {
    if p.kernel_thread {
        return None;
    }
    let mut o = Observation::new(K::Process, evidence)
        .timestamp(p.start_time)
        .pids(Some(p.pid), p.ppid)
        .image(p.image_path.clone().or_else(|| Some(p.name.clone())))
        .command_line(Some(p.command_line.clone()))
        .argv(p.argv.clone())
        .user(p.user.clone())
        .cwd(p.cwd.clone())
        .file(None::<String>, p.image_sha256)
        .ancestry(
            p.ancestry
                .iter()
                .map(|a| a.image_path.clone().unwrap_or_else(|| a.name.clone())),
        );
    if let Some(parent) = p.ancestry.first() {
        o.parent_image = Some(
            parent
                .image_path
                .clone()
                .unwrap_or_else(|| parent.name.clone()),
        );
    }
    o.image_fileless = p.image_kind == ImageKind::Memfd;
    Some(o)
}

/// A socket with a remote end: one observation per owning process (or one without a pid).
pub fn from_connection_record(c: &ConnectionRecord, evidence: EvidenceRef) -> Vec<Observation> {
    let Some(remote) = c.remote_address.filter(|a| !a.is_unspecified()) else {
        return Vec::new();
    };
    let base = Observation::new(K::NetworkConnection, evidence)
        .remote(Some(remote.to_string()), c.remote_port);
    if c.owners.is_empty() {
        return vec![base];
    }
    c.owners
        .iter()
        .map(|o| {
            base.clone()
                .pids(Some(o.pid), None)
                .image(o.image_path.clone().or_else(|| o.name.clone()))
                .user(o.user.clone())
        })
        .collect()
}
