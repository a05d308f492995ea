//! The end-to-end tests: the real binary (`gong-logs`) against
//! the simulator, and the engine- and parser-level fuzz and property tests.
//! One test binary with a module per area: one link step instead of one
//! per file, and libtest runs the tests of every area side by side, so a
//! test that mostly waits (a follow poll, a retry back-off, a Retry-After)
//! overlaps with the others instead of ending its own binary's run.
//!
//! One area: `cargo test -p gong-logs-cli --test e2e faults::`.

mod common;

mod commands;
mod compress;
mod engine_fuzz;
mod errors;
mod faults;
mod files;
mod formats;
mod fuzz;
mod hostile;
mod http_trust;
mod json_logs;
mod localfiles;
mod man;
mod metrics;
mod properties;
mod proxy;
mod requests;
mod resume;
mod rotation;
mod schemas;
mod secrets;
mod settings;
mod siem_configs;
mod terminal;
mod tls;
