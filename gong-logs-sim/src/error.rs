//! The simulator's error type.

use std::net::SocketAddr;
use std::path::PathBuf;

/// Everything that can go wrong when configuring or starting the simulator.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum SimError {
    /// A configuration value is out of range or inconsistent.
    #[error("invalid simulator configuration: {0}")]
    InvalidConfig(String),

    /// The listening socket could not be bound.
    #[error("cannot listen on {addr}: {source} (is the port already in use?)")]
    Bind {
        /// The address that was asked for.
        addr: SocketAddr,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// The HTTPS certificate or key cannot be read or used.
    #[error("TLS: {0}")]
    Tls(String),

    /// The JSONL data file could not be read.
    #[error("cannot read data file {path}: {source}")]
    DataFileIo {
        /// The file that was asked for.
        path: PathBuf,
        /// The operating system's error.
        #[source]
        source: std::io::Error,
    },

    /// A line of the JSONL data file is not a valid entry.
    #[error(
        "data file {path}, line {line}: {message} (each line must be one JSON object with a \
         \"logType\" and an \"eventTime\" key)"
    )]
    DataFileLine {
        /// The file (or `<memory>` for in-memory text).
        path: PathBuf,
        /// 1-based line number.
        line: usize,
        /// What is wrong with the line.
        message: String,
    },
}

/// A string that is not one of Gong's five log types.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error(
    "unknown log type {0:?}; valid values: AccessLog, UserActivityLog, UserCallPlay, \
     ExternallySharedCallAccess, ExternallySharedCallPlay"
)]
pub struct ParseLogTypeError(pub String);
