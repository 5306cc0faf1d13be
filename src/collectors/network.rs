//! `network`: TCP and UDP sockets (IPv4 and IPv6) with their owning processes, joined to the
//! process snapshot of the same run. Read through netlink sock_diag and `/proc/<pid>/fd` on
//! Linux, the IP Helper tables on Windows (netstat2), never through `netstat`/`ss`.
//! Without root, sockets of other users' processes have no owner: the record says so and
//! keeps the socket's uid. Live only.

use super::{CollectError, Collector, Context};
use crate::record::{ConnectionRecord, OwnerStatus, ProcessRecord, Record, SocketOwner};
use crate::sink::Sink;
use std::collections::HashMap;

pub struct Network;

impl Collector for Network {
    fn collect(&self, ctx: &Context, out: &mut dyn Sink) -> Result<(), CollectError> {
        let sockets = ctx.live()?.connections()?;
        let empty = Vec::new();
        let procs: HashMap<u32, &ProcessRecord> = ctx
            .shared
            .processes
            .get()
            .unwrap_or(&empty)
            .iter()
            .map(|p| (p.pid, p))
            .collect();
        let elevated = ctx.elevated;
        let mut unresolved = 0u64;
        for s in sockets {
            let owners: Vec<SocketOwner> = s
                .pids
                .iter()
                .map(|pid| match procs.get(pid) {
                    Some(p) => SocketOwner {
                        pid: *pid,
                        name: Some(p.name.clone()),
                        image_path: p.image_path.clone(),
                        user: p.user.clone(),
                        in_snapshot: true,
                    },
                    None => SocketOwner {
                        pid: *pid,
                        name: None,
                        image_path: None,
                        user: None,
                        in_snapshot: false,
                    },
                })
                .collect();
            let (owner_status, owner_note) = if owners.is_empty() {
                unresolved += 1;
                let note = if elevated {
                    "no process holds this socket (closing, or owned by the kernel)".to_string()
                } else {
                    format!(
                        "owner unknown: not elevated, so other users' processes cannot be \
                         inspected{}",
                        s.uid
                            .map(|u| format!(" (socket uid {u})"))
                            .unwrap_or_default()
                    )
                };
                (OwnerStatus::Unresolved, Some(note))
            } else {
                (OwnerStatus::Resolved, None)
            };
            out.record(Record::Connection(ConnectionRecord {
                protocol: s.protocol,
                local_address: s.local_address,
                local_port: s.local_port,
                remote_address: s.remote_address,
                remote_port: s.remote_port,
                state: s.state,
                owners,
                socket_uid: s.uid,
                owner_status,
                owner_note,
            }))?;
        }
        if unresolved > 0 && !elevated {
            out.error(format!(
                "not elevated: owners of {unresolved} sockets unknown"
            ));
        }
        Ok(())
    }
}
