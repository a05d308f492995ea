//! `fetch --metrics-listen` and `--metrics-file`: the series scraped over
//! real HTTP during a `--follow` against the simulator match what was
//! written and what the simulator saw; `/healthz` turns 503 with a reason
//! once Gong goes away; the textfile after a plain fetch, replaced by a
//! rename; hostile scrapers; unusable settings are exit 2 before any
//! request.

use std::collections::BTreeMap;
use std::io::{Read as _, Write as _};
use std::net::{SocketAddr, TcpStream};
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use gong_logs_e2e::*;

/// A sample's series as printed (`name{labels}`) → its value.
type Samples = BTreeMap<String, f64>;

/// Parses the Prometheus text format strictly: `# HELP` / `# TYPE` lines,
/// then samples `NAME[{LABELS}] VALUE` of the family last typed (a
/// counter's samples end in `_total`); anything else fails the test.
#[track_caller]
fn parse(text: &str) -> Samples {
    let mut samples = Samples::new();
    let mut family: Option<(String, String)> = None;
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            assert!(rest.split_once(' ').is_some(), "bad HELP: {line}");
            continue;
        }
        if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').expect("TYPE name kind");
            assert!(["counter", "gauge"].contains(&kind), "type {kind}");
            family = Some((name.to_owned(), kind.to_owned()));
            continue;
        }
        let (series, value) = line
            .rsplit_once(' ')
            .unwrap_or_else(|| panic!("bad line {line:?}"));
        let name = series.split('{').next().unwrap();
        let (typed, kind) = family.as_ref().expect("a TYPE line first");
        assert_eq!(name, typed, "sample of another family: {line}");
        if kind == "counter" {
            assert!(name.ends_with("_total"), "{line}");
        }
        if series.contains('{') {
            assert!(series.ends_with("\"}"), "labels: {line}");
        }
        let value: f64 = value
            .parse()
            .unwrap_or_else(|_| panic!("value of {line:?}"));
        assert!(
            samples.insert(series.to_owned(), value).is_none(),
            "twice: {line}"
        );
    }
    samples
}

/// `GET path` over a fresh connection: status and body.
fn get(addr: SocketAddr, method: &str, path: &str) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).expect("connect to the metrics endpoint");
    stream
        .set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    write!(
        stream,
        "{method} {path} HTTP/1.1\r\nHost: test\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut bytes = Vec::new();
    stream.read_to_end(&mut bytes).expect("an answer");
    let text = String::from_utf8(bytes).expect("UTF-8");
    let (head, body) = text.split_once("\r\n\r\n").expect("head and body");
    let status = head.split(' ').nth(1).expect("status").parse().unwrap();
    (status, body.to_owned())
}

fn scrape(addr: SocketAddr) -> Samples {
    let (status, body) = get(addr, "GET", "/metrics");
    assert_eq!(status, 200, "{body}");
    assert_no_secrets(&body, "");
    parse(&body)
}

/// The requests of each status code, as the metrics count them.
fn by_code(samples: &Samples) -> BTreeMap<String, u64> {
    samples
        .iter()
        .filter_map(|(k, v)| {
            let code = k.strip_prefix("gong_logs_requests_total{code=\"")?;
            Some((code.trim_end_matches("\"}").to_owned(), *v as u64))
        })
        .collect()
}

/// The simulator's requests by status code.
fn sim_by_code(sim: &TestSim) -> BTreeMap<String, u64> {
    sim.stats()
        .by_status
        .iter()
        .map(|(code, n)| (code.to_string(), *n))
        .collect()
}

fn value(samples: &Samples, series: &str) -> f64 {
    *samples
        .get(series)
        .unwrap_or_else(|| panic!("no {series} in {samples:#?}"))
}

fn lines_of(out: &Path, log_type: &str) -> usize {
    let tag = format!("{{\"logType\":\"{log_type}\",");
    std::fs::read_to_string(out)
        .unwrap()
        .lines()
        .filter(|l| l.starts_with(&tag))
        .count()
}

/// Waits (30 s at most) for `done`.
#[track_caller]
fn wait_for(what: &str, mut done: impl FnMut() -> bool) {
    let started = Instant::now();
    while !done() {
        assert!(
            started.elapsed() < Duration::from_secs(30),
            "{what}: not within 30 s"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// The address the run says it serves on (its note on stderr).
fn served_address(err: &Path) -> SocketAddr {
    let mut addr = None;
    wait_for("the note naming the metrics address", || {
        let text = std::fs::read_to_string(err).unwrap_or_default();
        addr = text.lines().find_map(|l| {
            let rest = l.strip_prefix("gong-logs: note: serving metrics on http://")?;
            rest.split('/').next()?.parse().ok()
        });
        addr.is_some()
    });
    addr.unwrap()
}

#[test]
fn follow_metrics_match_the_output_and_health_turns_503_when_gong_goes_away() {
    let now = jiff::Timestamp::now();
    let mut config = SimConfig::testing(31, 70);
    config.start = Some(now - jiff::SignedDuration::from_secs(3000));
    config.end = Some(now - jiff::SignedDuration::from_secs(60));
    config.page_size = 20;
    config.log_types = vec![SimType::AccessLog, SimType::UserCallPlay];
    let sim = TestSim::start(config);
    let start = (now - jiff::SignedDuration::from_secs(3600)).to_string();
    let dir = tempfile::tempdir().unwrap();
    let (out, err, file) = (
        dir.path().join("out"),
        dir.path().join("err"),
        dir.path().join("gong.prom"),
    );
    let mut child = sim
        .fetch()
        .types("AccessLog,UserCallPlay")
        .from_only(&start)
        .args([
            "--follow",
            "--interval",
            "1s",
            "--metrics-listen",
            "127.0.0.1:0",
        ])
        .args([std::ffi::OsStr::new("--metrics-file"), file.as_os_str()])
        .command()
        .stdout(Stdio::from(std::fs::File::create(&out).unwrap()))
        .stderr(Stdio::from(std::fs::File::create(&err).unwrap()))
        .spawn()
        .unwrap();
    let addr = served_address(&err);
    wait_for("every entry written", || {
        lines_of(&out, "AccessLog") + lines_of(&out, "UserCallPlay") == 140
    });
    // A scrape between two polls: the simulator's count read between two
    // equal scrapes.
    let mut samples = Samples::new();
    wait_for("a scrape that matches the simulator", || {
        let first = scrape(addr);
        let seen = sim_by_code(&sim);
        samples = scrape(addr);
        by_code(&first) == by_code(&samples) && by_code(&samples) == seen
    });
    assert!(sim.requests() > 0);
    for t in ["AccessLog", "UserCallPlay"] {
        let label = format!("{{log_type=\"{t}\"}}");
        assert_eq!(
            value(&samples, &format!("gong_logs_entries_total{label}")),
            lines_of(&out, t) as f64,
            "{t}"
        );
        assert_eq!(lines_of(&out, t), 70);
        let position = value(
            &samples,
            &format!("gong_logs_position_timestamp_seconds{label}"),
        );
        assert!(position >= (now.as_second() - 61) as f64, "{t}: {position}");
        let success = value(
            &samples,
            &format!("gong_logs_last_success_timestamp_seconds{label}"),
        );
        assert!(success >= now.as_second() as f64, "{t}: {success}");
    }
    assert_eq!(
        value(&samples, "gong_logs_requests_total{code=\"200\"}") as u64,
        sim.stats().pages_served
    );
    assert_eq!(value(&samples, "gong_logs_retries_total"), 0.0);
    assert_eq!(value(&samples, "gong_logs_up"), 1.0);
    assert_eq!(get(addr, "GET", "/healthz"), (200, "ok\n".to_owned()));
    assert_eq!(get(addr, "GET", "/other").0, 404);
    assert_eq!(get(addr, "GET", "/metrics/x").0, 404);
    assert_eq!(get(addr, "POST", "/metrics").0, 405);
    hostile_scrapers(addr);

    // Gong goes away: the next poll fails (and is retried), and health says so.
    drop(sim);
    let mut reason = String::new();
    wait_for("/healthz turning 503", || {
        let (status, body) = get(addr, "GET", "/healthz");
        reason = body;
        status == 503
    });
    assert!(
        reason.starts_with("the last request failed at "),
        "{reason}"
    );
    assert!(reason.contains("could not connect"), "{reason}");
    assert_eq!(reason.lines().count(), 1, "{reason}");
    let down = scrape(addr);
    assert_eq!(value(&down, "gong_logs_up"), 0.0);
    assert!(value(&down, "gong_logs_requests_total{code=\"error\"}") >= 1.0);

    std::process::Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    let status = child.wait().unwrap();
    let stderr = std::fs::read_to_string(&err).unwrap();
    assert_no_secrets("", &stderr);
    assert_eq!(status.code(), Some(0), "{stderr}");
    // The textfile at exit: the same counts, down.
    let last = parse(&std::fs::read_to_string(&file).unwrap());
    for t in ["AccessLog", "UserCallPlay"] {
        assert_eq!(
            value(
                &last,
                &format!("gong_logs_entries_total{{log_type=\"{t}\"}}")
            ),
            70.0
        );
    }
    assert_eq!(value(&last, "gong_logs_up"), 0.0);
    assert_eq!(dir_listing(dir.path()), ["err", "gong.prom", "out"]);
}

/// Clients that send a huge head or nothing at all are answered or cut
/// off by the server, and a scrape still works.
fn hostile_scrapers(addr: SocketAddr) {
    // A head larger than the server reads: 431, or the connection closed.
    let mut huge = TcpStream::connect(addr).unwrap();
    huge.set_read_timeout(Some(Duration::from_secs(30)))
        .unwrap();
    let _ = write!(
        huge,
        "GET /metrics HTTP/1.1\r\nX-Big: {}\r\n\r\n",
        "a".repeat(200_000)
    );
    let mut answer = Vec::new();
    let _ = huge.read_to_end(&mut answer);
    let answer = String::from_utf8_lossy(&answer);
    assert!(
        answer.is_empty() || answer.starts_with("HTTP/1.1 431"),
        "{answer:.200}"
    );
    // Silent clients: closed by the server (the head timeout), not held.
    let mut silent: Vec<TcpStream> = (0..20).map(|_| TcpStream::connect(addr).unwrap()).collect();
    for stream in &mut silent {
        stream
            .set_read_timeout(Some(Duration::from_secs(30)))
            .unwrap();
        let mut buf = Vec::new();
        // EOF (or a 408), never a wait past the read timeout.
        match stream.read_to_end(&mut buf) {
            Ok(_) => assert!(
                buf.is_empty() || buf.starts_with(b"HTTP/1.1 408"),
                "{buf:?}"
            ),
            Err(e) => assert_eq!(e.kind(), std::io::ErrorKind::ConnectionReset, "{e}"),
        }
    }
    assert_eq!(get(addr, "GET", "/healthz").0, 200);
}

#[test]
fn metrics_file_after_a_plain_fetch_is_replaced_by_a_rename() {
    let sim = TestSim::small(45);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("gong.prom");
    std::fs::write(&file, "old\n").unwrap();
    // A second name of the old file: a rename leaves it alone, a rewrite
    // in place would change it.
    let keep = dir.path().join("keep");
    std::fs::hard_link(&file, &keep).unwrap();
    sim.fetch()
        .types("AccessLog,UserCallPlay")
        .args([std::ffi::OsStr::new("--metrics-file"), file.as_os_str()])
        .run()
        .ok();
    assert_eq!(std::fs::read_to_string(&keep).unwrap(), "old\n");
    let text = std::fs::read_to_string(&file).unwrap();
    assert_file_has_no_secrets(&file);
    let samples = parse(&text);
    let to = ts(DATA_END).as_second() as f64;
    for t in ["AccessLog", "UserCallPlay"] {
        let label = format!("{{log_type=\"{t}\"}}");
        let expected = sim.entries(t, DATA_START, DATA_END).len() as f64;
        assert_eq!(
            value(&samples, &format!("gong_logs_entries_total{label}")),
            expected
        );
        assert_eq!(
            value(
                &samples,
                &format!("gong_logs_position_timestamp_seconds{label}")
            ),
            to
        );
        assert!(samples.contains_key(&format!("gong_logs_last_success_timestamp_seconds{label}")));
    }
    assert_eq!(by_code(&samples), sim_by_code(&sim));
    assert_eq!(
        value(&samples, "gong_logs_pages_total") as u64,
        sim.stats().pages_served
    );
    assert_eq!(value(&samples, "gong_logs_up"), 1.0);
    assert_eq!(
        value(&samples, "gong_logs_build_info{version=\"0.1.0\"}"),
        1.0
    );
    use std::os::unix::fs::PermissionsExt as _;
    let mode = std::fs::metadata(&file).unwrap().permissions().mode() & 0o777;
    assert_eq!(mode, 0o644);
    assert_eq!(dir_listing(dir.path()), ["gong.prom", "keep"]);
}

#[test]
fn unusable_metrics_settings_are_exit_2_before_any_request() {
    let sim = TestSim::small(5);
    let taken = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = taken.local_addr().unwrap().port().to_string();
    let dir = tempfile::tempdir().unwrap();
    let cases: Vec<(Vec<String>, &str)> = vec![
        (
            vec!["--metrics-listen".into(), "nonsense".into()],
            "--metrics-listen",
        ),
        (
            vec!["--metrics-listen".into(), "localhost:9464".into()],
            "an IP address and port",
        ),
        (
            vec!["--metrics-listen".into(), "127.0.0.1:70000".into()],
            "--metrics-listen",
        ),
        (
            vec!["--metrics-listen".into(), port.clone()],
            "cannot listen there",
        ),
        (
            vec!["--metrics-listen".into(), format!("127.0.0.1:{port}")],
            "in use",
        ),
        (
            vec![
                "--metrics-file".into(),
                "/nonexistent-gong-logs-dir/x.prom".into(),
            ],
            "cannot create a file in /nonexistent-gong-logs-dir",
        ),
        (
            vec!["--metrics-file".into(), dir.path().display().to_string()],
            "not a directory",
        ),
    ];
    for (args, needle) in cases {
        sim.fetch()
            .types("AccessLog")
            .args(&args)
            .run()
            .code(2)
            .one_line_error(needle);
        assert_eq!(sim.requests(), 0, "{args:?}");
    }
    assert_eq!(dir_listing(dir.path()), Vec::<String>::new());
}
