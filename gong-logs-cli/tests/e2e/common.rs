//! Shared by the property tests and the fuzz targets: a runner that counts
//! and prints its executions, and (from `gong_logs_sim::arbitrary`) the
//! generators of JSON text as Gong might send it.

use std::sync::atomic::{AtomicU64, Ordering};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};

/// Cases per run: `PROPTEST_CASES` when set (the long runs), else `default`
/// (the bounded CI run).
pub fn cases(default: u32) -> u32 {
    std::env::var("PROPTEST_CASES")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}

/// Runs `body` over `cases(default)` inputs from `strategy`; a failure (or a
/// panic, which proptest catches) is shrunk and reported with its minimal
/// input. Prints and returns how many times `body` ran.
pub fn check<S>(
    name: &str,
    default: u32,
    strategy: S,
    body: impl Fn(S::Value) -> Result<(), TestCaseError>,
) -> u64
where
    S: Strategy,
    S::Value: std::fmt::Debug,
{
    let executions = AtomicU64::new(0);
    let mut runner = TestRunner::new(Config {
        cases: cases(default),
        failure_persistence: None,
        ..Config::default()
    });
    let result = runner.run(&strategy, |value| {
        executions.fetch_add(1, Ordering::Relaxed);
        body(value)
    });
    let n = executions.load(Ordering::Relaxed);
    if let Err(e) = result {
        panic!("{name}: {e}");
    }
    eprintln!("{name}: {n} executions, no failure");
    n
}

pub use gong_logs_sim::arbitrary::*;
