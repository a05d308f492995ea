//! Gong's OAuth endpoints: `GET /oauth2/authorize` (redirects straight back
//! with a code, no consent page) and `POST /oauth2/generate-customer-token`
//! (Basic client authentication, parameters in the query string, single-use
//! codes and refresh tokens). Access tokens expire after the configured TTL.

use std::collections::{HashMap, HashSet};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::extract::{Query, State};
use axum::response::Response;
use axum::routing::{get, post};
use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::header::{AUTHORIZATION, CONTENT_TYPE, LOCATION};
use http::{HeaderMap, HeaderValue, StatusCode};

/// The OAuth app the simulator knows, and the tokens it has issued.
pub(crate) struct OAuth {
    client_id: String,
    client_secret: String,
    ttl: Duration,
    base_url: OnceLock<String>,
    tokens: Mutex<Tokens>,
}

#[derive(Default)]
struct Tokens {
    codes: HashSet<String>,
    refresh: HashSet<String>,
    access: HashMap<String, Instant>,
}

fn fresh(prefix: &str) -> String {
    format!("{prefix}{:032x}", rand::random::<u128>())
}

impl OAuth {
    pub(crate) fn new(id: &str, secret: &str, ttl: Duration, refresh: Option<&str>) -> OAuth {
        let mut tokens = Tokens::default();
        tokens.refresh.extend(refresh.map(str::to_owned));
        OAuth {
            client_id: id.to_owned(),
            client_secret: secret.to_owned(),
            ttl,
            base_url: OnceLock::new(),
            tokens: Mutex::new(tokens),
        }
    }

    /// Sets the URL answered as `api_base_url_for_customer` (once bound).
    pub(crate) fn set_base_url(&self, url: String) {
        let _ = self.base_url.set(url);
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Tokens> {
        self.tokens.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Whether `token` is an issued access token that has not expired.
    pub(crate) fn access_valid(&self, token: &str) -> bool {
        self.lock()
            .access
            .get(token)
            .is_some_and(|until| Instant::now() < *until)
    }

    fn client_ok(&self, headers: &HeaderMap) -> bool {
        let Some(value) = headers.get(AUTHORIZATION).and_then(|v| v.to_str().ok()) else {
            return false;
        };
        let Some(("Basic", b64)) = value.trim().split_once(' ') else {
            return false;
        };
        let want = format!("{}:{}", self.client_id, self.client_secret);
        STANDARD.decode(b64.trim()).ok().as_deref() == Some(want.as_bytes())
    }

    /// Spends `grant` (a code or refresh token) and issues new tokens.
    fn exchange(
        &self,
        q: &HashMap<String, String>,
    ) -> Result<serde_json::Value, (&'static str, &'static str)> {
        let mut t = self.lock();
        let spent = match q.get("grant_type").map(String::as_str) {
            Some("authorization_code") => q.get("code").is_some_and(|c| t.codes.remove(c)),
            Some("refresh_token") => q.get("refresh_token").is_some_and(|r| t.refresh.remove(r)),
            _ => {
                return Err(("unsupported_grant_type", "Unsupported grant type."));
            }
        };
        if !spent {
            return Err(("invalid_grant", "Token has been expired or revoked."));
        }
        let access = fresh("sim-at-");
        let refresh = fresh("sim-rt-");
        t.access.insert(access.clone(), Instant::now() + self.ttl);
        t.refresh.insert(refresh.clone());
        Ok(serde_json::json!({
            "access_token": access,
            "refresh_token": refresh,
            "expires_in": self.ttl.as_secs(),
            "scope": "api:logs:read",
            "token_type": "Bearer",
            "api_base_url_for_customer": self.base_url.get().cloned().unwrap_or_default(),
        }))
    }
}

fn json(status: StatusCode, body: &serde_json::Value) -> Response {
    let mut r = Response::new(Body::from(body.to_string()));
    *r.status_mut() = status;
    r.headers_mut()
        .insert(CONTENT_TYPE, HeaderValue::from_static("application/json"));
    r
}

fn oauth_error(status: StatusCode, error: &str, description: &str) -> Response {
    json(
        status,
        &serde_json::json!({"error": error, "error_description": description}),
    )
}

/// Percent-encodes everything but RFC 3986's unreserved characters.
fn encode(s: &str) -> String {
    s.bytes()
        .map(|b| match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' => {
                char::from(b).to_string()
            }
            _ => format!("%{b:02X}"),
        })
        .collect()
}

/// The two OAuth routes, with their own state.
pub(crate) fn routes(oauth: Arc<OAuth>) -> Router {
    Router::new()
        .route("/oauth2/authorize", get(authorize))
        .route("/oauth2/generate-customer-token", post(token))
        .with_state(oauth)
}

async fn authorize(
    State(o): State<Arc<OAuth>>,
    Query(q): Query<HashMap<String, String>>,
) -> Response {
    let (Some(uri), true) = (
        q.get("redirect_uri"),
        q.get("client_id") == Some(&o.client_id),
    ) else {
        return oauth_error(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "Unknown client or missing redirect_uri.",
        );
    };
    let code = fresh("sim-code-");
    o.lock().codes.insert(code.clone());
    let sep = if uri.contains('?') { '&' } else { '?' };
    let mut location = format!("{uri}{sep}code={}", encode(&code));
    if let Some(state) = q.get("state") {
        location.push_str(&format!("&state={}", encode(state)));
    }
    let mut r = Response::new(Body::empty());
    *r.status_mut() = StatusCode::FOUND;
    if let Ok(v) = HeaderValue::from_str(&location) {
        r.headers_mut().insert(LOCATION, v);
    }
    r
}

async fn token(
    State(o): State<Arc<OAuth>>,
    Query(q): Query<HashMap<String, String>>,
    headers: HeaderMap,
) -> Response {
    if !o.client_ok(&headers) {
        return oauth_error(
            StatusCode::UNAUTHORIZED,
            "invalid_client",
            "Client authentication failed.",
        );
    }
    match o.exchange(&q) {
        Ok(body) => json(StatusCode::OK, &body),
        Err((error, text)) => oauth_error(StatusCode::BAD_REQUEST, error, text),
    }
}
