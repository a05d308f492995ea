//! The entries the simulator serves: generated deterministically from a seed,
//! or loaded from a JSONL file.
//!
//! Every entry is serialized once, up front; pages are built by copying a
//! contiguous slice of pre-joined JSON text.

use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

use jiff::Timestamp;
use jiff::tz::Offset;
use serde::de::{Deserializer, MapAccess, Visitor};
use serde_json::value::RawValue;
use serde_json::{Map, Value, json};

use crate::config::{LogType, SimConfig};
use crate::error::SimError;
use crate::rng::Rng;

/// One log entry as it goes on the wire.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Entry {
    /// The exact serialized JSON object the simulator sends inside `logEntries`.
    pub json: String,
    /// The instant of its `eventTime` (the text keeps its own offset).
    pub time: Timestamp,
}

#[derive(Debug, Clone, Default)]
struct TypeData {
    entries: Vec<Entry>,
    /// All entries' JSON joined by `,`.
    joined: String,
    /// `starts[i]` = byte offset of entry `i` in `joined`; `starts[len]` =
    /// `joined.len() + 1` (as if a trailing comma followed).
    starts: Vec<usize>,
}

impl TypeData {
    fn new(entries: Vec<Entry>) -> TypeData {
        let total: usize = entries.iter().map(|e| e.json.len() + 1).sum();
        let mut joined = String::with_capacity(total);
        let mut starts = Vec::with_capacity(entries.len() + 1);
        for (i, e) in entries.iter().enumerate() {
            if i > 0 {
                joined.push(',');
            }
            starts.push(joined.len());
            joined.push_str(&e.json);
        }
        starts.push(joined.len() + 1);
        TypeData {
            entries,
            joined,
            starts,
        }
    }
}

/// The static data set served by a simulator, per log type, in ascending
/// `eventTime` order (stable for equal instants).
#[derive(Clone, Default)]
pub struct Dataset {
    types: [TypeData; 5],
}

impl fmt::Debug for Dataset {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut m = f.debug_map();
        for t in LogType::ALL {
            m.entry(&t.as_str(), &self.entries(t).len());
        }
        m.finish()
    }
}

impl Dataset {
    /// The data set a `SimConfig` describes: its `data_file` if set, else
    /// generated from `seed`, `entries_per_type`, `start`/`end` and `log_types`.
    pub fn from_config(config: &SimConfig) -> Result<Dataset, SimError> {
        if let Some(path) = &config.data_file {
            return Dataset::from_jsonl(path);
        }
        let (start, end) = config.data_range(Timestamp::now());
        if start >= end {
            return Err(SimError::InvalidConfig(format!(
                "data range start {start} must be before end {end}"
            )));
        }
        Ok(Dataset::generate(
            config.seed,
            config.entries_per_type,
            start,
            end,
            &config.log_types,
        ))
    }

    /// Generates `entries_per_type` entries for each of `log_types`, with event
    /// times in `[start, end)`. The same arguments always give the same data.
    pub fn generate(
        seed: u64,
        entries_per_type: usize,
        start: Timestamp,
        end: Timestamp,
        log_types: &[LogType],
    ) -> Dataset {
        let mut ds = Dataset::default();
        for &t in log_types {
            if ds.types[t.index()].entries.is_empty() {
                let entries = generate_type(seed, t, entries_per_type, start, end);
                ds.types[t.index()] = TypeData::new(entries);
            }
        }
        ds
    }

    /// Builds a data set from entries given as JSON objects (without
    /// `logType`), sorting each type stably by `eventTime`.
    pub fn from_entries(entries: impl IntoIterator<Item = (LogType, Entry)>) -> Dataset {
        let mut per: [Vec<Entry>; 5] = Default::default();
        for (t, e) in entries {
            per[t.index()].push(e);
        }
        let mut ds = Dataset::default();
        for (i, mut v) in per.into_iter().enumerate() {
            v.sort_by_key(|e| e.time);
            ds.types[i] = TypeData::new(v);
        }
        ds
    }

    /// Loads a JSONL file: one JSON object per line, each with a `logType`
    /// key (stripped when serving) and an `eventTime` key. Blank lines are
    /// skipped. Values are kept byte for byte (big integers, decimals, nested
    /// whitespace), so a real export replays exactly.
    pub fn from_jsonl(path: &Path) -> Result<Dataset, SimError> {
        let text = std::fs::read_to_string(path).map_err(|source| SimError::DataFileIo {
            path: path.to_owned(),
            source,
        })?;
        Dataset::parse_jsonl(&text, path)
    }

    /// Like [`Dataset::from_jsonl`], from text in memory.
    pub fn from_jsonl_str(text: &str) -> Result<Dataset, SimError> {
        Dataset::parse_jsonl(text, Path::new("<memory>"))
    }

    fn parse_jsonl(text: &str, path: &Path) -> Result<Dataset, SimError> {
        let mut entries = Vec::new();
        for (i, line) in text.lines().enumerate() {
            let line = line.trim_start_matches('\u{feff}').trim();
            if line.is_empty() {
                continue;
            }
            let err = |message: String| SimError::DataFileLine {
                path: PathBuf::from(path),
                line: i + 1,
                message,
            };
            entries.push(parse_line(line).map_err(err)?);
        }
        Ok(Dataset::from_entries(entries))
    }

    /// The entries served for `log_type`, ascending by time.
    pub fn entries(&self, log_type: LogType) -> &[Entry] {
        &self.types[log_type.index()].entries
    }

    /// The entries in the half-open range `[from, to)`; `to = None` means up to
    /// the newest entry. Exactly what a walk of all pages for that range gives.
    pub fn entries_in(
        &self,
        log_type: LogType,
        from: Timestamp,
        to: Option<Timestamp>,
    ) -> &[Entry] {
        &self.entries(log_type)[self.range(log_type, from, to)]
    }

    /// Total number of entries over all types.
    pub fn len(&self) -> usize {
        self.types.iter().map(|t| t.entries.len()).sum()
    }

    /// Whether no type has any entry.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub(crate) fn range(
        &self,
        log_type: LogType,
        from: Timestamp,
        to: Option<Timestamp>,
    ) -> Range<usize> {
        let entries = self.entries(log_type);
        let lo = entries.partition_point(|e| e.time < from);
        let hi = match to {
            Some(to) => entries.partition_point(|e| e.time < to),
            None => entries.len(),
        };
        lo..hi.max(lo)
    }

    /// The JSON text of entries `range`, joined by commas (no brackets).
    pub(crate) fn joined(&self, log_type: LogType, range: Range<usize>) -> &str {
        if range.is_empty() {
            return "";
        }
        let t = &self.types[log_type.index()];
        &t.joined[t.starts[range.start]..t.starts[range.end] - 1]
    }
}

// ---------------------------------------------------------------------------
// JSONL loading

/// A JSON object whose values are kept as raw text, in order.
struct RawObject(Vec<(String, Box<RawValue>)>);

impl<'de> serde::Deserialize<'de> for RawObject {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> Visitor<'de> for V {
            type Value = RawObject;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<RawObject, A::Error> {
                let mut v = Vec::new();
                while let Some((k, val)) = map.next_entry::<String, Box<RawValue>>()? {
                    v.push((k, val));
                }
                Ok(RawObject(v))
            }
        }
        d.deserialize_map(V)
    }
}

fn parse_line(line: &str) -> Result<(LogType, Entry), String> {
    let obj: RawObject =
        serde_json::from_str(line).map_err(|e| format!("not a JSON object: {e}"))?;
    let mut log_type = None;
    let mut time = None;
    let mut json = String::with_capacity(line.len());
    json.push('{');
    for (k, v) in &obj.0 {
        if k == "logType" {
            let s: String = serde_json::from_str(v.get())
                .map_err(|_| "\"logType\" must be a string".to_owned())?;
            log_type = Some(s.parse::<LogType>().map_err(|e| e.to_string())?);
            continue;
        }
        if k == "eventTime" {
            let s: String = serde_json::from_str(v.get())
                .map_err(|_| "\"eventTime\" must be a string".to_owned())?;
            time = Some(s.parse::<Timestamp>().map_err(|e| {
                format!("\"eventTime\" {s:?} is not an ISO-8601 date-time with offset: {e}")
            })?);
        }
        if json.len() > 1 {
            json.push(',');
        }
        json.push_str(&serde_json::to_string(k).map_err(|e| e.to_string())?);
        json.push(':');
        json.push_str(v.get());
    }
    json.push('}');
    let log_type = log_type.ok_or("missing \"logType\"")?;
    let time = time.ok_or("missing \"eventTime\"")?;
    Ok((log_type, Entry { json, time }))
}

// ---------------------------------------------------------------------------
// Generation

/// Users; names chosen to trip up encoders (unicode, emoji, commas, quotes).
const USERS: &[(&str, &str, &str)] = &[
    ("234599484848423", "jon.snow@example.com", "Jon Snow"),
    (
        "7436278140593850112",
        "zoe.angstrom@example.se",
        "Zoë Ångström",
    ),
    ("5512309876543210987", "bruce.lee@example.hk", "李小龍"),
    (
        "1098234756102938",
        "renee.dupont@example.fr",
        "Renée \"The Hammer\" Dupont",
    ),
    (
        "3141592653589793238",
        "john.smith@example.com",
        "Smith, John",
    ),
    (
        "2718281828459045",
        "priya.raman@example.in",
        "Priya Raman 🚀✨",
    ),
    ("9876543210123456", "olaf.moller@example.no", "Ølaf Møller"),
    (
        "1234567890123456789",
        "d.ivanov@example.ru",
        "Дмитрий Иванов",
    ),
    ("5550001112223334", "m.ali@example.ae", "محمد علي"),
    (
        "8080808080808080",
        "o.connor@example.ie",
        "Siobhán O'Connor",
    ),
];

const IMPERSONATORS: &[(&str, &str, &str, &str)] = &[
    (
        "6660001234567890123",
        "support.agent@gong.example",
        "Gong Support, Tier 2",
        "8523940582375629823",
    ),
    (
        "7770009876543210",
        "csm@gong.example",
        "Åsa \"CSM\" Lindqvist",
        "8523940582375629823",
    ),
];

/// String values with commas, quotes, newlines and other escapes.
const TRICKY: &[&str] = &[
    "Q3 plan, \"final\" version",
    "line one\nline two\r\nline three",
    "comma, separated, values",
    "tab\there and a backslash \\ too",
    "emoji 🎉 and 中文 and Zoë",
    "",
    "</script><b>not html</b>",
    "plain",
];

const COUNTRIES: &[&str] = &["DE", "US", "IL", "IN", "JP", "BR"];

/// `(seconds east of UTC)`; 0 is written `Z`.
const OFFSETS: &[i32] = &[0, 7200, -25200, 19800, 0, 0];

const UNSAFE_INT: u64 = 9_007_199_254_740_993; // 2^53 + 1: not representable as f64

fn generate_type(seed: u64, t: LogType, n: usize, start: Timestamp, end: Timestamp) -> Vec<Entry> {
    let mut rng = Rng::new(seed ^ (0xA24B_AED4_963E_E407u64.wrapping_mul(t.index() as u64 + 1)));
    let start_ms = start.as_millisecond();
    let end_ms = end.as_millisecond();
    let span = (end_ms - start_ms).max(1) as u64;

    // Instants: 70% whole seconds, 30% with milliseconds.
    let mut times: Vec<i64> = (0..n)
        .map(|_| {
            let ms = start_ms + rng.below(span) as i64;
            if rng.chance(0.7) {
                let whole = ms - ms.rem_euclid(1000);
                if whole >= start_ms { whole } else { ms }
            } else {
                ms
            }
        })
        .collect();
    times.sort_unstable();

    // Runs of exactly equal instants: a few random ones plus a forced one.
    let mut i = 0;
    while i + 1 < n {
        if rng.chance(0.03) {
            let k = 2 + rng.below(3) as usize;
            for j in i + 1..(i + k).min(n) {
                times[j] = times[i];
            }
            i += k;
        } else {
            i += 1;
        }
    }
    // A forced run of four equal instants at 4..8 (entry 6 duplicates entry 5).
    if n >= 8 {
        let t4 = times[4];
        times[5..8].fill(t4);
    }

    let call_ids: Vec<u64> = (0..24)
        .map(|i| {
            if i == 0 {
                UNSAFE_INT
            } else {
                UNSAFE_INT + rng.below(9_000_000_000_000_000_000)
            }
        })
        .collect();

    let mut out: Vec<Entry> = Vec::with_capacity(n);
    let mut run_pos = 0usize;
    for idx in 0..n {
        let ms = times[idx];
        let same_as_prev = idx > 0 && times[idx - 1] == ms;
        run_pos = if same_as_prev { run_pos + 1 } else { 0 };

        // Fully identical duplicates: a few random ones plus a forced one.
        if same_as_prev && (idx == 6 || rng.chance(0.25)) {
            let prev = out[idx - 1].clone();
            out.push(prev);
            continue;
        }

        let offset = if run_pos > 0 {
            // Equal instants written with different offsets.
            OFFSETS[run_pos % 4]
        } else {
            *rng.pick(OFFSETS)
        };
        let time = Timestamp::from_millisecond(ms).expect("in range");
        let event_time = format_time(time, offset);
        let value = entry_value(&mut rng, t, idx, &event_time, time, &call_ids);
        let json = serde_json::to_string(&value).expect("serializable");
        out.push(Entry { json, time });
    }
    out
}

/// ISO-8601 with the given offset (`Z` for 0), milliseconds only when non-zero.
fn format_time(t: Timestamp, offset_secs: i32) -> String {
    let off = Offset::from_seconds(offset_secs).expect("valid offset");
    let dt = off.to_datetime(t);
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        dt.year(),
        dt.month(),
        dt.day(),
        dt.hour(),
        dt.minute(),
        dt.second()
    );
    let ms = dt.subsec_nanosecond() / 1_000_000;
    if ms != 0 {
        s.push_str(&format!(".{ms:03}"));
    }
    if offset_secs == 0 {
        s.push('Z');
    } else {
        let sign = if offset_secs < 0 { '-' } else { '+' };
        let a = offset_secs.abs();
        s.push_str(&format!("{sign}{:02}:{:02}", a / 3600, (a % 3600) / 60));
    }
    s
}

fn entry_value(
    rng: &mut Rng,
    t: LogType,
    idx: usize,
    event_time: &str,
    time: Timestamp,
    call_ids: &[u64],
) -> Value {
    let mut m = Map::new();
    // Users: forced unicode name on entry 0, forced absence on entry 2.
    let user_missing = match t {
        LogType::AccessLog => idx == 2 || rng.chance(0.10),
        LogType::UserActivityLog => idx == 2 || rng.chance(0.05),
        _ => false,
    };
    if t.has_user() && !user_missing {
        let u = if idx == 0 { &USERS[1] } else { rng.pick(USERS) };
        m.insert("userId".into(), json!(u.0));
        m.insert("userEmailAddress".into(), json!(u.1));
        m.insert("userFullName".into(), json!(u.2));
    }
    if t == LogType::UserActivityLog && (idx == 3 || rng.chance(0.10)) {
        let imp = rng.pick(IMPERSONATORS);
        m.insert("impersonatorUserId".into(), json!(imp.0));
        m.insert("impersonatorEmailAddress".into(), json!(imp.1));
        m.insert("impersonatorFullName".into(), json!(imp.2));
        m.insert("impersonatorCompanyId".into(), json!(imp.3));
    }
    m.insert("eventTime".into(), json!(event_time));
    let record = match t {
        LogType::AccessLog => access_log(rng, idx),
        LogType::UserActivityLog => user_activity(rng, idx, time),
        LogType::UserCallPlay => call_play(rng, idx, time, call_ids, false),
        LogType::ExternallySharedCallAccess => shared_access(rng, idx, call_ids),
        LogType::ExternallySharedCallPlay => call_play(rng, idx, time, call_ids, true),
    };
    m.insert("logRecord".into(), record);
    // A top-level field the spec does not name.
    if idx == 1 || rng.chance(0.05) {
        m.insert("ipCountry".into(), json!(rng.pick(COUNTRIES)));
    }
    Value::Object(m)
}

fn ip(rng: &mut Rng) -> String {
    format!(
        "{}.{}.{}.{}",
        rng.pick(&[203u8, 198, 192, 100]),
        rng.below(256),
        rng.below(256),
        1 + rng.below(254)
    )
}

fn tricky(rng: &mut Rng, idx: usize) -> &'static str {
    if idx < TRICKY.len() {
        TRICKY[idx]
    } else {
        TRICKY[rng.below(TRICKY.len() as u64) as usize]
    }
}

fn access_log(rng: &mut Rng, idx: usize) -> Value {
    const URIS: &[&str] = &[
        "/ajax/calls/list",
        "/settings/company/security",
        "/ajax/search?q=%22pricing%22%2C+discount",
        "/login/oauth2/callback?code=REDACTED&state=x",
        "/call?id=7782342274025937895",
        "/deals/board",
    ];
    const UAS: &[&str] = &[
        "Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
        "Mozilla/5.0 (Windows NT 10.0; Win64; x64; rv:125.0) Gecko/20100101 Firefox/125.0",
        "Gong/5.12.0 (iPhone; iOS 17.4; Scale/3.00)",
    ];
    let uri = *rng.pick(URIS);
    let status = *rng.pick(&[200u16, 200, 200, 200, 302, 401, 404, 500]);
    let content_length: u64 = if idx == 0 {
        UNSAFE_INT
    } else {
        rng.below(250_000)
    };
    json!({
        "response_headers": {
            "x-traceid": rng.hex(16),
            "content-type": "application/json;charset=UTF-8",
            "x-iid": rng.hex(8),
        },
        "protocol": "HTTP/1.1",
        "method": rng.pick(&["GET", "GET", "POST", "PUT", "DELETE"]),
        "request_headers": {
            "referer": format!("https://app.gong.io{}", rng.pick(URIS)),
            "x-forwarded-for": format!("{}, {}", ip(rng), ip(rng)),
            "user-agent": rng.pick(UAS),
        },
        "elapsed_time": rng.below(3000),
        "requested_url": format!("https://app.gong.io{uri}"),
        "requested_uri": uri,
        "message": if status == 200 { tricky(rng, idx).to_owned() } else { format!("HTTP {status}, see trace") },
        "mdc": { "xtid": rng.hex(12) },
        "content_length": content_length,
        "status": status,
    })
}

fn iso_z(t: Timestamp) -> String {
    format_time(t, 0)
}

fn user_activity(rng: &mut Rng, idx: usize, time: Timestamp) -> Value {
    const TABLES: &[&str] = &[
        "user_settings",
        "company_settings",
        "call_permissions",
        "deal_board",
    ];
    const ACTIONS: &[&str] = &[
        "UPDATE_USER_SETTINGS",
        "CHANGE_PERMISSION_PROFILE",
        "EDIT_COMPANY_SETTINGS",
        "DELETE_CALL",
    ];
    const COLUMNS: &[&str] = &[
        "email_notifications",
        "display_name",
        "permission_profile",
        "retention_days",
    ];
    let pre = Timestamp::from_millisecond(time.as_millisecond() - 1000 - rng.below(60_000) as i64)
        .unwrap_or(time);
    let pk_value = if idx == 0 {
        json!(UNSAFE_INT)
    } else {
        json!(rng.digits(16))
    };
    let ncols = 1 + rng.below(3) as usize;
    let column_changes: Vec<Value> = (0..ncols)
        .map(|c| {
            json!({
                "columnName": rng.pick(COLUMNS),
                "operation": rng.pick(&["UPDATE", "INSERT", "DELETE"]),
                "oldValue": if c == 0 { tricky(rng, idx).to_owned() } else { rng.digits(3) },
                "newValue": rng.pick(TRICKY),
            })
        })
        .collect();
    let custom: Value = match rng.below(5) {
        0 => Value::Null,
        1 => json!({ "source": "web", "tags": ["a, b", "c\"d"], "count": rng.below(10) }),
        2 => json!("free text, with \"quotes\"\nand a newline"),
        3 => json!([1, 2.5, true, null]),
        _ => json!({}),
    };
    let workspace = rng.digits(19);
    json!({
        "tableChanges": [{
            "preSnapshotTimestamp": iso_z(pre),
            "postSnapshotTimestamp": iso_z(time),
            "tableName": rng.pick(TABLES),
            "rowChanges": [{
                "primaryKeyColumns": [{ "columnName": "id", "columnValue": pk_value }],
                "columnChanges": column_changes,
            }],
        }],
        "action": rng.pick(ACTIONS),
        "httpRequest": {
            "referrerUri": "https://app.gong.io/company/settings?tab=security",
            "clientIp": ip(rng),
            "verb": rng.pick(&["POST", "PUT", "DELETE"]),
            "endpointUri": "/ajax/settings/update",
            "body": "{\"enabled\":false,\"note\":\"a, b\"}",
            "parameters": { "workspace-id": workspace.clone(), "dryRun": "false" },
        },
        "customData": custom,
        "workspaceId": workspace,
    })
}

fn call_play(rng: &mut Rng, idx: usize, time: Timestamp, call_ids: &[u64], shared: bool) -> Value {
    let call_id = if idx == 0 {
        call_ids[0]
    } else {
        *rng.pick(call_ids)
    };
    let seq = rng.below(40);
    let start_time = rng.below(36_000) as f64 / 10.0;
    let end_time = start_time + (1 + rng.below(3000)) as f64 / 10.0;
    let device_time = format_time(time, *rng.pick(OFFSETS));
    let mut m = Map::new();
    m.insert("call_id".into(), json!(call_id));
    m.insert("video_player_instance_id".into(), json!(rng.uuid()));
    m.insert(
        "sequence_num".into(),
        if shared {
            json!(seq.to_string())
        } else {
            json!(seq)
        },
    );
    m.insert(
        "play_speed".into(),
        json!(*rng.pick(&[1.0f64, 1.25, 1.5, 2.0])),
    );
    m.insert(
        "device".into(),
        json!(rng.pick(&["desktop", "mobile-ios", "mobile-android", "tablet"])),
    );
    m.insert("start_time".into(), json!(start_time));
    m.insert("end_time".into(), json!(end_time));
    m.insert("event_time_on_device".into(), json!(device_time));
    m.insert("offline".into(), json!(rng.chance(0.1)));
    m.insert("live".into(), json!(rng.chance(0.05)));
    if shared {
        m.insert("time_based_secure_sharing_id".into(), json!(rng.uuid()));
    }
    Value::Object(m)
}

fn shared_access(rng: &mut Rng, idx: usize, call_ids: &[u64]) -> Value {
    let call_id = if idx == 0 {
        call_ids[0]
    } else {
        *rng.pick(call_ids)
    };
    json!({
        "call_id": call_id,
        "time_based_secure_sharing_id": rng.uuid(),
        "page_viewer_ip": ip(rng),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn format_time_offsets() {
        let t: Timestamp = "2024-03-01T12:00:00.123Z".parse().unwrap();
        assert_eq!(format_time(t, 0), "2024-03-01T12:00:00.123Z");
        assert_eq!(format_time(t, 19800), "2024-03-01T17:30:00.123+05:30");
        assert_eq!(format_time(t, -25200), "2024-03-01T05:00:00.123-07:00");
        let w: Timestamp = "2024-03-01T12:00:00Z".parse().unwrap();
        assert_eq!(format_time(w, 7200), "2024-03-01T14:00:00+02:00");
        assert_eq!(format_time(w, 0), "2024-03-01T12:00:00Z");
    }

    #[test]
    fn joined_slices() {
        let ds = Dataset::generate(
            1,
            10,
            Timestamp::from_second(0).unwrap(),
            Timestamp::from_second(1000).unwrap(),
            &[LogType::AccessLog],
        );
        let e = ds.entries(LogType::AccessLog);
        assert_eq!(ds.joined(LogType::AccessLog, 0..1), e[0].json);
        assert_eq!(ds.joined(LogType::AccessLog, 9..10), e[9].json);
        let all: Vec<&str> = e.iter().map(|x| x.json.as_str()).collect();
        assert_eq!(ds.joined(LogType::AccessLog, 0..10), all.join(","));
        assert_eq!(ds.joined(LogType::AccessLog, 3..7), all[3..7].join(","));
        assert!(ds.entries(LogType::UserCallPlay).is_empty());
    }
}
