//! Fuzzing the export engine with arbitrary page sequences (proptest): a
//! loopback server answers every request with a scripted page chosen by
//! the request's cursor (entries anywhere in or around the range, in any
//! order, cursors that repeat or loop, lying `totalRecords`, 404s and 500s;
//! any JSON or none as an entry's `eventTime`, an entry's own `logType`,
//! a `currentPageSize` that is wrong or missing, pages without
//! `logEntries`). Whatever the script, the engine must never panic nor
//! hang, and must either return an error or deliver each entry at most
//! once, with a valid time inside the range, in time order, written with
//! the label first and every key once.
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
    /// Each entry: its time (seconds after FROM, may be outside the range;
    /// or any JSON, or none) and its own `logType` member, if any.
    entries: Vec<(When, Option<String>)>,
    /// Index of the page the cursor leads to.
    cursor: Option<usize>,
    total: u64,
    /// `currentPageSize`: the truth, another count, or missing.
    page_size: PageSize,
    /// No `logEntries` member at all.
    no_entries: bool,
}

#[derive(Clone, Debug)]
enum When {
    At(i64),
    /// `eventTime` is this JSON text (any value, mostly not a valid time).
    Raw(String),
    Missing,
}

#[derive(Clone, Copy, Debug)]
enum PageSize {
    True,
    Other(u64),
    Missing,
}

fn entry_json(index: usize, k: usize, when: &When, log_type: Option<&str>) -> String {
    let mut members = vec![format!(r#""id":"p{index}e{k}""#)];
    match when {
        When::At(t) => {
            let time = Timestamp::from_second(FROM + t).unwrap();
            members.insert(0, format!(r#""eventTime":"{time}""#));
        }
        When::Raw(json) => members.insert(0, format!(r#""eventTime":{json}"#)),
        When::Missing => {}
    }
    if let Some(value) = log_type {
        members.insert(k % (members.len() + 1), format!(r#""logType":{value}"#));
    }
    format!("{{{}}}", members.join(","))
}

fn page_body(index: usize, page: &ScriptPage) -> (u16, String) {
    match page.status {
        200 => {
            let entries: Vec<String> = page
                .entries
                .iter()
                .enumerate()
                .map(|(k, (when, log_type))| entry_json(index, k, when, log_type.as_deref()))
                .collect();
            let cursor = page
                .cursor
                .map(|c| format!(r#","cursor":"c{c}""#))
                .unwrap_or_default();
            let size = match page.page_size {
                PageSize::True => format!(r#","currentPageSize":{}"#, entries.len()),
                PageSize::Other(n) => format!(r#","currentPageSize":{n}"#),
                PageSize::Missing => String::new(),
            };
            let log_entries = if page.no_entries {
                String::new()
            } else {
                format!(r#","logEntries":[{}]"#, entries.join(","))
            };
            (
                200,
                format!(
                    r#"{{"requestId":"r","records":{{"totalRecords":{}{size}{cursor}}}{log_entries}}}"#,
                    page.total,
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

/// Any JSON as an `eventTime`, never an ISO-8601 time with an offset: a
/// time in the range without its offset, with ten fraction digits, inside
/// an object, as a number; `null`, `true`, any short string.
fn odd_time() -> impl Strategy<Value = When> {
    let civil = |t: i64| {
        let time = Timestamp::from_second(FROM + t).unwrap();
        time.to_string().trim_end_matches('Z').to_owned()
    };
    prop_oneof![
        Just(When::Missing),
        (0..SPAN).prop_map(move |t| When::Raw(format!("\"{}\"", civil(t)))),
        (0..SPAN).prop_map(move |t| When::Raw(format!("\"{}.1234567891Z\"", civil(t)))),
        (0..SPAN).prop_map(move |t| When::Raw(format!(r#"{{"at":"{}Z"}}"#, civil(t)))),
        (0..SPAN).prop_map(|t| When::Raw((FROM + t).to_string())),
        prop::sample::select(vec!["null", "true", "[]"]).prop_map(|t| When::Raw(t.to_owned())),
        "[ -~]{0,12}".prop_map(|t| When::Raw(serde_json::to_string(&t).unwrap())),
    ]
}

fn script_entry() -> impl Strategy<Value = (When, Option<String>)> {
    (
        prop_oneof![
            16 => (0..SPAN).prop_map(When::At),
            2 => (-50..0i64).prop_map(When::At),
            2 => (SPAN..SPAN + 50).prop_map(When::At),
            3 => odd_time(),
        ],
        prop::option::weighted(
            0.2,
            prop::sample::select(vec![r#""UserCallPlay""#, "null", "7", r#"{"a":1}"#])
                .prop_map(str::to_owned),
        ),
    )
}

fn script_page(pages: usize) -> impl Strategy<Value = ScriptPage> {
    (
        prop_oneof![8 => Just(200u16), 1 => Just(404u16), 1 => Just(500u16)],
        prop::collection::vec(script_entry(), 0..6),
        prop::option::weighted(0.7, 0..pages + 1),
        prop_oneof![
            Just(0u64),
            0..100u64,
            Just(2_147_483_647u64),
            Just(u64::MAX >> 1)
        ],
        any::<bool>(),
        prop_oneof![
            8 => Just(PageSize::True),
            1 => (0..7u64).prop_map(PageSize::Other),
            1 => Just(PageSize::Missing),
        ],
        prop::bool::weighted(0.1),
    )
        .prop_map(
            |(status, mut entries, cursor, total, sorted, page_size, no_entries)| {
                if sorted {
                    entries.sort_by_key(|(when, _)| match when {
                        When::At(t) => *t,
                        _ => 0,
                    });
                }
                ScriptPage {
                    status,
                    entries,
                    cursor,
                    total,
                    page_size,
                    no_entries,
                }
            },
        )
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
                let Some(time) = entry.event_time() else {
                    return Err(format!("DELIVERED without a valid time: {}", entry.json()));
                };
                // As written: the label first, the entry's own logType
                // moved, every key once.
                let mut line = Vec::new();
                entry.write_with_log_type("AccessLog", &mut line);
                let line = String::from_utf8(line).unwrap();
                if !line.starts_with(r#"{"logType":"AccessLog""#)
                    || line.matches(r#""logType":"#).count() != 1
                {
                    return Err(format!("WRITTEN without the label first: {line}"));
                }
                let v: serde_json::Value = serde_json::from_str(entry.json()).unwrap();
                got.push((time, v["id"].as_str().unwrap().to_owned()));
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
                for bad in ["INTERNAL", "DELIVERED", "WRITTEN"] {
                    prop_assert!(!message.starts_with(bad), "{}", message);
                }
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
