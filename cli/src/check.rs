//! `check`: the CI gate.
//!
//! Looks for every problem at once and reports them all, then exits with the
//! code of the first, in this order: several heads (6), a failed revision
//! (4), a revision another run is applying right now (11), applied
//! revisions unknown to the code (8), checksum drift (7), pending
//! destructive revisions (5), models that the migrations do not reach
//! (12, when the binary links `#[derive(Model)]` structs of the
//! migrator's model set). When all is well it prints one calm line and
//! exits 0.

use super::errors::code_for;
use super::output::plural;
use super::read::running_line;
use super::{Ctx, exit};
use cofferdam_core::{Error, Status};

/// Options of `migrate check`.
#[derive(Debug, clap::Args)]
pub(super) struct CheckArgs {
    /// Print JSON for machines instead of text
    #[arg(long)]
    pub(super) json: bool,
    /// Check the revision graph only, without a database
    #[arg(long)]
    offline: bool,
    /// List pending destructive revisions without failing on them (report-only CI step)
    #[arg(long)]
    allow_destructive: bool,
    /// The empty scratch database to compare the models on [default: in-memory SQLite, or a temporary cfdm_shadow_* database on the same server]
    #[arg(long, value_name = "URL")]
    shadow_url: Option<String>,
}

#[derive(Debug, serde::Serialize)]
struct Problem {
    kind: &'static str,
    exit_code: u8,
    message: String,
    hint: Option<String>,
}

impl Problem {
    fn from_error(kind: &'static str, error: &Error) -> Problem {
        Problem {
            kind,
            exit_code: code_for(error),
            message: error.headline(),
            hint: error.hint(),
        }
    }
}

/// The `kind` of a problem in the JSON output.
fn kind(error: &Error) -> &'static str {
    match error {
        Error::MultipleHeads { .. } => "multiple_heads",
        Error::Blocked { .. } => "failed",
        Error::UnknownApplied { .. } => "unknown_applied",
        Error::ChecksumMismatch { .. } => "checksum_drift",
        _ => "error",
    }
}

pub(super) async fn check(ctx: &Ctx, args: CheckArgs) -> u8 {
    let out = &ctx.out;
    let url = (!args.offline).then(|| ctx.read_url());
    // A broken graph (duplicate id, unknown parent, cycle) leaves nothing to check.
    let report = match ctx.migrator.check(url.as_deref()).await {
        Ok(report) => report,
        Err(error) => return out.error(&error),
    };
    let mut problems: Vec<Problem> = report
        .problems
        .iter()
        .map(|error| Problem::from_error(kind(error), error))
        .collect();
    let heads: Vec<&str> = report.heads.iter().map(String::as_str).collect();
    let status = report.status.as_ref();
    // A revision another run is applying is not a failure, but the gate
    // cannot pass on a database that is still changing: after the failed
    // ones, as `status` ranks it.
    let running = status.map_or(&[][..], |status| &status.running[..]);
    let after_failed = problems
        .iter()
        .position(|p| !matches!(p.kind, "multiple_heads" | "failed"))
        .unwrap_or(problems.len());
    problems.splice(
        after_failed..after_failed,
        running.iter().map(|running| Problem {
            kind: "running",
            exit_code: exit::RUNNING,
            message: format!(
                "revision `{}` is being applied by another run right now:\n{}",
                running.row.id,
                running_line(out, running)
            ),
            hint: Some(
                "This is not a failure: run `migrate check` again when that run ends.".to_owned(),
            ),
        }),
    );
    let destructive = &report.destructive;
    if !destructive.is_empty() && !args.allow_destructive {
        let lines: Vec<String> = destructive
            .iter()
            .map(|d| format!("  ({}, {})", d.revision, d.operation))
            .collect();
        let revisions: std::collections::BTreeSet<&str> =
            destructive.iter().map(|d| d.revision.as_str()).collect();
        problems.push(Problem {
            kind: "destructive_pending",
            exit_code: exit::DESTRUCTIVE,
            message: format!(
                "{} pending, and `migrate up` will refuse {} without --allow-destructive:\n{}",
                plural(revisions.len(), "destructive revision"),
                if revisions.len() == 1 { "it" } else { "them" },
                lines.join("\n")
            ),
            hint: Some(
                "Review each operation (`migrate sql` shows the statements), take a backup, then deploy with \
                 `migrate up --allow-destructive`; `check --allow-destructive` only lists them."
                    .to_owned(),
            ),
        });
    }
    let mut model_changes = Vec::new();
    if !args.offline && !ctx.migrator.model_schema().tables.is_empty() {
        match ctx
            .migrator
            .autogenerate(&ctx.url, args.shadow_url.as_deref(), false)
            .await
        {
            Ok(found) if !found.diff.changes.is_empty() => {
                model_changes = found.diff.changes.iter().map(|c| c.describe()).collect();
                problems.push(Problem {
                    kind: "models_differ",
                    exit_code: exit::MODELS,
                    message: format!(
                        "the models of set `{}` and the schema the migrations reach disagree on {} ({}):\n{}",
                        ctx.migrator.models_set(),
                        found.backend,
                        plural(model_changes.len(), "change"),
                        model_changes.iter().map(|c| format!("  {c}")).collect::<Vec<_>>().join("\n")
                    ),
                    hint: Some(
                        "A model changed without a migration: run `migrate new NAME --autogenerate`, review the file, commit it."
                            .to_owned(),
                    ),
                });
            }
            Ok(_) => {}
            Err(error) => problems.push(Problem::from_error("models_unchecked", &error)),
        }
    }
    let code = problems.first().map_or(exit::OK, |p| p.exit_code);
    let not_contract = &report.not_contract;
    if args.json {
        out.json(&serde_json::json!({
            "ok": problems.is_empty(),
            "exit_code": code,
            "heads": heads,
            "database_checked": status.is_some(),
            "pending": status.map(|s| s.pending.iter().map(|p| p.id.as_str()).collect::<Vec<_>>()),
            "pending_destructive": destructive,
            "model_changes": model_changes,
            "destructive_not_contract": not_contract,
            "problems": problems,
        }));
        return code;
    }
    for problem in &problems {
        out.paragraph(&problem.message, problem.hint.as_deref());
    }
    if !not_contract.is_empty() {
        out.warn(&format!(
            "destructive {} not in the contract phase: {}; `migrate up --phase expand` would apply {} before the rollout, \
             while the release serving may still use what {} removes; add `phase = contract` to #[migration]",
            if not_contract.len() == 1 { "revision" } else { "revisions" },
            not_contract.join(", "),
            if not_contract.len() == 1 { "it" } else { "them" },
            if not_contract.len() == 1 { "it" } else { "each" },
        ));
    }
    if args.allow_destructive && !destructive.is_empty() {
        out.line(&format!(
            "destructive revisions pending (allowed by --allow-destructive):\n{}",
            destructive
                .iter()
                .map(|d| format!("  ({}, {})", d.revision, d.operation))
                .collect::<Vec<_>>()
                .join("\n")
        ));
    }
    if problems.is_empty() {
        out.line(&ok_line(&heads, status, destructive.len()));
    } else {
        out.line(&format!(
            "check failed: {} (exit {code})",
            plural(problems.len(), "problem")
        ));
    }
    code
}

fn ok_line(heads: &[&str], status: Option<&Status>, destructive: usize) -> String {
    let head = format!("ok: one head ({})", heads.join(", "));
    match status {
        None => format!("{head}; database not checked (--offline)"),
        Some(status) if status.pending.is_empty() => {
            format!("{head}; database at head, nothing pending")
        }
        Some(status) => format!(
            "{head}; no failed, unknown or edited revisions; {} pending, {}",
            status.pending.len(),
            match destructive {
                0 => "none destructive".to_owned(),
                n => format!("{n} destructive operation(s) allowed"),
            }
        ),
    }
}
