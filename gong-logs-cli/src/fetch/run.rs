//! The export loop: one `Exporter`, its events written through the writer
//! into the sink, the checkpoint committed after each batch; `--follow`'s
//! rounds on the same exporter; the stop on a signal, a failure or the end.

use std::io::IsTerminal as _;
use std::time::Instant;

use anyhow::anyhow;
use futures::{Stream, StreamExt as _};
use gong_logs_api::export::{Batch, Event, ExportError, Exporter, FollowOptions, Position};
use gong_logs_api::{GongClient, LogType, human_duration};
use jiff::Timestamp;

use super::plan::Plan;
use super::signals::{Sig, Signals};
use super::warnings::{clock_warning, quota_warning};
use crate::connect::{self, Threads};
use crate::exit::{self, FAILURE, Failure, INTERRUPTED, Result, api::export_failure};
use crate::files::checkpoint::Checkpoint;
use crate::output::sink::Sink;
use crate::output::{self, EntryWriter};
use crate::progress::{self, Progress};

/// Runs the export on a two-thread runtime, with the progress line unless
/// quiet, verbose or not on a terminal.
pub(crate) fn export(
    plan: &Plan,
    client: GongClient,
    sink: Sink,
    state: Checkpoint,
    resumed: bool,
    verbose: u8,
    quiet: bool,
) -> Result<()> {
    let runtime = connect::runtime(Threads::Two)?;
    // No bar in JSON: a log shipper needs whole lines.
    let show_bar = !quiet
        && verbose == 0
        && std::io::stderr().is_terminal()
        && crate::diag::format() == crate::diag::LogFormat::Text;
    let host = client.host().to_owned();
    runtime.block_on(async {
        let exporter = Exporter::new(client, plan.options.clone());
        let monitor = start_metrics(plan, &state, &exporter, quiet)?;
        let progress = Progress::start(&exporter, show_bar);
        let mut run = Run {
            writer: output::writer_with(
                plan.format,
                plan.fields.clone(),
                table_width(),
                plan.csv_safe,
            ),
            stdout_tty: matches!(sink, Sink::Stdout) && std::io::stdout().is_terminal(),
            earlier: if resumed { state.entries } else { 0 },
            this_run: vec![0; plan.types.len()],
            plan,
            sink: Some(sink),
            state,
            exporter,
            progress,
            buf: Vec::new(),
            signals: Signals::new()?,
            host,
            quota_checked: false,
            warned_wait: None,
            skew_warned: false,
            footer: false,
            quiet,
            monitor,
        };
        run.execute(resumed, quiet).await
    })
}

/// The metrics of `--metrics-listen` / `--metrics-file` (a monitor that
/// keeps nothing when neither is given), from the positions of `state`.
fn start_metrics(
    plan: &Plan,
    state: &Checkpoint,
    exporter: &Exporter,
    quiet: bool,
) -> Result<crate::metrics::Monitor> {
    let positions = plan
        .types
        .iter()
        .zip(&state.types)
        .map(|(t, s)| (*t, if s.done { plan.to } else { s.position.time }))
        .collect();
    let interval = plan.follow.unwrap_or(crate::defaults::INTERVAL);
    let (monitor, served) = plan.metrics.start(exporter, positions, interval)?;
    if let Some(addr) = served
        && !quiet
    {
        crate::diag::note(&format!(
            "serving metrics on http://{addr}/metrics and health on http://{addr}/healthz"
        ));
    }
    Ok(monitor)
}

pub(crate) fn table_width() -> Option<usize> {
    if std::io::stdout().is_terminal()
        && let Some((w, _)) = terminal_size::terminal_size()
    {
        return Some(usize::from(w.0));
    }
    crate::env::var("COLUMNS")
        .and_then(|c| c.parse().ok())
        .filter(|w| *w > 0)
}

/// Why pumping a type stopped.
enum Stop {
    /// The range is exported.
    Done,
    /// `--limit` reached.
    Limit,
    /// SIGINT/SIGTERM/SIGHUP.
    Interrupted(Sig),
    /// Stdout was closed by the reader.
    Closed,
}

struct Run<'a> {
    plan: &'a Plan,
    exporter: Exporter,
    writer: Box<dyn EntryWriter>,
    sink: Option<Sink>,
    state: Checkpoint,
    progress: Progress,
    buf: Vec<u8>,
    signals: Signals,
    stdout_tty: bool,
    earlier: u64,
    this_run: Vec<u64>,
    /// The base URL's host, named in every failure.
    host: String,
    /// Whether the daily-quota estimate was looked at (once per run).
    quota_checked: bool,
    /// The end of the last long wait warned about.
    warned_wait: Option<Timestamp>,
    /// Whether the clock skew was warned about (once per run).
    skew_warned: bool,
    /// The last write of the run (the footer) is under way.
    footer: bool,
    quiet: bool,
    /// What `--metrics-listen` / `--metrics-file` show.
    monitor: crate::metrics::Monitor,
}

impl Run<'_> {
    fn sink(&mut self) -> &mut Sink {
        self.sink.as_mut().expect("sink present until the end")
    }

    /// Writes the buffer; `Ok(false)` when stdout's reader went away.
    fn emit(&mut self) -> Result<bool> {
        self.emit_counted().map(|cut| cut.is_none())
    }

    /// Writes the buffer; `Ok(Some(n))` when stdout's reader went away
    /// after it took the first `n` bytes (so the summary counts only the
    /// entries that reached it), `Ok(None)` when all was written.
    fn emit_counted(&mut self) -> Result<Option<usize>> {
        if !self.buf.is_empty() {
            let footer = self.footer;
            self.sink().check_in_place(footer)?;
        }
        let bytes = std::mem::take(&mut self.buf);
        let tty = self.stdout_tty;
        let progress = &self.progress;
        let sink = self.sink.as_mut().expect("sink present");
        let mut accepted = 0;
        let result = if matches!(sink, Sink::Stdout) {
            let mut write = || write_stdout_counting(&bytes, &mut accepted);
            if tty {
                progress.suspend(write)
            } else {
                write()
            }
        } else if tty {
            progress.suspend(|| sink.write(&bytes))
        } else {
            sink.write(&bytes)
        };
        self.buf = bytes;
        self.buf.clear();
        match result {
            Ok(()) => Ok(None),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(Some(accepted)),
            Err(e) => {
                let target = self.sink().describe().unwrap_or_else(|| "stdout".into());
                Err(Failure::new(
                    FAILURE,
                    anyhow!(e).context(format!("cannot write to {target}")),
                ))
            }
        }
    }

    fn commit(&mut self) -> Result<()> {
        let sink = self.sink.as_mut().expect("sink present");
        if let Some(r) = sink.resumable() {
            r.checkpoint.types.clone_from(&self.state.types);
            r.checkpoint.entries = self.state.entries;
        }
        sink.commit()
    }

    /// Once the first pages have told how much there is: a warning when
    /// the export needs more requests than Gong's daily quota.
    fn check_quota(&mut self) {
        if self.quota_checked {
            return;
        }
        let estimate = self.exporter.stats().estimated_requests();
        if estimate == 0 {
            return;
        }
        self.quota_checked = true;
        if let Some(warning) = quota_warning(estimate, self.plan.options.rate_limit)
            && !self.quiet
        {
            self.progress.suspend(|| crate::diag::warn(&warning));
        }
    }

    /// What the engine noted for the user: a long `Retry-After` being
    /// waited out (`--follow`), a server clock far from ours (once).
    fn notices(&mut self) {
        let notices = self.exporter.stats().notices();
        let mut warnings = Vec::new();
        if let Some(wait) = notices.long_wait()
            && self.warned_wait.is_none_or(|until| wait.until > until)
        {
            self.warned_wait = Some(wait.until);
            warnings.push(format!(
                "Gong asked to wait {} (until {}), longer than --max-wait ({}): waiting, as --follow does (Ctrl-C stops; the next run continues from the checkpoint with -o FILE)",
                human_duration(wait.wait),
                wait.until,
                human_duration(wait.bound)
            ));
        }
        if !self.skew_warned
            && let Some(warning) = notices.clock_skew().and_then(clock_warning)
        {
            self.skew_warned = true;
            warnings.push(warning);
        }
        if !self.quiet {
            for warning in warnings {
                self.progress
                    .suspend(|| crate::diag::warn(&exit::redact(&warning)));
            }
        }
    }

    fn remaining(&self) -> Option<u64> {
        self.plan
            .limit
            .map(|l| l.saturating_sub(self.state.entries))
    }

    async fn execute(&mut self, resumed: bool, quiet: bool) -> Result<()> {
        let started = Instant::now();
        if resumed {
            self.writer.resumed(self.state.entries);
        } else {
            self.writer.header(&mut self.buf);
            if !self.emit()? {
                return self.complete(false, started, quiet);
            }
            self.commit()?;
        }
        match self.all_types().await {
            Ok(Stop::Done | Stop::Limit) => self.complete(true, started, quiet),
            Ok(Stop::Closed) => self.complete(false, started, quiet),
            Ok(Stop::Interrupted(sig)) => Err(self.interrupted(sig)),
            Err(failure) => Err(self.failed(failure)),
        }
    }

    /// Stops on SIGINT/SIGTERM/SIGHUP: the sink is abandoned (a resumable
    /// one kept for `--resume`), and the message says what is left.
    fn interrupted(&mut self, sig: Sig) -> Failure {
        self.progress.finish();
        self.monitor.finish();
        let target = self.sink().describe();
        let resumable = self.sink().resumable().is_some();
        if let Some(sink) = self.sink.take() {
            sink.abort();
        }
        let what = match sig {
            Sig::Stop => "interrupted",
            Sig::Hangup => "interrupted (SIGHUP)",
        };
        let message = match (resumable, target) {
            (true, _) => format!("{what}; rerun the same command with --resume to continue"),
            (false, Some(target)) => format!("{what}; {target} was not written"),
            (false, None) => what.to_owned(),
        };
        Failure::new(INTERRUPTED, anyhow!(message))
    }

    /// Stops on `failure`: the sink is abandoned, and the message gains
    /// what to do about the output.
    fn failed(&mut self, failure: Failure) -> Failure {
        self.progress.finish();
        self.monitor.failed(&failure.message());
        let resumable = self.sink().resumable().is_some();
        let target = self.sink().describe();
        if let Some(sink) = self.sink.take() {
            sink.abort();
        }
        // A rotated FILE's message already says how to continue.
        if failure
            .error
            .downcast_ref::<crate::output::sink::Rotated>()
            .is_some()
        {
            return failure;
        }
        let hint = if resumable {
            Some("rerun the same command with --resume to continue where it stopped".to_owned())
        } else {
            target.map(|t| format!("{t} was not written"))
        };
        match hint {
            Some(hint) => Failure::new(failure.code, anyhow!("{}; {hint}", failure.message())),
            None => failure,
        }
    }

    /// Writes the footer, completes the sink, prints the summary.
    fn complete(&mut self, footer: bool, started: Instant, quiet: bool) -> Result<()> {
        if footer {
            self.writer.flush(&mut self.buf);
            self.writer.footer(&mut self.buf);
            self.footer = true;
            self.emit()?;
        }
        self.progress.finish();
        let sink = self.sink.take().expect("sink present");
        let target = sink.describe();
        sink.finish()?;
        self.monitor.finish();
        if !quiet {
            let per_type: Vec<(String, u64)> = self
                .plan
                .types
                .iter()
                .zip(&self.this_run)
                .map(|(t, n)| (t.to_string(), *n))
                .collect();
            // After SIGHUP the terminal may be gone: the summary is best effort.
            let summary = progress::Summary {
                per_type: &per_type,
                earlier: self.earlier,
                stats: self.exporter.stats(),
                started,
                target: target.as_deref(),
            };
            crate::diag::line_with(crate::diag::Level::Info, &summary.line(), summary.fields());
        }
        Ok(())
    }

    async fn all_types(&mut self) -> Result<Stop> {
        let plan = self.plan;
        let pending: Vec<(usize, LogType, Position)> = plan
            .types
            .iter()
            .enumerate()
            .filter(|(i, _)| !self.state.types[*i].done)
            .map(|(i, t)| (i, *t, self.state.types[i].position))
            .collect();
        if pending.is_empty() {
            return Ok(Stop::Done);
        }
        if self.remaining() == Some(0) {
            return Ok(Stop::Limit);
        }
        let starts: Vec<(LogType, Position)> = pending.iter().map(|(_, t, p)| (*t, *p)).collect();
        let Some(interval) = plan.follow else {
            let events = self.exporter.export_types(starts, plan.to);
            return self.pump(events, &pending, true).await;
        };
        // The api crate's poll loop: catch up to `plan.to`, then every
        // interval up to now − lag.
        let events = self
            .exporter
            .follow(starts, plan.to, FollowOptions::new(interval, plan.lag));
        match self.pump(events, &pending, false).await? {
            // In follow mode, Ctrl-C/SIGTERM/SIGHUP is the normal way out.
            Stop::Interrupted(sig) => {
                if sig == Sig::Hangup && !self.quiet {
                    let kept = if self.sink().resumable().is_some() {
                        ", the checkpoint kept"
                    } else {
                        ""
                    };
                    self.progress.suspend(|| {
                        crate::diag::note(&format!(
                            "SIGHUP received (a terminal closed, or a reload): stopping as for SIGTERM, everything written flushed{kept}"
                        ));
                    });
                }
                Ok(Stop::Done)
            }
            other => Ok(other),
        }
    }

    /// Writes the engine's events (an export's, or a follow's rounds) of
    /// `types` into the writer and sink.
    /// `mark_done`: record each finished type as done in the checkpoint.
    async fn pump(
        &mut self,
        mut events: impl Stream<Item = std::result::Result<Event, ExportError>> + Unpin,
        types: &[(usize, LogType, Position)],
        mark_done: bool,
    ) -> Result<Stop> {
        // Notices come from requests still under way (a long wait).
        let mut tick = tokio::time::interval(std::time::Duration::from_millis(250));
        loop {
            let item = tokio::select! {
                biased;
                sig = self.signals.recv() => return Ok(Stop::Interrupted(sig)),
                item = events.next() => item,
                _ = tick.tick() => {
                    self.notices();
                    continue;
                }
            };
            self.check_quota();
            self.notices();
            let stop = match item {
                None => Some(Stop::Done),
                Some(Err(e)) => {
                    return Err(export_failure(&e, &self.plan.options, &self.host));
                }
                Some(Ok(Event::Batch(batch))) => self.write_batch(&batch, types)?,
                Some(Ok(event)) => self.on_event(event, types, mark_done)?,
            };
            if let Some(stop) = stop {
                return Ok(stop);
            }
        }
    }

    /// The events between batches: a type done (recorded in the
    /// checkpoint when `mark_done`), a follow round caught up (its entries
    /// shown before the next poll).
    fn on_event(
        &mut self,
        event: Event,
        types: &[(usize, LogType, Position)],
        mark_done: bool,
    ) -> Result<Option<Stop>> {
        match event {
            Event::TypeDone(done) => {
                if mark_done && let Some((index, _, _)) = types.iter().find(|t| t.1 == done) {
                    self.state.types[*index].done = true;
                    self.commit()?;
                }
                // A follow's round ends at its CaughtUp.
                let to = self.plan.follow.is_none().then_some(self.plan.to);
                self.monitor.type_done(done, to);
            }
            Event::CaughtUp { to } => {
                self.writer.flush(&mut self.buf);
                if !self.emit()? {
                    return Ok(Some(Stop::Closed));
                }
                self.monitor.caught_up(to);
            }
            _ => {}
        }
        Ok(None)
    }

    /// Writes the entries of `batch` that `--user` keeps, up to `--limit`,
    /// and commits its position; `Some` when the export stops there.
    fn write_batch(
        &mut self,
        batch: &Batch,
        types: &[(usize, LogType, Position)],
    ) -> Result<Option<Stop>> {
        let Some(&(index, log_type, _)) = types.iter().find(|t| t.1 == batch.log_type) else {
            return Err(Failure::new(
                FAILURE,
                anyhow!("internal error: the export delivered a type not asked for"),
            ));
        };
        let mut limit_hit = false;
        let mut written = 0u64;
        // Where each entry's bytes end in the buffer.
        let mut ends = Vec::with_capacity(batch.entries.len());
        for entry in &batch.entries {
            if !self.plan.keep(entry) {
                continue;
            }
            if self.remaining().is_some_and(|r| r <= written) {
                limit_hit = true;
                break;
            }
            self.writer.entry(log_type, entry, &mut self.buf);
            ends.push(self.buf.len());
            written += 1;
        }
        if self.remaining().is_some_and(|r| r <= written) {
            limit_hit = true;
        }
        if let Some(accepted) = self.emit_counted()? {
            // The reader went away (`| head`): count what it took.
            let reached = ends.iter().filter(|end| **end <= accepted).count() as u64;
            self.state.entries += reached;
            self.this_run[index] += reached;
            return Ok(Some(Stop::Closed));
        }
        self.state.entries += written;
        self.this_run[index] += written;
        let ts = &mut self.state.types[index];
        ts.entries += written;
        ts.position = batch.position;
        self.commit()?;
        self.monitor.batch(log_type, written, batch.position.time);
        Ok(limit_hit.then_some(Stop::Limit))
    }
}

/// Writes `bytes` to stdout, counting in `accepted` the bytes it took, so
/// that a reader that goes away midway (`| head`) leaves an exact count.
fn write_stdout_counting(bytes: &[u8], accepted: &mut usize) -> std::io::Result<()> {
    use std::io::Write as _;
    let mut out = std::io::stdout().lock();
    while *accepted < bytes.len() {
        match out.write(&bytes[*accepted..]) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => *accepted += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    out.flush()
}
