//! Hostile input: every parser is fed damaged copies of the real fixtures and hand-made
//! worst cases, and must answer with an error, warnings or a partial result — never a panic, a
//! hang or memory out of proportion to its input ("every input is hostile").
//!
//! Each case runs under `catch_unwind` (a panic fails the test naming parser, fixture, mutation
//! and seed), under a watchdog thread (a call that does not return within [`HANG_LIMIT`] aborts
//! the binary naming the case: a hung test would otherwise never report), against a wall-clock
//! bound ([`SLOW_LIMIT`], catches quadratic blow-ups on multi-MiB inputs) and against an
//! allocation meter (the peak heap growth of the call must stay within [`mem_budget`] of its
//! input). Mutations are drawn from a seeded xorshift generator, so a failure is reproduced
//! from its seed alone: `mutate(seed, base)` gives the same bytes again.
//!
//! The meter is this binary's `#[global_allocator]` ([`Meter`]): a forwarding wrapper around
//! the system allocator that counts only on a thread inside a measured case, so the other
//! modules of the binary see the system allocator plus one thread-local check per call.
//!
//! The module prints one timing line per parser (`cargo test --test main hostile --
//! --nocapture`). Iteration counts keep the whole module well under 30 s on a debug build.
//! Existing unit fuzzers are not repeated here: `evtx_read::byte_flips_never_panic` (single-byte
//! flips in one chunk) and `task_job::garbage_never_panics` (no `.job` fixtures exist).

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::{Cell, RefCell};
use std::io::Cursor;
use std::io::Write;
use std::ops::ControlFlow;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use irsnap::parsers::cron::{CrontabKind, parse_anacrontab, parse_at_job, parse_crontab};
use irsnap::parsers::evtx_read::{RawEvent, read_events};
use irsnap::parsers::exec_events::exec_event_from_raw;
use irsnap::parsers::powershell::{
    PsEvent, PsEventKind, ScriptBlockAssembler, parse_context, ps_event_from_raw,
};
use irsnap::parsers::shell_history::{HistoryKind, parse_history};
use irsnap::parsers::systemd_unit::{parse_unit, split_words};
use irsnap::parsers::task_xml::parse_task_xml;

use crate::harness::fixture;

/// One call slower than this on a debug build is a failure: the inputs here are at most a few
/// MiB and take under 2 s each on an idle machine, so only super-linear work (minutes) gets
/// near it; the margin is for a CI box busy with other builds.
const SLOW_LIMIT: Duration = Duration::from_secs(10);

/// CPU time this thread has used.
fn thread_cpu() -> Duration {
    let mut ts = libc::timespec {
        tv_sec: 0,
        tv_nsec: 0,
    };
    // SAFETY: clock_gettime writes one timespec we own.
    unsafe {
        libc::clock_gettime(libc::CLOCK_THREAD_CPUTIME_ID, &mut ts);
    }
    Duration::new(ts.tv_sec as u64, ts.tv_nsec as u32)
}
/// A call that has not returned after this is a hang: the watchdog aborts the binary.
const HANG_LIMIT: Duration = Duration::from_secs(60);
/// The collectors' own cap on parsed bytes of a scheduled-task file (`max_parse_size`); the
/// generated worst cases for those parsers are this big.
const TASK_PARSE_CAP: usize = 4 << 20;

/// Largest heap growth a call may show for an input of `len` bytes: a fixed allowance for
/// tables and a proportional one (`per_byte`) for the typed copy of the input (text split into
/// records, lossy decoding, UTF-16 → UTF-8 growth).
fn mem_budget(len: usize, per_byte: usize) -> usize {
    (64 << 20) + per_byte * len
}
/// Default `per_byte`: a typed copy of the text plus its line table.
const PER_BYTE: usize = 24;

// ---- instruments ---------------------------------------------------------------------------

/// xorshift64* (Vigna); the seed is scrambled once so small seeds do not start in a weak state.
struct Rng(u64);

impl Rng {
    fn new(seed: u64) -> Rng {
        Rng((seed ^ 0x9E37_79B9_7F4A_7C15).wrapping_mul(0xBF58_476D_1CE4_E5B9) | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    /// Uniform-enough in `0..n` (0 when `n` is 0).
    fn below(&mut self, n: usize) -> usize {
        if n == 0 {
            0
        } else {
            (self.next() % n as u64) as usize
        }
    }
    fn byte(&mut self) -> u8 {
        (self.next() >> 56) as u8
    }
}

/// Counts heap bytes per thread while a case is being measured. Installed for the whole test
/// binary; outside a measured case it only forwards to the system allocator.
struct Meter;

thread_local! {
    static TRACKING: Cell<bool> = const { Cell::new(false) };
    static LIVE: Cell<isize> = const { Cell::new(0) };
    static PEAK: Cell<isize> = const { Cell::new(0) };
}

/// A measured call that holds more than this is stopped before it takes the machine down: the
/// allocation fails (the binary aborts) after the case's label is printed.
const HARD_CAP: isize = 3 << 30;

thread_local! {
    /// Label of the case being measured on this thread, for the hard-cap message.
    static CASE: RefCell<String> = const { RefCell::new(String::new()) };
}

/// Books `delta` bytes; false when a measured call would pass [`HARD_CAP`].
fn note(delta: isize) -> bool {
    // `try_with`: the allocator can run while thread-locals are being torn down.
    let tracking = TRACKING.try_with(Cell::get).unwrap_or(false);
    if !tracking {
        return true;
    }
    let now = LIVE
        .try_with(|l| {
            let now = l.get().saturating_add(delta);
            l.set(now);
            now
        })
        .unwrap_or(0);
    let _ = PEAK.try_with(|p| p.set(p.get().max(now)));
    if now > HARD_CAP {
        // Writing a borrowed label to unbuffered stderr does not allocate.
        let _ = TRACKING.try_with(|t| t.set(false));
        let _ = CASE.try_with(|c| {
            if let Ok(c) = c.try_borrow() {
                let mut err = std::io::stderr();
                let _ = err.write_all(b"hostile: MEMORY: over the hard cap in ");
                let _ = err.write_all(c.as_bytes());
                let _ = err.write_all(b"\n");
            }
        });
        return false;
    }
    true
}

// SAFETY (all four methods): every call is forwarded unchanged to `System`, which upholds the
// `GlobalAlloc` contract, or refused with a null pointer, which the contract allows. The
// bookkeeping (`note`) only reads and writes `const`-initialised thread-locals through
// `try_with`, never allocates and never unwinds.
#[allow(unsafe_code)]
unsafe impl GlobalAlloc for Meter {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size() as isize) {
            return std::ptr::null_mut();
        }
        // SAFETY: same layout the caller gave us.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if !note(layout.size() as isize) {
            return std::ptr::null_mut();
        }
        // SAFETY: same layout the caller gave us.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` was allocated by `System` with `layout` (every path above forwards).
        unsafe { System.dealloc(ptr, layout) };
        let _ = note(-(layout.size() as isize));
    }
    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        if !note(new_size as isize - layout.size() as isize) {
            return std::ptr::null_mut();
        }
        // SAFETY: `ptr`/`layout` come from `System` as above; `new_size` is the caller's.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}

#[global_allocator]
static METER: Meter = Meter;

/// Runs `f` with the meter on; returns its result and the peak heap growth in bytes.
fn metered<T>(f: impl FnOnce() -> T) -> (T, usize) {
    LIVE.with(|l| l.set(0));
    PEAK.with(|p| p.set(0));
    TRACKING.with(|t| t.set(true));
    let out = f();
    TRACKING.with(|t| t.set(false));
    let peak = PEAK.with(Cell::get);
    (out, usize::try_from(peak).unwrap_or(0))
}

/// Aborts the binary when the case it watches runs longer than [`HANG_LIMIT`].
struct Watchdog {
    current: Arc<Mutex<Option<(String, Instant)>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Watchdog {
    fn new() -> Watchdog {
        let current: Arc<Mutex<Option<(String, Instant)>>> = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (current.clone(), stop.clone());
        let thread = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(50));
                let guard = c.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((label, start)) = guard.as_ref()
                    && start.elapsed() > HANG_LIMIT
                {
                    eprintln!("hostile: HANG: {label} still running after {HANG_LIMIT:?}");
                    std::process::abort();
                }
            }
        });
        Watchdog {
            current,
            stop,
            thread: Some(thread),
        }
    }
    fn enter(&self, label: &str) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((label.to_string(), Instant::now()));
    }
    fn leave(&self) {
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
    }
}

impl Drop for Watchdog {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}

/// One parser's run: counts cases, keeps the slowest and the hungriest, and checks each.
struct Hostile {
    parser: &'static str,
    dog: Watchdog,
    started: Instant,
    cases: usize,
    slowest: (Duration, String),
    hungriest: (usize, String),
    per_byte: usize,
}

impl Hostile {
    fn new(parser: &'static str) -> Hostile {
        Hostile {
            parser,
            dog: Watchdog::new(),
            started: Instant::now(),
            cases: 0,
            slowest: (Duration::ZERO, String::new()),
            hungriest: (0, String::new()),
            per_byte: PER_BYTE,
        }
    }

    /// A different proportional memory allowance (see [`mem_budget`]).
    fn per_byte(mut self, per_byte: usize) -> Hostile {
        self.per_byte = per_byte;
        self
    }

    /// Runs one case. `input_len` sizes the memory budget.
    fn case<T>(
        &mut self,
        fixture: &str,
        mutation: &str,
        seed: u64,
        input_len: usize,
        f: impl FnOnce() -> T,
    ) -> T {
        let label = format!(
            "{} on {fixture} [{mutation}, seed {seed:#x}, {input_len} bytes]",
            self.parser
        );
        self.dog.enter(&label);
        CASE.with(|c| c.borrow_mut().clone_from(&label));
        // CPU time of this thread, not wall time: a loaded CI machine must not fail a case
        // that is not slow (the watchdog still catches real hangs by wall time).
        let t0 = thread_cpu();
        let (result, peak) = metered(|| catch_unwind(AssertUnwindSafe(f)));
        let took = thread_cpu().saturating_sub(t0);
        self.dog.leave();
        self.cases += 1;
        let out = match result {
            Ok(v) => v,
            Err(e) => {
                let msg = e
                    .downcast_ref::<String>()
                    .map(String::as_str)
                    .or_else(|| e.downcast_ref::<&str>().copied())
                    .unwrap_or("(non-string panic)");
                panic!("PANIC: {label}: {msg}");
            }
        };
        assert!(took < SLOW_LIMIT, "SLOW: {label} took {took:?}");
        assert!(
            peak <= mem_budget(input_len, self.per_byte),
            "MEMORY: {label} grew the heap by {peak} bytes (budget {})",
            mem_budget(input_len, self.per_byte)
        );
        if took > Duration::from_millis(1000) {
            eprintln!("hostile: slow case {took:.2?}: {label}");
        }
        if took > self.slowest.0 {
            self.slowest = (took, label.clone());
        }
        if peak > self.hungriest.0 {
            self.hungriest = (peak, label);
        }
        out
    }

    fn report(&self) {
        eprintln!(
            "hostile::{}: {} cases in {:.2?}; slowest {:.2?} ({}); peak heap {} KiB ({})",
            self.parser,
            self.cases,
            self.started.elapsed(),
            self.slowest.0,
            self.slowest.1,
            self.hungriest.0 / 1024,
            self.hungriest.1,
        );
    }
}

// ---- fixtures and mutations ----------------------------------------------------------------

fn walk(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        if p.is_dir() {
            walk(&p, out);
        } else {
            out.push(p);
        }
    }
}

/// Every file under `fixtures/<rel>` with one of `exts` ("" = any), sorted, with its bytes.
fn fixtures(rel: &str, exts: &[&str]) -> Vec<(String, Vec<u8>)> {
    let root = fixture(rel);
    let mut paths = Vec::new();
    walk(&root, &mut paths);
    paths.sort();
    let out: Vec<(String, Vec<u8>)> = paths
        .into_iter()
        .filter(|p| {
            exts.iter()
                .any(|x| x.is_empty() || p.extension().is_some_and(|e| e.eq_ignore_ascii_case(x)))
        })
        .map(|p| {
            let name = p
                .strip_prefix(&root)
                .unwrap_or(&p)
                .to_string_lossy()
                .into_owned();
            let bytes = std::fs::read(&p).unwrap_or_else(|e| panic!("{}: {e}", p.display()));
            (format!("{rel}/{name}"), bytes)
        })
        .collect();
    assert!(!out.is_empty(), "no fixtures under {}", root.display());
    out
}

/// One random damage to `base`, chosen and placed by `seed` alone; returns what was done.
fn mutate(seed: u64, base: &[u8]) -> (String, Vec<u8>) {
    let mut r = Rng::new(seed);
    let mut b = base.to_vec();
    let len = b.len();
    let desc = match r.below(9) {
        0 => {
            let n = 1 + r.below(32);
            for _ in 0..n {
                let i = r.below(len);
                if let Some(x) = b.get_mut(i) {
                    *x ^= r.byte() | 1;
                }
            }
            format!("flip {n} bytes")
        }
        1 => {
            let at = r.below(len + 1);
            b.truncate(at);
            format!("truncate at {at}")
        }
        2 => {
            // Duplicate a region somewhere else (spliced records, repeated chunks).
            let from = r.below(len);
            let n = (1 + r.below(len.max(1))).min(len - from.min(len)).max(1);
            let region: Vec<u8> = b.get(from..from + n).unwrap_or(&[]).to_vec();
            let to = r.below(len + 1);
            b.splice(to..to, region);
            format!("duplicate {n} bytes from {from} at {to}")
        }
        3 => {
            let fill = if r.below(2) == 0 { 0x00 } else { 0xFF };
            let n = 1 + r.below(8192);
            let at = r.below(len + 1);
            b.splice(at..at, std::iter::repeat_n(fill, n));
            format!("insert {n} x {fill:#04x} at {at}")
        }
        4 => {
            let from = r.below(len);
            let to = (from + 1 + r.below(4096)).min(len);
            b.drain(from..to);
            format!("delete {from}..{to}")
        }
        5 => {
            let from = r.below(len);
            let n = (1 + r.below(512)).min(len - from.min(len));
            for x in b.iter_mut().skip(from).take(n) {
                *x = r.byte();
            }
            format!("overwrite {n} random bytes at {from}")
        }
        6 => {
            // Invalid UTF-8 and UTF-16 shapes: overlong NUL, CESU surrogate, lone continuation,
            // cut multi-byte sequence, UTF-16 lone surrogates, a stray BOM.
            const BAD: &[&[u8]] = &[
                b"\xC0\x80",
                b"\xED\xA0\x80",
                b"\x80\x80\x80",
                b"\xE2\x82",
                b"\xF4\x90\x80\x80",
                b"\x00\xD8",
                b"\xFF\xDF\x41\x00",
                b"\xEF\xBB\xBF",
                b"\xFE\xFF",
            ];
            let n = 1 + r.below(16);
            for _ in 0..n {
                let at = r.below(b.len() + 1);
                let bad = BAD.get(r.below(BAD.len())).copied().unwrap_or(b"\x80");
                b.splice(at..at, bad.iter().copied());
            }
            format!("insert {n} invalid UTF-8/UTF-16 sequences")
        }
        7 => {
            // Drop one byte: UTF-16 text becomes odd-length and misaligned.
            let at = r.below(len);
            if at < len {
                b.remove(at);
            }
            format!("remove byte {at} (odd length)")
        }
        _ => {
            // Swap two regions (records out of order, lines interleaved).
            let a = r.below(len);
            let c = r.below(len);
            let n = (1 + r.below(1024)).min(len - a.max(c).min(len));
            let (lo, hi) = (a.min(c), a.max(c));
            if hi >= lo + n && hi + n <= len {
                let tmp: Vec<u8> = b.get(lo..lo + n).unwrap_or(&[]).to_vec();
                b.copy_within(hi..hi + n, lo);
                if let Some(dst) = b.get_mut(hi..hi + n) {
                    dst.copy_from_slice(&tmp);
                }
            }
            format!("swap {n} bytes at {lo} and {hi}")
        }
    };
    (desc, b)
}

/// Seed of round `round` of fixture `index`: printed on failure, fed back to [`mutate`].
fn seed_of(index: usize, round: usize) -> u64 {
    ((index as u64) << 32) ^ (round as u64) ^ 0x5EED_0000
}

/// Whole-file transformations of text fixtures that random damage rarely produces. `heavy`
/// adds the multi-MiB ones (an 8 MiB line, the file repeated to 4 MiB), which cost seconds on
/// a debug build and so run on one fixture per parser.
fn text_transforms(base: &[u8], heavy: bool) -> Vec<(&'static str, Vec<u8>)> {
    let utf16le = |body: &[u8]| -> Vec<u8> {
        String::from_utf8_lossy(body)
            .encode_utf16()
            .flat_map(u16::to_le_bytes)
            .collect()
    };
    let utf16be = |body: &[u8]| -> Vec<u8> {
        String::from_utf8_lossy(body)
            .encode_utf16()
            .flat_map(u16::to_be_bytes)
            .collect()
    };
    let with = |prefix: &[u8], body: &[u8]| -> Vec<u8> { [prefix, body].concat() };
    let mut odd16 = with(b"\xFF\xFE", &utf16le(base));
    odd16.push(b'x');
    let mut lone = with(b"\xFF\xFE", &utf16le(base));
    let at = (lone.len() / 2) & !1;
    lone.splice(at..at, [0x00, 0xD8, 0x41, 0x00, 0x00, 0xDC]);
    let mut out = vec![
        ("utf-16le with BOM", with(b"\xFF\xFE", &utf16le(base))),
        ("utf-16be with BOM", with(b"\xFE\xFF", &utf16be(base))),
        ("utf-16le without BOM", utf16le(base)),
        ("utf-16 BOM, utf-8 body (BOM lie)", with(b"\xFF\xFE", base)),
        (
            "utf-8 BOM, utf-16le body (BOM lie)",
            with(b"\xEF\xBB\xBF", &utf16le(base)),
        ),
        ("utf-16le odd length", odd16),
        ("utf-16le lone surrogates", lone),
        (
            "CR-only line ends",
            base.iter()
                .map(|&c| if c == b'\n' { b'\r' } else { c })
                .collect(),
        ),
        ("only NUL bytes", vec![0; base.len()]),
        ("empty", Vec::new()),
    ];
    if heavy {
        let mut huge_line = base.to_vec();
        let mid = base.len() / 2;
        huge_line.splice(mid..mid, std::iter::repeat_n(b'A', 8 << 20));
        out.push(("8 MiB line without newline", huge_line));
        let mut repeated = Vec::with_capacity(TASK_PARSE_CAP + base.len());
        while repeated.len() < TASK_PARSE_CAP && !base.is_empty() {
            repeated.extend_from_slice(base);
            repeated.push(b'\n');
        }
        out.push(("whole file repeated to 4 MiB", repeated));
    }
    out
}

/// Damaged copies of every fixture: `rounds` random mutations plus the whole-file transforms.
fn damaged(fixtures: &[(String, Vec<u8>)], rounds: usize, transforms: bool) -> Vec<Damaged> {
    let mut out = Vec::new();
    for (i, (name, bytes)) in fixtures.iter().enumerate() {
        for round in 0..rounds {
            let seed = seed_of(i, round);
            let (desc, data) = mutate(seed, bytes);
            out.push(Damaged {
                fixture: name.clone(),
                mutation: desc,
                seed,
                data,
            });
        }
        if transforms {
            for (desc, data) in text_transforms(bytes, i == 0) {
                out.push(Damaged {
                    fixture: name.clone(),
                    mutation: desc.to_string(),
                    seed: 0,
                    data,
                });
            }
        }
    }
    out
}

struct Damaged {
    fixture: String,
    mutation: String,
    seed: u64,
    data: Vec<u8>,
}

// ---- EVTX and the event chain --------------------------------------------------------------

/// The whole chain a collector runs: EVTX bytes → records → execution events and PowerShell
/// events → reassembled script blocks. Returns (records, typed events, blocks) or the error.
fn evtx_chain(bytes: &[u8]) -> Result<(usize, usize, usize), String> {
    let mut records = 0usize;
    let mut typed = 0usize;
    let mut assembler = ScriptBlockAssembler::with_cap(64 << 20);
    let report = read_events(Cursor::new(bytes), |raw| {
        records += 1;
        if exec_event_from_raw(&raw).is_some() {
            typed += 1;
        }
        if let Some(p) = ps_event_from_raw(&raw) {
            typed += 1;
            if p.kind == PsEventKind::ScriptBlock {
                assembler.add(p);
            }
        }
        ControlFlow::Continue(())
    })
    .map_err(|e| e.to_string())?;
    assert_eq!(report.records_ok as usize, records);
    Ok((records, typed, assembler.finish().len()))
}

/// Header plus the first `chunks` chunks: enough structure for every mutation to hit records,
/// small enough to run hundreds of cases on a debug build.
fn evtx_head(bytes: &[u8], chunks: usize) -> &[u8] {
    bytes.get(..4096 + chunks * 65536).unwrap_or(bytes)
}

#[test]
fn evtx_chain_survives_damage() {
    let mut h = Hostile::new("evtx chain");
    let all = fixtures("evtx", &["evtx"]);
    let heads: Vec<(String, Vec<u8>)> = all
        .iter()
        .map(|(n, b)| (n.clone(), evtx_head(b, 2).to_vec()))
        .collect();
    for d in damaged(&heads, 6, false) {
        let _ = h.case(&d.fixture, &d.mutation, d.seed, d.data.len(), || {
            evtx_chain(&d.data)
        });
    }
    // Structural damage the random rounds rarely hit, on one real PowerShell log.
    let (name, bytes) = all
        .iter()
        .find(|(n, _)| n.contains("CrackMapExec payload execution.evtx") && n.contains("4104"))
        .unwrap_or(&all[0]);
    let base = evtx_head(bytes, 3);
    let chunk = |i: usize| 4096 + i * 65536;
    let mut cases: Vec<(&str, Vec<u8>)> = Vec::new();
    // Chunk 1 copied over chunk 0 and 2: duplicate record ids, the same records twice.
    let mut dup = base.to_vec();
    if dup.len() >= chunk(3) {
        let c1 = dup[chunk(1)..chunk(2)].to_vec();
        dup[chunk(0)..chunk(1)].copy_from_slice(&c1);
        dup[chunk(2)..chunk(3)].copy_from_slice(&c1);
    }
    cases.push(("chunk 1 duplicated over chunks 0 and 2", dup));
    // Every chunk slot after the first filled with 0xFF / NUL / random noise.
    for (desc, fill) in [("0xFF", 0xFFu8), ("NUL", 0x00)] {
        let mut v = evtx_head(bytes, 1).to_vec();
        v.extend(std::iter::repeat_n(fill, 16 * 65536));
        cases.push((
            if desc == "NUL" {
                "16 NUL chunk slots"
            } else {
                "16 0xFF chunk slots"
            },
            v,
        ));
    }
    // A file that is one header followed by 64 copies of one chunk (same record ids).
    let mut many = base[..chunk(0)].to_vec();
    for _ in 0..64 {
        many.extend_from_slice(&base[chunk(0)..chunk(1).min(base.len())]);
    }
    cases.push(("one chunk repeated 64 times", many));
    // The header's chunk count and first/last chunk numbers set to their maxima.
    let mut lies = base.to_vec();
    for (off, len) in [(8usize, 8usize), (16, 8), (24, 8), (42, 2)] {
        lies[off..off + len].fill(0xFF);
    }
    cases.push(("header counters at maximum", lies));
    // Chunk header fields (first/last record number and offset, free-space offset) maxed.
    let mut ch = base.to_vec();
    for off in [8usize, 16, 24, 32, 40, 44, 48] {
        let at = chunk(0) + off;
        ch[at..at + 4].fill(0xFF);
    }
    cases.push(("chunk header fields at maximum", ch));
    // Only the 4 KiB header; the header plus half a chunk header; just the magic.
    cases.push(("header only", base[..4096].to_vec()));
    cases.push((
        "cut inside the first chunk header",
        base[..4096 + 200].to_vec(),
    ));
    cases.push(("magic only", base[..8].to_vec()));
    for (desc, data) in cases {
        let _ = h.case(name, desc, 0, data.len(), || evtx_chain(&data));
    }
    h.report();
}

/// Real records with hostile field values, straight into the typed converters and the
/// assembler (what a BinXML-valid but attacker-written log delivers).
#[test]
fn event_converters_survive_hostile_fields() {
    let mut h = Hostile::new("exec/ps event converters");
    let mut raws: Vec<(String, RawEvent)> = Vec::new();
    for (name, bytes) in fixtures("evtx", &["evtx"]) {
        let mut per_file = 0;
        let _ = read_events(Cursor::new(evtx_head(&bytes, 1)), |raw| {
            per_file += 1;
            if exec_event_from_raw(&raw).is_some() || ps_event_from_raw(&raw).is_some() {
                raws.push((name.clone(), raw));
            }
            if per_file < 4 {
                ControlFlow::Continue(())
            } else {
                ControlFlow::Break(())
            }
        });
    }
    assert!(raws.len() > 20, "only {} typed records found", raws.len());
    let values: Vec<String> = vec![
        String::new(),
        " ".into(),
        "-1".into(),
        "4294967296".into(),
        "18446744073709551616".into(),
        "0x".into(),
        "\u{0}\u{fffd}\u{202e}".into(),
        "=,=,==,,".into(),
        "SHA1=,MD5==,=x,".repeat(4_000),
        "A".repeat(1 << 18),
        "Key = Value\r\n".repeat(8_000),
        "1601-01-01 00:00:00.000".into(),
        "9999-99-99 99:99:99.999".into(),
        "{not-a-guid".into(),
    ];
    for (i, (name, raw)) in raws.iter().enumerate() {
        for (j, v) in values.iter().enumerate() {
            let seed = seed_of(i, j);
            let mut r = Rng::new(seed);
            let mut ev = raw.clone();
            // Every named field set to the hostile value; some removed, some duplicated.
            for (_, val) in ev.data.named.iter_mut() {
                *val = v.clone();
            }
            if r.below(2) == 0 && !ev.data.named.is_empty() {
                let k = r.below(ev.data.named.len());
                ev.data.named.remove(k);
            }
            if r.below(2) == 0 {
                let copy = ev.data.named.clone();
                ev.data.named.extend(copy);
            }
            ev.data.unnamed = vec![v.clone(); 1 + r.below(6)];
            ev.computer = v.clone();
            let len = v.len() * (ev.data.named.len() + ev.data.unnamed.len() + 1);
            let _ = h.case(name, &format!("fields = value #{j}"), seed, len, || {
                let exec = exec_event_from_raw(&ev).map(|e| e.command_line().map(str::len));
                let ps = ps_event_from_raw(&ev);
                let mut a = ScriptBlockAssembler::new();
                if let Some(p) = ps {
                    a.add(p);
                }
                (exec, a.finish().len())
            });
        }
    }
    // parse_context on its worst shapes: no keys, only keys, one huge CommandLine value. A
    // context block lives in one EVTX record (< 64 KiB); these are far bigger.
    for (desc, text) in [
        ("no '=' at all", "x\n".repeat(1 << 18)),
        ("256k keys", "K = v\n".repeat(1 << 18)),
        (
            "CommandLine swallowing the rest",
            format!("CommandLine = {}", "a = b\n".repeat(1 << 18)),
        ),
    ] {
        let _ = h.case("parse_context", desc, 0, text.len(), || {
            parse_context(&text).len()
        });
    }
    h.report();
}

/// The first real 4104 event of the mdecrevoisier PowerShell fixtures.
fn real_script_block() -> PsEvent {
    fixtures("evtx/powershell/mdecrevoisier", &["evtx"])
        .into_iter()
        .find_map(|(_, b)| {
            let mut found = None;
            let _ = read_events(Cursor::new(&b), |raw| {
                match ps_event_from_raw(&raw).filter(|p| p.kind == PsEventKind::ScriptBlock) {
                    Some(p) => {
                        found = Some(p);
                        ControlFlow::Break(())
                    }
                    None => ControlFlow::Continue(()),
                }
            });
            found
        })
        .expect("a real 4104 event in the mdecrevoisier fixtures")
}

/// 4104 parts the way an attacker (or a forwarder gone wrong) can write them.
#[test]
fn script_block_assembler_survives_forged_parts() {
    let mut h = Hostile::new("ScriptBlockAssembler");
    let template = real_script_block();
    let part = |id: &str, n: Option<u32>, total: Option<u32>, rec: u64, text: &str| -> PsEvent {
        let mut p = template.clone();
        p.script_block_id = Some(id.to_string());
        p.message_number = n;
        p.message_total = total;
        p.record_id = rec;
        p.script_block_text = Some(text.to_string());
        p
    };
    type Gen<'a> = Box<dyn Fn() -> Vec<PsEvent> + 'a>;
    let gens: Vec<(&str, usize, Gen<'_>)> = vec![
        (
            "50k parts of one block, distinct numbers",
            50_000,
            Box::new(move || {
                (0..50_000u32)
                    .map(|i| part("b", Some(i + 1), Some(50_000), u64::from(i), "x"))
                    .collect()
            }),
        ),
        (
            "50k copies of part 1",
            50_000,
            Box::new(move || {
                (0..50_000u64)
                    .map(|i| part("b", Some(1), Some(2), i, "x"))
                    .collect()
            }),
        ),
        (
            "MessageTotal u32::MAX, parts scattered",
            1000,
            Box::new(move || {
                (0..1000u32)
                    .map(|i| {
                        part(
                            "b",
                            Some(i.wrapping_mul(4_294_967)),
                            Some(u32::MAX),
                            u64::from(i),
                            "x",
                        )
                    })
                    .collect()
            }),
        ),
        (
            "part 0, part u32::MAX, total 0, no number",
            4,
            Box::new(move || {
                vec![
                    part("b", Some(0), Some(0), 1, "a"),
                    part("b", Some(u32::MAX), Some(1), 2, "b"),
                    part("b", None, None, 3, "c"),
                    part("", None, Some(7), 4, "d"),
                ]
            }),
        ),
        (
            "50k blocks of one part each",
            50_000,
            Box::new(move || {
                (0..50_000u64)
                    .map(|i| part(&format!("id-{i}"), Some(1), Some(3), i, "x"))
                    .collect()
            }),
        ),
    ];
    for (desc, n, make) in gens {
        let parts = make();
        let _ = h.case("forged 4104 parts", desc, 0, n * 64, || {
            let mut a = ScriptBlockAssembler::with_cap(1 << 20);
            for p in parts {
                a.add(p);
            }
            let blocks = a.finish();
            blocks.iter().map(|b| b.missing_parts.len()).sum::<usize>()
        });
    }
    h.report();
}

// ---- Task Scheduler XML --------------------------------------------------------------------

#[test]
fn task_xml_survives_damage() {
    let mut h = Hostile::new("parse_task_xml");
    let tasks = fixtures("tasks", &[""]);
    for d in damaged(&tasks, 12, false) {
        let _ = h.case(&d.fixture, &d.mutation, d.seed, d.data.len(), || {
            parse_task_xml(&d.data).map(|t| t.actions.len())
        });
    }
    // Transforms on the UTF-8 form of a few fixtures (the originals are UTF-16).
    for (name, bytes) in tasks.iter().take(4) {
        let text = match bytes.strip_prefix(b"\xFF\xFE") {
            Some(b) => String::from_utf16_lossy(
                &b.chunks_exact(2)
                    .map(|c| u16::from_le_bytes([c[0], c[1]]))
                    .collect::<Vec<_>>(),
            ),
            None => String::from_utf8_lossy(bytes).into_owned(),
        };
        for (desc, data) in text_transforms(text.as_bytes(), name.contains("GameOver")) {
            let _ = h.case(name, desc, 0, data.len(), || {
                parse_task_xml(&data).map(|t| t.actions.len())
            });
        }
    }
    let wrap = |inner: &str| {
        format!(
            "<?xml version=\"1.0\"?><Task xmlns=\"http://schemas.microsoft.com/windows/2004/02/mit/task\">{inner}<Actions><Exec><Command>c.exe</Command></Exec></Actions></Task>"
        )
    };
    let mut laughs = String::from("<?xml version=\"1.0\"?><!DOCTYPE Task [<!ENTITY l0 \"lol\">");
    for i in 1..10 {
        let p = i - 1;
        laughs.push_str(&format!(
            "<!ENTITY l{i} \"&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};&l{p};\">"
        ));
    }
    laughs.push_str("]><Task><RegistrationInfo><Description>&l9;</Description></RegistrationInfo><Actions><Exec><Command>&l9;</Command></Exec></Actions></Task>");
    let cases: Vec<(&str, String)> = vec![
        ("billion laughs", laughs),
        (
            "external entity",
            "<?xml version=\"1.0\"?><!DOCTYPE Task [<!ENTITY x SYSTEM \"file:///etc/passwd\">]><Task><Actions><Exec><Command>&x;</Command></Exec></Actions></Task>".into(),
        ),
        (
            "huge DOCTYPE internal subset",
            format!(
                "<!DOCTYPE Task [{}]>{}",
                "<!ENTITY a \"b\">".repeat(200_000),
                wrap("")
            ),
        ),
        (
            "200k nested elements",
            wrap(&format!("{}{}", "<a>".repeat(200_000), "</a>".repeat(200_000))),
        ),
        (
            "200k nested, never closed",
            format!("<Task>{}", "<Actions><Exec>".repeat(100_000)),
        ),
        (
            "20k Exec actions",
            wrap(&format!(
                "<Actions>{}</Actions>",
                "<Exec><Command>x</Command><Arguments>y</Arguments></Exec>".repeat(20_000)
            )),
        ),
        (
            "20k calendar triggers",
            wrap(&format!(
                "<Triggers>{}</Triggers>",
                "<CalendarTrigger><StartBoundary>2020-01-01T00:00:00</StartBoundary><ScheduleByMonth><Months><January/></Months><DaysOfMonth><Day>31</Day></DaysOfMonth></ScheduleByMonth></CalendarTrigger>".repeat(20_000)
            )),
        ),
        (
            "a million entity references",
            wrap(&format!(
                "<Actions><Exec><Command>{}</Command></Exec></Actions>",
                "&lt;&#x41;&#65;&unknown;".repeat(250_000)
            )),
        ),
        (
            "invalid character references",
            wrap("<Actions><Exec><Command>&#xD800;&#0;&#99999999999;&#x110000;&#;&#x;</Command></Exec></Actions>"),
        ),
        (
            "100k attributes on one element",
            format!(
                "<Task {}><Actions Context=\"a\"/></Task>",
                (0..100_000).map(|i| format!("a{i}=\"v\" ")).collect::<String>()
            ),
        ),
        (
            "duplicate attributes, 4 MiB value",
            format!(
                "<Task><Actions Context=\"{}\" Context=\"b\"/></Task>",
                "&amp;".repeat(800_000)
            ),
        ),
        (
            "durations and dates out of range",
            wrap("<Settings><ExecutionTimeLimit>P99999999999999999999Y</ExecutionTimeLimit><DeleteExpiredTaskAfter>PT-1S</DeleteExpiredTaskAfter><RestartOnFailure><Interval>P</Interval><Count>-7</Count></RestartOnFailure><Priority>4294967296</Priority></Settings><Triggers><TimeTrigger><StartBoundary>99999-13-32T25:61:61+99:99</StartBoundary><Repetition><Interval>PT0S</Interval><Duration>P1Y2M3DT4H5M6.789S</Duration></Repetition></TimeTrigger></Triggers>"),
        ),
        (
            "CDATA, comments and PIs everywhere",
            wrap(&"<!-- c --><?pi x?><![CDATA[<Exec>]]>".repeat(100_000)),
        ),
        ("declared UTF-16, UTF-8 body", format!("<?xml version=\"1.0\" encoding=\"UTF-16\"?>{}", wrap(""))),
        ("declared bogus encoding", format!("<?xml version=\"1.0\" encoding=\"{}\"?>{}", "x".repeat(100_000), wrap(""))),
        ("unterminated declaration", format!("<?xml version=\"1.0\" {}", "a".repeat(1 << 20))),
    ];
    for (desc, text) in cases {
        let _ = h.case("generated task XML", desc, 0, text.len(), || {
            parse_task_xml(text.as_bytes()).map(|t| t.actions.len())
        });
    }
    h.report();
}

// ---- cron, anacron, at ---------------------------------------------------------------------

/// Crontab lines no real file has: thousands of fields, huge ranges, zero and giant steps.
fn cron_worst_cases() -> Vec<(&'static str, Vec<u8>)> {
    let list: String = (0..20_000).map(|i| format!("{},", i % 60)).collect();
    let fields = "* ".repeat(50_000);
    let mut env_then_jobs = String::new();
    for i in 0..5_000 {
        env_then_jobs.push_str(&format!("V{i}={}\n", "x".repeat(64)));
    }
    for _ in 0..5_000 {
        env_then_jobs.push_str("* * * * * root /bin/true\n");
    }
    vec![
        ("20k-item list", format!("{list}0 * * * * root x\n").into_bytes()),
        ("50k fields", format!("{fields}root x\n").into_bytes()),
        (
            "huge ranges and steps",
            b"0-4294967295 * * * * root x\n99999999999999999999999 * * * * root x\n*/0 * * * * root x\n*/4294967296 * * * * root x\n1-59/0 */-1 jan-dec/0 ~ 7-0 root x\n~~~~ -~- ,,, /// */ root x\n-*/5 * * * * root x\n"
                .repeat(2_000),
        ),
        (
            "50k distinct environment variables",
            (0..50_000)
                .map(|i| format!("VAR_{i}=v\n"))
                .collect::<String>()
                .into_bytes(),
        ),
        ("5k variables then 5k jobs", env_then_jobs.into_bytes()),
        (
            "unterminated quotes",
            "A=\"x\nB='y\n\"C=z\n'\n".repeat(10_000).into_bytes(),
        ),
        (
            "percent storm",
            format!("* * * * * root {}\n", "%\\%%".repeat(1 << 18)).into_bytes(),
        ),
        ("one 2 MiB line", vec![b'*'; 2 << 20]),
        ("256k empty lines", vec![b'\n'; 1 << 18]),
    ]
}

#[test]
fn cron_survives_damage() {
    let mut h = Hostile::new("cron/anacron/at");
    let linux = fixtures("linux/etc", &[""]);
    for d in damaged(&linux, 25, true) {
        let len = d.data.len();
        let (f, m, seed) = (&d.fixture, &d.mutation, d.seed);
        let _ = h.case(f, &format!("{m}; system crontab"), seed, len, || {
            parse_crontab(&d.data, CrontabKind::System).entries.len()
        });
        let _ = h.case(f, &format!("{m}; user crontab"), seed, len, || {
            parse_crontab(&d.data, CrontabKind::User).entries.len()
        });
        let _ = h.case(f, &format!("{m}; anacrontab"), seed, len, || {
            parse_anacrontab(&d.data).jobs.len()
        });
        let _ = h.case(f, &format!("{m}; at job"), seed, len, || {
            parse_at_job(&d.data).command.len()
        });
    }
    for (desc, data) in cron_worst_cases() {
        let len = data.len();
        let _ = h.case("generated crontab", desc, 0, len, || {
            parse_crontab(&data, CrontabKind::System).entries.len()
        });
        let _ = h.case("generated crontab", desc, 0, len, || {
            parse_crontab(&data, CrontabKind::User).entries.len()
        });
        let _ = h.case("generated anacrontab", desc, 0, len, || {
            parse_anacrontab(&data).jobs.len()
        });
    }
    // at(1) job files: endless continued environment lines, a `cd` block that never closes, a
    // missing delimiter, a delimiter line repeated.
    let at_cases: Vec<(&str, String)> = vec![
        (
            "continued variable for 50k lines",
            format!(
                "#!/bin/sh\n# atrun uid=0 gid=0\nX=a\\\n{}",
                "b\\\n".repeat(50_000)
            ),
        ),
        (
            "cd block never closed",
            format!(
                "#!/bin/sh\n# atrun uid=0 gid=0\ncd /x || {{\n{}",
                "echo\n".repeat(50_000)
            ),
        ),
        (
            "50k environment lines",
            format!(
                "#!/bin/sh\n# atrun uid=0 gid=0\n{}${{SHELL:-/bin/sh}} << 'marcinDELIMITER0'\nid\nmarcinDELIMITER0\n",
                (0..50_000)
                    .map(|i| format!("V{i}=x; export V{i}\n"))
                    .collect::<String>()
            ),
        ),
        (
            "delimiter repeated",
            format!(
                "#!/bin/sh\n${{SHELL:-/bin/sh}} << 'D'\n{}",
                "D\nid\n".repeat(50_000)
            ),
        ),
        (
            "header fields out of range",
            "#!/bin/sh\n# atrun uid=99999999999999999999 gid=-1\n# mail \n umask 99999999999\n"
                .repeat(50_000),
        ),
    ];
    for (desc, text) in at_cases {
        let _ = h.case("generated at job", desc, 0, text.len(), || {
            parse_at_job(text.as_bytes()).command.len()
        });
    }
    h.report();
}

// ---- systemd units -------------------------------------------------------------------------

#[test]
fn systemd_units_survive_damage() {
    let mut h = Hostile::new("parse_unit");
    let units = fixtures("linux/lib/systemd/system", &["timer"]);
    for d in damaged(&units, 30, true) {
        let _ = h.case(&d.fixture, &d.mutation, d.seed, d.data.len(), || {
            let u = parse_unit(&d.data);
            (u.sections.len(), u.timer.is_some(), u.service.is_some())
        });
    }
    // 4k commands: the old per-command copy of the whole value held 150 MB for 36 KiB.
    let exec_separators = format!("[Service]\nExecStart={}\n", "/bin/x ; ".repeat(1 << 12));
    let cases: Vec<(&str, String)> = vec![
        (
            "1 MiB continuation line",
            format!(
                "[Service]\nExecStart=/bin/echo{}\n",
                " \\\n x".repeat((1 << 20) / 5)
            ),
        ),
        (
            "continuation never ends, comments inside",
            format!(
                "[Service]\nExecStart=/bin/x \\\n{}",
                "# c\n; c\n".repeat(100_000)
            ),
        ),
        (
            "backslash run at line end",
            format!("[Service]\nExecStart=/bin/x {}\n", "\\".repeat(1 << 20)),
        ),
        (
            "50k distinct Environment= variables",
            format!(
                "[Service]\nEnvironment={}\n",
                (0..50_000).map(|i| format!("V{i}=x ")).collect::<String>()
            ),
        ),
        (
            "4k commands separated by ';' in one ExecStart",
            exec_separators,
        ),
        (
            "40k sections",
            "[Timer]\nOnCalendar=daily\n[Service]\nExecStart=/bin/x\n".repeat(20_000),
        ),
        (
            "40k ExecStart resets",
            "[Service]\nExecStart=\nExecStart=/bin/x a b c\n".repeat(20_000),
        ),
        (
            "escapes and quotes",
            format!(
                "[Service]\nExecStart={}\n",
                "\\x \\u12 \\U0011ffff \\777 '\"\\' \"'\" ".repeat(50_000)
            ),
        ),
        (
            "unterminated quote over 1 MiB",
            format!(
                "[Service]\nExecStart=/bin/sh -c '{}\n",
                "a ".repeat(1 << 19)
            ),
        ),
        (
            "prefix storm",
            format!("[Service]\nExecStart={}/bin/x\n", "@-:+!|!!".repeat(50_000)),
        ),
        (
            "section header never closed",
            format!("[{}\nKey=v\n", "S".repeat(TASK_PARSE_CAP)),
        ),
    ];
    for (desc, text) in cases {
        let _ = h.case("generated unit", desc, 0, text.len(), || {
            let u = parse_unit(text.as_bytes());
            let cmds = u.service.as_ref().map(|s| s.exec_start.len()).unwrap_or(0);
            (u.sections.len(), cmds)
        });
    }
    let _ = h.case("split_words", "256k quoted words", 0, 1 << 20, || {
        split_words(&"'a' \"b\" ".repeat(1 << 17)).0.len()
    });
    h.report();
}

// ---- shell history -------------------------------------------------------------------------

const KINDS: [HistoryKind; 6] = [
    HistoryKind::Bash,
    HistoryKind::Zsh,
    HistoryKind::Fish,
    HistoryKind::Sh,
    HistoryKind::Python,
    HistoryKind::PsReadLine,
];

#[test]
fn shell_history_survives_damage() {
    // Every 2-byte line can be a command: a typed entry (~130 bytes with its string) each.
    let mut h = Hostile::new("parse_history").per_byte(80);
    // The real PSReadLine file, damaged, read as every kind (a misnamed file is read with the
    // wrong parser in the field too).
    let hist = fixtures("history", &["txt"]);
    for d in damaged(&hist, 30, true) {
        let _ = h.case(&d.fixture, &d.mutation, d.seed, d.data.len(), || {
            KINDS
                .iter()
                .map(|k| parse_history(*k, &d.data).entries.len())
                .sum::<usize>()
        });
    }
    let cases: Vec<(&str, Vec<u8>)> = vec![
        (
            "backtick continuation for 128k lines",
            "a`\n".repeat(1 << 17).into_bytes(),
        ),
        (
            "backslash continuation for 128k lines",
            "a\\\n".repeat(1 << 17).into_bytes(),
        ),
        ("zsh Meta bytes only", vec![0x83; 1 << 20]),
        (
            "zsh extended headers with overflowing numbers",
            ": 99999999999999999999:99999999999999999999;x\n: -1:0;y\n: :;\n"
                .repeat(10_000)
                .into_bytes(),
        ),
        (
            "bash timestamps out of range",
            "#99999999999999999999\nid\n#-5\n#9223372036854775807\nls\n"
                .repeat(10_000)
                .into_bytes(),
        ),
        (
            "fish fields without entries",
            "  when: 1\n  paths:\n    - /x\n- cmd: a\\\n  when: x\n"
                .repeat(10_000)
                .into_bytes(),
        ),
        (
            "mksh binary, markers only",
            [b"\xAB\xCD".as_slice(), &[0xFF; 1 << 20]].concat(),
        ),
        (
            "mksh binary, cut records",
            [b"\xAB\xCD".as_slice(), &b"\xFF\x00\x00".repeat(1 << 18)].concat(),
        ),
        (
            "ksh93 magic then NULs",
            [b"\x81\x01".as_slice(), &[0; 1 << 20]].concat(),
        ),
        (
            "libedit escapes",
            [
                b"_HiStOrY_V2_\n".as_slice(),
                &b"\\\\\\040\\777\\1\\".repeat(1 << 16),
            ]
            .concat(),
        ),
        (
            "pyrepl CR continuation, mixed",
            "a\r\nb\nc\r\n".repeat(1 << 15).into_bytes(),
        ),
        (
            "BOM-less UTF-16LE guess with odd tail",
            [&b"l\x00s\x00\n\x00".repeat(1 << 16)[..], b"\x00"].concat(),
        ),
        (
            "UTF-16BE BOM, lone surrogates",
            [b"\xFE\xFF".as_slice(), &b"\xD8\x00\x00a".repeat(1 << 16)].concat(),
        ),
    ];
    for (desc, data) in cases {
        for kind in KINDS {
            let _ = h.case(
                &format!("generated history ({kind:?})"),
                desc,
                0,
                data.len(),
                || parse_history(kind, &data).entries.len(),
            );
        }
    }
    h.report();
}

// ---- regressions: bugs this module found ---------------------------------------------------

/// A crontab of distinct `NAME=value` lines: each line searched every earlier variable, and
/// every job re-summed them all (quadratic; 200k lines hung `parse_crontab` for minutes).
#[test]
fn cron_distinct_env_vars_are_linear() {
    let mut h = Hostile::new("regression: cron environment");
    let mut text: String = (0..200_000).map(|i| format!("VAR_{i}=v\n")).collect();
    for _ in 0..20_000 {
        text.push_str("* * * * * root /bin/true\n");
    }
    let p = h.case(
        "generated crontab",
        "200k variables, 20k jobs",
        0,
        text.len(),
        || parse_crontab(text.as_bytes(), CrontabKind::System),
    );
    assert_eq!(p.environment.len(), 200_000);
    assert_eq!(p.entries.len(), 20_000);
    // The snapshot budget still applies: later jobs keep no copy, and say so.
    assert!(p.entries.last().is_some_and(|e| e.environment_truncated));
    let a = h.case(
        "generated anacrontab",
        "200k variables",
        0,
        text.len(),
        || parse_anacrontab(text.as_bytes()),
    );
    assert_eq!(a.environment.len(), 200_000);
    h.report();
}

/// 200k parts of one ScriptBlockId with distinct MessageNumbers: the duplicate check scanned
/// every earlier part (quadratic; the assembler hung for minutes).
#[test]
fn assembler_many_parts_is_linear() {
    let mut h = Hostile::new("regression: assembler parts");
    let template = real_script_block();
    let parts: Vec<PsEvent> = (0..200_000u32)
        .map(|i| {
            let mut p = template.clone();
            p.script_block_id = Some("forged".into());
            p.message_number = Some(200_000 - i);
            p.message_total = Some(200_000);
            p.record_id = u64::from(i);
            p.script_block_text = Some("x".into());
            p
        })
        .collect();
    let blocks = h.case(
        "forged 4104 parts",
        "200k parts, reversed",
        0,
        200_000 * 64,
        || {
            let mut a = ScriptBlockAssembler::new();
            for p in parts {
                a.add(p);
            }
            a.finish()
        },
    );
    assert_eq!(blocks.len(), 1);
    assert_eq!(blocks[0].text.len(), 200_000);
    assert!(blocks[0].complete);
    assert_eq!(blocks[0].duplicate_parts, 0);
    h.report();
}

/// 100k distinct variables on one `Environment=` line: each assignment removed any earlier
/// copy with a scan of all earlier variables (quadratic; the parser hung for minutes).
#[test]
fn systemd_distinct_environment_is_linear() {
    let mut h = Hostile::new("regression: unit environment");
    let mut text = format!(
        "[Service]\nEnvironment={}\n",
        (0..100_000).map(|i| format!("V{i}=x ")).collect::<String>()
    );
    // Overrides still behave as systemd's: the last assignment wins and moves to the end.
    text.push_str("Environment=V0=last V1=y\nEnvironment=V1=z\n");
    let u = h.case("generated unit", "100k variables", 0, text.len(), || {
        parse_unit(text.as_bytes())
    });
    let env = u.service.map(|s| s.environment).unwrap_or_default();
    assert_eq!(env.len(), 100_000);
    assert_eq!(env[0].name, "V2");
    let tail: Vec<(&str, &str)> = env[env.len() - 2..]
        .iter()
        .map(|v| (v.name.as_str(), v.value.as_str()))
        .collect();
    assert_eq!(tail, [("V0", "last"), ("V1", "z")]);
    h.report();
}

/// 64k `;`-separated commands in one `ExecStart=`: every command carried a copy of the whole
/// 576 KiB value (37 GB for one line). Each now keeps its own part of the value.
#[test]
fn systemd_exec_command_list_is_linear() {
    let mut h = Hostile::new("regression: exec command list");
    let text = format!("[Service]\nExecStart={}\n", "/bin/x a ; ".repeat(1 << 16));
    let u = h.case("generated unit", "64k commands", 0, text.len(), || {
        parse_unit(text.as_bytes())
    });
    let exec = u.service.map(|s| s.exec_start).unwrap_or_default();
    assert_eq!(exec.len(), 1 << 16);
    assert!(
        exec.iter()
            .all(|e| e.raw == "/bin/x a" && e.argv == ["/bin/x", "a"])
    );
    let u = parse_unit(b"[Service]\nExecStart=-/bin/a 'x ; y' ;  /bin/b \\; c\n");
    let raws: Vec<String> = u
        .service
        .map(|s| s.exec_start.into_iter().map(|e| e.raw).collect())
        .unwrap_or_default();
    assert_eq!(raws, ["-/bin/a 'x ; y'", "/bin/b \\; c"]);
    h.report();
}
