//! Credentials. Secrets are wrapped so that `Debug` never shows them.

use base64::Engine as _;
use reqwest::header::HeaderValue;

/// A secret string: its `Debug` and `Display` print `***`.
#[derive(Clone, PartialEq, Eq)]
pub struct Secret(String);

impl Secret {
    /// Wraps a secret value.
    pub fn new(value: impl Into<String>) -> Self {
        Self(value.into())
    }

    /// The secret itself. Call only to put it on the wire.
    pub fn expose(&self) -> &str {
        &self.0
    }
}

impl std::fmt::Debug for Secret {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("Secret(***)")
    }
}

impl From<String> for Secret {
    fn from(value: String) -> Self {
        Self(value)
    }
}

/// How the client authenticates to Gong.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Credentials {
    /// `Authorization: Basic base64(accessKey:accessKeySecret)`.
    Basic {
        /// The access key (not secret on its own, but shown only redacted).
        access_key: String,
        /// The access key secret.
        secret: Secret,
    },
    /// `Authorization: Bearer TOKEN`, an OAuth token with scope `api:logs:read`.
    Bearer(Secret),
}

impl Credentials {
    /// Basic credentials from an access key and its secret.
    pub fn basic(access_key: impl Into<String>, secret: impl Into<String>) -> Self {
        Self::Basic {
            access_key: access_key.into(),
            secret: Secret::new(secret),
        }
    }

    /// Bearer credentials from an OAuth access token.
    pub fn bearer(token: impl Into<String>) -> Self {
        Self::Bearer(Secret::new(token))
    }

    /// The scheme name, for messages: `Basic` or `Bearer`.
    pub fn scheme(&self) -> &'static str {
        match self {
            Self::Basic { .. } => "Basic",
            Self::Bearer(_) => "Bearer",
        }
    }

    /// The `Authorization` header value, marked sensitive so that reqwest and
    /// `Debug` of the header map never show it.
    pub(crate) fn header_value(&self) -> Result<HeaderValue, reqwest::header::InvalidHeaderValue> {
        let text = match self {
            Self::Basic { access_key, secret } => {
                let pair = format!("{access_key}:{}", secret.expose());
                format!(
                    "Basic {}",
                    base64::engine::general_purpose::STANDARD.encode(pair)
                )
            }
            Self::Bearer(token) => format!("Bearer {}", token.expose()),
        };
        let mut value = HeaderValue::from_str(&text)?;
        value.set_sensitive(true);
        Ok(value)
    }
}
