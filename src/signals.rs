//! SIGINT / SIGTERM (and Ctrl-Break on Windows), counted from the first instruction of `main`.
//!
//! A signal must never kill irsnap half-way: the handlers are installed before the command
//! line is even parsed, and all they do is count. The run reads the count at its checkpoints:
//! before the archive exists, one signal ends the run with nothing left behind (exit 4); after,
//! the first signal stops the collectors and finishes a valid archive marked `interrupted`,
//! the second skips what is left after the collectors (detection output, timeline, report) and
//! finishes at once, the third gives up and removes the unfinished archive.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

/// A parent may have blocked these signals (a wrapper, a service manager): blocked, they
/// would never reach the handlers, and one sent before the handlers existed would stay
/// pending. Unblocked now, a pending one is counted at once.
#[cfg(unix)]
fn unblock(signals: &[libc::c_int]) {
    // SAFETY: `set` is a local sigset_t initialised by sigemptyset before use; the calls
    // only change this thread's signal mask (the only thread: `main` calls this first).
    #[allow(unsafe_code)]
    unsafe {
        let mut set: libc::sigset_t = std::mem::zeroed();
        libc::sigemptyset(&mut set);
        for &s in signals {
            libc::sigaddset(&mut set, s);
        }
        libc::pthread_sigmask(libc::SIG_UNBLOCK, &set, std::ptr::null_mut());
    }
}

#[cfg(not(unix))]
fn unblock(_signals: &[i32]) {}

/// How many termination signals arrived.
#[derive(Debug, Clone, Default)]
pub struct Interrupt {
    count: Arc<AtomicUsize>,
}

impl Interrupt {
    /// Count SIGINT and SIGTERM (Windows: Ctrl-C, Ctrl-Break, close) from now on. A failure
    /// to install a handler leaves that signal's default and is reported by the caller.
    pub fn install() -> (Interrupt, Vec<String>) {
        let me = Interrupt::default();
        let mut problems = Vec::new();
        #[cfg(windows)]
        let signals = [
            signal_hook::consts::SIGINT,
            signal_hook::consts::SIGTERM,
            signal_hook::consts::SIGBREAK,
        ];
        #[cfg(not(windows))]
        let signals = [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM];
        for sig in signals {
            let count = Arc::clone(&me.count);
            // SAFETY: the handler only increments an atomic integer, which is
            // async-signal-safe: no allocation, no lock, no I/O.
            #[allow(unsafe_code)]
            let r = unsafe {
                signal_hook::low_level::register(sig, move || {
                    count.fetch_add(1, Ordering::SeqCst);
                })
            };
            if let Err(e) = r {
                problems.push(format!("signal {sig}: {e}"));
            }
        }
        unblock(&signals);
        (me, problems)
    }

    /// Signals so far.
    pub fn count(&self) -> usize {
        self.count.load(Ordering::SeqCst)
    }

    pub fn any(&self) -> bool {
        self.count() > 0
    }

    /// For tests and library users: behave as if `n` signals had arrived.
    pub fn raise(&self) {
        self.count.fetch_add(1, Ordering::SeqCst);
    }
}
