//! Every kind of response the simulator gives to `GET /v2/logs`, checked
//! against the reconciled OpenAPI spec (`openapi/gong-logs-v2.json`).
//!
//! - `schema`: a small, strict validator for the OpenAPI 3.0 schema subset the
//!   spec uses. It refuses a spec that steps outside that subset (so a new
//!   keyword cannot be silently ignored) and is unit-tested with failing
//!   documents below.
//! - One test per documented status: provoke it over real HTTP, then check
//!   that the status is documented for the operation, the content type is the
//!   documented media type, the body validates against the documented schema
//!   and the documented headers are present with the documented type.
//! - The statuses the spec does not document are exactly the faults the
//!   simulator injects on demand (`UNDOCUMENTED_FAULTS`).

use std::collections::{BTreeMap, BTreeSet};
use std::sync::{Once, OnceLock};
use std::time::Duration;

use gong_logs_sim::{FaultConfig, LogType, SimConfig, Simulator};
use jiff::Timestamp;
use reqwest::header::{CONTENT_TYPE, HeaderMap};
use serde_json::{Value, json};

use schema::{Report, Validator};

const SPEC_PATH: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../openapi/gong-logs-v2.json");

const FROM: &str = "2024-01-01T00:00:00Z";
const TO: &str = "2024-01-31T00:00:00Z";

// ---------------------------------------------------------------------------
// The validator

mod schema {
    use serde_json::{Map, Value};

    /// Keywords of the supported subset.
    const KEYWORDS: &[&str] = &[
        "$ref",
        "type",
        "format",
        "properties",
        "items",
        "additionalProperties",
        "enum",
        "required",
        "nullable",
    ];
    /// Annotations: no effect on validation.
    const ANNOTATIONS: &[&str] = &["description", "example", "title"];
    const TYPES: &[&str] = &["object", "array", "string", "integer", "number", "boolean"];
    const MAX_REF_HOPS: usize = 32;
    const REF_PREFIX: &str = "#/components/schemas/";

    /// The outcome of validating one instance.
    #[derive(Debug, Default)]
    pub struct Report {
        /// `"$.json.path: what is wrong"`, in document order.
        pub errors: Vec<String>,
        /// Paths of properties the schema does not name, in objects whose
        /// schema names `properties` but leaves `additionalProperties` unset. OpenAPI allows them;
        /// they are listed so that a caller can decide (a typo looks like one).
        pub undocumented: Vec<String>,
    }

    /// An OpenAPI 3.0 document whose schemas all use the supported subset.
    #[derive(Debug)]
    pub struct Validator {
        doc: Value,
    }

    impl Validator {
        /// Checks every schema of `doc` (components, parameters, response
        /// bodies and headers): only supported keywords, types and formats,
        /// every `$ref` resolvable. Returns every problem found.
        pub fn new(doc: Value) -> Result<Validator, Vec<String>> {
            let v = Validator { doc };
            let mut errors = Vec::new();
            if let Some(schemas) = v.doc.pointer("/components/schemas") {
                match schemas.as_object() {
                    Some(m) => {
                        for (name, s) in m {
                            v.lint(s, &format!("{REF_PREFIX}{name}"), &mut errors);
                        }
                    }
                    None => errors.push("#/components/schemas: not an object".into()),
                }
            }
            let paths = v.doc.get("paths").and_then(Value::as_object);
            for (path, item) in paths.into_iter().flatten() {
                for (method, op) in item.as_object().into_iter().flatten() {
                    v.lint_operation(op, &format!("#/paths/{path}/{method}"), &mut errors);
                }
            }
            if errors.is_empty() {
                Ok(v)
            } else {
                Err(errors)
            }
        }

        /// The document.
        pub fn doc(&self) -> &Value {
            &self.doc
        }

        /// Validates `instance` against `schema` (any schema object of the
        /// document, or one naming a component with `$ref`).
        pub fn validate(&self, schema: &Value, instance: &Value) -> Report {
            let mut out = Report::default();
            self.check(schema, instance, "$", 0, &mut out);
            out
        }

        fn resolve(&self, r: &str) -> Result<&Value, String> {
            let name = r.strip_prefix(REF_PREFIX).ok_or_else(|| {
                format!("unsupported $ref {r:?} (only {REF_PREFIX}NAME is supported)")
            })?;
            let name = name.replace("~1", "/").replace("~0", "~");
            self.doc
                .pointer("/components/schemas")
                .and_then(|s| s.get(&name))
                .ok_or_else(|| format!("unresolved $ref {r:?}"))
        }

        fn lint_operation(&self, op: &Value, at: &str, errors: &mut Vec<String>) {
            let Some(op) = op.as_object() else {
                return; // path-level `summary`, `description`, …
            };
            for (i, p) in op
                .get("parameters")
                .and_then(Value::as_array)
                .into_iter()
                .flatten()
                .enumerate()
            {
                match p.get("schema") {
                    Some(s) => self.lint(s, &format!("{at}/parameters/{i}/schema"), errors),
                    None => errors.push(format!("{at}/parameters/{i}: no schema (unsupported)")),
                }
            }
            let responses = op.get("responses").and_then(Value::as_object);
            for (status, resp) in responses.into_iter().flatten() {
                let at = format!("{at}/responses/{status}");
                if resp.get("$ref").is_some() {
                    errors.push(format!("{at}: response $ref is not supported"));
                }
                let contents = resp.get("content").and_then(Value::as_object);
                for (media, m) in contents.into_iter().flatten() {
                    match m.get("schema") {
                        Some(s) => self.lint(s, &format!("{at}/content/{media}/schema"), errors),
                        None => errors.push(format!("{at}/content/{media}: no schema")),
                    }
                }
                let headers = resp.get("headers").and_then(Value::as_object);
                for (name, h) in headers.into_iter().flatten() {
                    match h.get("schema") {
                        Some(s) => self.lint(s, &format!("{at}/headers/{name}/schema"), errors),
                        None => errors.push(format!(
                            "{at}/headers/{name}: no schema (header $ref/content unsupported)"
                        )),
                    }
                }
            }
        }

        fn lint(&self, s: &Value, at: &str, errors: &mut Vec<String>) {
            let Some(obj) = s.as_object() else {
                errors.push(format!("{at}: a schema must be an object"));
                return;
            };
            for k in obj.keys() {
                if !KEYWORDS.contains(&k.as_str()) && !ANNOTATIONS.contains(&k.as_str()) {
                    errors.push(format!("{at}: unsupported schema keyword {k:?}"));
                }
            }
            if let Some(r) = obj.get("$ref") {
                if obj
                    .keys()
                    .any(|k| k != "$ref" && !ANNOTATIONS.contains(&k.as_str()))
                {
                    errors.push(format!(
                        "{at}: keywords next to $ref (OpenAPI 3.0 ignores them) are not supported"
                    ));
                }
                match r.as_str().map(|r| self.resolve(r)) {
                    Some(Ok(_)) => {}
                    Some(Err(e)) => errors.push(format!("{at}: {e}")),
                    None => errors.push(format!("{at}: $ref must be a string")),
                }
                return;
            }
            let ty = match obj.get("type") {
                None => None,
                Some(Value::String(t)) if TYPES.contains(&t.as_str()) => Some(t.as_str()),
                Some(t) => {
                    errors.push(format!("{at}: unsupported type {t}"));
                    None
                }
            };
            if let Some(f) = obj.get("format") {
                let known = matches!(
                    (ty, f.as_str()),
                    (Some("integer"), Some("int32" | "int64"))
                        | (Some("number"), Some("float" | "double"))
                );
                if !known {
                    errors.push(format!(
                        "{at}: unsupported format {f} for type {}",
                        ty.unwrap_or("(none)")
                    ));
                }
            }
            match obj.get("properties") {
                None => {}
                Some(Value::Object(props)) => {
                    for (name, p) in props {
                        self.lint(p, &format!("{at}/properties/{name}"), errors);
                    }
                }
                Some(_) => errors.push(format!("{at}/properties: not an object")),
            }
            match obj.get("items") {
                Some(i) => self.lint(i, &format!("{at}/items"), errors),
                None if ty == Some("array") => {
                    errors.push(format!("{at}: type array without items"));
                }
                None => {}
            }
            match obj.get("additionalProperties") {
                None | Some(Value::Bool(_)) => {}
                Some(a) => self.lint(a, &format!("{at}/additionalProperties"), errors),
            }
            if let Some(e) = obj.get("enum")
                && e.as_array().is_none_or(|a| a.is_empty())
            {
                errors.push(format!("{at}/enum: must be a non-empty array"));
            }
            if let Some(r) = obj.get("required") {
                let names: Option<Vec<&str>> = r
                    .as_array()
                    .and_then(|a| a.iter().map(Value::as_str).collect());
                let unique = |n: &Vec<&str>| {
                    let mut s = n.clone();
                    s.sort_unstable();
                    s.dedup();
                    s.len() == n.len()
                };
                if !names.is_some_and(|n| !n.is_empty() && unique(&n)) {
                    errors.push(format!(
                        "{at}/required: must be a non-empty array of distinct strings"
                    ));
                }
            }
            if obj.get("nullable").is_some_and(|n| !n.is_boolean()) {
                errors.push(format!("{at}/nullable: must be a boolean"));
            }
        }

        fn check(&self, s: &Value, v: &Value, path: &str, hops: usize, out: &mut Report) {
            let s = match s {
                Value::Bool(true) => return,
                Value::Bool(false) => {
                    out.errors.push(format!("{path}: no value is allowed here"));
                    return;
                }
                Value::Object(o) => o,
                other => {
                    out.errors.push(format!("{path}: invalid schema {other}"));
                    return;
                }
            };
            if let Some(r) = s.get("$ref").and_then(Value::as_str) {
                if hops >= MAX_REF_HOPS {
                    out.errors.push(format!("{path}: $ref loop at {r:?}"));
                    return;
                }
                match self.resolve(r) {
                    Ok(target) => self.check(target, v, path, hops + 1, out),
                    Err(e) => out.errors.push(format!("{path}: {e}")),
                }
                return;
            }
            if v.is_null() && s.get("nullable") == Some(&Value::Bool(true)) {
                return;
            }
            if let Some(ty) = s.get("type").and_then(Value::as_str) {
                let format = s.get("format").and_then(Value::as_str);
                if let Err(e) = check_type(ty, format, v) {
                    out.errors.push(format!("{path}: {e}"));
                    return;
                }
            }
            if let Some(allowed) = s.get("enum").and_then(Value::as_array)
                && !allowed.contains(v)
            {
                let allowed: Vec<String> = allowed.iter().map(Value::to_string).collect();
                out.errors.push(format!(
                    "{path}: {} is not one of the enum values [{}]",
                    short(v),
                    allowed.join(", ")
                ));
            }
            match v {
                Value::Object(m) => self.check_object(s, m, path, out),
                Value::Array(a) => {
                    if let Some(items) = s.get("items") {
                        for (i, x) in a.iter().enumerate() {
                            self.check(items, x, &format!("{path}[{i}]"), 0, out);
                        }
                    }
                }
                _ => {}
            }
        }

        fn check_object(
            &self,
            s: &Map<String, Value>,
            m: &Map<String, Value>,
            path: &str,
            out: &mut Report,
        ) {
            let required = s.get("required").and_then(Value::as_array);
            for name in required.into_iter().flatten().filter_map(Value::as_str) {
                if !m.contains_key(name) {
                    out.errors
                        .push(format!("{path}: missing required property {name:?}"));
                }
            }
            let props = s.get("properties").and_then(Value::as_object);
            for (k, x) in m {
                let p = member(path, k);
                if let Some(ps) = props.and_then(|props| props.get(k)) {
                    self.check(ps, x, &p, 0, out);
                    continue;
                }
                match s.get("additionalProperties") {
                    // Only a schema that names properties documents its
                    // members; `{}` or `{type: object}` is free-form.
                    None if props.is_some() => out.undocumented.push(p),
                    None => {}
                    Some(Value::Bool(false)) => out.errors.push(format!(
                        "{p}: property not allowed (additionalProperties: false)"
                    )),
                    Some(a) => self.check(a, x, &p, 0, out),
                }
            }
        }
    }

    fn check_type(ty: &str, format: Option<&str>, v: &Value) -> Result<(), String> {
        let ok = match ty {
            "object" => v.is_object(),
            "array" => v.is_array(),
            "string" => v.is_string(),
            "boolean" => v.is_boolean(),
            "number" => v.is_number(),
            // JSON Schema draft 4 (OpenAPI 3.0): no fraction or exponent part.
            "integer" => v.is_i64() || v.is_u64(),
            other => return Err(format!("unsupported type {other:?} in the schema")),
        };
        if !ok {
            return Err(format!("expected {ty}, got {} {}", kind(v), short(v)));
        }
        match format {
            Some("int32") if v.as_i64().is_none_or(|i| i32::try_from(i).is_err()) => {
                Err(format!("{v} is outside the int32 range"))
            }
            Some("int64") if !v.is_i64() => Err(format!("{v} is outside the int64 range")),
            _ => Ok(()),
        }
    }

    fn kind(v: &Value) -> &'static str {
        match v {
            Value::Null => "null",
            Value::Bool(_) => "boolean",
            Value::Number(n) if n.is_i64() || n.is_u64() => "integer",
            Value::Number(_) => "number",
            Value::String(_) => "string",
            Value::Array(_) => "array",
            Value::Object(_) => "object",
        }
    }

    fn short(v: &Value) -> String {
        let s = v.to_string();
        match s.char_indices().nth(60) {
            Some((i, _)) => format!("{}…", &s[..i]),
            None => s,
        }
    }

    /// `$.a.b`, or `$["odd key"]` for keys that are not identifiers.
    fn member(path: &str, key: &str) -> String {
        let ident = key
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
            && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
        if ident {
            format!("{path}.{key}")
        } else {
            format!("{path}[{}]", Value::String(key.to_owned()))
        }
    }
}

// ---------------------------------------------------------------------------
// Validator unit tests

fn toy() -> Validator {
    Validator::new(json!({
        "openapi": "3.0.3",
        "paths": {},
        "components": { "schemas": {
            "Thing": {
                "type": "object",
                "required": ["id", "kind"],
                "additionalProperties": false,
                "properties": {
                    "id": { "type": "integer", "format": "int32" },
                    "big": { "type": "integer", "format": "int64" },
                    "kind": { "type": "string", "enum": ["a", "b"] },
                    "ratio": { "type": "number", "format": "double" },
                    "ok": { "type": "boolean" },
                    "note": { "type": "string", "nullable": true },
                    "tags": { "type": "array", "items": { "type": "string" } },
                    "child": { "$ref": "#/components/schemas/Child" },
                    "counts": { "type": "object", "additionalProperties": { "type": "integer" } },
                    "any": { "type": "object", "additionalProperties": { "description": "anything" } },
                    "free": { "type": "object", "additionalProperties": {} }
                }
            },
            "Child": { "type": "object", "properties": { "name": { "type": "string" } } }
        }}
    }))
    .expect("toy spec is in the subset")
}

fn thing(v: &Validator, instance: Value) -> Report {
    v.validate(&json!({ "$ref": "#/components/schemas/Thing" }), &instance)
}

/// The JSON paths of the errors.
fn error_paths(r: &Report) -> BTreeSet<&str> {
    r.errors
        .iter()
        .map(|e| e.split_once(": ").map_or(e.as_str(), |(p, _)| p))
        .collect()
}

#[test]
fn validator_accepts_valid_documents() {
    let v = toy();
    let r = thing(
        &v,
        json!({
            "id": -2147483648, "big": i64::MIN, "kind": "b", "ratio": 1,
            "ok": false, "note": null, "tags": [], "child": { "name": "x", "surprise": 1 },
            "counts": { "a": 1, "b": 2147483648u64 },
            "any": { "s": "x", "n": 1.5, "b": true, "z": null, "a": [1, "2"], "o": { "deep": {} } },
            "free": { "n": null }
        }),
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);
    assert_eq!(r.undocumented, ["$.child.surprise"]);
    let r = thing(&v, json!({ "id": 2147483647, "kind": "a", "note": "text" }));
    assert!(r.errors.is_empty(), "{:?}", r.errors);
}

#[test]
fn validator_catches_wrong_types() {
    let v = toy();
    let r = thing(
        &v,
        json!({
            "id": "1", "kind": null, "ratio": "0.5", "ok": 1, "note": 5,
            "tags": ["a", 2], "child": [], "counts": { "n": 1.5 }, "any": "not an object"
        }),
    );
    let expected = [
        "$.id",
        "$.kind",
        "$.ratio",
        "$.ok",
        "$.note",
        "$.tags[1]",
        "$.child",
        "$.counts.n",
        "$.any",
    ];
    assert_eq!(error_paths(&r), BTreeSet::from(expected), "{:#?}", r.errors);
    assert!(
        r.errors[0].contains("expected integer, got string"),
        "{:?}",
        r.errors
    );
    assert!(r.errors[1].contains("got null"), "{:?}", r.errors);
    // A whole document of the wrong type.
    let r = thing(&v, json!([1]));
    assert_eq!(r.errors, ["$: expected object, got array [1]"]);
}

#[test]
fn validator_catches_bad_enum() {
    let v = toy();
    let r = thing(&v, json!({ "id": 1, "kind": "c" }));
    assert_eq!(
        r.errors,
        [r#"$.kind: "c" is not one of the enum values ["a", "b"]"#]
    );
    // Enum matching is exact: no case folding.
    let r = thing(&v, json!({ "id": 1, "kind": "A" }));
    assert_eq!(error_paths(&r), BTreeSet::from(["$.kind"]));
}

#[test]
fn validator_catches_int32_overflow_and_non_integers() {
    let v = toy();
    for bad in [
        json!(2147483648u64),
        json!(-2147483649i64),
        json!(9007199254740993u64),
        json!(u64::MAX),
    ] {
        let r = thing(&v, json!({ "id": bad, "kind": "a" }));
        assert_eq!(error_paths(&r), BTreeSet::from(["$.id"]), "{bad}");
        assert!(r.errors[0].contains("int32 range"), "{:?}", r.errors);
    }
    let r = thing(&v, json!({ "id": 1, "kind": "a", "big": u64::MAX }));
    assert!(
        r.errors.len() == 1 && r.errors[0].starts_with("$.big: ") && r.errors[0].contains("int64"),
        "{:?}",
        r.errors
    );
    // 1.0 and 1e2 are numbers, not integers (JSON Schema draft 4).
    for text in ["1.0", "1e2", "1.5"] {
        let n: Value = serde_json::from_str(text).unwrap();
        let r = thing(&v, json!({ "id": n, "kind": "a" }));
        assert_eq!(error_paths(&r), BTreeSet::from(["$.id"]), "{text}");
    }
}

#[test]
fn validator_catches_missing_required_and_forbidden_properties() {
    let v = toy();
    let r = thing(&v, json!({}));
    assert_eq!(
        r.errors,
        [
            r#"$: missing required property "id""#,
            r#"$: missing required property "kind""#
        ]
    );
    let r = thing(
        &v,
        json!({ "id": 1, "kind": "a", "Kind": "a", "odd key": 1 }),
    );
    assert_eq!(
        error_paths(&r),
        BTreeSet::from(["$.Kind", r#"$["odd key"]"#]),
        "{:?}",
        r.errors
    );
}

#[test]
fn validator_refuses_schemas_outside_its_subset() {
    let errors = Validator::new(json!({
        "paths": { "/x": { "get": { "responses": {
            "200": { "content": { "application/json": { "schema": { "$ref": "#/components/schemas/Nope" } } } },
            "201": { "$ref": "#/components/responses/Shared" },
            "202": { "headers": { "X-Count": { "$ref": "#/components/headers/X" } } }
        }}}},
        "components": { "schemas": {
            "A": { "oneOf": [{ "type": "string" }] },
            "B": { "type": "string", "format": "date-time" },
            "C": { "type": "array" },
            "D": { "type": "null" },
            "E": { "$ref": "#/components/schemas/A", "nullable": true },
            "F": { "type": "string", "enum": [] },
            "G": { "type": "object", "properties": { "p": { "type": "string", "pattern": "^a" } } }
        }}
    }))
    .expect_err("outside the subset");
    let expected = [
        "#/components/schemas/A: unsupported schema keyword \"oneOf\"",
        "#/components/schemas/B: unsupported format \"date-time\" for type string",
        "#/components/schemas/C: type array without items",
        "#/components/schemas/D: unsupported type \"null\"",
        "#/components/schemas/E: keywords next to $ref",
        "#/components/schemas/F/enum: must be a non-empty array",
        "#/components/schemas/G/properties/p: unsupported schema keyword \"pattern\"",
        "#/paths//x/get/responses/200/content/application/json/schema: unresolved $ref",
        "#/paths//x/get/responses/201: response $ref is not supported",
        "#/paths//x/get/responses/202/headers/X-Count: no schema",
    ];
    for e in expected {
        assert!(
            errors.iter().any(|x| x.starts_with(e)),
            "{e:?} not in {errors:#?}"
        );
    }
    assert_eq!(errors.len(), expected.len(), "{errors:#?}");
}

#[test]
fn validator_catches_broken_gong_documents_with_the_real_spec() {
    let v = spec();
    let page = |records: Value, entries: Value| json!({ "requestId": "abc", "records": records, "logEntries": entries });
    let good_records = json!({ "totalRecords": 1, "currentPageSize": 1, "currentPageNumber": 0 });
    let good_entry = json!({ "eventTime": "2024-01-01T00:00:00Z", "logRecord": { "x": [null] } });
    let r = v.validate(
        &logs_schema(),
        &page(good_records.clone(), json!([good_entry])),
    );
    assert!(r.errors.is_empty(), "{:?}", r.errors);

    let r = v.validate(
        &logs_schema(),
        &page(
            json!({ "totalRecords": 2147483648u64, "currentPageSize": "1", "cursor": 5 }),
            json!([{ "eventTime": 1704067200, "userId": 234599484848423u64, "logRecord": [] }, "x"]),
        ),
    );
    assert_eq!(
        error_paths(&r),
        BTreeSet::from([
            "$.records",
            "$.records.totalRecords",
            "$.records.currentPageSize",
            "$.records.cursor",
            "$.logEntries[0].eventTime",
            "$.logEntries[0].userId",
            "$.logEntries[0].logRecord",
            "$.logEntries[1]",
        ]),
        "{:#?}",
        r.errors
    );
    let r = v.validate(
        &error_schema(),
        &json!({ "requestId": "abc", "errors": "boom" }),
    );
    assert_eq!(error_paths(&r), BTreeSet::from(["$.errors"]));
    let r = v.validate(&error_schema(), &json!({ "errors": ["boom"] }));
    assert_eq!(r.errors, [r#"$: missing required property "requestId""#]);
}

#[test]
fn iso8601_with_offset_is_strict() {
    for ok in [
        "2018-02-17T02:30:00-08:00",
        "2018-02-18T08:00:00Z",
        "2024-01-01T05:30:00.123+05:30",
    ] {
        assert!(iso8601_with_offset(ok).is_ok(), "{ok}");
    }
    assert_eq!(
        iso8601_with_offset("2018-02-17T02:30:00-08:00").unwrap(),
        "2018-02-17T10:30:00Z".parse::<Timestamp>().unwrap()
    );
    for bad in [
        "2018-02-18T08:00:00",
        "2018-02-18 08:00:00Z",
        "2018-02-18T08:00:00+0200",
        "2018-02-18T08:00:00.Z",
        "2018-02-30T00:00:00Z",
        "2018-02-18T08:00:00+02:00[Europe/Paris]",
        "1518940800",
        "",
    ] {
        assert!(iso8601_with_offset(bad).is_err(), "{bad}");
    }
}

// ---------------------------------------------------------------------------
// The spec and the conformance check

/// The spec marks no property `required` (Gong's published spec does not), so
/// on its own it would accept `{}` as any response. Gong always sends these
/// properties, gong-logs-api relies on them, and so must the simulator: the
/// responses are validated against the spec plus these `required` lists,
/// which only restrict it (whatever passes also passes the spec as published).
const ALWAYS_SENT: &[(&str, &[&str])] = &[
    ("LogsResponse", &["requestId", "records", "logEntries"]),
    (
        "Records",
        &["totalRecords", "currentPageSize", "currentPageNumber"],
    ),
    ("logEntry", &["eventTime", "logRecord"]),
    ("ErrorResponse", &["requestId", "errors"]),
];

/// Properties the simulator sends that the spec does not name, in objects
/// whose schema leaves `additionalProperties` unset. OpenAPI allows them and
/// Gong says it adds fields without notice; the generated data carries one on
/// purpose to test clients' forward compatibility. Any other one is a typo.
const ALLOWED_UNDOCUMENTED: &[&str] = &["$.logEntries[*].ipCountry"];

/// Statuses the spec documents for `GET /v2/logs`; each has a test below.
const COVERED_STATUSES: &[u16] = &[200, 400, 401, 404, 429, 500];

/// Statuses the simulator can answer `GET /v2/logs` with although the spec
/// does not document them. Each is only ever an injected network fault
/// (`FaultConfig`, documented there and in the README), i.e. what a proxy or
/// load balancer in front of Gong answers, never a decision of the simulated
/// Gong itself:
/// - 502 (`FaultConfig::p_502`): a proxy's HTML page, `text/html`;
/// - 503 (`FaultConfig::p_503`): Gong's JSON error body with an integer
///   `Retry-After` (`retry_after_503`).
///
/// `p_500` answers the documented 500; `p_drop` and `p_truncate` give no
/// complete response at all.
const UNDOCUMENTED_FAULTS: &[(u16, &str)] = &[(502, "text/html"), (503, "application/json")];

fn spec() -> &'static Validator {
    static SPEC: OnceLock<Validator> = OnceLock::new();
    SPEC.get_or_init(|| {
        let text =
            std::fs::read_to_string(SPEC_PATH).unwrap_or_else(|e| panic!("{SPEC_PATH}: {e}"));
        let mut doc: Value = serde_json::from_str(&text).expect("the spec is JSON");
        for (name, names) in ALWAYS_SENT {
            let s = doc
                .pointer_mut(&format!("/components/schemas/{name}"))
                .and_then(Value::as_object_mut)
                .unwrap_or_else(|| panic!("the spec has no schema {name}"));
            let mut required: Vec<Value> = s
                .get("required")
                .and_then(Value::as_array)
                .cloned()
                .unwrap_or_default();
            for n in *names {
                assert!(
                    s["properties"].get(n).is_some(),
                    "{name}.{n} is not a property in the spec"
                );
                if !required.contains(&json!(n)) {
                    required.push(json!(n));
                }
            }
            s.insert("required".into(), Value::Array(required));
        }
        Validator::new(doc).unwrap_or_else(|e| {
            panic!(
                "the spec steps outside the validator's subset:\n{}",
                e.join("\n")
            )
        })
    })
}

fn logs_schema() -> Value {
    json!({ "$ref": "#/components/schemas/LogsResponse" })
}

fn error_schema() -> Value {
    json!({ "$ref": "#/components/schemas/ErrorResponse" })
}

/// `GET /v2/logs`.
fn operation() -> &'static Value {
    let op = &spec().doc()["paths"]["/v2/logs"]["get"];
    assert!(op.is_object(), "the spec has no GET /v2/logs");
    op
}

fn documented(status: u16) -> Option<&'static Value> {
    operation()["responses"].get(status.to_string())
}

#[derive(Debug)]
struct Reply {
    status: u16,
    headers: HeaderMap,
    body: String,
}

impl Reply {
    /// The media type, lower-cased, without parameters.
    fn media_type(&self) -> Option<String> {
        let ct = self.headers.get(CONTENT_TYPE)?.to_str().ok()?;
        Some(ct.split(';').next()?.trim().to_ascii_lowercase())
    }

    fn header(&self, name: &str) -> Option<&str> {
        self.headers.get(name)?.to_str().ok()
    }
}

/// `[3]` → `[*]`, for matching against `ALLOWED_UNDOCUMENTED`.
fn generalize(path: &str) -> String {
    let mut out = String::with_capacity(path.len());
    let mut rest = path;
    while let Some(i) = rest.find('[') {
        out.push_str(&rest[..=i]);
        rest = &rest[i + 1..];
        let n = rest.bytes().take_while(u8::is_ascii_digit).count();
        if n > 0 && rest[n..].starts_with(']') {
            out.push('*');
            rest = &rest[n..];
        }
    }
    out.push_str(rest);
    out
}

/// Checks a reply against the operation's documented responses; returns its
/// JSON body (`Null` when the documented media type is not JSON).
fn conform(r: &Reply) -> Result<Value, Vec<String>> {
    let Some(resp) = documented(r.status) else {
        let statuses: Vec<&String> = operation()["responses"]
            .as_object()
            .map(|m| m.keys().collect())
            .unwrap_or_default();
        return Err(vec![format!(
            "status {} is not documented for GET /v2/logs (documented: {statuses:?})",
            r.status
        )]);
    };
    let v = spec();
    let mut errors = Vec::new();
    let headers = resp.get("headers").and_then(Value::as_object);
    for (name, h) in headers.into_iter().flatten() {
        let Some(text) = r.header(&name.to_ascii_lowercase()) else {
            errors.push(format!("header {name}: missing"));
            continue;
        };
        let schema = &h["schema"];
        let scalar = matches!(
            schema.get("type").and_then(Value::as_str),
            Some("integer" | "number" | "boolean")
        );
        let value = if scalar && text.trim() == text {
            serde_json::from_str(text).unwrap_or_else(|_| json!(text))
        } else {
            json!(text)
        };
        let report = v.validate(schema, &value);
        errors.extend(
            report
                .errors
                .iter()
                .map(|e| format!("header {name} {text:?}: {e}")),
        );
    }
    let mut body = Value::Null;
    match resp.get("content").and_then(Value::as_object) {
        None if r.body.is_empty() => {}
        None => errors.push("a body, but the spec documents no content".into()),
        Some(content) => {
            let media = r.media_type().unwrap_or_default();
            match content.iter().find(|(k, _)| k.eq_ignore_ascii_case(&media)) {
                None => errors.push(format!(
                    "Content-Type {:?} is not a documented media type ({:?})",
                    r.header("content-type"),
                    content.keys().collect::<Vec<_>>()
                )),
                Some((_, m)) if media == "application/json" || media.ends_with("+json") => {
                    match serde_json::from_str::<Value>(&r.body) {
                        Err(e) => errors.push(format!("body is not JSON: {e}")),
                        Ok(json) => {
                            let report = v.validate(&m["schema"], &json);
                            errors.extend(report.errors);
                            for p in report.undocumented {
                                if !ALLOWED_UNDOCUMENTED.contains(&generalize(&p).as_str()) {
                                    errors.push(format!("{p}: a property the spec does not name"));
                                }
                            }
                            body = json;
                        }
                    }
                }
                Some(_) => {}
            }
        }
    }
    if errors.is_empty() {
        Ok(body)
    } else {
        Err(errors)
    }
}

fn excerpt(s: &str) -> &str {
    match s.char_indices().nth(400) {
        Some((i, _)) => &s[..i],
        None => s,
    }
}

/// Asserts the status and conformance; returns the JSON body.
#[track_caller]
fn expect(r: &Reply, status: u16, case: &str) -> Value {
    assert_eq!(r.status, status, "{case}: body {}", excerpt(&r.body));
    conform(r).unwrap_or_else(|errors| {
        panic!(
            "{case}: the HTTP {status} reply does not conform to the spec:\n  {}\nbody: {}",
            errors.join("\n  "),
            excerpt(&r.body)
        )
    })
}

/// [`expect`], plus: the first error message contains `needle` (so the reply
/// is the one the case meant to provoke).
#[track_caller]
fn expect_error(r: &Reply, status: u16, needle: &str, case: &str) {
    let body = expect(r, status, case);
    let first = body["errors"][0].as_str().unwrap_or_default();
    assert!(
        first.contains(needle),
        "{case}: {needle:?} not in {first:?}"
    );
    assert!(
        !body["requestId"].as_str().unwrap_or_default().is_empty(),
        "{case}: empty requestId"
    );
}

// ---------------------------------------------------------------------------
// HTTP

struct Harness {
    sim: Simulator,
    http: reqwest::Client,
}

impl Harness {
    async fn start(config: SimConfig) -> Harness {
        static INIT: Once = Once::new();
        INIT.call_once(|| {
            let _ = rustls::crypto::ring::default_provider().install_default();
        });
        let http = reqwest::Client::builder()
            .no_proxy()
            // A hang guard only: a loaded machine may be slow to answer.
            .timeout(Duration::from_secs(60))
            .build()
            .expect("client");
        Harness {
            sim: Simulator::start(config).await.expect("simulator starts"),
            http,
        }
    }

    fn url(&self) -> String {
        format!("{}/v2/logs", self.sim.base_url())
    }

    /// Unauthenticated.
    fn anon(&self, q: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.http.get(self.url()).query(q)
    }

    /// With Basic auth.
    fn basic(&self, q: &[(&str, &str)]) -> reqwest::RequestBuilder {
        self.anon(q)
            .basic_auth("sim-access-key", Some("sim-secret"))
    }

    async fn send(&self, rb: reqwest::RequestBuilder) -> Reply {
        let r = rb.send().await.expect("a response");
        Reply {
            status: r.status().as_u16(),
            headers: r.headers().clone(),
            body: r.text().await.expect("a body"),
        }
    }

    async fn get(&self, q: &[(&str, &str)]) -> Reply {
        self.send(self.basic(q)).await
    }
}

fn ts(s: &str) -> Timestamp {
    s.parse().expect("timestamp")
}

/// ISO-8601 as the spec shows it (`2018-02-18T02:30:00-07:00`,
/// `2018-02-18T08:00:00Z`): `YYYY-MM-DDTHH:MM:SS`, optional fraction, then
/// `Z` or `±HH:MM`; and a valid instant.
fn iso8601_with_offset(s: &str) -> Result<Timestamp, String> {
    let b = s.as_bytes();
    let digits = |r: std::ops::Range<usize>, b: &[u8]| {
        b.get(r).is_some_and(|x| x.iter().all(u8::is_ascii_digit))
    };
    let shape = b.len() > 19
        && digits(0..4, b)
        && b[4] == b'-'
        && digits(5..7, b)
        && b[7] == b'-'
        && digits(8..10, b)
        && b[10] == b'T'
        && digits(11..13, b)
        && b[13] == b':'
        && digits(14..16, b)
        && b[16] == b':'
        && digits(17..19, b);
    if !shape {
        return Err(format!("{s:?} is not YYYY-MM-DDTHH:MM:SS…"));
    }
    let mut rest = &s[19..];
    if let Some(frac) = rest.strip_prefix('.') {
        let n = frac.bytes().take_while(u8::is_ascii_digit).count();
        if n == 0 {
            return Err(format!("{s:?}: empty fraction"));
        }
        rest = &frac[n..];
    }
    let o = rest.as_bytes();
    let offset = rest == "Z"
        || (o.len() == 6
            && matches!(o[0], b'+' | b'-')
            && digits(1..3, o)
            && o[3] == b':'
            && digits(4..6, o));
    if !offset {
        return Err(format!("{s:?}: no offset (Z or ±HH:MM), ends in {rest:?}"));
    }
    s.parse::<Timestamp>().map_err(|e| format!("{s:?}: {e}"))
}

/// Query parameters.
type Query<'a> = Vec<(&'a str, &'a str)>;

/// Turns one fault kind on.
type SetFault = fn(&mut FaultConfig);

const USER_FIELDS: &[&str] = &["userId", "userEmailAddress", "userFullName"];

/// What the generated data must hold, so that the 200 test validates every
/// shape the generator produces.
const FEATURES: &[&str] = &[
    "eventTime in Z",
    "eventTime with a non-zero offset",
    "eventTime with fractional seconds",
    "entry without user fields",
    "impersonation fields",
    "undocumented top-level field",
    "integer above 2^53 in logRecord",
    "null in logRecord",
    "string and number in logRecord",
    "non-ASCII user name",
];

fn walk_values(v: &Value, f: &mut impl FnMut(&Value)) {
    f(v);
    match v {
        Value::Array(a) => a.iter().for_each(|x| walk_values(x, f)),
        Value::Object(m) => m.values().for_each(|x| walk_values(x, f)),
        _ => {}
    }
}

/// Checks one entry of a 200 page beyond its schema; records its features.
fn check_entry(lt: LogType, e: &Value, seen: &mut BTreeSet<&'static str>) -> Timestamp {
    let obj = e.as_object().expect("entry is an object");
    let et = obj["eventTime"].as_str().expect("eventTime is a string");
    let t = iso8601_with_offset(et).unwrap_or_else(|m| panic!("{lt}: eventTime {m}"));
    seen.insert(if et.ends_with('Z') {
        "eventTime in Z"
    } else {
        "eventTime with a non-zero offset"
    });
    if et.contains('.') {
        seen.insert("eventTime with fractional seconds");
    }
    if lt.has_user() {
        if !obj.contains_key("userId") {
            seen.insert("entry without user fields");
        }
    } else {
        for f in USER_FIELDS {
            assert!(!obj.contains_key(*f), "{lt} entry has {f}: {e}");
        }
    }
    for k in ["userId", "impersonatorUserId", "impersonatorCompanyId"] {
        if let Some(id) = obj.get(k) {
            let id = id.as_str().unwrap_or_default();
            assert!(
                (1..=20).contains(&id.len()) && id.bytes().all(|b| b.is_ascii_digit()),
                "{lt}: {k} {id:?} is not up to 20 digits"
            );
        }
    }
    if obj.contains_key("impersonatorUserId") {
        seen.insert("impersonation fields");
    }
    if obj.contains_key("ipCountry") {
        seen.insert("undocumented top-level field");
    }
    if obj
        .get("userFullName")
        .and_then(Value::as_str)
        .is_some_and(|n| !n.is_ascii())
    {
        seen.insert("non-ASCII user name");
    }
    let (mut strings, mut numbers) = (false, false);
    walk_values(&obj["logRecord"], &mut |v| match v {
        Value::Null => {
            seen.insert("null in logRecord");
        }
        Value::Number(n) => {
            numbers = true;
            if n.as_u64().is_some_and(|n| n > 1 << 53) {
                seen.insert("integer above 2^53 in logRecord");
            }
        }
        Value::String(_) => strings = true,
        _ => {}
    });
    if strings && numbers {
        seen.insert("string and number in logRecord");
    }
    t
}

fn reply(status: u16, headers: &[(&'static str, &str)], body: &str) -> Reply {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(*k, v.parse().expect("header value"));
    }
    Reply {
        status,
        headers: map,
        body: body.to_owned(),
    }
}

#[test]
fn conformance_check_catches_bad_replies() {
    const JSON: (&str, &str) = ("content-type", "application/json");
    let err = r#"{"requestId":"a","errors":["x"]}"#;
    let entry = r#"{"eventTime":"2024-01-01T00:00:00Z","logRecord":{},"ipCountry":"DE"}"#;
    let page = |entries: &str| {
        format!(
            r#"{{"requestId":"a","records":{{"totalRecords":1,"currentPageSize":1,"currentPageNumber":0}},"logEntries":[{entries}]}}"#
        )
    };
    let good = [
        reply(429, &[JSON, ("retry-after", "2")], err),
        reply(
            400,
            &[("content-type", "Application/JSON; charset=utf-8")],
            err,
        ),
        reply(200, &[JSON], &page(entry)),
    ];
    for r in &good {
        assert!(conform(r).is_ok(), "{r:?}: {:?}", conform(r));
    }
    let bad = [
        (reply(418, &[JSON], err), "status 418 is not documented"),
        (reply(429, &[JSON], err), "header Retry-After: missing"),
        (
            reply(429, &[JSON, ("retry-after", "1.5")], err),
            "expected integer",
        ),
        (
            reply(
                429,
                &[JSON, ("retry-after", "Wed, 21 Oct 2015 07:28:00 GMT")],
                err,
            ),
            "expected integer",
        ),
        (
            reply(429, &[JSON, ("retry-after", "2147483648")], err),
            "int32 range",
        ),
        (
            reply(500, &[("content-type", "text/html")], err),
            "not a documented media type",
        ),
        (reply(404, &[], err), "not a documented media type"),
        (reply(401, &[JSON], "<html></html>"), "body is not JSON"),
        (
            reply(400, &[JSON], r#"{"requestId":"a","error":["x"]}"#),
            "$.error: a property the spec does not name",
        ),
        (
            reply(
                200,
                &[JSON],
                &page(r#"{"eventTime":"x","logRecord":{},"userID":"1"}"#),
            ),
            "$.logEntries[0].userID: a property the spec does not name",
        ),
        (
            reply(200, &[JSON], r#"{"requestId":"a","logEntries":[]}"#),
            r#"$: missing required property "records""#,
        ),
    ];
    for (r, needle) in &bad {
        let errors = conform(r).expect_err(needle);
        assert!(
            errors.iter().any(|e| e.contains(needle)),
            "{needle:?} not in {errors:?}"
        );
    }
}

#[test]
fn every_documented_status_has_a_case() {
    let documented: BTreeSet<u16> = operation()["responses"]
        .as_object()
        .expect("responses")
        .keys()
        .map(|k| k.parse().expect("only numeric statuses are supported"))
        .collect();
    assert_eq!(
        documented,
        COVERED_STATUSES.iter().copied().collect(),
        "the spec's statuses changed: add or drop a test case"
    );
    for (status, _) in UNDOCUMENTED_FAULTS {
        assert!(
            !documented.contains(status),
            "{status} is documented now: test it as such"
        );
    }
    for s in COVERED_STATUSES {
        let content = documented_content(*s);
        assert_eq!(content, ["application/json"], "{s}");
    }
}

fn documented_content(status: u16) -> Vec<String> {
    documented(status)
        .and_then(|r| r.get("content"))
        .and_then(Value::as_object)
        .map(|m| m.keys().cloned().collect())
        .unwrap_or_default()
}

#[tokio::test]
async fn status_200_first_middle_and_last_pages_of_every_log_type() {
    // 250 entries per type from the default generator, pages of 100: a first
    // and a middle page with a cursor, and a last one (50) without.
    let h = Harness::start(SimConfig::testing(11, 250)).await;
    let (from, to) = (ts(FROM), ts(TO));
    let mut seen = BTreeSet::new();
    for (i, lt) in LogType::ALL.into_iter().enumerate() {
        // With and without toDateTime; Basic and Bearer auth.
        let to_param = (i % 2 == 0).then_some(TO);
        let mut cursor: Option<String> = None;
        let mut previous: Option<Timestamp> = None;
        let mut page_no = 0u64;
        loop {
            let mut q = vec![("logType", lt.as_str()), ("fromDateTime", FROM)];
            if let Some(t) = to_param {
                q.push(("toDateTime", t));
            }
            if let Some(c) = &cursor {
                q.push(("cursor", c.as_str()));
            }
            let rb = if i == 1 {
                h.anon(&q).bearer_auth("sim-bearer-token")
            } else {
                h.basic(&q)
            };
            let case = format!("{lt} page {page_no}");
            let page = expect(&h.send(rb).await, 200, &case);
            let records = &page["records"];
            let entries = page["logEntries"].as_array().expect("logEntries");
            assert_eq!(records["totalRecords"], 250, "{case}");
            assert_eq!(records["currentPageNumber"], page_no, "{case}");
            assert_eq!(records["currentPageSize"], entries.len(), "{case}");
            assert_eq!(entries.len(), if page_no < 2 { 100 } else { 50 }, "{case}");
            for e in entries {
                let t = check_entry(lt, e, &mut seen);
                assert!(from <= t && t < to, "{case}: {t} outside the range");
                assert!(previous.is_none_or(|p| p <= t), "{case}: out of time order");
                previous = Some(t);
            }
            cursor = records
                .get("cursor")
                .map(|c| c.as_str().expect("string cursor").to_owned());
            page_no += 1;
            if cursor.is_none() {
                break;
            }
        }
        assert_eq!(page_no, 3, "{lt}: first, middle and last page");
    }
    let missing: Vec<_> = FEATURES.iter().filter(|f| !seen.contains(*f)).collect();
    assert!(missing.is_empty(), "the data lacks {missing:?}");
}

#[tokio::test]
async fn status_400_for_every_kind_of_bad_request() {
    let mut cfg = SimConfig::testing(3, 30);
    cfg.page_size = 10;
    cfg.cursor_ttl = Duration::from_millis(60);
    let h = Harness::start(cfg).await;
    let q = [
        ("logType", "AccessLog"),
        ("fromDateTime", FROM),
        ("toDateTime", TO),
    ];
    let first = expect(&h.get(&q).await, 200, "first page");
    let cursor = first["records"]["cursor"]
        .as_str()
        .expect("a cursor")
        .to_owned();
    let (head, sig) = cursor.rsplit_once('.').expect("signed cursor");
    let flipped = if sig.starts_with('A') { 'B' } else { 'A' };
    let tampered = format!("{head}.{flipped}{}", &sig[1..]);
    let with_cursor = |c| {
        let mut v = q.to_vec();
        v.push(("cursor", c));
        v
    };
    let cases: Vec<(&str, Query, &str)> = vec![
        (
            "unknown logType",
            vec![("logType", "Calls"), ("fromDateTime", FROM)],
            "Invalid logType",
        ),
        (
            "logType in the wrong case",
            vec![("logType", "accesslog"), ("fromDateTime", FROM)],
            "Invalid logType",
        ),
        ("missing logType", vec![("fromDateTime", FROM)], "logType"),
        (
            "missing fromDateTime",
            vec![("logType", "AccessLog")],
            "fromDateTime",
        ),
        (
            "date without time",
            vec![("logType", "AccessLog"), ("fromDateTime", "2024-01-01")],
            "fromDateTime",
        ),
        (
            "date-time without offset",
            vec![
                ("logType", "AccessLog"),
                ("fromDateTime", "2024-01-01T00:00:00"),
            ],
            "fromDateTime",
        ),
        (
            "malformed toDateTime",
            vec![
                ("logType", "AccessLog"),
                ("fromDateTime", FROM),
                ("toDateTime", "2024-13-01T00:00:00Z"),
            ],
            "toDateTime",
        ),
        (
            "reversed range",
            vec![
                ("logType", "AccessLog"),
                ("fromDateTime", TO),
                ("toDateTime", FROM),
            ],
            "earlier",
        ),
        ("garbage cursor", with_cursor("garbage"), "Invalid cursor"),
        ("tampered cursor", with_cursor(&tampered), "Invalid cursor"),
        (
            "cursor of another request",
            vec![
                ("logType", "UserActivityLog"),
                ("fromDateTime", FROM),
                ("toDateTime", TO),
                ("cursor", &cursor),
            ],
            "does not match",
        ),
    ];
    for (case, query, needle) in &cases {
        expect_error(&h.get(query).await, 400, needle, case);
    }
    // An unencoded '+' in an offset decodes to a space, as with Gong.
    let raw = format!(
        "{}?logType=AccessLog&fromDateTime=2024-01-01T02:00:00+02:00",
        h.url()
    );
    let rb = h
        .http
        .get(raw)
        .basic_auth("sim-access-key", Some("sim-secret"));
    expect_error(&h.send(rb).await, 400, "%2B", "unencoded +");
    // Expired: the cursor's parameters match, its TTL is over.
    tokio::time::sleep(Duration::from_millis(100)).await;
    expect_error(
        &h.get(&with_cursor(&cursor)).await,
        400,
        "expired",
        "expired cursor",
    );
}

#[tokio::test]
async fn status_401_for_missing_or_wrong_credentials() {
    let h = Harness::start(SimConfig::testing(3, 20)).await;
    let q = [("logType", "AccessLog"), ("fromDateTime", FROM)];
    let cases = [
        ("no Authorization", h.anon(&q)),
        (
            "wrong Basic secret",
            h.anon(&q).basic_auth("sim-access-key", Some("wrong")),
        ),
        (
            "wrong Basic key",
            h.anon(&q).basic_auth("other-key", Some("sim-secret")),
        ),
        ("wrong Bearer token", h.anon(&q).bearer_auth("wrong-token")),
        (
            "malformed Basic",
            h.anon(&q).header("authorization", "Basic !!!"),
        ),
        (
            "unsupported scheme",
            h.anon(&q).header("authorization", "Digest abc"),
        ),
    ];
    for (case, rb) in cases {
        expect_error(&h.send(rb).await, 401, "Access denied", case);
    }
}

#[tokio::test]
async fn status_404_for_an_empty_range() {
    let mut cfg = SimConfig::testing(3, 20);
    cfg.log_types = vec![LogType::AccessLog];
    let h = Harness::start(cfg).await;
    let cases = [
        (
            "range before the data",
            [
                ("logType", "AccessLog"),
                ("fromDateTime", "2020-01-01T00:00:00Z"),
                ("toDateTime", "2020-02-01T00:00:00Z"),
            ],
        ),
        (
            "range after the data",
            [
                ("logType", "AccessLog"),
                ("fromDateTime", TO),
                ("toDateTime", "2024-02-01T00:00:00Z"),
            ],
        ),
        (
            "log type without data",
            [
                ("logType", "UserCallPlay"),
                ("fromDateTime", FROM),
                ("toDateTime", TO),
            ],
        ),
    ];
    for (case, q) in cases {
        expect_error(&h.get(&q).await, 404, "No logs found", case);
    }
}

fn retry_after(r: &Reply) -> u32 {
    r.header("retry-after")
        .and_then(|v| v.parse().ok())
        .expect("an integer Retry-After")
}

#[tokio::test]
async fn status_429_for_rate_limit_and_daily_quota() {
    let q = [("logType", "AccessLog"), ("fromDateTime", FROM)];

    let mut cfg = SimConfig::testing(3, 20);
    cfg.rate_limit = 0.5;
    cfg.burst = 1;
    let h = Harness::start(cfg).await;
    expect(&h.get(&q).await, 200, "within the rate");
    let r = h.get(&q).await;
    expect_error(&r, 429, "per second", "rate limit");
    assert_eq!(retry_after(&r), 2, "ceil(1 token / 0.5 per s)");

    let mut cfg = SimConfig::testing(3, 20);
    cfg.daily_quota = Some(1);
    let h = Harness::start(cfg).await;
    expect(&h.get(&q).await, 200, "within the quota");
    let r = h.get(&q).await;
    expect_error(&r, 429, "daily quota", "daily quota");
    assert!(
        (1..=86_400).contains(&retry_after(&r)),
        "until midnight UTC"
    );
}

#[tokio::test]
async fn status_500_for_an_injected_server_error() {
    let q = [("logType", "AccessLog"), ("fromDateTime", FROM)];
    let mut cfg = SimConfig::testing(3, 20);
    cfg.faults.p_500 = 1.0;
    let h = Harness::start(cfg).await;
    expect_error(&h.get(&q).await, 500, "unexpected error", "p_500");

    // Fail-each-request-once with no kind enabled: a 500, then the page.
    let mut cfg = SimConfig::testing(3, 20);
    cfg.faults.fail_each_request_once = true;
    let h = Harness::start(cfg).await;
    expect_error(&h.get(&q).await, 500, "unexpected error", "fail once");
    expect(&h.get(&q).await, 200, "after the failure");
}

#[tokio::test]
async fn undocumented_statuses_are_exactly_the_injected_faults() {
    let q = [("logType", "AccessLog"), ("fromDateTime", FROM)];
    let kinds: [(&str, SetFault); 5] = [
        ("p_500", |f| f.p_500 = 1.0),
        ("p_502", |f| f.p_502 = 1.0),
        ("p_503", |f| {
            f.p_503 = 1.0;
            f.retry_after_503 = 3;
        }),
        ("p_drop", |f| f.p_drop = 1.0),
        ("p_truncate", |f| f.p_truncate = 1.0),
    ];
    let mut undocumented = BTreeMap::new();
    for (kind, set) in kinds {
        let mut cfg = SimConfig::testing(3, 20);
        set(&mut cfg.faults);
        let h = Harness::start(cfg).await;
        let resp = match h.basic(&q).send().await {
            Ok(resp) => resp,
            Err(e) => {
                assert_eq!(kind, "p_drop", "{kind}: {e}");
                continue;
            }
        };
        let (status, headers) = (resp.status().as_u16(), resp.headers().clone());
        let body = match resp.text().await {
            Ok(body) => body,
            Err(e) => {
                assert_eq!((kind, status), ("p_truncate", 200), "{e}");
                continue;
            }
        };
        let r = Reply {
            status,
            headers,
            body,
        };
        if documented(status).is_some() {
            expect(&r, status, kind);
            continue;
        }
        let media = r.media_type().unwrap_or_default();
        assert!(
            conform(&r).is_err(),
            "{kind}: an undocumented status conforms?"
        );
        match status {
            502 => assert!(
                r.body.starts_with("<html>") && serde_json::from_str::<Value>(&r.body).is_err(),
                "{kind}: {}",
                r.body
            ),
            503 => {
                // Not documented, but shaped like Gong's errors.
                let json: Value = serde_json::from_str(&r.body).expect("JSON 503 body");
                let report = spec().validate(&error_schema(), &json);
                assert!(report.errors.is_empty(), "{kind}: {:?}", report.errors);
                assert_eq!(retry_after(&r), 3, "{kind}");
            }
            _ => {}
        }
        undocumented.insert(status, (kind, media));
    }
    let got: Vec<(u16, &str)> = undocumented
        .iter()
        .map(|(s, (_, m))| (*s, m.as_str()))
        .collect();
    assert_eq!(got, UNDOCUMENTED_FAULTS, "{undocumented:?}");
    assert_eq!(undocumented[&502].0, "p_502");
    assert_eq!(undocumented[&503].0, "p_503");
}
