//! Resumable exports: the checkpoint file and the data file it covers.
//!
//! `FILE.gong-logs-checkpoint` is JSON:
//!
//! ```json
//! {
//!   "version": 1,
//!   "command": {"types": ["AccessLog"], "from": "7d", "to": null, "format": "jsonl",
//!               "fields": [], "users": [], "limit": null, "baseUrl": "https://api.gong.io"},
//!   "from": "2024-03-01T00:00:00Z",
//!   "to": "2024-03-08T00:00:00Z",
//!   "dataFile": "audit.jsonl.partial",
//!   "dataLen": 123456,
//!   "entries": 789,
//!   "types": [{"logType": "AccessLog", "position": {"time": "...", "count": 2},
//!              "entries": 789, "done": false}]
//! }
//! ```
//!
//! `command` is the identity of the command as typed (relative times as
//! typed, so rerunning the same command matches); `from`/`to` are the
//! instants the first run resolved them to, used by every resumed run. The
//! data file is synced before the checkpoint that covers it is written, and
//! the checkpoint is replaced atomically (temp file, sync, rename, directory
//! sync): after a crash at any instant, the checkpoint describes a prefix of
//! the data file, and truncating the data file to `dataLen` leaves exactly
//! the entries before each type's position.

use std::ffi::OsString;
use std::fs::{File, OpenOptions};
use std::io::{Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use gong_logs_api::export::Position;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::exit::{Failure, Result};

/// Format version of the checkpoint file.
pub const VERSION: u32 = 1;

/// The command a checkpoint belongs to.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Identity {
    /// The types, in export order.
    pub types: Vec<String>,
    /// `--from`/`--since` as typed.
    pub from: String,
    /// `--to` as typed.
    pub to: Option<String>,
    /// The output format.
    pub format: String,
    /// `--fields`.
    pub fields: Vec<String>,
    /// `--user`.
    pub users: Vec<String>,
    /// `--limit`.
    pub limit: Option<u64>,
    /// The base URL (never holds credentials: such URLs are refused).
    pub base_url: String,
}

impl Identity {
    /// The names of the settings that differ.
    pub fn differences(&self, other: &Self) -> Vec<&'static str> {
        let mut out = Vec::new();
        if self.types != other.types {
            out.push("--type");
        }
        if self.from != other.from {
            out.push("--from/--since");
        }
        if self.to != other.to {
            out.push("--to");
        }
        if self.format != other.format {
            out.push("--format");
        }
        if self.fields != other.fields {
            out.push("--fields");
        }
        if self.users != other.users {
            out.push("--user");
        }
        if self.limit != other.limit {
            out.push("--limit");
        }
        if self.base_url != other.base_url {
            out.push("base URL");
        }
        out
    }
}

/// Progress of one type.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypeState {
    /// The type's name.
    pub log_type: String,
    /// Every entry before `position.time`, and the first `position.count`
    /// at it, are in the data file.
    pub position: Position,
    /// Entries of this type written (after filtering).
    pub entries: u64,
    /// The type's range is exported completely.
    pub done: bool,
}

/// Where an export stands.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct Checkpoint {
    /// [`VERSION`].
    #[schemars(description = "Format version of the checkpoint file.")]
    pub version: u32,
    /// The command.
    pub command: Identity,
    /// The resolved start of the range.
    #[schemars(with = "gong_logs_api::schema::Timestamp")]
    pub from: Timestamp,
    /// The resolved end of the range.
    #[schemars(with = "gong_logs_api::schema::Timestamp")]
    pub to: Timestamp,
    /// The data file's name (in the same directory).
    pub data_file: String,
    /// Bytes of the data file this checkpoint covers.
    pub data_len: u64,
    /// Entries written, all types.
    pub entries: u64,
    /// Per type, in export order.
    pub types: Vec<TypeState>,
}

impl Checkpoint {
    /// Stands for a checkpoint that exists but was not read.
    pub(crate) fn placeholder() -> Self {
        Self {
            version: VERSION,
            command: Identity {
                types: Vec::new(),
                from: String::new(),
                to: None,
                format: String::new(),
                fields: Vec::new(),
                users: Vec::new(),
                limit: None,
                base_url: String::new(),
            },
            from: Timestamp::UNIX_EPOCH,
            to: Timestamp::UNIX_EPOCH,
            data_file: String::new(),
            data_len: 0,
            entries: 0,
            types: Vec::new(),
        }
    }
}

fn with_suffix(path: &Path, suffix: &str) -> PathBuf {
    let mut name: OsString = path.file_name().unwrap_or_default().to_owned();
    name.push(suffix);
    path.with_file_name(name)
}

/// `FILE.gong-logs-checkpoint`.
pub fn checkpoint_path(output: &Path) -> PathBuf {
    with_suffix(output, ".gong-logs-checkpoint")
}

/// `FILE.partial`.
pub fn partial_path(output: &Path) -> PathBuf {
    with_suffix(output, ".partial")
}

/// The directory of `path` ("." for a bare file name).
pub fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_owned(),
        _ => PathBuf::from("."),
    }
}

/// Makes a rename or creation in `dir` durable.
pub fn sync_dir(dir: &Path) -> std::io::Result<()> {
    #[cfg(unix)]
    File::open(dir)?.sync_all()?;
    #[cfg(not(unix))]
    let _ = dir;
    Ok(())
}

/// Reads a checkpoint; `Ok(None)` if there is none.
pub fn load(path: &Path) -> Result<Option<Checkpoint>> {
    let text = match std::fs::read_to_string(path) {
        Ok(t) => t,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => {
            return Err(Failure::usage(format!(
                "cannot read checkpoint {}: {e}",
                path.display()
            )));
        }
    };
    let checkpoint: Checkpoint = serde_json::from_str(&text).map_err(|e| {
        Failure::usage(format!(
            "checkpoint {} is corrupt ({e}): delete it and its .partial file to start over",
            path.display()
        ))
    })?;
    if checkpoint.version != VERSION {
        return Err(Failure::usage(format!(
            "checkpoint {} has version {} (this gong-logs writes {VERSION}): finish it with the gong-logs that wrote it, or delete it to start over",
            path.display(),
            checkpoint.version
        )));
    }
    Ok(Some(checkpoint))
}

/// Replaces the checkpoint atomically and durably.
pub fn store(path: &Path, checkpoint: &Checkpoint) -> std::io::Result<()> {
    let tmp = with_suffix(path, ".tmp");
    let mut text = serde_json::to_vec_pretty(checkpoint).map_err(std::io::Error::other)?;
    text.push(b'\n');
    {
        let mut file = private_options()
            .write(true)
            .create(true)
            .truncate(true)
            .open(&tmp)?;
        file.write_all(&text)?;
        file.sync_all()?;
    }
    std::fs::rename(&tmp, path)?;
    sync_dir(&parent_dir(path))
}

/// Options creating files readable by the owner only (audit data is private).
pub fn private_options() -> OpenOptions {
    let mut options = OpenOptions::new();
    #[cfg(unix)]
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.mode(0o600);
    }
    options
}

/// Opens the data file of a resumed export, truncated to what `checkpoint`
/// covers, positioned at its end.
pub fn reopen_partial(
    partial: &Path,
    checkpoint: &Checkpoint,
    checkpoint_file: &Path,
) -> Result<File> {
    let broken = |what: String| {
        Failure::usage(format!(
            "{what}, but checkpoint {} says {} bytes were written: delete the checkpoint to start over",
            checkpoint_file.display(),
            checkpoint.data_len
        ))
    };
    let mut file = match OpenOptions::new().read(true).write(true).open(partial) {
        Ok(f) => f,
        Err(e) => return Err(broken(format!("cannot open {}: {e}", partial.display()))),
    };
    let len = file
        .metadata()
        .map_err(|e| broken(format!("cannot read {}: {e}", partial.display())))?
        .len();
    if len < checkpoint.data_len {
        return Err(broken(format!(
            "{} holds only {len} bytes",
            partial.display()
        )));
    }
    let io = |e: std::io::Error| {
        Failure::new(
            crate::exit::FAILURE,
            anyhow::anyhow!("cannot truncate {}: {e}", partial.display()),
        )
    };
    file.set_len(checkpoint.data_len).map_err(io)?;
    file.sync_all().map_err(io)?;
    file.seek(SeekFrom::End(0)).map_err(io)?;
    Ok(file)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn store_and_load_round_trip() {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("audit.jsonl");
        let path = checkpoint_path(&out);
        assert_eq!(
            path.file_name().unwrap(),
            "audit.jsonl.gong-logs-checkpoint"
        );
        assert_eq!(
            partial_path(&out).file_name().unwrap(),
            "audit.jsonl.partial"
        );
        let t: Timestamp = "2024-03-01T00:00:00Z".parse().unwrap();
        let checkpoint = Checkpoint {
            version: VERSION,
            command: Identity {
                types: vec!["AccessLog".into()],
                from: "7d".into(),
                to: None,
                format: "jsonl".into(),
                fields: vec![],
                users: vec![],
                limit: None,
                base_url: "https://api.gong.io".into(),
            },
            from: t,
            to: t,
            data_file: "audit.jsonl.partial".into(),
            data_len: 10,
            entries: 1,
            types: vec![TypeState {
                log_type: "AccessLog".into(),
                position: Position { time: t, count: 1 },
                entries: 1,
                done: false,
            }],
        };
        assert_eq!(load(&path).unwrap(), None);
        store(&path, &checkpoint).unwrap();
        assert_eq!(load(&path).unwrap(), Some(checkpoint.clone()));
        let mut other = checkpoint.command.clone();
        other.to = Some("now".into());
        other.format = "csv".into();
        assert_eq!(
            checkpoint.command.differences(&other),
            vec!["--to", "--format"]
        );
        std::fs::write(&path, "{").unwrap();
        assert_eq!(load(&path).unwrap_err().code, crate::exit::USAGE);
    }
}
