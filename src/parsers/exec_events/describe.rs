//! One-line descriptions of the context events (timeline messages, report lines), and the
//! facts a timeline row carries besides the header.

use super::{ApplicationSource, ExecEvent};

/// What a timeline row needs from a context event: its kind tag, a message, and the few
/// plain facts (process, path, command) that every row may carry.
pub struct ContextFacts {
    pub kind: &'static str,
    pub message: String,
    pub pid: Option<u32>,
    pub path: Option<String>,
    pub command_line: Option<String>,
    pub process_guid: Option<String>,
}

fn or_q(v: &Option<String>) -> &str {
    v.as_deref().unwrap_or("?")
}

fn by(image: &Option<String>) -> String {
    image
        .as_deref()
        .map(|i| format!(" by {i}"))
        .unwrap_or_default()
}

impl ExecEvent {
    /// Facts of the events beyond process, task and service creation; None for those, which
    /// the timeline describes itself.
    pub fn context_facts(&self) -> Option<ContextFacts> {
        let id = self.header().event_id;
        let mut f = ContextFacts {
            kind: "",
            message: String::new(),
            pid: None,
            path: None,
            command_line: None,
            process_guid: None,
        };
        match self {
            ExecEvent::SysmonDriverLoad(e) => {
                f.kind = "sysmon_driver_load";
                f.message = format!(
                    "Driver loaded (Sysmon {id}): {}{}",
                    or_q(&e.image_loaded),
                    e.signature
                        .as_deref()
                        .map(|s| format!(", signed by {s}"))
                        .unwrap_or_default()
                );
                f.path = e.image_loaded.clone();
            }
            ExecEvent::SysmonImageLoad(e) => {
                f.kind = "sysmon_image_load";
                f.message = format!(
                    "Module loaded (Sysmon {id}): {}{}",
                    or_q(&e.image_loaded),
                    by(&e.image)
                );
                f.pid = e.process_id;
                f.path = e.image_loaded.clone();
                f.process_guid = e.process_guid.clone();
            }
            ExecEvent::SysmonRemoteThread(e) => {
                f.kind = "sysmon_remote_thread";
                f.message = format!(
                    "Remote thread created (Sysmon {id}): {} into {}",
                    or_q(&e.source_image),
                    or_q(&e.target_image)
                );
                f.pid = e.source_process_id;
                f.path = e.target_image.clone();
                f.process_guid = e.source_process_guid.clone();
            }
            ExecEvent::SysmonProcessAccess(e) => {
                f.kind = "sysmon_process_access";
                f.message = format!(
                    "Process opened (Sysmon {id}): {} by {}, access {}",
                    or_q(&e.target_image),
                    or_q(&e.source_image),
                    or_q(&e.granted_access)
                );
                f.pid = e.source_process_id;
                f.path = e.target_image.clone();
                f.process_guid = e.source_process_guid.clone();
            }
            ExecEvent::SysmonRegistry(e) => {
                f.kind = "sysmon_registry";
                f.message = format!(
                    "Registry {} (Sysmon {id}): {}{}{}",
                    or_q(&e.event_type),
                    or_q(&e.target_object),
                    e.details
                        .as_deref()
                        .or(e.new_name.as_deref())
                        .map(|d| format!(" = {d}"))
                        .unwrap_or_default(),
                    by(&e.image)
                );
                f.pid = e.process_id;
                f.path = e.target_object.clone();
                f.command_line = e.details.clone();
                f.process_guid = e.process_guid.clone();
            }
            ExecEvent::SysmonFileStream(e) => {
                f.kind = "sysmon_file_stream";
                f.message = format!(
                    "File stream created (Sysmon {id}): {}{}",
                    or_q(&e.target_filename),
                    by(&e.image)
                );
                f.pid = e.process_id;
                f.path = e.target_filename.clone();
                f.process_guid = e.process_guid.clone();
            }
            ExecEvent::SysmonFileDelete(e) => {
                f.kind = "sysmon_file_delete";
                f.message = format!(
                    "File deleted (Sysmon {id}): {}{}",
                    or_q(&e.target_filename),
                    by(&e.image)
                );
                f.pid = e.process_id;
                f.path = e.target_filename.clone();
                f.process_guid = e.process_guid.clone();
            }
            ExecEvent::SysmonPipe(e) => {
                f.kind = "sysmon_pipe";
                let what = if id == 17 { "created" } else { "connected" };
                f.message = format!(
                    "Named pipe {what} (Sysmon {id}): {}{}",
                    or_q(&e.pipe_name),
                    by(&e.image)
                );
                f.pid = e.process_id;
                f.path = e.pipe_name.clone();
                f.process_guid = e.process_guid.clone();
            }
            ExecEvent::SysmonWmi(e) => {
                f.kind = "sysmon_wmi";
                let what = match id {
                    19 => "filter",
                    20 => "consumer",
                    _ => "binding",
                };
                let detail = e
                    .destination
                    .as_deref()
                    .or(e.query.as_deref())
                    .map(|d| format!(": {d}"))
                    .or_else(|| {
                        e.consumer
                            .as_ref()
                            .map(|c| format!(": {c} <- {}", or_q(&e.filter)))
                    })
                    .unwrap_or_default();
                f.message = format!(
                    "WMI {what} {} (Sysmon {id}): {}{detail}",
                    e.operation.as_deref().unwrap_or("seen").to_lowercase(),
                    or_q(&e.name)
                );
                f.command_line = e.destination.clone();
            }
            ExecEvent::SysmonDnsQuery(e) => {
                f.kind = "sysmon_dns_query";
                f.message = format!(
                    "DNS query (Sysmon {id}): {}{}",
                    or_q(&e.query_name),
                    by(&e.image)
                );
                f.pid = e.process_id;
                f.process_guid = e.process_guid.clone();
            }
            ExecEvent::SecurityShareAccess(e) => {
                f.kind = "security_share_access";
                f.message = format!(
                    "Network share accessed ({id}): {}{}{}",
                    or_q(&e.share_name),
                    e.relative_target_name
                        .as_deref()
                        .map(|r| format!("\\{r}"))
                        .unwrap_or_default(),
                    e.ip_address
                        .as_deref()
                        .map(|a| format!(" from {a}"))
                        .unwrap_or_default()
                );
                f.path = e.relative_target_name.clone();
            }
            ExecEvent::LogCleared(e) => {
                f.kind = "log_cleared";
                f.message = format!(
                    "Event log cleared ({id}): {}{}",
                    e.cleared_channel.as_deref().unwrap_or("Security"),
                    e.subject_user_name
                        .as_deref()
                        .map(|u| format!(" by {u}"))
                        .unwrap_or_default()
                );
            }
            ExecEvent::SystemServiceInstall(e) => {
                f.kind = "system_service_install";
                f.message = format!(
                    "Service installed ({id}): {}: {}",
                    or_q(&e.service_name),
                    or_q(&e.image_path)
                );
                f.command_line = e.image_path.clone();
            }
            ExecEvent::SystemServiceState(e) => {
                f.kind = "system_service_state";
                let (p1, p2) = (or_q(&e.param1), or_q(&e.param2));
                f.message = match id {
                    7000 => format!("Service failed to start ({id}): {p1}: {p2}"),
                    7009 => format!("Service start timed out ({id}): {p2} after {p1} ms"),
                    7034 => format!("Service terminated unexpectedly ({id}): {p1}"),
                    7036 => format!("Service state ({id}): {p1} {p2}"),
                    7040 => format!(
                        "Service start type changed ({id}): {p1} from {p2} to {}",
                        or_q(&e.param3)
                    ),
                    _ => format!("Service event ({id}): {p1} {p2}"),
                };
            }
            ExecEvent::Bits(e) => {
                f.kind = "bits";
                f.message = format!(
                    "BITS {id}: job {}{}{}",
                    e.job_title.as_deref().or(e.name.as_deref()).unwrap_or("?"),
                    e.url
                        .as_deref()
                        .or(e.remote_name.as_deref())
                        .map(|u| format!(" {u}"))
                        .unwrap_or_default(),
                    by(&e.process_path)
                );
                f.pid = e.process_id;
                f.path = e.local_name.clone();
                f.command_line = e.url.clone().or_else(|| e.remote_name.clone());
            }
            ExecEvent::WinRm(e) => {
                f.kind = "winrm";
                f.message = format!(
                    "WinRM {id}: {}",
                    e.resource_uri
                        .as_deref()
                        .or(e.connection.as_deref())
                        .or(e.username.as_deref())
                        .unwrap_or("?")
                );
            }
            ExecEvent::WmiActivity(e) => {
                f.kind = "wmi_activity";
                f.message = format!(
                    "WMI activity {id}: {}",
                    e.operation
                        .as_deref()
                        .or(e.query.as_deref())
                        .or(e.consumer.as_deref())
                        .or(e.provider_path.as_deref())
                        .unwrap_or("?")
                );
                f.pid = e.client_process_id;
                f.command_line = e.operation.clone().or_else(|| e.consumer.clone());
            }
            ExecEvent::Defender(e) => {
                f.kind = "defender";
                f.message = format!(
                    "Defender {id}: {}{}",
                    e.threat_name
                        .as_deref()
                        .or(e.new_value.as_deref())
                        .unwrap_or("?"),
                    e.path
                        .as_deref()
                        .map(|p| format!(" at {p}"))
                        .unwrap_or_default()
                );
                f.path = e.path.clone();
            }
            ExecEvent::Application(e) => {
                f.kind = "application";
                let who = match e.source {
                    ApplicationSource::SqlServer => "SQL Server",
                    ApplicationSource::WindowsInstaller => "Windows Installer",
                };
                let text = e
                    .sql_statement()
                    .map(str::to_string)
                    .unwrap_or_else(|| e.data.join(" | "));
                f.message = format!("{who} {id}: {text}");
                f.command_line = e.sql_statement().map(str::to_string);
            }
            ExecEvent::SysmonProcessCreate(_)
            | ExecEvent::SysmonNetworkConnect(_)
            | ExecEvent::SysmonFileCreate(_)
            | ExecEvent::SecurityProcessCreate(_)
            | ExecEvent::SecurityTask(_)
            | ExecEvent::SecurityServiceInstall(_)
            | ExecEvent::TaskSchedulerOp(_) => return None,
        }
        Some(f)
    }
}
