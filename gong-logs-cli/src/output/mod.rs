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
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn entry(text: &str) -> LogEntry {
        LogEntry::from_json(text).unwrap()
    }

    fn run(w: &mut dyn EntryWriter, entries: &[(LogType, LogEntry)]) -> String {
        let mut out = Vec::new();
        w.header(&mut out);
        for (t, e) in entries {
            w.entry(*t, e, &mut out);
        }
        w.flush(&mut out);
        w.footer(&mut out);
        String::from_utf8(out).unwrap()
    }

    const E1: &str = r#"{"eventTime":"2024-03-01T10:00:00.123Z","userId":"123456789012345678","userEmailAddress":"a@x.com","logRecord":{"call_id":"9","n":1.50,"s":"caf\u00e9 \"q\""},"newField":[1,{"z":null}]}"#;

    #[test]
    fn jsonl_and_json() {
        let es = vec![
            (LogType::AccessLog, entry(E1)),
            (LogType::UserCallPlay, entry("{}")),
        ];
        let jsonl = run(&mut JsonlWriter, &es);
        let expected1 = format!("{{\"logType\":\"AccessLog\",{}", &E1[1..]);
        assert_eq!(
            jsonl,
            format!("{expected1}\n{{\"logType\":\"UserCallPlay\"}}\n")
        );
        let json = run(&mut JsonWriter { any: false }, &es);
        assert_eq!(
            json,
            format!("[\n{expected1},\n{{\"logType\":\"UserCallPlay\"}}\n]\n")
        );
        assert_eq!(run(&mut JsonWriter { any: false }, &[]), "[]\n");
        serde_json::from_str::<serde_json::Value>(&json).unwrap();
    }

    #[test]
    fn pretty_printed_entries_stay_on_one_line() {
        let pretty =
            "{\n  \"eventTime\": \"2024-03-01T10:00:00Z\",\n  \"logRecord\": { \"a b\": 1 }\n}";
        let out = run(&mut JsonlWriter, &[(LogType::AccessLog, entry(pretty))]);
        assert_eq!(out.lines().count(), 1);
        assert_eq!(
            minify(&out),
            "{\"logType\":\"AccessLog\",\"eventTime\":\"2024-03-01T10:00:00Z\",\"logRecord\":{\"a b\":1}}"
        );
    }

    #[test]
    fn csv_standard_and_fields() {
        let es = vec![(LogType::AccessLog, entry(E1))];
        let out = run(&mut CsvWriter::new(None), &es);
        assert_eq!(
            out,
            "logType,eventTime,userId,userEmailAddress,userFullName,impersonatorUserId,impersonatorEmailAddress,impersonatorFullName,impersonatorCompanyId,logRecord,extra\r\n\
             AccessLog,2024-03-01T10:00:00.123Z,123456789012345678,a@x.com,,,,,,\"{\"\"call_id\"\":\"\"9\"\",\"\"n\"\":1.50,\"\"s\"\":\"\"caf\\u00e9 \\\"\"q\\\"\"\"\"}\",\"{\"\"newField\"\":[1,{\"\"z\"\":null}]}\"\r\n"
        );
        let fields = ["logType", "logRecord.call_id", "logRecord.s", "nope"]
            .map(|f| FieldPath::parse(f).unwrap())
            .to_vec();
        let out = run(&mut CsvWriter::new(Some(fields)), &es);
        assert_eq!(
            out,
            "logType,logRecord.call_id,logRecord.s,nope\r\nAccessLog,9,\"café \"\"q\"\"\",\r\n"
        );
    }

    #[test]
    fn csv_extra_is_an_empty_object_and_safe_mode_defuses_formulas() {
        let e = entry(
            r#"{"eventTime":"2024-03-01T10:00:00Z","userFullName":"=cmd|' /C calc'!A0","userId":"-1","userEmailAddress":"@x","impersonatorFullName":"\tx","logRecord":{}}"#,
        );
        let plain = run(
            &mut CsvWriter::new(None),
            &[(LogType::AccessLog, e.clone())],
        );
        let row = plain.split("\r\n").nth(1).unwrap();
        assert!(row.ends_with(",{},{}"), "{row}");
        assert!(row.contains(",=cmd|' /C calc'!A0,"), "{row}");
        let safe = run(
            &mut CsvWriter::with_options(None, true),
            &[(LogType::AccessLog, e)],
        );
        let row = safe.split("\r\n").nth(1).unwrap();
        assert!(row.contains(",'=cmd|' /C calc'!A0,"), "{row}");
        assert!(row.contains(",'-1,"), "{row}");
        assert!(row.contains(",'@x,"), "{row}");
        assert!(row.contains(",'\tx,"), "{row}");
        let mut out = Vec::new();
        csv_field("+a,\"b\"", true, &mut out);
        assert_eq!(out, b"\"'+a,\"\"b\"\"\"");
        let mut reader = csv::Reader::from_reader(safe.as_bytes());
        let rec = reader.records().next().unwrap().unwrap();
        assert_eq!(&rec[4], "'=cmd|' /C calc'!A0");
    }

    #[test]
    fn csv_of_a_long_value_is_exact() {
        // Long values without quotes: the old writer rescanned them for
        // every 1 KiB it copied (quadratic); this one copies once.
        let long = "x".repeat(3 << 20);
        let text = format!(r#"{{"eventTime":"t","logRecord":{{"v":"{long}"}}}}"#);
        let out = run(
            &mut CsvWriter::new(None),
            &[(LogType::AccessLog, entry(&text))],
        );
        let mut reader = csv::Reader::from_reader(out.as_bytes());
        let rec = reader.records().next().unwrap().unwrap();
        assert_eq!(&rec[9], format!(r#"{{"v":"{long}"}}"#));
    }

    #[test]
    fn table_aligns_and_sanitizes() {
        let es = vec![
            (LogType::AccessLog, entry(E1)),
            (
                LogType::ExternallySharedCallAccess,
                entry(
                    r#"{"eventTime":"2024-03-01T10:00:01Z","logRecord":{"ua":"evil\u001b[2J\nx"}}"#,
                ),
            ),
        ];
        let out = run(&mut TableWriter::new(None, Some(100)), &es);
        let lines: Vec<&str> = out.lines().collect();
        assert_eq!(lines.len(), 3);
        assert!(lines[0].starts_with("TIME "));
        let type_col = lines[0].find("TYPE").unwrap();
        assert_eq!(lines[1].find("AccessLog"), Some(type_col));
        assert_eq!(lines[2].find("ExternallySharedCallAccess"), Some(type_col));
        assert!(!out.contains('\u{1b}'));
        assert!(lines.iter().all(|l| l.chars().count() <= 100));
        assert_eq!(run(&mut TableWriter::new(None, None), &[]), "");
    }

    #[test]
    fn table_fits_any_width_by_display_columns() {
        let es = vec![
            (LogType::AccessLog, entry(E1)),
            (
                LogType::UserActivityLog,
                entry(
                    r#"{"eventTime":"2024-03-01T10:00:01Z","userEmailAddress":"日本語@例え.jp","logRecord":{"note":"絵文字 😀😀😀 and more text to cut"}}"#,
                ),
            ),
        ];
        for width in [120, 80, 40, 20, 5] {
            let out = run(&mut TableWriter::new(None, Some(width)), &es);
            for line in out.lines() {
                assert!(
                    crate::fit::width(line) <= width.max(20),
                    "{width}: {line:?} is {} columns",
                    crate::fit::width(line)
                );
            }
            assert_eq!(out.lines().count(), 3, "{width}: one line per row");
        }
        // Wide characters are aligned by display width.
        let out = run(&mut TableWriter::new(None, Some(200)), &es);
        let lines: Vec<&str> = out.lines().collect();
        let col = |l: &str, needle: &str| crate::fit::width(&l[..l.find(needle).unwrap()]);
        assert_eq!(col(lines[1], "a@x.com"), col(lines[2], "日本語"));
    }

    // ---- property tests: CSV and JSON round trips over arbitrary entries ----

    /// Arbitrary JSON text: unicode, escapes, quotes, newlines in strings,
    /// big integers, exponents, nesting, random whitespace between tokens.
    fn json_string() -> impl Strategy<Value = String> {
        prop::collection::vec(
            prop_oneof![
                any::<char>().prop_map(|c| {
                    let s = serde_json::to_string(&c.to_string()).unwrap();
                    s[1..s.len() - 1].to_owned()
                }),
                Just("\\\"".to_owned()),
                Just("\\n".to_owned()),
                Just("\\u00e9".to_owned()),
                Just("\\ud83d\\ude00".to_owned()),
                Just(",".to_owned()),
                Just("\\\\".to_owned()),
                "[a-z \"]{0,3}".prop_map(|s| s.replace('"', "\\\"")),
            ],
            0..6,
        )
        .prop_map(|parts| format!("\"{}\"", parts.concat()))
    }

    fn ws() -> impl Strategy<Value = &'static str> {
        prop::sample::select(vec!["", "", " ", "\n  ", "\t"])
    }

    fn json_value() -> impl Strategy<Value = String> {
        let leaf = prop_oneof![
            json_string(),
            Just("null".to_owned()),
            Just("true".to_owned()),
            Just("false".to_owned()),
            any::<i64>().prop_map(|n| n.to_string()),
            "-?[1-9][0-9]{18,30}".prop_map(|s| s),
            "-?[0-9]\\.[0-9]{1,5}([eE][+-]?[0-9]{1,3})?".prop_map(|s| s),
        ];
        leaf.prop_recursive(3, 24, 4, |inner| {
            prop_oneof![
                (prop::collection::vec((inner.clone(), ws()), 0..4)).prop_map(|items| {
                    let body: Vec<String> = items
                        .into_iter()
                        .map(|(v, w)| format!("{w}{v}{w}"))
                        .collect();
                    format!("[{}]", body.join(","))
                }),
                (prop::collection::vec((json_string(), inner, ws()), 0..4)).prop_map(|members| {
                    let body: Vec<String> = members
                        .into_iter()
                        .map(|(k, v, w)| format!("{w}{k}{w}:{w}{v}"))
                        .collect();
                    format!("{{{}}}", body.join(","))
                }),
            ]
        })
    }

    /// An entry: some known fields (strings, sometimes other values),
    /// a logRecord, and unknown fields, in random order.
    fn json_entry() -> impl Strategy<Value = String> {
        let known = prop::sample::subsequence(CSV_STRING_COLUMNS.to_vec(), 0..=8);
        (
            known,
            prop::collection::vec(prop_oneof![4 => json_string(), 1 => json_value()], 8),
            prop::option::of(json_value()),
            prop::collection::vec(("[a-zA-Z_-]{1,8}", json_value()), 0..3),
            any::<u64>(),
        )
            .prop_map(|(known, values, record, unknown, seed)| {
                let mut members: Vec<String> = Vec::new();
                for (k, v) in known.iter().zip(values) {
                    members.push(format!("\"{k}\":{v}"));
                }
                if let Some(r) = record {
                    members.push(format!("\"logRecord\" : {r}"));
                }
                for (k, v) in unknown {
                    if CSV_STRING_COLUMNS.contains(&k.as_str())
                        || k == "logRecord"
                        || k == "logType"
                    {
                        continue;
                    }
                    members.push(format!("\"{k}\":{v}"));
                }
                // Deterministic shuffle from the seed.
                let n = members.len();
                for i in (1..n).rev() {
                    let j = (seed.wrapping_mul(i as u64 + 7) % (i as u64 + 1)) as usize;
                    members.swap(i, j);
                }
                format!("{{{}}}", members.join(", "))
            })
    }

    /// Per top-level key: the decoded string for strings, else the compact
    /// JSON text (numbers and escapes as spelled).
    fn canonical(members: &[(String, &serde_json::value::RawValue)]) -> Vec<(String, String)> {
        let mut out: Vec<(String, String)> = members
            .iter()
            .map(|(k, v)| {
                let value = match as_string(v) {
                    Some(s) => format!("s:{s}"),
                    None => format!("j:{}", minify(v.get())),
                };
                (k.clone(), value)
            })
            .collect();
        out.sort();
        out
    }

    proptest! {
        #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

        /// CSV loses nothing: parsing the file back and rebuilding each entry
        /// from its columns and `extra` gives every field and value.
        #[test]
        fn csv_round_trip(texts in prop::collection::vec(json_entry(), 0..5)) {
            let entries: Vec<(LogType, LogEntry)> =
                texts.iter().map(|t| (LogType::UserActivityLog, entry(t))).collect();
            let out = run(&mut CsvWriter::new(None), &entries);
            let mut reader = csv::Reader::from_reader(out.as_bytes());
            let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
            prop_assert_eq!(header, CsvWriter::standard_header());
            let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
            prop_assert_eq!(rows.len(), texts.len());
            for (row, text) in rows.iter().zip(&texts) {
                prop_assert_eq!(&row[0], "UserActivityLog");
                let mut rebuilt: Vec<(String, String)> = Vec::new();
                for (i, column) in CSV_STRING_COLUMNS.iter().enumerate() {
                    if !row[i + 1].is_empty() {
                        rebuilt.push(((*column).to_owned(), format!("s:{}", &row[i + 1])));
                    }
                }
                if !row[9].is_empty() {
                    let record: &serde_json::value::RawValue = serde_json::from_str(&row[9]).unwrap();
                    rebuilt.extend(canonical(&[("logRecord".to_owned(), record)]));
                }
                if !row[10].is_empty() {
                    let extra = Members::parse(&row[10]).unwrap();
                    let extra = canonical(&extra.0);
                    rebuilt.retain(|(rk, _)| extra.iter().all(|(k, _)| k != rk));
                    rebuilt.extend(extra);
                }
                rebuilt.sort();
                let original = Members::parse(text).unwrap();
                prop_assert_eq!(rebuilt, canonical(&original.0), "entry {}", text);
            }
        }

        /// JSON lines and the JSON array carry each entry's exact text with
        /// "logType" added (modulo line breaks between tokens).
        #[test]
        fn json_round_trip(texts in prop::collection::vec(json_entry(), 0..5)) {
            let entries: Vec<(LogType, LogEntry)> =
                texts.iter().map(|t| (LogType::AccessLog, entry(t))).collect();
            let expected: Vec<String> = entries
                .iter()
                .map(|(t, e)| {
                    let mut buf = Vec::new();
                    e.write_with_log_type(&t.to_string(), &mut buf);
                    String::from_utf8(buf).unwrap()
                })
                .collect();
            let jsonl = run(&mut JsonlWriter, &entries);
            let lines: Vec<&str> = jsonl.lines().collect();
            prop_assert_eq!(lines.len(), expected.len());
            for (line, exp) in lines.iter().zip(&expected) {
                prop_assert_eq!(*line, exp.as_str());
            }
            let json = run(&mut JsonWriter { any: false }, &entries);
            let items: Vec<&serde_json::value::RawValue> = serde_json::from_str(&json).unwrap();
            prop_assert_eq!(items.len(), expected.len());
            for (item, exp) in items.iter().zip(&expected) {
                prop_assert_eq!(item.get(), exp.as_str());
            }
        }
    }
}
