//! `squash --to REV NAME [--from START]`: one revision that builds the
//! schema at REV from nothing (or from the schema at START's parents, which
//! it then builds on) and replaces REV and everything it builds on (from
//! START).
//!
//! The schema comes from a shadow database (as for `new --autogenerate`),
//! and the file is written the same way: sea-query builder code, formatted.
//! What the squash cannot reproduce (rows, views, functions, triggers, SQL
//! whose effect depends on data) is printed and kept as a comment in the
//! file. The workflow is two steps: deploy the squash (fresh databases run
//! it, the others record it); once every database is past it, delete the
//! replaced revisions and name them by id (`replaces = ["..."]`).

use super::new::{crate_name, destination, name_is_free, rust_path, valid_name, write_module};
use super::{Ctx, codegen, exit};
use std::path::PathBuf;

/// Options of `migrate squash`.
#[derive(Debug, clap::Args)]
pub(super) struct SquashArgs {
    /// The squash's name: a snake_case identifier, used as its id, function and file name
    #[arg(value_name = "NAME")]
    name: String,
    /// The last revision replaced: the squash replaces it and everything it builds on
    #[arg(long, value_name = "REV")]
    to: String,
    /// The first revision replaced [default: the base]: the squash builds on its parents
    #[arg(long, value_name = "REV")]
    from: Option<String>,
    /// Source directory of the migrations crate [default: migrations/src if it exists, else src]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
    /// The empty scratch database to apply the migrations to [default: in-memory SQLite, or a temporary cfdm_shadow_* database on the same server]
    #[arg(long, value_name = "URL")]
    shadow_url: Option<String>,
}

pub(super) async fn squash(ctx: &Ctx, args: SquashArgs) -> u8 {
    let out = &ctx.out;
    if let Err(problem) = valid_name(&args.name) {
        return out.fail(exit::USAGE, &problem);
    }
    match ctx.migrator.revisions() {
        Ok(revisions) => {
            if let Err(code) = name_is_free(out, &revisions, &args.name) {
                return code;
            }
        }
        Err(error) => return out.error(&error),
    }
    let (dir, root, file) = match destination(ctx, args.dir.as_deref(), &args.name) {
        Ok(found) => found,
        Err(code) => return code,
    };
    let found = match ctx
        .migrator
        .squash(
            &ctx.url,
            args.shadow_url.as_deref(),
            args.from.as_deref(),
            &args.to,
        )
        .await
    {
        Ok(found) => found,
        Err(error) => return out.error(&error),
    };
    let this_crate = crate_name(&dir);
    let replaces: Vec<String> = found
        .replaces
        .iter()
        .map(|revision| rust_path(revision, this_crate.as_deref()))
        .collect();
    let changes: Vec<_> = found
        .diff
        .changes
        .iter()
        .filter(|c| c.unexpressible(found.backend).is_none())
        .cloned()
        .collect();
    let after: Vec<String> = found
        .after
        .iter()
        .map(|revision| rust_path(revision, this_crate.as_deref()))
        .collect();
    let text = codegen::render(&codegen::Migration {
        name: &args.name,
        after: &after,
        changes: &changes,
        renames: &[],
        left_out: &found.unexpressible,
        source: match &args.from {
            None => format!(
                "the schema the migrations of set `{}` reach at `{}`, for {}",
                ctx.migrator.set(),
                args.to,
                found.backend
            ),
            Some(from) => format!(
                "what the migrations of set `{}` change from `{from}` to `{}`, for {}",
                ctx.migrator.set(),
                args.to,
                found.backend
            ),
        },
        squash: Some(codegen::Squashed {
            replaces: &replaces,
            not_reproduced: &found.not_reproduced,
        }),
    });
    if let Err(code) = write_module(out, &file, &root, &args.name, &text) {
        return code;
    }
    let ids: Vec<&str> = found.replaces.iter().map(|r| r.id).collect();
    out.line(&format!(
        "created {} (squash `{}`, replacing {} revisions: {})",
        file.display(),
        args.name,
        ids.len(),
        ids.join(", ")
    ));
    out.line(&format!("added `mod {};` to {}", args.name, root.display()));
    for change in &found.diff.changes {
        out.line(&format!("  {}", change.describe()));
    }
    for note in &found.not_reproduced {
        out.warn(&format!("not reproduced: {note}"));
    }
    for left in found.unexpressible.iter().chain(&found.leftover) {
        out.warn(&format!("not expressed: {left}"));
    }
    if found.leftover.is_empty() && found.unexpressible.is_empty() {
        out.line("verified on the shadow database: its down drops the schema and its up builds it again, exactly");
    }
    out.line(&format!(
        "next: build and deploy it; a fresh database runs `{name}`, one that ran the replaced revisions records it. \
         Once every database is past it, delete the replaced revisions and write their ids as strings in `replaces`; \
         revisions built on `{to}` then say `after = {name}`",
        name = args.name,
        to = args.to
    ));
    exit::OK
}
