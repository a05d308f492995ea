//! `--metrics-file PATH`: the exposition written to a temporary file in
//! PATH's directory, then renamed over PATH, so a reader (node_exporter's
//! textfile collector) sees the old file or the new one, never half of
//! one. The temporary name starts with a dot and does not end in `.prom`,
//! so the collector never reads it. Mode 0644: the collector runs as
//! another user, and nothing in it is secret.

use std::io::Write as _;
use std::os::unix::fs::PermissionsExt as _;
use std::path::Path;

/// PATH's directory (`.` for a bare name).
fn directory(path: &Path) -> &Path {
    match path.parent() {
        Some(dir) if !dir.as_os_str().is_empty() => dir,
        _ => Path::new("."),
    }
}

fn temp_in(path: &Path) -> std::io::Result<tempfile::NamedTempFile> {
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    tempfile::Builder::new()
        .prefix(&format!(".{name}."))
        .suffix(".tmp")
        .tempfile_in(directory(path))
}

/// Whether PATH can be replaced: not a directory, and a file can be
/// created beside it (the message says which setting and what to do).
pub(super) fn check(path: &Path) -> Result<(), String> {
    let shown = path.display();
    if path.as_os_str().is_empty() || path.is_dir() {
        return Err(format!(
            "--metrics-file {shown}: give a file name, not a directory"
        ));
    }
    temp_in(path).map(drop).map_err(|e| {
        // Without the temporary file's random name.
        let e = e
            .raw_os_error()
            .map_or(e, std::io::Error::from_raw_os_error);
        format!(
            "--metrics-file {shown}: cannot create a file in {} ({e}): create the directory or choose another path",
            directory(path).display()
        )
    })
}

/// Replaces PATH with `text`.
pub(super) fn replace(path: &Path, text: &str) -> std::io::Result<()> {
    let mut temp = temp_in(path)?;
    temp.write_all(text.as_bytes())?;
    temp.as_file()
        .set_permissions(std::fs::Permissions::from_mode(0o644))?;
    temp.persist(path).map(drop).map_err(|e| e.error)
}
