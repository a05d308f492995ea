//! Command-line definitions. Every flag is documented where it is defined:
//! the first line is the `-h` summary, the rest shows in `--help`.

use std::path::PathBuf;

use clap::{ArgAction, Args, Parser, Subcommand, ValueEnum};
use gong_logs_api::{LogType, LogTypeInfo};

const MAIN_EXAMPLES: &str = "\
Examples:
  # First: check the settings, the connection and the credentials:
  gong-logs doctor

  # Yesterday's sign-ins and page views, one JSON object per line:
  gong-logs fetch --type AccessLog --from yesterday --to today > access.jsonl

  # Everything of the last 7 days into a CSV file, resumable after a crash:
  gong-logs fetch --type all --since 7d -o audit.csv --resume

  # Keep shipping new entries to a SIEM every minute:
  gong-logs fetch --type UserActivityLog --since 1h --follow | siem-forwarder

  # What the log types are and how long Gong keeps them:
  gong-logs types

Credentials: GONG_ACCESS_KEY + GONG_ACCESS_KEY_SECRET, or GONG_BEARER_TOKEN, or a
profile of the config file (see `gong-logs config path`). Base URL: GONG_BASE_URL.

Exit codes: 0 success (an empty period too), 1 API or unexpected failure, 2 usage
error (nothing sent), 3 authentication failure or no credentials, 5 still rate-limited
after retries, 130 interrupted.";

const FETCH_EXAMPLES: &str = "\
Examples:
  # One type, one day, as JSON lines (the default when stdout is not a terminal):
  gong-logs fetch -t AccessLog --from 2024-03-01 --to 2024-03-02 > access.jsonl

  # Several types (in this order), last 36 hours, as CSV with chosen columns:
  gong-logs fetch -t UserCallPlay,ExternallySharedCallPlay --since 1d12h \\
      --format csv --fields eventTime,userEmailAddress,logRecord.call_id

  # One user's activity this week, first 50 entries, as a table:
  gong-logs fetch -t UserActivityLog --since 7d --user jane@example.com --limit 50 -f table

  # A large export into a file; after a crash or Ctrl-C, the same command continues:
  gong-logs fetch -t all --from 2023-01-01 -o audit.jsonl --resume

  # Follow new entries, polling every 5 minutes; Ctrl-C stops cleanly:
  gong-logs fetch -t AccessLog --since 10m --follow --interval 5m

  # Show the requests that would be sent, without sending them:
  gong-logs fetch -t all --since 1d --dry-run

TIME: 2024-03-01T10:00:00Z, 2024-03-01T12:00:00+02:00 (fractional seconds ok),
2024-03-01 (midnight UTC), now, today, yesterday (midnight UTC), or a span ago:
30s, 90m, 24h, 7d, 2w, 1d12h. Ranges are half-open: [--from, --to).";

const TYPES_EXAMPLES: &str = "\
Examples:
  gong-logs types
  gong-logs types --format json | jq -r '.[].name'";

const SCHEMA_EXAMPLES: &str = "\
JSON Schema draft-07, generated from gong-logs' own types; the same files are in
docs/schemas/ of the source repository.

Examples:
  # One JSONL line of fetch --type AccessLog (logRecord typed):
  gong-logs schema --type AccessLog > access-line.schema.json

  # A line of any type (oneOf the five, told apart by logType):
  gong-logs schema

  # The --resume checkpoint file, and the output of `types --format json`:
  gong-logs schema --what checkpoint
  gong-logs schema --what types";

const COMPLETIONS_EXAMPLES: &str = "\
The script asks gong-logs itself (found on PATH) what to complete: options,
log types, formats, and the profile names of the config file.

Examples:
  gong-logs completions bash > ~/.local/share/bash-completion/completions/gong-logs
  gong-logs completions zsh > ~/.zfunc/_gong-logs      # with fpath+=(~/.zfunc) before compinit
  gong-logs completions fish > ~/.config/fish/completions/gong-logs.fish";

const DOCTOR_EXAMPLES: &str = "\
Shows the base URL, profile and credentials as `fetch` would use them and where
each came from (secrets masked), checks the base URL, sends ONE request (one
second of AccessLog) and reports: reachable, TLS, credentials accepted, scope
(api:logs:read), rate-limit headers, clock skew against the server's Date.
Exit codes as fetch: 0 ok, 1 unreachable or Gong failing, 2 bad settings,
3 credentials refused or missing, 5 rate-limited.

Examples:
  gong-logs doctor
  gong-logs doctor --profile oauth
  GONG_BASE_URL=https://company-17.api.gong.io gong-logs auth check";

const CONFIG_EXAMPLES: &str = "\
Config file (TOML), one table per profile; keys base_url, access_key,
access_key_secret, bearer_token. It must not be readable by others (chmod 600).

  [default]
  base_url = \"https://company-17.api.gong.io\"
  access_key = \"...\"
  access_key_secret = \"...\"

  [oauth]
  bearer_token = \"...\"

Path: $GONG_LOGS_CONFIG, else $XDG_CONFIG_HOME/gong-logs/config.toml, else
~/.config/gong-logs/config.toml. Profile: --profile, else $GONG_PROFILE, else
default. Flags win over environment variables, which win over the profile.

Examples:
  gong-logs config path
  chmod 600 \"$(gong-logs config path)\"";

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
    /// emits each new entry once. Ctrl-C or SIGTERM flushes and exits 0.
    /// With -o FILE, entries are appended to FILE itself and a checkpoint is
    /// committed after every batch; after a crash, add --resume to continue
    /// exactly where it stopped.
    #[arg(long, conflicts_with = "to")]
    pub follow: bool,

    /// Time between two polls in --follow mode (e.g. 30s, 5m) [default: 60s].
    #[arg(long, value_name = "DURATION", requires = "follow")]
    pub interval: Option<String>,

    /// In --follow mode, stay this far behind now (e.g. 2m) [default: 0s].
    ///
    /// Each poll (and the catch-up) asks only up to now minus the lag, so an
    /// entry Gong records a little after the moment it describes is still
    /// picked up: entries are followed by their eventTime, and one that
    /// arrives with an eventTime already passed would otherwise be missed.
    #[arg(long, value_name = "DURATION", requires = "follow")]
    pub lag: Option<String>,

    /// Requests per second, across all types (Gong allows 3; up to N−1 go
    /// at once, and the rate backs off by itself after a 429).
    #[arg(long, value_name = "N", default_value_t = gong_logs_api::limits::RATE_LIMIT, value_parser = parse_rate)]
    pub rate_limit: f64,

    /// Retries of a failed request (429, 5xx, network) before giving up.
    #[arg(long, value_name = "N", default_value_t = gong_logs_api::limits::DEFAULT_MAX_RETRIES)]
    pub max_retries: u32,

    /// The most cursor chains fetched at once (they share the rate limit).
    ///
    /// The engine runs only as many as the rate limit and the round-trip
    /// time need (3 at a 1 s round trip), as each costs up to one request
    /// more than a single chain.
    #[arg(long, value_name = "N", default_value_t = gong_logs_api::limits::DEFAULT_CONCURRENCY, value_parser = clap::value_parser!(u16).range(1..=64))]
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

/// Output formats of `fetch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, ValueEnum)]
pub enum Format {
    /// One JSON object per line (NDJSON).
    Jsonl,
    /// One JSON array.
    Json,
    /// Comma-separated values with a header (RFC 4180 quoting).
    Csv,
    /// Aligned columns for people.
    Table,
}

impl Format {
    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Table => "table",
        }
    }
}

/// A `--type` value: one type, or all five.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeArg {
    /// All five, in documentation order.
    All,
    /// One type.
    One(LogType),
}

/// Parses a `--type` value, case-insensitively.
pub fn parse_type_arg(text: &str) -> Result<TypeArg, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("all") {
        return Ok(TypeArg::All);
    }
    LogTypeInfo::ALL
        .iter()
        .map(|info| info.log_type)
        .find(|t| t.to_string().eq_ignore_ascii_case(text))
        .map(TypeArg::One)
        .ok_or_else(|| {
            let names: Vec<String> = LogTypeInfo::ALL
                .iter()
                .map(|i| i.log_type.to_string())
                .collect();
            format!(
                "unknown log type {text:?}: expected {}, or all",
                names.join(", ")
            )
        })
}

/// Expands `--type` values in order, without duplicates.
pub fn expand_types(args: &[TypeArg]) -> Vec<LogType> {
    let mut out: Vec<LogType> = Vec::new();
    for arg in args {
        let add: Vec<LogType> = match arg {
            TypeArg::All => LogTypeInfo::ALL.iter().map(|i| i.log_type).collect(),
            TypeArg::One(t) => vec![*t],
        };
        for t in add {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
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

    #[test]
    fn types_parse_case_insensitively_and_expand_in_order() {
        assert_eq!(
            parse_type_arg("accesslog"),
            Ok(TypeArg::One(LogType::AccessLog))
        );
        assert_eq!(parse_type_arg("ALL"), Ok(TypeArg::All));
        assert!(parse_type_arg("Access").is_err());
        let types = expand_types(&[TypeArg::One(LogType::UserCallPlay), TypeArg::All]);
        assert_eq!(types[0], LogType::UserCallPlay);
        assert_eq!(types.len(), 5);
        assert_eq!(types[1], LogType::AccessLog);
    }
}
