//! A small recording HTTP server on loopback: it records every request and
//! answers with scripted responses. Real HTTP, no mocked functions.
#![allow(dead_code)]

use std::collections::VecDeque;
use std::sync::{Arc, Mutex};

use axum::body::Body;
use axum::extract::{Request, State};
use axum::http::{HeaderValue, Response, StatusCode};
use gong_logs_api::{ClientConfig, Credentials, GongClient};

/// One request as the server saw it.
#[derive(Clone, Debug, serde::Serialize)]
pub struct Recorded {
    pub method: String,
    pub path: String,
    pub query: Vec<(String, String)>,
    /// Header name and value, sorted; `authorization` values redacted to
    /// the scheme plus whether it matched the expected credentials.
    pub headers: Vec<(String, String)>,
}

/// A scripted answer.
#[derive(Clone, Debug)]
pub struct Scripted {
    pub status: u16,
    pub content_type: &'static str,
    pub headers: Vec<(&'static str, String)>,
    pub body: String,
}

impl Scripted {
    pub fn json(status: u16, body: impl Into<String>) -> Self {
        Self {
            status,
            content_type: "application/json; charset=utf-8",
            headers: Vec::new(),
            body: body.into(),
        }
    }

    pub fn with_header(mut self, name: &'static str, value: impl Into<String>) -> Self {
        self.headers.push((name, value.into()));
        self
    }
}

#[derive(Default)]
struct Inner {
    recorded: Mutex<Vec<Recorded>>,
    script: Mutex<VecDeque<Scripted>>,
    expected_auth: Mutex<Vec<String>>,
}

pub struct Recorder {
    inner: Arc<Inner>,
    pub base_url: String,
    _task: tokio::task::JoinHandle<()>,
}

const EMPTY_PAGE: &str = r#"{"requestId":"rec","records":{"totalRecords":0,"currentPageSize":0,"currentPageNumber":0},"logEntries":[]}"#;

async fn handle(State(inner): State<Arc<Inner>>, request: Request) -> Response<Body> {
    let uri = request.uri().clone();
    let query = uri
        .query()
        .map(|q| {
            url::form_urlencoded::parse(q.as_bytes())
                .map(|(k, v)| (k.into_owned(), v.into_owned()))
                .collect()
        })
        .unwrap_or_default();
    let expected = inner.expected_auth.lock().unwrap().clone();
    let mut headers: Vec<(String, String)> = request
        .headers()
        .iter()
        .map(|(name, value)| {
            let value = value.to_str().unwrap_or("<binary>").to_owned();
            let value = if name == "authorization" {
                let scheme = value.split(' ').next().unwrap_or("").to_owned();
                let ok = expected.contains(&value);
                format!("{scheme} <redacted; matches credentials: {ok}>")
            } else if name == "host" {
                // The loopback port changes every run.
                "127.0.0.1:PORT".to_owned()
            } else {
                value
            };
            (name.as_str().to_owned(), value)
        })
        .collect();
    headers.sort();
    inner.recorded.lock().unwrap().push(Recorded {
        method: request.method().to_string(),
        path: uri.path().to_owned(),
        query,
        headers,
    });
    let scripted = inner
        .script
        .lock()
        .unwrap()
        .pop_front()
        .unwrap_or_else(|| Scripted::json(200, EMPTY_PAGE));
    let mut response = Response::new(Body::from(scripted.body));
    *response.status_mut() = StatusCode::from_u16(scripted.status).unwrap();
    response.headers_mut().insert(
        "content-type",
        HeaderValue::from_static(scripted.content_type),
    );
    for (name, value) in scripted.headers {
        response
            .headers_mut()
            .insert(name, HeaderValue::from_str(&value).unwrap());
    }
    response
}

impl Recorder {
    pub async fn start() -> Self {
        let inner = Arc::new(Inner::default());
        let app = axum::Router::new()
            .fallback(handle)
            .with_state(Arc::clone(&inner));
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let base_url = format!("http://{}", listener.local_addr().unwrap());
        let task = tokio::spawn(async move {
            axum::serve(listener, app).await.unwrap();
        });
        Self {
            inner,
            base_url,
            _task: task,
        }
    }

    /// Declares the `Authorization` values that count as correct.
    pub fn expect_auth(&self, values: &[&str]) {
        *self.inner.expected_auth.lock().unwrap() = values.iter().map(|v| v.to_string()).collect();
    }

    pub fn push(&self, response: Scripted) {
        self.inner.script.lock().unwrap().push_back(response);
    }

    pub fn take(&self) -> Vec<Recorded> {
        std::mem::take(&mut *self.inner.recorded.lock().unwrap())
    }

    pub fn client(&self, credentials: Credentials) -> GongClient {
        GongClient::new(ClientConfig::new(
            self.base_url.parse().unwrap(),
            credentials,
        ))
        .unwrap()
    }
}

/// Replaces the loopback port and the crate version so snapshots are stable.
pub fn stable(text: &str, base_url: &str) -> String {
    text.replace(base_url, "http://127.0.0.1:PORT")
        .replace(env!("CARGO_PKG_VERSION"), "VERSION")
}
