//! Gong's documented limits and retention, and the engine's defaults built
//! on them: the one place these numbers are written. The CLI's flag
//! defaults, [`ExportOptions::default`](crate::export::ExportOptions) and
//! [`RetryPolicy::default`](crate::RetryPolicy) read them from here.

use std::time::Duration;

use jiff::Timestamp;

use crate::log_type::LogType;

/// Gong's rate limit: requests per second per company.
pub const RATE_LIMIT: f64 = 3.0;

/// Gong's daily request quota per company (shared with every other
/// integration of that company).
pub const DAILY_QUOTA: u64 = 10_000;

/// How long Gong keeps `AccessLog` entries.
pub const ACCESS_LOG_RETENTION: Duration = Duration::from_secs(14 * 86_400);

/// Since when Gong keeps `UserActivityLog` entries (2021-03-01T00:00:00Z).
pub const USER_ACTIVITY_LOG_SINCE: Timestamp = Timestamp::constant(1_614_556_800, 0);

/// The most cursor chains an export runs at once, by default.
pub const DEFAULT_CONCURRENCY: u16 = 8;

/// Retries of a failed request, by default.
pub const DEFAULT_MAX_RETRIES: u32 = 8;

/// Where Gong's retention of `log_type` starts, seen from `now`
/// ([`ACCESS_LOG_RETENTION`] ago, [`USER_ACTIVITY_LOG_SINCE`]); `None` for
/// the types Gong keeps since the company started using it.
pub fn retention_start(log_type: LogType, now: Timestamp) -> Option<Timestamp> {
    match log_type {
        LogType::AccessLog => now.checked_sub(ACCESS_LOG_RETENTION).ok(),
        LogType::UserActivityLog => Some(USER_ACTIVITY_LOG_SINCE),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retention_starts_as_gong_documents() {
        let now: Timestamp = "2026-12-01T10:00:00Z".parse().unwrap();
        assert_eq!(
            retention_start(LogType::AccessLog, now),
            Some("2026-11-17T10:00:00Z".parse().unwrap())
        );
        assert_eq!(
            retention_start(LogType::UserActivityLog, now),
            Some("2021-03-01T00:00:00Z".parse().unwrap())
        );
        assert_eq!(retention_start(LogType::UserCallPlay, now), None);
    }
}
