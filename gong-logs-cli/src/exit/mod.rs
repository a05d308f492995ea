//! Exit codes and the error type that carries one (printed through
//! [`crate::redact`]).

pub(crate) mod api;

use std::fmt::Display;

/// Exit code: success (an empty period included).
pub const OK: u8 = 0;
/// Exit code: an API or unexpected failure.
pub const FAILURE: u8 = 1;
/// Exit code: a usage error (bad flag, time, config...); no request was sent.
pub const USAGE: u8 = 2;
/// Exit code: authentication failed (HTTP 401/403) or no credentials.
pub const AUTH: u8 = 3;
/// Exit code: still rate-limited (HTTP 429) after every retry.
pub const RATE_LIMITED: u8 = 5;
/// Exit code: interrupted by SIGINT/SIGTERM/SIGHUP before the export finished.
pub const INTERRUPTED: u8 = 130;

/// Every exit code and what it means, in order (the man pages' EXIT STATUS;
/// `--help` says the same in its last paragraph).
pub const MEANINGS: &[(u8, &str)] = &[
    (OK, "success (an empty period too)"),
    (FAILURE, "an API or unexpected failure"),
    (
        USAGE,
        "a usage error (bad flag, time, config, environment): no request was sent",
    ),
    (
        AUTH,
        "authentication failed (HTTP 401/403) or no credentials are set",
    ),
    (
        RATE_LIMITED,
        "still rate-limited (HTTP 429) after every retry, or --max-requests reached",
    ),
    (
        INTERRUPTED,
        "interrupted by SIGINT or SIGTERM before the export finished",
    ),
];

/// A failure and the exit code it maps to.
#[derive(Debug)]
pub struct Failure {
    /// The process exit code.
    pub code: u8,
    /// What went wrong (printed as one line, context chain included).
    pub error: anyhow::Error,
}

/// The result of every command.
pub type Result<T, E = Failure> = std::result::Result<T, E>;

impl Failure {
    /// A failure with an explicit code.
    pub fn new(code: u8, error: impl Into<anyhow::Error>) -> Self {
        Self {
            code,
            error: error.into(),
        }
    }

    /// A usage error (exit 2) from a message.
    pub fn usage(message: impl Display) -> Self {
        Self::new(USAGE, anyhow::anyhow!("{message}"))
    }

    /// An authentication failure (exit 3) from a message.
    pub fn auth(message: impl Display) -> Self {
        Self::new(AUTH, anyhow::anyhow!("{message}"))
    }

    /// The message as printed: one line, through [`redact`].
    pub fn message(&self) -> String {
        redact(&one_line(&format!("{:#}", self.error)))
    }
}

impl From<anyhow::Error> for Failure {
    fn from(error: anyhow::Error) -> Self {
        Self::new(FAILURE, error)
    }
}

/// Collapses whitespace runs containing newlines so a message is one line.
pub fn one_line(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for (i, line) in text
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .enumerate()
    {
        if i > 0 {
            out.push(' ');
        }
        out.push_str(line);
    }
    out
}

pub use crate::redact::{redact, register_basic, register_proxy_url, register_secret};

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn messages_are_one_line_and_redacted() {
        register_secret("hunter2-secret");
        let error =
            anyhow::anyhow!("bad\n  thing: hunter2-secret\n\nmore").context("reading config");
        let f = Failure::new(USAGE, error);
        assert_eq!(f.code, USAGE);
        assert_eq!(f.message(), "reading config: bad thing: *** more");
    }
}
