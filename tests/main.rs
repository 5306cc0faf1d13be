//! One integration-test binary: each module tests one area by running the real `irsnap`
//! binary and opening the archive it wrote.

mod detect;
mod foundation;
mod harness;
