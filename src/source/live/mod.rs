//! The live host. Platform code lives in one file per OS; this file holds what is shared.

#[cfg(target_os = "linux")]
mod linux;
#[cfg(target_os = "linux")]
use linux as platform;

#[cfg(windows)]
mod windows;
#[cfg(windows)]
use windows as platform;

#[cfg(not(any(target_os = "linux", windows)))]
mod unsupported;
#[cfg(not(any(target_os = "linux", windows)))]
use unsupported as platform;

use super::{
    DirEntry, DirListing, FileMeta, FileSource, FsView, HostFacts, LiveHost, OpenedFile, OsFamily,
    RawSocket, SourceDescription, SourceError, UserAccount,
};
use crate::record::{ProcessRecord, Protocol};
use serde::{Deserialize, Serialize};
use std::path::Path;

/// Lowest CPU and I/O priority for irsnap itself (`--low-impact`). Best effort: a failure
/// leaves the priority as it was.
pub fn lower_own_priority() {
    platform::lower_own_priority();
}

pub struct LiveSource {
    view: FsView,
}

impl LiveSource {
    pub fn new() -> LiveSource {
        LiveSource {
            view: platform::root_view(),
        }
    }
}

impl Default for LiveSource {
    fn default() -> Self {
        Self::new()
    }
}

impl FileSource for LiveSource {
    fn atime_unprotected(&self) -> u64 {
        self.view.atime_unprotected()
    }

    fn describe(&self) -> SourceDescription {
        SourceDescription::Live { os: self.os() }
    }

    fn os(&self) -> OsFamily {
        OsFamily::current()
    }

    fn display_path(&self, logical: &Path) -> String {
        platform::display_path(logical)
    }

    fn metadata(&self, logical: &Path) -> Result<FileMeta, SourceError> {
        self.view.metadata(logical)
    }

    fn read_dir(&self, logical: &Path) -> Result<Vec<DirEntry>, SourceError> {
        self.view.read_dir(logical)
    }

    fn list_dir(&self, logical: &Path) -> Result<DirListing, SourceError> {
        self.view.list_dir(logical)
    }

    fn entry_metadata(
        &self,
        listing: &DirListing,
        name: &std::ffi::OsStr,
    ) -> Result<FileMeta, SourceError> {
        self.view.entry_metadata(listing, name)
    }

    fn open(&self, logical: &Path) -> Result<OpenedFile, SourceError> {
        self.view.open(logical)
    }

    fn read_link(&self, logical: &Path) -> Result<std::path::PathBuf, SourceError> {
        self.view.read_link(logical)
    }

    fn host_facts(&self) -> HostFacts {
        let mut facts = platform::host_facts(&self.view);
        facts.architecture = Some(std::env::consts::ARCH.to_string());
        facts.ip_addresses = ip_addresses();
        facts
    }

    fn users(&self) -> Vec<UserAccount> {
        platform::users(&self.view)
    }
}

impl LiveHost for LiveSource {
    fn processes(&self) -> Result<Vec<ProcessRecord>, SourceError> {
        platform::processes(&self.view)
    }

    fn open_process_image(&self, process: &ProcessRecord) -> Result<OpenedFile, SourceError> {
        platform::open_process_image(&self.view, process)
    }

    #[cfg(target_os = "linux")]
    fn process_env_vars(
        &self,
        pid: u32,
        names: &[&str],
    ) -> Result<Vec<(String, String)>, SourceError> {
        platform::process_env_vars(pid, names)
    }

    #[cfg(target_os = "linux")]
    fn process_mapped_files(&self, pid: u32) -> Result<Vec<String>, SourceError> {
        platform::process_mapped_files(pid)
    }

    fn process_unchanged(&self, process: &ProcessRecord) -> Result<(), String> {
        platform::process_unchanged(process)
    }

    fn connections(&self) -> Result<Vec<RawSocket>, SourceError> {
        connections()
    }
}

/// The logical path of a path on this host (a Windows drive prefix dropped: logical paths
/// start at the system root), for excluding irsnap's own output from what it collects.
pub fn host_to_logical(host: &Path) -> std::path::PathBuf {
    let mut out = std::path::PathBuf::from("/");
    for c in host.components() {
        if let std::path::Component::Normal(n) = c {
            out.push(n);
        }
    }
    out
}

/// Addresses of every interface, as `address/prefix` strings.
fn ip_addresses() -> Vec<String> {
    let Ok(networks) = sysinfo::Networks::new_with_refreshed_list() else {
        return Vec::new();
    };
    let mut out: Vec<String> = (&networks)
        .into_iter()
        .flat_map(|(_, data)| data.ip_networks().iter())
        .map(|n| format!("{}/{}", n.addr, n.prefix))
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Sockets through netstat2 (netlink on Linux, IP Helper on Windows). netstat2 panics when
/// /proc cannot be read, so the call is fenced: a panic becomes this source's error.
fn connections() -> Result<Vec<RawSocket>, SourceError> {
    use netstat2::{AddressFamilyFlags, ProtocolFlags, ProtocolSocketInfo};
    let result = std::panic::catch_unwind(|| {
        netstat2::get_sockets_info(
            AddressFamilyFlags::IPV4 | AddressFamilyFlags::IPV6,
            ProtocolFlags::TCP | ProtocolFlags::UDP,
        )
    });
    let sockets = match result {
        Ok(Ok(s)) => s,
        Ok(Err(e)) => {
            return Err(SourceError::Other {
                what: "network sockets".into(),
                message: e.to_string(),
            });
        }
        Err(panic) => {
            return Err(SourceError::Other {
                what: "network sockets".into(),
                message: format!("netstat2 panicked: {}", panic_message(&*panic)),
            });
        }
    };
    Ok(sockets
        .into_iter()
        .map(|s| {
            #[cfg(any(target_os = "linux", target_os = "android"))]
            let uid = Some(s.uid);
            #[cfg(not(any(target_os = "linux", target_os = "android")))]
            let uid = None;
            match s.protocol_socket_info {
                ProtocolSocketInfo::Tcp(t) => {
                    // A listening socket has no peer; netstat2 reports 0.0.0.0:0 / [::]:0.
                    let no_peer = t.remote_addr.is_unspecified() && t.remote_port == 0;
                    RawSocket {
                        protocol: if t.local_addr.is_ipv6() {
                            Protocol::Tcp6
                        } else {
                            Protocol::Tcp
                        },
                        local_address: t.local_addr,
                        local_port: t.local_port,
                        remote_address: (!no_peer).then_some(t.remote_addr),
                        remote_port: (!no_peer).then_some(t.remote_port),
                        state: Some(tcp_state_name(&t.state)),
                        pids: s.associated_pids,
                        uid,
                    }
                }
                ProtocolSocketInfo::Udp(u) => RawSocket {
                    protocol: if u.local_addr.is_ipv6() {
                        Protocol::Udp6
                    } else {
                        Protocol::Udp
                    },
                    local_address: u.local_addr,
                    local_port: u.local_port,
                    remote_address: None,
                    remote_port: None,
                    state: None,
                    pids: s.associated_pids,
                    uid,
                },
            }
        })
        .collect())
}

fn tcp_state_name(state: &netstat2::TcpState) -> String {
    use netstat2::TcpState as S;
    match state {
        S::Closed => "closed",
        S::Listen => "listen",
        S::SynSent => "syn_sent",
        S::SynReceived => "syn_received",
        S::Established => "established",
        S::FinWait1 => "fin_wait1",
        S::FinWait2 => "fin_wait2",
        S::CloseWait => "close_wait",
        S::Closing => "closing",
        S::LastAck => "last_ack",
        S::TimeWait => "time_wait",
        S::DeleteTcb => "delete_tcb",
        S::Unknown => "unknown",
    }
    .to_string()
}

pub fn panic_message(panic: &(dyn std::any::Any + Send)) -> String {
    if let Some(s) = panic.downcast_ref::<&str>() {
        (*s).to_string()
    } else if let Some(s) = panic.downcast_ref::<String>() {
        s.clone()
    } else {
        "unknown panic".to_string()
    }
}

/// Who irsnap runs as, and with which rights: the manifest records it, and it explains what
/// a non-elevated run could not see.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Identity {
    pub user: Option<String>,
    pub uid: Option<u32>,
    /// Windows: the SID of the token irsnap ran with.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sid: Option<String>,
    pub elevated: bool,
}

/// The account of this process, from the OS (the effective uid, the token), never from
/// `$USER` or `%USERNAME%`, which any parent can set.
pub fn identity() -> Identity {
    platform::identity()
}
