//! What the engine saw that the user should hear about, recorded for the
//! caller to read (the api crate prints nothing): a `Retry-After` longer
//! than the bound being waited out (`--follow`), and the server's clock.

use std::sync::Mutex;
use std::time::Duration;

use jiff::{SignedDuration, Timestamp};

/// A `Retry-After` longer than [`crate::RetryPolicy::max_retry_after`],
/// waited out because the policy says so (`wait_out_long`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LongWait {
    /// How long the server asked to wait.
    pub wait: Duration,
    /// Until when, by the local clock (whole seconds, rounded up).
    pub until: Timestamp,
    /// The bound it exceeds.
    pub bound: Duration,
}

/// Notices of one exporter (in [`crate::export::ExportStats`]).
#[derive(Debug, Default)]
pub struct Notices {
    long_wait: Mutex<Option<LongWait>>,
    clock_skew: Mutex<Option<SignedDuration>>,
}

impl Notices {
    /// The latest long wait, if any was waited out.
    pub fn long_wait(&self) -> Option<LongWait> {
        *self.long_wait.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Local clock minus the server's `Date` (positive: the local clock is
    /// ahead), from the latest answer that had one. `Date` has whole
    /// seconds, so ±1 s is noise.
    pub fn clock_skew(&self) -> Option<SignedDuration> {
        *self.clock_skew.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub(crate) fn record_long_wait(&self, wait: LongWait) {
        *self.long_wait.lock().unwrap_or_else(|e| e.into_inner()) = Some(wait);
    }

    pub(crate) fn record_server_date(&self, server: Timestamp, local: Timestamp) {
        let skew = local.duration_since(server);
        *self.clock_skew.lock().unwrap_or_else(|e| e.into_inner()) = Some(skew);
    }
}

/// The instant `wait` from `now`, rounded up to the second.
pub(crate) fn until(now: Timestamp, wait: Duration) -> Timestamp {
    let wait_secs = i64::try_from(wait.as_secs()).unwrap_or(i64::MAX);
    let secs = now.as_second().saturating_add(wait_secs);
    let secs = secs.saturating_add(i64::from(
        wait.subsec_nanos() > 0 || now.subsec_nanosecond() > 0,
    ));
    Timestamp::from_second(secs).unwrap_or(Timestamp::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn until_rounds_up_and_saturates() {
        let now: Timestamp = "2026-12-01T04:00:00.2Z".parse().unwrap();
        assert_eq!(
            until(now, Duration::from_secs(7_200)).to_string(),
            "2026-12-01T06:00:01Z"
        );
        assert_eq!(until(now, Duration::MAX), Timestamp::MAX);
    }
}
