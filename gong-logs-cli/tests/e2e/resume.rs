//! `--resume`: killed at any point (SIGKILL), interrupted (SIGINT), or
//! failed, the same command continues and the file ends up holding every
//! entry exactly once.

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use gong_logs_e2e::*;

const TYPES: &str = "AccessLog,UserCallPlay";

/// `fetch` (made ready by the caller: aimed at a simulator, maybe under
/// a shell) as the export of these tests: both types, two chains, `format`,
/// into `out`.
fn export(mut fetch: Fetch, out: &Path, format: &str) -> Fetch {
    fetch.types(TYPES).format(format).chains(2).output(out);
    fetch
}

/// [`export`] with `--resume`.
fn resumable(fetch: Fetch, out: &Path, format: &str) -> Fetch {
    let mut fetch = export(fetch, out, format);
    fetch.args(["--resume"]);
    fetch
}

fn partial(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", out.display()))
}

fn checkpoint(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.gong-logs-checkpoint", out.display()))
}

/// Starts the command and sends `signal` once the data file has grown past
/// `bytes` (so the kill lands mid-export); returns the exit code.
fn interrupt(mut fetch: Fetch, out: &Path, bytes: u64, signal: &str) -> Option<i32> {
    let mut child = fetch.spawn();
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
    let run = sim.fetch().types(TYPES).format(format).run();
    run.ok();
    run.stdout
}

/// A forward proxy demanding the harness's credentials, and the
/// `--proxy` flag that goes through it.
fn proxy_and_flag() -> (proxy::TestProxy, [String; 2]) {
    let proxy = proxy::TestProxy::start(proxy::ProxyMode::Auth {
        user: PROXY_USER.to_owned(),
        password: PROXY_PASSWORD.to_owned(),
    });
    let flag = [
        "--proxy".to_owned(),
        proxy.url_with(PROXY_USER, PROXY_PASSWORD),
    ];
    (proxy, flag)
}

fn killed_and_resumed(format: &str) {
    killed_and_resumed_on(TestSim::slow(15), format, None);
}

/// Killed twice, then resumed, against `sim`; every run through `proxy`
/// when given (its flag, and the proxy to count what went through it).
fn killed_and_resumed_on(
    sim: TestSim,
    format: &str,
    proxy: Option<(&proxy::TestProxy, &[String; 2])>,
) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("audit.{format}"));
    let resume = || {
        let mut fetch = resumable(sim.fetch(), &out, format);
        if let Some((_, flag)) = proxy {
            fetch.args(flag);
        }
        fetch
    };

    // First run: killed after some data; then a resumed run killed again.
    assert_eq!(interrupt(resume(), &out, 3_000, "-9"), None);
    assert!(checkpoint(&out).exists());
    assert!(!out.exists());
    assert_file_has_no_secrets(&checkpoint(&out));
    let first_len = std::fs::metadata(partial(&out)).unwrap().len();
    assert_eq!(interrupt(resume(), &out, first_len + 6_000, "-9"), None);

    // A write that happened after the last checkpoint (or a torn one):
    // the resumed run must cut it off.
    use std::io::Write as _;
    std::fs::OpenOptions::new()
        .append(true)
        .open(partial(&out))
        .unwrap()
        .write_all(b"{\"torn\":")
        .unwrap();

    let run = resume().run();
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
    if let Some((proxy, _)) = proxy {
        // The three runs' requests all went through it (the comparison
        // export above did not).
        let through = proxy.lines().len() as u64;
        assert!(through > 0, "nothing went through the proxy");
        // Plain http goes as absolute-URI GETs, https as CONNECT tunnels.
        let base = sim.base_url();
        let prefix = match base.strip_prefix("https://") {
            Some(authority) => format!("CONNECT {}", authority.trim_end_matches('/')),
            None => format!("GET {base}/v2/logs?"),
        };
        assert!(
            proxy.lines().iter().all(|l| l.starts_with(&prefix)),
            "{:?}",
            proxy.lines()
        );
        assert!(through < sim.requests(), "{through} of {}", sim.requests());
    }
}

#[test]
fn jsonl_killed_twice_then_resumed_holds_every_entry_once() {
    killed_and_resumed("jsonl");
}

/// The same over HTTPS (the simulator's TLS, a CA made for the test).
#[test]
fn jsonl_killed_twice_then_resumed_over_https_holds_every_entry_once() {
    killed_and_resumed_on(
        TestSim::https(TestSim::slow_config(15), Leaf::Valid),
        "jsonl",
        None,
    );
}

/// Over HTTPS through a forward proxy demanding credentials (CONNECT
/// tunnels), as behind a company's egress proxy.
#[test]
fn jsonl_killed_twice_then_resumed_over_https_through_a_proxy() {
    let (proxy, flag) = proxy_and_flag();
    killed_and_resumed_on(
        TestSim::https(TestSim::slow_config(15), Leaf::Valid),
        "jsonl",
        Some((&proxy, &flag)),
    );
}

#[test]
fn jsonl_killed_twice_then_resumed_through_a_proxy() {
    let (proxy, flag) = proxy_and_flag();
    killed_and_resumed_on(TestSim::slow(15), "jsonl", Some((&proxy, &flag)));
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
    let sim = TestSim::slow(10);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let resume = || resumable(sim.fetch(), &out, "jsonl");
    assert_eq!(interrupt(resume(), &out, 2_000, "-INT"), Some(130));
    assert!(checkpoint(&out).exists() && partial(&out).exists());
    let ckpt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(checkpoint(&out)).unwrap()).unwrap();
    assert_eq!(ckpt["version"], 2);
    assert_eq!(
        ckpt["command"]["types"],
        serde_json::json!(["AccessLog", "UserCallPlay"])
    );
    assert_eq!(
        ckpt["dataLen"].as_u64().unwrap(),
        std::fs::metadata(partial(&out)).unwrap().len()
    );

    // Without --resume: refused, nothing touched.
    let requests = sim.requests();
    export(sim.fetch(), &out, "jsonl")
        .run()
        .code(2)
        .one_line_error("pass --resume");
    // A different command: refused.
    resume()
        .range(DATA_START, "2024-01-30T00:00:00Z")
        .run()
        .code(2)
        .one_line_error("differs in --to");
    assert_eq!(sim.requests(), requests);

    resume().run().ok();
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
    let resume = |sim: &TestSim| {
        let mut fetch = resumable(sim.fetch(), &out, "jsonl");
        fetch.args(["--max-retries", "0"]);
        fetch
    };
    let run = resume(&sim).run();
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
    resume(&healthy).run().ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        healthy.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END)
    );
}

#[test]
fn relative_times_resume_over_the_first_runs_range() {
    let sim = TestSim::slow(10);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let resume = || {
        let mut fetch = sim.fetch();
        fetch
            .types(TYPES)
            .no_range()
            .args(["--since", "2000d"])
            .chains(1)
            .output(&out)
            .args(["--resume"]);
        fetch
    };
    assert_eq!(interrupt(resume(), &out, 2_000, "-9"), None);
    let ckpt: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(checkpoint(&out)).unwrap()).unwrap();
    assert_eq!(ckpt["command"]["from"], "2000d");
    std::thread::sleep(Duration::from_millis(1100));
    let run = resume().run();
    run.ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        sim.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END)
    );
}

#[test]
fn killed_between_the_final_rename_and_the_checkpoint_deletion() {
    let sim = TestSim::slow(5);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let resume = || resumable(sim.fetch(), &out, "jsonl");
    assert_eq!(interrupt(resume(), &out, 1_000, "-9"), None);
    let saved = std::fs::read_to_string(checkpoint(&out)).unwrap();
    resume().run().ok();
    let done = std::fs::read_to_string(&out).unwrap();
    // The state a kill right after the rename leaves: the finished file and
    // the last checkpoint, which says every type is done and covers the
    // whole file (rebuilt from the saved one, sealed as gong-logs does).
    let mut ckpt: gong_logs_cli::checkpoint::Checkpoint = serde_json::from_str(&saved).unwrap();
    for t in &mut ckpt.types {
        t.done = true;
    }
    let requests = sim.requests();
    // First, an edited checkpoint (done: true by hand, not resealed): refused.
    let mut edited: serde_json::Value = serde_json::from_str(&saved).unwrap();
    for t in edited["types"].as_array_mut().unwrap() {
        t["done"] = true.into();
    }
    std::fs::write(checkpoint(&out), edited.to_string()).unwrap();
    resume().run().code(2).one_line_error("cannot be trusted");
    // Sealed, but covering only the first run's part of the file: the
    // file holds more than the checkpoint, refused.
    gong_logs_cli::checkpoint::store(&checkpoint(&out), &ckpt).unwrap();
    resume()
        .run()
        .code(2)
        .one_line_error("says the export is complete");
    // The real state: covering the whole file.
    ckpt.data_len = done.len() as u64;
    ckpt.data_sha256 = sha256_hex(done.as_bytes());
    gong_logs_cli::checkpoint::store(&checkpoint(&out), &ckpt).unwrap();
    assert_eq!(sim.requests(), requests);
    let run = resume().run();
    run.ok();
    assert!(run.stderr.contains("already complete"), "{}", run.stderr);
    assert_eq!(sim.requests(), requests);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), done);
    assert_eq!(dir_listing(dir.path()), ["audit.jsonl"]);
}

fn sha256_hex(bytes: &[u8]) -> String {
    use sha2::Digest as _;
    gong_logs_cli::checkpoint::hex(&sha2::Sha256::digest(bytes))
}

/// The data file and checkpoint of a resumable export to `out` (any
/// format) after a kill: the checkpoint covers a prefix of the data file,
/// and that prefix is a prefix of the complete export. Returns the number
/// of declared bytes.
#[track_caller]
fn check_declared_prefix(out: &Path, expected: &str) -> u64 {
    let Ok(text) = std::fs::read_to_string(checkpoint(out)) else {
        if out.exists() {
            assert_eq!(std::fs::read_to_string(out).unwrap(), expected);
        }
        return 0;
    };
    assert_file_has_no_secrets(&checkpoint(out));
    let ckpt: serde_json::Value = serde_json::from_str(&text).expect("checkpoint is JSON");
    let declared = ckpt["dataLen"].as_u64().unwrap();
    let data = std::fs::read(partial(out))
        .or_else(|_| std::fs::read(out))
        .unwrap();
    assert!(data.len() as u64 >= declared, "declared past the data");
    assert!(
        expected.as_bytes().starts_with(&data[..declared as usize]),
        "the declared data is not a prefix of the export"
    );
    declared
}

/// Sends SIGKILL to `child` once `due` says so (polled every 2 ms);
/// `false` if the run finished first (then it must have succeeded).
fn kill_when(child: &mut std::process::Child, mut due: impl FnMut() -> bool) -> bool {
    let started = Instant::now();
    while !due() {
        if child.try_wait().unwrap().is_some() {
            return false;
        }
        assert!(started.elapsed() < Duration::from_secs(30), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    std::process::Command::new("kill")
        .args(["-9", &child.id().to_string()])
        .status()
        .unwrap();
    true
}

/// One sequence of kill -9 at seeded random points, each followed by the
/// same command with --resume, until a run completes; returns (kills,
/// runs, entries compared, where each kill landed).
///
/// Where a kill lands is chosen in bytes, not in time, so that it does not
/// depend on how fast the machine is: every other kill comes once the data
/// file has passed a seeded random size between what is there and 90 % of
/// the export (mid-batch, during checkpoint writes); the others come after
/// a seeded 0-30 ms, whatever the process is doing (start-up, planning,
/// the first requests).
fn random_kills(
    format: &'static str,
    seed: u64,
    max_kills: usize,
) -> (usize, usize, usize, Vec<u64>) {
    let mut config = SimConfig::testing(seed, 300);
    config.page_size = 8;
    config.faults.latency_ms = 4;
    let sim = TestSim::start(config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join(format!("audit.{format}"));
    let resume = || resumable(sim.fetch(), &out, format);
    let expected = expected_output(&sim, format);
    let total = expected.len() as u64;
    let mut rng = SeededRng::new(seed);
    let (mut kills, mut runs) = (0usize, 0usize);
    // Where each kill left the export: declared bytes, in % of the whole.
    let mut landed = Vec::new();
    loop {
        runs += 1;
        let size = || {
            std::fs::metadata(partial(&out))
                .map(|m| m.len())
                .unwrap_or(0)
        };
        let now = size();
        let by_size = runs % 2 == 1 && now < total * 9 / 10;
        if kills == max_kills {
            resume().run().ok();
            break;
        }
        let mut child = resume().spawn();
        let killed = if by_size {
            let at = rng.between(now + 1, total * 9 / 10);
            kill_when(&mut child, || size() >= at)
        } else {
            let at = Instant::now() + Duration::from_millis(rng.between(0, 30));
            kill_when(&mut child, || Instant::now() >= at)
        };
        let run = Run::new(child.wait_with_output().unwrap());
        if !killed || run.code.is_some() {
            // It finished before the signal.
            run.ok();
            break;
        }
        kills += 1;
        let declared = if format == "jsonl" {
            check_resumable_jsonl(&out, &expected).data_len
        } else {
            check_declared_prefix(&out, &expected)
        };
        landed.push(declared * 100 / total);
    }
    let got = std::fs::read_to_string(&out).unwrap();
    assert!(
        got == expected,
        "{format} seed {seed}: after {kills} kills the file differs from the export"
    );
    if format == "jsonl" {
        assert_eq!(
            got,
            sim.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END)
        );
    }
    assert_eq!(dir_listing(dir.path()), [format!("audit.{format}")]);
    (kills, runs, expected.lines().count(), landed)
}

#[test]
fn kill_9_at_random_instants_never_loses_or_repeats_an_entry() {
    // Four sequences side by side, each with its own simulator and seed.
    let plan: [(&str, u64); 4] = [
        ("jsonl", 0x5eed_0001),
        ("jsonl", 0x5eed_0002),
        ("csv", 0x5eed_0003),
        ("json", 0x5eed_0004),
    ];
    let handles: Vec<_> = plan
        .into_iter()
        .map(|(format, seed)| {
            std::thread::spawn(move || (format, seed, random_kills(format, seed, 6)))
        })
        .collect();
    let (mut kills, mut runs) = (0, 0);
    eprintln!("kill -9 at random points, then --resume:");
    for h in handles {
        let (format, seed, (k, r, entries, landed)) =
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        eprintln!(
            "  {format:<5} seed {seed:#x}: {k} kills survived in {r} runs, {entries} lines compared; declared % at each kill: {landed:?}"
        );
        // The size-chosen kills (the first, third, ...) land before 90 % of
        // the data is written, so they cannot miss: at least those.
        assert!(k >= 1, "{format}: the first kill must land mid-export");
        kills += k;
        runs += r;
    }
    eprintln!("  total: {kills} kills survived in {runs} runs");
}

#[test]
fn a_full_disk_never_advances_the_checkpoint_past_unwritten_data() {
    let mut config = SimConfig::testing(13, 300);
    config.page_size = 4;
    let sim = TestSim::start(config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let resume = || resumable(sim.fetch(), &out, "jsonl");
    let expected = sim.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END);
    // `ulimit -f 24`: the data file cannot pass 12 KiB (EFBIG, as a full
    // disk gives ENOSPC); the small checkpoint still fits.
    let limited = "trap '' XFSZ; ulimit -f 24";
    for attempt in 0..2 {
        let run = resumable(sim.fetch_under_shell(limited), &out, "jsonl").run();
        run.code(1)
            .one_line_error("File too large")
            .one_line_error("rerun the same command with --resume");
        let state = check_resumable_jsonl(&out, &expected);
        eprintln!(
            "full disk, attempt {attempt}: {} bytes written, {} declared by the checkpoint ({} entries)",
            state.partial_len, state.data_len, state.entries
        );
        assert!(state.checkpoint);
        assert!(state.data_len <= 24 * 512, "{state:?}");
        assert!(
            state.partial_len >= state.data_len && state.entries > 0,
            "attempt {attempt}: {state:?}"
        );
    }
    // Space again: the resumed run cuts what was never declared and
    // finishes with every entry once.
    resume().run().ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);
    assert_eq!(dir_listing(dir.path()), ["audit.jsonl"]);
}

#[test]
fn a_checkpoint_that_cannot_be_written_stops_the_export_consistently() {
    let sim = TestSim::slow(10);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let resume = || resumable(sim.fetch(), &out, "jsonl");
    let expected = sim.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END);
    let blocker = PathBuf::from(format!("{}.tmp", checkpoint(&out).display()));
    let child = resume().spawn();
    // Once some data is declared, a directory takes the place of the
    // checkpoint's temporary file: the next checkpoint cannot be written.
    let started = Instant::now();
    let declared = || {
        std::fs::read_to_string(checkpoint(&out))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|v| v["dataLen"].as_u64())
            .unwrap_or(0)
    };
    while declared() == 0 {
        assert!(started.elapsed() < Duration::from_secs(20), "no progress");
        std::thread::sleep(Duration::from_millis(2));
    }
    while std::fs::create_dir(&blocker).is_err() {
        std::thread::sleep(Duration::from_millis(1));
    }
    let run = Run::new(child.wait_with_output().unwrap());
    run.code(1)
        .one_line_error("cannot write checkpoint")
        .one_line_error("rerun the same command with --resume");
    let state = check_resumable_jsonl(&out, &expected);
    assert!(state.checkpoint && state.entries > 0, "{state:?}");
    std::fs::remove_dir(&blocker).unwrap();
    resume().run().ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected);
    assert_eq!(dir_listing(dir.path()), ["audit.jsonl"]);
}
