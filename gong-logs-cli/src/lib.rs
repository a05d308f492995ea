//! `gong-logs`: pull Gong audit logs (`GET /v2/logs`) exactly once.
//!
//! The binary's `main` calls [`main`]. Modules: [`cli`] (the clap types)
//! and [`values`] (what they parse into), [`env`], [`time`], [`config`]
//! (profiles and the connection), `connect` (the client and the runtime),
//! `fetch` (plan, run, dry run, signals), [`output`] (formats, fields,
//! sinks, compression), [`files`] (safe files, the checkpoint), [`exit`]
//! (codes, and the one mapping of API failures), `doctor`, `progress`,
//! [`schema`], [`redact`], [`diag`] (the form of stderr's lines,
//! `--log-format`), `metrics` (`--metrics-listen`, `--metrics-file`). No HTTP here: every request goes
//! through `gong-logs-api`.
//!
//! Unix only: the file handling (`O_NOFOLLOW`, owners and modes, `flock`,
//! directory syncs) and the signals (SIGHUP, SIGTERM) are Unix's.

#[cfg(not(unix))]
compile_error!("gong-logs builds on Unix only (its file safety and signals are Unix's)");

pub mod cli;
pub mod config;
mod connect;
mod defaults;
pub mod diag;
mod doctor;
pub mod env;
pub mod exit;
mod fetch;
pub mod files;
mod fit;
pub mod man;
mod metrics;
pub mod output;
mod progress;
pub mod redact;
pub mod schema;
mod stdio;
pub mod time;
pub mod values;

// The paths the e2e crate uses.
pub use files::checkpoint;
pub use output::fields;

use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};
use gong_logs_api::LogTypeInfo;

use crate::cli::{Cli, Command, ConfigCommand, SchemaArgs, SchemaWhat, TypesFormat};
use crate::exit::{Failure, Result};
use crate::stdio::{stderr_line, write_stdout};
use crate::values::TypeArg;

/// Runs the command line; returns the exit code.
pub fn main() -> ExitCode {
    install_panic_hook();
    // Every variable read, checked once: one that is not UTF-8 is an error.
    let env_checked = env::init();
    // The form of stderr's lines, before clap speaks (see `diag`).
    let args: Vec<String> = std::env::args_os()
        .skip(1)
        .map(|a| a.to_string_lossy().into_owned())
        .collect();
    diag::set(diag::choose(&args, env::var(diag::ENV_VAR).as_deref()));
    if let Err(failure) = env_checked {
        diag::error(&failure.message(), failure.code);
        return ExitCode::from(failure.code);
    }
    // Asked by a completion script (`gong-logs completions SHELL`): print the
    // candidates and exit.
    clap_complete::CompleteEnv::with_factory(Cli::command)
        .var(COMPLETE_VAR)
        .complete();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    let result = log_format(&cli).and_then(|()| {
        init_tracing(cli.verbose, cli.quiet);
        run(&cli)
    });
    match result {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            diag::error(&failure.message(), failure.code);
            ExitCode::from(failure.code)
        }
    }
}

/// `--log-format`, else `GONG_LOGS_LOG_FORMAT` (one that names no format
/// is a usage error), in force from now on.
fn log_format(cli: &Cli) -> Result<()> {
    let format = match cli.log_format {
        Some(format) => format,
        None => diag::env_format(env::var(diag::ENV_VAR).as_deref())
            .map_err(Failure::usage)?
            .unwrap_or_default(),
    };
    diag::set(format);
    Ok(())
}

/// The environment variable through which a completion script asks
/// `gong-logs` for candidates.
const COMPLETE_VAR: &str = "GONG_LOGS_COMPLETE";

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Fetch(args) => fetch::run(args, cli.verbose, cli.quiet),
        Command::Types(args) => types(args.format),
        Command::Schema(args) => schema(args),
        Command::Doctor(args) => doctor::run(&args.connection.flags(), cli.quiet),
        Command::Auth(args) => match &args.command {
            cli::AuthCommand::Check(args) => doctor::run(&args.connection.flags(), cli.quiet),
        },
        Command::Completions(args) => {
            // The script calls `gong-logs` (found on PATH) with
            // GONG_LOGS_COMPLETE set, and clap's completion engine answers
            // from the same definitions as the parser: options, subcommands,
            // --type and --format values, profile names of the config file.
            let name = args.shell.to_string();
            let shells = clap_complete::env::Shells::builtins();
            let shell = shells
                .completer(&name)
                .ok_or_else(|| Failure::usage(format!("no completion support for {name}")))?;
            let mut out = Vec::new();
            shell
                .write_registration(
                    COMPLETE_VAR,
                    "gong-logs",
                    "gong-logs",
                    "gong-logs",
                    &mut out,
                )
                .map_err(|e| Failure::new(exit::FAILURE, anyhow::anyhow!(e)))?;
            write_stdout(&out)
        }
        Command::Man(args) => {
            let page = man::page(&args.command).ok_or_else(|| {
                let names: Vec<String> = man::pages().into_iter().map(|p| p.name).collect();
                Failure::usage(format!(
                    "no command `{}`: the pages are {}",
                    args.command.join(" "),
                    names.join(", ")
                ))
            })?;
            write_stdout(page.roff.as_bytes())
        }
        Command::Config(args) => match args.command {
            ConfigCommand::Path => match config::config_path(&config::process_env) {
                Some((path, _)) => {
                    if !cli.quiet && !path.exists() {
                        diag::note(&format!("{} does not exist yet", path.display()));
                    }
                    write_stdout(format!("{}\n", path.display()).as_bytes())
                }
                None => Err(Failure::usage(
                    "no config path: set GONG_LOGS_CONFIG, XDG_CONFIG_HOME or HOME",
                )),
            },
        },
    }
}

fn types(format: TypesFormat) -> Result<()> {
    let text = match format {
        TypesFormat::Json => {
            let list = schema::TypeListing::all();
            let mut text = serde_json::to_string_pretty(&list).expect("JSON of strings");
            text.push('\n');
            text
        }
        TypesFormat::Table => {
            let name_w = LogTypeInfo::ALL
                .iter()
                .map(|i| i.log_type.to_string().len())
                .max()
                .unwrap_or(4);
            let ret_w = LogTypeInfo::ALL
                .iter()
                .map(|i| i.retention.len())
                .max()
                .unwrap_or(9);
            let mut text = format!("{:name_w$}  {:ret_w$}  RECORDS\n", "TYPE", "RETENTION");
            for info in LogTypeInfo::ALL {
                text.push_str(&format!(
                    "{:name_w$}  {:ret_w$}  {}\n",
                    info.log_type.to_string(),
                    info.retention,
                    info.records
                ));
            }
            text
        }
    };
    write_stdout(text.as_bytes())
}

fn schema(args: &SchemaArgs) -> Result<()> {
    let root = match (args.what, args.log_type) {
        (SchemaWhat::Line, None | Some(TypeArg::All)) => schema::line(None),
        (SchemaWhat::Line, Some(TypeArg::One(t))) => schema::line(Some(t)),
        (SchemaWhat::Checkpoint | SchemaWhat::Types, Some(_)) => {
            return Err(Failure::usage(
                "--type applies to --what line only: drop --type or use --what line",
            ));
        }
        (SchemaWhat::Checkpoint, None) => schema::checkpoint(),
        (SchemaWhat::Types, None) => schema::types(),
    };
    write_stdout(schema::to_text(&root).as_bytes())
}

/// Prints clap's error as one line (help and version go to stdout as usual).
fn clap_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
        // Help on stderr (no command given) is no JSON line: say so in one.
        ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand
            if diag::format() == diag::LogFormat::Json =>
        {
            diag::error("a command is required: see gong-logs --help", exit::USAGE);
            ExitCode::from(exit::USAGE)
        }
        ErrorKind::DisplayHelp
        | ErrorKind::DisplayVersion
        | ErrorKind::DisplayHelpOnMissingArgumentOrSubcommand => {
            let _ = error.print();
            ExitCode::from(if error.use_stderr() {
                exit::USAGE
            } else {
                exit::OK
            })
        }
        ErrorKind::InvalidUtf8 => {
            diag::error(
                &format!(
                    "{} is not valid UTF-8: correct it (see --help)",
                    invalid_utf8_argument(std::env::args_os().skip(1))
                ),
                exit::USAGE,
            );
            ExitCode::from(exit::USAGE)
        }
        _ => {
            diag::error(&cli::error_line(error), exit::USAGE);
            ExitCode::from(exit::USAGE)
        }
    }
}

/// Names the first argument that is not UTF-8, by its flag when it is a
/// flag's value (`--flag VALUE` or `--flag=VALUE`); never the value itself.
fn invalid_utf8_argument(args: impl Iterator<Item = std::ffi::OsString>) -> String {
    let args: Vec<std::ffi::OsString> = args.collect();
    let Some(i) = args.iter().position(|a| a.to_str().is_none()) else {
        return "an argument".to_owned();
    };
    let bytes = args[i].as_encoded_bytes();
    let flag = if bytes.starts_with(b"-") {
        bytes
            .iter()
            .position(|b| *b == b'=')
            .and_then(|eq| std::str::from_utf8(&bytes[..eq]).ok())
    } else {
        i.checked_sub(1)
            .and_then(|p| args[p].to_str())
            .filter(|p| p.starts_with('-'))
    };
    match flag {
        Some(flag) => format!("the value of {}", exit::redact(flag)),
        None => format!("argument {}", i + 1),
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = match env::var("RUST_LOG") {
        Some(spec) => EnvFilter::new(spec),
        _ if quiet || verbose == 0 => return,
        _ => {
            let level = if verbose == 1 { "info" } else { "debug" };
            EnvFilter::new(format!("gong_logs_api={level},gong_logs_cli={level}"))
        }
    };
    if diag::format() == diag::LogFormat::Json {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .event_format(diag::events::JsonEvents)
            .with_writer(diag::events::StderrLines { redact: false })
            .try_init();
        return;
    }
    // No colours: every line goes through the redactor, which would
    // escape them.
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(false)
        .with_writer(diag::events::StderrLines { redact: true })
        .with_target(false)
        .try_init();
}

/// A panic is a bug: print a redacted one-line message and exit 1 at once,
/// from whichever thread panicked. Exiting before anything else runs keeps
/// a resumable export's checkpoint behind its data (a panicking export task
/// would otherwise just close its channel, and the export would go on with
/// a gap and commit positions past it).
fn install_panic_hook() {
    std::panic::set_hook(Box::new(|info| {
        let payload = info
            .payload()
            .downcast_ref::<&str>()
            .map(|s| (*s).to_owned())
            .or_else(|| info.payload().downcast_ref::<String>().cloned())
            .unwrap_or_default();
        let location = info
            .location()
            .map(|l| format!(" at {}:{}", l.file(), l.line()))
            .unwrap_or_default();
        let message = format!(
            "internal error (a bug, please report it): {}{location}",
            exit::redact(&exit::one_line(&payload))
        );
        match diag::format() {
            diag::LogFormat::Text => stderr_line(&format!("gong-logs: {message}")),
            diag::LogFormat::Json => {
                stderr_line(&diag::json_line("error", &message, Default::default()));
            }
        }
        std::process::exit(i32::from(exit::FAILURE));
    }));
}
