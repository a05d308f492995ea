//! The generated types' JSON Schemas (schemars, derived on every type
//! progenitor generates; `LogEntry`'s by hand) against the reconciled spec,
//! and responses generated from those schemas, decoded over real HTTP.

mod support;

use futures::StreamExt as _;
use gong_logs_api::{Credentials, LogEntry, LogType, PageRequest, types};
use proptest::prelude::*;
use schemars::JsonSchema;
use schemars::r#gen::SchemaSettings;
use serde_json::{Map, Value, json};
use support::{Recorder, Scripted};

const SPEC: &str = include_str!("../../openapi/gong-logs-v2.json");

/// Schemas as the spec writes them: a field of an `Option` is optional, not
/// nullable, so schemars is told not to add `null`.
fn settings() -> SchemaSettings {
    SchemaSettings::draft07().with(|s| {
        s.option_add_null_type = false;
        s.option_nullable = false;
    })
}

/// The schema schemars produces for `T`, with its definitions.
fn schema_of<T: JsonSchema>() -> (Value, Map<String, Value>) {
    let root = settings().into_generator().into_root_schema_for::<T>();
    let mut schema = serde_json::to_value(&root.schema).unwrap();
    let definitions = serde_json::to_value(&root.definitions).unwrap();
    if let Value::Object(map) = &mut schema {
        map.remove("$schema");
    }
    (schema, definitions.as_object().cloned().unwrap_or_default())
}

/// The spec component `name` as the Rust type it is generated as.
fn generated_schema(name: &str) -> Value {
    // A component without an arm here fails: every schema is compared.
    match name {
        "LogsResponse" => schema_of::<types::LogsResponse>().0,
        "Records" => schema_of::<types::Records>().0,
        "logEntry" => schema_of::<LogEntry>().0,
        "ErrorResponse" => schema_of::<types::ErrorResponse>().0,
        other => panic!(
            "the spec has a component schema {other:?} this test does not know: \
             add it to generated_schema() in tests/schemas.rs"
        ),
    }
}

/// Drops what does not change what a document may contain (title,
/// description, example, default), makes `$ref`s point at a bare name, and
/// treats `additionalProperties: true`/`{}` as absent (JSON Schema's default).
fn normalise(value: &Value) -> Value {
    match value {
        Value::Object(map) => {
            let mut out = Map::new();
            for (key, v) in map {
                match key.as_str() {
                    "title" | "description" | "example" | "examples" | "default" => {}
                    "$ref" => {
                        let name = v.as_str().unwrap_or_default();
                        let name = name.rsplit('/').next().unwrap_or(name);
                        out.insert(key.clone(), json!(name.to_lowercase()));
                    }
                    "additionalProperties" if *v == json!(true) || *v == json!({}) => {}
                    "additionalProperties" if normalise(v) == json!({}) => {}
                    _ => {
                        out.insert(key.clone(), normalise(v));
                    }
                }
            }
            // `allOf: [one $ref]` is how schemars attaches a description to
            // a reference; with the description gone it is the reference.
            if let Some(Value::Array(all)) = out.get("allOf")
                && all.len() == 1
                && out.len() == 1
            {
                return all[0].clone();
            }
            // Sorted keys make the diff stable and readable.
            let mut keys: Vec<_> = out.into_iter().collect();
            keys.sort_by(|a, b| a.0.cmp(&b.0));
            Value::Object(keys.into_iter().collect())
        }
        Value::Array(items) => Value::Array(items.iter().map(normalise).collect()),
        other => other.clone(),
    }
}

fn unified_diff(name: &str, spec: &str, generated: &str) -> String {
    similar::TextDiff::from_lines(spec, generated)
        .unified_diff()
        .context_radius(4)
        .header(
            &format!("spec: components/schemas/{name}"),
            &format!("schemars: generated type for {name}"),
        )
        .to_string()
}

#[test]
fn every_spec_schema_matches_its_generated_type() {
    let spec: Value = serde_json::from_str(SPEC).unwrap();
    let components = spec["components"]["schemas"].as_object().unwrap();
    assert!(components.len() >= 4, "{components:?}");
    let mut failures = Vec::new();
    for (name, spec_schema) in components {
        let expected = serde_json::to_string_pretty(&normalise(spec_schema)).unwrap();
        let got = serde_json::to_string_pretty(&normalise(&generated_schema(name))).unwrap();
        if expected != got {
            failures.push(unified_diff(name, &expected, &got));
        }
    }
    assert!(
        failures.is_empty(),
        "the generated types drifted from openapi/gong-logs-v2.json \
         (regenerate, or fix build.rs / LogEntry's JsonSchema):\n{}",
        failures.join("\n")
    );
}

#[test]
fn the_comparison_catches_a_drift() {
    // The normalisation must not hide real differences.
    let spec: Value = serde_json::from_str(SPEC).unwrap();
    let mut records = spec["components"]["schemas"]["Records"].clone();
    records["properties"]["totalRecords"]["format"] = json!("int64");
    assert_ne!(normalise(&records), normalise(&generated_schema("Records")));
    let mut entry = spec["components"]["schemas"]["logEntry"].clone();
    entry["properties"]
        .as_object_mut()
        .unwrap()
        .remove("userFullName");
    assert_ne!(normalise(&entry), normalise(&generated_schema("logEntry")));
    let diff = unified_diff("logEntry", "a\nb\n", "a\nc\n");
    assert!(diff.contains("-b") && diff.contains("+c"), "{diff}");
}

#[test]
fn log_entry_schema_allows_unknown_fields() {
    let (schema, _) = schema_of::<LogEntry>();
    assert_eq!(schema["additionalProperties"], json!(true));
    assert_eq!(schema["properties"]["logRecord"]["type"], "object");
}

// ----------------------------------------------------- generated responses

/// Any JSON value: what Gong may put in `logRecord` or in fields it adds.
fn any_json() -> BoxedStrategy<Value> {
    let leaf = prop_oneof![
        Just(Value::Null),
        any::<bool>().prop_map(Value::from),
        any::<i64>().prop_map(Value::from),
        // Above 2^53: must come back exactly.
        (1u64 << 53..u64::MAX).prop_map(Value::from),
        (-1e12f64..1e12).prop_map(Value::from),
        any_string().prop_map(Value::from),
    ];
    leaf.prop_recursive(3, 24, 4, |inner| {
        prop_oneof![
            proptest::collection::vec(inner.clone(), 0..4).prop_map(Value::Array),
            proptest::collection::vec((any_string(), inner), 0..4)
                .prop_map(|kv| Value::Object(kv.into_iter().collect())),
        ]
    })
    .boxed()
}

/// Strings with the characters that break naive JSON handling.
fn any_string() -> impl Strategy<Value = String> {
    "[a-zA-Z0-9 ,\"\\\\\n\u{e9}\u{674e}\u{1F600}-]{0,12}"
}

/// A value valid against `schema` (the subset of JSON Schema schemars
/// emits for the generated types), with `definitions` for `$ref`s.
fn valid_value(schema: &Value, definitions: &Map<String, Value>) -> BoxedStrategy<Value> {
    if let Some(reference) = schema.get("$ref").and_then(Value::as_str) {
        let name = reference.rsplit('/').next().unwrap();
        return valid_value(&definitions[name], definitions);
    }
    if let Some(Value::Array(all)) = schema.get("allOf") {
        return valid_value(&all[0], definitions);
    }
    match schema.get("type").and_then(Value::as_str) {
        Some("object") => {
            let mut fields: Vec<BoxedStrategy<Option<(String, Value)>>> = Vec::new();
            if let Some(Value::Object(properties)) = schema.get("properties") {
                let required: Vec<&str> = schema
                    .get("required")
                    .and_then(Value::as_array)
                    .map(|r| r.iter().filter_map(Value::as_str).collect())
                    .unwrap_or_default();
                for (name, property) in properties {
                    let name = name.clone();
                    let value = valid_value(property, definitions);
                    let field = if required.contains(&name.as_str()) {
                        value.prop_map(move |v| Some((name.clone(), v))).boxed()
                    } else {
                        proptest::option::of(value)
                            .prop_map(move |v| v.map(|v| (name.clone(), v)))
                            .boxed()
                    };
                    fields.push(field);
                }
            }
            let open = schema.get("additionalProperties") == Some(&json!(true));
            let extra = if open {
                proptest::collection::vec(("x[A-Za-z]{0,6}", any_json()), 0..3).boxed()
            } else {
                Just(Vec::new()).boxed()
            };
            (fields, extra)
                .prop_map(|(fields, extra)| {
                    let mut map = Map::new();
                    for (k, v) in fields.into_iter().flatten().chain(extra) {
                        map.entry(k).or_insert(v);
                    }
                    Value::Object(map)
                })
                .boxed()
        }
        Some("array") => {
            let items = valid_value(&schema["items"], definitions);
            proptest::collection::vec(items, 0..4)
                .prop_map(Value::Array)
                .boxed()
        }
        Some("string") => any_string().prop_map(Value::from).boxed(),
        Some("integer") if schema.get("format") == Some(&json!("int32")) => {
            (0..=i32::MAX).prop_map(Value::from).boxed()
        }
        Some("integer") => any::<i64>().prop_map(Value::from).boxed(),
        Some("boolean") => any::<bool>().prop_map(Value::from).boxed(),
        Some("number") => (-1e9f64..1e9).prop_map(Value::from).boxed(),
        None => any_json(),
        Some(other) => panic!("the generator does not know type {other:?}: {schema}"),
    }
}

fn valid_response() -> BoxedStrategy<Value> {
    let (schema, definitions) = schema_of::<types::LogsResponse>();
    valid_value(&schema, &definitions)
}

/// One runtime, server and client for every generated case.
struct Shared {
    runtime: tokio::runtime::Runtime,
    server: Recorder,
    client: gong_logs_api::GongClient,
}

fn shared() -> &'static Shared {
    static SHARED: std::sync::OnceLock<Shared> = std::sync::OnceLock::new();
    SHARED.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let server = runtime.block_on(Recorder::start());
        let client = server.client(Credentials::bearer("t"));
        Shared {
            runtime,
            server,
            client,
        }
    })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Every response the schemas allow decodes, every entry kept exactly.
    #[test]
    fn every_valid_response_decodes_losslessly(response in valid_response()) {
        let Shared { runtime, server, client } = shared();
        runtime.block_on(async {
            let body = serde_json::to_string(&response).unwrap();
            server.take();
            server.push(Scripted::json(200, body.clone()));
            let page = client
                .fetch_page(&PageRequest {
                    log_type: LogType::AccessLog,
                    from: "2024-03-01T00:00:00Z".into(),
                    to: None,
                    cursor: None,
                })
                .await
                .unwrap_or_else(|e| panic!("{e}: {body}"));
            let wire = response["logEntries"].as_array().cloned().unwrap_or_default();
            assert_eq!(page.entries.len(), wire.len(), "{body}");
            for (entry, wire_entry) in page.entries.iter().zip(&wire) {
                // The exact text sent (compared as text: serde_json's default
                // float parsing may differ in the last digit from the value
                // the text was printed from).
                assert_eq!(entry.json(), serde_json::to_string(wire_entry).unwrap());
                // The typed view of any record never loses a key.
                if let Some(Value::Object(record)) = wire_entry.get("logRecord") {
                    let typed = entry.record::<gong_logs_api::records::AccessLog>();
                    if let Ok(Some(typed)) = typed {
                        let back = serde_json::to_value(&typed).unwrap();
                        let back = back.as_object().unwrap();
                        for key in record.keys() {
                            let kept = back.contains_key(key) || record[key].is_null();
                            assert!(kept, "{key} kept");
                        }
                    }
                }
            }
            assert_eq!(page.request_id.as_deref(), response["requestId"].as_str());
            assert_eq!(
                page.cursor.as_deref(),
                response["records"]["cursor"].as_str().filter(|c| !c.is_empty())
            );
            assert_eq!(
                page.total_records,
                response["records"]["totalRecords"].as_u64()
            );
        });
    }
}

/// Entries valid against `logEntry`'s schema, each with a valid `eventTime`
/// in January 2024 (whole seconds or not, several per instant possible).
fn valid_entries() -> BoxedStrategy<Vec<(jiff::Timestamp, String)>> {
    let (schema, definitions) = schema_of::<LogEntry>();
    let entry = valid_value(&schema, &definitions);
    let base = 1_704_067_200_000i64; // 2024-01-01T00:00:00Z, in ms
    let time = prop_oneof![
        (0i64..30 * 86_400).prop_map(|s| s * 1000),
        (0i64..30 * 86_400_000),
        Just(86_400_000i64), // many entries at one instant
    ];
    proptest::collection::vec((entry, time), 0..60)
        .prop_map(move |items| {
            items
                .into_iter()
                .map(|(mut entry, ms)| {
                    let t = jiff::Timestamp::from_millisecond(base + ms).unwrap();
                    entry["eventTime"] = Value::from(t.to_string());
                    (t, serde_json::to_string(&entry).unwrap())
                })
                .collect()
        })
        .boxed()
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 8, ..ProptestConfig::default() })]

    /// The engine, over a loopback server holding schema-generated entries
    /// (any fields, any record content), delivers each exactly once, in
    /// order, byte for byte.
    #[test]
    fn the_engine_exports_generated_entries_exactly_once(entries in valid_entries()) {
        use gong_logs_api::export::{ExportOptions, Exporter, Position};
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .unwrap();
        runtime.block_on(async {
            let sim_type = gong_logs_sim::LogType::UserActivityLog;
            let dataset = gong_logs_sim::Dataset::from_entries(entries.into_iter().map(|(time, json)| {
                (sim_type, gong_logs_sim::Entry { json, time })
            }));
            let mut config = gong_logs_sim::SimConfig::testing(1, 0);
            config.page_size = 5;
            let sim = gong_logs_sim::Simulator::start_with_dataset(config, dataset)
                .await
                .unwrap();
            let client = gong_logs_api::GongClient::new(gong_logs_api::ClientConfig::new(
                sim.base_url().parse().unwrap(),
                Credentials::basic("sim-access-key", "sim-secret"),
            ))
            .unwrap();
            let options = ExportOptions {
                rate_limit: None,
                concurrency: 4,
                split_min_pages: 2,
                ..ExportOptions::default()
            };
            let exporter = Exporter::new(client, options);
            let from: jiff::Timestamp = "2024-01-01T00:00:00Z".parse().unwrap();
            let to: jiff::Timestamp = "2024-02-01T00:00:00Z".parse().unwrap();
            let mut rx = exporter.export(
                LogType::UserActivityLog,
                Position { time: from, count: 0 },
                to,
            );
            let mut got = Vec::new();
            while let Some(batch) = rx.next().await {
                let batch = batch.unwrap_or_else(|e| panic!("{e}"));
                got.extend(batch.entries.iter().map(|e| e.json().to_owned()));
            }
            let want: Vec<String> = sim
                .dataset()
                .entries(sim_type)
                .iter()
                .map(|e| e.json.clone())
                .collect();
            assert_eq!(got, want);
            sim.shutdown().await;
        });
    }
}
