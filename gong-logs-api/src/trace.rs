//! One `tracing` event per HTTP request of the engine (level DEBUG, shown
//! by `gong-logs -vv`): method, path and query (the cursor's value left
//! out), status, response bytes, milliseconds, the time window. Never a
//! header, so never a credential.

use std::cell::Cell;
use std::time::Instant;

use crate::client::{GongClient, Page, PageRequest};
use crate::error::ApiError;
use crate::wire::RESPONSE;

/// The request line as shown: method, path and query, the cursor's value
/// replaced by `…` (it is long and means nothing to a person).
pub(crate) fn request_line(request: &PageRequest) -> String {
    let mut line = format!(
        "GET /v2/logs?logType={}&fromDateTime={}",
        request.log_type, request.from
    );
    if let Some(to) = &request.to {
        line.push_str(&format!("&toDateTime={to}"));
    }
    if request.cursor.is_some() {
        line.push_str("&cursor=…");
    }
    line
}

/// [`GongClient::fetch_page`], with one DEBUG event when it ends; also
/// the HTTP status of the response, if one arrived (`None`: no response,
/// a transport failure), for the count of requests by status.
pub(crate) async fn fetch_page(
    client: &GongClient,
    request: &PageRequest,
    attempt: u32,
) -> (Result<Page, ApiError>, Option<u16>) {
    let started = Instant::now();
    let (result, seen) = RESPONSE
        .scope(Cell::new(None), async {
            let result = client.fetch_page(request).await;
            (result, RESPONSE.with(Cell::get))
        })
        .await;
    let status = seen
        .map(|s| s.status)
        .or_else(|| result.as_ref().err().and_then(ApiError::status));
    if tracing::enabled!(tracing::Level::DEBUG) {
        trace_event(request, &result, seen, status, started, attempt);
    }
    (result, status)
}

fn trace_event(
    request: &PageRequest,
    result: &Result<Page, ApiError>,
    seen: Option<crate::wire::Seen>,
    status: Option<u16>,
    started: Instant,
    attempt: u32,
) {
    let ms = started.elapsed().as_millis() as u64;
    let status = status.map_or_else(|| "no response".to_owned(), |s| s.to_string());
    let bytes = seen
        .and_then(|s| s.bytes)
        .map_or_else(|| "?".to_owned(), |b| b.to_string());
    let window = format!(
        "{}..{}",
        request.from,
        request.to.as_deref().unwrap_or("latest")
    );
    let entries = result.as_ref().map_or(0, |p| p.entries.len());
    tracing::debug!(
        "{} -> {status}, {bytes} bytes, {ms} ms, window {window}, {entries} entries, attempt {attempt}",
        request_line(request)
    );
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::log_type::LogType;

    #[test]
    fn the_cursor_value_is_left_out() {
        let request = PageRequest {
            log_type: LogType::AccessLog,
            from: "2024-01-01T00:00:00Z".into(),
            to: Some("2024-01-02T00:00:00Z".into()),
            cursor: Some("eyJzZWNyZXQiOjF9".into()),
        };
        let line = request_line(&request);
        assert_eq!(
            line,
            "GET /v2/logs?logType=AccessLog&fromDateTime=2024-01-01T00:00:00Z&toDateTime=2024-01-02T00:00:00Z&cursor=…"
        );
    }
}
