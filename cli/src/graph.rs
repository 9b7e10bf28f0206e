//! `graph`: the revision graph as text, one line per revision, parents first.
//!
//! ```text
//! create_articles                              root
//! add_slug         <- create_articles
//! create_authors                               root
//! link_authors     <- add_slug, create_authors  merge, head
//! ```
//!
//! Offline by default; `--status` also reads the database and marks each
//! revision applied, pending, failed, or running (another run holds the
//! lock while applying it, as `status` tells).

use super::output::{CYAN, GREEN, RED, YELLOW};
use super::{Ctx, exit};
use cofferdam_core::{Revision, State, Status};

/// Options of `migrate graph`.
#[derive(Debug, clap::Args)]
pub(super) struct GraphArgs {
    /// Print JSON for machines instead of text
    #[arg(long)]
    pub(super) json: bool,
    /// Also read the database and mark each revision applied, pending, failed or running
    #[arg(long)]
    status: bool,
}

#[derive(Debug, serde::Serialize)]
struct Node {
    id: &'static str,
    parents: Vec<&'static str>,
    children: Vec<&'static str>,
    /// For a squash, the revisions it replaces.
    #[serde(skip_serializing_if = "Vec::is_empty")]
    replaces: Vec<&'static str>,
    head: bool,
    merge: bool,
    destructive: bool,
    transaction: bool,
    reversible: bool,
    function: &'static str,
    file: &'static str,
    line: u32,
    #[serde(skip_serializing_if = "Option::is_none")]
    state: Option<&'static str>,
}

pub(super) async fn graph(ctx: &Ctx, args: GraphArgs) -> u8 {
    let revisions = match ctx.migrator.revisions() {
        Ok(revisions) => revisions,
        Err(error) => return ctx.out.error(&error),
    };
    let status = if args.status {
        match ctx.migrator.status(&ctx.read_url()).await {
            Ok(status) => Some(status),
            Err(error) => return ctx.out.error(&error),
        }
    } else {
        None
    };
    // The graph's heads: a squash is not one when revisions build on what it replaces.
    let heads = match ctx.migrator.heads() {
        Ok(heads) => heads,
        Err(error) => return ctx.out.error(&error),
    };
    let nodes: Vec<Node> = revisions
        .iter()
        .map(|r| node(r, &revisions, &heads, status.as_ref()))
        .collect();
    if args.json {
        ctx.out.json(&nodes);
        return exit::OK;
    }
    let out = &ctx.out;
    let id_width = nodes.iter().map(|n| n.id.len()).max().unwrap_or(0);
    let parents_width = nodes
        .iter()
        .map(|n| n.parents.join(", ").len())
        .max()
        .unwrap_or(0);
    for node in &nodes {
        let state = match node.state {
            Some("applied") => format!("{}  ", out.paint(GREEN, "applied")),
            Some("pending") => format!("{}  ", out.paint(YELLOW, "pending")),
            Some("running") => format!("{}  ", out.paint(CYAN, "running")),
            Some("replaced") => format!("{}  ", out.paint(CYAN, "replaced")),
            Some(other) => format!("{}  ", out.paint(RED, &format!("{:7}", other))),
            None => String::new(),
        };
        let arrow = if node.parents.is_empty() { "  " } else { "<-" };
        let line = format!(
            "{state}{:id_width$}  {arrow} {:parents_width$}  {}",
            node.id,
            node.parents.join(", "),
            tags(node).join(", ")
        );
        out.line(line.trim_end());
    }
    if let Some(status) = &status {
        for id in &status.unknown {
            out.line(&format!(
                "{}  {id}  (in the database, not in this binary)",
                out.paint(RED, "UNKNOWN")
            ));
        }
    }
    exit::OK
}

fn node(
    revision: &Revision,
    all: &[&'static Revision],
    heads: &[&str],
    status: Option<&Status>,
) -> Node {
    let children: Vec<&'static str> = all
        .iter()
        .filter(|r| r.parents.contains(&revision.id))
        .map(|r| r.id)
        .collect();
    let state = status.map(|status| {
        if status.running.iter().any(|r| r.row.id == revision.id) {
            "running"
        } else if let Some(row) = status.failed.iter().find(|row| row.id == revision.id) {
            match row.state {
                State::Started => "started",
                _ => "failed",
            }
        } else if status.applied.iter().any(|row| row.id == revision.id) {
            "applied"
        } else if all.iter().any(|squash| {
            squash.replaces.contains(&revision.id)
                && status.applied.iter().any(|row| row.id == squash.id)
        }) {
            // Its squash ran in its place.
            "replaced"
        } else {
            "pending"
        }
    });
    Node {
        id: revision.id,
        parents: revision.parents.to_vec(),
        head: heads.contains(&revision.id),
        replaces: revision.replaces.to_vec(),
        merge: revision.parents.len() > 1,
        children,
        destructive: revision.review.is_some(),
        transaction: revision.transaction,
        reversible: revision.down.is_some(),
        function: revision.function,
        file: revision.file,
        line: revision.line,
        state,
    }
}

fn tags(node: &Node) -> Vec<&'static str> {
    let mut tags = Vec::new();
    if node.parents.is_empty() {
        tags.push("root");
    }
    if node.merge {
        tags.push("merge");
    }
    if !node.replaces.is_empty() {
        tags.push("squash");
    }
    if node.children.len() > 1 {
        tags.push("branch point");
    }
    if node.head {
        tags.push("head");
    }
    if node.destructive {
        tags.push("destructive");
    }
    if !node.transaction {
        tags.push("no transaction");
    }
    if !node.reversible {
        tags.push("irreversible");
    }
    tags
}
