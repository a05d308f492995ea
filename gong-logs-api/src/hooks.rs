//! progenitor hooks for the generated client.
//!
//! The generated `send()` decodes the body of every documented status as JSON;
//! when that body is not JSON (a proxy's HTML page, a gateway's plain-text
//! 429) progenitor reports `InvalidResponsePayload`, which has lost the status
//! and the `Retry-After` header. The `post` hook runs before that decoding: it
//! turns any non-success response whose body is not declared JSON into
//! `Error::Custom` carrying the status and `Retry-After`, which
//! [`NonJsonStatus::decode`] reads back.

use std::cell::RefCell;
use std::time::{Duration, SystemTime};

use progenitor_client::{ClientHooks, ClientInfo as _, Error, OperationInfo};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

use crate::generated::Client;

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

/// Marks an error response declared JSON whose body does not parse.
#[derive(Debug, Clone, Copy)]
struct ErrorBodyNotJson;

const VERDICT_TAG: &str = "gong-logs:verdict";

impl Verdict {
    fn encode(&self) -> String {
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

/// Whether `body` has Gong's error shape: a JSON object with a string
/// `requestId` or an `errors` array.
fn is_gong_error_body(body: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return false;
    };
    map.get("requestId")
        .is_some_and(serde_json::Value::is_string)
        || map.get("errors").is_some_and(serde_json::Value::is_array)
}

/// A short description of a body that is not what was expected: its
/// content type and size (never its text: that is the server's).
fn describe_body(headers: &reqwest::header::HeaderMap, len: usize) -> String {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("no content type");
    format!("a {len}-byte {content_type} body")
}

/// Reads the whole body of `response` against `limit`, chunk by chunk (the
/// client's total timeout bounds the time), and rebuilds the response from
/// the bytes, with a [`Verdict`] extension when something is wrong.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: u64,
) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let json_ok = |body: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    let rebuild = |body: bytes::Bytes, verdict: Option<Verdict>| {
        let error_not_json = !status.is_success() && is_json(&headers) && !json_ok(&body);
        let mut built = http::Response::new(body);
        *built.status_mut() = status;
        *built.version_mut() = version;
        *built.headers_mut() = headers.clone();
        if let Some(verdict) = verdict {
            built.extensions_mut().insert(verdict);
        } else if error_not_json {
            built.extensions_mut().insert(ErrorBodyNotJson);
        }
        reqwest::Response::from(built)
    };
    if response.content_length().is_some_and(|n| n > limit) {
        return Ok(rebuild(
            bytes::Bytes::new(),
            Some(Verdict::TooLarge { limit }),
        ));
    }
    let mut body = bytes::BytesMut::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() as u64 + chunk.len() as u64 > limit {
                    return Ok(rebuild(
                        bytes::Bytes::new(),
                        Some(Verdict::TooLarge { limit }),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            // A deadline is a transport failure (retryable, "timed out").
            Err(e) if e.is_timeout() => return Err(e),
            Err(e) => {
                let text = crate::error::causes(&e.without_url());
                return Ok(rebuild(bytes::Bytes::new(), Some(Verdict::BodyCut(text))));
            }
        }
    }
    let body = body.freeze();
    let verdict = if status.as_u16() == 404 && !is_gong_error_body(&body) {
        Some(Verdict::NotGong404 {
            what: describe_body(&headers, body.len()),
        })
    } else if status.is_success() && (!is_json(&headers) || !json_ok(&body)) {
        let mut what = describe_body(&headers, body.len());
        if is_json(&headers) {
            what.push_str(" that does not parse");
        }
        Some(Verdict::NotJson {
            status: status.as_u16(),
            what,
        })
    } else {
        None
    };
    Ok(rebuild(body, verdict))
}

/// A non-success response whose body was not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonJsonStatus {
    pub status: u16,
    pub retry_after: Option<Duration>,
}

impl NonJsonStatus {
    fn encode(self) -> String {
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

fn is_json(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let mime = v.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
        })
        .unwrap_or(false)
}

impl ClientHooks<()> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let previewing = PREVIEW
            .try_with(|slot| *slot.borrow_mut() = request.try_clone())
            .is_ok();
        if previewing {
            return Err(Error::Custom(PREVIEW_ABORT.to_owned()));
        }
        Ok(())
    }

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let limit = BODY_LIMIT.try_with(|l| *l).unwrap_or(DEFAULT_BODY_LIMIT);
        let response = self.client().execute(request).await?;
        read_bounded(response, limit).await
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        if let Ok(response) = result {
            if let Some(verdict) = response.extensions().get::<Verdict>() {
                return Err(Error::Custom(verdict.encode()));
            }
            // A JSON error body that does not parse is no better than HTML:
            // keep its status (progenitor would report only the payload).
            if response.extensions().get::<ErrorBodyNotJson>().is_some() {
                let non_json = NonJsonStatus {
                    status: response.status().as_u16(),
                    retry_after: retry_after(response.headers()),
                };
                return Err(Error::Custom(non_json.encode()));
            }
            let status = response.status();
            // For the per-request trace event (`crate::trace`), if asked.
            let _ = crate::trace::RESPONSE.try_with(|slot| {
                slot.set(Some(crate::trace::Seen {
                    status: status.as_u16(),
                    bytes: response.content_length(),
                }));
            });
            if !status.is_success() && !is_json(response.headers()) {
                let non_json = NonJsonStatus {
                    status: status.as_u16(),
                    retry_after: retry_after(response.headers()),
                };
                return Err(Error::Custom(non_json.encode()));
            }
        }
        Ok(())
    }
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

    #[test]
    fn gong_error_shape() {
        assert!(is_gong_error_body(br#"{"requestId":"x","errors":["no"]}"#));
        assert!(is_gong_error_body(br#"{"errors":[]}"#));
        assert!(!is_gong_error_body(br#"{"message":"Not Found"}"#));
        assert!(!is_gong_error_body(b"<html>404</html>"));
        assert!(!is_gong_error_body(b"[]"));
    }
}
