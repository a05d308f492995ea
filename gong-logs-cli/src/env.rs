//! The process environment, read once and checked: every variable the CLI
//! reads is listed in [`VARS`], and one that is set but not valid UTF-8 is
//! a usage error naming it (never its value), not "unset".
//!
//! The proxy variables are read here too (for the precedence of
//! `--proxy`, the environment and the profile, and to tell the redactor
//! their passwords); the api crate's `ProxyEnv` reads and checks them
//! where the HTTP client is built.

use std::collections::BTreeMap;
use std::ffi::OsString;
use std::sync::OnceLock;

use crate::exit::{Failure, Result};

/// Every environment variable the CLI reads (clap_complete reads
/// `GONG_LOGS_COMPLETE` itself).
pub const VARS: [&str; 24] = [
    "GONG_BASE_URL",
    "GONG_PROFILE",
    "GONG_LOGS_CONFIG",
    "GONG_ACCESS_KEY",
    "GONG_ACCESS_KEY_SECRET",
    "GONG_BEARER_TOKEN",
    "GONG_CA_CERT",
    "SSL_CERT_FILE",
    "SSL_CERT_DIR",
    "GONG_LOGS_COMPLETE",
    "XDG_CONFIG_HOME",
    "HOME",
    "RUST_LOG",
    "COLUMNS",
    "HTTPS_PROXY",
    "https_proxy",
    "HTTP_PROXY",
    "http_proxy",
    "ALL_PROXY",
    "all_proxy",
    "NO_PROXY",
    "no_proxy",
    "REQUEST_METHOD",
    "GONG_LOGS_LOG_FORMAT",
];

/// The values of [`VARS`] that are set and not empty.
#[derive(Debug, Default)]
pub struct Env {
    values: BTreeMap<&'static str, String>,
}

impl Env {
    /// Reads [`VARS`] through `lookup`; a value that is not UTF-8 is an
    /// error naming its variable.
    pub fn read(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self> {
        let mut values = BTreeMap::new();
        for name in VARS {
            let Some(value) = lookup(name) else { continue };
            let value = value.into_string().map_err(|_| {
                Failure::usage(format!(
                    "the environment variable {name} is not valid UTF-8: correct it or unset it"
                ))
            })?;
            if !value.is_empty() {
                values.insert(name, value);
            }
        }
        Ok(Self { values })
    }

    /// The value of `name` (one of [`VARS`]); `None` when unset or empty.
    pub fn get(&self, name: &str) -> Option<String> {
        debug_assert!(VARS.contains(&name), "{name} is not listed in env::VARS");
        self.values.get(name).cloned()
    }
}

static PROCESS: OnceLock<Env> = OnceLock::new();

/// Reads and checks the process environment; the first thing `main` does.
pub fn init() -> Result<()> {
    let env = Env::read(|name| std::env::var_os(name))?;
    let _ = PROCESS.set(env);
    Ok(())
}

/// A variable of the process environment as [`init`] read it; `None` when
/// unset or empty (or before [`init`], as in unit tests).
pub fn var(name: &str) -> Option<String> {
    PROCESS.get().and_then(|env| env.get(name))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::ffi::OsStringExt as _;

    #[test]
    fn a_value_that_is_not_utf8_is_an_error_naming_the_variable() {
        let env = Env::read(|name| {
            (name == "GONG_PROFILE").then(|| OsString::from_vec(b"prod\xff".to_vec()))
        });
        let message = env.unwrap_err().message();
        assert!(message.contains("GONG_PROFILE"), "{message}");
        assert!(!message.contains("prod"), "{message}");
    }

    #[test]
    fn empty_values_are_unset() {
        let env = Env::read(|name| match name {
            "HOME" => Some(OsString::from("")),
            "COLUMNS" => Some(OsString::from("80")),
            _ => None,
        })
        .unwrap();
        assert_eq!(env.get("HOME"), None);
        assert_eq!(env.get("COLUMNS").as_deref(), Some("80"));
    }
}
