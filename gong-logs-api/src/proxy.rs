//! The proxy settings of the environment, read as reqwest reads them
//! (hyper-util's matcher: `HTTPS_PROXY`/`https_proxy`, `HTTP_PROXY`/
//! `http_proxy`, `ALL_PROXY`/`all_proxy`, `NO_PROXY`/`no_proxy`, the
//! upper-case name first; none at all when `REQUEST_METHOD` is set, as
//! under CGI), and checked: reqwest silently ignores a value it cannot
//! use and connects directly, which in a network whose proxy is required
//! for audit bypasses it. Here any set variable reqwest would not use is a
//! [`ProxyError`] (`ConfigError::Proxy` from `GongClient::new`) naming the variable, never its value (it may hold
//! `user:password`).
//!
//! [`ProxyEnv::read`] is the one place that reads and validates them; an
//! explicit proxy setting would be checked by the same [`check_url`].

use std::ffi::OsString;

/// A proxy variable that cannot be used, named (its value never shown).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the proxy variable {variable} cannot be used: {reason}; correct or unset it")]
pub struct ProxyError {
    /// The variable (its value is never shown: it may hold a password).
    pub variable: &'static str,
    /// Why.
    pub reason: String,
}

/// The proxy variables, each as the pair reqwest reads (the first set one
/// wins, even when empty).
pub const PROXY_VARIABLES: [[&str; 2]; 4] = [
    ["HTTPS_PROXY", "https_proxy"],
    ["HTTP_PROXY", "http_proxy"],
    ["ALL_PROXY", "all_proxy"],
    ["NO_PROXY", "no_proxy"],
];

/// The proxy settings reqwest will use, checked. A proxy URL is kept as
/// the variable that holds it (its value may carry credentials).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct ProxyEnv {
    /// The variable whose proxy serves `https://` requests, if any.
    pub https: Option<&'static str>,
    /// The variable whose proxy serves `http://` requests, if any.
    pub http: Option<&'static str>,
    /// `NO_PROXY`'s value (host names and addresses, no secret).
    pub no_proxy: Option<String>,
}

impl ProxyEnv {
    /// Reads and checks the process environment.
    pub fn from_env() -> Result<Self, ProxyError> {
        Self::read(|name| std::env::var_os(name))
    }

    /// Reads and checks the variables through `lookup`.
    pub fn read(lookup: impl Fn(&str) -> Option<OsString>) -> Result<Self, ProxyError> {
        let mut chosen: [Option<(&'static str, String)>; 4] = Default::default();
        for (slot, pair) in chosen.iter_mut().zip(PROXY_VARIABLES) {
            *slot = pick(pair, &lookup)?;
        }
        let [https, http, all, no_proxy] = chosen;
        let urls = [&https, &http, &all];
        for (variable, value) in urls.into_iter().flatten() {
            if !value.is_empty() {
                check_url(value).map_err(|reason| ProxyError { variable, reason })?;
            }
        }
        if lookup("REQUEST_METHOD").is_some()
            && let Some((variable, _)) = urls.into_iter().flatten().find(|(_, v)| !v.is_empty())
        {
            return Err(ProxyError {
                variable,
                reason: "REQUEST_METHOD is set (a CGI environment), in which the HTTP client ignores every proxy variable; unset REQUEST_METHOD".to_owned(),
            });
        }
        // An empty value is no proxy of its own: ALL_PROXY then applies.
        let set = |v: &Option<(&'static str, String)>| {
            v.as_ref()
                .filter(|(_, value)| !value.is_empty())
                .map(|(name, _)| *name)
        };
        let used = |own: &Option<(&'static str, String)>| set(own).or(set(&all));
        Ok(Self {
            https: used(&https),
            http: used(&http),
            no_proxy: no_proxy.map(|(_, v)| v).filter(|v| !v.is_empty()),
        })
    }
}

/// The variable of `pair` reqwest reads and its value: the upper-case one
/// if set, else the lower-case one. Either not UTF-8, or both set to
/// different values (one would be ignored), is an error.
fn pick(
    pair: [&'static str; 2],
    lookup: &impl Fn(&str) -> Option<OsString>,
) -> Result<Option<(&'static str, String)>, ProxyError> {
    let mut values = Vec::new();
    for variable in pair {
        if let Some(value) = lookup(variable) {
            let value = value.into_string().map_err(|_| ProxyError {
                variable,
                reason: "it is not valid UTF-8".to_owned(),
            })?;
            values.push((variable, value));
        }
    }
    match values.as_slice() {
        [(upper, a), (lower, b)] if a != b => Err(ProxyError {
            variable: upper,
            reason: format!(
                "{upper} and {lower} are both set, to different values, and only {upper} would be used; keep one"
            ),
        }),
        _ => Ok(values.into_iter().next()),
    }
}

/// Why a proxy URL cannot be used, or `Ok` when reqwest would use it as
/// given: no surrounding whitespace, an http `Uri` with a host, scheme
/// `http` or `https` (or none: http). SOCKS needs a reqwest feature this
/// build does not have. The reason never quotes the value.
pub fn check_url(value: &str) -> Result<(), String> {
    if value.trim() != value {
        return Err("it has spaces or line breaks around it".to_owned());
    }
    let uri: http::Uri = value
        .parse()
        .map_err(|_| "it is not a URL (expected http://HOST:PORT)".to_owned())?;
    match uri.scheme_str() {
        None | Some("http" | "https") => {}
        Some("socks4" | "socks4a" | "socks5" | "socks5h") => {
            return Err("SOCKS proxies are not supported: use an http:// proxy".to_owned());
        }
        Some(_) => {
            return Err("its scheme is not supported: use http:// or https://".to_owned());
        }
    }
    let authority = uri.authority().ok_or("it has no host")?;
    let host_port = authority
        .as_str()
        .rsplit_once('@')
        .map_or(authority.as_str(), |(_, h)| h);
    if host_port.is_empty() || host_port.starts_with(':') {
        return Err("it has no host".to_owned());
    }
    let authority =
        http::uri::Authority::try_from(host_port).map_err(|_| "its host or port is malformed")?;
    // `Uri` keeps a port it cannot read, and the client would then use the
    // default port instead.
    let port_text = host_port
        .rsplit_once(':')
        .map(|(_, p)| p)
        .filter(|p| !p.contains(']'));
    if port_text.is_some() && authority.port_u16().is_none() {
        return Err("its port is not a number from 0 to 65535".to_owned());
    }
    Ok(())
}

/// The user name and password of a proxy URL (`http://user:pass@host`),
/// percent-decoded as the HTTP client decodes them, for a redactor to
/// learn: `None` without credentials.
pub fn proxy_credentials(value: &str) -> Option<(String, String)> {
    let uri: http::Uri = value.trim().parse().ok()?;
    let (userinfo, _) = uri.authority()?.as_str().rsplit_once('@')?;
    let (user, password) = userinfo.split_once(':').unwrap_or((userinfo, ""));
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(s)
            .decode_utf8_lossy()
            .into_owned()
    };
    Some((decode(user), decode(password)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn read(pairs: &[(&str, &str)]) -> Result<ProxyEnv, ProxyError> {
        let pairs: Vec<(String, String)> = pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect();
        ProxyEnv::read(|name| {
            pairs
                .iter()
                .find(|(k, _)| k == name)
                .map(|(_, v)| OsString::from(v))
        })
    }

    #[test]
    fn usable_settings_are_read_as_reqwest_reads_them() {
        assert_eq!(read(&[]).unwrap(), ProxyEnv::default());
        let env = read(&[
            ("https_proxy", "http://user:pw@proxy.example:3128"),
            ("ALL_PROXY", "proxy.example:8080"),
            ("NO_PROXY", "localhost, .internal"),
        ])
        .unwrap();
        assert_eq!(env.https, Some("https_proxy"));
        assert_eq!(env.http, Some("ALL_PROXY"));
        assert_eq!(env.no_proxy.as_deref(), Some("localhost, .internal"));
        // Empty: no proxy of its own, as reqwest reads it (ALL_PROXY applies).
        assert_eq!(read(&[("HTTPS_PROXY", "")]).unwrap().https, None);
        let empty_and_all = [("HTTPS_PROXY", ""), ("ALL_PROXY", "http://p:1")];
        assert_eq!(read(&empty_and_all).unwrap().https, Some("ALL_PROXY"));
        // The same value twice is fine.
        let both = [("HTTP_PROXY", "http://p:1"), ("http_proxy", "http://p:1")];
        assert_eq!(read(&both).unwrap().http, Some("HTTP_PROXY"));
        for value in ["http://[::1]:3128", "http://[::1]", "https://proxy", "p:1"] {
            assert!(read(&[("HTTPS_PROXY", value)]).is_ok(), "{value}");
        }
    }

    #[test]
    fn values_reqwest_would_ignore_are_errors_without_the_value() {
        for (name, value) in [
            ("HTTPS_PROXY", "http://[bad"),
            ("HTTPS_PROXY", "http://127.0.0.1:3128 "),
            ("http_proxy", " http://127.0.0.1:3128"),
            ("ALL_PROXY", "ftp://user:hunter2@proxy:21"),
            ("HTTPS_PROXY", "socks5://127.0.0.1:1080"),
            ("HTTPS_PROXY", "http://user:hunter2@"),
            ("HTTPS_PROXY", "http://proxy:99999"),
            ("HTTPS_PROXY", "/just/a/path"),
        ] {
            let error = read(&[(name, value)]).expect_err(value).to_string();
            assert!(error.contains(name), "{value:?}: {error}");
            assert!(!error.contains("hunter2"), "{error}");
        }
        let error = read(&[("HTTPS_PROXY", ""), ("https_proxy", "http://p:1")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("keep one"), "{error}");
        let error = read(&[("REQUEST_METHOD", "GET"), ("HTTPS_PROXY", "http://p:1")])
            .unwrap_err()
            .to_string();
        assert!(error.contains("CGI"), "{error}");
    }

    #[test]
    fn credentials_are_read_decoded() {
        let read = proxy_credentials;
        assert_eq!(read("http://proxy:3128"), None);
        let pair = |u: &str, p: &str| Some((u.to_owned(), p.to_owned()));
        assert_eq!(read("http://u:p%40ss@proxy:3128"), pair("u", "p@ss"));
        assert_eq!(read("http://user@proxy"), pair("user", ""));
    }
}
