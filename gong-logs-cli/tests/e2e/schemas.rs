//! The published JSON Schemas (docs/schemas/) against what the real binary
//! writes: every line the simulator's data produces, for every type; the
//! checkpoint file of a failed --resume export; `types --format json`. And
//! `gong-logs schema` prints exactly the published files.

use std::path::PathBuf;

use gong_logs_e2e::*;
use serde_json::Value;

fn schema_file(name: &str) -> Value {
    let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "..", "docs", "schemas", name]
        .iter()
        .collect();
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("{}: {e} (run `cargo xtask schemas`)", path.display()));
    serde_json::from_str(&text).unwrap()
}

fn validator(name: &str) -> jsonschema::Validator {
    let schema = schema_file(name);
    assert_eq!(
        schema["$schema"], "http://json-schema.org/draft-07/schema#",
        "{name}"
    );
    jsonschema::draft7::options()
        .should_validate_formats(true)
        .build(&schema)
        .unwrap_or_else(|e| panic!("{name} is not a valid schema: {e}"))
}

fn assert_valid(validator: &jsonschema::Validator, instance: &Value, what: &str) {
    let errors: Vec<String> = validator
        .iter_errors(instance)
        .map(|e| format!("{} at {}", e, e.instance_path()))
        .collect();
    assert!(errors.is_empty(), "{what}: {errors:?}\n{instance}");
}

#[test]
fn every_simulated_line_of_every_type_matches_its_schema() {
    let sim = TestSim::small(150);
    let any = validator("line.all.schema.json");
    for t in ALL_TYPES {
        let own = validator(&format!("line.{t}.schema.json"));
        let run = sim.fetch().types(t).format("jsonl").run();
        run.ok();
        let lines: Vec<&str> = run.stdout.lines().collect();
        assert_eq!(lines.len(), 150, "{t}");
        for line in lines {
            let value: Value = serde_json::from_str(line).unwrap();
            assert_valid(&own, &value, t);
            assert_valid(&any, &value, t);
        }
        // Not vacuous: a line of another type, or a record field of the
        // wrong JSON type, is rejected.
        let first: Value = serde_json::from_str(run.stdout.lines().next().unwrap()).unwrap();
        let mut wrong_type = first.clone();
        wrong_type["logType"] = Value::from("NoSuchLog");
        assert!(!own.is_valid(&wrong_type), "{t}: logType checked");
        assert!(!any.is_valid(&wrong_type), "{t}: logType checked (all)");
        let mut wrong_field = first.clone();
        let record = wrong_field["logRecord"].as_object_mut().unwrap();
        let key = record.keys().next().unwrap().clone();
        record.insert(key.clone(), Value::from(vec![Value::from(true)]));
        assert!(!own.is_valid(&wrong_field), "{t}: logRecord.{key} checked");
        let mut wrong_entry = first;
        wrong_entry["eventTime"] = Value::from(5);
        assert!(!own.is_valid(&wrong_entry), "{t}: eventTime checked");
    }
}

#[test]
fn the_checkpoint_file_matches_its_schema() {
    // The setup of resume.rs's failed export: 500s, no retries, a checkpoint left behind.
    let mut config = SimConfig::testing(9, 200);
    config.page_size = 10;
    config.faults.p_500 = 0.25;
    let sim = TestSim::start(config);
    let dir = tempfile::tempdir().unwrap();
    let out = dir.path().join("audit.jsonl");
    let run = sim
        .fetch()
        .types("AccessLog,UserCallPlay")
        .chains(2)
        .output(&out)
        .args(["--max-retries", "0", "--resume"])
        .run();
    run.code(1);
    let text = std::fs::read_to_string(checkpoint_of(&out)).unwrap();
    let checkpoint: Value = serde_json::from_str(&text).unwrap();
    let validator = validator("checkpoint.schema.json");
    assert_valid(&validator, &checkpoint, "checkpoint");
    let mut broken = checkpoint;
    broken["types"][0]["position"]["count"] = Value::from(-1);
    assert!(!validator.is_valid(&broken), "position.count is unsigned");
}

#[test]
fn types_json_matches_its_schema() {
    let run = Cmd::new().args(["types", "--format", "json"]).run();
    run.ok();
    let value: Value = serde_json::from_str(&run.stdout).unwrap();
    assert_valid(&validator("types.schema.json"), &value, "types");
}

#[test]
fn the_schema_command_prints_the_published_files() {
    let mut cases: Vec<(Vec<String>, String)> = vec![
        (vec![], "line.all.schema.json".into()),
        (
            vec!["--type".into(), "all".into()],
            "line.all.schema.json".into(),
        ),
        (
            vec!["--what".into(), "checkpoint".into()],
            "checkpoint.schema.json".into(),
        ),
        (
            vec!["--what".into(), "types".into()],
            "types.schema.json".into(),
        ),
    ];
    for t in ALL_TYPES {
        cases.push((
            vec!["--type".into(), t.to_lowercase()],
            format!("line.{t}.schema.json"),
        ));
    }
    for (args, file) in cases {
        let run = Cmd::new().args(["schema"]).args(&args).run();
        run.ok();
        let printed: Value = serde_json::from_str(&run.stdout).unwrap();
        assert_eq!(printed, schema_file(&file), "{args:?}");
    }
    Cmd::new()
        .args(["schema", "--what", "checkpoint", "--type", "AccessLog"])
        .run()
        .code(2)
        .one_line_error("--type applies to --what line only");
    Cmd::new()
        .args(["schema", "--type", "NoSuchLog"])
        .run()
        .code(2);
    Cmd::new()
        .args(["schema", "--what", "everything"])
        .run()
        .code(2);
}
