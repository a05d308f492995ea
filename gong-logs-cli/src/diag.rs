//! How every diagnostic line reaches stderr: `--log-format text` (the
//! default: `gong-logs: warning: ...`, as always) or `json` (one JSON
//! object per line, for journald and log shippers: `timestamp` (RFC 3339,
//! UTC), `level` (`error`, `warn`, `info`, `debug`, `trace`), `message`,
//! and per kind of line more fields: the summary's counts, a failure's
//! exit code, a tracing event's fields).
//!
//! Every string of a JSON line passes through the redactor
//! ([`crate::redact`]) one by one, before it is serialized: cutting a long
//! text can never break the object. Text lines are printed exactly as
//! before (the callers redact what they always redacted).
//!
//! The format is chosen before the command line is parsed
//! ([`choose`]: `--log-format` found in argv, else `GONG_LOGS_LOG_FORMAT`),
//! so that a usage error is JSON too.

pub(crate) mod events;

use std::sync::atomic::{AtomicBool, Ordering};

use serde_json::{Map, Value};

/// The forms of the stderr lines (`--log-format`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum LogFormat {
    /// `gong-logs: warning: ...`, as people read it.
    #[default]
    Text,
    /// One JSON object per line.
    Json,
}

impl LogFormat {
    /// Every format, in `--help`'s order.
    pub const ALL: [Self; 2] = [Self::Text, Self::Json];

    /// Its name, the value of `--log-format` and `GONG_LOGS_LOG_FORMAT`.
    pub fn name(self) -> &'static str {
        match self {
            Self::Text => "text",
            Self::Json => "json",
        }
    }

    /// What it is for (`--help`'s possible values).
    pub fn about(self) -> &'static str {
        match self {
            Self::Text => "`gong-logs: warning: ...` lines, for people",
            Self::Json => "One JSON object per line",
        }
    }

    /// The format named `name` (exactly `text` or `json`).
    pub fn parse(name: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|f| f.name() == name)
    }
}

/// The environment variable that sets the format when `--log-format` is
/// not given.
pub const ENV_VAR: &str = "GONG_LOGS_LOG_FORMAT";

static JSON: AtomicBool = AtomicBool::new(false);

/// Sets the format of every line printed from now on.
pub fn set(format: LogFormat) {
    JSON.store(format == LogFormat::Json, Ordering::Relaxed);
}

/// The format in force.
pub fn format() -> LogFormat {
    if JSON.load(Ordering::Relaxed) {
        LogFormat::Json
    } else {
        LogFormat::Text
    }
}

/// The format asked for before clap has parsed anything: the last
/// `--log-format VALUE` or `--log-format=VALUE` of `args` (before a `--`),
/// else `env_value`. A value that names no format is left to clap (or to
/// [`env_format`]) to refuse; here it means text.
pub fn choose(args: &[String], env_value: Option<&str>) -> LogFormat {
    let mut chosen = None;
    let mut iter = args.iter();
    while let Some(arg) = iter.next() {
        if arg == "--" {
            break;
        }
        if arg == "--log-format" {
            chosen = iter.next().map(String::as_str);
        } else if let Some(value) = arg.strip_prefix("--log-format=") {
            chosen = Some(value);
        }
    }
    chosen
        .or(env_value)
        .and_then(LogFormat::parse)
        .unwrap_or_default()
}

/// `GONG_LOGS_LOG_FORMAT` checked: unset, `text` or `json`; anything else
/// is an error naming the variable.
pub fn env_format(value: Option<&str>) -> Result<Option<LogFormat>, String> {
    match value {
        None => Ok(None),
        Some(v) => LogFormat::parse(v).map(Some).ok_or_else(|| {
            format!(
                "the environment variable {ENV_VAR} must be text or json: correct it or unset it"
            )
        }),
    }
}

/// A diagnostic's level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Level {
    /// `gong-logs: error: ...`
    Error,
    /// `gong-logs: warning: ...`
    Warn,
    /// `gong-logs: note: ...`
    Note,
    /// `gong-logs: ...` (the summary, the dry run's and doctor's verdicts),
    /// with the text's own prefix.
    Info,
}

impl Level {
    fn json_name(self) -> &'static str {
        match self {
            Self::Error => "error",
            Self::Warn => "warn",
            Self::Note | Self::Info => "info",
        }
    }

    fn text_prefix(self) -> &'static str {
        match self {
            Self::Error => "gong-logs: error: ",
            Self::Warn => "gong-logs: warning: ",
            Self::Note => "gong-logs: note: ",
            Self::Info => "gong-logs: ",
        }
    }
}

/// Prints one line at `level`: in text, the level's prefix then `message`
/// (as given: the caller redacts what it always did); in JSON, an object
/// with `message` and `fields` (every string redacted).
pub fn line_with(level: Level, message: &str, fields: Map<String, Value>) {
    let line = match format() {
        LogFormat::Text => format!("{}{message}", level.text_prefix()),
        LogFormat::Json => json_line(level.json_name(), message, fields),
    };
    crate::stdio::stderr_line(&line);
}

/// [`line_with`] without fields.
pub fn line(level: Level, message: &str) {
    line_with(level, message, Map::new());
}

/// `gong-logs: warning: MESSAGE`.
pub fn warn(message: &str) {
    line(Level::Warn, message);
}

/// `gong-logs: note: MESSAGE`.
pub fn note(message: &str) {
    line(Level::Note, message);
}

/// `gong-logs: error: MESSAGE`, with the exit code as `exit_code` in JSON.
pub fn error(message: &str, code: u8) {
    let mut fields = Map::new();
    fields.insert("exit_code".into(), code.into());
    line_with(Level::Error, message, fields);
}

/// The JSON line: `timestamp`, `level`, `message`, then `fields` (a field
/// named like one of those three is dropped), every string redacted.
pub(crate) fn json_line(level: &str, message: &str, fields: Map<String, Value>) -> String {
    let mut object = Map::new();
    object.insert("timestamp".into(), Value::String(now()));
    object.insert("level".into(), Value::String(level.to_owned()));
    object.insert(
        "message".into(),
        Value::String(crate::redact::redact(message)),
    );
    for (key, value) in fields {
        if !object.contains_key(&key) {
            object.insert(crate::redact::redact(&key), redact_value(value));
        }
    }
    Value::Object(object).to_string()
}

/// `value` with every string in it redacted.
fn redact_value(value: Value) -> Value {
    match value {
        Value::String(s) => Value::String(crate::redact::redact(&s)),
        Value::Array(items) => Value::Array(items.into_iter().map(redact_value).collect()),
        Value::Object(members) => Value::Object(
            members
                .into_iter()
                .map(|(k, v)| (crate::redact::redact(&k), redact_value(v)))
                .collect(),
        ),
        other => other,
    }
}

/// Now, RFC 3339 in UTC to the microsecond.
fn now() -> String {
    let now = jiff::Timestamp::now();
    now.round(jiff::Unit::Microsecond)
        .unwrap_or(now)
        .to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Vec<String> {
        list.iter().map(|s| (*s).to_owned()).collect()
    }

    #[test]
    fn the_format_is_found_before_parsing() {
        assert_eq!(
            choose(&args(&["fetch", "--log-format", "json"]), None),
            LogFormat::Json
        );
        assert_eq!(
            choose(&args(&["--log-format=json", "types"]), None),
            LogFormat::Json
        );
        assert_eq!(choose(&args(&["fetch"]), Some("json")), LogFormat::Json);
        // The flag beats the environment; the last flag wins.
        assert_eq!(
            choose(&args(&["--log-format", "text"]), Some("json")),
            LogFormat::Text
        );
        assert_eq!(
            choose(&args(&["--log-format=text", "--log-format=json"]), None),
            LogFormat::Json
        );
        // After `--` it is an operand; an unknown value is clap's to refuse.
        assert_eq!(
            choose(&args(&["--", "--log-format=json"]), None),
            LogFormat::Text
        );
        assert_eq!(
            choose(&args(&["--log-format", "xml"]), None),
            LogFormat::Text
        );
        assert_eq!(choose(&args(&["--log-format"]), None), LogFormat::Text);
    }

    #[test]
    fn a_bad_environment_value_is_an_error_naming_the_variable() {
        assert_eq!(env_format(None), Ok(None));
        assert_eq!(env_format(Some("json")), Ok(Some(LogFormat::Json)));
        let message = env_format(Some("JSON!")).unwrap_err();
        assert!(message.contains(ENV_VAR), "{message}");
        assert!(!message.contains("JSON!"), "{message}");
    }

    #[test]
    fn json_lines_are_objects_with_every_string_redacted() {
        crate::redact::register_secret("diag-secret-1234");
        let mut fields = Map::new();
        fields.insert("count".into(), 3.into());
        fields.insert("path".into(), "/x/diag-secret-1234".into());
        fields.insert("level".into(), "ignored".into());
        let long = format!("start {} end \u{1b}[31m", "x".repeat(5000));
        let line = json_line("warn", &long, fields);
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["level"], "warn");
        assert_eq!(value["count"], 3);
        assert_eq!(value["path"], "/x/***");
        let message = value["message"].as_str().unwrap();
        assert!(message.chars().count() < 700, "cut: {message}");
        assert!(message.contains("\\u{1b}"), "escaped: {message}");
        assert!(!line.contains('\n'));
        let _: jiff::Timestamp = value["timestamp"].as_str().unwrap().parse().unwrap();
    }
}
