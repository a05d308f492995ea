//! The patch file (`openapi/patches.json`): an ordered list of steps that
//! turn Gong's published spec into the reconciled one.
//!
//! ```json
//! { "$comment": "...",
//!   "steps": [
//!     { "id": "select-logs", "op": "select", "operation": "GET /v2/logs", "why": "..." },
//!     { "id": "strip-noise", "op": "strip-keys", "keys": ["exampleSetFlag"], "why": "..." },
//!     { "id": "styles", "op": "normalize-style", "why": "..." },
//!     { "id": "guard", "op": "test", "path": "/openapi", "value": "3.0.1", "why": "..." },
//!     { "id": "bump", "op": "replace", "path": "/openapi", "value": "3.0.3", "why": "..." } ] }
//! ```
//!
//! Every step has a unique `id` (named in errors) and a non-empty `why`.
//! `add`, `remove`, `replace` and `test` are RFC 6902 operations on RFC 6901
//! pointers. Unknown keys are rejected, so a typo cannot silently disable a
//! step.

use std::collections::BTreeSet;
use std::fmt;

use anyhow::{Context, Result, bail};
use serde_json::{Map, Value};

use super::pointer::{Pointer, kind};
use super::walk;

/// HTTP methods that name operations in a path item.
pub const METHODS: &[&str] = &[
    "get", "put", "post", "delete", "options", "head", "patch", "trace",
];

/// The component kinds OpenAPI 3.0 defines; anything else under
/// `components` (such as upstream's `extensions`) is dropped by `select`.
const COMPONENT_KINDS: &[&str] = &[
    "schemas",
    "responses",
    "parameters",
    "examples",
    "requestBodies",
    "headers",
    "securitySchemes",
    "links",
    "callbacks",
];

/// The style names OpenAPI 3.0 defines (case-sensitive).
const STYLES: &[&str] = &[
    "matrix",
    "label",
    "form",
    "simple",
    "spaceDelimited",
    "pipeDelimited",
    "deepObject",
];

/// A parsed patch file.
#[derive(Debug, Clone)]
pub struct Patches {
    /// The steps, in the order they run.
    pub steps: Vec<Step>,
}

/// One reconciliation step.
#[derive(Debug, Clone)]
pub struct Step {
    /// 1-based position in the file.
    pub number: usize,
    /// Unique short name.
    pub id: String,
    /// What the step changes and why.
    pub why: String,
    /// What it does.
    pub op: Op,
}

/// What a step does.
#[derive(Debug, Clone)]
pub enum Op {
    /// Keep one operation, the tags it uses and the components it
    /// references transitively; drop every other path, tag and component.
    Select { method: String, path: String },
    /// Remove these keys from every keyword object (never from names or data).
    StripKeys { keys: Vec<String> },
    /// Map every parameter/header `style` onto its OpenAPI 3.0 spelling.
    NormalizeStyle,
    /// RFC 6902 add.
    Add { path: Pointer, value: Value },
    /// RFC 6902 remove.
    Remove { path: Pointer },
    /// RFC 6902 replace.
    Replace { path: Pointer, value: Value },
    /// RFC 6902 test.
    Test { path: Pointer, value: Value },
}

impl Op {
    fn name(&self) -> &'static str {
        match self {
            Op::Select { .. } => "select",
            Op::StripKeys { .. } => "strip-keys",
            Op::NormalizeStyle => "normalize-style",
            Op::Add { .. } => "add",
            Op::Remove { .. } => "remove",
            Op::Replace { .. } => "replace",
            Op::Test { .. } => "test",
        }
    }
}

impl fmt::Display for Step {
    /// `step 7 `guard-retry-after` (test /paths/~1v2~1logs/...)`
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "step {} `{}` ({}", self.number, self.id, self.op.name())?;
        match &self.op {
            Op::Select { method, path } => write!(f, " {} {path}", method.to_uppercase())?,
            Op::StripKeys { keys } => write!(f, " {}", keys.join(", "))?,
            Op::NormalizeStyle => {}
            Op::Add { path, .. }
            | Op::Remove { path }
            | Op::Replace { path, .. }
            | Op::Test { path, .. } => write!(f, " {path}")?,
        }
        f.write_str(")")
    }
}

/// A step that does not apply to the document it was given.
#[derive(Debug, Clone)]
pub struct StepError {
    /// `step N `id` (op ...)`.
    pub step: String,
    /// The step's `why`.
    pub why: String,
    /// What went wrong.
    pub message: String,
}

impl fmt::Display for StepError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "patch {} no longer applies: {}\n  (the step's why: {})",
            self.step, self.message, self.why
        )
    }
}

impl std::error::Error for StepError {}

impl Patches {
    /// Parses the patch file's text.
    pub fn parse(text: &str) -> Result<Self> {
        let root: Value = serde_json::from_str(text).context("the patch file is not valid JSON")?;
        let Value::Object(root) = root else {
            bail!("the patch file must be a JSON object with a `steps` array")
        };
        for key in root.keys() {
            if key != "steps" && key != "$comment" {
                bail!(
                    "the patch file has an unknown top-level key `{key}` (allowed: $comment, steps)"
                );
            }
        }
        let Some(Value::Array(raw_steps)) = root.get("steps") else {
            bail!("the patch file needs a `steps` array")
        };
        let mut ids = BTreeSet::new();
        let mut steps = Vec::with_capacity(raw_steps.len());
        for (i, raw) in raw_steps.iter().enumerate() {
            let step = parse_step(i + 1, raw)
                .with_context(|| format!("patch step {} is malformed", i + 1))?;
            if !ids.insert(step.id.clone()) {
                bail!(
                    "patch step {} reuses the id `{}`; ids must be unique",
                    step.number,
                    step.id
                );
            }
            steps.push(step);
        }
        Ok(Self { steps })
    }

    /// Runs every step on a copy of `upstream`.
    pub fn apply(&self, upstream: &Value) -> Result<Value, StepError> {
        let mut doc = upstream.clone();
        for step in &self.steps {
            step.apply(&mut doc).map_err(|message| StepError {
                step: step.to_string(),
                why: step.why.clone(),
                message,
            })?;
        }
        Ok(doc)
    }

    /// The operation the `select` step keeps, as (lower-case method, path).
    pub fn selected_operation(&self) -> Option<(&str, &str)> {
        self.steps.iter().find_map(|step| match &step.op {
            Op::Select { method, path } => Some((method.as_str(), path.as_str())),
            _ => None,
        })
    }

    /// The keys the `strip-keys` steps remove.
    pub fn stripped_keys(&self) -> Vec<&str> {
        self.steps
            .iter()
            .flat_map(|step| match &step.op {
                Op::StripKeys { keys } => keys.iter().map(String::as_str).collect(),
                _ => Vec::new(),
            })
            .collect()
    }
}

fn parse_step(number: usize, raw: &Value) -> Result<Step> {
    let Value::Object(obj) = raw else {
        bail!("a step must be an object, not {}", kind(raw))
    };
    let string = |key: &str| -> Result<String> {
        match obj.get(key) {
            Some(Value::String(s)) if !s.trim().is_empty() => Ok(s.clone()),
            Some(_) => bail!("`{key}` must be a non-empty string"),
            None => bail!("`{key}` is missing"),
        }
    };
    let value = |key: &str| {
        obj.get(key)
            .cloned()
            .with_context(|| format!("`{key}` is missing"))
    };
    let op_name = string("op")?;
    let id = string("id")?;
    let why = string("why")?;
    let (op, allowed): (Op, &[&str]) = match op_name.as_str() {
        "select" => {
            let operation = string("operation")?;
            let (method, path) = operation
                .split_once(' ')
                .filter(|(m, p)| METHODS.contains(&m.to_lowercase().as_str()) && p.starts_with('/'))
                .with_context(|| {
                    format!("`operation` must look like \"GET /v2/logs\", not {operation:?}")
                })?;
            (
                Op::Select {
                    method: method.to_lowercase(),
                    path: path.to_owned(),
                },
                &["operation"],
            )
        }
        "strip-keys" => {
            let keys = match obj.get("keys") {
                Some(Value::Array(keys)) if !keys.is_empty() => keys
                    .iter()
                    .map(|k| {
                        k.as_str()
                            .map(str::to_owned)
                            .context("`keys` must hold strings")
                    })
                    .collect::<Result<_>>()?,
                _ => bail!("`keys` must be a non-empty array of strings"),
            };
            (Op::StripKeys { keys }, &["keys"])
        }
        "normalize-style" => (Op::NormalizeStyle, &[]),
        "add" | "replace" | "test" => {
            let path =
                Pointer::parse(&string_or_empty(obj, "path")?).map_err(anyhow::Error::msg)?;
            let value = value("value")?;
            let op = match op_name.as_str() {
                "add" => Op::Add { path, value },
                "replace" => Op::Replace { path, value },
                _ => Op::Test { path, value },
            };
            (op, &["path", "value"])
        }
        "remove" => {
            let path =
                Pointer::parse(&string_or_empty(obj, "path")?).map_err(anyhow::Error::msg)?;
            (Op::Remove { path }, &["path"])
        }
        other => bail!(
            "unknown op `{other}` (known: select, strip-keys, normalize-style, add, remove, replace, test)"
        ),
    };
    for key in obj.keys() {
        if !["op", "id", "why"].contains(&key.as_str()) && !allowed.contains(&key.as_str()) {
            bail!(
                "step `{id}`: unknown key `{key}` for op `{op_name}` (allowed: op, id, why, {})",
                allowed.join(", ")
            );
        }
    }
    Ok(Step {
        number,
        id,
        why,
        op,
    })
}

fn string_or_empty(obj: &Map<String, Value>, key: &str) -> Result<String> {
    match obj.get(key) {
        Some(Value::String(s)) => Ok(s.clone()),
        Some(_) => bail!("`{key}` must be a string"),
        None => bail!("`{key}` is missing"),
    }
}

impl Step {
    /// Applies this step to `doc`; the error explains what no longer fits.
    pub fn apply(&self, doc: &mut Value) -> Result<(), String> {
        match &self.op {
            Op::Select { method, path } => select(doc, method, path),
            Op::StripKeys { keys } => walk::keyword_objects_mut(doc, &mut |map| {
                for key in keys {
                    map.shift_remove(key);
                }
                Ok(())
            }),
            Op::NormalizeStyle => walk::keyword_objects_mut(doc, &mut normalize_style),
            Op::Add { path, value } => path.add(doc, value.clone()),
            Op::Remove { path } => path.remove(doc).map(drop),
            Op::Replace { path, value } => path.replace(doc, value.clone()),
            Op::Test { path, value } => path.test(doc, value),
        }
    }
}

fn normalize_style(map: &mut Map<String, Value>) -> Result<(), String> {
    let Some(Value::String(style)) = map.get_mut("style") else {
        return Ok(());
    };
    let wanted = style.replace(['_', '-'], "").to_lowercase();
    match STYLES.iter().find(|s| s.to_lowercase() == wanted) {
        Some(canonical) => {
            *style = (*canonical).to_owned();
            Ok(())
        }
        None => Err(format!(
            "style {style:?} is not an OpenAPI 3.0 style (known: {})",
            STYLES.join(", ")
        )),
    }
}

/// Keeps `method path`, its tags and the components it references.
fn select(doc: &mut Value, method: &str, path: &str) -> Result<(), String> {
    let Value::Object(root) = doc else {
        return Err("the document is not a JSON object".to_owned());
    };
    let upper = method.to_uppercase();

    let mut item = match root.get("paths").and_then(|p| p.get(path)) {
        Some(Value::Object(item)) => item.clone(),
        Some(other) => return Err(format!("paths[{path}] is {}, not a path item", kind(other))),
        None => return Err(format!("upstream has no path `{path}`")),
    };
    if !item.contains_key(method) {
        let has: Vec<_> = item
            .keys()
            .filter(|k| METHODS.contains(&k.as_str()))
            .map(|k| k.to_uppercase())
            .collect();
        return Err(format!(
            "upstream path `{path}` has no {upper} operation (it has: {})",
            has.join(", ")
        ));
    }
    item.retain(|key, _| key == method || !METHODS.contains(&key.as_str()));
    let operation = item.get(method).cloned().unwrap_or_default();
    let mut paths = Map::new();
    paths.insert(path.to_owned(), Value::Object(item));
    let paths = Value::Object(paths);

    // Components reachable from the operation, depth first in document order.
    let components = root
        .get("components")
        .cloned()
        .unwrap_or(Value::Object(Map::new()));
    let mut kept: Vec<(String, String)> = Vec::new();
    collect_components(&paths, &components, &mut kept)?;
    for requirement in [root.get("security"), operation.get("security")]
        .into_iter()
        .flatten()
    {
        for scheme in requirement
            .as_array()
            .into_iter()
            .flatten()
            .filter_map(Value::as_object)
            .flat_map(Map::keys)
        {
            let key = ("securitySchemes".to_owned(), scheme.clone());
            if !kept.contains(&key) {
                kept.push(key);
            }
        }
    }
    let mut new_components = Map::new();
    for (kind_name, members) in components.as_object().into_iter().flatten() {
        if !COMPONENT_KINDS.contains(&kind_name.as_str()) {
            continue;
        }
        let mut selected = Map::new();
        for (k, name) in &kept {
            if k == kind_name
                && let Some(value) = members.get(name)
            {
                selected.insert(name.clone(), value.clone());
            }
        }
        if !selected.is_empty() {
            new_components.insert(kind_name.clone(), Value::Object(selected));
        }
    }

    // Tags the operation uses, in upstream's order.
    let used: Vec<&str> = operation
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter_map(Value::as_str)
        .collect();
    let tags: Vec<Value> = root
        .get("tags")
        .and_then(Value::as_array)
        .into_iter()
        .flatten()
        .filter(|tag| {
            tag.get("name")
                .and_then(Value::as_str)
                .is_some_and(|name| used.contains(&name))
        })
        .cloned()
        .collect();

    root.insert("paths".to_owned(), paths);
    if tags.is_empty() {
        root.shift_remove("tags");
    } else if root.contains_key("tags") {
        root.insert("tags".to_owned(), Value::Array(tags));
    }
    if new_components.is_empty() {
        root.shift_remove("components");
    } else {
        root.insert("components".to_owned(), Value::Object(new_components));
    }
    Ok(())
}

fn collect_components(
    value: &Value,
    components: &Value,
    kept: &mut Vec<(String, String)>,
) -> Result<(), String> {
    for target in walk::refs(value) {
        let Some(rest) = target.strip_prefix("#/components/") else {
            return Err(format!(
                "$ref {target:?} is not a local component reference; select cannot follow it"
            ));
        };
        let pointer =
            Pointer::parse(&format!("/{rest}")).map_err(|e| format!("$ref {target:?}: {e}"))?;
        let [kind_name, name, ..] = pointer.tokens() else {
            return Err(format!("$ref {target:?} does not name a component"));
        };
        let key = (kind_name.clone(), name.clone());
        if kept.contains(&key) {
            continue;
        }
        let Some(member) = components
            .get(kind_name)
            .and_then(|members| members.get(name))
        else {
            return Err(format!("$ref {target:?} does not resolve in upstream"));
        };
        kept.push(key);
        collect_components(member, components, kept)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn select_keeps_the_operation_and_what_it_references() {
        let mut doc = json!({
            "openapi": "3.0.1",
            "tags": [{"name": "A"}, {"name": "B"}],
            "paths": {
                "/x": {"get": {"tags": ["B"], "responses": {"200": {"content": {"j": {"schema": {"$ref": "#/components/schemas/Top"}}}}}},
                       "post": {"tags": ["A"]}},
                "/y": {"get": {}},
            },
            "components": {
                "schemas": {
                    "Unused": {"type": "string"},
                    "Leaf": {"type": "string"},
                    "Top": {"properties": {"leaf": {"$ref": "#/components/schemas/Leaf"}, "me": {"$ref": "#/components/schemas/Top"}}},
                },
                "extensions": {},
            },
        });
        select(&mut doc, "get", "/x").unwrap();
        assert_eq!(
            doc,
            json!({
                "openapi": "3.0.1",
                "tags": [{"name": "B"}],
                "paths": {"/x": {"get": {"tags": ["B"], "responses": {"200": {"content": {"j": {"schema": {"$ref": "#/components/schemas/Top"}}}}}}}},
                "components": {"schemas": {
                    "Top": {"properties": {"leaf": {"$ref": "#/components/schemas/Leaf"}, "me": {"$ref": "#/components/schemas/Top"}}},
                    "Leaf": {"type": "string"},
                }},
            })
        );
        let names: Vec<_> = doc["components"]["schemas"]
            .as_object()
            .unwrap()
            .keys()
            .collect();
        assert_eq!(names, ["Top", "Leaf"], "discovery order");
        assert!(
            select(&mut doc, "put", "/x")
                .unwrap_err()
                .contains("no PUT operation")
        );
    }

    #[test]
    fn normalize_style_maps_enum_names() {
        let mut doc = json!({"parameters": [{"style": "FORM"}, {"style": "SPACEDELIMITED"}, {"style": "deepObject"}]});
        walk::keyword_objects_mut(&mut doc, &mut normalize_style).unwrap();
        assert_eq!(
            doc,
            json!({"parameters": [{"style": "form"}, {"style": "spaceDelimited"}, {"style": "deepObject"}]})
        );
        let mut bad = json!({"style": "WAVY"});
        assert!(
            walk::keyword_objects_mut(&mut bad, &mut normalize_style)
                .unwrap_err()
                .contains("WAVY")
        );
    }

    #[test]
    fn rejects_typos_and_duplicates() {
        let typo =
            r#"{"steps": [{"id": "a", "op": "replace", "path": "/x", "vaule": 1, "why": "w"}]}"#;
        let err = format!("{:#}", Patches::parse(typo).unwrap_err());
        assert!(
            err.contains("patch step 1") && err.contains("`value` is missing"),
            "{err}"
        );
        let dup = r#"{"steps": [{"id": "a", "op": "normalize-style", "why": "w"}, {"id": "a", "op": "normalize-style", "why": "w"}]}"#;
        assert!(format!("{:#}", Patches::parse(dup).unwrap_err()).contains("reuses the id `a`"));
        let no_why = r#"{"steps": [{"id": "a", "op": "normalize-style"}]}"#;
        assert!(format!("{:#}", Patches::parse(no_why).unwrap_err()).contains("`why` is missing"));
    }
}
