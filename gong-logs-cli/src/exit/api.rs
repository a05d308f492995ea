//! An `ExportError` (and the `ApiError` inside it) mapped to its exit
//! code and a hint saying what to do.

use anyhow::anyhow;
use gong_logs_api::ApiError;
use gong_logs_api::export::{ExportError, ExportOptions};
use gong_logs_api::guard::{GuardError, OutOfRange};

use super::{AUTH, FAILURE, Failure, RATE_LIMITED};

/// Maps an export failure to its exit code and a message saying what to do,
/// naming the host the requests went to.
pub(crate) fn export_failure(error: &ExportError, options: &ExportOptions, host: &str) -> Failure {
    let connect_hint = format!(
        "check that {host} is the right host (the base URL), that its name resolves, that it accepts connections on that port and speaks HTTPS (or http:// to loopback), and any proxy in between"
    );
    let (code, hint) = code_and_hint(error, options, &connect_hint);
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

/// The exit code of an export failure and what to do about it
/// (`connect_hint` for a connection that could not be made).
fn code_and_hint<'a>(
    error: &ExportError,
    options: &ExportOptions,
    connect_hint: &'a str,
) -> (u8, &'a str) {
    match error.api_error() {
        Some(ApiError::WaitTooLong { status, .. }) => (
            if *status == 429 {
                RATE_LIMITED
            } else {
                FAILURE
            },
            "rerun after that, or raise --max-wait",
        ),
        // Their messages say what to check.
        Some(ApiError::Redirect(_) | ApiError::NotAPage { .. }) => (FAILURE, ""),
        Some(ApiError::CursorTooLong { .. }) => (
            FAILURE,
            "the server does not page like Gong: check the base URL and any proxy in between",
        ),
        Some(ApiError::RequestBudget { .. }) => (
            RATE_LIMITED,
            "the --max-requests budget is used up: rerun later, or raise --max-requests",
        ),
        Some(ApiError::NotFoundMidway { .. }) => (
            FAILURE,
            "the export stopped at that page; nothing after it is reported as exported",
        ),
        Some(ApiError::TooLarge { .. }) => (FAILURE, "check the base URL and any proxy in between"),
        Some(e @ ApiError::Transport { .. }) if e.is_connect_failure() => (FAILURE, connect_hint),
        None if matches!(
            error,
            ExportError::Protocol {
                source: GuardError::OutOfRange { .. }
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
        None if matches!(error, ExportError::Protocol { .. }) => (
            FAILURE,
            "the server does not page like Gong: check the base URL and any proxy in between",
        ),
        Some(ApiError::Unauthorized { .. }) => (
            AUTH,
            "check the access key and secret (or that the token has scope api:logs:read) and the base URL",
        ),
        Some(ApiError::RateLimited { .. }) => (
            RATE_LIMITED,
            "Gong allows 3 requests/s and 10,000 per day per company: wait, lower --rate-limit, or raise --max-retries",
        ),
        Some(ApiError::BadRequest { .. }) => (
            FAILURE,
            "check --from/--to (Gong keeps AccessLog for 14 days only)",
        ),
        Some(ApiError::NotGong) => (
            FAILURE,
            "check --base-url / GONG_BASE_URL (gong-logs doctor shows where it came from)",
        ),
        Some(ApiError::Transport { .. }) => (
            FAILURE,
            "check the network and the base URL, then retry (gong-logs doctor tests the connection)",
        ),
        Some(ApiError::Server { .. } | ApiError::Body(_)) => (
            FAILURE,
            "Gong is having trouble: retry later, and check https://status.gong.io if it persists",
        ),
        Some(_) if matches!(error, ExportError::CursorLoop { .. }) => (
            FAILURE,
            "retry later, and check https://status.gong.io if it persists",
        ),
        Some(ApiError::Unexpected { .. }) => (
            FAILURE,
            "retry later; if it persists, check the base URL (gong-logs doctor) and https://status.gong.io",
        ),
        Some(_) | None => (
            FAILURE,
            "retry; if it happens again, it is a bug: please report it with this message",
        ),
    }
}
