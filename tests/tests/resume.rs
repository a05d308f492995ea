//! `--resume`: killed at any point (SIGKILL), interrupted (SIGINT), or
//! failed, the same command continues and the file ends up holding every
//! entry exactly once.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::{Duration, Instant};

use gong_logs_e2e::*;

const TYPES: &str = "AccessLog,UserCallPlay";

/// A slow simulator: small pages, latency on every request.
fn slow_sim(latency_ms: u64) -> TestSim {
    let mut config = SimConfig::testing(21, 240);
    config.page_size = 8;
    config.faults.latency_ms = latency_ms;
    TestSim::start(config)
}

fn fetch_args(out: &Path, format: &str) -> Vec<String> {
    [
        "fetch",
        "-t",
        TYPES,
        "--from",
        DATA_START,
        "--to",
        DATA_END,
        "--format",
        format,
        "--concurrency",
        "2",
        "--rate-limit",
        "1000",
        "--resume",
        "-o",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([out.display().to_string()])
    .collect()
}

fn partial(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", out.display()))
}

fn checkpoint(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.gong-logs-checkpoint", out.display()))
}

/// Starts the command and sends `signal` once the data file has grown past
/// `bytes` (so the kill lands mid-export); returns the exit code.
fn interrupt(sim: &TestSim, args: &[String], out: &Path, bytes: u64, signal: &str) -> Option<i32> {
    let mut cmd = sim.cmd();
    let mut child = cmd
        .args(args)
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let started = Instant::now();
    loop {
        let len = std::fs::metadata(partial(out))
            .map(|m| m.len())
            .unwrap_or(0);
        if len > bytes {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be interrupted"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    std::process::Command::new("kill")
        .args([signal, &child.id().to_string()])
        .status()
        .unwrap();
    let output = child.wait_with_output().unwrap();
    let run = Run::new(output);
    if signal == "-INT" {
        assert!(
            run.stderr.contains("rerun the same command with --resume"),
            "{}",
            run.stderr
        );
    }
    run.code
}

fn expected_output(sim: &TestSim, format: &str) -> String {
    // The same export in one go, to stdout.
    let run = sim
        .cmd()
        .args([
            "fetch",
            "-t",
            TYPES,
            "--from",
            DATA_START,
            "--to",
            DATA_END,
            "--format",
            format,
            "--rate-limit",
            "1000",
        ])
        .run();
    run.ok();
    run.stdout
}

fn killed_and_resumed(format: &str) {
    let sim = slow_sim(15);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("audit.{format}"));
    let args = fetch_args(&out, format);

    // First run: killed after some data; then a resumed run killed again.
    assert_eq!(interrupt(&sim, &args, &out, 3_000, "-9"), None);
    assert!(checkpoint(&out).exists());
    assert!(!out.exists());
    assert_file_has_no_secrets(&checkpoint(&out));
    let first_len = std::fs::metadata(partial(&out)).unwrap().len();
    assert_eq!(interrupt(&sim, &args, &out, first_len + 6_000, "-9"), None);

    // A write that happened after the last checkpoint (or a torn one):
    // the resumed run must cut it off.
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(partial(&out))
        .unwrap()
        .write_all(b"{\"torn\":")
        .unwrap();

    let run = sim.cmd().args(&args).run();
    run.ok();
    assert!(
        run.stderr.contains("written before resuming"),
        "{}",
        run.stderr
    );
    assert!(!checkpoint(&out).exists() && !partial(&out).exists());
    let got = std::fs::read_to_string(&out).unwrap();
    assert_eq!(
        got,
        expected_output(&sim, format),
        "{format}: every entry exactly once, in order"
    );
    if format == "jsonl" {
        assert_eq!(
            got,
            sim.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END)
        );
    }
    assert_eq!(dir_listing(dir.path()), [format!("audit.{format}")]);
}

#[test]
fn jsonl_killed_twice_then_resumed_holds_every_entry_once() {
    killed_and_resumed("jsonl");
}

#[test]
fn csv_killed_twice_then_resumed_holds_every_entry_once() {
    killed_and_resumed("csv");
}

#[test]
fn json_killed_twice_then_resumed_is_one_valid_array() {
    killed_and_resumed("json");
}

#[test]
fn sigint_keeps_the_checkpoint_and_says_how_to_resume() {
    let sim = slow_sim(10);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let args = fetch_args(&out, "jsonl");
    assert_eq!(interrupt(&sim, &args, &out, 2_000, "-INT"), Some(130));
    assert!(checkpoint(&out).exists() && partial(&out).exists());
    let ckpt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(checkpoint(&out)).unwrap()).unwrap();
    assert_eq!(ckpt["version"], 1);
    assert_eq!(
        ckpt["command"]["types"],
        serde_json::json!(["AccessLog", "UserCallPlay"])
    );
    assert_eq!(
        ckpt["dataLen"].as_u64().unwrap(),
        std::fs::metadata(partial(&out)).unwrap().len()
    );

    // Without --resume: refused, nothing touched.
    let without: Vec<String> = args.iter().filter(|a| *a != "--resume").cloned().collect();
    let requests = sim.requests();
    sim.cmd()
        .args(&without)
        .run()
        .code(2)
        .one_line_error("pass --resume");
    // A different command: refused.
    let mut other = args.clone();
    let to = other.iter().position(|a| a == "--to").unwrap();
    other[to + 1] = "2024-01-30T00:00:00Z".into();
    sim.cmd()
        .args(&other)
        .run()
        .code(2)
        .one_line_error("differs in --to");
    assert_eq!(sim.requests(), requests);

    sim.cmd().args(&args).run().ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        sim.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END)
    );
}

#[test]
fn a_failed_resumable_export_says_how_to_continue() {
    let mut config = SimConfig::testing(9, 200);
    config.page_size = 10;
    config.faults.p_500 = 0.25;
    let sim = TestSim::start(config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let mut args = fetch_args(&out, "jsonl");
    args.extend(["--max-retries".into(), "0".into()]);
    let run = sim.cmd().args(&args).run();
    run.code(1)
        .one_line_error("rerun the same command with --resume");
    assert!(checkpoint(&out).exists());

    // Resume against a healthy server at the same address.
    let addr = sim.base_url();
    drop(sim);
    let mut config = SimConfig::testing(9, 200);
    config.page_size = 10;
    config.bind = addr.trim_start_matches("http://").parse().unwrap();
    let healthy = TestSim::start(config);
    healthy.cmd().args(&args).run().ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        healthy.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END)
    );
}

#[test]
fn relative_times_resume_over_the_first_runs_range() {
    let sim = slow_sim(10);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let args: Vec<String> = [
        "fetch",
        "-t",
        TYPES,
        "--since",
        "2000d",
        "--concurrency",
        "1",
        "--rate-limit",
        "1000",
        "--resume",
        "-o",
    ]
    .iter()
    .map(|s| (*s).to_owned())
    .chain([out.display().to_string()])
    .collect();
    assert_eq!(interrupt(&sim, &args, &out, 2_000, "-9"), None);
    let ckpt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(checkpoint(&out)).unwrap()).unwrap();
    assert_eq!(ckpt["command"]["from"], "2000d");
    std::thread::sleep(Duration::from_millis(1100));
    let run = sim.cmd().args(&args).run();
    run.ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        sim.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END)
    );
}

#[test]
fn killed_between_the_final_rename_and_the_checkpoint_deletion() {
    let sim = slow_sim(5);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let args = fetch_args(&out, "jsonl");
    assert_eq!(interrupt(&sim, &args, &out, 1_000, "-9"), None);
    let saved = std::fs::read_to_string(checkpoint(&out)).unwrap();
    sim.cmd().args(&args).run().ok();
    let done = std::fs::read_to_string(&out).unwrap();
    // The state a kill right after the rename leaves: the finished file and
    // a checkpoint saying every type is done.
    let mut ckpt: serde_json::Value = serde_json::from_str(&saved).unwrap();
    for t in ckpt["types"].as_array_mut().unwrap() {
        t["done"] = true.into();
    }
    std::fs::write(checkpoint(&out), ckpt.to_string()).unwrap();
    let requests = sim.requests();
    let run = sim.cmd().args(&args).run();
    run.ok();
    assert!(run.stderr.contains("already complete"), "{}", run.stderr);
    assert_eq!(sim.requests(), requests);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), done);
    assert_eq!(dir_listing(dir.path()), ["audit.jsonl"]);
}
