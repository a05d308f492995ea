//! progenitor hooks for the generated client.
//!
//! The generated `send()` decodes the body of every documented status as JSON;
//! when that body is not JSON (a proxy's HTML page, a gateway's plain-text
//! 429) progenitor reports `InvalidResponsePayload`, which has lost the status
//! and the `Retry-After` header. The `post` hook runs before that decoding: it
//! turns any non-success response whose body is not declared JSON into
//! `Error::Custom` carrying the status and `Retry-After`, which
//! [`NonJsonStatus::decode`] reads back.

use std::cell::RefCell;

use progenitor_client::{ClientHooks, Error, OperationInfo};
use reqwest::header::{CONTENT_TYPE, RETRY_AFTER};

use crate::generated::Client;

const TAG: &str = "gong-logs:non-json-status";

/// Marks the `Error::Custom` that ends a preview before anything is sent.
pub(crate) const PREVIEW_ABORT: &str = "gong-logs:preview";

tokio::task_local! {
    /// Set by [`crate::GongClient::preview`]: the `pre` hook records the
    /// request the generated code built, then stops it from being sent.
    pub(crate) static PREVIEW: RefCell<Option<reqwest::Request>>;
}

/// A non-success response whose body was not JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct NonJsonStatus {
    pub status: u16,
    pub retry_after_secs: Option<u64>,
}

impl NonJsonStatus {
    fn encode(self) -> String {
        match self.retry_after_secs {
            Some(secs) => format!("{TAG} {} {secs}", self.status),
            None => format!("{TAG} {}", self.status),
        }
    }

    /// Reads back what [`ClientHooks::post`] put into `Error::Custom`.
    pub fn decode(text: &str) -> Option<Self> {
        let mut words = text.strip_prefix(TAG)?.split_whitespace();
        let status = words.next()?.parse().ok()?;
        let retry_after_secs = words.next().and_then(|w| w.parse().ok());
        Some(Self {
            status,
            retry_after_secs,
        })
    }
}

/// `Retry-After` in whole seconds (Gong sends an integer); an HTTP date or
/// garbage yields `None`.
pub(crate) fn retry_after_secs(headers: &reqwest::header::HeaderMap) -> Option<u64> {
    headers
        .get(RETRY_AFTER)?
        .to_str()
        .ok()?
        .trim()
        .parse::<u64>()
        .ok()
}

fn is_json(headers: &reqwest::header::HeaderMap) -> bool {
    headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| {
            let mime = v.split(';').next().unwrap_or("").trim();
            mime.eq_ignore_ascii_case("application/json") || mime.ends_with("+json")
        })
        .unwrap_or(false)
}

impl ClientHooks<()> for Client {
    async fn pre<E>(
        &self,
        request: &mut reqwest::Request,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        let previewing = PREVIEW
            .try_with(|slot| *slot.borrow_mut() = request.try_clone())
            .is_ok();
        if previewing {
            return Err(Error::Custom(PREVIEW_ABORT.to_owned()));
        }
        Ok(())
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        if let Ok(response) = result {
            let status = response.status();
            // For the per-request trace event (`crate::trace`), if asked.
            let _ = crate::trace::RESPONSE.try_with(|slot| {
                slot.set(Some(crate::trace::Seen {
                    status: status.as_u16(),
                    bytes: response.content_length(),
                }));
            });
            if !status.is_success() && !is_json(response.headers()) {
                let non_json = NonJsonStatus {
                    status: status.as_u16(),
                    retry_after_secs: retry_after_secs(response.headers()),
                };
                return Err(Error::Custom(non_json.encode()));
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn non_json_status_round_trips() {
        for value in [
            NonJsonStatus {
                status: 502,
                retry_after_secs: None,
            },
            NonJsonStatus {
                status: 429,
                retry_after_secs: Some(7),
            },
        ] {
            assert_eq!(NonJsonStatus::decode(&value.encode()), Some(value));
        }
        assert_eq!(NonJsonStatus::decode("something else"), None);
    }
}
