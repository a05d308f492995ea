//! A faithful HTTP simulator of Gong's `GET /v2/logs`.
//!
//! It shares no code with the client crate, so it can catch the client's
//! mistakes. Start one with [`Simulator::start`]; compare what a client
//! fetched with [`Simulator::dataset`]; read counters with
//! [`Simulator::stats`] or `GET /_sim/stats`.
//!
//! What it does, as Gong does (see `shared/DESIGN.md`):
//! - Basic (`accessKey:secret`) or Bearer auth, else 401;
//! - `logType` (one of five) and `fromDateTime` required, `toDateTime`
//!   optional, ISO-8601 with any offset; half-open `[from, to)`; 400 for bad
//!   parameters, 404 for an empty range;
//! - pages of 100 in time order with a signed, expiring cursor bound to the
//!   request's parameters;
//! - a 3 requests/s token bucket (burst 3) and an optional daily quota, both
//!   answering 429 with an integer `Retry-After`.
//!
//! And what a real network adds, on demand: 500s, HTML 502s, 503s with
//! `Retry-After`, 429s decided like faults (not by speed), dropped
//! connections, truncated bodies, stalls (no answer until the client gives
//! up), latency, and a
//! deterministic "every distinct request fails once" mode. Faults only hit
//! requests that passed auth, rate limiting and validation.
//!
//! Admin endpoints (not rate limited, no auth, not counted):
//! - `GET /_sim/stats`: the [`Stats`] as JSON;
//! - `POST /_sim/reset`: resets counters (returns the stats from before).

#[cfg(feature = "arbitrary")]
pub mod arbitrary;
mod config;
mod cursor;
mod data;
mod error;
mod misbehave;
mod oauth;
pub mod rng;
mod server;
mod stats;
mod tls;

pub use config::{FaultConfig, LogType, SimConfig};
pub use data::{Dataset, Entry};
pub use error::{ParseLogTypeError, SimError};
pub use misbehave::{Misbehave, own_log_type_entry, timeless_time};
pub use server::Simulator;
pub use stats::{FaultStats, Stats};
pub use tls::{SimTls, TestPki};
