//! `collection.log`: what happened, in order, with timestamps. Kept deflated in memory and
//! capped, so a host that makes every file a warning cannot make the log the thing that
//! exhausts memory; past the cap, lines are counted and the log ends saying how many.

use std::io::Write;

/// Raw log text kept (deflated in memory) before further lines are only counted.
const MAX_LOG_BYTES: u64 = 64 << 20;

pub struct RunLog {
    enc: flate2::write::DeflateEncoder<Vec<u8>>,
    bytes: u64,
    dropped: u64,
    /// Also print each line to stderr (`--verbose`-style echo for tests and debugging).
    echo: bool,
}

impl Default for RunLog {
    fn default() -> Self {
        RunLog {
            enc: flate2::write::DeflateEncoder::new(Vec::new(), flate2::Compression::fast()),
            bytes: 0,
            dropped: 0,
            echo: false,
        }
    }
}

impl RunLog {
    pub fn log(&mut self, level: &str, msg: impl AsRef<str>) {
        if self.bytes >= MAX_LOG_BYTES {
            self.dropped += 1;
            return;
        }
        let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true);
        // One line per event, whatever the message holds.
        let msg = msg.as_ref().replace(['\n', '\r'], " ");
        let line = format!("{now} {level:5} {msg}\n");
        if self.echo {
            eprint!("{line}");
        }
        self.bytes += line.len() as u64;
        // Writing into a Vec cannot fail.
        let _ = self.enc.write_all(line.as_bytes());
    }

    pub fn info(&mut self, msg: impl AsRef<str>) {
        self.log("INFO", msg);
    }

    pub fn warn(&mut self, msg: impl AsRef<str>) {
        self.log("WARN", msg);
    }

    pub fn error(&mut self, msg: impl AsRef<str>) {
        self.log("ERROR", msg);
    }

    /// Write the whole log to `out`.
    pub fn write_to(mut self, out: &mut dyn Write) -> std::io::Result<()> {
        if self.dropped > 0 {
            let line = format!(
                "{} WARN  log full: {} more lines not kept\n",
                chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Millis, true),
                self.dropped
            );
            self.enc.write_all(line.as_bytes())?;
        }
        let data = self.enc.finish()?;
        std::io::copy(&mut flate2::read::DeflateDecoder::new(&data[..]), out)?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    #[test]
    fn lines_round_trip_one_per_event() {
        let mut l = super::RunLog::default();
        l.info("a\nb");
        l.warn("c");
        let mut out = Vec::new();
        l.write_to(&mut out).unwrap();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(text.lines().count(), 2);
        assert!(text.lines().next().unwrap().ends_with("INFO  a b"));
    }
}
