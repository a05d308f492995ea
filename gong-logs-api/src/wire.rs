//! Facts about the wire that every layer of the request path shares, and
//! nothing else (a leaf: it imports no module of this crate). The hooks
//! write them, the client and the errors read them:
//!
//! - the per-request task-locals: [`PREVIEW`] (the request captured for
//!   `--dry-run`), [`BODY_LIMIT`], [`RESPONSE`] (status and size for the
//!   trace event);
//! - the verdicts the `exec`/`post` hooks hand to the error classification
//!   through `Error::Custom` ([`Verdict`], [`NonJsonStatus`]);
//! - the one parser of `Retry-After` ([`retry_after`]) and of HTTP dates;
//! - an error's causes as one line ([`causes`]).

use std::cell::{Cell, RefCell};
use std::time::{Duration, SystemTime};

use reqwest::header::RETRY_AFTER;

const TAG: &str = "gong-logs:non-json-status";

/// Marks the `Error::Custom` that ends a preview before anything is sent.
pub(crate) const PREVIEW_ABORT: &str = "gong-logs:preview";

tokio::task_local! {
    /// Set by [`crate::GongClient::preview`]: the `pre` hook records the
    /// request the generated code built, then stops it from being sent.
    pub(crate) static PREVIEW: RefCell<Option<reqwest::Request>>;
    /// Set by [`crate::GongClient::fetch_page`]: the most body bytes the
    /// `exec` hook reads before giving up.
    pub(crate) static BODY_LIMIT: u64;
}

/// The default body limit (a page of Gong is well under 1 MiB).
pub(crate) const DEFAULT_BODY_LIMIT: u64 = 32 * 1024 * 1024;

/// Status and `Content-Length` of a response.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Seen {
    pub status: u16,
    pub bytes: Option<u64>,
}

tokio::task_local! {
    /// Filled by the `post` hook with what the response said.
    pub(crate) static RESPONSE: Cell<Option<Seen>>;
}

/// What the `exec` hook found while reading a body, handed to `post` (as a
/// response extension), which turns it into `Error::Custom`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Verdict {
    /// The body is (or was declared) larger than the limit.
    TooLarge { limit: u64 },
    /// The body could not be read to its end (cut off, reset).
    BodyCut(String),
    /// A 404 whose body is not Gong's error shape (`requestId` / `errors`).
    NotGong404 { what: String },
    /// A success status whose body is not JSON (a proxy's HTML page).
    NotJson { status: u16, what: String },
}

const VERDICT_TAG: &str = "gong-logs:verdict";

impl Verdict {
    pub(crate) fn encode(&self) -> String {
        // One word per field, the free text last.
        match self {
            Self::TooLarge { limit } => format!("{VERDICT_TAG} too-large {limit}"),
            Self::BodyCut(text) => format!("{VERDICT_TAG} cut {text}"),
            Self::NotGong404 { what } => format!("{VERDICT_TAG} not-gong {what}"),
            Self::NotJson { status, what } => format!("{VERDICT_TAG} not-json {status} {what}"),
        }
    }

    /// Reads back what [`ClientHooks::post`] put into `Error::Custom`.
    pub fn decode(text: &str) -> Option<Self> {
        let rest = text.strip_prefix(VERDICT_TAG)?.strip_prefix(' ')?;
        let (kind, rest) = rest.split_once(' ').unwrap_or((rest, ""));
        Some(match kind {
            "too-large" => Self::TooLarge {
                limit: rest.trim().parse().ok()?,
            },
            "cut" => Self::BodyCut(rest.to_owned()),
            "not-gong" => Self::NotGong404 {
                what: rest.to_owned(),
            },
            "not-json" => {
                let (status, what) = rest.split_once(' ').unwrap_or((rest, ""));
                Self::NotJson {
                    status: status.parse().ok()?,
                    what: what.to_owned(),
                }
            }
            _ => return None,
        })
    }
}
/// A non-success response whose body was not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonJsonStatus {
    pub status: u16,
    pub retry_after: Option<Duration>,
}

impl NonJsonStatus {
    pub(crate) fn encode(self) -> String {
        match self.retry_after {
            Some(wait) => format!("{TAG} {} {}", self.status, wait.as_millis()),
            None => format!("{TAG} {}", self.status),
        }
    }

    /// Reads back what [`ClientHooks::post`] put into `Error::Custom`.
    pub fn decode(text: &str) -> Option<Self> {
        let mut words = text.strip_prefix(TAG)?.split_whitespace();
        let status = words.next()?.parse().ok()?;
        let retry_after = words
            .next()
            .and_then(|w| w.parse().ok())
            .map(Duration::from_millis);
        Some(Self {
            status,
            retry_after,
        })
    }
}

/// `Retry-After`, the one place it is read: whole seconds (what Gong
/// sends), a fraction (`1.5`, rounded up to the millisecond) or an
/// HTTP date (a date already past is 0). Negative, garbage or beyond
/// `Duration`: `None` (the back-off applies).
pub(crate) fn retry_after(headers: &reqwest::header::HeaderMap) -> Option<Duration> {
    let text = headers.get(RETRY_AFTER)?.to_str().ok()?.trim();
    parse_retry_after(text, SystemTime::now())
}

fn parse_retry_after(text: &str, now: SystemTime) -> Option<Duration> {
    if text.starts_with(|c: char| c.is_ascii_digit() || c == '.') {
        let secs: f64 = text.parse().ok()?;
        let millis = (secs * 1000.0).ceil();
        // Saturates at u64::MAX milliseconds (584 million years).
        return millis
            .is_finite()
            .then(|| Duration::from_millis(millis as u64));
    }
    let at = http_date(text)?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `Date` header, if readable.
pub(crate) fn server_date(headers: &reqwest::header::HeaderMap) -> Option<jiff::Timestamp> {
    let text = headers.get(reqwest::header::DATE)?.to_str().ok()?;
    jiff::Timestamp::try_from(http_date(text)?).ok()
}

/// An HTTP date (IMF-fixdate, and the obsolete RFC 850 and asctime forms
/// recipients must accept), as in `Date` and `Retry-After`.
pub(crate) fn http_date(text: &str) -> Option<SystemTime> {
    httpdate::parse_http_date(text.trim()).ok()
}
/// An error and its causes, innermost last: reqwest's own text ("error
/// sending request") hides the reason (connection refused, reset by peer).
pub(crate) fn causes(error: &(dyn std::error::Error + 'static)) -> String {
    let mut text = error.to_string();
    let mut source = error.source();
    while let Some(inner) = source {
        let inner_text = inner.to_string();
        if !text.contains(&inner_text) {
            text.push_str(": ");
            text.push_str(&inner_text);
        }
        source = inner.source();
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_json_status_round_trips() {
        for value in [
            NonJsonStatus {
                status: 502,
                retry_after: None,
            },
            NonJsonStatus {
                status: 429,
                retry_after: Some(Duration::from_millis(7_500)),
            },
        ] {
            assert_eq!(NonJsonStatus::decode(&value.encode()), Some(value));
        }
        assert_eq!(NonJsonStatus::decode("something else"), None);
    }

    #[test]
    fn verdicts_round_trip() {
        for value in [
            Verdict::TooLarge { limit: 33 },
            Verdict::BodyCut("reset by peer".into()),
            Verdict::NotGong404 {
                what: "a 9-byte text/html body".into(),
            },
            Verdict::NotJson {
                status: 200,
                what: "a 3-byte text/html body".into(),
            },
        ] {
            assert_eq!(Verdict::decode(&value.encode()), Some(value));
        }
    }

    #[test]
    fn retry_after_takes_seconds_fractions_and_dates() {
        let now = httpdate::parse_http_date("Tue, 01 Dec 2026 04:11:50 GMT").unwrap();
        let parse = |text| parse_retry_after(text, now);
        assert_eq!(parse("0"), Some(Duration::ZERO));
        assert_eq!(parse("120"), Some(Duration::from_secs(120)));
        assert_eq!(parse("1.5"), Some(Duration::from_millis(1_500)));
        assert_eq!(parse(".25"), Some(Duration::from_millis(250)));
        assert_eq!(parse("0.0001"), Some(Duration::from_millis(1)));
        // IMF-fixdate, RFC 850 and asctime: 10 s after `now`.
        for date in [
            "Tue, 01 Dec 2026 04:12:00 GMT",
            "Tuesday, 01-Dec-26 04:12:00 GMT",
            "Tue Dec  1 04:12:00 2026",
        ] {
            assert_eq!(parse(date), Some(Duration::from_secs(10)), "{date}");
        }
        // A date in the past: no wait (the rate limit still spaces).
        assert_eq!(parse("Mon, 30 Nov 2026 00:00:00 GMT"), Some(Duration::ZERO));
        for bad in ["-1", "soon", "", "1e999", "NaN", "1.5s", "Tue, 99 Dec 2026"] {
            assert_eq!(parse(bad), None, "{bad}");
        }
        assert!(parse("18446744073709551615").is_some_and(|d| d.as_secs() > 1 << 40));
    }
}
