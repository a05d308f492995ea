//! A segment: a half-open time slice of one type fetched by one chain,
//! and the estimate of where its entries left lie (the split point).

use std::collections::VecDeque;

use jiff::Timestamp;
use tokio::sync::watch;

use super::types::Position;
use crate::log_type::LogType;
use crate::spool::Spool;

#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum State {
    Waiting,
    Running,
    /// The chain is done (or was told to stop); what it sent is spooled.
    Fetched,
}

/// A half-open time slice of one type, fetched by one chain.
pub(super) struct Segment {
    pub(super) id: u64,
    pub(super) type_index: usize,
    pub(super) log_type: LogType,
    /// Where the chain starts (the first `count` entries at `time` skipped).
    pub(super) start: Position,
    /// The end (exclusive); lowered when the segment is split.
    pub(super) end: Timestamp,
    pub(super) end_tx: Option<watch::Sender<Timestamp>>,
    /// Open while the chain may send its next request (see
    /// [`Coordinator::update_gates`]).
    pub(super) gate_tx: Option<watch::Sender<bool>>,
    pub(super) state: State,
    /// One of the plan's initial slices (their totals add up to the range's).
    pub(super) initial: bool,
    /// The segment this one was split off.
    pub(super) parent: Option<u64>,
    /// `totalRecords` of the chain's first page.
    pub(super) total: Option<u64>,
    /// Entries received from the chain.
    pub(super) fetched: u64,
    /// Entries handed to segments split off this one (by their totals).
    pub(super) given_away: u64,
    /// Segments split off this one whose first page has not arrived.
    pub(super) children_pending: u32,
    /// The instant of the last entry received (or the start).
    pub(super) last_time: Timestamp,
    /// `(fetched, last_time)` after each of the last few pages: the density
    /// of the entries just received.
    pub(super) recent: VecDeque<(u64, Timestamp)>,
    pub(super) spool: Spool,
}

impl Segment {
    pub(super) fn new(
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
    pub(super) fn finish(&mut self) {
        self.state = State::Fetched;
        self.end_tx = None;
        self.gate_tx = None;
    }

    /// Whether the coordinator knows enough of this running segment to
    /// split it: its count, its children's counts, and the density of at
    /// least two pages (one page may straddle a quiet and a busy stretch).
    pub(super) fn splittable(&self) -> bool {
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
    pub(super) fn instant_after(&self, ahead: u64, remaining: u64) -> Option<Timestamp> {
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
    pub(super) fn remaining(&self) -> Option<u64> {
        let total = self.total?;
        Some(
            total
                .saturating_sub(self.start.count)
                .saturating_sub(self.fetched)
                .saturating_sub(self.given_away),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
