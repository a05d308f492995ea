//! The usage errors of `gong-logs fetch`, checked in-process (as ripgrep
//! tests its flags): each command line goes through the binary's own
//! steps before a request ([`crate::cli::parse_from`], then
//! [`Ready::prepare`]: the plan, the connection, the output) with a
//! hermetic environment, and must fail with exit 2 and the message the
//! binary prints. The end-to-end table (gong-logs-cli/tests/e2e/errors.rs) runs
//! the same rows through the real binary.

use std::collections::HashMap;

use super::*;
use crate::exit::USAGE;

/// A row: the arguments after `fetch` (or, starting with `!`, the whole
/// command line), the text the one-line error must hold, extra
/// environment, and a config file (text, mode) named by GONG_LOGS_CONFIG.
struct Row {
    needle: &'static str,
    args: Vec<String>,
    env: Vec<(&'static str, String)>,
    config: Option<(Vec<u8>, u32)>,
}

const DATA_START: &str = "2024-03-01T00:00:00Z";
const DATA_END: &str = "2024-03-02T00:00:00Z";

fn row(needle: &'static str, args: &[&str]) -> Row {
    Row {
        needle,
        args: args.iter().map(|a| (*a).to_owned()).collect(),
        env: Vec::new(),
        config: None,
    }
}

/// AccessLog from a day ago, with `extra` appended.
fn day(needle: &'static str, extra: &[&str]) -> Row {
    row(
        needle,
        &[&["-t", "AccessLog", "--from", "1d"][..], extra].concat(),
    )
}

/// AccessLog over `from`..`to`.
fn range(needle: &'static str, from: &str, to: &str) -> Row {
    row(needle, &["-t", "AccessLog", "--from", from, "--to", to])
}

/// A valid fetch with `extra` appended.
fn with(needle: &'static str, extra: &[&str]) -> Row {
    let base = ["-t", "AccessLog", "--from", DATA_START, "--to", DATA_END];
    row(needle, &[&base[..], extra].concat())
}

impl Row {
    fn env(mut self, key: &'static str, value: &str) -> Self {
        self.env.push((key, value.to_owned()));
        self
    }

    fn config(mut self, text: &str, mode: u32) -> Self {
        self.config = Some((text.as_bytes().to_vec(), mode));
        self
    }

    /// Runs the row in-process; the failure it must end with.
    fn failure(&self, home: &std::path::Path, index: usize) -> Option<Failure> {
        let mut env: HashMap<String, String> = HashMap::from([
            ("HOME".to_owned(), home.display().to_string()),
            (
                "XDG_CONFIG_HOME".to_owned(),
                home.join(".config").display().to_string(),
            ),
        ]);
        match &self.config {
            // With a config file, the connection comes from it alone.
            Some((bytes, mode)) => {
                use std::os::unix::fs::PermissionsExt as _;
                let path = home.join(format!("config-{index}.toml"));
                std::fs::write(&path, bytes).unwrap();
                std::fs::set_permissions(&path, std::fs::Permissions::from_mode(*mode)).unwrap();
                env.insert("GONG_LOGS_CONFIG".into(), path.display().to_string());
            }
            None => {
                env.insert("GONG_BASE_URL".into(), "http://127.0.0.1:9".into());
                env.insert("GONG_ACCESS_KEY".into(), "sim-access-key".into());
                env.insert("GONG_ACCESS_KEY_SECRET".into(), "sim-secret".into());
            }
        }
        for (k, v) in &self.env {
            env.insert((*k).to_owned(), v.clone());
        }
        let env = move |k: &str| env.get(k).cloned().filter(|v| !v.is_empty());
        let (whole, args): (bool, Vec<&str>) = match self.args.split_first() {
            Some((bang, rest)) if bang == "!" => (true, rest.iter().map(String::as_str).collect()),
            _ => (false, self.args.iter().map(String::as_str).collect()),
        };
        let line = if whole { vec![] } else { vec!["fetch"] };
        let cli = match crate::cli::parse_from(line.into_iter().chain(args)) {
            Ok(cli) => cli,
            Err(failure) => return Some(failure),
        };
        let crate::cli::Command::Fetch(fetch) = &cli.command else {
            return None;
        };
        Ready::prepare(fetch, true, &env).err()
    }
}

/// The rows of the end-to-end table (gong-logs-cli/tests/e2e/errors.rs) that need
/// no server: flags, formats, fields, types, dates, ranges, base URLs,
/// credentials, profiles, config files.
fn rows() -> Vec<Row> {
    let good_profile = "[default]\nbase_url = \"http://127.0.0.1:9\"\naccess_key = \"sim-access-key\"\naccess_key_secret = \"sim-secret\"\n\n[oauth]\nbase_url = \"http://127.0.0.1:9\"\nbearer_token = \"sim-bearer-token\"\n";
    let from = |needle, value: &str| row(needle, &["-t", "AccessLog", "--from", value]);
    vec![
        // ---- flags and subcommands
        day("unexpected argument '--bogus'", &["--bogus"]),
        row("unrecognized subcommand", &["!", "nope"]),
        row("unexpected argument", &["!", "types", "extra"]),
        row("invalid value 'tcsh'", &["!", "completions", "tcsh"]),
        row("--type", &["--from", "1d"]),
        row("--from", &["-t", "AccessLog"]),
        row(
            "a value is required for '--from",
            &["-t", "AccessLog", "--from"],
        ),
        with("--limit", &["--limit", "0"]),
        with("unexpected argument '-5'", &["--limit", "-5"]),
        with("--limit", &["--limit", "ten"]),
        with("--concurrency", &["--concurrency", "0"]),
        with("--concurrency", &["--concurrency", "65"]),
        with("--concurrency", &["--concurrency", "x"]),
        with("unexpected argument '-1'", &["--max-retries", "-1"]),
        with("--max-retries", &["--max-retries", "many"]),
        with("at least 0.001", &["--rate-limit", "0"]),
        with("unexpected argument '-1'", &["--rate-limit", "-1"]),
        with("at least 0.001", &["--rate-limit=-1"]),
        with("at least 0.001", &["--rate-limit", "inf"]),
        with("at least 0.001", &["--rate-limit", "NaN"]),
        with("--rate-limit", &["--rate-limit", "fast"]),
        with("--rate-limit", &["--rate-limit", "1e-300"]),
        with("--output", &["--resume"]),
        with(
            "--resume works with",
            &["--resume", "-f", "table", "-o", "x.txt"],
        ),
        with("cannot be used with", &["--follow"]),
        day("--follow", &["--interval", "5m"]),
        day("invalid --interval", &["--follow", "--interval", "0s"]),
        day("invalid --interval", &["--follow", "--interval", "soon"]),
        row(
            "is in the future",
            &["-t", "AccessLog", "--from", "2999-01-01", "--follow"],
        ),
        with("--user needs an email", &["--user", " "]),
        with("give a file path, not a directory", &["-o", "/tmp"]),
        with("does not exist", &["-o", "/nonexistent-dir/x.jsonl"]),
        with("cannot be used with", &["-q", "-v"]),
        // ---- formats and fields
        with("'xml'", &["--format", "xml"]),
        with("--format", &["--format", ""]),
        with("--fields", &["--format", "jsonl", "--fields", "eventTime"]),
        with("--fields", &["--format", "json", "--fields", "eventTime"]),
        with("invalid --fields", &["--format", "csv", "--fields", "a..b"]),
        with(
            "invalid --fields",
            &["--format", "csv", "--fields", "eventTime,"],
        ),
        with("invalid --fields", &["--format", "table", "--fields", ".x"]),
        // ---- types
        row("unknown log type \"Nope\"", &["-t", "Nope", "--from", "1d"]),
        row("unknown log type", &["-t", "AccessLog,", "--from", "1d"]),
        row("unknown log type", &["-t", "", "--from", "1d"]),
        row(
            "unknown log type \"Access\"",
            &["-t", "Access", "--from", "1d"],
        ),
        row(
            "unknown log type \"Nope\"",
            &["-t", "all,Nope", "--from", "1d"],
        ),
        // ---- dates
        from("invalid --from", "2024-13-01"),
        from("invalid --from", "2024-02-30"),
        from("invalid --from", "yesterdayish"),
        from("invalid --from", "tomorrow"),
        from("invalid --from", ""),
        from("invalid --from", "2024-03-01T25:00:00Z"),
        from("invalid --from", "2024-3-1"),
        from("invalid --from", "1.5h"),
        from("unexpected argument '-3'", "-3d"),
        row("invalid --from", &["-t", "AccessLog", "--from=-3d"]),
        from("invalid --from", "99999999999999999999d"),
        from("invalid --from", "99999999d"),
        from("add Z", "2024-03-01T10:00:00"),
        from("invalid --from", "2024-03-01T10:00:00+2:00"),
        from("invalid --from", "2024-03-01T10:00:00+26:00"),
        day("invalid --to", &["--to", "2024-02-30"]),
        day("invalid --to", &["--to", "later"]),
        row("invalid --since", &["-t", "AccessLog", "--since", "3 days"]),
        row(
            "invalid --since",
            &["-t", "AccessLog", "--since", "2024-01-01"],
        ),
        row("too long", &["-t", "AccessLog", "--since", "1000000w"]),
        // ---- ranges
        range("must be before --to", "2024-01-05", "2024-01-01"),
        range("must be before --to", "2024-01-05", "2024-01-05"),
        range(
            "must be before --to",
            "2024-01-05T00:00:00Z",
            "2024-01-04T23:59:59.999999999Z",
        ),
        range("must be before --to", "now", "1d"),
        from("must be before --to", "2999-01-01"),
        row(
            "must be before --to",
            &["-t", "AccessLog", "--since", "1d", "--to", "2d"],
        ),
        row(
            "cannot be used with",
            &["-t", "AccessLog", "--since", "1d", "--from", "2d"],
        ),
        // ---- base URLs: flag, environment, profile
        with("invalid base URL", &["--base-url", "not a url"]),
        with("is not http(s)", &["--base-url", "ftp://api.gong.io"]),
        with(
            "refusing plain http://",
            &["--base-url", "http://example.com"],
        ),
        with(
            "refusing plain http://",
            &["--base-url", "http://10.0.0.1:8080"],
        ),
        with(
            "credentials in the URL",
            &["--base-url", "https://user:pw@api.gong.io"],
        ),
        with(
            "no query or fragment",
            &["--base-url", "https://api.gong.io/?x=1"],
        ),
        with(
            "no query or fragment",
            &["--base-url", "https://api.gong.io/#top"],
        ),
        with("invalid base URL", &["--base-url", "https://"]),
        with("(from GONG_BASE_URL)", &[]).env("GONG_BASE_URL", "not a url"),
        with("refusing plain http://", &[]).env("GONG_BASE_URL", "http://example.com"),
        with("(from the config profile)", &[]).config(
            "[default]\nbase_url = \"ftp://x\"\nbearer_token = \"sim-bearer-token\"\n",
            0o600,
        ),
        // ---- credentials given twice
        with(
            "keep only one",
            &[
                "--access-key",
                "k",
                "--access-key-secret",
                "sim-secret",
                "--bearer-token",
                "sim-bearer-token",
            ],
        ),
        // ---- profiles
        with(
            "profile \"nope\" is not in config file",
            &["--profile", "nope"],
        )
        .config(good_profile, 0o600),
        with("profile \"nope\" is not in config file", &[])
            .config(good_profile, 0o600)
            .env("GONG_PROFILE", "nope"),
        with(
            "profile \"work\" requested but there is no config file",
            &["--profile", "work"],
        ),
        // ---- config files
        with("chmod 600", &[]).config(good_profile, 0o640),
        with("chmod 600", &[]).config(good_profile, 0o604),
        with("malformed at line 1", &[])
            .config("[default\naccess_key_secret = \"sim-secret\"\n", 0o600),
        with("malformed at line 3", &[]).config(
            "[default]\naccess_key = \"k\"\naccess_key = \"again\"\n",
            0o600,
        ),
        with("unknown field", &[]).config("[default]\nacess_key = \"x\"\n", 0o600),
        with("invalid type", &[]).config("[default]\naccess_key = 5\n", 0o600),
        with("invalid type", &[]).config("default = \"x\"\n", 0o600),
        not_utf8(with("not UTF-8", &[])),
        with("is not a regular file", &[]).env("GONG_LOGS_CONFIG", "/tmp"),
        with("does not exist", &[]).env("GONG_LOGS_CONFIG", "/nonexistent/gong.toml"),
    ]
}

/// A config file with a lone continuation byte: not UTF-8.
fn not_utf8(mut row: Row) -> Row {
    let mut bytes = b"[default]\naccess_key = \"\"\n".to_vec();
    bytes.push(0x80);
    row.config = Some((bytes, 0o600));
    row
}

/// Every row: exit 2 and a one-line message holding the row's text (and
/// never the password of a base URL).
#[test]
fn every_bad_input_is_a_one_line_usage_error() {
    let home = tempfile::tempdir().unwrap();
    let rows = rows();
    let mut failures = Vec::new();
    for (i, row) in rows.iter().enumerate() {
        let Some(failure) = row.failure(home.path(), i) else {
            failures.push(format!("{:?} {:?}: accepted", row.args, row.env));
            continue;
        };
        let message = failure.message();
        if failure.code != USAGE
            || message.contains('\n')
            || !message.contains(row.needle)
            || message.contains("pw@")
        {
            failures.push(format!(
                "{:?} {:?}: exit {}, expected {:?} in: {message}",
                row.args, row.env, failure.code, row.needle
            ));
        }
    }
    assert!(failures.is_empty(), "{}", failures.join("\n"));
}

/// A valid command line parses into the plan it says, so that the rows
/// above fail for their own reason.
#[test]
fn a_valid_command_line_is_planned() {
    let now = Timestamp::now();
    let plan = plan::from_args(
        &["-t", "AccessLog", "--from", DATA_START, "--to", DATA_END],
        now,
    )
    .unwrap();
    assert_eq!(plan.from.to_string(), DATA_START);
    assert_eq!(plan.to.to_string(), DATA_END);
    assert_eq!(plan.types, vec![gong_logs_api::LogType::AccessLog]);
    let failure = plan::from_args(&["-t", "AccessLog", "--limit", "0"], now).unwrap_err();
    assert_eq!(failure.code, USAGE);
}
