//! Attacker text reaches every parser. Multi-byte characters (é, 😀, e + combining acute,
//! U+202E RIGHT-TO-LEFT OVERRIDE) put next to every delimiter of each format must neither
//! panic (a byte index inside a character does) nor lose the characters around the delimiter.

use super::cron::{CrontabKind, parse_anacrontab, parse_at_filename, parse_at_job, parse_crontab};
use super::exec_events::parse_hashes;
use super::powershell::parse_context;
use super::shell_history::{HistoryKind, parse_history};
use super::systemd_unit::{TimerSpec, parse_unit, split_words, timer_target_unit};
use super::task_xml::{TaskTime, parse_duration_secs, parse_task_xml};

const MB: [&str; 4] = ["é", "😀", "e\u{301}", "\u{202E}"];

/// `template` with each of [`MB`] inserted at every char boundary and put in place of every
/// character: every delimiter gets a multi-byte neighbour on each side.
fn variants(template: &str) -> Vec<String> {
    let mut out = Vec::new();
    let bounds: Vec<usize> = template
        .char_indices()
        .map(|(i, _)| i)
        .chain([template.len()])
        .collect();
    for mb in MB {
        for w in bounds.windows(2) {
            let (a, b) = (w[0], w[1]);
            out.push(format!("{}{mb}{}", &template[..a], &template[a..]));
            out.push(format!("{}{mb}{}", &template[..a], &template[b..]));
        }
        out.push(format!("{template}{mb}"));
    }
    out
}

fn utf16le(s: &str) -> Vec<u8> {
    [0xFF, 0xFE]
        .into_iter()
        .chain(s.encode_utf16().flat_map(u16::to_le_bytes))
        .collect()
}

#[test]
fn cron_anacron_and_at() {
    let crontab = "A=\"x y\"\nB = 'q'\n@reboot u /bin/x\n*/5 1-2 * jan,feb mon-fri root /bin/sh -c 'a%b\\%c'\n";
    let anacrontab =
        "SHELL=/bin/sh\n1\t5\tcron.daily\trun-parts /etc/cron.daily\n@monthly 15 m nice x\n";
    let at = "#!/bin/sh\n# atrun uid=0 gid=0\n# mail root 0\numask 22\nA=b; export A\nB=c\\\nd; export B\ncd /tmp || {\n\t echo 'x' >&2\n\t exit 1\n}\n${SHELL:-/bin/sh} << 'marcinDELIMITER0'\nid\nmarcinDELIMITER0\nafter\n";
    for v in variants(crontab) {
        let _ = parse_crontab(v.as_bytes(), CrontabKind::System);
        let _ = parse_crontab(v.as_bytes(), CrontabKind::User);
    }
    for v in variants(anacrontab) {
        let _ = parse_anacrontab(v.as_bytes());
    }
    for v in variants(at) {
        let _ = parse_at_job(v.as_bytes());
    }
    for v in variants("a0001e01ab1234") {
        let _ = parse_at_filename(&v);
    }

    let p = parse_crontab(
        "É=😀\n* * * * * root echo é%😀\u{202E}%e\u{301}\n".as_bytes(),
        CrontabKind::System,
    );
    let e = &p.entries[0];
    assert_eq!(e.command, "echo é");
    assert_eq!(e.stdin.as_deref(), Some("😀\u{202E}\ne\u{301}"));
    assert_eq!(e.environment[0].name, "É");
    assert_eq!(e.environment[0].value, "😀");
    let job = parse_at_job("#!/bin/sh\n# atrun uid=0 gid=0\ncd /tmp/é😀\n${SHELL:-/bin/sh} << 'D'\necho \u{202E}e\u{301}\nD\n".as_bytes());
    assert_eq!(job.working_directory.as_deref(), Some("/tmp/é😀"));
    assert_eq!(job.command, "echo \u{202E}e\u{301}");
}

#[test]
fn shell_histories() {
    let kinds = [
        HistoryKind::Bash,
        HistoryKind::Zsh,
        HistoryKind::Fish,
        HistoryKind::Sh,
        HistoryKind::Python,
        HistoryKind::PsReadLine,
    ];
    let text = "#1700000000\nls -la\n: 1700000001:0;echo a\\\nb\n- cmd: x\\\\y\n  when: 17\n  paths:\n    - /p\n\\040\\134ok\nGet-Item `\n  x\n";
    for v in variants(text) {
        for k in kinds {
            let _ = parse_history(k, v.as_bytes());
            let _ = parse_history(k, &utf16le(&v));
        }
    }
    let p = parse_history(
        HistoryKind::Bash,
        "#1700000000\necho é😀\u{202E}e\u{301}\n".as_bytes(),
    );
    assert_eq!(p.entries[0].command, "echo é😀\u{202E}e\u{301}");
    let p = parse_history(HistoryKind::Zsh, ": 1700000001:0;é😀\n".as_bytes());
    assert_eq!(p.entries[0].command, "é😀");
    let p = parse_history(
        HistoryKind::Fish,
        "- cmd: 😀\u{202E}\n  when: 17\n".as_bytes(),
    );
    assert_eq!(p.entries[0].command, "😀\u{202E}");
}

#[test]
fn systemd_units_and_words() {
    let unit = "[Unit]\nDescription=d\n\n[Service]\nExecStart=-/bin/sh -c \"a b\" ; @/bin/x x0 'q r'\\\n  cont\nEnvironment=A=1 \"B=2 3\"\nUser=u\n# c\n; c\n[Timer]\nOnCalendar=*-*-* 00:00:00\nUnit=x.service\n";
    for v in variants(unit) {
        let _ = parse_unit(v.as_bytes());
    }
    for v in variants("a 'b c' \"d\\\"e\" f\\x41\\u00e9\\101 ; g") {
        let _ = split_words(&v);
    }
    for v in variants("backup.timer") {
        let _ = timer_target_unit(&v, &TimerSpec::default());
    }
    let (words, ok) = split_words("é😀 '\u{202E}x' e\u{301};");
    assert!(ok);
    assert_eq!(words, ["é😀", "\u{202E}x", "e\u{301};"]);
}

#[test]
fn task_xml_and_its_values() {
    let xml = "<?xml version=\"1.0\" encoding=\"UTF-16\"?><Task version=\"1.2\" xmlns=\"x\"><RegistrationInfo><URI>\\a</URI><Date>2020-01-01T00:00:00</Date></RegistrationInfo><Actions Context=\"A\"><Exec><Command>c&amp;&#233;&x;</Command><Arguments>a</Arguments></Exec></Actions></Task>";
    for v in variants(xml) {
        let _ = parse_task_xml(v.as_bytes());
        let _ = parse_task_xml(&utf16le(&v));
    }
    for v in variants("P1DT2H3M4.5S") {
        let _ = parse_duration_secs(&v);
    }
    for v in variants("2020-01-01T00:00:00+01:00") {
        let _ = TaskTime::parse(&v);
    }
    let t = parse_task_xml(
        "<Task><Actions><Exec><Command>é😀&amp;\u{202E}e\u{301}</Command></Exec></Actions></Task>"
            .as_bytes(),
    )
    .unwrap();
    assert_eq!(
        super::task_xml::exec_command_line(&t.actions[0]),
        "é😀&\u{202E}e\u{301}"
    );
}

#[test]
fn powershell_context_and_sysmon_hashes() {
    for v in variants(
        "        Severity = Informational\r\n        Host Name = ConsoleHost\r\n        CommandLine=a = b\r\n",
    ) {
        let _ = parse_context(&v);
    }
    for v in variants("SHA1=AB,MD5=CD,IMPHASH=EF") {
        let _ = parse_hashes(&v);
    }
    let ctx = parse_context("Host Application = é😀=\u{202E}\r\nCommandLine=e\u{301}\r\n");
    assert_eq!(
        ctx[0],
        ("Host Application".to_string(), "é😀=\u{202E}".to_string())
    );
    assert_eq!(ctx[1], ("CommandLine".to_string(), "e\u{301}".to_string()));
}
