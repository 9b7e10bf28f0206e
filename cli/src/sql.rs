//! `sql`: the SQL that `up` would run, rendered for the backend of the URL,
//! for review. It reads the history table to know what is pending and
//! nothing else; revisions that read data cannot be rendered and say so.

use super::output::plural;
use super::{Ctx, exit};
use cofferdam_core::{Backend, Revision};

/// Options of `migrate sql`.
#[derive(Debug, clap::Args)]
pub(super) struct SqlArgs {
    /// Render up to this revision (and its ancestors) instead of the head
    #[arg(long, value_name = "REV")]
    to: Option<String>,
    /// Print JSON for machines instead of SQL
    #[arg(long)]
    pub(super) json: bool,
}

#[derive(Debug, serde::Serialize)]
struct Rendered<'a> {
    id: &'static str,
    transaction: bool,
    destructive: bool,
    renderable: bool,
    statements: Vec<&'a str>,
}

pub(super) async fn sql(ctx: &Ctx, args: SqlArgs) -> u8 {
    let out = &ctx.out;
    let rendered = match ctx
        .migrator
        .render_sql(&ctx.read_url(), args.to.as_deref())
        .await
    {
        Ok(rendered) => rendered,
        Err(error) => return out.error(&error),
    };
    let backend = rendered.backend;
    let revisions: Vec<&'static Revision> = ctx.migrator.revisions().unwrap_or_default();
    // Revision order is the graph's; the renderer lists statements and the
    // unrenderable revisions separately. A pending revision that sends no
    // statement at all has nothing to show.
    let plan: Vec<Rendered<'_>> = revisions
        .iter()
        .filter(|revision| rendered_any(&rendered, revision.id))
        .map(|revision| Rendered {
            id: revision.id,
            transaction: backend.runs_in_transaction(revision),
            destructive: revision.review.is_some(),
            renderable: !rendered.unrenderable.iter().any(|id| id == revision.id),
            statements: rendered
                .statements
                .iter()
                .filter(|s| s.revision == revision.id)
                .map(|s| s.sql.as_str())
                .collect(),
        })
        .collect();
    if args.json {
        out.json(&serde_json::json!({
            "backend": backend.name(),
            "target": args.to,
            "revisions": plan,
            "unrenderable": rendered.unrenderable,
        }));
    } else {
        print_sql(out, backend, &plan);
    }
    if !rendered.unrenderable.is_empty() {
        out.warn(&format!(
            "{} cannot be rendered offline because {} from the database: {}; {} statements are not in this output. \
             Rehearse {} with `migrate up --dry-run` against a copy of the database (PostgreSQL, SQLite)",
            plural(rendered.unrenderable.len(), "revision"),
            if rendered.unrenderable.len() == 1 { "it reads" } else { "they read" },
            rendered.unrenderable.join(", "),
            if rendered.unrenderable.len() == 1 { "its" } else { "their" },
            if rendered.unrenderable.len() == 1 { "it" } else { "them" },
        ));
    }
    exit::OK
}

/// Whether the renderer produced anything for `id`.
fn rendered_any(rendered: &cofferdam_core::Rendered, id: &str) -> bool {
    rendered.statements.iter().any(|s| s.revision == id)
        || rendered.unrenderable.iter().any(|u| u == id)
}

fn print_sql(out: &super::output::Output, backend: Backend, plan: &[Rendered<'_>]) {
    if plan.is_empty() {
        out.product("-- nothing to run: no revision is pending");
        return;
    }
    out.product(&format!(
        "-- SQL that `migrate up` would run on {backend}: {}, in order.\n\
         -- Not shown: the history-table rows `migrate up` writes with each revision.",
        plural(plan.len(), "revision")
    ));
    for revision in plan {
        let mut text = format!("\n-- revision {}", revision.id);
        if revision.destructive {
            text.push_str(" (destructive: `up` needs --allow-destructive)");
        }
        if !revision.renderable {
            text.push_str(
                "\n-- CANNOT BE RENDERED OFFLINE: it reads from the database, so its statements depend on the data",
            );
            out.product(&text);
            continue;
        }
        if !revision.transaction {
            text.push_str(if !backend.transactional_ddl() {
                "\n-- MySQL commits DDL implicitly: not atomic"
            } else {
                "\n-- runs outside a transaction (transaction = false)"
            });
        } else {
            text.push_str("\nBEGIN;");
        }
        for statement in &revision.statements {
            let statement = statement.trim();
            text.push('\n');
            text.push_str(statement);
            if !statement.ends_with(';') {
                text.push(';');
            }
        }
        if revision.transaction {
            text.push_str("\nCOMMIT;");
        }
        out.product(&text);
    }
}
