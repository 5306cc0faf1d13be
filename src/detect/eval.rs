//! Evaluating one compiled condition on one observation, collecting the values that matched.

use std::cell::RefCell;
use std::collections::HashMap;
use std::net::IpAddr;
use std::rc::Rc;
use std::sync::LazyLock;

use regex::Regex;

use super::decode::{self, PsInvocation};
use super::finding::{MAX_MATCH_CHARS, MatchedValue};
use super::observation::{
    Observation, path_in_temp, path_in_user_writable, path_tokens, snippet, strip_exe,
};
use super::rules::{Condition, Field, Predicate, TextOp};
use crate::record::Timestamp;

/// Per-observation evaluation state: lowercased text and parsed PowerShell switches, computed
/// once however many rules read them.
pub(crate) struct Ctx<'a> {
    pub(crate) obs: &'a Observation,
    lower: RefCell<HashMap<&'static str, Rc<String>>>,
    /// Every rule pattern of the engine, and which of them match each value scanned so far.
    set: Option<&'a regex::RegexSet>,
    set_hits: RefCell<HashMap<&'static str, Rc<regex::SetMatches>>>,
    ps: RefCell<Option<Rc<Vec<PsInvocation>>>>,
    now: Timestamp,
    recent: chrono::Duration,
}

impl<'a> Ctx<'a> {
    pub(crate) fn new(obs: &'a Observation, now: Timestamp, recent: chrono::Duration) -> Self {
        Ctx {
            obs,
            lower: RefCell::new(HashMap::new()),
            set: None,
            set_hits: RefCell::new(HashMap::new()),
            ps: RefCell::new(None),
            now,
            recent,
        }
    }

    /// `(name, value)` pairs a field stands for; absent parts are skipped.
    fn values(&self, field: Field) -> Vec<(&'static str, std::borrow::Cow<'a, str>)> {
        use std::borrow::Cow;
        let o = self.obs;
        let mut v: Vec<(&'static str, Cow<'a, str>)> = Vec::new();
        let mut add = |name: &'static str, s: Option<&'a str>| {
            if let Some(s) = s {
                v.push((name, Cow::Borrowed(s)));
            }
        };
        match field {
            Field::Image => add("image", o.image.as_deref()),
            Field::ImageName => add("image_name", o.image_name.as_deref()),
            Field::OriginalFileName => add("original_file_name", o.original_name.as_deref()),
            Field::CommandLine => add("command_line", o.command_line.as_deref()),
            Field::ParentImage => add("parent_image", o.parent_image.as_deref()),
            Field::ParentName => add("parent_name", o.ancestry.first().map(String::as_str)),
            Field::ParentCommandLine => {
                add("parent_command_line", o.parent_command_line.as_deref())
            }
            Field::User => add("user", o.user.as_deref()),
            Field::Cwd => add("cwd", o.cwd.as_deref()),
            Field::ScriptText => add("script_text", o.script_text.as_deref()),
            Field::ScriptPath => add("script_path", o.script_path.as_deref()),
            Field::FilePath => add("file_path", o.file_path.as_deref()),
            Field::RemoteAddress => add("remote_address", o.remote_address.as_deref()),
            Field::Target => add("target", o.target.as_deref()),
            Field::Details => add("details", o.details.as_deref()),
            Field::TaskName => add("task_name", o.task.as_ref().and_then(|t| t.name.as_deref())),
            Field::TaskRunAs => add(
                "task_run_as",
                o.task.as_ref().and_then(|t| t.run_as.as_deref()),
            ),
            Field::TaskSchedule => add(
                "task_schedule",
                o.task.as_ref().and_then(|t| t.schedule.as_deref()),
            ),
            Field::Text => {
                add("command_line", o.command_line.as_deref());
                add("script_text", o.script_text.as_deref());
            }
            Field::AnyPath => {
                add("image", o.image.as_deref());
                add("script_path", o.script_path.as_deref());
                add("file_path", o.file_path.as_deref());
            }
            Field::Argv => {
                if !o.argv.is_empty() {
                    v.push(("argv", Cow::Owned(o.argv.join(" "))));
                }
            }
        }
        v
    }

    /// With the engine's pattern set: one scan per value, however many rules read it.
    pub(crate) fn with_set(mut self, set: Option<&'a regex::RegexSet>) -> Self {
        self.set = set;
        self
    }

    /// Which of the engine's patterns match `s` (the value of field `name`), once per value.
    fn set_matches(&self, name: &'static str, s: &str) -> Option<Rc<regex::SetMatches>> {
        let set = self.set?;
        if let Some(m) = self.set_hits.borrow().get(name) {
            return Some(m.clone());
        }
        let m = Rc::new(set.matches(s));
        self.set_hits.borrow_mut().insert(name, m.clone());
        Some(m)
    }

    fn lowered(&self, name: &'static str, s: &str) -> Rc<String> {
        self.lower
            .borrow_mut()
            .entry(name)
            .or_insert_with(|| Rc::new(s.to_ascii_lowercase()))
            .clone()
    }

    fn ps(&self) -> Rc<Vec<PsInvocation>> {
        if let Some(p) = self.ps.borrow().as_ref() {
            return p.clone();
        }
        let p = Rc::new(match &self.obs.command_line {
            Some(c) => decode::powershell_invocations(self.obs.image.as_deref(), c),
            None => Vec::new(),
        });
        *self.ps.borrow_mut() = Some(p.clone());
        p
    }
}

fn push_match(out: &mut Vec<MatchedValue>, field: &str, s: &str, start: usize, end: usize) {
    out.push(MatchedValue {
        field: field.to_string(),
        value: snippet(s, start, end, MAX_MATCH_CHARS),
    });
}

pub(crate) fn eval(c: &Condition, ctx: &Ctx, out: &mut Vec<MatchedValue>) -> bool {
    let o = ctx.obs;
    match c {
        Condition::All(v) => {
            let mut local = Vec::new();
            for c in v {
                if !eval(c, ctx, &mut local) {
                    return false;
                }
            }
            out.extend(local);
            true
        }
        Condition::Any(v) => {
            // Evaluate every branch so the finding lists everything that matched.
            let mut any = false;
            for c in v {
                any |= eval(c, ctx, out);
            }
            any
        }
        Condition::Not(c) => !eval(c, ctx, &mut Vec::new()),
        Condition::Text {
            field,
            op,
            values,
            case_sensitive,
        } => {
            let mut hit = false;
            for (name, s) in ctx.values(*field) {
                let hay = if *case_sensitive {
                    Rc::new(s.to_string())
                } else {
                    ctx.lowered(name, &s)
                };
                let hay = hay.trim();
                // Offsets into the trimmed lowercase text equal those into the trimmed
                // original: ASCII lowercasing keeps byte lengths.
                let orig = s.trim();
                for v in values {
                    let pos = match op {
                        TextOp::Contains => hay.find(v.as_str()),
                        TextOp::StartsWith => hay.starts_with(v.as_str()).then_some(0),
                        TextOp::EndsWith => hay.ends_with(v.as_str()).then(|| hay.len() - v.len()),
                        TextOp::Equals => (hay == v.as_str()).then_some(0),
                    };
                    if let Some(p) = pos {
                        push_match(out, name, orig, p, p + v.len());
                        hit = true;
                        break;
                    }
                }
            }
            hit
        }
        Condition::Regex {
            field,
            patterns,
            set_ids,
            ..
        } => {
            let mut hit = false;
            for (name, s) in ctx.values(*field) {
                let possible = ctx.set_matches(name, &s);
                for (i, re) in patterns.iter().enumerate() {
                    // The engine's one scan of this value said this pattern cannot match.
                    if let (Some(p), Some(&id)) = (&possible, set_ids.get(i))
                        && !p.matched(id)
                    {
                        continue;
                    }
                    if let Some(m) = re.find(&s) {
                        push_match(out, name, &s, m.start(), m.end());
                        hit = true;
                        break;
                    }
                }
            }
            hit
        }
        Condition::LongerThan { field, chars } => {
            let mut hit = false;
            for (name, s) in ctx.values(*field) {
                if s.chars().count() > *chars {
                    push_match(out, name, &s, 0, 0);
                    hit = true;
                }
            }
            hit
        }
        // A renamed binary is still what it was built as: `jabber.exe` with the original name
        // REGSVR32.EXE is regsvr32 to every rule that names it.
        Condition::ImageNameIn(names) => match (&o.image_name, &o.original_name) {
            (Some(n), _) if name_in(n, names) => {
                push_match(out, "image_name", n, 0, n.len());
                true
            }
            (_, Some(n)) if name_in(n, names) => {
                push_match(out, "original_file_name", n, 0, n.len());
                true
            }
            _ => false,
        },
        Condition::ParentNameIn(names) => match o.ancestry.first() {
            Some(n) if name_in(n, names) => {
                push_match(out, "parent_name", n, 0, n.len());
                true
            }
            _ => false,
        },
        Condition::AncestorNameIn(names) => match o.ancestry.iter().find(|a| name_in(a, names)) {
            Some(n) => {
                push_match(out, "ancestor", n, 0, n.len());
                true
            }
            None => false,
        },
        Condition::PathInTemp(field) => path_test(ctx, *field, out, path_in_temp),
        Condition::PathInUserWritable(field) => path_test(ctx, *field, out, path_in_user_writable),
        Condition::HasUrl(field) => {
            let mut hit = false;
            for (name, s) in ctx.values(*field) {
                if let Some(m) = URL.as_ref().and_then(|re| re.find(&s)) {
                    push_match(out, name, &s, m.start(), m.end());
                    hit = true;
                }
            }
            hit
        }
        Condition::RemoteIsPublic(want) => {
            let public = o
                .remote_address
                .as_deref()
                .and_then(|a| a.trim().trim_matches(['[', ']']).parse::<IpAddr>().ok())
                .is_some_and(is_public);
            if public && *want {
                let a = o.remote_address.as_deref().unwrap_or("");
                push_match(out, "remote_address", a, 0, a.len());
            }
            public == *want
        }
        Condition::Predicate(p) => predicate(*p, ctx, out),
    }
}

/// Image-name lists compare without `.exe`, so one list covers Windows and Unix names.
fn name_in(name: &str, names: &[String]) -> bool {
    let n = strip_exe(name);
    names.iter().any(|x| strip_exe(x) == n)
}

/// Path fields are tested as a whole; command lines and scripts by their path-like tokens.
fn path_test(ctx: &Ctx, field: Field, out: &mut Vec<MatchedValue>, test: fn(&str) -> bool) -> bool {
    let mut hit = false;
    let whole = matches!(
        field,
        Field::Image
            | Field::ParentImage
            | Field::ScriptPath
            | Field::FilePath
            | Field::Cwd
            | Field::AnyPath
    );
    for (name, s) in ctx.values(field) {
        if whole {
            if test(&s) {
                push_match(out, name, &s, 0, s.len());
                hit = true;
            }
        } else if let Some(tok) = path_tokens(&s).into_iter().find(|t| test(t)) {
            push_match(out, name, tok, 0, tok.len());
            hit = true;
        }
    }
    hit
}

/// A literal pattern: it always compiles (every test run checks it); `None` would only
/// disable `has_url`, never panic. Its word boundary is ASCII: a Unicode one makes the scan
/// slow on non-ASCII text (see `text::pattern`).
static URL: LazyLock<Option<Regex>> =
    LazyLock::new(|| Regex::new(r#"(?i)(?-u:\b)(?:https?|ftps?|sftp|tftp)://[^\s'"<>`)]+"#).ok());

/// Not loopback, private, link-local, CGNAT, multicast, unspecified or documentation.
pub fn is_public(ip: IpAddr) -> bool {
    match ip {
        IpAddr::V4(v4) => {
            let o = v4.octets();
            !(v4.is_loopback()
                || v4.is_private()
                || v4.is_link_local()
                || v4.is_multicast()
                || v4.is_broadcast()
                || v4.is_unspecified()
                || v4.is_documentation()
                || o[0] == 0
                || (o[0] == 100 && (64..128).contains(&o[1])))
        }
        IpAddr::V6(v6) => {
            if let Some(v4) = v6.to_ipv4_mapped() {
                return is_public(IpAddr::V4(v4));
            }
            let s = v6.segments();
            !(v6.is_loopback()
                || v6.is_unspecified()
                || v6.is_multicast()
                || (s[0] & 0xfe00) == 0xfc00
                || (s[0] & 0xffc0) == 0xfe80
                || s[0] == 0x2001 && s[1] == 0x0db8)
        }
    }
}

fn is_system_account(s: &str) -> bool {
    let s = s.trim().to_ascii_lowercase();
    matches!(
        s.as_str(),
        "system" | "nt authority\\system" | "s-1-5-18" | "localsystem" | "root" | "0"
    ) || s.ends_with("\\system")
}

fn predicate(p: Predicate, ctx: &Ctx, out: &mut Vec<MatchedValue>) -> bool {
    let o = ctx.obs;
    let cmd = o.command_line.as_deref().unwrap_or("");
    let mut ps_flag = |name: &str, test: &dyn Fn(&PsInvocation) -> Option<String>| {
        let found = ctx.ps().iter().find_map(test);
        if let Some(v) = &found {
            out.push(MatchedValue {
                field: name.to_string(),
                value: snippet(v, 0, v.len(), MAX_MATCH_CHARS),
            });
        }
        found.is_some()
    };
    match p {
        Predicate::PsEncodedCommand => {
            ps_flag("powershell -EncodedCommand", &|i| i.encoded_command.clone())
        }
        Predicate::PsHiddenWindow => ps_flag("powershell -WindowStyle", &|i| {
            i.hidden_window()
                .then(|| i.window_style.clone().unwrap_or_default())
        }),
        Predicate::PsPolicyBypass => ps_flag("powershell -ExecutionPolicy", &|i| {
            i.policy_bypass()
                .then(|| i.execution_policy.clone().unwrap_or_default())
        }),
        Predicate::PsNoProfile => {
            ps_flag("powershell -NoProfile", &|i| i.no_profile.then(String::new))
        }
        Predicate::PsNonInteractive => ps_flag("powershell -NonInteractive", &|i| {
            i.non_interactive.then(String::new)
        }),
        Predicate::Base64Payload => {
            let script = o.script_text.as_deref().unwrap_or("");
            let found = decode::decode_script_literals(script, 1)
                .into_iter()
                .chain(decode::decode_script_literals(cmd, 1))
                .next();
            if let Some(d) = &found {
                out.push(MatchedValue {
                    field: "FromBase64String".into(),
                    value: snippet(&d.original, 0, 0, MAX_MATCH_CHARS),
                });
            }
            found.is_some()
        }
        Predicate::ImageFileless => o.image_fileless,
        Predicate::TaskHidden => o.task.as_ref().and_then(|t| t.hidden) == Some(true),
        Predicate::RunsAsSystem => {
            let who = o
                .task
                .as_ref()
                .and_then(|t| t.run_as.as_deref())
                .or(o.user.as_deref());
            match who {
                Some(w) if is_system_account(w) => {
                    out.push(MatchedValue {
                        field: "run_as".into(),
                        value: w.to_string(),
                    });
                    true
                }
                _ => false,
            }
        }
        Predicate::TaskRegisteredRecently => {
            match o.task.as_ref().and_then(|t| t.registration_time) {
                Some(t)
                    if t <= ctx.now + chrono::Duration::days(1) && ctx.now - t <= ctx.recent =>
                {
                    out.push(MatchedValue {
                        field: "registration_time".into(),
                        value: t.to_rfc3339(),
                    });
                    true
                }
                _ => false,
            }
        }
        Predicate::Decoded => o.derived.is_some(),
        Predicate::Argv0Masquerade => match o.argv0_masquerade() {
            Some(what) => {
                out.push(MatchedValue {
                    field: "argv0".to_string(),
                    value: what,
                });
                true
            }
            None => false,
        },
        Predicate::ImageRenamed => match o.renamed() {
            Some((orig, name)) => {
                out.push(MatchedValue {
                    field: "renamed".to_string(),
                    value: snippet(&format!("{name} is {orig}"), 0, usize::MAX, MAX_MATCH_CHARS),
                });
                true
            }
            None => false,
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn public_addresses() {
        for a in ["8.8.8.8", "2606:4700::1111", "::ffff:1.1.1.1"] {
            assert!(is_public(a.parse().unwrap()), "{a}");
        }
        for a in [
            "127.0.0.1",
            "10.1.2.3",
            "192.168.0.1",
            "172.16.0.1",
            "169.254.1.1",
            "100.64.0.1",
            "0.0.0.0",
            "::1",
            "fe80::1",
            "fd00::1",
            "::ffff:10.0.0.1",
            "224.0.0.1",
        ] {
            assert!(!is_public(a.parse().unwrap()), "{a}");
        }
    }

    #[test]
    fn system_accounts() {
        for a in [
            "SYSTEM",
            "NT AUTHORITY\\SYSTEM",
            "S-1-5-18",
            "root",
            "LocalSystem",
        ] {
            assert!(is_system_account(a), "{a}");
        }
        assert!(!is_system_account("bob"));
    }
}
