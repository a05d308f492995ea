//! Building the authenticated client, and fetching one page.

use std::net::IpAddr;
use std::time::Duration;

use reqwest::header::{AUTHORIZATION, HeaderMap};
use url::Url;

use crate::Credentials;
use crate::entry::LogEntry;
use crate::error::ApiError;
use crate::generated;
use crate::log_type::LogType;
use crate::route::{ProxySetting, Route};

/// The longest cursor sent back. Gong's are a few hundred bytes; the
/// cursor goes into the next URL, which servers refuse beyond about 8 KB,
/// so 4 KiB leaves room for the rest of the URL (and a 1 MB one used to
/// fail to build as a URL, retried for 70 s as "builder error").
pub const MAX_CURSOR_BYTES: usize = 4096;

/// Everything needed to talk to one Gong tenant.
#[derive(Clone, Debug)]
pub struct ClientConfig {
    /// Base URL: `https://api.gong.io` or the company's own
    /// (`https://company-17.api.gong.io`). `http://` only to loopback.
    pub base_url: BaseUrl,
    /// Basic or Bearer credentials.
    pub credentials: Credentials,
    /// Time allowed to establish a connection.
    pub connect_timeout: Duration,
    /// Time allowed between two reads of a response (Gong's pages can take
    /// seconds to start).
    pub read_timeout: Duration,
    /// Extra text appended to the user agent (e.g. the CLI's name).
    pub user_agent_suffix: Option<String>,
    /// Total deadline of one request: connecting, the headers and the whole
    /// body. A request that passes it fails as a (retryable) timeout.
    pub timeout: Duration,
    /// The largest response body accepted, in bytes; bodies are read
    /// incrementally against it, never buffered past it.
    pub max_body_bytes: u64,
    /// The proxy to go through (by default the environment's).
    pub proxy: ProxySetting,
    /// CA certificates trusted besides the platform's (a private CA, a
    /// TLS-inspecting proxy's).
    pub ca_cert: Option<crate::tls::CaBundle>,
}

impl ClientConfig {
    /// A config with default limits (connect 10 s, read 60 s, whole request
    /// 2 minutes, body 32 MiB).
    pub fn new(base_url: BaseUrl, credentials: Credentials) -> Self {
        Self {
            base_url,
            credentials,
            connect_timeout: Duration::from_secs(10),
            read_timeout: Duration::from_secs(60),
            user_agent_suffix: None,
            timeout: Self::DEFAULT_TIMEOUT,
            max_body_bytes: crate::wire::DEFAULT_BODY_LIMIT,
            proxy: ProxySetting::Environment,
            ca_cert: None,
        }
    }

    /// The default total deadline of one request.
    pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(120);
}

/// A client configuration that cannot be used.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The base URL does not parse or is not an http(s) URL of a host.
    #[error("invalid base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL as given (never contains credentials: such URLs are refused
        /// before being echoed).
        url: String,
        /// Why.
        reason: String,
    },
    /// Plain `http://` to a host that is not loopback would send the
    /// credentials in clear text.
    #[error(
        "refusing plain http:// to {host}: credentials would cross the network unencrypted; use https://"
    )]
    InsecureBaseUrl {
        /// The host.
        host: String,
    },
    /// The credentials contain characters that cannot go in an HTTP header.
    #[error("the {0} credentials contain characters not allowed in an HTTP header")]
    InvalidCredentials(&'static str),
    /// The HTTP client could not be built (TLS set-up); the cause is in
    /// the message, not also a `source()`.
    #[error("cannot build the HTTP client: {0}")]
    Http(reqwest::Error),
    /// TLS could not be set up (the platform's certificate verifier).
    #[error("cannot set up TLS: {0}")]
    Tls(String),
    /// A CA bundle that cannot be used, or TLS that cannot be set up.
    #[error(transparent)]
    TlsSetup(#[from] crate::tls::TlsConfigError),
    /// A proxy variable is set to something the HTTP client would ignore
    /// (and connect directly), see [`crate::ProxyEnv`], or an explicit
    /// proxy URL cannot be used.
    #[error(transparent)]
    Proxy(#[from] crate::proxy::ProxyError),
}

/// A base URL checked once, when it is made ([`BaseUrl::parse`]): http(s),
/// a host, no user info, no query or fragment, not ending in `/v2`;
/// `http://` only to loopback. Kept without a trailing slash.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct BaseUrl {
    url: Url,
    text: String,
}

impl BaseUrl {
    /// Parses and checks `input` (surrounding whitespace ignored).
    pub fn parse(input: &str) -> Result<Self, ConfigError> {
        let url = check_base_url(input)?;
        let text = url.as_str().trim_end_matches('/').to_owned();
        Ok(Self { url, text })
    }

    /// The URL, without a trailing slash.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The parsed URL.
    pub fn url(&self) -> &Url {
        &self.url
    }

    /// The host (for messages).
    pub fn host(&self) -> &str {
        self.url.host_str().unwrap_or_default()
    }

    /// True for `https://`.
    pub fn is_https(&self) -> bool {
        self.url.scheme() == "https"
    }
}

impl std::fmt::Display for BaseUrl {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.text)
    }
}

impl std::str::FromStr for BaseUrl {
    type Err = ConfigError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl TryFrom<&str> for BaseUrl {
    type Error = ConfigError;
    fn try_from(s: &str) -> Result<Self, Self::Error> {
        Self::parse(s)
    }
}

impl TryFrom<String> for BaseUrl {
    type Error = ConfigError;
    fn try_from(s: String) -> Result<Self, Self::Error> {
        Self::parse(&s)
    }
}

impl AsRef<str> for BaseUrl {
    fn as_ref(&self) -> &str {
        &self.text
    }
}

/// Parses and checks a base URL as [`BaseUrl::parse`] does, returning the
/// parsed [`Url`].
pub fn validate_base_url(input: &str) -> Result<Url, ConfigError> {
    BaseUrl::parse(input).map(|b| b.url)
}

fn check_base_url(input: &str) -> Result<Url, ConfigError> {
    let invalid = |reason: &str| ConfigError::InvalidBaseUrl {
        url: input.to_owned(),
        reason: reason.to_owned(),
    };
    let url = Url::parse(input.trim()).map_err(|e| ConfigError::InvalidBaseUrl {
        // A URL that does not parse is echoed only if it cannot hold user info.
        url: if input.contains('@') {
            "<redacted>".to_owned()
        } else {
            input.to_owned()
        },
        reason: e.to_string(),
    })?;
    if !url.username().is_empty() || url.password().is_some() {
        return Err(ConfigError::InvalidBaseUrl {
            url: "<redacted>".to_owned(),
            reason: "credentials in the URL are not allowed; use the credential settings".into(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(invalid("a base URL has no query or fragment"));
    }
    let host = url.host_str().ok_or_else(|| invalid("no host"))?.to_owned();
    let path = url.path().trim_end_matches('/').to_ascii_lowercase();
    if path.ends_with("/v2") || path.ends_with("/v2/logs") {
        return Err(invalid(
            "give the host only, e.g. https://company-17.api.gong.io (gong-logs adds /v2/logs itself)",
        ));
    }
    match url.scheme() {
        "https" => {}
        "http" if is_loopback(&host) => {}
        "http" => return Err(ConfigError::InsecureBaseUrl { host }),
        other => return Err(invalid(&format!("scheme {other}:// is not http(s)"))),
    }
    Ok(url)
}

fn is_loopback(host: &str) -> bool {
    let bare = host.trim_start_matches('[').trim_end_matches(']');
    host.eq_ignore_ascii_case("localhost")
        || bare.parse::<IpAddr>().is_ok_and(|ip| ip.is_loopback())
}

/// A redirect to another origin, refused by [`same_origin_redirects`].
#[derive(Debug, thiserror::Error)]
#[error("the server at {from} redirected to {to}: refused; check the base URL")]
pub(crate) struct CrossOriginRedirect {
    from: String,
    to: String,
}

/// Redirects are followed (at most 10) only within the origin of the first
/// request: same scheme, host and port. Gong's API does not redirect; a
/// redirect elsewhere would hand the export to a server the base URL did
/// not name (reqwest drops the credentials there, but the other server's
/// data would be taken as Gong's).
fn same_origin_redirects() -> reqwest::redirect::Policy {
    reqwest::redirect::Policy::custom(|attempt| {
        let first = attempt.previous().first().map(|u| u.origin());
        if first.as_ref() != Some(&attempt.url().origin()) {
            let from = first.map(|o| o.ascii_serialization()).unwrap_or_default();
            let to = attempt.url().origin().ascii_serialization();
            return attempt.error(CrossOriginRedirect { from, to });
        }
        if attempt.previous().len() > 10 {
            return attempt.error("more than 10 redirects");
        }
        attempt.follow()
    })
}

/// The client: the generated progenitor client, authenticated.
#[derive(Clone, Debug)]
pub struct GongClient {
    inner: generated::Client,
    base_url: String,
    auth_scheme: &'static str,
    user_agent: String,
    max_body_bytes: u64,
    host: String,
    route: Route,
    tls_seen: std::sync::Arc<crate::tls::Seen>,
}

/// What to ask for in one request.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PageRequest {
    /// The log type.
    pub log_type: LogType,
    /// `fromDateTime`, ISO-8601 (sent exactly as given).
    pub from: String,
    /// `toDateTime`, ISO-8601, exclusive; `None` means up to the latest entry.
    pub to: Option<String>,
    /// The cursor from the previous page.
    pub cursor: Option<String>,
}

/// One page of results.
#[derive(Clone, Debug, Default)]
pub struct Page {
    /// The entries, in the order Gong sent them.
    pub entries: Vec<LogEntry>,
    /// The cursor for the next page; `None` on the last page.
    pub cursor: Option<String>,
    /// `records.totalRecords`: entries in the whole range.
    pub total_records: Option<u64>,
    /// `records.currentPageNumber`.
    pub page_number: Option<i64>,
    /// `records.currentPageSize`: the entries this page holds, by Gong's
    /// count (`None` when missing or negative).
    pub page_size: Option<u64>,
    /// Gong's `requestId`.
    pub request_id: Option<String>,
    /// True when Gong answered 404 ("no log records in this range").
    pub not_found: bool,
    /// The server's `Date` header, if it sent a readable one.
    pub server_date: Option<jiff::Timestamp>,
}

impl GongClient {
    /// Builds a client. Fails on credentials that cannot be sent, a proxy
    /// setting that cannot be used (a variable the HTTP client would
    /// ignore, [`crate::ProxyEnv`], or a bad explicit URL) or a TLS set-up
    /// that fails. The route (direct or which proxy) is decided here, once
    /// ([`Route::resolve`]), and given to the HTTP client explicitly.
    ///
    /// TLS is rustls with the *ring* crypto provider, chosen for this client
    /// only (nothing is installed process-wide), and the platform's
    /// certificate verifier, trusting [`ClientConfig::ca_cert`]'s CAs too.
    pub fn new(config: ClientConfig) -> Result<Self, ConfigError> {
        let url = &config.base_url;
        let (route, proxy) =
            Route::resolve(&config.proxy, url.url(), |name| std::env::var_os(name))?;

        let mut headers = HeaderMap::new();
        let auth = config
            .credentials
            .header_value()
            .map_err(|_| ConfigError::InvalidCredentials(config.credentials.scheme()))?;
        headers.insert(AUTHORIZATION, auth);
        let mut user_agent = format!("{}/{}", env!("CARGO_PKG_NAME"), env!("CARGO_PKG_VERSION"));
        if let Some(suffix) = &config.user_agent_suffix {
            user_agent.push(' ');
            user_agent.push_str(suffix);
        }
        let tls_seen = std::sync::Arc::default();
        let builder = match proxy {
            Some(proxy) => reqwest::Client::builder().proxy(proxy),
            None => reqwest::Client::builder().no_proxy(),
        };
        let http = builder
            .default_headers(headers)
            .user_agent(user_agent.clone())
            .connect_timeout(config.connect_timeout)
            .read_timeout(config.read_timeout)
            .timeout(config.timeout)
            .https_only(url.is_https())
            .redirect(same_origin_redirects())
            .tls_backend_preconfigured(crate::tls::client_config(
                config.ca_cert.as_ref(),
                &tls_seen,
            )?)
            .build()
            .map_err(ConfigError::Http)?;
        let base_url = url.as_str().to_owned();
        Ok(Self {
            inner: generated::Client::new_with_client(&base_url, http),
            base_url,
            auth_scheme: config.credentials.scheme(),
            user_agent,
            max_body_bytes: config.max_body_bytes,
            host: url.host().to_owned(),
            route,
            tls_seen,
        })
    }

    /// How requests reach the base URL: directly or through which proxy.
    pub fn route(&self) -> &Route {
        &self.route
    }

    /// `error` with the proxy's part named ([`crate::route::classify`]).
    pub(crate) async fn classify(
        &self,
        error: progenitor_client::Error<generated::types::ErrorResponse>,
    ) -> ApiError {
        let error = ApiError::from_progenitor(error).await;
        crate::route::classify(&self.route, error, self.base_url.starts_with("https:"))
    }

    /// The base URL requests go to (no trailing slash).
    pub fn base_url(&self) -> &str {
        &self.base_url
    }

    /// The host of the base URL (for messages).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The server certificate and TLS version of the last full handshake.
    pub(crate) fn tls_seen(&self) -> (Option<crate::tls::CertFacts>, Option<&'static str>) {
        self.tls_seen.get()
    }

    /// The generated client, for calls the hand-written layer does not wrap.
    pub fn generated(&self) -> &generated::Client {
        &self.inner
    }

    /// The request [`Self::fetch_page`] would send, as text: the method and
    /// URL, then the headers (the credentials shown as `Basic ***` or
    /// `Bearer ***`). It is the request the generated code builds, captured
    /// by a progenitor hook just before sending, and nothing is sent.
    pub async fn preview(&self, request: &PageRequest) -> String {
        let captured = crate::wire::PREVIEW
            .scope(std::cell::RefCell::new(None), async {
                let _ = self.fetch_page(request).await;
                crate::wire::PREVIEW.with(|slot| slot.borrow_mut().take())
            })
            .await;
        let Some(captured) = captured else {
            return String::new();
        };
        let mut headers: Vec<(String, String)> = captured
            .headers()
            .iter()
            .map(|(name, value)| {
                (
                    name.as_str().to_owned(),
                    value.to_str().unwrap_or("<binary>").to_owned(),
                )
            })
            .collect();
        // The client's default headers are added by reqwest when sending.
        headers.push(("authorization".into(), format!("{} ***", self.auth_scheme)));
        headers.push(("user-agent".into(), self.user_agent.clone()));
        headers.sort();
        let mut text = format!("{} {}\n", captured.method(), captured.url());
        for (name, value) in headers {
            text.push_str(&format!("{name}: {value}\n"));
        }
        text
    }

    /// Fetches one page. A 404 with Gong's JSON body on the first page of a
    /// query (no cursor) is an empty period; on a cursor page it is an
    /// error ([`ApiError::NotFoundMidway`]), and a 404 whose body is not
    /// Gong's is [`ApiError::NotGong`] (a wrong base URL).
    pub async fn fetch_page(&self, request: &PageRequest) -> Result<Page, ApiError> {
        crate::wire::BODY_LIMIT
            .scope(self.max_body_bytes, self.fetch_page_unbounded(request))
            .await
    }

    async fn fetch_page_unbounded(&self, request: &PageRequest) -> Result<Page, ApiError> {
        let mut call = self
            .inner
            .list_logs()
            .log_type(request.log_type)
            .from_date_time(request.from.as_str());
        if let Some(to) = &request.to {
            call = call.to_date_time(to.as_str());
        }
        if let Some(cursor) = &request.cursor {
            call = call.cursor(cursor.as_str());
        }
        match call.send().await {
            Ok(response) => {
                let server_date = crate::wire::server_date(response.headers());
                let body = response.into_inner();
                let records = body.records.unwrap_or_default();
                if let Some(len) = records.cursor.as_ref().map(String::len)
                    && len > MAX_CURSOR_BYTES
                {
                    return Err(ApiError::CursorTooLong {
                        len,
                        limit: MAX_CURSOR_BYTES,
                    });
                }
                Ok(Page {
                    entries: body.log_entries,
                    cursor: records.cursor.filter(|c| !c.is_empty()),
                    total_records: records.total_records.and_then(|n| u64::try_from(n).ok()),
                    page_number: records.current_page_number.map(i64::from),
                    page_size: records
                        .current_page_size
                        .and_then(|n| u64::try_from(n).ok()),
                    request_id: body.request_id,
                    not_found: false,
                    server_date,
                })
            }
            Err(progenitor_client::Error::ErrorResponse(rv)) if rv.status().as_u16() == 404 => {
                if request.cursor.is_some() {
                    let body = rv.into_inner();
                    return Err(ApiError::not_found_midway(body));
                }
                let server_date = crate::wire::server_date(rv.headers());
                Ok(Page {
                    server_date,
                    request_id: rv.into_inner().request_id,
                    not_found: true,
                    total_records: Some(0),
                    ..Page::default()
                })
            }
            Err(e) => Err(self.classify(e).await),
        }
    }
}
