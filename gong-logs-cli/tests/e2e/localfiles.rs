//! Local files and long runs (issue 10): what `-o` names (stdout, FIFO,
//! character device, symlink, existing file), our own side files never
//! followed through a planted symlink nor taken from another user, one
//! writer per output, durable `--follow -o FILE`, checkpoints bound to
//! their data, and config files trusted like ssh trusts its own.
//!
//! The tests run as any user; those that need root (chown to another uid,
//! mknod) print why they skip a case when they cannot do it.

use std::os::unix::fs::{FileTypeExt as _, MetadataExt as _, PermissionsExt as _};
use std::path::{Path, PathBuf};
use std::process::{Child, Stdio};
use std::time::{Duration, Instant};

use gong_logs_e2e::*;

const TYPES: &str = "AccessLog,UserCallPlay";

/// The export these tests run: two types, two chains, into `out`.
pub(crate) fn export(sim: &TestSim, out: &Path) -> Fetch {
    let mut fetch = sim.fetch();
    fetch.types(TYPES).chains(2).output(out);
    fetch
}

pub(crate) fn expected(sim: &TestSim) -> String {
    sim.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END)
}

fn is_root() -> bool {
    std::fs::metadata("/proc/self").map(|m| m.uid()).ok() == Some(0)
}

fn mode(path: &Path) -> u32 {
    std::fs::metadata(path).unwrap().permissions().mode() & 0o777
}

fn chown(path: &Path, uid: u32) -> bool {
    std::process::Command::new("chown")
        .args(["-h", &uid.to_string(), &path.display().to_string()])
        .status()
        .is_ok_and(|s| s.success())
}

// ---- output targets ----

#[test]
fn dash_is_stdout_and_creates_no_file() {
    let sim = TestSim::small(10);
    let dir = tempfile::tempdir().unwrap();
    let run = export(&sim, Path::new("-"))
        .current_dir(dir.path())
        .args(["-f", "jsonl"])
        .run();
    run.ok();
    assert_eq!(run.stdout, expected(&sim));
    assert!(
        dir_listing(dir.path()).is_empty(),
        "{:?}",
        dir_listing(dir.path())
    );
}

#[test]
fn a_fifo_is_written_through_and_stays_a_fifo() {
    let sim = TestSim::small(20);
    let dir = tempfile::tempdir().unwrap();
    let fifo = dir.path().join("pipe");
    assert!(
        std::process::Command::new("mkfifo")
            .arg(&fifo)
            .status()
            .unwrap()
            .success()
    );
    let reader = std::process::Command::new("cat")
        .arg(&fifo)
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let run = export(&sim, &fifo).args(["-f", "jsonl"]).run();
    let got = reader.wait_with_output().unwrap();
    run.ok();
    assert_eq!(String::from_utf8(got.stdout).unwrap(), expected(&sim));
    assert!(
        std::fs::symlink_metadata(&fifo)
            .unwrap()
            .file_type()
            .is_fifo()
    );
    assert_eq!(dir_listing(dir.path()), ["pipe"]);
    // Not with --resume: a FIFO cannot hold a checkpointed file.
    let requests = sim.requests();
    export(&sim, &fifo)
        .args(["-f", "jsonl", "--resume"])
        .run()
        .code(2)
        .one_line_error("not a FIFO or device");
    assert_eq!(sim.requests(), requests);
}

#[test]
fn a_character_device_is_written_through_and_stays_one() {
    let sim = TestSim::small(10);
    let dir = tempfile::tempdir().unwrap();
    let null = dir.path().join("null");
    let made = std::process::Command::new("mknod")
        .args([&null.display().to_string(), "c", "1", "3"])
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success());
    if !made {
        println!("skipped: mknod is not permitted here (not root, or no CAP_MKNOD)");
        return;
    }
    export(&sim, &null).run().ok();
    let meta = std::fs::symlink_metadata(&null).unwrap();
    assert!(meta.file_type().is_char_device(), "replaced: {meta:?}");
    assert_eq!(dir_listing(dir.path()), ["null"]);
    // /dev/stdout too: the data reaches stdout, nothing is replaced.
    let run = export(&sim, Path::new("/dev/stdout"))
        .args(["-f", "jsonl"])
        .run();
    run.ok();
    assert_eq!(run.stdout, expected(&sim));
    assert!(
        std::fs::symlink_metadata("/dev/null")
            .unwrap()
            .file_type()
            .is_char_device()
    );
}

#[test]
fn a_symlink_is_resolved_and_its_target_replaced_atomically() {
    let sim = TestSim::small(10);
    let dir = tempfile::tempdir().unwrap();
    let real_dir = dir.path().join("real");
    std::fs::create_dir(&real_dir).unwrap();
    let target = real_dir.join("audit.jsonl");
    std::fs::write(&target, "old\n").unwrap();
    std::fs::set_permissions(&target, std::fs::Permissions::from_mode(0o640)).unwrap();
    let link = dir.path().join("link.jsonl");
    std::os::unix::fs::symlink(&target, &link).unwrap();
    for extra in [&[][..], &["--resume"][..]] {
        export(&sim, &link).args(extra).run().ok();
        assert!(
            std::fs::symlink_metadata(&link)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert_eq!(std::fs::read_to_string(&target).unwrap(), expected(&sim));
        assert_eq!(mode(&target), 0o640, "the target keeps its mode");
        assert_eq!(dir_listing(&real_dir), ["audit.jsonl"]);
        assert_eq!(dir_listing(dir.path()), ["link.jsonl", "real"]);
    }
    // A dangling link is refused, before any request.
    let requests = sim.requests();
    let dangling = dir.path().join("dangling.jsonl");
    std::os::unix::fs::symlink(dir.path().join("missing"), &dangling).unwrap();
    export(&sim, &dangling)
        .run()
        .code(2)
        .one_line_error("symbolic link to a missing file");
    assert_eq!(sim.requests(), requests);
}

#[test]
fn an_existing_file_keeps_its_mode_and_a_new_one_is_private() {
    let sim = TestSim::small(10);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    for extra in [&[][..], &["--resume"][..]] {
        std::fs::write(&out, "old\n").unwrap();
        std::fs::set_permissions(&out, std::fs::Permissions::from_mode(0o644)).unwrap();
        export(&sim, &out).args(extra).run().ok();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), expected(&sim));
        assert_eq!(mode(&out), 0o644, "{extra:?}");
        std::fs::remove_file(&out).unwrap();
        export(&sim, &out).args(extra).run().ok();
        assert_eq!(mode(&out), 0o600, "{extra:?}");
        std::fs::remove_file(&out).unwrap();
    }
}

#[test]
fn a_socket_or_directory_is_never_replaced() {
    let sim = TestSim::small(10);
    let dir = tempfile::tempdir().unwrap();
    let sock = dir.path().join("s.jsonl");
    let _listener = std::os::unix::net::UnixListener::bind(&sock).unwrap();
    export(&sim, &sock)
        .run()
        .code(2)
        .one_line_error("not a regular file, FIFO or character device");
    assert!(
        std::fs::symlink_metadata(&sock)
            .unwrap()
            .file_type()
            .is_socket()
    );
    assert_eq!(sim.requests(), 0);
}

// ---- our own files: no symlink following, no foreign files ----

#[test]
fn planted_symlinks_beside_the_output_are_refused() {
    let sim = TestSim::small(10);
    for side in [
        ".partial",
        ".gong-logs-checkpoint",
        ".gong-logs-checkpoint.tmp",
        ".gong-logs-lock",
    ] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let victim = dir.path().join("victim");
        std::fs::write(&victim, "precious\n").unwrap();
        let planted = PathBuf::from(format!("{}{side}", out.display()));
        std::os::unix::fs::symlink(&victim, &planted).unwrap();
        let requests = sim.requests();
        export(&sim, &out)
            .args(["--resume"])
            .run()
            .code(2)
            .one_line_error("symbolic link");
        assert_eq!(sim.requests(), requests, "{side}: nothing sent");
        assert_eq!(std::fs::read_to_string(&victim).unwrap(), "precious\n");
        assert!(
            std::fs::symlink_metadata(&planted)
                .unwrap()
                .file_type()
                .is_symlink()
        );
        assert!(!out.exists(), "{side}");
    }
}

#[test]
fn side_files_of_another_user_are_refused() {
    if !is_root() {
        println!("skipped: chown to another user needs root");
        return;
    }
    let sim = TestSim::small(10);
    for side in [".partial", ".gong-logs-checkpoint", ".gong-logs-lock"] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("out.jsonl");
        let planted = PathBuf::from(format!("{}{side}", out.display()));
        std::fs::write(&planted, "{}").unwrap();
        assert!(chown(&planted, 12345));
        let requests = sim.requests();
        export(&sim, &out)
            .args(["--resume"])
            .run()
            .code(2)
            .one_line_error("owned by another user (uid 12345)");
        assert_eq!(sim.requests(), requests, "{side}: nothing sent");
        assert_eq!(std::fs::read_to_string(&planted).unwrap(), "{}");
    }
}

// ---- one writer ----

pub(crate) fn wait_for_growth(child: &mut Child, file: &Path, bytes: u64) {
    let started = Instant::now();
    loop {
        let len = std::fs::metadata(file).map(|m| m.len()).unwrap_or(0);
        if len > bytes {
            return;
        }
        assert!(
            child.try_wait().unwrap().is_none(),
            "finished before the test could act"
        );
        assert!(started.elapsed() < Duration::from_secs(30), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_second_run_on_the_same_output_fails_at_once() {
    let sim = TestSim::slow(15);
    let other = TestSim::small(10);
    for extra in [&["--resume"][..], &[][..]] {
        let dir = tempfile::tempdir().unwrap();
        let out = dir.path().join("audit.jsonl");
        let mut first = export(&sim, &out).args(extra).spawn();
        let lock = PathBuf::from(format!("{}.gong-logs-lock", out.display()));
        let partial = partial_of(&out);
        if extra.is_empty() {
            // The temp file has a random name: wait for the lock instead.
            let started = Instant::now();
            while std::fs::read_to_string(&lock).map_or(true, |t| t.trim().is_empty()) {
                assert!(started.elapsed() < Duration::from_secs(30), "no lock");
                std::thread::sleep(Duration::from_millis(2));
            }
        } else {
            wait_for_growth(&mut first, &partial, 500);
        }
        // The second run goes to another simulator: it must send nothing.
        let run = export(&other, &out).args(extra).run();
        run.code(2).one_line_error(&format!(
            "another gong-logs is writing {} (pid {})",
            out.display(),
            first.id()
        ));
        assert_eq!(other.requests(), 0);
        let first = Run::new(first.wait_with_output().unwrap());
        first.ok();
        assert_eq!(std::fs::read_to_string(&out).unwrap(), expected(&sim));
        assert_eq!(dir_listing(dir.path()), ["audit.jsonl"], "{extra:?}");
    }
}

// ---- durable follow ----

/// [`export`] as a durable follow from the data set's start, polling
/// every second; with `--resume` if `resume`.
pub(crate) fn follow(sim: &TestSim, out: &Path, resume: bool) -> Fetch {
    let mut fetch = export(sim, out);
    fetch
        .from_only(DATA_START)
        .args(["--follow", "--interval", "1s"]);
    if resume {
        fetch.args(["--resume"]);
    }
    fetch
}

pub(crate) fn declared_len(out: &Path) -> u64 {
    std::fs::read_to_string(checkpoint_of(out))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["dataLen"].as_u64())
        .unwrap_or(0)
}

pub(crate) fn wait_for_len(child: &mut Child, file: &Path, len: u64) {
    let started = Instant::now();
    while std::fs::metadata(file).map(|m| m.len()).unwrap_or(0) < len {
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(10));
    }
}

pub(crate) fn signal(child: &Child, sig: &str) {
    std::process::Command::new("kill")
        .args([sig, &child.id().to_string()])
        .status()
        .unwrap();
}

#[test]
fn follow_into_a_file_survives_kill_9_and_resumes_exactly_once() {
    let sim = TestSim::slow(15);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("siem.jsonl");
    let want = expected(&sim);
    // Killed mid catch-up: the data so far is in the file itself, covered
    // by a checkpoint (no hidden temp file).
    let mut first = follow(&sim, &out, false).spawn();
    wait_for_growth(&mut first, &out, 2_000);
    let started = Instant::now();
    while declared_len(&out) == 0 {
        assert!(started.elapsed() < Duration::from_secs(30), "no commit");
        std::thread::sleep(Duration::from_millis(2));
    }
    signal(&first, "-9");
    let _ = first.wait();
    let listing = dir_listing(dir.path());
    assert!(
        listing.iter().all(|n| !n.starts_with('.')),
        "no hidden temp file: {listing:?}"
    );
    let ckpt = checkpoint_of(&out);
    let text = std::fs::read_to_string(&ckpt).unwrap();
    let v: serde_json::Value = serde_json::from_str(&text).unwrap();
    let declared = v["dataLen"].as_u64().unwrap() as usize;
    let data = std::fs::read_to_string(&out).unwrap();
    assert!(declared > 0, "{text}");
    assert!(
        want.starts_with(&data[..declared]),
        "declared {declared} of {}: {:?}\nwant {:?}",
        data.len(),
        &data[..declared.min(600)],
        &want[..600]
    );

    // Without --resume: refused (it would start over).
    follow(&sim, &out, false)
        .run()
        .code(2)
        .one_line_error("pass --resume");
    // --follow --resume continues; SIGTERM once caught up: exit 0.
    let mut second = follow(&sim, &out, true).spawn();
    wait_for_len(&mut second, &out, want.len() as u64);
    signal(&second, "-TERM");
    let run = Run::new(second.wait_with_output().unwrap());
    run.ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
    // The checkpoint stays, so a restarted shipper continues again.
    assert!(ckpt.exists());
    let third = follow(&sim, &out, true).spawn();
    std::thread::sleep(Duration::from_millis(1500));
    signal(&third, "-INT");
    Run::new(third.wait_with_output().unwrap()).ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
}

#[test]
fn follow_into_an_existing_file_without_a_checkpoint_is_refused() {
    let sim = TestSim::small(10);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("siem.jsonl");
    std::fs::write(&out, "someone else's data\n").unwrap();
    follow(&sim, &out, false)
        .run()
        .code(2)
        .one_line_error("has no checkpoint");
    assert_eq!(sim.requests(), 0);
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "someone else's data\n"
    );
}

// ---- checkpoints bound to their data ----

/// An interrupted `--resume` export: its directory and output path.
fn interrupted_export(sim: &TestSim) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let mut child = export(sim, &out).args(["--resume"]).spawn();
    wait_for_growth(&mut child, &partial_of(&out), 3_000);
    signal(&child, "-INT");
    let run = Run::new(child.wait_with_output().unwrap());
    run.code(130);
    (dir, out)
}

/// How a case tampers: edit the JSON (written as is), edit the parsed
/// checkpoint (resealed as gong-logs would: a "consistent" lie), or change
/// the files itself.
#[derive(Clone, Copy, PartialEq, Eq)]
enum How {
    Json,
    Sealed,
    Files,
}

type Tamper = fn(&Path, &mut serde_json::Value, &mut gong_logs_cli::checkpoint::Checkpoint) -> How;

#[test]
fn every_kind_of_tampered_checkpoint_is_refused_without_loss() {
    use gong_logs_cli::checkpoint::Checkpoint;
    let sim = TestSim::slow(10);
    let (_dir, out) = interrupted_export(&sim);
    let ckpt_path = checkpoint_of(&out);
    let partial = partial_of(&out);
    let saved_ckpt = std::fs::read_to_string(&ckpt_path).unwrap();
    let saved_data = std::fs::read(&partial).unwrap();
    // Each case edits the JSON (returns false) or the parsed checkpoint,
    // resealed as gong-logs would (returns true: a "consistent" lie).
    let cases: Vec<(&str, &str, Tamper)> = vec![
        ("position edited", "cannot be trusted", |_, v, _| {
            v["types"][0]["position"]["count"] = 0.into();
            How::Json
        }),
        ("done: true", "cannot be trusted", |_, v, _| {
            v["types"][0]["done"] = true.into();
            How::Json
        }),
        ("dataLen 0", "cannot be trusted", |_, v, _| {
            v["dataLen"] = 0.into();
            How::Json
        }),
        (
            "dataLen 0, resealed",
            "differ from what checkpoint",
            |_, _, c| {
                c.data_len = 0;
                How::Sealed
            },
        ),
        (
            "dataLen past the file, resealed",
            "holds only",
            |_, _, c| {
                c.data_len += 1_000_000;
                How::Sealed
            },
        ),
        ("empty types, resealed", "lists no log types", |_, _, c| {
            c.types.clear();
            How::Sealed
        }),
        ("types reordered, resealed", "do not match", |_, _, c| {
            c.types.reverse();
            How::Sealed
        }),
        ("unknown type, resealed", "unknown log type", |_, _, c| {
            c.command.types[0] = "Nope".into();
            c.types[0].log_type = "Nope".into();
            How::Sealed
        }),
        (
            "entries not adding up, resealed",
            "do not add up",
            |_, _, c| {
                c.entries += 1;
                How::Sealed
            },
        ),
        (
            "position outside the range, resealed",
            "outside",
            |_, _, c| {
                c.types[0].position.time = "2030-01-01T00:00:00Z".parse().unwrap();
                How::Sealed
            },
        ),
        (
            "data file renamed, resealed",
            "names data file",
            |_, _, c| {
                c.data_file = "other.partial".into();
                How::Sealed
            },
        ),
        ("hash malformed, resealed", "malformed", |_, _, c| {
            c.data_sha256 = "zz".into();
            How::Sealed
        }),
        ("version 1", "older gong-logs (version 1)", |_, v, _| {
            v["version"] = 1.into();
            How::Json
        }),
        ("version 99", "version 99", |_, v, _| {
            v["version"] = 99.into();
            How::Json
        }),
        ("not JSON", "corrupt", |p, _, _| {
            std::fs::write(p, "{ nope").unwrap();
            How::Files
        }),
        (
            "a committed byte changed in the data",
            "differ from what checkpoint",
            |p, _, _| {
                let data = PathBuf::from(
                    p.display()
                        .to_string()
                        .replace(".gong-logs-checkpoint", ".partial"),
                );
                let mut bytes = std::fs::read(&data).unwrap();
                bytes[10] ^= 0x20;
                std::fs::write(&data, bytes).unwrap();
                How::Files
            },
        ),
        ("the data file cut short", "holds only", |p, _, _| {
            let data = PathBuf::from(
                p.display()
                    .to_string()
                    .replace(".gong-logs-checkpoint", ".partial"),
            );
            let bytes = std::fs::read(&data).unwrap();
            std::fs::write(&data, &bytes[..bytes.len() / 2]).unwrap();
            How::Files
        }),
    ];
    let requests = sim.requests();
    for (name, needle, tamper) in cases {
        std::fs::write(&partial, &saved_data).unwrap();
        let mut value: serde_json::Value = serde_json::from_str(&saved_ckpt).unwrap();
        let mut parsed: Checkpoint = serde_json::from_str(&saved_ckpt).unwrap();
        std::fs::write(&ckpt_path, &saved_ckpt).unwrap();
        match tamper(&ckpt_path, &mut value, &mut parsed) {
            How::Json => std::fs::write(&ckpt_path, value.to_string()).unwrap(),
            How::Sealed => gong_logs_cli::checkpoint::store(&ckpt_path, &parsed).unwrap(),
            How::Files => {}
        }
        let run = export(&sim, &out).args(["--resume"]).run();
        run.code(2);
        assert!(
            run.stderr.contains(needle)
                && run
                    .stderr
                    .lines()
                    .filter(|l| !l.starts_with("gong-logs: warning:"))
                    .count()
                    == 1,
            "{name}: {}",
            run.stderr
        );
        assert!(!run.stderr.contains("panicked"), "{name}");
        assert_eq!(sim.requests(), requests, "{name}: nothing sent");
    }
    // Untouched, the export finishes exactly.
    std::fs::write(&partial, &saved_data).unwrap();
    std::fs::write(&ckpt_path, &saved_ckpt).unwrap();
    export(&sim, &out).args(["--resume"]).run().ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), expected(&sim));
}

// ---- config trust ----

fn config_cmd(config: &Path) -> Fetch {
    let mut fetch = Fetch::new(Cmd::new());
    fetch.env("GONG_LOGS_CONFIG", config).types("AccessLog");
    fetch
}

#[test]
fn config_files_others_could_write_are_refused() {
    let sim = TestSim::small(5);
    let root = tempfile::tempdir().unwrap();
    let dir = root.path().join("conf");
    std::fs::create_dir(&dir).unwrap();
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();
    let cfg = dir.join("config.toml");
    std::fs::write(
        &cfg,
        format!(
            "[default]\nbase_url = \"{}\"\naccess_key = \"{ACCESS_KEY}\"\naccess_key_secret = \"sim-secret\"\n",
            sim.base_url()
        ),
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    config_cmd(&cfg).run().ok();
    let requests = sim.requests();

    // Group-writable file (even one holding no secret).
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o620)).unwrap();
    config_cmd(&cfg)
        .run()
        .code(2)
        .one_line_error(&format!("run `chmod go-w {}`", cfg.display()));
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();

    // World-writable directory.
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o777)).unwrap();
    config_cmd(&cfg)
        .run()
        .code(2)
        .one_line_error(&format!("its directory {} is writable", dir.display()));
    std::fs::set_permissions(&dir, std::fs::Permissions::from_mode(0o700)).unwrap();

    if is_root() {
        // Owned by another user: the file, then its directory.
        assert!(chown(&cfg, 12345));
        config_cmd(&cfg)
            .run()
            .code(2)
            .one_line_error("is owned by another user (uid 12345); run `chown 0");
        assert!(chown(&cfg, 0));
        assert!(chown(&dir, 12345));
        config_cmd(&cfg)
            .run()
            .code(2)
            .one_line_error("its directory");
        assert!(chown(&dir, 0));
    } else {
        println!("skipped: foreign ownership needs root to chown");
    }
    assert_eq!(sim.requests(), requests, "refused configs send nothing");
    config_cmd(&cfg).run().ok();
}

#[test]
fn a_config_parse_error_never_echoes_a_value() {
    let dir = tempfile::tempdir().unwrap();
    let cfg = dir.path().join("config.toml");
    std::fs::write(
        &cfg,
        "[default]\naccess_key = \"k\"\naccess_key_secret = 80417733519\n",
    )
    .unwrap();
    std::fs::set_permissions(&cfg, std::fs::Permissions::from_mode(0o600)).unwrap();
    let run = config_cmd(&cfg).run();
    run.code(2).one_line_error("is malformed at line 3");
    assert!(!run.stderr.contains("80417733519"), "{}", run.stderr);
}
