//! SIGINT, SIGTERM and SIGHUP, as the export loop waits for them.

use anyhow::anyhow;

use crate::exit::{FAILURE, Failure, Result};

/// SIGINT, SIGTERM and SIGHUP: each ends the run the same way.
pub(crate) struct Signals {
    int: tokio::signal::unix::Signal,
    term: tokio::signal::unix::Signal,
    hup: tokio::signal::unix::Signal,
}

/// Which signal stopped the run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Sig {
    /// SIGINT or SIGTERM.
    Stop,
    /// SIGHUP: a terminal closing, `systemctl reload`, a postrotate script.
    Hangup,
}

impl Signals {
    pub(crate) fn new() -> Result<Self> {
        use tokio::signal::unix::{SignalKind, signal};
        let err = |e| Failure::new(FAILURE, anyhow!("cannot install signal handlers: {e}"));
        Ok(Self {
            int: signal(SignalKind::interrupt()).map_err(err)?,
            term: signal(SignalKind::terminate()).map_err(err)?,
            hup: signal(SignalKind::hangup()).map_err(err)?,
        })
    }

    pub(crate) async fn recv(&mut self) -> Sig {
        tokio::select! {
            _ = self.int.recv() => Sig::Stop,
            _ = self.term.recv() => Sig::Stop,
            _ = self.hup.recv() => Sig::Hangup,
        }
    }
}
