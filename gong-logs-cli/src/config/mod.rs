//! Where requests go and with which credentials: flags, then environment,
//! then a named profile of the config file.
//!
//! The config file is TOML, one table per profile:
//!
//! ```toml
//! [default]
//! base_url = "https://company-17.api.gong.io"
//! access_key = "..."
//! access_key_secret = "..."
//!
//! [oauth]
//! bearer_token = "..."
//! ```
//!
//! Its path is `$GONG_LOGS_CONFIG`, else `$XDG_CONFIG_HOME/gong-logs/config.toml`,
//! else `~/.config/gong-logs/config.toml`. A file that holds a secret must not
//! be readable by group or others (`chmod 600`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use gong_logs_api::{BaseUrl, Credentials, DEFAULT_BASE_URL, ProxySetting};

mod file;
mod proxy;
mod tls;

use file::read_config;
pub use file::{MAX_CONFIG_BYTES, Profile, check_trusted, load_profiles};
pub use tls::TlsSettings;

use crate::exit::{Failure, Result};

/// Reads an environment variable; empty counts as unset. Injected for tests.
pub type EnvFn<'a> = &'a dyn Fn(&str) -> Option<String>;

/// The process environment as [`crate::env`] read and checked it, empty
/// values treated as unset.
pub fn process_env(name: &str) -> Option<String> {
    crate::env::var(name)
}

/// Connection settings given as flags (clap's `ConnectionArgs` turned
/// into them), before the environment and the profile are consulted.
#[derive(Clone, Debug, Default)]
pub struct ConnectionFlags {
    /// `--base-url`.
    pub base_url: Option<String>,
    /// `--profile`.
    pub profile: Option<String>,
    /// `--access-key`.
    pub access_key: Option<String>,
    /// `--access-key-secret`.
    pub access_key_secret: Option<String>,
    /// `--bearer-token`.
    pub bearer_token: Option<String>,
    /// `--proxy`.
    pub proxy: Option<String>,
    /// `--ca-cert`.
    pub ca_cert: Option<String>,
}

/// Where a setting came from (lower wins).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord)]
pub enum Source {
    /// A command-line flag.
    Flag,
    /// An environment variable.
    Env,
    /// The config file's profile.
    Profile,
}

/// The resolved connection.
#[derive(Debug)]
pub struct Connection {
    /// The validated base URL, without a trailing slash.
    pub base_url: BaseUrl,
    /// The credentials.
    pub credentials: Credentials,
    /// The proxy setting.
    pub proxy: ProxySetting,
    /// Warnings to print (secrets passed as flags).
    pub warnings: Vec<String>,
    /// The CAs trusted besides the platform's.
    pub tls: TlsSettings,
}

/// The resolved connection, credentials possibly missing, with where each
/// setting came from (for `doctor` and `--dry-run`).
#[derive(Debug)]
pub struct Resolved {
    /// The validated base URL, without a trailing slash.
    pub base_url: BaseUrl,
    /// The credentials, or why there are none usable (exit 3).
    pub credentials: Result<Credentials>,
    /// The proxy setting (flag > environment > profile).
    pub proxy: ProxySetting,
    /// Warnings to print (secrets passed as flags).
    pub warnings: Vec<String>,
    /// Where each setting came from.
    pub origin: Origin,
    /// The CAs trusted besides the platform's.
    pub tls: TlsSettings,
}

/// Where each connection setting came from, in words (no secret in here).
#[derive(Clone, Debug, Default)]
pub struct Origin {
    /// The config file's path and whether it exists (`None`: no path known).
    pub config_file: Option<(PathBuf, bool)>,
    /// The profile name.
    pub profile: String,
    /// Where the profile name came from.
    pub profile_source: &'static str,
    /// Where the base URL came from.
    pub base_url_source: String,
    /// The credential scheme and where its parts came from, e.g.
    /// `Basic: access key from GONG_ACCESS_KEY, secret from GONG_ACCESS_KEY_SECRET`.
    pub credentials: String,
    /// The access key, masked (first 4 characters), if Basic.
    pub access_key_masked: Option<String>,
}

/// An access key shown for recognition only: its first 4 characters.
pub fn mask(value: &str) -> String {
    let shown: String = value.chars().take(4).collect();
    if value.chars().count() > 4 {
        format!("{shown}…")
    } else {
        "…".to_owned()
    }
}

/// The config file path, and whether the user chose it (`$GONG_LOGS_CONFIG`).
pub fn config_path(env: EnvFn<'_>) -> Option<(PathBuf, bool)> {
    if let Some(p) = env("GONG_LOGS_CONFIG") {
        return Some((PathBuf::from(p), true));
    }
    let base = env("XDG_CONFIG_HOME")
        .map(PathBuf::from)
        .or_else(|| env("HOME").map(|h| Path::new(&h).join(".config")))?;
    Some((base.join("gong-logs").join("config.toml"), false))
}

/// The profile names of the config file, for shell completion: empty when
/// there is no readable, well-formed file (errors are not shown while
/// completing).
pub fn profile_names(env: EnvFn<'_>) -> Vec<String> {
    let Some((path, _)) = config_path(env) else {
        return Vec::new();
    };
    let Ok(Some((text, _))) = read_config(&path) else {
        return Vec::new();
    };
    toml::from_str::<BTreeMap<String, toml::Value>>(&text)
        .map(|profiles| profiles.into_keys().collect())
        .unwrap_or_default()
}

/// The first non-empty of a setting's flag, environment variable and
/// profile key, with where it came from.
fn pick(
    flag: Option<&str>,
    var: Option<String>,
    profile: Option<&str>,
) -> Option<(String, Source)> {
    [
        (flag.map(str::to_owned), Source::Flag),
        (var, Source::Env),
        (profile.map(str::to_owned), Source::Profile),
    ]
    .into_iter()
    .find_map(|(v, s)| v.filter(|v| !v.is_empty()).map(|v| (v, s)))
}

/// [`check_trusted`], then [`load_profiles`].
fn load_trusted(
    path: &Path,
    explicit: bool,
    env: EnvFn<'_>,
) -> Result<Option<BTreeMap<String, Profile>>> {
    check_trusted(path, env("HOME").as_deref().map(Path::new))?;
    load_profiles(path, explicit)
}

/// Resolves base URL and credentials: flags > environment > profile.
pub fn resolve(flags: &ConnectionFlags, env: EnvFn<'_>) -> Result<Connection> {
    let resolved = resolve_all(flags, env)?;
    Ok(Connection {
        base_url: resolved.base_url,
        credentials: resolved.credentials?,
        proxy: resolved.proxy,
        warnings: resolved.warnings,
        tls: resolved.tls,
    })
}

/// Like [`resolve`], but missing or partial credentials are reported in
/// [`Resolved::credentials`] rather than as the error, and the origin of
/// every setting is kept.
pub fn resolve_all(flags: &ConnectionFlags, env: EnvFn<'_>) -> Result<Resolved> {
    let choice = ProfileChoice::of(flags, env);
    let mut origin = Origin {
        config_file: config_path(env).map(|(p, _)| {
            let exists = p.is_file();
            (p, exists)
        }),
        profile: choice.name.clone(),
        profile_source: choice.source,
        ..Origin::default()
    };
    let profile = choice.load(env)?;
    let (base_url, base_source) = pick(
        flags.base_url.as_deref(),
        env("GONG_BASE_URL"),
        profile.base_url.as_deref(),
    )
    .unwrap_or_else(|| (DEFAULT_BASE_URL.to_owned(), Source::Profile));
    origin.base_url_source = if base_url == DEFAULT_BASE_URL && base_source == Source::Profile {
        "default".to_owned()
    } else {
        source_name(base_source, "--base-url", "GONG_BASE_URL", &choice.name)
    };
    let parts = CredentialParts::pick(flags, env, &profile);
    parts.register_secrets();
    // Validated only now: a secret pasted as the base URL is then redacted
    // from the message that quotes it.
    let base_url = validated_base_url(&base_url, base_source)?;
    let proxy = proxy::pick(
        flags.proxy.as_deref(),
        profile.proxy.as_deref(),
        &choice.name,
        &base_url,
        env,
    )?;
    let warnings = flag_warnings(flags);
    let tls = TlsSettings::resolve(
        flags.ca_cert.as_deref(),
        profile.ca_cert.as_deref(),
        &choice.name,
        env,
    )?;
    let use_bearer = parts.use_bearer()?;
    origin.credentials = parts.describe(use_bearer, &choice.name);
    if !use_bearer {
        origin.access_key_masked = parts.key.as_ref().map(|(k, _)| mask(k));
    }
    Ok(Resolved {
        base_url,
        credentials: parts.credentials(use_bearer, &choice.name, env),
        proxy,
        warnings,
        origin,
        tls,
    })
}

/// The profile to read: `--profile`, else `GONG_PROFILE`, else `default`.
struct ProfileChoice {
    name: String,
    /// Named by a flag or the environment: it must exist.
    explicit: bool,
    /// Where the name came from, in words.
    source: &'static str,
}

impl ProfileChoice {
    fn of(flags: &ConnectionFlags, env: EnvFn<'_>) -> Self {
        let (chosen, source) = match (&flags.profile, env("GONG_PROFILE")) {
            (Some(name), _) => (Some(name.clone()), "--profile"),
            (None, Some(name)) => (Some(name), "GONG_PROFILE"),
            (None, None) => (None, "default"),
        };
        Self {
            explicit: chosen.is_some(),
            name: chosen.unwrap_or_else(|| "default".to_owned()),
            source,
        }
    }

    /// The chosen profile of the config file; empty when there is no file
    /// or no such profile, unless the profile was named (then an error).
    fn load(&self, env: EnvFn<'_>) -> Result<Profile> {
        let name = &self.name;
        let Some((path, explicit)) = config_path(env) else {
            return if self.explicit {
                Err(Failure::usage(format!(
                    "profile {name:?} requested but no config file path is known: set GONG_LOGS_CONFIG"
                )))
            } else {
                Ok(Profile::default())
            };
        };
        let Some(mut profiles) = load_trusted(&path, explicit, env)? else {
            return if self.explicit {
                Err(Failure::usage(format!(
                    "profile {name:?} requested but there is no config file at {}",
                    path.display()
                )))
            } else {
                Ok(Profile::default())
            };
        };
        match profiles.remove(name) {
            Some(p) => Ok(p),
            None if self.explicit => {
                let names: Vec<_> = profiles.keys().map(String::as_str).collect();
                Err(Failure::usage(format!(
                    "profile {name:?} is not in config file {} (profiles there: {})",
                    path.display(),
                    if names.is_empty() {
                        "none".to_owned()
                    } else {
                        names.join(", ")
                    }
                )))
            }
            None => Ok(Profile::default()),
        }
    }
}

/// The base URL, checked, without a trailing slash; an error names where
/// it came from.
fn validated_base_url(base_url: &str, source: Source) -> Result<BaseUrl> {
    BaseUrl::parse(base_url).map_err(|e| {
        let from = match source {
            Source::Flag => "--base-url",
            Source::Env => "GONG_BASE_URL",
            Source::Profile => "the config profile",
        };
        Failure::usage(format!("{e} (from {from})"))
    })
}

/// Warnings about secrets given as flags.
fn flag_warnings(flags: &ConnectionFlags) -> Vec<String> {
    let mut warnings = Vec::new();
    if flags.access_key_secret.is_some() {
        warnings.push(
            "--access-key-secret on the command line is kept in shell history and visible to other users (ps); prefer GONG_ACCESS_KEY_SECRET or a config profile".to_owned(),
        );
    }
    if flags.bearer_token.is_some() {
        warnings.push(
            "--bearer-token on the command line is kept in shell history and visible to other users (ps); prefer GONG_BEARER_TOKEN or a config profile".to_owned(),
        );
    }
    warnings
}

/// The credential settings, each with where it came from.
struct CredentialParts {
    key: Option<(String, Source)>,
    secret: Option<(String, Source)>,
    bearer: Option<(String, Source)>,
}

impl CredentialParts {
    /// Each part from the first place that sets it.
    fn pick(flags: &ConnectionFlags, env: EnvFn<'_>, profile: &Profile) -> Self {
        Self {
            key: pick(
                flags.access_key.as_deref(),
                env("GONG_ACCESS_KEY"),
                profile.access_key.as_deref(),
            ),
            secret: pick(
                flags.access_key_secret.as_deref(),
                env("GONG_ACCESS_KEY_SECRET"),
                profile.access_key_secret.as_deref(),
            ),
            bearer: pick(
                flags.bearer_token.as_deref(),
                env("GONG_BEARER_TOKEN"),
                profile.bearer_token.as_deref(),
            ),
        }
    }

    /// Tells the redactor every secret, in every form it could be printed.
    fn register_secrets(&self) {
        for (value, _) in [&self.secret, &self.bearer].into_iter().flatten() {
            crate::exit::register_secret(value);
        }
        if let (Some((k, _)), Some((s, _))) = (&self.key, &self.secret) {
            crate::exit::register_basic(k, s);
        }
    }

    /// Whether Bearer wins over Basic: it is set at a place of higher
    /// precedence; both at the same place is refused.
    fn use_bearer(&self) -> Result<bool> {
        let basic_rank = [&self.key, &self.secret]
            .into_iter()
            .flatten()
            .map(|(_, s)| *s)
            .min();
        match (&self.bearer, basic_rank) {
            (Some((_, b)), Some(r)) if *b == r => Err(Failure::usage(format!(
                "both Basic (access key) and Bearer credentials are set {}: keep only one",
                describe(*b)
            ))),
            (Some((_, b)), Some(r)) => Ok(*b < r),
            (Some(_), None) => Ok(true),
            (None, _) => Ok(false),
        }
    }

    /// The scheme and where its parts came from, in words (no secret).
    fn describe(&self, use_bearer: bool, profile: &str) -> String {
        if use_bearer && let Some((_, source)) = &self.bearer {
            return format!(
                "Bearer: token from {}",
                source_name(*source, "--bearer-token", "GONG_BEARER_TOKEN", profile)
            );
        }
        let key = self.key.as_ref().map(|(_, source)| {
            let from = source_name(*source, "--access-key", "GONG_ACCESS_KEY", profile);
            format!("access key from {from}")
        });
        let secret = self.secret.as_ref().map(|(_, source)| {
            let from = source_name(
                *source,
                "--access-key-secret",
                "GONG_ACCESS_KEY_SECRET",
                profile,
            );
            format!("secret from {from}")
        });
        let parts: Vec<String> = [key, secret].into_iter().flatten().collect();
        if parts.is_empty() {
            "<none>".to_owned()
        } else {
            format!("Basic: {}", parts.join(", "))
        }
    }

    /// The credentials, or why there are none usable (exit 3).
    fn credentials(&self, use_bearer: bool, profile: &str, env: EnvFn<'_>) -> Result<Credentials> {
        if use_bearer && let Some((token, _)) = &self.bearer {
            return Ok(Credentials::bearer(token));
        }
        match (&self.key, &self.secret) {
            (Some((k, _)), Some((s, _))) => Ok(Credentials::basic(k, s)),
            (Some(_), None) => Err(Failure::auth(
                "an access key is set but its secret is not: set GONG_ACCESS_KEY_SECRET (or access_key_secret in the config profile)",
            )),
            (None, Some(_)) => Err(Failure::auth(
                "an access key secret is set but the access key is not: set GONG_ACCESS_KEY (or access_key in the config profile)",
            )),
            (None, None) => {
                let file = config_path(env)
                    .map(|(p, _)| format!(" or profile {profile:?} in {}", p.display()))
                    .unwrap_or_default();
                Err(Failure::auth(format!(
                    "no credentials: set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_BEARER_TOKEN{file}"
                )))
            }
        }
    }
}

fn source_name(source: Source, flag: &str, var: &str, profile: &str) -> String {
    match source {
        Source::Flag => flag.to_owned(),
        Source::Env => var.to_owned(),
        Source::Profile => format!("profile {profile:?} of the config file"),
    }
}

fn describe(source: Source) -> &'static str {
    match source {
        Source::Flag => "as flags",
        Source::Env => "in the environment",
        Source::Profile => "in the config profile",
    }
}

#[cfg(test)]
mod tests;
