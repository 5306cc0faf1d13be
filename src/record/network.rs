use serde::{Deserialize, Serialize};
use std::net::IpAddr;

/// One socket with its owning process(es).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct ConnectionRecord {
    pub protocol: Protocol,
    pub local_address: IpAddr,
    pub local_port: u16,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_address: Option<IpAddr>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub remote_port: Option<u16>,
    /// TCP state (`listen`, `established`, ...); absent for UDP.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub state: Option<String>,
    pub owners: Vec<SocketOwner>,
    /// The socket's owning uid as the kernel reports it (Linux), known even when the
    /// owning process is not.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub socket_uid: Option<u32>,
    pub owner_status: OwnerStatus,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub owner_note: Option<String>,
}

#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, schemars::JsonSchema)]
pub struct SocketOwner {
    pub pid: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub name: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub image_path: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub user: Option<String>,
    /// False when the pid is not in the process snapshot (it started or ended in between).
    pub in_snapshot: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum Protocol {
    Tcp,
    Tcp6,
    Udp,
    Udp6,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum OwnerStatus {
    Resolved,
    /// No owning process could be found; `owner_note` says why (usually: not root).
    Unresolved,
}
