//! Walks an OpenAPI document visiting only its *keyword objects*: objects
//! whose keys are OpenAPI or JSON Schema keywords (a schema, a parameter, a
//! media type...).
//!
//! The walk never mistakes a name for a keyword (the keys of `properties`,
//! `paths`, `responses`, `schemas`... are names: a field called `types` is not
//! the noise key `types`) and never enters data (`example`, `default`, `enum`,
//! `x-` extensions, security requirements), so a step that strips keys or
//! rewrites `style` cannot corrupt a field name or an example.

use serde_json::{Map, Value};

/// Keys whose value is data, not part of the document's structure.
const DATA_KEYS: &[&str] = &[
    "example", "default", "enum", "const", "value", "security", "mapping", "scopes",
];

/// Keys whose value (when an object) maps names to keyword objects.
const NAME_MAP_KEYS: &[&str] = &[
    "paths",
    "properties",
    "patternProperties",
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
    "content",
    "encoding",
    "variables",
];

fn is_data(key: &str) -> bool {
    key.starts_with("x-") || DATA_KEYS.contains(&key)
}

/// Calls `f` on every keyword object of `value` (pre-order), then walks into
/// what is left of it.
pub fn keyword_objects_mut<E>(
    value: &mut Value,
    f: &mut impl FnMut(&mut Map<String, Value>) -> Result<(), E>,
) -> Result<(), E> {
    match value {
        Value::Array(items) => items
            .iter_mut()
            .try_for_each(|item| keyword_objects_mut(item, f)),
        Value::Object(map) => {
            f(map)?;
            for (key, child) in map.iter_mut() {
                if is_data(key) {
                    continue;
                }
                match child {
                    Value::Object(names) if NAME_MAP_KEYS.contains(&key.as_str()) => {
                        names
                            .values_mut()
                            .try_for_each(|named| keyword_objects_mut(named, f))?;
                    }
                    _ => keyword_objects_mut(child, f)?,
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Read-only [`keyword_objects_mut`].
pub fn keyword_objects<'a, E>(
    value: &'a Value,
    f: &mut impl FnMut(&'a Map<String, Value>) -> Result<(), E>,
) -> Result<(), E> {
    match value {
        Value::Array(items) => items.iter().try_for_each(|item| keyword_objects(item, f)),
        Value::Object(map) => {
            f(map)?;
            for (key, child) in map {
                if is_data(key) {
                    continue;
                }
                match child {
                    Value::Object(names) if NAME_MAP_KEYS.contains(&key.as_str()) => {
                        names
                            .values()
                            .try_for_each(|named| keyword_objects(named, f))?;
                    }
                    _ => keyword_objects(child, f)?,
                }
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

/// Every `$ref` string in `value`, in document order.
pub fn refs(value: &Value) -> Vec<&str> {
    let mut out = Vec::new();
    let _ = keyword_objects(value, &mut |map| {
        if let Some(Value::String(target)) = map.get("$ref") {
            out.push(target.as_str());
        }
        Ok::<(), ()>(())
    });
    out
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn names_and_data_are_not_keywords() {
        let mut doc = json!({
            "types": ["object"],
            "properties": {
                "types": {"type": "string", "types": ["string"], "example": {"types": 1}},
            },
            "x-vendor": {"types": 2},
            "enum": [{"types": 3}],
        });
        keyword_objects_mut(&mut doc, &mut |map| {
            map.shift_remove("types");
            Ok::<(), ()>(())
        })
        .unwrap();
        assert_eq!(
            doc,
            json!({
                "properties": {"types": {"type": "string", "example": {"types": 1}}},
                "x-vendor": {"types": 2},
                "enum": [{"types": 3}],
            })
        );
    }

    #[test]
    fn finds_refs_in_order() {
        let doc = json!({
            "responses": {"200": {"$ref": "#/a"}, "400": {"content": {"j": {"schema": {"$ref": "#/b"}}}}},
            "example": {"$ref": "#/not-a-ref"},
        });
        assert_eq!(refs(&doc), ["#/a", "#/b"]);
    }
}
