//! The one redactor every printing path goes through: error lines, warnings,
//! the panic message and the `-v`/`-vv`/`RUST_LOG` log lines.
//!
//! Text that came from the network (error bodies, `requestId`, header
//! values) may echo the credentials or carry terminal escape sequences, and
//! may be megabytes long. [`redact`]:
//!
//! 1. removes every registered secret (the access key secret, the bearer
//!    token, the access key, `key:secret` and its Base64, the Basic header
//!    value) and any `Bearer <token>` / `Basic <base64>` value;
//! 2. escapes control characters visibly as `\u{..}`: C0 except tab, DEL,
//!    C1, and the bidi overrides U+202A–U+202E, U+2066–U+2069;
//! 3. cuts the text to [`MAX_CHARS`] characters, keeping its start and its
//!    end (where the hint on what to do is) and saying how much was cut.

use std::sync::Mutex;

use base64::Engine as _;

/// The longest text printed as one message, in characters.
pub const MAX_CHARS: usize = 500;
/// Characters kept from the end of a text that is cut.
const TAIL_CHARS: usize = 120;

static SECRETS: Mutex<Vec<String>> = Mutex::new(Vec::new());

/// Registers a secret so that [`redact`] removes it from anything printed.
/// (Values shorter than 4 characters are not real secrets and would mangle
/// every message.)
pub fn register_secret(secret: &str) {
    if secret.chars().count() < 4 {
        return;
    }
    let mut secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    if !secrets.iter().any(|s| s == secret) {
        secrets.push(secret.to_owned());
        // Longest first, so that a secret containing another is removed whole.
        secrets.sort_by_key(|s| std::cmp::Reverse(s.len()));
    }
}

/// Registers the credentials of a proxy URL (`http://user:password@...`)
/// in every form they can leak in: the password as written (percent-encoded)
/// and decoded, `user:password`, and the Basic header's base64. The user
/// name alone is not a secret (and may be a common word).
pub fn register_proxy_url(url: &str) {
    // As written, even in a URL that does not parse.
    let rest = url.split_once("://").map_or(url, |(_, rest)| rest);
    if let Some((userinfo, _)) = rest.rsplit_once('@')
        && let Some((_, written)) = userinfo.split_once(':')
    {
        register_secret(written);
    }
    if let Some((user, password)) = gong_logs_api::proxy_credentials(url) {
        register_secret(&password);
        register_pair(&format!("{user}:{password}"));
    }
}

/// Registers `user:secret` and its Base64 (padded or not, standard or
/// URL-safe alphabet).
fn register_pair(pair: &str) {
    register_secret(pair);
    for engine in [
        base64::engine::general_purpose::STANDARD,
        base64::engine::general_purpose::URL_SAFE,
    ] {
        let encoded = engine.encode(pair);
        register_secret(encoded.trim_end_matches('='));
        register_secret(&encoded);
    }
}

/// Registers Basic credentials in every form they can leak in: the key, the
/// secret, `key:secret`, and its Base64 (padded or not, standard or
/// URL-safe alphabet).
pub fn register_basic(access_key: &str, secret: &str) {
    register_secret(secret);
    register_secret(access_key);
    register_pair(&format!("{access_key}:{secret}"));
}

/// Redacts, escapes and bounds `text` for printing (see the module).
pub fn redact(text: &str) -> String {
    let removed = remove_secrets(text);
    // Escaping cannot create a secret in practice, but "\u{1b}" is text
    // too: remove again, then cut (cutting cannot create one).
    let escaped = remove_secrets(&escape_controls(&removed));
    cut(&escaped, MAX_CHARS)
}

/// Removes the registered secrets and any credential-looking value after
/// `Bearer` or `Basic`, until none is left.
pub fn remove_secrets(text: &str) -> String {
    let secrets = SECRETS.lock().unwrap_or_else(|e| e.into_inner());
    let mut out = text.to_owned();
    // Each replacement shortens the text (secrets are at least 4
    // characters, "***" is 3), so this ends.
    loop {
        let mut changed = false;
        for secret in secrets.iter() {
            if out.contains(secret.as_str()) {
                out = out.replace(secret.as_str(), "***");
                changed = true;
            }
        }
        let scrubbed = scrub_auth_values(&out);
        if scrubbed != out {
            out = scrubbed;
            changed = true;
        }
        if !changed {
            return out;
        }
    }
}

/// `Bearer <token>` and `Basic <base64>` (any letter case, any spaces):
/// the value becomes `***` when it looks like a credential (8 or more
/// token characters, not all letters: "Bearer credentials" is prose).
fn scrub_auth_values(text: &str) -> String {
    let lower = text.to_ascii_lowercase();
    let mut out = String::with_capacity(text.len());
    let mut i = 0;
    let bytes = text.as_bytes();
    while i < bytes.len() {
        let scheme_len = if lower[i..].starts_with("bearer") {
            6
        } else if lower[i..].starts_with("basic") {
            5
        } else {
            0
        };
        if scheme_len > 0 {
            let mut j = i + scheme_len;
            while j < bytes.len()
                && (bytes[j] == b' ' || bytes[j] == b'\t' || bytes[j] == b'=' || bytes[j] == b':')
            {
                j += 1;
            }
            let start = j;
            while j < bytes.len() && is_token_byte(bytes[j]) {
                j += 1;
            }
            let value = &text[start..j];
            if start > i + scheme_len
                && value.len() >= 8
                && !value.bytes().all(|b| b.is_ascii_alphabetic())
            {
                out.push_str(&text[i..start]);
                out.push_str("***");
                i = j;
                continue;
            }
        }
        // Copy one character.
        let ch = text[i..].chars().next().expect("in bounds");
        out.push(ch);
        i += ch.len_utf8();
    }
    out
}

fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'.' | b'_' | b'~' | b'+' | b'/' | b'=')
}

/// Whether `c` must not reach a terminal as is.
pub fn is_dangerous(c: char) -> bool {
    (c < ' ' && c != '\t')
        || c == '\u{7f}'
        || ('\u{80}'..='\u{9f}').contains(&c)
        || ('\u{202a}'..='\u{202e}').contains(&c)
        || ('\u{2066}'..='\u{2069}').contains(&c)
}

/// Escapes every [`is_dangerous`] character as `\u{..}`.
pub fn escape_controls(text: &str) -> String {
    if !text.chars().any(is_dangerous) {
        return text.to_owned();
    }
    let mut out = String::with_capacity(text.len() + 16);
    for c in text.chars() {
        if is_dangerous(c) {
            out.push_str(&format!("\\u{{{:x}}}", u32::from(c)));
        } else {
            out.push(c);
        }
    }
    out
}

/// At most `max` characters: the start, a note of how much was cut, and
/// the last [`TAIL_CHARS`] characters.
pub fn cut(text: &str, max: usize) -> String {
    let total = text.chars().count();
    if total <= max {
        return text.to_owned();
    }
    let tail = TAIL_CHARS.min(max / 2);
    let head = max.saturating_sub(tail + 40);
    let removed = total - head - tail;
    let head_text: String = text.chars().take(head).collect();
    let tail_text: String = text.chars().skip(total - tail).collect();
    format!("{head_text} [... {removed} characters cut ...] {tail_text}")
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    const KEY: &str = "redact-test-key";
    const SECRET: &str = "redact-test-secret";
    const TOKEN: &str = "redact-test-token-0123";

    fn setup() {
        register_basic(KEY, SECRET);
        register_secret(TOKEN);
    }

    fn forms() -> Vec<String> {
        let pair = format!("{KEY}:{SECRET}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&pair);
        vec![
            KEY.into(),
            SECRET.into(),
            TOKEN.into(),
            pair,
            b64.trim_end_matches('=').to_owned(),
        ]
    }

    fn assert_clean(out: &str) {
        for form in forms() {
            assert!(!out.contains(&form), "{form:?} in {out:?}");
        }
    }

    #[test]
    fn every_credential_form_is_removed() {
        setup();
        let pair = format!("{KEY}:{SECRET}");
        let b64 = base64::engine::general_purpose::STANDARD.encode(&pair);
        for text in [
            format!("bad credentials: Basic {b64}"),
            format!("bad credentials: {b64}"),
            format!("decoded: {pair}"),
            format!("secret={SECRET}"),
            format!("authorization: Bearer {TOKEN}"),
            format!("key {KEY} refused"),
        ] {
            let out = redact(&text);
            assert_clean(&out);
            assert!(out.contains("***"), "{out}");
        }
        // Any bearer-looking token, registered or not.
        assert_eq!(
            redact("got Authorization: Bearer eyJhbGciOi.J9x-y_z"),
            "got Authorization: Bearer ***"
        );
        assert_eq!(redact("BASIC QUtFWTpTRUNSRVQ="), "BASIC ***");
        // Prose stays.
        assert_eq!(
            redact("both Basic (access key) and Bearer credentials are set"),
            "both Basic (access key) and Bearer credentials are set"
        );
    }

    #[test]
    fn control_characters_are_escaped() {
        let out = redact("a\u{1b}[31mred\u{7}\u{9b}x\u{202e}y\u{2066}z\ttab\r\n\u{0}");
        assert_eq!(
            out,
            "a\\u{1b}[31mred\\u{7}\\u{9b}x\\u{202e}y\\u{2066}z\ttab\\u{d}\\u{a}\\u{0}"
        );
        assert!(!out.chars().any(is_dangerous));
    }

    #[test]
    fn long_text_is_cut_keeping_both_ends() {
        let text = format!("start {} end: rerun with --resume", "x".repeat(50_000));
        let out = redact(&text);
        assert!(out.chars().count() <= MAX_CHARS, "{}", out.len());
        assert!(out.starts_with("start "));
        assert!(out.ends_with("end: rerun with --resume"));
        assert!(out.contains("characters cut"), "{out}");
        assert_eq!(redact("short"), "short");
    }

    fn server_text() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                any::<char>().prop_map(String::from),
                "[ -~]{0,8}",
                Just("\u{1b}]0;title\u{7}".to_owned()),
                Just("Basic ".to_owned()),
                Just("Bearer ".to_owned()),
            ],
            0..40,
        )
        .prop_map(|parts| parts.concat())
    }

    proptest! {
        #[test]
        fn a_secret_anywhere_never_comes_out(
            before in server_text(),
            after in server_text(),
            which in 0usize..5,
            repeat in 1usize..3,
        ) {
            setup();
            let secret = &forms()[which];
            let text = format!("{before}{}{after}", secret.repeat(repeat));
            let out = redact(&text);
            for form in forms() {
                prop_assert!(!out.contains(&form), "{:?} in {:?}", form, out);
            }
            prop_assert!(!out.chars().any(is_dangerous));
            prop_assert!(out.chars().count() <= MAX_CHARS);
        }

        #[test]
        fn arbitrary_text_is_safe_and_bounded(text in ".{0,2000}") {
            let out = redact(&text);
            prop_assert!(!out.chars().any(is_dangerous));
            prop_assert!(out.chars().count() <= MAX_CHARS);
        }
    }
}
