//! `cargo xtask reconcile`: rebuilds `openapi/gong-logs-v2.json` from Gong's
//! published spec (`openapi/upstream/gong-openapi-v2.json`, never edited) and
//! the ordered, justified steps of `openapi/patches.json`.
//!
//! - `cargo xtask reconcile` regenerates and writes the reconciled spec.
//! - `cargo xtask reconcile --check` fails, with a diff, when the committed
//!   reconciled spec is not what the generator produces (CI runs this).
//!   It also verifies the upstream copy still has the SHA-256 recorded in
//!   `openapi/upstream/SOURCE.toml`.
//! - `cargo xtask reconcile --upstream FILE|URL|gong` reads or downloads a new
//!   Gong spec, reports what changed on the `GET /v2/logs` surface, then
//!   adopts it as the upstream copy (recording its provenance) and
//!   regenerates; if a patch step no longer applies it writes nothing.
//! - `cargo xtask reconcile --drift [URL|FILE]` reports only (exit 0: the
//!   surface is unchanged, 1: it changed, 2: the download or parse failed).
//!
//! See `openapi/RECONCILIATION.md` for the sources, the decisions and the
//! patch format.

pub mod download;
pub mod drift;
pub mod patch;
pub mod pointer;
pub mod provenance;
pub mod report;
pub mod validate;
pub mod walk;

use std::fs;
use std::io::Write;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, Result, anyhow, bail};
use serde_json::Value;

pub use download::{GONG_SPEC_URL, Limits, Source};
pub use drift::Drift;
pub use patch::{Patches, StepError};
pub use provenance::{Provenance, SOURCE, Verified};
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
    /// Also verifies openapi/upstream/gong-openapi-v2.json still has the
    /// SHA-256 recorded in openapi/upstream/SOURCE.toml.
    #[arg(long, conflicts_with_all = ["upstream", "drift"])]
    pub check: bool,

    /// A new Gong spec: a file, an http(s):// URL, or `gong` (Gong's
    /// published address). Report what changed on the /v2/logs surface, adopt
    /// it as openapi/upstream/gong-openapi-v2.json (provenance in SOURCE.toml)
    /// and regenerate. Writes nothing if a patch step no longer applies.
    #[arg(long, value_name = "FILE|URL|gong", conflicts_with = "drift")]
    pub upstream: Option<String>,

    /// Report only, write nothing: compare Gong's spec (default: `gong`, its
    /// published address; or a URL or file) with the adopted copy. Exit 0:
    /// the GET /v2/logs surface is unchanged; 1: it changed (report on
    /// stdout); 2: the download or parse failed.
    #[arg(
        long,
        value_name = "URL|FILE",
        num_args = 0..=1,
        default_missing_value = "gong"
    )]
    pub drift: Option<String>,

    /// Overall timeout of a download, in seconds (default 60).
    #[arg(long, value_name = "SECS", hide = true, value_parser = download::parse_timeout)]
    pub download_timeout: Option<Duration>,

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
    let limits = Limits {
        timeout: args.download_timeout.unwrap_or(download::DEFAULT_TIMEOUT),
        ..Limits::default()
    };
    if let Some(new) = &args.upstream {
        let stdout = std::io::stdout();
        adopt(root, &Source::parse(new), limits, &mut stdout.lock())?;
        return Ok(ExitCode::SUCCESS);
    }
    if let Some(arg) = &args.drift {
        return Ok(drift::run(root, &Source::parse(arg), limits));
    }
    if args.check {
        let provenance = match provenance::verify(root, UPSTREAM) {
            Ok(Verified::Matches(record)) => Some(record),
            Err(error) => {
                eprintln!("error: {error:#}");
                None
            }
            Ok(Verified::Mismatch {
                recorded,
                sha256,
                bytes,
            }) => {
                eprintln!(
                    "error: {UPSTREAM} is not the file that was adopted: its SHA-256 is {sha256} ({bytes} bytes), {SOURCE} records {} ({} bytes, from {}, adopted {}).\n\
                     It is Gong's spec exactly as downloaded and is never edited: restore it (`git checkout -- {UPSTREAM}`), \
                     or adopt a new download with `cargo xtask reconcile --upstream gong` (or FILE) and change {PATCHES} instead.",
                    recorded.sha256, recorded.bytes, recorded.source, recorded.adopted
                );
                None
            }
        };
        let output_ok = match check(root)? {
            Check::UpToDate => true,
            Check::Stale { diff } => {
                eprint!("{diff}");
                eprintln!(
                    "error: {OUTPUT} differs from what {UPSTREAM} + {PATCHES} produce (diff above: - committed, + regenerated).\n\
                     Don't edit {OUTPUT} by hand: change {PATCHES} if needed, then run `cargo xtask reconcile` and commit the result."
                );
                false
            }
        };
        return Ok(match (provenance, output_ok) {
            (Some(record), true) => {
                println!(
                    "{OUTPUT} is up to date with {UPSTREAM} + {PATCHES}; {UPSTREAM} matches {SOURCE} (SHA-256 {}).",
                    record.sha256
                );
                ExitCode::SUCCESS
            }
            _ => ExitCode::FAILURE,
        });
    }
    let written = write(root)?;
    println!("wrote {}", written.display());
    Ok(ExitCode::SUCCESS)
}

/// Parses a new upstream spec's bytes; `name` (its path or URL) is in every
/// error, with what the failure likely means.
pub fn parse_spec(bytes: &[u8], name: &str) -> Result<Value> {
    let value: Value = serde_json::from_slice(bytes).map_err(|e| {
        let start = String::from_utf8_lossy(&bytes[..bytes.len().min(512)]).to_ascii_lowercase();
        let start = start.trim_start();
        let hint = if start.starts_with("<!doctype html") || start.starts_with("<html") {
            "it is an HTML page, not Gong's OpenAPI JSON (the address may have moved, or asks for a sign-in)"
        } else if e.is_eof() {
            "it ends early: the file or download is truncated; fetch it again"
        } else {
            "fetch Gong's OpenAPI JSON again"
        };
        anyhow!("{name} is not valid JSON ({e}): {hint}")
    })?;
    let is_openapi = value.get("openapi").is_some_and(Value::is_string)
        && value.get("paths").is_some_and(Value::is_object);
    if !is_openapi {
        bail!(
            "{name} is JSON but not an OpenAPI document (it lacks an `openapi` version or `paths`)"
        );
    }
    Ok(value)
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
/// current upstream copy and the file `new`, writing the report to `out`;
/// then adopts `new` (see [`adopt`]).
pub fn update_upstream(root: &Path, new: &Path, out: &mut impl Write) -> Result<Report> {
    adopt(
        root,
        &Source::File(new.to_path_buf()),
        Limits::default(),
        out,
    )
}

/// Reads or downloads `source`, reports what changed on the selected
/// operation's surface between the current upstream copy and it, writing the
/// report to `out`; then adopts it as the upstream copy (byte for byte),
/// records its provenance in `SOURCE.toml` and writes the regenerated spec.
/// If the download fails, a step no longer applies or the result is invalid,
/// nothing is written.
pub fn adopt(root: &Path, source: &Source, limits: Limits, out: &mut impl Write) -> Result<Report> {
    let current_path = root.join(UPSTREAM);
    let current = read_json(&current_path)?;
    let name = source.display();
    let new_bytes = download::fetch(source, limits)?;
    let new_value = parse_spec(&new_bytes, &name)?;
    let patches = load_patches(root)?;
    let (method, path) = patches.selected_operation().with_context(|| {
        format!("{PATCHES} has no `select` step, so there is no surface to compare")
    })?;

    let report = surface_report(&current, &new_value, method, path, &patches.stripped_keys());
    out.write_all(report.render(UPSTREAM, &name).as_bytes())?;
    out.flush()?;

    let rerun = format!("cargo xtask reconcile --upstream {}", source.command_arg());
    let text = render(&reconcile_or_explain(&new_value, &patches, &rerun)?);
    let record = Provenance::new(source.provenance(), &new_bytes);
    write_atomically(&current_path, &new_bytes)?;
    write_atomically(&root.join(SOURCE), record.render().as_bytes())?;
    let output = root.join(OUTPUT);
    write_atomically(&output, text.as_bytes())?;
    writeln!(
        out,
        "\nAdopted {name} as {UPSTREAM} (SHA-256 {}, {} bytes, recorded in {SOURCE}) and regenerated {OUTPUT}.\n\
         Next: review the diffs, then `cargo test --workspace` (progenitor regenerates the client; a change that reaches it fails the snapshot tests with a diff to review).",
        record.sha256, record.bytes
    )?;
    Ok(report)
}

/// Writes via a temporary file in the same directory, then renames, so a
/// reader never sees half a file.
fn write_atomically(path: &Path, bytes: &[u8]) -> Result<()> {
    use std::io::Write as _;
    let dir = path
        .parent()
        .with_context(|| format!("{} has no parent directory", path.display()))?;
    let mut tmp = tempfile::NamedTempFile::new_in(dir)
        .with_context(|| format!("cannot create a temporary file in {}", dir.display()))?;
    tmp.write_all(bytes)
        .and_then(|()| tmp.as_file().sync_all())
        .with_context(|| format!("cannot write {}", tmp.path().display()))?;
    tmp.persist(path)
        .with_context(|| format!("cannot replace {}", path.display()))?;
    Ok(())
}
