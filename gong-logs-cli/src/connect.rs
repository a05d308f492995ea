//! The client and the async runtime, each built in one place for every
//! command (`fetch`, its dry run, `doctor`).

use std::time::Duration;

use anyhow::anyhow;
use gong_logs_api::{BaseUrl, ClientConfig, Credentials, GongClient, ProxySetting};

use crate::config::TlsSettings;
use crate::exit::{FAILURE, Failure, Result};

/// The client of a command: our user agent, its proxy setting, `timeout`
/// per request when given (else the api crate's default), the CAs of `tls`.
pub(crate) fn client(
    base_url: &BaseUrl,
    credentials: Credentials,
    proxy: ProxySetting,
    timeout: Option<Duration>,
    tls: &TlsSettings,
) -> Result<GongClient> {
    let mut config = ClientConfig::new(base_url.clone(), credentials);
    config.proxy = proxy;
    config.ca_cert = tls.ca_cert.clone();
    config.user_agent_suffix = Some(format!("gong-logs/{}", env!("CARGO_PKG_VERSION")));
    if let Some(timeout) = timeout {
        config.timeout = timeout;
    }
    GongClient::new(config).map_err(Failure::usage)
}

/// The threads a runtime runs its tasks on.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Threads {
    /// The calling thread only (one probe, a dry run's previews).
    Current,
    /// Two workers (an export: its request tasks beside the writing).
    Two,
}

/// A tokio runtime with I/O and time enabled.
pub(crate) fn runtime(threads: Threads) -> Result<tokio::runtime::Runtime> {
    let mut builder = match threads {
        Threads::Current => tokio::runtime::Builder::new_current_thread(),
        Threads::Two => {
            let mut builder = tokio::runtime::Builder::new_multi_thread();
            builder.worker_threads(2);
            builder
        }
    };
    builder.enable_all().build().map_err(|e| {
        Failure::new(
            FAILURE,
            anyhow!(e).context("cannot start the async runtime"),
        )
    })
}
