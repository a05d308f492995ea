//! `gong-logs fetch`: validate everything into a plan ([`plan`]), then
//! drive the api crate's exporter type after type and hand its batches to a
//! writer and a sink.

mod dry_run;
mod plan;
mod run;
mod signals;
mod warnings;

use std::path::Path;

use anyhow::anyhow;
use gong_logs_api::export::Position;
use gong_logs_api::{Credentials, GongClient};
use jiff::Timestamp;

use crate::cli::FetchArgs;
use crate::config;
use crate::connect;
use crate::exit::{self, FAILURE, Failure, Result};
use crate::files::checkpoint::{self, Checkpoint, Identity, TypeState};
use crate::output::compress::Compression;
use crate::output::sink::Sink;
use dry_run::dry_run;
use plan::Plan;
use plan::output::{OutputPlan, plan_output};
use run::export;

/// Runs `gong-logs fetch`: the plan, then the export it describes.
pub fn run(args: &FetchArgs, verbose: u8, quiet: bool) -> Result<()> {
    Ready::prepare(args, quiet, &config::process_env)?.execute(verbose, quiet)
}

/// Everything decided before any request: the plan, the client, how the
/// output is opened and the state the export starts from.
struct Ready {
    plan: Plan,
    client: GongClient,
    output: OutputPlan,
    state: Checkpoint,
    /// A dry run without credentials (shown as `<none>`).
    no_credentials: bool,
}

impl Ready {
    /// Validates the arguments, resolves the connection (from `env`, the
    /// process environment but in tests) and the output, and prints the
    /// warnings; sends nothing.
    fn prepare(args: &FetchArgs, quiet: bool, env: config::EnvFn<'_>) -> Result<Self> {
        let now = Timestamp::now();
        let mut plan = Plan::new(args, now)?;
        let connection = config::resolve_all(&args.connection.flags(), env)?;
        // A dry run sends nothing, so it needs no credentials: it shows `<none>`.
        let (credentials, no_credentials) = match connection.credentials {
            Ok(credentials) => (credentials, false),
            Err(_) if plan.dry_run => (Credentials::bearer("none"), true),
            Err(failure) => return Err(failure),
        };
        if !quiet {
            for warning in &connection.warnings {
                crate::diag::warn(&exit::redact(warning));
            }
        }
        let identity = plan.identity(connection.base_url.as_str());
        let output = plan_output(&mut plan, &identity)?;
        // Bound (and the textfile's directory checked) before any request.
        plan.metrics.prepare()?;
        let client = connect::client(
            &connection.base_url,
            credentials,
            connection.proxy.clone(),
            Some(plan.timeout),
            &connection.tls,
        )?;
        // Said once everything else is known to be fine (on the range a
        // resumed export really uses).
        if !quiet {
            for warning in plan.warnings(now) {
                crate::diag::warn(&warning);
            }
        }
        let state = match &output {
            OutputPlan::ResumeContinue(_, ckpt) | OutputPlan::ResumeRotated(_, ckpt) => {
                (**ckpt).clone()
            }
            _ => fresh_state(&plan, identity, &output),
        };
        Ok(Self {
            plan,
            client,
            output,
            state,
            no_credentials,
        })
    }

    /// A dry run prints the first requests; an export already complete
    /// only loses its leftover checkpoint; anything else is exported.
    fn execute(self, verbose: u8, quiet: bool) -> Result<()> {
        if let OutputPlan::AlreadyDone(path, ckpt_path, _lock) = &self.output {
            return already_done(path, ckpt_path, self.plan.dry_run, quiet);
        }
        if self.plan.dry_run {
            return dry_run(
                &self.plan,
                &self.client,
                &self.state,
                quiet,
                self.no_credentials,
            );
        }
        let resumed = matches!(self.output, OutputPlan::ResumeContinue(..));
        let sink = open_sink(self.output, self.plan.compression, &self.state)?;
        export(
            &self.plan,
            self.client,
            sink,
            self.state,
            resumed,
            verbose,
            quiet,
        )
    }
}

/// The state of an export that starts now: every type at the range's
/// start, nothing written.
fn fresh_state(plan: &Plan, identity: Identity, output: &OutputPlan) -> Checkpoint {
    Checkpoint {
        version: checkpoint::VERSION,
        command: identity,
        from: plan.from,
        to: plan.to,
        data_file: match output {
            OutputPlan::ResumeFresh(spec) => spec
                .data_path()
                .file_name()
                .unwrap_or_default()
                .to_string_lossy()
                .into_owned(),
            _ => String::new(),
        },
        data_len: 0,
        data_sha256: String::new(),
        entries: 0,
        types: plan
            .types
            .iter()
            .map(|t| TypeState {
                log_type: t.to_string(),
                position: Position {
                    time: plan.from,
                    count: 0,
                },
                entries: 0,
                done: false,
            })
            .collect(),
        checksum: String::new(),
    }
}

/// The export finished in an earlier run that was killed before it
/// deleted its checkpoint: delete it (a dry run only says so).
fn already_done(path: &Path, ckpt_path: &Path, dry_run: bool, quiet: bool) -> Result<()> {
    if dry_run {
        if !quiet {
            crate::diag::line(
                crate::diag::Level::Info,
                &format!(
                    "dry run: {} is already complete; nothing would be sent",
                    path.display()
                ),
            );
        }
        return Ok(());
    }
    std::fs::remove_file(ckpt_path).map_err(|e| {
        Failure::new(
            FAILURE,
            anyhow!("cannot delete {}: {e}", ckpt_path.display()),
        )
    })?;
    if !quiet {
        crate::diag::line(
            crate::diag::Level::Info,
            &format!(
                "{} is already complete (removed its leftover checkpoint)",
                path.display()
            ),
        );
    }
    Ok(())
}

/// Opens the sink the output plan says.
fn open_sink(output: OutputPlan, compression: Compression, state: &Checkpoint) -> Result<Sink> {
    match output {
        OutputPlan::Stdout => Ok(Sink::Stdout),
        OutputPlan::Direct(path) => Sink::direct(&path, compression),
        OutputPlan::Temp(path, keep, lock) => Sink::temp(&path, keep, lock, compression),
        OutputPlan::ResumeFresh(spec) => Sink::resumable_fresh(spec, state.clone()),
        OutputPlan::ResumeContinue(spec, ckpt) => Sink::resumable_continue(spec, *ckpt),
        OutputPlan::ResumeRotated(spec, ckpt) => Sink::resumable_rotated(spec, *ckpt),
        OutputPlan::AlreadyDone(..) => unreachable!("handled before"),
    }
}

#[cfg(test)]
mod tests;
