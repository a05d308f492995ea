//! Every way a request can fail, classified for the retry policy and for
//! messages that tell the user what to do.

use std::time::Duration;

use crate::generated::types::ErrorResponse;
use crate::wire::{NonJsonStatus, Verdict, causes, retry_after};

/// At most this many of Gong's error messages are kept ...
const MAX_MESSAGES: usize = 8;
/// ... each cut to this many characters (a server may send megabytes).
const MAX_MESSAGE_CHARS: usize = 1000;
/// A `requestId` longer than this is cut too.
const MAX_REQUEST_ID_CHARS: usize = 100;

fn cut(text: String, max: usize) -> String {
    match text.char_indices().nth(max) {
        None => text,
        Some((at, _)) => {
            let rest = text[at..].chars().count();
            format!("{}...[{rest} more characters]", &text[..at])
        }
    }
}

/// What is kept of an error body: bounded whatever the server sent.
fn bounded(body: ErrorResponse) -> (Option<String>, Vec<String>) {
    let extra = body.errors.len().saturating_sub(MAX_MESSAGES);
    let mut messages: Vec<String> = body
        .errors
        .into_iter()
        .take(MAX_MESSAGES)
        .map(|m| cut(m, MAX_MESSAGE_CHARS))
        .collect();
    if extra > 0 {
        messages.push(format!("[{extra} more messages]"));
    }
    (
        body.request_id.map(|id| cut(id, MAX_REQUEST_ID_CHARS)),
        messages,
    )
}

/// A failed call to `GET /v2/logs`.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ApiError {
    /// 401/403: the credentials were refused.
    #[error(
        "Gong refused the credentials (HTTP {status}){}",
        details(request_id, messages)
    )]
    Unauthorized {
        /// HTTP status.
        status: u16,
        /// Gong's `requestId`, if the body had one.
        request_id: Option<String>,
        /// Gong's error messages.
        messages: Vec<String>,
    },
    /// 429: over Gong's rate limit or daily quota.
    #[error(
        "rate limited by Gong (HTTP 429{}){}",
        retry_after_text(retry_after),
        details(request_id, messages)
    )]
    RateLimited {
        /// How long Gong asked to wait.
        retry_after: Option<Duration>,
        /// Gong's `requestId`, if the body had one.
        request_id: Option<String>,
        /// Gong's error messages.
        messages: Vec<String>,
    },
    /// 400: Gong rejected the request (bad parameters, or an expired or
    /// rejected cursor).
    #[error(
        "Gong rejected the request (HTTP 400){}",
        details(request_id, messages)
    )]
    BadRequest {
        /// Gong's `requestId`, if the body had one.
        request_id: Option<String>,
        /// Gong's error messages.
        messages: Vec<String>,
    },
    /// 5xx, with a JSON body or not (a proxy's HTML 502).
    #[error(
        "Gong server error (HTTP {status}{}){}",
        retry_after_text(retry_after),
        details(request_id, messages)
    )]
    Server {
        /// HTTP status.
        status: u16,
        /// `Retry-After`, if sent (503).
        retry_after: Option<Duration>,
        /// Gong's `requestId`, if the body had one.
        request_id: Option<String>,
        /// Gong's error messages, if the body was Gong's JSON.
        messages: Vec<String>,
    },
    /// 404 whose body is not Gong's JSON: not "no records" but a wrong URL.
    #[error(
        "the server answered HTTP 404 with a body that is not Gong's: check the base URL, which must be the host only (e.g. https://company-17.api.gong.io, no /v2/logs)"
    )]
    NotGong,
    /// A 404 with Gong's body on a cursor page: Gong lost the query half-way.
    #[error(
        "Gong answered HTTP 404 on a cursor page (a page after the first){}",
        details(request_id, messages)
    )]
    NotFoundMidway {
        /// Gong's `requestId`, if the body had one.
        request_id: Option<String>,
        /// Gong's error messages.
        messages: Vec<String>,
    },
    /// A success status whose body is not JSON (a proxy's or a login page).
    #[error(
        "the server answered HTTP {status} with {what}, not Gong's JSON page: check the base URL and any proxy in between"
    )]
    NotJson {
        /// HTTP status.
        status: u16,
        /// Content type and size of the body.
        what: String,
    },
    /// A success status whose body is JSON but not Gong's page (a key
    /// twice, a member of the wrong type): no more a glitch than HTML.
    #[error(
        "the server answered with a {what} that is not Gong's page ({reason}): check the base URL and any proxy in between"
    )]
    NotAPage {
        /// The body's size.
        what: String,
        /// Why it does not decode.
        reason: String,
    },
    /// The server handed a cursor too long to send back.
    #[error(
        "the server handed a cursor of {len} bytes (limit {limit}: Gong's are a few hundred, and servers refuse URLs over about 8 KB)"
    )]
    CursorTooLong {
        /// Its length, in bytes.
        len: usize,
        /// The longest accepted.
        limit: usize,
    },
    /// The body is larger than the client accepts.
    #[error("Gong's response is larger than the {} MiB limit", limit / (1024 * 1024))]
    TooLarge {
        /// The limit, in bytes.
        limit: u64,
    },
    /// A `Retry-After` (429, 503) longer than the policy waits for.
    #[error(
        "Gong asked to wait {} (until {until}), longer than the {} this run waits (HTTP {status})",
        crate::duration::human_duration(*wait),
        crate::duration::human_duration(*bound)
    )]
    WaitTooLong {
        /// HTTP status.
        status: u16,
        /// How long the server asked to wait.
        wait: Duration,
        /// Until when, by the local clock (whole seconds, rounded up).
        until: jiff::Timestamp,
        /// The longest wait the policy allows.
        bound: Duration,
    },
    /// The request budget (`--max-requests`) is used up; nothing was sent.
    #[error("the request budget of {max} requests is used up")]
    RequestBudget {
        /// The budget.
        max: u64,
    },
    /// Any other status.
    #[error("unexpected HTTP {status} from Gong{}", details(request_id, messages))]
    Unexpected {
        /// HTTP status.
        status: u16,
        /// Gong's `requestId`, if the body had one.
        request_id: Option<String>,
        /// Gong's error messages.
        messages: Vec<String>,
    },
    /// Connecting failed, the connection dropped, or a timeout passed.
    #[error("{kind}: {}", causes(error))]
    Transport {
        /// What went wrong, in words.
        kind: &'static str,
        /// The underlying error (its URL removed); its causes are in the
        /// message, so it is not also a `source()` (a chain printer would
        /// show them twice).
        error: reqwest::Error,
    },
    /// The TLS handshake failed (a certificate refused, no version in
    /// common, not TLS at all): the same handshake fails the same way, so
    /// it is not retried.
    #[error("{}", failure.describe(host))]
    Tls {
        /// The host connected to.
        host: String,
        /// Why.
        failure: crate::tls::TlsFailure,
    },
    /// The response body was cut off or could not be decoded.
    #[error("Gong's response could not be read: {0}")]
    Body(String),
    /// The request could not be built.
    #[error("invalid request: {0}")]
    InvalidRequest(String),
    /// The proxy requests go through failed them (not retried: another
    /// attempt meets the same proxy).
    #[error("{}", proxy_text(*failure, proxy, setting, detail))]
    Proxy {
        /// Its `host:port` (never its credentials).
        proxy: String,
        /// Where the proxy setting came from (`--proxy`, `HTTPS_PROXY`,
        /// a profile).
        setting: String,
        /// What happened.
        failure: ProxyFailure,
        /// The cause, for an unreachable proxy (e.g. "Connection refused").
        detail: String,
    },
    /// The server redirected to another origin (scheme, host or port), or
    /// too often: not followed.
    #[error("{0}")]
    Redirect(String),
}

/// How a proxy failed its request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ProxyFailure {
    /// No connection to the proxy could be made.
    Unreachable,
    /// 407: the proxy wants (other) credentials.
    AuthRequired,
    /// The proxy refused to open a tunnel (its CONNECT answer was 403, 502
    /// or another error) or closed it.
    Refused,
}

fn proxy_text(failure: ProxyFailure, proxy: &str, setting: &str, detail: &str) -> String {
    let from = format!("(the proxy from {setting})");
    match failure {
        ProxyFailure::Unreachable => {
            format!("could not connect to the proxy {proxy} {from}: {detail}")
        }
        ProxyFailure::AuthRequired => format!(
            "the proxy {proxy} {from} refused the request: HTTP 407 Proxy Authentication Required"
        ),
        ProxyFailure::Refused => format!(
            "the proxy {proxy} {from} refused to open a tunnel to the server (its CONNECT answer was an error status)"
        ),
    }
}

fn details(request_id: &Option<String>, messages: &[String]) -> String {
    let mut out = String::new();
    if !messages.is_empty() {
        out.push_str(": ");
        out.push_str(&messages.join("; "));
    }
    if let Some(id) = request_id {
        out.push_str(&format!(" [requestId {id}]"));
    }
    out
}

fn retry_after_text(retry_after: &Option<Duration>) -> String {
    match retry_after {
        Some(d) => format!(", Retry-After {}", crate::duration::human_duration(*d)),
        None => String::new(),
    }
}

impl ApiError {
    /// The wait the server asked for, if any.
    pub fn retry_after(&self) -> Option<Duration> {
        match self {
            Self::RateLimited { retry_after, .. } | Self::Server { retry_after, .. } => {
                *retry_after
            }
            _ => None,
        }
    }

    /// Gong's `requestId` for this failure, if known.
    pub fn request_id(&self) -> Option<&str> {
        match self {
            Self::Unauthorized { request_id, .. }
            | Self::RateLimited { request_id, .. }
            | Self::BadRequest { request_id, .. }
            | Self::Server { request_id, .. }
            | Self::Unexpected { request_id, .. }
            | Self::NotFoundMidway { request_id, .. } => request_id.as_deref(),
            _ => None,
        }
    }

    /// The HTTP status, if a response arrived.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Unauthorized { status, .. }
            | Self::Server { status, .. }
            | Self::Unexpected { status, .. } => Some(*status),
            Self::RateLimited { .. } => Some(429),
            Self::BadRequest { .. } => Some(400),
            Self::NotGong | Self::NotFoundMidway { .. } => Some(404),
            Self::NotJson { status, .. } | Self::WaitTooLong { status, .. } => Some(*status),
            Self::Proxy {
                failure: ProxyFailure::AuthRequired,
                ..
            } => Some(407),
            _ => None,
        }
    }

    fn from_status(
        status: u16,
        retry_after: Option<Duration>,
        body: Option<ErrorResponse>,
    ) -> Self {
        let (request_id, messages) = match body {
            Some(b) => bounded(b),
            None => (None, Vec::new()),
        };
        match status {
            400 => Self::BadRequest {
                request_id,
                messages,
            },
            401 | 403 => Self::Unauthorized {
                status,
                request_id,
                messages,
            },
            404 => Self::NotGong,
            429 => Self::RateLimited {
                retry_after,
                request_id,
                messages,
            },
            500..=599 => Self::Server {
                status,
                retry_after,
                request_id,
                messages,
            },
            _ => Self::Unexpected {
                status,
                request_id,
                messages,
            },
        }
    }

    pub(crate) fn not_found_midway(body: ErrorResponse) -> Self {
        let (request_id, messages) = bounded(body);
        Self::NotFoundMidway {
            request_id,
            messages,
        }
    }

    /// Classifies a progenitor error. A documented 404 never reaches here:
    /// the caller maps it to an empty page first.
    pub(crate) async fn from_progenitor(error: progenitor_client::Error<ErrorResponse>) -> Self {
        use progenitor_client::Error as E;
        match error {
            E::InvalidRequest(msg) => Self::InvalidRequest(msg),
            E::CommunicationError(e) | E::InvalidUpgrade(e) => Self::transport(e),
            E::ErrorResponse(rv) => {
                let status = rv.status().as_u16();
                let retry_after = retry_after(rv.headers());
                Self::from_status(status, retry_after, Some(rv.into_inner()))
            }
            E::ResponseBodyError(e) => Self::Body(format!("body cut off: {}", e.without_url())),
            // The `exec` hook let it through as JSON: it is JSON that is
            // not the page (or error) the spec describes.
            E::InvalidResponsePayload(bytes, e) => Self::NotAPage {
                what: format!("{}-byte JSON body", bytes.len()),
                reason: e.to_string(),
            },
            E::UnexpectedResponse(response) => {
                let status = response.status().as_u16();
                let retry_after = retry_after(response.headers());
                // Undocumented status with a JSON body (checked by the hook):
                // read Gong's requestId and messages if they are there.
                let body = match response.bytes().await {
                    Ok(bytes) => serde_json::from_slice::<ErrorResponse>(&bytes).ok(),
                    Err(_) => None,
                };
                Self::from_status(status, retry_after, body)
            }
            E::Custom(text) => {
                if let Some(verdict) = Verdict::decode(&text) {
                    return match verdict {
                        Verdict::TooLarge { limit } => Self::TooLarge { limit },
                        Verdict::BodyCut(text) => Self::Body(format!("body cut off: {text}")),
                        Verdict::NotGong404 { .. } => Self::NotGong,
                        Verdict::NotJson { status, what } => Self::NotJson { status, what },
                    };
                }
                match NonJsonStatus::decode(&text) {
                    Some(s) => Self::from_status(s.status, s.retry_after, None),
                    None => Self::InvalidRequest(text),
                }
            }
        }
    }

    fn transport(e: reqwest::Error) -> Self {
        if e.is_redirect() {
            let text = std::error::Error::source(&e)
                .map(|inner| inner.to_string())
                .unwrap_or_else(|| e.without_url().to_string());
            return Self::Redirect(text);
        }
        if let Some(failure) = crate::tls::TlsFailure::find(&e) {
            let host = e.url().and_then(|u| u.host_str()).unwrap_or_default();
            return Self::Tls {
                host: host.to_owned(),
                failure,
            };
        }
        let kind = if e.is_timeout() {
            "request to Gong timed out"
        } else if e.is_connect() {
            "could not connect to Gong"
        } else {
            "connection to Gong failed"
        };
        Self::Transport {
            kind,
            error: e.without_url(),
        }
    }
}
