//! Stdout and stderr, written so that a closed terminal or reader never
//! turns into a panic, and a stdout closed at start-up is recognised.

use std::io::Write as _;

use crate::exit::{self, Failure, Result};

/// True when the process was started with stdout closed (`>&-`). The
/// standard library then puts `/dev/null`, opened read-write, in its place,
/// and every write "succeeds"; a shell redirection to `/dev/null` opens it
/// write-only, so the two are told apart by the access mode.
pub(crate) fn stdout_is_closed() -> bool {
    use std::os::fd::AsFd as _;
    use std::os::unix::fs::MetadataExt as _;
    let stdout = std::io::stdout();
    let Ok(fd) = stdout.as_fd().try_clone_to_owned() else {
        return true; // not even a descriptor
    };
    let (Ok(ours), Ok(null)) = (
        std::fs::File::from(fd).metadata(),
        std::fs::metadata("/dev/null"),
    ) else {
        return false;
    };
    if ours.rdev() != null.rdev() || ours.ino() != null.ino() {
        return false;
    }
    nix::fcntl::fcntl(stdout.as_fd(), nix::fcntl::FcntlArg::F_GETFL)
        .map(nix::fcntl::OFlag::from_bits_truncate)
        .is_ok_and(|flags| flags & nix::fcntl::OFlag::O_ACCMODE == nix::fcntl::OFlag::O_RDWR)
}

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
