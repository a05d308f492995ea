//! `gong-logs-sim`: run the Gong `GET /v2/logs` simulator as a local sandbox.
#![allow(clippy::print_stderr)]

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use gong_logs_sim::{
    FaultConfig, LogType, Misbehave, SimConfig, SimError, SimTls, Simulator, TestPki,
};
use jiff::Timestamp;

/// A local, fake Gong: serves `GET /v2/logs` with generated (or replayed)
/// audit log entries, Gong's auth, paging, cursors and rate limits, plus
/// optional injected faults. Credentials are fake; nothing leaves this machine.
///
/// Admin endpoints: `GET /_sim/stats` (counters as JSON) and
/// `POST /_sim/reset` (reset counters).
#[derive(Debug, Parser)]
#[command(name = "gong-logs-sim", version, about, long_about)]
struct Args {
    /// IP address to listen on.
    #[arg(long, default_value = "127.0.0.1")]
    bind: IpAddr,

    /// TCP port to listen on; 0 picks a free port (the URL is printed).
    #[arg(long, default_value_t = 0)]
    port: u16,

    /// Seed for the generated data and for fault decisions: the same seed
    /// and range always give the same entries.
    #[arg(long, default_value_t = 42)]
    seed: u64,

    /// Number of generated entries per log type.
    #[arg(long, default_value_t = 1000)]
    entries_per_type: usize,

    /// Start (inclusive) of the generated entries' time range, ISO-8601 with
    /// offset [default: 30 days before --to].
    #[arg(long, value_name = "DATETIME")]
    from: Option<Timestamp>,

    /// End (exclusive) of the generated entries' time range, ISO-8601 with
    /// offset [default: now, rounded down to the hour].
    #[arg(long, value_name = "DATETIME")]
    to: Option<Timestamp>,

    /// Log types that get generated data (comma-separated); the others answer
    /// 404 [default: all five].
    #[arg(long, value_delimiter = ',', value_name = "TYPES")]
    log_types: Vec<LogType>,

    /// Serve the entries of this JSONL file instead of generated ones: one
    /// JSON object per line with a "logType" key (stripped when served) and an
    /// "eventTime" key. Replays a real export exactly.
    #[arg(long, value_name = "FILE")]
    data: Option<PathBuf>,

    /// Entries per page (Gong: 100).
    #[arg(long, default_value_t = 100)]
    page_size: usize,

    /// Requests per second allowed by the token bucket (Gong: 3); 0 disables
    /// rate limiting. Over the limit: 429 with Retry-After.
    #[arg(long, default_value_t = 3.0, value_name = "REQ_PER_SEC")]
    rate_limit: f64,

    /// Token bucket capacity: requests allowed at once before the rate applies.
    #[arg(long, default_value_t = 3)]
    burst: u32,

    /// Requests allowed per UTC day (Gong: 10000); unlimited if not given.
    /// Over it: 429 with Retry-After until midnight UTC.
    #[arg(long, value_name = "N")]
    daily_quota: Option<u64>,

    /// Seconds a cursor stays valid after it was issued; older ones get 400
    /// (0: every cursor has expired when it comes back).
    #[arg(long, default_value_t = 600.0, value_name = "SECONDS", value_parser = parse_ttl)]
    cursor_ttl: f64,

    /// Access key accepted for Basic auth (Authorization: Basic
    /// base64(key:secret)); empty disables Basic auth.
    #[arg(long, default_value = "sim-access-key", env = "GONG_SIM_ACCESS_KEY")]
    access_key: String,

    /// Access key secret accepted for Basic auth.
    #[arg(long, default_value = "sim-secret", env = "GONG_SIM_SECRET")]
    secret: String,

    /// Bearer token accepted (Authorization: Bearer TOKEN); repeat for more.
    #[arg(long, default_value = "sim-bearer-token", value_name = "TOKEN")]
    bearer_token: Vec<String>,

    /// Probability (0..1) of a 500 with Gong's JSON error body.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    fault_500: f64,

    /// Probability (0..1) of a 502 with an HTML body, as a proxy sends.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    fault_502: f64,

    /// Probability (0..1) of a 503 with Retry-After (see --retry-after-503).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    fault_503: f64,

    /// Probability (0..1) of closing the connection without any response.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    fault_drop: f64,

    /// Probability (0..1) of cutting the response body off half-way.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    fault_truncate: f64,

    /// Probability (0..1) of a 429 with Retry-After (see --retry-after-429),
    /// whatever the request rate.
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    fault_429: f64,

    /// Probability (0..1) of a stall: no answer until the client gives up
    /// (the connection is dropped after --stall-ms).
    #[arg(long, default_value_t = 0.0, value_name = "P")]
    fault_stall: f64,

    /// Retry-After seconds sent with injected 503s.
    #[arg(long = "retry-after-503", default_value_t = 1, value_name = "SECONDS")]
    retry_after_503: u64,

    /// Retry-After seconds sent with injected 429s (--fault-429).
    #[arg(long = "retry-after-429", default_value_t = 1, value_name = "SECONDS")]
    retry_after_429: u64,

    /// How long a stalled request is held before its connection is dropped.
    #[arg(long, default_value_t = 30_000, value_name = "MS")]
    stall_ms: u64,

    /// Latency added to every valid request, in milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    latency_ms: u64,

    /// Extra random latency, uniform in 0..=MS milliseconds.
    #[arg(long, default_value_t = 0, value_name = "MS")]
    jitter_ms: u64,

    /// Deterministic faults: every distinct request (by its query string)
    /// fails once, then succeeds. The fault cycles through the kinds whose
    /// --fault-* probability is above 0 (500 if none is); no random faults.
    #[arg(long)]
    fail_each_once: bool,

    /// A hostile or broken server behaviour, for testing clients: one of
    /// echo-credentials, escape-sequences, huge-error-message, drip-bytes,
    /// endless-body, huge-body, repeat-cursor, fresh-cursor-same-entries,
    /// out-of-range-entry, backwards-entry, far-future-entry, 404-on-cursor,
    /// html-404, other-json-404, lying-total, html-200.
    #[arg(long, value_name = "MODE")]
    misbehave: Option<Misbehave>,

    /// Seconds added to the Date header of every answer (negative: a
    /// server clock behind the client's), for testing clock-skew checks.
    #[arg(
        long,
        value_name = "SECONDS",
        default_value_t = 0,
        allow_hyphen_values = true
    )]
    date_offset: i64,

    /// Serve HTTPS with this PEM certificate chain (the leaf first); needs
    /// --tls-key.
    #[arg(long, value_name = "FILE", requires = "tls_key")]
    tls_cert: Option<PathBuf>,

    /// The PEM private key of --tls-cert.
    #[arg(long, value_name = "FILE", requires = "tls_cert")]
    tls_key: Option<PathBuf>,

    /// Serve HTTPS with a fresh CA and a certificate for localhost and
    /// 127.0.0.1, written to DIR/ca.pem, DIR/cert.pem and DIR/key.pem
    /// (clients trust DIR/ca.pem, e.g. gong-logs --ca-cert DIR/ca.pem).
    #[arg(long, value_name = "DIR", conflicts_with = "tls_cert")]
    tls_self_signed: Option<PathBuf>,

    /// OAuth app client id accepted by /oauth2/generate-customer-token.
    #[arg(long, default_value = "sim-client-id")]
    oauth_client_id: String,

    /// OAuth app client secret (Basic client authentication).
    #[arg(long, default_value = "sim-client-secret")]
    oauth_client_secret: String,

    /// Seconds an issued OAuth access token stays valid.
    #[arg(long, default_value_t = 3600.0, value_name = "SECONDS", value_parser = parse_ttl)]
    token_ttl: f64,

    /// A refresh token valid at start (single-use, like every refresh token).
    #[arg(long, value_name = "TOKEN")]
    oauth_refresh_token: Option<String>,
}

/// `--cursor-ttl`: a finite number of seconds, 0 or more.
fn parse_ttl(text: &str) -> Result<f64, String> {
    text.parse::<f64>()
        .ok()
        .filter(|s| Duration::try_from_secs_f64(*s).is_ok())
        .ok_or_else(|| format!("{text:?} is not a number of seconds (0 or more)"))
}

impl Args {
    /// The certificate to serve HTTPS with, if any.
    fn tls(&self) -> Result<Option<SimTls>, SimError> {
        if let Some(dir) = &self.tls_self_signed {
            return TestPki::write_self_signed(dir).map(Some);
        }
        match (&self.tls_cert, &self.tls_key) {
            (Some(cert), Some(key)) => SimTls::from_files(cert, key).map(Some),
            _ => Ok(None),
        }
    }

    fn into_config(self) -> Result<SimConfig, SimError> {
        let defaults = SimConfig::default();
        let tls = self.tls()?;
        Ok(SimConfig {
            bind: SocketAddr::new(self.bind, self.port),
            seed: self.seed,
            entries_per_type: self.entries_per_type,
            start: self.from,
            end: self.to,
            log_types: if self.log_types.is_empty() {
                defaults.log_types
            } else {
                self.log_types
            },
            data_file: self.data,
            page_size: self.page_size,
            rate_limit: self.rate_limit,
            burst: self.burst,
            daily_quota: self.daily_quota,
            cursor_ttl: Duration::try_from_secs_f64(self.cursor_ttl).unwrap_or(Duration::ZERO),
            access_key: self.access_key,
            secret: self.secret,
            bearer_tokens: self
                .bearer_token
                .into_iter()
                .filter(|t| !t.is_empty())
                .collect(),
            faults: FaultConfig {
                p_500: self.fault_500,
                p_502: self.fault_502,
                p_503: self.fault_503,
                p_drop: self.fault_drop,
                p_truncate: self.fault_truncate,
                p_429: self.fault_429,
                p_stall: self.fault_stall,
                retry_after_503: self.retry_after_503,
                retry_after_429: self.retry_after_429,
                stall_ms: self.stall_ms,
                latency_ms: self.latency_ms,
                jitter_ms: self.jitter_ms,
                fail_each_request_once: self.fail_each_once,
            },
            misbehave: self.misbehave,
            date_offset_secs: self.date_offset,
            tls,
            oauth_client_id: self.oauth_client_id,
            oauth_client_secret: self.oauth_client_secret,
            token_ttl: Duration::try_from_secs_f64(self.token_ttl).unwrap_or(Duration::ZERO),
            oauth_refresh_token: self.oauth_refresh_token,
        })
    }
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn")),
        )
        .with_writer(std::io::stderr)
        .init();

    let args = Args::parse();
    let tls_dir = args.tls_self_signed.clone();
    let started = match args.into_config() {
        Ok(config) => Simulator::start(config).await,
        Err(e) => Err(e),
    };
    let sim = match started {
        Ok(sim) => sim,
        Err(e) => {
            eprintln!("gong-logs-sim: error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let cfg = sim.config();
    eprintln!("gong-logs-sim listening on {}", sim.base_url());
    eprintln!("  endpoint:     {}/v2/logs", sim.base_url());
    eprintln!("  stats:        {}/_sim/stats", sim.base_url());
    if let Some(dir) = &tls_dir {
        eprintln!("  CA:           {}", dir.join("ca.pem").display());
    }
    if !cfg.access_key.is_empty() {
        eprintln!("  access key:   {}", cfg.access_key);
        eprintln!("  secret:       {} (fake)", cfg.secret);
    }
    for t in &cfg.bearer_tokens {
        eprintln!("  bearer token: {t} (fake)");
    }
    let ds = sim.dataset();
    for t in LogType::ALL {
        let e = ds.entries(t);
        if let (Some(first), Some(last)) = (e.first(), e.last()) {
            eprintln!(
                "  {:<27} {:>6} entries, {} .. {}",
                t.as_str(),
                e.len(),
                first.time,
                last.time
            );
        }
    }
    eprintln!("Press Ctrl-C to stop.");

    if let Err(e) = tokio::signal::ctrl_c().await {
        eprintln!("gong-logs-sim: cannot wait for Ctrl-C: {e}");
    }
    eprintln!("gong-logs-sim: shutting down");
    sim.shutdown().await;
    ExitCode::SUCCESS
}
