//! The export engine over real HTTP against the simulator: exactly once,
//! in order, under concurrency, faults, cursor expiry and resume.

use std::time::Duration;

use futures::StreamExt as _;
use gong_logs_api::export::{ExportOptions, Exporter, Position};
use gong_logs_api::{ClientConfig, Credentials, GongClient, LogType, RetryPolicy};
use gong_logs_sim::{Dataset, Entry, SimConfig, Simulator};
use jiff::Timestamp;

fn sim_type(t: LogType) -> gong_logs_sim::LogType {
    t.to_string().parse().unwrap()
}

fn exporter(sim: &Simulator, options: ExportOptions) -> Exporter {
    let client = GongClient::new(ClientConfig::new(
        sim.base_url().parse().unwrap(),
        Credentials::basic("sim-access-key", "sim-secret"),
    ))
    .unwrap();
    Exporter::new(client, options)
}

fn fast() -> ExportOptions {
    ExportOptions {
        rate_limit: None,
        retry: RetryPolicy {
            max_retries: 10,
            base_delay: Duration::from_millis(1),
            max_delay: Duration::from_millis(20),
            ..RetryPolicy::default()
        },
        concurrency: 8,
        split_min_pages: 2,
        ..ExportOptions::default()
    }
}

/// Runs an export and returns every delivered entry's text, the positions
/// after each batch, and the error if it ended with one.
async fn collect(
    exporter: &Exporter,
    log_type: LogType,
    start: Position,
    to: Timestamp,
) -> (Vec<String>, Vec<Position>, Option<String>) {
    let mut rx = exporter.export(log_type, start, to);
    let mut entries = Vec::new();
    let mut positions = Vec::new();
    while let Some(item) = rx.next().await {
        match item {
            Ok(batch) => {
                entries.extend(batch.entries.iter().map(|e| e.json().to_owned()));
                positions.push(batch.position);
            }
            Err(e) => return (entries, positions, Some(e.to_string())),
        }
    }
    (entries, positions, None)
}

fn texts(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.json.clone()).collect()
}

fn start_of(t: Timestamp) -> Position {
    Position { time: t, count: 0 }
}

fn range() -> (Timestamp, Timestamp) {
    (
        "2024-01-01T00:00:00Z".parse().unwrap(),
        "2024-01-31T00:00:00Z".parse().unwrap(),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn exactly_once_in_order_under_concurrency_for_every_type() {
    let mut config = SimConfig::testing(7, 1_500);
    config.page_size = 25;
    config.faults.latency_ms = 5;
    let sim = Simulator::start(config).await.unwrap();
    let exporter = exporter(&sim, fast());
    let (from, to) = range();
    for log_type in gong_logs_api::LogTypeInfo::ALL.map(|i| i.log_type) {
        let (got, _, err) = collect(&exporter, log_type, start_of(from), to).await;
        assert_eq!(err, None);
        let want = texts(sim.dataset().entries_in(sim_type(log_type), from, Some(to)));
        assert_eq!(got.len(), want.len(), "{log_type}");
        assert!(
            got == want,
            "{log_type}: entries differ from the simulator's"
        );
    }
    let stats = sim.stats();
    assert!(
        stats.concurrency_peak > 1,
        "windows ran concurrently: {stats:?}"
    );
    assert_eq!(stats.retry_after_violations, 0);
}

/// Entries piled on window boundaries (whole seconds), identical duplicates,
/// and a sub-range export: every entry once, duplicates kept.
#[tokio::test]
async fn equal_timestamps_on_boundaries_and_identical_entries() {
    let base = 1_704_067_200i64; // 2024-01-01T00:00:00Z
    let mut entries = Vec::new();
    for sec in 0..40i64 {
        // 1 to 12 entries per whole second, several byte-identical.
        for k in 0..(1 + sec % 12) {
            let t = Timestamp::from_second(base + sec * 60).unwrap();
            let body = if k % 3 == 0 {
                "dup".to_owned()
            } else {
                format!("n{k}")
            };
            let json = format!(
                r#"{{"userId":"1","eventTime":"{}","logRecord":{{"action":"{body}"}}}}"#,
                t
            );
            entries.push((
                gong_logs_sim::LogType::UserActivityLog,
                Entry { json, time: t },
            ));
        }
    }
    let dataset = Dataset::from_entries(entries);
    let mut config = SimConfig::testing(1, 0);
    config.page_size = 7;
    let sim = Simulator::start_with_dataset(config, dataset)
        .await
        .unwrap();
    let mut options = fast();
    options.split_min_pages = 1;
    options.min_slice = Duration::ZERO;
    let exporter = exporter(&sim, options);
    let (from, to) = range();
    let (got, _, err) = collect(&exporter, LogType::UserActivityLog, start_of(from), to).await;
    assert_eq!(err, None);
    let want = texts(
        sim.dataset()
            .entries(gong_logs_sim::LogType::UserActivityLog),
    );
    assert_eq!(got, want);
    let dups = got.iter().filter(|j| j.contains("\"dup\"")).count();
    // ceil(n / 3) duplicates in a second holding n = 1 + sec % 12 entries.
    let expected: i64 = (0..40i64).map(|sec| (1 + sec % 12 + 2) / 3).sum();
    assert_eq!(dups as i64, expected, "identical entries stay distinct");
}

/// Cursors that expire at once: every page after the first is recovered by
/// re-querying from the last delivered instant.
#[tokio::test]
async fn expired_cursors_are_recovered_without_loss_or_repeat() {
    let mut config = SimConfig::testing(3, 400);
    config.page_size = 10;
    // Every cursor has expired when it comes back, however fast the client
    // (a 1 ms TTL relied on the client being slower than that: with its
    // burst of 199, the 200/s limit below does not space the requests).
    config.cursor_ttl = Duration::ZERO;
    let sim = Simulator::start(config).await.unwrap();
    let (from, to) = range();
    let slow = Exporter::new(
        GongClient::new(ClientConfig::new(
            sim.base_url().parse().unwrap(),
            Credentials::bearer("sim-bearer-token"),
        ))
        .unwrap(),
        ExportOptions {
            rate_limit: Some(200.0),
            concurrency: 3,
            ..fast()
        },
    );
    let (got, _, err) = collect(&slow, LogType::UserCallPlay, start_of(from), to).await;
    assert_eq!(err, None);
    let want = texts(sim.dataset().entries(gong_logs_sim::LogType::UserCallPlay));
    assert!(
        got == want,
        "got {} entries, want {}",
        got.len(),
        want.len()
    );
    assert!(slow.stats().snapshot().cursor_recoveries > 0);
}

/// Every distinct request fails once (500, 502 HTML, 503, dropped
/// connection, cut-off body, 429, stall in turn) before it succeeds.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_fault_kind_is_retried_to_an_exact_result() {
    let mut config = SimConfig::testing(11, 600);
    config.page_size = 20;
    config.faults.fail_each_request_once = true;
    config.faults.p_500 = 0.01;
    config.faults.p_502 = 0.01;
    config.faults.p_503 = 0.01;
    config.faults.p_drop = 0.01;
    config.faults.p_truncate = 0.01;
    config.faults.p_429 = 0.01;
    config.faults.p_stall = 0.01;
    // Retry-After 0: no second-long pauses here (waiting them out is what
    // `rate_limit_and_retry_after_are_respected` and the e2e matrix check).
    config.faults.retry_after_503 = 0;
    config.faults.retry_after_429 = 0;
    let sim = Simulator::start(config).await.unwrap();
    // Stalled requests end with the client's read timeout (the stall lasts
    // 30 s, so only a working timeout gets past it).
    let client = GongClient::new({
        let mut c = ClientConfig::new(
            sim.base_url().parse().unwrap(),
            Credentials::basic("sim-access-key", "sim-secret"),
        );
        c.read_timeout = Duration::from_millis(500);
        c
    })
    .unwrap();
    let exporter = Exporter::new(client, fast());
    let (from, to) = range();
    let (got, _, err) = collect(&exporter, LogType::AccessLog, start_of(from), to).await;
    assert_eq!(err, None);
    let want = texts(sim.dataset().entries(gong_logs_sim::LogType::AccessLog));
    assert!(
        got == want,
        "got {} entries, want {}",
        got.len(),
        want.len()
    );
    let stats = sim.stats();
    let f = &stats.faults;
    assert!(
        f.server_error > 0
            && f.bad_gateway > 0
            && f.service_unavailable > 0
            && f.dropped_connection > 0
            && f.truncated_body > 0
            && f.too_many_requests > 0
            && f.stalled > 0,
        "{f:?}"
    );
    assert_eq!(stats.retry_after_violations, 0, "{stats:?}");
    // Every failure was retried, but for at most one in flight per chain
    // stopped at a split boundary (its segment was complete: not retried).
    let retries = exporter.stats().snapshot().retries;
    let splits = exporter.stats().snapshot().splits;
    assert!(
        retries + splits >= f.total_failures(),
        "{retries} retries, {splits} splits, {} failures",
        f.total_failures()
    );
}

/// Resuming from any batch's position yields exactly the rest.
#[tokio::test]
async fn resume_from_any_position_yields_exactly_the_rest() {
    let mut config = SimConfig::testing(5, 300);
    config.page_size = 9;
    let sim = Simulator::start(config).await.unwrap();
    let exporter = exporter(&sim, fast());
    let (from, to) = range();
    let (all, positions, err) = collect(
        &exporter,
        LogType::ExternallySharedCallPlay,
        start_of(from),
        to,
    )
    .await;
    assert_eq!(err, None);
    let mut delivered = 0usize;
    let mut batch_ends = Vec::new();
    // Recompute the entry count after each batch by replaying positions.
    let mut rx = exporter.export(LogType::ExternallySharedCallPlay, start_of(from), to);
    while let Some(Ok(batch)) = rx.next().await {
        delivered += batch.entries.len();
        batch_ends.push((delivered, batch.position));
    }
    assert_eq!(batch_ends.len(), positions.len());
    for (done, position) in batch_ends.iter().step_by(3) {
        let (rest, _, err) =
            collect(&exporter, LogType::ExternallySharedCallPlay, *position, to).await;
        assert_eq!(err, None);
        assert_eq!(&all[*done..], &rest[..], "resume after {done} entries");
    }
}

/// A 429's Retry-After is waited out before the refused request is sent
/// again: every distinct request is refused once (a 429 decided like a
/// fault, so it comes however slow the client), with `Retry-After: 1`.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn rate_limit_and_retry_after_are_respected() {
    let mut config = SimConfig::testing(9, 60);
    // One page per request: the refusals of the first round overlap, so
    // the test waits about one second per page in a chain.
    config.page_size = 100;
    config.faults.fail_each_request_once = true;
    config.faults.p_429 = 0.01;
    config.faults.retry_after_429 = 1;
    let sim = Simulator::start(config).await.unwrap();
    let mut options = fast();
    options.rate_limit = Some(40.0);
    let exporter = exporter(&sim, options);
    let (from, to) = range();
    let (got, _, err) = collect(&exporter, LogType::UserActivityLog, start_of(from), to).await;
    assert_eq!(err, None);
    assert_eq!(got.len(), 60);
    let stats = sim.stats();
    assert!(stats.faults.too_many_requests > 0, "{stats:?}");
    assert_eq!(stats.retry_after_violations, 0, "{stats:?}");
    assert!(
        exporter.stats().snapshot().rate_limited >= stats.faults.too_many_requests,
        "every 429 was seen as one"
    );
}

#[tokio::test]
async fn retries_exhausted_is_an_error_after_the_delivered_entries() {
    let mut config = SimConfig::testing(2, 100);
    config.page_size = 10;
    config.faults.p_500 = 1.0;
    let sim = Simulator::start(config).await.unwrap();
    let mut options = fast();
    options.retry.max_retries = 2;
    options.concurrency = 1; // one chain: its requests are the whole count
    let exporter = exporter(&sim, options);
    let (from, to) = range();
    let (got, _, err) = collect(&exporter, LogType::AccessLog, start_of(from), to).await;
    assert!(got.is_empty());
    let err = err.expect("fails");
    assert!(err.contains("HTTP 500"), "{err}");
    assert_eq!(sim.stats().total_requests, 3, "one try and two retries");
}

#[tokio::test]
async fn empty_range_is_empty_not_an_error() {
    let sim = Simulator::start(SimConfig::testing(1, 10)).await.unwrap();
    let exporter = exporter(&sim, fast());
    let from: Timestamp = "2020-01-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2020-02-01T00:00:00Z".parse().unwrap();
    let (got, _, err) = collect(&exporter, LogType::AccessLog, start_of(from), to).await;
    assert_eq!((got.len(), err), (0, None));
    // One 404 per initial slice, and nothing more.
    let chains = exporter.stats().snapshot().chains;
    assert!(chains >= 1);
    assert_eq!(sim.stats().by_status.get(&404), Some(&chains));
    assert_eq!(sim.stats().total_requests, chains);
}

/// The `Stream` of entries: the simplest way to use the engine.
#[tokio::test]
async fn entries_stream_yields_every_entry_in_order() {
    use futures::StreamExt as _;
    let mut config = SimConfig::testing(4, 250);
    config.page_size = 30;
    let sim = Simulator::start(config).await.unwrap();
    let exporter = exporter(&sim, fast());
    let (from, to) = range();
    let got: Vec<String> = exporter
        .entries(LogType::UserCallPlay, from, to)
        .map(|e| e.unwrap().json().to_owned())
        .collect()
        .await;
    let want = texts(sim.dataset().entries(gong_logs_sim::LogType::UserCallPlay));
    assert!(
        got == want,
        "got {} entries, want {}",
        got.len(),
        want.len()
    );
}

/// Entries fetched ahead of the delivery beyond the memory cap go to the
/// temporary file and come back in order: with a 1-byte cap, everything
/// ahead of the head is spilled, and the result is still exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn entries_spilled_to_disk_come_back_exactly_once() {
    let mut config = SimConfig::testing(12, 900);
    config.page_size = 20;
    // Round trips of a network, not of a local CPU: chains ahead of the
    // delivery fetch on and spill rather than wait for memory.
    config.faults.latency_ms = 20;
    let sim = Simulator::start(config).await.unwrap();
    let mut options = fast();
    options.buffer_bytes = 1;
    options.split_min_pages = 1;
    let exporter = exporter(&sim, options);
    let (from, to) = range();
    let (got, _, err) = collect(&exporter, LogType::UserActivityLog, start_of(from), to).await;
    assert_eq!(err, None);
    let want = texts(
        sim.dataset()
            .entries(gong_logs_sim::LogType::UserActivityLog),
    );
    assert!(
        got == want,
        "got {} entries, want {}",
        got.len(),
        want.len()
    );
    let stats = exporter.stats();
    assert!(stats.snapshot().spilled_bytes > 0, "nothing was spilled");
    assert!(stats.snapshot().chains > 1);
}

/// Several types at once: fetched concurrently, delivered one type after
/// the other, each followed by its `TypeDone`, each exact.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn several_types_are_delivered_in_order_each_exactly_once() {
    use gong_logs_api::export::Event;
    let mut config = SimConfig::testing(13, 300);
    config.page_size = 25;
    config.faults.latency_ms = 3;
    let sim = Simulator::start(config).await.unwrap();
    let exporter = exporter(&sim, fast());
    let (from, to) = range();
    let types = [
        LogType::UserCallPlay,
        LogType::AccessLog,
        LogType::ExternallySharedCallAccess,
    ];
    // The second type resumes in the middle: its start position counts.
    let access = sim.dataset().entries(gong_logs_sim::LogType::AccessLog);
    let resume = Position {
        time: access[100].time,
        count: access[..=100]
            .iter()
            .filter(|e| e.time == access[100].time)
            .count() as u64,
    };
    let starts = vec![
        (types[0], start_of(from)),
        (types[1], resume),
        (types[2], start_of(from)),
    ];
    let mut rx = exporter.export_types(starts, to);
    let mut got: Vec<(LogType, Vec<String>)> = Vec::new();
    let mut open: Option<(LogType, Vec<String>)> = None;
    while let Some(event) = rx.next().await {
        match event.expect("no error") {
            Event::Batch(batch) => {
                let current = open.get_or_insert_with(|| (batch.log_type, Vec::new()));
                assert_eq!(current.0, batch.log_type, "types interleaved");
                current
                    .1
                    .extend(batch.entries.iter().map(|e| e.json().to_owned()));
            }
            Event::TypeDone(t) => {
                let done = open.take().unwrap_or((t, Vec::new()));
                assert_eq!(done.0, t);
                got.push(done);
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(got.iter().map(|(t, _)| *t).collect::<Vec<_>>(), types);
    for (t, entries) in &got {
        let all = texts(sim.dataset().entries(sim_type(*t)));
        let want = if *t == LogType::AccessLog {
            all[101..].to_vec()
        } else {
            all
        };
        assert!(
            *entries == want,
            "{t}: got {}, want {}",
            entries.len(),
            want.len()
        );
    }
}

/// `follow`: a first round up to the given end, then polls up to now; every
/// entry exactly once, in order, a `CaughtUp` after each round, and rounds
/// that find nothing new deliver nothing.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follow_catches_up_then_polls_without_repeating() {
    use gong_logs_api::export::{Event, FollowOptions};
    let mut config = SimConfig::testing(11, 300);
    config.page_size = 20;
    let sim = Simulator::start(config).await.unwrap();
    let exporter = exporter(&sim, fast());
    let (from, _) = range();
    let first_to: Timestamp = "2024-01-15T00:00:00Z".parse().unwrap();
    let types = vec![
        (LogType::UserActivityLog, start_of(from)),
        (LogType::AccessLog, start_of(from)),
    ];
    let mut events = exporter.follow(
        types,
        first_to,
        FollowOptions::new(Duration::from_millis(5), Duration::from_secs(1)),
    );
    let mut got: Vec<(LogType, String)> = Vec::new();
    let mut rounds: Vec<(Timestamp, usize)> = Vec::new();
    let mut in_round = 0usize;
    // Three rounds: up to `first_to`, up to now, and one with nothing new.
    let wait = tokio::time::timeout(Duration::from_secs(120), async {
        while rounds.len() < 3 {
            match events.next().await.expect("follow never ends by itself") {
                Ok(Event::Batch(batch)) => {
                    in_round += batch.entries.len();
                    got.extend(
                        batch
                            .entries
                            .iter()
                            .map(|e| (batch.log_type, e.json().to_owned())),
                    );
                }
                Ok(Event::CaughtUp { to }) => {
                    rounds.push((to, in_round));
                    in_round = 0;
                }
                Ok(_) => {}
                Err(e) => panic!("follow failed: {e}"),
            }
        }
    });
    wait.await.expect("three follow rounds");
    drop(events);
    assert_eq!(rounds[0].0, first_to);
    assert!(rounds[1].0 > first_to && rounds[2].0 >= rounds[1].0);
    assert_eq!(rounds[2].1, 0, "a round with nothing new delivers nothing");
    for t in [LogType::UserActivityLog, LogType::AccessLog] {
        let mine: Vec<String> = got
            .iter()
            .filter(|(lt, _)| *lt == t)
            .map(|(_, j)| j.clone())
            .collect();
        assert_eq!(mine, texts(sim.dataset().entries(sim_type(t))), "{t}");
    }
    let before_first_to = sim
        .dataset()
        .entries(gong_logs_sim::LogType::UserActivityLog)
        .iter()
        .chain(sim.dataset().entries(gong_logs_sim::LogType::AccessLog))
        .filter(|e| e.time < first_to)
        .count();
    assert_eq!(
        rounds[0].1, before_first_to,
        "the first round stops at first_to"
    );
    assert!(rounds[1].1 > 0, "the second round brings the rest");
}

/// `first_requests`: the engine's first round, one request per initial
/// slice, covering each type's range with no gap, none for a type already
/// past the end.
#[test]
fn first_requests_are_the_engines_first_round() {
    let client = GongClient::new(ClientConfig::new(
        "https://api.gong.io".parse().unwrap(),
        Credentials::bearer("t"),
    ))
    .unwrap();
    let exporter = Exporter::new(
        client,
        ExportOptions {
            rate_limit: Some(3.0),
            concurrency: 8,
            ..ExportOptions::default()
        },
    );
    let (from, to) = range();
    let one = exporter.first_requests(&[(LogType::AccessLog, start_of(from))], to);
    // Three chains wanted at 3 requests/s before any answer: three slices.
    assert_eq!(one.len(), 3, "{one:?}");
    assert_eq!(one[0].from, from.to_string());
    assert_eq!(one[2].to.as_deref(), Some(to.to_string().as_str()));
    for pair in one.windows(2) {
        assert_eq!(pair[0].to.as_deref(), Some(pair[1].from.as_str()));
    }
    assert!(
        one.iter()
            .all(|r| r.cursor.is_none() && r.log_type == LogType::AccessLog)
    );
    let two = exporter.first_requests(
        &[
            (LogType::AccessLog, start_of(from)),
            (LogType::UserCallPlay, start_of(from)),
            (LogType::UserActivityLog, start_of(to)),
        ],
        to,
    );
    let types: Vec<LogType> = two.iter().map(|r| r.log_type).collect();
    assert_eq!(
        types,
        [
            LogType::AccessLog,
            LogType::AccessLog,
            LogType::UserCallPlay
        ]
    );
    // A short range (a follow poll) stays one request per type.
    let short = exporter.first_requests(
        &[(LogType::AccessLog, start_of(from))],
        from + Duration::from_secs(60),
    );
    assert_eq!(short.len(), 1);
}

/// Equal-time slices rarely hold equal counts. Three slices of 4, 3 and 3
/// pages at 3 requests/s and a 1 s round trip: the first would set the
/// finish a round trip after the others, so once every count is known it
/// gives its last page to a fourth chain, at no extra request (the boundary
/// lands where its own third page ends).
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slice_with_a_page_more_gives_it_to_a_new_chain() {
    let (from, to) = range();
    let slice = (to.as_second() - from.as_second()) / 3;
    let mut entries = Vec::new();
    for (i, n) in [35i64, 30, 30].into_iter().enumerate() {
        let start = from.as_second() + i as i64 * slice;
        for k in 0..n {
            let t = Timestamp::from_second(start + (2 * k + 1) * slice / (2 * n)).unwrap();
            let json =
                format!(r#"{{"userId":"{i}","eventTime":"{t}","logRecord":{{"action":"a{k}"}}}}"#);
            entries.push((
                gong_logs_sim::LogType::UserActivityLog,
                Entry { json, time: t },
            ));
        }
    }
    let mut config = SimConfig::testing(1, 0);
    config.page_size = 10;
    config.faults.latency_ms = 1_000;
    let sim = Simulator::start_with_dataset(config, Dataset::from_entries(entries))
        .await
        .unwrap();
    let mut options = fast();
    options.rate_limit = Some(3.0);
    let exporter = exporter(&sim, options);
    let (got, _, err) = collect(&exporter, LogType::UserActivityLog, start_of(from), to).await;
    assert_eq!(err, None);
    let want = texts(
        sim.dataset()
            .entries(gong_logs_sim::LogType::UserActivityLog),
    );
    assert!(got == want, "every entry once, in order");
    assert_eq!(exporter.stats().snapshot().splits, 1);
    assert_eq!(sim.stats().total_requests, 10, "ceil(95 / 10): the minimum");
}
