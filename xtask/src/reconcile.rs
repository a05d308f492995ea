//! `cargo xtask reconcile`: rebuilds `openapi/gong-logs-v2.json` from Gong's
//! published spec (`openapi/upstream/gong-openapi-v2.json`, never edited) and
//! the ordered, justified steps of `openapi/patches.json`.
//!
//! - `cargo xtask reconcile` regenerates and writes the reconciled spec.
//! - `cargo xtask reconcile --check` fails, with a diff, when the committed
//!   reconciled spec is not what the generator produces (CI runs this).
//! - `cargo xtask reconcile --upstream NEW.json` reports what changed on the
//!   `GET /v2/logs` surface, then adopts NEW.json as the upstream copy and
//!   regenerates; if a patch step no longer applies it writes nothing.
//!
//! See `openapi/RECONCILIATION.md` for the sources, the decisions and the
//! patch format.

pub mod patch;
pub mod pointer;
pub mod report;
pub mod validate;
pub mod walk;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, Result, anyhow};
use serde_json::Value;

pub use patch::{Patches, StepError};
pub use report::{Report, surface_report};

/// Gong's spec as downloaded, relative to the workspace root.
pub const UPSTREAM: &str = "openapi/upstream/gong-openapi-v2.json";
/// The reconciliation steps, relative to the workspace root.
pub const PATCHES: &str = "openapi/patches.json";
/// The reconciled spec gong-logs-api compiles, relative to the workspace root.
pub const OUTPUT: &str = "openapi/gong-logs-v2.json";

/// Arguments of `cargo xtask reconcile`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Don't write: fail with a diff if the committed reconciled spec is not
    /// what upstream + patches produce (what CI runs).
    #[arg(long, conflicts_with = "upstream")]
    pub check: bool,

    /// A newly downloaded Gong spec: report what changed on the /v2/logs
    /// surface, adopt it as openapi/upstream/gong-openapi-v2.json and
    /// regenerate. Writes nothing if a patch step no longer applies.
    #[arg(long, value_name = "PATH")]
    pub upstream: Option<PathBuf>,

    /// Workspace root holding openapi/ (default: this workspace).
    #[arg(long, value_name = "DIR", default_value_os_t = default_root())]
    pub root: PathBuf,
}

/// The workspace this xtask was built in.
pub fn default_root() -> PathBuf {
    let manifest = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest.parent().unwrap_or(manifest).to_path_buf()
}

/// Runs the subcommand, printing to stdout/stderr.
pub fn run(args: &Args) -> Result<ExitCode> {
    let root = &args.root;
    if let Some(new) = &args.upstream {
        let stdout = std::io::stdout();
        update_upstream(root, new, &mut stdout.lock())?;
        return Ok(ExitCode::SUCCESS);
    }
    if args.check {
        return Ok(match check(root)? {
            Check::UpToDate => {
                println!("{OUTPUT} is up to date with {UPSTREAM} + {PATCHES}.");
                ExitCode::SUCCESS
            }
            Check::Stale { diff } => {
                eprint!("{diff}");
                eprintln!(
                    "error: {OUTPUT} differs from what {UPSTREAM} + {PATCHES} produce (diff above: - committed, + regenerated).\n\
                     Don't edit {OUTPUT} by hand: change {PATCHES} if needed, then run `cargo xtask reconcile` and commit the result."
                );
                ExitCode::FAILURE
            }
        });
    }
    let written = write(root)?;
    println!("wrote {}", written.display());
    Ok(ExitCode::SUCCESS)
}

/// Reads and parses a JSON file, saying which one failed.
fn read_json(path: &Path) -> Result<Value> {
    let text =
        fs::read_to_string(path).with_context(|| format!("cannot read {}", path.display()))?;
    serde_json::from_str(&text).with_context(|| format!("{} is not valid JSON", path.display()))
}

/// Reads the patch file under `root`.
pub fn load_patches(root: &Path) -> Result<Patches> {
    let path = root.join(PATCHES);
    let text = fs::read_to_string(&path)
        .with_context(|| format!("cannot read the patch file {}", path.display()))?;
    Patches::parse(&text).with_context(|| {
        format!(
            "{} is invalid; fix it (format: see openapi/RECONCILIATION.md)",
            path.display()
        )
    })
}

/// Runs `patches` on `upstream`, then validates the result.
pub fn reconcile(upstream: &Value, patches: &Patches) -> Result<Value> {
    reconcile_or_explain(upstream, patches, "cargo xtask reconcile")
}

/// [`reconcile`], with errors telling the user to run `rerun` once fixed.
fn reconcile_or_explain(upstream: &Value, patches: &Patches, rerun: &str) -> Result<Value> {
    let spec = patches.apply(upstream).map_err(|e| {
        anyhow!(
            "{e}\n\nThe upstream spec changed under this step. Edit {PATCHES}: update or remove the step so it \
             matches the new upstream (keep its `why` true), then run `{rerun}` again. Nothing was written."
        )
    })?;
    validate::validate(&spec).with_context(|| {
        format!("the steps of {PATCHES} apply but their result is not usable; fix the steps, then run `{rerun}` again (nothing was written)")
    })?;
    Ok(spec)
}

/// The reconciled spec as written to disk: pretty JSON (2-space indent,
/// upstream's key order), trailing newline.
pub fn render(spec: &Value) -> String {
    let mut text = serde_json::to_string_pretty(spec)
        .unwrap_or_else(|e| unreachable!("a JSON value always serializes: {e}"));
    text.push('\n');
    text
}

/// Regenerates the reconciled spec's text from the files under `root`.
pub fn generate(root: &Path) -> Result<String> {
    let upstream = read_json(&root.join(UPSTREAM))?;
    let patches = load_patches(root)?;
    Ok(render(&reconcile(&upstream, &patches)?))
}

/// Regenerates and writes the reconciled spec; returns its path.
pub fn write(root: &Path) -> Result<PathBuf> {
    let text = generate(root)?;
    let out = root.join(OUTPUT);
    write_atomically(&out, text.as_bytes())?;
    Ok(out)
}

/// Outcome of [`check`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// The committed file is byte-identical to a fresh regeneration.
    UpToDate,
    /// It is not; `diff` is a unified diff from committed to regenerated.
    Stale {
        /// Unified diff, `-` committed, `+` regenerated.
        diff: String,
    },
}

/// Compares the committed reconciled spec with a fresh regeneration.
pub fn check(root: &Path) -> Result<Check> {
    let fresh = generate(root)?;
    let path = root.join(OUTPUT);
    let committed = match fs::read_to_string(&path) {
        Ok(text) => text,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => String::new(),
        Err(e) => return Err(e).with_context(|| format!("cannot read {}", path.display())),
    };
    if committed == fresh {
        return Ok(Check::UpToDate);
    }
    let diff = similar::TextDiff::from_lines(&committed, &fresh)
        .unified_diff()
        .context_radius(3)
        .header(
            &format!("{OUTPUT} (committed)"),
            &format!("{OUTPUT} (regenerated)"),
        )
        .to_string();
    Ok(Check::Stale { diff })
}

/// Reports what changed on the selected operation's surface between the
/// current upstream copy and `new`, writing the report to `out`; then adopts
/// `new` as the upstream copy and writes the regenerated spec. If a step no
/// longer applies (or the result is invalid) nothing is written.
pub fn update_upstream(root: &Path, new: &Path, out: &mut impl Write) -> Result<Report> {
    let current_path = root.join(UPSTREAM);
    let current = read_json(&current_path)?;
    let new_bytes = fs::read(new)
        .with_context(|| format!("cannot read the new upstream spec {}", new.display()))?;
    let new_value: Value = serde_json::from_slice(&new_bytes).with_context(|| {
        format!(
            "{} is not valid JSON; download Gong's OpenAPI JSON again",
            new.display()
        )
    })?;
    let patches = load_patches(root)?;
    let (method, path) = patches.selected_operation().with_context(|| {
        format!("{PATCHES} has no `select` step, so there is no surface to compare")
    })?;

    let report = surface_report(&current, &new_value, method, path, &patches.stripped_keys());
    out.write_all(
        report
            .render(UPSTREAM, &new.display().to_string())
            .as_bytes(),
    )?;
    out.flush()?;

    let rerun = format!("cargo xtask reconcile --upstream {}", new.display());
    let text = render(&reconcile_or_explain(&new_value, &patches, &rerun)?);
    write_atomically(&current_path, &new_bytes)?;
    let output = root.join(OUTPUT);
    write_atomically(&output, text.as_bytes())?;
    writeln!(
        out,
        "\nAdopted {} as {UPSTREAM} and regenerated {OUTPUT}.\n\
         Next: review both diffs, then `cargo build -p gong-logs-api` (progenitor regenerates the client) and run the tests.",
        new.display()
    )?;
    Ok(report)
}

/// Writes via a temporary file in the same directory, then renames, so a
/// reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent directory", path.display()))?;
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.tmp-{}", std::process::id()));
    fs::write(&tmp, bytes).with_context(|| format!("cannot write {}", tmp.display()))?;
    fs::rename(&tmp, path).with_context(|| format!("cannot replace {}", path.display()))
}
