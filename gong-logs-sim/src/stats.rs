//! Counters behind `GET /_sim/stats` and [`crate::Simulator::stats`].

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::time::Instant;

use serde::{Deserialize, Serialize};

/// A snapshot of what the simulator has seen on `GET /v2/logs` since start or
/// the last reset. Admin endpoints (`/_sim/...`) are not counted.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stats {
    /// Every request that reached `/v2/logs`, whatever happened to it.
    pub total_requests: u64,
    /// Responses sent, by HTTP status (JSON keys are strings, e.g. `"200"`).
    /// Dropped connections and truncated bodies are not here (no complete
    /// response was sent); see `faults`.
    pub by_status: BTreeMap<u16, u64>,
    /// `/v2/logs` requests being handled right now.
    pub in_flight: u64,
    /// Highest number of `/v2/logs` requests handled at the same time.
    pub concurrency_peak: u64,
    /// Requests that arrived before the latest `Retry-After` deadline the
    /// simulator had issued (on a 429 or 503) had passed, and more than
    /// [`RETRY_AFTER_GRACE`] after it was issued (requests arriving sooner
    /// were already on their way when the client got the answer). Counted globally:
    /// Gong's limits are per company, so a client should hold all its
    /// requests, not just the one that was refused.
    pub retry_after_violations: u64,
    /// 429s because the token bucket was empty.
    pub rate_limited: u64,
    /// 429s because the daily quota was used up.
    pub quota_exceeded: u64,
    /// Successful (200) pages sent.
    pub pages_served: u64,
    /// Entries sent in those pages.
    pub entries_served: u64,
    /// Faults injected, by kind.
    pub faults: FaultStats,
}

/// Faults injected, by kind.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FaultStats {
    /// Injected 500s (JSON body).
    pub server_error: u64,
    /// Injected 502s (HTML body).
    pub bad_gateway: u64,
    /// Injected 503s (with `Retry-After`).
    pub service_unavailable: u64,
    /// Connections closed without a response.
    pub dropped_connection: u64,
    /// Responses whose body was cut off mid-way.
    pub truncated_body: u64,
    /// Requests that were delayed by `latency_ms`/`jitter_ms`.
    pub latency: u64,
}

impl FaultStats {
    /// Failures injected (latency excluded).
    pub fn total_failures(&self) -> u64 {
        self.server_error
            + self.bad_gateway
            + self.service_unavailable
            + self.dropped_connection
            + self.truncated_body
    }
}

/// The kinds of failure the simulator can inject.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum FaultKind {
    ServerError,
    BadGateway,
    ServiceUnavailable,
    DropConnection,
    TruncateBody,
}

const STATUS_SLOTS: usize = 600;

/// Requests arriving this soon after a `Retry-After` was issued are taken
/// to have been sent before the client saw it, and are not violations.
pub const RETRY_AFTER_GRACE: std::time::Duration = std::time::Duration::from_millis(250);

#[derive(Debug)]
pub(crate) struct Counters {
    epoch: Instant,
    total: AtomicU64,
    status: Vec<AtomicU64>,
    in_flight: AtomicU64,
    peak: AtomicU64,
    violations: AtomicU64,
    /// Nanoseconds since `epoch` before which requests violate Retry-After.
    retry_deadline: AtomicU64,
    /// When the latest Retry-After was issued (nanoseconds since `epoch`).
    retry_issued: AtomicU64,
    rate_limited: AtomicU64,
    quota_exceeded: AtomicU64,
    pages: AtomicU64,
    entries: AtomicU64,
    faults: [AtomicU64; 6],
}

impl Counters {
    pub(crate) fn new() -> Counters {
        Counters {
            epoch: Instant::now(),
            total: AtomicU64::new(0),
            status: (0..STATUS_SLOTS).map(|_| AtomicU64::new(0)).collect(),
            in_flight: AtomicU64::new(0),
            peak: AtomicU64::new(0),
            violations: AtomicU64::new(0),
            retry_deadline: AtomicU64::new(0),
            retry_issued: AtomicU64::new(0),
            rate_limited: AtomicU64::new(0),
            quota_exceeded: AtomicU64::new(0),
            pages: AtomicU64::new(0),
            entries: AtomicU64::new(0),
            faults: Default::default(),
        }
    }

    fn now_nanos(&self) -> u64 {
        self.epoch.elapsed().as_nanos() as u64
    }

    /// Counts an arriving request and checks it against the Retry-After deadline.
    pub(crate) fn arrive(&self) -> InFlight<'_> {
        self.total.fetch_add(1, Relaxed);
        let now = self.now_nanos();
        let grace = RETRY_AFTER_GRACE.as_nanos() as u64;
        if now < self.retry_deadline.load(Relaxed)
            && now > self.retry_issued.load(Relaxed).saturating_add(grace)
        {
            self.violations.fetch_add(1, Relaxed);
        }
        let now = self.in_flight.fetch_add(1, Relaxed) + 1;
        self.peak.fetch_max(now, Relaxed);
        InFlight(self)
    }

    /// Records that a `Retry-After: secs` was issued now.
    pub(crate) fn issued_retry_after(&self, secs: u64) {
        let deadline = self
            .now_nanos()
            .saturating_add(secs.saturating_mul(1_000_000_000));
        self.retry_deadline.fetch_max(deadline, Relaxed);
        self.retry_issued.fetch_max(self.now_nanos(), Relaxed);
    }

    pub(crate) fn status(&self, code: u16) {
        if let Some(c) = self.status.get(usize::from(code)) {
            c.fetch_add(1, Relaxed);
        }
    }

    pub(crate) fn rate_limited(&self) {
        self.rate_limited.fetch_add(1, Relaxed);
    }

    pub(crate) fn quota_exceeded(&self) {
        self.quota_exceeded.fetch_add(1, Relaxed);
    }

    pub(crate) fn page(&self, entries: usize) {
        self.pages.fetch_add(1, Relaxed);
        self.entries.fetch_add(entries as u64, Relaxed);
    }

    pub(crate) fn fault(&self, kind: FaultKind) {
        let i = match kind {
            FaultKind::ServerError => 0,
            FaultKind::BadGateway => 1,
            FaultKind::ServiceUnavailable => 2,
            FaultKind::DropConnection => 3,
            FaultKind::TruncateBody => 4,
        };
        self.faults[i].fetch_add(1, Relaxed);
    }

    pub(crate) fn latency(&self) {
        self.faults[5].fetch_add(1, Relaxed);
    }

    pub(crate) fn snapshot(&self) -> Stats {
        let by_status = self
            .status
            .iter()
            .enumerate()
            .filter_map(|(code, c)| {
                let n = c.load(Relaxed);
                (n > 0).then_some((code as u16, n))
            })
            .collect();
        let f = |i: usize| self.faults[i].load(Relaxed);
        Stats {
            total_requests: self.total.load(Relaxed),
            by_status,
            in_flight: self.in_flight.load(Relaxed),
            concurrency_peak: self.peak.load(Relaxed),
            retry_after_violations: self.violations.load(Relaxed),
            rate_limited: self.rate_limited.load(Relaxed),
            quota_exceeded: self.quota_exceeded.load(Relaxed),
            pages_served: self.pages.load(Relaxed),
            entries_served: self.entries.load(Relaxed),
            faults: FaultStats {
                server_error: f(0),
                bad_gateway: f(1),
                service_unavailable: f(2),
                dropped_connection: f(3),
                truncated_body: f(4),
                latency: f(5),
            },
        }
    }

    /// Zeroes every counter and forgets the Retry-After deadline; the
    /// concurrency peak restarts from the requests in flight now.
    pub(crate) fn reset(&self) {
        self.total.store(0, Relaxed);
        for c in &self.status {
            c.store(0, Relaxed);
        }
        self.peak.store(self.in_flight.load(Relaxed), Relaxed);
        self.violations.store(0, Relaxed);
        self.retry_deadline.store(0, Relaxed);
        self.retry_issued.store(0, Relaxed);
        self.rate_limited.store(0, Relaxed);
        self.quota_exceeded.store(0, Relaxed);
        self.pages.store(0, Relaxed);
        self.entries.store(0, Relaxed);
        for c in &self.faults {
            c.store(0, Relaxed);
        }
    }
}

/// Guard for one in-flight request.
#[derive(Debug)]
pub(crate) struct InFlight<'a>(&'a Counters);

impl Drop for InFlight<'_> {
    fn drop(&mut self) {
        self.0.in_flight.fetch_sub(1, Relaxed);
    }
}
