//! Command-line definitions. Every flag is documented where it is defined:
//! the first line is the `-h` summary, the rest shows in `--help`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use gong_logs_api::LogTypeInfo;

pub use crate::values::{Format, TypeArg, expand_types, parse_type_arg};

mod examples;
mod monitoring;

pub use crate::diag::LogFormat;
pub use monitoring::MetricsArgs;

use crate::defaults;

use examples::{
    COMPLETIONS_EXAMPLES, CONFIG_EXAMPLES, DOCTOR_EXAMPLES, FETCH_EXAMPLES, MAIN_EXAMPLES,
    MAN_EXAMPLES, SCHEMA_EXAMPLES, TYPES_EXAMPLES,
};

/// Pull Gong audit logs (GET /v2/logs): every entry of a type and time range,
/// exactly once, as fast as Gong's rate limit allows.
#[derive(Debug, Parser)]
#[command(
    name = "gong-logs",
    bin_name = "gong-logs",
    version,
    max_term_width = 100,
    after_help = MAIN_EXAMPLES,
    propagate_version = true,
    subcommand_required = true,
    arg_required_else_help = true
)]
pub struct Cli {
    /// The command.
    #[command(subcommand)]
    pub command: Command,

    /// Log diagnostics (retries, cursor recoveries) to stderr; repeat for more.
    ///
    /// -v: one line per retry, cursor recovery and plan of time windows.
    /// -vv: also one line per request: method, path and query (the cursor's
    /// value left out), status, bytes, milliseconds, time window. Never a
    /// credential. RUST_LOG, when set, overrides the filter.
    #[arg(short, long, action = ArgAction::Count, global = true, help_heading = "Global options")]
    pub verbose: u8,

    /// Print nothing to stderr but errors: no progress bar, no summary, no
    /// warnings.
    #[arg(
        short,
        long,
        global = true,
        conflicts_with = "verbose",
        help_heading = "Global options"
    )]
    pub quiet: bool,

    /// The form of every line on stderr: text, or json (one object per
    /// line) [env: GONG_LOGS_LOG_FORMAT] [default: text].
    ///
    /// json: each line is a JSON object with timestamp (RFC 3339, UTC),
    /// level (error, warn, info, debug) and message, plus fields: the
    /// summary's counts, an error's exit_code, a -v event's fields; every
    /// string redacted. For journald and log shippers: no progress bar is
    /// drawn. Also read before the rest of the command line, so a usage
    /// error is JSON too.
    #[arg(
        long,
        value_enum,
        value_name = "FORMAT",
        global = true,
        hide_possible_values = true,
        help_heading = "Global options"
    )]
    pub log_format: Option<LogFormat>,
}

/// The commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Export log entries of one or more types over a time range.
    #[command(
        after_help = FETCH_EXAMPLES,
        override_usage = "gong-logs fetch [OPTIONS] --type <TYPE> <--from TIME|--since SPAN>"
    )]
    Fetch(Box<FetchArgs>),
    /// List the five log types: what each records and how long Gong keeps it.
    #[command(after_help = TYPES_EXAMPLES)]
    Types(TypesArgs),
    /// Print the JSON Schema of an output: a JSONL line, the checkpoint, the types list.
    #[command(after_help = SCHEMA_EXAMPLES)]
    Schema(SchemaArgs),
    /// Check settings, connection and credentials with one small request.
    #[command(after_help = DOCTOR_EXAMPLES)]
    Doctor(DoctorArgs),
    /// Print a shell completion script to stdout.
    #[command(after_help = COMPLETIONS_EXAMPLES)]
    Completions(CompletionsArgs),
    /// Print the manual page (roff) of gong-logs or of one of its commands.
    #[command(after_help = MAN_EXAMPLES)]
    Man(ManArgs),
    /// Inspect the configuration file.
    #[command(after_help = CONFIG_EXAMPLES, subcommand_required = true, arg_required_else_help = true)]
    Config(ConfigArgs),
    /// Credentials: `auth check` is `doctor`.
    #[command(subcommand_required = true, arg_required_else_help = true)]
    Auth(AuthArgs),
}

/// `gong-logs doctor` and `gong-logs auth check`.
#[derive(Debug, Args)]
pub struct DoctorArgs {
    /// Connection settings.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// `gong-logs auth`.
#[derive(Debug, Args)]
pub struct AuthArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: AuthCommand,
}

/// `gong-logs auth ...`.
#[derive(Debug, Subcommand)]
pub enum AuthCommand {
    /// The same as `gong-logs doctor`.
    #[command(after_help = DOCTOR_EXAMPLES)]
    Check(DoctorArgs),
}

/// `gong-logs fetch`.
#[derive(Debug, Args)]
pub struct FetchArgs {
    /// Log type to export (repeatable, comma lists, or `all`).
    ///
    /// One of AccessLog, UserActivityLog, UserCallPlay,
    /// ExternallySharedCallAccess, ExternallySharedCallPlay (any case), or
    /// `all` for the five in this order. Repeat the flag or give a comma
    /// list; types are exported one after the other in the order given, each
    /// in chronological order. See `gong-logs types`.
    #[arg(
        short = 't',
        long = "type",
        value_name = "TYPE",
        required = true,
        value_delimiter = ',',
        value_parser = parse_type_arg,
        add = clap_complete::ArgValueCandidates::new(type_candidates)
    )]
    pub types: Vec<TypeArg>,

    /// Start of the range (inclusive): a TIME.
    ///
    /// ISO-8601 with Z or an offset (2024-03-01T10:00:00Z), a date (midnight
    /// UTC), now, today, yesterday, or a span ago (24h, 7d, 1d12h). A date
    /// and time without an offset is refused: add Z or an offset.
    #[arg(long, value_name = "TIME", required_unless_present = "since")]
    pub from: Option<String>,

    /// Shorthand for --from SPAN: start that long ago (e.g. 24h, 7d, 90m).
    #[arg(long, value_name = "SPAN", conflicts_with = "from")]
    pub since: Option<String>,

    /// End of the range (exclusive): a TIME. Default: now.
    #[arg(long, value_name = "TIME")]
    pub to: Option<String>,

    /// Output format: jsonl, json, csv or table.
    ///
    /// jsonl: one line per entry, the entry exactly as Gong sent it with
    /// "logType" added first. json: one array of the same objects. csv: a
    /// header and one row per entry (columns logType, eventTime, userId,
    /// userEmailAddress, userFullName, impersonatorUserId,
    /// impersonatorEmailAddress, impersonatorFullName, impersonatorCompanyId,
    /// logRecord as compact JSON, extra: any other field as a JSON object).
    /// table: aligned columns for people. Default: table when stdout is a
    /// terminal; with -o, by the file's extension (.csv, .json, else jsonl);
    /// otherwise jsonl.
    #[arg(
        short,
        long,
        value_enum,
        value_name = "FORMAT",
        hide_possible_values = true,
        ignore_case = true
    )]
    pub format: Option<Format>,

    /// In csv, prefix cells starting with =, +, -, @, tab or CR with ' so
    /// spreadsheets do not run them as formulas (changes those values).
    #[arg(long)]
    pub csv_safe: bool,

    /// Columns for csv and table: comma list of dotted paths.
    ///
    /// Paths go into the entry: eventTime, userEmailAddress,
    /// logRecord.call_id, logRecord.tableChanges.0.tableName (numbers index
    /// arrays). `logType` is the type. Strings print as text, other values
    /// as compact JSON, missing values empty. Not allowed with jsonl or json,
    /// which always carry every field.
    #[arg(long, value_name = "PATHS", value_delimiter = ',')]
    pub fields: Vec<String>,

    /// Write to FILE instead of stdout (- is stdout).
    ///
    /// The data goes to a temporary file in the same directory, is synced to
    /// disk, and is renamed to FILE only when the export succeeded: FILE is
    /// never left half-written; an existing FILE keeps its permissions, a
    /// new one is created 0600. A FIFO or character device is written
    /// directly; a symlink is resolved and its target replaced. One run at
    /// a time per FILE (a lock beside it). With --resume or --follow, see
    /// there.
    ///
    /// The name picks the format unless --format does: .jsonl, .json or
    /// .csv, each optionally followed by .gz (gzip) or .zst (zstd) to
    /// compress (audit.csv.gz is gzipped csv); no extension is jsonl, any
    /// other is refused. Compressed output is streamed in one gzip member or
    /// zstd frame per checkpoint, so --resume and --follow work on it.
    #[arg(short, long, value_name = "FILE")]
    pub output: Option<PathBuf>,

    /// Stop after N entries (in total, after --user filtering) and succeed.
    #[arg(short = 'n', long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub limit: Option<u64>,

    /// Keep only entries of this user: a userId or an email (any case), as
    /// the user or as the impersonator.
    ///
    /// An entry matches when its userId/userEmailAddress or its
    /// impersonatorUserId/impersonatorEmailAddress is one given. Repeatable,
    /// comma lists accepted. Filtering happens here, not at Gong: every
    /// entry of the range is still downloaded. Externally shared call logs
    /// have no user and are all filtered out (with a warning).
    #[arg(short, long, value_name = "EMAIL_OR_ID", value_delimiter = ',')]
    pub user: Vec<String>,

    /// Make the export to -o FILE resumable after a crash, kill or Ctrl-C.
    ///
    /// Data is appended to FILE.partial; after each batch the data is synced
    /// and the position reached is committed to FILE.gong-logs-checkpoint.
    /// Rerunning the same command with --resume continues where the last
    /// commit left off (the same time range, even for relative times);
    /// the finished FILE holds every entry exactly once. On success
    /// FILE.partial becomes FILE and the checkpoint is deleted. Works with
    /// jsonl, json and csv. The checkpoint records the length and SHA-256 of
    /// the data it covers; a data file or checkpoint that does not match is
    /// refused.
    #[arg(long, requires = "output")]
    pub resume: bool,

    /// After catching up, keep polling for new entries until Ctrl-C/SIGTERM.
    ///
    /// Each poll asks for entries from the last one seen up to now, and
    /// emits each new entry once. Ctrl-C, SIGTERM or SIGHUP flushes and
    /// exits 0. With -o FILE, entries are appended to FILE itself and a
    /// checkpoint is committed after every batch; after a crash, add
    /// --resume to continue exactly where it stopped. A FILE truncated,
    /// renamed or replaced under it (log rotation) stops the run with exit
    /// 1: continue with --rotated.
    #[arg(long, conflicts_with = "to")]
    pub follow: bool,

    /// With --follow --resume -o FILE: if FILE was rotated away (it is
    /// missing or empty), start a new FILE from the checkpoint's position.
    ///
    /// For log rotation: the rotated file holds what the checkpoint covered,
    /// the new FILE continues after it, nothing lost or repeated (after
    /// copytruncate, the copy may hold more than the checkpoint covered: see
    /// the README). A FILE that still matches its checkpoint is simply
    /// continued; one holding other data is refused.
    #[arg(long, requires = "follow", requires = "resume")]
    pub rotated: bool,

    /// Time between two polls in --follow mode (e.g. 30s, 5m) [default: 60s].
    #[arg(long, value_name = "DURATION", requires = "follow")]
    pub interval: Option<String>,

    /// In --follow mode, stay this far behind now (e.g. 2m) [default: 0s].
    ///
    /// Each poll (and the catch-up) asks only up to now minus the lag, so an
    /// entry Gong records a little after the moment it describes is still
    /// picked up: entries are followed by their eventTime, and one that
    /// arrives with an eventTime already passed would otherwise be missed.
    /// A lag longer than the time since --from leaves nothing to ask for
    /// until it has passed (a warning says until when).
    #[arg(long, value_name = "DURATION", requires = "follow")]
    pub lag: Option<String>,

    /// Requests per second, across all types (Gong allows 3; up to N−1 go
    /// at once, and the rate backs off by itself after a 429).
    #[arg(long, value_name = "N", default_value_t = defaults::RATE_LIMIT, value_parser = parse_rate)]
    pub rate_limit: f64,

    /// Retries of a failed request (429, 5xx, network) before giving up.
    #[arg(long, value_name = "N", default_value_t = defaults::MAX_RETRIES)]
    pub max_retries: u32,

    /// The most cursor chains fetched at once (they share the rate limit).
    ///
    /// The engine runs only as many as the rate limit and the round-trip
    /// time need (3 at a 1 s round trip), as each costs up to one request
    /// more than a single chain.
    #[arg(long, value_name = "N", default_value_t = defaults::CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=64))]
    pub concurrency: u16,

    /// Total time allowed for one request (connecting, the headers and the
    /// whole body), e.g. 30s or 5m [default: 2m].
    ///
    /// A request that takes longer fails as a timeout and is retried like
    /// a network failure. Responses larger than 32 MiB are refused.
    #[arg(long, value_name = "DURATION")]
    pub timeout: Option<String>,

    /// The longest Retry-After waited for, e.g. 10m or 3h [default: 1h].
    ///
    /// When Gong asks to wait longer (its daily quota says "come back
    /// later"), the export stops and says until when; with --follow, the
    /// wait is waited out, with a warning.
    #[arg(long, value_name = "DURATION")]
    pub max_wait: Option<String>,

    /// Stop after N HTTP requests (retries included) [default: unlimited].
    ///
    /// Gong allows 10,000 requests per day per company. When the budget is
    /// used up the export stops with exit code 5; with --resume, rerun the
    /// same command to continue.
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u64).range(1..))]
    pub max_requests: Option<u64>,

    /// Skip (with a warning, counted in the summary) entries the server
    /// sends outside the asked range, out of time order, or whose
    /// eventTime is not an ISO-8601 time with an offset, instead of
    /// stopping with an error.
    #[arg(long)]
    pub skip_out_of_range: bool,

    /// Print the first request of each type (method, URL, headers with the
    /// credentials redacted) to stdout, and send nothing.
    ///
    /// Later requests follow Gong's cursor with the same parameters, over
    /// a few time slices of the range fetched at once. Needs no credentials
    /// (shown as <none>).
    #[arg(long)]
    pub dry_run: bool,

    /// `--metrics-listen`, `--metrics-file`.
    #[command(flatten)]
    pub metrics: MetricsArgs,

    /// Connection settings.
    #[command(flatten)]
    pub connection: ConnectionArgs,
}

/// Where to send requests, as whom (what `config::resolve` reads first).
#[derive(Clone, Debug, Default, Args)]
#[command(next_help_heading = "Connection")]
pub struct ConnectionArgs {
    /// Base URL of your company's Gong API [env: GONG_BASE_URL] [default:
    /// https://api.gong.io].
    ///
    /// For example https://company-17.api.gong.io. Plain http:// is refused
    /// except to loopback.
    #[arg(long, value_name = "URL")]
    pub base_url: Option<String>,

    /// Profile of the config file to use [env: GONG_PROFILE] [default:
    /// default].
    #[arg(
        long,
        value_name = "NAME",
        add = clap_complete::ArgValueCandidates::new(profile_candidates)
    )]
    pub profile: Option<String>,

    /// Access key for Basic auth [env: GONG_ACCESS_KEY].
    #[arg(long, value_name = "KEY")]
    pub access_key: Option<String>,

    /// Access key secret [env: GONG_ACCESS_KEY_SECRET]. Prefer the
    /// environment: a flag ends up in shell history.
    #[arg(long, value_name = "SECRET")]
    pub access_key_secret: Option<String>,

    /// OAuth token with scope api:logs:read [env: GONG_BEARER_TOKEN]. Prefer
    /// the environment: a flag ends up in shell history.
    #[arg(long, value_name = "TOKEN")]
    pub bearer_token: Option<String>,

    /// Proxy to connect through, or `none` to ignore the environment's
    /// [env: HTTPS_PROXY, HTTP_PROXY, ALL_PROXY, then NO_PROXY].
    ///
    /// http://[USER:PASSWORD@]HOST:PORT or https://...; Basic proxy
    /// credentials go in the URL (and are never printed). Flag, then the
    /// environment, then the profile's `proxy` key; NO_PROXY applies to
    /// each. SOCKS is not supported.
    #[arg(long, value_name = "URL")]
    pub proxy: Option<String>,

    /// A PEM bundle of CA certificates to trust besides the system's
    /// [env: GONG_CA_CERT].
    ///
    /// For a network that inspects TLS (its proxy's CA) or a private CA.
    #[arg(long, value_name = "FILE")]
    pub ca_cert: Option<String>,
}

impl ConnectionArgs {
    /// The flags as `config` reads them.
    pub fn flags(&self) -> crate::config::ConnectionFlags {
        crate::config::ConnectionFlags {
            base_url: self.base_url.clone(),
            profile: self.profile.clone(),
            access_key: self.access_key.clone(),
            access_key_secret: self.access_key_secret.clone(),
            bearer_token: self.bearer_token.clone(),
            proxy: self.proxy.clone(),
            ca_cert: self.ca_cert.clone(),
        }
    }
}

/// `gong-logs types`.
#[derive(Debug, Args)]
pub struct TypesArgs {
    /// Output format.
    #[arg(short, long, value_enum, default_value = "table", ignore_case = true)]
    pub format: TypesFormat,
}

/// Formats of `gong-logs types`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum TypesFormat {
    /// Aligned columns.
    Table,
    /// A JSON array of {name, records, retention, hasUser}.
    Json,
}

/// `gong-logs schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Which output to describe.
    #[arg(short, long, value_enum, default_value = "line")]
    pub what: SchemaWhat,

    /// With --what line: the log type (any case), or all (default).
    #[arg(short = 't', long = "type", value_name = "TYPE", value_parser = parse_type_arg)]
    pub log_type: Option<TypeArg>,
}

/// What `gong-logs schema` describes.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum SchemaWhat {
    /// One line of `fetch` JSONL (an element of --format json).
    Line,
    /// The checkpoint file of `fetch -o FILE --resume`.
    Checkpoint,
    /// The output of `types --format json`.
    Types,
}

/// `gong-logs completions`.
#[derive(Debug, Args)]
pub struct CompletionsArgs {
    /// The shell.
    #[arg(value_enum)]
    pub shell: clap_complete::Shell,
}

/// `gong-logs man`.
#[derive(Debug, Args)]
pub struct ManArgs {
    /// The command whose page to print (`fetch`, `config path`, ...); none:
    /// the page of gong-logs itself.
    #[arg(value_name = "COMMAND", add = clap_complete::ArgValueCandidates::new(command_candidates))]
    pub command: Vec<String>,
}

/// Completion candidates of `man COMMAND`: the commands.
fn command_candidates() -> Vec<clap_complete::CompletionCandidate> {
    use clap::CommandFactory as _;
    Cli::command()
        .get_subcommands()
        .filter(|c| !c.is_hide_set())
        .map(|c| clap_complete::CompletionCandidate::new(c.get_name()).help(c.get_about().cloned()))
        .collect()
}

/// Completion candidates of `--type`: the five types and `all`.
fn type_candidates() -> Vec<clap_complete::CompletionCandidate> {
    LogTypeInfo::ALL
        .iter()
        .map(|info| {
            clap_complete::CompletionCandidate::new(info.log_type.to_string())
                .help(Some(info.records.into()))
        })
        .chain(std::iter::once(
            clap_complete::CompletionCandidate::new("all").help(Some("all five types".into())),
        ))
        .collect()
}

/// Completion candidates of `--profile`: the profile names of the config
/// file (nothing when it is missing or unreadable; never a value).
fn profile_candidates() -> Vec<clap_complete::CompletionCandidate> {
    crate::config::profile_names(&crate::config::process_env)
        .into_iter()
        .map(clap_complete::CompletionCandidate::new)
        .collect()
}

/// `gong-logs config`.
#[derive(Debug, Args)]
pub struct ConfigArgs {
    /// What to do.
    #[command(subcommand)]
    pub command: ConfigCommand,
}

/// `gong-logs config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigCommand {
    /// Print the path of the config file (whether or not it exists).
    #[command(
        after_help = "Examples:\n  gong-logs config path\n  $EDITOR \"$(gong-logs config path)\" && chmod 600 \"$(gong-logs config path)\""
    )]
    Path,
}

/// clap's error as the one line `gong-logs` prints after `error: `
/// (redacted, pointing to `--help`).
pub fn error_line(error: &clap::Error) -> String {
    let rendered = error.render().to_string();
    let main = rendered.split("\n\nUsage:").next().unwrap_or(&rendered);
    let main: String = main
        .lines()
        .filter(|l| !l.starts_with("For more information"))
        .collect::<Vec<_>>()
        .join("\n");
    let main = main.trim().trim_start_matches("error:").trim();
    let message = crate::exit::redact(&crate::exit::one_line(main));
    format!("{message} (see --help)")
}

/// Parses a whole command line (after the program's name) in-process, a
/// usage error worded as the binary prints it (exit 2). For tests: the
/// binary itself also shows help and versions ([`Cli::try_parse`]).
pub fn parse_from<'a>(
    args: impl IntoIterator<Item = &'a str>,
) -> Result<Cli, crate::exit::Failure> {
    use clap::Parser as _;
    Cli::try_parse_from(std::iter::once("gong-logs").chain(args))
        .map_err(|e| crate::exit::Failure::usage(error_line(&e)))
}

/// `--format`'s values, the names and help of [`Format`] (kept clap-free).
impl ValueEnum for Format {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.about()))
    }
}

fn parse_rate(text: &str) -> Result<f64, String> {
    let rate: f64 = text
        .trim()
        .parse()
        .map_err(|_| format!("{text:?} is not a number of requests per second"))?;
    if !rate.is_finite() || rate < 0.001 {
        return Err(
            "the rate limit must be a number of at least 0.001 (requests per second)".into(),
        );
    }
    Ok(rate)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::CommandFactory as _;

    #[test]
    fn definitions_are_consistent() {
        Cli::command().debug_assert();
    }
}
