//! Local files, opened safely: what `-o` names (stdout, a new or existing
//! regular file, a symlink, a FIFO or character device), the files
//! gong-logs keeps next to the output (never through a symlink, never one
//! owned by someone else), and the lock that makes one run the only writer
//! of an output.
//!
//! Rules (see docs/RELIABILITY.md):
//! - `-o -` is stdout.
//! - A FIFO or character device (and `/dev/stdout`, `/dev/fd/N`) is opened
//!   for writing and written through: no temp file, no rename.
//! - A symlink is resolved (if it is not owned by the current user or root,
//!   it is refused); its target is then handled like a path given directly,
//!   so a regular target is replaced atomically in *its* directory.
//! - An existing regular file keeps its permission bits (and, as root, its
//!   owner); a new file is created 0600 (less if the umask says so).
//! - Anything else (directory, socket, block device, dangling link) is
//!   refused: gong-logs never replaces what is not a regular file.
//! - Our own files (`.partial`, checkpoint, its `.tmp`, `.gong-logs-lock`)
//!   are opened with `O_NOFOLLOW`, created with `O_EXCL`; an existing one
//!   that is a symlink, not a regular file, or owned by another user is
//!   refused (exit 2, before any request).

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, OpenOptionsExt as _};
use std::path::{Path, PathBuf};

use nix::fcntl::{Flock, FlockArg, OFlag};

use crate::exit::{Failure, Result};

/// The effective user id of this process.
pub fn euid() -> u32 {
    nix::unistd::geteuid().as_raw()
}

/// Lowercase hex.
pub fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// The directory of `path` ("." for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename or creation in `dir` durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    File::open(dir)?.sync_all()
}

/// What `-o` names, resolved.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Target {
    /// `-o -`.
    Stdout,
    /// A path where nothing exists yet: a new regular file.
    New(PathBuf),
    /// An existing regular file (a symlink resolved to its target).
    Regular(PathBuf, Keep),
    /// A FIFO or character device, written through.
    Special(PathBuf),
}

/// The permission bits and owner an existing file keeps when replaced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Keep {
    mode: u32,
    uid: u32,
    gid: u32,
}

impl Keep {
    /// Gives `file` (about to replace the original) the original's mode,
    /// and as root its owner and group.
    pub fn apply(&self, file: &File) -> std::io::Result<()> {
        use std::os::unix::fs::PermissionsExt as _;
        if euid() == 0 {
            std::os::unix::fs::fchown(file, Some(self.uid), Some(self.gid))?;
        }
        file.set_permissions(std::fs::Permissions::from_mode(self.mode & 0o7777))
    }
}

fn is_fd_alias(path: &Path) -> bool {
    let text = path.to_string_lossy();
    matches!(&*text, "/dev/stdout" | "/dev/stderr")
        || text.starts_with("/dev/fd/")
        || text.starts_with("/proc/self/fd/")
}

/// Resolves `-o PATH`.
pub fn resolve_output(path: &Path) -> Result<Target> {
    if path.as_os_str() == "-" {
        return Ok(Target::Stdout);
    }
    let shown = path.display();
    if path.as_os_str().is_empty() {
        return Err(Failure::usage("-o needs a file path (or - for stdout)"));
    }
    let link = match std::fs::symlink_metadata(path) {
        Ok(m) => m,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
            let dir = parent_dir(path);
            if !dir.is_dir() {
                return Err(Failure::usage(format!(
                    "-o {shown}: directory {} does not exist",
                    dir.display()
                )));
            }
            return Ok(Target::New(path.to_owned()));
        }
        Err(e) => {
            return Err(Failure::usage(format!(
                "-o {shown}: cannot inspect it: {e}"
            )));
        }
    };
    let meta = if link.file_type().is_symlink() {
        if is_fd_alias(path) {
            // The magic links of the process's own descriptors: written
            // through whatever they point at.
            return Ok(Target::Special(path.to_owned()));
        }
        if link.uid() != euid() && link.uid() != 0 {
            return Err(Failure::usage(format!(
                "-o {shown} is a symbolic link owned by another user (uid {}): refusing to follow it; give the real path",
                link.uid()
            )));
        }
        match std::fs::metadata(path) {
            Ok(m) => m,
            Err(_) => {
                return Err(Failure::usage(format!(
                    "-o {shown} is a symbolic link to a missing file: give the real path, or create its target first"
                )));
            }
        }
    } else {
        link.clone()
    };
    let kind = meta.file_type();
    if kind.is_dir() {
        return Err(Failure::usage(format!(
            "-o {shown}: give a file path, not a directory"
        )));
    }
    if kind.is_fifo() || kind.is_char_device() {
        return Ok(Target::Special(path.to_owned()));
    }
    if !kind.is_file() {
        return Err(Failure::usage(format!(
            "-o {shown} is not a regular file, FIFO or character device: gong-logs will not replace it"
        )));
    }
    let real = if link.file_type().is_symlink() {
        std::fs::canonicalize(path)
            .map_err(|e| Failure::usage(format!("-o {shown}: cannot resolve the link: {e}")))?
    } else {
        path.to_owned()
    };
    Ok(Target::Regular(
        real,
        Keep {
            mode: meta.mode(),
            uid: meta.uid(),
            gid: meta.gid(),
        },
    ))
}

/// Opens a FIFO or character device for writing (no create, no truncate).
pub fn open_special(path: &Path) -> Result<File> {
    OpenOptions::new()
        .write(true)
        .open(path)
        .map_err(|e| Failure::usage(format!("cannot open {} for writing: {e}", path.display())))
}

/// `PATH` + `suffix`.
pub fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

/// `FILE.gong-logs-lock`.
pub fn lock_path(output: &Path) -> PathBuf {
    with_suffix(output, ".gong-logs-lock")
}

/// Checks one of our own files before use: absent is fine; present, it must
/// be a regular file (not a symlink) owned by the current user.
pub fn check_own(path: &Path) -> Result<bool> {
    match std::fs::symlink_metadata(path) {
        Ok(m) => {
            check_own_meta(path, &m)?;
            Ok(true)
        }
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Ok(false),
        Err(e) => Err(Failure::usage(format!(
            "cannot inspect {}: {e}",
            path.display()
        ))),
    }
}

fn check_own_meta(path: &Path, m: &std::fs::Metadata) -> Result<()> {
    let shown = path.display();
    if m.file_type().is_symlink() {
        return Err(Failure::usage(format!(
            "{shown} is a symbolic link: gong-logs never follows links for its own files; delete it (and check who planted it)"
        )));
    }
    if !m.file_type().is_file() {
        return Err(Failure::usage(format!(
            "{shown} is not a regular file: move it away"
        )));
    }
    if m.uid() != euid() {
        return Err(Failure::usage(format!(
            "{shown} is owned by another user (uid {}): gong-logs only reuses its own files; delete it or run as that user",
            m.uid()
        )));
    }
    Ok(())
}

fn nofollow() -> i32 {
    OFlag::O_NOFOLLOW.bits() | OFlag::O_CLOEXEC.bits()
}

/// Creates a new file of ours: `O_CREAT | O_EXCL | O_NOFOLLOW`, mode 0600.
pub fn create_new(path: &Path, read: bool) -> std::io::Result<File> {
    OpenOptions::new()
        .read(read)
        .write(true)
        .create_new(true)
        .mode(0o600)
        .custom_flags(nofollow())
        .open(path)
}

/// Creates a file of ours, replacing a stale one of ours (refusing a symlink
/// or another user's file).
pub fn create_replacing(path: &Path, read: bool) -> Result<File> {
    let io = |e: std::io::Error| {
        Failure::usage(format!(
            "cannot create {}: {e}; check that the directory exists and is writable",
            path.display()
        ))
    };
    if check_own(path)? {
        std::fs::remove_file(path).map_err(io)?;
    }
    create_new(path, read).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            // Planted between the check and the creation.
            match check_own(path) {
                Err(f) => f,
                Ok(_) => io(e),
            }
        } else {
            io(e)
        }
    })
}

/// Opens an existing file of ours for reading and writing, without following
/// a symlink, and checks that it is a regular file owned by us.
pub fn open_own(path: &Path) -> Result<File> {
    let file = OpenOptions::new()
        .read(true)
        .write(true)
        .custom_flags(nofollow())
        .open(path)
        .map_err(|e| {
            if e.raw_os_error() == Some(nix::libc::ELOOP) {
                return check_own(path).err().unwrap_or_else(|| {
                    Failure::usage(format!("{} is a symbolic link", path.display()))
                });
            }
            Failure::usage(format!("cannot open {}: {e}", path.display()))
        })?;
    let meta = file
        .metadata()
        .map_err(|e| Failure::usage(format!("cannot inspect {}: {e}", path.display())))?;
    check_own_meta(path, &meta)?;
    Ok(file)
}

/// Opens an existing file of ours read-only (checkpoint), same checks.
/// `Ok(None)` if absent.
pub fn read_own(path: &Path) -> Result<Option<Vec<u8>>> {
    let mut file = match OpenOptions::new()
        .read(true)
        .custom_flags(nofollow())
        .open(path)
    {
        Ok(f) => f,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) if e.raw_os_error() == Some(nix::libc::ELOOP) => {
            return Err(check_own(path).err().unwrap_or_else(|| {
                Failure::usage(format!("{} is a symbolic link", path.display()))
            }));
        }
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read {}: {e}",
                path.display()
            )));
        }
    };
    let meta = file
        .metadata()
        .map_err(|e| Failure::usage(format!("cannot inspect {}: {e}", path.display())))?;
    check_own_meta(path, &meta)?;
    let mut bytes = Vec::new();
    file.read_to_end(&mut bytes)
        .map_err(|e| Failure::usage(format!("cannot read {}: {e}", path.display())))?;
    Ok(Some(bytes))
}

/// The lock that makes a run the only writer of an output: an exclusive
/// `flock` on `FILE.gong-logs-lock`, held until dropped (the file is
/// deleted on release; a kill leaves it, unlocked and harmless).
#[derive(Debug)]
pub struct OutputLock {
    lock: Option<Flock<File>>,
    path: PathBuf,
}

impl OutputLock {
    /// Stands for the lock where none is taken (a dry run writes nothing).
    pub fn unlocked(output: &Path) -> Self {
        Self {
            lock: None,
            path: lock_path(output),
        }
    }

    /// Takes the lock of `output` (`shown` names it in messages), or fails
    /// at once if another run holds it.
    pub fn acquire(output: &Path, shown: &str) -> Result<Self> {
        let path = lock_path(output);
        for _ in 0..10 {
            let file = match create_new(&path, true) {
                Ok(f) => f,
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    match open_own(&path) {
                        Ok(f) => f,
                        // Deleted by the run that held it, in between.
                        Err(_) if std::fs::symlink_metadata(&path).is_err() => {
                            continue;
                        }
                        Err(f) => return Err(f),
                    }
                }
                Err(e) => {
                    return Err(Failure::usage(format!(
                        "cannot create the lock file {}: {e}; check that the directory exists and is writable",
                        path.display()
                    )));
                }
            };
            let mut lock = match Flock::lock(file, FlockArg::LockExclusiveNonblock) {
                Ok(l) => l,
                Err((mut file, errno)) if errno == nix::errno::Errno::EWOULDBLOCK => {
                    let mut text = String::new();
                    let _ = file.read_to_string(&mut text);
                    let pid = text.trim();
                    let pid = if pid.is_empty() { "unknown" } else { pid };
                    return Err(Failure::usage(format!(
                        "another gong-logs is writing {shown} (pid {pid}): wait for it to finish, or stop it"
                    )));
                }
                Err((_, errno)) => {
                    return Err(Failure::usage(format!(
                        "cannot lock {}: {errno}",
                        path.display()
                    )));
                }
            };
            // The file we locked must still be the one at the path (the
            // previous holder deletes it on release).
            let same = match (std::fs::symlink_metadata(&path), lock.metadata()) {
                (Ok(a), Ok(b)) => a.dev() == b.dev() && a.ino() == b.ino(),
                _ => false,
            };
            if !same {
                continue;
            }
            let _ = lock.set_len(0);
            let _ = lock.seek(SeekFrom::Start(0));
            let _ = writeln!(*lock, "{}", std::process::id());
            let _ = lock.sync_data();
            return Ok(Self {
                lock: Some(lock),
                path,
            });
        }
        Err(Failure::usage(format!(
            "cannot take the lock {}: it keeps changing; is another gong-logs starting?",
            path.display()
        )))
    }
}

impl Drop for OutputLock {
    fn drop(&mut self) {
        if self.lock.is_some() {
            let _ = std::fs::remove_file(&self.path);
        }
        drop(self.lock.take());
    }
}
