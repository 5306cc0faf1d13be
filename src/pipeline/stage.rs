//! Isolation: whatever a stage does with hostile input, a panic in it becomes that stage's
//! `failed` status, never the end of the run.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::{Arc, Mutex};

/// Panic messages of the run, captured instead of printed: a panic in the middle of the
/// responder's screen says nothing they can act on; in the manifest it says which stage.
#[derive(Clone, Default)]
pub struct Panics {
    messages: Arc<Mutex<Vec<String>>>,
}

impl Panics {
    /// Capture every panic from now until [`Panics::restore`].
    pub fn install() -> Panics {
        let me = Panics::default();
        let sink = Arc::clone(&me.messages);
        std::panic::set_hook(Box::new(move |info| {
            if let Ok(mut v) = sink.lock() {
                // One message per panic; a flood of them keeps the first few hundred.
                if v.len() < 256 {
                    v.push(info.to_string());
                }
            }
        }));
        me
    }

    /// Print panics again (after the run).
    pub fn restore(&self) {
        let _ = std::panic::take_hook();
    }

    fn last(&self) -> Option<String> {
        self.messages.lock().ok().and_then(|mut v| v.pop())
    }
}

/// Run `f`; a panic in it becomes `Err(message)`.
pub fn isolate<T>(panics: &Panics, f: impl FnOnce() -> T) -> Result<T, String> {
    catch_unwind(AssertUnwindSafe(f)).map_err(|payload| {
        panics
            .last()
            .unwrap_or_else(|| crate::source::live::panic_message(&*payload))
            .replace(['\n', '\r'], " ")
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_is_a_message() {
        let p = Panics::default();
        let r: Result<(), String> = isolate(&p, || panic!("boom {}", 1));
        assert!(r.unwrap_err().contains("boom 1"));
        assert_eq!(isolate(&p, || 7).unwrap(), 7);
    }
}
