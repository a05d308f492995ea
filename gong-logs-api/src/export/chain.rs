//! One cursor chain over a segment, and the query it pages through
//! (cursor-expiry recovery, skipping by count, the paging guard).

use std::sync::Arc;

use jiff::Timestamp;
use tokio::sync::{mpsc, watch};

use super::Shared;
use super::stats::ExportStats;
use super::types::{ExportError, Position, Tracker, format_time};
use crate::client::{Page, PageRequest};
use crate::entry::LogEntry;
use crate::error::ApiError;
use crate::guard::{ChainGuard, OutOfRange};
use crate::log_type::LogType;

/// What a chain reports to the coordinator.
pub(super) enum ChainItem {
    /// The chain's first page arrived: `totalRecords` of its query.
    First { total: Option<u64> },
    /// Entries, in order, already filtered of what the chain skipped.
    Entries(Vec<LogEntry>),
    /// The chain reached the end of its segment.
    Done,
    /// The chain failed for good.
    Failed(ExportError),
}

pub(super) struct ChainMsg {
    pub(super) segment: u64,
    pub(super) item: ChainItem,
}

/// One cursor chain over a segment.
pub(super) struct Chain {
    pub(super) shared: Arc<Shared>,
    pub(super) segment: u64,
    pub(super) log_type: LogType,
    pub(super) start: Position,
    pub(super) end: watch::Receiver<Timestamp>,
    pub(super) gate: watch::Receiver<bool>,
    pub(super) tx: mpsc::Sender<ChainMsg>,
}

impl Chain {
    pub(super) async fn send(&self, item: ChainItem) -> bool {
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
    pub(super) async fn gate_open(&self) -> bool {
        let mut gate = self.gate.clone();
        let mut watcher = self.end.clone();
        tokio::select! {
            open = gate.wait_for(|open| *open) => open.is_ok(),
            () = async move { while watcher.changed().await.is_ok() {} } => false,
        }
    }

    pub(super) async fn run(self) {
        let item = match self.fetch().await {
            Ok(()) => ChainItem::Done,
            Err(e) => ChainItem::Failed(e),
        };
        self.send(item).await;
    }

    /// Fetches the segment page by page, skipping what `start` says was
    /// delivered, recovering from expired cursors, stopping at the end
    /// (which a split may lower while the chain runs).
    pub(super) async fn fetch(&self) -> Result<(), ExportError> {
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
                        return Err(ExportError::CursorLoop { log_type, error: e });
                    }
                    recovered_without_progress = true;
                    ExportStats::bump(&self.shared.stats.cursor_recoveries, 1);
                    tracing::warn!(%log_type, "cursor rejected, re-querying from the last entry: {e}");
                    query =
                        Query::new(log_type, query.tracker.position, *self.end.borrow(), policy);
                    continue;
                }
                Err((error, attempts)) => {
                    return Err(ExportError::Api {
                        log_type,
                        error,
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
    pub(super) async fn fetch_unless_complete(
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
pub(super) struct Query {
    pub(super) request: PageRequest,
    pub(super) tracker: Tracker,
    pub(super) guard: ChainGuard,
    /// No page of this query has arrived yet.
    pub(super) fresh: bool,
    /// Occurrence numbers at the current instant, skipped entries included
    /// (a query starts at a whole instant: a slice boundary, or a position
    /// whose delivered entries it re-reads and skips).
    occurrences: Occurrences,
}

/// How many byte-identical entries were seen at one instant.
#[derive(Default)]
struct Occurrences {
    time: Option<Timestamp>,
    seen: std::collections::HashMap<Box<str>, u64>,
}

impl Occurrences {
    fn number(&mut self, entry: &mut LogEntry) {
        let Some(t) = entry.event_time() else { return };
        if self.time != Some(t) {
            self.time = Some(t);
            self.seen.clear();
        }
        let n = self.seen.entry(entry.json().into()).or_insert(0);
        entry.set_occurrence(*n);
        *n += 1;
    }
}

impl Query {
    pub(super) fn new(
        log_type: LogType,
        start: Position,
        end: Timestamp,
        policy: OutOfRange,
    ) -> Self {
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
            occurrences: Occurrences::default(),
        }
    }

    /// The paging guard's verdict on a page (entries it skips removed).
    pub(super) fn check(&mut self, shared: &Shared, page: &mut Page) -> Result<(), ExportError> {
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
    pub(super) fn take(&mut self, page: Vec<LogEntry>, end: Timestamp) -> (Vec<LogEntry>, bool) {
        let mut entries = Vec::with_capacity(page.len());
        for mut entry in page {
            if entry.event_time().is_some_and(|t| t >= end) {
                return (entries, true);
            }
            self.occurrences.number(&mut entry);
            if self.tracker.admit(&entry) {
                entries.push(entry);
            }
        }
        (entries, false)
    }
}
