//! Unit tests of the four writers.

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
            entry(r#"{"eventTime":"2024-03-01T10:00:01Z","logRecord":{"ua":"evil\u001b[2J\nx"}}"#),
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

// Arbitrary JSON text (unicode, escapes, big integers, exponents, nesting,
// whitespace between tokens): the workspace's one set of generators.
use gong_logs_sim::arbitrary::{json_string, json_value};

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
                if CSV_STRING_COLUMNS.contains(&k.as_str()) || k == "logRecord" || k == "logType" {
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
