//! What a staged file is: from its first bytes when they say so (`#!`, `MZ`, `\x7fELF`, a
//! shortcut header), else from its extension. Content wins: `invoice.pdf` holding a PE is a
//! PE, and a renamed ELF with no extension is still found.

use crate::record::DetectedType;

/// Bytes read from each candidate to identify it; replayed into the sink, so the file is
/// still read once.
pub const HEAD_LEN: u64 = 4096;
/// Bytes read while walking from a file whose name does not select it: enough for every
/// magic [`sniff`] knows (the shell-link header is the longest).
pub const MAGIC_LEN: u64 = LNK_MAGIC.len() as u64;
/// Longest first line kept in a record.
const FIRST_LINE_MAX: usize = 256;

/// `HeaderSize` 0x4C and the shell-link CLSID start ([MS-SHLLINK] 2.1).
const LNK_MAGIC: &[u8] = b"\x4C\x00\x00\x00\x01\x14\x02\x00";

/// The default extension list: scripts Windows and Unix run directly, executables, and the
/// containers that carry them (lower case, no dot). Not `.bin`: it names firmware, caches,
/// model weights and every other blob on an ordinary host (249 of them on one we measured),
/// and an executable named `.bin` is still found by its magic bytes.
pub const DEFAULT_EXTENSIONS: &[&str] = &[
    "ps1", "psm1", "psd1", "vbs", "vbe", "js", "jse", "wsf", "wsh", "hta", "sct", "bat", "cmd",
    "sh", "bash", "zsh", "ksh", "csh", "py", "pyw", "pl", "rb", "php", "lnk", "url", "exe", "dll",
    "scr", "cpl", "com", "pif", "ocx", "sys", "msi", "msp", "jar", "so", "elf", "run", "appimage",
];

/// The type an extension implies, when it implies one.
pub fn type_for_extension(ext: &str) -> Option<DetectedType> {
    Some(match ext {
        "ps1" | "psm1" | "psd1" => DetectedType::Powershell,
        "vbs" | "vbe" => DetectedType::Vbscript,
        "js" | "jse" => DetectedType::Javascript,
        "wsf" | "wsh" => DetectedType::WindowsScriptFile,
        "hta" => DetectedType::Hta,
        "sct" => DetectedType::Scriptlet,
        "bat" | "cmd" => DetectedType::Batch,
        "sh" | "bash" | "zsh" | "ksh" | "csh" | "dash" | "fish" => DetectedType::Shell,
        "py" | "pyw" => DetectedType::Python,
        "pl" => DetectedType::Perl,
        "rb" => DetectedType::Ruby,
        "php" => DetectedType::Php,
        "lnk" => DetectedType::Lnk,
        "exe" | "dll" | "scr" | "cpl" | "com" | "pif" | "ocx" | "sys" => DetectedType::Pe,
        "so" | "elf" => DetectedType::Elf,
        "msi" | "msp" => DetectedType::Msi,
        "jar" => DetectedType::Jar,
        _ => return None,
    })
}

/// What the first bytes say: the type and, for `#!` scripts, the interpreter line.
pub fn sniff(head: &[u8]) -> Option<(DetectedType, Option<String>)> {
    if let Some(rest) = head.strip_prefix(b"#!") {
        let line = first_line_bytes(rest);
        let text = String::from_utf8_lossy(line).trim().to_string();
        let kind = interpreter_type(&text);
        return Some((kind, Some(cap(&text))));
    }
    if head.starts_with(b"\x7fELF") {
        return Some((DetectedType::Elf, None));
    }
    if head.starts_with(b"MZ") {
        return Some((DetectedType::Pe, None));
    }
    if head.starts_with(LNK_MAGIC) {
        return Some((DetectedType::Lnk, None));
    }
    None
}

/// `/usr/bin/env -S python3 -u` → python; `/bin/busybox sh` → shell.
fn interpreter_type(line: &str) -> DetectedType {
    let mut words = line.split_whitespace();
    let mut prog = words.next().unwrap_or("");
    if basename(prog) == "env" {
        // env's own options and VAR=value assignments come before the program.
        prog = words
            .find(|w| !w.starts_with('-') && !w.contains('='))
            .unwrap_or("");
    }
    let name = basename(prog);
    // python3.11, perl5.36, php8.2: the family is the name without its version.
    let family = name.trim_end_matches(|c: char| c.is_ascii_digit() || c == '.');
    match family {
        "sh" | "bash" | "dash" | "zsh" | "ksh" | "mksh" | "ash" | "csh" | "tcsh" | "fish"
        | "busybox" => DetectedType::Shell,
        "python" | "pypy" => DetectedType::Python,
        "perl" => DetectedType::Perl,
        "ruby" => DetectedType::Ruby,
        "php" => DetectedType::Php,
        "pwsh" | "powershell" => DetectedType::Powershell,
        "node" | "nodejs" | "deno" | "bun" => DetectedType::Javascript,
        _ => DetectedType::OtherScript,
    }
}

fn basename(p: &str) -> &str {
    p.rsplit(['/', '\\']).next().unwrap_or(p)
}

fn first_line_bytes(b: &[u8]) -> &[u8] {
    let end = b.iter().position(|&c| c == b'\n').unwrap_or(b.len());
    let line = &b[..end];
    line.strip_suffix(b"\r").unwrap_or(line)
}

fn cap(s: &str) -> String {
    if s.chars().count() <= FIRST_LINE_MAX {
        return s.to_string();
    }
    let mut out: String = s.chars().take(FIRST_LINE_MAX).collect();
    out.push('…');
    out
}

/// Whether a type is text a responder wants to see the first line of.
pub fn is_script(t: DetectedType) -> bool {
    matches!(
        t,
        DetectedType::Shell
            | DetectedType::Python
            | DetectedType::Perl
            | DetectedType::Ruby
            | DetectedType::Php
            | DetectedType::Powershell
            | DetectedType::Vbscript
            | DetectedType::Javascript
            | DetectedType::WindowsScriptFile
            | DetectedType::Hta
            | DetectedType::Batch
            | DetectedType::Scriptlet
            | DetectedType::OtherScript
            | DetectedType::Unknown
    )
}

/// Whether a type is something that runs (a script, an executable, an installer, a
/// shortcut): those rank first when budgets cut the list.
pub fn is_runnable(t: DetectedType) -> bool {
    (is_script(t) && t != DetectedType::Unknown)
        || matches!(
            t,
            DetectedType::Pe
                | DetectedType::Elf
                | DetectedType::Msi
                | DetectedType::Jar
                | DetectedType::Lnk
        )
}

/// The first non-empty line of a text file: UTF-8 (BOM stripped) or UTF-16 with a BOM
/// (PowerShell writes scripts that way), capped, invalid bytes replaced. None for binary
/// content (a NUL in the line).
pub fn first_line(head: &[u8]) -> Option<String> {
    let text = if let Some(b) = head.strip_prefix(b"\xFF\xFE") {
        encoding_rs::UTF_16LE
            .decode_without_bom_handling(b)
            .0
            .into_owned()
    } else if let Some(b) = head.strip_prefix(b"\xFE\xFF") {
        encoding_rs::UTF_16BE
            .decode_without_bom_handling(b)
            .0
            .into_owned()
    } else {
        let b = head.strip_prefix(b"\xEF\xBB\xBF").unwrap_or(head);
        // Only the first lines matter; do not decode the whole head when it is binary.
        let line_end = b
            .iter()
            .scan(0usize, |seen, &c| {
                if c == b'\n' {
                    *seen += 1;
                }
                Some(*seen)
            })
            .position(|n| n > 32)
            .unwrap_or(b.len());
        String::from_utf8_lossy(&b[..line_end]).into_owned()
    };
    let line = text
        .lines()
        .map(str::trim_end)
        .find(|l| !l.trim().is_empty())?;
    if line.contains('\0') {
        return None;
    }
    Some(cap(line))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn content_beats_names() {
        assert_eq!(sniff(b"\x7fELF\x02\x01"), Some((DetectedType::Elf, None)));
        assert_eq!(sniff(b"MZ\x90\x00"), Some((DetectedType::Pe, None)));
        assert_eq!(
            sniff(b"\x4C\x00\x00\x00\x01\x14\x02\x00\x00\x00"),
            Some((DetectedType::Lnk, None))
        );
        assert_eq!(sniff(b"plain text"), None);
        assert_eq!(sniff(b""), None);
    }

    #[test]
    fn shebangs() {
        let t = |s: &[u8]| sniff(s).unwrap();
        assert_eq!(
            t(b"#!/usr/bin/env -S python3.11 -u\nprint(1)"),
            (
                DetectedType::Python,
                Some("/usr/bin/env -S python3.11 -u".into())
            )
        );
        assert_eq!(t(b"#! /bin/bash\r\n").0, DetectedType::Shell);
        assert_eq!(t(b"#!/usr/bin/env LANG=C perl -w").0, DetectedType::Perl);
        assert_eq!(t(b"#!/opt/pwsh/pwsh").0, DetectedType::Powershell);
        assert_eq!(t(b"#!/usr/bin/awk -f").0, DetectedType::OtherScript);
        assert_eq!(t(b"#!").0, DetectedType::OtherScript);
        let long = [b"#!/bin/sh ".as_slice(), &[b'a'; 5000]].concat();
        assert!(t(&long).1.unwrap().chars().count() <= FIRST_LINE_MAX + 1);
    }

    #[test]
    fn first_lines() {
        assert_eq!(
            first_line(b"\xEF\xBB\xBF\n\nIEX (x)\r\nmore"),
            Some("IEX (x)".into())
        );
        let utf16: Vec<u8> = [0xFF, 0xFE]
            .into_iter()
            .chain(
                "Write-Host hi\r\n"
                    .encode_utf16()
                    .flat_map(u16::to_le_bytes),
            )
            .collect();
        assert_eq!(first_line(&utf16), Some("Write-Host hi".into()));
        assert_eq!(first_line(b"a\0b\n"), None);
        assert_eq!(first_line(b"echo \xff\n"), Some("echo \u{fffd}".into()));
        assert_eq!(type_for_extension("vbe"), Some(DetectedType::Vbscript));
        assert_eq!(type_for_extension("txt"), None);
    }

    #[test]
    fn bin_is_no_script_extension_but_its_magic_still_counts() {
        assert!(!DEFAULT_EXTENSIONS.contains(&"bin"));
        assert_eq!(type_for_extension("bin"), None);
        // What the walk reads of a file its name does not select is enough for every magic.
        let elf = b"\x7fELF\x02\x01\x01\x00\x00";
        assert_eq!(
            sniff(&elf[..MAGIC_LEN as usize]).unwrap().0,
            DetectedType::Elf
        );
        assert_eq!(
            sniff(&LNK_MAGIC[..MAGIC_LEN as usize]).unwrap().0,
            DetectedType::Lnk
        );
        assert!(is_runnable(DetectedType::Elf) && is_runnable(DetectedType::Shell));
        assert!(!is_runnable(DetectedType::Unknown) && !is_runnable(DetectedType::Symlink));
    }
}
