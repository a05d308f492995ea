//! Settings that cannot be used are errors, never a fallback to a default:
//! variables that are not UTF-8, malformed proxy variables, profiles that
//! do not exist, config files that are not regular files.

use std::ffi::OsString;
use std::os::unix::ffi::OsStringExt as _;

use gong_logs_e2e::*;

/// `text` followed by a byte that is not UTF-8.
fn not_utf8(text: &str) -> OsString {
    let mut bytes = text.as_bytes().to_vec();
    bytes.push(0xff);
    OsString::from_vec(bytes)
}

/// `fetch` as a fetch of AccessLog over the data set without retries.
fn access_log(mut fetch: Fetch) -> Fetch {
    fetch.types("AccessLog").args(["--max-retries", "0"]);
    fetch
}

/// Every variable gong-logs reads, set to text plus a byte that is not
/// UTF-8: exit 2, one line naming the variable, never its value, and no
/// request (today such a value is ignored: the default base URL, the
/// `[default]` profile, "no credentials").
#[test]
fn a_variable_that_is_not_utf8_is_a_usage_error_naming_it() {
    let sim = TestSim::small(5);
    // The CLI's list and the api crate's proxy variables: every one read.
    let vars = gong_logs_cli::env::VARS
        .into_iter()
        .chain(gong_logs_api::PROXY_VARIABLES.into_iter().flatten());
    let mut failures = Vec::new();
    for var in vars {
        for dry_run in [true, false] {
            let mut cmd = access_log(sim.fetch());
            cmd.env(var, not_utf8("valuemarker"));
            if dry_run {
                cmd.args(["--dry-run"]);
            }
            let run = cmd.run();
            let lines: Vec<&str> = run.stderr.lines().collect();
            let ok = run.code == Some(2)
                && run.stdout.is_empty()
                && lines.len() == 1
                && lines[0].starts_with("gong-logs: error: ")
                && lines[0].contains(var)
                && lines[0].contains("not valid UTF-8")
                && !run.stderr.contains("valuemarker");
            if !ok {
                failures.push(format!(
                    "{var} (dry run {dry_run}): exit {:?}\nstdout {:.300}\nstderr {}",
                    run.code, run.stdout, run.stderr
                ));
            }
        }
    }
    assert_eq!(sim.requests(), 0, "a request was sent");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A flag value that is not UTF-8: exit 2 naming the flag, not clap's
/// "one or more arguments".
#[test]
fn a_flag_that_is_not_utf8_is_a_usage_error_naming_it() {
    let sim = TestSim::small(5);
    for flag in ["--profile", "--base-url", "--access-key", "--from"] {
        let mut cmd = sim.fetch();
        cmd.types("AccessLog");
        if flag == "--from" {
            // The flag under test gives the start.
            cmd.no_range().args(["--to", DATA_END]);
        }
        let run = cmd
            .args([OsString::from(flag), not_utf8("valuemarker")])
            .run();
        run.code(2).one_line_error(flag);
        assert!(run.stderr.contains("not valid UTF-8"), "{}", run.stderr);
        assert!(!run.stderr.contains("valuemarker"), "{}", run.stderr);
    }
    assert_eq!(sim.requests(), 0);
}

/// A profile that does not exist is exit 2 from `--profile` and from
/// `GONG_PROFILE` alike, with a config file and without one.
#[test]
fn a_missing_profile_is_a_usage_error_from_flag_and_environment() {
    use std::os::unix::fs::PermissionsExt as _;
    let sim = TestSim::small(5);
    let dir = tempfile::tempdir().unwrap();
    let config = dir.path().join("config.toml");
    std::fs::write(
        &config,
        format!("[default]\nbase_url = \"{}\"\n", sim.base_url()),
    )
    .unwrap();
    std::fs::set_permissions(&config, std::fs::Permissions::from_mode(0o600)).unwrap();
    for with_file in [true, false] {
        for from_env in [true, false] {
            let mut cmd = access_log(sim.fetch());
            if with_file {
                cmd.env("GONG_LOGS_CONFIG", &config);
            }
            if from_env {
                cmd.env("GONG_PROFILE", "nope");
            } else {
                cmd.args(["--profile", "nope"]);
            }
            let run = cmd.run();
            run.code(2).one_line_error("profile \"nope\"");
        }
    }
    assert_eq!(sim.requests(), 0);
}

/// A listener that accepts nothing: connections wait in its backlog, and
/// [`Listener::connections`] counts them afterwards.
struct Listener(std::net::TcpListener);

impl Listener {
    fn new() -> Self {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        Self(listener)
    }

    fn url(&self) -> String {
        format!("http://{}", self.0.local_addr().unwrap())
    }

    fn connections(&self) -> usize {
        std::iter::from_fn(|| self.0.accept().ok()).count()
    }
}

/// A proxy variable reqwest would ignore (and connect directly) is exit 2
/// naming the variable, never its password, and no connection is made;
/// a usable one is used (its listener sees the connection).
#[test]
fn a_malformed_proxy_variable_is_a_usage_error_and_nothing_connects() {
    let target = Listener::new();
    let fetch = |var: &str, value: &str| {
        access_log(Fetch::new(Cmd::new()))
            .env("GONG_BASE_URL", target.url())
            .env("GONG_ACCESS_KEY", ACCESS_KEY)
            .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
            .env(var, value)
            .args(["--timeout", "1s"])
            .run()
    };
    for (var, value) in [
        ("HTTP_PROXY", "http://[bad"),
        ("HTTP_PROXY", "http://127.0.0.1:3128 "),
        ("http_proxy", "http://user:hunter2@[bad"),
        ("ALL_PROXY", "ftp://127.0.0.1:21"),
        ("all_proxy", "socks5://127.0.0.1:1080"),
        ("HTTPS_PROXY", "http://127.0.0.1:99999"),
    ] {
        let run = fetch(var, value);
        run.code(2).one_line_error(&format!("proxy variable {var}"));
        assert!(!run.stderr.contains("hunter2"), "{}", run.stderr);
        assert!(!run.stderr.contains("127.0.0.1:"), "{}", run.stderr);
        assert_eq!(target.connections(), 0, "{var}={value:?} connected");
    }
    // The control: a usable proxy gets the connection, the target none.
    let proxy = Listener::new();
    let run = fetch("HTTP_PROXY", &proxy.url());
    run.code(1);
    assert_eq!(target.connections(), 0, "{}", run.stderr);
    assert!(proxy.connections() >= 1, "{}", run.stderr);
}

/// A FIFO at `path` (made by `mkfifo`).
fn mkfifo(path: &std::path::Path) {
    let made = std::process::Command::new("mkfifo")
        .arg(path)
        .status()
        .unwrap();
    assert!(made.success(), "mkfifo {}", path.display());
}

/// The config file must be a regular file of at most 1 MiB, read without
/// blocking: a FIFO (which used to hang for ever), /dev/zero (which used
/// to take 2 GB and die), a directory, a file over the bound — each exit 2
/// in one line, from GONG_LOGS_CONFIG and at the default path (also for
/// `config path`'s neighbour, shell completion of --profile: no hang).
#[test]
fn a_config_file_that_is_not_a_small_regular_file_is_refused_at_once() {
    use std::os::unix::fs::PermissionsExt as _;
    let sim = TestSim::small(5);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("fifo.toml");
    mkfifo(&fifo);
    let big = dir.path().join("big.toml");
    let mut text = "[default]\n".to_owned();
    text.push_str(&"# padding\n".repeat(110_000));
    std::fs::write(&big, text).unwrap();
    std::fs::set_permissions(&big, std::fs::Permissions::from_mode(0o600)).unwrap();
    let cases: [(&std::path::Path, &str); 4] = [
        (&fifo, "not a regular file"),
        (std::path::Path::new("/dev/zero"), "not a regular file"),
        (dir.path(), "not a regular file"),
        (&big, "larger than 1 MiB"),
    ];
    for (path, needle) in cases {
        let run = access_log(sim.fetch()).env("GONG_LOGS_CONFIG", path).run();
        run.code(2).one_line_error(needle);
        assert!(run.stderr.contains(&path.display().to_string()));
    }
    // At the default path ($XDG_CONFIG_HOME/gong-logs/config.toml).
    let xdg = tempfile::tempdir().unwrap();
    std::fs::create_dir(xdg.path().join("gong-logs")).unwrap();
    mkfifo(&xdg.path().join("gong-logs/config.toml"));
    let run = access_log(sim.fetch())
        .env("XDG_CONFIG_HOME", xdg.path())
        .run();
    run.code(2).one_line_error("not a regular file");
    // Completing --profile reads the same file: no candidates, no hang.
    let run = Cmd::new()
        .env("XDG_CONFIG_HOME", xdg.path())
        .env("GONG_LOGS_COMPLETE", "fish")
        .env("_CLAP_COMPLETE_INDEX", "3")
        .args(["--", "gong-logs", "fetch", "--profile", ""])
        .run();
    assert_eq!(run.code, Some(0), "{}", run.stderr);
    assert_eq!(sim.requests(), 0);
}

/// `--lag` reaching back past `--from`: the follow has nothing to ask for
/// until then, and says so once (a warning, not an error: it starts by
/// itself once the lag has passed).
#[test]
fn a_lag_longer_than_the_span_is_warned_about_once() {
    let sim = TestSim::small(5);
    let follow = || {
        let mut fetch = sim.fetch();
        fetch.types("AccessLog").no_range().args([
            "--since",
            "1m",
            "--follow",
            "--lag",
            "5m",
            "--interval",
            "1s",
        ]);
        fetch
    };
    let run = follow().args(["--dry-run"]).run();
    run.ok();
    let warned = |stderr: &str| stderr.lines().filter(|l| l.contains("--lag")).count();
    assert_eq!(warned(&run.stderr), 1, "{}", run.stderr);
    assert!(
        run.stderr.contains("gong-logs: warning: --lag 5m"),
        "{}",
        run.stderr
    );
    // A real run: the warning once, however many polls.
    let dir = tempfile::tempdir().unwrap();
    let err = dir.path().join("err");
    let mut child = follow()
        .command()
        .stdout(std::process::Stdio::null())
        .stderr(std::fs::File::create(&err).unwrap())
        .spawn()
        .unwrap();
    let started = std::time::Instant::now();
    while warned(&std::fs::read_to_string(&err).unwrap()) == 0 {
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        assert!(started.elapsed().as_secs() < 30, "no warning");
        std::thread::sleep(std::time::Duration::from_millis(20));
    }
    std::thread::sleep(std::time::Duration::from_millis(2500));
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert_eq!(child.wait().unwrap().code(), Some(0));
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert_eq!(warned(&stderr), 1, "{stderr}");
}
