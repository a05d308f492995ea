//! The engine's public value types: where a type's export stands
//! ([`Position`], and the private [`Tracker`] that moves it on), what it
//! delivers ([`Batch`], [`Event`]), how it is tuned ([`ExportOptions`],
//! [`FollowOptions`]) and how it fails ([`ExportError`]).

use std::path::PathBuf;
use std::time::Duration;

use jiff::Timestamp;

use crate::entry::LogEntry;
use crate::error::ApiError;
use crate::guard::{GuardError, OutOfRange};
use crate::log_type::LogType;
use crate::retry::RetryPolicy;

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
            rate_limit: Some(crate::limits::RATE_LIMIT),
            retry: RetryPolicy::default(),
            concurrency: usize::from(crate::limits::DEFAULT_CONCURRENCY),
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
    #[error("{log_type}: {error}")]
    Api {
        /// The type being exported.
        log_type: LogType,
        /// The last failure (in the message, so not also a `source()`).
        error: ApiError,
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
    #[error("{log_type}: {error}")]
    Protocol {
        /// The type being exported.
        log_type: LogType,
        /// The rule broken (in the message, so not also a `source()`).
        error: GuardError,
    },
    /// The server gave a cursor it then rejected, repeatedly, with no progress.
    #[error("{log_type}: Gong keeps rejecting the paging cursor without progress: {error}")]
    CursorLoop {
        /// The type being exported.
        log_type: LogType,
        /// The rejection (in the message, so not also a `source()`).
        error: ApiError,
    },
    /// Entries fetched ahead could not be kept in the temporary file (the
    /// cause is in the message, not also a `source()`).
    #[error(
        "cannot keep entries fetched ahead in a temporary file: {0}; free space in the temp directory (TMPDIR) and rerun"
    )]
    Spill(std::io::Error),
}

impl ExportError {
    /// The underlying API error.
    pub fn api_error(&self) -> Option<&ApiError> {
        match self {
            Self::Api { error, .. } | Self::CursorLoop { error, .. } => Some(error),
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
pub(super) struct Tracker {
    pub(super) position: Position,
    to_skip: u64,
}

impl Tracker {
    /// Starts after `position`: the first `position.count` entries at
    /// `position.time` are skipped.
    pub(super) fn resume(position: Position) -> Self {
        Self {
            position: Position {
                time: position.time,
                count: 0,
            },
            to_skip: position.count,
        }
    }

    /// Continues counting from `position` (nothing to skip).
    pub(super) fn at(position: Position) -> Self {
        Self {
            position,
            to_skip: 0,
        }
    }

    /// Accounts for `entry`; false when it was delivered before.
    pub(super) fn admit(&mut self, entry: &LogEntry) -> bool {
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

#[cfg(test)]
mod tests {
    use super::*;

    /// What a chain printer (anyhow's `{:#}`, `Report`) shows: each cause
    /// once. An error whose message already holds its cause does not also
    /// return it from `source()`.
    fn chain(e: &dyn std::error::Error) -> String {
        let mut text = e.to_string();
        let mut next = e.source();
        while let Some(cause) = next {
            text = format!("{text}: {cause}");
            next = cause.source();
        }
        text
    }

    #[test]
    fn a_chain_printer_shows_the_cause_once() {
        let rule = GuardError::RepeatedCursor { page: 2 };
        let e = ExportError::Protocol {
            log_type: LogType::AccessLog,
            error: rule.clone(),
        };
        let printed = chain(&e);
        assert_eq!(printed.matches(&rule.to_string()).count(), 1, "{printed}");
        assert_eq!(printed, e.to_string());
    }
}
