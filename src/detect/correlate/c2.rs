//! Execution → C2: a script host, shell, LOLBin, or a process running from a temp path or
//! from memory, holding a connection to a public address (live socket ↔ process by pid, or the
//! image Sysmon 3 logged). "Link execution events to subsequent network connections (Sysmon
//! 3) for C2 detection" (TA0002 guidance, shared/guidance/000_*.txt).

use std::collections::HashMap;

use super::super::eval::is_public;
use super::super::finding::{Finding, MatchedValue};
use super::super::observation::{
    Observation, ObservationKind, image_name, path_in_temp, snippet, strip_exe,
};
use super::super::rules::{Severity, Tactic};
use super::code_finding;

/// The live snapshot's processes by pid, for joining sockets to their owners.
#[derive(Default)]
pub struct ProcIndex {
    by_pid: HashMap<u32, Observation>,
}

impl ProcIndex {
    pub fn new(processes: &[Observation]) -> ProcIndex {
        ProcIndex {
            by_pid: processes
                .iter()
                .filter(|o| o.kind == ObservationKind::Process)
                .filter_map(|o| o.pid.map(|p| (p, o.clone())))
                .collect(),
        }
    }
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

/// The join finding of one connection, if its owner is a script host, shell, memory-only
/// image or temp-path process talking to a public address.
/// Programs a person works in: a shell or script host under one of them calling out is the
/// user-action → script → callback chain (a macro, a downloaded .js, an archive's .lnk).
const USER_APPS: &[&str] = &[
    "winword",
    "excel",
    "powerpnt",
    "outlook",
    "msaccess",
    "mspub",
    "onenote",
    "visio",
    "acrord32",
    "acrobat",
    "foxitpdfreader",
    "chrome",
    "msedge",
    "firefox",
    "iexplore",
    "brave",
    "opera",
    "thunderbird",
    "winrar",
    "7zfm",
    "7zg",
    "winzip64",
    "explorer",
    "teams",
    "slack",
    "discord",
    "zoom",
];

pub fn exec_to_c2(conn: &Observation, procs: &ProcIndex) -> Option<Finding> {
    if conn.kind != ObservationKind::NetworkConnection {
        return None;
    }
    {
        let addr = conn.remote_address.as_deref()?;
        let public = addr
            .trim()
            .trim_matches(['[', ']'])
            .parse()
            .ok()
            .is_some_and(is_public);
        if !public {
            return None;
        }
        let proc_obs = conn.pid.and_then(|p| procs.by_pid.get(&p));
        let image = conn
            .image
            .as_deref()
            .or(proc_obs.and_then(|p| p.image.as_deref()));
        let image = image?;
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
            return None;
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
        // The whole chain: who started the script host (live snapshot by pid, Sysmon by
        // ProcessGuid, filled in before this runs).
        let ancestry = match proc_obs {
            Some(p) if conn.ancestry.is_empty() => &p.ancestry,
            _ => &conn.ancestry,
        };
        let user_app = ancestry
            .iter()
            .find(|a| USER_APPS.contains(&strip_exe(a)))
            .filter(|_| C2_HOSTS.contains(&base) || C2_INTERPRETERS.contains(&base));
        if let Some(app) = user_app {
            f.rule_id = "corr-user-action-to-c2".into();
            f.title =
                "Program started from an Office app, browser, mail or archive tool connected out"
                    .into();
            f.description = "A document, page, mail or archive opened by a person started a script host or shell that then called a public address: the user-execution → script → C2 chain.".into();
            f.techniques = vec!["T1204.002".into(), "T1059".into(), "T1071".into()];
            f.tactic = Tactic::Execution;
            f.tactic_id = Tactic::Execution.id().to_string();
            f.severity = Severity::Critical;
            f.matched.push(MatchedValue {
                field: "ancestry".into(),
                value: snippet(&ancestry.join(" ← "), 0, 0, 300),
            });
            f.summary = snippet(&format!("{app} → … → {image} → {remote}"), 0, 0, 300);
        }
        Some(f)
    }
}
