//! `gong-logs fetch`: validate everything into a plan ([`plan`]), then
//! drive the api crate's exporter type after type and hand its batches to a
//! writer and a sink.

mod plan;

use std::io::IsTerminal as _;
use std::path::Path;
use std::time::Instant;

use anyhow::anyhow;
use futures::{Stream, StreamExt as _};
use gong_logs_api::export::{
    Batch, Event, ExportError, ExportOptions, Exporter, FollowOptions, Position,
};
use gong_logs_api::guard::{GuardError, OutOfRange};
use gong_logs_api::{
    ApiError, BaseUrl, ClientConfig, Credentials, GongClient, LogType, human_duration,
};
use jiff::Timestamp;

use crate::checkpoint::{self, Checkpoint, Identity, TypeState};
use crate::cli::FetchArgs;
use crate::compress::Compression;
use crate::config;
use crate::exit::{self, AUTH, FAILURE, Failure, INTERRUPTED, RATE_LIMITED, Result};
use crate::output::{self, EntryWriter};
use crate::progress::{self, Progress};
use crate::sink::Sink;
use plan::{OutputPlan, Plan, plan_output};

/// Runs `gong-logs fetch`: the plan, then the export it describes.
pub fn run(args: &FetchArgs, verbose: u8, quiet: bool) -> Result<()> {
    Ready::prepare(args, quiet)?.execute(verbose, quiet)
}

/// Everything decided before any request: the plan, the client, how the
/// output is opened and the state the export starts from.
struct Ready {
    plan: Plan,
    client: GongClient,
    output: OutputPlan,
    state: Checkpoint,
    /// A dry run without credentials (shown as `<none>`).
    no_credentials: bool,
}

impl Ready {
    /// Validates the arguments, resolves the connection and the output,
    /// and prints the warnings; sends nothing.
    fn prepare(args: &FetchArgs, quiet: bool) -> Result<Self> {
        let now = Timestamp::now();
        let mut plan = Plan::new(args, now)?;
        let connection = config::resolve_all(&args.connection, &config::process_env)?;
        // A dry run sends nothing, so it needs no credentials: it shows `<none>`.
        let (credentials, no_credentials) = match connection.credentials {
            Ok(credentials) => (credentials, false),
            Err(_) if plan.dry_run => (Credentials::bearer("none"), true),
            Err(failure) => return Err(failure),
        };
        if !quiet {
            for warning in &connection.warnings {
                eprintln!("gong-logs: warning: {}", exit::redact(warning));
            }
        }
        let identity = plan.identity(&connection.base_url);
        let output = plan_output(&mut plan, &identity)?;
        check_stdout_open(&plan)?;
        // Said once everything else is known to be fine (on the range a
        // resumed export really uses).
        if !quiet {
            for warning in plan.warnings(now) {
                eprintln!("gong-logs: warning: {warning}");
            }
        }
        let client = client(&connection.base_url, credentials, &plan)?;
        let state = match &output {
            OutputPlan::ResumeContinue(_, ckpt) => (**ckpt).clone(),
            _ => fresh_state(&plan, identity, &output),
        };
        Ok(Self {
            plan,
            client,
            output,
            state,
            no_credentials,
        })
    }

    /// A dry run prints the first requests; an export already complete
    /// only loses its leftover checkpoint; anything else is exported.
    fn execute(self, verbose: u8, quiet: bool) -> Result<()> {
        if let OutputPlan::AlreadyDone(path, ckpt_path, _lock) = &self.output {
            return already_done(path, ckpt_path, self.plan.dry_run, quiet);
        }
        if self.plan.dry_run {
            dry_run(
                &self.plan,
                &self.client,
                &self.state,
                quiet,
                self.no_credentials,
            );
            return Ok(());
        }
        let resumed = matches!(self.output, OutputPlan::ResumeContinue(..));
        let sink = open_sink(self.output, self.plan.compression, &self.state)?;
        export(
            &self.plan,
            self.client,
            sink,
            self.state,
            resumed,
            verbose,
            quiet,
        )
    }
}

/// Stdout must be open when the data goes there (a dry run writes its
/// requests anyway).
fn check_stdout_open(plan: &Plan) -> Result<()> {
    if plan.output.is_none() && !plan.dry_run && crate::stdout_is_closed() {
        return Err(Failure::new(
            FAILURE,
            anyhow!(
                "stdout is closed: nothing could be written; redirect it (> FILE) or use -o FILE"
            ),
        ));
    }
    Ok(())
}

/// The client of the whole run (one exporter is built on it).
fn client(base_url: &str, credentials: Credentials, plan: &Plan) -> Result<GongClient> {
    let base_url = BaseUrl::parse(base_url).map_err(|e| Failure::usage(format!("{e}")))?;
    let mut config = ClientConfig::new(base_url, credentials);
    config.user_agent_suffix = Some(user_agent_suffix());
    config.timeout = plan.timeout;
    GongClient::new(config).map_err(|e| Failure::usage(format!("{e}")))
}

/// The state of an export that starts now: every type at the range's
/// start, nothing written.
fn fresh_state(plan: &Plan, identity: Identity, output: &OutputPlan) -> Checkpoint {
    Checkpoint {
        version: checkpoint::VERSION,
        command: identity,
        from: plan.from,
        to: plan.to,
        data_file: match output {
            OutputPlan::ResumeFresh(spec) => spec
                .data_path()
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            _ => String::new(),
        },
        data_len: 0,
        data_sha256: String::new(),
        entries: 0,
        types: plan
            .types
            .iter()
            .map(|t| TypeState {
                log_type: t.to_string(),
                position: Position {
                    time: plan.from,
                    count: 0,
                },
                entries: 0,
                done: false,
            })
            .collect(),
        checksum: String::new(),
    }
}

/// The export finished in an earlier run that was killed before it
/// deleted its checkpoint: delete it (a dry run only says so).
fn already_done(path: &Path, ckpt_path: &Path, dry_run: bool, quiet: bool) -> Result<()> {
    if dry_run {
        if !quiet {
            eprintln!(
                "gong-logs: dry run: {} is already complete; nothing would be sent",
                path.display()
            );
        }
        return Ok(());
    }
    std::fs::remove_file(ckpt_path).map_err(|e| {
        Failure::new(
            FAILURE,
            anyhow!("cannot delete {}: {e}", ckpt_path.display()),
        )
    })?;
    if !quiet {
        eprintln!(
            "gong-logs: {} is already complete (removed its leftover checkpoint)",
            path.display()
        );
    }
    Ok(())
}

/// Opens the sink the output plan says.
fn open_sink(output: OutputPlan, compression: Compression, state: &Checkpoint) -> Result<Sink> {
    match output {
        OutputPlan::Stdout => Ok(Sink::Stdout),
        OutputPlan::Direct(path) => Sink::direct(&path, compression),
        OutputPlan::Temp(path, keep, lock) => Sink::temp(&path, keep, lock, compression),
        OutputPlan::ResumeFresh(spec) => Sink::resumable_fresh(spec, state.clone()),
        OutputPlan::ResumeContinue(spec, ckpt) => Sink::resumable_continue(spec, *ckpt),
        OutputPlan::AlreadyDone(..) => unreachable!("handled before"),
    }
}

/// Runs the export on a two-thread runtime, with the progress line unless
/// quiet, verbose or not on a terminal.
fn export(
    plan: &Plan,
    client: GongClient,
    sink: Sink,
    state: Checkpoint,
    resumed: bool,
    verbose: u8,
    quiet: bool,
) -> Result<()> {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| {
            Failure::new(
                FAILURE,
                anyhow!(e).context("cannot start the async runtime"),
            )
        })?;
    let show_bar = !quiet && verbose == 0 && std::io::stderr().is_terminal();
    let host = client.host().to_owned();
    runtime.block_on(async {
        let exporter = Exporter::new(client, plan.options.clone());
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
            quiet,
        };
        run.execute(resumed, quiet).await
    })
}

fn user_agent_suffix() -> String {
    format!("gong-logs/{}", env!("CARGO_PKG_VERSION"))
}

fn table_width() -> Option<usize> {
    if std::io::stdout().is_terminal()
        && let Some((w, _)) = terminal_size::terminal_size()
    {
        return Some(usize::from(w.0));
    }
    std::env::var("COLUMNS")
        .ok()
        .and_then(|c| c.parse().ok())
        .filter(|w| *w > 0)
}

/// Prints the first request of each type, exactly as the api crate would
/// build it (credentials redacted); sends nothing.
fn dry_run(
    plan: &Plan,
    client: &GongClient,
    state: &Checkpoint,
    quiet: bool,
    no_credentials: bool,
) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
    // The engine's own first round: one request per initial time slice.
    let starts: Vec<(LogType, Position)> = plan
        .types
        .iter()
        .zip(&state.types)
        .filter(|(_, ts)| !ts.done)
        .map(|(t, ts)| (*t, ts.position))
        .collect();
    let mut out = String::new();
    runtime.block_on(async {
        let exporter = Exporter::new(client.clone(), plan.options.clone());
        for request in exporter.first_requests(&starts, plan.to) {
            let mut preview = client.preview(&request).await;
            if no_credentials {
                preview = preview.replace("authorization: Bearer ***\n", "authorization: <none>\n");
            }
            out.push_str(&preview);
            out.push('\n');
        }
    });
    let _ = crate::write_stdout(out.as_bytes());
    if !quiet {
        eprintln!(
            "gong-logs: dry run: nothing was sent. These are the engine's first requests, one per initial time slice; later requests repeat them with Gong's cursor, or cover a slice split off a running one{}.{}",
            if plan.follow.is_some() {
                ", then poll every --interval"
            } else {
                ""
            },
            if no_credentials {
                " No credentials are set: a real run would stop (exit 3); set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_BEARER_TOKEN."
            } else {
                ""
            }
        );
    }
}

/// SIGINT and SIGTERM.
struct Signals {
    #[cfg(unix)]
    int: tokio::signal::unix::Signal,
    #[cfg(unix)]
    term: tokio::signal::unix::Signal,
}

impl Signals {
    fn new() -> Result<Self> {
        #[cfg(unix)]
        {
            use tokio::signal::unix::{SignalKind, signal};
            let err = |e| Failure::new(FAILURE, anyhow!("cannot install signal handlers: {e}"));
            Ok(Self {
                int: signal(SignalKind::interrupt()).map_err(err)?,
                term: signal(SignalKind::terminate()).map_err(err)?,
            })
        }
        #[cfg(not(unix))]
        Ok(Self {})
    }

    async fn recv(&mut self) {
        #[cfg(unix)]
        tokio::select! {
            _ = self.int.recv() => {}
            _ = self.term.recv() => {}
        }
        #[cfg(not(unix))]
        let _ = tokio::signal::ctrl_c().await;
    }
}

/// Why pumping a type stopped.
enum Stop {
    /// The range is exported.
    Done,
    /// `--limit` reached.
    Limit,
    /// SIGINT/SIGTERM.
    Interrupted,
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
    quiet: bool,
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
            self.progress
                .suspend(|| eprintln!("gong-logs: warning: {warning}"));
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
                    .suspend(|| eprintln!("gong-logs: warning: {}", exit::redact(&warning)));
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
            Ok(Stop::Interrupted) => Err(self.interrupted()),
            Err(failure) => Err(self.failed(failure)),
        }
    }

    /// Stops on SIGINT/SIGTERM: the sink is abandoned (a resumable one
    /// kept for `--resume`), and the message says what is left.
    fn interrupted(&mut self) -> Failure {
        self.progress.finish();
        let target = self.sink().describe();
        let resumable = self.sink().resumable().is_some();
        if let Some(sink) = self.sink.take() {
            sink.abort();
        }
        let message = match (resumable, target) {
            (true, _) => "interrupted; rerun the same command with --resume to continue".to_owned(),
            (false, Some(target)) => format!("interrupted; {target} was not written"),
            (false, None) => "interrupted".to_owned(),
        };
        Failure::new(INTERRUPTED, anyhow!(message))
    }

    /// Stops on `failure`: the sink is abandoned, and the message gains
    /// what to do about the output.
    fn failed(&mut self, failure: Failure) -> Failure {
        self.progress.finish();
        let resumable = self.sink().resumable().is_some();
        let target = self.sink().describe();
        if let Some(sink) = self.sink.take() {
            sink.abort();
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
            self.emit()?;
        }
        self.progress.finish();
        let sink = self.sink.take().expect("sink present");
        let target = sink.describe();
        sink.finish()?;
        if !quiet {
            let per_type: Vec<(String, u64)> = self
                .plan
                .types
                .iter()
                .zip(&self.this_run)
                .map(|(t, n)| (t.to_string(), *n))
                .collect();
            eprintln!(
                "gong-logs: {}",
                progress::summary(
                    &per_type,
                    self.earlier,
                    self.exporter.stats(),
                    started,
                    target.as_deref()
                )
            );
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
            // In follow mode, Ctrl-C/SIGTERM is the normal way out.
            Stop::Interrupted => Ok(Stop::Done),
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
                () = self.signals.recv() => return Ok(Stop::Interrupted),
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
            }
            Event::CaughtUp { .. } => {
                self.writer.flush(&mut self.buf);
                if !self.emit()? {
                    return Ok(Some(Stop::Closed));
                }
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

use gong_logs_api::limits::DAILY_QUOTA;

/// The warning for an export of `requests` requests, if it exceeds the
/// daily quota.
fn quota_warning(requests: u64, rate: Option<f64>) -> Option<String> {
    if requests <= DAILY_QUOTA {
        return None;
    }
    let hours = rate
        .filter(|r| *r > 0.0)
        .map(|r| {
            format!(
                ", {:.1} hours at {r} requests/s",
                requests as f64 / r / 3600.0
            )
        })
        .unwrap_or_default();
    Some(format!(
        "this export needs about {requests} requests{hours}: {:.1} days of Gong's quota of {DAILY_QUOTA} requests per day per company (shared with every other integration); run it with -o FILE --resume so that it can continue tomorrow, or narrow --from/--to",
        requests as f64 / DAILY_QUOTA as f64
    ))
}

/// How far the clocks may differ before `fetch` warns (the server's
/// `Date` has whole seconds, and a request takes a while).
const SKEW_WARN: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// The warning for a local clock `skew` ahead of the server's (negative:
/// behind), if it is over [`SKEW_WARN`].
fn clock_warning(skew: jiff::SignedDuration) -> Option<String> {
    let off = skew.unsigned_abs();
    if off <= SKEW_WARN {
        return None;
    }
    Some(format!(
        "this machine's clock is {} {} the server's (its Date header): the range (--from/--to, relative times, --follow's now) is computed from the local clock, so it is off by as much; sync the clock (NTP)",
        human_duration(off),
        if skew.is_positive() {
            "ahead of"
        } else {
            "behind"
        }
    ))
}

/// Maps an export failure to its exit code and a message saying what to do,
/// naming the host the requests went to.
fn export_failure(error: &ExportError, options: &ExportOptions, host: &str) -> Failure {
    let connect_hint = format!(
        "check that {host} is the right host (the base URL), that its name resolves, that it accepts connections on that port and speaks HTTPS (or http:// to loopback), and any proxy in between"
    );
    let (code, hint) = code_and_hint(error, options, &connect_hint);
    // The api crate's messages already carry their causes.
    let mut message = error.to_string();
    if let ExportError::Api { attempts, .. } = error
        && *attempts > 1
    {
        message.push_str(&format!(" (after {attempts} attempts)"));
    }
    if !hint.is_empty() {
        message.push_str(&format!(": {hint}"));
    }
    if !message.contains(host) {
        message.push_str(&format!(" (server: {host})"));
    }
    Failure::new(code, anyhow!(exit::one_line(&message)))
}

/// The exit code of an export failure and what to do about it
/// (`connect_hint` for a connection that could not be made).
fn code_and_hint<'a>(
    error: &ExportError,
    options: &ExportOptions,
    connect_hint: &'a str,
) -> (u8, &'a str) {
    match error.api_error() {
        Some(ApiError::WaitTooLong { status, .. }) => (
            if *status == 429 {
                RATE_LIMITED
            } else {
                FAILURE
            },
            "rerun after that, or raise --max-wait",
        ),
        // Their messages say what to check.
        Some(ApiError::Redirect(_) | ApiError::NotAPage { .. }) => (FAILURE, ""),
        Some(ApiError::CursorTooLong { .. }) => (
            FAILURE,
            "the server does not page like Gong: check the base URL and any proxy in between",
        ),
        Some(ApiError::RequestBudget { .. }) => (
            RATE_LIMITED,
            "the --max-requests budget is used up: rerun later, or raise --max-requests",
        ),
        Some(ApiError::NotFoundMidway { .. }) => (
            FAILURE,
            "the export stopped at that page; nothing after it is reported as exported",
        ),
        Some(ApiError::TooLarge { .. }) => (FAILURE, "check the base URL and any proxy in between"),
        Some(e @ ApiError::Transport { .. }) if e.is_connect_failure() => (FAILURE, connect_hint),
        None if matches!(
            error,
            ExportError::Protocol {
                source: GuardError::OutOfRange { .. }
                    | GuardError::Backwards { .. }
                    | GuardError::BadTime { .. },
                ..
            }
        ) && options.out_of_range == OutOfRange::Error =>
        {
            (
                FAILURE,
                "nothing past it was written; to skip such entries (counted in the summary), add --skip-out-of-range",
            )
        }
        None if matches!(error, ExportError::Protocol { .. }) => (
            FAILURE,
            "the server does not page like Gong: check the base URL and any proxy in between",
        ),
        Some(ApiError::Unauthorized { .. }) => (
            AUTH,
            "check the access key and secret (or that the token has scope api:logs:read) and the base URL",
        ),
        Some(ApiError::RateLimited { .. }) => (
            RATE_LIMITED,
            "Gong allows 3 requests/s and 10,000 per day per company: wait, lower --rate-limit, or raise --max-retries",
        ),
        Some(ApiError::BadRequest { .. }) => (
            FAILURE,
            "check --from/--to (Gong keeps AccessLog for 14 days only)",
        ),
        Some(ApiError::NotGong) => (
            FAILURE,
            "check --base-url / GONG_BASE_URL (gong-logs doctor shows where it came from)",
        ),
        Some(ApiError::Transport { .. }) => (
            FAILURE,
            "check the network and the base URL, then retry (gong-logs doctor tests the connection)",
        ),
        Some(ApiError::Server { .. } | ApiError::Body(_)) => (
            FAILURE,
            "Gong is having trouble: retry later, and check https://status.gong.io if it persists",
        ),
        Some(_) if matches!(error, ExportError::CursorLoop { .. }) => (
            FAILURE,
            "retry later, and check https://status.gong.io if it persists",
        ),
        Some(ApiError::Unexpected { .. }) => (
            FAILURE,
            "retry later; if it persists, check the base URL (gong-logs doctor) and https://status.gong.io",
        ),
        Some(_) | None => (
            FAILURE,
            "retry; if it happens again, it is a bug: please report it with this message",
        ),
    }
}
