//! progenitor hooks for the generated client.
//!
//! The generated `send()` decodes the body of every documented status as JSON;
//! when that body is not JSON (a proxy's HTML page, a gateway's plain-text
//! 429) progenitor reports `InvalidResponsePayload`, which has lost the status
//! and the `Retry-After` header. The `post` hook runs before that decoding: it
//! turns any non-success response whose body is not declared JSON into
//! `Error::Custom` carrying the status and `Retry-After`, which
//! [`NonJsonStatus::decode`] reads back.

use progenitor_client::{ClientHooks, ClientInfo as _, Error, OperationInfo};
use reqwest::header::CONTENT_TYPE;

use crate::generated::Client;
use crate::wire::{
    BODY_LIMIT, DEFAULT_BODY_LIMIT, NonJsonStatus, PREVIEW, PREVIEW_ABORT, Verdict, causes,
    retry_after,
};

/// Marks an error response declared JSON whose body does not parse.
#[derive(Debug, Clone, Copy)]
struct ErrorBodyNotJson;

/// Whether `body` has Gong's error shape: a JSON object with a string
/// `requestId` or an `errors` array.
fn is_gong_error_body(body: &[u8]) -> bool {
    let Ok(serde_json::Value::Object(map)) = serde_json::from_slice::<serde_json::Value>(body)
    else {
        return false;
    };
    map.get("requestId")
        .is_some_and(serde_json::Value::is_string)
        || map.get("errors").is_some_and(serde_json::Value::is_array)
}

/// A short description of a body that is not what was expected: its
/// content type and size (never its text: that is the server's).
fn describe_body(headers: &reqwest::header::HeaderMap, len: usize) -> String {
    let content_type = headers
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .map(|v| v.split(';').next().unwrap_or("").trim())
        .filter(|v| !v.is_empty() && v.len() <= 64 && v.bytes().all(|b| b.is_ascii_graphic()))
        .unwrap_or("no content type");
    format!("a {len}-byte {content_type} body")
}

/// Reads the whole body of `response` against `limit`, chunk by chunk (the
/// client's total timeout bounds the time), and rebuilds the response from
/// the bytes, with a [`Verdict`] extension when something is wrong.
async fn read_bounded(
    mut response: reqwest::Response,
    limit: u64,
) -> reqwest::Result<reqwest::Response> {
    let status = response.status();
    let version = response.version();
    let headers = response.headers().clone();
    let json_ok = |body: &[u8]| serde_json::from_slice::<serde::de::IgnoredAny>(body).is_ok();
    let rebuild = |body: bytes::Bytes, verdict: Option<Verdict>| {
        let error_not_json = !status.is_success() && is_json(&headers) && !json_ok(&body);
        let mut built = http::Response::new(body);
        *built.status_mut() = status;
        *built.version_mut() = version;
        *built.headers_mut() = headers.clone();
        if let Some(verdict) = verdict {
            built.extensions_mut().insert(verdict);
        } else if error_not_json {
            built.extensions_mut().insert(ErrorBodyNotJson);
        }
        reqwest::Response::from(built)
    };
    if response.content_length().is_some_and(|n| n > limit) {
        return Ok(rebuild(
            bytes::Bytes::new(),
            Some(Verdict::TooLarge { limit }),
        ));
    }
    let mut body = bytes::BytesMut::new();
    loop {
        match response.chunk().await {
            Ok(Some(chunk)) => {
                if body.len() as u64 + chunk.len() as u64 > limit {
                    return Ok(rebuild(
                        bytes::Bytes::new(),
                        Some(Verdict::TooLarge { limit }),
                    ));
                }
                body.extend_from_slice(&chunk);
            }
            Ok(None) => break,
            // A deadline is a transport failure (retryable, "timed out").
            Err(e) if e.is_timeout() => return Err(e),
            Err(e) => {
                let text = causes(&e.without_url());
                return Ok(rebuild(bytes::Bytes::new(), Some(Verdict::BodyCut(text))));
            }
        }
    }
    let body = body.freeze();
    let verdict = if status.as_u16() == 404 && !is_gong_error_body(&body) {
        Some(Verdict::NotGong404 {
            what: describe_body(&headers, body.len()),
        })
    } else if status.is_success() && (!is_json(&headers) || !json_ok(&body)) {
        let mut what = describe_body(&headers, body.len());
        if is_json(&headers) {
            what.push_str(" that does not parse");
        }
        Some(Verdict::NotJson {
            status: status.as_u16(),
            what,
        })
    } else {
        None
    };
    Ok(rebuild(body, verdict))
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

    async fn exec(
        &self,
        request: reqwest::Request,
        _info: &OperationInfo,
    ) -> reqwest::Result<reqwest::Response> {
        let limit = BODY_LIMIT.try_with(|l| *l).unwrap_or(DEFAULT_BODY_LIMIT);
        let response = self.client().execute(request).await?;
        read_bounded(response, limit).await
    }

    async fn post<E>(
        &self,
        result: &reqwest::Result<reqwest::Response>,
        _info: &OperationInfo,
    ) -> Result<(), Error<E>> {
        if let Ok(response) = result {
            // For the per-request trace event and the count of requests by
            // status (`crate::trace`): every response, whatever follows.
            let _ = crate::wire::RESPONSE.try_with(|slot| {
                slot.set(Some(crate::wire::Seen {
                    status: response.status().as_u16(),
                    bytes: response.content_length(),
                }));
            });
            if let Some(verdict) = response.extensions().get::<Verdict>() {
                return Err(Error::Custom(verdict.encode()));
            }
            // A JSON error body that does not parse is no better than HTML:
            // keep its status (progenitor would report only the payload).
            if response.extensions().get::<ErrorBodyNotJson>().is_some() {
                let non_json = NonJsonStatus {
                    status: response.status().as_u16(),
                    retry_after: retry_after(response.headers()),
                };
                return Err(Error::Custom(non_json.encode()));
            }
            let status = response.status();
            if !status.is_success() && !is_json(response.headers()) {
                let non_json = NonJsonStatus {
                    status: status.as_u16(),
                    retry_after: retry_after(response.headers()),
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
    fn gong_error_shape() {
        assert!(is_gong_error_body(br#"{"requestId":"x","errors":["no"]}"#));
        assert!(is_gong_error_body(br#"{"errors":[]}"#));
        assert!(!is_gong_error_body(br#"{"message":"Not Found"}"#));
        assert!(!is_gong_error_body(b"<html>404</html>"));
        assert!(!is_gong_error_body(b"[]"));
    }
}
