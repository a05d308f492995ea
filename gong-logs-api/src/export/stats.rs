//! The counters of an export, shared by every request and chain.

use std::sync::atomic::{AtomicU64, Ordering};

use crate::notices::Notices;
pub use crate::retry::LastRequest;
use crate::retry::RequestCounters;

/// Counters shared by every request of an export (read them for progress):
/// private, read through [`ExportStats::snapshot`] (and the
/// [`notices`](ExportStats::notices)).
#[derive(Debug, Default)]
pub struct ExportStats {
    /// Requests sent, pages received, retries, retries after a 429: kept
    /// by the retry loop.
    pub(super) request: RequestCounters,
    /// Expired or rejected cursors recovered by re-querying.
    pub(super) cursor_recoveries: AtomicU64,
    /// Entries delivered.
    pub(super) entries: AtomicU64,
    /// Sum over types of `totalRecords` as first reported (grows as the
    /// first page of each initial slice arrives).
    pub(super) expected: AtomicU64,
    /// Cursor chains started (initial slices and splits).
    pub(super) chains: AtomicU64,
    /// Segments split to keep the rate limit busy.
    pub(super) splits: AtomicU64,
    /// Bytes of entries written to the spill file (fetched ahead of the
    /// delivery and over the memory cap).
    pub(super) spilled_bytes: AtomicU64,
    /// Entries left out because they were outside their window or went
    /// back in time (only with [`OutOfRange::Skip`](crate::guard::OutOfRange::Skip)).
    pub(super) skipped: AtomicU64,
    /// Requests the whole export needs by the first pages' `totalRecords`
    /// (`ceil(total / page)` per type), once every initial slice has
    /// answered; 0 before.
    pub(super) estimated_requests: AtomicU64,
    /// What the user should hear about: long waits, the server's clock.
    pub(super) notices: Notices,
}

impl ExportStats {
    pub(super) fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    pub(super) fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Every counter read once, as plain numbers (each read is atomic; the
    /// set is not, which progress and summaries do not need).
    pub fn snapshot(&self) -> ExportStatsSnapshot {
        let get = Self::get;
        let outcomes = self.request.outcomes();
        ExportStatsSnapshot {
            requests_by_code: outcomes.by_code,
            last_request: outcomes.last,
            last_success: outcomes.last_ok,
            requests: get(&self.request.requests),
            pages: get(&self.request.pages),
            retries: get(&self.request.retries),
            rate_limited: get(&self.request.rate_limited),
            cursor_recoveries: get(&self.cursor_recoveries),
            entries: get(&self.entries),
            expected: get(&self.expected),
            chains: get(&self.chains),
            splits: get(&self.splits),
            spilled_bytes: get(&self.spilled_bytes),
            skipped: get(&self.skipped),
            estimated_requests: get(&self.estimated_requests),
        }
    }

    /// Requests the whole export needs by the first pages' counts (0 before
    /// every initial slice answered).
    pub fn estimated_requests(&self) -> u64 {
        Self::get(&self.estimated_requests)
    }

    /// What the user should hear about: long waits, the server's clock.
    pub fn notices(&self) -> &Notices {
        &self.notices
    }

    pub(super) fn request_counters(&self) -> &RequestCounters {
        &self.request
    }
}

/// The counters of [`ExportStats`] at one moment.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ExportStatsSnapshot {
    /// HTTP requests by status code (`"200"`, `"429"`, ...; `"error"`:
    /// no response, a transport failure). They add up to `requests` once
    /// every request sent has ended.
    pub requests_by_code: std::collections::BTreeMap<String, u64>,
    /// How the last request ended (`None` before any).
    pub last_request: Option<LastRequest>,
    /// When a request last succeeded (`None` before any).
    pub last_success: Option<jiff::Timestamp>,
    /// HTTP requests sent.
    pub requests: u64,
    /// Pages received (including empty 404 answers).
    pub pages: u64,
    /// Retries after a failed request.
    pub retries: u64,
    /// Of those, retries after a 429.
    pub rate_limited: u64,
    /// Expired or rejected cursors recovered by re-querying.
    pub cursor_recoveries: u64,
    /// Entries delivered.
    pub entries: u64,
    /// Sum over types of `totalRecords` as first reported.
    pub expected: u64,
    /// Cursor chains started.
    pub chains: u64,
    /// Segments split to keep the rate limit busy.
    pub splits: u64,
    /// Bytes of entries written to the spill file.
    pub spilled_bytes: u64,
    /// Entries left out as outside their window or out of order.
    pub skipped: u64,
    /// Requests the whole export needs by the first pages' counts (0 before
    /// every initial slice answered).
    pub estimated_requests: u64,
}
