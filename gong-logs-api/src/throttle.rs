//! One rate limiter for every request of an `Exporter` (the CLI builds one
//! per process), plus the pause a `Retry-After` imposes on all of them, and a
//! rate that backs off when Gong says 429.
//!
//! A 429 is a request spent for nothing (Gong's daily quota counts
//! requests), so the throttle learns from it: the rate is halved at once
//! (down to a sixteenth of the configured one) and bursts stop; after every
//! 10 successful requests it grows back by a quarter, up to the configured
//! rate. Another process of the same company sharing the limit, or a limit
//! lower than documented, so costs a few 429s, not one per request.

use std::num::NonZeroU32;
use std::sync::atomic::{AtomicBool, AtomicU32, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use governor::{DefaultDirectRateLimiter, Quota, RateLimiter};
use tokio::time::Instant;

/// Spaces requests to at most `rate` per second and holds every request
/// back while a `Retry-After` is running.
#[derive(Debug)]
pub struct Throttle {
    /// The configured rate (`None`: unlimited).
    configured: Option<f64>,
    state: Mutex<Rate>,
    pause_until: Mutex<Option<Instant>>,
    /// Set by a pause: the first request after it empties the bucket, so
    /// the waiting requests go out spaced, not as one burst.
    drain: AtomicBool,
    /// Successes since the rate last changed.
    successes: AtomicU32,
}

#[derive(Debug)]
struct Rate {
    current: f64,
    /// Whether a 429 was seen: bursts stop for the rest of the run.
    backed_off: bool,
    limiter: Option<Arc<Limiter>>,
}

#[derive(Debug)]
struct Limiter {
    limiter: DefaultDirectRateLimiter,
    burst: NonZeroU32,
}

impl Limiter {
    /// A token bucket refilled every `1/rate`; with `burst`, it holds one
    /// token less than the rate (at least 1), so that the server's bucket
    /// of `rate` keeps one in reserve for the jitter of the network: sending
    /// exactly at the server's rate makes every early arrival a 429.
    fn new(rate: f64, burst: bool) -> Self {
        // At most one request a day, at least one per nanosecond.
        let period = Duration::try_from_secs_f64(1.0 / rate)
            .unwrap_or(Duration::MAX)
            .clamp(Duration::from_nanos(1), Duration::from_secs(86_400));
        // A burst of at most 1,000 keeps a huge --rate-limit sane.
        let burst = if burst {
            NonZeroU32::new((rate.floor() - 1.0).clamp(1.0, 1_000.0) as u32)
                .unwrap_or(NonZeroU32::MIN)
        } else {
            NonZeroU32::MIN
        };
        let quota = Quota::with_period(period)
            .expect("period is positive")
            .allow_burst(burst);
        Self {
            limiter: RateLimiter::direct(quota),
            burst,
        }
    }

    /// A limiter replacing another: it starts empty, so its first request
    /// waits one period. A fresh bucket starts full, and one made after
    /// every 429 (`Retry-After: 0`) let each retry go out at once.
    fn replacing(rate: f64, burst: bool) -> Self {
        let limiter = Self::new(rate, burst);
        // Cannot fail: a new bucket holds `burst` tokens.
        let _ = limiter.limiter.check_n(limiter.burst);
        limiter
    }
}

impl Throttle {
    /// `rate` requests per second: a token bucket refilled every `1/rate`
    /// that holds `floor(rate) − 1` tokens (at least 1): Gong's "3 requests
    /// per second" lets 2 go at once, and keeps a token of Gong's in reserve;
    /// `None` or a non-positive rate means unlimited.
    pub fn new(rate: Option<f64>) -> Self {
        let configured = rate.filter(|r| r.is_finite() && *r > 0.0);
        Self {
            configured,
            state: Mutex::new(Rate {
                current: configured.unwrap_or(0.0),
                backed_off: false,
                limiter: configured.map(|r| Arc::new(Limiter::new(r, true))),
            }),
            pause_until: Mutex::new(None),
            drain: AtomicBool::new(false),
            successes: AtomicU32::new(0),
        }
    }

    fn paused_until(&self) -> Option<Instant> {
        let guard = self.pause_until.lock().unwrap_or_else(|e| e.into_inner());
        guard.filter(|until| *until > Instant::now())
    }

    fn limiter(&self) -> Option<Arc<Limiter>> {
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.limiter.clone()
    }

    /// The rate requests are spaced at now (`None`: unlimited).
    pub fn current_rate(&self) -> Option<f64> {
        self.configured?;
        let state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        Some(state.current)
    }

    /// Waits until a request may be sent.
    pub async fn acquire(&self) {
        loop {
            if let Some(until) = self.paused_until() {
                tokio::time::sleep_until(until).await;
                continue;
            }
            if let Some(limiter) = self.limiter() {
                if self.drain.swap(false, Ordering::AcqRel) {
                    // Cannot fail: `burst` is the bucket's capacity.
                    let _ = limiter.limiter.until_n_ready(limiter.burst).await;
                } else {
                    limiter.limiter.until_ready().await;
                }
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
        self.drain.store(true, Ordering::Release);
    }

    /// Gong answered 429: halve the rate (to a sixteenth of the configured
    /// one at least) and stop bursting.
    pub fn rate_limited(&self) {
        let Some(configured) = self.configured else {
            return;
        };
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        state.current = (state.current / 2.0).max(configured / 16.0);
        state.backed_off = true;
        state.limiter = Some(Arc::new(Limiter::replacing(state.current, false)));
        self.successes.store(0, Ordering::Relaxed);
        tracing::info!(
            rate = state.current,
            "rate limited: lowering the request rate"
        );
    }

    /// A request succeeded: after 10 in a row, grow a backed-off rate by a
    /// quarter, up to the configured one.
    pub fn succeeded(&self) {
        let Some(configured) = self.configured else {
            return;
        };
        if self.successes.fetch_add(1, Ordering::Relaxed) + 1 < 10 {
            return;
        }
        let mut state = self.state.lock().unwrap_or_else(|e| e.into_inner());
        self.successes.store(0, Ordering::Relaxed);
        if state.current < configured {
            state.current = (state.current * 1.25).min(configured);
            state.limiter = Some(Arc::new(Limiter::replacing(
                state.current,
                !state.backed_off,
            )));
        }
    }
}
