//! Checks that the reconciled spec is what gong-logs-api's build needs: an
//! OpenAPI 3.0.x document that openapiv3 (and so progenitor) accepts, with
//! exactly one operation, every `$ref` resolving and every security
//! requirement naming a declared scheme.

use anyhow::{Context, Result, bail, ensure};
use serde_json::Value;

use super::pointer::Pointer;
use super::walk;

/// Validates a reconciled spec.
pub fn validate(spec: &Value) -> Result<()> {
    let version = spec
        .get("openapi")
        .and_then(Value::as_str)
        .unwrap_or("(missing)");
    ensure!(
        version.starts_with("3.0."),
        "the reconciled spec declares openapi {version:?}; progenitor 0.15.1 accepts 3.0.x only"
    );

    let parsed: openapiv3::OpenAPI = serde_json::from_value(spec.clone())
        .context("the reconciled spec is not a valid OpenAPI 3.0 document (openapiv3 rejects it, so progenitor would too)")?;

    let operations: Vec<String> = parsed
        .operations()
        .map(|(path, method, _)| format!("{} {path}", method.to_uppercase()))
        .collect();
    ensure!(
        operations.len() == 1,
        "the reconciled spec must have exactly one operation, found {}: {}",
        operations.len(),
        operations.join(", ")
    );

    let mut broken = Vec::new();
    for target in walk::refs(spec) {
        let resolves = target
            .strip_prefix('#')
            .and_then(|fragment| Pointer::parse(fragment).ok())
            .is_some_and(|pointer| pointer.get(spec).is_some());
        if !resolves {
            broken.push(target.to_owned());
        }
    }
    if !broken.is_empty() {
        bail!(
            "the reconciled spec has $refs that do not resolve inside it: {}",
            broken.join(", ")
        );
    }

    let schemes = spec
        .pointer("/components/securitySchemes")
        .and_then(Value::as_object);
    let mut requirements: Vec<&Value> = spec.get("security").into_iter().collect();
    for item in spec
        .get("paths")
        .and_then(Value::as_object)
        .into_iter()
        .flat_map(|p| p.values())
    {
        for method in super::patch::METHODS {
            if let Some(security) = item.get(*method).and_then(|op| op.get("security")) {
                requirements.push(security);
            }
        }
    }
    for requirement in requirements
        .iter()
        .filter_map(|r| r.as_array())
        .flatten()
        .filter_map(Value::as_object)
    {
        for name in requirement.keys() {
            ensure!(
                schemes.is_some_and(|s| s.contains_key(name)),
                "a security requirement names `{name}`, which components.securitySchemes does not declare"
            );
        }
    }
    Ok(())
}
