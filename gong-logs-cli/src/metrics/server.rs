//! The HTTP endpoint of `--metrics-listen`: `GET /metrics` (the
//! exposition), `GET /healthz` (200 `ok`, or 503 and the reason), 404 for
//! any other path, 405 for another method. HTTP/1 by hyper on the
//! export's runtime, made to survive hostile clients without holding up
//! the export or growing: at most [`MAX_CONNECTIONS`] at once (more are
//! closed at once), the request head within [`HEAD_TIMEOUT`] and
//! [`MAX_HEAD`] bytes (hyper answers 431 past that), one request per
//! connection (no keep-alive, the body never read), and the whole
//! exchange within [`CONNECTION_TIMEOUT`] (a client that does not read
//! its answer is dropped then).

use std::convert::Infallible;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::Full;
use hyper::body::Incoming;
use hyper::{Method, Request, Response, StatusCode};
use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::net::TcpListener;
use tokio::sync::Semaphore;

use super::Monitor;

/// Connections served at once.
const MAX_CONNECTIONS: usize = 16;
/// Time allowed for the request line and headers.
const HEAD_TIMEOUT: Duration = Duration::from_secs(5);
/// The read buffer, so the largest request head (hyper's minimum).
const MAX_HEAD: usize = 8 * 1024;
/// Time allowed for a whole exchange.
const CONNECTION_TIMEOUT: Duration = Duration::from_secs(10);

/// Serves until the runtime stops.
pub(super) async fn serve(listener: TcpListener, monitor: Monitor) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let stream = match listener.accept().await {
            Ok((stream, _)) => stream,
            // Out of descriptors, a connection reset before accept: wait a
            // little rather than spin.
            Err(_) => {
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = Arc::clone(&slots).try_acquire_owned() else {
            drop(stream);
            continue;
        };
        let monitor = monitor.clone();
        tokio::spawn(async move {
            let service = hyper::service::service_fn(move |request: Request<Incoming>| {
                let response = respond(&monitor, request.method(), request.uri().path());
                async move { Ok::<_, Infallible>(response) }
            });
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .max_buf_size(MAX_HEAD)
                .keep_alive(false)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_TIMEOUT, connection).await;
            drop(slot);
        });
    }
}

/// The answer to `method path`.
fn respond(monitor: &Monitor, method: &Method, path: &str) -> Response<Full<Bytes>> {
    let known = matches!(path, "/metrics" | "/healthz");
    if known && method != Method::GET && method != Method::HEAD {
        return answer(
            StatusCode::METHOD_NOT_ALLOWED,
            "text/plain; charset=utf-8",
            "use GET\n".into(),
        )
        .map(|mut r| {
            r.headers_mut().insert(
                hyper::header::ALLOW,
                hyper::header::HeaderValue::from_static("GET, HEAD"),
            );
            r
        })
        .unwrap_or_default();
    }
    let text = "text/plain; charset=utf-8";
    let response = match path {
        "/metrics" => answer(
            StatusCode::OK,
            super::exposition::CONTENT_TYPE,
            monitor.render(),
        ),
        "/healthz" => match monitor.health() {
            Ok(()) => answer(StatusCode::OK, text, "ok\n".into()),
            Err(reason) => answer(StatusCode::SERVICE_UNAVAILABLE, text, format!("{reason}\n")),
        },
        _ => answer(
            StatusCode::NOT_FOUND,
            text,
            "not found: this is gong-logs' /metrics and /healthz\n".into(),
        ),
    };
    response.unwrap_or_default()
}

fn answer(
    status: StatusCode,
    content_type: &'static str,
    body: String,
) -> Result<Response<Full<Bytes>>, hyper::http::Error> {
    Response::builder()
        .status(status)
        .header(hyper::header::CONTENT_TYPE, content_type)
        .header(hyper::header::CACHE_CONTROL, "no-store")
        .body(Full::new(Bytes::from(body)))
}
