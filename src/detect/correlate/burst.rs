//! A script host starting many processes within seconds: the guidance's "PowerShell spawning
//! several processes" pattern (recon and staging scripts run `whoami`, `net`, `nltest`,
//! `ipconfig` … one after another; a person at a prompt does not start five in ten seconds).
//!
//! Logged process creations only (Sysmon 1, Security 4688), keyed by the parent's
//! ProcessGuid or pid. Bounded: at most [`MAX_PARENTS`] parents are tracked, the oldest
//! forgotten first, and each parent raises at most one finding.

use std::collections::{HashMap, VecDeque};

use super::super::finding::{Finding, MatchedValue};
use super::super::observation::{EvidenceRef, Observation, ObservationKind, snippet, strip_exe};
use super::super::rules::{Severity, Tactic};
use super::code_finding;
use crate::record::Timestamp;

/// Children that make a burst, and the window they must fall in.
const BURST_CHILDREN: usize = 5;
const BURST_WINDOW_SECS: i64 = 10;
const MAX_PARENTS: usize = 4096;

const SCRIPT_HOSTS: &[&str] = &[
    "powershell",
    "pwsh",
    "powershell_ise",
    "wscript",
    "cscript",
    "mshta",
    "wmiprvse",
];

struct Parent {
    /// Start times and evidence of the children in the current window (≤ BURST_CHILDREN).
    children: VecDeque<(Timestamp, EvidenceRef, String)>,
    fired: bool,
}

#[derive(Default)]
pub struct BurstIndex {
    parents: HashMap<String, Parent>,
    order: VecDeque<String>,
}

impl BurstIndex {
    /// Count a process event under its parent; returns a finding the moment the parent's
    /// children reach the burst size within the window.
    pub fn observe(&mut self, o: &Observation) -> Option<Finding> {
        if o.kind != ObservationKind::ProcessEvent {
            return None;
        }
        let parent_name = o.ancestry.first()?;
        let base = strip_exe(parent_name);
        if !SCRIPT_HOSTS.contains(&base) {
            return None;
        }
        let t = o.timestamp?;
        let key = match (&o.parent_process_guid, o.ppid) {
            (Some(g), _) => g.to_ascii_lowercase(),
            (None, Some(p)) => format!("pid:{p}"),
            (None, None) => return None,
        };
        if !self.parents.contains_key(&key) {
            self.order.push_back(key.clone());
            if self.order.len() > MAX_PARENTS
                && let Some(old) = self.order.pop_front()
            {
                self.parents.remove(&old);
            }
        }
        let p = self.parents.entry(key).or_insert_with(|| Parent {
            children: VecDeque::new(),
            fired: false,
        });
        if p.fired {
            return None;
        }
        let child = o.image_name.clone().unwrap_or_else(|| "?".into());
        p.children.push_back((t, o.evidence.clone(), child));
        while let Some((first, _, _)) = p.children.front() {
            if (t - *first).num_seconds().abs() > BURST_WINDOW_SECS {
                p.children.pop_front();
            } else {
                break;
            }
        }
        if p.children.len() < BURST_CHILDREN {
            return None;
        }
        p.fired = true;
        let names: Vec<&str> = p.children.iter().map(|(_, _, n)| n.as_str()).collect();
        let evidence: Vec<EvidenceRef> = p.children.iter().map(|(_, e, _)| e.clone()).collect();
        let mut techniques = vec!["T1059".to_string()];
        if matches!(base, "powershell" | "pwsh" | "powershell_ise") {
            techniques.push("T1059.001".into());
        }
        let mut f = code_finding(
            "corr-script-host-burst",
            "Script host started several processes within seconds",
            "Five or more programs started by one PowerShell, script host or WMI provider host within ten seconds is a script running commands (reconnaissance, staging, lateral movement), not a person typing.",
            techniques,
            Tactic::Execution,
            Severity::Medium,
            o,
            evidence,
            vec![MatchedValue {
                field: "children".into(),
                value: snippet(&names.join(", "), 0, 0, 300),
            }],
        );
        f.summary = snippet(&format!("{parent_name} → {}", names.join(", ")), 0, 0, 300);
        Some(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone;

    fn child(sec: u32, image: &str) -> Observation {
        Observation::new(
            ObservationKind::ProcessEvent,
            EvidenceRef::new("m", sec as u64 + 1),
        )
        .timestamp(
            chrono::Utc
                .with_ymd_and_hms(2026, 1, 1, 10, 0, sec)
                .single(),
        )
        .guids(Some(format!("{{c{sec}}}")), Some("{p}".into()))
        .image(Some(image))
        .parent_image(Some(
            r"C:\Windows\System32\WindowsPowerShell\v1.0\powershell.exe",
        ))
    }

    #[test]
    fn five_children_in_ten_seconds_fire_once() {
        let mut b = BurstIndex::default();
        let names = [
            "whoami.exe",
            "net.exe",
            "nltest.exe",
            "ipconfig.exe",
            "systeminfo.exe",
        ];
        let fired: Vec<Finding> = names
            .iter()
            .enumerate()
            .filter_map(|(i, n)| b.observe(&child(i as u32 * 2, n)))
            .collect();
        assert_eq!(fired.len(), 1);
        assert_eq!(fired[0].evidence.len(), 5);
        assert!(fired[0].techniques.contains(&"T1059.001".to_string()));
        assert!(
            b.observe(&child(9, "arp.exe")).is_none(),
            "one finding per parent"
        );
        // Spread over a minute: no burst.
        let mut b = BurstIndex::default();
        assert!((0..6).all(|i| b.observe(&child(i * 11, "whoami.exe")).is_none()));
    }
}
