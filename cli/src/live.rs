//! `diff` and `baseline`: the live schema against the schema the
//! migrations reach, on a shadow database.
//!
//! `diff` reports hand edits in production (an extra index, a changed
//! type, a missing column) against what the applied revisions made.
//! `baseline REV` is the safe `stamp` for a database built before
//! cofferdam: it stamps REV only when the live schema is what the
//! migrations reach at REV, and otherwise lists the differences and changes
//! nothing. Both exit 13 when the schemas differ.

use super::{Ctx, exit};
use cofferdam_core::schema::{Change, Diff};

/// Options of `migrate diff`.
#[derive(Debug, clap::Args)]
pub(super) struct DiffArgs {
    /// Print JSON for machines instead of text
    #[arg(long)]
    pub(super) json: bool,
    /// The empty scratch database to apply the migrations to [default: in-memory SQLite, or a temporary cfdm_shadow_* database on the same server]
    #[arg(long, value_name = "URL")]
    shadow_url: Option<String>,
}

/// Options of `migrate baseline`.
#[derive(Debug, clap::Args)]
pub(super) struct BaselineArgs {
    /// The revision whose schema the database should already have
    #[arg(value_name = "REV")]
    revision: String,
    /// Print JSON for machines instead of text
    #[arg(long)]
    pub(super) json: bool,
    /// The empty scratch database to apply the migrations to [default: in-memory SQLite, or a temporary cfdm_shadow_* database on the same server]
    #[arg(long, value_name = "URL")]
    shadow_url: Option<String>,
}

pub(super) async fn diff(ctx: &Ctx, args: DiffArgs) -> u8 {
    let out = &ctx.out;
    let url = ctx.read_url();
    let diff = match ctx.migrator.drift(&url, args.shadow_url.as_deref()).await {
        Ok(diff) => diff,
        Err(error) => return out.error(&error),
    };
    report(
        ctx,
        &diff,
        args.json,
        "the live schema is what the applied revisions made",
        "the live schema differs from what the applied revisions made",
        "Someone changed the schema by hand: turn the change into a migration (`migrate new NAME`), or undo it.",
    )
}

pub(super) async fn baseline(ctx: &Ctx, args: BaselineArgs) -> u8 {
    let out = &ctx.out;
    let found = ctx
        .migrator
        .baseline_diff(&ctx.url, args.shadow_url.as_deref(), &args.revision)
        .await;
    let diff = match found {
        Ok(diff) => diff,
        Err(error) => return out.error(&error),
    };
    if !differences(&diff).is_empty() {
        return report(
            ctx,
            &diff,
            args.json,
            "",
            &format!(
                "the live schema is not what the migrations reach at `{}`; nothing was stamped",
                args.revision
            ),
            "Bring the database to that schema by hand, or baseline at the revision it matches; `stamp` records a revision without this check.",
        );
    }
    if let Err(error) = ctx.migrator.stamp(&ctx.url, &args.revision).await {
        return out.error(&error);
    }
    if args.json {
        out.json(&serde_json::json!({ "ok": true, "stamped": args.revision, "differences": [] }));
    } else {
        out.line(&format!(
            "the live schema is what the migrations reach at `{}`; stamped it (recorded, not run)",
            args.revision
        ));
    }
    exit::OK
}

/// The differences, read from the expected schema to the live one: the
/// changes, then views, triggers and functions added or dropped by hand.
fn differences(diff: &Diff) -> Vec<String> {
    let mut lines: Vec<String> = diff.changes.iter().map(Change::describe_drift).collect();
    lines.extend(
        diff.extra_objects
            .iter()
            .map(|o| format!("extra {o} (not created by any migration)")),
    );
    lines.extend(diff.missing_objects.iter().map(|o| format!("missing {o}")));
    lines
}

fn report(ctx: &Ctx, diff: &Diff, json: bool, same: &str, differs: &str, hint: &str) -> u8 {
    let out = &ctx.out;
    let lines = differences(diff);
    let code = if lines.is_empty() {
        exit::OK
    } else {
        exit::SCHEMA_DRIFT
    };
    if json {
        out.json(&serde_json::json!({
            "ok": lines.is_empty(),
            "exit_code": code,
            "differences": lines,
            "not_compared": diff.unsupported,
        }));
        return code;
    }
    for note in &diff.unsupported {
        out.warn(&format!("not compared: {note}"));
    }
    if lines.is_empty() {
        out.line(same);
        return code;
    }
    let listed: Vec<String> = lines.iter().map(|l| format!("  {l}")).collect();
    out.paragraph(&format!("{differs}:\n{}", listed.join("\n")), Some(hint));
    code
}
