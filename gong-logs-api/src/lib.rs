//! Typed client for Gong's audit-log endpoint, `GET /v2/logs`.
//!
//! The request/response surface is generated at build time by progenitor from
//! `openapi/gong-logs-v2.json` (module [`generated`], re-exported here). The
//! hand-written layer around it:
//!
//! - [`ClientConfig`] / [`GongClient`]: base URL (tenant URLs accepted), Basic
//!   or Bearer credentials sent as *sensitive* default headers, timeouts, user
//!   agent; plain `http://` only to loopback.
//! - [`GongClient::fetch_page`]: one request, 404 mapped to an empty page,
//!   every failure classified into a typed [`ApiError`].
//! - [`LogEntry`]: an entry carried losslessly as the exact JSON text Gong sent.
//! - [`records`]: typed views of an entry's `logRecord`, one per log type
//!   ([`LogEntry::record`]).
//! - JSON Schemas: every generated type, [`LogEntry`] and the record views
//!   implement [`schemars::JsonSchema`] (schemars 0.8).
//!
//! - [`export::Exporter`]: the export engine (cursor chains under one rate
//!   limit, exactly once, in order, resumable from a [`export::Position`]),
//!   as `futures` streams: [`export()`](export::Exporter::export),
//!   [`export_types()`](export::Exporter::export_types),
//!   [`entries()`](export::Exporter::entries),
//!   [`follow()`](export::Exporter::follow); and the requests it would send
//!   first, [`first_requests()`](export::Exporter::first_requests).
//!
//! This crate never prints; callers decide what to show. It installs
//! nothing process-wide: each [`GongClient`] carries its own rustls
//! configuration (the *ring* provider, the platform's verifier).
//!
//! # Using it as a library
//!
//! Build a client from a [`BaseUrl`] (checked once, when parsed) and
//! [`Credentials`], wrap it in an [`Exporter`](export::Exporter), and read the
//! stream. A day of `AccessLog` as JSON lines (the whole program is
//! `examples/export_day.rs`):
//!
//! ```no_run
//! use futures::StreamExt as _;
//! use gong_logs_api::export::{ExportOptions, Exporter, Position};
//! use gong_logs_api::{ClientConfig, Credentials, GongClient, LogType};
//!
//! # async fn run() -> Result<(), Box<dyn std::error::Error>> {
//! let base_url = "https://company-17.api.gong.io".parse()?;
//! let credentials = Credentials::basic("ACCESS_KEY", "ACCESS_KEY_SECRET");
//! let client = GongClient::new(ClientConfig::new(base_url, credentials))?;
//! let exporter = Exporter::new(client, ExportOptions::default());
//!
//! let from: jiff::Timestamp = "2026-11-30T00:00:00Z".parse()?;
//! let to: jiff::Timestamp = "2026-12-01T00:00:00Z".parse()?;
//! let start = Position { time: from, count: 0 };
//! let mut batches = exporter.export(LogType::AccessLog, start, to);
//! while let Some(batch) = batches.next().await {
//!     let batch = batch?;
//!     for entry in &batch.entries {
//!         println!("{}", entry.json()); // exactly the bytes Gong sent
//!     }
//!     // `batch.position` is where to resume after a crash.
//! }
//! eprintln!("{:?}", exporter.stats().snapshot());
//! # Ok(())
//! # }
//! ```
//!
//! Following a type, polling every minute two minutes behind now (the whole
//! program is `examples/follow.rs`):
//!
//! ```no_run
//! use std::time::Duration;
//! use futures::StreamExt as _;
//! use gong_logs_api::export::{Event, Exporter, FollowOptions, Position};
//! use gong_logs_api::LogType;
//!
//! # async fn run(exporter: Exporter) -> Result<(), gong_logs_api::export::ExportError> {
//! let options = FollowOptions::new(Duration::from_secs(60), Duration::from_secs(120));
//! let now = jiff::Timestamp::now();
//! let start = Position { time: now - Duration::from_secs(3600), count: 0 };
//! let mut events = exporter.follow(vec![(LogType::UserActivityLog, start)], now - options.lag, options);
//! while let Some(event) = events.next().await {
//!     match event? {
//!         Event::Batch(batch) => { /* write batch.entries, store batch.position */ }
//!         Event::CaughtUp { to } => { /* everything before `to` is delivered */ }
//!         _ => {}
//!     }
//! }
//! # Ok(())
//! # }
//! ```
//!
//! Both examples read `GONG_BASE_URL`, `GONG_ACCESS_KEY` and
//! `GONG_ACCESS_KEY_SECRET` (or `GONG_BEARER_TOKEN`):
//! `cargo run -p gong-logs-api --example export_day -- 2026-11-30`.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod auth;
pub mod budget;
mod client;
mod duration;
mod entry;
mod error;
pub mod event_id;
pub mod export;
pub mod generated;
pub mod guard;
mod hooks;
pub mod limits;
mod log_type;
pub mod notices;
mod probe;
mod proxy;
pub mod records;
mod retry;
mod route;
pub mod schema;
mod spool;
mod throttle;
mod tls;
mod trace;
mod wire;

pub use auth::{Credentials, Secret};
pub use client::{BaseUrl, validate_base_url};
pub use client::{ClientConfig, ConfigError, GongClient, Page, PageRequest};
pub use duration::human_duration;
pub use entry::{LogEntry, displaced_name, object_members};
pub use error::{ApiError, ProxyFailure};
pub use generated::{Client as GeneratedClient, types};
pub use log_type::{LogType, LogTypeInfo};
pub use probe::Probe;
pub use proxy::{
    PROXY_VARIABLES, ProxyEnv, ProxyError, check_url as check_proxy_url, proxy_credentials,
};
pub use records::{Record, TypedRecord};
pub use retry::RetryPolicy;
pub use route::{ProxySetting, Route};
pub use throttle::Throttle;
pub use tls::{CaBundle, CertFacts, TlsConfigError, TlsFailure};

/// The default Gong API host. Each company also has its own base URL (see
/// the OAuth token response's `api_base_url_for_customer`).
pub const DEFAULT_BASE_URL: &str = "https://api.gong.io";

/// The Rust source progenitor generated from the spec (for snapshot tests).
#[doc(hidden)]
pub const GENERATED_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/codegen.rs"));
