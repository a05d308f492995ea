//! The plan of a fetch, decided before any request: the arguments as
//! parsed ([`FetchArgs`]) validated into a [`Plan`] (what to fetch and how),
//! then where to write it ([`OutputPlan`], which may take the range of a
//! checkpoint being resumed). Each step is a function named for what it
//! decides; the checks run in a fixed order, so that of several problems
//! the same one is always reported.

pub(super) mod output;

use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::time::Duration;

use gong_logs_api::export::{ExportOptions, format_time};
use gong_logs_api::guard::OutOfRange;
use gong_logs_api::{ClientConfig, LogEntry, LogType, LogTypeInfo, RetryPolicy};
use jiff::Timestamp;

use crate::cli::FetchArgs;
use crate::exit::{Failure, Result};
use crate::files::checkpoint::Identity;
use crate::output::compress::Compression;
use crate::output::fields::FieldPath;
use crate::values::Format;

/// Everything a fetch will do, validated.
#[derive(Debug)]
pub(super) struct Plan {
    pub types: Vec<LogType>,
    pub from_arg: String,
    pub to_arg: Option<String>,
    pub from: Timestamp,
    pub to: Timestamp,
    pub follow: Option<Duration>,
    /// How far behind now `--follow` stays.
    pub lag: Duration,
    pub format: Format,
    /// From the output's name (`.gz`, `.zst`).
    pub compression: Compression,
    pub fields: Option<Vec<FieldPath>>,
    pub users: Vec<String>,
    pub limit: Option<u64>,
    pub output: Option<PathBuf>,
    pub resume: bool,
    /// `--rotated`: a followed FILE rotated away starts anew from the
    /// checkpoint.
    pub rotated: bool,
    pub dry_run: bool,
    pub csv_safe: bool,
    pub options: ExportOptions,
    /// Total deadline of one request.
    pub timeout: Duration,
    /// `--metrics-listen`, `--metrics-file`.
    pub metrics: crate::metrics::MetricsPlan,
}

/// Parses `gong-logs fetch ARGS` in-process into its plan, as the binary
/// does before anything else (clap's errors worded as it prints them).
#[cfg(test)]
pub(crate) fn from_args(args: &[&str], now: Timestamp) -> Result<Plan> {
    let cli = crate::cli::parse_from(std::iter::once("fetch").chain(args.iter().copied()))?;
    match &cli.command {
        crate::cli::Command::Fetch(fetch) => Plan::new(fetch, now),
        _ => unreachable!("parsed as fetch"),
    }
}

impl Plan {
    /// Validates `args` (relative times against `now`) into a plan.
    pub fn new(args: &FetchArgs, now: Timestamp) -> Result<Self> {
        let (from_arg, from) = range_start(args, now)?;
        let lag = lag(args.lag.as_deref())?;
        let to = range_end(args.to.as_deref(), now, lag)?;
        check_range(args.follow, from, to, now)?;
        let follow = follow_interval(args)?;
        let output = output_path(args)?;
        let (compression, format) = compression_and_format(args.format, output.as_deref())?;
        let fields = fields(&args.fields, format)?;
        check_format_fits(args, format, output.is_some())?;
        let users = users(&args.user)?;
        let timeout = timeout(args.timeout.as_deref())?;
        let max_wait = max_wait(args.max_wait.as_deref())?;
        Ok(Self {
            types: crate::values::expand_types(&args.types),
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
            rotated: args.rotated,
            dry_run: args.dry_run,
            csv_safe: args.csv_safe,
            options: export_options(args, max_wait),
            timeout,
            metrics: crate::metrics::MetricsPlan::new(
                args.metrics.listen,
                args.metrics.file.clone(),
            ),
        })
    }

    /// The command as a checkpoint records it.
    pub fn identity(&self, base_url: &str) -> Identity {
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
    pub fn keep(&self, entry: &LogEntry) -> bool {
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
        let Some(members) = crate::output::fields::Members::parse(entry.json()) else {
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
    pub fn warnings(&self, now: Timestamp) -> Vec<String> {
        let mut warnings = Vec::new();
        if let Some(warning) = self.userless_warning() {
            warnings.push(warning);
        }
        if let Some(warning) = self.lag_warning(now) {
            warnings.push(warning);
        }
        for t in &self.types {
            let info = LogTypeInfo::of(*t);
            if let Some(earliest) = gong_logs_api::limits::retention_start(*t, now)
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

    /// `--follow` with a `--lag` reaching back past `--from`: nothing can
    /// be asked for until the lag has passed (a warning: it then starts by
    /// itself).
    fn lag_warning(&self, now: Timestamp) -> Option<String> {
        if self.follow.is_none() || self.lag.is_zero() || self.from < self.to {
            return None;
        }
        let lag = jiff::SignedDuration::try_from(self.lag).ok()?;
        let starts = self.from.checked_add(lag).ok()?;
        // Whole seconds, in jiff's friendly units (`4m 59s`).
        let whole = |d: jiff::SignedDuration| jiff::SignedDuration::from_secs(d.as_secs());
        Some(format!(
            "--lag {:#} is longer than the time since --from ({}): nothing can be asked for before {} (in {:#}); the follow waits until then",
            whole(lag),
            format_time(self.from),
            format_time(starts),
            whole(starts.duration_since(now)),
        ))
    }

    /// `--user` over types that carry no user fields.
    fn userless_warning(&self) -> Option<String> {
        if self.users.is_empty() {
            return None;
        }
        let userless: Vec<String> = self
            .types
            .iter()
            .filter(|t| !LogTypeInfo::of(**t).has_user)
            .map(ToString::to_string)
            .collect();
        if userless.is_empty() {
            return None;
        }
        let one = userless.len() == 1;
        Some(format!(
            "--user: {} {} no user fields, so none of {} entries can match (every page is still downloaded; leave {} out of --type)",
            userless.join(", "),
            if one { "carries" } else { "carry" },
            if one { "its" } else { "their" },
            if one { "it" } else { "them" },
        ))
    }
}

/// The start of the range, and the argument it came from as typed
/// (`--since` wins over `--from`).
fn range_start(args: &FetchArgs, now: Timestamp) -> Result<(String, Timestamp)> {
    match (&args.from, &args.since) {
        (_, Some(since)) => {
            let span = crate::time::parse_span(since)
                .map_err(|e| Failure::usage(format!("invalid --since: {e}")))?;
            let from = now.checked_sub(span).map_err(|_| {
                Failure::usage(format!("invalid --since: {since:?} ago is too long ago"))
            })?;
            Ok((since.clone(), from))
        }
        (Some(text), None) => {
            let from = crate::time::parse_time(text, now)
                .map_err(|e| Failure::usage(format!("invalid --from: {e}")))?;
            Ok((text.clone(), from))
        }
        (None, None) => Err(Failure::usage("give --from TIME or --since SPAN")),
    }
}

/// `--lag` (zero when not given).
fn lag(text: Option<&str>) -> Result<Duration> {
    let Some(text) = text else {
        return Ok(Duration::ZERO);
    };
    span_duration(text).ok_or_else(|| {
        Failure::usage(format!(
            "invalid --lag: {text:?} is not a duration such as 30s, 2m or 1h"
        ))
    })
}

/// A SPAN (`30s`, `2m`, `1h`) as a duration, if it is one.
fn span_duration(text: &str) -> Option<Duration> {
    crate::time::parse_span(text)
        .ok()
        .and_then(|span| Duration::try_from(span).ok())
}

/// The end of the range: `--to`, else the lag behind now (following
/// catches up only that far).
fn range_end(to: Option<&str>, now: Timestamp, lag: Duration) -> Result<Timestamp> {
    match to {
        Some(text) => crate::time::parse_time(text, now)
            .map_err(|e| Failure::usage(format!("invalid --to: {e}"))),
        None => now
            .checked_sub(lag)
            .map_err(|_| Failure::usage("invalid --lag: too long")),
    }
}

/// A range must not be empty; a follow must not start in the future.
fn check_range(follow: bool, from: Timestamp, to: Timestamp, now: Timestamp) -> Result<()> {
    if follow {
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
    Ok(())
}

/// `--follow`'s poll interval (`None`: not following).
fn follow_interval(args: &FetchArgs) -> Result<Option<Duration>> {
    if !args.follow {
        return Ok(None);
    }
    match &args.interval {
        Some(text) => crate::time::parse_interval(text)
            .map(Some)
            .map_err(|e| Failure::usage(format!("invalid --interval: {e}"))),
        None => Ok(Some(crate::defaults::INTERVAL)),
    }
}

/// The output file (`None`: stdout, also for `-o -`); `--resume` needs one.
fn output_path(args: &FetchArgs) -> Result<Option<PathBuf>> {
    let output = args.output.clone().filter(|p| p.as_os_str() != "-");
    if args.resume && output.is_none() {
        return Err(Failure::usage(
            "--resume needs -o FILE (a file to keep the data and its checkpoint in), not stdout",
        ));
    }
    Ok(output)
}

/// The name says the compression (a last `.gz`/`.zst`) and, unless
/// --format does, the format (the extension before it); stdout defaults to
/// a table on a terminal, else JSONL.
fn compression_and_format(
    format: Option<Format>,
    output: Option<&Path>,
) -> Result<(Compression, Format)> {
    let (compression, named) = match output {
        Some(path) => {
            let (compression, format) = crate::output::compress::from_name(path);
            (compression, Some((path, format)))
        }
        None => (Compression::None, None),
    };
    let format = match (format, named) {
        (Some(f), _) => f,
        (None, Some((_, Ok(f)))) => f,
        (None, Some((path, Err(())))) => {
            return Err(Failure::usage(format!(
                "-o {}: unknown extension; name the file {}, or give --format",
                path.display(),
                crate::output::compress::KNOWN_EXTENSIONS
            )));
        }
        (None, None) if std::io::stdout().is_terminal() => Format::Table,
        (None, None) => Format::Jsonl,
    };
    Ok((compression, format))
}

/// `--fields`: columns of csv and table output only.
fn fields(given: &[String], format: Format) -> Result<Option<Vec<FieldPath>>> {
    if given.is_empty() {
        return Ok(None);
    }
    if matches!(format, Format::Jsonl | Format::Json) {
        return Err(Failure::usage(format!(
            "--fields selects columns of csv and table output; {} always carries every field (add --format csv or --format table)",
            format.name()
        )));
    }
    given
        .iter()
        .map(|f| FieldPath::parse(f).map_err(|e| Failure::usage(format!("invalid --fields: {e}"))))
        .collect::<Result<Vec<_>>>()
        .map(Some)
}

/// The flags that work with some formats only.
fn check_format_fits(args: &FetchArgs, format: Format, to_file: bool) -> Result<()> {
    if args.resume && format == Format::Table {
        return Err(Failure::usage(
            "--resume works with --format jsonl, json or csv, not table",
        ));
    }
    if args.follow && to_file && format == Format::Table {
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
    Ok(())
}

/// `--user`, trimmed; an empty one is refused.
fn users(given: &[String]) -> Result<Vec<String>> {
    if given.iter().any(|u| u.trim().is_empty()) {
        return Err(Failure::usage("--user needs an email or a user id"));
    }
    Ok(given.iter().map(|u| u.trim().to_owned()).collect())
}

/// How the engine sends: rate, retries and waits, chains, budget,
/// out-of-range entries.
fn export_options(args: &FetchArgs, max_wait: Duration) -> ExportOptions {
    ExportOptions {
        rate_limit: Some(args.rate_limit),
        retry: RetryPolicy {
            max_retries: args.max_retries,
            max_retry_after: max_wait,
            // Nobody reruns a follow: it waits (with a warning).
            wait_out_long: args.follow,
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
    }
}

/// `--timeout`, the total deadline of one request.
fn timeout(text: Option<&str>) -> Result<Duration> {
    let Some(text) = text else {
        return Ok(ClientConfig::DEFAULT_TIMEOUT);
    };
    span_duration(text).filter(|d| !d.is_zero()).ok_or_else(|| {
        Failure::usage(format!(
            "invalid --timeout: {text:?} is not a positive duration such as 30s, 2m or 1h"
        ))
    })
}

/// `--max-wait`, the longest `Retry-After` waited for.
fn max_wait(text: Option<&str>) -> Result<Duration> {
    let Some(text) = text else {
        return Ok(RetryPolicy::default().max_retry_after);
    };
    span_duration(text).ok_or_else(|| {
        Failure::usage(format!(
            "invalid --max-wait: {text:?} is not a duration such as 10m, 1h or 1d"
        ))
    })
}
