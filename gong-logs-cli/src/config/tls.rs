//! The TLS settings: `--ca-cert FILE` > `GONG_CA_CERT` > a profile's
//! `ca_cert`, a PEM bundle of CAs trusted besides the platform's; and the
//! OpenSSL-style variables the platform verifier reads on Linux
//! (`SSL_CERT_FILE`, `SSL_CERT_DIR`: they replace the system store), checked
//! so that one naming nothing is an error naming it, not "no CA loaded".

use std::path::Path;

use gong_logs_api::CaBundle;

use super::{EnvFn, Source, source_name};
use crate::exit::{Failure, Result};

/// The CAs a client trusts besides the platform's, and where they came from.
#[derive(Clone, Debug, Default)]
pub struct TlsSettings {
    /// The bundle of `--ca-cert` / `GONG_CA_CERT` / `ca_cert`, read.
    pub ca_cert: Option<CaBundle>,
    /// Where it came from, in words (`--ca-cert`, `GONG_CA_CERT`, ...).
    pub ca_cert_source: Option<String>,
    /// `SSL_CERT_FILE` / `SSL_CERT_DIR` as set (they replace the system store).
    pub openssl_vars: Vec<(&'static str, String)>,
}

impl TlsSettings {
    /// Resolves `--ca-cert` (`flag`) > `GONG_CA_CERT` > the profile's
    /// `ca_cert`, reading the bundle; checks `SSL_CERT_FILE`/`SSL_CERT_DIR`.
    pub(super) fn resolve(
        flag: Option<&str>,
        profile_value: Option<&str>,
        profile: &str,
        env: EnvFn<'_>,
    ) -> Result<Self> {
        let openssl_vars = openssl_vars(env)?;
        let Some((path, source)) = super::pick(flag, env("GONG_CA_CERT"), profile_value) else {
            return Ok(Self {
                openssl_vars,
                ..Self::default()
            });
        };
        let from = match source {
            Source::Profile => format!("ca_cert of {}", source_name(source, "", "", profile)),
            _ => source_name(source, "--ca-cert", "GONG_CA_CERT", profile),
        };
        let bundle = CaBundle::from_pem_file(Path::new(&path)).map_err(|e| {
            Failure::usage(format!(
                "{e} (from {from}): give a PEM file of CA certificates"
            ))
        })?;
        Ok(Self {
            ca_cert: Some(bundle),
            ca_cert_source: Some(from),
            openssl_vars,
        })
    }

    /// The CA sources, in words (for `doctor`).
    pub fn describe(&self) -> String {
        let mut text = match self.openssl_vars.as_slice() {
            [] => "the system store".to_owned(),
            vars => format!(
                "{} (read instead of the system store)",
                vars.iter()
                    .map(|(name, value)| format!("{name}={value}"))
                    .collect::<Vec<_>>()
                    .join(", ")
            ),
        };
        if let (Some(bundle), Some(from)) = (&self.ca_cert, &self.ca_cert_source) {
            text.push_str(&format!(
                " + {} ({} certificate{}, from {from})",
                bundle.path().display(),
                bundle.len(),
                if bundle.len() == 1 { "" } else { "s" }
            ));
        }
        text
    }
}

/// `SSL_CERT_FILE` must name a readable file, each `SSL_CERT_DIR` entry a
/// directory: the verifier would silently skip them and trust nothing.
fn openssl_vars(env: EnvFn<'_>) -> Result<Vec<(&'static str, String)>> {
    let mut vars = Vec::new();
    if let Some(file) = env("SSL_CERT_FILE") {
        if let Err(e) = std::fs::File::open(&file) {
            return Err(Failure::usage(format!(
                "SSL_CERT_FILE={file} cannot be read ({e}): point it at a PEM bundle of CA certificates, or unset it to use the system store"
            )));
        }
        vars.push(("SSL_CERT_FILE", file));
    }
    if let Some(dirs) = env("SSL_CERT_DIR") {
        for dir in std::env::split_paths(&dirs).filter(|d| !d.as_os_str().is_empty()) {
            if !dir.is_dir() {
                return Err(Failure::usage(format!(
                    "SSL_CERT_DIR names {}, which is not a directory: correct it, or unset it to use the system store",
                    dir.display()
                )));
            }
        }
        vars.push(("SSL_CERT_DIR", dirs));
    }
    Ok(vars)
}
