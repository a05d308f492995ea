//! Opaque, signed, expiring cursors.
//!
//! Shaped like Gong's (a JWT-looking `header.payload.signature`, HMAC-SHA256
//! with a random key per server start). The payload holds the offset of the
//! next entry, the page number, the issue time (Unix ms) and a hash of the
//! request's `logType`, `fromDateTime` and `toDateTime` exactly as sent.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use hmac::{Hmac, Mac};
use serde::Deserialize;
use sha2::{Digest, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// base64url(`{"alg":"HS256"}`), as in Gong's documented example cursor.
const HEADER: &str = "eyJhbGciOiJIUzI1NiJ9";

pub(crate) struct CursorSigner {
    mac: HmacSha256,
}

impl std::fmt::Debug for CursorSigner {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CursorSigner(<key redacted>)")
    }
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Claims {
    /// Index (within the range) of the first entry of the page this cursor asks for.
    pub offset: usize,
    /// Page number of that page.
    pub page: u64,
    /// Issue time, Unix milliseconds.
    pub issued_ms: i64,
    /// Hash of the request parameters.
    pub params: [u8; 16],
}

#[derive(Deserialize)]
struct Payload {
    o: usize,
    p: u64,
    iat: i64,
    q: String,
}

/// Hash of the parameters a cursor is bound to, exactly as sent (after
/// percent-decoding). Length-prefixed so no two tuples collide by concatenation.
pub(crate) fn params_hash(log_type: &str, from: &str, to: Option<&str>) -> [u8; 16] {
    let mut h = Sha256::new();
    for part in [Some(log_type), Some(from), to] {
        match part {
            Some(s) => {
                h.update([1u8]);
                h.update((s.len() as u64).to_le_bytes());
                h.update(s.as_bytes());
            }
            None => h.update([0u8]),
        }
    }
    let full = h.finalize();
    let mut out = [0u8; 16];
    out.copy_from_slice(&full[..16]);
    out
}

impl CursorSigner {
    pub(crate) fn new(key: &[u8]) -> CursorSigner {
        CursorSigner {
            mac: HmacSha256::new_from_slice(key).expect("HMAC accepts any key length"),
        }
    }

    pub(crate) fn encode(&self, c: &Claims) -> String {
        let mut q = String::with_capacity(32);
        for b in c.params {
            q.push_str(&format!("{b:02x}"));
        }
        let payload = format!(
            r#"{{"o":{},"p":{},"iat":{},"q":"{}"}}"#,
            c.offset, c.page, c.issued_ms, q
        );
        let mut token = String::with_capacity(160);
        token.push_str(HEADER);
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(payload.as_bytes(), &mut token);
        let mut mac = self.mac.clone();
        mac.update(token.as_bytes());
        let sig = mac.finalize().into_bytes();
        token.push('.');
        URL_SAFE_NO_PAD.encode_string(sig, &mut token);
        token
    }

    /// Verifies the signature and decodes the claims; `None` for anything
    /// tampered, truncated or not issued by this server instance.
    pub(crate) fn decode(&self, token: &str) -> Option<Claims> {
        let (signed, sig_b64) = token.rsplit_once('.')?;
        let (header, payload_b64) = signed.split_once('.')?;
        if header != HEADER {
            return None;
        }
        let sig = URL_SAFE_NO_PAD.decode(sig_b64).ok()?;
        let mut mac = self.mac.clone();
        mac.update(signed.as_bytes());
        mac.verify_slice(&sig).ok()?;
        let payload = URL_SAFE_NO_PAD.decode(payload_b64).ok()?;
        let p: Payload = serde_json::from_slice(&payload).ok()?;
        if p.q.len() != 32 {
            return None;
        }
        let mut params = [0u8; 16];
        for (i, b) in params.iter_mut().enumerate() {
            *b = u8::from_str_radix(p.q.get(2 * i..2 * i + 2)?, 16).ok()?;
        }
        Some(Claims {
            offset: p.o,
            page: p.p,
            issued_ms: p.iat,
            params,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_tamper() {
        let s = CursorSigner::new(b"k");
        let c = Claims {
            offset: 200,
            page: 2,
            issued_ms: 1_700_000_000_000,
            params: params_hash("AccessLog", "2024-01-01T00:00:00Z", None),
        };
        let t = s.encode(&c);
        assert!(t.starts_with("eyJhbGciOiJIUzI1NiJ9.eyJ"));
        assert_eq!(s.decode(&t), Some(c));
        let mut bad = t.clone().into_bytes();
        let mid = bad.len() / 2;
        bad[mid] = if bad[mid] == b'A' { b'B' } else { b'A' };
        assert_eq!(s.decode(std::str::from_utf8(&bad).unwrap()), None);
        assert_eq!(CursorSigner::new(b"other").decode(&t), None);
        assert_eq!(s.decode("garbage"), None);
        assert_eq!(s.decode(""), None);
        assert_ne!(
            params_hash("AccessLog", "a", None),
            params_hash("AccessLog", "a", Some(""))
        );
    }
}
