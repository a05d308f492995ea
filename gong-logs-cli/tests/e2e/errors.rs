//! Exit codes, and bad input refused before any request: one line on
//! stderr, zero requests at the simulator.

use gong_logs_e2e::*;

/// One bad input: the arguments after `fetch` (or the whole command line
/// when it starts with `!`), extra environment, and an optional config
/// file (text, mode) passed through GONG_LOGS_CONFIG.
struct Case {
    needle: String,
    args: Vec<String>,
    env: Vec<(String, String)>,
    config: Option<(String, u32)>,
}

fn case(needle: &str, args: &[&str]) -> Case {
    Case {
        needle: needle.to_owned(),
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: Vec::new(),
        config: None,
    }
}

impl Case {
    fn env(mut self, key: &str, value: &str) -> Self {
        self.env.push((key.to_owned(), value.to_owned()));
        self
    }

    fn config(mut self, text: &str, mode: u32) -> Self {
        self.config = Some((text.to_owned(), mode));
        self
    }
}

/// A valid fetch with one flag pair appended.
fn with(extra: &[&str]) -> Vec<String> {
    ["-t", "AccessLog", "--from", DATA_START, "--to", DATA_END]
        .iter()
        .chain(extra)
        .map(|s| (*s).to_owned())
        .collect()
}

fn cases(sim_url: &str) -> Vec<Case> {
    let t = |extra: &[&str]| with(extra);
    let c = |needle: &str, args: Vec<String>| Case {
        needle: needle.to_owned(),
        args,
        env: Vec::new(),
        config: None,
    };
    let good_profile = format!(
        "[default]\nbase_url = \"{sim_url}\"\naccess_key = \"{ACCESS_KEY}\"\naccess_key_secret = \"sim-secret\"\n\n[oauth]\nbase_url = \"{sim_url}\"\nbearer_token = \"sim-bearer-token\"\n"
    );
    // The whole table (96 rows) is checked in-process by the CLI's own
    // unit tests (gong-logs-cli/src/fetch/tests.rs, the same rows through
    // the binary's parse and prepare steps); these rows, one per kind of
    // failure, prove the real binary prints exactly one line, nothing on
    // stdout, and sends nothing.
    vec![
        // clap: an unknown flag, an unknown subcommand
        case(
            "unexpected argument '--bogus'",
            &["-t", "AccessLog", "--from", "1d", "--bogus"],
        ),
        case("unrecognized subcommand", &["!", "nope"]),
        // the plan: a flag's value, a date, a range
        c("at least 0.001", t(&["--rate-limit", "0"])),
        case(
            "invalid --from",
            &["-t", "AccessLog", "--from", "2024-02-30"],
        ),
        case(
            "must be before --to",
            &["-t", "AccessLog", "--from", "now", "--to", "1d"],
        ),
        // the connection: a base URL with a password (never echoed), one
        // from the environment, a missing profile
        c(
            "credentials in the URL",
            t(&["--base-url", "https://user:pw@api.gong.io"]),
        ),
        c("(from GONG_BASE_URL)", t(&[])).env("GONG_BASE_URL", "not a url"),
        c("profile \"nope\" is not in config file", t(&[]))
            .config(&good_profile, 0o600)
            .env("GONG_PROFILE", "nope"),
        // the config file: readable by others, not UTF-8, not a file
        c("chmod 600", t(&[])).config(&good_profile, 0o640),
        c("not UTF-8", t(&[])).config("[default]\naccess_key = \"\u{0}\"\n", 0o600),
        c("is not a regular file", t(&[])).env("GONG_LOGS_CONFIG", "/tmp"),
    ]
}

/// A bad flag, date, range, base URL, profile and config file, one of each
/// kind: exit 2, one line on stderr saying what is wrong, nothing on
/// stdout, and not one request at the simulator.
#[test]
fn every_bad_input_is_a_one_line_usage_error_sending_nothing() {
    let sim = TestSim::small(10);
    let dir = tempfile::tempdir().unwrap();
    let cases = cases(&sim.base_url());
    let mut failures = Vec::new();
    for (i, case) in cases.iter().enumerate() {
        // With a config file, the connection comes from it alone.
        let mut cmd = if case.config.is_some() {
            Cmd::new()
        } else {
            sim.cmd()
        };
        match case.args.split_first() {
            Some((bang, rest)) if bang == "!" => cmd.args(rest),
            _ => cmd.args(["fetch"]).args(&case.args),
        };
        for (k, v) in &case.env {
            cmd.env(k, v);
        }
        if let Some((text, mode)) = &case.config {
            use std::os::unix::fs::PermissionsExt as _;
            let path = dir.path().join(format!("config-{i}.toml"));
            let bytes = if text.contains('\u{0}') {
                // Not UTF-8: a lone continuation byte in place of the NUL.
                text.replace('\u{0}', "")
                    .into_bytes()
                    .into_iter()
                    .chain([0x80])
                    .collect()
            } else {
                text.clone().into_bytes()
            };
            std::fs::write(&path, bytes).unwrap();
            std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
            cmd.env("GONG_LOGS_CONFIG", &path);
        }
        let run = cmd.run();
        let lines: Vec<&str> = run.stderr.lines().collect();
        let ok = run.code == Some(2)
            && run.stdout.is_empty()
            && lines.len() == 1
            && lines[0].starts_with("gong-logs: error: ")
            && run.stderr.contains(&case.needle)
            && !run.stderr.contains("pw@");
        if !ok {
            failures.push(format!(
                "{:?} {:?}: exit {:?}, expected {:?} in:\n{}",
                case.args, case.env, run.code, case.needle, run.stderr
            ));
        }
        if sim.requests() != 0 {
            failures.push(format!("{:?} sent a request", case.args));
            break;
        }
    }
    eprintln!("bad input table: {} cases, 0 requests sent", cases.len());
    assert!(failures.is_empty(), "{}", failures.join("\n\n"));
}

/// Product bug: a rate limit so small that one request's period overflows
/// `Duration` (`--rate-limit 1e-300`) panics (`Duration::from_secs_f64` in
/// the throttle) instead of being refused as a usage error; the panic hook
/// prints "internal error" and exits 1.
#[test]
fn a_tiny_rate_limit_is_a_usage_error() {
    let sim = TestSim::small(5);
    let run = sim
        .cmd()
        .args(["fetch"])
        .args(with(&["--rate-limit", "1e-300"]))
        .run();
    run.code(2).one_line_error("--rate-limit");
    assert_eq!(sim.requests(), 0);
}

#[test]
fn missing_or_partial_credentials_exit_3_sending_nothing() {
    let sim = TestSim::small(5);
    let run = Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", sim.base_url())
        .types("AccessLog")
        .from_only("1d")
        .run();
    run.code(3).one_line_error("no credentials");
    let run = Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", sim.base_url())
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .types("AccessLog")
        .from_only("1d")
        .run();
    run.code(3).one_line_error("GONG_ACCESS_KEY_SECRET");
    assert_eq!(sim.requests(), 0);
}

#[test]
fn refused_credentials_exit_3_with_request_id() {
    let sim = TestSim::small(5);
    let run = sim
        .fetch()
        .env("GONG_ACCESS_KEY_SECRET", "wrong-one")
        .types("AccessLog")
        .run();
    run.code(3).one_line_error("HTTP 401");
    assert!(run.stderr.contains("requestId"), "{}", run.stderr);
    assert!(
        run.stderr.contains("check the access key"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");

    let run = Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", sim.base_url())
        .env("GONG_BEARER_TOKEN", "not-the-token")
        .types("AccessLog")
        .run();
    run.code(3).one_line_error("HTTP 401");
}

#[test]
fn still_rate_limited_after_retries_exits_5() {
    let mut config = SimConfig::testing(3, 10);
    config.daily_quota = Some(0);
    let sim = TestSim::start(config);
    let run = sim
        .fetch()
        .types("AccessLog")
        .args(["--max-retries", "0"])
        .run();
    run.code(5).one_line_error("HTTP 429");
    assert!(run.stderr.contains("requestId"), "{}", run.stderr);
}

#[test]
fn server_failures_after_retries_exit_1() {
    let mut config = SimConfig::testing(3, 10);
    config.faults.p_500 = 1.0;
    let sim = TestSim::start(config);
    let run = sim
        .fetch()
        .types("AccessLog")
        .args([
            "--max-retries",
            "1",
            // One cursor chain: its request and one retry are all there is.
            "--concurrency",
            "1",
        ])
        .run();
    run.code(1).one_line_error("HTTP 500");
    assert!(run.stderr.contains("after 2 attempts"), "{}", run.stderr);
    assert_eq!(sim.requests(), 2);

    // Nothing listening: a transport error, exit 1.
    let port = {
        let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        l.local_addr().unwrap().port()
    };
    let run = Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
        .types("AccessLog")
        .from_only("1d")
        .args(["--max-retries", "0"])
        .run();
    run.code(1).one_line_error("could not connect");
}

fn write_config(dir: &std::path::Path, text: &str, mode: u32) -> std::path::PathBuf {
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::create_dir_all(dir).unwrap();
    let path = dir.join("config.toml");
    std::fs::write(&path, text).unwrap();
    std::fs::set_permissions(&path, std::fs::Permissions::from_mode(mode)).unwrap();
    path
}

#[test]
fn config_profiles_flags_and_environment() {
    let sim = TestSim::small(10);
    let dir = tempfile::tempdir().unwrap();
    let good = format!(
        "[default]\nbase_url = \"{}\"\naccess_key = \"{ACCESS_KEY}\"\naccess_key_secret = \"sim-secret\"\n\n[oauth]\nbase_url = \"{}\"\nbearer_token = \"sim-bearer-token\"\n",
        sim.base_url(),
        sim.base_url()
    );
    let path = write_config(dir.path(), &good, 0o600);
    let expected = sim.expected_jsonl(&["UserCallPlay"], DATA_START, DATA_END);

    // The default profile, then a named one (flag and environment).
    let run = Fetch::new(Cmd::new())
        .env("GONG_LOGS_CONFIG", &path)
        .types("UserCallPlay")
        .run();
    run.ok();
    assert_eq!(run.stdout, expected);
    let run = Fetch::new(Cmd::new())
        .env("GONG_LOGS_CONFIG", &path)
        .types("UserCallPlay")
        .args(["--profile", "oauth"])
        .run();
    run.ok();
    let run = Fetch::new(Cmd::new())
        .env("GONG_LOGS_CONFIG", &path)
        .env("GONG_PROFILE", "oauth")
        .types("UserCallPlay")
        .run();
    run.ok();
    assert_eq!(run.stdout, expected);
    // The default XDG location.
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(xdg.join("gong-logs")).unwrap();
    std::fs::copy(&path, xdg.join("gong-logs/config.toml")).unwrap();
    Fetch::new(Cmd::new())
        .env("XDG_CONFIG_HOME", &xdg)
        .types("UserCallPlay")
        .run()
        .ok();
    let run = Cmd::new()
        .env("XDG_CONFIG_HOME", &xdg)
        .args(["config", "path"])
        .run();
    run.ok();
    assert_eq!(
        run.stdout,
        format!("{}\n", xdg.join("gong-logs/config.toml").display())
    );
    // Environment beats the profile: a wrong secret in the environment wins.
    let run = Fetch::new(Cmd::new())
        .env("GONG_LOGS_CONFIG", &path)
        .env("GONG_ACCESS_KEY_SECRET", "wrong-secret")
        .types("UserCallPlay")
        .run();
    run.code(3);
    let requests_so_far = sim.requests();

    // Its refusals are rows of the bad input table above.
    let run = Fetch::new(Cmd::new())
        .env("GONG_LOGS_CONFIG", &path)
        .types("UserCallPlay")
        .args(["--profile", "nope"])
        .run();
    run.code(2)
        .one_line_error("profile \"nope\" is not in config file");
    assert!(
        run.stderr.contains("profiles there: default, oauth"),
        "{}",
        run.stderr
    );
    assert_eq!(sim.requests(), requests_so_far);
}

#[test]
fn secrets_as_flags_work_with_a_warning() {
    let sim = TestSim::small(5);
    let run = Fetch::new(Cmd::new())
        .types("AccessLog")
        .args([
            "--base-url",
            &sim.base_url(),
            "--access-key",
            ACCESS_KEY,
            "--access-key-secret",
            "sim-secret",
        ])
        .run();
    run.ok();
    assert!(
        run.stderr.contains("warning: --access-key-secret"),
        "{}",
        run.stderr
    );
    let run = Fetch::new(Cmd::new())
        .types("AccessLog")
        .args(["-q"])
        .args([
            "--base-url",
            &sim.base_url(),
            "--bearer-token",
            "sim-bearer-token",
        ])
        .run();
    run.ok();
    assert_eq!(run.stderr, "", "--quiet prints nothing but errors");
    // A wrong token given as a flag never shows in the error.
    let run = Fetch::new(Cmd::new())
        .types("AccessLog")
        .args([
            "--base-url",
            &sim.base_url(),
            "--bearer-token",
            "sim-bearer-tokenX",
        ])
        .run();
    run.code(3);
}

#[test]
fn an_existing_checkpoint_needs_resume_or_deletion() {
    let sim = TestSim::small(10);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("out.jsonl");
    std::fs::write(dir.path().join("out.jsonl.gong-logs-checkpoint"), "{}").unwrap();
    let run = sim.fetch().types("AccessLog").output(&out).run();
    run.code(2).one_line_error("--resume");
    // A corrupt checkpoint with --resume: told to delete it.
    let run = sim
        .fetch()
        .types("AccessLog")
        .output(&out)
        .args(["--resume"])
        .run();
    run.code(2).one_line_error("corrupt");
    assert_eq!(sim.requests(), 0);
}
