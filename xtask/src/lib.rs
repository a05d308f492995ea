//! The workspace's developer tasks, run as `cargo xtask <task>`.
//!
//! One module per subcommand; `src/main.rs` only parses arguments and
//! dispatches. The modules are a library so tests can call them directly.

pub mod bench;
pub mod bench_csv;
pub mod demo;
pub mod dist;
pub mod layers;
pub mod reconcile;
pub mod schemas;
pub mod workflows;
