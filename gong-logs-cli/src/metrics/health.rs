//! `/healthz`'s verdict: healthy unless the export stopped, the last
//! request failed (it may be retried: the export is not collecting while
//! it fails), or nothing succeeded for three `--interval`s (the start of
//! the run counts as a success, so a run starts healthy).

use std::time::Duration;

use gong_logs_api::export::LastRequest;
use gong_logs_api::human_duration;
use jiff::Timestamp;

/// What the verdict rests on.
#[derive(Debug)]
pub(super) struct Facts<'a> {
    pub now: Timestamp,
    pub started: Timestamp,
    pub stale_after: Duration,
    /// The failure the export stopped on.
    pub failed: Option<&'a str>,
    pub last_request: Option<&'a LastRequest>,
    /// The latest successful request, batch or poll.
    pub last_success: Option<Timestamp>,
}

/// `Ok` when healthy, else the reason in one line (redacted: it may quote
/// the server).
pub(super) fn judge(facts: &Facts<'_>) -> Result<(), String> {
    let line = |text: String| crate::exit::redact(&crate::exit::one_line(&text));
    if let Some(failure) = facts.failed {
        return Err(line(format!("the export stopped: {failure}")));
    }
    if let Some(LastRequest {
        at,
        error: Some(error),
        ..
    }) = facts.last_request
    {
        return Err(line(format!(
            "the last request failed at {}: {error}",
            whole_seconds(*at)
        )));
    }
    let last = facts
        .last_success
        .unwrap_or(facts.started)
        .max(facts.started);
    let since = facts
        .now
        .duration_since(last)
        .try_into()
        .unwrap_or(Duration::ZERO);
    if since > facts.stale_after {
        return Err(line(format!(
            "nothing succeeded for {} (since {}): longer than three --interval ({})",
            human_duration(since),
            whole_seconds(last),
            human_duration(facts.stale_after / 3)
        )));
    }
    Ok(())
}

fn whole_seconds(at: Timestamp) -> Timestamp {
    at.round(jiff::Unit::Second).unwrap_or(at)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: i64) -> Timestamp {
        Timestamp::from_second(1_700_000_000 + secs).unwrap()
    }

    fn facts<'a>(now: i64, last: Option<&'a LastRequest>, success: Option<i64>) -> Facts<'a> {
        Facts {
            now: at(now),
            started: at(0),
            stale_after: Duration::from_secs(180),
            failed: None,
            last_request: last,
            last_success: success.map(at),
        }
    }

    fn request(secs: i64, error: Option<&str>) -> LastRequest {
        let mut last: LastRequest = serde_json::from_value(serde_json::json!({
            "at": at(secs).to_string(),
            "error": null,
        }))
        .unwrap();
        last.error = error.map(str::to_owned);
        last
    }

    #[test]
    fn healthy_at_the_start_and_while_requests_succeed() {
        assert_eq!(judge(&facts(10, None, None)), Ok(()));
        let ok = request(100, None);
        assert_eq!(judge(&facts(250, Some(&ok), Some(100))), Ok(()));
    }

    #[test]
    fn a_failed_last_request_is_unhealthy_until_one_succeeds() {
        let failed = request(
            100,
            Some("AccessLog: Gong server error (HTTP 500) (retrying)"),
        );
        let reason = judge(&facts(101, Some(&failed), Some(90))).unwrap_err();
        assert!(
            reason.starts_with("the last request failed at "),
            "{reason}"
        );
        assert!(reason.contains("HTTP 500"), "{reason}");
    }

    #[test]
    fn three_intervals_without_success_are_unhealthy() {
        let ok = request(100, None);
        assert_eq!(judge(&facts(280, Some(&ok), Some(100))), Ok(()));
        let reason = judge(&facts(281, Some(&ok), Some(100))).unwrap_err();
        assert!(reason.contains("nothing succeeded for 3m 1s"), "{reason}");
        assert!(reason.contains("three --interval (1m 0s)"), "{reason}");
        // Before any success, the start counts.
        assert!(judge(&facts(181, None, None)).is_err());
    }

    #[test]
    fn a_stopped_export_is_unhealthy() {
        let mut f = facts(1, None, None);
        f.failed = Some("disk full");
        assert_eq!(judge(&f), Err("the export stopped: disk full".to_owned()));
    }
}
