//! The resumable (and followed) file: its writes hashed, its commits
//! (data synced, then the checkpoint), and the check before each write
//! and commit that a followed FILE was not rotated under the writer.

use std::fs::File;
use std::io::Write as _;
use std::path::PathBuf;

use anyhow::{Context as _, anyhow};
use sha2::{Digest as _, Sha256};

use crate::exit::{FAILURE, Failure, Result};
use crate::files::checkpoint::{self, Checkpoint};
use crate::files::fs::{Keep, OutputLock, parent_dir, sync_dir};
use crate::output::compress::{Compression, Encoder};

/// The state of a resumable output.
#[derive(Debug)]
pub struct Resumable {
    pub(super) file: File,
    /// The data file: `target.partial`, or `target` when following.
    pub(super) data: PathBuf,
    pub(super) target: PathBuf,
    pub(super) checkpoint_path: PathBuf,
    /// The checkpoint as last committed (positions updated by the caller).
    pub checkpoint: Checkpoint,
    /// SHA-256 of every byte of the data file so far.
    pub(super) hasher: Sha256,
    /// Bytes in the data file.
    pub(super) len: u64,
    /// Following: the data file is the output; it is never renamed and the
    /// checkpoint stays.
    pub(super) follow: bool,
    pub(super) keep: Option<Keep>,
    /// The compressor, if the output is compressed.
    pub(super) encoder: Option<Encoder>,
    /// Following: the device and inode of the FILE being appended to, to
    /// notice it rotated away (see [`Moved`]).
    pub(super) identity: Option<(u64, u64)>,
    pub(super) _lock: OutputLock,
}

pub(super) fn io_failure(e: std::io::Error, what: String) -> Failure {
    Failure::new(FAILURE, anyhow!(e).context(what))
}

/// How a resumable sink starts.
#[derive(Debug)]
pub struct ResumableSpec {
    /// The output path (resolved).
    pub target: PathBuf,
    /// `--follow`: append to the output itself.
    pub follow: bool,
    /// `--follow --resume --rotated`: continue in a new FILE when the old
    /// one was rotated away.
    pub rotated: bool,
    /// The mode of the output it replaces (not following).
    pub keep: Option<Keep>,
    /// The output's lock.
    pub lock: OutputLock,
    /// The output's compression.
    pub compression: Compression,
}

impl ResumableSpec {
    /// The data file.
    pub fn data_path(&self) -> PathBuf {
        if self.follow {
            self.target.clone()
        } else {
            checkpoint::partial_path(&self.target)
        }
    }
}

/// What happened to a followed FILE under the writer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) enum Moved {
    /// No file at the path any more: renamed or deleted.
    Gone { intact: bool },
    /// Another file at the path (rename rotation with `create`).
    Replaced { intact: bool },
    /// Shorter than written (`copytruncate`).
    Truncated { now: u64 },
    /// Longer than written: someone else appends.
    Grew { now: u64 },
}

impl Moved {
    /// The file written to still holds exactly the data written.
    pub(super) fn keeps_data(self) -> bool {
        matches!(
            self,
            Self::Gone { intact: true } | Self::Replaced { intact: true }
        )
    }
}

/// A followed FILE rotated under the writer; the message says what
/// happened and how to continue (the run stops with exit 1).
#[derive(Debug)]
pub struct Rotated(String);

impl std::fmt::Display for Rotated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Rotated {}

impl Resumable {
    /// The sink over `file`, holding the data `hasher` has hashed
    /// (`checkpoint.data_len` bytes).
    pub(super) fn open(
        spec: ResumableSpec,
        file: File,
        checkpoint: Checkpoint,
        hasher: Sha256,
    ) -> Result<Box<Self>> {
        let data = spec.data_path();
        let identity = if spec.follow {
            use std::os::unix::fs::MetadataExt as _;
            let meta = file
                .metadata()
                .map_err(|e| io_failure(e, format!("cannot inspect {}", data.display())))?;
            Some((meta.dev(), meta.ino()))
        } else {
            None
        };
        Ok(Box::new(Self {
            file,
            checkpoint_path: checkpoint::checkpoint_path(&spec.target),
            data,
            target: spec.target,
            len: checkpoint.data_len,
            checkpoint,
            hasher,
            follow: spec.follow,
            keep: spec.keep,
            encoder: Encoder::new(spec.compression),
            identity,
            _lock: spec.lock,
        }))
    }

    /// Whether a followed FILE was moved away, cut or appended to by
    /// someone else since the last write (device and inode at the path,
    /// length of the open file).
    pub(super) fn moved(&self) -> Result<Option<Moved>> {
        use std::os::unix::fs::MetadataExt as _;
        let Some(identity) = self.identity else {
            return Ok(None);
        };
        let inspect = |e| io_failure(e, format!("cannot inspect {}", self.data.display()));
        let now = self.file.metadata().map_err(inspect)?.len();
        let intact = now == self.len;
        match std::fs::symlink_metadata(&self.data) {
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                return Ok(Some(Moved::Gone { intact }));
            }
            Err(e) => return Err(inspect(e)),
            Ok(m) if (m.dev(), m.ino()) != identity => {
                return Ok(Some(Moved::Replaced { intact }));
            }
            Ok(_) => {}
        }
        Ok(match now.cmp(&self.len) {
            std::cmp::Ordering::Less => Some(Moved::Truncated { now }),
            std::cmp::Ordering::Greater => Some(Moved::Grew { now }),
            std::cmp::Ordering::Equal => None,
        })
    }

    /// The failure for a FILE that `moved`, saying how to continue.
    pub(super) fn rotated(&self, moved: Moved) -> Failure {
        let file = self.data.display();
        let ckpt = self.checkpoint_path.display();
        let covered = self.checkpoint.data_len;
        let rerun = format!(
            "rerun with --follow --resume --rotated to continue in a new {file} from the checkpoint's position, nothing lost or repeated"
        );
        let what = match moved {
            Moved::Gone { intact: true } => format!(
                "{file} was renamed or deleted while gong-logs appended to it (log rotation?): the renamed file holds everything written, as checkpoint {ckpt} records; {rerun}"
            ),
            Moved::Replaced { intact: true } => format!(
                "{file} was replaced by another file while gong-logs appended to it (log rotation with create?): the renamed file holds everything written, as checkpoint {ckpt} records; {rerun}"
            ),
            Moved::Gone { .. } | Moved::Replaced { .. } => format!(
                "{file} was renamed or replaced, and changed, while gong-logs appended to it: checkpoint {ckpt} covers its first {covered} bytes; rerun with --follow --resume --rotated to continue in a new {file} from there"
            ),
            Moved::Truncated { now } => format!(
                "{file} was truncated to {now} bytes while gong-logs appended to it (logrotate's copytruncate?): nothing more was written; checkpoint {ckpt} covers the first {covered} bytes of the copy; rerun with --follow --resume --rotated to start {file} afresh from there, and rotate by renaming instead (see the README)"
            ),
            Moved::Grew { now } => format!(
                "{file} holds {} bytes that gong-logs did not write: another program writes to it; nothing more was written; move it away, then rerun with --follow --resume --rotated",
                now - self.len
            ),
        };
        Failure::new(FAILURE, Rotated(what))
    }

    /// Completes the output: the data synced; unless following, renamed
    /// into place (with the mode it replaces) and the checkpoint deleted.
    pub(super) fn finish(self) -> Result<()> {
        let shown = self.target.display().to_string();
        self.file
            .sync_all()
            .with_context(|| format!("cannot sync {}", self.data.display()))?;
        if self.follow {
            return Ok(());
        }
        if let Some(keep) = self.keep {
            keep.apply(&self.file)
                .with_context(|| format!("cannot keep the permissions of {shown}"))?;
        }
        drop(self.file);
        // Not a NamedTempFile: the `.partial` must outlive a failed or killed run (--resume reopens it by name), and one would delete it when dropped.
        std::fs::rename(&self.data, &self.target)
            .with_context(|| format!("cannot rename {} to {shown}", self.data.display()))?;
        sync_dir(&parent_dir(&self.target))
            .with_context(|| format!("cannot sync the directory of {shown}"))?;
        match std::fs::remove_file(&self.checkpoint_path) {
            Ok(()) => {}
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
            Err(e) => {
                return Err(io_failure(
                    e,
                    format!(
                        "{shown} is complete but its checkpoint could not be deleted; delete {}",
                        self.checkpoint_path.display()
                    ),
                ));
            }
        }
        sync_dir(&parent_dir(&self.target))
            .with_context(|| format!("cannot sync the directory of {shown}"))?;
        Ok(())
    }

    /// Appends bytes to the data file, hashing and counting them.
    pub(super) fn append(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        self.file.write_all(bytes)?;
        self.hasher.update(bytes);
        self.len += bytes.len() as u64;
        Ok(())
    }
}

/// Writes `bytes` to `file`, through `encoder` if the output is compressed.
pub(super) fn write_encoded(
    file: &mut File,
    encoder: &mut Option<Encoder>,
    bytes: &[u8],
) -> std::io::Result<()> {
    match encoder {
        Some(encoder) => file.write_all(&encoder.write(bytes)?),
        None => file.write_all(bytes),
    }
}

/// Closes the open unit of a compressed output into `file`.
pub(super) fn close_encoded(
    file: &mut File,
    encoder: &mut Option<Encoder>,
    always: bool,
) -> std::io::Result<()> {
    match encoder {
        Some(encoder) => file.write_all(&encoder.close(always)?),
        None => Ok(()),
    }
}
