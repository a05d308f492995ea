//! A real forward proxy on loopback for the end-to-end tests: HTTP
//! `CONNECT host:port` (the tunnel then carries any bytes both ways, TLS
//! included) and plain-http absolute-URI requests (`GET http://host/...`,
//! forwarded in origin form, one request per connection). It records every
//! request line, can demand Basic proxy credentials (407 otherwise) and can
//! refuse every request with a given status (403, 502).

use std::sync::{Arc, Mutex};

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio::net::{TcpListener, TcpStream};

/// How the proxy answers.
#[derive(Clone, Debug)]
pub enum ProxyMode {
    /// Every request passes.
    Open,
    /// Only requests with `Proxy-Authorization: Basic base64(user:pass)`
    /// pass; the others get 407.
    Auth {
        /// The user name.
        user: String,
        /// The password.
        password: String,
    },
    /// Every request gets this status (e.g. 403, 502).
    Refuse(u16),
}

/// A proxy running on its own runtime for the length of a test.
#[derive(Debug)]
pub struct TestProxy {
    port: u16,
    lines: Arc<Mutex<Vec<String>>>,
    _runtime: tokio::runtime::Runtime,
}

impl TestProxy {
    /// Starts a proxy on 127.0.0.1 (a free port).
    pub fn start(mode: ProxyMode) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let listener = runtime
            .block_on(TcpListener::bind("127.0.0.1:0"))
            .expect("proxy binds");
        let port = listener.local_addr().expect("proxy address").port();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let recorded = lines.clone();
        let mode = Arc::new(mode);
        runtime.spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let (lines, mode) = (recorded.clone(), mode.clone());
                tokio::spawn(async move {
                    let _ = serve(client, &mode, &lines).await;
                });
            }
        });
        Self {
            port,
            lines,
            _runtime: runtime,
        }
    }

    /// The proxy's URL, `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://127.0.0.1:{}", self.port)
    }

    /// The proxy's URL with credentials, `http://USER:PASS@127.0.0.1:PORT`.
    pub fn url_with(&self, user: &str, password: &str) -> String {
        format!("http://{user}:{password}@127.0.0.1:{}", self.port)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The request lines received so far (`CONNECT host:port HTTP/1.1`,
    /// `GET http://host:port/path HTTP/1.1`), in order.
    pub fn lines(&self) -> Vec<String> {
        self.lines.lock().expect("proxy lines").clone()
    }
}

/// A port on loopback that nothing listens on (bound, then closed).
pub fn dead_port() -> u16 {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    listener.local_addr().expect("address").port()
}

/// The head of a request: up to and including the blank line.
async fn read_head(stream: &mut TcpStream) -> std::io::Result<Option<Vec<u8>>> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if head.len() > 64 * 1024 || stream.read(&mut byte).await? == 0 {
            return Ok(None);
        }
        head.push(byte[0]);
    }
    Ok(Some(head))
}

async fn serve(
    mut client: TcpStream,
    mode: &ProxyMode,
    lines: &Mutex<Vec<String>>,
) -> std::io::Result<()> {
    let Some(head) = read_head(&mut client).await? else {
        return Ok(());
    };
    let text = String::from_utf8_lossy(&head).into_owned();
    let mut head_lines = text.split("\r\n");
    let request_line = head_lines.next().unwrap_or_default().to_owned();
    lines
        .lock()
        .expect("proxy lines")
        .push(request_line.clone());
    let headers: Vec<&str> = head_lines.filter(|l| !l.is_empty()).collect();
    if let Some(status) = refusal(mode, &headers) {
        let reason = if status == 407 {
            "Proxy Authentication Required\r\nProxy-Authenticate: Basic realm=\"test\""
        } else {
            "Refused"
        };
        let answer = format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n");
        return client.write_all(answer.as_bytes()).await;
    }
    let mut words = request_line.split(' ');
    let (method, target) = (words.next().unwrap_or(""), words.next().unwrap_or(""));
    if method == "CONNECT" {
        let mut upstream = TcpStream::connect(target).await?;
        client
            .write_all(b"HTTP/1.1 200 Connection established\r\n\r\n")
            .await?;
        tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
        return Ok(());
    }
    forward(client, method, target, &headers).await
}

/// The status to refuse with, if any.
fn refusal(mode: &ProxyMode, headers: &[&str]) -> Option<u16> {
    match mode {
        ProxyMode::Open => None,
        ProxyMode::Refuse(status) => Some(*status),
        ProxyMode::Auth { user, password } => {
            let expected = format!("basic {}", basic(user, password));
            let given = headers.iter().find_map(|h| {
                let (name, value) = h.split_once(':')?;
                name.trim()
                    .eq_ignore_ascii_case("proxy-authorization")
                    .then(|| value.trim().to_ascii_lowercase())
            });
            (given.as_deref() != Some(expected.to_ascii_lowercase().as_str())).then_some(407)
        }
    }
}

/// A plain-http request in absolute form, sent on in origin form over a
/// new connection (`Connection: close`), the answer copied back.
async fn forward(
    mut client: TcpStream,
    method: &str,
    target: &str,
    headers: &[&str],
) -> std::io::Result<()> {
    let rest = target.strip_prefix("http://").unwrap_or(target);
    let (authority, path) = rest.split_at(rest.find('/').unwrap_or(rest.len()));
    let path = if path.is_empty() { "/" } else { path };
    let mut upstream = TcpStream::connect(authority).await?;
    let mut head = format!("{method} {path} HTTP/1.1\r\n");
    for header in headers {
        let name = header.split(':').next().unwrap_or("").trim();
        let hop = ["proxy-authorization", "proxy-connection", "connection"];
        if !hop.iter().any(|h| name.eq_ignore_ascii_case(h)) {
            head.push_str(header);
            head.push_str("\r\n");
        }
    }
    head.push_str("Connection: close\r\n\r\n");
    upstream.write_all(head.as_bytes()).await?;
    tokio::io::copy_bidirectional(&mut client, &mut upstream).await?;
    Ok(())
}

/// The Basic scheme's encoding of `user:password`.
pub fn basic(user: &str, password: &str) -> String {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"))
}
