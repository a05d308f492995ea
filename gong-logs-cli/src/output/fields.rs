//! Reading parts of an entry's exact JSON text without losing anything:
//! members in order, dotted paths, compact text with every number and
//! escape kept as Gong spelled it.

use serde::Deserialize as _;
use serde_json::value::RawValue;

/// The members of a JSON object, in order, values as raw text.
#[derive(Debug)]
pub struct Members<'a>(pub Vec<(String, &'a RawValue)>);

impl<'a> Members<'a> {
    /// Parses `text` as an object; `None` if it is not one.
    pub fn parse(text: &'a str) -> Option<Self> {
        gong_logs_api::object_members(text).map(Self)
    }

    /// The first member named `key`.
    pub fn get(&self, key: &str) -> Option<&'a RawValue> {
        self.0.iter().find(|(k, _)| k == key).map(|(_, v)| *v)
    }
}

/// Removes the whitespace between tokens; strings, numbers and escapes are
/// kept byte for byte.
pub fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let mut in_string = false;
    let mut escaped = false;
    for c in text.chars() {
        if in_string {
            out.push(c);
            if escaped {
                escaped = false;
            } else if c == '\\' {
                escaped = true;
            } else if c == '"' {
                in_string = false;
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !matches!(c, ' ' | '\t' | '\n' | '\r') {
            out.push(c);
        }
    }
    out
}

/// A JSON string's value, or `None` if `raw` is not a string.
pub fn as_string(raw: &RawValue) -> Option<String> {
    if raw.get().starts_with('"') {
        String::deserialize(&mut serde_json::Deserializer::from_str(raw.get())).ok()
    } else {
        None
    }
}

/// A value as cell text: strings as their text, null as empty, anything else
/// as compact JSON.
pub fn cell_text(raw: &RawValue) -> String {
    if let Some(s) = as_string(raw) {
        return s;
    }
    match raw.get() {
        "null" => String::new(),
        text => minify(text),
    }
}

/// A dotted path into an entry: `logRecord.call_id`, `a.0.b`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FieldPath {
    text: String,
    segments: Vec<String>,
}

impl FieldPath {
    /// Parses a path; segments must be non-empty.
    pub fn parse(text: &str) -> Result<Self, String> {
        let text = text.trim();
        let segments: Vec<String> = text.split('.').map(str::to_owned).collect();
        if text.is_empty() || segments.iter().any(String::is_empty) {
            return Err(format!(
                "invalid field {text:?}: use names joined by dots, e.g. eventTime or logRecord.call_id"
            ));
        }
        Ok(Self {
            text: text.to_owned(),
            segments,
        })
    }

    /// The path as written (the column header).
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// True for the path `logType`.
    pub fn is_log_type(&self) -> bool {
        self.segments.len() == 1 && self.segments[0] == "logType"
    }

    /// The raw value at this path in `entry` (the entry's JSON text).
    pub fn lookup<'a>(&self, entry: &'a str) -> Option<&'a RawValue> {
        let top = Members::parse(entry)?;
        let mut current: &'a RawValue = top.get(&self.segments[0])?;
        for segment in &self.segments[1..] {
            let text: &'a str = current.get();
            current = if text.starts_with('{') {
                Members::parse(text)?.get(segment)?
            } else if text.starts_with('[') {
                let index: usize = segment.parse().ok()?;
                let items: Vec<&'a RawValue> = serde_json::from_str(text).ok()?;
                *items.get(index)?
            } else {
                return None;
            };
        }
        Some(current)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn minify_keeps_strings_and_numbers() {
        let text =
            "{ \"a b\" : [ 1 , 2.50e10 , \"x \\\" y\" ],\n \"n\": 123456789012345678901234567890 }";
        assert_eq!(
            minify(text),
            "{\"a b\":[1,2.50e10,\"x \\\" y\"],\"n\":123456789012345678901234567890}"
        );
    }

    #[test]
    fn paths() {
        let entry = r#"{"eventTime":"2024-03-01T00:00:00Z","logRecord":{"call_id":"77","t":[{"n":"x"}],"big":12345678901234567890123},"x.y":1}"#;
        let get = |p: &str| FieldPath::parse(p).unwrap().lookup(entry).map(cell_text);
        assert_eq!(get("eventTime").as_deref(), Some("2024-03-01T00:00:00Z"));
        assert_eq!(get("logRecord.call_id").as_deref(), Some("77"));
        assert_eq!(get("logRecord.t.0.n").as_deref(), Some("x"));
        assert_eq!(
            get("logRecord.big").as_deref(),
            Some("12345678901234567890123")
        );
        assert_eq!(get("logRecord.t").as_deref(), Some(r#"[{"n":"x"}]"#));
        assert_eq!(get("logRecord.missing"), None);
        assert_eq!(get("logRecord.t.5"), None);
        assert!(FieldPath::parse("a..b").is_err());
        assert!(FieldPath::parse("").is_err());
    }
}
