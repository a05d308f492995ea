//! The progress bar (stderr, terminals only) and the closing summary line.

use std::time::{Duration, Instant};

use gong_logs_api::export::{ExportStats, Exporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressState, ProgressStyle};

/// A progress bar fed from the exporter's counters, or nothing.
#[derive(Debug)]
pub struct Progress {
    bar: Option<ProgressBar>,
    ticker: Option<tokio::task::JoinHandle<()>>,
}

impl Progress {
    /// Starts a bar if `show`; it refreshes itself from `exporter.stats()`.
    pub fn start(exporter: &Exporter, show: bool) -> Self {
        if !show {
            return Self {
                bar: None,
                ticker: None,
            };
        }
        let bar = ProgressBar::with_draw_target(Some(0), ProgressDrawTarget::stderr_with_hz(10));
        // Until Gong's first totalRecords arrives, a spinner; then a bar.
        let waiting =
            ProgressStyle::with_template("{spinner} {elapsed_precise} waiting for Gong... {msg}")
                .expect("valid template");
        let counting = ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{wide_bar}] {human_pos}/{human_len} entries, {rate}, ETA {eta} {msg}",
        )
        .expect("valid template")
        .with_key("rate", |state: &ProgressState, w: &mut dyn std::fmt::Write| {
            let _ = write!(w, "{:.0}/s", state.per_sec());
        })
        .progress_chars("=> ");
        bar.set_style(waiting);
        let ticker = {
            let bar = bar.clone();
            let exporter = exporter.clone();
            tokio::spawn(async move {
                let mut counting = Some(counting);
                loop {
                    let stats = exporter.stats();
                    let entries = ExportStats::get(&stats.entries);
                    let expected = ExportStats::get(&stats.expected);
                    if expected > 0
                        && let Some(style) = counting.take()
                    {
                        bar.set_style(style);
                    }
                    bar.set_length(expected.max(entries));
                    bar.set_position(entries);
                    let retries = ExportStats::get(&stats.retries);
                    let pages = ExportStats::get(&stats.pages);
                    bar.set_message(if retries > 0 {
                        format!("({pages} pages, {retries} retries)")
                    } else {
                        format!("({pages} pages)")
                    });
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            })
        };
        Self {
            bar: Some(bar),
            ticker: Some(ticker),
        }
    }

    /// Runs `f` with the bar hidden (for output to the same terminal).
    pub fn suspend<R>(&self, f: impl FnOnce() -> R) -> R {
        match &self.bar {
            Some(bar) => bar.suspend(f),
            None => f(),
        }
    }

    /// Removes the bar.
    pub fn finish(&mut self) {
        if let Some(ticker) = self.ticker.take() {
            ticker.abort();
        }
        if let Some(bar) = self.bar.take() {
            bar.finish_and_clear();
        }
    }
}

impl Drop for Progress {
    fn drop(&mut self) {
        self.finish();
    }
}

/// The closing line: entries per type, pages, retries, elapsed time.
pub fn summary(
    per_type: &[(String, u64)],
    earlier: u64,
    stats: &ExportStats,
    started: Instant,
    target: Option<&str>,
) -> String {
    let total: u64 = per_type.iter().map(|(_, n)| n).sum();
    let types: Vec<String> = per_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
    let requests = ExportStats::get(&stats.requests);
    let mut line = format!(
        "{total} {} ({}), {requests} {}, {} {}, {} {}",
        plural(total, "entry", "entries"),
        types.join(", "),
        plural(requests, "request", "requests"),
        ExportStats::get(&stats.pages),
        plural(ExportStats::get(&stats.pages), "page", "pages"),
        ExportStats::get(&stats.retries),
        plural(ExportStats::get(&stats.retries), "retry", "retries"),
    );
    let recoveries = ExportStats::get(&stats.cursor_recoveries);
    if recoveries > 0 {
        line.push_str(&format!(
            ", {recoveries} cursor {}",
            plural(recoveries, "recovery", "recoveries")
        ));
    }
    line.push_str(&format!(", {:.1}s", started.elapsed().as_secs_f64()));
    if earlier > 0 {
        line.push_str(&format!("; plus {earlier} written before resuming"));
    }
    if let Some(target) = target {
        line.push_str(&format!("; written to {target}"));
    }
    line
}

fn plural(n: u64, one: &'static str, many: &'static str) -> &'static str {
    if n == 1 { one } else { many }
}
