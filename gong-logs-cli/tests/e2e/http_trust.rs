//! Issue 18, the request path's trust: what the client does with a
//! server's `Retry-After`, redirects, cursors, bodies and clock. The real
//! binary against the simulator or a small scripted server on loopback
//! that counts (and times) what arrives; waits are only ever asserted as
//! lower bounds, measured between arrivals at the server.

use std::io::{Read as _, Write as _};
use std::net::TcpListener;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use gong_logs_e2e::*;

const FROM: &str = "2024-03-01T00:00:00Z";
const TO: &str = "2024-03-01T00:30:00Z";
const ENTRY: &str = r#"{"userId":"42","eventTime":"2024-03-01T00:10:00Z","logRecord":{"k":1}}"#;

/// One request as the scripted server saw it.
struct Seen {
    /// Its place in the order of arrival (0-based).
    n: usize,
    /// The request line and headers.
    head: String,
}

/// A loopback server answering each request with what `answer` returns (a
/// full HTTP/1.1 response; `Connection: close`), recording when each came.
struct Scripted {
    url: String,
    arrivals: Arc<Mutex<Vec<Instant>>>,
}

impl Scripted {
    fn start(answer: impl Fn(&Seen) -> String + Send + 'static) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let url = format!("http://{}", listener.local_addr().expect("addr"));
        let arrivals = Arc::new(Mutex::new(Vec::new()));
        let log = arrivals.clone();
        std::thread::spawn(move || {
            for stream in listener.incoming() {
                let Ok(mut stream) = stream else { continue };
                let mut buf = [0u8; 4096];
                let mut seen = Vec::new();
                while !seen.windows(4).any(|w| w == b"\r\n\r\n") {
                    match stream.read(&mut buf) {
                        Ok(0) | Err(_) => break,
                        Ok(n) => seen.extend_from_slice(&buf[..n]),
                    }
                }
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push(Instant::now());
                    log.len() - 1
                };
                let head = String::from_utf8_lossy(&seen).into_owned();
                let _ = stream.write_all(answer(&Seen { n, head }).as_bytes());
            }
        });
        Self { url, arrivals }
    }

    fn requests(&self) -> usize {
        self.arrivals.lock().unwrap().len()
    }

    /// Time between the arrivals of requests `a` and `b`.
    fn gap(&self, a: usize, b: usize) -> Duration {
        let log = self.arrivals.lock().unwrap();
        log[b] - log[a]
    }
}

fn response(status: &str, headers: &str, body: &str) -> String {
    format!(
        "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n{headers}Connection: close\r\n\r\n{body}",
        body.len()
    )
}

/// A last page (no cursor unless given) holding `entries`.
fn page(entries: &[&str], cursor: Option<&str>) -> String {
    let cursor = cursor
        .map(|c| format!(r#","cursor":"{c}""#))
        .unwrap_or_default();
    let body = format!(
        r#"{{"requestId":"scripted","records":{{"totalRecords":{n},"currentPageSize":{n},"currentPageNumber":0{cursor}}},"logEntries":[{}]}}"#,
        entries.join(","),
        n = entries.len(),
    );
    response("200 OK", "", &body)
}

fn too_many(retry_after: &str) -> String {
    response(
        "429 Too Many Requests",
        &format!("Retry-After: {retry_after}\r\n"),
        r#"{"requestId":"r429","errors":["API request limit exceeded"]}"#,
    )
}

/// The request target of a request head (`/v2/logs?...`).
fn target(head: &str) -> &str {
    head.split(' ').nth(1).unwrap_or("")
}

/// `fetch` of [FROM, TO) from `url`: one chain, fast rate.
fn fetch_from(url: &str, extra: &[&str]) -> Run {
    Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", url)
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
        .types("UserActivityLog")
        .range(FROM, TO)
        .chains(1)
        .args(extra)
        .run()
}

/// `fetch` of the simulator's whole data range.
fn fetch_sim(sim: &TestSim, types: &str, extra: &[&str]) -> Run {
    sim.fetch().types(types).args(extra).run()
}

// ---------------------------------------------------------------- Retry-After

/// A 429 with `Retry-After: 0` on every request: the retries still keep to
/// the rate limit (they used to go out back to back, each 429 starting a
/// fresh token bucket).
#[test]
fn retry_after_zero_never_beats_the_rate_limit() {
    let mut config = SimConfig::testing(18, 50);
    config.faults.p_429 = 1.0;
    config.faults.retry_after_429 = 0;
    let sim = TestSim::start(config);
    let rate = 8.0;
    let started = Instant::now();
    let run = fetch_sim(
        &sim,
        "AccessLog",
        &[
            "--concurrency",
            "1",
            "--rate-limit",
            "8",
            "--max-retries",
            "4",
        ],
    );
    let elapsed = started.elapsed();
    run.code(5);
    let requests = sim.requests();
    assert_eq!(requests, 5, "{}", run.stderr);
    // A lower bound: N requests at `rate` take at least (N − 1) / rate
    // once bursts stop (the first 429 stops them).
    let floor = Duration::from_secs_f64((requests - 1) as f64 / rate);
    println!("{requests} requests in {elapsed:?} (at least {floor:?})");
    assert!(
        elapsed >= floor,
        "{requests} requests in {elapsed:?}: faster than {rate}/s"
    );
}

/// `Retry-After: 1.5` and an HTTP date are waited out (they used to be
/// ignored: a back-off of about half a second).
#[test]
fn fractional_and_date_retry_after_are_honoured() {
    let server = Scripted::start(|seen| match seen.n {
        0 => too_many("1.5"),
        1 => {
            let at = jiff::Timestamp::now() + jiff::SignedDuration::from_secs(3);
            let date = at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string();
            too_many(&date)
        }
        _ => page(&[ENTRY], None),
    });
    let run = fetch_from(&server.url, &[]);
    run.ok();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert_eq!(server.requests(), 3);
    let fraction = server.gap(0, 1);
    let date = server.gap(1, 2);
    println!("Retry-After 1.5: {fraction:?}; a date 3 s ahead (whole seconds): {date:?}");
    assert!(fraction >= Duration::from_millis(1500), "{fraction:?}");
    // The date has whole seconds: at least 2 s of the 3 remain.
    assert!(date >= Duration::from_millis(1900), "{date:?}");
}

/// A `Retry-After` over the bound (1 h, or --max-wait) is an error saying
/// how long and until when, with no --max-retries advice.
#[test]
fn a_long_retry_after_says_when_to_rerun() {
    let server = Scripted::start(|_| too_many("7200"));
    let run = fetch_from(&server.url, &[]);
    run.code(5)
        .one_line_error("Gong asked to wait 2h 0m (until 20");
    assert!(
        run.stderr.contains("rerun after that, or raise --max-wait"),
        "{}",
        run.stderr
    );
    assert!(!run.stderr.contains("--max-retries"), "{}", run.stderr);
    assert_eq!(server.requests(), 1, "not retried");

    // Under the bound given with --max-wait: waited; over it: refused.
    let server = Scripted::start(|seen| match seen.n {
        0 => too_many("2"),
        _ => page(&[ENTRY], None),
    });
    let run = fetch_from(&server.url, &["--max-wait", "1s"]);
    run.code(5).one_line_error("Gong asked to wait 2s");
    let run = fetch_from(&server.url, &["--max-wait", "3s"]);
    run.ok();
    assert_eq!(run.stdout.lines().count(), 1);

    let run = fetch_from(&server.url, &["--max-wait", "soon"]);
    run.code(2).one_line_error("--max-wait");
}

/// Under --follow, a long wait is waited out with a warning, not an end.
#[test]
fn follow_waits_out_a_long_retry_after_with_a_warning() {
    let server = Scripted::start(|seen| match seen.n {
        0 => too_many("2"),
        _ => page(&[], None),
    });
    let dir = tempfile::tempdir().unwrap();
    let err_path = dir.path().join("stderr");
    let from = (jiff::Timestamp::now() - jiff::SignedDuration::from_secs(600)).to_string();
    let mut child = Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", &server.url)
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
        .types("UserActivityLog")
        .from_only(&from)
        .args(["--follow", "--interval", "1h", "--max-wait", "1s"])
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::from(std::fs::File::create(&err_path).unwrap()))
        .spawn()
        .unwrap();
    let started = Instant::now();
    while server.requests() < 2 {
        assert!(started.elapsed() < Duration::from_secs(30), "no retry");
        assert!(child.try_wait().unwrap().is_none(), "--follow stopped");
        std::thread::sleep(Duration::from_millis(20));
    }
    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&err_path).unwrap();
    assert_no_secrets("", &stderr);
    assert_eq!(status.code(), Some(0), "{stderr}");
    assert!(server.gap(0, 1) >= Duration::from_secs(2));
    let warnings: Vec<&str> = stderr
        .lines()
        .filter(|l| l.contains("Gong asked to wait 2s"))
        .collect();
    assert_eq!(warnings.len(), 1, "{stderr}");
    assert!(warnings[0].starts_with("gong-logs: warning: "), "{stderr}");
}

// ---------------------------------------------------------------- redirects

/// A redirect to another port, host name or scheme is refused, naming both
/// origins; the other origin is never asked. (They used to be followed and
/// the other origin's unauthenticated data accepted.)
#[test]
fn a_redirect_off_the_origin_is_refused() {
    let other = Scripted::start(|_| page(&[ENTRY], None));
    let other_url = other.url.clone();
    let port = |url: &str| url.rsplit(':').next().unwrap().to_owned();
    for to in [
        other_url.clone(),
        format!("http://localhost:{}", port(&other_url)),
        other_url.replace("http://", "https://"),
    ] {
        let location = to.clone();
        let origin = Scripted::start(move |seen| {
            response(
                "307 Temporary Redirect",
                &format!("Location: {location}{}\r\n", target(&seen.head)),
                "",
            )
        });
        let run = fetch_from(&origin.url, &[]);
        run.code(1)
            .one_line_error(&format!("the server at {} redirected to {to}", origin.url));
        assert!(
            run.stderr.contains("refused; check the base URL"),
            "{}",
            run.stderr
        );
        assert!(!run.stderr.contains("is the right host"), "{}", run.stderr);
        assert!(run.stdout.is_empty());
        assert_eq!(origin.requests(), 1, "not retried");
    }
    assert_eq!(other.requests(), 0, "the other origin was reached");
}

/// A redirect within the origin (same scheme, host and port) is followed,
/// with the credentials.
#[test]
fn a_redirect_within_the_origin_is_followed() {
    let server = Scripted::start(|seen| {
        let target = target(&seen.head).to_owned();
        if !seen
            .head
            .to_ascii_lowercase()
            .contains("authorization: basic")
        {
            response("401 Unauthorized", "", r#"{"errors":["no credentials"]}"#)
        } else if target.contains("hop=1") {
            page(&[ENTRY], None)
        } else {
            response(
                "308 Permanent Redirect",
                &format!("Location: {target}&hop=1\r\n"),
                "",
            )
        }
    });
    let run = fetch_from(&server.url, &[]);
    run.ok();
    assert_eq!(run.stdout.lines().count(), 1, "{}", run.stdout);
    assert_eq!(server.requests(), 2);
}

// ---------------------------------------------------------------- pages

/// A 1 MB cursor is a protocol error at once (it used to be retried for
/// 70 s and reported as "builder error").
#[test]
fn a_huge_cursor_is_refused_at_once() {
    let cursor = "c".repeat(1 << 20);
    let server = Scripted::start(move |_| page(&[ENTRY], Some(&cursor)));
    let run = fetch_from(&server.url, &[]);
    run.code(1)
        .one_line_error("the server handed a cursor of 1048576 bytes");
    assert!(!run.stderr.contains("builder error"), "{}", run.stderr);
    assert_eq!(server.requests(), 1, "not retried");
    assert!(run.stdout.is_empty(), "the page was delivered");
}

/// A 200 whose JSON has duplicate keys is not Gong's page: retried twice
/// like any other undecodable 200 (it used to get the whole retry budget).
#[test]
fn a_body_with_duplicate_keys_is_retried_twice() {
    let server = Scripted::start(|_| {
        response(
            "200 OK",
            "",
            r#"{"requestId":"r","records":{"totalRecords":0},"records":{"totalRecords":0},"logEntries":[]}"#,
        )
    });
    let run = fetch_from(&server.url, &["--max-retries", "4"]);
    run.code(1).one_line_error("after 3 attempts");
    assert!(run.stderr.contains("not Gong's"), "{}", run.stderr);
    assert_eq!(server.requests(), 3);
}

// ---------------------------------------------------------------- clock

/// A server clock a day behind the local one: one warning saying the range
/// comes from the local clock, and by how much they differ.
#[test]
fn a_skewed_server_clock_is_warned_about_once() {
    let mut config = SimConfig::testing(18, 40);
    config.date_offset_secs = -86_400;
    let sim = TestSim::start(config);
    let run = sim.fetch().types("all").run();
    run.ok();
    let warnings: Vec<&str> = run.stderr.lines().filter(|l| l.contains("clock")).collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    let warning = warnings[0];
    assert!(warning.starts_with("gong-logs: warning: "), "{warning}");
    assert!(warning.contains("ahead of the server's"), "{warning}");
    assert!(warning.contains("1d"), "{warning}");
    assert!(warning.contains("local clock"), "{warning}");

    // A server whose clock agrees: no warning.
    let sim = TestSim::small(10);
    let run = sim.fetch().types("AccessLog").run();
    run.ok();
    assert!(!run.stderr.contains("clock"), "{}", run.stderr);
}

// ---------------------------------------------------------------- doctor

/// `doctor` right after other requests meets a 429: it waits it out once
/// and judges the second answer.
#[test]
fn doctor_waits_out_one_429() {
    let mut config = SimConfig::testing(18, 10);
    config.faults.fail_each_request_once = true;
    config.faults.p_429 = 1.0;
    config.faults.retry_after_429 = 1;
    let sim = TestSim::start(config);
    let run = sim.cmd().args(["doctor"]).run();
    run.ok();
    assert_eq!(sim.requests(), 2, "{}", run.stdout);
    assert_eq!(sim.stats().retry_after_violations, 0);

    // Always 429: one wait, then the failure (exit 5).
    let mut config = SimConfig::testing(18, 10);
    config.faults.p_429 = 1.0;
    config.faults.retry_after_429 = 1;
    let sim = TestSim::start(config);
    let run = sim.cmd().args(["doctor"]).run();
    run.code(5);
    assert_eq!(sim.requests(), 2, "{}", run.stdout);
}
