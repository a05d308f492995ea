//! `openapi/upstream/SOURCE.toml`: where the upstream copy came from, when it
//! was adopted, and the SHA-256 and size of the file as downloaded. Written
//! on adoption; `cargo xtask reconcile --check` verifies the upstream file
//! still has that hash, so a hand edit of the never-edited file is caught.

use std::fmt::Write as _;
use std::path::Path;

use anyhow::{Context, Result};
use sha2::{Digest, Sha256};

/// The provenance record, relative to the workspace root.
pub const SOURCE: &str = "openapi/upstream/SOURCE.toml";

/// What `SOURCE.toml` holds.
#[derive(Debug, Clone, PartialEq, Eq, serde::Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Provenance {
    /// The URL it was downloaded from, or `local file`.
    pub source: String,
    /// When it was adopted (RFC 3339, UTC).
    pub adopted: String,
    /// SHA-256 of the file as downloaded, lowercase hex.
    pub sha256: String,
    /// Its size in bytes.
    pub bytes: u64,
}

impl Provenance {
    /// The record for `bytes` adopted now from `source`.
    pub fn new(source: String, bytes: &[u8]) -> Self {
        Provenance {
            source,
            adopted: jiff::Timestamp::now()
                .round(jiff::Unit::Second)
                .unwrap_or_else(|_| jiff::Timestamp::now())
                .to_string(),
            sha256: sha256_hex(bytes),
            bytes: bytes.len() as u64,
        }
    }

    /// Reads `SOURCE.toml` under `root`.
    pub fn load(root: &Path) -> Result<Self> {
        let path = root.join(SOURCE);
        let text = std::fs::read_to_string(&path).with_context(|| {
            format!(
                "cannot read {} (the upstream spec's provenance; adopting a spec with `cargo xtask reconcile --upstream gong|FILE` writes it)",
                path.display()
            )
        })?;
        toml::from_str(&text).with_context(|| {
            format!(
                "{} is invalid (expected keys source, adopted, sha256, bytes)",
                path.display()
            )
        })
    }

    /// The file's text: a comment saying what it is, then the four keys.
    pub fn render(&self) -> String {
        let mut out = String::new();
        out.push_str(
            "# Provenance of gong-openapi-v2.json, Gong's spec as downloaded (never edited).\n\
             # Written by `cargo xtask reconcile --upstream`; `cargo xtask reconcile --check`\n\
             # verifies the file still has this SHA-256. Don't edit either by hand.\n",
        );
        let _ = writeln!(out, "source = {}", toml_string(&self.source));
        let _ = writeln!(out, "adopted = {}", toml_string(&self.adopted));
        let _ = writeln!(out, "sha256 = {}", toml_string(&self.sha256));
        let _ = writeln!(out, "bytes = {}", self.bytes);
        out
    }
}

/// SHA-256 of `bytes`, lowercase hex.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    let mut hex = String::with_capacity(64);
    for byte in digest {
        let _ = write!(hex, "{byte:02x}");
    }
    hex
}

/// A TOML basic string.
fn toml_string(text: &str) -> String {
    let mut out = String::from("\"");
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\t' => out.push_str("\\t"),
            c if c.is_control() => {
                let _ = write!(out, "\\u{:04X}", c as u32);
            }
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Outcome of [`verify`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verified {
    /// The upstream file has the recorded SHA-256 and size.
    Matches(Provenance),
    /// It does not: it was edited (or replaced) after adoption.
    Mismatch {
        /// What `SOURCE.toml` records.
        recorded: Provenance,
        /// The file's SHA-256 now.
        sha256: String,
        /// Its size now.
        bytes: u64,
    },
}

/// Compares the upstream file under `root` with `SOURCE.toml`.
pub fn verify(root: &Path, upstream: &str) -> Result<Verified> {
    let recorded = Provenance::load(root)?;
    let path = root.join(upstream);
    let bytes = std::fs::read(&path).with_context(|| format!("cannot read {}", path.display()))?;
    let sha256 = sha256_hex(&bytes);
    if sha256 == recorded.sha256.to_ascii_lowercase() && bytes.len() as u64 == recorded.bytes {
        Ok(Verified::Matches(recorded))
    } else {
        Ok(Verified::Mismatch {
            recorded,
            sha256,
            bytes: bytes.len() as u64,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_and_reads_back() {
        let record = Provenance::new("https://example.com/spec?a=\"b\"\\".into(), b"abc");
        assert_eq!(
            record.sha256,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        assert_eq!(record.bytes, 3);
        let parsed: Provenance = toml::from_str(&record.render()).unwrap();
        assert_eq!(parsed, record);
    }
}
