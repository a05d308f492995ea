//! The pure maths of the plan: the first round's time slices
//! ([`plan_slices`], [`split_windows`]) and the once-a-round correction of
//! unequal chains ([`rebalance_keep`]). No I/O: unit-tested here.

use std::time::Duration;

use jiff::Timestamp;

use super::types::Position;
use crate::log_type::LogType;

/// A running chain's pages: received, and left by its count (the one in
/// flight included).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct ChainLoad {
    pub(super) done: u64,
    pub(super) left: u64,
}

/// The first round's correction: for each chain, the pages it keeps if it
/// should give the rest to a new chain (`None`: it keeps all). A chain keeps
/// as many pages as the chain with the fewest in all (the first round's
/// chains start together, so pages in all say who finishes last) or as one
/// chain fetches, at `rtt` seconds a page, in the time `rate` needs for every
/// page left, whichever is more.
pub(super) fn rebalance_keep(chains: &[ChainLoad], rate: f64, rtt: f64) -> Vec<Option<u64>> {
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
pub(super) struct Slice {
    pub(super) type_index: usize,
    pub(super) log_type: LogType,
    pub(super) start: Position,
    pub(super) end: Timestamp,
    /// False for a type with nothing to fetch (start at or after `to`).
    pub(super) initial: bool,
}

/// The plan: a segment per type; when fewer types than chains are wanted,
/// the first type's range in equal-time slices, so that the first round of
/// requests already keeps the rate limit busy.
pub(super) fn plan_slices(
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
}
