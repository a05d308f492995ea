//! Long runs under a service manager and logrotate: SIGHUP ends a run like
//! SIGTERM, and a `--follow -o FILE` whose FILE is truncated, renamed or
//! replaced under it stops and continues with `--rotated`, losing and
//! repeating nothing.

use std::time::Duration;

use gong_logs_e2e::*;

use crate::localfiles::{
    args, expected, follow_args, signal, slow_sim, spawn, wait_for_growth, wait_for_len,
};

/// SIGHUP (a terminal closing, `systemctl reload`, a postrotate script)
/// under `--follow -o FILE`: exit 0, one note naming it, FILE complete and
/// its checkpoint kept; the rerun continues with nothing twice.
#[test]
fn sighup_ends_a_follow_like_sigterm_with_a_note() {
    let sim = slow_sim(0);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("siem.jsonl");
    let want = expected(&sim);
    let mut child = spawn(sim.cmd().args(follow_args(&out, false)));
    wait_for_len(&mut child, &out, want.len() as u64);
    signal(&child, "-HUP");
    let run = Run::new(child.wait_with_output().unwrap());
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
    let mut again = spawn(sim.cmd().args(follow_args(&out, true)));
    let polled = sim.requests();
    while sim.requests() < polled + 2 {
        assert!(again.try_wait().unwrap().is_none(), "exited early");
        std::thread::sleep(Duration::from_millis(10));
    }
    signal(&again, "-HUP");
    Run::new(again.wait_with_output().unwrap()).ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
}

/// SIGHUP outside `--follow`: like SIGTERM, exit 130 and one line saying
/// so; a `--resume` export's checkpoint is consistent and the rerun
/// completes it exactly.
#[test]
fn sighup_interrupts_a_resumable_export_like_sigterm() {
    let sim = slow_sim(15);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let want = expected(&sim);
    let args = args(&out, &["--resume"]);
    let mut child = spawn(sim.cmd().args(&args));
    wait_for_growth(&mut child, &partial_of(&out), 2_000);
    signal(&child, "-HUP");
    let run = Run::new(child.wait_with_output().unwrap());
    run.code(130).one_line_error("interrupted (SIGHUP)");
    assert!(run.stderr.contains("--resume"), "{}", run.stderr);
    check_resumable_jsonl(&out, &want);
    sim.cmd().args(&args).run().ok();
    assert_eq!(std::fs::read_to_string(&out).unwrap(), want);
}
