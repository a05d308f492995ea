//! `-o FILE`: written whole on success, never half-written on failure.

use gong_logs_e2e::*;

#[test]
fn output_file_holds_exactly_the_export() {
    let sim = TestSim::small(60);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let run = sim.fetch().types("all").output(&out).run();
    run.ok();
    assert_eq!(run.stdout, "");
    assert!(run.stderr.contains("written to"), "{}", run.stderr);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        sim.expected_jsonl(&ALL_TYPES, DATA_START, DATA_END)
    );
    assert_eq!(dir_listing(dir.path()), ["audit.jsonl"]);
    // Audit data is private.
    use std::os::unix::fs::PermissionsExt as _;
    assert_eq!(
        std::fs::metadata(&out).unwrap().permissions().mode() & 0o077,
        0
    );
}

#[test]
fn format_follows_the_file_extension_unless_given() {
    let sim = TestSim::small(20);
    let dir = tempfile::tempdir().unwrap();
    sim.fetch()
        .types("UserCallPlay")
        .args(["-o", "x.csv"])
        .current_dir(dir.path())
        .run()
        .ok();
    assert!(
        std::fs::read_to_string(dir.path().join("x.csv"))
            .unwrap()
            .starts_with("logType,eventTime,")
    );
    sim.fetch()
        .types("UserCallPlay")
        .args(["-o", "x.json"])
        .current_dir(dir.path())
        .run()
        .ok();
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(dir.path().join("x.json")).unwrap()).unwrap();
    assert_eq!(json.as_array().unwrap().len(), 20);
    sim.fetch()
        .types("UserCallPlay")
        .args(["-o", "x.json", "--format", "jsonl"])
        .current_dir(dir.path())
        .run()
        .ok();
    assert_eq!(
        std::fs::read_to_string(dir.path().join("x.json")).unwrap(),
        sim.expected_jsonl(&["UserCallPlay"], DATA_START, DATA_END)
    );
    assert_eq!(dir_listing(dir.path()), ["x.csv", "x.json"]);
}

#[test]
fn a_failed_export_leaves_no_file_and_keeps_an_old_one() {
    // Every other request fails with a 500 and retries are off: the export
    // fails after some pages were written to the temporary file.
    // (The fault draws depend on the seed: take one whose first pages pass.)
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.csv");
    let failing = |sim: &TestSim| {
        sim.fetch()
            .types("AccessLog,UserCallPlay")
            .chains(1)
            .output(&out)
            .args(["--max-retries", "0"])
            .run()
    };
    let sim = (1..50)
        .find_map(|seed| {
            let mut config = SimConfig::testing(seed, 200);
            config.page_size = 10;
            config.faults.p_500 = 0.3;
            let sim = TestSim::start(config);
            let run = failing(&sim);
            run.code(1).one_line_error("HTTP 500");
            assert!(run.stderr.contains("was not written"), "{}", run.stderr);
            assert_eq!(
                dir_listing(dir.path()),
                Vec::<String>::new(),
                "no file, no temp file"
            );
            (sim.stats().pages_served > 1).then_some(sim)
        })
        .expect("a seed whose first pages succeed");

    std::fs::write(&out, "old content\n").unwrap();
    let run = failing(&sim);
    run.code(1);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old content\n");
    assert_eq!(dir_listing(dir.path()), ["audit.csv"]);

    // Refused credentials: the same.
    let run = sim
        .fetch()
        .env("GONG_ACCESS_KEY_SECRET", "nope-nope")
        .types("AccessLog")
        .output(dir.path().join("other.jsonl"))
        .run();
    run.code(3);
    assert_eq!(dir_listing(dir.path()), ["audit.csv"]);
}

#[test]
fn output_into_a_missing_directory_is_a_usage_error() {
    let sim = TestSim::small(5);
    let run = sim
        .fetch()
        .types("AccessLog")
        .output("/nonexistent-dir/x.jsonl")
        .run();
    run.code(2).one_line_error("does not exist");
    assert_eq!(sim.requests(), 0);
}

#[test]
fn ctrl_c_without_resume_leaves_no_file() {
    let mut config = SimConfig::testing(8, 300);
    config.page_size = 5;
    config.faults.latency_ms = 20;
    let sim = TestSim::start(config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let child = sim.fetch().types("all").chains(1).output(&out).spawn();
    let started = std::time::Instant::now();
    while sim.stats().pages_served < 3 {
        assert!(started.elapsed() < std::time::Duration::from_secs(20));
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    std::process::Command::new("kill")
        .args(["-INT", &child.id().to_string()])
        .status()
        .unwrap();
    let run = Run::new(child.wait_with_output().unwrap());
    run.code(130).one_line_error("interrupted");
    assert!(run.stderr.contains("was not written"), "{}", run.stderr);
    assert_eq!(dir_listing(dir.path()), Vec::<String>::new());
}

/// Runs `cmd` with its stdout going to /dev/full (every write fails with
/// ENOSPC, as on a full disk).
fn run_into_dev_full(cmd: &mut Cmd) -> Run {
    let full = std::fs::OpenOptions::new()
        .write(true)
        .open("/dev/full")
        .expect("/dev/full exists");
    let child = cmd
        .command()
        .stdout(std::process::Stdio::from(full))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    Run::new(child.wait_with_output().unwrap())
}

#[test]
fn stdout_on_a_full_disk_is_a_clear_error() {
    let sim = TestSim::small(30);
    for format in ["jsonl", "json", "csv", "table"] {
        let run = run_into_dev_full(sim.fetch().types("all").format(format).cmd());
        run.code(1)
            .one_line_error("cannot write to stdout: No space left on device");
    }
    for args in [
        &["types"][..],
        &["completions", "bash"],
        &["config", "path", "-q"],
    ] {
        run_into_dev_full(Cmd::new().args(args))
            .code(1)
            .one_line_error("cannot write to stdout: No space left on device");
    }
}

/// A directory nobody may create files in. Root ignores permission bits,
/// so as root it is sysfs's top directory (creating a file there is refused
/// even to root).
fn unwritable_dir(scratch: &std::path::Path) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = scratch.join("read-only");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o555)).unwrap();
    if std::fs::write(dir.join("probe"), "x").is_err() {
        return dir;
    }
    let sys = std::path::PathBuf::from("/sys");
    assert!(
        std::fs::write(sys.join("gong-logs-probe"), "x").is_err(),
        "no unwritable directory available"
    );
    sys
}

#[test]
fn an_unwritable_output_directory_is_refused_before_any_request() {
    let sim = TestSim::small(10);
    let scratch = tempfile::tempdir().unwrap();
    let dir = unwritable_dir(scratch.path());
    let out = dir.join("audit.jsonl");
    for resume in [false, true] {
        let mut fetch = sim.fetch();
        fetch.types("AccessLog").output(&out);
        if resume {
            fetch.args(["--resume"]);
        }
        let run = fetch.run();
        run.code(2)
            .one_line_error("check that the directory exists and is writable");
        assert!(
            run.stderr.contains(&dir.display().to_string()),
            "{}",
            run.stderr
        );
    }
    assert_eq!(sim.requests(), 0);
    assert!(!out.exists());
}

/// `ulimit -f`: the file cannot grow past `blocks` × 512 bytes, and the
/// write fails with EFBIG as on a full disk (SIGXFSZ ignored, as a shell
/// does for its jobs).
pub fn file_size_limit(blocks: u32) -> String {
    format!("trap '' XFSZ; ulimit -f {blocks}")
}

#[test]
fn a_disk_that_fills_up_mid_export_leaves_no_file() {
    let mut config = SimConfig::testing(12, 400);
    config.page_size = 20;
    let sim = TestSim::start(config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    std::fs::write(&out, "old content\n").unwrap();
    let run = sim
        .fetch_under_shell(&file_size_limit(16))
        .types("all")
        .output(&out)
        .run();
    run.code(1).one_line_error("File too large");
    assert!(run.stderr.contains("cannot write to"), "{}", run.stderr);
    assert!(run.stderr.contains("was not written"), "{}", run.stderr);
    assert!(sim.stats().pages_served > 0, "it failed mid-export");
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "old content\n");
    assert_eq!(dir_listing(dir.path()), ["audit.jsonl"]);
}
