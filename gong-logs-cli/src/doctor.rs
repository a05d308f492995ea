//! `gong-logs doctor` (also `gong-logs auth check`): shows the connection
//! settings as `fetch` resolves them and where each came from (secrets
//! masked), checks the base URL's shape, sends one small request (a
//! 1-second range of AccessLog) through the api crate, and reports:
//! reachable, TLS, credentials, scope, rate-limit headers, clock skew.
//! Exit codes as `fetch`.

use std::fmt::Write as _;

use anyhow::anyhow;
use gong_logs_api::{ApiError, BaseUrl, LogType, Probe, Route};
use jiff::Timestamp;

use crate::config::{self, ConnectionFlags, Resolved};
use crate::connect::{self, Threads};
use crate::exit::api::probe_failure;
use crate::exit::{Failure, Result};

/// A clock further off than this (seconds) gets a warning.
const SKEW_WARN_SECS: i64 = 5;

/// Runs `gong-logs doctor`.
pub fn run(connection: &ConnectionFlags, quiet: bool) -> Result<()> {
    let resolved = config::resolve_all(connection, &config::process_env)?;
    if !quiet {
        for warning in &resolved.warnings {
            crate::diag::warn(warning);
        }
    }
    let mut report = Report::default();
    settings(&resolved, &mut report);
    url_shape(&resolved.base_url, &mut report);
    let outcome = match &resolved.credentials {
        Err(failure) => {
            report.line("FAIL", "credentials", "none found; no request sent");
            Err(Failure::new(failure.code, anyhow!(failure.message())))
        }
        Ok(credentials) => {
            let client = connect::client(
                &resolved.base_url,
                credentials.clone(),
                resolved.proxy.clone(),
                None,
                &resolved.tls,
            )?;
            route(client.route(), &mut report);
            let runtime = connect::runtime(Threads::Current)?;
            // One second, a minute ago (AccessLog is kept 14 days).
            let from = Timestamp::from_second(Timestamp::now().as_second() - 60)
                .unwrap_or(Timestamp::UNIX_EPOCH);
            let probe = runtime.block_on(client.probe(LogType::AccessLog, from));
            judge(&probe, resolved.base_url.is_https(), &mut report)
        }
    };
    crate::stdio::write_stdout(report.text.as_bytes())?;
    if outcome.is_ok() && !quiet {
        crate::diag::line(
            crate::diag::Level::Info,
            "doctor: everything needed to fetch works",
        );
    }
    outcome
}

#[derive(Default)]
struct Report {
    text: String,
}

impl Report {
    fn line(&mut self, verdict: &str, what: &str, detail: impl std::fmt::Display) {
        let _ = writeln!(self.text, "{verdict:<4}  {what:<19} {detail}");
    }
}

fn settings(resolved: &Resolved, report: &mut Report) {
    let origin = &resolved.origin;
    let file = match &origin.config_file {
        Some((path, true)) => format!("{}", path.display()),
        Some((path, false)) => format!("{} (does not exist)", path.display()),
        None => "<none> (no HOME, XDG_CONFIG_HOME or GONG_LOGS_CONFIG)".to_owned(),
    };
    report.line("", "config file", file);
    report.line(
        "",
        "profile",
        format!("{} (from {})", origin.profile, origin.profile_source),
    );
    report.line(
        "",
        "base URL",
        format!("{} (from {})", resolved.base_url, origin.base_url_source),
    );
    let mut creds = origin.credentials.clone();
    if let Some(key) = &origin.access_key_masked {
        creds.push_str(&format!("; access key {key}, secret ***"));
    } else if creds.starts_with("Bearer") {
        creds.push_str("; token ***");
    }
    report.line("", "credentials", creds);
    if resolved.base_url.is_https() {
        report.line("", "CA certificates", resolved.tls.describe());
    }
}

/// How requests leave: directly, or through which proxy and from which
/// setting (the proxy's credentials never shown).
fn route(route: &Route, report: &mut Report) {
    let detail = match &route.proxy {
        Some(proxy) => {
            let auth = if route.authenticates {
                ", with credentials ***"
            } else {
                ""
            };
            format!("proxy {proxy} (from {}{auth})", route.source)
        }
        None => format!("direct ({})", route.source),
    };
    report.line("", "connection", detail);
}

fn url_shape(base_url: &BaseUrl, report: &mut Report) {
    let url = base_url.url();
    let host = url.host_str().unwrap_or_default().to_owned();
    let mut notes = Vec::new();
    if url.path().trim_end_matches('/').len() > 1 {
        notes.push(format!(
            "has a path ({}): requests go to {}/v2/logs; Gong's base URL is only https://HOST",
            url.path(),
            base_url
        ));
    }
    let gong = host.ends_with(".gong.io") || host == "gong.io";
    if url.scheme() == "http" {
        notes.push("plain http (loopback only: a simulator or a local proxy)".to_owned());
    } else if !gong {
        notes.push(format!(
            "{host} is not a gong.io host (fine for a proxy; Gong's are https://api.gong.io or https://COMPANY.api.gong.io)"
        ));
    }
    if notes.is_empty() {
        report.line("ok", "base URL shape", format!("https, Gong host {host}"));
    } else {
        let verdict = if url.path().trim_end_matches('/').len() > 1 {
            "warn"
        } else {
            "note"
        };
        report.line(verdict, "base URL shape", notes.join("; "));
    }
}

/// Reports what the probe found; the failure (with its exit code) of the
/// first check that failed ([`probe_failure`]: the code and hint as
/// `fetch` maps them).
fn judge(probe: &Probe, https: bool, report: &mut Report) -> Result<()> {
    let Some(status) = probe.status else {
        let error = probe
            .error
            .as_ref()
            .map(|e| crate::exit::one_line(&e.to_string()))
            .unwrap_or_default();
        if probe.tls_failed {
            report.line("ok", "reachable", "a server answered the connection");
            report.line("FAIL", "TLS", &error);
        } else {
            report.line("FAIL", "reachable", &error);
        }
        return probe_failure(probe).map_or(Ok(()), Err);
    };
    report.line(
        "ok",
        "reachable",
        format!(
            "HTTP {status}{} in {} ms",
            if status == 404 && probe.error.is_none() {
                " (no entries in the probed second)"
            } else {
                ""
            },
            probe.elapsed.as_millis()
        ),
    );
    if https {
        report.line("ok", "TLS", tls_facts(probe));
    } else {
        report.line("--", "TLS", "not used (plain http to loopback)");
    }
    match &probe.error {
        None => accepted(probe, report),
        Some(e) => refused(e, report),
    }
    rate_limit(probe, report);
    clock(probe, report);
    probe_failure(probe).map_or(Ok(()), Err)
}

/// The negotiated version and the verified certificate, as far as known.
fn tls_facts(probe: &Probe) -> String {
    let mut text = format!(
        "{}, server certificate verified",
        probe.tls_version.unwrap_or("handshake done")
    );
    if let Some(cert) = &probe.server_cert {
        let until = cert
            .not_after
            .map_or_else(|| "unknown".to_owned(), |t| t.to_string());
        text.push_str(&format!(
            ": subject {}, issuer {}, valid until {until}",
            cert.subject, cert.issuer
        ));
    }
    text
}

/// The report of an answer that is an error: which check failed.
fn refused(error: &ApiError, report: &mut Report) {
    let text = || crate::exit::one_line(&error.to_string());
    match error {
        ApiError::Unauthorized { status: 403, .. } => {
            report.line("ok", "credentials", "recognized (HTTP 403, not 401)");
            report.line(
                "FAIL",
                "scope",
                "HTTP 403: these credentials may not read audit logs",
            );
        }
        ApiError::Unauthorized { .. } => report.line("FAIL", "credentials", text()),
        ApiError::RateLimited { .. } => {
            report.line(
                "ok",
                "credentials",
                "accepted (the answer was 429, not 401)",
            );
            report.line("FAIL", "rate limit", text());
        }
        ApiError::NotGong => report.line("FAIL", "Gong API", "HTTP 404 with a non-JSON body"),
        _ => report.line("FAIL", "Gong API", text()),
    }
}

/// The report of an answer that is not an error.
fn accepted(probe: &Probe, report: &mut Report) {
    report.line("ok", "credentials", "accepted");
    report.line(
        "ok",
        "scope",
        format!(
            "audit logs readable (api:logs:read){}",
            probe
                .request_id
                .as_deref()
                .map(|id| format!(", requestId {id}"))
                .unwrap_or_default()
        ),
    );
}

/// The report of the rate limit: a 429 waited out, the headers seen.
fn rate_limit(probe: &Probe, report: &mut Report) {
    if let Some(wait) = probe.waited {
        report.line(
            "--",
            "rate limit",
            format!(
                "the first answer was 429: waited {} (its Retry-After) and asked again",
                gong_logs_api::human_duration(wait)
            ),
        );
    }
    if probe.rate_limit_headers.is_empty() {
        report.line(
            "--",
            "rate-limit headers",
            "none seen (Gong allows 3 requests/s and 10,000 a day; fetch paces itself)",
        );
    } else {
        let list: Vec<String> = probe
            .rate_limit_headers
            .iter()
            .map(|(name, value)| format!("{name}: {value}"))
            .collect();
        report.line("ok", "rate-limit headers", list.join(", "));
    }
}

/// The report of the clock against the server's `Date`.
fn clock(probe: &Probe, report: &mut Report) {
    match (probe.clock_skew(), &probe.date) {
        (Some(skew), _) if skew.abs() > SKEW_WARN_SECS => report.line(
            "warn",
            "clock",
            format!(
                "this machine's clock is {} s {} the server's Date: relative times (--since, now) are off by as much; sync the clock (NTP)",
                skew.abs(),
                if skew > 0 { "ahead of" } else { "behind" }
            ),
        ),
        (Some(skew), _) => report.line(
            "ok",
            "clock",
            format!("within {} s of the server's Date", skew.abs().max(1)),
        ),
        (None, Some(date)) => report.line("--", "clock", format!("unreadable Date header {date:?}")),
        (None, None) => report.line("--", "clock", "no Date header to compare with"),
    }
}
