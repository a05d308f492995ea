//! The one mapping of an API failure to its exit code and what to do:
//! [`advice`] (each `ApiError`, worded for the command that met it),
//! used by `fetch` ([`export_failure`]: an `ExportError`, the `ApiError`
//! inside it) and by `doctor` ([`probe_failure`]).

use anyhow::anyhow;
use gong_logs_api::export::{ExportError, ExportOptions};
use gong_logs_api::guard::{GuardError, OutOfRange};
use gong_logs_api::{ApiError, Probe, ProxyFailure, TlsFailure};

use super::{AUTH, FAILURE, Failure, RATE_LIMITED};

/// Maps an export failure to its exit code and a message saying what to do,
/// naming the host the requests went to.
pub(crate) fn export_failure(error: &ExportError, options: &ExportOptions, host: &str) -> Failure {
    let connect_hint = format!(
        "check that {host} is the right host (the base URL), that its name resolves, that it accepts connections on that port and speaks HTTPS (or http:// to loopback), and any proxy in between"
    );
    let (code, hint) = export_advice(error, options, &connect_hint);
    // The api crate's messages already carry their causes.
    let mut message = error.to_string();
    if let ExportError::Api { attempts, .. } = error
        && *attempts > 1
    {
        message.push_str(&format!(" (after {attempts} attempts)"));
    }
    if !hint.is_empty() {
        message.push_str(&format!(": {hint}"));
    }
    if !message.contains(host) {
        message.push_str(&format!(" (server: {host})"));
    }
    Failure::new(code, anyhow!(super::one_line(&message)))
}

/// What the user ran: each hint names that command's flags and next step.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Command<'a> {
    /// `fetch`; `connect` says what to check when no connection was made.
    Fetch { connect: &'a str },
    /// `doctor`'s probe (one request, no retry).
    Doctor,
}

/// The exit code of `error` and what to do about it, for `command`;
/// `None` when there is nothing specific to say (the caller's fallback).
pub(crate) fn advice<'a>(error: &ApiError, command: Command<'a>) -> Option<(u8, &'a str)> {
    let fetch = matches!(command, Command::Fetch { .. });
    Some(match (error, command) {
        (ApiError::WaitTooLong { status, .. }, Command::Fetch { .. }) => (
            if *status == 429 {
                RATE_LIMITED
            } else {
                FAILURE
            },
            "rerun after that, or raise --max-wait",
        ),
        // Their messages say what to check.
        (ApiError::Redirect(_) | ApiError::NotAPage { .. }, Command::Fetch { .. }) => (FAILURE, ""),
        (ApiError::CursorTooLong { .. }, Command::Fetch { .. }) => (FAILURE, NOT_LIKE_GONG),
        (ApiError::RequestBudget { .. }, Command::Fetch { .. }) => (
            RATE_LIMITED,
            "the --max-requests budget is used up: rerun later, or raise --max-requests",
        ),
        (ApiError::NotFoundMidway { .. }, Command::Fetch { .. }) => (
            FAILURE,
            "the export stopped at that page; nothing after it is reported as exported",
        ),
        (ApiError::TooLarge { .. }, Command::Fetch { .. }) => {
            (FAILURE, "check the base URL and any proxy in between")
        }
        (ApiError::Proxy { failure, .. }, _) => (FAILURE, proxy_hint(*failure)),
        (ApiError::Tls { failure, .. }, _) => (FAILURE, tls_hint(failure)),
        (e @ ApiError::Transport { .. }, Command::Fetch { connect }) if e.is_connect_failure() => {
            (FAILURE, connect)
        }
        (ApiError::Unauthorized { .. }, _) if fetch => (
            AUTH,
            "check the access key and secret (or that the token has scope api:logs:read) and the base URL",
        ),
        (ApiError::Unauthorized { .. }, _) => (
            AUTH,
            "check the access key and secret (or the bearer token) and that the base URL is your company's",
        ),
        (ApiError::RateLimited { .. }, _) if fetch => (
            RATE_LIMITED,
            "Gong allows 3 requests/s and 10,000 per day per company: wait, lower --rate-limit, or raise --max-retries",
        ),
        (ApiError::RateLimited { .. }, _) => (
            RATE_LIMITED,
            "the daily quota or the per-second limit is used up; retry later",
        ),
        (ApiError::BadRequest { .. }, Command::Fetch { .. }) => (
            FAILURE,
            "check --from/--to (Gong keeps AccessLog for 14 days only)",
        ),
        (ApiError::NotGong, _) if fetch => (
            FAILURE,
            "check --base-url / GONG_BASE_URL (gong-logs doctor shows where it came from)",
        ),
        (ApiError::NotGong, _) => (FAILURE, "check the base URL (https://COMPANY.api.gong.io)"),
        (ApiError::Transport { .. }, Command::Fetch { .. }) => (
            FAILURE,
            "check the network and the base URL, then retry (gong-logs doctor tests the connection)",
        ),
        (ApiError::Server { .. } | ApiError::Body(_), Command::Fetch { .. }) => (
            FAILURE,
            "Gong is having trouble: retry later, and check https://status.gong.io if it persists",
        ),
        (ApiError::Server { .. }, Command::Doctor) => (
            FAILURE,
            "Gong had a problem; retry later, and check https://status.gong.io if it persists",
        ),
        _ => return None,
    })
}

/// What to check when the proxy failed the request.
fn proxy_hint(failure: ProxyFailure) -> &'static str {
    match failure {
        ProxyFailure::AuthRequired => {
            "check the proxy credentials (http://USER:PASSWORD@HOST:PORT in that setting)"
        }
        ProxyFailure::Refused => {
            "the proxy does not let requests through to this server: ask its administrators, or set NO_PROXY if the server is reachable directly"
        }
        _ => {
            "check that setting's host and port and that the proxy is running (gong-logs doctor shows the proxy used), or --proxy none to connect directly"
        }
    }
}

/// What to do about a failed TLS handshake.
fn tls_hint(failure: &TlsFailure) -> &'static str {
    match failure {
        TlsFailure::Untrusted { .. } => {
            "if your network inspects TLS, pass its CA with --ca-cert FILE (or GONG_CA_CERT, or ca_cert in the profile)"
        }
        TlsFailure::WrongName { .. } => {
            "check the base URL (its host must be one the certificate names), and any proxy that intercepts TLS"
        }
        TlsFailure::Expired { .. } => {
            "check this machine's clock; if it is right, the server's certificate must be renewed (or a proxy that intercepts TLS presents an old one)"
        }
        TlsFailure::NotTls(_) => {
            "check the base URL's scheme and port (https:// to a server that speaks TLS)"
        }
        _ => "check the base URL and any proxy that intercepts TLS",
    }
}

/// The hint of a server that answers, but not as Gong pages.
const NOT_LIKE_GONG: &str =
    "the server does not page like Gong: check the base URL and any proxy in between";

/// The exit code of an export failure and what to do about it
/// (`connect_hint` for a connection that could not be made): the
/// [`advice`] of its `ApiError`, else what the engine's own errors need.
fn export_advice<'a>(
    error: &ExportError,
    options: &ExportOptions,
    connect_hint: &'a str,
) -> (u8, &'a str) {
    let fetch = Command::Fetch {
        connect: connect_hint,
    };
    match error.api_error() {
        Some(api) => advice(api, fetch).unwrap_or(match (error, api) {
            (ExportError::CursorLoop { .. }, _) => (
                FAILURE,
                "retry later, and check https://status.gong.io if it persists",
            ),
            (_, ApiError::Unexpected { .. }) => (
                FAILURE,
                "retry later; if it persists, check the base URL (gong-logs doctor) and https://status.gong.io",
            ),
            _ => (FAILURE, BUG),
        }),
        None if matches!(
            error,
            ExportError::Protocol {
                error: GuardError::OutOfRange { .. }
                    | GuardError::Backwards { .. }
                    | GuardError::BadTime { .. },
                ..
            }
        ) && options.out_of_range == OutOfRange::Error =>
        {
            (
                FAILURE,
                "nothing past it was written; to skip such entries (counted in the summary), add --skip-out-of-range",
            )
        }
        None if matches!(error, ExportError::Protocol { .. }) => (FAILURE, NOT_LIKE_GONG),
        None => (FAILURE, BUG),
    }
}

/// The hint of a failure nothing else explains.
const BUG: &str = "retry; if it happens again, it is a bug: please report it with this message";

/// The failure `doctor`'s probe found, if any: no answer (TLS or the
/// connection), or the [`advice`] of the answer's error.
pub(crate) fn probe_failure(probe: &Probe) -> Option<Failure> {
    let error = probe.error.as_ref();
    if let Some(e @ ApiError::Tls { failure, .. }) = error {
        return Some(Failure::new(
            FAILURE,
            anyhow!("{}: {}", super::one_line(&e.to_string()), tls_hint(failure)),
        ));
    }
    if probe.status.is_none() {
        let error = error
            .map(|e| super::one_line(&e.to_string()))
            .unwrap_or_default();
        return Some(Failure::new(
            FAILURE,
            if probe.tls_failed {
                anyhow!(
                    "TLS handshake with the base URL failed: {error}: check the base URL (https://COMPANY.api.gong.io) and any proxy that intercepts TLS"
                )
            } else {
                anyhow!(
                    "cannot reach the base URL: {error}: check the network, a proxy, and the base URL; then retry"
                )
            },
        ));
    }
    let e = error?;
    if let ApiError::Unauthorized { status: 403, .. } = e {
        return Some(Failure::new(
            AUTH,
            anyhow!(
                "Gong refused access to /v2/logs (HTTP 403): an OAuth token needs scope api:logs:read; an access key needs an admin with access to audit logs: fix the credentials' permissions, then rerun gong-logs doctor"
            ),
        ));
    }
    let (code, hint) = advice(e, Command::Doctor)
        .unwrap_or((FAILURE, "check the base URL, then rerun gong-logs doctor"));
    Some(Failure::new(code, anyhow!("{e}: {hint}")))
}
