//! Generators of JSON text as Gong might send it, for property tests and
//! fuzz targets of the crates that read Gong's answers: any unicode,
//! escapes, quotes, big integers, nesting, whitespace; log entries with
//! Gong's fields in any order; and bytes derived from valid text by random
//! edits. Behind the `arbitrary` feature (it brings in proptest).

use proptest::prelude::*;

/// A JSON string literal (with its quotes): any unicode, escapes of every
/// kind, quotes, backslashes, line breaks (escaped, as JSON requires).
pub fn json_string() -> impl Strategy<Value = String> {
    prop::collection::vec(
        prop_oneof![
            any::<char>().prop_map(|c| {
                let s = serde_json::to_string(&c.to_string()).unwrap();
                s[1..s.len() - 1].to_owned()
            }),
            Just("\\\"".to_owned()),
            Just("\\n".to_owned()),
            Just("\\r\\n".to_owned()),
            Just("\\t".to_owned()),
            Just("\\/".to_owned()),
            Just("\\u00e9".to_owned()),
            Just("\\u0000".to_owned()),
            Just("\\ud83d\\ude00".to_owned()),
            Just("\\\\".to_owned()),
            Just("\u{2028}".to_owned()),
            Just("\"".replace('"', "\\\"")),
            "[a-zA-Z0-9 ,;:{}\\[\\]]{0,4}",
        ],
        0..6,
    )
    .prop_map(|parts| format!("\"{}\"", parts.concat()))
}

/// Whitespace JSON allows between tokens.
pub fn ws() -> impl Strategy<Value = &'static str> {
    prop::sample::select(vec!["", "", "", " ", "\n  ", "\t", "\r\n"])
}

/// A JSON number as a server might spell it: big integers beyond u64,
/// negative zero, fractions, exponents.
pub fn json_number() -> impl Strategy<Value = String> {
    prop_oneof![
        any::<i64>().prop_map(|n| n.to_string()),
        any::<u64>().prop_map(|n| n.to_string()),
        "-?[1-9][0-9]{19,40}",
        Just("-0".to_owned()),
        "-?(0|[1-9][0-9]{0,5})\\.[0-9]{1,8}",
        "-?[1-9](\\.[0-9]{1,4})?[eE][+-]?[0-9]{1,3}",
        "-?[0-9]\\.[0-9]{1,5}[eE][+-]?[0-9]{1,3}",
    ]
}

/// Any JSON value, nested up to 3 levels.
pub fn json_value() -> impl Strategy<Value = String> {
    let leaf = prop_oneof![
        json_string(),
        json_number(),
        Just("null".to_owned()),
        Just("true".to_owned()),
        Just("false".to_owned()),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            prop::collection::vec((inner.clone(), ws()), 0..5).prop_map(|items| {
                let body: Vec<String> = items
                    .into_iter()
                    .map(|(v, w)| format!("{w}{v}{w}"))
                    .collect();
                format!("[{}]", body.join(","))
            }),
            prop::collection::vec((json_string(), inner, ws()), 0..5).prop_map(|members| {
                let body: Vec<String> = members
                    .into_iter()
                    .map(|(k, v, w)| format!("{w}{k}{w}:{w}{v}{w}"))
                    .collect();
                format!("{{{}}}", body.join(","))
            }),
        ]
    })
}

/// An instant as Gong spells `eventTime`, with any offset and precision.
pub fn event_time() -> impl Strategy<Value = String> {
    (
        946_684_800i64..4_102_444_800,
        prop::sample::select(vec!["", ".5", ".123", ".123456", ".123456789"]),
        prop::sample::select(vec![
            ("Z", 0),
            ("+00:00", 0),
            ("+02:00", 120),
            ("-07:00", -420),
            ("+05:45", 345),
        ]),
    )
        .prop_map(|(secs, frac, (offset, minutes))| {
            let t = jiff::Timestamp::from_second(secs).unwrap();
            let off = jiff::tz::Offset::from_seconds(minutes * 60).unwrap();
            let civil = t.to_zoned(jiff::tz::TimeZone::fixed(off)).datetime();
            format!("\"{}{frac}{offset}\"", civil.strftime("%Y-%m-%dT%H:%M:%S"))
        })
}

/// A log entry: a JSON object with some of Gong's fields (eventTime,
/// userId as a big number or a string, email), a logRecord and unknown
/// fields, in any order, with any whitespace; valid JSON throughout.
pub fn json_entry() -> impl Strategy<Value = String> {
    (
        prop::option::of(event_time()),
        prop::option::of(prop_oneof![json_string(), json_number()]),
        prop::option::of(json_string()),
        prop::option::of(json_value()),
        prop::collection::vec(("[a-zA-Z_-]{1,10}", json_value()), 0..4),
        ws(),
        any::<u64>(),
    )
        .prop_map(|(time, user, email, record, unknown, w, seed)| {
            let mut members: Vec<String> = Vec::new();
            if let Some(t) = time {
                members.push(format!("\"eventTime\":{w}{t}"));
            }
            if let Some(u) = user {
                members.push(format!("\"userId\":{u}"));
            }
            if let Some(e) = email {
                members.push(format!("\"userEmailAddress\" :{e}"));
            }
            if let Some(r) = record {
                members.push(format!("\"logRecord\"{w}:{w}{r}"));
            }
            for (k, v) in unknown {
                if !matches!(
                    k.as_str(),
                    "eventTime" | "userId" | "userEmailAddress" | "logRecord" | "logType"
                ) {
                    members.push(format!("\"{k}\":{v}"));
                }
            }
            let n = members.len();
            for i in (1..n).rev() {
                let j = (seed.rotate_left(i as u32) % (i as u64 + 1)) as usize;
                members.swap(i, j);
            }
            format!("{{{w}{}{w}}}", members.join(&format!(",{w}")))
        })
}

/// Bytes derived from `valid` by a few random edits (flip, cut, insert,
/// duplicate a slice): the inputs a broken proxy or a truncated read
/// produce.
pub fn mutated(valid: impl Strategy<Value = String>) -> impl Strategy<Value = Vec<u8>> {
    (
        valid,
        prop::collection::vec(
            (any::<u8>(), any::<prop::sample::Index>(), any::<u8>()),
            1..4,
        ),
    )
        .prop_map(|(text, edits)| {
            let mut bytes = text.into_bytes();
            for (op, at, byte) in edits {
                if bytes.is_empty() {
                    bytes.push(byte);
                    continue;
                }
                let i = at.index(bytes.len());
                match op % 4 {
                    0 => bytes[i] = byte,
                    1 => bytes.truncate(i),
                    2 => bytes.insert(i, byte),
                    _ => {
                        let end = (i + 1 + usize::from(byte % 16)).min(bytes.len());
                        let slice = bytes[i..end].to_vec();
                        bytes.splice(i..i, slice);
                    }
                }
            }
            bytes
        })
}
