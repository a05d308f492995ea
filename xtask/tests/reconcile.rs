//! `cargo xtask reconcile`: the committed reconciled spec is reproducible,
//! upstream updates are reported and applied, a stale patch stops the run
//! without writing, and `--check` catches hand edits.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::{Value, json};
use tempfile::TempDir;
use xtask::reconcile::{self, Check, OUTPUT, PATCHES, UPSTREAM};

fn workspace_root() -> PathBuf {
    reconcile::default_root()
}

fn read_json(path: &Path) -> Value {
    serde_json::from_str(&fs::read_to_string(path).unwrap()).unwrap()
}

fn write_json(path: &Path, value: &Value) {
    fs::write(path, serde_json::to_string_pretty(value).unwrap()).unwrap();
}

/// A workspace root in a temp dir holding copies of the openapi files.
fn temp_root() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("openapi/upstream")).unwrap();
    for file in [UPSTREAM, PATCHES, OUTPUT, reconcile::SOURCE] {
        fs::copy(workspace_root().join(file), dir.path().join(file)).unwrap();
    }
    dir
}

fn upstream() -> Value {
    read_json(&workspace_root().join(UPSTREAM))
}

/// Runs the built `xtask` binary.
fn xtask(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// The bytes of the files a run may write, to prove it wrote nothing.
fn snapshot(root: &Path) -> Vec<Vec<u8>> {
    [UPSTREAM, PATCHES, OUTPUT]
        .iter()
        .map(|f| fs::read(root.join(f)).unwrap())
        .collect()
}

fn logs_get(spec: &mut Value) -> &mut Value {
    &mut spec["paths"]["/v2/logs"]["get"]
}

// (a) -----------------------------------------------------------------------

#[test]
fn committed_spec_equals_a_fresh_regeneration() {
    let root = workspace_root();
    let fresh = reconcile::generate(&root).unwrap();
    let committed = fs::read_to_string(root.join(OUTPUT)).unwrap();
    assert!(
        fresh == committed,
        "{OUTPUT} is stale; run `cargo xtask reconcile`. Diff:\n{}",
        match reconcile::check(&root).unwrap() {
            Check::Stale { diff } => diff,
            Check::UpToDate => String::new(),
        }
    );
    assert_eq!(
        reconcile::generate(&root).unwrap(),
        fresh,
        "generation is deterministic"
    );
}

#[test]
fn check_passes_on_the_workspace() {
    let out = xtask(&["reconcile", "--check"]);
    assert!(out.status.success(), "stderr:\n{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert_eq!(stdout.lines().count(), 1, "{stdout}");
    assert!(stdout.contains("up to date"), "{stdout}");
}

#[test]
fn reconciled_spec_keeps_upstream_meaning_and_fixes_its_defects() {
    let spec = read_json(&workspace_root().join(OUTPUT));
    let raw = fs::read_to_string(workspace_root().join(OUTPUT)).unwrap();
    assert_eq!(spec["openapi"], "3.0.3");
    assert_eq!(spec["info"], upstream()["info"], "info is upstream's");
    assert_eq!(spec["servers"][0]["url"], "https://api.gong.io");
    assert_eq!(spec["tags"].as_array().unwrap().len(), 1);
    assert_eq!(spec["tags"][0]["name"], "Auditing");
    assert_eq!(spec["paths"].as_object().unwrap().len(), 1);
    let schemas: Vec<&String> = spec["components"]["schemas"]
        .as_object()
        .unwrap()
        .keys()
        .collect();
    assert_eq!(
        schemas,
        ["LogsResponse", "Records", "logEntry", "ErrorResponse"]
    );
    assert!(spec["components"].get("extensions").is_none());
    assert!(
        !raw.contains("\"exampleSetFlag\":") && !raw.contains("\"types\":"),
        "noise keys are stripped"
    );
    assert!(
        !raw.contains("\"FORM\"") && !raw.contains("\"SIMPLE\""),
        "styles are 3.0 spellings"
    );
    assert_eq!(
        spec["components"]["securitySchemes"]["basicAuth"]["scheme"],
        "basic"
    );
    assert_eq!(
        spec["components"]["securitySchemes"]["bearerAuth"]["scheme"],
        "bearer"
    );
    assert_eq!(
        spec["paths"]["/v2/logs"]["get"]["security"],
        json!([{"basicAuth": []}, {"bearerAuth": []}])
    );
    let values = &spec["components"]["schemas"]["logEntry"]["properties"]["logRecord"]["additionalProperties"];
    assert!(
        values.get("type").is_none(),
        "logRecord values are any JSON value"
    );

    // Every description that came from upstream is verbatim.
    fn descriptions(value: &Value, out: &mut Vec<String>) {
        match value {
            Value::Object(map) => {
                for (key, child) in map {
                    match (key.as_str(), child) {
                        ("description", Value::String(text)) => out.push(text.clone()),
                        _ => descriptions(child, out),
                    }
                }
            }
            Value::Array(items) => items.iter().for_each(|item| descriptions(item, out)),
            _ => {}
        }
    }
    let (mut ours, mut theirs) = (Vec::new(), Vec::new());
    descriptions(&spec, &mut ours);
    descriptions(&upstream(), &mut theirs);
    let added_by_patches = [
        &spec["servers"][0]["description"],
        &spec["components"]["securitySchemes"]["basicAuth"]["description"],
        &spec["components"]["securitySchemes"]["bearerAuth"]["description"],
    ];
    for text in ours {
        if !added_by_patches
            .iter()
            .any(|added| added.as_str() == Some(text.as_str()))
        {
            assert!(
                theirs.contains(&text),
                "description not verbatim from upstream: {text:?}"
            );
        }
    }
}

// (b) -----------------------------------------------------------------------

#[test]
fn upstream_update_reports_every_surface_change_and_applies_it() {
    let root = temp_root();
    let mut new = upstream();
    let op = logs_get(&mut new);
    op["parameters"][0]["schema"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("CallSharingLog"));
    op["parameters"].as_array_mut().unwrap().push(json!({
        "name": "pageSize", "in": "query", "description": "Entries per page.", "required": false,
        "style": "FORM", "explode": true,
        "schema": {"type": "integer", "format": "int32", "exampleSetFlag": false, "types": ["integer"]}
    }));
    op["responses"]
        .as_object_mut()
        .unwrap()
        .shift_remove("500")
        .unwrap();
    let schemas = &mut new["components"]["schemas"];
    schemas["logEntry"]["properties"]["workspaceId"] = json!({"type": "string", "description": "Gong's workspace id.", "exampleSetFlag": false, "types": ["string"]});
    schemas["Records"]["properties"]["totalRecords"]["type"] = json!("string");
    schemas["Records"]["properties"]["totalRecords"]["types"] = json!(["string"]);
    schemas["Records"]["properties"]["totalRecords"]
        .as_object_mut()
        .unwrap()
        .shift_remove("format");
    let new_path = root.path().join("downloaded.json");
    write_json(&new_path, &new);

    let out = xtask(&[
        "reconcile",
        "--root",
        root.path().to_str().unwrap(),
        "--upstream",
        new_path.to_str().unwrap(),
    ]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    for expected in [
        "~ query parameter `logType`: enum value \"CallSharingLog\" added",
        "+ query parameter `pageSize`: optional, integer(int32), style FORM",
        "- response 500 removed (\"Failed to complete the operation due to an unexpected error\"",
        "+ logEntry.workspaceId: string (field added)",
        "~ Records.totalRecords: integer(int32) -> string",
        "5 changes.",
    ] {
        assert!(
            stdout.contains(expected),
            "report lacks {expected:?}:\n{stdout}"
        );
    }

    // The new download is adopted byte for byte, and the reconciled spec has
    // every change, reconciled.
    assert_eq!(
        fs::read(root.path().join(UPSTREAM)).unwrap(),
        fs::read(&new_path).unwrap()
    );
    let mut spec = read_json(&root.path().join(OUTPUT));
    let schemas = spec["components"]["schemas"].clone();
    let op = logs_get(&mut spec);
    assert_eq!(op["parameters"][0]["schema"]["enum"][5], "CallSharingLog");
    assert_eq!(
        op["parameters"][4],
        json!({"name": "pageSize", "in": "query", "description": "Entries per page.", "required": false,
               "style": "form", "explode": true, "schema": {"type": "integer", "format": "int32"}})
    );
    assert!(op["responses"].get("500").is_none());
    assert!(op["responses"].get("404").is_some());
    assert_eq!(
        schemas["logEntry"]["properties"]["workspaceId"],
        json!({"type": "string", "description": "Gong's workspace id."})
    );
    assert_eq!(
        schemas["Records"]["properties"]["totalRecords"]["type"],
        "string"
    );
    assert_eq!(reconcile::check(root.path()).unwrap(), Check::UpToDate);
}

#[test]
fn upstream_update_outside_the_surface_reports_no_change() {
    let root = temp_root();
    let mut new = upstream();
    new["paths"]["/v2/calls"]["get"]["summary"] = json!("Something else entirely");
    new["components"]["schemas"]["Records"]["properties"]["totalRecords"]["exampleSetFlag"] =
        json!(false);
    let new_path = root.path().join("downloaded.json");
    write_json(&new_path, &new);
    let mut report = Vec::new();
    let found = reconcile::update_upstream(root.path(), &new_path, &mut report).unwrap();
    assert!(found.is_empty(), "{:?}", found.lines().collect::<Vec<_>>());
    assert!(
        text(&report).starts_with("No changes on the GET /v2/logs surface"),
        "{}",
        text(&report)
    );
    assert_eq!(
        fs::read(root.path().join(UPSTREAM)).unwrap(),
        fs::read(&new_path).unwrap()
    );
    assert_eq!(
        fs::read(root.path().join(OUTPUT)).unwrap(),
        fs::read(workspace_root().join(OUTPUT)).unwrap()
    );
}

// (c) -----------------------------------------------------------------------

#[test]
fn a_step_that_no_longer_applies_stops_the_update_and_writes_nothing() {
    let root = temp_root();
    let before = snapshot(root.path());
    let mut new = upstream();
    logs_get(&mut new)["responses"]["429"]
        .as_object_mut()
        .unwrap()
        .shift_remove("headers")
        .unwrap();
    let new_path = root.path().join("downloaded.json");
    write_json(&new_path, &new);

    let out = xtask(&[
        "reconcile",
        "--root",
        root.path().to_str().unwrap(),
        "--upstream",
        new_path.to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    for expected in [
        "step 12 `guard-retry-after`",
        "/responses/429/headers/Retry-After",
        "no longer applies",
        "Edit openapi/patches.json",
        "Nothing was written",
    ] {
        assert!(
            stderr.contains(expected),
            "error lacks {expected:?}:\n{stderr}"
        );
    }
    assert!(
        text(&out.stdout).contains("- response 429 header `Retry-After` removed"),
        "the report still says what changed"
    );
    assert_eq!(snapshot(root.path()), before, "nothing was written");
}

#[test]
fn a_test_guard_catches_reordered_parameters_before_an_index_based_step() {
    let root = temp_root();
    // An index-based step, guarded as the patch format asks.
    let mut patches = read_json(&root.path().join(PATCHES));
    patches["steps"].as_array_mut().unwrap().extend([
        json!({"id": "guard-cursor-position", "op": "test", "path": "/paths/~1v2~1logs/get/parameters/3/name",
               "value": "cursor", "why": "the next step addresses the cursor parameter by index"}),
        json!({"id": "cursor-deprecated-example", "op": "remove", "path": "/paths/~1v2~1logs/get/parameters/3/example",
               "why": "test fixture"}),
    ]);
    write_json(&root.path().join(PATCHES), &patches);
    reconcile::write(root.path()).unwrap();
    let before = snapshot(root.path());

    let mut new = upstream();
    logs_get(&mut new)["parameters"]
        .as_array_mut()
        .unwrap()
        .swap(2, 3);
    let new_path = root.path().join("downloaded.json");
    write_json(&new_path, &new);
    let mut report = Vec::new();
    let err = format!(
        "{:#}",
        reconcile::update_upstream(root.path(), &new_path, &mut report).unwrap_err()
    );
    assert!(err.contains("step 13 `guard-cursor-position`"), "{err}");
    assert!(
        err.contains(r#"is "toDateTime" but the step expects "cursor""#),
        "{err}"
    );
    assert!(err.contains("openapi/patches.json"), "{err}");
    assert!(text(&report).contains("~ parameter order changed: `logType`, `fromDateTime`, `toDateTime`, `cursor` -> `logType`, `fromDateTime`, `cursor`, `toDateTime`"), "{}", text(&report));
    assert_eq!(snapshot(root.path()), before, "nothing was written");
}

#[test]
fn a_result_that_does_not_validate_is_rejected() {
    let root = temp_root();
    let mut patches = read_json(&root.path().join(PATCHES));
    patches["steps"].as_array_mut().unwrap().push(json!({
        "id": "dangling-ref", "op": "replace",
        "path": "/paths/~1v2~1logs/get/responses/200/content/application~1json/schema/$ref",
        "value": "#/components/schemas/Nope", "why": "test fixture"
    }));
    write_json(&root.path().join(PATCHES), &patches);
    let before = snapshot(root.path());
    let err = format!("{:#}", reconcile::write(root.path()).unwrap_err());
    assert!(
        err.contains("#/components/schemas/Nope") && err.contains("do not resolve"),
        "{err}"
    );
    assert_eq!(snapshot(root.path()), before);
}

#[test]
fn an_unknown_style_stops_the_update() {
    let root = temp_root();
    let before = snapshot(root.path());
    let mut new = upstream();
    logs_get(&mut new)["parameters"][0]["style"] = json!("SIDEWAYS");
    let new_path = root.path().join("downloaded.json");
    write_json(&new_path, &new);
    let err = format!(
        "{:#}",
        reconcile::update_upstream(root.path(), &new_path, &mut Vec::new()).unwrap_err()
    );
    assert!(
        err.contains("step 3 `normalize-style`") && err.contains("SIDEWAYS"),
        "{err}"
    );
    assert_eq!(snapshot(root.path()), before);
}

// (d) -----------------------------------------------------------------------

#[test]
fn check_detects_a_hand_edit() {
    let root = temp_root();
    let path = root.path().join(OUTPUT);
    let edited = fs::read_to_string(&path).unwrap().replace(
        "\"description\": \"Access denied\"",
        "\"description\": \"Forbidden\"",
    );
    fs::write(&path, &edited).unwrap();

    match reconcile::check(root.path()).unwrap() {
        Check::Stale { diff } => {
            assert!(
                diff.contains("-            \"description\": \"Forbidden\""),
                "{diff}"
            );
            assert!(
                diff.contains("+            \"description\": \"Access denied\""),
                "{diff}"
            );
        }
        Check::UpToDate => panic!("a hand edit went unnoticed"),
    }

    let out = xtask(&[
        "reconcile",
        "--check",
        "--root",
        root.path().to_str().unwrap(),
    ]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("\"Forbidden\"") && stderr.contains("run `cargo xtask reconcile`"),
        "{stderr}"
    );
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        edited,
        "--check writes nothing"
    );

    let out = xtask(&["reconcile", "--root", root.path().to_str().unwrap()]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(reconcile::check(root.path()).unwrap(), Check::UpToDate);
}
