//! The HTTP server: `GET /v2/logs` and the admin endpoints.
//!
//! Request pipeline for `GET /v2/logs`, in order:
//! 1. count the arrival (and a Retry-After violation if it came too early);
//! 2. authenticate (401);
//! 3. rate limit, then daily quota (429 + `Retry-After`);
//! 4. validate parameters and cursor (400);
//! 5. decide a fault and add latency (faults only hit requests Gong would serve);
//! 6. answer 404 (empty range) or 200 (a page), or the injected fault instead.

use std::collections::HashSet;
use std::fmt;
use std::io;
use std::net::SocketAddr;
use std::ops::Range;
use std::pin::Pin;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::connect_info::Connected;
use axum::extract::{ConnectInfo, RawQuery, State};
use axum::response::Response;
use axum::routing::{get, post};
use axum::serve::{IncomingStream, Listener};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use bytes::Bytes;
use futures::StreamExt;
use http::header::{AUTHORIZATION, CONTENT_LENGTH, CONTENT_TYPE, DATE, RETRY_AFTER};
use http::{HeaderMap, HeaderValue, StatusCode};
use jiff::Timestamp;
use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};
use tokio::net::TcpListener;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::config::{LogType, SimConfig};
use crate::cursor::{Claims, CursorSigner, params_hash};
use crate::data::Dataset;
use crate::error::SimError;
use crate::misbehave::{Misbehave, own_log_type_entry, timeless_time};
use crate::oauth::OAuth;
use crate::rng::Rng;
use crate::stats::{Counters, FaultKind, Stats};
use crate::tls::Stream;

const JSON: &str = "application/json";
const HTML_502: &str = "<html><body><h1>502 Bad Gateway</h1></body></html>";

/// A running simulator. Dropping it stops accepting connections; prefer
/// [`Simulator::shutdown`] for an orderly stop.
pub struct Simulator {
    addr: SocketAddr,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    task: Option<JoinHandle<()>>,
}

impl fmt::Debug for Simulator {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Simulator")
            .field("addr", &self.addr)
            .field("config", &self.shared.config)
            .field("dataset", &self.shared.dataset)
            .finish_non_exhaustive()
    }
}

impl Simulator {
    /// Validates `config`, builds its data set (generated or loaded from
    /// `data_file`), binds `config.bind` and serves on the current tokio runtime.
    pub async fn start(config: SimConfig) -> Result<Simulator, SimError> {
        config.validate()?;
        let dataset = Dataset::from_config(&config)?;
        Simulator::start_with_dataset(config, dataset).await
    }

    /// Like [`Simulator::start`], serving `dataset` (the data knobs of `config`
    /// are ignored).
    pub async fn start_with_dataset(
        config: SimConfig,
        dataset: Dataset,
    ) -> Result<Simulator, SimError> {
        config.validate()?;
        let bind = config.bind;
        let listener = TcpListener::bind(bind)
            .await
            .map_err(|source| SimError::Bind { addr: bind, source })?;
        let addr = listener
            .local_addr()
            .map_err(|source| SimError::Bind { addr: bind, source })?;
        let tls = match &config.tls {
            Some(tls) => Some(tokio_rustls::TlsAcceptor::from(tls.server_config()?)),
            None => None,
        };
        let shared = Arc::new(Shared::new(config, dataset));
        let app = router(shared.clone());
        let (tx, rx) = oneshot::channel::<()>();
        let serve = axum::serve(
            SimListener {
                inner: listener,
                tls,
            },
            app.into_make_service_with_connect_info::<ConnHandle>(),
        )
        .with_graceful_shutdown(async move {
            let _ = rx.await;
        });
        let task = tokio::spawn(async move {
            let _ = serve.await;
        });
        tracing::info!(%addr, "gong-logs-sim listening");
        let sim = Simulator {
            addr,
            shared,
            shutdown: Some(tx),
            task: Some(task),
        };
        sim.shared.oauth.set_base_url(sim.base_url());
        Ok(sim)
    }

    /// `http://IP:PORT`, or `https://` when serving TLS (an unspecified
    /// bind address is reported as loopback).
    pub fn base_url(&self) -> String {
        let mut a = self.addr;
        if a.ip().is_unspecified() {
            a.set_ip(match a {
                SocketAddr::V4(_) => std::net::Ipv4Addr::LOCALHOST.into(),
                SocketAddr::V6(_) => std::net::Ipv6Addr::LOCALHOST.into(),
            });
        }
        let scheme = if self.shared.config.tls.is_some() {
            "https"
        } else {
            "http"
        };
        format!("{scheme}://{a}")
    }

    /// The bound address (with the real port when `bind` had port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The same snapshot `GET /_sim/stats` returns.
    pub fn stats(&self) -> Stats {
        self.shared.counters.snapshot()
    }

    /// Same as `POST /_sim/reset`: zeroes the counters, forgets the
    /// Retry-After deadline, the daily quota usage and the fail-each-once
    /// memory. Returns the stats as they were before.
    pub fn reset(&self) -> Stats {
        self.shared.reset()
    }

    /// The entries this simulator serves.
    pub fn dataset(&self) -> &Dataset {
        &self.shared.dataset
    }

    /// The configuration it runs with.
    pub fn config(&self) -> &SimConfig {
        &self.shared.config
    }

    /// Stops accepting connections, lets in-flight requests finish (at most
    /// 2 s), then stops.
    pub async fn shutdown(mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(mut task) = self.task.take()
            && tokio::time::timeout(Duration::from_secs(2), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}

impl Drop for Simulator {
    fn drop(&mut self) {
        if let Some(task) = self.task.take() {
            task.abort();
        }
    }
}

// ---------------------------------------------------------------------------
// Connections: a listener whose sockets can be killed from a handler.

/// Per-connection handle given to handlers; setting `abort` makes every further
/// read or write on the socket fail, so hyper drops the connection without
/// writing the response.
#[derive(Debug, Clone)]
struct ConnHandle {
    remote: SocketAddr,
    abort: Arc<AtomicBool>,
}

impl Connected<IncomingStream<'_, SimListener>> for ConnHandle {
    fn connect_info(stream: IncomingStream<'_, SimListener>) -> Self {
        stream.remote_addr().clone()
    }
}

struct SimListener {
    inner: TcpListener,
    tls: Option<tokio_rustls::TlsAcceptor>,
}

impl Listener for SimListener {
    type Io = SimIo;
    type Addr = ConnHandle;

    async fn accept(&mut self) -> (SimIo, ConnHandle) {
        loop {
            match self.inner.accept().await {
                Ok((stream, remote)) => {
                    let _ = stream.set_nodelay(true);
                    let abort = Arc::new(AtomicBool::new(false));
                    let inner = match &self.tls {
                        Some(tls) => Stream::Accepting(Box::new(tls.accept(stream))),
                        None => Stream::Plain(stream),
                    };
                    let io = SimIo {
                        inner,
                        abort: abort.clone(),
                    };
                    return (io, ConnHandle { remote, abort });
                }
                Err(e) => {
                    // Per-connection errors (reset before accept) are harmless;
                    // others (EMFILE) need a pause to avoid a busy loop.
                    if !matches!(
                        e.kind(),
                        io::ErrorKind::ConnectionAborted
                            | io::ErrorKind::ConnectionReset
                            | io::ErrorKind::ConnectionRefused
                    ) {
                        tracing::warn!("accept failed: {e}");
                        tokio::time::sleep(Duration::from_millis(100)).await;
                    }
                }
            }
        }
    }

    fn local_addr(&self) -> io::Result<ConnHandle> {
        Ok(ConnHandle {
            remote: self.inner.local_addr()?,
            abort: Arc::new(AtomicBool::new(false)),
        })
    }
}

#[derive(Debug)]
struct SimIo {
    inner: Stream,
    abort: Arc<AtomicBool>,
}

impl SimIo {
    fn check(&self) -> io::Result<()> {
        if self.abort.load(Ordering::Relaxed) {
            Err(io::Error::new(
                io::ErrorKind::ConnectionAborted,
                "gong-logs-sim: injected dropped connection",
            ))
        } else {
            Ok(())
        }
    }
}

impl AsyncRead for SimIo {
    fn poll_read(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        crate::tls::poll_read(&mut this.inner, cx, buf)
    }
}

impl AsyncWrite for SimIo {
    fn poll_write(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        let io = std::task::ready!(this.inner.poll_io(cx))?;
        Pin::new(io).poll_write(cx, buf)
    }

    fn poll_write_vectored(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        bufs: &[io::IoSlice<'_>],
    ) -> Poll<io::Result<usize>> {
        let this = self.get_mut();
        this.check()?;
        let io = std::task::ready!(this.inner.poll_io(cx))?;
        Pin::new(io).poll_write_vectored(cx, bufs)
    }

    fn is_write_vectored(&self) -> bool {
        self.inner.is_write_vectored()
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        let io = std::task::ready!(this.inner.poll_io(cx))?;
        Pin::new(io).poll_flush(cx)
    }

    fn poll_shutdown(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        let this = self.get_mut();
        this.check()?;
        let io = std::task::ready!(this.inner.poll_io(cx))?;
        Pin::new(io).poll_shutdown(cx)
    }
}

// ---------------------------------------------------------------------------
// Shared state

struct Bucket {
    tokens: f64,
    last: Instant,
    rate: f64,
    burst: f64,
}

impl Bucket {
    /// Takes a token, or says how many whole seconds until one is available.
    fn take(&mut self, now: Instant) -> Result<(), u64> {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.last = now;
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            Ok(())
        } else {
            Err(((1.0 - self.tokens) / self.rate).ceil().max(1.0) as u64)
        }
    }
}

struct Quota {
    day: i64,
    used: u64,
    limit: u64,
}

impl Quota {
    fn take(&mut self, now: Timestamp) -> Result<(), u64> {
        let secs = now.as_second();
        let day = secs.div_euclid(86_400);
        if day != self.day {
            self.day = day;
            self.used = 0;
        }
        if self.used < self.limit {
            self.used += 1;
            Ok(())
        } else {
            Err((86_400 - secs.rem_euclid(86_400)).max(1) as u64)
        }
    }
}

#[derive(Default)]
struct FailOnce {
    seen: HashSet<String>,
    next: usize,
}

struct Shared {
    config: SimConfig,
    dataset: Dataset,
    signer: CursorSigner,
    counters: Counters,
    bucket: Option<Mutex<Bucket>>,
    quota: Option<Mutex<Quota>>,
    rng: Mutex<Rng>,
    fail_once: Mutex<FailOnce>,
    enabled_faults: Vec<FaultKind>,
    oauth: Arc<OAuth>,
}

fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|e| e.into_inner())
}

impl Shared {
    fn new(config: SimConfig, dataset: Dataset) -> Shared {
        let key: [u8; 32] = rand::random();
        let bucket = (config.rate_limit > 0.0).then(|| {
            Mutex::new(Bucket {
                tokens: f64::from(config.burst),
                last: Instant::now(),
                rate: config.rate_limit,
                burst: f64::from(config.burst),
            })
        });
        let quota = config.daily_quota.map(|limit| {
            Mutex::new(Quota {
                day: i64::MIN,
                used: 0,
                limit,
            })
        });
        let f = &config.faults;
        let enabled_faults = [
            (f.p_500, FaultKind::ServerError),
            (f.p_502, FaultKind::BadGateway),
            (f.p_503, FaultKind::ServiceUnavailable),
            (f.p_drop, FaultKind::DropConnection),
            (f.p_truncate, FaultKind::TruncateBody),
            (f.p_429, FaultKind::TooManyRequests),
            (f.p_stall, FaultKind::Stall),
        ]
        .into_iter()
        .filter(|(p, _)| *p > 0.0)
        .map(|(_, k)| k)
        .collect();
        let oauth = Arc::new(OAuth::new(
            &config.oauth_client_id,
            &config.oauth_client_secret,
            config.token_ttl,
            config.oauth_refresh_token.as_deref(),
        ));
        Shared {
            oauth,
            rng: Mutex::new(Rng::new(config.seed ^ 0x5EED_FA17_0000_0001)),
            signer: CursorSigner::new(&key),
            counters: Counters::new(),
            bucket,
            quota,
            fail_once: Mutex::new(FailOnce::default()),
            enabled_faults,
            config,
            dataset,
        }
    }

    fn reset(&self) -> Stats {
        let before = self.counters.snapshot();
        self.counters.reset();
        if let Some(q) = &self.quota {
            lock(q).used = 0;
        }
        *lock(&self.fail_once) = FailOnce::default();
        before
    }

    fn authorized(&self, headers: &HeaderMap) -> Result<(), &'static str> {
        let value = headers
            .get(AUTHORIZATION)
            .ok_or("Access denied: missing Authorization header")?;
        let value = value
            .to_str()
            .map_err(|_| "Access denied: malformed Authorization header")?;
        let (scheme, rest) = value
            .trim()
            .split_once(' ')
            .ok_or("Access denied: malformed Authorization header")?;
        let rest = rest.trim();
        if scheme.eq_ignore_ascii_case("Basic") && !self.config.access_key.is_empty() {
            let decoded = STANDARD
                .decode(rest)
                .map_err(|_| "Access denied: malformed Basic credentials")?;
            let decoded = String::from_utf8(decoded)
                .map_err(|_| "Access denied: malformed Basic credentials")?;
            let (key, secret) = decoded
                .split_once(':')
                .ok_or("Access denied: malformed Basic credentials")?;
            if key == self.config.access_key && secret == self.config.secret {
                return Ok(());
            }
            Err("Access denied: invalid access key or secret")
        } else if scheme.eq_ignore_ascii_case("Bearer") {
            if self.config.bearer_tokens.iter().any(|t| t == rest) || self.oauth.access_valid(rest)
            {
                return Ok(());
            }
            Err("Access denied: invalid or expired token")
        } else {
            Err("Access denied: unsupported authorization scheme")
        }
    }

    fn decide_fault(&self, query: &str) -> Option<FaultKind> {
        let f = &self.config.faults;
        if f.fail_each_request_once {
            let mut g = lock(&self.fail_once);
            if !g.seen.insert(query.to_owned()) {
                return None;
            }
            let kind = if self.enabled_faults.is_empty() {
                FaultKind::ServerError
            } else {
                self.enabled_faults[g.next % self.enabled_faults.len()]
            };
            g.next += 1;
            return Some(kind);
        }
        if !f.any_random() {
            return None;
        }
        let u = lock(&self.rng).unit();
        let mut acc = 0.0;
        for (p, k) in [
            (f.p_500, FaultKind::ServerError),
            (f.p_502, FaultKind::BadGateway),
            (f.p_503, FaultKind::ServiceUnavailable),
            (f.p_drop, FaultKind::DropConnection),
            (f.p_truncate, FaultKind::TruncateBody),
            (f.p_429, FaultKind::TooManyRequests),
            (f.p_stall, FaultKind::Stall),
        ] {
            acc += p;
            if u < acc {
                return Some(k);
            }
        }
        None
    }

    async fn add_latency(&self) {
        let f = &self.config.faults;
        if !f.any_latency() {
            return;
        }
        let jitter = if f.jitter_ms > 0 {
            lock(&self.rng).below(f.jitter_ms + 1)
        } else {
            0
        };
        self.counters.latency();
        tokio::time::sleep(Duration::from_millis(f.latency_ms + jitter)).await;
    }

    /// A response, counted in the stats.
    fn respond(
        &self,
        status: StatusCode,
        content_type: &'static str,
        body: Vec<u8>,
        retry_after: Option<(&str, u64)>,
    ) -> Response {
        self.counters.status(status.as_u16());
        let mut r = Response::new(Body::from(body));
        *r.status_mut() = status;
        r.headers_mut()
            .insert(CONTENT_TYPE, HeaderValue::from_static(content_type));
        if let Some(date) = self.skewed_date() {
            r.headers_mut().insert(DATE, date);
        }
        if let Some((query, secs)) = retry_after {
            r.headers_mut().insert(RETRY_AFTER, HeaderValue::from(secs));
            self.counters.issued_retry_after(query, secs);
        }
        r
    }

    /// The `Date` header of a server clock `date_offset_secs` off (`None`
    /// at no offset: hyper adds the true one).
    fn skewed_date(&self) -> Option<HeaderValue> {
        let offset = self.config.date_offset_secs;
        if offset == 0 {
            return None;
        }
        let at = Timestamp::now()
            .checked_add(jiff::SignedDuration::from_secs(offset))
            .ok()?;
        HeaderValue::from_str(&at.strftime("%a, %d %b %Y %H:%M:%S GMT").to_string()).ok()
    }

    fn error(&self, status: StatusCode, message: &str) -> Response {
        self.respond(status, JSON, error_body(message), None)
    }

    /// An error with `Retry-After: secs`, refusing the request `query`.
    fn error_retry(&self, status: StatusCode, message: &str, query: &str, secs: u64) -> Response {
        self.respond(status, JSON, error_body(message), Some((query, secs)))
    }

    /// Checks a cursor against this request; returns `(offset, page)`.
    fn check_cursor(
        &self,
        cursor: &str,
        req: &LogsRequest,
        total: usize,
    ) -> Result<(usize, u64), String> {
        let claims = self.signer.decode(cursor).ok_or_else(|| {
            "Invalid cursor: it is malformed, was altered, or was not issued by this server"
                .to_owned()
        })?;
        let expected = params_hash(&req.log_type_raw, &req.from_raw, req.to_raw.as_deref());
        if claims.params != expected {
            return Err("Invalid cursor: it does not match the request's logType, \
                        fromDateTime and toDateTime (send them exactly as in the request \
                        that returned the cursor)"
                .to_owned());
        }
        let age_ms = now_ms() - claims.issued_ms;
        if self.config.cursor_ttl.is_zero() || age_ms > self.config.cursor_ttl.as_millis() as i64 {
            return Err(format!(
                "The cursor has expired (issued {} s ago, valid for {} s); repeat the \
                 request without a cursor, from the last entry you received",
                age_ms / 1000,
                self.config.cursor_ttl.as_secs()
            ));
        }
        let page_size = self.config.page_size as u64;
        if claims.offset == 0
            || claims.offset >= total
            || claims.offset as u64 != claims.page.saturating_mul(page_size)
        {
            return Err("Invalid cursor: it points outside the requested range".to_owned());
        }
        Ok((claims.offset, claims.page))
    }

    /// Status, content type and body of the response Gong would give.
    fn normal_response(
        &self,
        req: &LogsRequest,
        range: Range<usize>,
        offset: usize,
        page: u64,
    ) -> (StatusCode, Vec<u8>, usize) {
        self.bent_response(req, range, offset, page, &Bend::default())
    }

    /// [`Self::normal_response`], bent by a misbehaviour.
    fn bent_response(
        &self,
        req: &LogsRequest,
        range: Range<usize>,
        offset: usize,
        page: u64,
        bend: &Bend,
    ) -> (StatusCode, Vec<u8>, usize) {
        let total = range.len();
        if total == 0 {
            return (
                StatusCode::NOT_FOUND,
                error_body("No logs found corresponding to the specified filters"),
                0,
            );
        }
        let start = range.start + offset;
        let end = (start + self.config.page_size).min(range.end);
        let n = end - start;
        let mut joined: std::borrow::Cow<'_, str> =
            self.dataset.joined(req.log_type, start..end).into();
        if let Some(first) = &bend.first {
            joined = format!("{first},{joined}").into();
        }
        if let Some(last) = &bend.last {
            joined = format!("{joined},{last}").into();
        }
        let total = bend.total.unwrap_or(total as u64);
        let mut cursor = (end < range.end).then(|| {
            self.signer.encode(&Claims {
                offset: offset + n,
                page: page + 1,
                issued_ms: now_ms(),
                params: params_hash(&req.log_type_raw, &req.from_raw, req.to_raw.as_deref()),
            })
        });
        if let Some(c) = &bend.cursor {
            cursor = c.clone();
        }
        let mut b = Vec::with_capacity(joined.len() + 320);
        b.extend_from_slice(b"{\"requestId\":\"");
        b.extend_from_slice(request_id().as_bytes());
        b.extend_from_slice(
            format!(
                "\",\"records\":{{\"totalRecords\":{total},\"currentPageSize\":{},\"currentPageNumber\":{page}",
                n + usize::from(bend.first.is_some())
                    + usize::from(bend.last.is_some())
                    + bend.page_size_extra
            )
            .as_bytes(),
        );
        if let Some(c) = cursor {
            b.extend_from_slice(b",\"cursor\":\"");
            b.extend_from_slice(c.as_bytes());
            b.push(b'"');
        }
        b.extend_from_slice(b"},\"logEntries\":[");
        b.extend_from_slice(joined.as_bytes());
        b.extend_from_slice(b"]}");
        (StatusCode::OK, b, n)
    }
}

/// How a misbehaviour bends a normal page.
#[derive(Debug, Default)]
struct Bend {
    /// An entry (JSON) put before the page's entries.
    first: Option<String>,
    /// An entry (JSON) put after them.
    last: Option<String>,
    /// `totalRecords` instead of the truth.
    total: Option<u64>,
    /// The cursor instead of the real one (`Some(None)`: no cursor).
    cursor: Option<Option<String>>,
    /// Added to the true `currentPageSize`.
    page_size_extra: usize,
}

fn synthetic_entry(time: Timestamp) -> String {
    format!(r#"{{"userId":"9999","eventTime":"{time}","logRecord":{{"misbehave":true}}}}"#)
}

impl Shared {
    /// The answer of a misbehaving server, or `None` to answer normally.
    fn misbehave(
        &self,
        mode: Misbehave,
        req: &LogsRequest,
        range: &Range<usize>,
        headers: &HeaderMap,
    ) -> Option<Response> {
        let auth = headers
            .get(AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .unwrap_or("")
            .to_owned();
        let first_page = req.cursor.is_none();
        let bent = |bend: Bend| {
            let (status, body, n) = self.bent_response(req, range.clone(), 0, 0, &bend);
            if status == StatusCode::OK {
                self.counters.page(n);
            }
            self.respond(status, JSON, body, None)
        };
        Some(match mode {
            Misbehave::EchoCredentials => {
                let decoded = auth
                    .split_once(' ')
                    .and_then(|(_, b64)| STANDARD.decode(b64.trim()).ok())
                    .map(|d| String::from_utf8_lossy(&d).into_owned())
                    .unwrap_or_default();
                let token = auth.split_once(' ').map(|(_, t)| t).unwrap_or("");
                let body = serde_json::json!({
                    "requestId": auth,
                    "errors": [
                        format!("bad credentials: {auth}"),
                        format!("decoded: {decoded}"),
                        format!("token was {token}"),
                    ],
                });
                self.respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    JSON,
                    body.to_string().into_bytes(),
                    None,
                )
            }
            Misbehave::EscapeSequences => {
                let body = serde_json::json!({
                    "requestId": "\u{1b}[2J\u{1b}]0;pwned\u{7}id",
                    "errors": [
                        "\u{1b}[31mred\u{1b}[0m \u{1b}]8;;https://evil.example\u{1b}\\link\u{1b}]8;;\u{1b}\\ bell\u{7} c1\u{9b}31m bidi\u{202e}txt.exe\u{2066}",
                    ],
                });
                self.respond(StatusCode::FORBIDDEN, JSON, body.to_string().into_bytes(), None)
            }
            Misbehave::HugeErrorMessage => {
                let body = serde_json::json!({
                    "requestId": "huge",
                    "errors": [format!("start {} end", "x".repeat(4_000_000))],
                });
                self.respond(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    JSON,
                    body.to_string().into_bytes(),
                    None,
                )
            }
            Misbehave::DripBytes => {
                self.counters.status(200);
                let stream = futures::stream::unfold((), |()| async {
                    tokio::time::sleep(Duration::from_millis(300)).await;
                    Some((Ok::<Bytes, io::Error>(Bytes::from_static(b" ")), ()))
                });
                let stream = futures::stream::once(async {
                    Ok::<Bytes, io::Error>(Bytes::from_static(b"{\"requestId\":\"drip\""))
                })
                .chain(stream);
                let mut r = Response::new(Body::from_stream(stream));
                r.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
                r
            }
            Misbehave::EndlessBody | Misbehave::HugeBody => {
                self.counters.status(200);
                static SPACES: [u8; 65536] = [b' '; 65536];
                let stream = futures::stream::repeat_with(|| {
                    Ok::<Bytes, io::Error>(Bytes::from_static(&SPACES))
                });
                let mut r = Response::new(Body::from_stream(stream));
                r.headers_mut()
                    .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
                if mode == Misbehave::HugeBody {
                    r.headers_mut()
                        .insert(CONTENT_LENGTH, HeaderValue::from(2_147_483_648u64));
                }
                r
            }
            Misbehave::RepeatCursor => bent(Bend {
                cursor: Some(Some("the-same-cursor".to_owned())),
                ..Bend::default()
            }),
            Misbehave::FreshCursorSameEntries => bent(Bend {
                cursor: Some(Some(format!("fresh-{}", request_id()))),
                ..Bend::default()
            }),
            Misbehave::OutOfRangeEntry if first_page => {
                let before = req.from.checked_sub(jiff::SignedDuration::from_secs(1)).ok()?;
                return self.bent_page(req, range, Bend {
                    first: Some(synthetic_entry(before)),
                    ..Bend::default()
                });
            }
            Misbehave::BackwardsEntry if first_page => {
                return self.bent_page(req, range, Bend {
                    last: Some(synthetic_entry(req.from)),
                    ..Bend::default()
                });
            }
            Misbehave::FarFutureEntry if first_page => {
                let future: Timestamp = "2999-01-01T00:00:00Z".parse().ok()?;
                return self.bent_page(req, range, Bend {
                    last: Some(synthetic_entry(future)),
                    ..Bend::default()
                });
            }
            Misbehave::NotFoundOnCursor if !first_page => self.error(
                StatusCode::NOT_FOUND,
                "No logs found corresponding to the specified filters",
            ),
            Misbehave::Html404 => self.respond(
                StatusCode::NOT_FOUND,
                "text/html",
                b"<html><body><h1>404 Not Found</h1>nginx</body></html>".to_vec(),
                None,
            ),
            Misbehave::OtherJson404 => self.respond(
                StatusCode::NOT_FOUND,
                JSON,
                br#"{"timestamp":"2024-01-01T00:00:00Z","status":404,"message":"Not Found","path":"/v2/logs/v2/logs"}"#.to_vec(),
                None,
            ),
            Misbehave::Html200 => self.respond(
                StatusCode::OK,
                "text/html",
                b"<html><body>Please sign in</body></html>".to_vec(),
                None,
            ),
            Misbehave::EmptyPages => {
                self.counters.page(0);
                let id = request_id();
                let body = format!(
                    r#"{{"requestId":"{id}","records":{{"totalRecords":1000000,"currentPageSize":0,"currentPageNumber":0,"cursor":"empty-{id}"}},"logEntries":[]}}"#
                );
                self.respond(StatusCode::OK, JSON, body.into_bytes(), None)
            }
            Misbehave::NoLogEntries => {
                self.counters.page(0);
                let body = r#"{"requestId":"r","records":{"totalRecords":1,"currentPageSize":1,"currentPageNumber":0}}"#;
                self.respond(StatusCode::OK, JSON, body.as_bytes().to_vec(), None)
            }
            Misbehave::TimelessEntry if first_page => {
                let entry = format!(
                    r#"{{"userId":"9999","eventTime":"{}","logRecord":{{"misbehave":true}}}}"#,
                    timeless_time(req.from)
                );
                return self.bent_page(req, range, Bend {
                    first: Some(entry),
                    ..Bend::default()
                });
            }
            Misbehave::OwnLogType if first_page => {
                return self.bent_page(req, range, Bend {
                    first: Some(own_log_type_entry(req.from)),
                    ..Bend::default()
                });
            }
            _ => return None,
        })
    }

    /// A first page (the sim's own cursor kept) bent by `bend`; `None`
    /// when the range is empty (then the normal 404 answers).
    fn bent_page(&self, req: &LogsRequest, range: &Range<usize>, bend: Bend) -> Option<Response> {
        if range.is_empty() {
            return None;
        }
        let (status, body, n) = self.bent_response(req, range.clone(), 0, 0, &bend);
        self.counters.page(n);
        Some(self.respond(status, JSON, body, None))
    }
}

fn now_ms() -> i64 {
    Timestamp::now().as_millisecond()
}

/// 19 random lowercase alphanumerics, like Gong's request ids.
fn request_id() -> String {
    use rand::Rng as _;
    const ALPHABET: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";
    let mut rng = rand::rng();
    (0..19)
        .map(|_| char::from(ALPHABET[rng.random_range(0..ALPHABET.len())]))
        .collect()
}

/// Gong's error body: `{"requestId":"...","errors":["..."]}`.
fn error_body(message: &str) -> Vec<u8> {
    let msg = serde_json::to_string(message).unwrap_or_else(|_| "\"error\"".to_owned());
    format!(r#"{{"requestId":"{}","errors":[{msg}]}}"#, request_id()).into_bytes()
}

// ---------------------------------------------------------------------------
// Query parsing

#[derive(Debug)]
struct LogsRequest {
    log_type: LogType,
    log_type_raw: String,
    from_raw: String,
    from: Timestamp,
    to_raw: Option<String>,
    to: Option<Timestamp>,
    cursor: Option<String>,
}

/// Decodes one `application/x-www-form-urlencoded` component (`+` is a
/// space, as in every Java servlet container: a client that forgets to encode
/// the `+` of `+02:00` gets a 400, as it would from Gong).
fn decode_component(s: &str) -> Option<String> {
    let b = s.as_bytes();
    let mut out = Vec::with_capacity(b.len());
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'+' => out.push(b' '),
            b'%' => {
                let hex = s.get(i + 1..i + 3)?;
                out.push(u8::from_str_radix(hex, 16).ok()?);
                i += 2;
            }
            c => out.push(c),
        }
        i += 1;
    }
    String::from_utf8(out).ok()
}

fn parse_time(name: &str, value: &str) -> Result<Timestamp, String> {
    value.parse::<Timestamp>().map_err(|_| {
        let hint = if value.contains(' ') {
            " (a '+' in the offset must be sent percent-encoded, as %2B)"
        } else {
            ""
        };
        format!(
            "{name} {value:?} is not a valid ISO-8601 date-time with an offset, e.g. \
             '2018-02-18T08:00:00Z' or '2018-02-18T02:30:00-07:00'{hint}"
        )
    })
}

fn parse_request(query: &str) -> Result<LogsRequest, String> {
    let mut log_type = None;
    let mut from = None;
    let mut to = None;
    let mut cursor = None;
    for pair in query.split('&').filter(|p| !p.is_empty()) {
        let (k, v) = pair.split_once('=').unwrap_or((pair, ""));
        let k = decode_component(k).ok_or("Malformed percent-encoding in the query string")?;
        let slot = match k.as_str() {
            "logType" => &mut log_type,
            "fromDateTime" => &mut from,
            "toDateTime" => &mut to,
            "cursor" => &mut cursor,
            _ => continue, // unknown parameters are ignored
        };
        if slot.is_some() {
            return Err(format!("Parameter {k} was given more than once"));
        }
        *slot = Some(decode_component(v).ok_or("Malformed percent-encoding in the query string")?);
    }
    let log_type_raw = log_type.ok_or("Missing required parameter logType")?;
    let lt = log_type_raw.parse::<LogType>().map_err(|_| {
        format!(
            "Invalid logType {log_type_raw:?}; valid values: AccessLog, UserActivityLog, \
             UserCallPlay, ExternallySharedCallAccess, ExternallySharedCallPlay"
        )
    })?;
    let from_raw = from.ok_or("Missing required parameter fromDateTime")?;
    let from = parse_time("fromDateTime", &from_raw)?;
    let to_raw = to;
    let to = match &to_raw {
        Some(v) => Some(parse_time("toDateTime", v)?),
        None => None,
    };
    if let (Some(t), Some(t_raw)) = (to, &to_raw)
        && from >= t
    {
        return Err(format!(
            "fromDateTime ({from_raw}) must be earlier than toDateTime ({t_raw})"
        ));
    }
    let cursor = cursor.filter(|c| !c.is_empty());
    Ok(LogsRequest {
        log_type: lt,
        log_type_raw,
        from_raw,
        from,
        to_raw,
        to,
        cursor,
    })
}

// ---------------------------------------------------------------------------
// Routes

fn router(shared: Arc<Shared>) -> Router {
    Router::new()
        .route("/v2/logs", get(logs))
        .route("/_sim/stats", get(admin_stats))
        .route("/_sim/reset", post(admin_reset))
        .with_state(shared.clone())
        .merge(crate::oauth::routes(shared.oauth.clone()))
        .fallback(not_found)
}

/// An uncounted JSON response (admin endpoints, unknown paths).
fn plain_json(status: StatusCode, body: Vec<u8>) -> Response {
    let mut r = Response::new(Body::from(body));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    r
}

async fn admin_stats(State(s): State<Arc<Shared>>) -> Response {
    let body = serde_json::to_vec(&s.counters.snapshot()).unwrap_or_default();
    plain_json(StatusCode::OK, body)
}

async fn admin_reset(State(s): State<Arc<Shared>>) -> Response {
    let body = serde_json::to_vec(&s.reset()).unwrap_or_default();
    plain_json(StatusCode::OK, body)
}

async fn not_found() -> Response {
    plain_json(
        StatusCode::NOT_FOUND,
        error_body("Not found: this simulator serves GET /v2/logs (and /_sim/stats, /_sim/reset)"),
    )
}

async fn logs(
    State(s): State<Arc<Shared>>,
    ConnectInfo(conn): ConnectInfo<ConnHandle>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let query = query.as_deref().unwrap_or("");
    let _in_flight = s.counters.arrive(query);

    if let Err(msg) = s.authorized(&headers) {
        return s.error(StatusCode::UNAUTHORIZED, msg);
    }
    if let Some(bucket) = &s.bucket {
        let taken = lock(bucket).take(Instant::now());
        if let Err(secs) = taken {
            s.counters.rate_limited();
            return s.error_retry(
                StatusCode::TOO_MANY_REQUESTS,
                "API request limit exceeded: too many requests per second",
                query,
                secs,
            );
        }
    }
    if let Some(quota) = &s.quota {
        let taken = lock(quota).take(Timestamp::now());
        if let Err(secs) = taken {
            s.counters.quota_exceeded();
            return s.error_retry(
                StatusCode::TOO_MANY_REQUESTS,
                "API request limit exceeded: daily quota used up",
                query,
                secs,
            );
        }
    }
    let req = match parse_request(query) {
        Ok(r) => r,
        Err(msg) => return s.error(StatusCode::BAD_REQUEST, &msg),
    };
    let range = s.dataset.range(req.log_type, req.from, req.to);
    if let Some(mode) = s.config.misbehave {
        if matches!(mode, Misbehave::LyingTotal | Misbehave::WrongPageSize) {
            // Below: a normal answer, with the lie.
        } else if let Some(response) = s.misbehave(mode, &req, &range, &headers) {
            return response;
        }
    }
    let (offset, page) = match &req.cursor {
        None => (0, 0),
        Some(c) => match s.check_cursor(c, &req, range.len()) {
            Ok(x) => x,
            Err(msg) => return s.error(StatusCode::BAD_REQUEST, &msg),
        },
    };

    let fault = s.decide_fault(query);
    s.add_latency().await;

    match fault {
        None => {
            let bend = Bend {
                total: (s.config.misbehave == Some(Misbehave::LyingTotal)).then_some(2_147_483_647),
                page_size_extra: usize::from(s.config.misbehave == Some(Misbehave::WrongPageSize)),
                ..Bend::default()
            };
            let (status, body, n) = s.bent_response(&req, range, offset, page, &bend);
            if status == StatusCode::OK {
                s.counters.page(n);
            }
            s.respond(status, JSON, body, None)
        }
        Some(kind) => {
            s.counters.fault(kind);
            match kind {
                FaultKind::ServerError => s.error(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    "Failed to complete the operation due to an unexpected error",
                ),
                FaultKind::BadGateway => s.respond(
                    StatusCode::BAD_GATEWAY,
                    "text/html",
                    HTML_502.as_bytes().to_vec(),
                    None,
                ),
                FaultKind::ServiceUnavailable => s.error_retry(
                    StatusCode::SERVICE_UNAVAILABLE,
                    "Service temporarily unavailable, retry later",
                    query,
                    s.config.faults.retry_after_503,
                ),
                FaultKind::TooManyRequests => s.error_retry(
                    StatusCode::TOO_MANY_REQUESTS,
                    "API request limit exceeded: too many requests per second",
                    query,
                    s.config.faults.retry_after_429,
                ),
                FaultKind::Stall => {
                    // No answer: the client's read timeout ends this (hyper
                    // drops the handler when the client closes the
                    // connection); past the hang guard, drop it ourselves.
                    tokio::time::sleep(Duration::from_millis(s.config.faults.stall_ms)).await;
                    conn.abort.store(true, Ordering::Relaxed);
                    Response::new(Body::empty())
                }
                FaultKind::DropConnection => {
                    // Every further I/O on this socket fails: hyper closes it
                    // without writing a byte of this response.
                    conn.abort.store(true, Ordering::Relaxed);
                    tracing::debug!(remote = %conn.remote, "injected dropped connection");
                    Response::new(Body::empty())
                }
                FaultKind::TruncateBody => {
                    let (status, body, _) = s.normal_response(&req, range, offset, page);
                    truncated(status, body)
                }
            }
        }
    }
}

/// Headers with the full `Content-Length`, about half the body, then the
/// connection is closed (a body stream error makes hyper abort it).
fn truncated(status: StatusCode, body: Vec<u8>) -> Response {
    let full = body.len();
    let first = Bytes::from(body).slice(..full / 2);
    let stream = futures::stream::once(async move { Ok::<Bytes, io::Error>(first) }).chain(
        futures::stream::once(async {
            // Give hyper time to flush the first half before the abort.
            tokio::time::sleep(Duration::from_millis(25)).await;
            Err(io::Error::other("gong-logs-sim: injected truncated body"))
        }),
    );
    let mut r = Response::new(Body::from_stream(stream));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static(JSON));
    r.headers_mut()
        .insert(CONTENT_LENGTH, HeaderValue::from(full));
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn decode() {
        assert_eq!(decode_component("a%2Bb+c").as_deref(), Some("a+b c"));
        assert_eq!(decode_component("%zz"), None);
        assert_eq!(decode_component("%4"), None);
        assert_eq!(decode_component("%C3%AB").as_deref(), Some("ë"));
    }

    #[test]
    fn parse() {
        let r =
            parse_request("logType=AccessLog&fromDateTime=2024-01-01T00%3A00%3A00%2B02%3A00&x=1")
                .unwrap();
        assert_eq!(r.log_type, LogType::AccessLog);
        assert_eq!(r.from_raw, "2024-01-01T00:00:00+02:00");
        assert!(r.to.is_none());
        let e =
            parse_request("logType=AccessLog&fromDateTime=2024-01-01T00:00:00+02:00").unwrap_err();
        assert!(e.contains("%2B"), "{e}");
        assert!(parse_request("logType=AccessLog&logType=AccessLog&fromDateTime=x").is_err());
    }

    #[test]
    fn bucket() {
        let t0 = Instant::now();
        let mut b = Bucket {
            tokens: 2.0,
            last: t0,
            rate: 0.5,
            burst: 2.0,
        };
        assert!(b.take(t0).is_ok());
        assert!(b.take(t0).is_ok());
        assert_eq!(b.take(t0), Err(2));
        assert!(b.take(t0 + Duration::from_secs(2)).is_ok());
    }
}
