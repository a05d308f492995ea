//! `tracing` events (`-v`, `-vv`, `RUST_LOG`) as JSON lines: the event's
//! fields (each string redacted) beside `timestamp`, `level` and
//! `message`, written whole or not at all (a closed stderr is ignored).

use std::fmt;
use std::io::Write as _;

use serde_json::{Map, Value};
use tracing::field::{Field, Visit};
use tracing_subscriber::fmt::format::Writer;
use tracing_subscriber::fmt::{FmtContext, FormatEvent, FormatFields};
use tracing_subscriber::registry::LookupSpan;

/// The JSON form of an event ([`super::json_line`]).
#[derive(Clone, Copy, Debug)]
pub(crate) struct JsonEvents;

impl<S, N> FormatEvent<S, N> for JsonEvents
where
    S: tracing::Subscriber + for<'a> LookupSpan<'a>,
    N: for<'a> FormatFields<'a> + 'static,
{
    fn format_event(
        &self,
        _ctx: &FmtContext<'_, S, N>,
        mut writer: Writer<'_>,
        event: &tracing::Event<'_>,
    ) -> fmt::Result {
        let mut fields = Fields::default();
        event.record(&mut fields);
        let level = event.metadata().level().as_str().to_ascii_lowercase();
        let line = super::json_line(&level, &fields.message, fields.others);
        writer.write_str(&line)?;
        writer.write_char('\n')
    }
}

/// An event's fields: `message` apart, the others as JSON values.
#[derive(Debug, Default)]
struct Fields {
    message: String,
    others: Map<String, Value>,
}

impl Fields {
    fn put(&mut self, field: &Field, value: Value) {
        if field.name() == "message" {
            self.message = match value {
                Value::String(s) => s,
                other => other.to_string(),
            };
        } else {
            self.others.insert(field.name().to_owned(), value);
        }
    }
}

impl Visit for Fields {
    fn record_debug(&mut self, field: &Field, value: &dyn fmt::Debug) {
        self.put(field, Value::String(format!("{value:?}")));
    }

    fn record_str(&mut self, field: &Field, value: &str) {
        self.put(field, Value::String(value.to_owned()));
    }

    fn record_u64(&mut self, field: &Field, value: u64) {
        self.put(field, value.into());
    }

    fn record_i64(&mut self, field: &Field, value: i64) {
        self.put(field, value.into());
    }

    fn record_bool(&mut self, field: &Field, value: bool) {
        self.put(field, value.into());
    }

    fn record_f64(&mut self, field: &Field, value: f64) {
        self.put(field, value.into());
    }
}

/// The writer of tracing's lines: each event's line is written whole when
/// dropped, a failure ignored (after SIGHUP the terminal is gone). `redact`:
/// the text form, whose line goes through [`crate::exit::redact`] (secrets,
/// control characters, length); the JSON form redacts each string itself.
#[derive(Clone, Copy, Debug)]
pub(crate) struct StderrLines {
    /// Redact the whole line before writing it.
    pub(crate) redact: bool,
}

/// One event's line, written when dropped.
#[derive(Debug)]
pub(crate) struct EventLine {
    text: Vec<u8>,
    redact: bool,
}

impl std::io::Write for EventLine {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.text.extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl Drop for EventLine {
    fn drop(&mut self) {
        if self.text.is_empty() {
            return;
        }
        let mut stderr = std::io::stderr().lock();
        let _ = if self.redact {
            let text = String::from_utf8_lossy(&self.text);
            let line = crate::exit::redact(text.trim_end_matches('\n'));
            writeln!(stderr, "{line}")
        } else {
            stderr.write_all(&self.text)
        };
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for StderrLines {
    type Writer = EventLine;

    fn make_writer(&'a self) -> Self::Writer {
        EventLine {
            text: Vec::new(),
            redact: self.redact,
        }
    }
}
