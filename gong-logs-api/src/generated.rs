//! The client progenitor generates from `openapi/gong-logs-v2.json` at build
//! time (see `build.rs`). Nothing hand-written lives in this file.
#![allow(
    missing_docs,
    missing_debug_implementations,
    unused_imports,
    clippy::all,
    clippy::pedantic,
    rustdoc::all
)]

include!(concat!(env!("OUT_DIR"), "/codegen.rs"));
