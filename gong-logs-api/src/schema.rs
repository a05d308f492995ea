//! JSON Schema helpers for types schemars 0.8 does not describe itself.

use std::borrow::Cow;

use schemars::JsonSchema;
use schemars::r#gen::SchemaGenerator;
use schemars::schema::{InstanceType, Schema, SchemaObject};

/// Stands for a [`jiff::Timestamp`] in a schema (`#[schemars(with =
/// "gong_logs_api::schema::Timestamp")]`): an RFC 3339 string, as jiff
/// serializes it (`"2024-03-01T00:00:00Z"`).
#[derive(Debug)]
pub struct Timestamp;

impl JsonSchema for Timestamp {
    fn schema_name() -> String {
        "Timestamp".to_owned()
    }

    fn schema_id() -> Cow<'static, str> {
        Cow::Borrowed("gong_logs_api::schema::Timestamp")
    }

    fn is_referenceable() -> bool {
        false
    }

    fn json_schema(_: &mut SchemaGenerator) -> Schema {
        Schema::Object(SchemaObject {
            instance_type: Some(InstanceType::String.into()),
            format: Some("date-time".to_owned()),
            ..Default::default()
        })
    }
}
