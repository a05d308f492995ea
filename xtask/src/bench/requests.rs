//! What users pay: requests sent against the minimum, and wall time against
//! the ideal, for the shapes of data Gong's logs take.
//!
//! - **minimum** requests of a type: `ceil(N / 100)` (one cursor chain; an
//!   empty type still costs its one 404);
//! - **request overhead**: `(sent − minimum) / minimum`, every request the
//!   simulator saw counted (429s and retries included);
//! - **ideal time**: `(minimum − burst) / rate + latency`: the rate limit's
//!   bucket spent at once, then one request per `1/rate`, plus the last
//!   answer's latency;
//! - **time efficiency**: ideal ÷ the wall time of the `gong-logs` process.

use std::path::Path;

use anyhow::{Context as _, Result};
use gong_logs_sim::{Dataset, Entry, LogType, SimConfig, Simulator};
use jiff::Timestamp;

use super::{Row, as_strs, fetch, range_args, verdict};

const RATE: f64 = 3.0;
const BURST: u32 = 3;
const PAGE: u64 = 100;

/// How a scenario's entries are spread over the 30-day range.
#[derive(Clone, Copy, Debug)]
enum Shape {
    /// As the simulator generates them (spread over the range).
    Generated,
    /// 90 % of the entries in 5 % of the range (days 12 to 13.5).
    Skewed,
    /// Three one-day bursts (days 1, 14 and 28), nothing in between.
    EmptyStretches,
    /// Every entry in one second (days 10, 12:00:00).
    SameSecond,
}

struct Scenario {
    name: &'static str,
    types: &'static [LogType],
    entries_per_type: usize,
    shape: Shape,
    latency_ms: u64,
    /// Time-efficiency target, if the issue sets one.
    time_target: Option<f64>,
}

const SCENARIOS: &[Scenario] = &[
    Scenario {
        name: "45 pages, 1 s latency",
        types: &[LogType::UserActivityLog],
        entries_per_type: 4_500,
        shape: Shape::Generated,
        latency_ms: 1_000,
        time_target: Some(0.93),
    },
    Scenario {
        name: "450 pages, 0.3 s latency",
        types: &[LogType::AccessLog],
        entries_per_type: 45_000,
        shape: Shape::Generated,
        latency_ms: 300,
        time_target: Some(0.97),
    },
    Scenario {
        name: "5 types × 20 pages (`--type all`), 1 s latency",
        types: &LogType::ALL,
        entries_per_type: 2_000,
        shape: Shape::Generated,
        latency_ms: 1_000,
        time_target: Some(0.95),
    },
    Scenario {
        name: "skewed: 90 % of 100 pages in 5 % of the range, 1 s latency",
        types: &[LogType::UserCallPlay],
        entries_per_type: 10_000,
        shape: Shape::Skewed,
        latency_ms: 1_000,
        time_target: None,
    },
    Scenario {
        name: "long empty stretches: 100 pages in 3 one-day bursts over 30 days, 1 s latency",
        types: &[LogType::UserActivityLog],
        entries_per_type: 10_000,
        shape: Shape::EmptyStretches,
        latency_ms: 1_000,
        time_target: None,
    },
    Scenario {
        name: "ties: 10,000 entries in the same second, 0.3 s latency",
        types: &[LogType::AccessLog],
        entries_per_type: 10_000,
        shape: Shape::SameSecond,
        latency_ms: 300,
        time_target: None,
    },
];

/// The entry's JSON with its `eventTime` replaced (key order kept).
fn retime(entry: &Entry, time: Timestamp) -> Result<Entry> {
    let mut value: serde_json::Map<String, serde_json::Value> = serde_json::from_str(&entry.json)?;
    value.insert(
        "eventTime".into(),
        serde_json::Value::String(time.strftime("%Y-%m-%dT%H:%M:%S%.3fZ").to_string()),
    );
    Ok(Entry {
        json: serde_json::to_string(&value)?,
        time,
    })
}

/// Instant number `i` of `n` for `shape` over `[start, end)`, ascending in `i`.
fn instant(shape: Shape, i: usize, n: usize, start: Timestamp) -> Timestamp {
    const DAY: f64 = 86_400.0;
    let frac = (i as f64 + 0.5) / n as f64;
    let seconds = match shape {
        Shape::Generated => unreachable!("generated data keeps its times"),
        Shape::Skewed => {
            // The first 5 % of entries over days 0–12, the hot 90 % over
            // days 12–13.5, the last 5 % over days 13.5–30.
            if frac < 0.05 {
                frac / 0.05 * 12.0 * DAY
            } else if frac < 0.95 {
                12.0 * DAY + (frac - 0.05) / 0.9 * 1.5 * DAY
            } else {
                13.5 * DAY + (frac - 0.95) / 0.05 * 16.5 * DAY
            }
        }
        Shape::EmptyStretches => {
            let burst = (frac * 3.0).floor().min(2.0);
            let within = frac * 3.0 - burst;
            [1.0, 14.0, 28.0][burst as usize] * DAY + within * DAY
        }
        Shape::SameSecond => 10.5 * DAY + frac * 0.999,
    };
    let nanos = start.as_nanosecond() + (seconds * 1e9) as i128;
    Timestamp::from_nanosecond(nanos).expect("inside the range")
}

fn dataset(scenario: &Scenario, config: &SimConfig) -> Result<Dataset> {
    let generated = Dataset::from_config(config)?;
    if let Shape::Generated = scenario.shape {
        return Ok(generated);
    }
    let start = config.start.context("the bench sets the range")?;
    let mut entries = Vec::new();
    for &t in scenario.types {
        let source = generated.entries(t);
        for (i, entry) in source.iter().enumerate() {
            let time = instant(scenario.shape, i, source.len(), start);
            entries.push((t, retime(entry, time)?));
        }
    }
    Ok(Dataset::from_entries(entries))
}

/// Runs every scenario; adds a row each.
pub(super) async fn request_efficiency(
    bin: &Path,
    only: &[String],
    rows: &mut Vec<Row>,
) -> Result<()> {
    for scenario in SCENARIOS {
        if !only.is_empty() && !only.iter().any(|o| scenario.name.contains(o.as_str())) {
            continue;
        }
        let config = SimConfig {
            log_types: scenario.types.to_vec(),
            rate_limit: RATE,
            burst: BURST,
            ..SimConfig::testing(2026, scenario.entries_per_type)
        };
        let mut config = config;
        config.faults.latency_ms = scenario.latency_ms;
        let data = dataset(scenario, &config)?;
        let minimum: u64 = scenario
            .types
            .iter()
            .map(|&t| (data.entries(t).len() as u64).div_ceil(PAGE).max(1))
            .sum();
        let sim = Simulator::start_with_dataset(config.clone(), data).await?;
        let type_arg = if scenario.types.len() == LogType::ALL.len() {
            "all".to_owned()
        } else {
            scenario
                .types
                .iter()
                .map(|t| t.as_str())
                .collect::<Vec<_>>()
                .join(",")
        };
        let mut args = vec!["--type".to_string(), type_arg];
        args.extend(range_args(&config));
        let run = tokio::task::block_in_place(|| fetch(bin, &sim, &as_strs(&args)))?;
        let stats = sim.stats();
        sim.shutdown().await;

        let sent = stats.total_requests;
        let types = scenario.types.len() as u64;
        let overhead = sent.saturating_sub(minimum);
        let overhead_pct = overhead as f64 / minimum as f64 * 100.0;
        let allowed = 0.03 * minimum as f64 + types as f64;
        let ideal = (minimum.saturating_sub(u64::from(BURST))) as f64 / RATE
            + scenario.latency_ms as f64 / 1000.0;
        let secs = run.elapsed.as_secs_f64();
        let efficiency = ideal / secs;
        eprintln!(
            "requests: {}: {sent} sent, minimum {minimum} (+{overhead}, {overhead_pct:.1}%), {secs:.1} s vs ideal {ideal:.1} s = {efficiency:.3}; {} × 429, {} Retry-After violations, peak {} in flight",
            scenario.name, stats.rate_limited, stats.retry_after_violations, stats.concurrency_peak
        );
        rows.push(Row {
            name: format!("requests: {}", scenario.name),
            value: format!("{sent} sent / {minimum} minimum: +{overhead} ({overhead_pct:.1} %)"),
            target: format!("≤ 3 % + 1 per type (≤ +{:.1})", allowed),
            verdict: verdict(
                overhead as f64 <= allowed,
                format!("+{overhead} > +{allowed:.1}"),
            ),
        });
        rows.push(Row {
            name: format!("time: {}", scenario.name),
            value: format!("{efficiency:.3} ({secs:.1} s vs ideal {ideal:.1} s)"),
            target: scenario
                .time_target
                .map_or_else(|| "—".into(), |t| format!("≥ {t:.2}")),
            verdict: scenario.time_target.map_or_else(String::new, |t| {
                verdict(efficiency >= t, format!("{:.3} below", t - efficiency))
            }),
        });
    }
    Ok(())
}
