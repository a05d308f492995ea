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

mod chain;
mod coordinator;
mod plan;
mod segment;
mod stats;
mod types;

use std::sync::Arc;
use std::time::Duration;

use futures::{Stream, StreamExt as _};
use jiff::Timestamp;
use tokio::sync::mpsc;

use crate::client::{GongClient, Page, PageRequest};
use crate::entry::LogEntry;
use crate::error::ApiError;
use crate::guard::ChainGuard;
use crate::log_type::LogType;
use crate::retry::{Report, Requester};
use crate::throttle::Throttle;

use coordinator::Coordinator;
use plan::plan_slices;
pub use plan::split_windows;
pub use stats::{ExportStats, ExportStatsSnapshot, LastRequest};
pub use types::{Batch, Event, ExportError, ExportOptions, FollowOptions, Position, format_time};

/// Runs exports under one shared throttle and retry policy.
#[derive(Clone, Debug)]
pub struct Exporter {
    inner: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    requester: Requester,
    options: ExportOptions,
    stats: ExportStats,
}

impl Exporter {
    /// An exporter over `client`.
    pub fn new(client: GongClient, options: ExportOptions) -> Self {
        Self {
            inner: Arc::new(Shared {
                requester: Requester::new(
                    client,
                    options.rate_limit,
                    options.max_requests,
                    options.retry.clone(),
                ),
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
        self.inner.requester.budget.used()
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

impl Shared {
    /// One request with the retry policy and the shared throttle.
    async fn fetch_with_retry(&self, request: &PageRequest) -> Result<Page, (ApiError, u32)> {
        let report = Report {
            counters: self.stats.request_counters(),
            notices: self.stats.notices(),
        };
        self.requester.fetch(request, report).await
    }

    /// Checks a page with a chain's guard, counting what it skipped.
    fn guard_page(
        &self,
        log_type: LogType,
        guard: &mut ChainGuard,
        sent: Option<&str>,
        page: &mut Page,
    ) -> Result<(), ExportError> {
        let protocol = |error| ExportError::Protocol { log_type, error };
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

    /// The smoothed round-trip time, in seconds (`None` before any answer).
    fn rtt(&self) -> Option<f64> {
        self.requester.rtt.get()
    }

    fn throttle(&self) -> &Throttle {
        &self.requester.throttle
    }

    /// Chains wanted: enough to keep `rate × round-trip` requests in flight.
    fn chains_wanted(&self) -> usize {
        let cap = self.options.concurrency.max(1);
        let Some(rate) = self.throttle().current_rate() else {
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

/// Round trips shorter than this are about the CPU time of decoding a page:
/// chains ahead of the delivery then wait for memory rather than spill.
const SHORT_ROUND_TRIP: Duration = Duration::from_millis(10);
