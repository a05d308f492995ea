//! `cargo xtask reconcile --upstream URL`, `--drift [URL|FILE]` and the
//! provenance record, against a local HTTP server on 127.0.0.1 (no network):
//! a changed spec, one changed elsewhere, the same bytes, a truncated one, a
//! body cut off mid-transfer, a 500, an HTML page, a slow body, an endless
//! one, and JSON that is not OpenAPI.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Output;
use std::time::Duration;

use axum::Router;
use axum::body::{Body, Bytes};
use axum::http::{StatusCode, header};
use axum::response::Redirect;
use axum::routing::get;
use clap::Parser;
use futures::StreamExt;
use serde_json::{Value, json};
use tempfile::TempDir;
use xtask::reconcile::{
    self, Check, Limits, OUTPUT, PATCHES, Provenance, SOURCE, Source, UPSTREAM,
};

fn workspace_root() -> PathBuf {
    reconcile::default_root()
}

fn upstream_bytes() -> Vec<u8> {
    fs::read(workspace_root().join(UPSTREAM)).unwrap()
}

fn upstream() -> Value {
    serde_json::from_slice(&upstream_bytes()).unwrap()
}

/// A workspace root in a temp dir holding copies of the openapi files.
fn temp_root() -> TempDir {
    let dir = tempfile::tempdir().unwrap();
    fs::create_dir_all(dir.path().join("openapi/upstream")).unwrap();
    for file in [UPSTREAM, PATCHES, OUTPUT, SOURCE] {
        fs::copy(workspace_root().join(file), dir.path().join(file)).unwrap();
    }
    dir
}

/// The bytes of every file a run may write, to prove it wrote nothing.
fn snapshot(root: &Path) -> Vec<Vec<u8>> {
    [UPSTREAM, PATCHES, OUTPUT, SOURCE]
        .iter()
        .map(|f| fs::read(root.join(f)).unwrap())
        .collect()
}

/// Runs the built `xtask` binary; a run that hangs is killed after two
/// minutes (a hang guard only: every run here takes seconds).
fn xtask(args: &[&str]) -> Output {
    assert_cmd::Command::new(env!("CARGO_BIN_EXE_xtask"))
        .args(args)
        .timeout(Duration::from_secs(120))
        .output()
        .unwrap()
}

/// `--download-timeout` for a download from `source`: short for `/slow`,
/// whose body never ends (only the timeout ends it, however fast the
/// machine); a hang guard for the rest, so a loaded machine never turns
/// their failure (a 500, a truncated body, ...) into a timeout.
fn download_timeout(source: &str) -> &'static str {
    if source.ends_with("/slow") {
        "0.5"
    } else {
        "60"
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}

/// Upstream with one change on the /v2/logs surface: a new log type.
fn changed_spec() -> Vec<u8> {
    let mut spec = upstream();
    spec["paths"]["/v2/logs"]["get"]["parameters"][0]["schema"]["enum"]
        .as_array_mut()
        .unwrap()
        .push(json!("CallSharingLog"));
    serde_json::to_vec_pretty(&spec).unwrap()
}

/// Upstream with two other paths changed and /v2/logs untouched.
fn changed_elsewhere() -> Vec<u8> {
    let mut spec = upstream();
    spec["paths"]["/v2/calls"]["get"]["summary"] = json!("Something else entirely");
    spec["paths"]
        .as_object_mut()
        .unwrap()
        .insert("/v2/new-thing".into(), json!({}));
    serde_json::to_vec_pretty(&spec).unwrap()
}

/// A local server; stops when dropped.
struct Server {
    base: String,
    runtime: Option<tokio::runtime::Runtime>,
}

impl Server {
    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn start() -> Server {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        let json = |bytes: Vec<u8>| {
            let bytes = Bytes::from(bytes);
            get(move || {
                let bytes = bytes.clone();
                async move { ([(header::CONTENT_TYPE, "application/json")], bytes) }
            })
        };
        let same = upstream_bytes();
        let truncated = same[..same.len() / 2].to_vec();
        let app = Router::new()
            .route("/changed", json(changed_spec()))
            .route("/elsewhere", json(changed_elsewhere()))
            .route("/same", json(same))
            .route("/truncated", json(truncated))
            .route("/not-openapi", json(br#"{"hello": "world"}"#.to_vec()))
            .route(
                "/error",
                get(|| async { (StatusCode::INTERNAL_SERVER_ERROR, "boom") }),
            )
            .route(
                "/html",
                get(|| async {
                    (
                        [(header::CONTENT_TYPE, "text/html")],
                        "<!DOCTYPE html>\n<html><head><title>Sign in</title></head><body>Sign in to Gong</body></html>",
                    )
                }),
            )
            .route(
                "/slow",
                get(|| async {
                    let stream = futures::stream::once(async {
                        Ok::<_, std::io::Error>(Bytes::from_static(b"{\"openapi\": \"3.0.1\", "))
                    })
                    .chain(futures::stream::pending());
                    ([(header::CONTENT_TYPE, "application/json")], Body::from_stream(stream))
                }),
            )
            .route("/moved", get(|| async { Redirect::temporary("/changed") }))
            .route(
                "/downgrade",
                get(|| async { Redirect::temporary("http://gong.example.invalid/spec") }),
            )
            .route(
                "/endless",
                get(|| async {
                    let chunk = Bytes::from(vec![b' '; 64 * 1024]);
                    Body::from_stream(futures::stream::repeat_with(move || {
                        Ok::<_, std::io::Error>(chunk.clone())
                    }))
                }),
            );
        let listener = runtime
            .block_on(tokio::net::TcpListener::bind("127.0.0.1:0"))
            .unwrap();
        let base = format!("http://{}", listener.local_addr().unwrap());
        runtime.spawn(async move { axum::serve(listener, app).await });
        Server {
            base,
            runtime: Some(runtime),
        }
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        if let Some(runtime) = self.runtime.take() {
            runtime.shutdown_background();
        }
    }
}

/// A server that announces the whole spec's length, sends half of it and
/// closes the connection: a body cut off mid-transfer. Returns its URL.
fn cut_off_server() -> String {
    use std::io::{Read, Write};
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/spec", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        let spec = upstream_bytes();
        for stream in listener.incoming() {
            let Ok(mut stream) = stream else { return };
            let mut request = Vec::new();
            let mut buf = [0u8; 1024];
            while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                match stream.read(&mut buf) {
                    Ok(0) | Err(_) => break,
                    Ok(n) => request.extend_from_slice(&buf[..n]),
                }
            }
            let head = format!(
                "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n",
                spec.len()
            );
            let _ = stream.write_all(head.as_bytes());
            let _ = stream.write_all(&spec[..spec.len() / 2]);
            let _ = stream.flush();
        }
    });
    url
}

fn root_arg(root: &TempDir) -> &str {
    root.path().to_str().unwrap()
}

// --upstream URL ---------------------------------------------------------------

#[test]
fn upstream_url_is_downloaded_reported_adopted_and_its_provenance_recorded() {
    let server = Server::start();
    let root = temp_root();
    let url = server.url("/changed");
    let out = xtask(&["reconcile", "--root", root_arg(&root), "--upstream", &url]);
    let stdout = text(&out.stdout);
    assert!(
        out.status.success(),
        "stdout:\n{stdout}\nstderr:\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.contains("~ query parameter `logType`: enum value \"CallSharingLog\" added"),
        "{stdout}"
    );
    assert!(stdout.contains(&format!("to   {url}")), "{stdout}");
    assert!(
        stdout.contains("recorded in openapi/upstream/SOURCE.toml"),
        "{stdout}"
    );

    // Adopted byte for byte, with its provenance.
    let served = changed_spec();
    assert_eq!(fs::read(root.path().join(UPSTREAM)).unwrap(), served);
    let record = Provenance::load(root.path()).unwrap();
    assert_eq!(record.source, url);
    assert_eq!(record.sha256, reconcile::provenance::sha256_hex(&served));
    assert_eq!(record.bytes, served.len() as u64);
    assert!(
        record.adopted.parse::<jiff::Timestamp>().is_ok(),
        "{}",
        record.adopted
    );
    let spec: Value = serde_json::from_slice(&fs::read(root.path().join(OUTPUT)).unwrap()).unwrap();
    assert_eq!(
        spec["paths"]["/v2/logs"]["get"]["parameters"][0]["schema"]["enum"][5],
        "CallSharingLog"
    );

    // The adopted state passes --check.
    let out = xtask(&["reconcile", "--check", "--root", root_arg(&root)]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(text(&out.stdout).contains(&record.sha256));
}

#[test]
fn upstream_file_is_recorded_as_a_local_file() {
    let root = temp_root();
    let new_path = root.path().join("downloaded.json");
    fs::write(&new_path, changed_spec()).unwrap();
    let out = xtask(&[
        "reconcile",
        "--root",
        root_arg(&root),
        "--upstream",
        new_path.to_str().unwrap(),
    ]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let record = Provenance::load(root.path()).unwrap();
    assert_eq!(record.source, "local file");
    assert_eq!(
        record.sha256,
        reconcile::provenance::sha256_hex(&changed_spec())
    );
    assert_eq!(reconcile::check(root.path()).unwrap(), Check::UpToDate);
}

#[test]
fn failed_downloads_stop_an_upstream_update_and_write_nothing() {
    let server = Server::start();
    let root = temp_root();
    let before = snapshot(root.path());
    for (path, expected) in [
        ("/error", "HTTP 500"),
        ("/html", "HTML page"),
        ("/truncated", "truncated"),
        ("/slow", "timed out"),
    ] {
        let url = server.url(path);
        let out = xtask(&[
            "reconcile",
            "--root",
            root_arg(&root),
            "--download-timeout",
            download_timeout(&url),
            "--upstream",
            &url,
        ]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{path}: {stderr}");
        assert!(
            stderr.contains(&url) && stderr.contains(expected),
            "{path}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert_eq!(snapshot(root.path()), before, "{path}: nothing was written");
    }
}

// --drift ----------------------------------------------------------------------

#[test]
fn drift_reports_a_changed_surface_with_exit_1_and_writes_nothing() {
    let server = Server::start();
    let root = temp_root();
    let before = snapshot(root.path());
    let url = server.url("/changed");
    let file = root.path().join("new.json");
    fs::write(&file, changed_spec()).unwrap();
    let moved = server.url("/moved");
    for source in [url.as_str(), moved.as_str(), file.to_str().unwrap()] {
        let out = xtask(&["reconcile", "--root", root_arg(&root), "--drift", source]);
        let stdout = text(&out.stdout);
        assert_eq!(
            out.status.code(),
            Some(1),
            "{stdout}\n{}",
            text(&out.stderr)
        );
        for expected in [
            format!("Gong's spec at {source} differs"),
            "~ query parameter `logType`: enum value \"CallSharingLog\" added".to_string(),
            "all still apply".to_string(),
            "0 other paths changed".to_string(),
            "cargo xtask reconcile --upstream".to_string(),
        ] {
            assert!(stdout.contains(&expected), "lacks {expected:?}:\n{stdout}");
        }
        assert_eq!(snapshot(root.path()), before, "--drift writes nothing");
    }
}

#[test]
fn drift_says_when_a_patch_step_no_longer_applies() {
    let root = temp_root();
    let mut spec = upstream();
    spec["paths"]["/v2/logs"]["get"]["responses"]["429"]
        .as_object_mut()
        .unwrap()
        .shift_remove("headers");
    let file = root.path().join("new.json");
    fs::write(&file, serde_json::to_vec(&spec).unwrap()).unwrap();
    let before = snapshot(root.path());
    let drift =
        reconcile::drift::compare(root.path(), &Source::File(file.clone()), Limits::default())
            .unwrap();
    assert!(drift.changed());
    let why = drift.patches.as_ref().unwrap_err();
    assert!(why.contains("`guard-retry-after`"), "{why}");
    let report = drift.render();
    assert!(report.contains("one no longer applies"), "{report}");
    assert!(
        report.contains("- response 429 header `Retry-After` removed"),
        "{report}"
    );
    assert_eq!(snapshot(root.path()), before);
}

#[test]
fn drift_with_an_unchanged_surface_exits_0_and_counts_other_paths() {
    let server = Server::start();
    let root = temp_root();
    let before = snapshot(root.path());
    let out = xtask(&[
        "reconcile",
        "--root",
        root_arg(&root),
        "--drift",
        &server.url("/elsewhere"),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{stdout}\n{}",
        text(&out.stderr)
    );
    assert!(
        stdout.starts_with("No changes on the GET /v2/logs surface"),
        "{stdout}"
    );
    assert!(
        stdout.contains("2 other paths changed: ~ /v2/calls, + /v2/new-thing."),
        "{stdout}"
    );
    assert_eq!(stdout.lines().count(), 1, "{stdout}");

    let out = xtask(&[
        "reconcile",
        "--root",
        root_arg(&root),
        "--drift",
        &server.url("/same"),
    ]);
    let stdout = text(&out.stdout);
    assert_eq!(out.status.code(), Some(0), "{stdout}");
    assert!(
        stdout.starts_with("No drift:") && stdout.contains("identical"),
        "{stdout}"
    );
    assert_eq!(snapshot(root.path()), before);
}

#[test]
fn drift_failures_exit_2_with_one_line_naming_the_source() {
    let server = Server::start();
    let root = temp_root();
    let before = snapshot(root.path());
    // A port nothing listens on: bind one, note it, close it.
    let closed = {
        let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
        format!("http://{}/spec", listener.local_addr().unwrap())
    };
    let missing = root.path().join("no-such-file.json");
    let cases = [
        (server.url("/error"), "HTTP 500"),
        (server.url("/html"), "is an HTML page"),
        (server.url("/truncated"), "truncated"),
        (cut_off_server(), "the body was cut off"),
        (server.url("/slow"), "timed out"),
        (server.url("/not-openapi"), "not an OpenAPI document"),
        (closed.clone(), "could not connect"),
        (
            "http://gong.example.invalid/spec".to_string(),
            "plain http:// is refused",
        ),
        (
            server.url("/downgrade"),
            "redirected to http://gong.example.invalid/spec: refused",
        ),
        (
            missing.to_str().unwrap().to_string(),
            "cannot read the new upstream spec",
        ),
    ];
    for (source, expected) in &cases {
        let out = xtask(&[
            "reconcile",
            "--root",
            root_arg(&root),
            "--download-timeout",
            download_timeout(source),
            "--drift",
            source,
        ]);
        let stderr = text(&out.stderr);
        assert_eq!(out.status.code(), Some(2), "{source}: {stderr}");
        assert!(
            stderr.starts_with("error: ") && stderr.contains(source.as_str()),
            "{source}: names the source: {stderr}"
        );
        assert!(
            stderr.contains(expected),
            "{source}: lacks {expected:?}: {stderr}"
        );
        assert_eq!(stderr.trim_end().lines().count(), 1, "one line: {stderr}");
        assert!(out.stdout.is_empty(), "{source}: no report on a failure");
    }
    assert_eq!(snapshot(root.path()), before);
}

#[test]
fn downloads_are_capped_in_size() {
    let server = Server::start();
    let limits = Limits {
        timeout: Duration::from_secs(30),
        max_bytes: 100_000,
    };
    // Announced by Content-Length.
    let err = format!(
        "{:#}",
        reconcile::download::download(&server.url("/same"), limits).unwrap_err()
    );
    assert!(err.contains("/same") && err.contains("100000"), "{err}");
    // Streamed without a length, and never ending: stopped at the cap.
    let err = format!(
        "{:#}",
        reconcile::download::download(&server.url("/endless"), limits).unwrap_err()
    );
    assert!(
        err.contains("/endless") && err.contains("exceeded the 100000 byte cap"),
        "{err}"
    );
    // Under the cap, the bytes arrive exactly.
    let bytes = reconcile::download::download(&server.url("/same"), Limits::default()).unwrap();
    assert_eq!(bytes, upstream_bytes());
}

#[test]
fn gong_names_the_published_address_and_drift_defaults_to_it() {
    assert_eq!(
        Source::parse("gong"),
        Source::Url(
            "https://gong.app.gong.io/ajax/settings/api/documentation/specs?version=".into()
        )
    );
    assert_eq!(
        Source::parse("HTTPS://x.example/spec"),
        Source::Url("HTTPS://x.example/spec".into())
    );
    assert_eq!(
        Source::parse("spec.json"),
        Source::File(PathBuf::from("spec.json"))
    );
    assert_eq!(Source::parse("gong").command_arg(), "gong");

    #[derive(Debug, Parser)]
    struct Reconcile {
        #[command(flatten)]
        args: reconcile::Args,
    }
    let parsed = Reconcile::try_parse_from(["reconcile", "--drift"]).unwrap();
    assert_eq!(parsed.args.drift.as_deref(), Some("gong"));
    let parsed = Reconcile::try_parse_from(["reconcile", "--drift", "x.json"]).unwrap();
    assert_eq!(parsed.args.drift.as_deref(), Some("x.json"));
    assert!(Reconcile::try_parse_from(["reconcile", "--drift", "--check"]).is_err());
    assert!(Reconcile::try_parse_from(["reconcile", "--drift", "--upstream", "x"]).is_err());
}

// Provenance ---------------------------------------------------------------------

#[test]
fn committed_provenance_matches_the_upstream_file() {
    match reconcile::provenance::verify(&workspace_root(), UPSTREAM).unwrap() {
        reconcile::Verified::Matches(record) => {
            assert_eq!(record.bytes, upstream_bytes().len() as u64);
        }
        other => panic!("{SOURCE} does not match {UPSTREAM}: {other:?}"),
    }
}

#[test]
fn check_catches_a_hand_edit_of_the_upstream_file() {
    let root = temp_root();
    let path = root.path().join(UPSTREAM);
    let edited = text(&fs::read(&path).unwrap()).replacen("\"Gong API\"", "\"Gong  API\"", 1);
    fs::write(&path, &edited).unwrap();
    let out = xtask(&["reconcile", "--check", "--root", root_arg(&root)]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    for expected in [
        "openapi/upstream/gong-openapi-v2.json is not the file that was adopted",
        "SOURCE.toml records",
        "git checkout -- openapi/upstream/gong-openapi-v2.json",
    ] {
        assert!(stderr.contains(expected), "lacks {expected:?}: {stderr}");
    }
    assert!(out.stdout.is_empty());
    assert_eq!(
        fs::read_to_string(&path).unwrap(),
        edited,
        "--check writes nothing"
    );

    // Without a provenance record, --check says how to get one.
    fs::copy(workspace_root().join(UPSTREAM), &path).unwrap();
    fs::remove_file(root.path().join(SOURCE)).unwrap();
    let out = xtask(&["reconcile", "--check", "--root", root_arg(&root)]);
    let stderr = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{stderr}");
    assert!(
        stderr.contains("SOURCE.toml") && stderr.contains("--upstream"),
        "{stderr}"
    );
}
