//! Where a fetch writes ([`OutputPlan`]), decided before any request: our
//! side files checked, the output's lock taken, a checkpoint being resumed
//! read and checked against the command and its data (its range then
//! replaces the plan's).

use std::path::{Path, PathBuf};

use super::Plan;
use crate::exit::{Failure, Result};
use crate::files::checkpoint::{self, Checkpoint, Identity};
use crate::files::fs::{self, Keep, OutputLock, Target};
use crate::output::compress::Compression;
use crate::output::sink::ResumableSpec;

/// How the output will be opened, decided before any request.
pub(in crate::fetch) enum OutputPlan {
    Stdout,
    /// A FIFO or character device, written through.
    Direct(PathBuf),
    Temp(PathBuf, Option<Keep>, OutputLock),
    ResumeFresh(ResumableSpec),
    ResumeContinue(ResumableSpec, Box<Checkpoint>),
    /// `--follow --resume --rotated`: FILE was rotated away (missing or
    /// empty); a new one continues from the checkpoint's position.
    ResumeRotated(ResumableSpec, Box<Checkpoint>),
    /// The export finished; only its checkpoint was left behind.
    AlreadyDone(PathBuf, PathBuf, OutputLock),
}

/// The longest footer a writer adds after the last commit (json's `\n]\n`).
const MAX_FOOTER: u64 = 3;

/// Decides how the output is opened: checks our side files, takes the
/// output's lock, reads a checkpoint being resumed (whose range then
/// replaces the plan's).
pub(in crate::fetch) fn plan_output(plan: &mut Plan, identity: &Identity) -> Result<OutputPlan> {
    let Some(given) = plan.output.clone() else {
        return Ok(OutputPlan::Stdout);
    };
    let (path, keep) = match file_target(plan, &given)? {
        Named::File(path, keep) => (path, keep),
        Named::NotAFile(other) => return Ok(other),
    };
    let out = Output {
        shown: given.display().to_string(),
        ckpt_path: checkpoint::checkpoint_path(&path),
        path,
        keep,
    };
    check_side_files(plan, &out.path, &out.ckpt_path)?;
    let lock = if plan.dry_run {
        OutputLock::unlocked(&out.path)
    } else {
        OutputLock::acquire(&out.path, &out.shown)?
    };
    let existing = existing_checkpoint(plan.resume, &out.ckpt_path)?;
    let follow = plan.follow.is_some();
    match (existing, plan.resume) {
        (None, false) if !follow => Ok(OutputPlan::Temp(out.path, out.keep, lock)),
        (None, _) => Ok(OutputPlan::ResumeFresh(out.spec(plan, lock))),
        (Some(_), false) => Err(unfinished(&out, follow)),
        (Some(ckpt), true) => resume(plan, identity, out, lock, ckpt),
    }
}

/// What `-o` names, as far as the output plan cares.
enum Named {
    /// A regular file to create or replace (keeping its mode).
    File(PathBuf, Option<Keep>),
    /// Stdout, a FIFO or a device: nothing to lock or resume.
    NotAFile(OutputPlan),
}

/// The output file `-o` names and the mode it keeps, or the plan for what
/// is not a file to replace (stdout, a FIFO or device).
fn file_target(plan: &Plan, given: &Path) -> Result<Named> {
    match fs::resolve_output(given)? {
        Target::Stdout => Ok(Named::NotAFile(OutputPlan::Stdout)),
        Target::Special(p) => {
            if plan.resume || plan.follow.is_some() {
                let flag = if plan.resume {
                    "--resume"
                } else {
                    "--follow -o"
                };
                return Err(Failure::usage(format!(
                    "-o {}: {flag} needs a regular file to keep its checkpoint, not a FIFO or device; drop {flag} or write to a file",
                    given.display()
                )));
            }
            Ok(Named::NotAFile(OutputPlan::Direct(p)))
        }
        Target::New(p) => Ok(Named::File(p, None)),
        Target::Regular(p, keep) => Ok(Named::File(p, Some(keep))),
    }
}

/// A file output: where it goes and its checkpoint.
struct Output {
    /// The resolved path (a symlink's target).
    path: PathBuf,
    /// `-o` as given, for messages.
    shown: String,
    ckpt_path: PathBuf,
    keep: Option<Keep>,
}

impl Output {
    fn spec(&self, plan: &Plan, lock: OutputLock) -> ResumableSpec {
        let follow = plan.follow.is_some();
        ResumableSpec {
            target: self.path.clone(),
            follow,
            rotated: follow && plan.rotated,
            keep: if follow { None } else { self.keep },
            lock,
            compression: plan.compression,
        }
    }
}

/// Our own files: never a symlink, never another user's (before any
/// request, and before the lock, whose file is one of them).
fn check_side_files(plan: &Plan, path: &Path, ckpt_path: &Path) -> Result<()> {
    fs::check_own(&fs::lock_path(path))?;
    if plan.resume || plan.follow.is_some() {
        fs::check_own(&checkpoint::checkpoint_tmp_path(ckpt_path))?;
        if plan.follow.is_none() {
            fs::check_own(&checkpoint::partial_path(path))?;
        }
    }
    Ok(())
}

/// The checkpoint left by an earlier run: read with `--resume`; without
/// it, its mere presence stops us (read or not).
fn existing_checkpoint(resume: bool, ckpt_path: &Path) -> Result<Option<Checkpoint>> {
    let present = fs::check_own(ckpt_path)?;
    if resume {
        checkpoint::load(ckpt_path)
    } else if present {
        Ok(Some(Checkpoint::placeholder()))
    } else {
        Ok(None)
    }
}

/// An earlier export to the same output did not finish, and `--resume`
/// was not given.
fn unfinished(out: &Output, follow: bool) -> Failure {
    Failure::usage(format!(
        "{} exists: an earlier export to {} did not finish; pass --resume to continue it, or delete {} (and {}) to start over",
        out.ckpt_path.display(),
        out.shown,
        out.ckpt_path.display(),
        if follow {
            out.path.display().to_string()
        } else {
            checkpoint::partial_path(&out.path).display().to_string()
        }
    ))
}

/// Continues from `ckpt`, if it belongs to this command and output: the
/// plan takes its range (following: from its start to now).
fn resume(
    plan: &mut Plan,
    identity: &Identity,
    out: Output,
    lock: OutputLock,
    ckpt: Checkpoint,
) -> Result<OutputPlan> {
    let spec = out.spec(plan, lock);
    check_belongs(&ckpt, identity, &out, &spec.data_path())?;
    let follow = plan.follow.is_some();
    if !follow && already_done(&ckpt, &out, plan.compression)? {
        return Ok(OutputPlan::AlreadyDone(out.path, out.ckpt_path, spec.lock));
    }
    plan.from = ckpt.from;
    if !follow {
        plan.to = ckpt.to;
    }
    if spec.rotated && rotated_away(&spec.data_path(), &ckpt) {
        return Ok(OutputPlan::ResumeRotated(spec, Box::new(ckpt)));
    }
    Ok(OutputPlan::ResumeContinue(spec, Box::new(ckpt)))
}

/// A followed FILE that rotation moved away: missing, or empty while its
/// checkpoint covers data (a new FILE made by logrotate's `create`, or one
/// cut by `copytruncate`).
fn rotated_away(data: &Path, ckpt: &Checkpoint) -> bool {
    match std::fs::symlink_metadata(data) {
        Err(e) => e.kind() == std::io::ErrorKind::NotFound,
        Ok(meta) => meta.is_file() && meta.len() == 0 && ckpt.data_len > 0,
    }
}

/// The checkpoint was written by the same command, for this data file.
fn check_belongs(ckpt: &Checkpoint, identity: &Identity, out: &Output, data: &Path) -> Result<()> {
    let differences = ckpt.command.differences(identity);
    if !differences.is_empty() {
        return Err(Failure::usage(format!(
            "checkpoint {} belongs to a different command (differs in {}): rerun that command with --resume, or delete {} and {} to start over",
            out.ckpt_path.display(),
            differences.join(", "),
            out.ckpt_path.display(),
            data.display()
        )));
    }
    let data_name = data
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    if ckpt.data_file != data_name {
        return Err(Failure::usage(format!(
            "checkpoint {} names data file {:?}, not {data_name:?}: it belongs to another output; delete it to start over",
            out.ckpt_path.display(),
            ckpt.data_file
        )));
    }
    Ok(())
}

/// Killed after renaming the finished file but before deleting the
/// checkpoint: the export is complete, if the file holds exactly what the
/// checkpoint covers (plus at most a footer).
fn already_done(ckpt: &Checkpoint, out: &Output, compression: Compression) -> Result<bool> {
    if !ckpt.types.iter().all(|t| t.done)
        || std::fs::symlink_metadata(checkpoint::partial_path(&out.path)).is_ok()
    {
        return Ok(false);
    }
    let (_, _, len) = checkpoint::verify_data(&out.path, ckpt, &out.ckpt_path)?;
    let max_footer = if compression == Compression::None {
        MAX_FOOTER
    } else {
        crate::output::compress::MAX_COMPRESSED_FOOTER
    };
    if len - ckpt.data_len > max_footer {
        return Err(Failure::usage(format!(
            "checkpoint {} says the export is complete, but {} holds {} bytes more than it covers: delete the checkpoint if {} is what you want",
            out.ckpt_path.display(),
            out.shown,
            len - ckpt.data_len,
            out.shown
        )));
    }
    Ok(true)
}
