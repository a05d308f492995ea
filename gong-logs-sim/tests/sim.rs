//! Behaviour of the simulator over real HTTP, one test per behaviour.

use std::sync::Once;
use std::time::Duration;

use gong_logs_sim::{Dataset, Entry, FaultConfig, LogType, SimConfig, SimError, Simulator, Stats};
use jiff::Timestamp;
use reqwest::StatusCode;
use serde::Deserialize;
use serde_json::Value;
use serde_json::value::RawValue;

const FROM: &str = "2024-01-01T00:00:00Z";
const TO: &str = "2024-01-31T00:00:00Z";

fn client() -> reqwest::Client {
    static INIT: Once = Once::new();
    INIT.call_once(|| {
        let _ = rustls::crypto::ring::default_provider().install_default();
    });
    reqwest::Client::builder()
        .no_proxy()
        // A hang guard only: a loaded machine may be slow to answer.
        .timeout(Duration::from_secs(60))
        .build()
        .expect("client")
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Page {
    request_id: String,
    records: Records,
    log_entries: Vec<Box<RawValue>>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
struct Records {
    total_records: u64,
    current_page_size: u64,
    current_page_number: u64,
    cursor: Option<String>,
}

struct Reply {
    status: StatusCode,
    headers: reqwest::header::HeaderMap,
    body: String,
}

impl Reply {
    fn page(&self) -> Page {
        assert_eq!(self.status, StatusCode::OK, "body: {}", self.body);
        serde_json::from_str(&self.body).expect("page JSON")
    }

    fn content_type(&self) -> &str {
        self.headers
            .get("content-type")
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
    }

    fn retry_after(&self) -> u64 {
        self.headers
            .get("retry-after")
            .expect("Retry-After header")
            .to_str()
            .unwrap()
            .parse()
            .expect("integer Retry-After")
    }

    /// Asserts Gong's error body shape and returns its messages.
    fn gong_error(&self, status: StatusCode) -> Vec<String> {
        assert_eq!(self.status, status, "body: {}", self.body);
        assert!(self.content_type().starts_with("application/json"));
        let v: Value = serde_json::from_str(&self.body).expect("JSON error body");
        let obj = v.as_object().expect("object");
        assert_eq!(obj.len(), 2, "{}", self.body);
        let rid = obj["requestId"].as_str().expect("requestId");
        assert_eq!(rid.len(), 19);
        let errors: Vec<String> = obj["errors"]
            .as_array()
            .expect("errors")
            .iter()
            .map(|e| e.as_str().expect("string").to_owned())
            .collect();
        assert!(!errors.is_empty());
        errors
    }
}

struct Harness {
    sim: Simulator,
    http: reqwest::Client,
}

impl Harness {
    async fn new(config: SimConfig) -> Harness {
        Harness {
            sim: Simulator::start(config).await.expect("start"),
            http: client(),
        }
    }

    fn url(&self) -> String {
        format!("{}/v2/logs", self.sim.base_url())
    }

    fn request(&self, q: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http
            .get(self.url())
            .query(q)
            .basic_auth("sim-access-key", Some("sim-secret"))
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Reply {
        let r = rb.send().await.expect("response");
        Reply {
            status: r.status(),
            headers: r.headers().clone(),
            body: r.text().await.expect("body"),
        }
    }

    async fn get(&self, q: &[(&str, &str)]) -> Reply {
        self.send(self.request(q)).await
    }

    /// Walks every page; returns the raw entries and each page's records.
    async fn walk(&self, lt: LogType, from: &str, to: Option<&str>) -> (Vec<String>, Vec<Records>) {
        let mut entries = Vec::new();
        let mut pages = Vec::new();
        let mut cursor: Option<String> = None;
        loop {
            let mut q = vec![("logType", lt.as_str()), ("fromDateTime", from)];
            if let Some(to) = to {
                q.push(("toDateTime", to));
            }
            if let Some(c) = &cursor {
                q.push(("cursor", c));
            }
            let page = self.get(&q).await.page();
            entries.extend(page.log_entries.iter().map(|e| e.get().to_owned()));
            cursor = page.records.cursor.clone();
            pages.push(page.records);
            if cursor.is_none() {
                return (entries, pages);
            }
        }
    }

    async fn admin_stats(&self) -> Stats {
        self.http
            .get(format!("{}/_sim/stats", self.sim.base_url()))
            .send()
            .await
            .unwrap()
            .json()
            .await
            .unwrap()
    }
}

fn small(entries: usize) -> SimConfig {
    SimConfig::testing(7, entries)
}

fn jsons(entries: &[Entry]) -> Vec<String> {
    entries.iter().map(|e| e.json.clone()).collect()
}

fn ts(s: &str) -> Timestamp {
    s.parse().unwrap()
}

#[tokio::test]
async fn auth_basic_ok() {
    let h = Harness::new(small(20)).await;
    let r = h
        .get(&[("logType", "AccessLog"), ("fromDateTime", FROM)])
        .await;
    assert_eq!(r.content_type(), "application/json");
    let page = r.page();
    assert_eq!(page.request_id.len(), 19);
    assert_eq!(page.records.total_records, 20);
}

#[tokio::test]
async fn auth_bearer_ok() {
    let h = Harness::new(small(20)).await;
    let rb = h
        .http
        .get(h.url())
        .query(&[("logType", "UserCallPlay"), ("fromDateTime", FROM)])
        .bearer_auth("sim-bearer-token");
    assert_eq!(h.send(rb).await.page().records.total_records, 20);
}

#[tokio::test]
async fn auth_failures_are_401_with_gong_error_body() {
    let h = Harness::new(small(20)).await;
    let q = [("logType", "AccessLog"), ("fromDateTime", FROM)];
    let base = || h.http.get(h.url()).query(&q);
    let cases = [
        base(),
        base().basic_auth("sim-access-key", Some("wrong")),
        base().basic_auth("other-key", Some("sim-secret")),
        base().bearer_auth("wrong-token"),
        base().header("authorization", "Basic !!!not-base64"),
        base().header("authorization", "Basic"),
        base().header("authorization", "Digest abc"),
    ];
    for rb in cases {
        let r = h.send(rb).await;
        r.gong_error(StatusCode::UNAUTHORIZED);
    }
    assert_eq!(h.sim.stats().by_status.get(&401), Some(&7));
}

#[tokio::test]
async fn invalid_parameters_are_400() {
    let h = Harness::new(small(20)).await;
    let cases: Vec<Vec<(&str, &str)>> = vec![
        vec![("fromDateTime", FROM)],
        vec![("logType", "accesslog"), ("fromDateTime", FROM)],
        vec![("logType", "Calls"), ("fromDateTime", FROM)],
        vec![("logType", "AccessLog")],
        vec![("logType", "AccessLog"), ("fromDateTime", "2024-01-01")],
        vec![("logType", "AccessLog"), ("fromDateTime", "yesterday")],
        vec![
            ("logType", "AccessLog"),
            ("fromDateTime", "2024-01-01T00:00:00"),
        ],
        vec![
            ("logType", "AccessLog"),
            ("fromDateTime", FROM),
            ("toDateTime", "2024-13-01T00:00:00Z"),
        ],
        vec![
            ("logType", "AccessLog"),
            ("fromDateTime", TO),
            ("toDateTime", FROM),
        ],
        vec![
            ("logType", "AccessLog"),
            ("fromDateTime", FROM),
            ("toDateTime", FROM),
        ],
        vec![
            ("logType", "AccessLog"),
            ("fromDateTime", FROM),
            ("fromDateTime", FROM),
        ],
    ];
    for q in cases {
        h.get(&q).await.gong_error(StatusCode::BAD_REQUEST);
    }
    // An unencoded '+' decodes to a space, as with Gong: 400, with a hint.
    let raw = format!(
        "{}?logType=AccessLog&fromDateTime=2024-01-01T02:00:00+02:00",
        h.url()
    );
    let r = h
        .send(
            h.http
                .get(raw)
                .basic_auth("sim-access-key", Some("sim-secret")),
        )
        .await;
    let errors = r.gong_error(StatusCode::BAD_REQUEST);
    assert!(errors[0].contains("%2B"), "{errors:?}");
}

#[tokio::test]
async fn unknown_parameters_are_ignored() {
    let h = Harness::new(small(20)).await;
    let r = h
        .get(&[
            ("logType", "AccessLog"),
            ("fromDateTime", FROM),
            ("pageSize", "5"),
            ("userIds", "1,2"),
        ])
        .await;
    assert_eq!(r.page().records.total_records, 20);
}

#[tokio::test]
async fn offsets_and_fractional_seconds_are_accepted() {
    let h = Harness::new(small(60)).await;
    let all = h.sim.dataset().entries(LogType::UserActivityLog);
    let mid = all[30].time;
    let expect = h
        .sim
        .dataset()
        .entries_in(LogType::UserActivityLog, mid, None)
        .len() as u64;
    let z = mid.to_string();
    let spellings = [
        z.clone(),
        format!("{}+02:00", jiff::tz::offset(2).to_datetime(mid)),
        format!("{}-07:00", jiff::tz::offset(-7).to_datetime(mid)),
    ];
    for s in &spellings {
        let r = h
            .get(&[("logType", "UserActivityLog"), ("fromDateTime", s)])
            .await;
        assert_eq!(r.page().records.total_records, expect, "{s}");
    }
    // Fractional seconds with any number of digits.
    for s in [
        "2024-01-01T00:00:00.123Z",
        "2024-01-01T02:00:00.5+02:00",
        "2023-12-31T17:00:00.000000-07:00",
    ] {
        let r = h
            .get(&[
                ("logType", "UserActivityLog"),
                ("fromDateTime", s),
                ("toDateTime", TO),
            ])
            .await;
        assert_eq!(r.status, StatusCode::OK, "{s}: {}", r.body);
    }
}

#[tokio::test]
async fn range_is_half_open() {
    let mut cfg = small(50);
    cfg.page_size = 1000;
    let h = Harness::new(cfg).await;
    let lt = LogType::AccessLog;
    let all = h.sim.dataset().entries(lt);
    let (a, b) = (all[10].time, all[40].time);
    let expected: Vec<String> = all
        .iter()
        .filter(|e| e.time >= a && e.time < b)
        .map(|e| e.json.clone())
        .collect();
    assert_eq!(jsons(h.sim.dataset().entries_in(lt, a, Some(b))), expected);
    let (got, _) = h.walk(lt, &a.to_string(), Some(&b.to_string())).await;
    assert_eq!(got, expected);
    assert_eq!(got.first(), Some(&all[10].json), "from is inclusive");
    assert!(
        !got.contains(&all[40].json) || all[40].time < b,
        "to is exclusive"
    );
    // No toDateTime: up to the newest entry.
    let (tail, _) = h.walk(lt, &a.to_string(), None).await;
    assert_eq!(tail, jsons(h.sim.dataset().entries_in(lt, a, None)));
    assert_eq!(tail.last(), Some(&all[49].json));
}

#[tokio::test]
async fn paging_walks_exactly_the_dataset() {
    let mut cfg = small(45);
    cfg.page_size = 10;
    let h = Harness::new(cfg).await;
    for lt in LogType::ALL {
        let (got, pages) = h.walk(lt, FROM, Some(TO)).await;
        assert_eq!(got, jsons(h.sim.dataset().entries(lt)), "{lt}");
        assert_eq!(pages.len(), 5);
        for (i, p) in pages.iter().enumerate() {
            assert_eq!(p.total_records, 45);
            assert_eq!(p.current_page_number, i as u64);
            assert_eq!(p.current_page_size, if i == 4 { 5 } else { 10 });
            assert_eq!(p.cursor.is_some(), i < 4);
        }
    }
    // A range that fills the last page exactly has no cursor on it.
    let lt = LogType::AccessLog;
    let all = h.sim.dataset().entries(lt);
    let to = all[20].time;
    let n = h.sim.dataset().entries_in(lt, ts(FROM), Some(to)).len();
    let (got, pages) = h.walk(lt, FROM, Some(&to.to_string())).await;
    assert_eq!(got.len(), n);
    assert_eq!(pages.len(), n.div_ceil(10));
    assert!(pages.last().unwrap().cursor.is_none());
}

#[tokio::test]
async fn cursor_with_other_parameters_is_400() {
    let mut cfg = small(30);
    cfg.page_size = 10;
    let h = Harness::new(cfg).await;
    let first = h
        .get(&[
            ("logType", "AccessLog"),
            ("fromDateTime", FROM),
            ("toDateTime", TO),
        ])
        .await
        .page();
    let c = first.records.cursor.unwrap();
    let mismatches: Vec<Vec<(&str, &str)>> = vec![
        vec![
            ("logType", "UserActivityLog"),
            ("fromDateTime", FROM),
            ("toDateTime", TO),
            ("cursor", &c),
        ],
        vec![
            ("logType", "AccessLog"),
            ("fromDateTime", "2024-01-01T00:00:01Z"),
            ("toDateTime", TO),
            ("cursor", &c),
        ],
        // Same instant, other spelling: not "exactly as sent".
        vec![
            ("logType", "AccessLog"),
            ("fromDateTime", "2024-01-01T02:00:00+02:00"),
            ("toDateTime", TO),
            ("cursor", &c),
        ],
        vec![
            ("logType", "AccessLog"),
            ("fromDateTime", FROM),
            ("cursor", &c),
        ],
        vec![
            ("logType", "AccessLog"),
            ("fromDateTime", FROM),
            ("toDateTime", "2024-01-30T00:00:00Z"),
            ("cursor", &c),
        ],
    ];
    for q in mismatches {
        let e = h.get(&q).await.gong_error(StatusCode::BAD_REQUEST);
        assert!(e[0].contains("does not match"), "{e:?}");
    }
    let ok = h
        .get(&[
            ("logType", "AccessLog"),
            ("fromDateTime", FROM),
            ("toDateTime", TO),
            ("cursor", &c),
        ])
        .await
        .page();
    assert_eq!(ok.records.current_page_number, 1);
}

#[tokio::test]
async fn tampered_or_garbage_cursor_is_400() {
    let mut cfg = small(30);
    cfg.page_size = 10;
    let h = Harness::new(cfg).await;
    let q = [("logType", "AccessLog"), ("fromDateTime", FROM)];
    let c = h.get(&q).await.page().records.cursor.unwrap();
    let (head, sig) = c.rsplit_once('.').unwrap();
    let mut flipped = sig.as_bytes().to_vec();
    flipped[3] = if flipped[3] == b'A' { b'B' } else { b'A' };
    let tampered_sig = format!("{head}.{}", String::from_utf8(flipped).unwrap());
    // Re-encode the payload with another offset but keep the old signature.
    let parts: Vec<&str> = c.split('.').collect();
    use base64::Engine;
    let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
    let payload = String::from_utf8(b64.decode(parts[1]).unwrap()).unwrap();
    let forged = payload
        .replacen("\"o\":10", "\"o\":20", 1)
        .replacen("\"p\":1", "\"p\":2", 1);
    assert_ne!(payload, forged);
    let forged = format!("{}.{}.{}", parts[0], b64.encode(forged), parts[2]);
    for bad in [
        tampered_sig.as_str(),
        forged.as_str(),
        "garbage",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9",
    ] {
        let mut q2 = q.to_vec();
        q2.push(("cursor", bad));
        let e = h.get(&q2).await.gong_error(StatusCode::BAD_REQUEST);
        assert!(e[0].contains("Invalid cursor"), "{e:?}");
    }
    // A cursor from another simulator instance (other key) is refused too.
    let other = Harness::new({
        let mut c = small(30);
        c.page_size = 10;
        c
    })
    .await;
    let mut q3 = q.to_vec();
    q3.push(("cursor", &c));
    other.get(&q3).await.gong_error(StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn expired_cursor_is_400() {
    let mut cfg = small(30);
    cfg.page_size = 10;
    // 1 ms: expired by the time it comes back, however fast the machine.
    // (Fresh cursors working is what every pagination test shows.)
    cfg.cursor_ttl = Duration::from_millis(1);
    let h = Harness::new(cfg).await;
    let q = [("logType", "AccessLog"), ("fromDateTime", FROM)];
    let c = h.get(&q).await.page().records.cursor.unwrap();
    let mut q2 = q.to_vec();
    q2.push(("cursor", &c));
    tokio::time::sleep(Duration::from_millis(5)).await;
    let e = h.get(&q2).await.gong_error(StatusCode::BAD_REQUEST);
    assert!(e[0].contains("expired"), "{e:?}");
}

#[tokio::test]
async fn empty_range_is_404() {
    let mut cfg = small(20);
    cfg.log_types = vec![LogType::AccessLog];
    let h = Harness::new(cfg).await;
    let cases = [
        [
            ("logType", "AccessLog"),
            ("fromDateTime", "2020-01-01T00:00:00Z"),
            ("toDateTime", "2020-02-01T00:00:00Z"),
        ],
        [
            ("logType", "AccessLog"),
            ("fromDateTime", TO),
            ("toDateTime", "2024-02-01T00:00:00Z"),
        ],
        [
            ("logType", "UserCallPlay"),
            ("fromDateTime", FROM),
            ("toDateTime", TO),
        ],
    ];
    for q in cases {
        let e = h.get(&q).await.gong_error(StatusCode::NOT_FOUND);
        assert!(e[0].contains("No logs found"), "{e:?}");
    }
}

#[tokio::test]
async fn rate_limit_gives_429_with_retry_after() {
    let mut cfg = small(20);
    cfg.rate_limit = 0.5;
    cfg.burst = 2;
    let h = Harness::new(cfg).await;
    let q = [("logType", "AccessLog"), ("fromDateTime", FROM)];
    assert_eq!(h.get(&q).await.status, StatusCode::OK);
    assert_eq!(h.get(&q).await.status, StatusCode::OK);
    let r = h.get(&q).await;
    r.gong_error(StatusCode::TOO_MANY_REQUESTS);
    assert_eq!(r.retry_after(), 2, "ceil(1 token / 0.5 per s)");
    let s = h.sim.stats();
    assert_eq!(s.rate_limited, 1);
    assert_eq!(s.by_status.get(&429), Some(&1));
    // Rate limiting applies to /v2/logs only.
    for _ in 0..5 {
        h.admin_stats().await;
    }
}

#[tokio::test]
async fn default_rate_limit_is_three_per_second() {
    let mut cfg = small(5);
    cfg.rate_limit = SimConfig::default().rate_limit;
    cfg.burst = SimConfig::default().burst;
    let h = Harness::new(cfg).await;
    let q = [("logType", "AccessLog"), ("fromDateTime", FROM)];
    // Eight at once: the burst of 3 is served, and the bucket cannot refill
    // 5 tokens (1.7 s at 3/s) while they arrive, so some are refused. The
    // bounds hold however slow the machine (each 200 needs a token: at most
    // 3 + 3/s of elapsed time; the hang guard of the harness is 60 s).
    let started = std::time::Instant::now();
    let replies = futures::future::join_all((0..8).map(|_| h.get(&q))).await;
    let ok = replies
        .iter()
        .filter(|r| r.status == StatusCode::OK)
        .count();
    let refused = replies
        .iter()
        .filter(|r| r.status == StatusCode::TOO_MANY_REQUESTS)
        .count();
    assert_eq!(ok + refused, 8);
    assert!(ok >= 3, "the burst is served: {ok}");
    let allowed = 3 + (started.elapsed().as_secs_f64() * 3.0).floor() as usize;
    assert!(ok <= allowed, "{ok} served, at most {allowed} tokens");
    assert_eq!(h.sim.stats().rate_limited, refused as u64);
}

#[tokio::test]
async fn daily_quota_gives_429() {
    let mut cfg = small(20);
    cfg.daily_quota = Some(2);
    let h = Harness::new(cfg).await;
    let q = [("logType", "AccessLog"), ("fromDateTime", FROM)];
    assert_eq!(h.get(&q).await.status, StatusCode::OK);
    assert_eq!(h.get(&q).await.status, StatusCode::OK);
    let r = h.get(&q).await;
    let e = r.gong_error(StatusCode::TOO_MANY_REQUESTS);
    assert!(e[0].contains("daily"), "{e:?}");
    assert!((1..=86_400).contains(&r.retry_after()));
    assert_eq!(h.sim.stats().quota_exceeded, 1);
    h.sim.reset();
    assert_eq!(
        h.get(&q).await.status,
        StatusCode::OK,
        "reset clears the quota"
    );
}

fn faulty(f: impl FnOnce(&mut FaultConfig)) -> SimConfig {
    let mut cfg = small(30);
    cfg.page_size = 10;
    f(&mut cfg.faults);
    cfg
}

const Q: [(&str, &str); 2] = [("logType", "AccessLog"), ("fromDateTime", FROM)];

#[tokio::test]
async fn fault_500_has_json_body() {
    let h = Harness::new(faulty(|f| f.p_500 = 1.0)).await;
    h.get(&Q)
        .await
        .gong_error(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(h.sim.stats().faults.server_error, 1);
}

#[tokio::test]
async fn fault_502_has_html_body() {
    let h = Harness::new(faulty(|f| f.p_502 = 1.0)).await;
    let r = h.get(&Q).await;
    assert_eq!(r.status, StatusCode::BAD_GATEWAY);
    assert_eq!(r.content_type(), "text/html");
    assert_eq!(r.body, "<html><body><h1>502 Bad Gateway</h1></body></html>");
    assert!(serde_json::from_str::<Value>(&r.body).is_err());
}

#[tokio::test]
async fn fault_503_has_retry_after() {
    let h = Harness::new(faulty(|f| {
        f.p_503 = 1.0;
        f.retry_after_503 = 3;
    }))
    .await;
    let r = h.get(&Q).await;
    r.gong_error(StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(r.retry_after(), 3);
}

#[tokio::test]
async fn fault_429_has_retry_after_and_counts_early_repeats() {
    let h = Harness::new(faulty(|f| {
        f.p_429 = 1.0;
        f.retry_after_429 = 30;
    }))
    .await;
    let r = h.get(&Q).await;
    let e = r.gong_error(StatusCode::TOO_MANY_REQUESTS);
    assert!(e[0].contains("limit"), "{e:?}");
    assert_eq!(r.retry_after(), 30);
    // Repeating the refused request within its 30 s is a violation; a
    // different request is not.
    h.get(&Q).await;
    h.get(&[("logType", "UserCallPlay"), ("fromDateTime", FROM)])
        .await;
    let s = h.sim.stats();
    assert_eq!(s.faults.too_many_requests, 3);
    assert_eq!(s.rate_limited, 0, "not the rate limiter's");
    assert_eq!(s.by_status.get(&429), Some(&3));
    assert_eq!(s.retry_after_violations, 1);

    // Retry-After 0 may be repeated at once.
    let h = Harness::new(faulty(|f| {
        f.p_429 = 1.0;
        f.retry_after_429 = 0;
    }))
    .await;
    h.get(&Q).await;
    h.get(&Q).await;
    assert_eq!(h.sim.stats().retry_after_violations, 0);
}

#[tokio::test]
async fn fault_stall_answers_nothing_until_the_client_gives_up() {
    let h = Harness::new(faulty(|f| {
        f.p_stall = 1.0;
        f.stall_ms = 60_000;
    }))
    .await;
    // The client gives up after 200 ms (any timeout would do: the stall
    // outlasts it, so the outcome does not depend on timing).
    let err = h
        .request(&Q)
        .timeout(Duration::from_millis(200))
        .send()
        .await
        .expect_err("no answer");
    assert!(err.is_timeout(), "{err:?}");
    let s = h.sim.stats();
    assert_eq!(s.faults.stalled, 1);
    assert!(s.by_status.is_empty(), "{s:?}");

    // Past the hang guard, the connection is dropped: still no data.
    let h = Harness::new(faulty(|f| {
        f.p_stall = 1.0;
        f.stall_ms = 1;
    }))
    .await;
    let err = h.request(&Q).send().await.expect_err("dropped");
    assert!(!err.is_status(), "{err:?}");
}

#[tokio::test]
async fn fault_drop_is_a_connection_error() {
    let h = Harness::new(faulty(|f| f.p_drop = 1.0)).await;
    for _ in 0..2 {
        let err = h
            .request(&Q)
            .send()
            .await
            .expect_err("connection must drop");
        assert!(!err.is_status() && !err.is_timeout(), "{err:?}");
    }
    let s = h.sim.stats();
    assert_eq!(s.faults.dropped_connection, 2);
    assert!(s.by_status.is_empty(), "{s:?}");
}

#[tokio::test]
async fn fault_drop_sends_no_bytes() {
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    let h = Harness::new(faulty(|f| f.p_drop = 1.0)).await;
    let mut s = tokio::net::TcpStream::connect(h.sim.addr()).await.unwrap();
    let req = format!(
        "GET /v2/logs?logType=AccessLog&fromDateTime={FROM} HTTP/1.1\r\nHost: x\r\n\
         Authorization: Bearer sim-bearer-token\r\n\r\n"
    );
    s.write_all(req.as_bytes()).await.unwrap();
    let mut buf = Vec::new();
    let r = tokio::time::timeout(Duration::from_secs(3), s.read_to_end(&mut buf))
        .await
        .expect("server closes the socket");
    assert!(
        r.is_err() || buf.is_empty(),
        "got {:?}",
        String::from_utf8_lossy(&buf)
    );
}

#[tokio::test]
async fn fault_truncate_cuts_the_body() {
    let h = Harness::new(faulty(|f| f.p_truncate = 1.0)).await;
    let r = h.request(&Q).send().await.expect("headers arrive");
    assert_eq!(r.status(), StatusCode::OK);
    let len = r.content_length().expect("content-length");
    assert!(len > 100);
    let err = r.bytes().await.expect_err("body must be cut off");
    assert!(
        err.is_body() || err.is_decode() || err.is_request(),
        "{err:?}"
    );
    assert_eq!(h.sim.stats().faults.truncated_body, 1);
}

#[tokio::test]
async fn fail_each_request_once_is_deterministic() {
    let cfg = || {
        faulty(|f| {
            f.fail_each_request_once = true;
            f.p_502 = 0.1;
            f.p_503 = 0.1;
        })
    };
    let mut runs = Vec::new();
    for _ in 0..2 {
        let h = Harness::new(cfg()).await;
        let mut statuses = Vec::new();
        for lt in ["AccessLog", "UserActivityLog", "UserCallPlay"] {
            let q = [("logType", lt), ("fromDateTime", FROM), ("toDateTime", TO)];
            statuses.push(h.get(&q).await.status.as_u16());
            let page = h.get(&q).await.page();
            statuses.push(200);
            // The next page is a distinct request: it fails once too.
            let c = page.records.cursor.unwrap();
            let q2 = [q[0], q[1], q[2], ("cursor", c.as_str())];
            statuses.push(h.get(&q2).await.status.as_u16());
            statuses.push(h.get(&q2).await.page().records.current_page_number as u16);
        }
        runs.push(statuses);
        let f = h.sim.stats().faults;
        assert_eq!((f.bad_gateway, f.service_unavailable), (3, 3));
    }
    assert_eq!(
        runs[0],
        [502, 200, 503, 1, 502, 200, 503, 1, 502, 200, 503, 1]
    );
    assert_eq!(runs[0], runs[1]);

    // No kind enabled: always 500, once per distinct request.
    let h = Harness::new(faulty(|f| f.fail_each_request_once = true)).await;
    h.get(&Q)
        .await
        .gong_error(StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(h.get(&Q).await.status, StatusCode::OK);
    assert_eq!(h.get(&Q).await.status, StatusCode::OK);
}

#[tokio::test]
async fn random_faults_follow_the_seed() {
    let run = || async {
        let h = Harness::new(faulty(|f| {
            f.p_500 = 0.3;
            f.p_502 = 0.2;
        }))
        .await;
        let mut v = Vec::new();
        for _ in 0..30 {
            v.push(h.get(&Q).await.status.as_u16());
        }
        v
    };
    let a = run().await;
    assert_eq!(a, run().await);
    assert!(
        a.contains(&500) && a.contains(&502) && a.contains(&200),
        "{a:?}"
    );
}

#[tokio::test]
async fn admin_stats_counts() {
    let mut cfg = small(20);
    cfg.rate_limit = 0.1;
    cfg.burst = 5;
    cfg.faults.latency_ms = 150;
    let h = Harness::new(cfg).await;
    // Four concurrent requests while each is delayed 150 ms.
    let reqs = (0..4).map(|_| h.get(&Q));
    let replies = futures::future::join_all(reqs).await;
    assert!(replies.iter().all(|r| r.status == StatusCode::OK));
    h.send(h.http.get(h.url()).query(&Q))
        .await
        .gong_error(StatusCode::UNAUTHORIZED);
    h.get(&[("logType", "Nope"), ("fromDateTime", FROM)]).await;
    // The 400 took the last token (validation comes after rate limiting).
    // Burst used up: a 429 (Retry-After 10 s at 0.1/s). Repeating the
    // refused request before then breaks the Retry-After, each time; another
    // request does not (only repeats of a refused request are counted).
    let r = h.get(&Q).await;
    assert_eq!(r.status, StatusCode::TOO_MANY_REQUESTS, "{}", r.body);
    h.get(&Q).await;
    h.get(&Q).await;
    let s = h.admin_stats().await;
    assert_eq!(s, h.sim.stats());
    assert_eq!(s.total_requests, 9);
    assert_eq!(s.by_status.get(&200), Some(&4));
    assert_eq!(s.by_status.get(&401), Some(&1));
    assert_eq!(s.by_status.get(&400), Some(&1));
    assert_eq!(s.by_status.get(&429), Some(&3));
    assert!(s.concurrency_peak >= 2, "{s:?}");
    assert_eq!(s.retry_after_violations, 2);
    assert_eq!(s.pages_served, 4);
    assert_eq!(s.entries_served, 80);
    assert_eq!(s.faults.latency, 4, "only requests that passed validation");
    assert_eq!(s.in_flight, 0);

    // The JSON shape of the admin endpoint.
    let raw: Value = h
        .http
        .get(format!("{}/_sim/stats", h.sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    for key in [
        "total_requests",
        "by_status",
        "in_flight",
        "concurrency_peak",
        "retry_after_violations",
        "rate_limited",
        "quota_exceeded",
        "pages_served",
        "entries_served",
        "faults",
    ] {
        assert!(raw.get(key).is_some(), "{key} missing from {raw}");
    }
    assert_eq!(raw["by_status"]["200"], 4);

    // Reset returns the old counters and zeroes them.
    let before: Stats = h
        .http
        .post(format!("{}/_sim/reset", h.sim.base_url()))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(before.total_requests, 9);
    let after = h.admin_stats().await;
    assert_eq!(after, Stats::default());
}

#[tokio::test]
async fn data_is_deterministic_for_a_seed() {
    let (a, b) = (ts(FROM), ts(TO));
    let d1 = Dataset::generate(99, 80, a, b, &LogType::ALL);
    let d2 = Dataset::generate(99, 80, a, b, &LogType::ALL);
    let d3 = Dataset::generate(100, 80, a, b, &LogType::ALL);
    for lt in LogType::ALL {
        assert_eq!(d1.entries(lt), d2.entries(lt));
        assert_ne!(d1.entries(lt), d3.entries(lt));
        assert_eq!(d1.entries(lt).len(), 80);
        assert!(d1.entries(lt).windows(2).all(|w| w[0].time <= w[1].time));
        assert!(d1.entries(lt).iter().all(|e| e.time >= a && e.time < b));
    }
    // Two servers with the same seed serve the same text.
    let h1 = Harness::new(SimConfig::testing(5, 30)).await;
    let h2 = Harness::new(SimConfig::testing(5, 30)).await;
    let (e1, _) = h1.walk(LogType::UserCallPlay, FROM, None).await;
    let (e2, _) = h2.walk(LogType::UserCallPlay, FROM, None).await;
    assert_eq!(e1, e2);
    // Pinned: a change here changes every seed's data (update deliberately).
    let esca = Dataset::generate(1, 10, a, b, &[LogType::ExternallySharedCallAccess]);
    let first = &esca.entries(LogType::ExternallySharedCallAccess)[0];
    assert!(
        first.json.starts_with("{\"eventTime\":\"2024-01-"),
        "{}",
        first.json
    );
    assert!(
        first.json.contains("\"call_id\":9007199254740993"),
        "{}",
        first.json
    );
}

#[test]
fn data_has_the_hard_cases() {
    let ds = Dataset::generate(3, 300, ts(FROM), ts(TO), &LogType::ALL);
    let parse = |e: &Entry| -> Value { serde_json::from_str(&e.json).unwrap() };
    let all_text: String = LogType::ALL
        .iter()
        .flat_map(|&t| ds.entries(t))
        .map(|e| e.json.as_str())
        .collect();
    // Unicode, emoji, commas, quotes and newlines.
    for needle in [
        "Zoë Ångström",
        "李小龍",
        "🚀",
        "Smith, John",
        r#"\"The Hammer\""#,
        r"line one\nline two",
    ] {
        assert!(all_text.contains(needle), "{needle}");
    }
    // Integers above 2^53 as JSON numbers, in every type's logRecord.
    for t in LogType::ALL {
        assert!(ds.entries(t)[0].json.contains(":9007199254740993"), "{t}");
    }
    // Offsets and fractional seconds in eventTime.
    let times: Vec<String> = ds
        .entries(LogType::AccessLog)
        .iter()
        .map(|e| parse(e)["eventTime"].as_str().unwrap().to_owned())
        .collect();
    for suffix in ["Z", "+02:00", "-07:00", "+05:30"] {
        assert!(times.iter().any(|t| t.ends_with(suffix)), "{suffix}");
    }
    assert!(times.iter().any(|t| t.contains('.')));
    assert!(times.iter().any(|t| !t.contains('.')));
    for t in LogType::ALL {
        let e = ds.entries(t);
        // eventTime text and the instant agree.
        for x in e {
            let text = parse(x)["eventTime"].as_str().unwrap().to_owned();
            assert_eq!(text.parse::<Timestamp>().unwrap(), x.time);
        }
        // Runs of equal instants, some spelled with different offsets, and exact duplicates.
        assert!(
            e.windows(3)
                .any(|w| w[0].time == w[1].time && w[1].time == w[2].time),
            "{t}"
        );
        assert!(
            e.windows(2)
                .any(|w| w[0].time == w[1].time && w[0].json != w[1].json),
            "{t}"
        );
        assert!(e.windows(2).any(|w| w[0].json == w[1].json), "{t}");
        // A top-level field the spec does not name.
        assert!(e.iter().any(|x| parse(x).get("ipCountry").is_some()), "{t}");
        let values: Vec<Value> = e.iter().map(parse).collect();
        match t {
            LogType::AccessLog => {
                assert!(values.iter().any(|v| v.get("userId").is_none()));
                assert!(values.iter().any(|v| v.get("userId").is_some()));
                let r = &values[0]["logRecord"];
                for k in [
                    "response_headers",
                    "protocol",
                    "method",
                    "request_headers",
                    "elapsed_time",
                    "requested_url",
                    "requested_uri",
                    "message",
                    "mdc",
                    "content_length",
                    "status",
                ] {
                    assert!(r.get(k).is_some(), "{k}");
                }
                assert!(r["response_headers"].get("x-traceid").is_some());
                assert!(r["request_headers"].get("user-agent").is_some());
            }
            LogType::UserActivityLog => {
                assert!(values.iter().any(|v| v.get("userId").is_none()));
                assert!(values.iter().any(|v| v.get("impersonatorUserId").is_some()
                    && v.get("impersonatorCompanyId").is_some()
                    && v.get("impersonatorEmailAddress").is_some()
                    && v.get("impersonatorFullName").is_some()));
                let r = &values[0]["logRecord"];
                let tc = &r["tableChanges"][0];
                for k in [
                    "preSnapshotTimestamp",
                    "postSnapshotTimestamp",
                    "tableName",
                    "rowChanges",
                ] {
                    assert!(tc.get(k).is_some(), "{k}");
                }
                let rc = &tc["rowChanges"][0];
                assert!(rc["primaryKeyColumns"][0].get("columnValue").is_some());
                let cc = &rc["columnChanges"][0];
                for k in ["columnName", "operation", "oldValue", "newValue"] {
                    assert!(cc.get(k).is_some(), "{k}");
                }
                for k in ["action", "httpRequest", "customData", "workspaceId"] {
                    assert!(r.get(k).is_some(), "{k}");
                }
                for k in [
                    "referrerUri",
                    "clientIp",
                    "verb",
                    "endpointUri",
                    "body",
                    "parameters",
                ] {
                    assert!(r["httpRequest"].get(k).is_some(), "{k}");
                }
            }
            LogType::UserCallPlay => {
                assert!(values.iter().all(|v| v.get("userId").is_some()));
                assert!(
                    values
                        .iter()
                        .all(|v| v["logRecord"]["sequence_num"].is_u64())
                );
                for k in [
                    "call_id",
                    "video_player_instance_id",
                    "sequence_num",
                    "play_speed",
                    "device",
                    "start_time",
                    "end_time",
                    "event_time_on_device",
                    "offline",
                    "live",
                ] {
                    assert!(values[0]["logRecord"].get(k).is_some(), "{k}");
                }
            }
            LogType::ExternallySharedCallAccess => {
                assert!(
                    values
                        .iter()
                        .all(|v| v.get("userId").is_none() && v.get("userEmailAddress").is_none())
                );
                for k in ["call_id", "time_based_secure_sharing_id", "page_viewer_ip"] {
                    assert!(values[0]["logRecord"].get(k).is_some(), "{k}");
                }
            }
            LogType::ExternallySharedCallPlay => {
                assert!(values.iter().all(|v| v.get("userId").is_none()));
                assert!(
                    values
                        .iter()
                        .all(|v| v["logRecord"]["sequence_num"].is_string())
                );
                assert!(
                    values[0]["logRecord"]
                        .get("time_based_secure_sharing_id")
                        .is_some()
                );
                assert!(
                    values[0]["logRecord"]
                        .get("video_player_instance_id")
                        .is_some()
                );
            }
        }
    }
}

#[tokio::test]
async fn jsonl_data_file_is_served_verbatim() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("export.jsonl");
    let lines = [
        r#"{"logType":"AccessLog","eventTime":"2024-05-02T10:00:00+02:00","logRecord":{"price":1.10,"big":123456789012345678901234567890,"nested": {"a" : [1, 2]}}}"#,
        r#"{"userId":"1","logType":"AccessLog","eventTime":"2024-05-02T07:00:00.5Z","logRecord":{}}"#,
        "",
        r#"{"eventTime":"2024-05-01T00:00:00Z","logType":"UserCallPlay","logRecord":{"call_id":9007199254740993},"newField":true}"#,
        r#"{"logType":"AccessLog","eventTime":"2024-05-02T08:00:00Z","logRecord":{"same":"instant as line 1"}}"#,
    ];
    std::fs::write(&path, lines.join("\n")).unwrap();
    let mut cfg = small(0);
    cfg.data_file = Some(path.clone());
    let h = Harness::new(cfg).await;
    let access = h.sim.dataset().entries(LogType::AccessLog);
    assert_eq!(
        jsons(access),
        [
            r#"{"userId":"1","eventTime":"2024-05-02T07:00:00.5Z","logRecord":{}}"#,
            r#"{"eventTime":"2024-05-02T10:00:00+02:00","logRecord":{"price":1.10,"big":123456789012345678901234567890,"nested": {"a" : [1, 2]}}}"#,
            r#"{"eventTime":"2024-05-02T08:00:00Z","logRecord":{"same":"instant as line 1"}}"#,
        ]
    );
    let (served, _) = h
        .walk(LogType::AccessLog, "2024-05-01T00:00:00Z", None)
        .await;
    assert_eq!(served, jsons(access));
    let (calls, _) = h
        .walk(LogType::UserCallPlay, "2024-04-01T00:00:00Z", None)
        .await;
    assert_eq!(
        calls,
        [
            r#"{"eventTime":"2024-05-01T00:00:00Z","logRecord":{"call_id":9007199254740993},"newField":true}"#
        ]
    );
    h.get(&[("logType", "UserActivityLog"), ("fromDateTime", FROM)])
        .await
        .gong_error(StatusCode::NOT_FOUND);

    // Bad files give clear errors naming the line.
    let bad = [
        ("{\"eventTime\":\"2024-05-01T00:00:00Z\"}", 1, "logType"),
        ("\n{\"logType\":\"AccessLog\"}", 2, "eventTime"),
        (
            "{\"logType\":\"Calls\",\"eventTime\":\"2024-05-01T00:00:00Z\"}",
            1,
            "unknown log type",
        ),
        (
            "{\"logType\":\"AccessLog\",\"eventTime\":\"May 1st\"}",
            1,
            "ISO-8601",
        ),
        ("[1,2]", 1, "JSON object"),
        ("{\"logType\":\"AccessLog\",", 1, "JSON object"),
    ];
    for (text, line, needle) in bad {
        let err = Dataset::from_jsonl_str(text).unwrap_err();
        let msg = err.to_string();
        assert!(
            matches!(err, SimError::DataFileLine { line: l, .. } if l == line),
            "{msg}"
        );
        assert!(msg.contains(needle), "{msg}");
    }
    let mut cfg = small(0);
    cfg.data_file = Some(dir.path().join("missing.jsonl"));
    let err = Simulator::start(cfg).await.unwrap_err();
    assert!(matches!(err, SimError::DataFileIo { .. }), "{err}");
}

#[tokio::test]
async fn invalid_config_is_refused() {
    let cases: [fn(&mut SimConfig); 6] = [
        |c| c.page_size = 0,
        |c| c.faults.p_500 = 1.5,
        |c| {
            c.faults.p_500 = 0.6;
            c.faults.p_502 = 0.6;
        },
        |c| c.rate_limit = -1.0,
        |c| c.start = c.end,
        |c| {
            c.access_key.clear();
            c.bearer_tokens.clear();
        },
    ];
    for f in cases {
        let mut cfg = small(5);
        f(&mut cfg);
        assert!(matches!(
            Simulator::start(cfg).await,
            Err(SimError::InvalidConfig(_))
        ));
    }
    // Debug redacts secrets.
    let dbg = format!("{:?}", SimConfig::default());
    assert!(
        !dbg.contains("sim-secret") && !dbg.contains("sim-bearer-token"),
        "{dbg}"
    );
}

#[tokio::test]
async fn shutdown_stops_serving_promptly() {
    let h = Harness::new(small(5)).await;
    // Leave an idle keep-alive connection in the client's pool.
    assert_eq!(h.get(&Q).await.status, StatusCode::OK);
    let url = h.url();
    let started = std::time::Instant::now();
    h.sim.shutdown().await;
    // A hang guard only (shutdown gives in-flight requests 2 s at most).
    assert!(
        started.elapsed() < Duration::from_secs(30),
        "{:?}",
        started.elapsed()
    );
    let r = h.http.get(url).query(&Q).send().await;
    assert!(r.is_err(), "{r:?}");
}

// The simulator's throughput (pages/s) is measured by `cargo xtask bench`,
// not by a test: these machines are too noisy for timed tests.
