//! The four output formats. A writer turns entries into bytes appended to a
//! buffer; where the bytes go (stdout, a file, a resumable file) is the
//! sink's business.

pub mod compress;
pub mod fields;
pub(crate) mod sink;

use gong_logs_api::{LogEntry, LogType};

use crate::output::fields::{FieldPath, Members, as_string, cell_text, minify};
use crate::values::Format;

/// The CSV columns, in order, besides `logType`, `logRecord` and `extra`.
pub const CSV_STRING_COLUMNS: [&str; 8] = [
    "eventTime",
    "userId",
    "userEmailAddress",
    "userFullName",
    "impersonatorUserId",
    "impersonatorEmailAddress",
    "impersonatorFullName",
    "impersonatorCompanyId",
];

/// Turns entries into bytes.
pub trait EntryWriter: Send {
    /// What starts the output (CSV header, `[`). Written once per output,
    /// never again when a resumed export appends.
    fn header(&mut self, out: &mut Vec<u8>);
    /// Appends one entry.
    fn entry(&mut self, log_type: LogType, entry: &LogEntry, out: &mut Vec<u8>);
    /// Emits anything held back (the table holds rows to size its columns).
    fn flush(&mut self, _out: &mut Vec<u8>) {}
    /// What ends the output (`]`), after a flush.
    fn footer(&mut self, _out: &mut Vec<u8>) {}
    /// Tells a writer that `entries` entries were written by an earlier run
    /// (a resumed export).
    fn resumed(&mut self, _entries: u64) {}
}

/// Builds the writer for a format. `fields` only for csv and table;
/// `width` caps table lines.
pub fn writer(
    format: Format,
    fields: Option<Vec<FieldPath>>,
    width: Option<usize>,
) -> Box<dyn EntryWriter> {
    writer_with(format, fields, width, false)
}

/// Like [`writer`]; `csv_safe` defuses formula-like csv cells
/// (`--csv-safe`).
pub fn writer_with(
    format: Format,
    fields: Option<Vec<FieldPath>>,
    width: Option<usize>,
    csv_safe: bool,
) -> Box<dyn EntryWriter> {
    match format {
        Format::Jsonl => Box::new(JsonlWriter),
        Format::Json => Box::new(JsonWriter { any: false }),
        Format::Csv => Box::new(CsvWriter::with_options(fields, csv_safe)),
        Format::Table => Box::new(TableWriter::new(fields, width)),
    }
}

/// The entry's exact text with `"logType"` added first, on one line (the
/// api crate turns line breaks between tokens into spaces).
pub fn entry_json(log_type: LogType, entry: &LogEntry, out: &mut Vec<u8>) {
    entry.write_with_log_type(&log_type.to_string(), out);
}

/// One JSON object per line.
#[derive(Debug)]
pub struct JsonlWriter;

impl EntryWriter for JsonlWriter {
    fn header(&mut self, _out: &mut Vec<u8>) {}

    fn entry(&mut self, log_type: LogType, entry: &LogEntry, out: &mut Vec<u8>) {
        entry_json(log_type, entry, out);
        out.push(b'\n');
    }
}

/// One JSON array, one entry per line: `[\n{..},\n{..}\n]\n`, or `[]\n`.
#[derive(Debug)]
pub struct JsonWriter {
    any: bool,
}

impl EntryWriter for JsonWriter {
    fn header(&mut self, out: &mut Vec<u8>) {
        out.push(b'[');
    }

    fn entry(&mut self, log_type: LogType, entry: &LogEntry, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.any { b",\n" } else { b"\n" });
        self.any = true;
        entry_json(log_type, entry, out);
    }

    fn footer(&mut self, out: &mut Vec<u8>) {
        out.extend_from_slice(if self.any { b"\n]\n" } else { b"]\n" });
    }

    fn resumed(&mut self, entries: u64) {
        self.any = entries > 0;
    }
}

/// CSV with a header: RFC 4180 (CRLF line ends, a field quoted when it
/// holds a comma, a quote, CR or LF, quotes doubled), written in one pass
/// over each cell: linear in the size of the entry, however long a value.
#[derive(Debug)]
pub struct CsvWriter {
    fields: Option<Vec<FieldPath>>,
    safe: bool,
}

/// Appends one CSV field to `out` in linear time.
pub fn csv_field(cell: &str, safe: bool, out: &mut Vec<u8>) {
    let bytes = cell.as_bytes();
    let prefix = safe
        && matches!(
            bytes.first(),
            Some(b'=' | b'+' | b'-' | b'@' | b'\t' | b'\r')
        );
    let quote = bytes
        .iter()
        .any(|b| matches!(b, b',' | b'"' | b'\r' | b'\n'));
    if !quote {
        if prefix {
            out.push(b'\'');
        }
        out.extend_from_slice(bytes);
        return;
    }
    out.reserve(bytes.len() + 3);
    out.push(b'"');
    if prefix {
        out.push(b'\'');
    }
    let mut start = 0;
    for (i, b) in bytes.iter().enumerate() {
        if *b == b'"' {
            out.extend_from_slice(&bytes[start..=i]);
            out.push(b'"');
            start = i + 1;
        }
    }
    out.extend_from_slice(&bytes[start..]);
    out.push(b'"');
}

impl CsvWriter {
    /// A writer of the standard columns (`None`) or of `fields`.
    pub fn new(fields: Option<Vec<FieldPath>>) -> Self {
        Self::with_options(fields, false)
    }

    /// Like [`Self::new`]; `safe` prefixes cells that start with `=`, `+`,
    /// `-`, `@`, tab or CR with `'` (OWASP's advice against CSV injection).
    pub fn with_options(fields: Option<Vec<FieldPath>>, safe: bool) -> Self {
        Self { fields, safe }
    }

    fn emit(&mut self, row: &[String], out: &mut Vec<u8>) {
        for (i, cell) in row.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            csv_field(cell, self.safe, out);
        }
        // A row of one empty field must not read as an empty line.
        if row.len() == 1 && row[0].is_empty() {
            out.extend_from_slice(b"\"\"");
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The header of the standard columns.
    pub fn standard_header() -> Vec<String> {
        let mut row = vec!["logType".to_owned()];
        row.extend(CSV_STRING_COLUMNS.iter().map(|s| (*s).to_owned()));
        row.push("logRecord".into());
        row.push("extra".into());
        row
    }

    /// The standard row of an entry: string columns hold a field only when it
    /// is a non-empty JSON string; any other value of a known field, and
    /// every unknown field, also goes into `extra` (a JSON object) so the row
    /// loses nothing.
    pub fn standard_row(log_type: LogType, entry: &LogEntry) -> Vec<String> {
        let text = as_written(log_type, entry);
        let members = Members::parse(&text);
        let members = members.as_ref().map(|m| m.0.as_slice()).unwrap_or(&[]);
        // The label, when written into the text, is the first column.
        let members = &members[usize::from(entry.has_log_type()).min(members.len())..];
        let mut row = vec![log_type.to_string()];
        for column in CSV_STRING_COLUMNS {
            let value = members.iter().find(|(k, _)| k == column).map(|(_, v)| *v);
            row.push(value.map(cell_text).unwrap_or_default());
        }
        let record = members
            .iter()
            .find(|(k, _)| k == "logRecord")
            .map(|(_, v)| *v);
        row.push(record.map(|r| minify(r.get())).unwrap_or_default());
        let mut extra = String::new();
        for (i, (key, value)) in members.iter().enumerate() {
            let first_of_name = members.iter().position(|(k, _)| k == key) == Some(i);
            let kept_in_column = first_of_name
                && (key == "logRecord"
                    || (CSV_STRING_COLUMNS.contains(&key.as_str())
                        && as_string(value).is_some_and(|s| !s.is_empty())));
            if kept_in_column {
                continue;
            }
            extra.push(if extra.is_empty() { '{' } else { ',' });
            extra.push_str(&serde_json::to_string(key).expect("a string serializes"));
            extra.push(':');
            extra.push_str(&minify(value.get()));
        }
        if extra.is_empty() {
            extra.push('{');
        }
        extra.push('}');
        row.push(extra);
        row
    }
}

impl EntryWriter for CsvWriter {
    fn header(&mut self, out: &mut Vec<u8>) {
        let header = match &self.fields {
            Some(fields) => fields.iter().map(|f| f.as_str().to_owned()).collect(),
            None => Self::standard_header(),
        };
        self.emit(&header, out);
    }

    fn entry(&mut self, log_type: LogType, entry: &LogEntry, out: &mut Vec<u8>) {
        let row = match &self.fields {
            Some(fields) => fields
                .iter()
                .map(|f| field_text(f, log_type, entry))
                .collect(),
            None => Self::standard_row(log_type, entry),
        };
        self.emit(&row, out);
    }
}

/// A field of the entry as JSON lines show it: `logType` is the label, and
/// an entry's own `logType` is found under the name it was moved to.
fn field_text(field: &FieldPath, log_type: LogType, entry: &LogEntry) -> String {
    if field.is_log_type() {
        return log_type.to_string();
    }
    field
        .lookup(&as_written(log_type, entry))
        .map(cell_text)
        .unwrap_or_default()
}

/// The entry's text as JSON lines write it, when that is more than the
/// label added in front: for an entry carrying its own `logType`.
fn as_written(log_type: LogType, entry: &LogEntry) -> std::borrow::Cow<'_, str> {
    if !entry.has_log_type() {
        return entry.json().into();
    }
    let mut buf = Vec::new();
    entry_json(log_type, entry, &mut buf);
    String::from_utf8(buf)
        .expect("an entry's JSON text is UTF-8")
        .into()
}

/// Aligned columns. Rows are held until enough are seen to size the columns
/// (or a flush), then streamed with those widths; longer cells are cut.
#[derive(Debug)]
pub struct TableWriter {
    fields: Option<Vec<FieldPath>>,
    width: Option<usize>,
    pending: Vec<Vec<String>>,
    widths: Option<Vec<usize>>,
}

const TABLE_SAMPLE_ROWS: usize = 100;
const TABLE_MAX_COLUMN: usize = 40;

impl TableWriter {
    fn new(fields: Option<Vec<FieldPath>>, width: Option<usize>) -> Self {
        Self {
            fields,
            width,
            pending: Vec::new(),
            widths: None,
        }
    }

    fn headers(&self) -> Vec<String> {
        match &self.fields {
            Some(fields) => fields.iter().map(|f| f.as_str().to_owned()).collect(),
            None => ["TIME", "TYPE", "USER", "SUMMARY"]
                .map(String::from)
                .to_vec(),
        }
    }

    fn row(&self, log_type: LogType, entry: &LogEntry) -> Vec<String> {
        let cells = match &self.fields {
            Some(fields) => fields
                .iter()
                .map(|f| field_text(f, log_type, entry))
                .collect(),
            None => {
                let members = Members::parse(entry.json());
                let get = |k: &str| members.as_ref().and_then(|m| m.get(k)).map(cell_text);
                let user = entry
                    .user_email()
                    .or(entry.user_id())
                    .map(str::to_owned)
                    .unwrap_or_else(|| "-".into());
                let summary = members
                    .as_ref()
                    .and_then(|m| m.get("logRecord"))
                    .map(summarize)
                    .unwrap_or_default();
                // Times in UTC, so that the column sorts and aligns; the
                // entry's own spelling is in jsonl/json/csv.
                let time = entry
                    .event_time()
                    .map(gong_logs_api::export::format_time)
                    .or_else(|| get("eventTime"))
                    .unwrap_or_default();
                vec![time, log_type.to_string(), user, summary]
            }
        };
        cells.into_iter().map(|c| sanitize(&c)).collect()
    }

    /// One line: every column but the last padded to its width (in
    /// display columns), then the whole line cut to the terminal's width
    /// (never below 20) with an ellipsis, so that it never wraps.
    fn write_line(&self, cells: &[String], out: &mut Vec<u8>) {
        let widths = self.widths.as_ref().expect("sized");
        let mut line = String::new();
        let last = cells.len().saturating_sub(1);
        for (i, cell) in cells.iter().enumerate() {
            if i == last {
                line.push_str(cell);
            } else {
                line.push_str(&crate::fit::pad(cell, widths[i]));
                line.push_str("  ");
            }
        }
        let line = match self.width {
            Some(w) => crate::fit::cut(line.trim_end(), w.max(crate::fit::MIN_WIDTH)),
            None => line.trim_end().to_owned(),
        };
        out.extend_from_slice(line.trim_end().as_bytes());
        out.push(b'\n');
    }

    fn size_and_emit(&mut self, out: &mut Vec<u8>) {
        if self.widths.is_none() {
            if self.pending.is_empty() {
                return;
            }
            let headers = self.headers();
            let mut widths: Vec<usize> = headers.iter().map(|h| crate::fit::width(h)).collect();
            for row in &self.pending {
                for (w, cell) in widths.iter_mut().zip(row) {
                    *w = (*w).max(crate::fit::width(cell).min(TABLE_MAX_COLUMN));
                }
            }
            if let Some(total) = self.width {
                shrink_to(&mut widths, total.max(crate::fit::MIN_WIDTH));
            }
            self.widths = Some(widths);
            self.write_line(&headers, out);
        }
        let rows = std::mem::take(&mut self.pending);
        for row in &rows {
            self.write_line(row, out);
        }
    }
}

impl EntryWriter for TableWriter {
    fn header(&mut self, _out: &mut Vec<u8>) {}

    fn entry(&mut self, log_type: LogType, entry: &LogEntry, out: &mut Vec<u8>) {
        let row = self.row(log_type, entry);
        self.pending.push(row);
        if self.widths.is_some() || self.pending.len() >= TABLE_SAMPLE_ROWS {
            self.size_and_emit(out);
        }
    }

    fn flush(&mut self, out: &mut Vec<u8>) {
        self.size_and_emit(out);
    }
}

/// Narrows the columns of a table that is wider than `total` so that the
/// last column (the summary) keeps about a fifth of the line: the columns
/// after the first shrink first, widest first, down to 6; then the first.
/// What still does not fit is cut from the end of the line.
fn shrink_to(widths: &mut [usize], total: usize) {
    let Some((last, fixed)) = widths.split_last_mut() else {
        return;
    };
    let gaps = 2 * fixed.len();
    let last_want = (*last).min((total / 5).max(10));
    let budget = total.saturating_sub(gaps + last_want);
    for (from, floor) in [(1, 6), (0, 6)] {
        while fixed.iter().sum::<usize>() > budget {
            let Some((i, w)) = fixed
                .iter()
                .enumerate()
                .skip(from)
                .max_by_key(|(i, w)| (**w, std::cmp::Reverse(*i)))
                .map(|(i, w)| (i, *w))
            else {
                break;
            };
            if w <= floor {
                break;
            }
            fixed[i] -= 1;
        }
        if from == 1 && fixed.len() > 1 && fixed[0] + gaps + 2 * 6 <= total {
            // The first column (the time) stays whole when it can.
            break;
        }
    }
}

/// A one-line human summary of a `logRecord`: `key=value` for its members,
/// scalars first (the most telling: action, method, status, call_id), then
/// nested values as compact JSON; empty values left out.
fn summarize(record: &serde_json::value::RawValue) -> String {
    match Members::parse(record.get()) {
        Some(members) => members
            .0
            .iter()
            .filter(|(_, v)| !matches!(v.get(), "null" | "\"\"" | "{}" | "[]"))
            .filter(|(_, v)| !v.get().starts_with(['{', '[']))
            .chain(members.0.iter().filter(|(_, v)| {
                v.get().starts_with(['{', '[']) && !matches!(v.get(), "{}" | "[]")
            }))
            .map(|(k, v)| {
                let text = cell_text(v);
                if text.contains(' ') && as_string(v).is_some() {
                    format!("{k}={text:?}")
                } else {
                    format!("{k}={text}")
                }
            })
            .collect::<Vec<_>>()
            .join(" "),
        None => cell_text(record),
    }
}

/// Control characters (line breaks, escape sequences) never reach the
/// terminal: Gong's entries carry text from anyone (user agents, URLs).
fn sanitize(text: &str) -> String {
    text.chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect()
}

#[cfg(test)]
mod tests;
