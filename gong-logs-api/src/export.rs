//! The export engine: every entry of a log type and time range, exactly once,
//! in chronological order, as fast as the shared rate limit allows.
//!
//! How it works:
//!
//! 1. A *probe* asks for the first page of `[from, to)`. Its `totalRecords`
//!    says how much is left.
//! 2. The rest, from the last instant seen, is split into half-open time
//!    windows on whole seconds, sized to hold a few pages each. Up to
//!    `concurrency` windows are fetched at once, each following its own
//!    cursor, all under one [`Throttle`]. Each window hands its pages over a
//!    small bounded channel, so memory stays bounded whatever the range.
//! 3. The coordinator forwards windows strictly in order and tracks the
//!    [`Position`]: the last delivered instant and how many entries at that
//!    instant were delivered. Resuming, or recovering from an expired cursor,
//!    re-queries from that instant and skips that many entries: nothing is
//!    lost, nothing is repeated, and identical entries stay distinct.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use jiff::Timestamp;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio::task::JoinSet;

use crate::budget::RequestBudget;
use crate::client::{GongClient, Page, PageRequest};
use crate::entry::LogEntry;
use crate::error::ApiError;
use crate::guard::{ChainGuard, GuardError, OutOfRange};
use crate::log_type::LogType;
use crate::retry::RetryPolicy;
use crate::throttle::Throttle;

/// Where a type's export stands: every entry before `time` and the first
/// `count` entries at exactly `time` (in Gong's order) have been delivered.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize, schemars::JsonSchema,
)]
pub struct Position {
    /// The instant of the last delivered entry (or the range start).
    #[schemars(with = "crate::schema::Timestamp")]
    pub time: Timestamp,
    /// Entries at exactly `time` already delivered.
    pub count: u64,
}

/// Counters shared by every request of an export (read them for progress).
#[derive(Debug, Default)]
pub struct ExportStats {
    /// HTTP requests sent.
    pub requests: AtomicU64,
    /// Pages received (including empty 404 answers).
    pub pages: AtomicU64,
    /// Retries after a failed request.
    pub retries: AtomicU64,
    /// Of those, retries after a 429.
    pub rate_limited: AtomicU64,
    /// Expired or rejected cursors recovered by re-querying.
    pub cursor_recoveries: AtomicU64,
    /// Entries delivered.
    pub entries: AtomicU64,
    /// Sum over types of `totalRecords` as first reported.
    pub expected: AtomicU64,
    /// Entries left out because they were outside their window or went
    /// back in time (only with [`OutOfRange::Skip`]).
    pub skipped: AtomicU64,
}

impl ExportStats {
    fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }
}

/// Tuning of the engine.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Requests per second across the process (`None`: unlimited).
    pub rate_limit: Option<f64>,
    /// Retry budget and back-off.
    pub retry: RetryPolicy,
    /// Windows fetched at once.
    pub concurrency: usize,
    /// Pages a window should hold, by the server's `totalRecords`.
    pub pages_per_window: u64,
    /// The most HTTP requests of this exporter (`None`: unlimited); when
    /// used up the export stops with [`ApiError::RequestBudget`].
    pub max_requests: Option<u64>,
    /// Entries outside their window or going back in time: an error, or
    /// skipped and counted.
    pub out_of_range: OutOfRange,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            rate_limit: Some(3.0),
            retry: RetryPolicy::default(),
            concurrency: 8,
            pages_per_window: 3,
            max_requests: None,
            out_of_range: OutOfRange::Error,
        }
    }
}

/// A delivered run of entries, in order, and the position after it.
#[derive(Debug)]
pub struct Batch {
    /// The log type.
    pub log_type: LogType,
    /// The entries (already filtered of what was delivered before).
    pub entries: Vec<LogEntry>,
    /// The position after the last entry of this batch.
    pub position: Position,
}

/// An export that could not finish.
#[derive(Debug, thiserror::Error)]
pub enum ExportError {
    /// A request failed for good (retries exhausted or not retryable).
    #[error("{log_type}: {source}")]
    Api {
        /// The type being exported.
        log_type: LogType,
        /// The last failure.
        #[source]
        source: ApiError,
        /// Attempts made for the failing request.
        attempts: u32,
    },
    /// A task of the engine died (a bug): the export stops rather than
    /// leave a silent gap.
    #[error("{log_type}: internal error, the export stopped: {message}")]
    Internal {
        /// The type being exported.
        log_type: LogType,
        /// What happened.
        message: String,
    },
    /// The server broke a paging rule: looping, or entries out of range or
    /// out of order.
    #[error("{log_type}: {source}")]
    Protocol {
        /// The type being exported.
        log_type: LogType,
        /// The rule broken.
        #[source]
        source: GuardError,
    },
    /// The server gave a cursor it then rejected, repeatedly, with no progress.
    #[error("{log_type}: Gong keeps rejecting the paging cursor without progress: {source}")]
    CursorLoop {
        /// The type being exported.
        log_type: LogType,
        /// The rejection.
        #[source]
        source: ApiError,
    },
}

impl ExportError {
    /// The underlying API error.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Api { source, .. } | Self::CursorLoop { source, .. } => Some(source),
            Self::Internal { .. } | Self::Protocol { .. } => None,
        }
    }
}

/// Formats an instant as Gong expects it: RFC 3339 in UTC, fractional
/// seconds only when present.
pub fn format_time(t: Timestamp) -> String {
    t.to_string()
}

/// Tracks a position over entries in delivery order, and skips the entries a
/// previous run already delivered.
#[derive(Clone, Copy, Debug)]
struct Tracker {
    position: Position,
    to_skip: u64,
}

impl Tracker {
    fn resume(position: Position) -> Self {
        Self {
            position: Position {
                time: position.time,
                count: 0,
            },
            to_skip: position.count,
        }
    }

    /// Accounts for `entry`; false when it was delivered before.
    fn admit(&mut self, entry: &LogEntry) -> bool {
        let Some(t) = entry.event_time() else {
            return true;
        };
        if t == self.position.time {
            self.position.count += 1;
            if self.to_skip > 0 {
                self.to_skip -= 1;
                return false;
            }
        } else if t > self.position.time {
            self.position = Position { time: t, count: 1 };
            self.to_skip = 0;
        }
        true
    }
}

/// Runs exports under one shared throttle and retry policy.
#[derive(Clone, Debug)]
pub struct Exporter {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    client: GongClient,
    throttle: Throttle,
    options: ExportOptions,
    stats: ExportStats,
    budget: RequestBudget,
    /// Set once any response arrived: connection failures after that are
    /// retried with the full policy, before it at most once.
    connected: std::sync::atomic::AtomicBool,
}

impl Exporter {
    /// An exporter over `client`.
    pub fn new(client: GongClient, options: ExportOptions) -> Self {
        Self {
            inner: Arc::new(Shared {
                throttle: Throttle::new(options.rate_limit),
                budget: RequestBudget::new(options.max_requests),
                connected: Default::default(),
                client,
                options,
                stats: ExportStats::default(),
            }),
        }
    }

    /// The counters.
    pub fn stats(&self) -> &ExportStats {
        &self.inner.stats
    }

    /// HTTP requests taken from the budget so far.
    pub fn requests_used(&self) -> u64 {
        self.inner.budget.used()
    }

    /// Fetches one page with the retry policy and the shared throttle.
    pub async fn fetch_page(&self, request: &PageRequest) -> Result<Page, (ApiError, u32)> {
        self.inner.fetch_with_retry(request).await
    }

    /// Exports `log_type` over `[start.time, to)`, skipping the first
    /// `start.count` entries at `start.time`. Batches arrive in order on the
    /// returned channel; an error ends it. Dropping the receiver cancels.
    pub fn export(
        &self,
        log_type: LogType,
        start: Position,
        to: Timestamp,
    ) -> mpsc::Receiver<Result<Batch, ExportError>> {
        let (tx, rx) = mpsc::channel(4);
        let shared = Arc::clone(&self.inner);
        tokio::spawn(async move {
            // The coordinator runs in a task of its own so that a panic in it
            // reaches the receiver as an error, never as a quiet end.
            let out = tx.clone();
            let result =
                tokio::spawn(async move { shared.coordinate(log_type, start, to, &out).await })
                    .await;
            let error = match result {
                Ok(Ok(())) => return,
                Ok(Err(e)) => e,
                Err(join) => ExportError::Internal {
                    log_type,
                    message: join.to_string(),
                },
            };
            let _ = tx.send(Err(error)).await;
        });
        rx
    }
}

impl Exporter {
    /// [`Self::export`] as a `Stream` of batches.
    pub fn batches(
        &self,
        log_type: LogType,
        start: Position,
        to: Timestamp,
    ) -> impl futures::Stream<Item = Result<Batch, ExportError>> + Send + 'static {
        let rx = self.export(log_type, start, to);
        futures::stream::unfold(rx, |mut rx| async move {
            rx.recv().await.map(|item| (item, rx))
        })
    }

    /// Every entry of `log_type` in `[from, to)`, in order, exactly once, as a
    /// `Stream`. An error ends it.
    pub fn entries(
        &self,
        log_type: LogType,
        from: Timestamp,
        to: Timestamp,
    ) -> impl futures::Stream<Item = Result<LogEntry, ExportError>> + Send + 'static {
        use futures::StreamExt as _;
        self.batches(
            log_type,
            Position {
                time: from,
                count: 0,
            },
            to,
        )
        .flat_map(|item| {
            let items: Vec<Result<LogEntry, ExportError>> = match item {
                Ok(batch) => batch.entries.into_iter().map(Ok).collect(),
                Err(e) => vec![Err(e)],
            };
            futures::stream::iter(items)
        })
    }
}

/// One window's output: batches already filtered, in order, then `None`
/// once the window is complete. A channel that closes without that marker
/// means the window's task died.
type WindowRx = mpsc::Receiver<Result<Option<Vec<LogEntry>>, ExportError>>;
type WindowTx = mpsc::Sender<Result<Option<Vec<LogEntry>>, ExportError>>;

impl Shared {
    async fn fetch_with_retry(&self, request: &PageRequest) -> Result<Page, (ApiError, u32)> {
        let mut attempt: u32 = 0;
        loop {
            if let Err(e) = self.budget.take() {
                return Err((ApiError::RequestBudget { max: e.max }, attempt));
            }
            self.throttle.acquire().await;
            attempt += 1;
            ExportStats::bump(&self.stats.requests, 1);
            let result = crate::trace::fetch_page(&self.client, request, attempt).await;
            if !matches!(&result, Err(ApiError::Transport { .. })) {
                self.connected.store(true, Ordering::Relaxed);
            }
            match result {
                Ok(page) => {
                    ExportStats::bump(&self.stats.pages, 1);
                    return Ok(page);
                }
                Err(e)
                    if e.is_retryable()
                        && attempt <= self.retries_for(&e)
                        && e.retry_after()
                            .is_none_or(|wait| wait <= self.options.retry.max_retry_after) =>
                {
                    ExportStats::bump(&self.stats.retries, 1);
                    let wait = match e.retry_after() {
                        Some(wait) => {
                            // Every request of the process waits it out.
                            self.throttle.pause_for(wait);
                            wait
                        }
                        None => self.options.retry.backoff(attempt),
                    };
                    if matches!(e, ApiError::RateLimited { .. }) {
                        ExportStats::bump(&self.stats.rate_limited, 1);
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

    /// The retries worth making for `e`: the policy's, fewer for a page
    /// that is not JSON, one for a connection that never worked.
    fn retries_for(&self, e: &ApiError) -> u32 {
        let mut retries = self.options.retry.max_retries;
        if let Some(cap) = e.retry_cap() {
            retries = retries.min(cap);
        }
        if e.is_connect_failure() && !self.connected.load(Ordering::Relaxed) {
            retries = retries.min(1);
        }
        retries
    }

    /// Checks a page with a chain's guard, counting what it skipped.
    fn guard_page(
        &self,
        log_type: LogType,
        guard: &mut ChainGuard,
        sent: Option<&str>,
        page: &mut Page,
    ) -> Result<(), ExportError> {
        let skipped = guard
            .check(sent, page.cursor.as_deref(), &mut page.entries)
            .map_err(|source| ExportError::Protocol { log_type, source })?;
        if skipped > 0 {
            ExportStats::bump(&self.stats.skipped, skipped);
            tracing::warn!(%log_type, skipped, "skipped entries outside the range or out of order");
        }
        Ok(())
    }

    /// Fetches `[start.time, to)` page by page, skipping what `start` says
    /// was delivered, recovering from expired cursors; sends filtered pages,
    /// then the completion marker.
    async fn run_window(
        &self,
        log_type: LogType,
        start: Position,
        to: Timestamp,
        tx: &WindowTx,
    ) -> Result<(), ExportError> {
        let mut tracker = Tracker::resume(start);
        let mut request = PageRequest {
            log_type,
            from: format_time(start.time),
            to: Some(format_time(to)),
            cursor: None,
        };
        let mut recovered_without_progress = false;
        let mut guard = ChainGuard::new(start.time, to, self.options.out_of_range);
        loop {
            let mut page = match self.fetch_with_retry(&request).await {
                Ok(page) => page,
                Err((e @ ApiError::BadRequest { .. }, _)) if request.cursor.is_some() => {
                    // An expired or rejected cursor: re-query from the last
                    // delivered instant, skipping what was delivered there.
                    if recovered_without_progress {
                        return Err(ExportError::CursorLoop {
                            log_type,
                            source: e,
                        });
                    }
                    recovered_without_progress = true;
                    ExportStats::bump(&self.stats.cursor_recoveries, 1);
                    tracing::warn!(%log_type, "cursor rejected, re-querying from the last entry: {e}");
                    let restart = tracker.position;
                    tracker = Tracker::resume(restart);
                    guard = ChainGuard::new(restart.time, to, self.options.out_of_range);
                    request.from = format_time(restart.time);
                    request.cursor = None;
                    continue;
                }
                Err((source, attempts)) => {
                    return Err(ExportError::Api {
                        log_type,
                        source,
                        attempts,
                    });
                }
            };
            self.guard_page(log_type, &mut guard, request.cursor.as_deref(), &mut page)?;
            let entries: Vec<LogEntry> = page
                .entries
                .into_iter()
                .filter(|e| tracker.admit(e))
                .collect();
            if !entries.is_empty() {
                recovered_without_progress = false;
                if tx.send(Ok(Some(entries))).await.is_err() {
                    return Ok(()); // cancelled
                }
            }
            match page.cursor {
                Some(cursor) => request.cursor = Some(cursor),
                None => {
                    let _ = tx.send(Ok(None)).await;
                    return Ok(());
                }
            }
        }
    }

    async fn coordinate(
        self: &Arc<Self>,
        log_type: LogType,
        start: Position,
        to: Timestamp,
        out: &mpsc::Sender<Result<Batch, ExportError>>,
    ) -> Result<(), ExportError> {
        if start.time >= to {
            return Ok(());
        }
        let mut position = Tracker::resume(start);

        // 1. The probe: the first page of the whole range.
        let request = PageRequest {
            log_type,
            from: format_time(start.time),
            to: Some(format_time(to)),
            cursor: None,
        };
        let mut page = self
            .fetch_with_retry(&request)
            .await
            .map_err(|(source, attempts)| ExportError::Api {
                log_type,
                source,
                attempts,
            })?;
        let mut guard = ChainGuard::new(start.time, to, self.options.out_of_range);
        self.guard_page(log_type, &mut guard, None, &mut page)?;
        let total = page.total_records.unwrap_or(0);
        ExportStats::bump(&self.stats.expected, total.saturating_sub(start.count));
        let page_len = page.entries.len().max(1) as u64;
        let has_more = page.cursor.is_some();
        let entries: Vec<LogEntry> = page
            .entries
            .into_iter()
            .filter(|e| position.admit(e))
            .collect();
        if !self.deliver(log_type, entries, &position, out).await {
            return Ok(());
        }
        if !has_more {
            return Ok(());
        }

        // 2. The windows over the rest. Windows are sized to hold a little
        // less than `pages_per_window` full pages, so that most need exactly
        // that many requests. At most `concurrency` windows fetch at once
        // (a FIFO semaphore, so the head window always holds a permit), and
        // at most twice that many are spawned ahead of the one being
        // delivered: memory stays bounded by their channels.
        let resume = position.position;
        let remaining = total.saturating_sub(page_len);
        let per_window = (page_len * self.options.pages_per_window.max(1) * 9 / 10).max(1);
        let count = window_count(
            remaining,
            per_window,
            page_len,
            (start.time, resume.time, to),
        );
        let windows = split_windows(resume.time, to, count);
        if windows.is_empty() {
            return Ok(());
        }
        tracing::info!(
            "{log_type}: {total} entries in the range by Gong's count; the rest after the first page in {} windows over {}..{to}",
            windows.len(),
            resume.time
        );
        let concurrency = self.options.concurrency.max(1);
        let ahead = concurrency * 2;
        let permits = Arc::new(Semaphore::new(concurrency));
        let capacity = usize::try_from(self.options.pages_per_window).unwrap_or(4) + 2;

        let mut tasks = JoinSet::new();
        let mut pending: std::collections::VecDeque<WindowRx> = Default::default();
        let mut next = 0usize;
        let spawn = |i: usize, permit: OwnedSemaphorePermit, tasks: &mut JoinSet<()>| -> WindowRx {
            let (from, until) = windows[i];
            let window_start = if i == 0 {
                resume
            } else {
                Position {
                    time: from,
                    count: 0,
                }
            };
            let (tx, rx) = mpsc::channel(capacity);
            let shared = Arc::clone(self);
            tasks.spawn(async move {
                let _permit = permit; // held until the window is fetched
                if let Err(e) = shared.run_window(log_type, window_start, until, &tx).await {
                    let _ = tx.send(Err(e)).await;
                }
            });
            rx
        };
        // The coordinator never blocks on a permit while the head window
        // waits to be drained: it waits for either.
        let first = Arc::clone(&permits)
            .acquire_owned()
            .await
            .expect("never closed");
        pending.push_back(spawn(0, first, &mut tasks));
        next += 1;
        while let Some(mut head) = pending.pop_front() {
            loop {
                let can_spawn = next < windows.len() && pending.len() < ahead;
                tokio::select! {
                    biased;
                    item = head.recv() => {
                        let Some(entries) = item.ok_or_else(|| ExportError::Internal {
                            log_type,
                            message: "a window's task ended without finishing".into(),
                        })??
                        else {
                            break; // the window is complete
                        };
                        for e in &entries {
                            position.admit(e);
                        }
                        if !self.deliver(log_type, entries, &position, out).await {
                            return Ok(());
                        }
                    }
                    permit = Arc::clone(&permits).acquire_owned(), if can_spawn => {
                        let permit = permit.expect("never closed");
                        pending.push_back(spawn(next, permit, &mut tasks));
                        next += 1;
                    }
                }
            }
            // Reap the finished window tasks: a JoinSet keeps them until
            // joined, and a long export runs thousands of windows.
            while tasks.try_join_next().is_some() {}
            if pending.is_empty() && next < windows.len() {
                let permit = Arc::clone(&permits)
                    .acquire_owned()
                    .await
                    .expect("never closed");
                pending.push_back(spawn(next, permit, &mut tasks));
                next += 1;
            }
        }
        Ok(())
    }

    /// Sends a batch downstream; false when the receiver is gone.
    async fn deliver(
        &self,
        log_type: LogType,
        entries: Vec<LogEntry>,
        tracker: &Tracker,
        out: &mpsc::Sender<Result<Batch, ExportError>>,
    ) -> bool {
        if entries.is_empty() {
            return true;
        }
        ExportStats::bump(&self.stats.entries, entries.len() as u64);
        out.send(Ok(Batch {
            log_type,
            entries,
            position: tracker.position,
        }))
        .await
        .is_ok()
    }
}

/// The most windows one export plans, whatever `totalRecords` says.
pub const MAX_WINDOWS: u64 = 1_000;

/// How many windows to split the rest of a range into, after a probe page
/// of `page_len` entries covered `[start, reached)` of `[start, to)`.
/// `totalRecords` is never trusted beyond what the range can hold: the
/// count is at most the whole seconds left, at most [`MAX_WINDOWS`], and at
/// most what the probe's density suggests (4 times the entries the rest of
/// the range would hold at the probe's rate, when the probe covered any
/// time at all).
fn window_count(
    remaining: u64,
    per_window: u64,
    page_len: u64,
    (start, reached, to): (Timestamp, Timestamp, Timestamp),
) -> u64 {
    let covered = reached.as_nanosecond() - start.as_nanosecond();
    let left = to.as_nanosecond() - reached.as_nanosecond();
    let mut remaining = remaining;
    if covered > 0 && left > 0 {
        let suggested = i128::from(page_len) * left / covered * 4 + i128::from(page_len);
        remaining = remaining.min(u64::try_from(suggested).unwrap_or(u64::MAX));
    }
    let seconds = u64::try_from(left / 1_000_000_000).unwrap_or(0).max(1);
    remaining
        .div_ceil(per_window.max(1))
        .clamp(1, MAX_WINDOWS.min(seconds))
}

/// Splits `[from, to)` into at most `count` half-open windows whose inner
/// boundaries fall on whole seconds. The windows cover the range exactly,
/// with no gap and no overlap.
pub fn split_windows(from: Timestamp, to: Timestamp, count: u64) -> Vec<(Timestamp, Timestamp)> {
    if from >= to {
        return Vec::new();
    }
    let span_ns = to.as_nanosecond() - from.as_nanosecond();
    let count = i128::from(count.max(1));
    let mut bounds = vec![from];
    for i in 1..count {
        let raw = from.as_nanosecond() + span_ns * i / count;
        // Round up to the next whole second.
        let secs = raw.div_euclid(1_000_000_000) + i128::from(raw.rem_euclid(1_000_000_000) != 0);
        let Ok(b) = Timestamp::from_second(secs as i64) else {
            continue;
        };
        if b > *bounds.last().expect("non-empty") && b < to {
            bounds.push(b);
        }
    }
    bounds.push(to);
    bounds.windows(2).map(|w| (w[0], w[1])).collect()
}
