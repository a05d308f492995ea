//! `cargo xtask check-workflows`: the forge's workflow files
//! (`.github/workflows/*.yml`) parse as YAML, have the shape a workflow
//! needs, and name commands that exist: every `cargo xtask …` line parses
//! with the real xtask command line, every `bash FILE` names a file of the
//! repository, every `uses:` names a pinned action. CI (`.ci/run`) runs it,
//! since the forge itself is not there to tell.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::{Context, Result, bail};
use serde_norway::Value;

/// The workflow directory, relative to the workspace root.
pub const WORKFLOWS: &str = ".github/workflows";

/// The workflow files that must exist.
pub const REQUIRED: &[&str] = &["ci.yml", "spec-drift.yml"];

/// Arguments of `cargo xtask check-workflows`.
#[derive(Debug, Clone, clap::Args)]
pub struct Args {
    /// Workspace root holding .github/ (default: this workspace).
    #[arg(long, value_name = "DIR", default_value_os_t = crate::reconcile::default_root())]
    pub root: PathBuf,
}

/// One problem in one workflow file.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    /// The file, relative to the root.
    pub file: String,
    /// What is wrong.
    pub what: String,
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.file, self.what)
    }
}

/// Checks every workflow under `root`; `xtask` says whether the arguments
/// after `cargo xtask` parse (Err: clap's message). Returns the files
/// checked, or every problem found.
pub fn check(
    root: &Path,
    xtask: &dyn Fn(&[String]) -> std::result::Result<(), String>,
) -> Result<std::result::Result<Vec<String>, Vec<Problem>>> {
    let dir = root.join(WORKFLOWS);
    let mut problems = Vec::new();
    let mut files: Vec<String> = Vec::new();
    if dir.is_dir() {
        for entry in
            std::fs::read_dir(&dir).with_context(|| format!("cannot list {}", dir.display()))?
        {
            let name = entry?.file_name().to_string_lossy().into_owned();
            if name.ends_with(".yml") || name.ends_with(".yaml") {
                files.push(name);
            }
        }
    }
    files.sort();
    for required in REQUIRED {
        if !files.iter().any(|f| f == required) {
            problems.push(Problem {
                file: format!("{WORKFLOWS}/{required}"),
                what: "missing".into(),
            });
        }
    }
    for name in &files {
        let file = format!("{WORKFLOWS}/{name}");
        let text = std::fs::read_to_string(dir.join(name))
            .with_context(|| format!("cannot read {file}"))?;
        for what in check_one(root, &text, xtask) {
            problems.push(Problem {
                file: file.clone(),
                what,
            });
        }
    }
    Ok(if problems.is_empty() {
        Ok(files.iter().map(|f| format!("{WORKFLOWS}/{f}")).collect())
    } else {
        Err(problems)
    })
}

/// The problems of one workflow's text.
pub fn check_one(
    root: &Path,
    text: &str,
    xtask: &dyn Fn(&[String]) -> std::result::Result<(), String>,
) -> Vec<String> {
    let doc: Value = match serde_norway::from_str(text) {
        Ok(doc) => doc,
        Err(e) => return vec![format!("not valid YAML: {e}")],
    };
    let mut problems = Vec::new();
    let Some(top) = doc.as_mapping() else {
        return vec!["not a YAML mapping".into()];
    };
    if !top.get("name").is_some_and(Value::is_string) {
        problems.push("no `name`".into());
    }
    match top.get("on") {
        None => problems.push("no `on` (the events that run it)".into()),
        Some(on) => {
            if let Some(schedule) = on.get("schedule") {
                for item in schedule.as_sequence().into_iter().flatten() {
                    let cron = item.get("cron").and_then(Value::as_str).unwrap_or("");
                    if cron.split_whitespace().count() != 5 {
                        problems.push(format!("schedule cron `{cron}` does not have 5 fields"));
                    }
                }
            }
        }
    }
    let jobs = top.get("jobs").and_then(Value::as_mapping);
    let Some(jobs) = jobs.filter(|j| !j.is_empty()) else {
        problems.push("no `jobs`".into());
        return problems;
    };
    for (id, job) in jobs {
        let id = id.as_str().unwrap_or("?");
        if job.get("runs-on").is_none() {
            problems.push(format!("job `{id}` has no `runs-on`"));
        }
        let steps = job.get("steps").and_then(Value::as_sequence);
        let Some(steps) = steps.filter(|s| !s.is_empty()) else {
            problems.push(format!("job `{id}` has no `steps`"));
            continue;
        };
        for (n, step) in steps.iter().enumerate() {
            let label = format!("job `{id}` step {}", n + 1);
            match (
                step.get("run").map(Value::as_str),
                step.get("uses").map(Value::as_str),
            ) {
                (Some(Some(script)), None) => {
                    for what in check_script(root, script, xtask) {
                        problems.push(format!("{label}: {what}"));
                    }
                }
                (None, Some(Some(action))) => {
                    if let Err(what) = check_action(root, action) {
                        problems.push(format!("{label}: {what}"));
                    }
                }
                _ => problems.push(format!(
                    "{label}: needs exactly one of `run` (a string) or `uses`"
                )),
            }
        }
    }
    problems
}

/// `owner/repo@ref` (optionally `/path`), or `./local` that exists.
fn check_action(root: &Path, action: &str) -> std::result::Result<(), String> {
    if let Some(local) = action.strip_prefix("./") {
        return if root.join(local).exists() {
            Ok(())
        } else {
            Err(format!("local action `{action}` does not exist"))
        };
    }
    match action.split_once('@') {
        Some((name, reference))
            if !reference.is_empty()
                && name.split('/').count() >= 2
                && name.split('/').all(|part| !part.is_empty()) =>
        {
            Ok(())
        }
        _ => Err(format!(
            "`uses: {action}` is not `owner/repo@ref` (actions must be pinned)"
        )),
    }
}

/// Cargo commands a workflow may run (builtins and the workspace's alias).
const CARGO_COMMANDS: &[&str] = &[
    "build", "check", "clippy", "doc", "fetch", "fmt", "install", "metadata", "run", "test",
    "tree", "xtask",
];

/// The problems of one `run:` script: `cargo` subcommands, `cargo xtask`
/// arguments, and scripts run with `bash`/`sh`.
fn check_script(
    root: &Path,
    script: &str,
    xtask: &dyn Fn(&[String]) -> std::result::Result<(), String>,
) -> Vec<String> {
    let mut problems = Vec::new();
    let joined = script.replace("\\\n", " ");
    for line in joined.lines() {
        for command in split_commands(line) {
            let words: Vec<String> = command
                .split_whitespace()
                .map(|w| w.trim_matches(|c| c == '"' || c == '\'').to_string())
                .collect();
            let Some(first) = words.first() else {
                continue;
            };
            match first.as_str() {
                "cargo" => {
                    let Some(sub) = words.iter().skip(1).find(|w| !w.starts_with('+')) else {
                        problems.push(format!("`{command}`: no cargo subcommand"));
                        continue;
                    };
                    if !CARGO_COMMANDS.contains(&sub.as_str()) {
                        problems.push(format!("`{command}`: unknown cargo subcommand `{sub}`"));
                    } else if sub == "xtask" {
                        let at = words.iter().position(|w| w == "xtask").unwrap_or(0);
                        if let Err(e) = xtask(&words[at + 1..]) {
                            let first_line = e.lines().next().unwrap_or("");
                            let first_line =
                                first_line.strip_prefix("error: ").unwrap_or(first_line);
                            problems.push(format!("`{command}`: {first_line}"));
                        }
                    }
                }
                "bash" | "sh" => {
                    if let Some(file) = words.iter().skip(1).find(|w| !w.starts_with('-'))
                        && !root.join(file).is_file()
                    {
                        problems.push(format!("`{command}`: `{file}` does not exist"));
                    }
                }
                _ => {}
            }
        }
    }
    problems
}

/// The simple commands of one shell line: split at `;`, `&&`, `||`, `|`,
/// and cut at redirections and comments; leading `if`/`then`/`!`… dropped.
fn split_commands(line: &str) -> Vec<String> {
    let line = match line.find(" #") {
        Some(at) => &line[..at],
        None if line.trim_start().starts_with('#') => "",
        None => line,
    };
    let mut out = Vec::new();
    for part in line.split([';', '|', '&', '(', ')', '`']) {
        let redirected = part.contains(['>', '<']);
        let part = part.split(['>', '<']).next().unwrap_or("");
        let mut words: Vec<&str> = part.split_whitespace().collect();
        // `cmd 2>file`: the `2` belongs to the redirection.
        if redirected
            && words
                .last()
                .is_some_and(|w| w.chars().all(|c| c.is_ascii_digit()))
        {
            words.pop();
        }
        while words.first().is_some_and(|w| {
            matches!(
                *w,
                "if" | "then" | "else" | "elif" | "do" | "while" | "until" | "!" | "$" | "time"
            ) || w.contains('=') && !w.starts_with('-')
        }) {
            words.remove(0);
        }
        if !words.is_empty() {
            out.push(words.join(" "));
        }
    }
    out
}

/// Runs the check and prints the outcome (stdout: the files checked; stderr:
/// one line per problem).
pub fn run(
    args: &Args,
    xtask: &dyn Fn(&[String]) -> std::result::Result<(), String>,
) -> Result<std::process::ExitCode> {
    match check(&args.root, xtask)? {
        Ok(files) => {
            println!("workflows OK: {}", files.join(", "));
            Ok(std::process::ExitCode::SUCCESS)
        }
        Err(problems) => {
            for problem in &problems {
                eprintln!("error: {problem}");
            }
            bail!(
                "{} problem{} in {WORKFLOWS}; fix the files above",
                problems.len(),
                if problems.len() == 1 { "" } else { "s" }
            )
        }
    }
}
