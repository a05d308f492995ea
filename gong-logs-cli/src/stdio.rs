//! Stdout and stderr, written so that a closed terminal or reader never
//! turns into a panic.

use std::io::Write as _;

use crate::exit::{self, Failure, Result};

/// Writes one line to stderr, ignoring a failure: after a terminal closed
/// (SIGHUP) every write to it fails, and `eprintln!` would panic, turning
/// the documented exit code into an abort.
pub(crate) fn stderr_line(line: &str) {
    let _ = writeln!(std::io::stderr().lock(), "{line}");
}

pub(crate) fn write_stdout(bytes: &[u8]) -> Result<()> {
    let mut out = std::io::stdout().lock();
    match out.write_all(bytes).and_then(|()| out.flush()) {
        Ok(()) => Ok(()),
        Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
        Err(e) => Err(Failure::new(
            exit::FAILURE,
            anyhow::anyhow!("cannot write to stdout: {e}"),
        )),
    }
}
