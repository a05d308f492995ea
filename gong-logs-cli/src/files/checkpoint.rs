//! Resumable exports: the checkpoint file and the data file it covers.
//!
//! `FILE.gong-logs-checkpoint` is JSON:
//!
//! ```json
//! {
//!   "version": 2,
//!   "command": {"types": ["AccessLog"], "from": "7d", "to": null, "format": "jsonl",
//!               "fields": [], "users": [], "limit": null, "baseUrl": "https://api.gong.io",
//!               "follow": false, "csvSafe": false},
//!   "from": "2024-03-01T00:00:00Z",
//!   "to": "2024-03-08T00:00:00Z",
//!   "dataFile": "audit.jsonl.partial",
//!   "dataLen": 123456,
//!   "dataSha256": "9f86d0...",
//!   "entries": 789,
//!   "types": [{"logType": "AccessLog", "position": {"time": "...", "count": 2},
//!              "entries": 789, "done": false}],
//!   "checksum": "e3b0c4..."
//! }
//! ```
//!
//! `command` is the identity of the command as typed (relative times as
//! typed, so rerunning the same command matches); `from`/`to` are the
//! instants the first run resolved them to, used by every resumed run. The
//! data file is synced before the checkpoint that covers it is written, and
//! the checkpoint is replaced atomically (temp file, sync, persist,
//! directory sync): after a crash at any instant, the checkpoint describes a prefix of
//! the data file, and truncating the data file to `dataLen` leaves exactly
//! the entries before each type's position.
//!
//! The checkpoint is bound to its data: `dataSha256` is the SHA-256 of the
//! first `dataLen` bytes of the data file (hashed incrementally as they are
//! written), checked once on resume; `checksum` is the SHA-256 of the
//! checkpoint itself (compact JSON, `checksum` empty), so an edited field is
//! detected instead of silently losing or repeating entries. Every other
//! field is validated too; a checkpoint that fails is refused (exit 2).
//! Version 1 checkpoints (no hashes) are refused with a message.
//!
//! Compressed outputs (`.gz`, `.zst`): `dataLen` and `dataSha256` cover the
//! compressed bytes on disk. Every commit first closes the open gzip member
//! (RFC 1952: concatenated members are one valid stream that `gzip -d` reads
//! whole) or zstd frame (concatenated frames decompress as one stream), so
//! `dataLen` always falls on a unit boundary and truncating the data file to
//! it leaves a valid compressed file; json's `]`, written after the last
//! commit, is a unit of its own that truncation drops whole.
//!
//! With `--follow -o FILE`, the data file is FILE itself (appended to) and
//! the checkpoint stays after a clean stop, so `--follow --resume`
//! continues.

use std::fs::File;
use std::io::{Read as _, Seek as _, SeekFrom, Write as _};
use std::path::{Path, PathBuf};

use gong_logs_api::LogType;
use gong_logs_api::export::Position;
use jiff::Timestamp;
use serde::{Deserialize, Serialize};
use sha2::{Digest as _, Sha256};
use tempfile::NamedTempFile;

use crate::exit::{Failure, Result};
use crate::files::fs::{self, parent_dir, sync_dir, with_suffix};
// The e2e crate hashes data as the checkpoint does.
pub use crate::files::fs::hex;

/// Format version of the checkpoint file (2: bound to its data by hashes).
pub const VERSION: u32 = 2;

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
    /// `--follow` (the data file is the output itself).
    #[serde(default)]
    pub follow: bool,
    /// `--csv-safe`.
    #[serde(default)]
    pub csv_safe: bool,
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
        if self.follow != other.follow {
            out.push("--follow");
        }
        if self.csv_safe != other.csv_safe {
            out.push("--csv-safe");
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
    /// SHA-256 (hex) of those bytes.
    #[serde(default)]
    pub data_sha256: String,
    /// Entries written, all types.
    pub entries: u64,
    /// Per type, in export order.
    pub types: Vec<TypeState>,
    /// SHA-256 (hex) of this checkpoint as compact JSON with this field
    /// empty: detects edits.
    #[serde(default)]
    pub checksum: String,
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
                follow: false,
                csv_safe: false,
            },
            from: Timestamp::UNIX_EPOCH,
            to: Timestamp::UNIX_EPOCH,
            data_file: String::new(),
            data_len: 0,
            data_sha256: hex(&Sha256::new().finalize()),
            entries: 0,
            types: Vec::new(),
            checksum: String::new(),
        }
    }

    /// The checksum this checkpoint should carry.
    pub fn compute_checksum(&self) -> String {
        let mut copy = self.clone();
        copy.checksum = String::new();
        let bytes = serde_json::to_vec(&copy).expect("a checkpoint serializes");
        hex(&Sha256::digest(&bytes))
    }

    /// Sets [`Self::checksum`] (done by [`store`]).
    pub fn seal(&mut self) {
        self.checksum = self.compute_checksum();
    }

    /// Checks every field for consistency (not against the data file: see
    /// [`reopen_data`]). The message says what is wrong.
    pub fn validate(&self) -> std::result::Result<(), String> {
        if self.checksum != self.compute_checksum() {
            return Err(
                "its checksum does not match its content (it was edited or damaged)".into(),
            );
        }
        if self.types.is_empty() {
            return Err("it lists no log types".into());
        }
        let names: Vec<&str> = self.types.iter().map(|t| t.log_type.as_str()).collect();
        if names
            != self
                .command
                .types
                .iter()
                .map(String::as_str)
                .collect::<Vec<_>>()
        {
            return Err("its per-type states do not match its command's types".into());
        }
        for t in &self.types {
            if t.log_type.parse::<LogType>().is_err() {
                return Err(format!("it names an unknown log type {:?}", t.log_type));
            }
            if t.position.time < self.from || (!self.command.follow && t.position.time > self.to) {
                return Err(format!(
                    "the position of {} lies outside its time range",
                    t.log_type
                ));
            }
        }
        if !self.command.follow && self.from >= self.to {
            return Err("its time range is empty".into());
        }
        let sum = self
            .types
            .iter()
            .try_fold(0u64, |acc, t| acc.checked_add(t.entries));
        if sum != Some(self.entries) {
            return Err("its entry counts do not add up".into());
        }
        if self.data_sha256.len() != 64 || !self.data_sha256.bytes().all(|b| b.is_ascii_hexdigit())
        {
            return Err("its data hash is missing or malformed".into());
        }
        Ok(())
    }
}

/// `FILE.gong-logs-checkpoint`.
pub fn checkpoint_path(output: &Path) -> PathBuf {
    with_suffix(output, ".gong-logs-checkpoint")
}

/// `FILE.partial`.
pub fn partial_path(output: &Path) -> PathBuf {
    with_suffix(output, ".partial")
}

/// `FILE.gong-logs-checkpoint.tmp`.
pub fn checkpoint_tmp_path(checkpoint: &Path) -> PathBuf {
    with_suffix(checkpoint, ".tmp")
}

/// Reads and validates a checkpoint; `Ok(None)` if there is none. Never
/// follows a symlink; refuses another user's file.
pub fn load(path: &Path) -> Result<Option<Checkpoint>> {
    let shown = path.display();
    let Some(bytes) = fs::read_own(path)? else {
        return Ok(None);
    };
    let start_over = "delete it and its data file to start over";
    let value: serde_json::Value = serde_json::from_slice(&bytes).map_err(|e| {
        Failure::usage(format!("checkpoint {shown} is corrupt ({e}): {start_over}"))
    })?;
    match value.get("version").and_then(serde_json::Value::as_u64) {
        Some(v) if v == u64::from(VERSION) => {}
        Some(1) => {
            return Err(Failure::usage(format!(
                "checkpoint {shown} was written by an older gong-logs (version 1) and cannot be checked against its data: finish that export with the gong-logs that wrote it, or {start_over}"
            )));
        }
        Some(v) => {
            return Err(Failure::usage(format!(
                "checkpoint {shown} has version {v} (this gong-logs reads {VERSION}): finish it with the gong-logs that wrote it, or {start_over}"
            )));
        }
        None => {
            return Err(Failure::usage(format!(
                "checkpoint {shown} is corrupt (no version): {start_over}"
            )));
        }
    }
    let checkpoint: Checkpoint = serde_json::from_value(value).map_err(|e| {
        Failure::usage(format!("checkpoint {shown} is corrupt ({e}): {start_over}"))
    })?;
    checkpoint.validate().map_err(|why| {
        Failure::usage(format!(
            "checkpoint {shown} cannot be trusted: {why}; {start_over}"
        ))
    })?;
    Ok(Some(checkpoint))
}

/// Seals and replaces the checkpoint atomically and durably: written to
/// [`checkpoint_tmp_path`] (a [`NamedTempFile`], created 0600 with
/// `O_EXCL` in the same directory), synced, persisted over `path`, then the
/// directory synced. The temporary name is fixed, not random, so that a run
/// killed mid-store leaves one file the next store replaces (a stale one of
/// ours; a symlink or another user's file there is refused), never a
/// growing pile of orphans.
pub fn store(path: &Path, checkpoint: &Checkpoint) -> std::io::Result<()> {
    let mut sealed = checkpoint.clone();
    sealed.seal();
    let mut text = serde_json::to_vec_pretty(&sealed).map_err(std::io::Error::other)?;
    text.push(b'\n');
    let tmp = checkpoint_tmp_path(path);
    let mut file = match create_tmp(&tmp) {
        Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
            fs::check_own(&tmp).map_err(|f| std::io::Error::other(f.message()))?;
            std::fs::remove_file(&tmp)?;
            create_tmp(&tmp)
        }
        other => other,
    }?;
    file.write_all(&text)?;
    file.as_file().sync_all()?;
    file.persist(path).map_err(|e| e.error)?;
    sync_dir(&parent_dir(path))
}

/// Creates exactly `tmp` (no random part) as a [`NamedTempFile`]: deleted
/// if dropped before it is persisted.
fn create_tmp(tmp: &Path) -> std::io::Result<NamedTempFile> {
    let name = tmp.file_name().unwrap_or_default();
    tempfile::Builder::new()
        .prefix(name)
        .rand_bytes(0)
        .tempfile_in(parent_dir(tmp))
}

/// Hashes the first `len` bytes of `file` (from its start).
fn hash_prefix(file: &mut File, len: u64) -> std::io::Result<Sha256> {
    let mut hasher = Sha256::new();
    file.seek(SeekFrom::Start(0))?;
    let mut left = len;
    let mut buf = vec![0u8; 1 << 16];
    while left > 0 {
        let want = usize::try_from(left.min(buf.len() as u64)).unwrap_or(buf.len());
        let n = file.read(&mut buf[..want])?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        hasher.update(&buf[..n]);
        left -= n as u64;
    }
    Ok(hasher)
}

/// How the messages of [`verify_data`] end.
pub const START_OVER: &str = "delete both to start over";

/// Checks that `data` starts with exactly the bytes `checkpoint` covers
/// (length and hash). Returns the file, the hash state of the committed
/// prefix, and the file's full length.
pub fn verify_data(
    data: &Path,
    checkpoint: &Checkpoint,
    checkpoint_file: &Path,
) -> Result<(File, Sha256, u64)> {
    let broken = |what: String| {
        Failure::usage(format!(
            "{what}, but checkpoint {} says {} bytes were written: the data and its checkpoint disagree; {START_OVER}",
            checkpoint_file.display(),
            checkpoint.data_len
        ))
    };
    let mut file = match fs::open_own(data) {
        Ok(f) => f,
        Err(e) if !data.exists() && std::fs::symlink_metadata(data).is_err() => {
            drop(e);
            return Err(broken(format!("{} is missing", data.display())));
        }
        Err(e) => return Err(e),
    };
    let len = file
        .metadata()
        .map_err(|e| broken(format!("cannot read {}: {e}", data.display())))?
        .len();
    if len < checkpoint.data_len {
        return Err(broken(format!("{} holds only {len} bytes", data.display())));
    }
    let hasher = hash_prefix(&mut file, checkpoint.data_len)
        .map_err(|e| broken(format!("cannot read {}: {e}", data.display())))?;
    if hex(&hasher.clone().finalize()) != checkpoint.data_sha256 {
        return Err(Failure::usage(format!(
            "the first {} bytes of {} differ from what checkpoint {} recorded (the file was changed); {START_OVER}",
            checkpoint.data_len,
            data.display(),
            checkpoint_file.display()
        )));
    }
    Ok((file, hasher, len))
}

/// Opens the data file of a resumed export after [`verify_data`],
/// truncated to what `checkpoint` covers, positioned at its end; also
/// returns the hash state of those bytes.
pub fn reopen_data(
    data: &Path,
    checkpoint: &Checkpoint,
    checkpoint_file: &Path,
) -> Result<(File, Sha256)> {
    let (mut file, hasher, _) = verify_data(data, checkpoint, checkpoint_file)?;
    let io = |e: std::io::Error| {
        Failure::new(
            crate::exit::FAILURE,
            anyhow::anyhow!("cannot truncate {}: {e}", data.display()),
        )
    };
    file.set_len(checkpoint.data_len).map_err(io)?;
    file.sync_all().map_err(io)?;
    file.seek(SeekFrom::End(0)).map_err(io)?;
    Ok((file, hasher))
}

/// [`reopen_data`] without the hash state.
pub fn reopen_partial(
    partial: &Path,
    checkpoint: &Checkpoint,
    checkpoint_file: &Path,
) -> Result<File> {
    reopen_data(partial, checkpoint, checkpoint_file).map(|(f, _)| f)
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
                follow: false,
                csv_safe: false,
            },
            from: t,
            to: "2024-03-02T00:00:00Z".parse().unwrap(),
            data_file: "audit.jsonl.partial".into(),
            data_len: 10,
            data_sha256: hex(&Sha256::digest(b"0123456789")),
            entries: 1,
            types: vec![TypeState {
                log_type: "AccessLog".into(),
                position: Position { time: t, count: 1 },
                entries: 1,
                done: false,
            }],
            checksum: String::new(),
        };
        assert_eq!(load(&path).unwrap(), None);
        store(&path, &checkpoint).unwrap();
        let mut sealed = checkpoint.clone();
        sealed.seal();
        assert_eq!(load(&path).unwrap(), Some(sealed));
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

    #[test]
    fn store_replaces_a_stale_temp_and_refuses_a_planted_link() {
        use std::os::unix::fs::PermissionsExt as _;
        let dir = tempfile::tempdir().unwrap();
        let path = checkpoint_path(&dir.path().join("audit.jsonl"));
        let tmp = checkpoint_tmp_path(&path);
        let listing = || {
            let mut names: Vec<String> = std::fs::read_dir(dir.path())
                .unwrap()
                .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
                .collect();
            names.sort();
            names
        };
        // Left by a run killed mid-store: replaced, and nothing else stays.
        std::fs::write(&tmp, "stale").unwrap();
        store(&path, &Checkpoint::placeholder()).unwrap();
        assert_eq!(listing(), ["audit.jsonl.gong-logs-checkpoint"]);
        let mode = std::fs::metadata(&path).unwrap().permissions().mode();
        assert_eq!(mode & 0o777, 0o600);
        // A symlink planted at the temporary name is neither followed nor
        // removed.
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious").unwrap();
        std::os::unix::fs::symlink(&victim, &tmp).unwrap();
        assert!(store(&path, &Checkpoint::placeholder()).is_err());
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious");
        assert!(
            std::fs::symlink_metadata(&tmp)
                .unwrap()
                .file_type()
                .is_symlink()
        );
    }
}
