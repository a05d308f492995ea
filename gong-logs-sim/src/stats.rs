//! Counters behind `GET /_sim/stats` and [`crate::Simulator::stats`].

use std::collections::{BTreeMap, HashMap};
use std::sync::atomic::{AtomicU64, Ordering::Relaxed};
use std::sync::{Mutex, MutexGuard};
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
    /// Requests that repeat a request refused with a `Retry-After` (on a 429
    /// or 503; the same raw query string) before that `Retry-After` has
    /// passed. A retry can only leave once its refusal was received, so this
    /// counts what the client sent after it knew, with no time window and no
    /// grace: it does not depend on how fast the machine is. (It cannot see
    /// whether *other* requests were held meanwhile; a new process that
    /// repeats a request whose refusal its predecessor never read is counted
    /// too, so such tests use `Retry-After: 0` or wait the refusal out.)
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
    /// Injected 429s (`p_429`; the rate limiter's are in `Stats::rate_limited`).
    #[serde(default)]
    pub too_many_requests: u64,
    /// Requests stalled without an answer (`p_stall`).
    #[serde(default)]
    pub stalled: u64,
}

impl FaultStats {
    /// Failures injected (latency excluded).
    pub fn total_failures(&self) -> u64 {
        self.server_error
            + self.bad_gateway
            + self.service_unavailable
            + self.dropped_connection
            + self.truncated_body
            + self.too_many_requests
            + self.stalled
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
    TooManyRequests,
    Stall,
}

const STATUS_SLOTS: usize = 600;

/// Refused requests remembered for the Retry-After check, at most (older
/// ones whose Retry-After has passed are forgotten first).
const REFUSED_KEPT: usize = 10_000;

#[derive(Debug)]
pub(crate) struct Counters {
    epoch: Instant,
    total: AtomicU64,
    status: Vec<AtomicU64>,
    in_flight: AtomicU64,
    peak: AtomicU64,
    violations: AtomicU64,
    /// Raw query string of each request refused with a Retry-After, and
    /// until when (nanoseconds since `epoch`) it must not be repeated.
    refused: Mutex<HashMap<String, u64>>,
    rate_limited: AtomicU64,
    quota_exceeded: AtomicU64,
    pages: AtomicU64,
    entries: AtomicU64,
    faults: [AtomicU64; 8],
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
            refused: Mutex::new(HashMap::new()),
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

    fn refused(&self) -> MutexGuard<'_, HashMap<String, u64>> {
        self.refused.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Counts an arriving request (its raw query string) and checks that it
    /// does not repeat a refused one before its Retry-After has passed.
    pub(crate) fn arrive(&self, query: &str) -> InFlight<'_> {
        self.total.fetch_add(1, Relaxed);
        let now = self.now_nanos();
        if self.refused().get(query).is_some_and(|until| now < *until) {
            self.violations.fetch_add(1, Relaxed);
        }
        let now = self.in_flight.fetch_add(1, Relaxed) + 1;
        self.peak.fetch_max(now, Relaxed);
        InFlight(self)
    }

    /// Records that the request `query` was refused now with `Retry-After: secs`.
    pub(crate) fn issued_retry_after(&self, query: &str, secs: u64) {
        let now = self.now_nanos();
        let until = now.saturating_add(secs.saturating_mul(1_000_000_000));
        let mut refused = self.refused();
        if refused.len() >= REFUSED_KEPT {
            refused.retain(|_, u| *u > now);
        }
        let slot = refused.entry(query.to_owned()).or_insert(0);
        *slot = (*slot).max(until);
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
            FaultKind::TooManyRequests => 6,
            FaultKind::Stall => 7,
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
                too_many_requests: f(6),
                stalled: f(7),
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
        self.refused().clear();
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
