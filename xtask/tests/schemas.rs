//! `cargo xtask schemas`: the committed docs/schemas/ are current, and
//! `--check` notices a changed, missing or stale file; writing repairs it.

use std::fs;

#[test]
fn committed_schemas_are_current() {
    let root = xtask::reconcile::default_root();
    let differences = xtask::schemas::differences(&root).unwrap();
    assert!(
        differences.is_empty(),
        "run `cargo xtask schemas`:\n{}",
        differences.join("\n")
    );
}

#[test]
fn check_reports_changes_and_write_repairs_them() {
    let root = tempfile::tempdir().unwrap();
    let written = xtask::schemas::write(root.path()).unwrap();
    assert_eq!(written.len(), gong_logs_cli::schema::published().len());
    assert!(xtask::schemas::differences(root.path()).unwrap().is_empty());
    // Deterministic: a second run writes nothing.
    assert!(xtask::schemas::write(root.path()).unwrap().is_empty());

    let dir = xtask::schemas::dir(root.path());
    let line = dir.join("line.AccessLog.schema.json");
    let text = fs::read_to_string(&line).unwrap();
    fs::write(&line, text.replace("\"status\"", "\"state\"")).unwrap();
    fs::remove_file(dir.join("types.schema.json")).unwrap();
    fs::write(dir.join("old.schema.json"), "{}").unwrap();
    let differences = xtask::schemas::differences(root.path()).unwrap().join("\n");
    assert!(
        differences.contains("line.AccessLog.schema.json differs"),
        "{differences}"
    );
    assert!(
        differences
            .lines()
            .any(|l| l.starts_with('-') && l.contains("\"state\"")),
        "{differences}"
    );
    assert!(
        differences.contains("types.schema.json is missing"),
        "{differences}"
    );
    assert!(
        differences.contains("old.schema.json is not generated"),
        "{differences}"
    );

    let written = xtask::schemas::write(root.path()).unwrap();
    assert_eq!(written, ["line.AccessLog.schema.json", "types.schema.json"]);
    fs::remove_file(dir.join("old.schema.json")).unwrap();
    assert!(xtask::schemas::differences(root.path()).unwrap().is_empty());
}
