//! Stable event ids (`--event-id`, OCSF `metadata.uid`).
//!
//! Gong's entries carry no id and two entries can be byte-identical. The id
//! of an entry is the lowercase hex SHA-256 of
//!
//! ```text
//! log type name  0x00  the entry's exact JSON text as Gong sent it  0x00  occurrence
//! ```
//!
//! where `occurrence` is the decimal number (from 0) of the entry among the
//! byte-identical entries of that type at the same `eventTime` instant, in
//! Gong's order. The same entry gets the same id in every export that holds
//! it, however the range was split; byte-identical entries get distinct ids.

use sha2::{Digest, Sha256};

/// The event id of an entry: see the module documentation.
pub fn event_id(log_type: &str, raw_json: &str, occurrence: u64) -> String {
    let mut hasher = Sha256::new();
    hasher.update(log_type.as_bytes());
    hasher.update([0u8]);
    hasher.update(raw_json.as_bytes());
    hasher.update([0u8]);
    hasher.update(occurrence.to_string().as_bytes());
    let digest = hasher.finalize();
    let mut out = String::with_capacity(64);
    for byte in digest {
        out.push(char::from(b"0123456789abcdef"[usize::from(byte >> 4)]));
        out.push(char::from(b"0123456789abcdef"[usize::from(byte & 15)]));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::event_id;

    #[test]
    fn known_value_and_distinct_occurrences() {
        let a = event_id("AccessLog", r#"{"eventTime":"2026-01-01T00:00:00Z"}"#, 0);
        let b = event_id("AccessLog", r#"{"eventTime":"2026-01-01T00:00:00Z"}"#, 1);
        let c = event_id("UserCallPlay", r#"{"eventTime":"2026-01-01T00:00:00Z"}"#, 0);
        assert_eq!(a.len(), 64);
        assert!(
            a.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
        );
        assert_ne!(a, b);
        assert_ne!(a, c);
        // sha256("AccessLog\0{}\00"), fixed so the definition cannot drift.
        assert_eq!(
            event_id("AccessLog", "{}", 0),
            "290d9fd0bb1e997b6f8be428cabcfb4faaa9a3daba79b785899725a8bb89406f"
        );
    }
}
