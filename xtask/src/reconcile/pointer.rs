//! JSON Pointers (RFC 6901) and the four JSON Patch operations (RFC 6902)
//! the patch file uses: `add`, `remove`, `replace` and `test`.
//!
//! Errors are plain sentences; the caller prefixes them with the step that
//! failed.
//!
//! Walking is serde_json's (`Value::pointer`, `pointer_mut`). The operations
//! stay here rather than in the `json-patch` crate: its `remove` is
//! `Map::remove`, a `swap_remove` under `preserve_order` (it would reorder
//! the reconciled spec's keys), and its errors say only "path is invalid",
//! where ours name the missing member and what the parent holds.

use std::fmt;

use serde_json::Value;

/// A parsed JSON Pointer: the empty pointer is the whole document.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Pointer {
    text: String,
    tokens: Vec<String>,
}

impl Pointer {
    /// Parses `text` as an RFC 6901 pointer (`""` or `/a/b~1c`).
    pub fn parse(text: &str) -> Result<Self, String> {
        if text.is_empty() {
            return Ok(Self {
                text: String::new(),
                tokens: Vec::new(),
            });
        }
        let Some(rest) = text.strip_prefix('/') else {
            return Err(format!(
                "JSON Pointer `{text}` must be empty or start with `/`"
            ));
        };
        let tokens = rest
            .split('/')
            .map(|raw| {
                unescape(raw).ok_or_else(|| {
                    format!("JSON Pointer `{text}`: bad escape in `{raw}` (only ~0 and ~1 exist)")
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            text: text.to_owned(),
            tokens,
        })
    }

    /// Builds a pointer from unescaped tokens.
    pub fn from_tokens<I, S>(tokens: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        let tokens: Vec<String> = tokens.into_iter().map(Into::into).collect();
        let text = tokens.iter().map(|t| format!("/{}", escape(t))).collect();
        Self { text, tokens }
    }

    /// The pointer's text, as written in the patch file.
    pub fn as_str(&self) -> &str {
        &self.text
    }

    /// The unescaped reference tokens.
    pub fn tokens(&self) -> &[String] {
        &self.tokens
    }

    /// The value this pointer designates, if it exists.
    pub fn get<'a>(&self, doc: &'a Value) -> Option<&'a Value> {
        doc.pointer(&self.text)
    }

    /// RFC 6902 `test`: the target must exist and equal `expected`.
    pub fn test(&self, doc: &Value, expected: &Value) -> Result<(), String> {
        let found = self.resolve(doc)?;
        if found == expected {
            Ok(())
        } else {
            Err(format!(
                "`{}` is {} but the step expects {}",
                self.display(),
                preview(found),
                preview(expected)
            ))
        }
    }

    /// RFC 6902 `add`: the parent must exist; an object member is created or
    /// replaced (keeping its position), an array element is inserted (`-`
    /// appends).
    pub fn add(&self, doc: &mut Value, value: Value) -> Result<(), String> {
        let Some((last, parent_ptr)) = self.split_last() else {
            *doc = value;
            return Ok(());
        };
        let display = self.display();
        let parent = parent_ptr.resolve_mut(doc)?;
        match parent {
            Value::Object(map) => {
                map.insert(last.clone(), value);
                Ok(())
            }
            Value::Array(items) => {
                let index = if last == "-" {
                    items.len()
                } else {
                    array_index(last, items.len(), true, &display)?
                };
                items.insert(index, value);
                Ok(())
            }
            other => Err(format!(
                "cannot add `{display}`: its parent is {}, not an object or array",
                kind(other)
            )),
        }
    }

    /// RFC 6902 `remove`: the target must exist.
    pub fn remove(&self, doc: &mut Value) -> Result<Value, String> {
        let Some((last, parent_ptr)) = self.split_last() else {
            return Err("cannot remove the whole document".to_owned());
        };
        let display = self.display();
        let parent = parent_ptr.resolve_mut(doc)?;
        match parent {
            Value::Object(map) => map
                .shift_remove(last)
                .ok_or_else(|| missing_key(&display, last, map)),
            Value::Array(items) => {
                let index = array_index(last, items.len(), false, &display)?;
                Ok(items.remove(index))
            }
            other => Err(format!(
                "cannot remove `{display}`: its parent is {}",
                kind(other)
            )),
        }
    }

    /// RFC 6902 `replace`: the target must exist; it keeps its position.
    pub fn replace(&self, doc: &mut Value, value: Value) -> Result<(), String> {
        let target = self.resolve_mut(doc)?;
        *target = value;
        Ok(())
    }

    fn display(&self) -> String {
        if self.text.is_empty() {
            "(whole document)".to_owned()
        } else {
            self.text.clone()
        }
    }

    fn split_last(&self) -> Option<(&String, Pointer)> {
        let (last, init) = self.tokens.split_last()?;
        Some((last, Pointer::from_tokens(init.iter().cloned())))
    }

    /// The target, or an error explaining the first missing step.
    fn resolve<'a>(&self, doc: &'a Value) -> Result<&'a Value, String> {
        doc.pointer(&self.text)
            .ok_or_else(|| self.explain_missing(doc))
    }

    fn resolve_mut<'a>(&self, doc: &'a mut Value) -> Result<&'a mut Value, String> {
        if doc.pointer(&self.text).is_none() {
            return Err(self.explain_missing(doc));
        }
        doc.pointer_mut(&self.text)
            .ok_or_else(|| format!("`{}` does not exist", self.display()))
    }

    /// Why the target does not exist: the first token that fails, and what
    /// its parent holds instead.
    fn explain_missing(&self, doc: &Value) -> String {
        let mut current = doc;
        for (depth, token) in self.tokens.iter().enumerate() {
            match child(current, token) {
                Some(next) => current = next,
                None => return self.missing(depth, current),
            }
        }
        format!("`{}` does not exist", self.display())
    }

    fn missing(&self, depth: usize, parent: &Value) -> String {
        let at = Pointer::from_tokens(self.tokens[..depth].iter().cloned()).display();
        let token = &self.tokens[depth];
        match parent {
            Value::Object(map) => {
                let whole = self.display();
                format!("`{whole}` does not exist: {}", missing_key(&at, token, map))
            }
            Value::Array(items) => format!(
                "`{}` does not exist: `{at}` is an array of {} elements and has no index `{token}`",
                self.display(),
                items.len()
            ),
            other => format!(
                "`{}` does not exist: `{at}` is {}",
                self.display(),
                kind(other)
            ),
        }
    }
}

impl fmt::Display for Pointer {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.display())
    }
}

fn child<'a>(value: &'a Value, token: &str) -> Option<&'a Value> {
    value.pointer(&format!("/{}", escape(token)))
}

/// RFC 6901 array indices: `0` or digits without a leading zero.
fn strict_index(token: &str) -> Option<usize> {
    let digits = !token.is_empty() && token.bytes().all(|b| b.is_ascii_digit());
    let leading_zero = token.len() > 1 && token.starts_with('0');
    if digits && !leading_zero {
        token.parse().ok()
    } else {
        None
    }
}

/// An index into an array of `len` elements; `at_end` also allows `len`.
fn array_index(token: &str, len: usize, at_end: bool, pointer: &str) -> Result<usize, String> {
    match strict_index(token) {
        Some(i) if i < len || (at_end && i == len) => Ok(i),
        Some(i) => Err(format!(
            "`{pointer}`: index {i} is out of bounds (the array has {len} elements)"
        )),
        None => Err(format!("`{pointer}`: `{token}` is not an array index")),
    }
}

fn missing_key(at: &str, key: &str, map: &serde_json::Map<String, Value>) -> String {
    let keys: Vec<&str> = map.keys().map(String::as_str).collect();
    format!(
        "`{at}` has no member `{key}` (it has: {})",
        if keys.is_empty() {
            "nothing".to_owned()
        } else {
            keys.join(", ")
        }
    )
}

fn unescape(raw: &str) -> Option<String> {
    let mut out = String::with_capacity(raw.len());
    let mut chars = raw.chars();
    while let Some(c) = chars.next() {
        if c == '~' {
            match chars.next() {
                Some('0') => out.push('~'),
                Some('1') => out.push('/'),
                _ => return None,
            }
        } else {
            out.push(c);
        }
    }
    Some(out)
}

/// Escapes one reference token (`~` then `/`).
pub fn escape(token: &str) -> String {
    token.replace('~', "~0").replace('/', "~1")
}

/// A short human-readable rendering of a JSON value.
pub fn preview(value: &Value) -> String {
    const MAX: usize = 160;
    let text = value.to_string();
    if text.chars().count() <= MAX {
        text
    } else {
        let cut: String = text.chars().take(MAX).collect();
        format!("{cut}…")
    }
}

/// "an object", "a string", ...
pub fn kind(value: &Value) -> &'static str {
    match value {
        Value::Null => "null",
        Value::Bool(_) => "a boolean",
        Value::Number(_) => "a number",
        Value::String(_) => "a string",
        Value::Array(_) => "an array",
        Value::Object(_) => "an object",
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn ptr(text: &str) -> Pointer {
        Pointer::parse(text).unwrap()
    }

    #[test]
    fn parses_and_escapes() {
        let p = ptr("/paths/~1v2~1logs/get/a~0b");
        assert_eq!(p.tokens(), ["paths", "/v2/logs", "get", "a~b"]);
        assert_eq!(Pointer::from_tokens(["paths", "/v2/logs", "get", "a~b"]), p);
        assert!(Pointer::parse("paths").is_err());
        assert!(Pointer::parse("/a~2").is_err());
    }

    #[test]
    fn add_keeps_object_order_and_inserts_into_arrays() {
        let mut doc = json!({"a": 1, "b": [1, 3]});
        ptr("/a").add(&mut doc, json!(9)).unwrap();
        ptr("/c").add(&mut doc, json!(true)).unwrap();
        ptr("/b/1").add(&mut doc, json!(2)).unwrap();
        ptr("/b/-").add(&mut doc, json!(4)).unwrap();
        assert_eq!(doc.to_string(), r#"{"a":9,"b":[1,2,3,4],"c":true}"#);
        assert!(ptr("/b/9").add(&mut doc, json!(0)).is_err());
        assert!(ptr("/x/y").add(&mut doc, json!(0)).is_err());
    }

    #[test]
    fn remove_and_replace_need_the_target() {
        let mut doc = json!({"a": 1, "b": 2, "c": 3});
        assert_eq!(ptr("/a").remove(&mut doc).unwrap(), json!(1));
        assert_eq!(doc.to_string(), r#"{"b":2,"c":3}"#, "order is kept");
        let err = ptr("/zz").remove(&mut doc).unwrap_err();
        assert!(
            err.contains("has no member `zz`") && err.contains("b, c"),
            "{err}"
        );
        assert!(ptr("/zz").replace(&mut doc, json!(0)).is_err());
        ptr("/b").replace(&mut doc, json!("x")).unwrap();
        assert_eq!(doc.to_string(), r#"{"b":"x","c":3}"#);
    }

    #[test]
    fn test_compares_values() {
        let doc = json!({"p": [{"name": "a"}, {"name": "b"}]});
        ptr("/p/1/name").test(&doc, &json!("b")).unwrap();
        let err = ptr("/p/1/name").test(&doc, &json!("a")).unwrap_err();
        assert!(err.contains(r#"is "b" but the step expects "a""#), "{err}");
        let err = ptr("/p/01/name").test(&doc, &json!("b")).unwrap_err();
        assert!(err.contains("no index `01`"), "{err}");
    }
}
