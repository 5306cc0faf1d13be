//! Generators: hostile text, and whole records built from the records' own JSON Schemas
//! (`irsnap::schema::all()`, the same documents as `schema/*.schema.json`), so every record
//! type and every field is covered, and a field added later is fuzzed without a change here.
//!
//! Everything is drawn from a seeded xorshift generator: a case is reproduced from its seed.

// `*rng.pick(&[&str])` is needed: without the deref, `pick`'s T is inferred as `str`.
#![allow(clippy::explicit_auto_deref)]

use serde_json::{Map, Value, json};

/// xorshift64* (Vigna); the seed is scrambled once so small seeds do not start in a weak state.
pub struct Rng(u64);

impl Rng {
    pub fn new(seed: u64) -> Rng {
        Rng((seed ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9) | 1)
    }
    pub fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// In `0..n` (0 when `n` is 0).
    pub fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    /// True one time in `n`.
    pub fn one_in(&mut self, n: usize) -> bool {
        self.below(n) == 0
    }
    pub fn pick<'a, T>(&mut self, items: &'a [T]) -> &'a T {
        &items[self.below(items.len())]
    }
}

/// Pieces hostile text is made of: every delimiter the parsers, detection, the normaliser
/// and the writers split or escape on, multi-byte and case-changing characters (`İ` lowers
/// to two characters, the Kelvin sign `K` to one ASCII byte), markup, formulas, paths, URLs
/// and the PowerShell and shell words the rules look for.
const ATOMS: &[&str] = &[
    "é",
    "中",
    "😀",
    "\u{202E}",
    "\u{2066}",
    "\u{061C}",
    ";=HYPERLINK(\"http://e\")",
    "\u{1b}[31m\u{7}",
    "\u{301}",
    "e\u{301}",
    "\u{200B}",
    "\u{FEFF}",
    "\u{FFFD}",
    "İ",
    "\u{212A}",
    "ß",
    "ẞ",
    "Σ",
    "ﬃ",
    "\u{A0}",
    "\u{3000}",
    "\u{2028}",
    "\u{85}",
    "\0",
    "\x01",
    "\x07",
    "\x1b[31m",
    "\x1b]0;owned\x07",
    "\x7f",
    "\r",
    "\n",
    "\r\n",
    "\t",
    " ",
    "   ",
    "\\",
    "\\\\",
    "\\\"",
    "\"",
    "'",
    "`",
    "^",
    "%",
    "%%",
    "=",
    ";",
    ",",
    ":",
    "|",
    "||",
    "<",
    ">",
    "&",
    "&&",
    "(",
    ")",
    "[",
    "]",
    "{",
    "}",
    "*",
    "?",
    "#",
    "$",
    "@",
    "+",
    "-",
    "/",
    "~",
    "–",
    "—",
    "―",
    "<script>alert(1)</script>",
    "<SCRIPT src=//e>",
    "<x-evil onload=alert(1)>",
    "\"><x-evil>",
    "javascript:alert(1)",
    "&amp;",
    "&#x3c;",
    "&lt;",
    "](http://e)",
    "| --- |",
    "C:\\Users\\",
    "C:\\Users\\Alice\\AppData\\Local\\Temp\\",
    "C:\\Windows\\System32\\",
    "C:\\ProgramData\\",
    "\\Temp\\",
    "\\Tmp\\",
    "%TEMP%\\",
    "%tmp%\\",
    "$env:TEMP\\",
    "\\INetCache\\",
    "\\Documents and Settings\\",
    "\\\\?\\C:\\",
    "\\\\host\\share\\",
    "/tmp/",
    "/var/tmp/",
    "/dev/shm/",
    "/home/u/",
    "/Users/bob/",
    "/etc/cron.d/",
    "http://203.0.113.7/x.ps1",
    "https://evil.example/a?b=c&d=e",
    "ftp://198.51.100.2/p",
    "hxxp://",
    "-enc ",
    "-EncodedCommand ",
    "-e ",
    "-ec ",
    "/enc ",
    "–enc ",
    "-nop -w hidden ",
    "-NonI ",
    "-ExecutionPolicy Bypass ",
    "-ep bypass ",
    "-c ",
    "-Command ",
    "-File ",
    "/c ",
    "powershell ",
    "powershell.exe ",
    "pwsh ",
    "p^owershell ",
    "cmd.exe /c ",
    "rundll32.exe ",
    "regsvr32 /s /u /i:",
    "mshta vbscript:",
    "certutil -urlcache -f ",
    "wscript ",
    "IEX ",
    "Invoke-Expression ",
    "(New-Object Net.WebClient).DownloadString(",
    "[Convert]::FromBase64String('",
    "[Convert]::FromBase64String(\"",
    "FromBase64String(",
    "')",
    "\")",
    "bash -c ",
    "sh -c ",
    "curl -s ",
    "wget -qO- ",
    "| sh",
    "| bash",
    "nc -e /bin/sh ",
    "base64 -d",
    "python3 -c ",
    "schtasks /create ",
    "{2c1f8f0e-1a2b-4c3d-9e8f-0123456789ab}",
    "2c1f8f0e-1a2b-4c3d-9e8f-0123456789ab",
    "0x1F",
    "0x",
    "12345",
    "4444",
    "tmp1A2B",
    "tmp.Xa8Kq2Lm0P",
    "session12345",
    "_MEI48562",
    "=cmd|' /C calc'!A0",
    "=HYPERLINK(\"http://e\")",
    "+1",
    "-2+3",
    "@SUM(1)",
    "ProcessGuid",
    "NT AUTHORITY\\SYSTEM",
    "SYSTEM",
    "root",
];

/// Programs a command line starts with, so the PowerShell parser and the rules see them.
const PROGRAMS: &[&str] = &[
    "powershell.exe",
    "C:\\Windows\\System32\\WindowsPowerShell\\v1.0\\powershell.exe",
    "pwsh",
    "cmd.exe",
    "C:\\Windows\\System32\\cmd.exe",
    "rundll32.exe",
    "mshta.exe",
    "wscript.exe",
    "regsvr32.exe",
    "/bin/bash",
    "/bin/sh",
    "/usr/bin/python3",
    "curl",
    "C:\\Users\\Public\\e.exe",
    "/tmp/.x",
];

/// How big the next string may get.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub enum Size {
    Short,
    Medium,
    Long,
    /// About 1 MiB.
    Huge,
}

/// The hostile-text generator of one case.
pub struct Gen {
    pub rng: Rng,
    /// Huge strings this case may still produce (they dominate its run time).
    pub huge_left: u32,
}

impl Gen {
    pub fn new(seed: u64) -> Gen {
        let mut rng = Rng::new(seed);
        let huge_left = u32::from(rng.one_in(6));
        Gen { rng, huge_left }
    }

    fn size(&mut self) -> Size {
        match self.rng.below(100) {
            0 if self.huge_left > 0 => {
                self.huge_left -= 1;
                Size::Huge
            }
            0..=3 => Size::Long,
            4..=29 => Size::Medium,
            _ => Size::Short,
        }
    }

    /// Characters (not bytes) to aim for at `size`.
    fn target(&mut self, size: Size) -> usize {
        match size {
            Size::Short => self.rng.below(40),
            Size::Medium => self.rng.below(2_000),
            Size::Long => 2_000 + self.rng.below(64_000),
            Size::Huge => (1 << 20) + self.rng.below(4096),
        }
    }

    /// Base64 of random bytes or of UTF-16LE hostile text (an `-EncodedCommand` payload).
    fn base64ish(&mut self) -> String {
        use base64::Engine as _;
        let e = &base64::engine::general_purpose::STANDARD;
        match self.rng.below(4) {
            0 => {
                let n = self.rng.below(64);
                let bytes: Vec<u8> = (0..n).map(|_| self.rng.next() as u8).collect();
                e.encode(bytes)
            }
            1 => {
                let text = self.short();
                let le: Vec<u8> = text.encode_utf16().flat_map(u16::to_le_bytes).collect();
                e.encode(le)
            }
            2 => {
                let text = format!("IEX {} ; {}", self.short(), self.short());
                e.encode(text.as_bytes())
            }
            _ => {
                // Base64-looking but broken: the wrong length, stray characters.
                const B64ISH: &[u8] = b"AZaz09+/=-_ ";
                let mut s = String::new();
                for _ in 0..self.rng.below(40) {
                    s.push(char::from(*self.rng.pick(B64ISH)));
                }
                s
            }
        }
    }

    /// One piece: an atom, a word, a random character, digits, base64, a run of one atom.
    fn piece(&mut self, out: &mut String) {
        match self.rng.below(20) {
            0..=9 => out.push_str(*self.rng.pick(ATOMS)),
            10 | 11 => {
                for _ in 0..1 + self.rng.below(8) {
                    out.push((b'a' + self.rng.below(26) as u8) as char);
                }
            }
            12 => {
                for _ in 0..1 + self.rng.below(8) {
                    out.push((b'0' + self.rng.below(10) as u8) as char);
                }
            }
            13 => {
                // Any scalar value: mostly BMP, sometimes astral.
                let max = if self.rng.one_in(4) { 0x10FFFF } else { 0xFFFF };
                let c = char::from_u32(self.rng.below(max + 1) as u32).unwrap_or('\u{FFFD}');
                out.push(c);
            }
            14 => {
                let b = self.base64ish();
                out.push_str(&b);
            }
            15 => {
                // A run of one atom: backslashes, quotes, parentheses, combining marks.
                let a = self.rng.pick(ATOMS);
                for _ in 0..self.rng.below(64) {
                    out.push_str(a);
                }
            }
            16 => out.push_str(*self.rng.pick(PROGRAMS)),
            17 => {
                // A multi-byte character glued to a delimiter, on either side.
                let mb = *self
                    .rng
                    .pick(&["é", "中", "😀", "\u{301}", "İ", "\u{212A}", "\u{202E}"]);
                let d = *self.rng.pick(&[
                    "\\", "/", "\"", "'", "=", ";", ",", "|", ":", "%", "<", ">", "&", " ", "\n",
                    "(", ")", "-", ".",
                ]);
                if self.rng.one_in(2) {
                    out.push_str(mb);
                    out.push_str(d);
                } else {
                    out.push_str(d);
                    out.push_str(mb);
                }
            }
            _ => out.push(' '),
        }
    }

    /// A short hostile string (no huge ones, no recursion into sizes).
    pub fn short(&mut self) -> String {
        let mut s = String::new();
        let n = self.rng.below(12);
        for _ in 0..n {
            self.piece(&mut s);
        }
        s
    }

    /// A hostile string of a random size.
    pub fn text(&mut self) -> String {
        let size = self.size();
        self.text_of(size)
    }

    pub fn text_of(&mut self, size: Size) -> String {
        let target = self.target(size);
        let mut s = String::new();
        if self.rng.one_in(4) {
            s.push_str(*self.rng.pick(PROGRAMS));
            s.push(' ');
        }
        // Byte length bounds the loop; characters are at most 4 bytes.
        while s.len() < target {
            self.piece(&mut s);
        }
        s
    }
}

// ---- values from the records' JSON Schemas ------------------------------------------------

/// Builds JSON values that a schema describes, with hostile text in every string.
pub struct FromSchema<'s> {
    root: &'s Value,
}

impl<'s> FromSchema<'s> {
    pub fn new(root: &'s Value) -> FromSchema<'s> {
        FromSchema { root }
    }

    fn target(&self, r: &str) -> &'s Value {
        let name = r.trim_start_matches("#/$defs/");
        self.root
            .get("$defs")
            .and_then(|d| d.get(name))
            .unwrap_or(&Value::Null)
    }

    pub fn value(&self, g: &mut Gen, schema: &'s Value) -> Value {
        self.value_at(g, schema, "", 0)
    }

    fn value_at(&self, g: &mut Gen, schema: &'s Value, field: &str, depth: usize) -> Value {
        let s = schema;
        if let Some(c) = s.get("const") {
            return c.clone();
        }
        if let Some(Value::Array(options)) = s.get("enum") {
            return g.rng.pick(options).clone();
        }
        // `$ref` and `oneOf` beside other keywords mean all of them (draft 2020-12): the
        // referenced object, one alternative's fields and these properties, merged (how
        // serde's flattened and internally tagged enums come out).
        let mut parts = Vec::new();
        if let Some(r) = s.get("$ref").and_then(Value::as_str) {
            parts.push(self.value_at(g, self.target(r), field, depth + 1));
        }
        if let Some(Value::Array(options)) = s.get("oneOf") {
            let pick = g.rng.pick(options);
            parts.push(self.value_at(g, pick, field, depth + 1));
        }
        if !parts.is_empty() {
            if s.get("properties").is_some() {
                parts.push(self.object(g, s, depth));
            }
            let mut merged = parts.remove(0);
            for p in parts {
                if let (Value::Object(m), Value::Object(extra)) = (&mut merged, p) {
                    m.extend(extra);
                }
            }
            return merged;
        }
        match s.get("type").and_then(Value::as_str) {
            Some("object") => self.object(g, s, depth),
            Some("array") => self.array(g, s, field, depth),
            Some("string") => self.string(g, s, field),
            Some("integer") => integer(g, s),
            Some("number") => json!(g.rng.below(1_000_000) as f64 / 7.0),
            Some("boolean") => Value::Bool(g.rng.one_in(2)),
            _ => Value::Null,
        }
    }

    fn object(&self, g: &mut Gen, s: &'s Value, depth: usize) -> Value {
        let mut out = Map::new();
        let required: Vec<&str> = s
            .get("required")
            .and_then(Value::as_array)
            .map(|r| r.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if let Some(Value::Object(props)) = s.get("properties") {
            for (name, p) in props {
                if required.contains(&name.as_str()) || g.rng.below(10) < 7 {
                    out.insert(name.clone(), self.value_at(g, p, name, depth + 1));
                }
            }
        }
        if let Some(extra @ Value::Object(_)) = s.get("additionalProperties") {
            // A map (environment variables, event data): hostile keys too.
            for _ in 0..g.rng.below(5) {
                let key = g.short();
                out.insert(key, self.value_at(g, extra, "", depth + 1));
            }
        }
        Value::Object(out)
    }

    fn array(&self, g: &mut Gen, s: &'s Value, field: &str, depth: usize) -> Value {
        if let Some(Value::Array(items)) = s.get("prefixItems") {
            return Value::Array(
                items
                    .iter()
                    .map(|i| self.value_at(g, i, field, depth + 1))
                    .collect(),
            );
        }
        let min = s.get("minItems").and_then(Value::as_u64).unwrap_or(0) as usize;
        let max = s
            .get("maxItems")
            .and_then(Value::as_u64)
            .unwrap_or(u64::MAX) as usize;
        let n = if depth > 6 {
            0
        } else if g.rng.one_in(40) {
            20 + g.rng.below(200)
        } else {
            g.rng.below(5)
        };
        let n = n.clamp(min, max.max(min));
        let items = s.get("items").unwrap_or(&Value::Null);
        Value::Array(
            (0..n)
                .map(|_| self.value_at(g, items, field, depth + 1))
                .collect(),
        )
    }

    fn string(&self, g: &mut Gen, s: &Value, field: &str) -> Value {
        if s.get("pattern").and_then(Value::as_str) == Some("^[0-9a-f]{64}$") {
            let hex: String = (0..64)
                .map(|_| char::from_digit(g.rng.below(16) as u32, 16).unwrap_or('0'))
                .collect();
            return Value::String(hex);
        }
        match s.get("format").and_then(Value::as_str) {
            Some("date-time") => return Value::String(date_time(g)),
            Some("partial-date-time") => {
                return Value::String(date_time(g).trim_end_matches('Z').to_string());
            }
            Some("date") => return Value::String(date_time(g)[..10].to_string()),
            Some("partial-time") => {
                return Value::String(format!(
                    "{:02}:{:02}:{:02}",
                    g.rng.below(24),
                    g.rng.below(60),
                    g.rng.below(60)
                ));
            }
            Some("ip") => return Value::String(ip(g)),
            _ => {}
        }
        // A few fields are more useful with something that looks like what they hold.
        let f = field.to_ascii_lowercase();
        if (f.contains("image") || f.contains("command") || f == "exe" || f == "program")
            && g.rng.one_in(2)
        {
            let program = g.rng.pick(PROGRAMS).to_string();
            let rest = g.text();
            return Value::String(format!("{program} {rest}"));
        }
        Value::String(g.text())
    }
}

fn integer(g: &mut Gen, s: &Value) -> Value {
    let format = s.get("format").and_then(Value::as_str).unwrap_or("int64");
    let max: u64 = match format {
        "uint8" => u8::MAX.into(),
        "uint16" => u16::MAX.into(),
        "uint32" | "uint" => u32::MAX.into(),
        "uint64" => u64::MAX,
        "int32" => i32::MAX as u64,
        _ => i64::MAX as u64,
    };
    let max = s
        .get("maximum")
        .and_then(Value::as_u64)
        .map_or(max, |m| m.min(max));
    let signed = !format.starts_with("uint")
        && s.get("minimum")
            .and_then(Value::as_i64)
            .is_none_or(|m| m < 0);
    let v = match g.rng.below(8) {
        0 => 0,
        1 => max,
        2 => 1,
        3 => max.saturating_sub(1),
        _ => g.rng.next() % 5000 % max.saturating_add(1),
    };
    if signed && g.rng.one_in(6) {
        return json!(-(v.min(i64::MAX as u64) as i64));
    }
    json!(v)
}

/// RFC 3339 in UTC, from year 1 to 9999 (the edges included).
pub fn date_time(g: &mut Gen) -> String {
    match g.rng.below(10) {
        0 => "0001-01-01T00:00:00Z".into(),
        1 => "9999-12-31T23:59:59.999999999Z".into(),
        2 => "1970-01-01T00:00:00Z".into(),
        _ => format!(
            "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}.{:06}Z",
            1990 + g.rng.below(50),
            1 + g.rng.below(12),
            1 + g.rng.below(28),
            g.rng.below(24),
            g.rng.below(60),
            g.rng.below(60),
            g.rng.below(1_000_000)
        ),
    }
}

fn ip(g: &mut Gen) -> String {
    match g.rng.below(5) {
        0 => "::1".into(),
        1 => format!("fe80::{:x}", g.rng.below(0xffff)),
        2 => "::ffff:203.0.113.7".into(),
        _ => format!(
            "{}.{}.{}.{}",
            g.rng.below(256),
            g.rng.below(256),
            g.rng.below(256),
            g.rng.below(256)
        ),
    }
}
