//! `--log-format json` (and `GONG_LOGS_LOG_FORMAT=json`): every stderr
//! line is one JSON object with `timestamp`, `level` and `message`, under
//! faults and retries (`-v`, `-vv`), for the summary (its counts as
//! fields), the final error and usage errors; never a secret. `text`
//! stays as it was.

use gong_logs_e2e::*;
use serde_json::Value;

/// Every line of `stderr` as a JSON object with the three keys.
#[track_caller]
fn objects(stderr: &str) -> Vec<Value> {
    assert!(!stderr.is_empty(), "nothing on stderr");
    assert!(stderr.ends_with('\n'), "{stderr}");
    stderr
        .lines()
        .map(|line| {
            let value: Value =
                serde_json::from_str(line).unwrap_or_else(|e| panic!("not JSON ({e}): {line}"));
            let object = value
                .as_object()
                .unwrap_or_else(|| panic!("not an object: {line}"));
            let time = object["timestamp"].as_str().expect("timestamp");
            let _: jiff::Timestamp = time.parse().expect("an RFC 3339 timestamp");
            let level = object["level"].as_str().expect("level");
            assert!(
                ["error", "warn", "info", "debug", "trace"].contains(&level),
                "{line}"
            );
            assert!(object["message"].is_string(), "{line}");
            value
        })
        .collect()
}

/// A simulator where every request fails once, by a 500 or a 429.
fn faulty(seed: u64) -> TestSim {
    let mut config = SimConfig::testing(seed, 60);
    config.page_size = 8;
    config.faults.fail_each_request_once = true;
    config.faults.p_500 = 0.01;
    config.faults.p_429 = 0.01;
    config.faults.retry_after_429 = 0;
    TestSim::start(config)
}

#[test]
fn a_fetch_with_faults_logs_json_lines_and_a_summary_with_its_counts() {
    for verbosity in ["-v", "-vv"] {
        let sim = faulty(61);
        let run = sim
            .fetch()
            .types("AccessLog,UserActivityLog")
            .args(["--log-format", "json", verbosity])
            .run();
        run.ok();
        let expected = sim.expected_jsonl(&["AccessLog", "UserActivityLog"], DATA_START, DATA_END);
        assert_eq!(run.stdout, expected, "stdout is data only");
        let lines = objects(&run.stderr);
        let stats = sim.stats();
        let retries: Vec<&Value> = lines
            .iter()
            .filter(|l| {
                l["message"]
                    .as_str()
                    .unwrap()
                    .starts_with("retrying after: ")
            })
            .collect();
        let faults = stats.faults.server_error + stats.faults.too_many_requests;
        assert!(faults > 0);
        assert_eq!(retries.len() as u64, faults, "{verbosity}");
        assert!(
            retries
                .iter()
                .all(|r| r["level"] == "warn" && r["attempt"].is_u64())
        );
        if verbosity == "-vv" {
            let requests = lines
                .iter()
                .filter(|l| {
                    l["level"] == "debug"
                        && l["message"].as_str().unwrap().starts_with("GET /v2/logs?")
                })
                .count() as u64;
            assert_eq!(requests, stats.total_requests);
        }
        let summary = lines.last().unwrap();
        assert_eq!(summary["level"], "info");
        assert_eq!(summary["entries"], expected.lines().count() as u64);
        assert_eq!(summary["entries_by_type"]["AccessLog"], 60);
        assert_eq!(summary["entries_by_type"]["UserActivityLog"], 60);
        assert_eq!(summary["requests"], stats.total_requests);
        assert_eq!(summary["pages"], stats.total_requests - faults);
        assert_eq!(summary["retries"], faults);
        assert!(
            summary["message"]
                .as_str()
                .unwrap()
                .starts_with("120 entries (AccessLog 60")
        );
    }
}

#[test]
fn the_final_error_and_usage_errors_are_json_too() {
    // Every request fails: the last line is the error, with its exit code.
    let mut config = SimConfig::testing(62, 10);
    config.faults.p_500 = 1.0;
    let sim = TestSim::start(config);
    let run = sim
        .fetch()
        .types("AccessLog")
        .args(["--max-retries", "1"])
        .env("GONG_LOGS_LOG_FORMAT", "json")
        .run();
    run.code(1);
    let lines = objects(&run.stderr);
    let last = lines.last().unwrap();
    assert_eq!(last["level"], "error");
    assert_eq!(last["exit_code"], 1);
    assert!(
        last["message"].as_str().unwrap().contains("HTTP 500"),
        "{last}"
    );

    // Usage errors, found by clap before the flag is read: the pre-scan
    // of argv, or the variable.
    let usage = [
        Cmd::new()
            .args(["fetch", "--log-format", "json", "--bogus"])
            .run(),
        Cmd::new()
            .args(["--log-format=json", "fetch", "-t", "nope", "--since", "1d"])
            .run(),
        Cmd::new()
            .env("GONG_LOGS_LOG_FORMAT", "json")
            .args(["fetch", "-t", "all"])
            .run(),
        Cmd::new()
            .args(["--log-format", "json"])
            .env("GONG_LOGS_LOG_FORMAT", "json")
            .run(),
    ];
    for run in usage {
        run.code(2);
        let lines = objects(&run.stderr);
        assert_eq!(lines.len(), 1, "{}", run.stderr);
        assert_eq!(lines[0]["level"], "error");
        assert_eq!(lines[0]["exit_code"], 2);
        assert!(
            lines[0]["message"].as_str().unwrap().contains("--help"),
            "{}",
            run.stderr
        );
    }
    // A credential given on the command line is never in a line.
    let run = Cmd::new()
        .args([
            "--log-format",
            "json",
            "fetch",
            "--since",
            "1d",
            "--access-key-secret",
            "sim-secret",
        ])
        .run();
    run.code(2);
    objects(&run.stderr);
}

#[test]
fn the_variable_must_name_a_format_and_the_flag_wins() {
    let run = Cmd::new()
        .env("GONG_LOGS_LOG_FORMAT", "xml")
        .args(["types"])
        .run();
    run.code(2)
        .one_line_error("the environment variable GONG_LOGS_LOG_FORMAT must be text or json");
    assert!(!run.stderr.contains("xml"));
    // The flag beats the variable.
    let sim = TestSim::small(3);
    let run = sim
        .fetch()
        .types("AccessLog")
        .env("GONG_LOGS_LOG_FORMAT", "json")
        .args(["--log-format", "text"])
        .run();
    run.ok();
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("gong-logs: 3 entries (AccessLog 3), "),
        "{}",
        run.stderr
    );
    assert!(
        run.stderr.lines().all(|l| l.starts_with("gong-logs: ")),
        "{}",
        run.stderr
    );
}

#[test]
fn text_stays_as_it_was() {
    let sim = faulty(63);
    let run = sim.fetch().types("AccessLog").args(["-v"]).run();
    run.ok();
    for line in run.stderr.lines() {
        assert!(
            line.starts_with("gong-logs: ") || line.contains(" WARN ") || line.contains(" INFO "),
            "{line}"
        );
        assert!(!line.starts_with('{'), "{line}");
    }
    let last = run.stderr.lines().last().unwrap();
    assert!(
        last.starts_with("gong-logs: 60 entries (AccessLog 60), "),
        "{last}"
    );
}

#[test]
fn a_server_echoing_the_credentials_leaks_them_into_no_line_nor_metrics() {
    let mut config = SimConfig::testing(64, 10);
    config.misbehave = Some(gong_logs_sim::Misbehave::EchoCredentials);
    let sim = TestSim::start(config);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gong.prom");
    // Run::new scans stdout and stderr for every form of the secrets.
    let run = sim
        .fetch()
        .types("AccessLog")
        .args(["--log-format", "json", "-vv", "--max-retries", "1"])
        .args([std::ffi::OsStr::new("--metrics-file"), file.as_os_str()])
        .run();
    run.code(1);
    let lines = objects(&run.stderr);
    assert!(lines.iter().any(|l| l["level"] == "warn"), "{}", run.stderr);
    assert_eq!(lines.last().unwrap()["exit_code"], 1);
    assert_file_has_no_secrets(&file);
    assert!(
        std::fs::read_to_string(&file)
            .unwrap()
            .contains("gong_logs_up 0")
    );
}
