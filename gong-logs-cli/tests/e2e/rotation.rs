//! Long runs under a service manager and logrotate: SIGHUP ends a run like
//! SIGTERM, and a `--follow -o FILE` whose FILE is truncated, renamed or
//! replaced under it stops and continues with `--rotated`, losing and
//! repeating nothing.

use std::path::{Path, PathBuf};
use std::process::Child;
use std::time::{Duration, Instant};

use gong_logs_e2e::*;

use crate::localfiles::{
    declared_len, expected, export, follow, signal, wait_for_growth, wait_for_len,
};

/// SIGHUP (a terminal closing, `systemctl reload`, a postrotate script)
/// under `--follow -o FILE`: exit 0, one note naming it, FILE complete and
/// its checkpoint kept; the rerun continues with nothing twice.
#[test]
fn sighup_ends_a_follow_like_sigterm_with_a_note() {
    let Followed {
        sim,
        _dir,
        out,
        want,
        run,
    } = follow_until_caught_up("-HUP", |_| {});
    run.ok();
    let notes: Vec<&str> = run
        .stderr
        .lines()
        .filter(|l| l.contains("SIGHUP"))
        .collect();
    assert_eq!(notes.len(), 1, "{}", run.stderr);
    assert!(notes[0].starts_with("gong-logs: note: "), "{}", run.stderr);
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
    assert!(checkpoint_of(&out).exists());
    let again = follow(&sim, &out, true).spawn();
    stop_after_polls(&sim, again, "-HUP").ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
}

/// [`follow`] resumed with `--rotated`.
fn follow_rotated(sim: &TestSim, out: &Path) -> Fetch {
    let mut fetch = follow(sim, out, true);
    fetch.args(["--rotated"]);
    fetch
}

/// A `--follow -o FILE` stopped by a signal once caught up.
struct Followed {
    sim: TestSim,
    _dir: tempfile::TempDir,
    out: PathBuf,
    want: String,
    run: Run,
}

/// Once every entry is written and committed (the follow idles), `before`
/// gets FILE, then the follow gets `sig`.
fn follow_until_caught_up(sig: &str, before: impl FnOnce(&Path)) -> Followed {
    let sim = TestSim::slow(0);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("siem.jsonl");
    let want = expected(&sim);
    let mut child = follow(&sim, &out, false).spawn();
    wait_for_len(&mut child, &out, want.len() as u64);
    while declared_len(&out) < want.len() as u64 {
        std::thread::sleep(Duration::from_millis(2));
    }
    before(&out);
    signal(&child, sig);
    let run = wait_exit(child);
    Followed {
        sim,
        _dir: dir,
        out,
        want,
        run,
    }
}

/// Sends `sig` to a follow once the simulator saw two more requests (it
/// polls), and waits for it.
fn stop_after_polls(sim: &TestSim, mut child: Child, sig: &str) -> Run {
    let polled = sim.requests();
    while sim.requests() < polled + 2 {
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&child, sig);
    Run::new(child.wait_with_output().unwrap())
}

/// SIGHUP outside `--follow`: like SIGTERM, exit 130 and one line saying
/// so; a `--resume` export's checkpoint is consistent and the rerun
/// completes it exactly.
#[test]
fn sighup_interrupts_a_resumable_export_like_sigterm() {
    let sim = TestSim::slow(15);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let want = expected(&sim);
    let mut child = export(&sim, &out).args(["--resume"]).spawn();
    wait_for_growth(&mut child, &partial_of(&out), 2_000);
    signal(&child, "-HUP");
    let run = Run::new(child.wait_with_output().unwrap());
    run.code(130).one_line_error("interrupted (SIGHUP)");
    assert!(run.stderr.contains("--resume"), "{}", run.stderr);
    check_resumable_jsonl(&out, &want);
    export(&sim, &out).args(["--resume"]).run().ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
}

/// How logrotate (or a person) moves FILE away under the writer.
#[derive(Clone, Copy, Debug)]
enum Rotation {
    /// `copytruncate`: copied to FILE.1, then FILE cut to 0 bytes (done
    /// while the writer is stopped, so that the copy holds every commit).
    CopyTruncate,
    /// Rename rotation without `create`: FILE.1, and no FILE.
    Rename,
    /// Rename rotation with `create`: FILE.1, and a new empty FILE.
    RenameCreate,
}

fn rotated_path(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.1", out.display()))
}

fn rotate(child: &Child, out: &Path, how: Rotation) {
    let old = rotated_path(out);
    match how {
        Rotation::CopyTruncate => {
            signal(child, "-STOP");
            std::fs::copy(out, &old).unwrap();
            std::fs::OpenOptions::new()
                .write(true)
                .open(out)
                .unwrap()
                .set_len(0)
                .unwrap();
            signal(child, "-CONT");
        }
        Rotation::Rename => std::fs::rename(out, &old).unwrap(),
        Rotation::RenameCreate => {
            use std::os::unix::fs::OpenOptionsExt as _;
            std::fs::rename(out, &old).unwrap();
            std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .mode(0o600)
                .open(out)
                .unwrap();
        }
    }
}

/// A `--follow -o FILE` rotated `how` once it committed some data, run
/// until it stops.
fn rotated_mid_catch_up(sim: &TestSim, out: &Path, how: Rotation) -> Run {
    let mut child = follow(sim, out, false).spawn();
    wait_for_growth(&mut child, out, 2_000);
    while declared_len(out) == 0 {
        std::thread::sleep(Duration::from_millis(2));
    }
    rotate(&child, out, how);
    wait_exit(child)
}

/// Waits for `child` to exit (a hang guard, not a timing).
fn wait_exit(mut child: Child) -> Run {
    let started = Instant::now();
    while child.try_wait().unwrap().is_none() {
        if started.elapsed() > Duration::from_secs(60) {
            let _ = child.kill();
            let run = Run::new(child.wait_with_output().unwrap());
            panic!("did not stop after the rotation; stderr:\n{}", run.stderr);
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    Run::new(child.wait_with_output().unwrap())
}

/// FILE rotated under a `--follow -o FILE` in the middle of its catch-up:
/// it stops with exit 1 and a message saying what happened and to rerun
/// with `--rotated`; `--resume` alone is refused naming `--rotated`; the
/// rerun with it starts a new FILE from the checkpoint's position, and the
/// rotated data the checkpoint covers plus the new FILE is the export,
/// exactly once.
fn rotation_under_follow(how: Rotation, what: &str) {
    let sim = TestSim::slow(15);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("siem.jsonl");
    let old = rotated_path(&out);
    let want = expected(&sim);
    let run = rotated_mid_catch_up(&sim, &out, how);
    run.code(1).one_line_error(what);
    assert!(run.stderr.contains("--rotated"), "{}", run.stderr);
    let covered = declared_len(&out) as usize;
    let rotated = std::fs::read_to_string(&old).unwrap();
    assert!(
        covered > 0 && rotated.len() >= covered,
        "{covered} of {}",
        rotated.len()
    );
    assert!(
        want.starts_with(&rotated[..covered]),
        "the rotated data is a prefix"
    );
    if !matches!(how, Rotation::CopyTruncate) {
        assert_eq!(
            rotated.len(),
            covered,
            "the rotated file is what is covered"
        );
    }
    let refused = follow(&sim, &out, true).run();
    refused.code(2).one_line_error("--rotated");
    eprintln!("{how:?}: {}{}", run.stderr, refused.stderr);
    let mut second = follow_rotated(&sim, &out).spawn();
    wait_for_len(&mut second, &out, (want.len() - covered) as u64);
    signal(&second, "-TERM");
    Run::new(second.wait_with_output().unwrap()).ok();
    let new = std::fs::read_to_string(&out).unwrap();
    assert_eq!(format!("{}{new}", &rotated[..covered]), want);
    // --rotated on a FILE that was not rotated is a plain --resume.
    let third = follow_rotated(&sim, &out).spawn();
    stop_after_polls(&sim, third, "-TERM").ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), new);
}

#[test]
fn copytruncate_under_follow_stops_and_continues_with_rotated() {
    rotation_under_follow(Rotation::CopyTruncate, "was truncated");
}

#[test]
fn rename_under_follow_stops_and_continues_with_rotated() {
    rotation_under_follow(Rotation::Rename, "was renamed or deleted");
}

#[test]
fn rename_and_create_under_follow_stops_and_continues_with_rotated() {
    rotation_under_follow(Rotation::RenameCreate, "was replaced");
}

/// `--rotated` never overwrites a FILE holding data its checkpoint does
/// not cover.
#[test]
fn rotated_refuses_a_file_it_did_not_write() {
    let Followed {
        sim,
        _dir,
        out,
        run,
        ..
    } = follow_until_caught_up("-TERM", |_| {});
    run.ok();
    std::fs::write(&out, "someone else's data\n").unwrap();
    follow_rotated(&sim, &out)
        .run()
        .code(2)
        .one_line_error("move it away");
    assert_eq!(
        std::fs::read_to_string(&out).unwrap(),
        "someone else's data\n"
    );
}

/// A csv FILE renamed under the follow: the new FILE starts with its own
/// header, and the rows of both files are the export's, each once.
#[test]
fn a_rotated_csv_starts_the_new_file_with_its_header() {
    let sim = TestSim::slow(15);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("siem.csv");
    let old = rotated_path(&out);
    rotated_mid_catch_up(&sim, &out, Rotation::Rename)
        .code(1)
        .one_line_error("--rotated");
    let whole_path = dir.path().join("whole.csv");
    export(&sim, &whole_path).run().ok();
    let whole = std::fs::read_to_string(&whole_path).unwrap();
    let rotated = std::fs::read_to_string(&old).unwrap();
    let rows_left = whole.len() - rotated.len();
    let mut second = follow_rotated(&sim, &out).spawn();
    let header = whole.lines().next().unwrap();
    wait_for_len(&mut second, &out, (rows_left + header.len() + 2) as u64);
    signal(&second, "-TERM");
    Run::new(second.wait_with_output().unwrap()).ok();
    let new = std::fs::read_to_string(&out).unwrap();
    assert!(new.starts_with(&format!("{header}\r\n")), "{:.200}", new);
    let rows = &new[header.len() + 2..];
    assert_eq!(format!("{rotated}{rows}"), whole);
}

/// The README's logrotate recipe: rename FILE while the follow is idle,
/// then SIGHUP (postrotate): exit 0 with the renamed file complete; the
/// restart with `--rotated` continues in a new FILE, repeating nothing.
#[test]
fn rename_then_sighup_as_the_readme_says_loses_and_repeats_nothing() {
    let Followed {
        sim,
        _dir,
        out,
        want,
        run,
    } = follow_until_caught_up("-HUP", |out| {
        std::fs::rename(out, rotated_path(out)).unwrap();
    });
    run.ok();
    assert_eq!(std::fs::read_to_string(rotated_path(&out)).unwrap(), want);
    stop_after_polls(&sim, follow_rotated(&sim, &out).spawn(), "-HUP").ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), "");
    assert_eq!(std::fs::read_to_string(rotated_path(&out)).unwrap(), want);
}

/// The same with a json FILE: the SIGHUP's closing `]` completes the
/// renamed file (exit 0, a JSON array of every entry), and the new FILE
/// is an array of its own.
#[test]
fn a_json_file_renamed_then_sighup_is_completed_with_its_bracket() {
    let sim = TestSim::slow(0);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("siem.json");
    let mut child = follow(&sim, &out, false).spawn();
    let whole_path = dir.path().join("whole.json");
    export(&sim, &whole_path).run().ok();
    let whole: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&whole_path).unwrap()).unwrap();
    let entries = whole.as_array().unwrap().len() as u64;
    let started = Instant::now();
    while std::fs::read_to_string(checkpoint_of(&out))
        .ok()
        .and_then(|t| serde_json::from_str::<serde_json::Value>(&t).ok())
        .and_then(|v| v["entries"].as_u64())
        != Some(entries)
    {
        assert!(child.try_wait().unwrap().is_none(), "exited early");
        assert!(started.elapsed() < Duration::from_secs(60), "no progress");
        std::thread::sleep(Duration::from_millis(5));
    }
    rotate(&child, &out, Rotation::Rename);
    signal(&child, "-HUP");
    wait_exit(child).ok();
    let rotated: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(rotated_path(&out)).unwrap()).unwrap();
    assert_eq!(rotated, whole);
    stop_after_polls(&sim, follow_rotated(&sim, &out).spawn(), "-TERM").ok();
    let new: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&out).unwrap()).unwrap();
    assert_eq!(new, serde_json::json!([]));
}

/// A terminal that closes: its tty hung up (every write to it fails with
/// EIO), then SIGHUP. Run in tmux by a shell that outlives the terminal to
/// record the exit code; `None` when tmux is not installed.
fn exit_code_after_the_terminal_closes(sim: &TestSim, dir: &Path, args: &str) -> Option<i32> {
    if std::process::Command::new("tmux")
        .arg("-V")
        .output()
        .is_err()
    {
        eprintln!("skipped: tmux is not installed");
        return None;
    }
    let rc = dir.join("rc");
    let script = dir.join("run.sh");
    std::fs::write(
        &script,
        format!(
            "trap '' HUP\nenv -i PATH=\"$PATH\" TERM=xterm HOME={home} GONG_BASE_URL={url} GONG_ACCESS_KEY={ACCESS_KEY} GONG_ACCESS_KEY_SECRET=sim-secret {bin} {args}\necho $? > {rc}\n",
            home = dir.display(),
            url = sim.base_url(),
            bin = binary().display(),
            rc = rc.display(),
        ),
    )
    .unwrap();
    let session = format!("glhup-{}", std::process::id());
    let tmux = |args: &[&str]| gong_logs_e2e::tmux(&session, args);
    let script = format!("sh {}", script.display());
    gong_logs_e2e::tmux_start(&session, 80, 10, script.as_str());
    // Started, and written something (the partial or followed file).
    let begun = Instant::now();
    let pid = loop {
        let found = std::process::Command::new("pgrep")
            .args(["-f", &format!("{} {args}", binary().display())])
            .output()
            .unwrap();
        let pid = String::from_utf8_lossy(&found.stdout).trim().to_owned();
        let wrote = std::fs::read_dir(dir)
            .unwrap()
            .filter_map(|e| e.ok())
            .any(|e| e.file_name().to_string_lossy().ends_with("checkpoint"));
        if !pid.is_empty() && wrote {
            break pid;
        }
        assert!(begun.elapsed() < Duration::from_secs(30), "did not start");
        std::thread::sleep(Duration::from_millis(20));
    };
    tmux(&["kill-server"]);
    std::process::Command::new("kill")
        .args(["-HUP", &pid])
        .status()
        .unwrap();
    let begun = Instant::now();
    while !std::fs::read_to_string(&rc).is_ok_and(|t| t.ends_with('\n')) {
        assert!(begun.elapsed() < Duration::from_secs(30), "did not exit");
        std::thread::sleep(Duration::from_millis(20));
    }
    Some(
        std::fs::read_to_string(&rc)
            .unwrap()
            .trim()
            .parse()
            .unwrap(),
    )
}

/// Closing the terminal of a run: stderr is gone, so messages cannot be
/// printed, yet the exit code is the documented one (a failed print used
/// to panic twice and abort: exit 134), and the data is consistent.
#[test]
fn closing_the_terminal_ends_a_run_with_its_documented_code() {
    let sim = TestSim::slow(15);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let fetch = format!(
        "fetch -t AccessLog,UserCallPlay --from {DATA_START} --to {DATA_END} --rate-limit 1000 --concurrency 2 --resume -o {}",
        out.display()
    );
    let Some(code) = exit_code_after_the_terminal_closes(&sim, dir.path(), &fetch) else {
        return;
    };
    assert_eq!(code, 130);
    check_resumable_jsonl(&out, &expected(&sim));
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("siem.jsonl");
    let follow = format!(
        "fetch -t AccessLog,UserCallPlay --from {DATA_START} --follow --interval 1s --rate-limit 1000 -o {}",
        out.display()
    );
    let code = exit_code_after_the_terminal_closes(&sim, dir.path(), &follow);
    assert_eq!(code, Some(0));
    let written = std::fs::read_to_string(&out).unwrap();
    assert!(expected(&sim).starts_with(&written));
    assert_eq!(declared_len(&out), written.len() as u64);
}
