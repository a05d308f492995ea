//! How the client reaches the base URL: directly or through which proxy,
//! decided once when the client is built ([`Route::resolve`]) from the
//! proxy setting ([`ProxySetting`]: the environment, as
//! [`crate::ProxyEnv`] reads and checks it, an explicit URL, or none) with
//! hyper-util's matcher, the one reqwest itself uses (so `NO_PROXY` is
//! matched as reqwest matches it). The client is then given exactly that
//! proxy, or none, and never reads the environment itself: what was
//! checked is what is used. Also which failures are the proxy's
//! ([`classify`]).

use std::ffi::OsString;

use hyper_util::client::proxy::matcher::Matcher;

use crate::error::{ApiError, ProxyFailure};
use crate::proxy::{ProxyEnv, ProxyError, check_url};

/// Which proxy to use.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum ProxySetting {
    /// The standard variables (`HTTPS_PROXY`, `HTTP_PROXY`, `ALL_PROXY`,
    /// `NO_PROXY`, either case): see [`crate::ProxyEnv`].
    #[default]
    Environment,
    /// None: connect directly, whatever the environment says.
    Direct,
    /// This proxy URL (`http://[user:password@]host:port` or `https://`),
    /// from `source` (e.g. `--proxy`, for messages); `NO_PROXY` still
    /// applies, as with curl's `--proxy`.
    Url {
        /// The URL (it may hold credentials: never shown).
        url: String,
        /// Where it came from, in words.
        source: String,
    },
}

/// How requests reach the base URL (no secret in here).
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub struct Route {
    /// The proxy, `scheme://host:port` (credentials removed), or `None`
    /// for a direct connection.
    pub proxy: Option<String>,
    /// The proxy's `host:port`, for messages.
    pub proxy_host_port: Option<String>,
    /// Where the proxy came from (a variable, `--proxy`, a profile), or why
    /// the connection is direct.
    pub source: String,
    /// Whether `NO_PROXY` matched the base URL's host (then direct).
    pub no_proxy_matched: bool,
    /// Whether the proxy is given credentials (never shown).
    pub authenticates: bool,
}

impl Route {
    /// The route to `base` for `setting`, reading the environment through
    /// `lookup`, and the reqwest proxy that takes it (`None`: direct).
    pub fn resolve(
        setting: &ProxySetting,
        base: &url::Url,
        lookup: impl Fn(&str) -> Option<OsString>,
    ) -> Result<(Self, Option<reqwest::Proxy>), ProxyError> {
        let (url, source, no_proxy) = match setting {
            ProxySetting::Direct => return Ok((Self::direct("--proxy none"), None)),
            ProxySetting::Environment => {
                let env = ProxyEnv::read(&lookup)?;
                let variable = if base.scheme() == "https" {
                    env.https
                } else {
                    env.http
                };
                let Some(variable) = variable else {
                    return Ok((Self::direct("no proxy set"), None));
                };
                let url = lookup(variable).and_then(|v| v.into_string().ok());
                (url.unwrap_or_default(), variable.to_owned(), env.no_proxy)
            }
            ProxySetting::Url { url, source } => {
                check_url(url).map_err(|reason| ProxyError {
                    variable: "URL",
                    reason,
                })?;
                let no_proxy = ProxyEnv::read(&lookup)?.no_proxy;
                (url.clone(), source.clone(), no_proxy)
            }
        };
        Ok(Self::through(&url, source, no_proxy.as_deref(), base))
    }

    fn direct(why: &str) -> Self {
        Self {
            proxy: None,
            proxy_host_port: None,
            source: why.to_owned(),
            no_proxy_matched: false,
            authenticates: false,
        }
    }

    /// Through the proxy at `url` unless `no_proxy` matches `base`'s host.
    fn through(
        url: &str,
        source: String,
        no_proxy: Option<&str>,
        base: &url::Url,
    ) -> (Self, Option<reqwest::Proxy>) {
        let matcher = Matcher::builder()
            .all(url.to_owned())
            .no(no_proxy.unwrap_or_default().to_owned())
            .build();
        let target: Option<http::Uri> = base.as_str().parse().ok();
        let host = base.host_str().unwrap_or_default();
        let Some(intercept) = target.as_ref().and_then(|t| matcher.intercept(t)) else {
            let mut route = Self::direct(&format!("NO_PROXY matches {host}"));
            route.no_proxy_matched = true;
            return (route, None);
        };
        let uri = intercept.uri();
        let scheme = uri.scheme_str().unwrap_or("http");
        let host_port = match (uri.host(), uri.port_u16()) {
            (Some(h), Some(p)) => format!("{h}:{p}"),
            (Some(h), None) => format!("{h}:{}", if scheme == "https" { 443 } else { 80 }),
            _ => String::new(),
        };
        let auth = intercept.basic_auth().cloned();
        let mut proxy = reqwest::Proxy::all(format!("{scheme}://{host_port}"))
            .expect("a checked proxy URL rebuilt from its parts");
        if let Some(auth) = &auth {
            proxy = proxy.custom_http_auth(auth.clone());
        }
        let route = Self {
            proxy: Some(format!("{scheme}://{host_port}")),
            proxy_host_port: Some(host_port),
            source,
            no_proxy_matched: false,
            authenticates: auth.is_some(),
        };
        (route, Some(proxy))
    }
}

/// The proxy's part in `error`, when requests go through one: a refused
/// CONNECT (407, or another status), a proxy that cannot be reached, or a
/// 407 answer to a plain-http request become [`ApiError::Proxy`], named;
/// anything else is the server's and stays as it is.
pub(crate) fn classify(route: &Route, error: ApiError, target_https: bool) -> ApiError {
    let Some(proxy) = &route.proxy_host_port else {
        return error;
    };
    let failure = match &error {
        ApiError::Unexpected { status: 407, .. } => ProxyFailure::AuthRequired,
        ApiError::Transport { error: source, .. } => {
            let text = crate::wire::causes(source);
            if text.contains("tunnel error: proxy authorization required") {
                ProxyFailure::AuthRequired
            } else if text.contains("tunnel error: failed to create underlying connection")
                || (!target_https && source.is_connect())
            {
                ProxyFailure::Unreachable
            } else if text.contains("tunnel error:") {
                ProxyFailure::Refused
            } else {
                return error;
            }
        }
        _ => return error,
    };
    let detail = match (&error, failure) {
        (ApiError::Transport { error, .. }, ProxyFailure::Unreachable) => last_cause(error),
        _ => String::new(),
    };
    ApiError::Proxy {
        proxy: proxy.clone(),
        setting: route.source.clone(),
        failure,
        detail,
    }
}

/// The innermost cause of `error` (e.g. "Connection refused (os error 111)").
fn last_cause(error: &(dyn std::error::Error + 'static)) -> String {
    let mut last = error;
    while let Some(inner) = last.source() {
        last = inner;
    }
    last.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn resolve(setting: &ProxySetting, base: &str, vars: &[(&str, &str)]) -> Route {
        let base = url::Url::parse(base).unwrap();
        let lookup = |name: &str| {
            vars.iter()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| OsString::from(v))
        };
        let (route, proxy) = Route::resolve(setting, &base, lookup).unwrap();
        assert_eq!(route.proxy.is_some(), proxy.is_some());
        route
    }

    #[test]
    fn the_route_is_the_setting_for_the_base_urls_scheme_unless_no_proxy_matches() {
        let gong = "https://company-17.api.gong.io";
        let all = [("ALL_PROXY", "http://u:p%40ss@proxy.example:3128")];
        let route = resolve(&ProxySetting::Environment, gong, &all);
        assert_eq!(route.proxy.as_deref(), Some("http://proxy.example:3128"));
        assert_eq!(route.proxy_host_port.as_deref(), Some("proxy.example:3128"));
        assert_eq!(route.source, "ALL_PROXY");
        assert!(route.authenticates);
        // HTTP_PROXY serves http:// only.
        let http_only = [("HTTP_PROXY", "http://proxy.example:3128")];
        let route = resolve(&ProxySetting::Environment, gong, &http_only);
        assert_eq!((route.proxy, route.source.as_str()), (None, "no proxy set"));
        // NO_PROXY, as reqwest matches it (a domain suffix).
        let bypass = [all[0], ("NO_PROXY", ".gong.io")];
        let route = resolve(&ProxySetting::Environment, gong, &bypass);
        assert!(route.no_proxy_matched && route.proxy.is_none());
        assert_eq!(route.source, "NO_PROXY matches company-17.api.gong.io");
        // An explicit URL (default port), NO_PROXY still applying; none.
        let explicit = ProxySetting::Url {
            url: "https://proxy.example".to_owned(),
            source: "--proxy".to_owned(),
        };
        let route = resolve(&explicit, gong, &all);
        assert_eq!(route.proxy.as_deref(), Some("https://proxy.example:443"));
        assert!(!route.authenticates);
        assert!(resolve(&explicit, gong, &bypass).no_proxy_matched);
        let route = resolve(&ProxySetting::Direct, gong, &all);
        assert_eq!((route.proxy, route.source.as_str()), (None, "--proxy none"));
    }

    #[test]
    fn an_unusable_explicit_url_is_an_error_without_the_value() {
        let base = url::Url::parse("https://api.gong.io").unwrap();
        for url in ["socks5://u:hunter2@p:1080", "http://u:hunter2@", "ftp://p"] {
            let setting = ProxySetting::Url {
                url: url.to_owned(),
                source: "--proxy".to_owned(),
            };
            let error = Route::resolve(&setting, &base, |_| None).unwrap_err();
            assert!(!error.to_string().contains("hunter2"), "{error}");
        }
    }
}
