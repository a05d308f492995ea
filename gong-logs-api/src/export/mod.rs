//! The export engine: every entry of one or more log types and a time range,
//! exactly once, in chronological order per type, with as few requests as
//! Gong's cursor paging allows and as fast as the shared rate limit allows.
//!
//! Requests are the scarce resource (Gong: 3/s and 10,000/day per company).
//! The minimum for `N` entries of a type is `ceil(N / page)` requests: one
//! cursor chain. Every extra chain over a time slice costs at most one more
//! request (its last page is partial), so the engine runs as FEW chains as
//! keep the rate limit busy, and no more:
//!
//! 1. **Plan.** The range is cut into *segments*: one per type, and the
//!    first type's range into equal-time slices when fewer types than
//!    initial chains are asked for. No serial probe: every slice's first
//!    page is useful data and tells that slice's `totalRecords`.
//! 2. **Chains.** Each running segment follows its own cursor chain, all
//!    under one [`Throttle`]. The number of chains wanted is
//!    `ceil(rate × round-trip)` (measured, adapting as latency changes),
//!    capped by [`ExportOptions::concurrency`].
//! 3. **Splits.** A split gives the end of a running segment to a new
//!    chain. Its boundary is placed where the old chain's `k`-th page is
//!    estimated to end (by the remaining count spread evenly, or by the
//!    density of the last pages when entries bunch), a tenth of a page
//!    early and on a whole second, so that the old chain's last page most
//!    likely reaches it and the split costs no partial page. A segment is
//!    split only when its count, its children's counts and the density of
//!    two of its pages are known. Two occasions:
//!    - **fewer chains run than wanted** (a chain finished): the segment
//!      with the most pages left, if at least
//!      [`ExportOptions::split_min_pages`], so that the wanted chains share
//!      what is left evenly;
//!    - **once a round, when every running count is known** (the first
//!      round, and again each time a type of `--type all` starts late): a
//!      chain with more pages than the one with the fewest in all, or than
//!      one chain fetches in the time the rate needs for all the pages
//!      left, keeps that many and a new chain takes the rest at once,
//!      beyond `rate × round-trip` (equal-time slices rarely hold equal
//!      counts, and the chain with one page more would set the finish).
//!
//!    The old chain keeps its cursor and stops at the new boundary (its
//!    entries from there on are the new segment's).
//! 4. **Delivery.** Segments are delivered strictly in order (type by type,
//!    each in time order). Entries of segments ahead of the one being
//!    delivered wait in a spool (`spool.rs`): memory up to
//!    [`ExportOptions::buffer_bytes`], then an anonymous temporary file, so
//!    memory stays bounded whatever the range. Spilling pays only when the
//!    rate or the network is what the export waits for: when the reader is
//!    behind, or round trips are as short as decoding a page, the chains
//!    ahead of the delivery wait for memory instead.
//!
//! Exactly once: segments are half-open `[from, to)` with inner boundaries
//! on whole seconds, and they cover the range with no gap and no overlap.
//! A [`Position`] (last delivered instant + how many entries at that instant
//! were delivered) is the only resume state: resuming, or recovering from an
//! expired cursor, re-queries from that instant and skips that many entries
//! by count, never by content, so identical entries stay distinct.

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use futures::{Stream, StreamExt as _};
use jiff::Timestamp;
use tokio::sync::{mpsc, watch};

use crate::budget::RequestBudget;
use crate::client::{GongClient, Page, PageRequest};
use crate::entry::LogEntry;
use crate::error::ApiError;
use crate::guard::{ChainGuard, GuardError, OutOfRange};
use crate::log_type::LogType;
use crate::notices::LongWait;
use crate::retry::{RetryPolicy, WaitVerdict};
use crate::spool::Spool;
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
    /// Sum over types of `totalRecords` as first reported (grows as the
    /// first page of each initial slice arrives).
    pub expected: AtomicU64,
    /// Cursor chains started (initial slices and splits).
    pub chains: AtomicU64,
    /// Segments split to keep the rate limit busy.
    pub splits: AtomicU64,
    /// Bytes of entries written to the spill file (fetched ahead of the
    /// delivery and over the memory cap).
    pub spilled_bytes: AtomicU64,
    /// Entries left out because they were outside their window or went
    /// back in time (only with [`OutOfRange::Skip`]).
    pub skipped: AtomicU64,
    /// Requests the whole export needs by the first pages' `totalRecords`
    /// (`ceil(total / page)` per type), once every initial slice has
    /// answered; 0 before.
    pub estimated_requests: AtomicU64,
    /// What the user should hear about: long waits, the server's clock.
    pub notices: crate::notices::Notices,
}

impl ExportStats {
    fn bump(counter: &AtomicU64, by: u64) {
        counter.fetch_add(by, Ordering::Relaxed);
    }

    /// Reads a counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Every counter read once, as plain numbers (each read is atomic; the
    /// set is not, which progress and summaries do not need).
    pub fn snapshot(&self) -> ExportStatsSnapshot {
        let get = Self::get;
        ExportStatsSnapshot {
            requests: get(&self.requests),
            pages: get(&self.pages),
            retries: get(&self.retries),
            rate_limited: get(&self.rate_limited),
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
}

/// The counters of [`ExportStats`] at one moment (see its fields for their
/// meaning).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[non_exhaustive]
pub struct ExportStatsSnapshot {
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

/// Tuning of the engine.
#[derive(Clone, Debug)]
pub struct ExportOptions {
    /// Requests per second across the process (`None`: unlimited).
    pub rate_limit: Option<f64>,
    /// Retry budget and back-off.
    pub retry: RetryPolicy,
    /// The most cursor chains run at once. The engine runs fewer when the
    /// rate limit and the round-trip time need fewer (`rate × round-trip`).
    pub concurrency: usize,
    /// When a chain finishes, a segment is split for another chain only if
    /// it still has at least this many pages to fetch (at least 2; a
    /// boundary estimate that misses costs a partial page, so the default
    /// 6 keeps that cost to a small share).
    pub split_min_pages: u64,
    /// Memory for entries fetched ahead of the delivery; beyond it they go
    /// to an anonymous temporary file.
    pub buffer_bytes: usize,
    /// Directory of that temporary file (`None`: the system's temp dir).
    pub spill_dir: Option<PathBuf>,
    /// The most HTTP requests of this exporter (`None`: unlimited); when
    /// used up the export stops with [`ApiError::RequestBudget`].
    pub max_requests: Option<u64>,
    /// Entries outside their window or going back in time: an error, or
    /// skipped and counted.
    pub out_of_range: OutOfRange,
    /// A range shorter than this is not cut into slices before its first
    /// page says it holds enough to split (`--follow` polls stay one
    /// request per type).
    pub min_slice: Duration,
}

impl Default for ExportOptions {
    fn default() -> Self {
        Self {
            rate_limit: Some(3.0),
            retry: RetryPolicy::default(),
            concurrency: 8,
            split_min_pages: 6,
            buffer_bytes: 8 << 20,
            spill_dir: None,
            min_slice: Duration::from_secs(3600),
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

/// What a multi-type export delivers, in order.
#[derive(Debug)]
#[non_exhaustive]
pub enum Event {
    /// Entries of the type being delivered.
    Batch(Batch),
    /// Every entry of this type's range has been delivered; the next events
    /// are of the next type.
    TypeDone(LogType),
    /// Only from [`Exporter::follow`]: every type is delivered up to `to`
    /// (exclusive); the next poll comes after the interval.
    CaughtUp {
        /// The end of the round just delivered.
        to: Timestamp,
    },
}

/// An export that could not finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
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
    /// Entries fetched ahead could not be kept in the temporary file.
    #[error(
        "cannot keep entries fetched ahead in a temporary file: {0}; free space in the temp directory (TMPDIR) and rerun"
    )]
    Spill(#[source] std::io::Error),
}

impl ExportError {
    /// The underlying API error.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Api { source, .. } | Self::CursorLoop { source, .. } => Some(source),
            Self::Internal { .. } | Self::Spill(_) | Self::Protocol { .. } => None,
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
    /// Starts after `position`: the first `position.count` entries at
    /// `position.time` are skipped.
    fn resume(position: Position) -> Self {
        Self {
            position: Position {
                time: position.time,
                count: 0,
            },
            to_skip: position.count,
        }
    }

    /// Continues counting from `position` (nothing to skip).
    fn at(position: Position) -> Self {
        Self {
            position,
            to_skip: 0,
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
    /// Smoothed round-trip time of successful requests, in seconds.
    rtt: Mutex<Option<f64>>,
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
                client,
                options,
                stats: ExportStats::default(),
                rtt: Mutex::new(None),
                connected: Default::default(),
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

    /// Exports several types over `[start.time, to)` each (every type from
    /// its own start position), fetching them concurrently as the rate limit
    /// allows, and delivers them one type after the other in the order
    /// given: each type's batches in order, then [`Event::TypeDone`]. An
    /// error ends the stream. Dropping the stream cancels the export (its
    /// chains stop at their next page).
    ///
    /// Must be called inside a tokio runtime (the engine runs in tasks of
    /// its own, so the stream makes progress while the caller is busy).
    pub fn export_types(
        &self,
        types: Vec<(LogType, Position)>,
        to: Timestamp,
    ) -> impl Stream<Item = Result<Event, ExportError>> + Send + Unpin + 'static {
        let (tx, mut rx) = mpsc::channel(4);
        let shared = Arc::clone(&self.inner);
        let first_type = types.first().map(|(t, _)| *t);
        tokio::spawn(async move {
            // The coordinator runs in a task of its own so that a panic in it
            // reaches the receiver as an error, never as a quiet end.
            let out = tx.clone();
            let result =
                tokio::spawn(async move { Coordinator::new(shared, types, to, out)?.run().await })
                    .await;
            let error = match result {
                Ok(Ok(())) => return,
                Ok(Err(e)) => e,
                Err(join) => ExportError::Internal {
                    log_type: first_type.unwrap_or(LogType::AccessLog),
                    message: join.to_string(),
                },
            };
            let _ = tx.send(Err(error)).await;
        });
        futures::stream::poll_fn(move |cx| rx.poll_recv(cx))
    }

    /// Exports `log_type` over `[start.time, to)`, skipping the first
    /// `start.count` entries at `start.time`: its batches, in order. An
    /// error ends the stream; dropping it cancels.
    pub fn export(
        &self,
        log_type: LogType,
        start: Position,
        to: Timestamp,
    ) -> impl Stream<Item = Result<Batch, ExportError>> + Send + Unpin + 'static {
        self.export_types(vec![(log_type, start)], to)
            .filter_map(|event| {
                futures::future::ready(match event {
                    Ok(Event::Batch(batch)) => Some(Ok(batch)),
                    Ok(_) => None,
                    Err(e) => Some(Err(e)),
                })
            })
    }

    /// Every entry of `log_type` in `[from, to)`, in order, exactly once, as a
    /// `Stream` (one item per entry). An error ends it.
    pub fn entries(
        &self,
        log_type: LogType,
        from: Timestamp,
        to: Timestamp,
    ) -> impl Stream<Item = Result<LogEntry, ExportError>> + Send + Unpin + 'static {
        self.export(
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

impl Exporter {
    /// The requests the engine sends first for [`Self::export_types`] with
    /// the same arguments, in order: one per initial time slice (a type's
    /// range may start as several slices, each its own cursor chain), none
    /// for a type with nothing to fetch. Later requests repeat a slice's
    /// parameters with Gong's cursor, or cover a slice split off a running
    /// one. Sends nothing.
    pub fn first_requests(&self, types: &[(LogType, Position)], to: Timestamp) -> Vec<PageRequest> {
        plan_slices(
            types,
            to,
            self.inner.chains_wanted(),
            self.inner.options.min_slice,
        )
        .into_iter()
        .filter(|slice| slice.initial)
        .map(|slice| PageRequest {
            log_type: slice.log_type,
            from: format_time(slice.start.time),
            to: Some(format_time(slice.end)),
            cursor: None,
        })
        .collect()
    }

    /// Follows several types: exports each from its position up to
    /// `first_to`, then every `options.interval` polls again from where
    /// each type stands up to now − `options.lag` (types already past that
    /// are left out of the round). Each round delivers like
    /// [`Self::export_types`] (batches type after type, [`Event::TypeDone`])
    /// and ends with [`Event::CaughtUp`]. The stream never ends by itself:
    /// an error ends it, dropping it stops following (mid-round too).
    ///
    /// A `lag` keeps polls behind entries Gong may still be writing; the
    /// positions in the batches are the resume state, as for an export.
    pub fn follow(
        &self,
        types: Vec<(LogType, Position)>,
        first_to: Timestamp,
        options: FollowOptions,
    ) -> impl Stream<Item = Result<Event, ExportError>> + Send + Unpin + 'static {
        struct State {
            exporter: Exporter,
            positions: Vec<(LogType, Position)>,
            options: FollowOptions,
            round: Option<(
                futures::stream::BoxStream<'static, Result<Event, ExportError>>,
                Timestamp,
            )>,
            next_to: Option<Timestamp>,
            failed: bool,
        }
        let state = State {
            exporter: self.clone(),
            positions: types,
            options,
            round: None,
            next_to: Some(first_to),
            failed: false,
        };
        Box::pin(futures::stream::unfold(state, |mut st| async move {
            if st.failed {
                return None;
            }
            loop {
                if let Some((round, to)) = &mut st.round {
                    let to = *to;
                    match round.next().await {
                        Some(Ok(Event::Batch(batch))) => {
                            if let Some((_, p)) =
                                st.positions.iter_mut().find(|(t, _)| *t == batch.log_type)
                            {
                                *p = batch.position;
                            }
                            return Some((Ok(Event::Batch(batch)), st));
                        }
                        Some(Ok(event)) => return Some((Ok(event), st)),
                        Some(Err(e)) => {
                            st.failed = true;
                            st.round = None;
                            return Some((Err(e), st));
                        }
                        None => {
                            st.round = None;
                            return Some((Ok(Event::CaughtUp { to }), st));
                        }
                    }
                }
                let to = match st.next_to.take() {
                    Some(to) => to,
                    None => {
                        tokio::time::sleep(st.options.interval).await;
                        match Timestamp::now().checked_sub(st.options.lag) {
                            Ok(to) => to,
                            Err(_) => continue,
                        }
                    }
                };
                let due: Vec<(LogType, Position)> = st
                    .positions
                    .iter()
                    .filter(|(_, p)| p.time < to)
                    .copied()
                    .collect();
                tracing::debug!(types = due.len(), %to, "follow: polling");
                st.round = Some((st.exporter.export_types(due, to).boxed(), to));
            }
        }))
    }
}

/// How [`Exporter::follow`] polls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct FollowOptions {
    /// Time between the end of one round and the start of the next.
    pub interval: Duration,
    /// How far behind now each round stops.
    pub lag: Duration,
}

impl FollowOptions {
    /// Polls every `interval`, up to `lag` behind now.
    pub fn new(interval: Duration, lag: Duration) -> Self {
        Self { interval, lag }
    }
}

impl Default for FollowOptions {
    /// Every minute, up to now.
    fn default() -> Self {
        Self::new(Duration::from_secs(60), Duration::ZERO)
    }
}

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
            let sent = Instant::now();
            let result = crate::trace::fetch_page(&self.client, request, attempt).await;
            if !matches!(&result, Err(ApiError::Transport { .. })) {
                self.connected.store(true, Ordering::Relaxed);
            }
            match result {
                Ok(page) => {
                    if let Some(date) = page.server_date {
                        self.stats
                            .notices
                            .record_server_date(date, Timestamp::now());
                    }
                    self.observe_rtt(sent.elapsed());
                    self.throttle.succeeded();
                    ExportStats::bump(&self.stats.pages, 1);
                    return Ok(page);
                }
                Err(e) if e.is_retryable() && attempt <= self.retries_for(&e) => {
                    ExportStats::bump(&self.stats.retries, 1);
                    let wait = match e.retry_after() {
                        Some(wait) => {
                            self.judge_wait(&e, wait).map_err(|e| (e, attempt))?;
                            // Every request of the process waits it out.
                            self.throttle.pause_for(wait);
                            wait
                        }
                        None => self.options.retry.backoff(attempt),
                    };
                    if matches!(e, ApiError::RateLimited { .. }) {
                        ExportStats::bump(&self.stats.rate_limited, 1);
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
    fn judge_wait(&self, e: &ApiError, wait: Duration) -> Result<(), ApiError> {
        let retry = &self.options.retry;
        let until = crate::notices::until(Timestamp::now(), wait);
        match retry.judge_wait(wait) {
            WaitVerdict::Wait => Ok(()),
            WaitVerdict::WaitOutLong => {
                self.stats.notices.record_long_wait(LongWait {
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
        let protocol = |source| ExportError::Protocol { log_type, source };
        if !page.not_found {
            ChainGuard::check_page_size(page.page_size, page.entries.len()).map_err(protocol)?;
        }
        let skipped = guard
            .check(sent, page.cursor.as_deref(), &mut page.entries)
            .map_err(protocol)?;
        if skipped > 0 {
            ExportStats::bump(&self.stats.skipped, skipped);
            tracing::warn!(%log_type, skipped, "skipped entries without a valid time, outside the range or out of order");
        }
        Ok(())
    }

    fn observe_rtt(&self, rtt: Duration) {
        let sample = rtt.as_secs_f64();
        let mut guard = self.rtt.lock().unwrap_or_else(|e| e.into_inner());
        *guard = Some(match *guard {
            // Follows a change of latency within a few requests.
            Some(old) => old * 0.7 + sample * 0.3,
            None => sample,
        });
    }

    /// The smoothed round-trip time, in seconds (`None` before any answer).
    fn rtt(&self) -> Option<f64> {
        *self.rtt.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Chains wanted: enough to keep `rate × round-trip` requests in flight.
    fn chains_wanted(&self) -> usize {
        let cap = self.options.concurrency.max(1);
        let Some(rate) = self.throttle.current_rate() else {
            return cap;
        };
        let wanted = match self.rtt() {
            // Before any answer: as many as the rate allows in one second.
            None => rate.ceil(),
            // A 5 % margin: a round trip just over 1/rate does not need a
            // second chain when the throttle spaces requests anyway.
            // Round trips as short as decoding a page: the CPU, not the
            // network or the rate, sets the pace; two chains overlap the
            // server's work with ours, more would only fetch ahead.
            Some(rtt) if rtt < SHORT_ROUND_TRIP.as_secs_f64() => {
                (rate * rtt * 0.95).ceil().min(2.0)
            }
            Some(rtt) => (rate * rtt * 0.95).ceil(),
        };
        (wanted.max(1.0) as usize).min(cap)
    }
}

/// What a chain reports to the coordinator.
enum ChainItem {
    /// The chain's first page arrived: `totalRecords` of its query.
    First { total: Option<u64> },
    /// Entries, in order, already filtered of what the chain skipped.
    Entries(Vec<LogEntry>),
    /// The chain reached the end of its segment.
    Done,
    /// The chain failed for good.
    Failed(ExportError),
}

struct ChainMsg {
    segment: u64,
    item: ChainItem,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum State {
    Waiting,
    Running,
    /// The chain is done (or was told to stop); what it sent is spooled.
    Fetched,
}

/// A half-open time slice of one type, fetched by one chain.
struct Segment {
    id: u64,
    type_index: usize,
    log_type: LogType,
    /// Where the chain starts (the first `count` entries at `time` skipped).
    start: Position,
    /// The end (exclusive); lowered when the segment is split.
    end: Timestamp,
    end_tx: Option<watch::Sender<Timestamp>>,
    /// Open while the chain may send its next request (see
    /// [`Coordinator::update_gates`]).
    gate_tx: Option<watch::Sender<bool>>,
    state: State,
    /// One of the plan's initial slices (their totals add up to the range's).
    initial: bool,
    /// The segment this one was split off.
    parent: Option<u64>,
    /// `totalRecords` of the chain's first page.
    total: Option<u64>,
    /// Entries received from the chain.
    fetched: u64,
    /// Entries handed to segments split off this one (by their totals).
    given_away: u64,
    /// Segments split off this one whose first page has not arrived.
    children_pending: u32,
    /// The instant of the last entry received (or the start).
    last_time: Timestamp,
    /// `(fetched, last_time)` after each of the last few pages: the density
    /// of the entries just received.
    recent: VecDeque<(u64, Timestamp)>,
    spool: Spool,
}

impl Segment {
    fn new(
        id: u64,
        type_index: usize,
        log_type: LogType,
        start: Position,
        end: Timestamp,
        initial: bool,
    ) -> Self {
        Self {
            id,
            type_index,
            log_type,
            start,
            end,
            end_tx: None,
            gate_tx: None,
            state: State::Waiting,
            initial,
            parent: None,
            total: None,
            fetched: 0,
            given_away: 0,
            children_pending: 0,
            last_time: start.time,
            recent: VecDeque::new(),
            spool: Spool::default(),
        }
    }

    /// Everything of the segment is fetched: its chain is told to stop
    /// (the end's and the gate's senders dropped).
    fn finish(&mut self) {
        self.state = State::Fetched;
        self.end_tx = None;
        self.gate_tx = None;
    }

    /// Whether the coordinator knows enough of this running segment to
    /// split it: its count, its children's counts, and the density of at
    /// least two pages (one page may straddle a quiet and a busy stretch).
    fn splittable(&self) -> bool {
        self.state == State::Running
            && self.total.is_some()
            && self.children_pending == 0
            && self.recent.len() >= 2
    }

    /// The instant before which, by the best estimate, `ahead` of the
    /// `remaining` entries lie (`ahead < remaining`), strictly inside
    /// `(last_time, end)` and on a whole second; `None` if no whole second
    /// fits.
    ///
    /// Two estimates: the remaining entries spread evenly up to the end
    /// (exact at the end, best for even data), or the density of the last
    /// pages carried on (best when entries bunch: the remainder is then
    /// much sparser on average than what was just received).
    fn instant_after(&self, ahead: u64, remaining: u64) -> Option<Timestamp> {
        let from = self.last_time.as_nanosecond();
        let span = (self.end.as_nanosecond() - from) as f64;
        if span <= 0.0 || remaining == 0 {
            return None;
        }
        let even = remaining as f64 / span;
        let recent = self.recent.front().and_then(|&(count, time)| {
            let dt = (from - time.as_nanosecond()) as f64;
            let dn = self.fetched.saturating_sub(count) as f64;
            (dt > 0.0 && dn > 0.0).then(|| dn / dt)
        });
        let density = match recent {
            Some(recent) if recent > 1.5 * even => recent,
            _ => even,
        };
        let raw = from + (ahead as f64 / density) as i128;
        // Rounded down (the old chain's page then more likely reaches the
        // boundary), up if that is not after the last entry.
        let second = raw.div_euclid(1_000_000_000);
        [second, second + 1]
            .into_iter()
            .filter_map(|s| Timestamp::from_second(s as i64).ok())
            .find(|t| *t > self.last_time && *t < self.end)
    }

    /// Entries still to fetch, by the chain's own count.
    fn remaining(&self) -> Option<u64> {
        let total = self.total?;
        Some(
            total
                .saturating_sub(self.start.count)
                .saturating_sub(self.fetched)
                .saturating_sub(self.given_away),
        )
    }
}

struct Coordinator {
    shared: Arc<Shared>,
    /// Segments not yet fully delivered, in delivery order.
    segments: VecDeque<Segment>,
    /// Per type: the delivered position.
    trackers: Vec<Tracker>,
    types: Vec<LogType>,
    out: mpsc::Sender<Result<Event, ExportError>>,
    tx: mpsc::Sender<ChainMsg>,
    rx: mpsc::Receiver<ChainMsg>,
    next_id: u64,
    running: usize,
    /// Entries in the fullest page seen (0: none yet).
    page_size: u64,
    /// Initial slices whose first page has not arrived yet.
    initial_pending: usize,
    /// Per type: `totalRecords` of its initial slices so far.
    initial_totals: Vec<u64>,
    /// Events ready to go out, in order.
    outbox: VecDeque<Event>,
    /// Set when a segment ended with far fewer entries than its
    /// `totalRecords` claimed: no count is trusted for splits any more.
    totals_untrusted: bool,
    /// Splits made so far (at most [`MAX_SPLITS`]).
    splits: u64,
    /// The correction ([`Coordinator::rebalance`]) of the round since the
    /// last initial segment started is done.
    rebalanced: bool,
    /// Times a chain ahead of the delivery was held (memory full, the
    /// reader behind or round trips short).
    holds: u64,
    /// Chains ahead of the delivery are held now.
    holding: bool,
}

/// The most splits of one export, whatever the counts say.
const MAX_SPLITS: u64 = 256;

/// Round trips shorter than this are about the CPU time of decoding a page:
/// chains ahead of the delivery then wait for memory rather than spill.
const SHORT_ROUND_TRIP: Duration = Duration::from_millis(10);

impl Coordinator {
    fn new(
        shared: Arc<Shared>,
        starts: Vec<(LogType, Position)>,
        to: Timestamp,
        out: mpsc::Sender<Result<Event, ExportError>>,
    ) -> Result<Self, ExportError> {
        // Bounded: chains that outrun the coordinator wait rather than
        // pile pages up in memory.
        let (tx, rx) = mpsc::channel(shared.options.concurrency.max(1) + 2);
        let first_chains = shared.chains_wanted();
        let mut this = Self {
            trackers: starts.iter().map(|(_, p)| Tracker::at(*p)).collect(),
            types: starts.iter().map(|(t, _)| *t).collect(),
            initial_totals: vec![0; starts.len()],
            shared,
            segments: VecDeque::new(),
            out,
            tx,
            rx,
            next_id: 0,
            running: 0,
            page_size: 0,
            initial_pending: 0,
            outbox: VecDeque::new(),
            totals_untrusted: false,
            splits: 0,
            rebalanced: false,
            holds: 0,
            holding: false,
        };
        for slice in plan_slices(&starts, to, first_chains, this.shared.options.min_slice) {
            let mut segment = Segment::new(
                this.next_id,
                slice.type_index,
                slice.log_type,
                slice.start,
                slice.end,
                slice.initial,
            );
            if slice.initial {
                this.initial_pending += 1;
            } else {
                segment.state = State::Fetched;
            }
            this.next_id += 1;
            this.segments.push_back(segment);
        }
        Ok(this)
    }

    /// Entries per page: the fullest page seen, Gong's 100 before any.
    fn page(&self) -> u64 {
        if self.page_size == 0 {
            100
        } else {
            self.page_size
        }
    }

    fn log_type_of_head(&self) -> LogType {
        self.segments
            .front()
            .map(|s| s.log_type)
            .or_else(|| self.types.first().copied())
            .unwrap_or(LogType::AccessLog)
    }

    async fn run(mut self) -> Result<(), ExportError> {
        loop {
            self.schedule();
            self.fill_outbox()?;
            self.update_gates();
            if self.outbox.is_empty() && self.segments.is_empty() {
                let stats = &self.shared.stats;
                tracing::info!(
                    chains = ExportStats::get(&stats.chains),
                    splits = ExportStats::get(&stats.splits),
                    spilled_bytes = ExportStats::get(&stats.spilled_bytes),
                    holds = self.holds,
                    rtt_ms = self.shared.rtt().unwrap_or(0.0) * 1000.0,
                    "engine done"
                );
                return Ok(());
            }
            let has_output = !self.outbox.is_empty();
            let out = self.out.clone();
            tokio::select! {
                biased;
                permit = out.reserve(), if has_output => {
                    let Ok(permit) = permit else {
                        return Ok(()); // the receiver is gone: cancelled
                    };
                    let event = self.outbox.pop_front().expect("checked non-empty");
                    permit.send(Ok(event));
                }
                msg = self.rx.recv() => {
                    let msg = msg.ok_or_else(|| ExportError::Internal {
                        log_type: self.log_type_of_head(),
                        message: "the chains' channel closed".into(),
                    })?;
                    self.handle(msg)?;
                }
            }
        }
    }

    /// Lets chains ahead of the delivery fetch on, or holds them. Fetching
    /// ahead pays when the rate limit or the network is what the export
    /// waits for: what does not fit in memory then goes to the spill file.
    /// It does not when the reader is behind (the events it has not taken
    /// fill the channel), nor when round trips are as short as decoding a
    /// page (under [`SHORT_ROUND_TRIP`]: a server on this machine, where
    /// the chains share the CPU with it): pages fetched ahead would only be
    /// written to the file and read back. Then, once memory is full, the
    /// chains ahead wait until it frees. The head's chain never waits.
    fn update_gates(&mut self) {
        let held = self.mem_held();
        let reader_behind = !self.outbox.is_empty() && self.out.capacity() == 0;
        let short_trips = self
            .shared
            .rtt()
            .is_some_and(|rtt| rtt < SHORT_ROUND_TRIP.as_secs_f64());
        // Nearly full: a page no longer fits and would go to the file.
        let full = held.saturating_mul(8) >= self.shared.options.buffer_bytes.saturating_mul(7);
        let hold = (reader_behind || short_trips) && full;
        self.holding = hold;
        for (index, segment) in self.segments.iter().enumerate() {
            if let Some(gate) = &segment.gate_tx {
                let open = index == 0 || !hold;
                if gate.send_if_modified(|g| std::mem::replace(g, open) != open) && !open {
                    self.holds += 1;
                }
            }
        }
    }

    /// Moves what the head segment has ready into the outbox (one batch at
    /// a time, so a slow reader bounds memory through the spool).
    fn fill_outbox(&mut self) -> Result<(), ExportError> {
        while self.outbox.is_empty() {
            let Some(head) = self.segments.front_mut() else {
                return Ok(());
            };
            if let Some(entries) = head.spool.pop(1_000).map_err(ExportError::Spill)? {
                let tracker = &mut self.trackers[head.type_index];
                for e in &entries {
                    tracker.admit(e);
                }
                ExportStats::bump(&self.shared.stats.entries, entries.len() as u64);
                self.outbox.push_back(Event::Batch(Batch {
                    log_type: head.log_type,
                    entries,
                    position: tracker.position,
                }));
                return Ok(());
            }
            if head.state != State::Fetched {
                return Ok(()); // waiting for its chain
            }
            let done = self.segments.pop_front().expect("non-empty");
            if self
                .segments
                .front()
                .is_none_or(|next| next.type_index != done.type_index)
            {
                self.outbox.push_back(Event::TypeDone(done.log_type));
            }
        }
        Ok(())
    }

    fn handle(&mut self, msg: ChainMsg) -> Result<(), ExportError> {
        let Some(index) = self.segments.iter().position(|s| s.id == msg.segment) else {
            return Ok(()); // a chain of a segment already delivered
        };
        match msg.item {
            ChainItem::First { total } => self.on_first(index, total),
            ChainItem::Entries(entries) => return self.on_entries(index, entries),
            ChainItem::Done => self.on_done(index),
            // A chain stopped at a split boundary may still fail a request
            // it had in flight: nothing of its segment is missing.
            ChainItem::Failed(_) if self.segments[index].state == State::Fetched => {}
            ChainItem::Failed(error) => return Err(error),
        }
        Ok(())
    }

    /// A chain's first page: its count, which an initial slice adds to the
    /// estimate and a split-off segment takes from its parent's.
    fn on_first(&mut self, index: usize, total: Option<u64>) {
        let segment = &mut self.segments[index];
        segment.total = total;
        if segment.initial {
            self.initial_pending = self.initial_pending.saturating_sub(1);
            let total = total.unwrap_or(0).saturating_sub(segment.start.count);
            self.initial_totals[segment.type_index] += total;
            ExportStats::bump(&self.shared.stats.expected, total);
            if self.initial_pending == 0 {
                let page = self.page();
                let estimate: u64 = self
                    .initial_totals
                    .iter()
                    .map(|t| t.div_ceil(page).max(1))
                    .sum();
                self.shared
                    .stats
                    .estimated_requests
                    .store(estimate, Ordering::Relaxed);
            }
        } else if let Some(parent) = segment.parent
            && let Some(parent) = self.segments.iter_mut().find(|s| s.id == parent)
        {
            // A split-off segment: its entries are no longer its parent's
            // to fetch.
            parent.given_away += total.unwrap_or(0);
            parent.children_pending = parent.children_pending.saturating_sub(1);
        }
    }

    /// Entries of a chain: cut at the segment's current end (a split may
    /// have lowered it after the chain fetched them), counted, spooled.
    fn on_entries(&mut self, index: usize, mut entries: Vec<LogEntry>) -> Result<(), ExportError> {
        let segment = &mut self.segments[index];
        if segment.state == State::Fetched {
            return Ok(()); // stopped at a split boundary already
        }
        let end = segment.end;
        if let Some(cut) = entries
            .iter()
            .position(|e| e.event_time().is_some_and(|t| t >= end))
        {
            entries.truncate(cut);
            segment.finish();
            self.running -= 1;
        }
        self.page_size = self.page_size.max(entries.len() as u64);
        segment.fetched += entries.len() as u64;
        if let Some(t) = entries.last().and_then(LogEntry::event_time) {
            segment.last_time = segment.last_time.max(t);
        }
        if !entries.is_empty() {
            if segment.recent.len() == 4 {
                segment.recent.pop_front();
            }
            segment
                .recent
                .push_back((segment.fetched, segment.last_time));
        }
        let held = self.mem_held();
        let incoming: usize = entries.iter().map(crate::spool::entry_bytes).sum();
        let fits = held + incoming <= self.shared.options.buffer_bytes;
        let spilled = self.segments[index]
            .spool
            .push(entries, fits, self.shared.options.spill_dir.as_deref())
            .map_err(ExportError::Spill)?;
        ExportStats::bump(&self.shared.stats.spilled_bytes, spilled);
        Ok(())
    }

    /// A chain reached the end of its segment.
    fn on_done(&mut self, index: usize) {
        let page = self.page();
        let segment = &mut self.segments[index];
        // A chain that ends pages short of what its count claimed: the
        // server's counts cannot plan anything.
        if let Some(missing) = segment.remaining()
            && segment.children_pending == 0
            && missing > 2 * page
            && missing > segment.fetched
            && !self.totals_untrusted
        {
            self.totals_untrusted = true;
            tracing::warn!(
                log_type = %segment.log_type,
                claimed = segment.total,
                fetched = segment.fetched,
                "the server's totalRecords overstates what it sends; no more splits"
            );
        }
        if segment.state == State::Running {
            segment.finish();
            self.running -= 1;
        }
    }

    /// Starts waiting segments and splits running ones until the wanted
    /// number of chains runs; once per round (the first, and each time a
    /// type starts late), when every running count is known, gives the
    /// pages of chains that would finish last to new ones.
    fn schedule(&mut self) {
        let wanted = self.shared.chains_wanted();
        while self.running < wanted {
            if let Some(index) = self.segments.iter().position(|s| s.state == State::Waiting) {
                // A type starting late (`--type all`) makes a new round:
                // its count is news to the correction.
                self.rebalanced &= !self.segments[index].initial;
                self.start(index);
                continue;
            }
            if !self.split(wanted) {
                break;
            }
        }
        if !self.rebalanced && self.all_counts_known() {
            self.rebalanced = true;
            self.rebalance();
        }
    }

    /// Whether splits may be made now: never once counts proved untrue or
    /// after [`MAX_SPLITS`], and not while chains ahead are held (another
    /// chain would only be held too).
    fn may_split(&self) -> bool {
        !self.totals_untrusted && self.splits < MAX_SPLITS && !self.holding
    }

    /// Every initial slice has answered, none waits, and every running
    /// segment's count and density are known.
    fn all_counts_known(&self) -> bool {
        self.initial_pending == 0
            && self
                .segments
                .iter()
                .all(|s| s.state == State::Fetched || s.splittable())
    }

    /// Bytes of entries held in memory by every segment's spool.
    fn mem_held(&self) -> usize {
        self.segments.iter().map(|s| s.spool.mem_bytes()).sum()
    }

    /// Pages left of a segment by its own count, the one in flight included.
    fn pages_left(&self, segment: &Segment) -> u64 {
        segment.remaining().unwrap_or(0).div_ceil(self.page())
    }

    /// Pages the segment's chain has received (whole or partial).
    fn pages_done(&self, segment: &Segment) -> u64 {
        (segment.start.count + segment.fetched).div_ceil(self.page())
    }

    /// When fewer chains run than wanted: splits the splittable segment
    /// with the most pages left so that the wanted chains share what is
    /// left evenly; false when none is worth it.
    fn split(&mut self, wanted: usize) -> bool {
        if !self.may_split() {
            return false;
        }
        let Some((index, pages)) = self
            .segments
            .iter()
            .enumerate()
            .filter(|(_, s)| s.splittable())
            .map(|(i, s)| (i, self.pages_left(s)))
            .max_by_key(|(i, pages)| (*pages, std::cmp::Reverse(*i)))
        else {
            return false;
        };
        if pages < self.shared.options.split_min_pages.max(2) {
            return false;
        }
        let left: u64 = self
            .segments
            .iter()
            .filter(|s| s.state == State::Running)
            .map(|s| self.pages_left(s))
            .sum();
        let share = left.div_ceil(wanted.max(1) as u64);
        let keep = pages.div_ceil(2).max(pages.saturating_sub(share));
        self.split_keeping(index, keep)
    }

    /// The first round's correction, made once when every count is known
    /// and the wanted chains run. The chains, not the rate, set the finish
    /// when a chain has more pages than the others (slices of equal time
    /// rarely hold equal counts) or more than the rate lets all the pages
    /// left take: such a chain keeps what the others need and a new chain
    /// takes the rest at once, beyond `rate × round-trip` (within
    /// `--concurrency`), its pages costing the rate nothing more.
    fn rebalance(&mut self) {
        let (Some(rate), Some(rtt)) = (self.shared.throttle.current_rate(), self.shared.rtt())
        else {
            return;
        };
        let running: Vec<(u64, ChainLoad)> = self
            .segments
            .iter()
            .filter(|s| s.state == State::Running)
            .map(|s| {
                let load = ChainLoad {
                    done: self.pages_done(s),
                    left: self.pages_left(s),
                };
                (s.id, load)
            })
            .collect();
        let loads: Vec<ChainLoad> = running.iter().map(|(_, load)| *load).collect();
        for ((id, _), keep) in running.iter().zip(rebalance_keep(&loads, rate, rtt)) {
            let Some(keep) = keep else {
                continue;
            };
            if !self.may_split() || self.running >= self.shared.options.concurrency.max(1) {
                return;
            }
            let Some(index) = self.segments.iter().position(|s| s.id == *id) else {
                continue;
            };
            if self.split_keeping(index, keep) {
                self.start(index + 1);
            }
        }
    }

    /// Splits running segment `index` so that its chain keeps about `keep`
    /// more pages (the one in flight counted) and a new segment after it
    /// takes the rest. The boundary is where the chain's `keep`-th page is
    /// estimated to end, a tenth of a page early, so that the old chain's
    /// last page most likely reaches it and the split costs no partial
    /// page. False when the chain ends within `keep` pages anyway, or no
    /// whole second fits.
    fn split_keeping(&mut self, index: usize, keep: u64) -> bool {
        let page = self.page();
        let segment = &self.segments[index];
        let Some(remaining) = segment.remaining() else {
            return false;
        };
        // Where the chain's query stands: entries skipped at its start and
        // received since; its pages end on multiples of `page` from there.
        let position = segment.start.count + segment.fetched;
        let ahead = ((self.pages_done(segment) + keep) * page)
            .saturating_sub(position)
            .saturating_sub(page / 10);
        if ahead == 0 || ahead >= remaining {
            return false;
        }
        let Some(boundary) = segment.instant_after(ahead, remaining) else {
            return false;
        };
        let segment = &mut self.segments[index];
        let old_end = segment.end;
        segment.end = boundary;
        segment.children_pending += 1;
        if let Some(end_tx) = &segment.end_tx {
            let _ = end_tx.send(boundary);
        }
        let (type_index, log_type) = (segment.type_index, segment.log_type);
        let mut new = Segment::new(
            self.next_id,
            type_index,
            log_type,
            Position {
                time: boundary,
                count: 0,
            },
            old_end,
            false,
        );
        new.parent = Some(segment.id);
        self.next_id += 1;
        self.segments.insert(index + 1, new);
        self.splits += 1;
        ExportStats::bump(&self.shared.stats.splits, 1);
        tracing::info!(
            %log_type,
            at = %boundary,
            keep,
            "split a time slice for another cursor chain"
        );
        true
    }

    fn start(&mut self, index: usize) {
        let segment = &mut self.segments[index];
        let (end_tx, end_rx) = watch::channel(segment.end);
        segment.end_tx = Some(end_tx);
        let (gate_tx, gate_rx) = watch::channel(true);
        segment.gate_tx = Some(gate_tx);
        segment.state = State::Running;
        self.running += 1;
        ExportStats::bump(&self.shared.stats.chains, 1);
        let chain = Chain {
            shared: Arc::clone(&self.shared),
            segment: segment.id,
            log_type: segment.log_type,
            start: segment.start,
            end: end_rx,
            gate: gate_rx,
            tx: self.tx.clone(),
        };
        let tx = self.tx.clone();
        let id = segment.id;
        let log_type = segment.log_type;
        tokio::spawn(async move {
            // A chain that panics reports it: never a silent gap.
            let result = tokio::spawn(chain.run()).await;
            if let Err(join) = result {
                let _ = tx
                    .send(ChainMsg {
                        segment: id,
                        item: ChainItem::Failed(ExportError::Internal {
                            log_type,
                            message: join.to_string(),
                        }),
                    })
                    .await;
            }
        });
    }
}

/// One cursor chain over a segment.
struct Chain {
    shared: Arc<Shared>,
    segment: u64,
    log_type: LogType,
    start: Position,
    end: watch::Receiver<Timestamp>,
    gate: watch::Receiver<bool>,
    tx: mpsc::Sender<ChainMsg>,
}

impl Chain {
    async fn send(&self, item: ChainItem) -> bool {
        self.tx
            .send(ChainMsg {
                segment: self.segment,
                item,
            })
            .await
            .is_ok()
    }

    /// Waits until the coordinator lets this chain send its next request;
    /// false when the segment is complete meanwhile.
    async fn gate_open(&self) -> bool {
        let mut gate = self.gate.clone();
        let mut watcher = self.end.clone();
        tokio::select! {
            open = gate.wait_for(|open| *open) => open.is_ok(),
            () = async move { while watcher.changed().await.is_ok() {} } => false,
        }
    }

    async fn run(self) {
        let item = match self.fetch().await {
            Ok(()) => ChainItem::Done,
            Err(e) => ChainItem::Failed(e),
        };
        self.send(item).await;
    }

    /// Fetches the segment page by page, skipping what `start` says was
    /// delivered, recovering from expired cursors, stopping at the end
    /// (which a split may lower while the chain runs).
    async fn fetch(&self) -> Result<(), ExportError> {
        let log_type = self.log_type;
        let policy = self.shared.options.out_of_range;
        let mut query = Query::new(log_type, self.start, *self.end.borrow(), policy);
        let mut first = true;
        let mut recovered_without_progress = false;
        loop {
            if !first && !self.gate_open().await {
                return Ok(());
            }
            let Some(fetched) = self.fetch_unless_complete(&query.request).await else {
                return Ok(());
            };
            let mut page = match fetched {
                Ok(page) => page,
                Err((e @ ApiError::BadRequest { .. }, _)) if query.request.cursor.is_some() => {
                    // An expired or rejected cursor: re-query from the last
                    // entry received, skipping what was received there.
                    if recovered_without_progress {
                        return Err(ExportError::CursorLoop {
                            log_type,
                            source: e,
                        });
                    }
                    recovered_without_progress = true;
                    ExportStats::bump(&self.shared.stats.cursor_recoveries, 1);
                    tracing::warn!(%log_type, "cursor rejected, re-querying from the last entry: {e}");
                    query =
                        Query::new(log_type, query.tracker.position, *self.end.borrow(), policy);
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
            query.check(&self.shared, &mut page)?;
            if first {
                first = false;
                let total = page.total_records;
                if !self.send(ChainItem::First { total }).await {
                    return Ok(()); // cancelled
                }
            }
            let (entries, reached_end) = query.take(page.entries, *self.end.borrow());
            if !entries.is_empty() {
                recovered_without_progress = false;
                if !self.send(ChainItem::Entries(entries)).await {
                    return Ok(()); // cancelled
                }
            }
            match page.cursor {
                Some(cursor) if !reached_end => query.request.cursor = Some(cursor),
                _ => return Ok(()),
            }
        }
    }

    /// Sends `request` (with retries), unless the coordinator drops the
    /// end's sender meanwhile: the segment is complete (it saw an entry past
    /// a split boundary), and nobody needs the answer (`None`).
    async fn fetch_unless_complete(
        &self,
        request: &PageRequest,
    ) -> Option<Result<Page, (ApiError, u32)>> {
        let mut watcher = self.end.clone();
        tokio::select! {
            fetched = self.shared.fetch_with_retry(request) => Some(fetched),
            () = async move { while watcher.changed().await.is_ok() {} } => None,
        }
    }
}

/// One query of a chain: its first page starts at a [`Position`] (the
/// entries already delivered at that instant skipped by count); an expired
/// cursor starts a new one from where the last left off.
struct Query {
    request: PageRequest,
    tracker: Tracker,
    guard: ChainGuard,
    /// No page of this query has arrived yet.
    fresh: bool,
}

impl Query {
    fn new(log_type: LogType, start: Position, end: Timestamp, policy: OutOfRange) -> Self {
        Self {
            request: PageRequest {
                log_type,
                from: format_time(start.time),
                to: Some(format_time(end)),
                cursor: None,
            },
            tracker: Tracker::resume(start),
            guard: ChainGuard::new(start.time, end, policy),
            fresh: true,
        }
    }

    /// The paging guard's verdict on a page (entries it skips removed).
    fn check(&mut self, shared: &Shared, page: &mut Page) -> Result<(), ExportError> {
        if std::mem::take(&mut self.fresh) {
            // Many entries at one instant fill pages that do not move time
            // on: as many as the query's own count allows.
            if let Some(total) = page.total_records {
                let per_page = (page.entries.len() as u64).max(1);
                self.guard
                    .allow_stalled_pages(total.div_ceil(per_page).saturating_add(2));
            }
        }
        let cursor = self.request.cursor.as_deref();
        shared.guard_page(self.request.log_type, &mut self.guard, cursor, page)
    }

    /// The page's entries before `end` not delivered yet, and whether the
    /// page reached `end`.
    fn take(&mut self, page: Vec<LogEntry>, end: Timestamp) -> (Vec<LogEntry>, bool) {
        let mut entries = Vec::with_capacity(page.len());
        for entry in page {
            if entry.event_time().is_some_and(|t| t >= end) {
                return (entries, true);
            }
            if self.tracker.admit(&entry) {
                entries.push(entry);
            }
        }
        (entries, false)
    }
}

/// A running chain's pages: received, and left by its count (the one in
/// flight included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct ChainLoad {
    done: u64,
    left: u64,
}

/// The first round's correction: for each chain, the pages it keeps if it
/// should give the rest to a new chain (`None`: it keeps all). A chain keeps
/// as many pages as the chain with the fewest in all (the first round's
/// chains start together, so pages in all say who finishes last) or as one
/// chain fetches, at `rtt` seconds a page, in the time `rate` needs for every
/// page left, whichever is more.
fn rebalance_keep(chains: &[ChainLoad], rate: f64, rtt: f64) -> Vec<Option<u64>> {
    let Some(fewest) = chains.iter().map(|c| c.done + c.left).min() else {
        return Vec::new();
    };
    let left: u64 = chains.iter().map(|c| c.left).sum();
    let at_rate = if rate > 0.0 && rtt > 0.0 {
        (left as f64 / rate / rtt).round() as u64
    } else {
        u64::MAX
    };
    chains
        .iter()
        .map(|c| {
            let keep = fewest.saturating_sub(c.done).max(at_rate).max(1);
            (c.left > keep).then_some(keep)
        })
        .collect()
}

/// One time slice of the engine's first round.
struct Slice {
    type_index: usize,
    log_type: LogType,
    start: Position,
    end: Timestamp,
    /// False for a type with nothing to fetch (start at or after `to`).
    initial: bool,
}

/// The plan: a segment per type; when fewer types than chains are wanted,
/// the first type's range in equal-time slices, so that the first round of
/// requests already keeps the rate limit busy.
fn plan_slices(
    starts: &[(LogType, Position)],
    to: Timestamp,
    first_chains: usize,
    min_slice: Duration,
) -> Vec<Slice> {
    let mut slices_out = Vec::new();
    let live = starts.iter().filter(|(_, p)| p.time < to).count();
    let slices = (first_chains + 1).saturating_sub(live).max(1) as u64;
    let mut sliced = false;
    for (index, (log_type, start)) in starts.iter().enumerate() {
        if start.time >= to {
            slices_out.push(Slice {
                type_index: index,
                log_type: *log_type,
                start: *start,
                end: to,
                initial: false,
            });
            continue;
        }
        let long = Duration::try_from(to.duration_since(start.time)).is_ok_and(|d| d >= min_slice);
        let count = if sliced || !long { 1 } else { slices };
        sliced = true;
        tracing::info!(
            "{log_type}: {count} time slice(s) over {}..{to} in the first round",
            start.time
        );
        for (i, (from, until)) in split_windows(start.time, to, count).into_iter().enumerate() {
            let slice_start = if i == 0 {
                *start
            } else {
                Position {
                    time: from,
                    count: 0,
                }
            };
            slices_out.push(Slice {
                type_index: index,
                log_type: *log_type,
                start: slice_start,
                end: until,
                initial: true,
            });
        }
    }
    slices_out
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

#[cfg(test)]
mod tests {
    use super::*;

    fn load(done: u64, left: u64) -> ChainLoad {
        ChainLoad { done, left }
    }

    #[test]
    fn a_chain_with_a_page_more_than_the_others_gives_it_away() {
        // 16/15/15 pages, two received each, 1 s a page at 3/s: the first
        // chain would finish a round trip after the others.
        let keep = rebalance_keep(&[load(2, 14), load(2, 13), load(2, 13)], 3.0, 1.02);
        assert_eq!(keep, vec![Some(13), None, None]);
        // The third chain started a request later: it is not behind by a page.
        let keep = rebalance_keep(&[load(3, 13), load(3, 12), load(2, 13)], 3.0, 1.02);
        assert_eq!(keep, vec![Some(12), None, None]);
    }

    #[test]
    fn equal_chains_or_a_rate_bound_export_keep_everything() {
        let keep = rebalance_keep(&[load(2, 13), load(2, 13), load(2, 13)], 3.0, 1.02);
        assert_eq!(keep, vec![None; 3]);
        // 450 pages at 0.3 s: the rate, not the chains, sets the finish.
        let keep = rebalance_keep(&[load(2, 149), load(2, 148), load(2, 147)], 3.0, 0.3);
        assert_eq!(keep, vec![None; 3]);
        assert!(rebalance_keep(&[], 3.0, 1.0).is_empty());
    }

    #[test]
    fn a_chain_holding_most_of_the_data_keeps_what_the_rate_allows() {
        // Skewed: one slice holds 92 of the 97 pages left.
        let keep = rebalance_keep(&[load(2, 3), load(2, 92), load(2, 2)], 3.0, 1.0);
        assert_eq!(keep, vec![None, Some(32), None]);
    }

    fn segment(from: i64, to: i64) -> Segment {
        let start = Position {
            time: Timestamp::from_second(from).unwrap(),
            count: 0,
        };
        let mut s = Segment::new(
            0,
            0,
            LogType::AccessLog,
            start,
            Timestamp::from_second(to).unwrap(),
            true,
        );
        s.state = State::Running;
        s
    }

    /// Receives `n` entries ending at second `at`.
    fn receive(s: &mut Segment, n: u64, at: i64) {
        s.fetched += n;
        s.last_time = Timestamp::from_second(at).unwrap();
        s.recent.push_back((s.fetched, s.last_time));
    }

    #[test]
    fn even_data_is_cut_by_the_count_left() {
        // 1,000 entries over 10,000 s, 200 received by 2,000 s: 800 left
        // over 8,000 s; 600 of them lie before 2,000 + 6,000 s.
        let mut s = segment(0, 10_000);
        s.total = Some(1_000);
        receive(&mut s, 100, 1_000);
        receive(&mut s, 100, 2_000);
        assert!(s.splittable());
        let at = s.instant_after(600, 800).unwrap();
        assert_eq!(at.as_second(), 8_000);
    }

    #[test]
    fn bunched_data_is_cut_by_the_density_just_received() {
        // 100 entries a second lately, but 5,000 left over 90,000 s: the
        // busy stretch goes on, the half of what is left lies 25 s ahead
        // rather than 45,000 s.
        let mut s = segment(0, 100_000);
        s.total = Some(5_200);
        receive(&mut s, 100, 10_000);
        receive(&mut s, 100, 10_001);
        s.recent.pop_front();
        s.recent
            .push_front((0, Timestamp::from_second(9_999).unwrap()));
        let at = s.instant_after(2_500, 5_000).unwrap();
        assert!((10_001..=10_030).contains(&at.as_second()), "{at}");
    }

    #[test]
    fn no_whole_second_inside_is_no_split() {
        let mut s = segment(0, 1);
        s.total = Some(300);
        receive(&mut s, 100, 0);
        receive(&mut s, 100, 0);
        assert_eq!(s.instant_after(50, 100), None);
    }
}
