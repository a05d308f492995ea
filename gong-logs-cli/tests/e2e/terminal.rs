//! Issue 13, "for people at a terminal and in cron", end to end with the
//! real binary: `doctor`, shell completions, tables that fit, `-v`/`-vv`,
//! errors that say what to do, `--user` and its warnings, honest summaries.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::path::Path;
use std::process::Stdio;

use gong_logs_e2e::*;

// ---------------------------------------------------------------- helpers

/// A loopback HTTP server that answers every request with `response` (a
/// full HTTP/1.1 response, `Connection: close`) until the test ends.
fn fixed_server(response: String) -> String {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("http://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { continue };
            let mut buf = [0u8; 4096];
            let mut seen = Vec::new();
            // Until the end of the request's head; a TLS ClientHello (0x16)
            // has none: answer it at once, in plain HTTP.
            while !seen.windows(4).any(|w| w == b"\r\n\r\n") && seen.first() != Some(&0x16) {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => seen.extend_from_slice(&buf[..n]),
                }
            }
            let _ = stream.write_all(response.as_bytes());
        }
    });
    url
}

fn json_response(status: &str, extra_headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{extra_headers}Connection: close\r\n\r\n{body}",
        body.len()
    )
}

fn doctor_at(url: &str) -> Run {
    Cmd::new()
        .env("GONG_BASE_URL", url)
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
        .args(["doctor"])
        .run()
}

/// The report line of `check` (`ok    reachable  ...`).
/// The settings line of `what` (`      base URL  ...`).
fn setting_line<'a>(stdout: &'a str, what: &str) -> &'a str {
    stdout
        .lines()
        .find(|l| l.starts_with("      ") && l[6..].starts_with(what))
        .unwrap_or_else(|| panic!("no {what:?} setting in:\n{stdout}"))
}

fn check_line<'a>(stdout: &'a str, check: &str) -> &'a str {
    stdout
        .lines()
        .filter(|l| !l.starts_with(' '))
        .find(|l| l.get(6..).is_some_and(|rest| rest.starts_with(check)))
        .unwrap_or_else(|| panic!("no {check:?} line in:\n{stdout}"))
}

// ---------------------------------------------------------------- doctor

#[test]
fn doctor_reports_every_check_against_the_simulator() {
    let sim = TestSim::small(5);
    let run = sim.cmd().args(["doctor"]).run();
    run.ok();
    let out = &run.stdout;
    assert!(
        setting_line(out, "base URL").contains(&format!("{} (from GONG_BASE_URL)", sim.base_url())),
        "{out}"
    );
    let creds = setting_line(out, "credentials");
    assert!(
        creds.contains("access key from GONG_ACCESS_KEY")
            && creds.contains("secret from GONG_ACCESS_KEY_SECRET")
            && creds.contains("sim-…")
            && !creds.contains(ACCESS_KEY),
        "{out}"
    );
    assert!(
        setting_line(out, "profile").contains("default (from default)"),
        "{out}"
    );
    assert!(check_line(out, "reachable").starts_with("ok"), "{out}");
    assert!(check_line(out, "TLS").contains("plain http"), "{out}");
    assert!(out.contains("ok    credentials         accepted"), "{out}");
    assert!(check_line(out, "scope").contains("api:logs:read"), "{out}");
    assert!(
        check_line(out, "rate-limit headers").contains("none seen"),
        "{out}"
    );
    // The simulator (hyper) sends a Date header: the clocks are compared.
    assert!(check_line(out, "clock").starts_with("ok"), "{out}");
    assert!(
        run.stderr.contains("everything needed to fetch works"),
        "{}",
        run.stderr
    );
    // Exactly one small request.
    assert_eq!(sim.requests(), 1);

    // `auth check` is the same command.
    let again = sim.cmd().args(["auth", "check"]).run();
    again.ok();
    assert_eq!(again.stdout.lines().count(), out.lines().count());
}

#[test]
fn doctor_exit_codes_match_fetch() {
    let sim = TestSim::small(5);
    // Refused credentials: 3.
    let run = sim
        .cmd()
        .env("GONG_ACCESS_KEY_SECRET", "wrong-secret")
        .args(["doctor"])
        .run();
    run.code(3);
    assert!(
        check_line(&run.stdout, "credentials").starts_with("FAIL"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("HTTP 401"), "{}", run.stderr);
    // No credentials: 3, `<none>`, nothing sent.
    let before = sim.requests();
    let run = Cmd::new()
        .env("GONG_BASE_URL", sim.base_url())
        .args(["doctor"])
        .run();
    run.code(3);
    assert!(run.stdout.contains("<none>"), "{}", run.stdout);
    assert_eq!(sim.requests(), before);
    // Unreachable: 1, says what to do.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", closed.local_addr().unwrap());
    drop(closed);
    let run = doctor_at(&url);
    run.code(1);
    assert!(
        check_line(&run.stdout, "reachable").starts_with("FAIL"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("check the network"), "{}", run.stderr);
    // https to a server that does not speak TLS: the TLS check fails.
    let plain = fixed_server(json_response("200 OK", "", "{}"));
    let run = doctor_at(&plain.replace("http://", "https://"));
    run.code(1);
    assert!(
        check_line(&run.stdout, "TLS").starts_with("FAIL"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("does not speak TLS"), "{}", run.stderr);
    // A bad base URL: 2, before anything is sent.
    let run = doctor_at("ftp://example.com");
    run.code(2).one_line_error("base URL");
}

#[test]
fn doctor_names_the_scope_on_403_and_shows_rate_limit_headers() {
    let url = fixed_server(json_response(
        "403 Forbidden",
        "X-RateLimit-Remaining: 2\r\n",
        r#"{"requestId":"r403","errors":["insufficient scope"]}"#,
    ));
    let run = doctor_at(&url);
    run.code(3);
    assert!(
        check_line(&run.stdout, "scope").starts_with("FAIL"),
        "{}",
        run.stdout
    );
    assert!(run.stderr.contains("api:logs:read"), "{}", run.stderr);
    assert!(
        check_line(&run.stdout, "rate-limit headers").contains("x-ratelimit-remaining: 2"),
        "{}",
        run.stdout
    );
    // No Date header from this server: said so, not guessed.
    assert!(
        check_line(&run.stdout, "clock").contains("no Date header"),
        "{}",
        run.stdout
    );

    // A clock far off: a warning, not a failure.
    let url = fixed_server(json_response(
        "200 OK",
        "Date: Mon, 01 Jan 2024 00:00:00 GMT\r\n",
        r#"{"requestId":"r200","records":{"totalRecords":0,"currentPageSize":0,"currentPageNumber":0},"logEntries":[]}"#,
    ));
    let run = doctor_at(&url);
    run.ok();
    assert!(
        check_line(&run.stdout, "clock").starts_with("warn"),
        "{}",
        run.stdout
    );
    assert!(
        check_line(&run.stdout, "clock").contains("ahead of"),
        "{}",
        run.stdout
    );

    // Gong failing: 1, with what to do.
    let url = fixed_server(json_response(
        "503 Service Unavailable",
        "",
        r#"{"requestId":"r503","errors":["down"]}"#,
    ));
    let run = doctor_at(&url);
    run.code(1);
    assert!(run.stderr.contains("status.gong.io"), "{}", run.stderr);
}

// ---------------------------------------------------------------- completions

/// A directory holding `gong-logs` (a link to the binary under test), for
/// PATH: completion scripts call `gong-logs` by name.
fn path_with_gong_logs() -> (tempfile::TempDir, String) {
    let dir = tempfile::tempdir().unwrap();
    #[cfg(unix)]
    std::os::unix::fs::symlink(binary(), dir.path().join("gong-logs")).unwrap();
    let path = format!(
        "{}:{}",
        dir.path().display(),
        std::env::var("PATH").unwrap_or_default()
    );
    (dir, path)
}

fn write_profiles(dir: &Path) -> std::path::PathBuf {
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        "[default]\nbase_url = \"https://a.api.gong.io\"\n\n[oauth]\nbase_url = \"https://b.api.gong.io\"\n",
    )
    .unwrap();
    cfg
}

#[test]
fn bash_completion_completes_options_values_and_profiles() {
    if std::process::Command::new("bash")
        .arg("--version")
        .output()
        .is_err()
    {
        eprintln!("skipped: bash is not installed");
        return;
    }
    let (dir, path) = path_with_gong_logs();
    let cfg = write_profiles(dir.path());
    let script = Cmd::new().args(["completions", "bash"]).run();
    script.ok();
    std::fs::write(dir.path().join("completion.bash"), &script.stdout).unwrap();
    // Drive the completion function as bash does on <TAB>.
    let driver = r#"
source "$DIR/completion.bash"
complete -p gong-logs >/dev/null || { echo "not registered"; exit 1; }
t() {
  COMP_WORDS=("$@"); COMP_CWORD=$((${#COMP_WORDS[@]} - 1)); COMPREPLY=()
  _clap_complete_gong_logs gong-logs "${COMP_WORDS[$COMP_CWORD]}" "${COMP_WORDS[$COMP_CWORD - 1]}"
  local IFS=' '; echo "${COMPREPLY[*]}"
}
t gong-logs fetch --fo
t gong-logs fetch --type ''
t gong-logs fetch -t User
t gong-logs fetch --format ''
t gong-logs fetch --profile ''
t gong-logs doctor --profile o
t gong-logs d
"#;
    let out = std::process::Command::new("bash")
        .args(["--norc", "--noprofile", "-c", driver])
        .env_clear()
        .env("PATH", &path)
        .env("HOME", dir.path())
        .env("DIR", dir.path())
        .env("GONG_LOGS_CONFIG", &cfg)
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let lines: Vec<&str> = stdout.lines().collect();
    assert_eq!(
        lines,
        [
            "--format --follow",
            "AccessLog UserActivityLog UserCallPlay ExternallySharedCallAccess ExternallySharedCallPlay all",
            "UserActivityLog UserCallPlay",
            "jsonl json csv table",
            "default oauth",
            "oauth",
            "doctor",
        ],
        "{stdout}"
    );
}

#[test]
fn zsh_and_fish_scripts_ask_the_same_engine() {
    let (dir, _path) = path_with_gong_logs();
    let cfg = write_profiles(dir.path());
    for shell in ["zsh", "fish", "powershell", "elvish"] {
        let run = Cmd::new().args(["completions", shell]).run();
        run.ok();
        assert!(
            run.stdout.contains("GONG_LOGS_COMPLETE") && run.stdout.contains("gong-logs"),
            "{shell}: {}",
            run.stdout
        );
    }
    // What the zsh and fish scripts receive for `gong-logs fetch --profile <TAB>`
    // and `--type <TAB>`: the engine's answer, one candidate per line.
    for shell in ["zsh", "fish"] {
        for (words, expected) in [
            (
                &["gong-logs", "fetch", "--profile", ""][..],
                &["default", "oauth"][..],
            ),
            (&["gong-logs", "fetch", "--format", "j"], &["jsonl", "json"]),
            (&["gong-logs", "fetch", "--fo"], &["--format", "--follow"]),
        ] {
            let run = Cmd::new()
                .env("GONG_LOGS_COMPLETE", shell)
                .env("GONG_LOGS_CONFIG", &cfg)
                .env("_CLAP_COMPLETE_INDEX", (words.len() - 1).to_string())
                .args(["--"])
                .args(words)
                .run();
            run.ok();
            let got: Vec<String> = run
                .stdout
                .lines()
                .map(|l| {
                    // fish: "value\thelp"; zsh: "value:help".
                    l.split(['\t', ':']).next().unwrap_or_default().to_owned()
                })
                .filter(|l| !l.is_empty())
                .collect();
            assert_eq!(got, expected, "{shell} {words:?}: {}", run.stdout);
        }
    }
}

// ---------------------------------------------------------------- tables

#[test]
fn tables_fit_120_80_40_and_20_columns() {
    let sim = TestSim::small(3);
    let mut text = String::new();
    for width in [120usize, 80, 40, 20] {
        let run = sim
            .fetch()
            .env("COLUMNS", width.to_string())
            .types("AccessLog,UserActivityLog,ExternallySharedCallPlay")
            .args(["-f", "table"])
            .run();
        run.ok();
        for line in run.stdout.lines() {
            assert!(line.chars().count() <= width, "{width}: {line:?} is wider");
        }
        assert_eq!(
            run.stdout.lines().count(),
            1 + 9,
            "{width}: one line per row"
        );
        text.push_str(&format!("--- COLUMNS={width}\n{}", run.stdout));
    }
    insta::assert_snapshot!("table_widths", text);
}

/// The progress line on a real terminal 40 columns wide (tmux): never
/// wrapped, never an empty `[]` bar. Skipped when tmux is not installed.
#[test]
fn progress_on_a_40_column_terminal() {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: tmux is not installed (apt-get install tmux)");
        return;
    }
    let mut config = SimConfig::testing(3, 400);
    config.faults.latency_ms = 400;
    let sim = TestSim::start(config);
    let dir = tempfile::tempdir().unwrap();
    let session = format!("gl13-{}", std::process::id());
    let out = dir.path().join("out.jsonl");
    let command = format!(
        "env -i PATH=\"$PATH\" TERM=xterm HOME={home} GONG_BASE_URL={url} GONG_ACCESS_KEY={key} GONG_ACCESS_KEY_SECRET=sim-secret {bin} fetch -t UserCallPlay --from {from} --to {to} --concurrency 1 -o {out}; sleep 30",
        home = dir.path().display(),
        url = sim.base_url(),
        key = ACCESS_KEY,
        bin = binary().display(),
        from = DATA_START,
        to = DATA_END,
        out = out.display(),
    );
    let tmux = |args: &[&str]| gong_logs_e2e::tmux(&session, args);
    gong_logs_e2e::tmux_start(&session, 40, 10, command.as_str());
    let mut seen = None;
    for _ in 0..100 {
        std::thread::sleep(std::time::Duration::from_millis(100));
        let pane = tmux(&["capture-pane", "-p", "-t", &session]);
        let screen = String::from_utf8_lossy(&pane.stdout).into_owned();
        if screen.contains("/400 entries") {
            seen = Some(screen);
            break;
        }
    }
    tmux(&["kill-server"]);
    let screen = seen.expect("a progress line appeared within 10 s");
    let lines: Vec<&str> = screen.lines().filter(|l| !l.trim().is_empty()).collect();
    assert_eq!(lines.len(), 1, "one line, not wrapped:\n{screen}");
    assert!(lines[0].chars().count() < 40, "{screen}");
    assert!(!lines[0].contains("[]"), "{screen}");
    assert!(lines[0].contains("/400 entries"), "{screen}");
}

// ---------------------------------------------------------------- -v / -vv

#[test]
fn very_verbose_logs_one_line_per_request_without_secrets_or_cursors() {
    let sim = TestSim::small(250);
    let run = sim
        .fetch()
        .types("AccessLog")
        // One cursor chain, so that cursor pages come.
        .chains(1)
        .args(["-vv"])
        .run();
    run.ok();
    let requests: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("GET /v2/logs?"))
        .collect();
    assert_eq!(requests.len() as u64, sim.requests(), "{}", run.stderr);
    assert!(requests.len() >= 3, "{}", run.stderr);
    for line in &requests {
        assert!(line.contains("logType=AccessLog&fromDateTime="), "{line}");
        assert!(line.contains("-> 200, "), "{line}");
        assert!(
            line.contains(" bytes, ") && line.contains(" ms, window "),
            "{line}"
        );
        assert!(
            !line.contains("authorization") && !line.contains("Basic"),
            "{line}"
        );
        if let Some(cursor) = line.split("cursor=").nth(1) {
            assert!(cursor.starts_with('…'), "the cursor value is shown: {line}");
        }
    }
    assert!(
        requests.iter().any(|l| l.contains("&cursor=…")),
        "{}",
        run.stderr
    );
    // -v: the plan of time slices, no request lines.
    let run = sim.fetch().types("AccessLog").args(["-v"]).run();
    run.ok();
    assert!(run.stderr.contains("time slice"), "{}", run.stderr);
    assert!(!run.stderr.contains("GET /v2/logs"), "{}", run.stderr);
}

// ---------------------------------------------------------------- errors

#[test]
fn errors_say_what_to_do_and_leak_no_library_text() {
    let mut config = SimConfig::testing(2, 10);
    config.faults.p_503 = 1.0;
    config.faults.retry_after_503 = 0;
    let sim = TestSim::start(config);
    let run = sim
        .fetch()
        .types("AccessLog")
        .args(["--max-retries", "1"])
        .run();
    run.code(1).one_line_error("HTTP 503");
    assert!(
        run.stderr
            .contains("check https://status.gong.io if it persists"),
        "{}",
        run.stderr
    );

    let cmd = |from: &str| {
        Fetch::new(Cmd::new())
            .types("AccessLog")
            .from_only(from)
            .run()
    };
    cmd("9999-12-31")
        .code(2)
        .one_line_error("dates must be between -9999-01-03 and 9999-12-30");
    cmd("9999-12-31T10:00:00Z")
        .code(2)
        .one_line_error("dates must be between -9999-01-03 and 9999-12-30");
    let run = cmd("2024-03-01T10:00:00[Europe/Paris]");
    run.code(2).one_line_error("2024-03-01T10:00:00+01:00");
    assert!(!run.stderr.contains("]Z"), "{}", run.stderr);

    let run = Cmd::new().args(["fetch", "--help"]).run();
    assert!(
        run.stdout
            .contains("Usage: gong-logs fetch [OPTIONS] --type <TYPE> <--from TIME|--since SPAN>"),
        "{}",
        run.stdout
    );
}

// ---------------------------------------------------------------- filters

#[test]
fn user_matches_impersonators_and_warns_about_userless_types_once() {
    let sim = TestSim::small(200);
    let entries = sim.entries("UserActivityLog", DATA_START, DATA_END);
    let value = |json: &str, key: &str| -> Option<String> {
        serde_json::from_str::<serde_json::Value>(json).unwrap()[key]
            .as_str()
            .map(str::to_owned)
    };
    let impersonator = entries
        .iter()
        .find_map(|e| value(e, "impersonatorEmailAddress"))
        .expect("the simulator has impersonated entries");
    let expected: String = entries
        .iter()
        .filter(|e| {
            [
                value(e, "userEmailAddress"),
                value(e, "impersonatorEmailAddress"),
            ]
            .iter()
            .flatten()
            .any(|v| v.eq_ignore_ascii_case(&impersonator))
        })
        .map(|e| format!("{}\n", with_log_type("UserActivityLog", e)))
        .collect();
    assert!(!expected.is_empty());
    let run = sim
        .fetch()
        .types("UserActivityLog,ExternallySharedCallAccess,ExternallySharedCallPlay")
        .args(["--user", &impersonator.to_uppercase()])
        .run();
    run.ok();
    assert_eq!(run.stdout, expected);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("no user fields"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("ExternallySharedCallAccess, ExternallySharedCallPlay"),
        "{}",
        run.stderr
    );
    let help = Cmd::new().args(["fetch", "--help"]).run();
    assert!(help.stdout.contains("impersonator"), "{}", help.stdout);
}

#[test]
fn a_start_older_than_the_retention_is_warned_about() {
    let sim = TestSim::small(5);
    let run = sim
        .fetch()
        .types("AccessLog,UserCallPlay")
        .range("2020-01-01", "2020-01-02")
        .run();
    run.ok();
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains("keeps")).collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("AccessLog") && warnings[0].contains("14 days"),
        "{}",
        run.stderr
    );
    let run = sim
        .fetch()
        .types("UserCallPlay")
        .range("2020-01-01", "2020-01-02")
        .run();
    assert!(!run.stderr.contains("warning"), "{}", run.stderr);
}

// ---------------------------------------------------------------- summaries

#[test]
fn head_one_counts_what_reached_the_reader() {
    let sim = TestSim::small(400);
    // Pages of 100 entries (~70 kB) are larger than a pipe's buffer: the
    // reader goes away in the middle of a write.
    let run = sim
        .fetch()
        .types("AccessLog")
        .command()
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .map(|mut child| {
            let mut first = String::new();
            use std::io::BufRead as _;
            std::io::BufReader::new(child.stdout.take().unwrap())
                .read_line(&mut first)
                .unwrap();
            assert!(first.starts_with("{\"logType\":\"AccessLog\""));
            Run::new(child.wait_with_output().unwrap())
        })
        .unwrap();
    run.ok();
    let summary = run.stderr.lines().last().unwrap_or_default();
    assert!(summary.starts_with("gong-logs: "), "{}", run.stderr);
    let n: u64 = summary["gong-logs: ".len()..]
        .split(' ')
        .next()
        .unwrap()
        .parse()
        .unwrap();
    assert!((1..400).contains(&n), "{}", run.stderr);
}

/// A failing stdout is an error; `/dev/null` is a normal run, however it
/// was opened. A closed stdout (`>&-`) cannot be told from a read-write
/// `/dev/null`: the standard library puts exactly that in its place before
/// `main` (and swallows `EBADF`), so it runs like `> /dev/null` too.
#[test]
fn a_failing_stdout_is_an_error_and_dev_null_is_not() {
    let sim = TestSim::small(20);
    let fetch = |prelude: &str| sim.fetch_under_shell(prelude).types("AccessLog").run();
    if Path::new("/dev/full").exists() {
        let run = fetch("exec >/dev/full");
        run.code(1).one_line_error("cannot write to stdout");
    }
    for prelude in ["exec >/dev/null", "exec >&-"] {
        sim.reset();
        let run = fetch(prelude);
        run.ok();
        assert!(
            run.stderr.contains("20 entries"),
            "{prelude}: {}",
            run.stderr
        );
        assert!(sim.requests() > 0, "{prelude}");
    }
}

/// What a supervisor hands a process as stdout (Python's
/// `subprocess.DEVNULL`, systemd's `StandardOutput=null`, container
/// runtimes): `/dev/null` opened read-write. It works like `> /dev/null`.
#[test]
fn a_supervisors_read_write_dev_null_stdout_works() {
    let sim = TestSim::small(20);
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")
        .expect("/dev/null");
    let output = sim
        .fetch()
        .types("AccessLog")
        .command()
        .stdout(Stdio::from(null))
        .stderr(Stdio::piped())
        .output()
        .expect("the binary starts");
    let run = Run::new(output);
    run.ok();
    assert!(run.stderr.contains("20 entries"), "{}", run.stderr);
    assert!(sim.requests() > 0);
}

#[test]
fn dry_run_needs_no_credentials() {
    let run = Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", "https://company-17.api.gong.io")
        .types("AccessLog")
        .no_range()
        .args(["--since", "1h", "--dry-run"])
        .run();
    run.ok();
    assert!(
        run.stdout.contains("authorization: <none>\n"),
        "{}",
        run.stdout
    );
    assert!(
        run.stdout
            .starts_with("GET https://company-17.api.gong.io/v2/logs?")
    );
    assert!(
        run.stderr.contains("No credentials are set"),
        "{}",
        run.stderr
    );
}
