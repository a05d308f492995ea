//! Decoding of realistic responses for each log type and of every documented
//! error body, over real HTTP from a recording server.

mod support;

use gong_logs_api::{ApiError, Credentials, LogEntry, LogType, PageRequest};
use support::{Recorder, Scripted};

const TYPES: [LogType; 5] = [
    LogType::AccessLog,
    LogType::UserActivityLog,
    LogType::UserCallPlay,
    LogType::ExternallySharedCallAccess,
    LogType::ExternallySharedCallPlay,
];

fn fixture(log_type: LogType) -> String {
    let path = format!(
        "{}/tests/fixtures/{log_type}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"))
}

fn request(log_type: LogType) -> PageRequest {
    PageRequest {
        log_type,
        from: "2024-03-01T00:00:00Z".into(),
        to: None,
        cursor: None,
    }
}

#[tokio::test]
async fn decodes_each_log_type_losslessly() {
    let server = Recorder::start().await;
    let client = server.client(Credentials::bearer("t"));
    for log_type in TYPES {
        let body = fixture(log_type);
        server.push(Scripted::json(200, body.clone()));
        let page = client.fetch_page(&request(log_type)).await.unwrap();

        // Every entry is the exact text Gong sent: a substring of the body.
        let wire: serde_json::Value = serde_json::from_str(&body).unwrap();
        let wire_entries = wire["logEntries"].as_array().unwrap();
        assert_eq!(page.entries.len(), wire_entries.len());
        for (entry, wire_entry) in page.entries.iter().zip(wire_entries) {
            assert!(
                body.contains(entry.json()),
                "exact text kept: {}",
                entry.json()
            );
            let reparsed: serde_json::Value = serde_json::from_str(entry.json()).unwrap();
            assert_eq!(&reparsed, wire_entry);
        }

        let summary: Vec<serde_json::Value> = page
            .entries
            .iter()
            .map(|e| {
                serde_json::json!({
                    "eventTime": e.event_time().map(|t| t.to_string()),
                    "userId": e.user_id(),
                    "userEmail": e.user_email(),
                    "json": e.json(),
                })
            })
            .collect();
        insta::assert_json_snapshot!(
            format!("decoded_{log_type}"),
            serde_json::json!({
                "cursor": page.cursor,
                "totalRecords": page.total_records,
                "pageNumber": page.page_number,
                "requestId": page.request_id,
                "entries": summary,
            })
        );
    }
}

/// A field the spec does not name, the exact `eventTime` text, integers above
/// 2^53 and key order survive decoding and re-encoding.
#[test]
fn unknown_fields_and_exact_text_survive_round_trip() {
    let body = fixture(LogType::UserActivityLog);
    let decoded: gong_logs_api::types::LogsResponse = serde_json::from_str(&body).unwrap();
    let reencoded = serde_json::to_string(&decoded).unwrap();
    for entry in &decoded.log_entries {
        assert!(reencoded.contains(entry.json()));
        assert!(body.contains(entry.json()));
    }
    let second = &decoded.log_entries[1];
    assert!(second.json().contains(r#""ipCountry": "DE""#));
    assert!(
        second
            .json()
            .contains(r#""eventTime": "2024-03-01T09:30:00.000+00:00""#)
    );
    assert!(decoded.log_entries[0].json().contains("9007199254740993"));

    let mut out = Vec::new();
    second.write_with_log_type("UserActivityLog", &mut out);
    let text = String::from_utf8(out).unwrap();
    assert!(
        text.starts_with(r#"{"logType":"UserActivityLog","#),
        "{text}"
    );
    assert!(!text.contains('\n'), "one entry, one line: {text}");
    assert_eq!(
        text.replacen(r#""logType":"UserActivityLog","#, "", 1),
        second.json().replace('\n', " ")
    );
}

#[test]
fn entries_that_are_not_objects_are_rejected_and_odd_values_tolerated() {
    assert!(LogEntry::from_json("[1,2]").is_err());
    assert!(LogEntry::from_json("\"x\"").is_err());
    let odd = LogEntry::from_json(r#"{"userId": 12345678901234567890, "eventTime": "not a time"}"#)
        .unwrap();
    assert_eq!(odd.user_id(), Some("12345678901234567890"));
    assert_eq!(odd.event_time(), None);
    let empty = LogEntry::from_json("{}").unwrap();
    let mut out = Vec::new();
    empty.write_with_log_type("AccessLog", &mut out);
    assert_eq!(out, br#"{"logType":"AccessLog"}"#);
    let multi_line = LogEntry::from_json("{\"a\":\n \"x\\ny\",\r\n\"b\": 1}").unwrap();
    let mut out = Vec::new();
    multi_line.write_with_log_type("AccessLog", &mut out);
    assert_eq!(
        String::from_utf8(out).unwrap(),
        "{\"logType\":\"AccessLog\",\"a\":  \"x\\ny\",  \"b\": 1}"
    );
    let has_type = LogEntry::from_json(r#"{"logType":"X","a":1}"#).unwrap();
    let mut out = Vec::new();
    has_type.write_with_log_type("AccessLog", &mut out);
    // The label is authoritative; the entry's own value is kept, moved.
    assert_eq!(out, br#"{"logType":"AccessLog","gongLogType":"X","a":1}"#);
}

fn describe(result: Result<gong_logs_api::Page, ApiError>) -> serde_json::Value {
    match result {
        Ok(page) => serde_json::json!({
            "ok": { "entries": page.entries.len(), "not_found": page.not_found, "requestId": page.request_id }
        }),
        Err(e) => serde_json::json!({
            "error": e.to_string(),
            "status": e.status(),
            "retryable": e.is_retryable(),
            "retry_after_s": e.retry_after().map(|d| d.as_secs()),
            "requestId": e.request_id(),
        }),
    }
}

/// Every documented error body, and the undocumented answers a proxy gives.
#[tokio::test]
async fn error_responses_are_classified() {
    let server = Recorder::start().await;
    let client = server.client(Credentials::basic("AK", "SECRET"));
    let gong = |id: &str, msg: &str| format!(r#"{{"requestId":"{id}","errors":["{msg}"]}}"#);
    let cases: Vec<(&str, Scripted)> = vec![
        (
            "400 documented",
            Scripted::json(400, gong("r400", "fromDateTime is malformed")),
        ),
        (
            "401 documented",
            Scripted::json(401, gong("r401", "Access denied")),
        ),
        (
            "404 documented: empty page",
            Scripted::json(
                404,
                gong(
                    "r404",
                    "No logs found corresponding to the specified filters",
                ),
            ),
        ),
        (
            "429 documented",
            Scripted::json(429, gong("r429", "API request limit exceeded"))
                .with_header("retry-after", "7"),
        ),
        (
            "500 documented",
            Scripted::json(500, gong("r500", "An error has occurred")),
        ),
        (
            "403 JSON, undocumented",
            Scripted::json(403, gong("r403", "Missing scope api:logs:read")),
        ),
        (
            "503 JSON with Retry-After",
            Scripted::json(503, gong("r503", "maintenance")).with_header("retry-after", "2"),
        ),
        (
            "502 HTML from a proxy",
            Scripted {
                status: 502,
                content_type: "text/html",
                headers: vec![],
                body: "<html><body><h1>502 Bad Gateway</h1></body></html>".into(),
            },
        ),
        (
            "429 plain text from a gateway",
            Scripted {
                status: 429,
                content_type: "text/plain",
                headers: vec![("retry-after", "3".into())],
                body: "slow down".into(),
            },
        ),
        (
            "500 HTML",
            Scripted {
                status: 500,
                content_type: "text/html",
                headers: vec![],
                body: "<h1>oops</h1>".into(),
            },
        ),
        (
            "404 HTML: wrong base URL",
            Scripted {
                status: 404,
                content_type: "text/html",
                headers: vec![],
                body: "<h1>Not Found</h1>".into(),
            },
        ),
        (
            "200 with invalid JSON",
            Scripted::json(200, r#"{"logEntries":[{"eventTime":"2024-"#),
        ),
        (
            "200 with a non-object entry",
            Scripted::json(200, r#"{"logEntries":[42]}"#),
        ),
        (
            "410 JSON, unexpected",
            Scripted::json(410, gong("r410", "gone")),
        ),
    ];
    let mut table = Vec::new();
    for (name, scripted) in cases {
        server.push(scripted);
        let result = client.fetch_page(&request(LogType::AccessLog)).await;
        let described = describe(result);
        assert!(!described.to_string().contains("SECRET"));
        table.push(serde_json::json!({ "case": name, "result": described }));
    }
    insta::assert_json_snapshot!(table);
}

#[tokio::test]
async fn connection_refused_is_a_retryable_transport_error() {
    // Bind then drop a listener to get a port nobody listens on.
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let client = gong_logs_api::GongClient::new(gong_logs_api::ClientConfig::new(
        format!("http://127.0.0.1:{port}").parse().unwrap(),
        Credentials::bearer("t"),
    ))
    .unwrap();
    let err = client
        .fetch_page(&request(LogType::AccessLog))
        .await
        .unwrap_err();
    assert!(err.is_retryable(), "{err}");
    assert!(matches!(err, ApiError::Transport { .. }), "{err:?}");
    assert!(
        err.to_string().starts_with("could not connect to Gong"),
        "{err}"
    );
    // Its causes are in the message, so not also a `source()`: a chain
    // printer (anyhow's `{:#}`) shows each once.
    assert!(err.to_string().contains("Connection refused"), "{err}");
    assert!(std::error::Error::source(&err).is_none(), "{err:?}");
}
