//! One rate limiter for every request of the process, plus the global pause
//! a `Retry-After` imposes.

use std::num::NonZeroU32;
use std::sync::Mutex;
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// Spaces requests to at most `rate` per second and holds every request
/// back while a `Retry-After` is running.
#[derive(Debug)]
pub struct Throttle {
    limiter: Option<DefaultDirectRateLimiter>,
    pause_until: Mutex<Option<Instant>>,
}

impl Throttle {
    /// `rate` requests per second, evenly spaced (burst 1); `None` or a
    /// non-positive rate means unlimited.
    pub fn new(rate: Option<f64>) -> Self {
        let limiter = rate.filter(|r| r.is_finite() && *r > 0.0).map(|r| {
            // At most one request a day, at least one per nanosecond.
            let period = Duration::try_from_secs_f64(1.0 / r)
                .unwrap_or(Duration::MAX)
                .clamp(Duration::from_nanos(1), Duration::from_secs(86_400));
            let quota = Quota::with_period(period)
                .expect("period is positive")
                .allow_burst(NonZeroU32::MIN);
            RateLimiter::direct(quota)
        });
        Self {
            limiter,
            pause_until: Mutex::new(None),
        }
    }

    fn paused_until(&self) -> Option<Instant> {
        let guard = self.pause_until.lock().unwrap_or_else(|e| e.into_inner());
        guard.filter(|until| *until > Instant::now())
    }

    /// Waits until a request may be sent.
    pub async fn acquire(&self) {
        loop {
            if let Some(until) = self.paused_until() {
                tokio::time::sleep_until(until).await;
                continue;
            }
            if let Some(limiter) = &self.limiter {
                limiter.until_ready().await;
            }
            // A Retry-After may have arrived while we waited for a slot.
            if self.paused_until().is_none() {
                return;
            }
        }
    }

    /// Holds every request back for `wait` from now (extends, never shortens,
    /// a running pause).
    pub fn pause_for(&self, wait: Duration) {
        // A year stands for "forever" without overflowing the clock.
        let until = Instant::now()
            .checked_add(wait)
            .unwrap_or_else(|| Instant::now() + Duration::from_secs(365 * 86_400));
        let mut guard = self.pause_until.lock().unwrap_or_else(|e| e.into_inner());
        if guard.is_none_or(|current| current < until) {
            *guard = Some(until);
        }
    }
}
