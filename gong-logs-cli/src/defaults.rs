//! The flags' defaults and Gong's limits, from the api crate's
//! `limits` (written once there), under the names the CLI uses.

use gong_logs_api::limits;

/// `--rate-limit`'s default: Gong allows 3 requests per second.
pub const RATE_LIMIT: f64 = limits::RATE_LIMIT;

/// `--max-retries`'s default.
pub const MAX_RETRIES: u32 = limits::DEFAULT_MAX_RETRIES;

/// `--concurrency`'s default: the most cursor chains at once.
pub const CONCURRENCY: u16 = limits::DEFAULT_CONCURRENCY;

/// Gong's daily request quota per company.
pub const DAILY_QUOTA: u64 = limits::DAILY_QUOTA;

/// `--interval`'s default (between two polls of `--follow`; without
/// `--follow`, what the metrics' health check counts in).
pub const INTERVAL: std::time::Duration = std::time::Duration::from_secs(60);
