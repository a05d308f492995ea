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
    /// daily quota says "come back tomorrow") fails the request at once, so
    /// the user hears about it instead of watching a silent process.
    pub max_retry_after: Duration,
}

impl Default for RetryPolicy {
    fn default() -> Self {
        Self {
            max_retries: 8,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(15 * 60),
        }
    }
}

impl RetryPolicy {
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
