//! `status`, `history` and `heads`: the verbs that only look.
//!
//! None of them writes: `status` and `history` read the history table with
//! one SELECT (a missing table reads as empty) and `heads` does not connect.

use super::output::plural;
use super::output::{CYAN, GREEN, RED, YELLOW};
use super::output::{Output, human_ms};
use super::{Ctx, exit};
use cofferdam_core::{AppliedRevision, RunningRevision, Status};

/// The `--json` flag of a read verb.
#[derive(Debug, clap::Args)]
pub(super) struct JsonArg {
    /// Print JSON for machines instead of text
    #[arg(long)]
    pub(super) json: bool,
}

/// Options of `status`: `--json`, and a fleet to read instead of one database.
#[derive(Debug, clap::Args)]
pub(super) struct StatusArgs {
    /// Print JSON for machines instead of text
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) fleet: super::fleet::FleetArgs,
}

/// The exit code `status` gives for `status`.
pub(super) fn status_code(status: &Status) -> u8 {
    if !status.failed.is_empty() {
        exit::FAILED
    } else if !status.running.is_empty() {
        exit::RUNNING
    } else if !status.unknown.is_empty() {
        exit::UNKNOWN
    } else if !status.drifted.is_empty() {
        exit::DRIFT
    } else if !status.pending.is_empty() {
        exit::PENDING
    } else {
        exit::OK
    }
}

pub(super) async fn status(ctx: &Ctx, json: bool) -> u8 {
    let status = match ctx.migrator.status(&ctx.read_url()).await {
        Ok(status) => status,
        Err(error) => return ctx.out.error(&error),
    };
    let code = status_code(&status);
    if json {
        #[derive(serde::Serialize)]
        struct Json<'a> {
            #[serde(flatten)]
            status: &'a Status,
            current: Vec<String>,
            at_head: bool,
            ahead_by: usize,
            exit_code: u8,
        }
        ctx.out.json(&Json {
            status: &status,
            current: status.current_heads(),
            at_head: status.is_up_to_date(),
            ahead_by: status.ahead.len(),
            exit_code: code,
        });
    } else {
        print_status(&ctx.out, &ctx.url, &status);
    }
    code
}

fn print_status(out: &Output, url: &str, status: &Status) {
    let none = || "(none)".to_owned();
    let current = status.current_heads();
    out.line(&format!(
        "database  {}  ({}, history table {})",
        cofferdam_core::redact(url),
        status.backend,
        status.history_table
    ));
    out.line(&format!("head      {}", status.heads.join(", ")));
    out.line(&format!(
        "current   {}",
        if current.is_empty() {
            none()
        } else {
            current.join(", ")
        }
    ));
    // A long history is summarised; `history` lists it all.
    let shown = if status.applied.len() > 10 && out.verbose() == 0 {
        out.line(&format!(
            "  … {} earlier applied revisions (see `migrate history`)",
            status.applied.len() - 5
        ));
        &status.applied[status.applied.len() - 5..]
    } else {
        &status.applied[..]
    };
    let width = status
        .applied
        .iter()
        .map(|r| r.id.len())
        .chain(status.pending.iter().map(|p| p.id.len()))
        .max()
        .unwrap_or(0);
    for row in shown {
        out.line(&format!(
            "  {}  {:width$}  {}  {}",
            out.paint(GREEN, "applied"),
            row.id,
            when(&row.applied_at),
            human_ms(row.duration_ms)
        ));
    }
    for pending in &status.pending {
        let note = if pending.recorded_only {
            "  squash: recorded, not run (its replaced revisions are applied)".to_owned()
        } else if pending.destructive {
            format!(
                "  destructive: {}",
                if pending.operations.is_empty() {
                    "SQL built at run time".to_owned()
                } else {
                    pending.operations.join(", ")
                }
            )
        } else {
            String::new()
        };
        let note = match pending.phase {
            cofferdam_core::Phase::Contract => format!("  contract phase{note}"),
            _ => note,
        };
        let line = format!(
            "  {}  {:width$}{note}",
            out.paint(YELLOW, "pending"),
            pending.id
        );
        out.line(line.trim_end());
    }
    for row in &status.failed {
        let state = match row.state {
            cofferdam_core::State::Started => "unfinished",
            _ => "failed",
        };
        out.line(&format!(
            "  {}  {} ({state} since {}): {}",
            out.paint(RED, "FAILED "),
            row.id,
            when(&row.applied_at),
            row.error
                .as_deref()
                .unwrap_or("the run stopped before recording an outcome")
        ));
    }
    for running in &status.running {
        out.line(&running_line(out, running));
    }
    for id in &status.ahead {
        out.line(&format!(
            "  {}  {id}: applied by a newer binary, on top of this one's revisions",
            out.paint(YELLOW, "ahead  ")
        ));
    }
    for id in &status.unknown {
        out.line(&format!(
            "  {}  {id}: applied, but this binary does not know it",
            out.paint(RED, "UNKNOWN")
        ));
    }
    for id in &status.drifted {
        out.line(&format!(
            "  {}  {id}: its code was edited after it was applied",
            out.paint(RED, "DRIFT  ")
        ));
    }
    out.line(&summary(status));
    let contract: Vec<&str> = status
        .pending
        .iter()
        .filter(|pending| pending.phase == cofferdam_core::Phase::Contract)
        .map(|pending| pending.id.as_str())
        .collect();
    if !contract.is_empty() {
        out.note(&format!(
            "pending contract work: {}; `migrate up --phase contract` applies it once the release that still uses what it removes is gone",
            contract.join(", ")
        ));
    }
    for note in &status.notes {
        out.note(note);
    }
}

/// A revision another run is applying right now, as `status`, `check` and
/// `graph --status` show it: for how long, who started it, who holds the lock.
pub(super) fn running_line(out: &Output, running: &RunningRevision) -> String {
    let row = &running.row;
    let how_long = running
        .running_for_secs
        .map(|secs| {
            format!(
                "for {}",
                human_ms(i64::try_from(secs * 1000).unwrap_or(i64::MAX))
            )
        })
        .unwrap_or_else(|| "since an unknown time".to_owned());
    format!(
        "  {}  {} (running {how_long}, since {}, started by {}; the migration lock is held by {})",
        out.paint(CYAN, "RUNNING"),
        row.id,
        when(&row.applied_at),
        row.applied_by,
        running.lock_holder
    )
}

fn summary(status: &Status) -> String {
    if let Some(row) = status.failed.first() {
        return format!(
            "blocked: `{}` is recorded as failed; inspect the schema, fix it by hand, then run `migrate resolve {} --applied` or `--rolled-back`",
            row.id, row.id
        );
    }
    if let Some(running) = status.running.first() {
        return format!(
            "running: `{}` is being applied by another run, which holds the migration lock; this is not a failure: check again when it ends",
            running.row.id
        );
    }
    if !status.unknown.is_empty() {
        return "blocked: the database was migrated by a newer binary; deploy it, or check --history-table".to_owned();
    }
    if !status.drifted.is_empty() {
        return "blocked: applied revisions were edited; revert the edits and write new revisions instead".to_owned();
    }
    if !status.ahead.is_empty() && status.pending.is_empty() {
        return format!(
            "ahead of this binary by {} ({}): a newer binary applied {}; `migrate up` applies nothing and this binary can run (--strict refuses it)",
            plural(status.ahead.len(), "revision"),
            status.ahead.join(", "),
            if status.ahead.len() == 1 {
                "it"
            } else {
                "them"
            }
        );
    }
    if status.pending.is_empty() {
        return format!(
            "at head: {} applied, nothing pending",
            plural(status.applied.len(), "revision")
        );
    }
    let destructive = status
        .pending
        .iter()
        .filter(|p| p.destructive && !p.recorded_only)
        .count();
    let flag = if destructive > 0 {
        format!(" ({destructive} destructive: add --allow-destructive after review)")
    } else {
        String::new()
    };
    format!(
        "{} applied, {} pending: run `migrate up`{flag}",
        status.applied.len(),
        status.pending.len()
    )
}

/// `2026-11-21T12:55:28.275Z` as `2026-11-21 12:55:28Z`.
pub(super) fn when(rfc3339: &str) -> String {
    match rfc3339.get(..19) {
        Some(head) if rfc3339.ends_with('Z') => format!("{}Z", head.replace('T', " ")),
        _ => rfc3339.to_owned(),
    }
}

pub(super) async fn history(ctx: &Ctx, json: bool) -> u8 {
    let status = match ctx.migrator.status(&ctx.read_url()).await {
        Ok(status) => status,
        Err(error) => return ctx.out.error(&error),
    };
    let mut rows: Vec<&AppliedRevision> = status
        .applied
        .iter()
        .chain(&status.failed)
        .chain(status.running.iter().map(|running| &running.row))
        .collect();
    rows.sort_by_key(|row| row.seq);
    if json {
        ctx.out.json(&rows);
        return exit::OK;
    }
    let out = &ctx.out;
    if rows.is_empty() {
        out.line(&format!(
            "no revision has been applied to this database (history table `{}` is empty or missing)",
            status.history_table
        ));
        return exit::OK;
    }
    let id_width = rows.iter().map(|r| r.id.len()).max().unwrap_or(0).max(8);
    let by_width = rows
        .iter()
        .map(|r| r.applied_by.len())
        .max()
        .unwrap_or(0)
        .max(2);
    out.line(&format!(
        "{:>4}  {:id_width$}  {:20}  {:>9}  {:by_width$}  notes",
        "seq", "revision", "applied at (UTC)", "took", "by"
    ));
    for row in rows {
        let mut notes = Vec::new();
        match row.state {
            cofferdam_core::State::Applied => {}
            cofferdam_core::State::Started => notes.push(out.paint(RED, "UNFINISHED")),
            _ => notes.push(format!(
                "{}: {}",
                out.paint(RED, "FAILED"),
                row.error.as_deref().unwrap_or("no error recorded")
            )),
        }
        if row.stamped {
            notes.push(out.paint(YELLOW, "stamped (recorded, not run)"));
        }
        if row.squashed {
            notes.push(out.paint(
                YELLOW,
                "squashed (recorded, not run: the revisions it replaces ran)",
            ));
        }
        if row.destructive {
            notes.push(match &row.review_reason {
                Some(reason) => format!("{}: {reason}", out.paint(YELLOW, "destructive")),
                None => out.paint(YELLOW, "destructive (no reason given)"),
            });
        }
        out.line(
            format!(
                "{:>4}  {:id_width$}  {:20}  {:>9}  {:by_width$}  {}",
                row.seq,
                row.id,
                when(&row.applied_at),
                human_ms(row.duration_ms),
                row.applied_by,
                notes.join("; ")
            )
            .trim_end(),
        );
    }
    exit::OK
}

pub(super) fn heads(ctx: &Ctx, json: bool) -> u8 {
    let revisions = match ctx.migrator.revisions() {
        Ok(revisions) => revisions,
        Err(error) => return ctx.out.error(&error),
    };
    let heads: Vec<_> = match ctx.migrator.heads() {
        Ok(ids) => revisions
            .into_iter()
            .filter(|r| ids.contains(&r.id))
            .collect(),
        Err(error) => return ctx.out.error(&error),
    };
    if json {
        let heads: Vec<_> = heads
            .iter()
            .map(|r| {
                serde_json::json!({
                    "id": r.id, "function": r.function, "file": r.file, "line": r.line,
                })
            })
            .collect();
        ctx.out.json(&heads);
        return exit::OK;
    }
    for head in &heads {
        ctx.out.line(&format!(
            "{}  ({}, {})",
            head.id,
            head.function,
            head.location()
        ));
    }
    if heads.len() > 1 {
        let ids: Vec<&str> = heads.iter().map(|h| h.id).collect();
        ctx.out.warn(&format!(
            "{} heads: `migrate up` refuses to guess an order between them; join them with a merge revision: `migrate new merge_heads --after {}`",
            heads.len(),
            ids.join(" --after ")
        ));
    }
    exit::OK
}
