//! systemd timer helpers: the schedule of a `[Timer]` as typed triggers and in words, and the
//! unit-name rules for templates and enabling links (systemd.timer(5), systemd.unit(5)).

use crate::parsers::systemd_unit::TimerSpec;
use crate::record::{ScheduledTrigger, TriggerType};

/// `foo@bar.timer` is enabled by a link named `foo@bar.timer`; the template `foo@.timer` by
/// a link to any of its instances.
pub(super) fn link_matches(link: &str, unit: &str) -> bool {
    if link == unit {
        return true;
    }
    match unit.split_once("@.") {
        Some((prefix, suffix)) => {
            link.starts_with(&format!("{prefix}@")) && link.ends_with(&format!(".{suffix}"))
        }
        None => false,
    }
}

/// Template of an instance name: `foo@bar.service` → `foo@.service`.
pub(super) fn template_of(name: &str) -> Option<String> {
    let (prefix, rest) = name.split_once('@')?;
    let dot = rest.rfind('.')?;
    let suffix = rest.get(dot..)?;
    let inst = rest.get(..dot)?;
    (!inst.is_empty()).then(|| format!("{prefix}@{suffix}"))
}

pub(super) fn triggers(t: &TimerSpec) -> Vec<ScheduledTrigger> {
    let mut out = Vec::new();
    let lists: [(&Vec<String>, TriggerType); 6] = [
        (&t.on_calendar, TriggerType::Calendar),
        (&t.on_boot_sec, TriggerType::Boot),
        (&t.on_startup_sec, TriggerType::Startup),
        (&t.on_active_sec, TriggerType::TimerActivated),
        (&t.on_unit_active_sec, TriggerType::UnitActive),
        (&t.on_unit_inactive_sec, TriggerType::UnitInactive),
    ];
    for (values, ty) in lists {
        // An empty assignment resets the list; the parser keeps the reset, the timer does not fire on it.
        for v in values.iter().filter(|v| !v.is_empty()) {
            let mut trig = ScheduledTrigger::new(ty.clone());
            if ty == TriggerType::Calendar {
                trig.expression = Some(v.clone());
            } else {
                trig.delay = Some(v.clone());
            }
            trig.random_delay = t.randomized_delay_sec.clone();
            out.push(trig);
        }
    }
    out
}

pub(super) fn summarize(t: &TimerSpec) -> String {
    let mut parts = Vec::new();
    let lists: [(&Vec<String>, &str); 6] = [
        (&t.on_calendar, "OnCalendar"),
        (&t.on_boot_sec, "OnBootSec"),
        (&t.on_startup_sec, "OnStartupSec"),
        (&t.on_active_sec, "OnActiveSec"),
        (&t.on_unit_active_sec, "OnUnitActiveSec"),
        (&t.on_unit_inactive_sec, "OnUnitInactiveSec"),
    ];
    for (values, key) in lists {
        for v in values.iter().filter(|v| !v.is_empty()) {
            parts.push(format!("{key}={v}"));
        }
    }
    if parts.is_empty() {
        return "no time trigger".into();
    }
    if let Some(p) = t.persistent {
        parts.push(format!("Persistent={p}"));
    }
    if let Some(r) = &t.randomized_delay_sec {
        parts.push(format!("RandomizedDelaySec={r}"));
    }
    parts.join("; ")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn templates_and_links() {
        assert_eq!(
            template_of("pg_dump@main.service").as_deref(),
            Some("pg_dump@.service")
        );
        assert_eq!(template_of("pg_dump@.service"), None);
        assert_eq!(template_of("plain.service"), None);
        assert!(link_matches("pg_dump@14-main.timer", "pg_dump@.timer"));
        assert!(link_matches("a.timer", "a.timer"));
        assert!(!link_matches("ab.timer", "a.timer"));
    }
}
