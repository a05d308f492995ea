//! `cargo xtask <task>`: the workspace's developer tasks.
//!
//! The alias in `.cargo/config.toml` runs this binary. Each subcommand lives
//! in its own module of the `xtask` library; this file only dispatches.

#![allow(clippy::print_stdout, clippy::print_stderr)]

use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// Developer tasks for the gong-logs workspace.
#[derive(Debug, Parser)]
#[command(name = "cargo xtask", bin_name = "cargo xtask", version, about)]
struct Cli {
    #[command(subcommand)]
    task: Task,
}

#[derive(Debug, Subcommand)]
enum Task {
    /// Rebuild openapi/gong-logs-v2.json from Gong's upstream spec and
    /// openapi/patches.json (--check: verify it; --upstream: adopt a new
    /// download and report what changed on /v2/logs).
    Reconcile(xtask::reconcile::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.task {
        Task::Reconcile(args) => xtask::reconcile::run(args),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
