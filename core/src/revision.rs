//! What `#[migration]` registers: one [`Revision`] per migration function.

use crate::{Migration, Result};
use std::future::Future;
use std::pin::Pin;

/// The future a migration function returns, boxed so that revisions fit in one table.
pub type BoxFuture<'a> = Pin<Box<dyn Future<Output = Result<()>> + Send + 'a>>;

/// A migration function, as stored in the registry.
pub type MigrationFn = for<'a, 'c> fn(&'a mut Migration<'c>) -> BoxFuture<'a>;

/// The acknowledgement written as `#[destructive(reviewed, reason = "...")]`.
#[derive(Debug, Clone, Copy)]
pub struct Review {
    /// The reason given, if any.
    pub reason: Option<&'static str>,
    /// The destructive operations the compiler found, e.g. `DROP COLUMN articles.body`.
    pub operations: &'static [&'static str],
}

/// One revision of the schema, registered by `#[migration]`.
///
/// Built by the macro; users read it through [`crate::Migrator::revisions`].
#[derive(Debug)]
pub struct Revision {
    /// The stable id stored in the history table (the function name unless `id = "..."`).
    pub id: &'static str,
    /// The migration set: the crate's name unless `set = "..."`.
    pub set: &'static str,
    /// The ids of the parents (`after = ...`); empty for a root.
    pub parents: &'static [&'static str],
    /// A hash of the function's tokens; formatting does not change it.
    pub checksum: &'static str,
    /// `cofferdam_lint::history_entry_hash(id, checksum, "applied")`,
    /// computed by the macro: what this revision adds to the history digest.
    #[doc(hidden)]
    pub entry: u128,
    /// The migration itself.
    pub up: MigrationFn,
    /// The reverse step (`down = ...`), if any.
    pub down: Option<MigrationFn>,
    /// False for revisions that must run outside a transaction.
    pub transaction: bool,
    /// Present when the revision is marked `#[destructive(reviewed)]`.
    pub review: Option<Review>,
    /// The Rust path of the function.
    pub function: &'static str,
    /// Source file of the function.
    pub file: &'static str,
    /// Source line of the function.
    pub line: u32,
}

impl Revision {
    /// `file:line` of the function, for messages.
    pub fn location(&self) -> String {
        format!("{}:{}", self.file, self.line)
    }

    /// Whether the revision is marked `#[destructive(reviewed)]`.
    pub fn is_destructive(&self) -> bool {
        self.review.is_some()
    }
}

inventory::collect!(Revision);

/// Implemented by the marker type `#[migration]` puts beside each function, so
/// that `after = path` is checked by the compiler and yields the parent's id.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a #[migration] function",
    label = "`after = ...` must name a function marked #[migration]"
)]
pub trait RevisionRef {
    /// The revision's id.
    const ID: &'static str;
}

/// Every registered revision of `set`, in a stable order.
pub(crate) fn registered(set: &str) -> Vec<&'static Revision> {
    let mut revisions: Vec<&'static Revision> = inventory::iter::<Revision>
        .into_iter()
        .filter(|revision| revision.set == set)
        .collect();
    // inventory gives no order guarantee; sort so that errors and plans are stable.
    revisions.sort_by(|a, b| {
        a.id.cmp(b.id)
            .then(a.file.cmp(b.file))
            .then(a.line.cmp(&b.line))
    });
    revisions
}
