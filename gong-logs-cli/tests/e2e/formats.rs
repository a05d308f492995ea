//! Every output format against the simulator's data set, compared exactly.

use gong_logs_e2e::*;

const FROM: &str = "2024-01-03T00:00:00Z";
const TO: &str = "2024-01-20T12:00:00Z";

fn fetch(sim: &TestSim, args: &[&str]) -> Run {
    let run = sim.fetch().range(FROM, TO).args(args).run();
    run.ok();
    run
}

#[test]
fn jsonl_is_every_entry_exactly_with_log_type_added() {
    let sim = TestSim::small(120);
    for t in ALL_TYPES {
        let run = fetch(&sim, &["--type", t, "--format", "jsonl"]);
        let expected = sim.expected_jsonl(&[t], FROM, TO);
        assert!(!expected.is_empty());
        assert_eq!(run.stdout, expected, "{t}");
        assert!(
            run.stderr.contains(&format!("{t} ")),
            "summary: {}",
            run.stderr
        );
    }
}

#[test]
fn jsonl_is_the_default_when_stdout_is_not_a_terminal() {
    let sim = TestSim::small(50);
    let run = fetch(&sim, &["-t", "UserCallPlay"]);
    assert_eq!(run.stdout, sim.expected_jsonl(&["UserCallPlay"], FROM, TO));
}

#[test]
fn types_repeat_comma_lists_all_and_any_case() {
    let sim = TestSim::small(40);
    let run = fetch(
        &sim,
        &[
            "--type",
            "usercallplay",
            "--type",
            "AccessLog,EXTERNALLYSHAREDCALLPLAY",
        ],
    );
    assert_eq!(
        run.stdout,
        sim.expected_jsonl(
            &["UserCallPlay", "AccessLog", "ExternallySharedCallPlay"],
            FROM,
            TO
        )
    );
    let all = fetch(&sim, &["--type", "all"]);
    assert_eq!(all.stdout, sim.expected_jsonl(&ALL_TYPES, FROM, TO));
    // A type given twice is exported once, where it first appears.
    let twice = fetch(&sim, &["-t", "UserCallPlay", "-t", "all"]);
    assert_eq!(
        twice.stdout,
        sim.expected_jsonl(
            &[
                "UserCallPlay",
                "AccessLog",
                "UserActivityLog",
                "ExternallySharedCallAccess",
                "ExternallySharedCallPlay"
            ],
            FROM,
            TO
        )
    );
}

#[test]
fn json_is_one_array_of_the_same_objects() {
    let sim = TestSim::small(60);
    let run = fetch(
        &sim,
        &["-t", "AccessLog,UserActivityLog", "--format", "json"],
    );
    let lines: Vec<String> = sim
        .expected_jsonl(&["AccessLog", "UserActivityLog"], FROM, TO)
        .lines()
        .map(str::to_owned)
        .collect();
    assert_eq!(run.stdout, format!("[\n{}\n]\n", lines.join(",\n")));
    let parsed: serde_json::Value = serde_json::from_str(&run.stdout).unwrap();
    assert_eq!(parsed.as_array().unwrap().len(), lines.len());
}

#[test]
fn csv_has_fixed_columns_and_loses_nothing() {
    let sim = TestSim::small(80);
    let run = fetch(&sim, &["-t", "all", "--format", "csv"]);
    let mut reader = csv::Reader::from_reader(run.stdout.as_bytes());
    let header: Vec<String> = reader.headers().unwrap().iter().map(String::from).collect();
    assert_eq!(
        header,
        [
            "logType",
            "eventTime",
            "userId",
            "userEmailAddress",
            "userFullName",
            "impersonatorUserId",
            "impersonatorEmailAddress",
            "impersonatorFullName",
            "impersonatorCompanyId",
            "logRecord",
            "extra"
        ]
    );
    let rows: Vec<csv::StringRecord> = reader.records().map(Result::unwrap).collect();
    // RFC 4180 line ends (as the README says), and `extra` is always a JSON
    // object, `{}` when there is nothing else.
    assert_eq!(run.stdout.matches("\r\n").count(), rows.len() + 1);
    assert!(run.stdout.ends_with("\r\n"));
    assert!(rows.iter().all(|r| r[10].starts_with('{')));
    assert!(rows.iter().any(|r| &r[10] == "{}"));
    // Format names in any case.
    assert_eq!(fetch(&sim, &["-t", "all", "-f", "CSV"]).stdout, run.stdout);
    let mut expected = Vec::new();
    for t in ALL_TYPES {
        for json in sim.entries(t, FROM, TO) {
            expected.push((t, json));
        }
    }
    assert_eq!(rows.len(), expected.len());
    for (row, (t, json)) in rows.iter().zip(&expected) {
        assert_eq!(&row[0], *t);
        // Rebuild the entry from the row: string columns, logRecord (JSON
        // text), extra (JSON object of everything else). Compare as values.
        let mut rebuilt = serde_json::Map::new();
        for (i, name) in header.iter().enumerate().take(9).skip(1) {
            if !row[i].is_empty() {
                rebuilt.insert(name.clone(), serde_json::Value::String(row[i].to_owned()));
            }
        }
        if !row[9].is_empty() {
            rebuilt.insert("logRecord".into(), serde_json::from_str(&row[9]).unwrap());
        }
        if !row[10].is_empty() {
            let extra: serde_json::Map<String, serde_json::Value> =
                serde_json::from_str(&row[10]).unwrap();
            rebuilt.extend(extra);
        }
        let original: serde_json::Value = serde_json::from_str(json).unwrap();
        assert_eq!(
            serde_json::Value::Object(rebuilt),
            original,
            "row for {json}"
        );
        // logRecord keeps its exact text (numbers, escapes), only compacted.
        let record = serde_json::from_str::<
            std::collections::HashMap<String, Box<serde_json::value::RawValue>>,
        >(json)
        .unwrap()
        .remove("logRecord");
        if let Some(record) = record {
            assert_eq!(&row[9], record.get());
        }
    }
}

#[test]
fn csv_and_table_fields_select_columns() {
    let sim = TestSim::small(30);
    let run = fetch(
        &sim,
        &[
            "-t",
            "UserCallPlay",
            "--format",
            "csv",
            "--fields",
            "logType,eventTime,userEmailAddress,logRecord.call_id,nope.x",
        ],
    );
    let mut lines = run.stdout.lines();
    assert_eq!(
        lines.next(),
        Some("logType,eventTime,userEmailAddress,logRecord.call_id,nope.x")
    );
    let entries = sim.entries("UserCallPlay", FROM, TO);
    let rows: Vec<&str> = lines.collect();
    assert_eq!(rows.len(), entries.len());
    for (row, json) in rows.iter().zip(&entries) {
        let v: serde_json::Value = serde_json::from_str(json).unwrap();
        let call_id = match &v["logRecord"]["call_id"] {
            serde_json::Value::String(s) => s.clone(),
            other => other.to_string(),
        };
        let email = v["userEmailAddress"].as_str().unwrap_or("");
        let time = v["eventTime"].as_str().unwrap();
        assert_eq!(*row, format!("UserCallPlay,{time},{email},{call_id},"));
    }

    let table = fetch(
        &sim,
        &[
            "-t",
            "UserCallPlay",
            "--format",
            "table",
            "--fields",
            "eventTime,logRecord.call_id",
        ],
    );
    let lines: Vec<&str> = table.stdout.lines().collect();
    assert_eq!(lines.len(), entries.len() + 1);
    assert!(lines[0].starts_with("eventTime"));
    let col = lines[0].find("logRecord.call_id").unwrap();
    assert!(
        lines[1..]
            .iter()
            .all(|l| l.char_indices().nth(col).is_some())
    );
}

#[test]
fn table_is_aligned_and_fits_the_width() {
    let sim = TestSim::small(30);
    let run = fetch(
        &sim,
        &[
            "-t",
            "AccessLog,ExternallySharedCallAccess",
            "--format",
            "table",
        ],
    );
    let lines: Vec<&str> = run.stdout.lines().collect();
    let n = sim.entries("AccessLog", FROM, TO).len()
        + sim.entries("ExternallySharedCallAccess", FROM, TO).len();
    assert_eq!(lines.len(), n + 1);
    let header = lines[0];
    assert!(header.starts_with("TIME"));
    let type_col = header.find("TYPE").unwrap();
    let user_col = header.find("USER").unwrap();
    let summary_col = header.find("SUMMARY").unwrap();
    for line in &lines[1..] {
        // COLUMNS=100 in the test environment.
        assert!(line.chars().count() <= 100, "too wide: {line}");
        let chars: Vec<char> = line.chars().collect();
        assert!(
            chars[type_col - 1] == ' ' && chars[type_col] != ' ',
            "{line}"
        );
        assert!(
            chars[user_col - 1] == ' ' && chars[user_col] != ' ',
            "{line}"
        );
        assert!(chars[summary_col - 1] == ' ', "{line}");
        assert!(!line.contains('\u{1b}'));
    }
    assert!(
        lines[1..]
            .iter()
            .any(|l| l.contains("ExternallySharedCallAccess"))
    );
}

#[test]
fn empty_period_is_success_with_empty_output() {
    let sim = TestSim::small(20);
    for (format, expected) in [
        ("jsonl", ""),
        ("json", "[]\n"),
        ("table", ""),
        (
            "csv",
            "logType,eventTime,userId,userEmailAddress,userFullName,impersonatorUserId,impersonatorEmailAddress,impersonatorFullName,impersonatorCompanyId,logRecord,extra\r\n",
        ),
    ] {
        let run = sim
            .fetch()
            .types("all")
            .range("2023-05-01", "2023-05-02")
            .format(format)
            .run();
        run.ok();
        assert_eq!(run.stdout, expected, "{format}");
        assert!(run.stderr.contains("0 entries"), "{}", run.stderr);
    }
}

#[test]
fn time_forms_select_the_same_range() {
    let sim = TestSim::small(100);
    let expected = sim.expected_jsonl(
        &["AccessLog"],
        "2024-01-10T00:00:00Z",
        "2024-01-12T10:30:00.5Z",
    );
    for (from, to) in [
        ("2024-01-10", "2024-01-12T10:30:00.5Z"),
        ("2024-01-10T00:00:00Z", "2024-01-12T12:30:00.500+02:00"),
        ("2024-01-09T19:00:00-05:00", "2024-01-12T10:30:00.500000Z"),
    ] {
        let run = sim.fetch().types("AccessLog").range(from, to).run();
        run.ok();
        assert_eq!(run.stdout, expected, "--from {from} --to {to}");
    }
    // Relative times: everything since long before the data set, to now.
    let all = sim.expected_jsonl(&["UserActivityLog"], DATA_START, DATA_END);
    for args in [["--since", "2000d"], ["--from", "300w"]] {
        let run = sim
            .fetch()
            .types("UserActivityLog")
            .no_range()
            .args(args)
            .run();
        run.ok();
        assert_eq!(run.stdout, all, "{args:?}");
    }
}

#[test]
fn limit_stops_after_n_entries_in_total() {
    let sim = TestSim::small(50);
    let full = sim.expected_jsonl(&["AccessLog", "UserCallPlay"], FROM, TO);
    let n_first = sim.entries("AccessLog", FROM, TO).len();
    for limit in [1, 5, n_first, n_first + 3] {
        let run = fetch(
            &sim,
            &[
                "-t",
                "AccessLog,UserCallPlay",
                "--limit",
                &limit.to_string(),
            ],
        );
        let expected: Vec<&str> = full.lines().take(limit).collect();
        assert_eq!(
            run.stdout,
            format!("{}\n", expected.join("\n")),
            "--limit {limit}"
        );
    }
    let json = fetch(
        &sim,
        &["-t", "AccessLog", "--limit", "2", "--format", "json"],
    );
    assert_eq!(
        serde_json::from_str::<serde_json::Value>(&json.stdout)
            .unwrap()
            .as_array()
            .unwrap()
            .len(),
        2
    );
}

#[test]
fn user_filter_matches_id_or_email_case_insensitively() {
    let sim = TestSim::small(150);
    let entries = sim.entries("UserActivityLog", FROM, TO);
    let values: Vec<serde_json::Value> = entries
        .iter()
        .map(|e| serde_json::from_str(e).unwrap())
        .collect();
    let email = values
        .iter()
        .find_map(|v| v["userEmailAddress"].as_str())
        .expect("an entry with an email")
        .to_owned();
    let id = values
        .iter()
        .filter_map(|v| v["userId"].as_str())
        .find(|id| {
            values.iter().any(|v| {
                v["userId"].as_str() == Some(id) && v["userEmailAddress"].as_str() != Some(&email)
            })
        })
        .map(str::to_owned);
    let keep = |v: &serde_json::Value| {
        v["userEmailAddress"]
            .as_str()
            .is_some_and(|e| e.eq_ignore_ascii_case(&email))
            || id
                .as_deref()
                .is_some_and(|id| v["userId"].as_str() == Some(id))
    };
    let expected: String = entries
        .iter()
        .zip(&values)
        .filter(|(_, v)| keep(v))
        .map(|(json, _)| format!("{}\n", with_log_type("UserActivityLog", json)))
        .collect();
    let mut args = vec!["-t", "UserActivityLog", "--user"];
    let upper = email.to_uppercase();
    args.push(&upper);
    if let Some(id) = &id {
        args.push("--user");
        args.push(id);
    }
    let run = fetch(&sim, &args);
    assert!(!expected.is_empty());
    assert_eq!(run.stdout, expected);

    // Externally shared logs have no user: all filtered out.
    let run = fetch(
        &sim,
        &["-t", "ExternallySharedCallAccess", "--user", &email],
    );
    assert_eq!(run.stdout, "");
}

#[test]
fn bearer_token_works_too() {
    let sim = TestSim::small(20);
    let run = Fetch::new(Cmd::new())
        .env("GONG_BASE_URL", sim.base_url())
        .env("GONG_BEARER_TOKEN", "sim-bearer-token")
        .types("UserCallPlay")
        .range(FROM, TO)
        .run();
    run.ok();
    assert_eq!(run.stdout, sim.expected_jsonl(&["UserCallPlay"], FROM, TO));
}

#[test]
fn pages_windows_and_retries_still_give_every_entry_once() {
    // Small pages, several windows at once, and every request failing once
    // (500, 502 HTML, 503 Retry-After, dropped connection, truncated body).
    let mut config = SimConfig::testing(11, 120);
    config.page_size = 17;
    config.faults = FaultConfig {
        p_500: 0.2,
        p_502: 0.2,
        p_503: 0.0,
        p_drop: 0.2,
        p_truncate: 0.2,
        fail_each_request_once: true,
        ..FaultConfig::default()
    };
    let sim = TestSim::start(config);
    let run = sim.fetch().types("AccessLog,UserCallPlay").chains(4).run();
    run.ok();
    assert_eq!(
        run.stdout,
        sim.expected_jsonl(&["AccessLog", "UserCallPlay"], DATA_START, DATA_END)
    );
    assert!(sim.stats().faults.total_failures() > 0);
    let summary = run.stderr.lines().last().unwrap();
    assert!(
        summary.contains("240 entries (AccessLog 120, UserCallPlay 120)"),
        "{summary}"
    );
    assert!(!summary.contains(" 0 retries"), "{summary}");
}
