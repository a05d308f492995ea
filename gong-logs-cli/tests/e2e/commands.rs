//! --dry-run, --follow, `types`, `completions`, `config path`, --version,
//! and every command's --help (insta snapshots).

use std::process::Stdio;
use std::time::Duration;

use gong_logs_e2e::*;

#[test]
fn dry_run_prints_requests_redacted_and_sends_nothing() {
    // The engine's own first round: at 3 requests/s three chains, so the
    // first of two types over 23 hours starts as two time slices.
    let sim = TestSim::small(10);
    let run = sim
        .fetch()
        .types("AccessLog,ExternallySharedCallPlay")
        .range("2024-01-02T03:04:05.5+02:00", "2024-01-03")
        // Gong's rate: the first round is 3 chains (2 AccessLog slices and
        // ExternallySharedCallPlay).
        .rate("3")
        .args(["--dry-run"])
        .run();
    run.ok();
    let base = sim.base_url();
    let version = env!("CARGO_PKG_VERSION");
    assert_eq!(
        run.stdout,
        format!(
            "GET {base}/v2/logs?fromDateTime=2024-01-02T01%3A04%3A05.5Z&logType=AccessLog&toDateTime=2024-01-02T12%3A32%3A03Z\n\
             accept: application/json\napi-version: V2\nauthorization: Basic ***\nuser-agent: gong-logs-api/{version} gong-logs/{version}\n\n\
             GET {base}/v2/logs?fromDateTime=2024-01-02T12%3A32%3A03Z&logType=AccessLog&toDateTime=2024-01-03T00%3A00%3A00Z\n\
             accept: application/json\napi-version: V2\nauthorization: Basic ***\nuser-agent: gong-logs-api/{version} gong-logs/{version}\n\n\
             GET {base}/v2/logs?fromDateTime=2024-01-02T01%3A04%3A05.5Z&logType=ExternallySharedCallPlay&toDateTime=2024-01-03T00%3A00%3A00Z\n\
             accept: application/json\napi-version: V2\nauthorization: Basic ***\nuser-agent: gong-logs-api/{version} gong-logs/{version}\n\n"
        )
    );
    assert!(run.stderr.contains("nothing was sent"), "{}", run.stderr);

    let run = Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", sim.base_url())
        .env("GONG_BEARER_TOKEN", "sim-bearer-token")
        .types("all")
        .range("yesterday", "today")
        .rate("3")
        .args(["--dry-run"])
        .run();
    run.ok();
    // At Gong's rate, the first round is one request per type.
    assert_eq!(run.stdout.matches("authorization: Bearer ***\n").count(), 5);
    let today = jiff::Timestamp::now().as_second().div_euclid(86_400) * 86_400;
    let today = jiff::Timestamp::from_second(today).unwrap();
    let yesterday = jiff::Timestamp::from_second(today.as_second() - 86_400).unwrap();
    let enc = |t: jiff::Timestamp| t.to_string().replace(':', "%3A");
    assert!(
        run.stdout.contains(&format!(
            "fromDateTime={}&logType=AccessLog&toDateTime={}",
            enc(yesterday),
            enc(today)
        )),
        "{}",
        run.stdout
    );
    assert_eq!(sim.requests(), 0);
}

#[test]
fn follow_emits_new_entries_once_and_stops_cleanly_on_sigterm() {
    // Data that keeps arriving: entries up to a few seconds in the future,
    // so each poll finds new ones.
    let now = jiff::Timestamp::now();
    let mut config = SimConfig::testing(4, 60);
    config.start = Some(now - jiff::SignedDuration::from_secs(20));
    config.end = Some(now + jiff::SignedDuration::from_secs(2));
    config.log_types = vec![SimType::UserCallPlay, SimType::AccessLog];
    let sim = TestSim::start(config);
    let start = (now - jiff::SignedDuration::from_secs(60)).to_string();
    // Output into files: a pipe nobody reads would fill up and block it.
    let dir = tempfile::tempdir().unwrap();
    let (out_path, err_path) = (dir.path().join("out"), dir.path().join("err"));
    let mut child = sim
        .fetch()
        .types("AccessLog,UserCallPlay")
        .from_only(&start)
        .args(["--follow", "--interval", "1s"])
        .command()
        .stdout(Stdio::from(std::fs::File::create(&out_path).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
        .spawn()
        .unwrap();
    // Wait until every entry (all end within 2 s) arrived, then one more
    // poll (nothing may come twice), then SIGTERM.
    let started = std::time::Instant::now();
    while std::fs::read_to_string(&out_path).unwrap().lines().count() < 120 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "entries did not all arrive"
        );
        assert!(
            child.try_wait().unwrap().is_none(),
            "--follow stopped by itself"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    // One more poll of each type (counted at the simulator, not timed).
    let polled = sim.requests();
    while sim.requests() < polled + 3 {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "--follow stopped polling"
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let run = Run {
        code: status.code(),
        stdout: std::fs::read_to_string(&out_path).unwrap(),
        stderr: std::fs::read_to_string(&err_path).unwrap(),
    };
    assert_no_secrets(&run.stdout, &run.stderr);
    run.ok();
    let far = (now + jiff::SignedDuration::from_secs(3600)).to_string();
    let mut expected: Vec<String> = sim
        .expected_jsonl(&["AccessLog", "UserCallPlay"], &start, &far)
        .lines()
        .map(String::from)
        .collect();
    let mut got: Vec<String> = run.stdout.lines().map(String::from).collect();
    // Types interleave across polls; within a type, order is chronological.
    for t in ["AccessLog", "UserCallPlay"] {
        let of = |lines: &[String]| -> Vec<String> {
            lines
                .iter()
                .filter(|l| l.starts_with(&format!("{{\"logType\":\"{t}\"")))
                .cloned()
                .collect()
        };
        let (g, e) = (of(&got), of(&expected));
        let time = |l: &String| {
            serde_json::from_str::<serde_json::Value>(l).unwrap()["eventTime"].to_string()
        };
        if let Some(i) = (0..g.len().max(e.len())).find(|i| g.get(*i) != e.get(*i)) {
            panic!(
                "{t}: got {} entries, expected {}; first difference at {i}: got {:?}, expected {:?}; now {now}; stderr {}",
                g.len(),
                e.len(),
                g.get(i).map(time),
                e.get(i).map(time),
                run.stderr
            );
        }
    }
    got.sort();
    expected.sort();
    assert_eq!(got, expected);
    assert!(sim.requests() >= 4, "it polled: {:?}", sim.stats());
    assert!(run.stderr.contains("120 entries"), "{}", run.stderr);
}

#[test]
fn types_lists_the_five_types() {
    let run = Cmd::new().args(["types"]).run();
    run.ok();
    insta::assert_snapshot!("types_table", run.stdout);
    let run = Cmd::new().args(["types", "--format", "json"]).run();
    run.ok();
    let v: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    let names: Vec<&str> = v
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["name"].as_str().unwrap())
        .collect();
    assert_eq!(names, ALL_TYPES);
    assert_eq!(v[0]["retention"], "14 days");
    assert_eq!(v[3]["hasUser"], false);
}

#[test]
fn completions_version_and_config_path() {
    for shell in ["bash", "zsh", "fish", "powershell", "elvish"] {
        let run = Cmd::new().args(["completions", shell]).run();
        run.ok();
        assert!(run.stdout.contains("gong-logs"), "{shell}");
        // The script asks the binary (see terminal.rs for what it answers).
        assert!(run.stdout.contains("GONG_LOGS_COMPLETE"), "{shell}");
    }
    Cmd::new().args(["completions", "tcsh"]).run().code(2);
    let run = Cmd::new().args(["--version"]).run();
    run.ok();
    assert_eq!(
        run.stdout,
        format!("gong-logs {}\n", env!("CARGO_PKG_VERSION"))
    );
    let run = Cmd::new()
        .env("GONG_LOGS_CONFIG", "/etc/x/gong.toml")
        .args(["config", "path"])
        .run();
    run.ok();
    assert_eq!(run.stdout, "/etc/x/gong.toml\n");
}

#[test]
fn help_of_every_command() {
    for (name, args) in [
        ("help_main", &["--help"][..]),
        ("help_fetch", &["fetch", "--help"]),
        ("help_types", &["types", "--help"]),
        ("help_schema", &["schema", "--help"]),
        ("help_completions", &["completions", "--help"]),
        ("help_config", &["config", "--help"]),
        ("help_config_path", &["config", "path", "--help"]),
        ("help_doctor", &["doctor", "--help"]),
        ("help_fetch_short", &["fetch", "-h"]),
    ] {
        let run = Cmd::new().args(args).run();
        run.ok();
        assert_eq!(run.stderr, "");
        insta::assert_snapshot!(name, run.stdout);
    }
    // No arguments: the help, on stderr, exit 2.
    let run = Cmd::new().run();
    run.code(2);
    assert!(run.stderr.contains("Usage: gong-logs"), "{}", run.stderr);
}

#[test]
fn a_closed_stdout_ends_the_export_quietly() {
    use std::io::BufRead as _;
    let sim = TestSim::small(400);
    let mut child = sim.fetch().types("all").spawn();
    let mut first = String::new();
    std::io::BufReader::new(child.stdout.take().unwrap())
        .read_line(&mut first)
        .unwrap();
    // The reader (`| head -1`) is gone now.
    let output = child.wait_with_output().unwrap();
    let run = Run::new(output);
    run.ok();
    assert!(first.starts_with("{\"logType\":\"AccessLog\""));
}

#[test]
fn verbose_shows_retries_and_quiet_shows_nothing() {
    let mut config = SimConfig::testing(2, 30);
    config.faults.fail_each_request_once = true;
    let sim = TestSim::start(config);
    let run = sim.fetch().types("UserCallPlay").args(["-v"]).run();
    run.ok();
    assert!(run.stderr.contains("retrying"), "{}", run.stderr);
    assert!(run.stderr.contains("HTTP 500"), "{}", run.stderr);
    let run = sim.fetch().types("UserCallPlay").args(["--quiet"]).run();
    run.ok();
    assert_eq!(run.stderr, "");
    assert_eq!(
        run.stdout,
        sim.expected_jsonl(&["UserCallPlay"], DATA_START, DATA_END)
    );
}

/// `--follow --lag` catches up (and polls) only to the lag behind now; a bad
/// or misplaced `--lag` is a usage error that sends nothing.
#[test]
fn follow_lag_stays_behind_now() {
    let sim = TestSim::small(5);
    let before = jiff::Timestamp::now();
    let run = sim
        .fetch()
        .types("AccessLog")
        .no_range()
        .args(["--since", "1h", "--follow", "--lag", "10m", "--dry-run"])
        .run();
    run.ok();
    let after = jiff::Timestamp::now();
    let to = run
        .stdout
        .split("toDateTime=")
        .nth(1)
        .and_then(|rest| rest.split_whitespace().next())
        .expect("the request has a toDateTime")
        .replace("%3A", ":");
    let to: jiff::Timestamp = to.parse().expect("toDateTime is a timestamp");
    let lag = jiff::SignedDuration::from_mins(10);
    assert!(
        to >= before.checked_sub(lag).unwrap() && to <= after.checked_sub(lag).unwrap(),
        "toDateTime {to} is not 10 minutes behind [{before}, {after}]"
    );

    sim.fetch()
        .types("AccessLog")
        .no_range()
        .args(["--since", "1h", "--follow", "--lag", "soon"])
        .run()
        .code(2)
        .one_line_error("invalid --lag");
    sim.fetch()
        .types("AccessLog")
        .no_range()
        .args(["--since", "1h", "--lag", "2m"])
        .run()
        .code(2)
        .one_line_error("--follow");
    assert_eq!(sim.requests(), 0);
}
