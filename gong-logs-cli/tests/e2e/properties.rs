//! Property tests (proptest) of the pieces "exactly once" and "lossless"
//! rest on: TIME parsing and formatting, the engine's window splitting, and
//! the output writers (including a resumed run appending to an earlier
//! one). They complement the unit properties in `gong-logs-cli/src/time.rs`
//! (format/parse round trip, `N<unit>` spans) and `src/output.rs` (CSV and
//! JSON round trips of arbitrary entries).
//!
//! Counts: `cargo test -p gong-logs-cli --test e2e properties:: -- --nocapture`;
//! more cases: `PROPTEST_CASES=100000 cargo test -p gong-logs-cli --test e2e properties::`.

use crate::common;

use common::{check, json_entry, json_value};
use gong_logs_api::LogEntry;
use gong_logs_api::export::{format_time, split_windows};
use gong_logs_cli::cli::Format;
use gong_logs_cli::fields::{Members, minify};
use gong_logs_cli::output;
use gong_logs_cli::time::{parse_interval, parse_span, parse_time};
use jiff::{SignedDuration, Timestamp};
use proptest::prelude::*;
use proptest::test_runner::TestCaseError;
use serde_json::value::RawValue;

const DEFAULT_CASES: u32 = 512;
/// Whole entries are slower to generate (nested JSON): fewer by default.
const ENTRY_CASES: u32 = 192;

fn now() -> Timestamp {
    "2024-03-10T15:30:45.25Z".parse().unwrap()
}

/// Any instant jiff supports, with any sub-second part.
fn any_instant() -> impl Strategy<Value = Timestamp> {
    (
        Timestamp::MIN.as_second()..=Timestamp::MAX.as_second(),
        prop_oneof![Just(0i32), 0..1_000_000_000i32],
    )
        .prop_map(|(s, n)| {
            Timestamp::new(s, n).unwrap_or_else(|_| Timestamp::from_second(s).unwrap())
        })
}

// ---------------------------------------------------------------------------
// TIME

#[test]
fn prop_format_time_is_canonical_utc_and_reads_back() {
    check(
        "prop_format_time_is_canonical_utc_and_reads_back",
        DEFAULT_CASES,
        any_instant(),
        |t| {
            let text = format_time(t);
            prop_assert!(text.ends_with('Z'), "{text}");
            let fraction = text.split_once('.').map(|(_, f)| f.trim_end_matches('Z'));
            match fraction {
                None => prop_assert_eq!(t.subsec_nanosecond(), 0, "{}", text),
                Some(f) => {
                    prop_assert!(t.subsec_nanosecond() != 0, "{}", text);
                    prop_assert!(!f.ends_with('0'), "no trailing zeros: {}", text);
                }
            }
            prop_assert_eq!(parse_time(&text, now()), Ok(t));
            prop_assert_eq!(parse_time(&format!("  {text}\t"), now()), Ok(t));
            Ok(())
        },
    );
}

#[test]
fn prop_bare_dates_are_midnight_utc_and_impossible_dates_are_refused() {
    check(
        "prop_bare_dates_are_midnight_utc_and_impossible_dates_are_refused",
        DEFAULT_CASES,
        (1i16..=9999, 1i8..=12, 1i8..=31),
        |(year, month, day)| {
            let text = format!("{year:04}-{month:02}-{day:02}");
            match jiff::civil::Date::new(year, month, day) {
                Ok(date) => {
                    let midnight = date.to_zoned(jiff::tz::TimeZone::UTC).unwrap().timestamp();
                    prop_assert_eq!(parse_time(&text, now()), Ok(midnight));
                }
                Err(_) => prop_assert!(parse_time(&text, now()).is_err(), "{}", text),
            }
            Ok(())
        },
    );
}

#[test]
fn prop_date_times_without_offset_are_refused_with_a_hint() {
    check(
        "prop_date_times_without_offset_are_refused_with_a_hint",
        DEFAULT_CASES,
        (
            1i16..=9999,
            1i8..=12,
            1i8..=28,
            0i8..24,
            0i8..60,
            0i8..60,
            prop::sample::select(vec!["", ".5", ".000001", ".999999999"]),
        ),
        |(y, mo, d, h, mi, s, frac)| {
            let text = format!("{y:04}-{mo:02}-{d:02}T{h:02}:{mi:02}:{s:02}{frac}");
            let err = parse_time(&text, now()).expect_err("no offset");
            prop_assert!(err.0.contains("add Z"), "{}: {}", text, err);
            // With Z it is that instant in UTC.
            let with_z = format!("{text}Z");
            prop_assert_eq!(
                parse_time(&with_z, now()).map(format_time),
                Ok(with_z.parse::<Timestamp>().unwrap().to_string())
            );
            Ok(())
        },
    );
}

#[test]
fn prop_keywords_any_case_any_surrounding_space() {
    check(
        "prop_keywords_any_case_any_surrounding_space",
        DEFAULT_CASES,
        (
            prop::sample::select(vec!["now", "today", "yesterday"]),
            any::<u32>(),
            " {0,2}",
            any_instant().prop_filter("a day after MIN", |t| {
                t.as_second() > Timestamp::MIN.as_second() + 2 * 86_400
            }),
        ),
        |(word, case_bits, pad, at)| {
            let cased: String = word
                .chars()
                .enumerate()
                .map(|(i, c)| {
                    if case_bits >> (i % 32) & 1 == 1 {
                        c.to_ascii_uppercase()
                    } else {
                        c
                    }
                })
                .collect();
            let got = parse_time(&format!("{pad}{cased}{pad}"), at).unwrap();
            let midnight =
                Timestamp::from_second(at.as_second().div_euclid(86_400) * 86_400).unwrap();
            let want = match word {
                "now" => at,
                "today" => midnight,
                _ => midnight
                    .checked_sub(SignedDuration::from_hours(24))
                    .unwrap(),
            };
            prop_assert_eq!(got, want);
            Ok(())
        },
    );
}

#[test]
fn prop_spans_of_several_units_add_up() {
    let unit = prop::sample::select(vec![
        ('s', 1i64),
        ('m', 60),
        ('h', 3_600),
        ('d', 86_400),
        ('w', 604_800),
    ]);
    check(
        "prop_spans_of_several_units_add_up",
        DEFAULT_CASES,
        prop::collection::vec((0i64..100_000, unit), 1..5),
        |parts| {
            let text: String = parts.iter().map(|(n, (u, _))| format!("{n}{u}")).collect();
            let total: i64 = parts.iter().map(|(n, (_, secs))| n * secs).sum();
            let cap = 1_000 * 366 * 86_400;
            match parse_span(&text) {
                Ok(span) => {
                    prop_assert!(total <= cap, "{}", text);
                    prop_assert_eq!(span, SignedDuration::from_secs(total));
                    prop_assert_eq!(
                        parse_time(&text, now()),
                        Ok(now().checked_sub(span).unwrap())
                    );
                    match parse_interval(&text) {
                        Ok(d) => prop_assert_eq!(d.as_secs() as i64, total),
                        Err(_) => prop_assert_eq!(total, 0),
                    }
                }
                Err(e) => {
                    prop_assert!(total > cap, "{} refused: {}", text, e);
                    prop_assert!(e.0.contains("too long"), "{}", e);
                }
            }
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------
// Window splitting

#[test]
fn prop_windows_cover_the_range_exactly_on_whole_seconds() {
    // Ranges from a nanosecond to decades, anywhere jiff allows.
    let range = (
        any_instant(),
        prop_oneof![
            1i128..2_000_000_000,
            1i128..100_000_000_000_000,
            1i128..10_000_000_000_000_000_000,
        ],
    )
        .prop_filter_map("to within range", |(from, span)| {
            let to = Timestamp::from_nanosecond(from.as_nanosecond() + span).ok()?;
            Some((from, to))
        });
    check(
        "prop_windows_cover_the_range_exactly_on_whole_seconds",
        DEFAULT_CASES,
        (range, prop_oneof![0u64..=16, 0u64..=10_000]),
        |((from, to), count)| {
            let windows = split_windows(from, to, count);
            prop_assert!(!windows.is_empty());
            prop_assert!(
                windows.len() as u64 <= count.max(1),
                "{} windows",
                windows.len()
            );
            prop_assert_eq!(windows[0].0, from);
            prop_assert_eq!(windows[windows.len() - 1].1, to);
            for (i, (a, b)) in windows.iter().enumerate() {
                prop_assert!(a < b, "window {} is empty: {} .. {}", i, a, b);
                if i > 0 {
                    prop_assert_eq!(*a, windows[i - 1].1, "gap or overlap at {}", i);
                    prop_assert_eq!(a.subsec_nanosecond(), 0, "inner bound {} off a second", a);
                }
            }
            // No window wasted: a range of at least `count` seconds gets
            // exactly `count` windows.
            let span = to.as_nanosecond() - from.as_nanosecond();
            if count > 0 && span >= i128::from(count) * 1_000_000_000 {
                prop_assert_eq!(windows.len() as u64, count);
            }
            prop_assert!(split_windows(to, from, count).is_empty());
            prop_assert!(split_windows(from, from, count).is_empty());
            Ok(())
        },
    );
}

// ---------------------------------------------------------------------------
// Writers

fn entry_with_log_type(entry: &LogEntry, log_type: &str) -> String {
    let mut out = Vec::new();
    entry.write_with_log_type(log_type, &mut out);
    String::from_utf8(out).unwrap()
}

/// Writes entries through a fresh writer; `split`: the first run stops
/// (as a killed run does) after `split` entries and a resumed writer
/// appends the rest.
fn write(format: Format, entries: &[LogEntry], split: Option<usize>) -> String {
    let log_type = gong_logs_api::LogType::UserActivityLog;
    let mut out = Vec::new();
    let mut w = output::writer(format, None, None);
    w.header(&mut out);
    let k = split.unwrap_or(entries.len());
    for e in &entries[..k] {
        w.entry(log_type, e, &mut out);
    }
    if split.is_some() {
        w = output::writer(format, None, None);
        w.resumed(k as u64);
        for e in &entries[k..] {
            w.entry(log_type, e, &mut out);
        }
    }
    w.flush(&mut out);
    w.footer(&mut out);
    String::from_utf8(out).unwrap()
}

#[test]
fn prop_json_and_jsonl_carry_every_member_with_log_type_added() {
    check(
        "prop_json_and_jsonl_carry_every_member_with_log_type_added",
        ENTRY_CASES,
        prop::collection::vec(json_entry(), 0..5),
        |texts| {
            let entries: Vec<LogEntry> = texts
                .iter()
                .map(|t| LogEntry::from_json(t).unwrap())
                .collect();
            let jsonl = write(Format::Jsonl, &entries, None);
            let json = write(Format::Json, &entries, None);
            // Raw values: numbers like 1e400 stay as spelled (no f64).
            let array: Vec<&RawValue> = serde_json::from_str(&json).unwrap();
            let lines: Vec<&str> = jsonl.lines().collect();
            prop_assert_eq!(lines.len(), texts.len());
            prop_assert_eq!(array.len(), texts.len());
            for ((text, line), item) in texts.iter().zip(&lines).zip(&array) {
                prop_assert_eq!(*line, item.get());
                let written = Members::parse(line).expect("an object");
                let original = Members::parse(text).expect("an object");
                prop_assert_eq!(&written.0[0].0, "logType");
                prop_assert_eq!(written.0[0].1.get(), "\"UserActivityLog\"");
                // Every other member, in order, its value byte for byte
                // (whitespace between tokens aside).
                prop_assert_eq!(written.0.len(), original.0.len() + 1);
                for ((k1, v1), (k2, v2)) in written.0[1..].iter().zip(&original.0) {
                    prop_assert_eq!(k1, k2);
                    prop_assert_eq!(minify(v1.get()), minify(v2.get()));
                }
            }
            Ok(())
        },
    );
}

#[test]
fn prop_an_entrys_own_log_type_is_moved_and_the_label_comes_first() {
    check(
        "prop_an_entrys_own_log_type_is_moved_and_the_label_comes_first",
        ENTRY_CASES,
        (
            json_entry(),
            json_value(),
            prop::option::of(json_value()),
            any::<bool>(),
        ),
        |(text, value, gong_value, first)| {
            let inner = text[1..text.len() - 1].trim();
            let mut own = vec![format!("\"logType\":{value}")];
            if let Some(g) = gong_value {
                own.push(format!("\"gongLogType\":{g}"));
            }
            if !inner.is_empty() {
                if first {
                    own.push(inner.to_owned());
                } else {
                    own.insert(0, inner.to_owned());
                }
            }
            let text = format!("{{{}}}", own.join(","));
            let entry = match LogEntry::from_json(&text) {
                Ok(e) => e,
                Err(e) => return Err(TestCaseError::fail(format!("{text}: {e}"))),
            };
            let written = entry_with_log_type(&entry, "AccessLog");
            let members = Members::parse(&written).expect("an object");
            let original = Members::parse(&text).expect("an object");
            prop_assert_eq!(&members.0[0].0, "logType");
            prop_assert_eq!(members.0[0].1.get(), "\"AccessLog\"");
            prop_assert_eq!(members.0.len(), original.0.len() + 1);
            // Every member kept in order, its value byte for byte; the
            // names the label displaces move one step along their chain.
            for ((k1, v1), (k2, v2)) in members.0[1..].iter().zip(&original.0) {
                let moved = match k2.as_str() {
                    "logType" => "gongLogType",
                    "gongLogType" => "gongGongLogType",
                    other => other,
                };
                prop_assert_eq!(k1.as_str(), moved);
                prop_assert_eq!(v1.get(), v2.get().replace(['\n', '\r'], " "));
            }
            prop_assert_eq!(members.0.iter().filter(|(k, _)| k == "logType").count(), 1);
            Ok(())
        },
    );
}

#[test]
fn prop_a_resumed_writer_continues_the_same_output() {
    check(
        "prop_a_resumed_writer_continues_the_same_output",
        ENTRY_CASES,
        (
            prop::collection::vec(json_entry(), 0..5),
            any::<prop::sample::Index>(),
            prop::sample::select(vec![Format::Jsonl, Format::Json, Format::Csv]),
        ),
        |(texts, at, format)| {
            let entries: Vec<LogEntry> = texts
                .iter()
                .map(|t| LogEntry::from_json(t).unwrap())
                .collect();
            let split = at.index(entries.len() + 1);
            let whole = write(format, &entries, None);
            let resumed = write(format, &entries, Some(split));
            prop_assert_eq!(&resumed, &whole, "{:?} split at {}", format, split);
            if format == Format::Json {
                let array: Vec<&RawValue> = serde_json::from_str(&resumed).unwrap();
                prop_assert_eq!(array.len(), entries.len());
            }
            if format == Format::Csv {
                let rows = csv::Reader::from_reader(resumed.as_bytes())
                    .records()
                    .count();
                prop_assert_eq!(rows, entries.len());
            }
            Ok(())
        },
    );
}

/// Product bug: `LogEntry` read `"logType": null` as "no logType key" (an
/// `Option` field), so the writer added a second `logType` key:
/// `{"logType":"AccessLog","logType":null}`. The server's `null` is kept
/// under `gongLogType` like any other value.
#[test]
fn a_null_log_type_is_moved_not_duplicated() {
    let entry =
        LogEntry::from_json(r#"{"logType":null,"eventTime":"2024-01-01T00:00:00Z"}"#).unwrap();
    assert_eq!(
        entry_with_log_type(&entry, "AccessLog"),
        r#"{"logType":"AccessLog","gongLogType":null,"eventTime":"2024-01-01T00:00:00Z"}"#
    );
}
