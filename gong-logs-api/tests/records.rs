//! Typed views of `logRecord` against the fixtures (Gong's documented
//! examples) and the simulator's data for every log type: each parses, names
//! what the documentation names, keeps every other key, and keeps integers
//! above 2^53 exactly.

use gong_logs_api::records::{
    AccessLog, ExternallySharedCallAccess, ExternallySharedCallPlay, NumberOrString, Record,
    TypedRecord, UserActivityLog, UserCallPlay,
};
use gong_logs_api::{LogEntry, LogType, LogTypeInfo};
use serde_json::{Value, json};

fn fixture_entries(log_type: LogType) -> Vec<LogEntry> {
    let path = format!(
        "{}/tests/fixtures/{log_type}.json",
        env!("CARGO_MANIFEST_DIR")
    );
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{path}: {e}"));
    let page: gong_logs_api::types::LogsResponse = serde_json::from_str(&text).unwrap();
    assert!(!page.log_entries.is_empty(), "{path}");
    page.log_entries
}

fn simulator_entries(log_type: LogType) -> Vec<LogEntry> {
    let start: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
    let end: jiff::Timestamp = "2024-01-31T00:00:00Z".parse().unwrap();
    let sim_type: gong_logs_sim::LogType = log_type.to_string().parse().unwrap();
    let data = gong_logs_sim::Dataset::generate(11, 200, start, end, &[sim_type]);
    let entries: Vec<LogEntry> = data
        .entries(sim_type)
        .iter()
        .map(|e| LogEntry::from_json(&e.json).unwrap())
        .collect();
    assert_eq!(entries.len(), 200);
    entries
}

/// `null` and an absent key mean the same to a view (`Option::None`).
fn without_nulls(value: &Value) -> Value {
    match value {
        Value::Object(map) => Value::Object(
            map.iter()
                .filter(|(_, v)| !v.is_null())
                .map(|(k, v)| (k.clone(), without_nulls(v)))
                .collect(),
        ),
        Value::Array(items) => Value::Array(items.iter().map(without_nulls).collect()),
        other => other.clone(),
    }
}

/// Parses the record as `T`, checks nothing was lost, returns the view.
fn view<T: Record + std::fmt::Debug>(entry: &LogEntry) -> T {
    let typed: T = entry
        .record::<T>()
        .unwrap_or_else(|e| panic!("{}: {e}", entry.json()))
        .expect("a logRecord");
    let original: Value = serde_json::from_str(entry.log_record_text().unwrap().unwrap()).unwrap();
    let back = serde_json::to_value(&typed).unwrap();
    assert_eq!(without_nulls(&back), without_nulls(&original), "{typed:?}");
    // The per-type enum agrees.
    let any = entry.typed_record(T::LOG_TYPE).unwrap().unwrap();
    assert_eq!(any.log_type(), T::LOG_TYPE);
    typed
}

fn check_all<T: Record + std::fmt::Debug>(entries: &[LogEntry], unknown_keys_expected: bool) {
    let mut saw_unknown = false;
    for entry in entries {
        let typed: T = view(entry);
        saw_unknown |= has_other(&typed);
    }
    assert_eq!(saw_unknown, unknown_keys_expected, "{}", T::LOG_TYPE);
}

/// Whether the view holds keys it does not name (its `other` map, which
/// serializes flattened next to the named keys).
fn has_other<T: Record>(typed: &T) -> bool {
    let back = serde_json::to_value(typed).unwrap();
    let named = serde_json::to_value(T::default_named()).unwrap();
    back.as_object()
        .unwrap()
        .keys()
        .any(|k| !named.as_object().unwrap().contains_key(k))
}

/// The keys each view names (from its JSON Schema's properties).
trait Named {
    fn default_named() -> Value;
}

impl<T: Record> Named for T {
    fn default_named() -> Value {
        let schema = schemars::schema_for!(T);
        let properties = serde_json::to_value(&schema.schema.object.unwrap().properties).unwrap();
        let map = properties.as_object().unwrap();
        Value::Object(map.keys().map(|k| (k.clone(), json!(null))).collect())
    }
}

#[test]
fn fixtures_parse_as_their_typed_views() {
    check_all::<AccessLog>(&fixture_entries(LogType::AccessLog), false);
    check_all::<UserActivityLog>(&fixture_entries(LogType::UserActivityLog), false);
    check_all::<UserCallPlay>(&fixture_entries(LogType::UserCallPlay), false);
    check_all::<ExternallySharedCallAccess>(
        &fixture_entries(LogType::ExternallySharedCallAccess),
        false,
    );
    check_all::<ExternallySharedCallPlay>(
        &fixture_entries(LogType::ExternallySharedCallPlay),
        false,
    );
}

#[test]
fn simulator_data_parses_as_typed_views_with_every_key_named() {
    check_all::<AccessLog>(&simulator_entries(LogType::AccessLog), false);
    check_all::<UserActivityLog>(&simulator_entries(LogType::UserActivityLog), false);
    check_all::<UserCallPlay>(&simulator_entries(LogType::UserCallPlay), false);
    check_all::<ExternallySharedCallAccess>(
        &simulator_entries(LogType::ExternallySharedCallAccess),
        false,
    );
    check_all::<ExternallySharedCallPlay>(
        &simulator_entries(LogType::ExternallySharedCallPlay),
        false,
    );
    // And through the per-type enum, for every type the crate lists.
    for info in LogTypeInfo::ALL {
        for entry in simulator_entries(info.log_type) {
            let typed = entry.typed_record(info.log_type).unwrap().unwrap();
            assert_eq!(typed.log_type(), info.log_type);
        }
    }
}

#[test]
fn access_log_fields() {
    let entries = fixture_entries(LogType::AccessLog);
    let first: AccessLog = view(&entries[0]);
    assert_eq!(first.method.as_deref(), Some("GET"));
    assert_eq!(first.status.as_ref().and_then(|n| n.as_u64()), Some(200));
    assert_eq!(
        first.content_length.as_ref().and_then(|n| n.as_u64()),
        Some(51234)
    );
    let response = first.response_headers.unwrap();
    assert_eq!(response.x_traceid.as_deref(), Some("a1b2c3"));
    assert_eq!(response.content_type.as_deref(), Some("application/json"));
    let request = first.request_headers.unwrap();
    assert_eq!(request.x_forwarded_for.as_deref(), Some("203.0.113.7"));
    assert_eq!(
        request.user_agent.as_deref(),
        Some("Mozilla/5.0 (X11; Linux x86_64)")
    );
    assert_eq!(first.mdc.unwrap().xtid.as_deref(), Some("t-9"));
    // A fractional elapsed time and a null message.
    let second: AccessLog = view(&entries[1]);
    assert_eq!(second.elapsed_time.unwrap().as_f64(), Some(12.5));
    assert_eq!(second.message, None);
}

#[test]
fn integers_above_2_pow_53_are_exact() {
    // Fixture: a primary key of 2^53 + 1.
    let entries = fixture_entries(LogType::UserActivityLog);
    let ual: UserActivityLog = view(&entries[0]);
    let table = &ual.table_changes.as_ref().unwrap()[0];
    let row = &table.row_changes.as_ref().unwrap()[0];
    let key = &row.primary_key_columns.as_ref().unwrap()[0];
    assert_eq!(key.column_value, Some(json!(9_007_199_254_740_993u64)));
    assert_eq!(
        serde_json::to_string(key.column_value.as_ref().unwrap()).unwrap(),
        "9007199254740993"
    );
    assert_eq!(
        table.pre_snapshot_timestamp,
        Some(NumberOrString::Number(1_709_285_400_000u64.into()))
    );
    let change = &row.column_changes.as_ref().unwrap()[0];
    assert_eq!(change.operation.as_deref(), Some("UPDATE"));
    assert_eq!(change.old_value, Some(json!(365)));
    // The simulator's first AccessLog entry has content_length = 2^53 + 1.
    let sim = simulator_entries(LogType::AccessLog);
    let mut exact = 0;
    for entry in &sim {
        let typed: AccessLog = view(entry);
        let length = typed.content_length.unwrap();
        let raw: Value = serde_json::from_str(entry.json()).unwrap();
        let text = raw["logRecord"]["content_length"].to_string();
        assert_eq!(length.to_string(), text);
        if length.as_u64().is_some_and(|n| n > 1 << 53) {
            exact += 1;
        }
    }
    assert!(exact >= 1, "the data has an integer above 2^53");
}

#[test]
fn user_activity_keeps_nulls_that_mean_something() {
    let entries = fixture_entries(LogType::UserActivityLog);
    let second: UserActivityLog = view(&entries[1]);
    assert_eq!(
        second.action.as_ref().and_then(Value::as_str),
        Some("LOGIN")
    );
    assert_eq!(second.custom_data, Some(Value::Null));
    assert_eq!(second.table_changes, Some(Vec::new()));
    let first: UserActivityLog = view(&entries[0]);
    let http = first.http_request.unwrap();
    assert_eq!(http.verb.as_deref(), Some("PUT"));
    assert_eq!(http.parameters, Some(json!({"tab": ["privacy"]})));
    assert_eq!(first.workspace_id, Some(json!("5550001")));
    // Impersonation is on the entry, not the record.
    let raw: Value = serde_json::from_str(entries[0].json()).unwrap();
    assert_eq!(raw["impersonatorCompanyId"], "22222222222222222");
}

#[test]
fn call_plays_and_shares() {
    let play: UserCallPlay = view(&fixture_entries(LogType::UserCallPlay)[0]);
    assert_eq!(play.sequence_num, Some(NumberOrString::Number(3.into())));
    assert_eq!(
        play.call_id.unwrap().as_u64(),
        Some(7_782_342_274_025_937_895)
    );
    assert_eq!(play.play_speed.unwrap().as_f64(), Some(1.5));
    assert_eq!(play.live, Some(false));

    let shared: ExternallySharedCallPlay =
        view(&fixture_entries(LogType::ExternallySharedCallPlay)[0]);
    assert_eq!(
        shared.sequence_num,
        Some(NumberOrString::String("7".into()))
    );
    assert_eq!(shared.sequence_num.unwrap().as_u64(), Some(7));
    assert_eq!(
        shared.time_based_secure_sharing_id.as_deref(),
        Some("tbss-42")
    );
    assert_eq!(shared.event_time_on_device, None);

    let access: ExternallySharedCallAccess =
        view(&fixture_entries(LogType::ExternallySharedCallAccess)[0]);
    assert_eq!(access.page_viewer_ip.as_deref(), Some("192.0.2.55"));

    // The simulator sends call ids as numbers; they come back as the same text.
    for entry in simulator_entries(LogType::ExternallySharedCallAccess) {
        let typed: ExternallySharedCallAccess = view(&entry);
        let raw: Value = serde_json::from_str(entry.json()).unwrap();
        assert_eq!(
            typed.call_id.unwrap().to_text(),
            raw["logRecord"]["call_id"].to_string().trim_matches('"')
        );
    }
}

#[test]
fn unknown_keys_are_kept_and_bad_types_are_errors() {
    let entry = LogEntry::from_json(
        r#"{"eventTime":"2024-03-01T00:00:00Z","logRecord":{"method":"GET","new_key":{"a":[1,18446744073709551615]},"status":200}}"#,
    )
    .unwrap();
    let typed: AccessLog = view(&entry);
    assert_eq!(
        typed.other.get("new_key"),
        Some(&json!({"a": [1, 18_446_744_073_709_551_615u64]}))
    );
    assert!(has_other(&typed));

    // No logRecord, or null: no view.
    let none = LogEntry::from_json(r#"{"eventTime":"2024-03-01T00:00:00Z"}"#).unwrap();
    assert_eq!(none.record::<AccessLog>().unwrap(), None);
    let null = LogEntry::from_json(r#"{"logRecord":null}"#).unwrap();
    assert_eq!(null.typed_record(LogType::UserCallPlay).unwrap(), None);

    // A known key of the wrong JSON type is an error, not a silent drop.
    let bad = LogEntry::from_json(r#"{"logRecord":{"status":"two hundred"}}"#).unwrap();
    assert!(bad.record::<AccessLog>().is_err());
    let typed: Result<Option<TypedRecord>, _> = bad.typed_record(LogType::AccessLog);
    assert!(typed.is_err());
    // ... and the entry's text is untouched.
    assert!(bad.json().contains("two hundred"));
}

/// Gong's client structures type `action` and `workspaceId` as any JSON
/// value: objects, arrays, numbers, booleans and null must all decode and
/// survive a round trip through the view.
#[test]
fn user_activity_accepts_any_json_action_and_workspace_id() {
    let loose = [
        json!({"name": "export", "scope": ["calls", "deals"]}),
        json!(["a", 1, null]),
        json!(42.5),
        json!(true),
        json!(null),
        json!("LOGIN"),
    ];
    for value in loose {
        let record = json!({"action": value, "workspaceId": value});
        let view: UserActivityLog = serde_json::from_value(record.clone()).unwrap();
        assert_eq!(view.action, Some(value.clone()));
        assert_eq!(view.workspace_id, Some(value.clone()));
        assert_eq!(serde_json::to_value(&view).unwrap(), record);
    }
}
