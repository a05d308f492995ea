//! `fetch --dry-run`: the engine's first requests, printed; nothing sent.

use gong_logs_api::export::{Exporter, Position};
use gong_logs_api::{GongClient, LogType};

use super::plan::Plan;
use crate::connect::{self, Threads};
use crate::exit::Result;
use crate::files::checkpoint::Checkpoint;

/// Prints the first request of each type, exactly as the api crate would
/// build it (credentials redacted); sends nothing.
pub(crate) fn dry_run(
    plan: &Plan,
    client: &GongClient,
    state: &Checkpoint,
    quiet: bool,
    no_credentials: bool,
) -> Result<()> {
    let runtime = connect::runtime(Threads::Current)?;
    // The engine's own first round: one request per initial time slice.
    let starts: Vec<(LogType, Position)> = plan
        .types
        .iter()
        .zip(&state.types)
        .filter(|(_, ts)| !ts.done)
        .map(|(t, ts)| (*t, ts.position))
        .collect();
    let mut out = String::new();
    runtime.block_on(async {
        let exporter = Exporter::new(client.clone(), plan.options.clone());
        for request in exporter.first_requests(&starts, plan.to) {
            let mut preview = client.preview(&request).await;
            if no_credentials {
                preview = preview.replace("authorization: Bearer ***\n", "authorization: <none>\n");
            }
            out.push_str(&preview);
            out.push('\n');
        }
    });
    let _ = crate::stdio::write_stdout(out.as_bytes());
    if !quiet {
        crate::diag::line(
            crate::diag::Level::Info,
            &format!(
                "dry run: nothing was sent. These are the engine's first requests, one per initial time slice; later requests repeat them with Gong's cursor, or cover a slice split off a running one{}.{}",
                if plan.follow.is_some() {
                    ", then poll every --interval"
                } else {
                    ""
                },
                if no_credentials {
                    " No credentials are set: a real run would stop (exit 3); set GONG_ACCESS_KEY and GONG_ACCESS_KEY_SECRET, or GONG_BEARER_TOKEN."
                } else {
                    ""
                }
            ),
        );
    }
    Ok(())
}
