//! `cargo xtask bench --only csv`: CSV against JSONL on one entry whose `logRecord`
//! holds a very long string (8 MB and 30 MB: the client refuses responses
//! over 32 MiB, so no longer value can reach the writer). Before gong-logs
//! wrote CSV cells itself, the csv crate rescanned the rest of a long quoted
//! cell for every 1 KiB it copied: 32 MB took 14.7 s, 64 MB 70 s.
//! Target: CSV within 3× the JSONL time. Kept apart from the other
//! scenarios of `bench` so it runs on its own.

use std::io::Write as _;
use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, ensure};
use gong_logs_sim::{LogType, SimConfig, Simulator};

use crate::demo::point_at_sim;

/// The sizes measured, in MB (10^6 bytes) of the string value.
pub const SIZES_MB: [usize; 2] = [8, 30];

/// One measurement.
#[derive(Debug)]
pub struct CsvRun {
    /// Size of the value, MB.
    pub size_mb: usize,
    /// Wall time of the JSONL export.
    pub jsonl: Duration,
    /// Wall time of the CSV export.
    pub csv: Duration,
}

impl CsvRun {
    /// CSV time ÷ JSONL time.
    pub fn ratio(&self) -> f64 {
        self.csv.as_secs_f64() / self.jsonl.as_secs_f64().max(1e-9)
    }
}

fn write_data(path: &Path, size_mb: usize) -> Result<()> {
    let mut file = std::io::BufWriter::new(std::fs::File::create(path)?);
    file.write_all(
        br#"{"logType":"AccessLog","eventTime":"2024-01-01T00:00:01Z","userId":"1","userEmailAddress":"a@example.com","logRecord":{"v":""#,
    )?;
    let chunk = [b'a'; 1 << 20];
    let mut left = size_mb * 1_000_000;
    while left > 0 {
        let n = left.min(chunk.len());
        file.write_all(&chunk[..n])?;
        left -= n;
    }
    file.write_all(b"\"}}\n")?;
    file.flush()?;
    Ok(())
}

fn export(bin: &Path, sim: &Simulator, format: &str) -> Result<(Duration, u64)> {
    let start = Instant::now();
    let mut command = Command::new(bin);
    command.args([
        "fetch",
        "-t",
        "AccessLog",
        "--from",
        "2024-01-01T00:00:00Z",
        "--to",
        "2024-01-02T00:00:00Z",
        "--rate-limit",
        "1000",
        "--quiet",
        "--format",
        format,
    ]);
    let mut child = point_at_sim(&mut command, sim)
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .context("cannot start gong-logs")?;
    let mut stdout = child.stdout.take().expect("piped");
    let bytes = std::io::copy(&mut stdout, &mut std::io::sink())?;
    let status = child.wait()?;
    ensure!(
        status.success(),
        "gong-logs --format {format} failed: {status}"
    );
    Ok((start.elapsed(), bytes))
}

/// Measures each size: JSONL, then CSV, one run each (the CSV run of the
/// old code would not end: a run over 10 minutes is reported as missed).
pub async fn measure(bin: &Path) -> Result<Vec<CsvRun>> {
    let mut out = Vec::new();
    for size_mb in SIZES_MB {
        let data = std::env::temp_dir().join(format!(
            "gong-logs-bench-csv-{}-{size_mb}.jsonl",
            std::process::id()
        ));
        write_data(&data, size_mb)?;
        let config = SimConfig {
            data_file: Some(data.clone()),
            log_types: vec![LogType::AccessLog],
            rate_limit: 0.0,
            ..SimConfig::default()
        };
        let sim = Simulator::start(config).await;
        std::fs::remove_file(&data)?;
        let sim = sim?;
        let sim_ref = &sim;
        let (jsonl, jsonl_bytes) = tokio::task::block_in_place(|| export(bin, sim_ref, "jsonl"))?;
        let (csv, csv_bytes) = tokio::task::block_in_place(|| export(bin, sim_ref, "csv"))?;
        ensure!(
            jsonl_bytes > (size_mb * 1_000_000) as u64 && csv_bytes > (size_mb * 1_000_000) as u64,
            "the exports are too short: jsonl {jsonl_bytes} B, csv {csv_bytes} B"
        );
        sim.shutdown().await;
        let run = CsvRun {
            size_mb,
            jsonl,
            csv,
        };
        eprintln!(
            "csv: one {size_mb} MB logRecord: jsonl {:.2} s, csv {:.2} s ({:.2}×)",
            jsonl.as_secs_f64(),
            csv.as_secs_f64(),
            run.ratio()
        );
        out.push(run);
    }
    Ok(out)
}

/// The rows of the benchmark table: (name, result, target, met).
pub fn rows(runs: &[CsvRun]) -> Vec<(String, String, String, bool)> {
    runs.iter()
        .map(|r| {
            (
                format!("CSV vs JSONL, one {} MB `logRecord` value", r.size_mb),
                format!(
                    "csv {:.2} s, jsonl {:.2} s ({:.2}×)",
                    r.csv.as_secs_f64(),
                    r.jsonl.as_secs_f64(),
                    r.ratio()
                ),
                "≤ 3× JSONL".to_owned(),
                r.ratio() <= 3.0,
            )
        })
        .collect()
}
