//! What users pay in requests (Gong: 3/s and 10,000/day): the engine's few
//! long chains, the summary's request count, the daily-quota warning.

use gong_logs_e2e::*;

/// `--type all` over 5 types × 6 pages with the rate limit and round trip
/// of a real run (rate × RTT ≈ 3): every entry once, in type order, and
/// hardly a request more than one cursor chain per type would send.
#[test]
fn type_all_costs_about_one_chain_per_type() {
    let mut config = SimConfig::testing(31, 600);
    config.faults.latency_ms = 60;
    config.rate_limit = 0.0;
    let sim = TestSim::start(config);
    let run = sim.fetch().types("all").rate("50").run();
    run.ok();
    assert_eq!(
        run.stdout,
        sim.expected_jsonl(&ALL_TYPES, DATA_START, DATA_END)
    );
    let minimum: u64 = ALL_TYPES
        .iter()
        .map(|t| (sim.entries(t, DATA_START, DATA_END).len() as u64).div_ceil(100))
        .sum();
    let sent = sim.requests();
    // One chain per type is the minimum; the plan may split a type's last
    // stretch to keep 3 requests in flight: at most a few partial pages.
    assert!(
        sent >= minimum && sent <= minimum + 5,
        "{sent} requests for a minimum of {minimum}"
    );
    assert!(
        run.stderr.contains(&format!("{sent} requests")),
        "the summary counts requests: {}",
        run.stderr
    );
}

/// An export whose first pages say it needs more than a day of Gong's
/// quota warns once, with the estimate, before going on.
#[test]
fn more_than_a_day_of_quota_warns_once() {
    let mut config = SimConfig::testing(32, 10_050);
    config.page_size = 1; // 10,050 pages
    config.log_types = vec![SimType::UserCallPlay];
    let sim = TestSim::start(config);
    let run = sim
        .fetch()
        .types("UserCallPlay")
        .args(["--limit", "300"])
        .run();
    run.ok();
    assert_eq!(run.stdout.lines().count(), 300);
    let warnings: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("days of Gong's quota"))
        .collect();
    assert_eq!(warnings.len(), 1, "{}", run.stderr);
    assert!(
        warnings[0].contains("about 10050 requests"),
        "{}",
        warnings[0]
    );
    assert!(warnings[0].contains("1.0 days"), "{}", warnings[0]);

    // A small export says nothing of the kind.
    let run = sim
        .fetch()
        .types("UserCallPlay")
        .range(DATA_START, "2024-01-02T00:00:00Z")
        .run();
    run.ok();
    assert!(!run.stderr.contains("quota"), "{}", run.stderr);
}
