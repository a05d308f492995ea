//! Compressed output by extension (`-o FILE.jsonl.gz`, `.csv.zst`, ...):
//! each decompresses to exactly the uncompressed output, `--resume` and
//! `--follow` work on them (one gzip member / zstd frame per commit), and an
//! unknown extension is a usage error.

use std::io::Read as _;
use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use gong_logs_e2e::*;

const TYPE: &str = "AccessLog";
const ENTRIES: usize = 300;
const PAGE: usize = 10;

fn sim() -> TestSim {
    let mut config = SimConfig::testing(13, ENTRIES);
    config.page_size = PAGE;
    TestSim::start(config)
}

fn fetch(sim: &TestSim, extra: &[&str]) -> Run {
    sim.fetch()
        .types(TYPE)
        .args([
            // One cursor chain: --max-requests 5 then commits 5 pages.
            "--concurrency",
            "1",
        ])
        .args(extra)
        .run()
}

/// Decompresses a whole file, every gzip member / zstd frame of it.
fn decompress(path: &Path) -> String {
    let bytes = std::fs::read(path).unwrap();
    decompress_bytes(&bytes, &path.display().to_string())
}

fn decompress_bytes(bytes: &[u8], name: &str) -> String {
    let mut out = String::new();
    if name.ends_with(".gz") || name.ends_with(".gz.partial") {
        flate2::read::MultiGzDecoder::new(bytes)
            .read_to_string(&mut out)
            .unwrap_or_else(|e| panic!("{name} is not valid gzip: {e}"));
    } else {
        zstd::stream::read::Decoder::new(bytes)
            .unwrap()
            .read_to_string(&mut out)
            .unwrap_or_else(|e| panic!("{name} is not valid zstd: {e}"));
    }
    out
}

/// The checkpoint's committed length of the data file.
fn data_len(out: &Path) -> usize {
    let text = std::fs::read_to_string(checkpoint_of(out)).unwrap();
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    usize::try_from(json["dataLen"].as_u64().unwrap()).unwrap()
}

#[test]
fn every_extension_round_trips_to_the_uncompressed_output() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    for format in ["jsonl", "json", "csv"] {
        let plain = dir.path().join(format!("plain.{format}"));
        fetch(&sim, &["-o", plain.to_str().unwrap()]).ok();
        let expected = std::fs::read_to_string(&plain).unwrap();
        assert!(expected.len() > 1000, "{format}: {} bytes", expected.len());
        for compression in ["gz", "zst", "GZ"] {
            let out = dir.path().join(format!("out.{format}.{compression}"));
            fetch(&sim, &["-o", out.to_str().unwrap()]).ok();
            let bytes = std::fs::read(&out).unwrap();
            assert!(
                bytes.len() < expected.len(),
                "{}: {} bytes, not compressed",
                out.display(),
                bytes.len()
            );
            let name = out.display().to_string().to_ascii_lowercase();
            assert_eq!(decompress_bytes(&bytes, &name), expected, "{name}");
        }
    }
    // --format overrides the inner extension; the compression stays.
    let out = dir.path().join("forced.jsonl.gz");
    fetch(&sim, &["--format", "csv", "-o", out.to_str().unwrap()]).ok();
    assert_eq!(
        decompress(&out),
        std::fs::read_to_string(dir.path().join("plain.csv")).unwrap()
    );
    // With --format, any name is accepted (uncompressed).
    let out = dir.path().join("audit.tsv");
    fetch(&sim, &["--format", "csv", "-o", out.to_str().unwrap()]).ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        std::fs::read_to_string(dir.path().join("plain.csv")).unwrap()
    );
}

#[test]
fn an_empty_compressed_output_is_still_valid() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    for name in ["empty.jsonl.gz", "empty.jsonl.zst", "empty.json.gz"] {
        let out = dir.path().join(name);
        // A range before the simulator's data: no entries.
        sim.fetch()
            .types(TYPE)
            .range("2023-12-01T00:00:00Z", "2023-12-02T00:00:00Z")
            .output(&out)
            .run()
            .ok();
        let expected = if name.contains(".json.") { "[]\n" } else { "" };
        assert!(!std::fs::read(&out).unwrap().is_empty(), "{name}");
        assert_eq!(decompress(&out), expected, "{name}");
    }
}

/// Stopped by `--max-requests` (exit 5, a checkpoint), the committed part
/// of the data file is a valid compressed file on its own, and `--resume`
/// completes it to exactly the uncompressed output.
#[test]
fn resumed_compressed_exports_are_exact() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    for (format, compression) in [
        ("jsonl", "gz"),
        ("json", "gz"),
        ("csv", "zst"),
        ("json", "zst"),
    ] {
        let plain = dir.path().join(format!("plain.{format}"));
        fetch(&sim, &["-o", plain.to_str().unwrap()]).ok();
        let expected = std::fs::read_to_string(&plain).unwrap();

        let out = dir.path().join(format!("audit.{format}.{compression}"));
        let out_arg = out.to_str().unwrap();
        let run = fetch(&sim, &["-o", out_arg, "--resume", "--max-requests", "5"]);
        run.code(5).one_line_error("budget of 5 requests");
        assert!(!out.exists());
        let partial = partial_of(&out);
        let bytes = std::fs::read(&partial).unwrap();
        let committed = data_len(&out);
        assert!(
            committed > 0 && committed <= bytes.len(),
            "{format}.{compression}: committed {committed} of {}",
            bytes.len()
        );
        // The committed prefix alone decompresses: its units are complete.
        let prefix = decompress_bytes(&bytes[..committed], &partial.display().to_string());
        assert!(
            prefix.len() > 100 && expected.starts_with(&prefix),
            "{format}.{compression}: the committed part is not a prefix of the output"
        );
        assert!(prefix.len() < expected.len());

        let run = fetch(&sim, &["-o", out_arg, "--resume"]);
        run.ok();
        assert_eq!(decompress(&out), expected, "{format}.{compression}");
        assert!(!partial.exists() && !checkpoint_of(&out).exists());
    }
}

/// Killed with SIGKILL mid-export, the same command with `--resume`
/// completes the gzip file exactly.
#[test]
fn a_killed_gzip_export_resumes_exactly() {
    let mut config = SimConfig::testing(13, ENTRIES);
    config.page_size = PAGE;
    config.faults.latency_ms = 20;
    let sim = TestSim::start(config);
    let expected = sim.expected_jsonl(&[TYPE], DATA_START, DATA_END);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl.gz");
    let resume = || {
        let mut fetch = sim.fetch();
        fetch.types(TYPE).chains(1).output(&out).args(["--resume"]);
        fetch
    };
    let mut child = resume()
        .command()
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let started = Instant::now();
    // Wait for a few commits, then kill.
    loop {
        let committed = std::fs::read_to_string(checkpoint_of(&out))
            .ok()
            .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
            .and_then(|j| j["entries"].as_u64())
            .unwrap_or(0);
        if committed >= 30 {
            break;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before it could be killed"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    child.kill().unwrap();
    child.wait().unwrap();
    assert!(!out.exists());
    let run = resume().run();
    run.ok();
    assert_eq!(decompress(&out), expected);
}

#[test]
fn unknown_extensions_are_usage_errors() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    for name in [
        "audit.tsv",
        "audit.jsonl.bz2",
        "audit.txt",
        "audit.gz",
        "audit.zst",
    ] {
        let out = dir.path().join(name);
        let run = fetch(&sim, &["-o", out.to_str().unwrap()]);
        run.code(2).one_line_error("unknown extension");
        for known in [".jsonl", ".json", ".csv", ".gz", ".zst", "--format"] {
            assert!(run.stderr.contains(known), "{name}: {}", run.stderr);
        }
        assert!(!out.exists(), "{name}");
    }
    assert_eq!(sim.requests(), 0);
    // No extension is jsonl, as before.
    let out = dir.path().join("audit");
    fetch(&sim, &["-o", out.to_str().unwrap()]).ok();
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        sim.expected_jsonl(&[TYPE], DATA_START, DATA_END)
    );
}

fn committed_entries(out: &Path) -> u64 {
    std::fs::read_to_string(checkpoint_of(out))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|j| j["entries"].as_u64())
        .unwrap_or(0)
}

fn wait_for_entries(child: &mut std::process::Child, out: &Path, entries: u64) {
    let started = Instant::now();
    while committed_entries(out) < entries {
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
}

/// `--follow -o FILE.jsonl.gz` commits a gzip member per batch: killed with
/// SIGKILL, the committed part is valid gzip; `--follow --resume` continues
/// and a SIGTERM leaves a file that decompresses to every entry once.
#[test]
fn durable_follow_into_a_gzip_file() {
    let sim = sim();
    let want = sim.expected_jsonl(&[TYPE], DATA_START, DATA_END);
    let total = want.lines().count() as u64;
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("siem.jsonl.gz");
    let follow = |resume: bool| {
        let mut fetch = sim.fetch();
        fetch
            .types(TYPE)
            .from_only(DATA_START)
            .args(["--follow", "--interval", "1s"]);
        if resume {
            fetch.args(["--resume"]);
        }
        fetch.output(&out);
        fetch
    };
    let spawn = |resume: bool| {
        follow(resume)
            .command()
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap()
    };
    let mut first = spawn(false);
    wait_for_entries(&mut first, &out, total);
    first.kill().unwrap();
    first.wait().unwrap();
    let bytes = std::fs::read(&out).unwrap();
    let committed = data_len(&out);
    assert_eq!(decompress_bytes(&bytes[..committed], "siem.jsonl.gz"), want);

    let mut second = spawn(true);
    // The resumed run has re-committed what it found (nothing new).
    std::thread::sleep(Duration::from_millis(1500));
    assert!(second.try_wait().unwrap().is_none(), "exited early");
    std::process::Command::new("kill")
        .args(["-TERM", &second.id().to_string()])
        .status()
        .unwrap();
    let run = Run::new(second.wait_with_output().unwrap());
    run.ok();
    assert_eq!(decompress(&out), want);
    assert!(checkpoint_of(&out).exists());
}

/// A FIFO named `*.jsonl.gz` is written through, compressed.
#[test]
fn a_fifo_with_a_gz_name_gets_gzip() {
    let sim = sim();
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe.jsonl.gz");
    let made = std::process::Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap();
    assert!(made.success());
    let reader = {
        let fifo = fifo.clone();
        std::thread::spawn(move || std::fs::read(fifo).unwrap())
    };
    fetch(&sim, &["-o", fifo.to_str().unwrap()]).ok();
    let bytes = reader.join().unwrap();
    assert_eq!(
        decompress_bytes(&bytes, "pipe.jsonl.gz"),
        sim.expected_jsonl(&[TYPE], DATA_START, DATA_END)
    );
}
