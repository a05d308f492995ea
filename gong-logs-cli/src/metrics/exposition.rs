//! The series, in the Prometheus text exposition format (version 0.0.4,
//! which node_exporter's textfile collector reads too), encoded by
//! `prometheus-client` from a registry filled afresh at each render from
//! the counters (so a value is never counted twice).

use std::sync::atomic::AtomicU64;

use gong_logs_api::export::ExportStatsSnapshot;
use jiff::Timestamp;
use prometheus_client::encoding::prometheus_text;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::registry::Registry;

use super::TypeState;

/// `text/plain; version=0.0.4; charset=utf-8`.
pub(super) const CONTENT_TYPE: &str = prometheus_text::CONTENT_TYPE;

type Labels = Vec<(String, String)>;
type Seconds = Gauge<f64, AtomicU64>;

/// What the series are made of.
pub(super) struct Series<'a> {
    pub types: &'a [TypeState],
    pub stats: &'a ExportStatsSnapshot,
    pub up: bool,
    pub started: Timestamp,
}

fn counter(value: u64) -> Counter {
    let counter = Counter::default();
    counter.inc_by(value);
    counter
}

fn seconds(at: Timestamp) -> Seconds {
    let gauge = Seconds::default();
    gauge.set(unix_seconds(at));
    gauge
}

fn type_labels(t: &TypeState) -> Labels {
    vec![("log_type".to_owned(), t.log_type.to_string())]
}

/// A counter per type.
fn counts_by_type(
    types: &[TypeState],
    value: impl Fn(&TypeState) -> u64,
) -> Family<Labels, Counter> {
    let family = Family::<Labels, Counter>::default();
    for t in types {
        family.get_or_create(&type_labels(t)).inc_by(value(t));
    }
    family
}

/// A Unix time per type (left out where `None`).
fn times_by_type(
    types: &[TypeState],
    value: impl Fn(&TypeState) -> Option<Timestamp>,
) -> Family<Labels, Seconds> {
    let family = Family::<Labels, Seconds>::default();
    for t in types {
        if let Some(at) = value(t) {
            family.get_or_create(&type_labels(t)).set(unix_seconds(at));
        }
    }
    family
}

fn unix_seconds(at: Timestamp) -> f64 {
    at.as_millisecond() as f64 / 1000.0
}

/// The exposition of `series`.
pub(super) fn render(series: &Series<'_>) -> String {
    let stats = series.stats;
    let mut registry = Registry::default();
    registry.register(
        "gong_logs_entries",
        "Entries written by this run, by log type",
        counts_by_type(series.types, |t| t.entries),
    );
    let requests = Family::<Labels, Counter>::default();
    for (code, n) in &stats.requests_by_code {
        requests
            .get_or_create(&vec![("code".to_owned(), code.clone())])
            .inc_by(*n);
    }
    registry.register(
        "gong_logs_requests",
        "HTTP requests to Gong by status code (code=\"error\": no response, a transport failure)",
        requests,
    );
    registry.register(
        "gong_logs_retries",
        "Requests retried after a failure (429, 5xx, network)",
        counter(stats.retries),
    );
    registry.register("gong_logs_pages", "Pages received", counter(stats.pages));
    registry.register(
        "gong_logs_skipped_entries",
        "Entries skipped as outside their range or out of order (--skip-out-of-range)",
        counter(stats.skipped),
    );
    registry.register(
        "gong_logs_cursor_recoveries",
        "Expired or rejected cursors recovered by querying again",
        counter(stats.cursor_recoveries),
    );
    registry.register(
        "gong_logs_last_success_timestamp_seconds",
        "When a batch or poll of the log type last completed (Unix time)",
        times_by_type(series.types, |t| t.last_success),
    );
    registry.register(
        "gong_logs_position_timestamp_seconds",
        "The eventTime up to which the log type is complete (Unix time)",
        times_by_type(series.types, |t| Some(t.position)),
    );
    let up = Gauge::<i64>::default();
    up.set(i64::from(series.up));
    registry.register(
        "gong_logs_up",
        "1 while the last request succeeded (or none was sent yet) and the export runs, else 0",
        up,
    );
    registry.register(
        "gong_logs_start_time_seconds",
        "When this run started (Unix time)",
        seconds(series.started),
    );
    let info = Family::<Labels, Gauge>::default();
    info.get_or_create(&vec![(
        "version".to_owned(),
        env!("CARGO_PKG_VERSION").to_owned(),
    )])
    .set(1);
    registry.register(
        "gong_logs_build_info",
        "The version of gong-logs, as a label",
        info,
    );
    let mut text = String::new();
    prometheus_text::encode(&mut text, &registry).expect("writing to a String");
    text
}
