//! A hostile or broken server: nothing lost, nothing leaked, nothing
//! endless. One test per `gong-logs-sim --misbehave` mode (and for the
//! failures that need no server: a refused connection, TLS spoken to a
//! plain port, a base URL with /v2/logs), each run of the real binary
//! asserting the exact outcome: exit code, no secret (every run is scanned
//! by `Run::new`), no escape byte, bounded output, nothing written twice,
//! bounded requests. See docs/RELIABILITY.md, "Hostile servers".

use gong_logs_e2e::*;
use gong_logs_sim::Misbehave;

const TYPE: &str = "AccessLog";
const ENTRIES: usize = 300;
const PAGE: usize = 10;

fn hostile(mode: Misbehave) -> TestSim {
    let mut config = SimConfig::testing(11, ENTRIES);
    config.page_size = PAGE;
    config.misbehave = Some(mode);
    TestSim::start(config)
}

/// One cursor chain: the request counts below are those of one request
/// and its retries (the engine's first round otherwise runs up to
/// --concurrency chains at once).
fn fetch(sim: &TestSim, extra: &[&str]) -> Run {
    fetch_chains(sim, 1, extra)
}

fn fetch_chains(sim: &TestSim, chains: u16, extra: &[&str]) -> Run {
    sim.fetch()
        .types(TYPE)
        .format("jsonl")
        .chains(chains)
        .args(["--max-retries", "1"])
        .args(extra)
        .run()
}

/// No terminal control character anywhere in what was printed.
#[track_caller]
fn assert_no_control(run: &Run) {
    for (name, text) in [("stdout", &run.stdout), ("stderr", &run.stderr)] {
        let bad: Vec<char> = text
            .chars()
            .filter(|&c| {
                (c < ' ' && c != '\n' && c != '\t')
                    || c == '\u{7f}'
                    || ('\u{80}'..='\u{9f}').contains(&c)
                    || ('\u{202a}'..='\u{202e}').contains(&c)
                    || ('\u{2066}'..='\u{2069}').contains(&c)
            })
            .collect();
        assert!(
            bad.is_empty(),
            "{name} holds control characters {bad:?}:\n{text}"
        );
    }
}

/// What was written is a prefix of the export, in order: nothing twice,
/// nothing foreign. (The data set holds identical entries on purpose, so
/// "no line twice" would not do.)
#[track_caller]
fn assert_nothing_twice(sim: &TestSim, run: &Run) {
    assert!(
        expected(sim).starts_with(&run.stdout),
        "stdout is not a prefix of the export:\n{:.3000}",
        run.stdout
    );
}

fn expected(sim: &TestSim) -> String {
    sim.expected_jsonl(&[TYPE], DATA_START, DATA_END)
}

#[test]
fn echoed_credentials_are_not_printed() {
    let sim = hostile(Misbehave::EchoCredentials);
    // Basic, with -vv: the retry warning and the final error both quote
    // the body.
    let run = fetch(&sim, &["-vv"]);
    run.code(1);
    assert!(run.stderr.contains("HTTP 500"), "{}", run.stderr);
    assert!(run.stderr.contains("retrying"), "{}", run.stderr);
    for form in ["sim-access-key:sim-secret", "sim-access-key", "Basic c2lt"] {
        assert!(!run.stderr.contains(form), "{form} in:\n{}", run.stderr);
    }
    assert_no_control(&run);
    // Bearer.
    let run = sim
        .cmd()
        .env_remove("GONG_ACCESS_KEY")
        .env_remove("GONG_ACCESS_KEY_SECRET")
        .env("GONG_BEARER_TOKEN", "sim-bearer-token")
        .args([
            "-vv",
            "fetch",
            "--type",
            TYPE,
            "--from",
            DATA_START,
            "--to",
            DATA_END,
            "--max-retries",
            "1",
        ])
        .run();
    run.code(1);
    assert!(run.stderr.contains("Bearer ***"), "{}", run.stderr);
}

#[test]
fn escape_sequences_from_the_server_are_escaped() {
    let sim = hostile(Misbehave::EscapeSequences);
    let run = fetch(&sim, &["-vv"]);
    run.code(3);
    assert_no_control(&run);
    let last = run.stderr.lines().last().unwrap();
    assert!(last.starts_with("gong-logs: error: "), "{}", run.stderr);
    assert!(last.contains("\\u{1b}[31mred"), "{last}");
    assert!(last.contains("\\u{202e}"), "{last}");
}

#[test]
fn a_huge_error_message_is_cut() {
    let sim = hostile(Misbehave::HugeErrorMessage);
    let run = fetch(&sim, &["-v"]);
    run.code(1);
    assert!(
        run.stderr.len() < 4_000,
        "{} bytes of stderr",
        run.stderr.len()
    );
    for line in run.stderr.lines() {
        assert!(
            line.chars().count() <= 600,
            "a line of {} chars",
            line.len()
        );
    }
    assert!(run.stderr.contains("characters cut"), "{}", run.stderr);
    assert_eq!(sim.requests(), 2);
}

#[test]
fn a_dripping_body_hits_the_deadline() {
    let sim = hostile(Misbehave::DripBytes);
    // Generous hang guard only: the harness kills the run after 60 s.
    let run = fetch(&sim, &["--timeout", "1s"]);
    run.code(1).one_line_error("timed out");
    assert!(run.stderr.contains("127.0.0.1"), "{}", run.stderr);
    assert_eq!(sim.requests(), 2, "one retry of a timed-out request");
    assert!(run.stdout.is_empty());
}

#[test]
fn an_endless_body_is_cut_at_the_limit() {
    let sim = hostile(Misbehave::EndlessBody);
    let run = fetch(&sim, &[]);
    run.code(1).one_line_error("larger than the 32 MiB limit");
    assert_eq!(sim.requests(), 1, "a body too large is not retried");
}

#[test]
fn a_huge_declared_body_is_refused() {
    let sim = hostile(Misbehave::HugeBody);
    let run = fetch(&sim, &[]);
    run.code(1).one_line_error("larger than the 32 MiB limit");
    assert_eq!(sim.requests(), 1);
}

#[test]
fn a_repeated_cursor_stops_the_export() {
    stops_as_a_loop(Misbehave::RepeatCursor);
}

#[test]
fn a_fresh_cursor_with_the_same_entries_stops_the_export() {
    stops_as_a_loop(Misbehave::FreshCursorSameEntries);
}

/// A chain whose second page repeats itself: "looping", exit 1, nothing
/// twice, with one chain and with eight.
fn stops_as_a_loop(mode: Misbehave) {
    let sim = hostile(mode);
    // One cursor chain: its two pages.
    let run = fetch(&sim, &[]);
    run.code(1).one_line_error("looping");
    assert_nothing_twice(&sim, &run);
    assert!(run.stdout.lines().count() <= 2 * PAGE);
    assert!(sim.requests() <= 5, "{} requests", sim.requests());
    // 8 chains at once, each stopped at its 2nd page.
    sim.reset();
    let run = fetch_chains(&sim, 8, &[]);
    run.code(1).one_line_error("looping");
    assert_nothing_twice(&sim, &run);
    assert!(sim.requests() <= 1 + 2 * 16, "{} requests", sim.requests());
}

/// The three modes that put a stray entry on each query's first page:
/// an error by default, skipped and counted with --skip-out-of-range.
fn stray_entry(mode: Misbehave, needle: &str) {
    let sim = hostile(mode);
    let run = fetch(&sim, &[]);
    run.code(1).one_line_error(needle);
    assert!(run.stderr.contains("--skip-out-of-range"), "{}", run.stderr);
    assert!(!run.stderr.contains("internal error"), "{}", run.stderr);
    assert!(
        !run.stdout.contains("misbehave"),
        "the stray entry was written"
    );
    assert_nothing_twice(&sim, &run);

    let run = fetch(&sim, &["--skip-out-of-range"]);
    run.ok();
    assert_eq!(run.stdout, expected(&sim), "exactly the range, once");
    assert!(run.stderr.contains("skipped"), "{}", run.stderr);
}

#[test]
fn an_entry_before_the_range_is_an_error_or_skipped() {
    stray_entry(Misbehave::OutOfRangeEntry, "outside the requested range");
}

#[test]
fn an_entry_going_back_in_time_is_an_error_or_skipped() {
    stray_entry(Misbehave::BackwardsEntry, "out of order");
}

#[test]
fn a_far_future_entry_neither_panics_nor_passes() {
    stray_entry(Misbehave::FarFutureEntry, "outside the requested range");
    // Resumable too: the rerun meets the same entry and says the same.
    let sim = hostile(Misbehave::FarFutureEntry);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.jsonl");
    let out_arg = out.to_str().unwrap();
    for _ in 0..2 {
        fetch(&sim, &["-o", out_arg, "--resume"])
            .code(1)
            .one_line_error("outside the requested range");
        check_resumable_jsonl(&out, &expected(&sim));
    }
}

#[test]
fn a_404_on_a_cursor_page_is_an_error_and_resumable() {
    let sim = hostile(Misbehave::NotFoundOnCursor);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.jsonl");
    let run = fetch(&sim, &["-o", out.to_str().unwrap(), "--resume"]);
    run.code(1).one_line_error("HTTP 404 on a cursor page");
    assert!(run.stderr.contains("--resume"), "{}", run.stderr);
    assert!(!out.exists(), "nothing reported as complete");
    let state = check_resumable_jsonl(&out, &expected(&sim));
    assert!(state.checkpoint);
    assert!(state.entries < ENTRIES as u64);
}

#[test]
fn a_404_that_is_not_gongs_is_an_error_naming_the_base_url() {
    for mode in [Misbehave::Html404, Misbehave::OtherJson404] {
        let sim = hostile(mode);
        let run = fetch(&sim, &[]);
        run.code(1).one_line_error("host only");
        assert!(
            run.stderr.contains("https://company-17.api.gong.io"),
            "{}",
            run.stderr
        );
        assert_eq!(sim.requests(), 1, "{mode}: not retried");
        assert!(run.stdout.is_empty());
    }
}

#[test]
fn a_lying_total_does_not_drive_the_request_count() {
    let sim = hostile(Misbehave::LyingTotal);
    let run = fetch(&sim, &[]);
    run.ok();
    assert_eq!(run.stdout, expected(&sim));
    let pages = ENTRIES.div_ceil(PAGE) as u64;
    assert!(
        sim.requests() <= 3 * pages,
        "{} requests for {pages} pages of data",
        sim.requests()
    );
    assert!(
        run.stderr.contains(&format!("{} requests", sim.requests())),
        "{}",
        run.stderr
    );
}

#[test]
fn an_html_200_is_retried_at_most_twice() {
    let sim = hostile(Misbehave::Html200);
    let run = sim.fetch().types(TYPE).chains(1).run();
    run.code(1).one_line_error("text/html");
    assert!(run.stderr.contains("after 3 attempts"), "{}", run.stderr);
    assert_eq!(sim.requests(), 3);
}

#[test]
fn a_base_url_with_the_api_path_is_refused_before_any_request() {
    let sim = TestSim::small(10);
    for path in ["/v2/logs", "/v2", "/v2/logs/", "/V2/Logs"] {
        let run = sim
            .fetch()
            .env("GONG_BASE_URL", format!("{}{path}", sim.base_url()))
            .types(TYPE)
            .run();
        run.code(2).one_line_error("host only");
    }
    assert_eq!(sim.requests(), 0);
}

#[test]
fn a_refused_connection_fails_fast_naming_the_host() {
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let run = Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", format!("http://127.0.0.1:{port}"))
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
        .types(TYPE)
        .run();
    run.code(1).one_line_error("could not connect");
    assert!(run.stderr.contains("after 2 attempts"), "{}", run.stderr);
    assert!(run.stderr.contains("127.0.0.1"), "{}", run.stderr);
}

#[test]
fn tls_to_a_plain_port_fails_fast_naming_the_host() {
    let sim = TestSim::small(10);
    let https = sim.base_url().replace("http://", "https://");
    let run = sim.fetch().env("GONG_BASE_URL", &https).types(TYPE).run();
    // A handshake fails the same way every time: not retried.
    run.code(1)
        .one_line_error("127.0.0.1 does not speak TLS on that port");
    assert!(!run.stderr.contains("attempts"), "{}", run.stderr);
    assert!(
        run.stderr.contains("https:// to a server that speaks TLS"),
        "{}",
        run.stderr
    );
}

#[test]
fn max_requests_stops_cleanly_and_resumes() {
    let mut config = SimConfig::testing(11, ENTRIES);
    config.page_size = PAGE;
    let sim = TestSim::start(config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.jsonl");
    let out_arg = out.to_str().unwrap();
    let run = fetch(&sim, &["-o", out_arg, "--resume", "--max-requests", "5"]);
    run.code(5).one_line_error("budget of 5 requests");
    assert!(run.stderr.contains("--resume"), "{}", run.stderr);
    // At most 5 were sent (requests of windows ahead that were stopped
    // when the export ended may never have reached the server).
    assert!(
        (1..=5).contains(&sim.requests()),
        "{} requests",
        sim.requests()
    );
    let state = check_resumable_jsonl(&out, &expected(&sim));
    assert!(state.checkpoint && state.entries > 0 && state.entries < ENTRIES as u64);
    let run = fetch(&sim, &["-o", out_arg, "--resume"]);
    run.ok();
    assert!(run.stderr.contains(" requests"), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected(&sim));
}

#[test]
fn bad_timeout_and_budget_values_are_usage_errors() {
    let sim = TestSim::small(10);
    for (flag, value, needle) in [
        ("--timeout", "0s", "invalid --timeout"),
        ("--timeout", "soon", "invalid --timeout"),
        ("--timeout", "0m", "invalid --timeout"),
        ("--max-requests", "0", "--max-requests"),
        ("--max-requests", "many", "--max-requests"),
    ] {
        let run = sim.fetch().types(TYPE).args([flag, value]).run();
        run.code(2).one_line_error(needle);
    }
    assert_eq!(sim.requests(), 0);
}

#[test]
fn a_name_that_does_not_resolve_fails_fast_naming_the_host() {
    // `.invalid` never resolves (RFC 2606).
    let run = Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", "https://gong-logs-test.invalid")
        .env("GONG_ACCESS_KEY", ACCESS_KEY)
        .env("GONG_ACCESS_KEY_SECRET", "sim-secret")
        .types(TYPE)
        .run();
    run.code(1).one_line_error("could not connect");
    assert!(run.stderr.contains("after 2 attempts"), "{}", run.stderr);
    assert!(
        run.stderr
            .contains("gong-logs-test.invalid is the right host"),
        "{}",
        run.stderr
    );
}

#[test]
fn empty_pages_with_fresh_cursors_stop_the_export() {
    let sim = hostile(Misbehave::EmptyPages);
    // One chain: three empty pages in a row, whatever totalRecords says.
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("a.jsonl");
    let run = fetch(&sim, &["-o", out.to_str().unwrap(), "--resume"]);
    run.code(1).one_line_error("looping");
    assert!(run.stderr.contains("--resume"), "{}", run.stderr);
    assert!(sim.requests() <= 4, "{} requests", sim.requests());
    check_resumable_jsonl(&out, "");
    // 8 chains at once: each stops after its own three.
    sim.reset();
    let run = fetch_chains(&sim, 8, &[]);
    run.code(1).one_line_error("looping");
    assert!(sim.requests() <= 4 * 8, "{} requests", sim.requests());
}

#[test]
fn an_event_time_without_offset_is_an_error_or_skipped() {
    let sim = hostile(Misbehave::TimelessEntry);
    for chains in [1, 8] {
        let run = fetch_chains(&sim, chains, &[]);
        run.code(1)
            .one_line_error("not an ISO-8601 time with an offset");
        // The value as sent: a slice's start without its offset.
        let value = run.stderr.split("eventTime (").nth(1).unwrap_or("");
        let value = value.split(')').next().unwrap();
        let time = value.trim_matches('"');
        assert!(
            value.starts_with('"') && time.parse::<jiff::civil::DateTime>().is_ok(),
            "names the value: {}",
            run.stderr
        );
        assert!(run.stderr.contains("--skip-out-of-range"), "{}", run.stderr);
        assert!(
            !run.stdout.contains("misbehave"),
            "written:\n{}",
            run.stdout
        );
        assert_nothing_twice(&sim, &run);
        let run = fetch_chains(&sim, chains, &["--skip-out-of-range"]);
        run.ok();
        assert_eq!(run.stdout, expected(&sim), "exactly the range, once");
        assert!(run.stderr.contains("skipped"), "{}", run.stderr);
    }
}

#[test]
fn a_page_without_log_entries_is_an_error() {
    let sim = hostile(Misbehave::NoLogEntries);
    let run = fetch(&sim, &[]);
    run.code(1).one_line_error("logEntries");
    assert!(run.stdout.is_empty());
    assert!(
        !run.stderr.contains("gong-logs: 0 entries"),
        "{}",
        run.stderr
    );
    assert_eq!(sim.requests(), 1, "not retried");
}

#[test]
fn a_page_size_that_disagrees_with_the_entries_is_an_error() {
    let sim = hostile(Misbehave::WrongPageSize);
    let run = fetch(&sim, &[]);
    run.code(1).one_line_error("currentPageSize");
    assert!(run.stdout.is_empty(), "nothing of the page written");
    assert_eq!(sim.requests(), 1, "not retried");
}

#[test]
fn an_entrys_own_log_type_never_replaces_the_label() {
    let sim = hostile(Misbehave::OwnLogType);
    let synthetic = gong_logs_sim::own_log_type_entry(ts(DATA_START));
    let relabelled = format!(
        "{{\"logType\":\"{TYPE}\",\"gongLogType\":\"UserCallPlay\",\"gongGongLogType\":\"x\",{}",
        &synthetic[synthetic.find("\"userId\"").unwrap()..]
    );
    // jsonl: the label first, the server's value moved, nothing else changed.
    let fetch_as = |format: &str, extra: &[&str]| {
        sim.fetch()
            .types(TYPE)
            .chains(1)
            .format(format)
            .args(extra)
            .run()
    };
    let run = fetch_as("jsonl", &[]);
    run.ok();
    assert_eq!(run.stdout, format!("{relabelled}\n{}", expected(&sim)));
    // json: the same objects in an array.
    let run = fetch_as("json", &[]);
    run.ok();
    let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(items[0].get(), relabelled);
    assert_eq!(items.len(), ENTRIES + 1);
    // csv: the label in its column, the server's values in `extra`.
    let run = fetch_as("csv", &[]);
    run.ok();
    let line = run.stdout.lines().nth(1).unwrap();
    assert!(line.starts_with(&format!("{TYPE},")), "{line}");
    assert!(
        line.contains(r#"{""gongLogType"":""UserCallPlay"",""gongGongLogType"":""x""}"#),
        "{line}"
    );
    let run = fetch_as("csv", &["--fields", "logType,gongLogType"]);
    run.ok();
    assert_eq!(
        run.stdout.lines().nth(1),
        Some(&*format!("{TYPE},UserCallPlay"))
    );
}
