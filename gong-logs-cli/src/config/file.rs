//! The config file: read safely (without blocking, a regular file, at
//! most [`MAX_CONFIG_BYTES`]), trusted only when its owner and directories
//! are (and private when it holds secrets), parsed into profiles with
//! parse messages that never echo a value.

use std::collections::BTreeMap;
use std::path::Path;

use serde::Deserialize;

use crate::exit::{Failure, Result};

/// One profile of the config file.
#[derive(Clone, Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Profile {
    /// Base URL of the company's Gong API.
    pub base_url: Option<String>,
    /// Access key (Basic auth).
    pub access_key: Option<String>,
    /// Access key secret (Basic auth).
    pub access_key_secret: Option<String>,
    /// OAuth bearer token.
    pub bearer_token: Option<String>,
    /// Proxy URL (`http://[user:password@]host:port`) or `none`.
    pub proxy: Option<String>,
    /// A PEM bundle of CAs trusted besides the platform's.
    pub ca_cert: Option<String>,
}

impl Profile {
    pub(super) fn holds_secret(&self) -> bool {
        self.access_key_secret
            .as_deref()
            .is_some_and(|s| !s.is_empty())
            || self.bearer_token.as_deref().is_some_and(|s| !s.is_empty())
            || self
                .proxy
                .as_deref()
                .and_then(gong_logs_api::proxy_credentials)
                .is_some()
    }
}

/// The largest config file read: a profile is a few lines.
pub const MAX_CONFIG_BYTES: u64 = 1 << 20;

/// Reads the config file at `path`: opened without blocking (a FIFO would
/// wait for a writer), checked on the opened file to be a regular file, and
/// read up to [`MAX_CONFIG_BYTES`]. `Ok(None)` when it does not exist.
/// Returns the text and the file's metadata (its mode, for
/// [`check_private`]).
pub(super) fn read_config(path: &Path) -> Result<Option<(String, std::fs::Metadata)>> {
    use std::io::Read as _;
    let shown = path.display();
    let cannot = |e: std::io::Error| {
        Failure::usage(format!(
            "cannot read config file {shown}: {e}; check the path and its permissions"
        ))
    };
    let mut options = std::fs::OpenOptions::new();
    options.read(true);
    {
        use std::os::unix::fs::OpenOptionsExt as _;
        options.custom_flags(nix::fcntl::OFlag::O_NONBLOCK.bits());
    }
    let file = match options.open(path) {
        Ok(file) => file,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(None),
        Err(e) => return Err(cannot(e)),
    };
    let meta = file.metadata().map_err(cannot)?;
    if !meta.is_file() {
        return Err(Failure::usage(format!(
            "config file {shown} is not a regular file: point GONG_LOGS_CONFIG at a TOML file"
        )));
    }
    let mut bytes = Vec::new();
    file.take(MAX_CONFIG_BYTES + 1)
        .read_to_end(&mut bytes)
        .map_err(cannot)?;
    if bytes.len() as u64 > MAX_CONFIG_BYTES {
        return Err(Failure::usage(format!(
            "config file {shown} is larger than 1 MiB: it holds a few profiles, check the path"
        )));
    }
    let text = String::from_utf8(bytes)
        .map_err(|_| Failure::usage(format!("config file {shown} is not UTF-8 text")))?;
    Ok(Some((text, meta)))
}

/// Loads the config file's profiles. `Ok(None)` when the default path does
/// not exist.
pub fn load_profiles(path: &Path, explicit: bool) -> Result<Option<BTreeMap<String, Profile>>> {
    let shown = path.display();
    let Some((text, meta)) = read_config(path)? else {
        if !explicit {
            return Ok(None);
        }
        return Err(Failure::usage(format!(
            "config file {shown} (from GONG_LOGS_CONFIG) does not exist: create it or unset GONG_LOGS_CONFIG"
        )));
    };
    let profiles: BTreeMap<String, Profile> = toml::from_str(&text).map_err(|e| {
        // Only the message and the line: toml's full rendering quotes the
        // offending line, which could hold a secret.
        let line = e
            .span()
            .map(|s| text[..s.start.min(text.len())].matches('\n').count() + 1);
        let at = line.map(|l| format!(" at line {l}")).unwrap_or_default();
        Failure::usage(format!(
            "config file {shown} is malformed{at}: {}; expected TOML tables of base_url, access_key, access_key_secret, bearer_token, proxy, ca_cert (strings in quotes)",
            redact_values(e.message().trim())
        ))
    })?;
    if profiles.values().any(Profile::holds_secret) {
        check_private(path, &meta)?;
    }
    Ok(Some(profiles))
}

/// KEYS of a profile: the only quoted words a parse message may keep.
const KEYS: [&str; 6] = [
    "base_url",
    "access_key",
    "access_key_secret",
    "bearer_token",
    "proxy",
    "ca_cert",
];

/// Removes anything quoted (`` `...` `` or `"..."`) from a TOML parse
/// message unless it is one of the known keys: such text comes from the file
/// and could be a secret (toml quotes an unquoted number it cannot use as a
/// string).
pub(super) fn redact_values(message: &str) -> String {
    let mut out = String::with_capacity(message.len());
    let mut rest = message;
    while let Some(open) = rest.find(['`', '"']) {
        let quote = rest[open..].chars().next().unwrap_or('`');
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find(quote) {
            Some(close) => {
                let inner = &after[..close];
                if KEYS.contains(&inner) || inner.chars().all(|c| c.is_ascii_punctuation()) {
                    out.push(quote);
                    out.push_str(inner);
                    out.push(quote);
                } else {
                    out.push_str("a value");
                }
                rest = &after[close + 1..];
            }
            None => {
                rest = "";
            }
        }
    }
    out.push_str(rest);
    out
}

/// Refuses a config file that someone else could have written, as ssh
/// does: the file and every directory above it (up to the home directory
/// when it is inside it, else up to `/`) must be owned by the current user
/// or root, and not writable by group or others (a root-owned sticky
/// directory such as /tmp is fine). Otherwise another user could point
/// `base_url` at their server and receive the credentials.
pub fn check_trusted(path: &Path, home: Option<&Path>) -> Result<()> {
    use std::os::unix::fs::MetadataExt as _;
    let shown = path.display();
    // Missing or not a file: reading it fails with its own message.
    let Ok(real) = std::fs::canonicalize(path) else {
        return Ok(());
    };
    if !real.is_file() {
        return Ok(());
    }
    let home = home.and_then(|h| std::fs::canonicalize(h).ok());
    let me = crate::files::fs::euid();
    let check = |p: &Path, is_dir: bool| -> Result<()> {
        let m = std::fs::metadata(p).map_err(|e| {
            Failure::usage(format!(
                "cannot inspect {} (for config file {shown}): {e}",
                p.display()
            ))
        })?;
        let what = if is_dir { "its directory " } else { "it" };
        let named = if is_dir {
            p.display().to_string()
        } else {
            String::new()
        };
        if m.uid() != me && m.uid() != 0 {
            return Err(Failure::usage(format!(
                "config file {shown} is not trusted: {what}{named} is owned by another user (uid {}); run `chown {me} {}` if it is yours, or use another config file",
                m.uid(),
                p.display()
            )));
        }
        let mode = m.mode() & 0o7777;
        let sticky_root = is_dir && m.uid() == 0 && mode & 0o1000 != 0;
        if mode & 0o022 != 0 && !sticky_root {
            return Err(Failure::usage(format!(
                "config file {shown} is not trusted: {what}{named} is writable by group or others (mode {:03o}); run `chmod go-w {}`",
                mode & 0o777,
                p.display()
            )));
        }
        Ok(())
    };
    check(&real, false)?;
    let mut dir = real.parent();
    while let Some(d) = dir {
        check(d, true)?;
        if home.as_deref() == Some(d) {
            break;
        }
        dir = d.parent();
    }
    Ok(())
}

/// Refuses a config file holding secrets that group or others can read
/// (`meta`: of the file as opened).
fn check_private(path: &Path, meta: &std::fs::Metadata) -> Result<()> {
    use std::os::unix::fs::PermissionsExt as _;
    let mode = meta.permissions().mode() & 0o777;
    if mode & 0o077 != 0 {
        return Err(Failure::usage(format!(
            "config file {0} holds secrets but other users can access it (mode {mode:03o}): run `chmod 600 {0}`",
            path.display()
        )));
    }
    Ok(())
}
