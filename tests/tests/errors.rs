//! Exit codes, and bad input refused before any request: one line on
//! stderr, zero requests at the simulator.

use gong_logs_e2e::*;

/// Runs `args` against a fresh simulator with valid credentials; asserts the
/// exit code, a one-line error containing `needle`, and no request sent.
#[track_caller]
fn refused(code: i32, needle: &str, args: &[&str]) {
    let sim = TestSim::small(10);
    let run = sim.cmd().args(args).run();
    run.code(code).one_line_error(needle);
    assert_eq!(run.stdout, "", "{args:?}");
    assert_eq!(sim.requests(), 0, "{args:?} sent a request");
}

#[test]
fn bad_arguments_are_usage_errors_sending_nothing() {
    let cases: &[(&str, &[&str])] = &[
        (
            "unknown log type \"Nope\"",
            &["fetch", "-t", "Nope", "--from", "1d"],
        ),
        (
            "unknown log type",
            &["fetch", "-t", "AccessLog,", "--from", "1d"],
        ),
        ("--type", &["fetch", "--from", "1d"]),
        ("--from", &["fetch", "-t", "AccessLog"]),
        (
            "invalid --from",
            &["fetch", "-t", "AccessLog", "--from", "2024-13-01"],
        ),
        (
            "invalid --from",
            &["fetch", "-t", "AccessLog", "--from", "yesterdayish"],
        ),
        (
            "add Z",
            &["fetch", "-t", "AccessLog", "--from", "2024-03-01T10:00:00"],
        ),
        (
            "invalid --to",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--to",
                "2024-02-30",
            ],
        ),
        (
            "must be before --to",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "2024-01-05",
                "--to",
                "2024-01-01",
            ],
        ),
        (
            "must be before --to",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "2024-01-05",
                "--to",
                "2024-01-05",
            ],
        ),
        (
            "invalid --since",
            &["fetch", "-t", "AccessLog", "--since", "3 days"],
        ),
        (
            "cannot be used with",
            &["fetch", "-t", "AccessLog", "--since", "1d", "--from", "2d"],
        ),
        (
            "'xml'",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--format",
                "xml",
            ],
        ),
        (
            "--fields",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--format",
                "jsonl",
                "--fields",
                "eventTime",
            ],
        ),
        (
            "--fields",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--format",
                "json",
                "--fields",
                "eventTime",
            ],
        ),
        (
            "invalid --fields",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--format",
                "csv",
                "--fields",
                "a..b",
            ],
        ),
        (
            "greater than 0",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--rate-limit",
                "0",
            ],
        ),
        (
            "--rate-limit",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--rate-limit",
                "fast",
            ],
        ),
        (
            "--concurrency",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--concurrency",
                "0",
            ],
        ),
        (
            "--limit",
            &["fetch", "-t", "AccessLog", "--from", "1d", "--limit", "0"],
        ),
        (
            "--output",
            &["fetch", "-t", "AccessLog", "--from", "1d", "--resume"],
        ),
        (
            "cannot be used with",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--follow",
                "--to",
                "now",
            ],
        ),
        (
            "--follow",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--interval",
                "5m",
            ],
        ),
        (
            "invalid --interval",
            &[
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--follow",
                "--interval",
                "0s",
            ],
        ),
        (
            "unexpected argument '--bogus'",
            &["fetch", "-t", "AccessLog", "--from", "1d", "--bogus"],
        ),
        ("unrecognized subcommand", &["nope"]),
    ];
    for (needle, args) in cases {
        refused(2, needle, args);
    }
}

#[test]
fn bad_base_urls_are_usage_errors() {
    for (needle, url) in [
        ("invalid base URL", "not a url"),
        ("is not http(s)", "ftp://api.gong.io"),
        ("refusing plain http://", "http://example.com"),
        ("credentials in the URL", "https://user:pw@api.gong.io"),
    ] {
        let sim = TestSim::small(5);
        let run = sim
            .cmd()
            .args([
                "fetch",
                "-t",
                "AccessLog",
                "--from",
                "1d",
                "--base-url",
                url,
            ])
            .run();
        run.code(2).one_line_error(needle);
        assert!(!run.stderr.contains("pw@"), "{}", run.stderr);
        assert_eq!(sim.requests(), 0);
        // The same through the environment.
        let run = sim
            .cmd()
            .env("GONG_BASE_URL", url)
            .args(["fetch", "-t", "AccessLog", "--from", "1d"])
            .run();
        run.code(2).one_line_error("GONG_BASE_URL");
    }
}

#[test]
fn missing_or_partial_credentials_exit_3_sending_nothing() {
    let sim = TestSim::small(5);
    let run = Cmd::new()
        .env("GONG_BASE_URL", sim.base_url())
        .args(["fetch", "-t", "AccessLog", "--from", "1d"])
        .run();
    run.code(3).one_line_error("no credentials");
    let run = Cmd::new()
        .env("GONG_BASE_URL", sim.base_url())
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .args(["fetch", "-t", "AccessLog", "--from", "1d"])
        .run();
    run.code(3).one_line_error("GONG_ACCESS_KEY_SECRET");
    assert_eq!(sim.requests(), 0);
}

#[test]
fn refused_credentials_exit_3_with_request_id() {
    let sim = TestSim::small(5);
    let run = sim
        .cmd()
        .env("GONG_ACCESS_KEY_SECRET", "wrong-one")
        .args([
            "fetch",
            "-t",
            "AccessLog",
            "--from",
            DATA_START,
            "--to",
            DATA_END,
        ])
        .run();
    run.code(3).one_line_error("HTTP 401");
    assert!(run.stderr.contains("requestId"), "{}", run.stderr);
    assert!(
        run.stderr.contains("check the access key"),
        "{}",
        run.stderr
    );
    assert_eq!(run.stdout, "");

    let run = Cmd::new()
        .env("GONG_BASE_URL", sim.base_url())
        .env("GONG_BEARER_TOKEN", "not-the-token")
        .args([
            "fetch",
            "-t",
            "AccessLog",
            "--from",
            DATA_START,
            "--to",
            DATA_END,
        ])
        .run();
    run.code(3).one_line_error("HTTP 401");
}

#[test]
fn still_rate_limited_after_retries_exits_5() {
    let mut config = SimConfig::testing(3, 10);
    config.daily_quota = Some(0);
    let sim = TestSim::start(config);
    let run = sim
        .cmd()
        .args([
            "fetch",
            "-t",
            "AccessLog",
            "--from",
            DATA_START,
            "--to",
            DATA_END,
            "--max-retries",
            "0",
        ])
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
        .cmd()
        .args([
            "fetch",
            "-t",
            "AccessLog",
            "--from",
            DATA_START,
            "--to",
            DATA_END,
            "--max-retries",
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
    let run = Cmd::new()
        .env("GONG_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
        .args([
            "fetch",
            "-t",
            "AccessLog",
            "--from",
            "1d",
            "--max-retries",
            "0",
        ])
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
fn config_profiles_and_their_refusals() {
    let sim = TestSim::small(10);
    let dir = tempfile::tempdir().unwrap();
    let good = format!(
        "[default]\nbase_url = \"{}\"\naccess_key = \"{ACCESS_KEY}\"\naccess_key_secret = \"sim-secret\"\n\n[oauth]\nbase_url = \"{}\"\nbearer_token = \"sim-bearer-token\"\n",
        sim.base_url(),
        sim.base_url()
    );
    let path = write_config(dir.path(), &good, 0o600);
    let args = [
        "fetch",
        "-t",
        "UserCallPlay",
        "--from",
        DATA_START,
        "--to",
        DATA_END,
    ];
    let expected = sim.expected_jsonl(&["UserCallPlay"], DATA_START, DATA_END);

    // The default profile, then a named one (flag and environment).
    let run = Cmd::new().env("GONG_LOGS_CONFIG", &path).args(args).run();
    run.ok();
    assert_eq!(run.stdout, expected);
    let run = Cmd::new()
        .env("GONG_LOGS_CONFIG", &path)
        .args(args)
        .args(["--profile", "oauth"])
        .run();
    run.ok();
    let run = Cmd::new()
        .env("GONG_LOGS_CONFIG", &path)
        .env("GONG_PROFILE", "oauth")
        .args(args)
        .run();
    run.ok();
    assert_eq!(run.stdout, expected);
    // The default XDG location.
    let mut cmd = Cmd::new();
    let xdg = dir.path().join("xdg");
    std::fs::create_dir_all(xdg.join("gong-logs")).unwrap();
    std::fs::copy(&path, xdg.join("gong-logs/config.toml")).unwrap();
    cmd.env("XDG_CONFIG_HOME", &xdg).args(args).run().ok();
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
    let run = Cmd::new()
        .env("GONG_LOGS_CONFIG", &path)
        .env("GONG_ACCESS_KEY_SECRET", "wrong-secret")
        .args(args)
        .run();
    run.code(3);
    let requests_so_far = sim.requests();

    // Refusals: no request sent for any of them.
    let check = |code: i32, needle: &str, cmd: &mut Cmd| {
        cmd.args(args).run().code(code).one_line_error(needle);
    };
    let open = write_config(&dir.path().join("open"), &good, 0o640);
    check(
        2,
        &format!("chmod 600 {}", open.display()),
        Cmd::new().env("GONG_LOGS_CONFIG", &open),
    );
    let world = write_config(&dir.path().join("world"), &good, 0o604);
    check(2, "chmod 600", Cmd::new().env("GONG_LOGS_CONFIG", &world));
    let malformed = write_config(
        &dir.path().join("bad"),
        "[default\naccess_key_secret = \"sim-secret\"\n",
        0o600,
    );
    check(
        2,
        "malformed at line 1",
        Cmd::new().env("GONG_LOGS_CONFIG", &malformed),
    );
    let unknown = write_config(
        &dir.path().join("unknown"),
        "[default]\nacess_key = \"x\"\n",
        0o600,
    );
    check(
        2,
        "unknown field",
        Cmd::new().env("GONG_LOGS_CONFIG", &unknown),
    );
    // A directory where the file should be: unreadable (works even as root).
    check(
        2,
        "cannot read config file",
        Cmd::new().env("GONG_LOGS_CONFIG", dir.path()),
    );
    check(
        2,
        "does not exist",
        Cmd::new().env("GONG_LOGS_CONFIG", dir.path().join("missing.toml")),
    );
    let run = Cmd::new()
        .env("GONG_LOGS_CONFIG", &path)
        .args(args)
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
    let run = Cmd::new()
        .args([
            "fetch",
            "-t",
            "AccessLog",
            "--from",
            DATA_START,
            "--to",
            DATA_END,
        ])
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
    let run = Cmd::new()
        .args([
            "fetch",
            "-t",
            "AccessLog",
            "--from",
            DATA_START,
            "--to",
            DATA_END,
            "-q",
        ])
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
    let run = Cmd::new()
        .args([
            "fetch",
            "-t",
            "AccessLog",
            "--from",
            DATA_START,
            "--to",
            DATA_END,
        ])
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
    let run = sim
        .cmd()
        .args([
            "fetch",
            "-t",
            "AccessLog",
            "--from",
            DATA_START,
            "--to",
            DATA_END,
            "-o",
        ])
        .arg_path(&out)
        .run();
    run.code(2).one_line_error("--resume");
    // A corrupt checkpoint with --resume: told to delete it.
    let run = sim
        .cmd()
        .args([
            "fetch",
            "-t",
            "AccessLog",
            "--from",
            DATA_START,
            "--to",
            DATA_END,
            "--resume",
            "-o",
        ])
        .arg_path(&out)
        .run();
    run.code(2).one_line_error("corrupt");
    assert_eq!(sim.requests(), 0);
}

trait ArgPath {
    fn arg_path(&mut self, path: &std::path::Path) -> &mut Self;
}

impl ArgPath for Cmd {
    fn arg_path(&mut self, path: &std::path::Path) -> &mut Self {
        self.args([path])
    }
}
