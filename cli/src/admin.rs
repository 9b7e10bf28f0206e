//! `stamp` and `resolve`: the verbs that edit the history table by hand's
//! orders, running no migration. Both take the migration lock.

use super::output::{GREEN, YELLOW};
use super::{Ctx, exit};
use cofferdam_core::{Resolution, StampChange};

/// Options of `migrate stamp`.
#[derive(Debug, clap::Args)]
pub(super) struct StampArgs {
    /// The revision(s) the database is at, or `head`, `heads`, `base`: they and their ancestors are recorded as applied, revisions built on them are removed from history, other branches are kept; `base` empties the history
    #[arg(value_name = "REV", required = true, num_args = 1..)]
    revisions: Vec<String>,
}

/// Options of `migrate resolve`.
#[derive(Debug, clap::Args)]
#[command(group = clap::ArgGroup::new("resolution").required(true).args(["applied", "rolled_back"]))]
pub(super) struct ResolveArgs {
    /// The revision recorded as failed or unfinished
    #[arg(value_name = "REV")]
    revision: String,
    /// You completed its changes by hand: record it as applied
    #[arg(long)]
    applied: bool,
    /// You undid its changes by hand: forget the attempt, so that `up` runs it again
    #[arg(long)]
    rolled_back: bool,
    /// With --rolled-back: undo its changes with the revision's own `down` first
    /// (e.g. drop what a failed CREATE INDEX CONCURRENTLY left)
    #[arg(long, requires = "rolled_back")]
    run_down: bool,
}

pub(super) async fn stamp(ctx: &Ctx, args: StampArgs) -> u8 {
    let out = &ctx.out;
    let targets: Vec<&str> = args.revisions.iter().map(String::as_str).collect();
    let at = args.revisions.join(", ");
    let changes = match ctx.migrator.stamp_many(&ctx.url, &targets).await {
        Ok(changes) => changes,
        Err(error) => return out.error(&error),
    };
    let (mut added, mut removed, mut settled) = (Vec::new(), Vec::new(), Vec::new());
    for change in &changes {
        match change {
            StampChange::Recorded(id) => added.push(id.as_str()),
            StampChange::Removed(id) => removed.push(id.as_str()),
            StampChange::Settled(id) => settled.push(id.as_str()),
            other => tracing::debug!(?other, "a stamp change this version does not print"),
        }
    }
    if changes.is_empty() {
        out.line(&format!(
            "nothing changed: the history already holds `{at}`, its ancestors and nothing after them"
        ));
    } else {
        for id in &added {
            out.line(&format!(
                "  {} {id} (recorded as applied, not run)",
                out.paint(GREEN, "stamped")
            ));
        }
        for id in &settled {
            out.line(&format!(
                "  {} {id} (was recorded as failed; now recorded as applied)",
                out.paint(GREEN, "settled")
            ));
        }
        for id in &removed {
            out.line(&format!(
                "  {} {id} (removed from history)",
                out.paint(YELLOW, "removed")
            ));
        }
        out.line(&format!(
            "the database is now recorded at `{at}`; nothing was run"
        ));
    }
    if !removed.is_empty() {
        out.warn(&format!(
            "the next `migrate up` runs {} again; if {} changes are still in the schema, undo them by hand first",
            removed.join(", "),
            if removed.len() == 1 { "its" } else { "their" }
        ));
    }
    exit::OK
}

pub(super) async fn resolve(ctx: &Ctx, args: ResolveArgs) -> u8 {
    let resolution = match (args.applied, args.run_down) {
        (true, _) => Resolution::Applied,
        (false, true) => Resolution::RunDown,
        (false, false) => Resolution::RolledBack,
    };
    if let Err(error) = ctx
        .migrator
        .resolve(&ctx.url, &args.revision, resolution)
        .await
    {
        return ctx.out.error(&error);
    }
    let id = &args.revision;
    ctx.out.line(&match resolution {
        Resolution::Applied => format!(
            "resolved `{id}` as applied; `migrate up` continues with the revisions after it"
        ),
        Resolution::RolledBack => format!(
            "resolved `{id}` as rolled back: its failed attempt is gone from history and `migrate up` will run it again"
        ),
        Resolution::RunDown => format!(
            "resolved `{id}` as rolled back: its `down` ran, its failed attempt is gone from history and `migrate up` will run it again"
        ),
    });
    exit::OK
}
