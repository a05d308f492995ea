//! The retry policy, in one place.

use std::time::Duration;

use rand::Rng as _;

/// How often and how patiently to retry a failed request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Retries per request after the first attempt (0 disables retrying).
    pub max_retries: u32,
    /// First back-off delay; doubles each retry.
    pub base_delay: Duration,
    /// Upper bound of one back-off delay.
    pub max_delay: Duration,
    /// The longest `Retry-After` worth waiting for. A longer one (Gong's
    /// daily quota says "come back tomorrow") fails the request at once
    /// ([`crate::ApiError::WaitTooLong`]), so the user hears about it
    /// instead of watching a silent process; unless `wait_out_long`.
    pub max_retry_after: Duration,
    /// Wait out a `Retry-After` longer than `max_retry_after` too (up to
    /// [`LONGEST_WAIT_OUT`]), recording it in
    /// [`crate::notices::Notices::long_wait`]: a process that follows the
    /// logs has nobody to rerun it.
    pub wait_out_long: bool,
}

/// The longest `Retry-After` waited out even with `wait_out_long`: Gong's
/// daily quota comes back within a day, so a longer wait is a server to
/// doubt, not one to sleep on.
pub const LONGEST_WAIT_OUT: Duration = Duration::from_secs(25 * 3_600);

/// What to do about a `Retry-After`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum WaitVerdict {
    /// Within the bound: wait.
    Wait,
    /// Over the bound, but waited out (and reported).
    WaitOutLong,
    /// Over the bound: fail now.
    TooLong,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(3_600),
            wait_out_long: false,
        }
    }
}

impl RetryPolicy {
    /// Whether a `Retry-After` of `wait` is waited for.
    pub(crate) fn judge_wait(&self, wait: Duration) -> WaitVerdict {
        if wait <= self.max_retry_after {
            WaitVerdict::Wait
        } else if self.wait_out_long && wait <= LONGEST_WAIT_OUT {
            WaitVerdict::WaitOutLong
        } else {
            WaitVerdict::TooLong
        }
    }

    /// Exponential back-off with "equal jitter" for retry number `retry`
    /// (1-based): half the exponential delay fixed, half random.
    pub fn backoff(&self, retry: u32) -> Duration {
        let exp = self
            .base_delay
            .saturating_mul(1u32 << retry.saturating_sub(1).min(20))
            .min(self.max_delay);
        let half = exp / 2;
        let jitter = rand::rng().random_range(0..=half.as_millis() as u64);
        half + Duration::from_millis(jitter)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn backoff_grows_and_is_bounded() {
        let policy = RetryPolicy::default();
        for retry in 1..40 {
            let d = policy.backoff(retry);
            let exp = policy
                .base_delay
                .saturating_mul(1 << (retry - 1).min(20))
                .min(policy.max_delay);
            assert!(
                d >= exp / 2 && d <= exp,
                "retry {retry}: {d:?} outside [{:?}, {exp:?}]",
                exp / 2
            );
        }
    }
}
