//! The fault matrix: every fault the network and Gong can throw, alone and
//! mixed, for every log type. The result is always every entry exactly
//! once, in order, byte for byte the simulator's data set; no request ever
//! leaves before a `Retry-After` has passed; and when the retry budget runs
//! out, the export stops with a message saying what failed and how to
//! resume, its file and checkpoint consistent, and the resumed run loses
//! nothing.
//!
//! Two layers:
//! - the engine (`gong_logs_api::export::Exporter`) with millisecond
//!   back-off and a short read timeout, all five types exported at once
//!   under one throttle, for every fault kind: the big matrix;
//! - the real binary (`gong-logs fetch`) against the simulator, with the
//!   CLI's own retry policy: a representative subset, run side by side.
//!
//! Figures: `cargo test -p gong-logs-cli --test e2e faults:: -- --nocapture`.

use std::time::{Duration, Instant};

use futures::StreamExt as _;
use gong_logs_api::export::{ExportOptions, Exporter, Position};
use gong_logs_api::{ClientConfig, Credentials, GongClient, LogType, LogTypeInfo, RetryPolicy};
use gong_logs_e2e::*;

// ---------------------------------------------------------------------------
// The engine's matrix

/// One row of the matrix.
#[derive(Clone, Debug)]
struct Scenario {
    name: &'static str,
    sim: SimConfig,
    /// Client rate limit (requests/s), `None`: unlimited.
    client_rate: Option<f64>,
    read_timeout: Duration,
    max_retries: u32,
}

fn engine_sim(seed: u64, entries: usize) -> SimConfig {
    let mut config = SimConfig::testing(seed, entries);
    config.page_size = 10;
    config
}

/// `config` with every distinct request failing once with the fault of `set`.
fn fail_once(mut config: SimConfig, set: fn(&mut FaultConfig)) -> SimConfig {
    config.faults.fail_each_request_once = true;
    set(&mut config.faults);
    config
}

fn scenarios() -> Vec<Scenario> {
    let base = |name, sim| Scenario {
        name,
        sim,
        client_rate: None,
        read_timeout: Duration::from_secs(10),
        max_retries: 10,
    };
    vec![
        base(
            "500 JSON body (each request fails once)",
            fail_once(engine_sim(101, 150), |f| f.p_500 = 0.01),
        ),
        base(
            "502 HTML body (each request fails once)",
            fail_once(engine_sim(102, 150), |f| f.p_502 = 0.01),
        ),
        base(
            "503 + Retry-After 1s (each request fails once)",
            fail_once(engine_sim(103, 20), |f| {
                f.p_503 = 0.01;
                f.retry_after_503 = 1;
            }),
        ),
        base(
            "dropped connection (each request fails once)",
            fail_once(engine_sim(104, 150), |f| f.p_drop = 0.01),
        ),
        base(
            "cut-off body (each request fails once)",
            fail_once(engine_sim(105, 150), |f| f.p_truncate = 0.01),
        ),
        Scenario {
            // Each request is held without an answer (for 30 s, far beyond
            // the client's read timeout): only the timeout gets past it, so
            // the outcome does not depend on how fast the machine is. (A
            // normal answer slower than 300 ms on a loaded machine is one
            // more retry, nothing else: this row has no Retry-After.)
            sim: fail_once(engine_sim(106, 40), |f| f.p_stall = 0.01),
            read_timeout: Duration::from_millis(300),
            max_retries: 30,
            ..base(
                "stalled responses: no answer until the read timeout (each request once)",
                SimConfig::default(),
            )
        },
        base(
            "429 + Retry-After 1s (each request fails once)",
            fail_once(engine_sim(107, 20), |f| {
                f.p_429 = 0.01;
                f.retry_after_429 = 1;
            }),
        ),
        Scenario {
            // The rate limiter's own 429s: the server allows 40/s (burst 8),
            // the client tries 400/s. How many 429s come depends on speed,
            // so only the result and the Retry-After are asserted here (the
            // row above is the deterministic 429).
            sim: {
                let mut c = engine_sim(108, 40);
                c.rate_limit = 40.0;
                c.burst = 8;
                c
            },
            client_rate: Some(400.0),
            max_retries: 20,
            ..base(
                "429 storm from the rate limiter (server 40/s, client 400/s)",
                SimConfig::default(),
            )
        },
        base(
            "mixed: 500, 502, 503, drop, cut-off, 429 in turn (each request fails once)",
            fail_once(engine_sim(109, 30), |f| {
                f.p_500 = 0.01;
                f.p_502 = 0.01;
                f.p_503 = 0.01;
                f.p_drop = 0.01;
                f.p_truncate = 0.01;
                f.p_429 = 0.01;
            }),
        ),
        Scenario {
            // Every kind that a short read timeout leaves alone. No 503 or
            // 429 here: an answer that came after the client's timeout had
            // fired would be a Retry-After the client never read, and its
            // retry would count as a violation.
            sim: {
                let mut c = fail_once(engine_sim(110, 60), |f| {
                    f.p_500 = 0.01;
                    f.p_502 = 0.01;
                    f.p_drop = 0.01;
                    f.p_truncate = 0.01;
                    f.p_stall = 0.01;
                });
                c.faults.jitter_ms = 20;
                c
            },
            read_timeout: Duration::from_millis(300),
            max_retries: 30,
            ..base(
                "at once: 500, 502, drop, cut-off, stall in turn + 0-20 ms latency (each once)",
                SimConfig::default(),
            )
        },
    ]
}

/// What one scenario did.
#[derive(Debug)]
struct Outcome {
    name: &'static str,
    stats: Stats,
    retries: u64,
    /// Segments split: a chain stopped at a split boundary may abandon the
    /// request it had in flight (its segment was complete), unretried.
    splits: u64,
    entries: u64,
    elapsed: Duration,
}

fn all_types() -> Vec<LogType> {
    LogTypeInfo::ALL.iter().map(|i| i.log_type).collect()
}

fn sim_type(t: LogType) -> SimType {
    t.to_string().parse().expect("same names")
}

/// Exports every type at once through one exporter (one process: one
/// throttle, one Retry-After pause) and compares each type's entries with
/// the simulator's, exactly and in order.
async fn run_scenario(scenario: Scenario) -> Outcome {
    let started = Instant::now();
    let sim = Simulator::start(scenario.sim.clone())
        .await
        .expect("sim starts");
    let mut config = ClientConfig::new(
        sim.base_url().parse().unwrap(),
        Credentials::basic(ACCESS_KEY, "sim-secret"),
    );
    config.read_timeout = scenario.read_timeout;
    let exporter = Exporter::new(
        GongClient::new(config).expect("client"),
        ExportOptions {
            rate_limit: scenario.client_rate,
            retry: RetryPolicy {
                max_retries: scenario.max_retries,
                base_delay: Duration::from_millis(2),
                max_delay: Duration::from_millis(40),
                ..RetryPolicy::default()
            },
            concurrency: 4,
            split_min_pages: 2,
            ..ExportOptions::default()
        },
    );
    let (from, to) = (ts(DATA_START), ts(DATA_END));
    let name = scenario.name;
    let exports = all_types().into_iter().map(|log_type| {
        let mut rx = exporter.export(
            log_type,
            Position {
                time: from,
                count: 0,
            },
            to,
        );
        async move {
            let mut got: Vec<String> = Vec::new();
            while let Some(item) = rx.next().await {
                match item {
                    Ok(batch) => got.extend(batch.entries.iter().map(|e| e.json().to_owned())),
                    Err(e) => panic!("{name}: {log_type}: export failed: {e}"),
                }
            }
            (log_type, got)
        }
    });
    let mut entries = 0u64;
    for (log_type, got) in futures_join_all(exports).await {
        let want: Vec<&str> = sim
            .dataset()
            .entries_in(sim_type(log_type), from, Some(to))
            .iter()
            .map(|e| e.json.as_str())
            .collect();
        assert!(!want.is_empty());
        if got != want {
            let first = (0..got.len().max(want.len()))
                .find(|i| got.get(*i).map(String::as_str) != want.get(*i).copied());
            panic!(
                "{}: {log_type}: got {} entries, want {}; first difference at {first:?}",
                scenario.name,
                got.len(),
                want.len()
            );
        }
        entries += got.len() as u64;
    }
    let stats = sim.stats();
    let retries = exporter.stats().snapshot().retries;
    let splits = exporter.stats().snapshot().splits;
    sim.shutdown().await;
    Outcome {
        name: scenario.name,
        stats,
        retries,
        splits,
        entries,
        elapsed: started.elapsed(),
    }
}

/// `join_all` without the futures crate: every future on its own task.
async fn futures_join_all<F, T>(futures: impl IntoIterator<Item = F>) -> Vec<T>
where
    F: std::future::Future<Output = T> + Send + 'static,
    T: Send + 'static,
{
    let handles: Vec<_> = futures.into_iter().map(tokio::spawn).collect();
    let mut out = Vec::new();
    for h in handles {
        match h.await {
            Ok(v) => out.push(v),
            Err(e) => std::panic::resume_unwind(e.into_panic()),
        }
    }
    out
}

#[test]
fn engine_fault_matrix_every_kind_every_type_exactly_once() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let outcomes = runtime.block_on(futures_join_all(scenarios().into_iter().map(run_scenario)));
    eprintln!("engine fault matrix (5 log types exported at once per row):");
    eprintln!(
        "  {:<68} {:>8} {:>7} {:>6} {:>7} {:>8} {:>6}",
        "scenario", "requests", "faults", "429s", "retries", "entries", "secs"
    );
    let mut totals = (0u64, 0u64, 0u64, 0u64, 0u64);
    for o in &outcomes {
        let s = &o.stats;
        eprintln!(
            "  {:<68} {:>8} {:>7} {:>6} {:>7} {:>8} {:>6.1}",
            o.name,
            s.total_requests,
            s.faults.total_failures(),
            s.rate_limited,
            o.retries,
            o.entries,
            o.elapsed.as_secs_f64()
        );
        assert_eq!(s.retry_after_violations, 0, "{}: {s:?}", o.name);
        // Every failure the server injected was retried (timeouts are
        // failures the client sees on its own), but for at most one request
        // in flight per chain stopped at a split boundary.
        assert!(
            o.retries + o.splits >= s.faults.total_failures() + s.rate_limited,
            "{}: {} retries for {s:?}",
            o.name,
            o.retries
        );
        totals.0 += s.total_requests;
        totals.1 += s.faults.total_failures();
        totals.2 += s.rate_limited;
        totals.3 += o.retries;
        totals.4 += o.entries;
    }
    eprintln!(
        "  {:<68} {:>8} {:>7} {:>6} {:>7} {:>8}",
        "total", totals.0, totals.1, totals.2, totals.3, totals.4
    );
    let by_name = |needle: &str| {
        outcomes
            .iter()
            .find(|o| o.name.starts_with(needle))
            .expect("scenario")
    };
    // Each row really injected its fault (counts, not timing: every
    // fail-once row hits every distinct request).
    let f = |n: &str| by_name(n).stats.faults.clone();
    assert!(f("500").server_error > 0);
    assert!(f("502").bad_gateway > 0);
    assert!(f("503").service_unavailable > 0);
    assert!(f("dropped").dropped_connection > 0);
    assert!(f("cut-off").truncated_body > 0);
    assert!(f("stalled").stalled > 0);
    assert!(f("429 +").too_many_requests > 0);
    let mixed = f("mixed");
    assert!(
        mixed.server_error > 0
            && mixed.bad_gateway > 0
            && mixed.service_unavailable > 0
            && mixed.dropped_connection > 0
            && mixed.truncated_body > 0
            && mixed.too_many_requests > 0,
        "{mixed:?}"
    );
    let at_once = f("at once");
    assert!(
        at_once.server_error > 0
            && at_once.bad_gateway > 0
            && at_once.dropped_connection > 0
            && at_once.truncated_body > 0
            && at_once.stalled > 0,
        "{at_once:?}"
    );
}

// ---------------------------------------------------------------------------
// The binary: a representative subset, with the CLI's own retry policy

const ALL: &str = "all";

/// The binary's export of `types` over the data set, four chains.
fn cli_fetch(sim: &TestSim, types: &str) -> Fetch {
    let mut fetch = sim.fetch();
    fetch.types(types).chains(4);
    fetch
}

fn cli_sim(seed: u64, entries: usize) -> SimConfig {
    let mut config = SimConfig::testing(seed, entries);
    config.page_size = 8;
    config
}

/// Runs `gong-logs fetch -t TYPES` against a simulator with `config`;
/// asserts exit 0, stdout exactly the data set, no Retry-After broken.
fn cli_row(
    name: &'static str,
    config: SimConfig,
    types: &'static str,
) -> (String, Stats, u64, Duration) {
    let started = Instant::now();
    let sim = TestSim::start(config);
    let run = cli_fetch(&sim, types).run();
    run.ok();
    let names: Vec<&str> = if types == ALL {
        ALL_TYPES.to_vec()
    } else {
        types.split(',').collect()
    };
    let expected = sim.expected_jsonl(&names, DATA_START, DATA_END);
    assert!(
        run.stdout == expected,
        "{name}: stdout differs from the data set ({} vs {} lines)",
        run.stdout.lines().count(),
        expected.lines().count()
    );
    let stats = sim.stats();
    assert_eq!(stats.retry_after_violations, 0, "{name}: {stats:?}");
    (
        name.to_owned(),
        stats,
        expected.lines().count() as u64,
        started.elapsed(),
    )
}

#[test]
fn cli_survives_each_fault_kind_and_the_mix() {
    let rows: Vec<(&'static str, SimConfig, &'static str)> = vec![
        (
            "500 JSON (each request once)",
            fail_once(cli_sim(201, 16), |f| f.p_500 = 0.01),
            ALL,
        ),
        (
            "502 HTML (each request once)",
            fail_once(cli_sim(202, 16), |f| f.p_502 = 0.01),
            ALL,
        ),
        (
            "503 + Retry-After 1s (each request once)",
            fail_once(cli_sim(203, 8), |f| f.p_503 = 0.01),
            "AccessLog,UserActivityLog,ExternallySharedCallPlay",
        ),
        (
            "dropped connection (each request once)",
            fail_once(cli_sim(204, 16), |f| f.p_drop = 0.01),
            ALL,
        ),
        (
            "cut-off body (each request once)",
            fail_once(cli_sim(205, 16), |f| f.p_truncate = 0.01),
            ALL,
        ),
        (
            "429 + Retry-After 1s (each request once)",
            fail_once(cli_sim(206, 12), |f| f.p_429 = 0.01),
            "UserCallPlay,ExternallySharedCallAccess",
        ),
        (
            "mixed: six kinds at 4% each (24%)",
            {
                let mut c = cli_sim(207, 32);
                c.faults.p_500 = 0.04;
                c.faults.p_502 = 0.04;
                c.faults.p_503 = 0.04;
                c.faults.p_drop = 0.04;
                c.faults.p_truncate = 0.04;
                c.faults.p_429 = 0.04;
                c
            },
            ALL,
        ),
    ];
    // Side by side: the runs mostly wait out back-off delays.
    let handles: Vec<_> = rows
        .into_iter()
        .map(|(name, config, types)| std::thread::spawn(move || cli_row(name, config, types)))
        .collect();
    let results: Vec<(String, Stats, u64, Duration)> = handles
        .into_iter()
        .map(|h| h.join().unwrap_or_else(|e| std::panic::resume_unwind(e)))
        .collect();
    eprintln!("CLI fault matrix (gong-logs fetch, default back-off, jsonl to stdout):");
    let mut totals = (0u64, 0u64, 0u64, 0u64);
    for (name, s, entries, elapsed) in &results {
        eprintln!(
            "  {name:<50} requests {:>4}  faults {:>3}  429s {:>3}  entries {:>4}  {:>4.1}s",
            s.total_requests,
            s.faults.total_failures(),
            s.rate_limited,
            entries,
            elapsed.as_secs_f64()
        );
        totals.0 += s.total_requests;
        totals.1 += s.faults.total_failures();
        totals.2 += s.rate_limited;
        totals.3 += entries;
        assert!(
            s.faults.total_failures() + s.rate_limited > 0,
            "{name}: no fault was injected"
        );
    }
    eprintln!(
        "  {:<50} requests {:>4}  faults {:>3}  429s {:>3}  entries {:>4}",
        "total", totals.0, totals.1, totals.2, totals.3
    );
}

// ---------------------------------------------------------------------------
// Retry budget exhausted: stop, say what and how to resume, lose nothing

/// A faulty simulator, `--max-retries 0`, `--resume -o FILE`: every run
/// that fails must exit non-zero with a message naming the failure and
/// `--resume`, and leave a consistent file and checkpoint; rerunning the
/// same command until it succeeds gives exactly the data set.
fn exhaust_and_resume(name: &str, config: SimConfig, code: i32, says: &str) -> (usize, u64, u64) {
    // The 503 and 429 rows send `Retry-After: 0`: a new process cannot know
    // what its predecessor was told (nor can the simulator tell whether a
    // refusal was read before the process ended), so a longer one would
    // have to be waited out, in seconds and against the clock.
    let sim = TestSim::start(config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let types = ["AccessLog", "UserCallPlay"];
    let expected = sim.expected_jsonl(&types, DATA_START, DATA_END);
    let mut failed = 0usize;
    let mut last_declared = 0u64;
    loop {
        let run = cli_fetch(&sim, "AccessLog,UserCallPlay")
            .args(["--max-retries", "0", "--resume"])
            .output(&out)
            .run();
        if run.code == Some(0) {
            break;
        }
        failed += 1;
        assert!(failed < 200, "{name}: no progress after {failed} runs");
        run.code(code)
            .one_line_error(says)
            .one_line_error("rerun the same command with --resume");
        let state = check_resumable_jsonl(&out, &expected);
        assert!(
            state.checkpoint,
            "{name}: a failed run keeps its checkpoint"
        );
        assert!(
            state.entries >= last_declared,
            "{name}: the checkpoint went backwards"
        );
        last_declared = state.entries;
        assert!(!out.exists(), "{name}: no finished file before the end");
    }
    assert!(
        std::fs::read_to_string(&out).unwrap() == expected,
        "{name}: resumed export differs from the data set"
    );
    assert_eq!(dir_listing(dir.path()), ["audit.jsonl"]);
    let stats = sim.stats();
    assert_eq!(stats.retry_after_violations, 0, "{name}: {stats:?}");
    (
        failed,
        stats.faults.total_failures() + stats.rate_limited,
        expected.lines().count() as u64,
    )
}

#[test]
fn retry_budget_exhausted_stops_cleanly_and_resumes_without_loss() {
    let with = |seed: u64, set: fn(&mut SimConfig)| {
        let mut c = cli_sim(seed, 40);
        set(&mut c);
        c
    };
    let rows: Vec<(&'static str, SimConfig, i32, &'static str)> = vec![
        ("500", with(301, |c| c.faults.p_500 = 0.3), 1, "HTTP 500"),
        ("502", with(302, |c| c.faults.p_502 = 0.3), 1, "HTTP 502"),
        (
            "503",
            with(303, |c| {
                c.faults.p_503 = 0.3;
                c.faults.retry_after_503 = 0;
            }),
            1,
            "HTTP 503, Retry-After 0s",
        ),
        (
            "dropped connection",
            with(304, |c| c.faults.p_drop = 0.3),
            1,
            "connection to Gong failed",
        ),
        (
            "cut-off body",
            with(305, |c| c.faults.p_truncate = 0.3),
            1,
            "response could not be read",
        ),
        (
            // Injected, not the rate limiter's: they come however slow the
            // machine is.
            "429",
            with(306, |c| {
                c.faults.p_429 = 0.3;
                c.faults.retry_after_429 = 0;
            }),
            5,
            "HTTP 429",
        ),
    ];
    let handles: Vec<_> = rows
        .into_iter()
        .map(|(name, config, code, says)| {
            std::thread::spawn(move || (name, exhaust_and_resume(name, config, code, says)))
        })
        .collect();
    eprintln!("retry budget exhausted (--max-retries 0), resumed until complete:");
    let (mut runs, mut faults, mut entries) = (0, 0, 0);
    for h in handles {
        let (name, (failed, injected, n)) =
            h.join().unwrap_or_else(|e| std::panic::resume_unwind(e));
        eprintln!(
            "  {name:<20} failed runs {failed:>3}  faults {injected:>3}  entries compared {n}"
        );
        assert!(failed > 0, "{name}: the budget never ran out");
        runs += failed;
        faults += injected;
        entries += n;
    }
    eprintln!("  total: {runs} failed runs resumed, {faults} faults, {entries} entries compared");
}
