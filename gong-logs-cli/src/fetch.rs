//! `gong-logs fetch`: validate everything, then drive the api crate's
//! exporter type after type and hand its batches to a writer and a sink.

use std::io::IsTerminal as _;
use std::path::PathBuf;
use std::time::{Duration, Instant};

use anyhow::anyhow;
use futures::{Stream, StreamExt as _};
use gong_logs_api::export::{
    Event, ExportError, ExportOptions, ExportStats, Exporter, FollowOptions, Position, format_time,
};
use gong_logs_api::guard::{GuardError, OutOfRange};
use gong_logs_api::{
    ApiError, BaseUrl, ClientConfig, Credentials, GongClient, LogEntry, LogType, LogTypeInfo,
    RetryPolicy,
};
use jiff::Timestamp;

use crate::checkpoint::{self, Checkpoint, Identity, TypeState};
use crate::cli::{FetchArgs, Format};
use crate::compress::Compression;
use crate::config;
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
    /// From the output's name (`.gz`, `.zst`).
    compression: Compression,
    fields: Option<Vec<FieldPath>>,
    users: Vec<String>,
    limit: Option<u64>,
    output: Option<PathBuf>,
    resume: bool,
    dry_run: bool,
    csv_safe: bool,
    options: ExportOptions,
    /// Total deadline of one request.
    timeout: Duration,
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
        // The name says the compression (a last `.gz`/`.zst`) and, unless
        // --format does, the format (the extension before it).
        let (compression, named) = match &output {
            Some(path) => {
                let (compression, format) = crate::compress::from_name(path);
                (compression, Some((path, format)))
            }
            None => (Compression::None, None),
        };
        let format = match (args.format, named) {
            (Some(f), _) => f,
            (None, Some((_, Ok(f)))) => f,
            (None, Some((path, Err(())))) => {
                return Err(Failure::usage(format!(
                    "-o {}: unknown extension; name the file {}, or give --format",
                    path.display(),
                    crate::compress::KNOWN_EXTENSIONS
                )));
            }
            (None, None) if std::io::stdout().is_terminal() => Format::Table,
            (None, None) => Format::Jsonl,
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
            max_requests: args.max_requests,
            out_of_range: if args.skip_out_of_range {
                OutOfRange::Skip
            } else {
                OutOfRange::Error
            },
            ..ExportOptions::default()
        };
        let timeout = match &args.timeout {
            Some(text) => crate::time::parse_span(text)
                .ok()
                .and_then(|span| Duration::try_from(span).ok())
                .filter(|d| !d.is_zero())
                .ok_or_else(|| {
                    Failure::usage(format!(
                        "invalid --timeout: {text:?} is not a positive duration such as 30s, 2m or 1h"
                    ))
                })?,
            None => ClientConfig::DEFAULT_TIMEOUT,
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
            compression,
            fields,
            users,
            limit: args.limit,
            output,
            resume: args.resume,
            dry_run: args.dry_run,
            csv_safe: args.csv_safe,
            options,
            timeout,
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

    /// Whether `--user` keeps the entry: its user or its impersonator
    /// (`impersonatorUserId`, `impersonatorEmailAddress`) is one of them.
    fn keep(&self, entry: &LogEntry) -> bool {
        if self.users.is_empty() {
            return true;
        }
        let matches = |id: Option<&str>, email: Option<&str>| {
            self.users
                .iter()
                .any(|u| id == Some(u.as_str()) || email.is_some_and(|e| e.eq_ignore_ascii_case(u)))
        };
        if matches(entry.user_id(), entry.user_email()) {
            return true;
        }
        let Some(members) = crate::fields::Members::parse(entry.json()) else {
            return false;
        };
        let text = |key: &str| {
            members
                .get(key)
                .and_then(|v| serde_json::from_str::<String>(v.get()).ok())
        };
        matches(
            text("impersonatorUserId").as_deref(),
            text("impersonatorEmailAddress").as_deref(),
        )
    }

    /// Warnings to print before anything is sent: `--user` over types that
    /// carry no user fields, and a start older than a type's retention.
    fn warnings(&self, now: Timestamp) -> Vec<String> {
        let mut warnings = Vec::new();
        if !self.users.is_empty() {
            let userless: Vec<String> = self
                .types
                .iter()
                .filter(|t| !LogTypeInfo::of(**t).has_user)
                .map(ToString::to_string)
                .collect();
            if !userless.is_empty() {
                let one = userless.len() == 1;
                warnings.push(format!(
                    "--user: {} {} no user fields, so none of {} entries can match (every page is still downloaded; leave {} out of --type)",
                    userless.join(", "),
                    if one { "carries" } else { "carry" },
                    if one { "its" } else { "their" },
                    if one { "it" } else { "them" },
                ));
            }
        }
        for t in &self.types {
            let info = LogTypeInfo::of(*t);
            if let Some(earliest) = crate::time::retention_start(*t, now)
                && self.from < earliest
            {
                warnings.push(format!(
                    "{t}: Gong keeps it {}, so nothing before about {} can come back (--from is {})",
                    info.retention,
                    format_time(earliest),
                    format_time(self.from)
                ));
            }
        }
        warnings
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
        compression: plan.compression,
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
                let max_footer = if plan.compression == Compression::None {
                    MAX_FOOTER
                } else {
                    crate::compress::MAX_COMPRESSED_FOOTER
                };
                if len - ckpt.data_len > max_footer {
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
    if plan.output.is_none() && !plan.dry_run && crate::stdout_is_closed() {
        return Err(Failure::new(
            FAILURE,
            anyhow!(
                "stdout is closed: nothing could be written; redirect it (> FILE) or use -o FILE"
            ),
        ));
    }
    // Said once everything else is known to be fine (on the range a
    // resumed export really uses).
    if !quiet {
        for warning in plan.warnings(now) {
            eprintln!("gong-logs: warning: {warning}");
        }
    }

    let base_url =
        BaseUrl::parse(&connection.base_url).map_err(|e| Failure::usage(format!("{e}")))?;
    let mut client_config = ClientConfig::new(base_url, credentials);
    client_config.user_agent_suffix = Some(user_agent_suffix());
    client_config.timeout = plan.timeout;
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
        dry_run(&plan, &client, &state, quiet, no_credentials);
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
        OutputPlan::Direct(path) => Sink::direct(&path, plan.compression)?,
        OutputPlan::Temp(path, keep, lock) => Sink::temp(&path, keep, lock, plan.compression)?,
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
            plan: &plan,
            sink: Some(sink),
            state,
            exporter,
            progress,
            buf: Vec::new(),
            signals: Signals::new()?,
            host,
            quota_checked: false,
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
        let estimate = ExportStats::get(&self.exporter.stats().estimated_requests);
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
        loop {
            let item = tokio::select! {
                biased;
                () = self.signals.recv() => return Ok(Stop::Interrupted),
                item = events.next() => item,
            };
            self.check_quota();
            let batch = match item {
                None => return Ok(Stop::Done),
                Some(Err(e)) => {
                    return Err(export_failure(&e, &self.plan.options, &self.host));
                }
                Some(Ok(Event::TypeDone(done))) => {
                    if mark_done && let Some((index, _, _)) = types.iter().find(|t| t.1 == done) {
                        self.state.types[*index].done = true;
                        self.commit()?;
                    }
                    continue;
                }
                Some(Ok(Event::CaughtUp { .. })) => {
                    // A follow round ended: show what it brought before
                    // the next poll.
                    self.writer.flush(&mut self.buf);
                    if !self.emit()? {
                        return Ok(Stop::Closed);
                    }
                    continue;
                }
                Some(Ok(Event::Batch(batch))) => batch,
                Some(Ok(_)) => continue,
            };
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

/// Gong's daily request quota per company.
const DAILY_QUOTA: u64 = 10_000;

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

/// Maps an export failure to its exit code and a message saying what to do,
/// naming the host the requests went to.
fn export_failure(error: &ExportError, options: &ExportOptions, host: &str) -> Failure {
    let api = error.api_error();
    let connect_hint = format!(
        "check that {host} is the right host (the base URL), that its name resolves, that it accepts connections on that port and speaks HTTPS (or http:// to loopback), and any proxy in between"
    );
    let (code, hint) = match api {
        Some(ApiError::RequestBudget { .. }) => (
            RATE_LIMITED,
            "the --max-requests budget is used up: rerun later, or raise --max-requests",
        ),
        Some(ApiError::NotFoundMidway { .. }) => (
            FAILURE,
            "the export stopped at that page; nothing after it is reported as exported",
        ),
        Some(ApiError::TooLarge { .. }) => (FAILURE, "check the base URL and any proxy in between"),
        Some(e @ ApiError::Transport { .. }) if e.is_connect_failure() => {
            (FAILURE, connect_hint.as_str())
        }
        None if matches!(
            error,
            ExportError::Protocol {
                source: GuardError::OutOfRange { .. } | GuardError::Backwards { .. },
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
    if !message.contains(host) {
        message.push_str(&format!(" (server: {host})"));
    }
    Failure::new(code, anyhow!(exit::one_line(&message)))
}
