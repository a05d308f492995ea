//! `fetch --metrics-listen ADDR` and `--metrics-file PATH`: what a
//! running export looks like to Prometheus.
//!
//! [`MetricsPlan`] is the settings, checked before any request (the
//! address bound, the file's directory writable: exit 2 otherwise);
//! [`Monitor`] is what the export loop tells it (entries written,
//! positions, polls done, the end), read together with the exporter's
//! counters (requests by status, retries, the last request) by
//! `exposition` (the Prometheus text format, by `prometheus-client`),
//! `health` (`/healthz`'s verdict), `server` (the HTTP endpoint) and
//! `file` (the textfile, replaced atomically).

mod exposition;
mod file;
mod health;
mod server;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::path::PathBuf;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use gong_logs_api::LogType;
use gong_logs_api::export::Exporter;
use jiff::Timestamp;

use crate::exit::{Failure, Result};

/// The metrics settings of a fetch (`--metrics-listen`, `--metrics-file`).
#[derive(Debug, Default)]
pub(crate) struct MetricsPlan {
    /// Where to serve `/metrics` and `/healthz`.
    pub listen: Option<SocketAddr>,
    /// The textfile to keep current.
    pub file: Option<PathBuf>,
    /// The socket bound to `listen` by [`MetricsPlan::prepare`].
    listener: Option<std::net::TcpListener>,
}

impl MetricsPlan {
    /// The settings, nothing bound yet.
    pub fn new(listen: Option<SocketAddr>, file: Option<PathBuf>) -> Self {
        Self {
            listen,
            file,
            listener: None,
        }
    }

    /// Binds the address and checks that the file can be written, before
    /// any request: either failing is a usage error (exit 2).
    pub fn prepare(&mut self) -> Result<()> {
        if let Some(path) = &self.file {
            file::check(path).map_err(Failure::usage)?;
        }
        if let Some(addr) = self.listen {
            let listener = std::net::TcpListener::bind(addr)
                .and_then(|l| l.set_nonblocking(true).map(|()| l))
                .map_err(|e| {
                    Failure::usage(format!(
                        "--metrics-listen {addr}: cannot listen there ({}): choose another address or port",
                        crate::exit::one_line(&e.to_string())
                    ))
                })?;
            self.listener = Some(listener);
        }
        Ok(())
    }

    /// Starts what was asked for an export on `exporter` of `types` from
    /// their positions: the server (on the current tokio runtime; the
    /// address it serves returned) and the first textfile.
    pub fn start(
        &self,
        exporter: &Exporter,
        types: Vec<(LogType, Timestamp)>,
        interval: Duration,
    ) -> Result<(Monitor, Option<SocketAddr>)> {
        let monitor = Monitor::new(exporter, types, interval, self.file.clone());
        let mut served = None;
        if let Some(listener) = &self.listener {
            let listener = listener
                .try_clone()
                .and_then(tokio::net::TcpListener::from_std)
                .map_err(|e| Failure::usage(format!("--metrics-listen: {e}")))?;
            served = listener.local_addr().ok();
            tokio::spawn(server::serve(listener, monitor.clone()));
        }
        monitor.write_file();
        Ok((monitor, served))
    }
}

/// `--metrics-listen`'s value: `HOST:PORT` with an IP address (`[v6]:PORT`
/// for IPv6), or a bare `PORT` for `127.0.0.1:PORT`.
pub fn parse_listen(text: &str) -> std::result::Result<SocketAddr, String> {
    let text = text.trim();
    if let Ok(port) = text.parse::<u16>() {
        return Ok(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port));
    }
    text.parse::<SocketAddr>().map_err(|_| {
        "give an IP address and port (127.0.0.1:9464, [::1]:9464, 0.0.0.0:9464) or a port alone (9464: loopback)".to_owned()
    })
}

/// What the export loop reports, shared with the server: cheap to clone.
#[derive(Clone, Debug)]
pub(crate) struct Monitor {
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    exporter: Exporter,
    started: Timestamp,
    /// No success for longer than this is unhealthy (three intervals).
    stale_after: Duration,
    file: Option<PathBuf>,
    state: Mutex<State>,
}

/// The export's progress as the loop reported it.
#[derive(Clone, Debug)]
struct State {
    types: Vec<TypeState>,
    /// When a batch or poll last completed.
    last_progress: Option<Timestamp>,
    /// The export stopped on this failure.
    failed: Option<String>,
    /// The textfile's last write failed (warned once until it works again).
    file_failing: bool,
}

/// One type's series.
#[derive(Clone, Debug)]
struct TypeState {
    log_type: LogType,
    /// Entries written by this run.
    entries: u64,
    /// When a batch or poll of it last completed.
    last_success: Option<Timestamp>,
    /// The eventTime up to which it is complete.
    position: Timestamp,
}

impl Monitor {
    fn new(
        exporter: &Exporter,
        types: Vec<(LogType, Timestamp)>,
        interval: Duration,
        file: Option<PathBuf>,
    ) -> Self {
        let types = types
            .into_iter()
            .map(|(log_type, position)| TypeState {
                log_type,
                entries: 0,
                last_success: None,
                position,
            })
            .collect();
        Self {
            shared: Arc::new(Shared {
                exporter: exporter.clone(),
                started: Timestamp::now(),
                stale_after: interval.saturating_mul(3),
                file,
                state: Mutex::new(State {
                    types,
                    last_progress: None,
                    failed: None,
                    file_failing: false,
                }),
            }),
        }
    }

    fn update(&self, f: impl FnOnce(&mut State, Timestamp)) {
        {
            let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
            f(&mut state, Timestamp::now());
        }
        self.write_file();
    }

    /// A batch of `log_type`: `written` entries written, complete up to
    /// `position`.
    pub fn batch(&self, log_type: LogType, written: u64, position: Timestamp) {
        self.update(|state, now| {
            state.last_progress = Some(now);
            if let Some(t) = state.types.iter_mut().find(|t| t.log_type == log_type) {
                t.entries += written;
                t.position = t.position.max(position);
                t.last_success = Some(now);
            }
        });
    }

    /// `log_type`'s range (or poll) is delivered; complete up to `to` when
    /// known here.
    pub fn type_done(&self, log_type: LogType, to: Option<Timestamp>) {
        self.update(|state, now| {
            state.last_progress = Some(now);
            if let Some(t) = state.types.iter_mut().find(|t| t.log_type == log_type) {
                t.last_success = Some(now);
                if let Some(to) = to {
                    t.position = t.position.max(to);
                }
            }
        });
    }

    /// A `--follow` round is delivered: every type complete up to `to`.
    pub fn caught_up(&self, to: Timestamp) {
        self.update(|state, now| {
            state.last_progress = Some(now);
            for t in &mut state.types {
                t.last_success = Some(now);
                t.position = t.position.max(to);
            }
        });
    }

    /// The export stopped on `message`.
    pub fn failed(&self, message: &str) {
        self.update(|state, _| state.failed = Some(message.to_owned()));
    }

    /// The export ended: the textfile's last write.
    pub fn finish(&self) {
        self.write_file();
    }

    fn state(&self) -> State {
        self.shared
            .state
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// `/healthz`'s verdict now: `Err` with the one-line reason.
    pub fn health(&self) -> std::result::Result<(), String> {
        let state = self.state();
        let stats = self.shared.exporter.stats().snapshot();
        health::judge(&health::Facts {
            now: Timestamp::now(),
            started: self.shared.started,
            stale_after: self.shared.stale_after,
            failed: state.failed.as_deref(),
            last_request: stats.last_request.as_ref(),
            last_success: stats.last_success.max(state.last_progress),
        })
    }

    /// The exposition now (Prometheus text format 0.0.4).
    pub fn render(&self) -> String {
        let state = self.state();
        let stats = self.shared.exporter.stats().snapshot();
        let up = state.failed.is_none()
            && stats
                .last_request
                .as_ref()
                .is_none_or(|last| last.error.is_none());
        exposition::render(&exposition::Series {
            types: &state.types,
            stats: &stats,
            up,
            started: self.shared.started,
        })
    }

    /// Replaces the textfile with the exposition now, if asked; a failure
    /// is warned about once until a write works again.
    fn write_file(&self) {
        let Some(path) = &self.shared.file else {
            return;
        };
        let result = file::replace(path, &self.render());
        let mut state = self.shared.state.lock().unwrap_or_else(|e| e.into_inner());
        match result {
            Ok(()) => state.file_failing = false,
            Err(e) if !state.file_failing => {
                state.file_failing = true;
                drop(state);
                crate::diag::warn(&crate::exit::redact(&format!(
                    "--metrics-file {}: cannot replace it ({e}); the export goes on",
                    path.display()
                )));
            }
            Err(_) => {}
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_bare_port_is_loopback_and_addresses_are_ip_literals() {
        assert_eq!(parse_listen("9464").unwrap().to_string(), "127.0.0.1:9464");
        assert_eq!(parse_listen("0.0.0.0:9").unwrap().to_string(), "0.0.0.0:9");
        assert_eq!(
            parse_listen("[::1]:9464").unwrap().to_string(),
            "[::1]:9464"
        );
        for bad in [
            "",
            "localhost:9464",
            "127.0.0.1",
            "127.0.0.1:99999",
            "9464x",
            ":9464",
        ] {
            assert!(parse_listen(bad).is_err(), "{bad:?}");
        }
    }
}
