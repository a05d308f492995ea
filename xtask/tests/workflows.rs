//! `cargo xtask check-workflows`: the committed workflow files pass; broken
//! ones (bad YAML, a missing file, an unknown xtask flag, a script that does
//! not exist, an unpinned action, a bad cron) are each reported.

use std::fs;
use std::path::Path;
use std::process::Output;
use std::time::Duration;

use xtask::reconcile::default_root;

fn xtask(args: &[&str]) -> Output {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// A root with copies of the workflows and of `.ci/run`.
fn temp_root() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join(".github/workflows")).unwrap();
    fs::create_dir_all(dir.path().join(".ci")).unwrap();
    for file in [
        ".github/workflows/ci.yml",
        ".github/workflows/spec-drift.yml",
        ".ci/run",
    ] {
        fs::copy(default_root().join(file), dir.path().join(file)).unwrap();
    }
    dir
}

fn edit(root: &Path, file: &str, from: &str, to: &str) {
    let path = root.join(".github/workflows").join(file);
    let text = fs::read_to_string(&path).unwrap();
    assert!(text.contains(from), "{file} lacks {from:?}");
    fs::write(&path, text.replacen(from, to, 1)).unwrap();
}

fn check(root: &Path) -> Output {
    xtask(&["check-workflows", "--root", root.to_str().unwrap()])
}

#[test]
fn the_committed_workflows_pass() {
    let out = xtask(&["check-workflows"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(".github/workflows/ci.yml") && stdout.contains("spec-drift.yml"),
        "{stdout}"
    );
}

#[test]
fn the_workflows_run_what_the_issue_asks() {
    let ci = fs::read_to_string(default_root().join(".github/workflows/ci.yml")).unwrap();
    let drift =
        fs::read_to_string(default_root().join(".github/workflows/spec-drift.yml")).unwrap();
    let ci: serde_norway::Value = serde_norway::from_str(&ci).unwrap();
    let drift: serde_norway::Value = serde_norway::from_str(&drift).unwrap();
    // `on` stays a string key (YAML 1.2), with push and pull_request.
    assert!(ci["on"].get("push").is_some() && ci["on"].get("pull_request").is_some());
    let runs = |doc: &serde_norway::Value| -> String {
        let mut all = String::new();
        for job in doc["jobs"].as_mapping().unwrap().values() {
            for step in job["steps"].as_sequence().unwrap() {
                if let Some(run) = step.get("run").and_then(|r| r.as_str()) {
                    all.push_str(run);
                    all.push('\n');
                }
            }
        }
        all
    };
    assert!(runs(&ci).contains("bash .ci/run"));
    assert!(
        serde_norway::to_string(&ci).unwrap().contains("rust-cache"),
        "cargo caching"
    );
    assert!(drift["on"]["schedule"][0]["cron"].as_str().is_some());
    assert!(runs(&drift).contains("cargo xtask reconcile --drift gong"));
    assert!(
        serde_norway::to_string(&drift)
            .unwrap()
            .contains("Gong changed the /v2/logs spec")
    );
}

#[test]
fn broken_workflows_are_reported_one_line_each() {
    let cases: &[(&str, &str, &str, &str)] = &[
        ("ci.yml", "jobs:", "jobs: [", "not valid YAML"),
        (
            "ci.yml",
            "run: bash .ci/run",
            "run: bash .ci/nope",
            "`.ci/nope` does not exist",
        ),
        (
            "spec-drift.yml",
            "cargo xtask reconcile --drift gong >",
            "cargo xtask reconcile --drfit gong >",
            "--drfit",
        ),
        (
            "spec-drift.yml",
            "cargo xtask reconcile --drift gong >",
            "cargo xtask reconcille --drift gong >",
            "reconcille",
        ),
        (
            "ci.yml",
            "actions/checkout@v4",
            "actions/checkout",
            "must be pinned",
        ),
        ("spec-drift.yml", "17 6 * * 1", "17 6 * *", "5 fields"),
        (
            "ci.yml",
            "runs-on: ubuntu-latest",
            "runs_on: ubuntu-latest",
            "no `runs-on`",
        ),
    ];
    for (file, from, to, expected) in cases {
        let root = temp_root();
        edit(root.path(), file, from, to);
        let out = check(root.path());
        let stderr = text(&out.stderr);
        assert!(!out.status.success(), "{to:?} passed");
        let line = stderr
            .lines()
            .find(|l| l.contains(expected))
            .unwrap_or_else(|| panic!("{to:?}: lacks {expected:?}:\n{stderr}"));
        assert!(
            line.contains(&format!(".github/workflows/{file}")),
            "{line}"
        );
    }

    let root = temp_root();
    fs::remove_file(root.path().join(".github/workflows/spec-drift.yml")).unwrap();
    let stderr = text(&check(root.path()).stderr);
    assert!(
        stderr.contains(".github/workflows/spec-drift.yml: missing"),
        "{stderr}"
    );
}
