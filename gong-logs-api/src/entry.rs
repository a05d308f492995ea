//! A log entry carried losslessly.
//!
//! progenitor's generated struct would drop any field the spec does not name,
//! and Gong adds fields without notice; in an audit trail that is data loss.
//! `build.rs` therefore replaces the generated `LogEntry` with this type,
//! which keeps the exact JSON text of the entry as Gong sent it (key order,
//! number spelling, escapes, unknown fields) and parses only the few fields
//! the client needs for ordering and filtering.

use std::borrow::Cow;

use serde::de::{Deserializer, Error as _, IgnoredAny};
use serde::{Deserialize, Serialize, Serializer};
use serde_json::value::RawValue;

/// At most this many characters of a server's value are quoted in an error.
pub const MAX_QUOTED_CHARS: usize = 64;

/// One audit-log entry, as the exact JSON object Gong sent.
#[derive(Clone)]
pub struct LogEntry {
    raw: Box<RawValue>,
    event_time: Option<jiff::Timestamp>,
    user_id: Option<Box<str>>,
    user_email: Option<Box<str>>,
    has_log_type: bool,
    occurrence: u64,
}

/// The fields the client reads; everything else is skipped unparsed.
#[derive(Deserialize)]
struct Head<'a> {
    #[serde(rename = "eventTime", borrow, default)]
    event_time: Option<&'a RawValue>,
    #[serde(rename = "userId", borrow, default)]
    user_id: Option<&'a RawValue>,
    #[serde(rename = "userEmailAddress", borrow, default)]
    user_email: Option<&'a RawValue>,
    #[serde(rename = "logType", default)]
    log_type: Present,
}

/// Whether a key is there at all, whatever its value (`null` included).
#[derive(Default)]
struct Present(bool);

impl<'de> Deserialize<'de> for Present {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        IgnoredAny::deserialize(deserializer)?;
        Ok(Self(true))
    }
}

/// Any JSON value's text, `null` included (`Option` alone reads `null` as
/// missing).
fn any_raw<'de, D: Deserializer<'de>>(deserializer: D) -> Result<Option<&'de RawValue>, D::Error> {
    <&RawValue>::deserialize(deserializer).map(Some)
}

/// A JSON string's value, or the raw text of any other JSON value.
fn scalar_text(raw: &RawValue) -> Option<Box<str>> {
    let text = raw.get();
    if text == "null" {
        return None;
    }
    match serde_json::from_str::<Cow<'_, str>>(text) {
        Ok(s) => Some(s.into()),
        Err(_) => Some(text.into()),
    }
}

impl LogEntry {
    /// Parses one entry from its JSON text. The text must be a JSON object.
    pub fn from_json(text: &str) -> Result<Self, serde_json::Error> {
        Self::from_raw(RawValue::from_string(text.to_owned())?)
    }

    fn from_raw(raw: Box<RawValue>) -> Result<Self, serde_json::Error> {
        // serde would accept a JSON array for a struct: check the shape first.
        if !raw.get().trim_start().starts_with('{') {
            return Err(serde_json::Error::custom(format!(
                "a log entry must be a JSON object, got: {:.40}",
                raw.get()
            )));
        }
        let head: Head<'_> = serde_json::from_str(raw.get()).map_err(|e| {
            serde_json::Error::custom(format!("a log entry must be a JSON object: {e}"))
        })?;
        let event_time = head
            .event_time
            .and_then(scalar_text)
            .and_then(|t| t.parse::<jiff::Timestamp>().ok());
        let user_id = head.user_id.and_then(scalar_text);
        let user_email = head.user_email.and_then(scalar_text);
        let has_log_type = head.log_type.0;
        Ok(Self {
            raw,
            event_time,
            user_id,
            user_email,
            has_log_type,
            occurrence: 0,
        })
    }

    /// The number (from 0) of this entry among the byte-identical entries of
    /// its type at the same `eventTime` instant, in Gong's order: the
    /// `occurrence` of [`crate::event_id::event_id`]. Set by the export
    /// engine (skipped entries of a resume counted); 0 for a parsed entry.
    pub fn occurrence(&self) -> u64 {
        self.occurrence
    }

    pub(crate) fn set_occurrence(&mut self, occurrence: u64) {
        self.occurrence = occurrence;
    }

    /// The exact JSON text of the entry as received.
    pub fn json(&self) -> &str {
        self.raw.get()
    }

    /// `eventTime` as an instant, if present and valid ISO-8601 with offset.
    /// An entry without one never gets past the paging guard
    /// ([`crate::guard::ChainGuard`]): it is an error or skipped.
    pub fn event_time(&self) -> Option<jiff::Timestamp> {
        self.event_time
    }

    /// The JSON text of `eventTime` as sent, cut to [`MAX_QUOTED_CHARS`]
    /// characters; `None` when the key is missing. For messages about an
    /// `eventTime` that does not parse.
    pub fn event_time_text(&self) -> Option<String> {
        #[derive(Deserialize)]
        struct Only<'a> {
            #[serde(rename = "eventTime", borrow, default, deserialize_with = "any_raw")]
            event_time: Option<&'a RawValue>,
        }
        let only: Only<'_> = serde_json::from_str(self.raw.get()).ok()?;
        let text = only.event_time?.get();
        Some(match text.char_indices().nth(MAX_QUOTED_CHARS) {
            None => text.to_owned(),
            Some((at, _)) => format!("{}...", &text[..at]),
        })
    }

    /// Whether the entry carries its own `"logType"` key (any value).
    pub fn has_log_type(&self) -> bool {
        self.has_log_type
    }

    /// `userId`, if present.
    pub fn user_id(&self) -> Option<&str> {
        self.user_id.as_deref()
    }

    /// `userEmailAddress`, if present.
    pub fn user_email(&self) -> Option<&str> {
        self.user_email.as_deref()
    }

    /// The typed view of `logRecord` for the log type `T` describes
    /// ([`crate::records`]): `Ok(None)` when the entry has no `logRecord` (or
    /// it is `null`), an error when a known key has an unexpected JSON type.
    /// The entry's text stays the source of truth; see the module's notes on
    /// numbers.
    pub fn record<T: crate::records::Record>(&self) -> Result<Option<T>, serde_json::Error> {
        self.log_record_text()?
            .map(serde_json::from_str)
            .transpose()
    }

    /// The typed view of `logRecord` as the view of `log_type`.
    pub fn typed_record(
        &self,
        log_type: crate::LogType,
    ) -> Result<Option<crate::records::TypedRecord>, serde_json::Error> {
        self.log_record_text()?
            .map(|text| crate::records::TypedRecord::from_json(log_type, text))
            .transpose()
    }

    /// The exact text of `logRecord`, if present and not `null`.
    pub fn log_record_text(&self) -> Result<Option<&str>, serde_json::Error> {
        #[derive(Deserialize)]
        struct Only<'a> {
            #[serde(rename = "logRecord", borrow, default)]
            log_record: Option<&'a RawValue>,
        }
        let only: Only<'_> = serde_json::from_str(self.raw.get())?;
        Ok(only.log_record.map(RawValue::get))
    }

    /// Appends the entry to `out` as one JSON object with `"logType"` added
    /// as its first key, every other byte unchanged (raw line breaks, which
    /// JSON allows only as whitespace between tokens, become spaces).
    ///
    /// The label is authoritative: if the entry carries its own `logType`
    /// key (any value, `null` included), that member is kept under
    /// `"gongLogType"`; a `gongLogType` already there moves on to
    /// `"gongGongLogType"`, and so on ([`displaced_name`]), so that no key
    /// is ever written twice and nothing is lost. Such an entry is written
    /// member by member: every value byte for byte, keys as compact JSON
    /// strings, no whitespace between tokens.
    pub fn write_with_log_type(&self, log_type: &str, out: &mut Vec<u8>) {
        // A raw line break can only be insignificant whitespace (inside JSON
        // strings it must be escaped): make it a space so one entry stays one
        // line of JSONL, every value unchanged.
        let owned;
        let mut text = self.raw.get();
        if text.contains(['\n', '\r']) {
            owned = text.replace(['\n', '\r'], " ");
            text = &owned;
        }
        out.extend_from_slice(b"{\"logType\":");
        serde_json::to_writer(&mut *out, log_type).expect("writing to a Vec cannot fail");
        if self.has_log_type {
            write_displaced(text, out);
            return;
        }
        // The text is a JSON object (checked when parsed): `{` then either
        // `}` or the first member.
        let body = text.trim_start().strip_prefix('{').unwrap_or(text);
        if !body.trim_start().starts_with('}') {
            out.push(b',');
        }
        out.extend_from_slice(body.as_bytes());
    }
}

/// The name a member takes when the label displaces it: `logType` →
/// `gongLogType` → `gongGongLogType` → ...
pub fn displaced_name(name: &str) -> String {
    let mut chars = name.chars();
    let first = chars.next().map(|c| c.to_ascii_uppercase());
    format!(
        "gong{}{}",
        first.map(String::from).unwrap_or_default(),
        chars.as_str()
    )
}

/// The members of `text` after the label's `{"logType":...`: each member
/// in order, the chain of names from `logType` that the label displaces
/// renamed one step along it.
fn write_displaced(text: &str, out: &mut Vec<u8>) {
    let members = object_members(text).unwrap_or_default();
    let taken: std::collections::HashSet<&str> = members.iter().map(|(k, _)| k.as_str()).collect();
    let mut displaced = std::collections::HashMap::new();
    let mut name = "logType".to_owned();
    while taken.contains(name.as_str()) {
        let next = displaced_name(&name);
        displaced.insert(name, next.clone());
        name = next;
    }
    for (key, value) in &members {
        out.push(b',');
        let key = displaced.get(key).unwrap_or(key);
        serde_json::to_writer(&mut *out, key).expect("writing to a Vec cannot fail");
        out.push(b':');
        out.extend_from_slice(value.get().as_bytes());
    }
    out.push(b'}');
}

/// The members of a JSON object, in order, values as their raw text;
/// `None` if `text` is not one object.
pub fn object_members(text: &str) -> Option<Vec<(String, &RawValue)>> {
    struct Members;
    impl<'de> serde::de::Visitor<'de> for Members {
        type Value = Vec<(String, &'de RawValue)>;

        fn expecting(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
            f.write_str("a JSON object")
        }

        fn visit_map<A: serde::de::MapAccess<'de>>(
            self,
            mut map: A,
        ) -> Result<Self::Value, A::Error> {
            let mut out = Vec::new();
            while let Some((k, v)) = map.next_entry::<String, &'de RawValue>()? {
                out.push((k, v));
            }
            Ok(out)
        }
    }
    let mut de = serde_json::Deserializer::from_str(text);
    let members = de.deserialize_map(Members).ok()?;
    de.end().ok()?;
    Some(members)
}

/// Two entries are equal when their JSON text is byte-for-byte equal.
impl PartialEq for LogEntry {
    fn eq(&self, other: &Self) -> bool {
        self.raw.get() == other.raw.get()
    }
}

impl Eq for LogEntry {}

impl std::fmt::Debug for LogEntry {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_tuple("LogEntry").field(&self.raw.get()).finish()
    }
}

impl<'de> Deserialize<'de> for LogEntry {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let raw = Box::<RawValue>::deserialize(deserializer)?;
        Self::from_raw(raw).map_err(D::Error::custom)
    }
}

impl Serialize for LogEntry {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        self.raw.serialize(serializer)
    }
}

/// The schema of an entry is the reconciled spec's `logEntry`
/// (`openapi/gong-logs-v2.json`), with `additionalProperties` allowed: the
/// type keeps fields the spec does not name. `tests/schemas.rs` checks it
/// against the spec, so a change there fails until this is updated.
impl schemars::JsonSchema for LogEntry {
    fn schema_name() -> String {
        "logEntry".to_owned()
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed("gong_logs_api::LogEntry")
    }

    fn json_schema(_: &mut schemars::r#gen::SchemaGenerator) -> schemars::schema::Schema {
        fn string(description: &str) -> serde_json::Value {
            serde_json::json!({ "type": "string", "description": description })
        }
        const RECORD: &str = "The list of log fields and associated values. This element will be populated dynamically by the log record, depending on the type of log.";
        let schema = serde_json::json!({
            "description": "A list, in which each item specifies one log.",
            "type": "object",
            "properties": {
                "userId": string("Gong's unique numeric identifier for the user (up to 20 digits), if available."),
                "userEmailAddress": string("The email address of the user, if available."),
                "userFullName": string("The full name of the user, if available."),
                "impersonatorUserId": string("Gong's unique numeric identifier for the impersonating user (up to 20 digits), if available."),
                "impersonatorEmailAddress": string("The email address of the impersonating user, if available."),
                "impersonatorFullName": string("The full name of the impersonating user, if available."),
                "impersonatorCompanyId": string("Gong's unique numeric identifier for the impersonating user's company id (up to 20 digits), if available."),
                "eventTime": string("The time in the ISO-8601 format (e.g., '2018-02-18T02:30:00-07:00' or '2018-02-18T08:00:00Z', where Z stands for UTC); when log was created."),
                "logRecord": {
                    "description": RECORD,
                    "type": "object",
                    "additionalProperties": true,
                },
            },
            "additionalProperties": true,
        });
        serde_json::from_value(schema).expect("a valid JSON Schema object")
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn written(text: &str) -> String {
        let mut out = Vec::new();
        LogEntry::from_json(text)
            .unwrap()
            .write_with_log_type("AccessLog", &mut out);
        String::from_utf8(out).unwrap()
    }

    #[test]
    fn the_label_comes_first_and_an_own_log_type_is_moved() {
        assert_eq!(
            written(r#"{"eventTime":"2024-01-01T00:00:00Z", "n" : 1}"#),
            r#"{"logType":"AccessLog","eventTime":"2024-01-01T00:00:00Z", "n" : 1}"#
        );
        assert_eq!(written("{}"), r#"{"logType":"AccessLog"}"#);
        assert_eq!(
            written(r#"{"n":1.50, "logType" : "UserCallPlay"}"#),
            r#"{"logType":"AccessLog","n":1.50,"gongLogType":"UserCallPlay"}"#
        );
        // The chain: each displaced name moves one step, nothing collides.
        assert_eq!(
            written(r#"{"gongGongLogType":3,"logType":null,"gongLogType":{"a":[1]},"x":"\u0041"}"#),
            r#"{"logType":"AccessLog","gongGongGongLogType":3,"gongLogType":null,"gongGongLogType":{"a":[1]},"x":"\u0041"}"#
        );
        // A gongLogType alone (no logType) is the entry's own field: kept.
        assert_eq!(
            written(r#"{"gongLogType":1}"#),
            r#"{"logType":"AccessLog","gongLogType":1}"#
        );
        // An escaped spelling of logType is the same key.
        assert_eq!(
            written(r#"{"log\u0054ype":"X"}"#),
            r#"{"logType":"AccessLog","gongLogType":"X"}"#
        );
    }
}
