//! Issue 24: the example shipper configurations in `contrib/siem/` (Vector
//! is not installable here, so they are checked for syntax and shape): each
//! parses as TOML, every `inputs` names a component defined before it, the
//! file source reads what the shipped follower unit writes, and duplicates
//! are removed by the event id that `--event-id` writes.

use std::path::{Path, PathBuf};

fn contrib() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../contrib")
}

fn config(name: &str) -> toml::Table {
    let path = contrib().join("siem").join(name);
    let text = std::fs::read_to_string(&path).unwrap();
    text.parse::<toml::Table>()
        .unwrap_or_else(|e| panic!("{}: not TOML: {e}", path.display()))
}

/// The follower unit's `-o` path, `%S` as systemd expands it for a system service.
fn follower_output() -> String {
    let unit = std::fs::read_to_string(contrib().join("systemd/gong-logs-follow.service")).unwrap();
    let exec = unit.lines().find(|l| l.starts_with("ExecStart=")).unwrap();
    let words: Vec<&str> = exec.split_whitespace().collect();
    let at = words.iter().position(|w| *w == "-o").unwrap();
    words[at + 1].replace("%S", "/var/lib")
}

/// A TOML array of strings.
fn strings(value: &toml::Value) -> Vec<&str> {
    let array = value.as_array().unwrap();
    array.iter().map(|v| v.as_str().unwrap()).collect()
}

fn section<'a>(cfg: &'a toml::Table, name: &str) -> &'a toml::Table {
    cfg.get(name).and_then(|v| v.as_table()).unwrap()
}

/// Checks one config; returns its sink's type.
fn check(name: &str) -> String {
    let cfg = config(name);
    let sources = section(&cfg, "sources");
    let transforms = section(&cfg, "transforms");
    let sinks = section(&cfg, "sinks");
    assert_eq!(sources.len(), 1, "{name}: one source");
    let (source_name, source) = sources.iter().next().unwrap();
    assert_eq!(source["type"].as_str(), Some("file"), "{name}");
    let include = strings(&source["include"]);
    assert_eq!(
        include,
        [follower_output().as_str()],
        "{name}: reads the follower's file"
    );
    // Components in file order: each one's inputs are defined before it.
    let mut defined = vec![source_name.clone()];
    for (id, component) in transforms.iter().chain(sinks.iter()) {
        for input in component["inputs"].as_array().unwrap() {
            let input = input.as_str().unwrap();
            assert!(
                defined.iter().any(|d| d == input),
                "{name}: {id} reads unknown {input}"
            );
        }
        defined.push(id.clone());
    }
    let remap = transforms
        .values()
        .find(|t| t["type"].as_str() == Some("remap"))
        .unwrap();
    let vrl = remap["source"].as_str().unwrap();
    assert!(
        vrl.contains("parse_json!(string!(.message))"),
        "{name}: {vrl}"
    );
    assert!(vrl.contains(".eventTime"), "{name}: {vrl}");
    let dedupe = transforms
        .values()
        .find(|t| t["type"].as_str() == Some("dedupe"))
        .unwrap_or_else(|| panic!("{name}: no dedupe transform"));
    let matched = dedupe["fields"]["match"].as_array().unwrap();
    assert_eq!(matched.len(), 1);
    assert_eq!(matched[0].as_str(), Some("eventId"), "{name}");
    assert_eq!(sinks.len(), 1, "{name}: one sink");
    let sink = sinks.values().next().unwrap();
    assert_eq!(sink["encoding"]["codec"].as_str(), Some("json"), "{name}");
    sink["type"].as_str().unwrap().to_owned()
}

#[test]
fn vector_to_http_is_well_formed() {
    assert_eq!(check("vector-http.toml"), "http");
    let cfg = config("vector-http.toml");
    let sink = &section(&cfg, "sinks")["collector"];
    assert_eq!(sink["uri"].as_str(), Some("${GONG_LOGS_HTTP_URI}"));
}

#[test]
fn vector_to_splunk_hec_is_well_formed() {
    assert_eq!(check("vector-splunk.toml"), "splunk_hec_logs");
    let cfg = config("vector-splunk.toml");
    let sink = &section(&cfg, "sinks")["splunk"];
    // The token comes from the environment, never from the file.
    assert_eq!(sink["default_token"].as_str(), Some("${SPLUNK_HEC_TOKEN}"));
    let indexed = strings(&sink["indexed_fields"]);
    assert!(indexed.contains(&"eventId"), "{indexed:?}");
}
