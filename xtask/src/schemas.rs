//! `cargo xtask schemas [--check]`: write (or verify) `docs/schemas/*.json`,
//! the JSON Schemas of gong-logs' outputs, from the same code as
//! `gong-logs schema` (`gong_logs_cli::schema::published`).

use std::fs;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context as _, Result};

/// `cargo xtask schemas`.
#[derive(Debug, clap::Args)]
pub struct Args {
    /// Don't write: fail with a diff if docs/schemas/ is not what the code
    /// generates (what CI runs).
    #[arg(long)]
    pub check: bool,

    /// Workspace root holding docs/ (default: this workspace).
    #[arg(long, value_name = "DIR", default_value_os_t = crate::reconcile::default_root())]
    pub root: PathBuf,
}

/// The directory of the published schemas under `root`.
pub fn dir(root: &Path) -> PathBuf {
    root.join("docs").join("schemas")
}

/// Differences between `docs/schemas/` and the generated files, as
/// human-readable paragraphs (empty: up to date).
pub fn differences(root: &Path) -> Result<Vec<String>> {
    let dir = dir(root);
    let files = gong_logs_cli::schema::published();
    let mut out = Vec::new();
    for (name, text) in &files {
        let path = dir.join(name);
        match fs::read_to_string(&path) {
            Ok(old) if old == *text => {}
            Ok(old) => out.push(format!(
                "{} differs from the generated schema:\n{}",
                path.display(),
                similar::TextDiff::from_lines(&old, text)
                    .unified_diff()
                    .context_radius(3)
                    .header("committed", "generated")
            )),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => {
                out.push(format!("{} is missing", path.display()));
            }
            Err(e) => return Err(e).with_context(|| format!("reading {}", path.display())),
        }
    }
    if let Ok(entries) = fs::read_dir(&dir) {
        let mut stale: Vec<String> = entries
            .filter_map(|e| e.ok())
            .map(|e| e.file_name().to_string_lossy().into_owned())
            .filter(|name| name.ends_with(".json") && !files.iter().any(|(n, _)| n == name))
            .collect();
        stale.sort();
        for name in stale {
            out.push(format!(
                "{} is not generated any more: delete it",
                dir.join(name).display()
            ));
        }
    }
    Ok(out)
}

/// Writes every schema file (only those whose content changed).
pub fn write(root: &Path) -> Result<Vec<String>> {
    let dir = dir(root);
    fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
    let mut written = Vec::new();
    for (name, text) in gong_logs_cli::schema::published() {
        let path = dir.join(&name);
        if fs::read_to_string(&path).ok().as_deref() != Some(text.as_str()) {
            fs::write(&path, text).with_context(|| format!("writing {}", path.display()))?;
            written.push(name);
        }
    }
    Ok(written)
}

/// Runs the task.
pub fn run(args: &Args) -> Result<ExitCode> {
    if args.check {
        let differences = differences(&args.root)?;
        if differences.is_empty() {
            eprintln!("docs/schemas/ is up to date");
            return Ok(ExitCode::SUCCESS);
        }
        for d in &differences {
            eprintln!("{d}");
        }
        eprintln!("docs/schemas/ is stale: run `cargo xtask schemas` and commit the result");
        return Ok(ExitCode::FAILURE);
    }
    let written = write(&args.root)?;
    if written.is_empty() {
        eprintln!("docs/schemas/ is up to date");
    } else {
        eprintln!("wrote docs/schemas/: {}", written.join(", "));
    }
    Ok(ExitCode::SUCCESS)
}
