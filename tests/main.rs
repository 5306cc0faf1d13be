//! One integration-test binary: each module tests one area by running the real `irsnap`
//! binary and opening the archive it wrote.

mod foundation;
mod harness;
mod profiles;
mod sigma;
