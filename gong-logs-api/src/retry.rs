//! Retrying, in one place: the policy ([`RetryPolicy`]), the decisions
//! about a failure (whether it is retried, how often, how long a
//! `Retry-After` is waited: [`ApiError::is_retryable`],
//! [`ApiError::retry_cap`], [`ApiError::is_connect_failure`]) and the loop
//! every request of an exporter goes through ([`Requester::fetch`]: the
//! budget, the throttle, the request, the 429 pause, the back-off), which
//! also measures the round trip ([`RoundTrip`]).

use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use jiff::Timestamp;
use rand::Rng as _;

use crate::budget::RequestBudget;
use crate::client::{GongClient, Page, PageRequest};
use crate::error::ApiError;
use crate::notices::{LongWait, Notices};
use crate::throttle::Throttle;

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
enum WaitVerdict {
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
            max_retries: crate::limits::DEFAULT_MAX_RETRIES,
            base_delay: Duration::from_millis(500),
            max_delay: Duration::from_secs(30),
            max_retry_after: Duration::from_secs(3_600),
            wait_out_long: false,
        }
    }
}

impl RetryPolicy {
    /// Whether a `Retry-After` of `wait` is waited for.
    fn judge_wait(&self, wait: Duration) -> WaitVerdict {
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

impl ApiError {
    /// Whether repeating the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(
            self,
            Self::RateLimited { .. }
                | Self::Server { .. }
                | Self::Transport { .. }
                | Self::Body(_)
                | Self::NotJson { .. }
                | Self::NotAPage { .. }
        )
    }

    /// The most retries worth making for this failure whatever the policy
    /// says: a page that is not JSON is a proxy or a wrong host far more
    /// often than a glitch.
    pub fn retry_cap(&self) -> Option<u32> {
        match self {
            Self::NotJson { .. } | Self::NotAPage { .. } => Some(2),
            _ => None,
        }
    }

    /// Whether no connection could be made at all (DNS, refused, TLS
    /// handshake): on the first request of a run, retrying rarely helps.
    pub fn is_connect_failure(&self) -> bool {
        matches!(self, Self::Transport { error, .. } if error.is_connect())
    }
}

/// The counters the retry loop keeps (part of the export's stats).
#[derive(Debug, Default)]
pub(crate) struct RequestCounters {
    /// HTTP requests sent.
    pub(crate) requests: AtomicU64,
    /// Pages received (including empty 404 answers).
    pub(crate) pages: AtomicU64,
    /// Retries after a failed request.
    pub(crate) retries: AtomicU64,
    /// Of those, retries after a 429.
    pub(crate) rate_limited: AtomicU64,
    /// Requests by outcome, and how the last one ended.
    pub(crate) outcomes: Mutex<Outcomes>,
}

/// Requests by outcome and the last of them (for metrics and health).
#[derive(Clone, Debug, Default)]
pub(crate) struct Outcomes {
    /// Requests by HTTP status (`"200"`, `"429"`, ...), `"error"` when no
    /// response arrived (a transport failure).
    pub(crate) by_code: BTreeMap<String, u64>,
    /// How the last request ended.
    pub(crate) last: Option<LastRequest>,
    /// When a request last succeeded.
    pub(crate) last_ok: Option<Timestamp>,
}

/// How the last request of an export ended.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct LastRequest {
    /// When it ended.
    pub at: Timestamp,
    /// `None`: a page arrived; else what went wrong (the log type, the
    /// failure, whether it is retried), as [`ApiError`] words it.
    pub error: Option<String>,
}

impl RequestCounters {
    /// Records the end of one request: its status (`None`: no response)
    /// and, on failure, what went wrong.
    fn record(&self, status: Option<u16>, error: Option<String>) {
        let code = status.map_or_else(|| "error".to_owned(), |s| s.to_string());
        let at = Timestamp::now();
        let mut outcomes = self.outcomes.lock().unwrap_or_else(|e| e.into_inner());
        *outcomes.by_code.entry(code).or_default() += 1;
        if error.is_none() {
            outcomes.last_ok = Some(at);
        }
        outcomes.last = Some(LastRequest { at, error });
    }

    /// The outcomes so far.
    pub(crate) fn outcomes(&self) -> Outcomes {
        self.outcomes
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }
}

fn bump(counter: &AtomicU64) {
    counter.fetch_add(1, Ordering::Relaxed);
}

/// The smoothed round-trip time of successful requests.
#[derive(Debug, Default)]
pub(crate) struct RoundTrip(Mutex<Option<f64>>);

impl RoundTrip {
    fn observe(&self, rtt: Duration) {
        let sample = rtt.as_secs_f64();
        let mut guard = self.0.lock().unwrap_or_else(|e| e.into_inner());
        *guard = Some(match *guard {
            // Follows a change of latency within a few requests.
            Some(old) => old * 0.7 + sample * 0.3,
            None => sample,
        });
    }

    /// The smoothed round-trip time, in seconds (`None` before any answer).
    pub(crate) fn get(&self) -> Option<f64> {
        *self.0.lock().unwrap_or_else(|e| e.into_inner())
    }
}

/// What every request of one exporter goes through: the request budget,
/// the throttle, the retry policy; the client that sends it.
#[derive(Debug)]
pub(crate) struct Requester {
    client: GongClient,
    pub(crate) throttle: Throttle,
    pub(crate) budget: RequestBudget,
    policy: RetryPolicy,
    pub(crate) rtt: RoundTrip,
    /// Set once any response arrived: connection failures after that are
    /// retried with the full policy, before it at most once.
    connected: AtomicBool,
}

/// Where the retry loop reports: its counters and the notices.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Report<'a> {
    pub(crate) counters: &'a RequestCounters,
    pub(crate) notices: &'a Notices,
}

impl Requester {
    pub(crate) fn new(
        client: GongClient,
        rate_limit: Option<f64>,
        max_requests: Option<u64>,
        policy: RetryPolicy,
    ) -> Self {
        Self {
            throttle: Throttle::new(rate_limit),
            budget: RequestBudget::new(max_requests),
            client,
            policy,
            rtt: RoundTrip::default(),
            connected: Default::default(),
        }
    }

    /// Sends `request` until it succeeds, the failure is not retryable or
    /// the retries are used up (then the error and the attempts made).
    pub(crate) async fn fetch(
        &self,
        request: &PageRequest,
        report: Report<'_>,
    ) -> Result<Page, (ApiError, u32)> {
        let counters = report.counters;
        let mut attempt: u32 = 0;
        loop {
            if let Err(e) = self.budget.take() {
                return Err((ApiError::RequestBudget { max: e.max }, attempt));
            }
            self.throttle.acquire().await;
            attempt += 1;
            bump(&counters.requests);
            let sent = Instant::now();
            let (result, status) = crate::trace::fetch_page(&self.client, request, attempt).await;
            let retried = match &result {
                Err(e) => e.is_retryable() && attempt <= self.retries_for(e),
                Ok(_) => false,
            };
            counters.record(
                status,
                result.as_ref().err().map(|e| {
                    let then = if retried { "retrying" } else { "giving up" };
                    format!("{}: {e} ({then})", request.log_type)
                }),
            );
            if !matches!(
                &result,
                Err(ApiError::Transport { .. } | ApiError::Proxy { .. } | ApiError::Tls { .. })
            ) {
                self.connected.store(true, Ordering::Relaxed);
            }
            match result {
                Ok(page) => {
                    if let Some(date) = page.server_date {
                        report.notices.record_server_date(date, Timestamp::now());
                    }
                    self.rtt.observe(sent.elapsed());
                    self.throttle.succeeded();
                    bump(&counters.pages);
                    return Ok(page);
                }
                Err(e) if retried => {
                    bump(&counters.retries);
                    let wait = match e.retry_after() {
                        Some(wait) => {
                            self.judge_wait(&e, wait, report.notices)
                                .map_err(|e| (e, attempt))?;
                            // Every request of the process waits it out.
                            self.throttle.pause_for(wait);
                            wait
                        }
                        None => self.policy.backoff(attempt),
                    };
                    if matches!(e, ApiError::RateLimited { .. }) {
                        bump(&counters.rate_limited);
                        self.throttle.rate_limited();
                    }
                    tracing::warn!(
                        log_type = %request.log_type,
                        attempt,
                        wait_ms = wait.as_millis() as u64,
                        "retrying after: {e}"
                    );
                    tokio::time::sleep(wait).await;
                }
                Err(e) => return Err((e, attempt)),
            }
        }
    }

    /// A `Retry-After` of `wait` on `e`: waited for (a long one recorded
    /// when the policy waits those out too), or the error to fail with.
    fn judge_wait(&self, e: &ApiError, wait: Duration, notices: &Notices) -> Result<(), ApiError> {
        let retry = &self.policy;
        let until = crate::notices::until(Timestamp::now(), wait);
        match retry.judge_wait(wait) {
            WaitVerdict::Wait => Ok(()),
            WaitVerdict::WaitOutLong => {
                notices.record_long_wait(LongWait {
                    wait,
                    until,
                    bound: retry.max_retry_after,
                });
                Ok(())
            }
            WaitVerdict::TooLong => Err(ApiError::WaitTooLong {
                status: e.status().unwrap_or_default(),
                wait,
                until,
                bound: retry.max_retry_after,
            }),
        }
    }

    /// The retries worth making for `e`: the policy's, fewer for a page
    /// that is not JSON, one for a connection that never worked.
    fn retries_for(&self, e: &ApiError) -> u32 {
        let mut retries = self.policy.max_retries;
        if let Some(cap) = e.retry_cap() {
            retries = retries.min(cap);
        }
        if e.is_connect_failure() && !self.connected.load(Ordering::Relaxed) {
            retries = retries.min(1);
        }
        retries
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
