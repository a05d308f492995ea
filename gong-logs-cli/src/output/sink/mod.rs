//! Where output bytes go: stdout, a FIFO or character device written
//! through, a file renamed into place on success, or a resumable file with
//! its checkpoint (`--resume`, and `--follow -o FILE`, which appends to FILE
//! itself). Every file output holds the output's lock for the whole run.
//!
//! A compressed output (`.gz`, `.zst`) goes through an [`Encoder`] on the
//! way: only compressed bytes reach the file, so the rename, the lock, the
//! sync before each checkpoint and the checkpoint's length and hash all
//! work on the compressed bytes on disk. Each commit closes a gzip member or
//! zstd frame first, so the committed length is always a unit boundary.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

mod resumable;

pub use resumable::{Resumable, ResumableSpec, Rotated};
use resumable::{close_encoded, io_failure, write_encoded};

use crate::exit::{Failure, Result};
use crate::files::checkpoint::{self, Checkpoint};
use crate::files::fs::{self, Keep, OutputLock, hex, parent_dir, sync_dir};
use crate::output::compress::{Compression, Encoder};

/// An output destination.
#[derive(Debug)]
pub enum Sink {
    /// Standard output, flushed after each write.
    Stdout,
    /// A FIFO or character device, written through.
    Direct {
        /// The open device or FIFO.
        file: File,
        /// Its path, for messages.
        target: PathBuf,
        /// The compressor, if the output is compressed.
        encoder: Option<Encoder>,
    },
    /// A temporary file next to `target`, renamed to it on success.
    Temp {
        /// The temporary file (deleted when dropped).
        file: NamedTempFile,
        /// The final path.
        target: PathBuf,
        /// The mode (and owner) of the file it replaces.
        keep: Option<Keep>,
        /// The output's lock.
        lock: OutputLock,
        /// The compressor, if the output is compressed.
        encoder: Option<Encoder>,
    },
    /// `target.partial` (or `target` itself when following) plus
    /// `target.gong-logs-checkpoint`.
    Resumable(Box<Resumable>),
}

impl Sink {
    /// A FIFO or character device.
    pub fn direct(target: &Path, compression: Compression) -> Result<Self> {
        Ok(Self::Direct {
            file: fs::open_special(target)?,
            target: target.to_owned(),
            encoder: Encoder::new(compression),
        })
    }

    /// A temp-file sink for `target`.
    pub fn temp(
        target: &Path,
        keep: Option<Keep>,
        lock: OutputLock,
        compression: Compression,
    ) -> Result<Self> {
        let dir = parent_dir(target);
        let name = target
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let file = tempfile::Builder::new()
            .prefix(&format!(".{name}."))
            .suffix(".tmp")
            .tempfile_in(&dir)
            .map_err(|e| {
                Failure::usage(format!(
                    "cannot create a file in {}: {e}; check that the directory exists and is writable",
                    dir.display()
                ))
            })?;
        Ok(Self::Temp {
            file,
            target: target.to_owned(),
            keep,
            lock,
            encoder: Encoder::new(compression),
        })
    }

    /// A fresh resumable sink: the data file created empty (`O_EXCL`,
    /// `O_NOFOLLOW`; a stale `.partial` of ours is replaced; an existing
    /// output is never appended to without its checkpoint).
    pub fn resumable_fresh(spec: ResumableSpec, checkpoint: Checkpoint) -> Result<Self> {
        let data = spec.data_path();
        let file = if spec.follow {
            fs::create_new(&data, true).map_err(|e| {
                if e.kind() == std::io::ErrorKind::AlreadyExists {
                    Failure::usage(format!(
                        "{} exists and has no checkpoint: --follow -o appends to a file it started; move it away, or give another -o",
                        data.display()
                    ))
                } else {
                    cannot_create(&data, &e)
                }
            })?
        } else {
            fs::create_replacing(&data, true)?
        };
        Resumable::open(spec, file, checkpoint, Sha256::new()).map(Self::Resumable)
    }

    /// A resumed sink: the data file verified against `checkpoint` and
    /// truncated to what it covers. A followed FILE that does not match
    /// says how `--rotated` continues (or, with it, to move FILE away).
    pub fn resumable_continue(spec: ResumableSpec, checkpoint: Checkpoint) -> Result<Self> {
        let data = spec.data_path();
        let checkpoint_path = checkpoint::checkpoint_path(&spec.target);
        let (file, hasher) = checkpoint::reopen_data(&data, &checkpoint, &checkpoint_path)
            .map_err(|failure| {
                if !spec.follow {
                    return failure;
                }
                let message = failure.message();
                let what = message
                    .strip_suffix(checkpoint::START_OVER)
                    .map_or(message.as_str(), |m| m.trim_end_matches([';', ' ', ':']));
                let shown = data.display();
                Failure::usage(if spec.rotated {
                    format!(
                        "{what}; --rotated starts a new {shown} only where there is none or an empty one: move it away, then rerun"
                    )
                } else {
                    format!(
                        "{what}; if {shown} was rotated (renamed, truncated or replaced), rerun with --rotated to start a new {shown} from the checkpoint's position, nothing lost or repeated; otherwise {}",
                        checkpoint::START_OVER
                    )
                })
            })?;
        Resumable::open(spec, file, checkpoint, hasher).map(Self::Resumable)
    }

    /// `--follow --resume --rotated` after FILE was rotated away: a new
    /// FILE (or the empty one rotation created) continues from the
    /// checkpoint's position; the rotated file keeps what it covered.
    pub fn resumable_rotated(spec: ResumableSpec, mut checkpoint: Checkpoint) -> Result<Self> {
        let data = spec.data_path();
        let file = match fs::create_new(&data, true) {
            Ok(file) => file,
            Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                let file = fs::open_own(&data)?;
                if file.metadata().map(|m| m.len()).unwrap_or(1) != 0 {
                    return Err(Failure::usage(format!(
                        "{} is no longer empty: move it away, then rerun",
                        data.display()
                    )));
                }
                file
            }
            Err(e) => return Err(cannot_create(&data, &e)),
        };
        checkpoint.data_len = 0;
        checkpoint.data_sha256 = String::new();
        Resumable::open(spec, file, checkpoint, Sha256::new()).map(Self::Resumable)
    }

    /// Where the data goes, for messages.
    pub fn describe(&self) -> Option<String> {
        match self {
            Self::Stdout => None,
            Self::Direct { target, .. } | Self::Temp { target, .. } => {
                Some(target.display().to_string())
            }
            Self::Resumable(r) => Some(r.target.display().to_string()),
        }
    }

    /// The resumable state, if any.
    pub fn resumable(&mut self) -> Option<&mut Resumable> {
        match self {
            Self::Resumable(r) => Some(r),
            _ => None,
        }
    }

    /// Appends bytes. Broken pipes surface as `io::ErrorKind::BrokenPipe`.
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        if bytes.is_empty() {
            return Ok(());
        }
        match self {
            Self::Stdout => {
                let mut out = std::io::stdout().lock();
                out.write_all(bytes)?;
                out.flush()
            }
            Self::Direct { file, encoder, .. } => write_encoded(file, encoder, bytes),
            Self::Temp { file, encoder, .. } => write_encoded(file.as_file_mut(), encoder, bytes),
            Self::Resumable(r) => match &mut r.encoder {
                Some(encoder) => {
                    let out = encoder.write(bytes)?;
                    r.append(&out)
                }
                None => r.append(bytes),
            },
        }
    }

    /// Closes the open gzip member or zstd frame of a compressed output
    /// (`always`: even an empty one, so an empty output is valid).
    fn close_unit(&mut self, always: bool) -> std::io::Result<()> {
        match self {
            Self::Stdout => Ok(()),
            Self::Direct { file, encoder, .. } => close_encoded(file, encoder, always),
            Self::Temp { file, encoder, .. } => close_encoded(file.as_file_mut(), encoder, always),
            Self::Resumable(r) => match &mut r.encoder {
                Some(encoder) => {
                    // An empty unit only for a file that is still empty.
                    let out = encoder.close(always && r.len == 0)?;
                    r.append(&out)
                }
                None => Ok(()),
            },
        }
    }

    /// A followed FILE must still be the one being appended to, as long
    /// as written: else the [`Rotated`] failure (exit 1) saying what
    /// happened and how to continue. Called before each write. The
    /// `footer` (json's `]`, the run's last write) still goes to a FILE
    /// renamed or replaced with its data intact, completing the rotated file.
    pub fn check_in_place(&self, footer: bool) -> Result<()> {
        match self {
            Self::Resumable(r) => match r.moved()? {
                Some(moved) if !(footer && moved.keeps_data()) => Err(r.rotated(moved)),
                _ => Ok(()),
            },
            _ => Ok(()),
        }
    }

    /// Makes everything written so far durable and records it in the
    /// checkpoint (resumable sinks only): the data first, then the
    /// checkpoint that covers it (its length and hash). A followed FILE
    /// rotated away is a [`Rotated`] failure; if renamed or replaced with
    /// its data intact, that data is committed first (the rotated file is
    /// then exactly what the checkpoint covers).
    pub fn commit(&mut self) -> Result<()> {
        let Self::Resumable(r) = self else {
            return Ok(());
        };
        let moved = r.moved()?;
        if let Some(moved) = moved
            && !moved.keeps_data()
        {
            return Err(r.rotated(moved));
        }
        if let Err(e) = self.close_unit(false) {
            let shown = self.describe().unwrap_or_default();
            return Err(io_failure(e, format!("cannot write to {shown}")));
        }
        let Self::Resumable(r) = self else {
            return Ok(());
        };
        r.file
            .sync_data()
            .map_err(|e| io_failure(e, format!("cannot sync {}", r.data.display())))?;
        r.checkpoint.data_len = r.len;
        r.checkpoint.data_sha256 = hex(&r.hasher.clone().finalize());
        checkpoint::store(&r.checkpoint_path, &r.checkpoint).map_err(|e| {
            io_failure(
                e,
                format!("cannot write checkpoint {}", r.checkpoint_path.display()),
            )
        })?;
        match moved {
            Some(moved) => Err(r.rotated(moved)),
            None => Ok(()),
        }
    }

    /// Completes the output: the file is synced and renamed into place; a
    /// resumable export's checkpoint is deleted (a followed file keeps its
    /// checkpoint, to continue with `--follow --resume`).
    pub fn finish(mut self) -> Result<()> {
        if let Err(e) = self.close_unit(true) {
            let shown = self.describe().unwrap_or_default();
            return Err(io_failure(e, format!("cannot write to {shown}")));
        }
        match self {
            Self::Stdout => match std::io::stdout().flush() {
                // The reader went away (`| head`): not a failure of ours.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.map_err(|e| io_failure(e, "cannot write to stdout".into())),
            },
            Self::Direct { file, target, .. } => {
                drop(file);
                let _ = target;
                Ok(())
            }
            Self::Temp {
                file,
                target,
                keep,
                lock,
                ..
            } => {
                persist_temp(file, &target, keep)?;
                drop(lock);
                Ok(())
            }
            Self::Resumable(r) => r.finish(),
        }
    }

    /// Gives up: a temp file is deleted; a resumable export keeps its data
    /// file and checkpoint for the next `--resume`.
    pub fn abort(self) {
        match self {
            Self::Stdout => {
                let _ = std::io::stdout().flush();
            }
            Self::Direct { .. } => {}
            Self::Temp { file, .. } => {
                let _ = file.close();
            }
            Self::Resumable(r) => {
                let _ = r.file.sync_all();
            }
        }
    }
}

/// Gives the finished temp file the mode of the file it replaces, syncs
/// it, persists it over `target` (in the same directory: a symlink's
/// target was resolved before) and syncs the directory.
fn persist_temp(file: NamedTempFile, target: &Path, keep: Option<Keep>) -> Result<()> {
    let shown = target.display().to_string();
    if let Some(keep) = keep {
        keep.apply(file.as_file())
            .with_context(|| format!("cannot keep the permissions of {shown}"))?;
    }
    file.as_file()
        .sync_all()
        .with_context(|| format!("cannot sync the data of {shown}"))?;
    file.persist(target).map_err(|e| {
        io_failure(
            e.error,
            format!("cannot rename the finished export to {shown}"),
        )
    })?;
    sync_dir(&parent_dir(target))
        .with_context(|| format!("cannot sync the directory of {shown}"))?;
    Ok(())
}

fn cannot_create(path: &Path, e: &std::io::Error) -> Failure {
    Failure::usage(format!(
        "cannot create {}: {e}; check that the directory exists and is writable",
        path.display()
    ))
}
