//! The coordinator: starts and splits chains, spools what arrives ahead of
//! the delivery, and delivers segments strictly in order, type after type.

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::atomic::Ordering;

use jiff::Timestamp;
use tokio::sync::{mpsc, watch};

use super::chain::{Chain, ChainItem, ChainMsg};
use super::plan::{ChainLoad, plan_slices, rebalance_keep};
use super::segment::{Segment, State};
use super::stats::ExportStats;
use super::types::{Batch, Event, ExportError, Position, Tracker};
use super::{SHORT_ROUND_TRIP, Shared};
use crate::entry::LogEntry;
use crate::log_type::LogType;

pub(super) struct Coordinator {
    pub(super) shared: Arc<Shared>,
    /// Segments not yet fully delivered, in delivery order.
    pub(super) segments: VecDeque<Segment>,
    /// Per type: the delivered position.
    pub(super) trackers: Vec<Tracker>,
    pub(super) types: Vec<LogType>,
    pub(super) out: mpsc::Sender<Result<Event, ExportError>>,
    pub(super) tx: mpsc::Sender<ChainMsg>,
    pub(super) rx: mpsc::Receiver<ChainMsg>,
    pub(super) next_id: u64,
    pub(super) running: usize,
    /// Entries in the fullest page seen (0: none yet).
    pub(super) page_size: u64,
    /// Initial slices whose first page has not arrived yet.
    pub(super) initial_pending: usize,
    /// Per type: `totalRecords` of its initial slices so far.
    pub(super) initial_totals: Vec<u64>,
    /// Events ready to go out, in order.
    pub(super) outbox: VecDeque<Event>,
    /// Set when a segment ended with far fewer entries than its
    /// `totalRecords` claimed: no count is trusted for splits any more.
    pub(super) totals_untrusted: bool,
    /// Splits made so far (at most [`MAX_SPLITS`]).
    pub(super) splits: u64,
    /// The correction ([`Coordinator::rebalance`]) of the round since the
    /// last initial segment started is done.
    pub(super) rebalanced: bool,
    /// Times a chain ahead of the delivery was held (memory full, the
    /// reader behind or round trips short).
    pub(super) holds: u64,
    /// Chains ahead of the delivery are held now.
    pub(super) holding: bool,
}

/// The most splits of one export, whatever the counts say.
/// The most splits of one export, whatever the counts say.
const MAX_SPLITS: u64 = 256;

impl Coordinator {
    pub(super) fn new(
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
    pub(super) fn page(&self) -> u64 {
        if self.page_size == 0 {
            100
        } else {
            self.page_size
        }
    }

    pub(super) fn log_type_of_head(&self) -> LogType {
        self.segments
            .front()
            .map(|s| s.log_type)
            .or_else(|| self.types.first().copied())
            .unwrap_or(LogType::AccessLog)
    }

    pub(super) async fn run(mut self) -> Result<(), ExportError> {
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
    pub(super) fn update_gates(&mut self) {
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
    pub(super) fn fill_outbox(&mut self) -> Result<(), ExportError> {
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

    pub(super) fn handle(&mut self, msg: ChainMsg) -> Result<(), ExportError> {
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
    pub(super) fn on_first(&mut self, index: usize, total: Option<u64>) {
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
    pub(super) fn on_entries(
        &mut self,
        index: usize,
        mut entries: Vec<LogEntry>,
    ) -> Result<(), ExportError> {
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
    pub(super) fn on_done(&mut self, index: usize) {
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
    pub(super) fn schedule(&mut self) {
        let wanted = self.shared.chains_wanted();
        // Every type's first page is useful data that tells its count, as
        // a slice's does: the types of `--type all` start together (within
        // `--concurrency`), so none is left to finish alone on one chain
        // while the rate allows more; later types' entries wait in their
        // spool, the delivery stays type after type.
        let cap = self.shared.options.concurrency.max(1);
        while self.running < cap {
            let Some(index) = self
                .segments
                .iter()
                .position(|s| s.state == State::Waiting && s.initial)
            else {
                break;
            };
            self.start(index);
        }
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
    pub(super) fn may_split(&self) -> bool {
        !self.totals_untrusted && self.splits < MAX_SPLITS && !self.holding
    }

    /// Every initial slice has answered, none waits, and every running
    /// segment's count and density are known.
    pub(super) fn all_counts_known(&self) -> bool {
        self.initial_pending == 0
            && self
                .segments
                .iter()
                .all(|s| s.state == State::Fetched || s.splittable())
    }

    /// Bytes of entries held in memory by every segment's spool.
    pub(super) fn mem_held(&self) -> usize {
        self.segments.iter().map(|s| s.spool.mem_bytes()).sum()
    }

    /// Pages left of a segment by its own count, the one in flight included.
    pub(super) fn pages_left(&self, segment: &Segment) -> u64 {
        segment.remaining().unwrap_or(0).div_ceil(self.page())
    }

    /// Pages the segment's chain has received (whole or partial).
    pub(super) fn pages_done(&self, segment: &Segment) -> u64 {
        (segment.start.count + segment.fetched).div_ceil(self.page())
    }

    /// When fewer chains run than wanted: splits the splittable segment
    /// with the most pages left so that the wanted chains share what is
    /// left evenly; false when none is worth it.
    pub(super) fn split(&mut self, wanted: usize) -> bool {
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
    pub(super) fn rebalance(&mut self) {
        let (Some(rate), Some(rtt)) = (self.shared.throttle().current_rate(), self.shared.rtt())
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
    pub(super) fn split_keeping(&mut self, index: usize, keep: u64) -> bool {
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

    pub(super) fn start(&mut self, index: usize) {
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
