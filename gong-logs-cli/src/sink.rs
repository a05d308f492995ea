//! Where output bytes go: stdout, a file renamed into place on success, or
//! a resumable file with its checkpoint.

use std::fs::File;
use std::io::Write as _;
use std::path::{Path, PathBuf};

use anyhow::{Context as _, anyhow};
use tempfile::NamedTempFile;

use crate::checkpoint::{self, Checkpoint, parent_dir, sync_dir};
use crate::exit::{FAILURE, Failure, Result};

/// An output destination.
#[derive(Debug)]
pub enum Sink {
    /// Standard output, flushed after each write.
    Stdout,
    /// A temporary file next to `target`, renamed to it on success.
    Temp {
        /// The temporary file (deleted when dropped).
        file: NamedTempFile,
        /// The final path.
        target: PathBuf,
    },
    /// `target.partial` plus `target.gong-logs-checkpoint`.
    Resumable(Box<Resumable>),
}

/// The state of a resumable output.
#[derive(Debug)]
pub struct Resumable {
    file: File,
    partial: PathBuf,
    target: PathBuf,
    checkpoint_path: PathBuf,
    /// The checkpoint as last committed (positions updated by the caller).
    pub checkpoint: Checkpoint,
}

fn io_failure(e: std::io::Error, what: String) -> Failure {
    Failure::new(FAILURE, anyhow!(e).context(what))
}

impl Sink {
    /// A temp-file sink for `target`.
    pub fn temp(target: &Path) -> Result<Self> {
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
        })
    }

    /// A fresh resumable sink: `target.partial` created empty.
    pub fn resumable_fresh(target: &Path, checkpoint: Checkpoint) -> Result<Self> {
        let partial = checkpoint::partial_path(target);
        let file = checkpoint::private_options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(&partial)
            .map_err(|e| {
                Failure::usage(format!(
                    "cannot create {}: {e}; check that the directory exists and is writable",
                    partial.display()
                ))
            })?;
        Ok(Self::Resumable(Box::new(Resumable {
            file,
            checkpoint_path: checkpoint::checkpoint_path(target),
            partial,
            target: target.to_owned(),
            checkpoint,
        })))
    }

    /// A resumed sink: `target.partial` truncated to what `checkpoint` covers.
    pub fn resumable_continue(target: &Path, checkpoint: Checkpoint) -> Result<Self> {
        let partial = checkpoint::partial_path(target);
        let checkpoint_path = checkpoint::checkpoint_path(target);
        let file = checkpoint::reopen_partial(&partial, &checkpoint, &checkpoint_path)?;
        Ok(Self::Resumable(Box::new(Resumable {
            file,
            checkpoint_path,
            partial,
            target: target.to_owned(),
            checkpoint,
        })))
    }

    /// Where the data goes, for messages.
    pub fn describe(&self) -> Option<String> {
        match self {
            Self::Stdout => None,
            Self::Temp { target, .. } => Some(target.display().to_string()),
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
            Self::Temp { file, .. } => file.write_all(bytes),
            Self::Resumable(r) => r.file.write_all(bytes),
        }
    }

    /// Makes everything written so far durable and records it in the
    /// checkpoint (resumable sinks only): the data first, then the
    /// checkpoint that covers it.
    pub fn commit(&mut self) -> Result<()> {
        let Self::Resumable(r) = self else {
            return Ok(());
        };
        r.file
            .sync_data()
            .map_err(|e| io_failure(e, format!("cannot sync {}", r.partial.display())))?;
        r.checkpoint.data_len = r
            .file
            .metadata()
            .map_err(|e| io_failure(e, format!("cannot read {}", r.partial.display())))?
            .len();
        checkpoint::store(&r.checkpoint_path, &r.checkpoint).map_err(|e| {
            io_failure(
                e,
                format!("cannot write checkpoint {}", r.checkpoint_path.display()),
            )
        })
    }

    /// Completes the output: the file is synced and renamed into place; a
    /// resumable export's checkpoint is deleted.
    pub fn finish(self) -> Result<()> {
        match self {
            Self::Stdout => match std::io::stdout().flush() {
                // The reader went away (`| head`): not a failure of ours.
                Err(e) if e.kind() == std::io::ErrorKind::BrokenPipe => Ok(()),
                other => other.map_err(|e| io_failure(e, "cannot write to stdout".into())),
            },
            Self::Temp { file, target } => {
                let shown = target.display().to_string();
                file.as_file()
                    .sync_all()
                    .with_context(|| format!("cannot sync the data of {shown}"))?;
                file.persist(&target).map_err(|e| {
                    io_failure(
                        e.error,
                        format!("cannot rename the finished export to {shown}"),
                    )
                })?;
                sync_dir(&parent_dir(&target))
                    .with_context(|| format!("cannot sync the directory of {shown}"))?;
                Ok(())
            }
            Self::Resumable(r) => {
                let shown = r.target.display().to_string();
                r.file
                    .sync_all()
                    .with_context(|| format!("cannot sync {}", r.partial.display()))?;
                drop(r.file);
                std::fs::rename(&r.partial, &r.target)
                    .with_context(|| format!("cannot rename {} to {shown}", r.partial.display()))?;
                sync_dir(&parent_dir(&r.target))
                    .with_context(|| format!("cannot sync the directory of {shown}"))?;
                match std::fs::remove_file(&r.checkpoint_path) {
                    Ok(()) => {}
                    Err(e) if e.kind() == std::io::ErrorKind::NotFound => {}
                    Err(e) => {
                        return Err(io_failure(
                            e,
                            format!(
                                "{shown} is complete but its checkpoint could not be deleted; delete {}",
                                r.checkpoint_path.display()
                            ),
                        ));
                    }
                }
                sync_dir(&parent_dir(&r.target))
                    .with_context(|| format!("cannot sync the directory of {shown}"))?;
                Ok(())
            }
        }
    }

    /// Gives up: a temp file is deleted; a resumable export keeps its data
    /// file and checkpoint for the next `--resume`.
    pub fn abort(self) {
        match self {
            Self::Stdout => {
                let _ = std::io::stdout().flush();
            }
            Self::Temp { file, .. } => {
                let _ = file.close();
            }
            Self::Resumable(r) => {
                let _ = r.file.sync_all();
            }
        }
    }
}
