//! `gong-logs schema`: JSON Schemas (draft-07) of what gong-logs writes,
//! generated from the Rust types with schemars.
//!
//! - a JSONL line of `fetch` (also an element of `--format json`): the
//!   entry's fields (the reconciled spec's `logEntry`, unknown fields
//!   allowed), `"logType"`, and `logRecord` as the typed view of that type
//!   ([`gong_logs_api::records`]);
//! - the `--resume` checkpoint file ([`crate::files::checkpoint::Checkpoint`]);
//! - `gong-logs types --format json` ([`TypeListing`]).
//!
//! [`published`] lists the files `cargo xtask schemas` writes to
//! `docs/schemas/`. Output is deterministic: properties in declaration
//! order, definitions sorted by name.

use gong_logs_api::records::record_schema;
use gong_logs_api::{LogEntry, LogType, LogTypeInfo};
use schemars::JsonSchema;
use schemars::r#gen::{SchemaGenerator, SchemaSettings};
use schemars::schema::{RootSchema, Schema, SchemaObject, SubschemaValidation};
use serde::Serialize;

/// The JSON Schema draft the schemas follow.
pub const DRAFT: &str = "draft-07";

/// One element of `gong-logs types --format json`.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct TypeListing {
    /// The log type's name, as `--type` takes it.
    pub name: String,
    /// What one entry records.
    pub records: String,
    /// How long Gong keeps entries of this type.
    pub retention: String,
    /// Whether entries carry `userId`, `userEmailAddress` and `userFullName`.
    pub has_user: bool,
}

impl TypeListing {
    /// The listing of every type, in documentation order.
    pub fn all() -> Vec<TypeListing> {
        LogTypeInfo::ALL
            .iter()
            .map(|info| TypeListing {
                name: info.log_type.to_string(),
                records: info.records.to_owned(),
                retention: info.retention.to_owned(),
                has_user: info.has_user,
            })
            .collect()
    }
}

fn generator() -> SchemaGenerator {
    SchemaSettings::draft07().into_generator()
}

fn root(generator: SchemaGenerator, schema: SchemaObject) -> RootSchema {
    let mut root = generator.into_root_schema_for::<()>();
    root.schema = schema;
    root.definitions.sort_keys();
    root
}

fn metadata(schema: &mut SchemaObject, title: &str, description: &str) {
    let meta = schema.metadata();
    meta.title = Some(title.to_owned());
    meta.description = Some(description.to_owned());
}

/// The schema object of one line of type `log_type`, its record's
/// definitions registered in `generator`.
fn line_object(log_type: LogType, generator: &mut SchemaGenerator) -> SchemaObject {
    let mut schema = LogEntry::json_schema(generator).into_object();
    let record = record_schema(log_type, generator);
    let object = schema.object();
    let mut log_type_schema = SchemaObject {
        instance_type: Some(schemars::schema::InstanceType::String.into()),
        const_value: Some(serde_json::Value::String(log_type.to_string())),
        ..Default::default()
    };
    log_type_schema.metadata().description = Some(
        "The log type requested, added by gong-logs as the first key; it always says the \
         type the entry was fetched as."
            .to_owned(),
    );
    let mut own = SchemaObject::default();
    own.metadata().description = Some(
        "Only when Gong's entry carried its own \"logType\" key: that member's value, any \
         JSON, exactly as sent (moved here so that the label above is never replaced and \
         no key is written twice). A \"gongLogType\" Gong sent itself moves on to \
         \"gongGongLogType\", and so on."
            .to_owned(),
    );
    let mut properties = schemars::Map::new();
    properties.insert("logType".to_owned(), Schema::Object(log_type_schema));
    properties.insert("gongLogType".to_owned(), Schema::Object(own));
    for (name, property) in std::mem::take(&mut object.properties) {
        if name == "logRecord" {
            properties.insert(name, record.clone());
        } else {
            properties.insert(name, property);
        }
    }
    object.properties = properties;
    object.required.insert("logType".to_owned());
    let has_user = LogTypeInfo::of(log_type).has_user;
    metadata(
        &mut schema,
        &format!("gong-logs JSONL line: {log_type}"),
        &format!(
            "One line of `gong-logs fetch --type {log_type}` (jsonl; an element of the \
             --format json array): the entry exactly as Gong sent it, every field kept, \
             with \"logType\" added first (an own \"logType\" of the entry moved to \
             \"gongLogType\"). {}",
            if has_user {
                "Entries of this type carry the user fields."
            } else {
                "Entries of this type carry no user fields."
            }
        ),
    );
    schema
}

/// The schema of one JSONL line: of `log_type`, or of any type (`None`:
/// `oneOf` the five, told apart by `logType`).
pub fn line(log_type: Option<LogType>) -> RootSchema {
    let mut generator = generator();
    match log_type {
        Some(t) => {
            let schema = line_object(t, &mut generator);
            root(generator, schema)
        }
        None => {
            let mut one_of = Vec::new();
            let mut lines = Vec::new();
            for info in LogTypeInfo::ALL {
                let name = format!("{}Line", info.log_type);
                let schema = line_object(info.log_type, &mut generator);
                lines.push((name.clone(), Schema::Object(schema)));
                one_of.push(Schema::new_ref(format!("#/definitions/{name}")));
            }
            let mut schema = SchemaObject {
                subschemas: Some(Box::new(SubschemaValidation {
                    one_of: Some(one_of),
                    ..Default::default()
                })),
                ..Default::default()
            };
            metadata(
                &mut schema,
                "gong-logs JSONL line",
                "One line of `gong-logs fetch` (jsonl; an element of the --format json array), \
                 of any log type: \"logType\" says which.",
            );
            let mut root = root(generator, schema);
            root.definitions.extend(lines);
            root.definitions.sort_keys();
            root
        }
    }
}

/// The schema of the `--resume` checkpoint file.
pub fn checkpoint() -> RootSchema {
    let mut generator = generator();
    let mut schema =
        crate::files::checkpoint::Checkpoint::json_schema(&mut generator).into_object();
    metadata(
        &mut schema,
        "gong-logs checkpoint",
        "FILE.gong-logs-checkpoint, written next to the output of `gong-logs fetch -o FILE \
         --resume`: where a resumable export stands.",
    );
    root(generator, schema)
}

/// The schema of `gong-logs types --format json`.
pub fn types() -> RootSchema {
    let mut generator = generator();
    let mut schema = Vec::<TypeListing>::json_schema(&mut generator).into_object();
    metadata(
        &mut schema,
        "gong-logs types --format json",
        "The log types: what each records and how long Gong keeps it.",
    );
    root(generator, schema)
}

/// A schema as pretty JSON text with a final newline.
pub fn to_text(schema: &RootSchema) -> String {
    let mut text = serde_json::to_string_pretty(schema).expect("a schema serializes");
    text.push('\n');
    text
}

/// The files of `docs/schemas/`: name and content.
pub fn published() -> Vec<(String, String)> {
    let mut files = vec![("line.all.schema.json".to_owned(), to_text(&line(None)))];
    for info in LogTypeInfo::ALL {
        files.push((
            format!("line.{}.schema.json", info.log_type),
            to_text(&line(Some(info.log_type))),
        ));
    }
    files.push(("checkpoint.schema.json".to_owned(), to_text(&checkpoint())));
    files.push(("types.schema.json".to_owned(), to_text(&types())));
    files
}
