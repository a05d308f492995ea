//! Configuration: every knob of the simulator, with Gong-like defaults.

use std::fmt;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::error::{ParseLogTypeError, SimError};
use crate::misbehave::Misbehave;

/// Gong's five log types (the `logType` query parameter).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub enum LogType {
    /// Sign-ins and HTTP access to Gong (retention 14 days at Gong).
    AccessLog,
    /// Settings and data changes made by users.
    UserActivityLog,
    /// Users playing call recordings.
    UserCallPlay,
    /// External viewers opening a shared call (no user fields).
    ExternallySharedCallAccess,
    /// External viewers playing a shared call (no user fields).
    ExternallySharedCallPlay,
}

impl LogType {
    /// All five types, in Gong's documentation order.
    pub const ALL: [LogType; 5] = [
        LogType::AccessLog,
        LogType::UserActivityLog,
        LogType::UserCallPlay,
        LogType::ExternallySharedCallAccess,
        LogType::ExternallySharedCallPlay,
    ];

    /// The wire name, e.g. `"AccessLog"`.
    pub fn as_str(self) -> &'static str {
        match self {
            LogType::AccessLog => "AccessLog",
            LogType::UserActivityLog => "UserActivityLog",
            LogType::UserCallPlay => "UserCallPlay",
            LogType::ExternallySharedCallAccess => "ExternallySharedCallAccess",
            LogType::ExternallySharedCallPlay => "ExternallySharedCallPlay",
        }
    }

    /// Whether entries of this type carry `userId`/`userEmailAddress`/`userFullName`
    /// (the externally shared call logs never do).
    pub fn has_user(self) -> bool {
        !matches!(
            self,
            LogType::ExternallySharedCallAccess | LogType::ExternallySharedCallPlay
        )
    }

    pub(crate) fn index(self) -> usize {
        self as usize
    }
}

impl fmt::Display for LogType {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for LogType {
    type Err = ParseLogTypeError;

    /// Exact, case-sensitive match on the wire name (as Gong does).
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        LogType::ALL
            .into_iter()
            .find(|t| t.as_str() == s)
            .ok_or_else(|| ParseLogTypeError(s.to_owned()))
    }
}

/// Fault injection knobs. All probabilities are in `0.0..=1.0` and default to 0.
///
/// Faults apply only to requests that passed authentication, rate limiting and
/// validation, i.e. to requests Gong would have served (200 or 404); they are
/// decided just before the response is built.
#[derive(Debug, Clone, PartialEq)]
pub struct FaultConfig {
    /// Probability of a 500 with Gong's JSON error body.
    pub p_500: f64,
    /// Probability of a 502 with an HTML body (`text/html`), as a proxy sends.
    pub p_502: f64,
    /// Probability of a 503 with a `Retry-After` header and a JSON error body.
    pub p_503: f64,
    /// Probability of closing the TCP connection without writing any response.
    pub p_drop: f64,
    /// Probability of sending headers (full `Content-Length`) and about half the
    /// body, then closing the connection.
    pub p_truncate: f64,
    /// Probability of a 429 with a `Retry-After` (`retry_after_429`) and Gong's
    /// JSON body, as the rate limiter sends, but decided like the other faults
    /// (so it does not depend on how fast the client is).
    pub p_429: f64,
    /// Probability of a stall: the request is held without a byte of answer
    /// until the client gives up (its read timeout) and closes the
    /// connection; if it has not after `stall_ms`, the connection is dropped.
    /// Unlike `jitter_ms` against a client timeout, the outcome does not
    /// depend on timing: a stalled request never gets its data.
    pub p_stall: f64,
    /// `Retry-After` seconds sent with injected 503s.
    pub retry_after_503: u64,
    /// `Retry-After` seconds sent with injected 429s (`p_429`).
    pub retry_after_429: u64,
    /// How long a stalled request is held before its connection is dropped
    /// (a hang guard: clients are expected to time out much sooner).
    pub stall_ms: u64,
    /// Fixed latency added to every valid request, in milliseconds.
    pub latency_ms: u64,
    /// Extra uniform random latency in `0..=jitter_ms` milliseconds.
    pub jitter_ms: u64,
    /// Deterministic mode: every distinct request (by its full raw query string)
    /// fails once before it succeeds. The fault kind cycles round-robin through
    /// the kinds whose probability is > 0 (in the order 500, 502, 503, drop,
    /// truncate, 429, stall), or is always a 500 when none is. In this mode the
    /// probabilities only select kinds; no random faults are drawn.
    pub fail_each_request_once: bool,
}

impl Default for FaultConfig {
    fn default() -> Self {
        FaultConfig {
            p_500: 0.0,
            p_502: 0.0,
            p_503: 0.0,
            p_drop: 0.0,
            p_truncate: 0.0,
            p_429: 0.0,
            p_stall: 0.0,
            retry_after_503: 1,
            retry_after_429: 1,
            stall_ms: 30_000,
            latency_ms: 0,
            jitter_ms: 0,
            fail_each_request_once: false,
        }
    }
}

impl FaultConfig {
    pub(crate) fn any_random(&self) -> bool {
        !self.fail_each_request_once
            && (self.p_500
                + self.p_502
                + self.p_503
                + self.p_drop
                + self.p_truncate
                + self.p_429
                + self.p_stall)
                > 0.0
    }

    pub(crate) fn any_latency(&self) -> bool {
        self.latency_ms > 0 || self.jitter_ms > 0
    }
}

/// Every knob of the simulator. `Default` gives Gong-like behaviour: 3 requests/s
/// with burst 3, no daily quota, pages of 100, cursors valid 10 minutes, 1000
/// generated entries per log type over the 30 days ending at start-up (rounded
/// down to the hour), fake credentials `sim-access-key`/`sim-secret` and bearer
/// token `sim-bearer-token`, no faults.
///
/// `Debug` redacts the secret and the bearer tokens.
#[derive(Clone)]
pub struct SimConfig {
    /// Address to listen on; port 0 picks a free port. Default `127.0.0.1:0`.
    pub bind: SocketAddr,
    /// Seed for the generated data and for fault decisions.
    pub seed: u64,
    /// Number of generated entries per log type in `log_types`.
    pub entries_per_type: usize,
    /// Start (inclusive) of the generated data's time range. `None`: 30 days
    /// before `end`.
    pub start: Option<Timestamp>,
    /// End (exclusive) of the generated data's time range. `None`: start-up time
    /// rounded down to the hour. Set both for deterministic data.
    pub end: Option<Timestamp>,
    /// Log types that have generated data; the others answer 404.
    pub log_types: Vec<LogType>,
    /// Serve entries from this JSONL file instead of generating them (one object
    /// per line, with a `logType` key that is stripped when serving).
    pub data_file: Option<PathBuf>,
    /// Entries per page (Gong: 100).
    pub page_size: usize,
    /// Token-bucket refill rate in requests per second; 0 disables rate limiting.
    pub rate_limit: f64,
    /// Token-bucket capacity (requests that may be made at once).
    pub burst: u32,
    /// Requests allowed per UTC day (Gong: 10,000); `None`: unlimited.
    pub daily_quota: Option<u64>,
    /// How long a cursor stays valid after it was issued; zero: every
    /// cursor has expired when it comes back (however fast the client).
    pub cursor_ttl: Duration,
    /// Access key for Basic auth; empty disables Basic auth.
    pub access_key: String,
    /// Access key secret for Basic auth.
    pub secret: String,
    /// Accepted OAuth bearer tokens; empty disables bearer auth.
    pub bearer_tokens: Vec<String>,
    /// Fault injection.
    pub faults: FaultConfig,
    /// A hostile-server behaviour, if any (see [`Misbehave`]).
    pub misbehave: Option<Misbehave>,
    /// Seconds added to the `Date` header of every `/v2/logs` answer (a
    /// server clock off from the client's); 0: the true time.
    pub date_offset_secs: i64,
    /// Serve HTTPS with this certificate and key; `None`: plain HTTP.
    pub tls: Option<crate::tls::SimTls>,
    /// OAuth app client id for `/oauth2/generate-customer-token`.
    pub oauth_client_id: String,
    /// OAuth app client secret (Basic client authentication).
    pub oauth_client_secret: String,
    /// Lifetime of the OAuth access tokens issued.
    pub token_ttl: Duration,
    /// A refresh token valid at start, if any (single-use, like all).
    pub oauth_refresh_token: Option<String>,
}

impl Default for SimConfig {
    fn default() -> Self {
        SimConfig {
            bind: SocketAddr::from((Ipv4Addr::LOCALHOST, 0)),
            seed: 42,
            entries_per_type: 1000,
            start: None,
            end: None,
            log_types: LogType::ALL.to_vec(),
            data_file: None,
            page_size: 100,
            rate_limit: 3.0,
            burst: 3,
            daily_quota: None,
            cursor_ttl: Duration::from_secs(600),
            access_key: "sim-access-key".to_owned(),
            secret: "sim-secret".to_owned(),
            bearer_tokens: vec!["sim-bearer-token".to_owned()],
            faults: FaultConfig::default(),
            misbehave: None,
            date_offset_secs: 0,
            tls: None,
            oauth_client_id: "sim-client-id".to_owned(),
            oauth_client_secret: "sim-client-secret".to_owned(),
            token_ttl: Duration::from_secs(3600),
            oauth_refresh_token: None,
        }
    }
}

impl fmt::Debug for SimConfig {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SimConfig")
            .field("bind", &self.bind)
            .field("seed", &self.seed)
            .field("entries_per_type", &self.entries_per_type)
            .field("start", &self.start)
            .field("end", &self.end)
            .field("log_types", &self.log_types)
            .field("data_file", &self.data_file)
            .field("page_size", &self.page_size)
            .field("rate_limit", &self.rate_limit)
            .field("burst", &self.burst)
            .field("daily_quota", &self.daily_quota)
            .field("cursor_ttl", &self.cursor_ttl)
            .field("access_key", &self.access_key)
            .field("secret", &"<redacted>")
            .field(
                "bearer_tokens",
                &format_args!("[<{} redacted>]", self.bearer_tokens.len()),
            )
            .field("faults", &self.faults)
            .field("misbehave", &self.misbehave)
            .field("date_offset_secs", &self.date_offset_secs)
            .field("tls", &self.tls)
            .field("oauth_client_id", &self.oauth_client_id)
            .field("token_ttl", &self.token_ttl)
            .finish_non_exhaustive()
    }
}

impl SimConfig {
    /// A configuration for tests: fixed data range 2024-01-01T00:00:00Z to
    /// 2024-01-31T00:00:00Z (deterministic for a seed), `entries_per_type`
    /// entries per type, and no rate limit. Everything else as `Default`.
    pub fn testing(seed: u64, entries_per_type: usize) -> SimConfig {
        SimConfig {
            seed,
            entries_per_type,
            start: Some(Timestamp::from_second(1_704_067_200).expect("valid")),
            end: Some(Timestamp::from_second(1_706_659_200).expect("valid")),
            rate_limit: 0.0,
            ..SimConfig::default()
        }
    }

    /// The `(start, end)` of generated data, resolving defaults against `now`.
    pub fn data_range(&self, now: Timestamp) -> (Timestamp, Timestamp) {
        let end = self.end.unwrap_or_else(|| {
            let s = now.as_second();
            Timestamp::from_second(s - s.rem_euclid(3600)).unwrap_or(now)
        });
        let start = self.start.unwrap_or_else(|| {
            Timestamp::from_second(end.as_second() - 30 * 86_400).unwrap_or(end)
        });
        (start, end)
    }

    /// Checks every knob; `Simulator::start` calls this.
    pub fn validate(&self) -> Result<(), SimError> {
        let bad = |m: String| Err(SimError::InvalidConfig(m));
        if self.page_size == 0 {
            return bad("page_size must be at least 1".into());
        }
        if !self.rate_limit.is_finite() || self.rate_limit < 0.0 {
            return bad(format!(
                "rate_limit must be >= 0 requests/s (0 disables), got {}",
                self.rate_limit
            ));
        }
        if self.rate_limit > 0.0 && self.burst == 0 {
            return bad("burst must be at least 1 when the rate limit is enabled".into());
        }
        let f = &self.faults;
        let probs = [
            ("p_500", f.p_500),
            ("p_502", f.p_502),
            ("p_503", f.p_503),
            ("p_drop", f.p_drop),
            ("p_truncate", f.p_truncate),
            ("p_429", f.p_429),
            ("p_stall", f.p_stall),
        ];
        for (name, p) in probs {
            if !(0.0..=1.0).contains(&p) {
                return bad(format!(
                    "fault probability {name} must be in 0..=1, got {p}"
                ));
            }
        }
        let sum: f64 = probs.iter().map(|(_, p)| p).sum();
        if sum > 1.0 + 1e-9 {
            return bad(format!(
                "fault probabilities add up to {sum}, more than 1; lower some of them"
            ));
        }
        if let (Some(s), Some(e)) = (self.start, self.end)
            && s >= e
        {
            return bad(format!("data range start {s} must be before end {e}"));
        }
        if self.access_key.is_empty() && self.bearer_tokens.is_empty() {
            return bad("no credentials: set an access key/secret or a bearer token".into());
        }
        if self.access_key.contains(':') {
            return bad("the access key must not contain ':'".into());
        }
        Ok(())
    }
}
