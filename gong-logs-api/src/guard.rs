//! Paging sanity for one cursor chain, independent of any engine.
//!
//! A [`ChainGuard`] is fed every page of one query (`[from, to)` followed
//! by its cursors), before any of the page's entries is delivered, and says
//! whether the server is behaving:
//!
//! - a cursor must never come back (a server that hands the same cursor
//!   again would be paged forever);
//! - a page that hands a new cursor must add an entry past what the chain
//!   has delivered: the same page again, or a bounded number of pages in a
//!   row that add nothing, mean the server is looping;
//! - every entry must have an `eventTime` that is an ISO-8601 time with an
//!   offset, lie in `[from, to)`, and none may go back in time;
//! - a page that hands a new cursor must hold an entry: at most
//!   [`MAX_EMPTY_PAGES`] in a row may not, whatever `totalRecords` says.
//!
//! Entries without a valid time, out-of-range and backwards entries are
//! errors, or, with [`OutOfRange::Skip`], removed from the page and counted.
//! Every entry that passes has an `event_time()`.

use std::collections::HashSet;
use std::hash::{Hash as _, Hasher as _};

use jiff::Timestamp;

use crate::entry::LogEntry;

/// Pages in a row that may hand a new cursor without any entry past the
/// chain's last instant (many entries at one instant can fill a page or
/// two; never this many).
pub const MAX_STALLED_PAGES: u32 = 16;

/// Pages in a row that may hand a new cursor without any entry at all
/// (after skipped ones are removed), whatever the server's `totalRecords`
/// says: Gong answers an empty range with a 404, so even one such page is
/// odd; three are a server paging nothing, burning the quota.
pub const MAX_EMPTY_PAGES: u32 = 3;

/// What to do with an entry without a valid time, outside the window or
/// going back in time.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum OutOfRange {
    /// Stop the export with [`GuardError`] (the default).
    #[default]
    Error,
    /// Leave the entry out, and count it.
    Skip,
}

/// The server broke a paging rule.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum GuardError {
    /// A cursor came back.
    #[error(
        "the server is looping: page {page} of a query handed back a cursor it had already given; stopped so that nothing is written twice"
    )]
    RepeatedCursor {
        /// Pages of this chain so far, this one included.
        page: u64,
    },
    /// Pages in a row with a new cursor and no entry at all.
    #[error(
        "the server is looping: {pages} page(s) in a row handed a new cursor but no entry; stopped so that the request quota is not used up"
    )]
    EmptyPages {
        /// Pages in a row without an entry.
        pages: u32,
    },
    /// Pages without progress.
    #[error(
        "the server is looping: {pages} page(s) in a row handed a new cursor but no entry after {at}; stopped so that nothing is written twice"
    )]
    NoProgress {
        /// Pages in a row without progress.
        pages: u32,
        /// The last instant delivered.
        at: Timestamp,
    },
    /// An entry outside `[from, to)`.
    #[error("the server sent an entry at {time}, outside the requested range [{from}, {to})")]
    OutOfRange {
        /// The entry's `eventTime`.
        time: Timestamp,
        /// The window's start.
        from: Timestamp,
        /// The window's end (exclusive).
        to: Timestamp,
    },
    /// An entry whose `eventTime` is missing or not an ISO-8601 time with
    /// an offset.
    #[error(
        "the server sent an entry whose eventTime ({value}) is not an ISO-8601 time with an offset"
    )]
    BadTime {
        /// The `eventTime` as sent (its JSON text, cut), or `missing`.
        value: String,
    },
    /// A page whose `records.currentPageSize` is missing or disagrees with
    /// the entries it holds (a page without `logEntries` holds none).
    #[error(
        "the server sent a page whose records.currentPageSize ({}) disagrees with its logEntries ({got} entries; a missing logEntries holds none): it is not Gong's page",
        claimed.map_or_else(|| "missing".to_owned(), |n| n.to_string())
    )]
    PageSize {
        /// `records.currentPageSize`, if sent.
        claimed: Option<u64>,
        /// Entries in `logEntries`.
        got: u64,
    },
    /// An entry earlier than the one before it.
    #[error(
        "the server sent entries out of order: an entry at {time} came after one at {previous}"
    )]
    Backwards {
        /// The entry's `eventTime`.
        time: Timestamp,
        /// The `eventTime` of the entry before it.
        previous: Timestamp,
    },
}

/// Checks the pages of one cursor chain over `[from, to)`.
#[derive(Debug)]
pub struct ChainGuard {
    from: Timestamp,
    to: Timestamp,
    policy: OutOfRange,
    /// The latest instant accepted so far.
    last: Option<Timestamp>,
    cursors: HashSet<u64>,
    pages: u64,
    stalled: u32,
    /// Pages in a row with a cursor and no entry.
    empty: u32,
    /// Pages in a row allowed without progress.
    stall_limit: u32,
    previous_page: Option<u64>,
}

fn hash_of(text: &str) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    text.hash(&mut h);
    h.finish()
}

fn hash_page(entries: &[LogEntry]) -> u64 {
    let mut h = std::collections::hash_map::DefaultHasher::new();
    for e in entries {
        e.json().hash(&mut h);
    }
    h.finish()
}

impl ChainGuard {
    /// A guard for a chain querying `[from, to)`.
    pub fn new(from: Timestamp, to: Timestamp, policy: OutOfRange) -> Self {
        Self {
            from,
            to,
            policy,
            last: None,
            cursors: HashSet::new(),
            pages: 0,
            stalled: 0,
            empty: 0,
            stall_limit: MAX_STALLED_PAGES,
            previous_page: None,
        }
    }

    /// Allows up to `pages` pages in a row without an entry past the last
    /// instant (at least [`MAX_STALLED_PAGES`], at most a day of Gong's
    /// quota, 10,000): the query's own `totalRecords` says how many entries
    /// may share one instant (10,000 entries in one second fill 100 pages).
    /// Pages with no entry at all never get more than [`MAX_EMPTY_PAGES`].
    pub fn allow_stalled_pages(&mut self, pages: u64) {
        self.stall_limit = u32::try_from(pages.clamp(u64::from(MAX_STALLED_PAGES), 10_000))
            .unwrap_or(MAX_STALLED_PAGES);
    }

    /// Checks that a page (a 200, not Gong's 404 for an empty range) holds
    /// as many entries as its `records.currentPageSize` says: Gong documents
    /// it as "the number of records in the current page" and sends it on
    /// every page; a page that lost its entries (no `logEntries`) must not
    /// pass for an empty one.
    pub fn check_page_size(claimed: Option<u64>, got: usize) -> Result<(), GuardError> {
        let got = got as u64;
        if claimed == Some(got) {
            return Ok(());
        }
        Err(GuardError::PageSize { claimed, got })
    }

    /// Checks one page: `sent` is the cursor the request carried, `next`
    /// the page's cursor, `entries` its entries (out-of-range and backwards
    /// ones are removed under [`OutOfRange::Skip`]). Returns how many
    /// entries were skipped.
    pub fn check(
        &mut self,
        sent: Option<&str>,
        next: Option<&str>,
        entries: &mut Vec<LogEntry>,
    ) -> Result<u64, GuardError> {
        self.pages += 1;
        if let Some(sent) = sent {
            self.cursors.insert(hash_of(sent));
        }
        if let Some(next) = next
            && (sent == Some(next) || !self.cursors.insert(hash_of(next)))
        {
            return Err(GuardError::RepeatedCursor { page: self.pages });
        }
        let before = self.last;
        let page_hash = hash_page(entries);
        // The very same page again (at least 10 entries: a few identical
        // entries in a row are legitimate, a page of them twice is not).
        if next.is_some() && entries.len() >= 10 && self.previous_page == Some(page_hash) {
            // The very same entries again, with a fresh cursor.
            return Err(GuardError::NoProgress {
                pages: self.stalled + 1,
                at: before.unwrap_or(self.from),
            });
        }
        self.previous_page = Some(page_hash);

        let skipped = self.check_entries(entries)?;
        self.check_not_empty(next.is_some(), entries.is_empty())?;

        let advanced = match (before, self.last) {
            (_, None) => false,
            (None, Some(_)) => !entries.is_empty(),
            (Some(b), Some(l)) => l > b,
        };
        if next.is_some() && !advanced {
            self.stalled += 1;
            if self.stalled >= self.stall_limit {
                return Err(GuardError::NoProgress {
                    pages: self.stalled,
                    at: self.last.unwrap_or(self.from),
                });
            }
        } else {
            self.stalled = 0;
        }
        Ok(skipped)
    }

    /// Checks each entry's time (valid, in `[from, to)`, not before the
    /// last): an error, or under [`OutOfRange::Skip`] the entry removed and
    /// counted. Moves the last instant on only when the page passes.
    fn check_entries(&mut self, entries: &mut Vec<LogEntry>) -> Result<u64, GuardError> {
        let mut skipped = 0u64;
        let mut failure = None;
        let (from, to, policy) = (self.from, self.to, self.policy);
        let mut last = self.last;
        entries.retain(|entry| {
            if failure.is_some() {
                return true;
            }
            let problem = match entry.event_time() {
                None => Err(GuardError::BadTime {
                    value: entry
                        .event_time_text()
                        .unwrap_or_else(|| "missing".to_owned()),
                }),
                Some(time) if time < from || time >= to => {
                    Err(GuardError::OutOfRange { time, from, to })
                }
                Some(time) => match last.filter(|p| time < *p) {
                    Some(previous) => Err(GuardError::Backwards { time, previous }),
                    None => Ok(time),
                },
            };
            match (problem, policy) {
                (Ok(time), _) => {
                    last = Some(time);
                    true
                }
                (Err(_), OutOfRange::Skip) => {
                    skipped += 1;
                    false
                }
                (Err(e), OutOfRange::Error) => {
                    failure = Some(e);
                    true
                }
            }
        });
        if let Some(e) = failure {
            return Err(e);
        }
        self.last = last;
        Ok(skipped)
    }

    /// Counts pages in a row that hand a cursor but hold no entry.
    fn check_not_empty(&mut self, has_next: bool, empty: bool) -> Result<(), GuardError> {
        if !(has_next && empty) {
            self.empty = 0;
            return Ok(());
        }
        self.empty += 1;
        if self.empty >= MAX_EMPTY_PAGES {
            return Err(GuardError::EmptyPages { pages: self.empty });
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(time: &str) -> LogEntry {
        LogEntry::from_json(&format!(r#"{{"eventTime":"{time}","n":1}}"#)).unwrap()
    }

    fn t(text: &str) -> Timestamp {
        text.parse().unwrap()
    }

    fn guard(policy: OutOfRange) -> ChainGuard {
        ChainGuard::new(t("2024-01-01T00:00:00Z"), t("2024-01-02T00:00:00Z"), policy)
    }

    #[test]
    fn a_good_chain_passes() {
        let mut g = guard(OutOfRange::Error);
        let mut p1 = vec![entry("2024-01-01T00:00:00Z"), entry("2024-01-01T01:00:00Z")];
        assert_eq!(g.check(None, Some("a"), &mut p1), Ok(0));
        let mut p2 = vec![entry("2024-01-01T01:00:00Z"), entry("2024-01-01T02:00:00Z")];
        assert_eq!(g.check(Some("a"), Some("b"), &mut p2), Ok(0));
        let mut p3 = vec![entry("2024-01-01T23:59:59.999Z")];
        assert_eq!(g.check(Some("b"), None, &mut p3), Ok(0));
    }

    #[test]
    fn a_repeated_cursor_is_looping() {
        let mut g = guard(OutOfRange::Error);
        let mut p = vec![entry("2024-01-01T00:00:00Z")];
        g.check(None, Some("a"), &mut p).unwrap();
        let mut p = vec![entry("2024-01-01T01:00:00Z")];
        assert!(matches!(
            g.check(Some("a"), Some("a"), &mut p),
            Err(GuardError::RepeatedCursor { page: 2 })
        ));
        let mut g = guard(OutOfRange::Error);
        g.check(None, Some("a"), &mut vec![entry("2024-01-01T00:00:00Z")])
            .unwrap();
        g.check(
            Some("a"),
            Some("b"),
            &mut vec![entry("2024-01-01T00:00:01Z")],
        )
        .unwrap();
        assert!(
            g.check(
                Some("b"),
                Some("a"),
                &mut vec![entry("2024-01-01T00:00:02Z")]
            )
            .is_err()
        );
    }

    #[test]
    fn the_same_page_again_is_looping() {
        let mut g = guard(OutOfRange::Skip);
        let page = || {
            let mut p = vec![entry("2024-01-01T00:00:00Z"); 9];
            p.push(entry("2024-01-01T00:00:05Z"));
            p
        };
        g.check(None, Some("a"), &mut page()).unwrap();
        let err = g.check(Some("a"), Some("b"), &mut page()).unwrap_err();
        assert!(err.to_string().contains("looping"), "{err}");
    }

    #[test]
    fn a_few_identical_entries_in_a_row_are_legitimate() {
        // Pages of one entry, the same entry twice (Gong has no entry ids,
        // and two identical entries are two).
        let mut g = guard(OutOfRange::Error);
        let page = || vec![entry("2024-01-01T00:00:00Z")];
        g.check(None, Some("a"), &mut page()).unwrap();
        g.check(Some("a"), Some("b"), &mut page()).unwrap();
        g.check(Some("b"), None, &mut page()).unwrap();
    }

    #[test]
    fn a_count_allows_many_pages_at_one_instant() {
        // 10,000 entries in one second: 100 pages that do not move time on.
        let mut g = guard(OutOfRange::Error);
        g.allow_stalled_pages(102);
        for i in 0..100u32 {
            let sent = (i > 0).then(|| format!("c{i}"));
            let mut p: Vec<LogEntry> = (0..100)
                .map(|k| {
                    LogEntry::from_json(&format!(
                        r#"{{"eventTime":"2024-01-01T00:00:00Z","n":{}}}"#,
                        i * 100 + k
                    ))
                    .unwrap()
                })
                .collect();
            let next = (i < 99).then(|| format!("c{}", i + 1));
            g.check(sent.as_deref(), next.as_deref(), &mut p).unwrap();
        }
    }

    #[test]
    fn pages_without_progress_are_bounded() {
        let mut g = guard(OutOfRange::Error);
        let mut result = Ok(0);
        for i in 0..MAX_STALLED_PAGES + 1 {
            let sent = (i > 0).then(|| format!("c{i}"));
            // Distinct entries (n differs), all at one instant.
            let mut p = vec![
                LogEntry::from_json(&format!(
                    r#"{{"eventTime":"2024-01-01T00:00:00Z","n":{i}}}"#
                ))
                .unwrap(),
            ];
            result = g.check(sent.as_deref(), Some(&format!("c{}", i + 1)), &mut p);
            if result.is_err() {
                break;
            }
        }
        assert!(
            matches!(result, Err(GuardError::NoProgress { .. })),
            "{result:?}"
        );
    }

    #[test]
    fn empty_pages_are_bounded_whatever_the_count() {
        let mut g = guard(OutOfRange::Error);
        g.allow_stalled_pages(1_000_000);
        let mut results = Vec::new();
        for i in 0..MAX_EMPTY_PAGES {
            let sent = (i > 0).then(|| format!("c{i}"));
            results.push(g.check(sent.as_deref(), Some(&format!("c{}", i + 1)), &mut vec![]));
        }
        assert_eq!(results[..2], [Ok(0), Ok(0)]);
        assert_eq!(results[2], Err(GuardError::EmptyPages { pages: 3 }));
        // An entry in between starts the count again; skipped entries do
        // not count as entries.
        let mut g = guard(OutOfRange::Skip);
        g.check(None, Some("a"), &mut vec![]).unwrap();
        g.check(
            Some("a"),
            Some("b"),
            &mut vec![entry("2024-01-01T00:00:00Z")],
        )
        .unwrap();
        g.check(Some("b"), Some("c"), &mut vec![]).unwrap();
        g.check(
            Some("c"),
            Some("d"),
            &mut vec![entry("2023-01-01T00:00:00Z")],
        )
        .unwrap();
        assert!(matches!(
            g.check(Some("d"), Some("e"), &mut vec![]),
            Err(GuardError::EmptyPages { pages: 3 })
        ));
        // The last page (no cursor) may be empty.
        let mut g = guard(OutOfRange::Error);
        g.check(None, Some("a"), &mut vec![]).unwrap();
        g.check(Some("a"), Some("b"), &mut vec![]).unwrap();
        g.check(Some("b"), None, &mut vec![]).unwrap();
    }

    #[test]
    fn an_event_time_that_does_not_parse_is_an_error_or_skipped() {
        for value in [
            r#""2024-01-01T10:00:00""#,
            "null",
            "123",
            r#""""#,
            r#""garbage""#,
            r#"{"at":"2024-01-01T10:00:00Z"}"#,
            r#""2024-01-01T10:00:00.1234567891Z""#,
            r#""2024-W01-1T10:00:00Z""#,
            r#""2024-001T10:00:00Z""#,
            r#"["2024-01-01T10:00:00Z"]"#,
        ] {
            let bad = LogEntry::from_json(&format!(r#"{{"eventTime":{value},"n":1}}"#)).unwrap();
            let page = vec![entry("2024-01-01T01:00:00Z"), bad];
            let err = guard(OutOfRange::Error)
                .check(None, None, &mut page.clone())
                .unwrap_err();
            assert_eq!(
                err,
                GuardError::BadTime {
                    value: value.to_owned()
                },
                "{value}"
            );
            assert!(
                err.to_string()
                    .contains("not an ISO-8601 time with an offset")
            );
            let mut p = page.clone();
            assert_eq!(guard(OutOfRange::Skip).check(None, None, &mut p), Ok(1));
            assert_eq!(p, page[..1]);
        }
        let missing = LogEntry::from_json(r#"{"n":1}"#).unwrap();
        let err = guard(OutOfRange::Error)
            .check(None, None, &mut vec![missing])
            .unwrap_err();
        assert!(err.to_string().contains("(missing)"), "{err}");
        // A long value is cut.
        let long = format!(r#"{{"eventTime":"{}"}}"#, "x".repeat(10_000));
        let err = guard(OutOfRange::Error)
            .check(None, None, &mut vec![LogEntry::from_json(&long).unwrap()])
            .unwrap_err();
        assert!(err.to_string().len() < 200, "{err}");
    }

    #[test]
    fn a_page_holds_what_its_page_size_says() {
        assert_eq!(ChainGuard::check_page_size(Some(2), 2), Ok(()));
        assert_eq!(ChainGuard::check_page_size(Some(0), 0), Ok(()));
        for (claimed, got) in [(Some(1), 0), (Some(99), 100), (None, 0), (None, 3)] {
            let err = ChainGuard::check_page_size(claimed, got).unwrap_err();
            assert!(err.to_string().contains("currentPageSize"), "{err}");
            assert!(err.to_string().contains("logEntries"), "{err}");
        }
    }

    #[test]
    fn out_of_range_and_backwards_entries() {
        for (page, is_range) in [
            (vec![entry("2023-12-31T23:59:59Z")], true),
            (vec![entry("2024-01-02T00:00:00Z")], true),
            (vec![entry("2999-01-01T00:00:00Z")], true),
            (
                vec![entry("2024-01-01T05:00:00Z"), entry("2024-01-01T04:00:00Z")],
                false,
            ),
        ] {
            let mut p = page.clone();
            let err = guard(OutOfRange::Error)
                .check(None, None, &mut p)
                .unwrap_err();
            assert_eq!(
                matches!(err, GuardError::OutOfRange { .. }),
                is_range,
                "{err}"
            );
            let mut p = page.clone();
            let skipped = guard(OutOfRange::Skip).check(None, None, &mut p).unwrap();
            assert_eq!(skipped, 1);
            assert_eq!(p.len(), page.len() - 1);
        }
    }
}
