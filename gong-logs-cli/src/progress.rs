//! The progress bar (stderr, terminals only) and the closing summary line.

use std::time::{Duration, Instant};

use gong_logs_api::export::{ExportStats, Exporter};
use indicatif::{ProgressBar, ProgressDrawTarget, ProgressStyle};

use crate::fit;

/// What the progress line shows, at one instant.
#[derive(Clone, Copy, Debug, Default)]
pub struct Snapshot {
    /// Ticks so far (animates the spinner).
    pub tick: u64,
    /// Time since the export started.
    pub elapsed: Duration,
    /// Entries delivered.
    pub entries: u64,
    /// Entries Gong said the ranges hold (0: not known yet).
    pub expected: u64,
    /// Pages received.
    pub pages: u64,
    /// Retries so far.
    pub retries: u64,
}

const SPINNER: [char; 10] = ['⠋', '⠙', '⠹', '⠸', '⠼', '⠴', '⠦', '⠧', '⠇', '⠏'];

/// Narrower than this, the bar gives way to a spinner and counts.
const BAR_MIN: usize = 10;

/// The progress line for a terminal `width` columns wide: a bar with
/// counts, rate and ETA when there is room; a spinner with counts when
/// narrow. Always shorter than `width` (the last column would wrap on some
/// terminals), and never less than 20 columns.
pub fn render(snapshot: &Snapshot, width: usize) -> String {
    let width = width.max(fit::MIN_WIDTH) - 1;
    let spinner = SPINNER[(snapshot.tick % SPINNER.len() as u64) as usize];
    let secs = snapshot.elapsed.as_secs();
    let clock = format!("{:02}:{:02}:{:02}", secs / 3600, secs / 60 % 60, secs % 60);
    let pages = format!(
        "{} {}{}",
        snapshot.pages,
        plural(snapshot.pages, "page", "pages"),
        if snapshot.retries > 0 {
            format!(
                ", {} {}",
                snapshot.retries,
                plural(snapshot.retries, "retry", "retries")
            )
        } else {
            String::new()
        }
    );
    if snapshot.expected == 0 {
        let line = format!("{spinner} {clock} waiting for Gong... ({pages})");
        return fit::cut(&line, width);
    }
    let total = snapshot.expected.max(snapshot.entries);
    let counts = format!("{}/{total} entries", snapshot.entries);
    let rate = snapshot.entries as f64 / snapshot.elapsed.as_secs_f64().max(0.001);
    let eta = if snapshot.entries > 0 && rate > 0.0 {
        let left = (total - snapshot.entries) as f64 / rate;
        format!("ETA {}s", left.ceil() as u64)
    } else {
        "ETA ?".to_owned()
    };
    let tail = format!(" {counts}, {rate:.0}/s, {eta} ({pages})");
    let head = format!("{spinner} {clock} ");
    let room = width.saturating_sub(fit::width(&head) + fit::width(&tail) + 2);
    if room >= BAR_MIN {
        let done = (room as u64 * snapshot.entries / total.max(1)) as usize;
        let mut bar = "=".repeat(done.min(room));
        if done < room {
            bar.push('>');
            bar.push_str(&" ".repeat(room - done - 1));
        }
        return format!("{head}[{bar}]{tail}");
    }
    // Narrow: spinner and counts, the least useful parts dropped first.
    let percent = snapshot.entries * 100 / total.max(1);
    for line in [
        format!("{spinner} {counts} ({percent}%), {eta} ({pages})"),
        format!("{spinner} {counts} ({percent}%), {eta}"),
        format!("{spinner} {counts} ({percent}%)"),
    ] {
        if fit::width(&line) <= width {
            return line;
        }
    }
    fit::cut(&format!("{spinner} {counts}"), width)
}

/// The width of the terminal stderr is on (COLUMNS, else 80, if unknown).
fn stderr_width() -> usize {
    terminal_size::terminal_size_of(std::io::stderr())
        .map(|(w, _)| usize::from(w.0))
        .or_else(|| crate::env::var("COLUMNS").and_then(|c| c.parse().ok()))
        .unwrap_or(80)
}

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
        // The line is ours ([`render`]), fitted to the terminal's width at
        // every tick; indicatif draws, clears, and hides it for output.
        bar.set_style(ProgressStyle::with_template("{msg}").expect("valid template"));
        let ticker = {
            let bar = bar.clone();
            let exporter = exporter.clone();
            let started = Instant::now();
            tokio::spawn(async move {
                let mut tick = 0u64;
                loop {
                    let stats = exporter.stats().snapshot();
                    let snapshot = Snapshot {
                        tick,
                        elapsed: started.elapsed(),
                        entries: stats.entries,
                        expected: stats.expected,
                        pages: stats.pages,
                        retries: stats.retries,
                    };
                    bar.set_message(render(&snapshot, stderr_width()));
                    tick += 1;
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

/// What the closing line tells: entries per type, pages, retries,
/// elapsed time.
#[derive(Debug)]
pub struct Summary<'a> {
    /// Entries written by this run, per type.
    pub per_type: &'a [(String, u64)],
    /// Entries written before resuming.
    pub earlier: u64,
    /// The exporter's counters.
    pub stats: &'a ExportStats,
    /// When the export started.
    pub started: Instant,
    /// Where the entries went (`None`: stdout).
    pub target: Option<&'a str>,
}

impl Summary<'_> {
    /// The closing line (after `gong-logs: `).
    pub fn line(&self) -> String {
        summary(
            self.per_type,
            self.earlier,
            self.stats,
            self.started,
            self.target,
        )
    }

    /// The same counts as separate fields (for `--log-format json`).
    pub fn fields(&self) -> serde_json::Map<String, serde_json::Value> {
        let stats = self.stats.snapshot();
        let total: u64 = self.per_type.iter().map(|(_, n)| n).sum();
        let by_type: serde_json::Map<String, serde_json::Value> = self
            .per_type
            .iter()
            .map(|(t, n)| (t.clone(), (*n).into()))
            .collect();
        let elapsed = (self.started.elapsed().as_secs_f64() * 1000.0).round() / 1000.0;
        let mut fields = serde_json::Map::new();
        fields.insert("entries".into(), total.into());
        fields.insert("entries_by_type".into(), by_type.into());
        fields.insert("requests".into(), stats.requests.into());
        fields.insert("pages".into(), stats.pages.into());
        fields.insert("retries".into(), stats.retries.into());
        fields.insert("skipped".into(), stats.skipped.into());
        fields.insert("cursor_recoveries".into(), stats.cursor_recoveries.into());
        fields.insert("elapsed_seconds".into(), elapsed.into());
        fields.insert("earlier_entries".into(), self.earlier.into());
        if let Some(target) = self.target {
            fields.insert("output".into(), target.into());
        }
        fields
    }
}

/// The closing line: entries per type, pages, retries, elapsed time.
fn summary(
    per_type: &[(String, u64)],
    earlier: u64,
    stats: &ExportStats,
    started: Instant,
    target: Option<&str>,
) -> String {
    let total: u64 = per_type.iter().map(|(_, n)| n).sum();
    let types: Vec<String> = per_type.iter().map(|(t, n)| format!("{t} {n}")).collect();
    let stats = stats.snapshot();
    let requests = stats.requests;
    let mut line = format!(
        "{total} {} ({}), {requests} {}, {} {}, {} {}",
        plural(total, "entry", "entries"),
        types.join(", "),
        plural(requests, "request", "requests"),
        stats.pages,
        plural(stats.pages, "page", "pages"),
        stats.retries,
        plural(stats.retries, "retry", "retries"),
    );
    let skipped = stats.skipped;
    if skipped > 0 {
        line.push_str(&format!(
            ", {skipped} {} skipped (no valid time, outside the range or out of order)",
            plural(skipped, "entry", "entries")
        ));
    }
    let recoveries = stats.cursor_recoveries;
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

#[cfg(test)]
mod tests {
    use super::*;

    fn at(width: usize, snapshot: &Snapshot) -> String {
        let line = render(snapshot, width);
        assert!(
            fit::width(&line) < width.max(20),
            "{width}: {line:?} is {} columns",
            fit::width(&line)
        );
        line
    }

    #[test]
    fn progress_fits_every_width() {
        let waiting = Snapshot {
            tick: 3,
            elapsed: Duration::from_secs(2),
            ..Snapshot::default()
        };
        let counting = Snapshot {
            tick: 4,
            elapsed: Duration::from_secs(75),
            entries: 1_250,
            expected: 5_000,
            pages: 13,
            retries: 2,
        };
        let mut text = String::new();
        for width in [120, 80, 40, 20, 8] {
            text.push_str(&format!("{width:>3} |{}|\n", at(width, &waiting)));
            text.push_str(&format!("{width:>3} |{}|\n", at(width, &counting)));
        }
        insta::assert_snapshot!("progress_widths", text);
    }
}
