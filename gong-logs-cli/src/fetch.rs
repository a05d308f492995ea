//! `gong-logs fetch`: validate everything, then drive the api crate's
//! exporter type after type and hand its batches to a writer and a sink.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use gong_logs_api::export::{ExportError, ExportOptions, Exporter, Position, format_time};
use gong_logs_api::{
    ApiError, ClientConfig, GongClient, LogEntry, LogType, PageRequest, RetryPolicy,
};
use jiff::Timestamp;

use crate::checkpoint::{self, Checkpoint, Identity, TypeState};
use crate::cli::{FetchArgs, Format};
use crate::config::{self, ConnectionFlags};
use crate::exit::{self, AUTH, FAILURE, Failure, INTERRUPTED, RATE_LIMITED, Result};
use crate::fields::FieldPath;
use crate::localfs::{self, Keep, OutputLock, Target};
use crate::output::{self, EntryWriter};
use crate::progress::{self, Progress};
use crate::sink::{ResumableSpec, Sink};

/// Everything a fetch will do, validated.
#[derive(Debug)]
struct Plan {
    types: Vec<LogType>,
    from_arg: String,
    to_arg: Option<String>,
    from: Timestamp,
    to: Timestamp,
    follow: Option<Duration>,
    /// How far behind now `--follow` stays.
    lag: Duration,
    format: Format,
    fields: Option<Vec<FieldPath>>,
    users: Vec<String>,
    limit: Option<u64>,
    output: Option<PathBuf>,
    resume: bool,
    dry_run: bool,
    csv_safe: bool,
    options: ExportOptions,
}

impl Plan {
    fn new(args: &FetchArgs, now: Timestamp) -> Result<Self> {
        let types = crate::cli::expand_types(&args.types);
        let (from_arg, from) = match (&args.from, &args.since) {
            (_, Some(since)) => {
                let span = crate::time::parse_span(since)
                    .map_err(|e| Failure::usage(format!("invalid --since: {e}")))?;
                let from = now.checked_sub(span).map_err(|_| {
                    Failure::usage(format!("invalid --since: {since:?} ago is too long ago"))
                })?;
                (since.clone(), from)
            }
            (Some(text), None) => {
                let from = crate::time::parse_time(text, now)
                    .map_err(|e| Failure::usage(format!("invalid --from: {e}")))?;
                (text.clone(), from)
            }
            (None, None) => return Err(Failure::usage("give --from TIME or --since SPAN")),
        };
        let lag = match &args.lag {
            Some(text) => crate::time::parse_span(text)
                .ok()
                .and_then(|span| Duration::try_from(span).ok())
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "invalid --lag: {text:?} is not a duration such as 30s, 2m or 1h"
                    ))
                })?,
            None => Duration::ZERO,
        };
        let to = match &args.to {
            Some(text) => crate::time::parse_time(text, now)
                .map_err(|e| Failure::usage(format!("invalid --to: {e}")))?,
            // Following: catch up only to the lag behind now.
            None => now
                .checked_sub(lag)
                .map_err(|_| Failure::usage("invalid --lag: too long"))?,
        };
        if args.follow {
            if from > now {
                return Err(Failure::usage(format!(
                    "--from ({}) is in the future; --follow starts at a past time or now",
                    format_time(from)
                )));
            }
        } else if from >= to {
            return Err(Failure::usage(format!(
                "--from ({}) must be before --to ({}): the range [from, to) is empty",
                format_time(from),
                format_time(to)
            )));
        }
        let follow = if args.follow {
            Some(match &args.interval {
                Some(text) => crate::time::parse_interval(text)
                    .map_err(|e| Failure::usage(format!("invalid --interval: {e}")))?,
                None => Duration::from_secs(60),
            })
        } else {
            None
        };
        // `-o -` is stdout.
        let output = args.output.clone().filter(|p| p.as_os_str() != "-");
        if args.resume && output.is_none() {
            return Err(Failure::usage(
                "--resume needs -o FILE (a file to keep the data and its checkpoint in), not stdout",
            ));
        }
        let format = match args.format {
            Some(f) => f,
            None => match &output {
                Some(path) => match path
                    .extension()
                    .and_then(|e| e.to_str())
                    .map(str::to_ascii_lowercase)
                    .as_deref()
                {
                    Some("csv") => Format::Csv,
                    Some("json") => Format::Json,
                    _ => Format::Jsonl,
                },
                None if std::io::stdout().is_terminal() => Format::Table,
                None => Format::Jsonl,
            },
        };
        let fields = if args.fields.is_empty() {
            None
        } else {
            if matches!(format, Format::Jsonl | Format::Json) {
                return Err(Failure::usage(format!(
                    "--fields selects columns of csv and table output; {} always carries every field (add --format csv or --format table)",
                    format.name()
                )));
            }
            Some(
                args.fields
                    .iter()
                    .map(|f| {
                        FieldPath::parse(f)
                            .map_err(|e| Failure::usage(format!("invalid --fields: {e}")))
                    })
                    .collect::<Result<Vec<_>>>()?,
            )
        };
        if args.resume && format == Format::Table {
            return Err(Failure::usage(
                "--resume works with --format jsonl, json or csv, not table",
            ));
        }
        if args.follow && output.is_some() && format == Format::Table {
            return Err(Failure::usage(
                "--follow -o FILE works with --format jsonl, json or csv, not table",
            ));
        }
        if args.csv_safe && format != Format::Csv {
            return Err(Failure::usage(format!(
                "--csv-safe applies to csv output, not {} (add --format csv)",
                format.name()
            )));
        }
        let users: Vec<String> = args
            .user
            .iter()
            .map(|u| u.trim().to_owned())
            .filter(|u| !u.is_empty())
            .collect();
        if args.user.iter().any(|u| u.trim().is_empty()) {
            return Err(Failure::usage("--user needs an email or a user id"));
        }
        let options = ExportOptions {
            rate_limit: Some(args.rate_limit),
            retry: RetryPolicy {
                max_retries: args.max_retries,
                ..RetryPolicy::default()
            },
            concurrency: usize::from(args.concurrency),
            ..ExportOptions::default()
        };
        Ok(Self {
            types,
            from_arg,
            to_arg: args.to.clone(),
            from,
            to,
            follow,
            lag,
            format,
            fields,
            users,
            limit: args.limit,
            output,
            resume: args.resume,
            dry_run: args.dry_run,
            csv_safe: args.csv_safe,
            options,
        })
    }

    fn identity(&self, base_url: &str) -> Identity {
        Identity {
            types: self.types.iter().map(ToString::to_string).collect(),
            from: self.from_arg.clone(),
            to: self.to_arg.clone(),
            format: self.format.name().to_owned(),
            fields: self
                .fields
                .iter()
                .flatten()
                .map(|f| f.as_str().to_owned())
                .collect(),
            users: self.users.clone(),
            limit: self.limit,
            base_url: base_url.to_owned(),
            follow: self.follow.is_some(),
            csv_safe: self.csv_safe,
        }
    }

    fn keep(&self, entry: &LogEntry) -> bool {
        self.users.is_empty()
            || self.users.iter().any(|u| {
                entry.user_id() == Some(u.as_str())
                    || entry
                        .user_email()
                        .is_some_and(|e| e.eq_ignore_ascii_case(u))
            })
    }
}

/// How the output will be opened, decided before any request.
enum OutputPlan {
    Stdout,
    /// A FIFO or character device, written through.
    Direct(PathBuf),
    Temp(PathBuf, Option<Keep>, OutputLock),
    ResumeFresh(ResumableSpec),
    ResumeContinue(ResumableSpec, Box<Checkpoint>),
    /// The export finished; only its checkpoint was left behind.
    AlreadyDone(PathBuf, PathBuf, OutputLock),
}

fn plan_output(plan: &mut Plan, identity: &Identity) -> Result<OutputPlan> {
    let Some(given) = plan.output.clone() else {
        return Ok(OutputPlan::Stdout);
    };
    let durable = plan.resume || plan.follow.is_some();
    let (path, keep) = match localfs::resolve_output(&given)? {
        Target::Stdout => return Ok(OutputPlan::Stdout),
        Target::Special(p) => {
            if durable {
                let flag = if plan.resume {
                    "--resume"
                } else {
                    "--follow -o"
                };
                return Err(Failure::usage(format!(
                    "-o {}: {flag} needs a regular file to keep its checkpoint, not a FIFO or device; drop {flag} or write to a file",
                    given.display()
                )));
            }
            return Ok(OutputPlan::Direct(p));
        }
        Target::New(p) => (p, None),
        Target::Regular(p, keep) => (p, Some(keep)),
    };
    let shown = given.display().to_string();
    let ckpt_path = checkpoint::checkpoint_path(&path);
    // Our own files: never a symlink, never another user's (before any
    // request, and before the lock, whose file is one of them).
    localfs::check_own(&localfs::lock_path(&path))?;
    if durable {
        localfs::check_own(&checkpoint::checkpoint_tmp_path(&ckpt_path))?;
        if plan.follow.is_none() {
            localfs::check_own(&checkpoint::partial_path(&path))?;
        }
    }
    let lock = if plan.dry_run {
        OutputLock::unlocked(&path)
    } else {
        OutputLock::acquire(&path, &shown)?
    };
    let ckpt_present = localfs::check_own(&ckpt_path)?;
    let existing = if plan.resume {
        checkpoint::load(&ckpt_path)?
    } else if ckpt_present {
        // Without --resume, its mere presence stops us (read or not).
        Some(checkpoint::Checkpoint::placeholder())
    } else {
        None
    };
    let follow = plan.follow.is_some();
    let spec = |lock| ResumableSpec {
        target: path.clone(),
        follow,
        keep: if follow { None } else { keep },
        lock,
    };
    match (existing, plan.resume) {
        (None, false) if !follow => Ok(OutputPlan::Temp(path, keep, lock)),
        (None, _) => Ok(OutputPlan::ResumeFresh(spec(lock))),
        (Some(_), false) => Err(Failure::usage(format!(
            "{} exists: an earlier export to {shown} did not finish; pass --resume to continue it, or delete {} (and {}) to start over",
            ckpt_path.display(),
            ckpt_path.display(),
            if follow {
                path.display().to_string()
            } else {
                checkpoint::partial_path(&path).display().to_string()
            }
        ))),
        (Some(ckpt), true) => {
            let differences = ckpt.command.differences(identity);
            let spec = spec(lock);
            let data = spec.data_path();
            if !differences.is_empty() {
                return Err(Failure::usage(format!(
                    "checkpoint {} belongs to a different command (differs in {}): rerun that command with --resume, or delete {} and {} to start over",
                    ckpt_path.display(),
                    differences.join(", "),
                    ckpt_path.display(),
                    data.display()
                )));
            }
            let data_name = data
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_default();
            if ckpt.data_file != data_name {
                return Err(Failure::usage(format!(
                    "checkpoint {} names data file {:?}, not {data_name:?}: it belongs to another output; delete it to start over",
                    ckpt_path.display(),
                    ckpt.data_file
                )));
            }
            // Killed after renaming the finished file but before deleting
            // the checkpoint: the export is complete, if the file holds
            // exactly what the checkpoint covers (plus at most a footer).
            if !follow
                && ckpt.types.iter().all(|t| t.done)
                && std::fs::symlink_metadata(checkpoint::partial_path(&path)).is_err()
            {
                let (_, _, len) = checkpoint::verify_data(&path, &ckpt, &ckpt_path)?;
                if len - ckpt.data_len > MAX_FOOTER {
                    return Err(Failure::usage(format!(
                        "checkpoint {} says the export is complete, but {shown} holds {} bytes more than it covers: delete the checkpoint if {shown} is what you want",
                        ckpt_path.display(),
                        len - ckpt.data_len
                    )));
                }
                return Ok(OutputPlan::AlreadyDone(path, ckpt_path, spec.lock));
            }
            // The range is the one the first run resolved (following: from
            // its start to now).
            plan.from = ckpt.from;
            if !follow {
                plan.to = ckpt.to;
            }
            Ok(OutputPlan::ResumeContinue(spec, Box::new(ckpt)))
        }
    }
}

/// The longest footer a writer adds after the last commit (json's `\n]\n`).
const MAX_FOOTER: u64 = 3;

/// Runs `gong-logs fetch`.
pub fn run(args: &FetchArgs, verbose: u8, quiet: bool) -> Result<()> {
    let now = Timestamp::now();
    let mut plan = Plan::new(args, now)?;
    let flags = ConnectionFlags {
        base_url: args.connection.base_url.clone(),
        profile: args.connection.profile.clone(),
        access_key: args.connection.access_key.clone(),
        access_key_secret: args.connection.access_key_secret.clone(),
        bearer_token: args.connection.bearer_token.clone(),
    };
    let connection = config::resolve(&flags, &config::process_env)?;
    if !quiet {
        for warning in &connection.warnings {
            eprintln!("gong-logs: warning: {warning}");
        }
    }
    let identity = plan.identity(&connection.base_url);
    let output = plan_output(&mut plan, &identity)?;

    let mut client_config =
        ClientConfig::new(connection.base_url.clone(), connection.credentials.clone());
    client_config.user_agent_suffix = Some(user_agent_suffix());
    let client = GongClient::new(client_config).map_err(|e| Failure::usage(format!("{e}")))?;

    let state = match &output {
        OutputPlan::ResumeContinue(_, ckpt) => (**ckpt).clone(),
        _ => Checkpoint {
            version: checkpoint::VERSION,
            command: identity,
            from: plan.from,
            to: plan.to,
            data_file: match &output {
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
        },
    };

    if plan.dry_run {
        if let OutputPlan::AlreadyDone(path, ..) = &output {
            if !quiet {
                eprintln!(
                    "gong-logs: dry run: {} is already complete; nothing would be sent",
                    path.display()
                );
            }
            return Ok(());
        }
        dry_run(&plan, &client, &state, quiet);
        return Ok(());
    }

    if let OutputPlan::AlreadyDone(path, ckpt_path, _lock) = &output {
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
        return Ok(());
    }

    let resumed = matches!(output, OutputPlan::ResumeContinue(..));
    let sink = match output {
        OutputPlan::Stdout => Sink::Stdout,
        OutputPlan::Direct(path) => Sink::direct(&path)?,
        OutputPlan::Temp(path, keep, lock) => Sink::temp(&path, keep, lock)?,
        OutputPlan::ResumeFresh(spec) => Sink::resumable_fresh(spec, state.clone())?,
        OutputPlan::ResumeContinue(spec, ckpt) => Sink::resumable_continue(spec, *ckpt)?,
        OutputPlan::AlreadyDone(..) => unreachable!("handled above"),
    };

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
            plan: &plan,
            sink: Some(sink),
            state,
            exporter,
            progress,
            buf: Vec::new(),
            signals: Signals::new()?,
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
fn dry_run(plan: &Plan, client: &GongClient, state: &Checkpoint, quiet: bool) {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a current-thread runtime builds");
    let mut out = String::new();
    for (i, log_type) in plan.types.iter().enumerate() {
        let ts = &state.types[i];
        if ts.done {
            continue;
        }
        let request = PageRequest {
            log_type: *log_type,
            from: format_time(ts.position.time),
            to: Some(format_time(plan.to)),
            cursor: None,
        };
        out.push_str(&runtime.block_on(client.preview(&request)));
        out.push('\n');
    }
    print!("{out}");
    if !quiet {
        eprintln!(
            "gong-logs: dry run: nothing was sent. Later requests repeat these parameters with Gong's cursor, over time windows of the range{}.",
            if plan.follow.is_some() {
                ", then poll every --interval"
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
}

impl Run<'_> {
    fn sink(&mut self) -> &mut Sink {
        self.sink.as_mut().expect("sink present until the end")
    }

    /// Writes the buffer; `Ok(false)` when stdout's reader went away.
    fn emit(&mut self) -> Result<bool> {
        let bytes = std::mem::take(&mut self.buf);
        let tty = self.stdout_tty;
        let progress = &self.progress;
        let sink = self.sink.as_mut().expect("sink present");
        let result = if tty {
            progress.suspend(|| sink.write(&bytes))
        } else {
            sink.write(&bytes)
        };
        self.buf = bytes;
        self.buf.clear();
        match result {
            Ok(()) => Ok(true),
            Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(false),
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
            Ok(Stop::Interrupted) => {
                self.progress.finish();
                let target = self.sink().describe();
                let resumable = self.sink().resumable().is_some();
                if let Some(sink) = self.sink.take() {
                    sink.abort();
                }
                let message = match (resumable, target) {
                    (true, _) => {
                        "interrupted; rerun the same command with --resume to continue".to_owned()
                    }
                    (false, Some(target)) => format!("interrupted; {target} was not written"),
                    (false, None) => "interrupted".to_owned(),
                };
                Err(Failure::new(INTERRUPTED, anyhow!(message)))
            }
            Err(failure) => {
                self.progress.finish();
                let resumable = self.sink().resumable().is_some();
                let target = self.sink().describe();
                if let Some(sink) = self.sink.take() {
                    sink.abort();
                }
                let hint = if resumable {
                    Some(
                        "rerun the same command with --resume to continue where it stopped"
                            .to_owned(),
                    )
                } else {
                    target.map(|t| format!("{t} was not written"))
                };
                Err(match hint {
                    Some(hint) => {
                        Failure::new(failure.code, anyhow!("{}; {hint}", failure.message()))
                    }
                    None => failure,
                })
            }
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
        for (i, log_type) in plan.types.iter().enumerate() {
            if self.state.types[i].done {
                continue;
            }
            let start = self.state.types[i].position;
            match self.pump(i, *log_type, start, plan.to).await? {
                Stop::Done => {
                    self.state.types[i].done = plan.follow.is_none();
                    self.commit()?;
                }
                // In follow mode, Ctrl-C/SIGTERM is the normal way out.
                Stop::Interrupted if plan.follow.is_some() => return Ok(Stop::Done),
                other => return Ok(other),
            }
        }
        let Some(interval) = plan.follow else {
            return Ok(Stop::Done);
        };
        loop {
            self.writer.flush(&mut self.buf);
            if !self.emit()? {
                return Ok(Stop::Closed);
            }
            tokio::select! {
                () = self.signals.recv() => return Ok(Stop::Done),
                () = tokio::time::sleep(interval) => {}
            }
            let Ok(now) = Timestamp::now().checked_sub(plan.lag) else {
                continue;
            };
            for (i, log_type) in plan.types.iter().enumerate() {
                let start = self.state.types[i].position;
                if start.time >= now {
                    continue;
                }
                match self.pump(i, *log_type, start, now).await? {
                    Stop::Done => {}
                    // In follow mode, Ctrl-C/SIGTERM is the normal way out.
                    Stop::Interrupted => return Ok(Stop::Done),
                    other => return Ok(other),
                }
            }
        }
    }

    /// Exports one type's `[start, to)` into the writer and sink.
    async fn pump(
        &mut self,
        index: usize,
        log_type: LogType,
        start: Position,
        to: Timestamp,
    ) -> Result<Stop> {
        if self.remaining() == Some(0) {
            return Ok(Stop::Limit);
        }
        let mut rx = self.exporter.export(log_type, start, to);
        loop {
            let item = tokio::select! {
                biased;
                () = self.signals.recv() => return Ok(Stop::Interrupted),
                item = rx.recv() => item,
            };
            let batch = match item {
                None => return Ok(Stop::Done),
                Some(Err(e)) => return Err(export_failure(&e)),
                Some(Ok(batch)) => batch,
            };
            let mut limit_hit = false;
            let mut written = 0u64;
            for entry in &batch.entries {
                if !self.plan.keep(entry) {
                    continue;
                }
                if self.remaining().is_some_and(|r| r <= written) {
                    limit_hit = true;
                    break;
                }
                self.writer.entry(log_type, entry, &mut self.buf);
                written += 1;
            }
            if self.remaining().is_some_and(|r| r <= written) {
                limit_hit = true;
            }
            if !self.emit()? {
                return Ok(Stop::Closed);
            }
            self.state.entries += written;
            self.this_run[index] += written;
            let ts = &mut self.state.types[index];
            ts.entries += written;
            ts.position = batch.position;
            self.commit()?;
            if limit_hit {
                return Ok(Stop::Limit);
            }
        }
    }
}

/// Maps an export failure to its exit code and a message saying what to do.
fn export_failure(error: &ExportError) -> Failure {
    let api = error.api_error();
    let (code, hint) = match api {
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
        Some(ApiError::NotGong) => (FAILURE, "check --base-url / GONG_BASE_URL"),
        Some(ApiError::Transport { .. }) => {
            (FAILURE, "check the network and the base URL, then retry")
        }
        _ => (FAILURE, ""),
    };
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
    Failure::new(code, anyhow!(exit::one_line(&message)))
}
