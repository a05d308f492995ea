//! Fuzzing the export engine with arbitrary page sequences (proptest): a
//! loopback server answers every request with a scripted page chosen by
//! the request's cursor (entries anywhere in or around the range, in any
//! order, cursors that repeat or loop, lying `totalRecords`, 404s and 500s).
//! Whatever the script, the engine must never panic nor hang, and must
//! either return an error or deliver each entry at most once, inside the
//! range, in time order.
//!
//! `PROPTEST_CASES=N` sets the number of cases (default 48).

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use futures::StreamExt as _;
use gong_logs_api::export::{ExportError, ExportOptions, Exporter};
use gong_logs_api::guard::OutOfRange;
use gong_logs_api::{ClientConfig, Credentials, GongClient, LogType, RetryPolicy};
use jiff::Timestamp;
use proptest::prelude::*;
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};

const FROM: i64 = 1_704_067_200; // 2024-01-01T00:00:00Z
const SPAN: i64 = 1_000;

#[derive(Clone, Debug)]
struct ScriptPage {
    status: u16,
    /// (seconds after FROM, may be outside the range) of each entry.
    times: Vec<i64>,
    /// Index of the page the cursor leads to.
    cursor: Option<usize>,
    total: u64,
}

fn page_body(index: usize, page: &ScriptPage) -> (u16, String) {
    match page.status {
        200 => {
            let entries: Vec<String> = page
                .times
                .iter()
                .enumerate()
                .map(|(k, t)| {
                    let time = Timestamp::from_second(FROM + t).unwrap();
                    format!(r#"{{"eventTime":"{time}","id":"p{index}e{k}"}}"#)
                })
                .collect();
            let cursor = page
                .cursor
                .map(|c| format!(r#","cursor":"c{c}""#))
                .unwrap_or_default();
            (
                200,
                format!(
                    r#"{{"requestId":"r","records":{{"totalRecords":{},"currentPageSize":{}{cursor}}},"logEntries":[{}]}}"#,
                    page.total,
                    entries.len(),
                    entries.join(",")
                ),
            )
        }
        status => (
            status,
            r#"{"requestId":"r","errors":["scripted"]}"#.to_owned(),
        ),
    }
}

/// Serves `script`: a request without a cursor gets page 0, `cursor=cN`
/// page N (a missing page: Gong's 404).
async fn serve(script: Arc<Vec<ScriptPage>>) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base_url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move {
        loop {
            let Ok((mut socket, _)) = listener.accept().await else {
                return;
            };
            let script = Arc::clone(&script);
            tokio::spawn(async move {
                let mut head = Vec::new();
                let mut buf = [0u8; 2048];
                while !head.windows(4).any(|w| w == b"\r\n\r\n") {
                    match socket.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => head.extend_from_slice(&buf[..n]),
                    }
                }
                let head = String::from_utf8_lossy(&head);
                let line = head.lines().next().unwrap_or("");
                let index = line
                    .split(['?', '&', ' '])
                    .find_map(|p| p.strip_prefix("cursor=c"))
                    .and_then(|n| n.parse::<usize>().ok())
                    .unwrap_or(0);
                let (status, body) = match script.get(index) {
                    Some(page) => page_body(index, page),
                    None => (404, r#"{"requestId":"r","errors":["none"]}"#.to_owned()),
                };
                let response = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = socket.write_all(response.as_bytes()).await;
                let _ = socket.shutdown().await;
            });
        }
    });
    base_url
}

fn script_page(pages: usize) -> impl Strategy<Value = ScriptPage> {
    (
        prop_oneof![8 => Just(200u16), 1 => Just(404u16), 1 => Just(500u16)],
        prop::collection::vec(
            prop_oneof![8 => 0..SPAN, 1 => -50..0i64, 1 => SPAN..SPAN + 50],
            0..6,
        ),
        prop::option::weighted(0.7, 0..pages + 1),
        prop_oneof![
            Just(0u64),
            0..100u64,
            Just(2_147_483_647u64),
            Just(u64::MAX >> 1)
        ],
        any::<bool>(),
    )
        .prop_map(|(status, mut times, cursor, total, sorted)| {
            if sorted {
                times.sort_unstable();
            }
            ScriptPage {
                status,
                times,
                cursor,
                total,
            }
        })
}

fn script() -> impl Strategy<Value = Vec<ScriptPage>> {
    (1usize..6).prop_flat_map(|n| prop::collection::vec(script_page(n), n))
}

async fn run(script: Vec<ScriptPage>, skip: bool) -> Result<Vec<(Timestamp, String)>, String> {
    let base_url = serve(Arc::new(script)).await;
    let mut config =
        ClientConfig::new(base_url.parse().unwrap(), Credentials::bearer("fuzz-token"));
    config.timeout = Duration::from_secs(5);
    let exporter = Exporter::new(
        GongClient::new(config).unwrap(),
        ExportOptions {
            rate_limit: None,
            retry: RetryPolicy {
                max_retries: 1,
                base_delay: Duration::from_millis(1),
                max_delay: Duration::from_millis(2),
                ..RetryPolicy::default()
            },
            concurrency: 4,
            split_min_pages: 1,
            out_of_range: if skip {
                OutOfRange::Skip
            } else {
                OutOfRange::Error
            },
            ..ExportOptions::default()
        },
    );
    let from = Timestamp::from_second(FROM).unwrap();
    let to = Timestamp::from_second(FROM + SPAN).unwrap();
    let mut stream = Box::pin(exporter.entries(LogType::AccessLog, from, to));
    let mut got = Vec::new();
    while let Some(item) = stream.next().await {
        match item {
            Ok(entry) => {
                let v: serde_json::Value = serde_json::from_str(entry.json()).unwrap();
                got.push((
                    entry.event_time().expect("scripted entries have a time"),
                    v["id"].as_str().unwrap().to_owned(),
                ));
            }
            Err(ExportError::Internal { message, .. }) => {
                return Err(format!("INTERNAL: {message}"));
            }
            Err(e) => return Err(e.to_string()),
        }
    }
    Ok(got)
}

proptest! {
    #![proptest_config(ProptestConfig {
        cases: std::env::var("PROPTEST_CASES").ok().and_then(|c| c.parse().ok()).unwrap_or(48),
        ..ProptestConfig::default()
    })]

    #[test]
    fn fuzz_engine_with_arbitrary_page_sequences(script in script(), skip in any::<bool>()) {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let outcome = runtime.block_on(async {
            tokio::time::timeout(Duration::from_secs(30), run(script.clone(), skip)).await
        });
        let Ok(outcome) = outcome else {
            return Err(TestCaseError::fail("the export hung"));
        };
        match outcome {
            Err(message) => {
                prop_assert!(!message.starts_with("INTERNAL"), "{}", message);
            }
            Ok(entries) => {
                let from = Timestamp::from_second(FROM).unwrap();
                let to = Timestamp::from_second(FROM + SPAN).unwrap();
                let mut seen = HashSet::new();
                let mut last = from;
                for (time, id) in &entries {
                    prop_assert!(seen.insert(id.clone()), "{} delivered twice", id);
                    prop_assert!(*time >= from && *time < to, "{} outside the range", time);
                    prop_assert!(*time >= last, "{} before {}", time, last);
                    last = *time;
                }
            }
        }
    }
}
