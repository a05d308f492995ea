//! The warnings of a running export: the daily quota, the clock.

use gong_logs_api::human_duration;

use crate::defaults::DAILY_QUOTA;

/// The warning for an export of `requests` requests, if it exceeds the
/// daily quota.
pub(crate) fn quota_warning(requests: u64, rate: Option<f64>) -> Option<String> {
    if requests <= DAILY_QUOTA {
        return None;
    }
    let hours = rate
        .filter(|r| *r > 0.0)
        .map(|r| {
            format!(
                ", {:.1} hours at {r} requests/s",
                requests as f64 / r / 3600.0
            )
        })
        .unwrap_or_default();
    Some(format!(
        "this export needs about {requests} requests{hours}: {:.1} days of Gong's quota of {DAILY_QUOTA} requests per day per company (shared with every other integration); run it with -o FILE --resume so that it can continue tomorrow, or narrow --from/--to",
        requests as f64 / DAILY_QUOTA as f64
    ))
}

/// How far the clocks may differ before `fetch` warns (the server's
/// `Date` has whole seconds, and a request takes a while).
const SKEW_WARN: std::time::Duration = std::time::Duration::from_secs(5 * 60);

/// The warning for a local clock `skew` ahead of the server's (negative:
/// behind), if it is over [`SKEW_WARN`].
pub(crate) fn clock_warning(skew: jiff::SignedDuration) -> Option<String> {
    let off = skew.unsigned_abs();
    if off <= SKEW_WARN {
        return None;
    }
    Some(format!(
        "this machine's clock is {} {} the server's (its Date header): the range (--from/--to, relative times, --follow's now) is computed from the local clock, so it is off by as much; sync the clock (NTP)",
        human_duration(off),
        if skew.is_positive() {
            "ahead of"
        } else {
            "behind"
        }
    ))
}
