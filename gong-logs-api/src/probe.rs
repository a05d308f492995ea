//! `GongClient::probe`: one small request whose answer tells whether the
//! tool can work at all (reachable, TLS, credentials, scope), plus what the
//! response headers say (rate-limit headers, the server's clock). Used by
//! `gong-logs doctor`; the CLI holds no HTTP logic.

use std::time::{Duration, Instant};

use jiff::Timestamp;
use reqwest::header::HeaderMap;

use crate::client::GongClient;
use crate::error::ApiError;
use crate::log_type::LogType;

/// What one probe request found.
#[derive(Debug)]
pub struct Probe {
    /// The request sent: method, path and query.
    pub request: String,
    /// When the request was sent, by the local clock.
    pub sent_at: Timestamp,
    /// How long the answer took.
    pub elapsed: Duration,
    /// The HTTP status, if a response arrived.
    pub status: Option<u16>,
    /// The server's `Date` header, as sent.
    pub date: Option<String>,
    /// The server's `Date` header, parsed (an HTTP date).
    pub server_time: Option<Timestamp>,
    /// Headers that look like rate-limit information (`*ratelimit*`,
    /// `*rate-limit*`, `Retry-After`), name and value.
    pub rate_limit_headers: Vec<(String, String)>,
    /// Gong's `requestId` of a successful answer.
    pub request_id: Option<String>,
    /// Entries in the probed range, if the answer said.
    pub total_records: Option<u64>,
    /// The failure, if the request failed (`None`: Gong answered 200, or 404
    /// "no records in this range", both of which prove access).
    pub error: Option<ApiError>,
    /// True when the failure happened during the TLS handshake (the server
    /// certificate was refused, or the server does not speak TLS).
    pub tls_failed: bool,
    /// The `Retry-After` of a 429 waited out before this (second) request.
    pub waited: Option<Duration>,
    /// The server's certificate as the handshake presented it (https).
    pub server_cert: Option<crate::tls::CertFacts>,
    /// The TLS version negotiated (`TLS 1.3`), if a handshake completed.
    pub tls_version: Option<&'static str>,
}

/// The longest `Retry-After` of a 429 the probe waits out before asking
/// again (a daily quota's is hours: then the 429 is the answer).
pub const PROBE_MAX_WAIT: Duration = Duration::from_secs(30);

impl Probe {
    /// Local clock minus server clock, in whole seconds (positive: the local
    /// clock is ahead). The server's `Date` has a one-second resolution, so
    /// the request's midpoint is compared with it, and ±1 s is noise.
    pub fn clock_skew(&self) -> Option<i64> {
        let server = self.server_time?;
        let midpoint = self.sent_at.checked_add(self.elapsed / 2).ok()?;
        Some(midpoint.as_second() - server.as_second())
    }
}

fn is_rate_limit_header(name: &str) -> bool {
    let name = name.to_ascii_lowercase();
    name.contains("ratelimit") || name.contains("rate-limit") || name == "retry-after"
}

fn read_headers(probe: &mut Probe, headers: &HeaderMap) {
    if let Some(date) = headers
        .get(reqwest::header::DATE)
        .and_then(|v| v.to_str().ok())
    {
        probe.date = Some(date.to_owned());
        probe.server_time = crate::wire::server_date(headers);
    }
    probe.rate_limit_headers = headers
        .iter()
        .filter(|(name, _)| is_rate_limit_header(name.as_str()))
        .map(|(name, value)| {
            (
                name.as_str().to_owned(),
                value.to_str().unwrap_or("<binary>").to_owned(),
            )
        })
        .collect();
}

/// True when the error chain says the TLS handshake failed.
fn is_tls_failure(error: &(dyn std::error::Error + 'static)) -> bool {
    let mut source = Some(error);
    while let Some(e) = source {
        // rustls reports through an `io::Error`, whose `source()` skips it.
        let inner = e
            .downcast_ref::<std::io::Error>()
            .and_then(std::io::Error::get_ref);
        if e.is::<rustls::Error>() || inner.is_some_and(|i| i.is::<rustls::Error>()) {
            return true;
        }
        let text = e.to_string().to_ascii_lowercase();
        // rustls's messages (its error type may sit behind a boxed cause).
        if [
            "certificate",
            "tls",
            "handshake",
            "received corrupt message",
            "peer misbehaved",
            "peer is incompatible",
            "received fatal alert",
        ]
        .iter()
        .any(|needle| text.contains(needle))
        {
            return true;
        }
        source = e.source();
    }
    false
}

impl GongClient {
    /// Sends one request for `log_type` over `[from, from + 1 s)` (no
    /// throttle) and reports what came back. A 404 (no records in the
    /// range) counts as success: it proves access. A 429 (Gong's per-second
    /// limit, after other requests) is waited out once, for its
    /// `Retry-After` (1 s without one; at most [`PROBE_MAX_WAIT`]), and the
    /// second answer is reported.
    pub async fn probe(&self, log_type: LogType, from: Timestamp) -> Probe {
        let first = self.probe_once(log_type, from).await;
        let wait = match &first.error {
            Some(ApiError::RateLimited { retry_after, .. }) => {
                retry_after.unwrap_or(Duration::from_secs(1))
            }
            _ => return first,
        };
        if wait > PROBE_MAX_WAIT {
            return first;
        }
        tokio::time::sleep(wait).await;
        let mut second = self.probe_once(log_type, from).await;
        second.waited = Some(wait);
        second
    }

    async fn probe_once(&self, log_type: LogType, from: Timestamp) -> Probe {
        let to = from
            .checked_add(jiff::SignedDuration::from_secs(1))
            .unwrap_or(from);
        let (from_text, to_text) = (from.to_string(), to.to_string());
        let mut probe = Probe {
            request: format!(
                "GET /v2/logs?logType={log_type}&fromDateTime={from_text}&toDateTime={to_text}"
            ),
            sent_at: Timestamp::now(),
            elapsed: Duration::ZERO,
            status: None,
            date: None,
            server_time: None,
            rate_limit_headers: Vec::new(),
            request_id: None,
            total_records: None,
            error: None,
            tls_failed: false,
            waited: None,
            server_cert: None,
            tls_version: None,
        };
        let started = Instant::now();
        let result = self
            .generated()
            .list_logs()
            .log_type(log_type)
            .from_date_time(from_text.as_str())
            .to_date_time(to_text.as_str())
            .send()
            .await;
        probe.elapsed = started.elapsed();
        (probe.server_cert, probe.tls_version) = self.tls_seen();
        use progenitor_client::Error as E;
        match result {
            Ok(response) => {
                probe.status = Some(response.status().as_u16());
                read_headers(&mut probe, response.headers());
                let body = response.into_inner();
                probe.request_id = body.request_id;
                probe.total_records = body
                    .records
                    .and_then(|r| r.total_records)
                    .and_then(|n| u64::try_from(n).ok());
            }
            Err(E::ErrorResponse(rv)) if rv.status().as_u16() == 404 => {
                probe.status = Some(404);
                read_headers(&mut probe, rv.headers());
                probe.request_id = rv.into_inner().request_id;
                probe.total_records = Some(0);
            }
            Err(error) => {
                match &error {
                    E::ErrorResponse(rv) => {
                        probe.status = Some(rv.status().as_u16());
                        read_headers(&mut probe, rv.headers());
                    }
                    E::UnexpectedResponse(response) => {
                        probe.status = Some(response.status().as_u16());
                        read_headers(&mut probe, response.headers());
                    }
                    E::CommunicationError(e) => probe.tls_failed = is_tls_failure(e),
                    _ => {}
                }
                let error = self.classify(error).await;
                probe.tls_failed |= matches!(error, ApiError::Tls { .. });
                if probe.status.is_none() {
                    probe.status = error.status();
                }
                probe.error = Some(error);
            }
        }
        probe
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rate_limit_headers_are_recognized() {
        for name in [
            "X-RateLimit-Remaining",
            "ratelimit-limit",
            "x-rate-limit-reset",
            "Retry-After",
        ] {
            assert!(is_rate_limit_header(name), "{name}");
        }
        assert!(!is_rate_limit_header("content-type"));
    }

    #[test]
    fn http_dates_parse_and_skew_is_signed() {
        let mut headers = HeaderMap::new();
        headers.insert("date", "Tue, 01 Dec 2026 04:11:50 GMT".parse().unwrap());
        headers.insert("x-ratelimit-remaining", "2".parse().unwrap());
        let mut probe = Probe {
            request: String::new(),
            sent_at: "2026-12-01T04:11:53Z".parse().unwrap(),
            elapsed: Duration::from_millis(400),
            status: Some(200),
            date: None,
            server_time: None,
            rate_limit_headers: Vec::new(),
            request_id: None,
            total_records: None,
            error: None,
            tls_failed: false,
            waited: None,
            server_cert: None,
            tls_version: None,
        };
        read_headers(&mut probe, &headers);
        assert_eq!(
            probe.server_time,
            Some("2026-12-01T04:11:50Z".parse().unwrap())
        );
        assert_eq!(probe.clock_skew(), Some(3));
        assert_eq!(
            probe.rate_limit_headers,
            vec![("x-ratelimit-remaining".to_owned(), "2".to_owned())]
        );
    }
}
