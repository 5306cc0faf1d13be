//! The `ContextInfo` / `HostApplication=` text of classic and module-logging events, split into key/value pairs.

use super::PsEvent;

/// Lower-case with spaces/underscores removed, so "Host Application" (4103) and
/// "HostApplication" (classic) map to the same field.
pub(super) fn norm_key(k: &str) -> String {
    k.chars()
        .filter(|c| !c.is_whitespace() && *c != '_')
        .flat_map(char::to_lowercase)
        .collect()
}

pub(super) fn apply_context(out: &mut PsEvent) {
    let pairs = std::mem::take(&mut out.context);
    for (k, v) in &pairs {
        let text = || Some(v.clone()).filter(|s| !s.is_empty());
        let num = || v.trim().parse::<u64>().ok();
        // First occurrence wins (context blocks do not repeat keys; a forged repeat should not
        // override the real value written first).
        macro_rules! set {
            ($field:ident, $val:expr) => {
                if out.$field.is_none() {
                    out.$field = $val;
                }
            };
        }
        match norm_key(k).as_str() {
            "hostapplication" => set!(host_application, text()),
            "hostname" => set!(host_name, text()),
            "hostversion" => set!(host_version, text()),
            "hostid" => set!(host_id, text()),
            "engineversion" => set!(engine_version, text()),
            "runspaceid" => set!(runspace_id, text()),
            "pipelineid" => set!(pipeline_id, num()),
            "commandname" => set!(command_name, text()),
            "commandtype" => set!(command_type, text()),
            "scriptname" => set!(script_name, text()),
            "commandpath" => set!(command_path, text()),
            "commandline" => set!(command_line, text()),
            "sequencenumber" => set!(sequence_number, num()),
            "user" | "userid" => set!(user, text()),
            "connecteduser" => set!(connected_user, text()),
            "shellid" => set!(shell_id, text()),
            "severity" => set!(severity, text()),
            "newenginestate" => set!(new_engine_state, text()),
            "previousenginestate" => set!(previous_engine_state, text()),
            "providername" => set!(provider_name, text()),
            "newproviderstate" => set!(new_provider_state, text()),
            "detailsequence" => set!(detail_sequence, num().and_then(|n| u32::try_from(n).ok())),
            "detailtotal" => set!(detail_total, num().and_then(|n| u32::try_from(n).ok())),
            _ => {}
        }
    }
    out.context = pairs;
}

/// Parse a PowerShell context block into (key, value) pairs, in order.
///
/// Two layouts exist: classic `\tKey=Value` lines and 4103/4100 `        Key Name = Value`
/// lines (keys localized on non-English systems). Values can span lines (a multi-line host
/// command line, the pipeline text in `CommandLine=`), so a line only starts a new key when it
/// has the same indentation as the first key line and a plausible key (letters/digits/spaces,
/// starting with a letter) before the first `=`; anything else continues the previous value.
/// `CommandLine` is always last and takes the rest of the block verbatim.
pub fn parse_context(text: &str) -> Vec<(String, String)> {
    let mut pairs: Vec<(String, String)> = Vec::new();
    let mut indent: Option<&str> = None;
    let mut rest_is_value = false;
    for line in text.split_inclusive('\n') {
        let key_line = match rest_is_value {
            true => None,
            false => split_key_line(line).filter(|(lead, _, _)| indent.is_none_or(|i| i == *lead)),
        };
        if let Some((lead, key, value)) = key_line {
            indent = Some(lead);
            rest_is_value = norm_key(key) == "commandline";
            pairs.push((key.to_string(), value.to_string()));
            continue;
        }
        // Text before the first key (e.g. a localized header line) is ignored.
        if let Some((_, v)) = pairs.last_mut() {
            v.push_str(line);
        }
    }
    for (_, v) in &mut pairs {
        let trimmed = v.trim_end_matches(['\r', '\n']).len();
        v.truncate(trimmed);
    }
    pairs
}

/// `(leading whitespace, key, value-with-line-ending)` when `line` looks like `Key=Value` or
/// `Key Name = Value`.
fn split_key_line(line: &str) -> Option<(&str, &str, &str)> {
    let body_start = line.len() - line.trim_start_matches([' ', '\t']).len();
    let lead = line.get(..body_start)?;
    let body = line.get(body_start..)?;
    let eq = body.find('=')?;
    let raw_key = body.get(..eq)?;
    let key = raw_key.trim_end();
    if key.is_empty() || key.chars().count() > 48 {
        return None;
    }
    let mut chars = key.chars();
    if !chars.next().is_some_and(char::is_alphabetic) {
        return None;
    }
    if !key.chars().all(|c| c.is_alphanumeric() || c == ' ') {
        return None;
    }
    let mut value = body.get(eq + 1..)?;
    // "Key = Value": drop the single space after '=' that belongs to the separator.
    if raw_key.len() != key.len() {
        value = value.strip_prefix(' ').unwrap_or(value);
    }
    Some((lead, key, value))
}
