//! Exports one day of `AccessLog` to stdout, one JSON entry per line, exactly
//! as Gong sent each entry.
//!
//! ```sh
//! GONG_ACCESS_KEY=... GONG_ACCESS_KEY_SECRET=... \
//!   cargo run -p gong-logs-api --example export_day -- 2026-11-30 > access.jsonl
//! ```
//!
//! The day (UTC) defaults to yesterday. `GONG_BASE_URL` (default
//! `https://api.gong.io`) may be the company's own API host;
//! `GONG_BEARER_TOKEN` may replace the access key pair.

use std::io::Write as _;

use futures::StreamExt as _;
use gong_logs_api::export::{ExportOptions, Exporter, Position};
use gong_logs_api::{BaseUrl, ClientConfig, Credentials, GongClient, LogType};
use jiff::{Timestamp, civil::Date, tz::TimeZone};

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let day: Date = match std::env::args().nth(1) {
        Some(text) => text.parse()?,
        None => Timestamp::now()
            .to_zoned(TimeZone::UTC)
            .date()
            .yesterday()?,
    };
    let from = day.to_zoned(TimeZone::UTC)?.timestamp();
    let to = day.tomorrow()?.to_zoned(TimeZone::UTC)?.timestamp();

    let exporter = Exporter::new(client_from_env()?, ExportOptions::default());
    let mut batches = exporter.export(
        LogType::AccessLog,
        Position {
            time: from,
            count: 0,
        },
        to,
    );
    let mut out = std::io::stdout().lock();
    while let Some(batch) = batches.next().await {
        for entry in batch?.entries {
            writeln!(out, "{}", entry.json())?;
        }
    }
    out.flush()?;
    let stats = exporter.stats().snapshot();
    eprintln!(
        "{} entries of {day} in {} requests",
        stats.entries, stats.requests
    );
    Ok(())
}

/// The client, from `GONG_BASE_URL` and `GONG_ACCESS_KEY` +
/// `GONG_ACCESS_KEY_SECRET` or `GONG_BEARER_TOKEN`.
fn client_from_env() -> Result<GongClient, Box<dyn std::error::Error>> {
    let base_url: BaseUrl = std::env::var("GONG_BASE_URL")
        .unwrap_or_else(|_| gong_logs_api::DEFAULT_BASE_URL.to_owned())
        .parse()?;
    let credentials = match (
        std::env::var("GONG_ACCESS_KEY"),
        std::env::var("GONG_ACCESS_KEY_SECRET"),
        std::env::var("GONG_BEARER_TOKEN"),
    ) {
        (Ok(key), Ok(secret), _) => Credentials::basic(key, secret),
        (_, _, Ok(token)) => Credentials::bearer(token),
        _ => {
            return Err(
                "set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_BEARER_TOKEN".into(),
            );
        }
    };
    Ok(GongClient::new(ClientConfig::new(base_url, credentials))?)
}
