//! Issue 21: `gong-logs man [COMMAND]`, the roff page of every command,
//! rendered by groff (when installed) without a warning.

use std::io::Write as _;
use std::process::{Command, Stdio};

use clap::CommandFactory as _;
use gong_logs_e2e::*;

/// Every command's words (`[]`, `["fetch"]`, `["config", "path"]`, …) from
/// the parser's definitions, `help` left out.
fn every_command() -> Vec<Vec<String>> {
    fn walk(cmd: &clap::Command, path: Vec<String>, out: &mut Vec<Vec<String>>) {
        for sub in cmd.get_subcommands().filter(|c| c.get_name() != "help") {
            let mut words = path.clone();
            words.push(sub.get_name().to_owned());
            walk(sub, words, out);
        }
        out.push(path);
    }
    let mut out = Vec::new();
    walk(&gong_logs_cli::cli::Cli::command(), Vec::new(), &mut out);
    out
}

/// `groff -man -Tutf8 -ww` of `roff` (plain text: no bold, no underline): (exit ok, stdout, stderr), or `None`
/// when groff is not installed.
fn groff(roff: &str) -> Option<(bool, String, String)> {
    let mut child = Command::new("groff")
        .args(["-man", "-Tutf8", "-ww", "-P-cbu"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .ok()?;
    child
        .stdin
        .take()
        .unwrap()
        .write_all(roff.as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    ))
}

#[test]
fn every_command_has_a_page_that_renders() {
    let commands = every_command();
    assert!(commands.len() >= 10, "{commands:?}");
    for words in commands {
        let run = Cmd::new().args(["man"]).args(&words).run();
        run.ok();
        assert_eq!(run.stderr, "", "{words:?}");
        let page = &run.stdout;
        let name = std::iter::once("gong-logs")
            .chain(words.iter().map(String::as_str))
            .collect::<Vec<_>>()
            .join("-");
        let title = format!(".TH \"{}\" 1 ", name.to_uppercase().replace('-', "\\-"));
        assert!(page.contains(&title), "{words:?}: {page}");
        for section in [
            ".SH NAME",
            ".SH SYNOPSIS",
            ".SH DESCRIPTION",
            ".SH \"EXIT STATUS\"",
            ".SH \"SEE ALSO\"",
        ] {
            assert!(page.contains(section), "{words:?} lacks {section}");
        }
        // The examples of --help are in the page.
        let help = Cmd::new().args(&words).args(["--help"]).run();
        if help.stdout.contains("\nExamples:\n") {
            assert!(page.contains(".SH EXAMPLES"), "{words:?}");
        }
        if let Some((ok, text, warnings)) = groff(page) {
            assert!(ok && warnings.is_empty(), "{words:?}: {warnings}");
            assert!(
                text.contains(&format!("{}(1)", name.to_uppercase())),
                "{text}"
            );
            assert!(text.contains("EXIT STATUS"), "{text}");
        }
    }
}

#[test]
fn the_main_page() {
    let run = Cmd::new().args(["man"]).run();
    run.ok();
    let page = run.stdout.replace(env!("CARGO_PKG_VERSION"), "[VERSION]");
    insta::assert_snapshot!("man_main", page);
}

#[test]
fn an_unknown_command_has_no_page() {
    for words in [&["nope"][..], &["fetch", "more"], &["help"]] {
        let run = Cmd::new().args(["man"]).args(words).run();
        run.code(2).one_line_error("no command `");
        assert!(run.stderr.contains("gong-logs-fetch"), "{}", run.stderr);
        assert_eq!(run.stdout, "");
    }
}
