//! Gong's limits and the flags' defaults that follow from them, each
//! written once (the api crate's constants will replace these literals).

/// `--rate-limit`'s default: Gong allows 3 requests per second.
pub const RATE_LIMIT: f64 = 3.0;

/// `--max-retries`'s default.
pub const MAX_RETRIES: u32 = 8;

/// `--concurrency`'s default: the most cursor chains at once.
pub const CONCURRENCY: u16 = 8;

/// Gong's daily request quota per company.
pub const DAILY_QUOTA: u64 = 10_000;
