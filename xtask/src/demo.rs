//! `cargo xtask demo`: the main job, end to end, on the built-in simulator.
//!
//! Builds the `gong-logs` binary, starts the simulator in this process on a
//! free loopback port (Gong's rate limit of 3 requests/s included), and runs
//! the real binary against it as a user would. Exits non-zero if any step
//! fails.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, Result, bail, ensure};
use gong_logs_sim::{SimConfig, Simulator};

/// The workspace root (the parent of `xtask/`).
pub fn workspace_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("xtask lives in the workspace root")
        .to_path_buf()
}

/// The cargo running this task (`CARGO`), else `cargo`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The target directory: `CARGO_TARGET_DIR`, else `root/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
}

/// Builds a binary of the workspace with cargo and returns its path.
pub fn build_binary(package: &str, bin: &str, release: bool) -> Result<PathBuf> {
    let root = workspace_root();
    let mut cmd = Command::new(cargo());
    cmd.current_dir(&root)
        .args(["build", "--quiet", "--package", package, "--bin", bin]);
    if release {
        cmd.arg("--release");
    }
    let status = cmd.status().context("cannot run cargo build")?;
    ensure!(status.success(), "cargo build of {package} failed");
    let path = target_dir(&root)
        .join(if release { "release" } else { "debug" })
        .join(bin);
    ensure!(path.exists(), "{} was not built", path.display());
    Ok(path)
}

fn banner(text: &str) {
    eprintln!("\n\x1b[1m== {text}\x1b[0m");
}

/// Points a `gong-logs` command at the simulator: its address and Basic
/// credentials, and none of the real settings of the user running this.
pub fn point_at_sim<'c>(command: &'c mut Command, sim: &Simulator) -> &'c mut Command {
    command
        .env("GONG_BASE_URL", sim.base_url())
        .env("GONG_ACCESS_KEY", &sim.config().access_key)
        .env("GONG_ACCESS_KEY_SECRET", &sim.config().secret)
        .env_remove("GONG_BEARER_TOKEN")
        .env_remove("GONG_PROFILE")
        .env_remove("GONG_LOGS_CONFIG")
        .env("XDG_CONFIG_HOME", workspace_root().join("target/no-config"))
}

/// Runs `gong-logs` with the simulator's address and credentials.
fn gong_logs(bin: &Path, sim: &Simulator, args: &[&str]) -> Result<()> {
    eprintln!("$ gong-logs {}", args.join(" "));
    let status = point_at_sim(Command::new(bin).args(args), sim)
        .status()
        .context("cannot start gong-logs")?;
    if !status.success() {
        bail!("gong-logs {} failed: {status}", args.join(" "));
    }
    Ok(())
}

/// Runs the demo.
pub fn run() -> Result<()> {
    banner("building gong-logs");
    let bin = build_binary("gong-logs-cli", "gong-logs", false)?;
    let runtime = tokio::runtime::Runtime::new()?;
    let out_dir = workspace_root().join("target/demo");
    std::fs::create_dir_all(&out_dir)?;
    let all_file = out_dir.join("all-types.jsonl");
    let _ = std::fs::remove_file(&all_file);

    runtime.block_on(async {
        let config = SimConfig {
            entries_per_type: 700,
            ..SimConfig::default()
        };
        let sim = Simulator::start(config)
            .await
            .context("cannot start the simulator")?;
        eprintln!(
            "simulator of Gong's /v2/logs at {} (3 requests/s, 30 days of data, 700 entries per type)",
            sim.base_url()
        );
        let result = tokio::task::block_in_place(|| -> Result<()> {
            banner("the five log types");
            gong_logs(&bin, &sim, &["types"])?;

            banner("a week of UserActivityLog, as a table (first 15)");
            gong_logs(
                &bin,
                &sim,
                &["fetch", "--type", "UserActivityLog", "--since", "7d", "--format", "table", "--limit", "15"],
            )?;

            banner("call plays of the last 3 days as CSV, chosen columns");
            gong_logs(
                &bin,
                &sim,
                &[
                    "fetch", "--type", "UserCallPlay", "--since", "3d", "--format", "csv",
                    "--fields", "eventTime,userEmailAddress,logRecord.call_id,logRecord.play_speed",
                    "--limit", "5",
                ],
            )?;

            banner("every log type, 30 days, to a JSONL file (rate-limited to 3 requests/s)");
            let file = all_file.to_string_lossy().into_owned();
            gong_logs(&bin, &sim, &["fetch", "--type", "all", "--since", "30d", "-o", &file])?;
            Ok(())
        });
        let stats = sim.stats();
        sim.shutdown().await;
        result?;
        eprintln!(
            "simulator saw {} requests: {:?} by status, {} Retry-After violations",
            stats.total_requests, stats.by_status, stats.retry_after_violations
        );
        Ok::<_, anyhow::Error>(())
    })?;

    let text = std::fs::read_to_string(&all_file)?;
    let mut per_type = std::collections::BTreeMap::<String, usize>::new();
    for line in text.lines() {
        let value: serde_json::Value =
            serde_json::from_str(line).context("the export holds a line that is not JSON")?;
        let t = value["logType"].as_str().unwrap_or("?").to_owned();
        *per_type.entry(t).or_default() += 1;
    }
    banner(&format!("{}", all_file.display()));
    for (t, n) in &per_type {
        eprintln!("  {t:<28} {n:>6} entries");
    }
    if let Some(first) = text.lines().next() {
        eprintln!("  first line: {}", truncate(first, 160));
    }
    ensure!(per_type.len() == 5, "expected all five types in the export");
    eprintln!("\ndemo finished: every step exited 0");
    Ok(())
}

fn truncate(text: &str, max: usize) -> String {
    match text.char_indices().nth(max) {
        Some((i, _)) => format!("{}…", &text[..i]),
        None => text.to_owned(),
    }
}
