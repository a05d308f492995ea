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
//! This crate never prints; callers decide what to show.
#![deny(clippy::print_stdout, clippy::print_stderr)]

mod auth;
pub mod budget;
mod client;
mod entry;
mod error;
pub mod export;
pub mod generated;
pub mod guard;
mod hooks;
mod log_type;
mod probe;
pub mod records;
mod retry;
pub mod schema;
mod spool;
mod throttle;
mod trace;

pub use auth::{Credentials, Secret};
pub use client::{BaseUrl, validate_base_url};
pub use client::{ClientConfig, ConfigError, GongClient, Page, PageRequest};
pub use entry::LogEntry;
pub use error::ApiError;
pub use generated::{Client as GeneratedClient, types};
pub use log_type::{LogType, LogTypeInfo};
pub use probe::Probe;
pub use records::{Record, TypedRecord};
pub use retry::RetryPolicy;
pub use throttle::Throttle;

/// The default Gong API host. Each company also has its own base URL (see
/// the OAuth token response's `api_base_url_for_customer`).
pub const DEFAULT_BASE_URL: &str = "https://api.gong.io";

/// The Rust source progenitor generated from the spec (for snapshot tests).
#[doc(hidden)]
pub const GENERATED_SOURCE: &str = include_str!(concat!(env!("OUT_DIR"), "/codegen.rs"));
