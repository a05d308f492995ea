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
    /// openapi/patches.json (--check: verify it; --upstream FILE|URL|gong:
    /// adopt a new spec and report what changed on /v2/logs; --drift: report
    /// only).
    Reconcile(xtask::reconcile::Args),
    /// Check .github/workflows/*.yml: valid YAML, a workflow's shape, and
    /// every `cargo xtask`, `bash FILE` and `uses:` they name exists.
    CheckWorkflows(xtask::workflows::Args),
    /// Write docs/schemas/*.json, the JSON Schemas of gong-logs' outputs
    /// (--check: verify them).
    Schemas(xtask::schemas::Args),
    /// Check each crate's modules for import cycles, files over 600 lines
    /// and functions over 80 (strictness per crate: xtask/src/layers.rs).
    CheckLayers(xtask::layers::Args),
    /// Build gong-logs, start the simulator on a free loopback port and run
    /// the real binary against it: the main job, end to end.
    Demo,
    /// Measure rate-limit efficiency, throughput, peak memory and start-up
    /// against the simulator; print a table and write docs/BENCHMARKS.md.
    Bench(xtask::bench::Args),
    /// Build the release archive target/dist/gong-logs-VERSION-TARGET.tar.gz
    /// (binary, man pages, completions, contrib/, README, licences), check
    /// its contents, and the .deb when cargo-deb is installed.
    Dist(xtask::dist::Args),
    /// Run a command as the only child and write its peak RSS (KiB) to OUT
    /// (used by `bench`).
    #[command(hide = true)]
    RssProbe {
        /// Where to write the figure.
        out: std::path::PathBuf,
        /// The command and its arguments.
        #[arg(last = true, required = true)]
        command: Vec<String>,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match &cli.task {
        Task::Reconcile(args) => xtask::reconcile::run(args),
        Task::CheckWorkflows(args) => xtask::workflows::run(args, &|words: &[String]| {
            let argv = std::iter::once("cargo xtask".to_string()).chain(words.iter().cloned());
            Cli::try_parse_from(argv)
                .map(|_| ())
                .map_err(|e| e.to_string())
        }),
        Task::Schemas(args) => xtask::schemas::run(args),
        Task::CheckLayers(args) => xtask::layers::run(args),
        Task::Demo => xtask::demo::run().map(|()| ExitCode::SUCCESS),
        Task::Bench(args) => xtask::bench::run(args).map(|()| ExitCode::SUCCESS),
        Task::Dist(args) => xtask::dist::run(args).map(|()| ExitCode::SUCCESS),
        Task::RssProbe { out, command } => xtask::bench::rss_probe(out, command),
    };
    match result {
        Ok(code) => code,
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::FAILURE
        }
    }
}
