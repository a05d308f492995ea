//! `gong-logs`: pull Gong audit logs (`GET /v2/logs`) exactly once.
//!
//! The binary's `main` calls [`main`]. Modules: [`cli`] (flags), [`time`]
//! (TIME parsing), [`config`] (profiles and credentials), [`output`] (the
//! four formats), `sink` (stdout, files, resumable files), [`checkpoint`],
//! `progress`, `fetch` (the export loop). No HTTP here: every request goes
//! through `gong-logs-api`.

pub mod checkpoint;
pub mod cli;
pub mod config;
pub mod exit;
mod fetch;
pub mod fields;
pub mod localfs;
pub mod output;
mod progress;
mod sink;
pub mod time;

use std::io::Write as _;
use std::process::ExitCode;

use clap::{CommandFactory as _, Parser as _};
use gong_logs_api::LogTypeInfo;

use crate::cli::{Cli, Command, ConfigCommand, TypesFormat};
use crate::exit::{Failure, Result};

/// Runs the command line; returns the exit code.
pub fn main() -> ExitCode {
    install_panic_hook();
    let cli = match Cli::try_parse() {
        Ok(cli) => cli,
        Err(e) => return clap_error(&e),
    };
    init_tracing(cli.verbose, cli.quiet);
    match run(&cli) {
        Ok(()) => ExitCode::from(exit::OK),
        Err(failure) => {
            eprintln!("gong-logs: error: {}", failure.message());
            ExitCode::from(failure.code)
        }
    }
}

fn run(cli: &Cli) -> Result<()> {
    match &cli.command {
        Command::Fetch(args) => fetch::run(args, cli.verbose, cli.quiet),
        Command::Types(args) => types(args.format),
        Command::Completions(args) => {
            let mut out = Vec::new();
            clap_complete::generate(args.shell, &mut Cli::command(), "gong-logs", &mut out);
            write_stdout(&out)
        }
        Command::Config(args) => match args.command {
            ConfigCommand::Path => match config::config_path(&config::process_env) {
                Some((path, _)) => {
                    if !cli.quiet && !path.exists() {
                        eprintln!("gong-logs: note: {} does not exist yet", path.display());
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

fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(
            exit::FAILURE,
            anyhow::anyhow!("cannot write to stdout: {e}"),
        )),
    }
}

fn types(format: TypesFormat) -> Result<()> {
    let text = match format {
        TypesFormat::Json => {
            let list: Vec<serde_json::Value> = LogTypeInfo::ALL
                .iter()
                .map(|info| {
                    serde_json::json!({
                        "name": info.log_type.to_string(),
                        "records": info.records,
                        "retention": info.retention,
                        "hasUser": info.has_user,
                    })
                })
                .collect();
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

/// Prints clap's error as one line (help and version go to stdout as usual).
fn clap_error(error: &clap::Error) -> ExitCode {
    use clap::error::ErrorKind;
    match error.kind() {
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
        _ => {
            let rendered = error.render().to_string();
            let main = rendered.split("\n\nUsage:").next().unwrap_or(&rendered);
            let main: String = main
                .lines()
                .filter(|l| !l.starts_with("For more information"))
                .collect::<Vec<_>>()
                .join("\n");
            let main = main.trim().trim_start_matches("error:").trim();
            let message = exit::redact(&exit::one_line(main));
            eprintln!("gong-logs: error: {message} (see --help)");
            ExitCode::from(exit::USAGE)
        }
    }
}

fn init_tracing(verbose: u8, quiet: bool) {
    use tracing_subscriber::EnvFilter;
    let filter = match std::env::var("RUST_LOG") {
        Ok(spec) if !spec.is_empty() => EnvFilter::new(spec),
        _ if quiet || verbose == 0 => return,
        _ => {
            let level = if verbose == 1 { "info" } else { "debug" };
            EnvFilter::new(format!("gong_logs_api={level},gong_logs_cli={level}"))
        }
    };
    use std::io::IsTerminal as _;
    let ansi = std::io::stderr().is_terminal() && std::env::var_os("NO_COLOR").is_none();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_ansi(ansi)
        .with_writer(std::io::stderr)
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
        eprintln!(
            "gong-logs: internal error (a bug, please report it): {}{location}",
            exit::redact(&exit::one_line(&payload))
        );
        std::process::exit(i32::from(exit::FAILURE));
    }));
}
