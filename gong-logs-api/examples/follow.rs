//! Follows `UserActivityLog`: catches up from an hour ago, then polls every
//! minute, staying two minutes behind now; prints each entry as a JSON line
//! until interrupted (Ctrl-C).
//!
//! ```sh
//! GONG_ACCESS_KEY=... GONG_ACCESS_KEY_SECRET=... \
//!   cargo run -p gong-logs-api --example follow
//! ```
//!
//! `GONG_BASE_URL` (default `https://api.gong.io`) may be the company's own
//! API host; `GONG_BEARER_TOKEN` may replace the access key pair. A real
//! program would store each batch's `position` and pass it back in after a
//! restart.

use std::io::Write as _;
use std::time::Duration;

use futures::StreamExt as _;
use gong_logs_api::export::{Event, ExportOptions, Exporter, FollowOptions, Position};
use gong_logs_api::{BaseUrl, ClientConfig, Credentials, GongClient, LogType};
use jiff::Timestamp;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    let options = FollowOptions::new(Duration::from_secs(60), Duration::from_secs(120));
    let now = Timestamp::now();
    let start = Position {
        time: now - Duration::from_secs(3600),
        count: 0,
    };
    let exporter = Exporter::new(client_from_env()?, ExportOptions::default());
    let mut events = exporter.follow(
        vec![(LogType::UserActivityLog, start)],
        now - options.lag,
        options,
    );
    loop {
        let event = tokio::select! {
            event = events.next() => event,
            _ = tokio::signal::ctrl_c() => break,
        };
        let Some(event) = event else { break };
        match event? {
            Event::Batch(batch) => {
                let mut out = std::io::stdout().lock();
                for entry in &batch.entries {
                    writeln!(out, "{}", entry.json())?;
                }
                out.flush()?;
            }
            Event::CaughtUp { to } => eprintln!("caught up to {to}"),
            _ => {}
        }
    }
    // Dropping the stream stops following.
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
