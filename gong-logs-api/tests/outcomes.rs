//! The requests of an export counted by outcome (`requests_by_code`), and
//! how the last one ended (`last_request`, `last_success`), against the
//! simulator's own counts: what `gong-logs fetch --metrics-listen` shows.

use std::time::Duration;

use futures::StreamExt as _;
use gong_logs_api::export::{ExportOptions, Exporter, Position};
use gong_logs_api::{ClientConfig, Credentials, GongClient, LogType, RetryPolicy};
use gong_logs_sim::{SimConfig, Simulator};
use jiff::Timestamp;

fn exporter(sim: &Simulator, max_retries: u32) -> Exporter {
    let client = GongClient::new(ClientConfig::new(
        sim.base_url().parse().unwrap(),
        Credentials::basic("sim-access-key", "sim-secret"),
    ))
    .unwrap();
    Exporter::new(
        client,
        ExportOptions {
            rate_limit: None,
            retry: RetryPolicy {
                max_retries,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(5),
                ..RetryPolicy::default()
            },
            // One chain: no request is left in flight at a split.
            concurrency: 1,
            ..ExportOptions::default()
        },
    )
}

async fn run(exporter: &Exporter) -> Option<String> {
    let from: Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    let to: Timestamp = "2024-01-31T00:00:00Z".parse().unwrap();
    let mut stream = exporter.export(
        LogType::AccessLog,
        Position {
            time: from,
            count: 0,
        },
        to,
    );
    while let Some(item) = stream.next().await {
        if let Err(e) = item {
            return Some(e.to_string());
        }
    }
    None
}

#[tokio::test]
async fn requests_are_counted_by_status_and_transport_failures_as_error() {
    let mut config = SimConfig::testing(71, 200);
    config.page_size = 20;
    config.faults.fail_each_request_once = true;
    config.faults.p_500 = 0.01;
    config.faults.p_429 = 0.01;
    config.faults.p_drop = 0.01;
    config.faults.retry_after_429 = 0;
    let sim = Simulator::start(config).await.unwrap();
    let exporter = exporter(&sim, 10);
    assert_eq!(run(&exporter).await, None);
    let snapshot = exporter.stats().snapshot();
    let stats = sim.stats();
    let mut expected: std::collections::BTreeMap<String, u64> = stats
        .by_status
        .iter()
        .map(|(code, n)| (code.to_string(), *n))
        .collect();
    expected.insert("error".into(), stats.faults.dropped_connection);
    assert!(stats.faults.dropped_connection > 0 && stats.faults.server_error > 0);
    assert_eq!(snapshot.requests_by_code, expected);
    assert_eq!(
        snapshot.requests_by_code.values().sum::<u64>(),
        snapshot.requests
    );
    assert_eq!(snapshot.requests, stats.total_requests);
    let last = snapshot.last_request.expect("a last request");
    assert_eq!(last.error, None);
    assert_eq!(snapshot.last_success, Some(last.at));
}

#[tokio::test]
async fn a_request_that_keeps_failing_is_the_last_one_with_its_error() {
    let mut config = SimConfig::testing(72, 20);
    config.faults.p_500 = 1.0;
    let sim = Simulator::start(config).await.unwrap();
    let exporter = exporter(&sim, 2);
    assert!(run(&exporter).await.is_some());
    let snapshot = exporter.stats().snapshot();
    assert_eq!(snapshot.requests_by_code, [("500".to_owned(), 3)].into());
    let error = snapshot.last_request.unwrap().error.expect("an error");
    assert!(
        error.starts_with("AccessLog: Gong server error (HTTP 500"),
        "{error}"
    );
    assert!(error.ends_with("(giving up)"), "{error}");
    assert_eq!(snapshot.last_success, None);
}
