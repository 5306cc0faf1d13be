//! Every stage fed hostile records: detection (built-in rules, the joins, Sigma), the
//! timeline, the report writers (HTML, Markdown, JSON), the archive writer and `verify`,
//! `stack` and `export` ("a panic anywhere is a bug, and an archive is always finished").
//! `hostile.rs` damages the parsers' inputs; this module starts where they stop, at typed
//! records, so it reaches what no parser would produce.
//!
//! Records of every type are built from the records' own JSON Schemas (`generate.rs`), with
//! hostile text in every string: multi-byte and case-changing characters next to every
//! delimiter, combining marks, bidi overrides, NUL and controls, markup, formulas, Windows
//! and Unix paths, URLs, Base64 and `-enc` payloads; lengths from empty to about 1 MiB.
//! Each case runs every stage under `catch_unwind` and a watchdog; a panic is reported with
//! the stage and the case's seed, and the run goes on so one run lists every distinct bug.
//! Besides "no panic" the outputs are checked for what they promise: no attacker markup in
//! the HTML or Markdown report, no CSV cell a spreadsheet would run as a formula, JSON that
//! reads back, an archive that verifies.
//!
//! - `IRSNAP_FUZZ_CASES`: cases of typed records (default [`DEFAULT_CASES`]).
//! - `IRSNAP_FUZZ_SEED`: the first seed (default fixed); a failure names the seed to rerun
//!   with `IRSNAP_FUZZ_SEED=<seed> IRSNAP_FUZZ_CASES=1`.
//! - `IRSNAP_FUZZ_ROOTS`: offline roots collected end to end by the real binary (default 2).
//!
//! `cargo test --test main stage_fuzz -- --nocapture` prints one timing line per test.

mod checks;
mod generate;
mod offline_root;
mod pathological;
mod stages;

use std::cell::RefCell;
use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use irsnap::detect::Engine;
use irsnap::sigma::RuleSet;

/// Cases per run by default: about 20 s on a debug build on a busy 2-core box.
const DEFAULT_CASES: u64 = 48;
/// A stage call still running after this (ten minutes, far past any busy machine) is a hang or
/// a quadratic blow-up: the watchdog aborts the binary naming the stage and seed, since a hung
/// test would never report.
const HANG_LIMIT: Duration = Duration::from_secs(600);
/// One stage call using more CPU than this is printed as SLOW (never failed): the largest
/// field is about 1 MiB, and every stage handles that in well under a second on an idle
/// machine; only super-linear work gets near it.
const SLOW_LIMIT: Duration = Duration::from_secs(15);

fn env_u64(name: &str, default: u64) -> u64 {
    std::env::var(name)
        .ok()
        .and_then(|v| {
            let v = v.trim();
            match v.strip_prefix("0x") {
                Some(hex) => u64::from_str_radix(hex, 16).ok(),
                None => v.parse().ok(),
            }
        })
        .unwrap_or(default)
}

pub fn cases() -> u64 {
    env_u64("IRSNAP_FUZZ_CASES", DEFAULT_CASES)
}

pub fn first_seed() -> u64 {
    env_u64("IRSNAP_FUZZ_SEED", 0x5EED_0000)
}

/// CPU time this thread has used.
pub fn thread_cpu() -> Duration {
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

/// What every case shares: the built-in rules and a Sigma rule set (real SigmaHQ rules from
/// `../shared/corpus` plus the inline ones of `stages.rs`, which use every modifier).
pub struct Shared {
    pub engine: Engine,
    pub sigma: RuleSet,
    pub schemas: Vec<irsnap::schema::SchemaDoc>,
}

pub fn shared() -> &'static Shared {
    static SHARED: OnceLock<Shared> = OnceLock::new();
    SHARED.get_or_init(|| Shared {
        engine: Engine::builtin().expect("built-in rules load"),
        sigma: stages::sigma_rules(),
        schemas: irsnap::schema::all(),
    })
}

// ---- isolation: catch_unwind, the panic's location, a watchdog, CPU time ------------------

thread_local! {
    /// `file:line` of the last panic on this thread (set by the hook installed below).
    static LAST_PANIC: RefCell<Option<String>> = const { RefCell::new(None) };
}

/// Wrap the panic hook once: it notes where a panic happened on this thread, then prints
/// as before.
fn install_hook() {
    static ONCE: OnceLock<()> = OnceLock::new();
    ONCE.get_or_init(|| {
        let previous = std::panic::take_hook();
        std::panic::set_hook(Box::new(move |info| {
            let at = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_default();
            let _ = LAST_PANIC.try_with(|p| *p.borrow_mut() = Some(at));
            previous(info);
        }));
    });
}

fn panic_text(p: &(dyn std::any::Any + Send)) -> String {
    p.downcast_ref::<&str>()
        .map(|s| s.to_string())
        .or_else(|| p.downcast_ref::<String>().cloned())
        .unwrap_or_else(|| "non-text panic".into())
}

/// One problem a stage had on one case.
#[derive(Debug, Clone)]
pub struct Failure {
    pub stage: String,
    pub seed: u64,
    /// `file:line` of the panic, when it was one.
    pub at: String,
    pub message: String,
}

/// Runs stages isolated; collects failures and the slowest calls.
pub struct Guard {
    name: &'static str,
    current: Arc<Mutex<Option<(String, Instant)>>>,
    stop: Arc<AtomicBool>,
    dog: Option<JoinHandle<()>>,
    failures: Vec<Failure>,
    slowest: (Duration, String),
    /// CPU per stage over the whole run (the summary names where the time went).
    totals: Vec<(String, Duration)>,
    started: Instant,
    pub calls: u64,
    cpu_limit: Duration,
    /// Print every call that took more than a second.
    verbose: bool,
}

impl Guard {
    pub fn new(name: &'static str) -> Guard {
        install_hook();
        let current: Arc<Mutex<Option<(String, Instant)>>> = Arc::new(Mutex::new(None));
        let stop = Arc::new(AtomicBool::new(false));
        let (c, s) = (current.clone(), stop.clone());
        let dog = std::thread::spawn(move || {
            while !s.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(100));
                let guard = c.lock().unwrap_or_else(|e| e.into_inner());
                if let Some((label, start)) = guard.as_ref()
                    && start.elapsed() > HANG_LIMIT
                {
                    eprintln!("stage_fuzz: HANG: {label} still running after {HANG_LIMIT:?}");
                    std::process::abort();
                }
            }
        });
        Guard {
            name,
            current,
            stop,
            dog: Some(dog),
            failures: Vec::new(),
            slowest: (Duration::ZERO, String::new()),
            totals: Vec::new(),
            started: Instant::now(),
            calls: 0,
            cpu_limit: SLOW_LIMIT,
            verbose: false,
        }
    }

    pub fn cpu_limit(mut self, limit: Duration) -> Guard {
        self.cpu_limit = limit;
        self.verbose = true;
        self
    }

    /// Run `f` as stage `stage` of case `seed`: `None` when it panicked (recorded).
    pub fn run<T>(&mut self, stage: &str, seed: u64, f: impl FnOnce() -> T) -> Option<T> {
        let label = format!("{stage} (seed {seed:#x})");
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) =
            Some((label.clone(), Instant::now()));
        LAST_PANIC.with(|p| *p.borrow_mut() = None);
        let cpu = thread_cpu();
        let result = catch_unwind(AssertUnwindSafe(f));
        let used = thread_cpu().saturating_sub(cpu);
        *self.current.lock().unwrap_or_else(|e| e.into_inner()) = None;
        self.calls += 1;
        if self.verbose && used > Duration::from_secs(1) {
            println!("stage_fuzz {}: {label}: {used:.1?} CPU", self.name);
        }
        match self.totals.iter_mut().find(|(s, _)| s == stage) {
            Some((_, t)) => *t += used,
            None => self.totals.push((stage.to_string(), used)),
        }
        if used > self.slowest.0 {
            self.slowest = (used, label.clone());
        }
        // Reported, never failed: a test must not depend on how busy the machine is. Speed is
        // measured by the benchmarks; the watchdog below catches real hangs.
        if used > self.cpu_limit {
            println!(
                "stage_fuzz {}: SLOW: {label} took {used:?} of CPU (expected under {:?})",
                self.name, self.cpu_limit
            );
        }
        match result {
            Ok(v) => Some(v),
            Err(p) => {
                let at = LAST_PANIC
                    .with(|l| l.borrow_mut().take())
                    .unwrap_or_default();
                self.fail(stage, seed, at, panic_text(p.as_ref()));
                None
            }
        }
    }

    pub fn fail(&mut self, stage: &str, seed: u64, at: String, message: String) {
        // Keep the message short: it may quote a megabyte of hostile text.
        let message: String = message.chars().take(600).collect();
        self.failures.push(Failure {
            stage: stage.to_string(),
            seed,
            at,
            message,
        });
    }

    /// Print the timing line; fail the test listing each distinct problem once (by stage and
    /// place), with the first seed that showed it.
    pub fn finish(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.dog.take() {
            let _ = t.join();
        }
        println!(
            "stage_fuzz {}: {} stage calls in {:.1?}; slowest {:.2?} ({})",
            self.name,
            self.calls,
            self.started.elapsed(),
            self.slowest.0,
            self.slowest.1
        );
        self.totals.sort_by_key(|t| std::cmp::Reverse(t.1));
        let top: Vec<String> = self
            .totals
            .iter()
            .take(5)
            .map(|(s, t)| format!("{s} {t:.1?}"))
            .collect();
        println!("stage_fuzz {}: most CPU: {}", self.name, top.join(", "));
        if self.failures.is_empty() {
            return;
        }
        let mut distinct: Vec<(String, &Failure, usize)> = Vec::new();
        for f in &self.failures {
            let key = if f.at.is_empty() {
                format!("{}: {}", f.stage, f.message)
            } else {
                format!("{} @ {}", f.stage, f.at)
            };
            match distinct.iter_mut().find(|(k, _, _)| *k == key) {
                Some((_, _, n)) => *n += 1,
                None => distinct.push((key, f, 1)),
            }
        }
        let mut text = format!(
            "{}: {} failures, {} distinct:\n",
            self.name,
            self.failures.len(),
            distinct.len()
        );
        for (_, f, n) in &distinct {
            text.push_str(&format!(
                "- {} ×{n}, first seed {:#x}{}: {}\n",
                f.stage,
                f.seed,
                if f.at.is_empty() {
                    String::new()
                } else {
                    format!(" at {}", f.at)
                },
                f.message.escape_debug()
            ));
        }
        panic!("{text}");
    }
}

impl Drop for Guard {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

// ---- the tests ------------------------------------------------------------------------------

/// Typed records of every collector through every stage, case after case.
#[test]
fn every_stage_survives_hostile_records() {
    let shared = shared();
    let mut guard = Guard::new("records");
    let mut parsed = stages::ParseStats::default();
    let dir = tempfile::tempdir().unwrap();
    let first = first_seed();
    for i in 0..cases() {
        let seed = first.wrapping_add(i);
        stages::run_case(shared, &mut guard, &mut parsed, seed, dir.path());
    }
    parsed.check();
    guard.finish();
}

/// Hostile text straight into the library's text functions (the normaliser, PowerShell
/// switch parsing and decoding, escaping, the char-boundary helpers): many more strings per
/// second than whole records, so the small functions see every combination.
#[test]
fn text_functions_survive_hostile_strings() {
    let mut guard = Guard::new("text");
    let first = first_seed();
    for i in 0..cases() * 40 {
        let seed = first.wrapping_add(i);
        stages::text_case(&mut guard, seed);
    }
    guard.finish();
}

/// One pathological input per shape, far bigger than the fuzz cases (`IRSNAP_FUZZ_UNIT_KIB`
/// sets the size): each stage must finish within a CPU limit no quadratic step meets.
#[test]
fn pathological_inputs_are_linear() {
    pathological::run();
}

/// The real binary collects offline roots filled with hostile text: exit 0 or 2, an archive
/// that verifies, and `report`, `export` and `stack` on it.
#[test]
fn collect_hostile_offline_roots() {
    offline_root::run(env_u64("IRSNAP_FUZZ_ROOTS", 2));
}
