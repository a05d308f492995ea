//! The values the flags parse into, without clap: the output [`Format`],
//! the `--type` values and their expansion.

use gong_logs_api::{LogType, LogTypeInfo};

/// Output formats of `fetch`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Format {
    /// One JSON object per line (NDJSON).
    Jsonl,
    /// One JSON array.
    Json,
    /// Comma-separated values with a header (RFC 4180 quoting).
    Csv,
    /// Aligned columns for people.
    Table,
}

impl Format {
    /// Every format, in the order `--help` names them.
    pub const ALL: [Self; 4] = [Self::Jsonl, Self::Json, Self::Csv, Self::Table];

    /// What the format is (a completion candidate's help).
    pub fn about(self) -> &'static str {
        match self {
            Self::Jsonl => "One JSON object per line (NDJSON)",
            Self::Json => "One JSON array",
            Self::Csv => "Comma-separated values with a header (RFC 4180 quoting)",
            Self::Table => "Aligned columns for people",
        }
    }

    /// The lowercase name.
    pub fn name(self) -> &'static str {
        match self {
            Self::Jsonl => "jsonl",
            Self::Json => "json",
            Self::Csv => "csv",
            Self::Table => "table",
        }
    }
}

/// A `--type` value: one type, or all five.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TypeArg {
    /// All five, in documentation order.
    All,
    /// One type.
    One(LogType),
}

/// Parses a `--type` value, case-insensitively.
pub fn parse_type_arg(text: &str) -> Result<TypeArg, String> {
    let text = text.trim();
    if text.eq_ignore_ascii_case("all") {
        return Ok(TypeArg::All);
    }
    LogTypeInfo::ALL
        .iter()
        .map(|info| info.log_type)
        .find(|t| t.to_string().eq_ignore_ascii_case(text))
        .map(TypeArg::One)
        .ok_or_else(|| {
            let names: Vec<String> = LogTypeInfo::ALL
                .iter()
                .map(|i| i.log_type.to_string())
                .collect();
            format!(
                "unknown log type {text:?}: expected {}, or all",
                names.join(", ")
            )
        })
}

/// Expands `--type` values in order, without duplicates.
pub fn expand_types(args: &[TypeArg]) -> Vec<LogType> {
    let mut out: Vec<LogType> = Vec::new();
    for arg in args {
        let add: Vec<LogType> = match arg {
            TypeArg::All => LogTypeInfo::ALL.iter().map(|i| i.log_type).collect(),
            TypeArg::One(t) => vec![*t],
        };
        for t in add {
            if !out.contains(&t) {
                out.push(t);
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn types_parse_case_insensitively_and_expand_in_order() {
        assert_eq!(
            parse_type_arg("accesslog"),
            Ok(TypeArg::One(LogType::AccessLog))
        );
        assert_eq!(parse_type_arg("ALL"), Ok(TypeArg::All));
        assert!(parse_type_arg("Access").is_err());
        let types = expand_types(&[TypeArg::One(LogType::UserCallPlay), TypeArg::All]);
        assert_eq!(types[0], LogType::UserCallPlay);
        assert_eq!(types.len(), 5);
        assert_eq!(types[1], LogType::AccessLog);
    }
}
