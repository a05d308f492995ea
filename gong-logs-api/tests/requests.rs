//! The exact requests the client sends for a table of inputs, captured by a
//! recording server on loopback.

mod support;

use gong_logs_api::{Credentials, LogType, PageRequest};
use support::{Recorder, stable};

#[tokio::test]
async fn requests_for_a_table_of_inputs() {
    let server = Recorder::start().await;
    let basic = Credentials::basic("AK", "s3cr3t:with:colons");
    let bearer = Credentials::bearer("tok-123");
    server.expect_auth(&[
        // base64("AK:s3cr3t:with:colons")
        "Basic QUs6czNjcjN0OndpdGg6Y29sb25z",
        "Bearer tok-123",
    ]);

    let cases: Vec<(&str, Credentials, PageRequest)> = vec![
        (
            "basic, from only",
            basic.clone(),
            PageRequest {
                log_type: LogType::AccessLog,
                from: "2024-03-01T00:00:00Z".into(),
                to: None,
                cursor: None,
            },
        ),
        (
            "basic, from and to with offsets",
            basic.clone(),
            PageRequest {
                log_type: LogType::UserActivityLog,
                from: "2018-02-18T02:30:00-07:00".into(),
                to: Some("2018-02-19T02:30:00+05:30".into()),
                cursor: None,
            },
        ),
        (
            "bearer, with cursor",
            bearer.clone(),
            PageRequest {
                log_type: LogType::ExternallySharedCallPlay,
                from: "2024-03-01T00:00:00.250Z".into(),
                to: Some("2024-03-02T00:00:00Z".into()),
                cursor: Some("eyJhbGciOiJIUzI1NiJ9.eyJjYWxsSWQiM1M30.6qKw+/=".into()),
            },
        ),
    ];

    let mut table = Vec::new();
    for (name, credentials, request) in cases {
        let client = server.client(credentials);
        client.fetch_page(&request).await.expect("empty page");
        let recorded = server.take();
        assert_eq!(recorded.len(), 1, "{name}: exactly one request");
        table.push((name, recorded.into_iter().next().unwrap()));
    }
    let text = serde_json::to_string_pretty(&table).unwrap();
    insta::assert_snapshot!(stable(&text, &server.base_url));
}

#[tokio::test]
async fn tenant_base_url_with_path_stem_and_trailing_slash() {
    let server = Recorder::start().await;
    let client = gong_logs_api::GongClient::new(gong_logs_api::ClientConfig::new(
        format!("{}/proxy/gong/", server.base_url).parse().unwrap(),
        Credentials::bearer("t"),
    ))
    .unwrap();
    client
        .fetch_page(&PageRequest {
            log_type: LogType::UserCallPlay,
            from: "2024-01-01T00:00:00Z".into(),
            to: None,
            cursor: None,
        })
        .await
        .unwrap();
    assert_eq!(server.take()[0].path, "/proxy/gong/v2/logs");
}

/// `preview` shows exactly the request `fetch_page` sends, credentials
/// redacted, and sends nothing.
#[tokio::test]
async fn preview_matches_the_sent_request_and_sends_nothing() {
    let server = Recorder::start().await;
    let client = server.client(Credentials::basic("AK", "TOPSECRET"));
    let request = PageRequest {
        log_type: LogType::UserActivityLog,
        from: "2024-03-01T00:00:00+02:00".into(),
        to: Some("2024-03-02T00:00:00.5Z".into()),
        cursor: Some("a+b/c=".into()),
    };
    let preview = client.preview(&request).await;
    assert!(server.take().is_empty(), "a preview sends nothing");
    assert!(!preview.contains("TOPSECRET") && !preview.contains("QUs6VE9QU0VDUkVU"));

    client.fetch_page(&request).await.unwrap();
    let sent = server.take().remove(0);
    let first_line = preview.lines().next().unwrap();
    let query: Vec<String> = sent.query.iter().map(|(k, v)| format!("{k}={v}")).collect();
    let url = url::Url::parse(first_line.trim_start_matches("GET ")).unwrap();
    let previewed: Vec<String> = url.query_pairs().map(|(k, v)| format!("{k}={v}")).collect();
    assert_eq!(previewed, query);
    assert_eq!(url.path(), sent.path);
    for (name, _) in &sent.headers {
        if name != "host" {
            assert!(
                preview.contains(&format!("\n{name}: ")),
                "{name} missing from {preview}"
            );
        }
    }
    insta::assert_snapshot!(stable(&preview, &server.base_url));
}
