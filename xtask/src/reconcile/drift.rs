//! `cargo xtask reconcile --drift [URL|FILE]`: has Gong changed its spec
//! under us? Reads or downloads the spec, compares it with the adopted
//! upstream copy and reports; writes nothing. What a scheduled job runs.
//!
//! Exit 0: the `GET /v2/logs` surface is unchanged (and every patch step
//! still applies); 1: it changed, or a step no longer applies (the report, in
//! Markdown, on stdout: the scheduled job files it as an issue); 2: the
//! download, a file or the parse failed (one line on stderr).

use std::fmt::Write as _;
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, Result};
use serde_json::{Map, Value};

use super::download::{self, Limits, Source};
use super::provenance::sha256_hex;
use super::report::{Report, surface_report};
use super::{OUTPUT, PATCHES, UPSTREAM, load_patches, parse_spec, read_json};

/// What `--drift` found.
#[derive(Debug, Clone)]
pub struct Drift {
    /// The URL or path compared.
    pub source: Source,
    /// The compared file is byte-identical to the adopted copy.
    pub identical: bool,
    /// SHA-256 of the compared file.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
    /// The operation compared, e.g. `GET /v2/logs`.
    pub operation: String,
    /// Changes on that operation's surface.
    pub surface: Report,
    /// Other paths added (`+`), removed (`-`) or changed (`~`).
    pub other_paths: Vec<String>,
    /// `Err(why)` when a patch step no longer applies to the new spec (or
    /// the result would not validate).
    pub patches: std::result::Result<(), String>,
}

impl Drift {
    /// True when people must act: the surface changed or a step broke.
    pub fn changed(&self) -> bool {
        !self.surface.is_empty() || self.patches.is_err()
    }

    /// The report: one line when nothing changed, Markdown otherwise.
    pub fn render(&self) -> String {
        let name = self.source.display();
        let others = self.other_paths.len();
        let others_line = format!(
            "{others} other path{} changed",
            if others == 1 { "" } else { "s" }
        );
        let mut out = String::new();
        if !self.changed() {
            if self.identical {
                let _ = writeln!(
                    out,
                    "No drift: {name} is identical to {UPSTREAM} (SHA-256 {}).",
                    self.sha256
                );
            } else {
                let _ = writeln!(
                    out,
                    "No changes on the {} surface between {UPSTREAM} and {name}; {others_line}{}",
                    self.operation,
                    if others == 0 {
                        ".".to_string()
                    } else {
                        format!(": {}.", self.other_paths.join(", "))
                    }
                );
            }
            return out;
        }
        let _ = writeln!(
            out,
            "Gong's spec at {name} differs from `{UPSTREAM}` on the `{}` surface.\n",
            self.operation
        );
        let _ = writeln!(
            out,
            "- compared file: SHA-256 `{}`, {} bytes",
            self.sha256, self.bytes
        );
        let _ = writeln!(
            out,
            "- patch steps (`{PATCHES}`): {}",
            match &self.patches {
                Ok(()) => "all still apply and the result validates".to_string(),
                Err(_) => "**one no longer applies** (below)".to_string(),
            }
        );
        let _ = writeln!(out, "- elsewhere in Gong's API: {others_line}");
        if !self.surface.is_empty() {
            let _ = writeln!(out, "\n```text");
            out.push_str(&self.surface.render(UPSTREAM, &name));
            let _ = writeln!(out, "```");
        }
        if let Err(why) = &self.patches {
            let _ = writeln!(out, "\n```text\n{}\n```", why.trim_end());
        }
        let _ = writeln!(
            out,
            "\nTo follow it: `cargo xtask reconcile --upstream {}`, read the report (fix `{PATCHES}` if a step no longer applies), \
             `cargo test --workspace`, review the snapshot diffs, commit `{UPSTREAM}`, its `SOURCE.toml` and `{OUTPUT}`. \
             See openapi/RECONCILIATION.md.",
            self.source.command_arg()
        );
        out
    }
}

/// Compares `source` with the adopted upstream copy under `root`.
pub fn compare(root: &Path, source: &Source, limits: Limits) -> Result<Drift> {
    let current_path = root.join(UPSTREAM);
    let current_bytes = std::fs::read(&current_path)
        .with_context(|| format!("cannot read {}", current_path.display()))?;
    let current = read_json(&current_path)?;
    let bytes = download::fetch(source, limits)?;
    let new = parse_spec(&bytes, &source.display())?;
    let patches = load_patches(root)?;
    let (method, path) = patches.selected_operation().with_context(|| {
        format!("{PATCHES} has no `select` step, so there is no surface to compare")
    })?;
    let surface = surface_report(&current, &new, method, path, &patches.stripped_keys());
    let rerun = format!("cargo xtask reconcile --upstream {}", source.command_arg());
    let applies = super::reconcile_or_explain(&new, &patches, &rerun)
        .map(|_| ())
        .map_err(|e| format!("{e:#}"));
    Ok(Drift {
        source: source.clone(),
        identical: bytes == current_bytes,
        sha256: sha256_hex(&bytes),
        bytes: bytes.len() as u64,
        operation: format!("{} {path}", method.to_uppercase()),
        other_paths: other_paths_changed(&current, &new, path),
        surface,
        patches: applies,
    })
}

/// Runs `--drift`: prints the report, returns the exit code (0, 1 or 2).
pub fn run(root: &Path, source: &Source, limits: Limits) -> ExitCode {
    match compare(root, source, limits) {
        Ok(drift) => {
            print!("{}", drift.render());
            if drift.changed() {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(error) => {
            eprintln!("error: {error:#}");
            ExitCode::from(2)
        }
    }
}

/// Paths other than `skip` added, removed or changed between two documents.
fn other_paths_changed(old: &Value, new: &Value, skip: &str) -> Vec<String> {
    let empty = Map::new();
    let old = old
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let new = new
        .get("paths")
        .and_then(Value::as_object)
        .unwrap_or(&empty);
    let mut out = Vec::new();
    for (path, value) in old {
        match new.get(path) {
            _ if path == skip => {}
            None => out.push(format!("- {path}")),
            Some(other) if other != value => out.push(format!("~ {path}")),
            Some(_) => {}
        }
    }
    for path in new.keys() {
        if path != skip && !old.contains_key(path) {
            out.push(format!("+ {path}"));
        }
    }
    out
}
