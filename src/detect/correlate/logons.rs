//! Joins over logins and accounts (auth logs, journal, audit):
//!
//! - `corr-brute-force-then-success`: [`BRUTE_MIN_FAILURES`] or more failed sshd logins from
//!   one source address, then an accepted one from the same address within
//!   [`BRUTE_WINDOW_SECS`] of the last failure: guessed (or sprayed) credentials that worked
//!   (T1110, then T1078).
//! - `corr-new-user-then-sudo`: an account created, then that account running sudo or being
//!   added to an administrators' group (sudo, wheel, admin, ...): a backdoor account made
//!   root-capable (T1136.001, T1548.003).
//!
//! Observations arrive in record order (each log file oldest line first). Bounded: at most
//! [`MAX_TRACKED`] source addresses and created accounts are remembered, the oldest
//! forgotten first; each address and account raises at most one finding.

use std::collections::{HashMap, HashSet, VecDeque};

use super::super::finding::{Finding, MatchedValue};
use super::super::linux::ADMIN_GROUPS;
use super::super::observation::{EvidenceRef, Observation, ObservationKind};
use super::super::rules::{Severity, Tactic};
use super::code_finding;
use crate::record::Timestamp;

pub const BRUTE_MIN_FAILURES: usize = 3;
pub const BRUTE_WINDOW_SECS: i64 = 3600;
const MAX_TRACKED: usize = 4096;
/// Failures kept as evidence per address.
const MAX_EVIDENCE: usize = 10;

#[derive(Default)]
struct Failures {
    count: u64,
    last: Option<Timestamp>,
    evidence: VecDeque<EvidenceRef>,
    users: Vec<String>,
}

#[derive(Default)]
pub struct LogonIndex {
    failures: HashMap<String, Failures>,
    order: VecDeque<String>,
    fired: HashSet<String>,
    created: HashMap<String, EvidenceRef>,
    created_order: VecDeque<String>,
    fired_accounts: HashSet<String>,
}

impl LogonIndex {
    pub fn observe(&mut self, o: &Observation) -> Option<Finding> {
        match o.kind {
            ObservationKind::Logon => self.logon(o),
            ObservationKind::AccountChange => self.account(o),
            _ => None,
        }
    }

    fn logon(&mut self, o: &Observation) -> Option<Finding> {
        let service = o.target.as_deref()?;
        let outcome = o.details.as_deref().unwrap_or("");
        if service == "sudo" {
            let user = o.user.as_deref()?;
            return self.created_then(user, o, "ran sudo");
        }
        if service != "sshd" {
            return None;
        }
        let addr = o.remote_address.clone()?;
        match outcome {
            "failed" | "invalid_user" => {
                if !self.failures.contains_key(&addr) {
                    self.order.push_back(addr.clone());
                    if self.order.len() > MAX_TRACKED
                        && let Some(old) = self.order.pop_front()
                    {
                        self.failures.remove(&old);
                    }
                }
                let f = self.failures.entry(addr).or_default();
                f.count += 1;
                f.last = o.timestamp.or(f.last);
                if f.evidence.len() >= MAX_EVIDENCE {
                    f.evidence.pop_front();
                }
                f.evidence.push_back(o.evidence.clone());
                if let Some(u) = &o.user
                    && !f.users.contains(u)
                    && f.users.len() < 20
                {
                    f.users.push(u.clone());
                }
                None
            }
            "accepted" => {
                let f = self.failures.get(&addr)?;
                if (f.count as usize) < BRUTE_MIN_FAILURES {
                    return None;
                }
                if let (Some(last), Some(t)) = (f.last, o.timestamp)
                    && (t - last).num_seconds().abs() > BRUTE_WINDOW_SECS
                {
                    return None;
                }
                let user = o.user.clone().unwrap_or_default();
                // One finding per source: later logins from it are the same intrusion.
                if !self.fired.insert(addr.clone()) {
                    return None;
                }
                let mut evidence: Vec<EvidenceRef> = f.evidence.iter().cloned().collect();
                evidence.push(o.evidence.clone());
                let mut fi = code_finding(
                    "corr-brute-force-then-success",
                    "Failed SSH logins from one address, then a successful one",
                    "Several failed sshd logins from a source followed by an accepted login from the same source: a password was guessed or sprayed and worked. Treat the account as compromised.",
                    vec!["T1110".into(), "T1110.001".into(), "T1078".into()],
                    Tactic::CredentialAccess,
                    Severity::High,
                    o,
                    evidence,
                    vec![
                        MatchedValue {
                            field: "remote_address".into(),
                            value: addr.clone(),
                        },
                        MatchedValue {
                            field: "failed_logins".into(),
                            value: f.count.to_string(),
                        },
                        MatchedValue {
                            field: "users_tried".into(),
                            value: f.users.join(", "),
                        },
                        MatchedValue {
                            field: "accepted_user".into(),
                            value: user.clone(),
                        },
                    ],
                );
                fi.summary = format!(
                    "{} failed SSH login(s) from {addr} ({}), then {user} logged in",
                    f.count,
                    f.users.join(", ")
                );
                Some(fi)
            }
            _ => None,
        }
    }

    fn account(&mut self, o: &Observation) -> Option<Finding> {
        let account = o.target.clone()?;
        let details = o.details.as_deref().unwrap_or("");
        if details.starts_with("user_added") || details == "add-user" || details == "adding user" {
            if !self.created.contains_key(&account) {
                self.created_order.push_back(account.clone());
                if self.created_order.len() > MAX_TRACKED
                    && let Some(old) = self.created_order.pop_front()
                {
                    self.created.remove(&old);
                }
            }
            self.created.insert(account, o.evidence.clone());
            return None;
        }
        if let Some(group) = details.strip_prefix("group_member_added ")
            && ADMIN_GROUPS.contains(&group)
        {
            return self.created_then(&account, o, &format!("was added to group {group}"));
        }
        None
    }

    fn created_then(&mut self, account: &str, o: &Observation, what: &str) -> Option<Finding> {
        let created = self.created.get(account)?.clone();
        if !self.fired_accounts.insert(account.to_string()) {
            return None;
        }
        let mut f = code_finding(
            "corr-new-user-then-sudo",
            "New account, then root rights for it",
            "An account was created and then ran sudo or was added to an administrators' group: how intruders keep a root-capable backdoor account.",
            vec!["T1136.001".into(), "T1548.003".into(), "T1078.003".into()],
            Tactic::Persistence,
            Severity::High,
            o,
            vec![created, o.evidence.clone()],
            vec![MatchedValue {
                field: "account".into(),
                value: account.to_string(),
            }],
        );
        f.summary = format!("account {account} was created, then {what}");
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn ssh(sec: u32, outcome: &str, user: &str) -> Observation {
        Observation::new(ObservationKind::Logon, EvidenceRef::new("m", sec as u64))
            .timestamp(
                chrono::Utc
                    .with_ymd_and_hms(2024, 5, 11, 9, 12, sec)
                    .single(),
            )
            .target(Some("sshd"))
            .details(Some(outcome))
            .user(Some(user))
            .remote(Some("192.168.1.45"), Some(22))
    }

    #[test]
    fn three_failures_then_success_fire_once() {
        let mut x = LogonIndex::default();
        assert!(x.observe(&ssh(1, "invalid_user", "admin")).is_none());
        assert!(
            x.observe(&ssh(2, "accepted", "webapp")).is_none(),
            "one failure"
        );
        assert!(x.observe(&ssh(3, "invalid_user", "test")).is_none());
        assert!(x.observe(&ssh(4, "failed", "webapp")).is_none());
        let f = x.observe(&ssh(5, "accepted", "webapp")).unwrap();
        assert_eq!(f.rule_id, "corr-brute-force-then-success");
        assert_eq!(f.evidence.len(), 4);
        assert!(f.techniques.contains(&"T1110".to_string()));
        assert!(x.observe(&ssh(6, "accepted", "webapp")).is_none());
    }

    #[test]
    fn new_user_then_sudo() {
        let mut x = LogonIndex::default();
        let add = Observation::new(ObservationKind::AccountChange, EvidenceRef::new("m", 1))
            .target(Some("backdoor"))
            .details(Some("user_added"));
        assert!(x.observe(&add).is_none());
        let grp = Observation::new(ObservationKind::AccountChange, EvidenceRef::new("m", 2))
            .target(Some("backdoor"))
            .details(Some("group_member_added sudo"));
        let f = x.observe(&grp).unwrap();
        assert_eq!(f.rule_id, "corr-new-user-then-sudo");
        let sudo = Observation::new(ObservationKind::Logon, EvidenceRef::new("m", 3))
            .target(Some("sudo"))
            .user(Some("backdoor"));
        assert!(x.observe(&sudo).is_none(), "once per account");
        let other = Observation::new(ObservationKind::Logon, EvidenceRef::new("m", 3))
            .target(Some("sudo"))
            .user(Some("alice"));
        assert!(x.observe(&other).is_none());
    }
}
