//! Where a new upstream spec comes from: a local file, an `http(s)://` URL,
//! or `gong`, the address Gong publishes its whole-API spec at.
//!
//! A download is bounded: one overall timeout (connecting, headers and body),
//! a size cap checked against `Content-Length` and again while the body
//! streams in, a success status required. Plain `http://` is accepted (and
//! redirects followed to it) only for loopback hosts (tests, local mirrors);
//! at most 5 redirects. Every error names the URL.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, Result, bail};

/// The address Gong publishes its whole-API spec (OpenAPI 3.0.1) at; the one
/// other Gong tools refresh from. `--upstream gong` / `--drift gong` use it.
pub const GONG_SPEC_URL: &str =
    "https://gong.app.gong.io/ajax/settings/api/documentation/specs?version=";

/// Default overall timeout of a download (connect, headers and body).
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(60);

/// Default size cap: Gong's spec is about 0.7 MiB; anything far larger is not it.
pub const DEFAULT_MAX_BYTES: u64 = 16 * 1024 * 1024;

/// A new upstream spec's origin, as given on the command line.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Source {
    /// A file on this machine.
    File(PathBuf),
    /// An `http(s)://` address.
    Url(String),
}

impl Source {
    /// `gong` → [`GONG_SPEC_URL`]; `http://…` / `https://…` → a URL; anything
    /// else is a file path.
    pub fn parse(arg: &str) -> Self {
        let lower = arg.to_ascii_lowercase();
        if arg == "gong" {
            Source::Url(GONG_SPEC_URL.to_string())
        } else if lower.starts_with("http://") || lower.starts_with("https://") {
            Source::Url(arg.to_string())
        } else {
            Source::File(PathBuf::from(arg))
        }
    }

    /// How reports and errors name it: the URL or the path.
    pub fn display(&self) -> String {
        match self {
            Source::File(path) => path.display().to_string(),
            Source::Url(url) => url.clone(),
        }
    }

    /// The argument that names it again in a suggested command (`gong` for
    /// Gong's published address, which would need quoting in a shell).
    pub fn command_arg(&self) -> String {
        match self {
            Source::Url(url) if url == GONG_SPEC_URL => "gong".to_string(),
            Source::Url(url) => format!("'{url}'"),
            Source::File(path) => path.display().to_string(),
        }
    }

    /// What `SOURCE.toml` records: the URL, or `local file`.
    pub fn provenance(&self) -> String {
        match self {
            Source::File(_) => "local file".to_string(),
            Source::Url(url) => url.clone(),
        }
    }
}

/// Limits of a download.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Overall time for one download.
    pub timeout: Duration,
    /// Largest body accepted, in bytes.
    pub max_bytes: u64,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            timeout: DEFAULT_TIMEOUT,
            max_bytes: DEFAULT_MAX_BYTES,
        }
    }
}

/// Reads the file or downloads the URL; returns the bytes exactly as read.
pub fn fetch(source: &Source, limits: Limits) -> Result<Vec<u8>> {
    match source {
        Source::File(path) => {
            let bytes = std::fs::read(path)
                .with_context(|| format!("cannot read the new upstream spec {}", path.display()))?;
            if bytes.len() as u64 > limits.max_bytes {
                bail!(
                    "{} is {} bytes, more than the {} a Gong spec can plausibly be",
                    path.display(),
                    bytes.len(),
                    limits.max_bytes
                );
            }
            Ok(bytes)
        }
        Source::Url(url) => download(url, limits),
    }
}

/// Downloads `url` within `limits`. Errors start with `cannot download URL`.
pub fn download(url: &str, limits: Limits) -> Result<Vec<u8>> {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("cannot start the async runtime for the download")?;
    runtime
        .block_on(download_async(url, limits))
        .with_context(|| format!("cannot download {url}"))
}

async fn download_async(url: &str, limits: Limits) -> Result<Vec<u8>> {
    let parsed = reqwest::Url::parse(url).context("not a valid URL")?;
    match parsed.scheme() {
        "https" => {}
        "http" if is_loopback(&parsed) => {}
        "http" => bail!(
            "plain http:// is refused for anything but a loopback host (the spec could be altered on the way); use https://"
        ),
        other => bail!("unsupported scheme `{other}`: use https://"),
    }
    // rustls with the ring provider; installing twice is harmless.
    let _ = rustls::crypto::ring::default_provider().install_default();
    let client = reqwest::Client::builder()
        .user_agent(concat!("gong-logs-xtask/", env!("CARGO_PKG_VERSION")))
        .connect_timeout(limits.timeout)
        .timeout(limits.timeout)
        .redirect(reqwest::redirect::Policy::custom(|attempt| {
            if attempt.previous().len() >= 5 {
                attempt.error("more than 5 redirects")
            } else if attempt.url().scheme() != "https" && !is_loopback(attempt.url()) {
                let to = attempt.url().to_string();
                attempt.error(format!(
                    "redirected to {to}: refused, only https:// (or a loopback host) is followed"
                ))
            } else {
                attempt.follow()
            }
        }))
        .build()
        .context("cannot build the HTTP client")?;
    let mut response = client
        .get(parsed)
        .send()
        .await
        .map_err(|e| describe(e, "request failed", limits.timeout))?;
    let status = response.status();
    if !status.is_success() {
        bail!("the server answered HTTP {status}");
    }
    if let Some(length) = response.content_length()
        && length > limits.max_bytes
    {
        bail!(
            "the body is {length} bytes, more than the {} cap (a Gong spec is under 1 MiB)",
            limits.max_bytes
        );
    }
    let mut body = Vec::new();
    while let Some(chunk) = response
        .chunk()
        .await
        .map_err(|e| describe(e, "the body was cut off", limits.timeout))?
    {
        if (body.len() + chunk.len()) as u64 > limits.max_bytes {
            bail!(
                "the body exceeded the {} byte cap (a Gong spec is under 1 MiB)",
                limits.max_bytes
            );
        }
        body.extend_from_slice(&chunk);
    }
    Ok(body)
}

/// reqwest's errors, said plainly (the URL is added by the caller).
/// `otherwise` says what failed when it was neither a timeout nor a
/// failure to connect.
fn describe(error: reqwest::Error, otherwise: &str, timeout: Duration) -> anyhow::Error {
    let what = if error.is_timeout() {
        format!("timed out (limit {}s)", timeout.as_secs_f64())
    } else if error.is_connect() {
        "could not connect".to_string()
    } else {
        otherwise.to_string()
    };
    // The innermost cause says most (e.g. "connection refused").
    let mut cause: &dyn std::error::Error = &error;
    while let Some(next) = cause.source() {
        cause = next;
    }
    anyhow::anyhow!("{what}: {cause}")
}

fn is_loopback(url: &reqwest::Url) -> bool {
    let Some(host) = url.host_str() else {
        return false;
    };
    let host = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || host
            .parse::<std::net::IpAddr>()
            .is_ok_and(|ip| ip.is_loopback())
}

/// Parses `--download-timeout SECS` (fractions allowed).
pub fn parse_timeout(text: &str) -> std::result::Result<Duration, String> {
    let secs: f64 = text
        .parse()
        .map_err(|_| format!("`{text}` is not a number of seconds"))?;
    if !(secs.is_finite() && secs > 0.0 && secs <= 3600.0) {
        return Err(format!(
            "`{text}`: give more than 0 and at most 3600 seconds"
        ));
    }
    Ok(Duration::from_secs_f64(secs))
}
