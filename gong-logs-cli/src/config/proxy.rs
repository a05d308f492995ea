//! The proxy setting: `--proxy`, else the standard variables (when one
//! serves the base URL's scheme), else the profile's `proxy` key; `none`
//! (flag or key) connects directly whatever the environment says. Every
//! proxy URL seen, used or not, is handed to the redactor first (its
//! password must never be printed).

use std::ffi::OsString;

use gong_logs_api::{BaseUrl, PROXY_VARIABLES, ProxyEnv, ProxySetting};

use super::EnvFn;
use crate::exit::{Failure, Result};

/// The proxy for `base_url`, with flag > environment > profile.
pub(super) fn pick(
    flag: Option<&str>,
    profile: Option<&str>,
    profile_name: &str,
    base_url: &BaseUrl,
    env: EnvFn<'_>,
) -> Result<ProxySetting> {
    register(flag, profile, env);
    if let Some(value) = flag.filter(|v| !v.is_empty()) {
        return explicit(value, "--proxy".to_owned());
    }
    // A proxy variable that is set takes it; one that cannot be used is
    // the HTTP client's error (`GongClient::new`), naming it.
    let environment = ProxyEnv::read(|name| env(name).map(OsString::from));
    let serves = |env: &ProxyEnv| {
        if base_url.is_https() {
            env.https.is_some()
        } else {
            env.http.is_some()
        }
    };
    if environment.as_ref().map_or(true, serves) {
        return Ok(ProxySetting::Environment);
    }
    match profile.filter(|v| !v.is_empty()) {
        Some(value) => explicit(
            value,
            format!("profile {profile_name:?} of the config file (key proxy)"),
        ),
        None => Ok(ProxySetting::Environment),
    }
}

/// `none`, or a URL checked now (a usage error naming `source`, never the
/// value).
fn explicit(value: &str, source: String) -> Result<ProxySetting> {
    if value.eq_ignore_ascii_case("none") {
        return Ok(ProxySetting::Direct);
    }
    gong_logs_api::check_proxy_url(value).map_err(|reason| {
        Failure::usage(format!(
            "the proxy URL from {source} cannot be used: {reason}"
        ))
    })?;
    Ok(ProxySetting::Url {
        url: value.to_owned(),
        source,
    })
}

/// Tells the redactor the credentials of every proxy URL there is.
fn register(flag: Option<&str>, profile: Option<&str>, env: EnvFn<'_>) {
    let vars = PROXY_VARIABLES
        .iter()
        .flatten()
        .filter_map(|name| env(name));
    for url in vars
        .chain(flag.map(str::to_owned))
        .chain(profile.map(str::to_owned))
    {
        crate::exit::register_proxy_url(&url);
    }
}
