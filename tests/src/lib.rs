//! Shared helpers of the end-to-end tests (`gong-logs-cli/tests/e2e/`, one
//! test binary with a module per area): a simulator on a loopback port, the
//! `gong-logs` binary with a hermetic environment, and a secret scan of
//! everything it prints.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::time::Duration;

pub use gong_logs_sim::{FaultConfig, LogType as SimType, SimConfig, Simulator, Stats};
use jiff::Timestamp;

/// The simulator's fake secrets: none may appear in any output.
pub const SECRETS: [&str; 2] = ["sim-secret", "sim-bearer-token"];

/// The secrets as they could leak: as given, and the Basic credentials as
/// they go on the wire (`base64("sim-access-key:sim-secret")`); the test
/// proxy's password ([`PROXY_PASSWORD`]) and its Basic form likewise. Every
/// scan looks for all of them.
pub const SECRET_FORMS: [&str; 5] = [
    "sim-secret",
    "sim-bearer-token",
    "c2ltLWFjY2Vzcy1rZXk6c2ltLXNlY3JldA",
    PROXY_PASSWORD,
    "cHJveHktdXNlcjpwcm94eS1wYXNzLXMzY3JldA",
];

/// The user name the test proxy ([`proxy::TestProxy`]) is given.
pub const PROXY_USER: &str = "proxy-user";
/// The test proxy's password: a secret, scanned for in every output.
pub const PROXY_PASSWORD: &str = "proxy-pass-s3cret";

pub mod proxy;

/// The simulator's access key.
pub const ACCESS_KEY: &str = "sim-access-key";

/// Start of the test data (SimConfig::testing): 2024-01-01T00:00:00Z.
pub const DATA_START: &str = "2024-01-01T00:00:00Z";
/// End of the test data (SimConfig::testing): 2024-01-31T00:00:00Z.
pub const DATA_END: &str = "2024-01-31T00:00:00Z";

/// A simulator running on its own runtime for the length of a test.
#[derive(Debug)]
pub struct TestSim {
    sim: Option<Simulator>,
    runtime: tokio::runtime::Runtime,
    ca: Option<CaFile>,
}

/// The certificate an HTTPS simulator ([`TestSim::https`]) presents, signed
/// by a CA made for the test.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Leaf {
    /// For `localhost` and `127.0.0.1`, valid now.
    Valid,
    /// For `other.example` only.
    WrongName,
    /// For `localhost` and `127.0.0.1`, expired in 2021.
    Expired,
}

/// A test CA's certificate in a PEM file.
#[derive(Debug)]
pub struct CaFile {
    dir: tempfile::TempDir,
}

impl CaFile {
    /// The PEM file.
    pub fn path(&self) -> PathBuf {
        self.dir.path().join("ca.pem")
    }
}

impl TestSim {
    /// Starts a simulator with `config` (bound to 127.0.0.1:0).
    pub fn start(config: SimConfig) -> Self {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .expect("tokio runtime");
        let sim = runtime
            .block_on(Simulator::start(config))
            .expect("simulator starts");
        Self {
            sim: Some(sim),
            runtime,
            ca: None,
        }
    }

    /// Starts a simulator with `config` serving HTTPS with `leaf`, signed
    /// by a fresh CA; its commands trust that CA through `GONG_CA_CERT`
    /// (remove it to test an untrusted one).
    pub fn https(mut config: SimConfig, leaf: Leaf) -> Self {
        let pki = gong_logs_sim::TestPki::new("gong-logs test CA").expect("a CA");
        let local = ["localhost", "127.0.0.1"];
        config.tls = Some(
            match leaf {
                Leaf::Valid => pki.leaf(&local),
                Leaf::WrongName => pki.leaf(&["other.example"]),
                Leaf::Expired => pki.expired_leaf(&local),
            }
            .expect("a certificate"),
        );
        let ca = CaFile {
            dir: tempfile::tempdir().expect("temp dir"),
        };
        std::fs::write(ca.path(), pki.ca_pem()).expect("CA written");
        let mut sim = Self::start(config);
        sim.ca = Some(ca);
        sim
    }

    /// The CA file of an HTTPS simulator.
    pub fn ca(&self) -> &CaFile {
        self.ca.as_ref().expect("an HTTPS simulator")
    }

    /// A small deterministic data set: `entries` per type over January 2024,
    /// no rate limit.
    pub fn small(entries: usize) -> Self {
        Self::start(SimConfig::testing(7, entries))
    }

    /// A slow simulator, for tests that act during a run (kill it, signal
    /// it, start a second one): 240 entries per type in pages of 8, each
    /// request `latency_ms` late.
    pub fn slow(latency_ms: u64) -> Self {
        Self::start(Self::slow_config(latency_ms))
    }

    /// The configuration of [`Self::slow`].
    pub fn slow_config(latency_ms: u64) -> SimConfig {
        let mut config = SimConfig::testing(21, 240);
        config.page_size = 8;
        config.faults.latency_ms = latency_ms;
        config
    }

    fn sim(&self) -> &Simulator {
        self.sim.as_ref().expect("running")
    }

    /// `http://127.0.0.1:PORT` (`https://` for [`Self::https`]).
    pub fn base_url(&self) -> String {
        self.sim().base_url()
    }

    /// The counters.
    pub fn stats(&self) -> Stats {
        self.sim().stats()
    }

    /// Zeroes the simulator's counters (see [`Simulator::reset`]).
    pub fn reset(&self) {
        self.sim().reset();
    }

    /// Requests that reached `/v2/logs`.
    pub fn requests(&self) -> u64 {
        self.stats().total_requests
    }

    /// The exact JSON text of each entry of `log_type` in `[from, to)`.
    pub fn entries(&self, log_type: &str, from: &str, to: &str) -> Vec<String> {
        let t: SimType = log_type.parse().expect("a log type");
        self.sim()
            .dataset()
            .entries_in(t, ts(from), Some(ts(to)))
            .iter()
            .map(|e| e.json.clone())
            .collect()
    }

    /// The expected JSONL output for `types` over `[from, to)`: each entry's
    /// exact text with `"logType"` added first, types in the given order.
    pub fn expected_jsonl(&self, types: &[&str], from: &str, to: &str) -> String {
        let mut out = String::new();
        for t in types {
            for json in self.entries(t, from, to) {
                out.push_str(&with_log_type(t, &json));
                out.push('\n');
            }
        }
        out
    }

    /// A `gong-logs` command aimed at this simulator with Basic credentials
    /// in the environment.
    pub fn cmd(&self) -> Cmd {
        self.aim(Cmd::new())
    }

    /// Like [`Self::cmd`], started through `sh` after `prelude` (see
    /// [`Cmd::under_shell`]).
    pub fn cmd_under_shell(&self, prelude: &str) -> Cmd {
        self.aim(Cmd::under_shell(prelude))
    }

    /// A `gong-logs fetch` aimed at this simulator, over the data set's
    /// range unless the test chooses another (see [`Fetch`]).
    pub fn fetch(&self) -> Fetch {
        Fetch::new(self.cmd())
    }

    /// Like [`Self::fetch`], started through `sh` after `prelude` (see
    /// [`Cmd::under_shell`]).
    pub fn fetch_under_shell(&self, prelude: &str) -> Fetch {
        Fetch::new(self.cmd_under_shell(prelude))
    }

    fn aim(&self, mut cmd: Cmd) -> Cmd {
        cmd.env("GONG_BASE_URL", self.base_url())
            .env("GONG_ACCESS_KEY", ACCESS_KEY)
            .env("GONG_ACCESS_KEY_SECRET", "sim-secret");
        if let Some(ca) = &self.ca {
            cmd.env("GONG_CA_CERT", ca.path());
        }
        cmd
    }
}

impl Drop for TestSim {
    fn drop(&mut self) {
        if let Some(sim) = self.sim.take() {
            self.runtime.block_on(sim.shutdown());
        }
    }
}

/// Parses an RFC 3339 instant.
pub fn ts(text: &str) -> Timestamp {
    text.parse().expect("an RFC 3339 instant")
}

/// An entry's text with `"logType"` added as its first key (the sim's
/// entries are compact, non-empty objects).
pub fn with_log_type(log_type: &str, json: &str) -> String {
    assert!(
        json.starts_with('{') && json.len() > 2,
        "unexpected entry {json}"
    );
    format!("{{\"logType\":\"{log_type}\",{}", &json[1..])
}

/// The binary under test: `gong-logs`, which Cargo builds for the
/// integration tests of gong-logs-cli (`tests/e2e/`) next to the `deps/`
/// directory holding their executables. (`CARGO_BIN_EXE_gong-logs` exists
/// only when compiling the test files themselves, not this library.)
pub fn binary() -> PathBuf {
    let exe = std::env::current_exe().expect("current exe");
    let mut dir = exe.parent().expect("exe dir").to_owned();
    if dir.ends_with("deps") {
        dir.pop();
    }
    let path = dir.join(format!("gong-logs{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: run the tests with `cargo test -p gong-logs-cli --test e2e`",
        path.display()
    );
    path
}

/// A command with a hermetic environment: no inherited GONG_* variables,
/// HOME and XDG_CONFIG_HOME in a fresh directory (no real config file),
/// fixed terminal width.
#[derive(Debug)]
pub struct Cmd {
    command: Command,
    _home: tempfile::TempDir,
}

impl Default for Cmd {
    fn default() -> Self {
        Self::new()
    }
}

impl Cmd {
    /// A bare command (no credentials, default base URL).
    pub fn new() -> Self {
        Self::build(Command::new(binary()))
    }

    /// The binary started by `sh` after `prelude` (shell commands such as
    /// `ulimit -f 16`), in the same hermetic environment; arguments added
    /// later go to the binary.
    pub fn under_shell(prelude: &str) -> Self {
        let mut command = Command::new("sh");
        command
            .arg("-c")
            .arg(format!("{prelude}; exec \"$0\" \"$@\""))
            .arg(binary());
        Self::build(command)
    }

    fn build(mut command: Command) -> Self {
        let home = tempfile::tempdir().expect("temp dir");
        command
            .env_clear()
            .env("PATH", std::env::var_os("PATH").unwrap_or_default())
            .env("HOME", home.path())
            .env("XDG_CONFIG_HOME", home.path().join(".config"))
            .env("COLUMNS", "100")
            .env("NO_COLOR", "1")
            .stdin(std::process::Stdio::null());
        Self {
            command,
            _home: home,
        }
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.command.env(key, value);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, key: &str) -> &mut Self {
        self.command.env_remove(key);
        self
    }

    /// Adds arguments.
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    /// Sets the working directory.
    pub fn current_dir(&mut self, dir: &Path) -> &mut Self {
        self.command.current_dir(dir);
        self
    }

    /// The underlying command (to spawn and kill), with the default rate
    /// (see [`Self::run`]) if it is a `fetch`.
    pub fn command(&mut self) -> &mut Command {
        self.fast_fetch();
        &mut self.command
    }

    /// Unless the test chose its own, `fetch` runs at `--rate-limit 1000`:
    /// the simulators of these tests have no rate limit, and the CLI's
    /// default of 3 requests/s would make a test wait a third of a second
    /// per request for nothing. (Tests about the rate pass the flag.)
    fn fast_fetch(&mut self) {
        let args: Vec<&std::ffi::OsStr> = self.command.get_args().collect();
        // A completion request (`GONG_LOGS_COMPLETE`) passes words, not flags.
        let completing = self
            .command
            .get_envs()
            .any(|(k, v)| k == "GONG_LOGS_COMPLETE" && v.is_some());
        // The command is the first word that is no (global) option.
        let fetch = !completing
            && args
                .iter()
                .find(|a| !a.to_string_lossy().starts_with('-'))
                .is_some_and(|a| *a == "fetch");
        let chosen = args.iter().any(|a| {
            a.to_str()
                .is_some_and(|a| a.starts_with("--rate-limit") || a == "--help" || a == "-h")
        });
        if fetch && !chosen {
            self.command.args(["--rate-limit", "1000"]);
        }
    }

    /// Runs to completion (60 s at most) with `assert_cmd`, and checks that
    /// no secret was printed. A `fetch` without `--rate-limit` gets
    /// `--rate-limit 1000`.
    pub fn run(&mut self) -> Run {
        const LIMIT: Duration = Duration::from_secs(60);
        self.fast_fetch();
        let command = std::mem::replace(&mut self.command, Command::new(binary()));
        let started = std::time::Instant::now();
        let output = assert_cmd::Command::from_std(command)
            .timeout(LIMIT)
            .output()
            .expect("the binary starts");
        assert!(
            output.status.code().is_some() || started.elapsed() < LIMIT,
            "gong-logs did not finish within {LIMIT:?}"
        );
        Run::new(output)
    }
}

/// A `gong-logs fetch` built from what a test is about: the types, the
/// range (by default the data set's, [`DATA_START`] to [`DATA_END`]), the
/// format, the chains (`--concurrency`), the rate (by default the
/// harness's `--rate-limit 1000`, see [`Cmd::run`]), the output file, then
/// any other arguments. Each setting is passed only when chosen, so the
/// CLI's own default applies otherwise.
#[derive(Debug)]
pub struct Fetch {
    cmd: Cmd,
    types: Option<String>,
    from: Option<String>,
    to: Option<String>,
    format: Option<String>,
    chains: Option<String>,
    rate: Option<String>,
    output: Option<PathBuf>,
    args: Vec<std::ffi::OsString>,
    applied: bool,
}

impl Fetch {
    /// `fetch` on `cmd` over the data set's range.
    pub fn new(cmd: Cmd) -> Self {
        Self {
            cmd,
            types: None,
            from: Some(DATA_START.to_owned()),
            to: Some(DATA_END.to_owned()),
            format: None,
            chains: None,
            rate: None,
            output: None,
            args: Vec::new(),
            applied: false,
        }
    }

    /// `-t TYPES` (one type or a comma list).
    pub fn types(&mut self, types: &str) -> &mut Self {
        self.types = Some(types.to_owned());
        self
    }

    /// `--from FROM --to TO` instead of the data set's range.
    pub fn range(&mut self, from: &str, to: &str) -> &mut Self {
        self.from = Some(from.to_owned());
        self.to = Some(to.to_owned());
        self
    }

    /// `--from FROM` and no `--to` (a follow, an open end).
    pub fn from_only(&mut self, from: &str) -> &mut Self {
        self.from = Some(from.to_owned());
        self.to = None;
        self
    }

    /// Neither `--from` nor `--to` (the test gives `--since`, or tests
    /// their absence).
    pub fn no_range(&mut self) -> &mut Self {
        self.from = None;
        self.to = None;
        self
    }

    /// `--format FORMAT`.
    pub fn format(&mut self, format: &str) -> &mut Self {
        self.format = Some(format.to_owned());
        self
    }

    /// `--concurrency N`: the most cursor chains at once.
    pub fn chains(&mut self, n: u16) -> &mut Self {
        self.chains = Some(n.to_string());
        self
    }

    /// `--rate-limit RATE` instead of the harness's 1000.
    pub fn rate(&mut self, rate: &str) -> &mut Self {
        self.rate = Some(rate.to_owned());
        self
    }

    /// `-o PATH`.
    pub fn output(&mut self, path: impl AsRef<Path>) -> &mut Self {
        self.output = Some(path.as_ref().to_owned());
        self
    }

    /// Adds arguments (after the chosen settings).
    pub fn args<I, S>(&mut self, args: I) -> &mut Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.args
            .extend(args.into_iter().map(|a| a.as_ref().to_owned()));
        self
    }

    /// Sets an environment variable.
    pub fn env(&mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> &mut Self {
        self.cmd.env(key, value);
        self
    }

    /// Removes an environment variable.
    pub fn env_remove(&mut self, key: &str) -> &mut Self {
        self.cmd.env_remove(key);
        self
    }

    /// Sets the working directory.
    pub fn current_dir(&mut self, dir: &Path) -> &mut Self {
        self.cmd.current_dir(dir);
        self
    }

    /// The command line, as the binary will get it.
    pub fn argv(&self) -> Vec<std::ffi::OsString> {
        let mut argv: Vec<std::ffi::OsString> = vec!["fetch".into()];
        let mut flag = |name: &str, value: &Option<String>| {
            if let Some(value) = value {
                argv.extend([name.into(), value.into()]);
            }
        };
        flag("-t", &self.types);
        flag("--from", &self.from);
        flag("--to", &self.to);
        flag("--format", &self.format);
        flag("--concurrency", &self.chains);
        flag("--rate-limit", &self.rate);
        if let Some(path) = &self.output {
            argv.extend(["-o".into(), path.into()]);
        }
        argv.extend(self.args.iter().cloned());
        argv
    }

    /// The command with the fetch's arguments (given to it once), for
    /// helpers that take any [`Cmd`]; settings made afterwards are lost.
    pub fn cmd(&mut self) -> &mut Cmd {
        if !self.applied {
            let argv = self.argv();
            self.cmd.args(argv);
            self.applied = true;
        }
        &mut self.cmd
    }

    /// The underlying command (to spawn and kill); see [`Cmd::command`].
    pub fn command(&mut self) -> &mut Command {
        self.cmd().command()
    }

    /// Starts it with stdout and stderr piped, for a test that acts
    /// during the run (see [`Run::new`] for its output).
    pub fn spawn(&mut self) -> std::process::Child {
        self.command()
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::piped())
            .spawn()
            .expect("the binary starts")
    }

    /// Runs to completion; see [`Cmd::run`].
    pub fn run(&mut self) -> Run {
        self.cmd().run()
    }
}

/// A finished run.
#[derive(Debug)]
pub struct Run {
    /// Exit code (`None` if killed by a signal).
    pub code: Option<i32>,
    /// Standard output as text.
    pub stdout: String,
    /// Standard error as text.
    pub stderr: String,
}

impl Run {
    /// Wraps an output, scanning it for secrets.
    pub fn new(output: Output) -> Self {
        let run = Self {
            code: output.status.code(),
            stdout: String::from_utf8_lossy(&output.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&output.stderr).into_owned(),
        };
        assert_no_secrets(&run.stdout, &run.stderr);
        run
    }

    /// Asserts the exit code, showing stderr when it differs.
    #[track_caller]
    pub fn code(&self, expected: i32) -> &Self {
        assert_eq!(
            self.code,
            Some(expected),
            "exit code; stderr:\n{}\nstdout (first 2000 bytes):\n{:.2000}",
            self.stderr,
            self.stdout
        );
        self
    }

    /// Asserts success (exit 0).
    #[track_caller]
    pub fn ok(&self) -> &Self {
        self.code(0)
    }

    /// Asserts stderr is exactly one line of error that contains `needle`
    /// (warnings printed before it, `gong-logs: warning: ...`, aside).
    #[track_caller]
    pub fn one_line_error(&self, needle: &str) -> &Self {
        let lines: Vec<&str> = self
            .stderr
            .lines()
            .filter(|l| !l.starts_with("gong-logs: warning: "))
            .collect();
        assert_eq!(lines.len(), 1, "stderr must be one line:\n{}", self.stderr);
        assert!(
            lines[0].starts_with("gong-logs: error: "),
            "{}",
            self.stderr
        );
        assert!(
            self.stderr.contains(needle),
            "stderr lacks {needle:?}:\n{}",
            self.stderr
        );
        self
    }
}

/// Panics if any simulator secret is in `stdout` or `stderr`.
#[track_caller]
pub fn assert_no_secrets(stdout: &str, stderr: &str) {
    for secret in SECRET_FORMS {
        assert!(
            !stdout.contains(secret),
            "secret {secret:?} on stdout:\n{stdout}"
        );
        assert!(
            !stderr.contains(secret),
            "secret {secret:?} on stderr:\n{stderr}"
        );
    }
}

/// Panics if any simulator secret is in the file (checkpoints, outputs).
#[track_caller]
pub fn assert_file_has_no_secrets(path: &Path) {
    if let Ok(bytes) = std::fs::read(path) {
        let text = String::from_utf8_lossy(&bytes);
        for secret in SECRET_FORMS {
            assert!(
                !text.contains(secret),
                "secret {secret:?} in {}",
                path.display()
            );
        }
    }
}

/// The names of the files in `dir`, sorted.
pub fn dir_listing(dir: &Path) -> Vec<String> {
    let mut names: Vec<String> = std::fs::read_dir(dir)
        .expect("read dir")
        .map(|e| e.expect("entry").file_name().to_string_lossy().into_owned())
        .collect();
    names.sort();
    names
}

/// Runs `tmux -L server ARGS` (a tmux server of the test's own).
pub fn tmux(server: &str, args: &[&str]) -> Output {
    Command::new("tmux")
        .args(["-L", server])
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .expect("tmux runs")
}

/// Starts a detached tmux session `server` (on a server of that name)
/// of `cols` × `rows` running `command`.
pub fn tmux_start(server: &str, cols: u16, rows: u16, command: &str) {
    let (cols, rows) = (cols.to_string(), rows.to_string());
    let started = tmux(
        server,
        &[
            "new-session",
            "-d",
            "-s",
            server,
            "-x",
            &cols,
            "-y",
            &rows,
            command,
        ],
    );
    assert!(started.status.success(), "{started:?}");
}

/// Every log type, in documentation order.
pub const ALL_TYPES: [&str; 5] = [
    "AccessLog",
    "UserActivityLog",
    "UserCallPlay",
    "ExternallySharedCallAccess",
    "ExternallySharedCallPlay",
];

/// A small seeded generator (the simulator's SplitMix64): reproducible
/// "random" instants.
pub use gong_logs_sim::rng::Rng as SeededRng;

/// `FILE.gong-logs-checkpoint`.
pub fn checkpoint_of(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.gong-logs-checkpoint", out.display()))
}

/// `FILE.partial`.
pub fn partial_of(out: &Path) -> PathBuf {
    PathBuf::from(format!("{}.partial", out.display()))
}

/// What a resumable export left on disk, checked against the export it
/// must become.
#[derive(Debug, Default)]
pub struct DiskState {
    /// A checkpoint file exists.
    pub checkpoint: bool,
    /// Bytes the checkpoint covers.
    pub data_len: u64,
    /// Bytes in the data file (may exceed `data_len`: written, not declared).
    pub partial_len: u64,
    /// Entries the checkpoint declares.
    pub entries: u64,
}

/// Checks the invariant of a resumable **jsonl** export to `out` whose
/// complete output is `expected`, at any instant (after a kill, a failure,
/// a full disk):
///
/// - the finished file, if present, is exactly `expected` (unless a
///   checkpoint says the run is not over);
/// - with a checkpoint: the data file holds at least `dataLen` bytes, and
///   those bytes are a prefix of `expected` ending on an entry boundary;
///   the checkpoint's entry counts (total and per type) are those of the
///   prefix; each type's position is the instant of its last entry in the
///   prefix and how many of its entries in the prefix are at that instant;
///   a type marked done has all its entries in the prefix.
#[track_caller]
pub fn check_resumable_jsonl(out: &Path, expected: &str) -> DiskState {
    let ckpt_path = checkpoint_of(out);
    assert_file_has_no_secrets(&ckpt_path);
    let Ok(text) = std::fs::read_to_string(&ckpt_path) else {
        if out.exists() {
            assert!(
                std::fs::read_to_string(out).expect("read output") == expected,
                "{} is complete but differs from the expected export",
                out.display()
            );
        }
        return DiskState::default();
    };
    let ckpt: serde_json::Value = serde_json::from_str(&text)
        .unwrap_or_else(|e| panic!("checkpoint is not JSON ({e}): {text}"));
    let data_len = ckpt["dataLen"].as_u64().expect("dataLen");
    let partial = partial_of(out);
    let (bytes, finished) = match std::fs::read(&partial) {
        Ok(bytes) => (bytes, false),
        // Killed after the rename, before the checkpoint was deleted.
        Err(_) => (std::fs::read(out).expect("data file or output"), true),
    };
    if finished {
        assert_eq!(bytes, expected.as_bytes(), "renamed output is complete");
    }
    assert!(
        bytes.len() as u64 >= data_len,
        "checkpoint declares {data_len} bytes, the data file holds {}",
        bytes.len()
    );
    let prefix = std::str::from_utf8(&bytes[..data_len as usize]).expect("UTF-8 prefix");
    assert!(
        expected.starts_with(prefix),
        "the declared data is not a prefix of the expected export"
    );
    assert!(
        prefix.is_empty() || prefix.ends_with('\n'),
        "the declared data ends inside an entry"
    );
    let lines: Vec<&str> = prefix.lines().collect();
    assert_eq!(
        ckpt["entries"].as_u64(),
        Some(lines.len() as u64),
        "checkpoint's entry count vs the declared data"
    );
    for state in ckpt["types"].as_array().expect("types") {
        let name = state["logType"].as_str().expect("logType");
        let tag = format!("{{\"logType\":\"{name}\",");
        let times: Vec<Timestamp> = lines
            .iter()
            .filter(|l| l.starts_with(&tag))
            .map(|l| {
                let v: serde_json::Value = serde_json::from_str(l).expect("a JSON line");
                ts(v["eventTime"].as_str().expect("eventTime"))
            })
            .collect();
        assert_eq!(
            state["entries"].as_u64(),
            Some(times.len() as u64),
            "{name}: entries declared vs in the data"
        );
        if let Some(last) = times.last() {
            let position_time = ts(state["position"]["time"].as_str().expect("time"));
            assert_eq!(position_time, *last, "{name}: position time");
            let at_last = times.iter().filter(|t| *t == last).count() as u64;
            assert_eq!(
                state["position"]["count"].as_u64(),
                Some(at_last),
                "{name}: position count"
            );
        }
        if state["done"].as_bool() == Some(true) {
            let all = expected.lines().filter(|l| l.starts_with(&tag)).count();
            assert_eq!(times.len(), all, "{name} is done: all its entries");
        }
    }
    DiskState {
        checkpoint: true,
        data_len,
        partial_len: bytes.len() as u64,
        entries: lines.len() as u64,
    }
}
