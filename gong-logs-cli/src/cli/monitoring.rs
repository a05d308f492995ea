//! The flags of monitoring: `--log-format` (global) and `fetch`'s
//! `--metrics-listen`, `--metrics-file`.

use std::path::PathBuf;

use clap::{Args, ValueEnum};

use crate::diag::LogFormat;

/// `--log-format`'s values: the formats of [`LogFormat`] (their words
/// kept beside them, as `Format`'s are).
impl ValueEnum for LogFormat {
    fn value_variants<'a>() -> &'a [Self] {
        &Self::ALL
    }

    fn to_possible_value(&self) -> Option<clap::builder::PossibleValue> {
        Some(clap::builder::PossibleValue::new(self.name()).help(self.about()))
    }
}

/// `fetch`'s metrics flags (see "Monitoring" in the README).
#[derive(Debug, Default, Args)]
#[command(next_help_heading = "Monitoring")]
pub struct MetricsArgs {
    /// Serve Prometheus metrics and a health check over HTTP at ADDR
    /// while fetching (a bare PORT is 127.0.0.1:PORT).
    ///
    /// GET /metrics: the Prometheus text format (gong_logs_entries_total,
    /// gong_logs_requests_total{code}, gong_logs_retries_total,
    /// gong_logs_last_success_timestamp_seconds,
    /// gong_logs_position_timestamp_seconds, gong_logs_up, ...). GET
    /// /healthz: 200 "ok", or 503 and the reason once the last request
    /// failed or nothing succeeded for three --interval (60s without
    /// --follow). Nothing else is served; nothing in it is secret. An
    /// address that cannot be bound is exit 2, before any request. See
    /// "Monitoring" in the README.
    #[arg(
        long = "metrics-listen",
        value_name = "ADDR",
        value_parser = crate::metrics::parse_listen
    )]
    pub listen: Option<std::net::SocketAddr>,

    /// Write the same metrics to PATH after every batch or poll and at
    /// exit (node_exporter's textfile collector: name it *.prom).
    ///
    /// Replaced atomically (a temporary file in the same directory, then
    /// renamed), mode 0644.
    #[arg(long = "metrics-file", value_name = "PATH")]
    pub file: Option<PathBuf>,
}
