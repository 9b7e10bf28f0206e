//! The history digest: one small row beside the history table that lets a
//! start-up with nothing to do read a few dozen bytes instead of the whole
//! history, at 10 revisions or at 10,000.
//!
//! # How it stays correct
//!
//! The digest is a cache, never the truth. The table `<history>_digest`
//! holds one row: `gen`, a counter, and `digest`, a hash of every history
//! row's `id:checksum:state`, or NULL when unknown.
//!
//! - **Any write to the history table clears it.** Triggers on the history
//!   table (insert, update, delete; on PostgreSQL truncate too) set `digest`
//!   to NULL and bump `gen`, in the same transaction as the write. On
//!   SQLite an insert does so only while the digest is set, so that the
//!   revisions of a run after the first do not write the digest's page. That
//!   covers this binary's own runs, `stamp` and `resolve`, older cofferdam
//!   binaries that know nothing of the digest, and a person editing the
//!   history by hand.
//! - **A start-up trusts it only when it equals the digest this binary
//!   computes** for "exactly my graph's revisions up to the target, each
//!   applied, with my checksums". Anything else (NULL, pending revisions, a
//!   database ahead of the binary, a failed row) falls back to reading
//!   every row, as before.
//! - **It costs nothing to compute.** The digest is a count and a wrapping
//!   sum of per-row hashes; the macro computes each revision's hash at
//!   compile time, so a start-up at head sums constants and builds no graph.
//! - **It is refilled optimistically.** After such a full read finds the
//!   history settled, the digest of the rows read is written with
//!   `WHERE gen = <gen read before the rows>` and the history's row count
//!   equal to the rows read: a history write that landed in between bumped
//!   `gen` or changed the count, and the refill then changes nothing. A database
//!   ahead of the binary is cached too; it just never matches this binary.
//! - **An emptied table never matches**: the probe also asks whether the
//!   history has any row, because MySQL's `TRUNCATE` fires no trigger.
//! - Where the triggers cannot be created (a MySQL user without the
//!   TRIGGER privilege, say), the digest table is not kept, and every
//!   start-up reads the history as before.
//!
//! Recreating the history table by hand drops its triggers: delete the
//! digest table too, and the next run that applies a revision rebuilds both.

use crate::backend::{Backend, Conn, Statement};
use crate::graph::Graph;
use crate::history::{AppliedRevision, State, Table};
use crate::revision::Revision;
use sea_query::{
    Asterisk, ColumnDef, Expr, ExprTrait, OnConflict, Query, SubQueryStatement, TableName,
};
use std::collections::HashSet;

/// What the probe read: the stored digest (None when stale), the counter
/// to refill it against, and whether the history has rows at all.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Probe {
    pub digest: Option<String>,
    pub generation: i64,
    pub has_rows: bool,
}

impl Probe {
    /// Whether the history is exactly `expected` (see [`expected`]).
    pub(crate) fn matches(&self, expected: &str) -> bool {
        if self.has_rows {
            self.digest.as_deref() == Some(expected)
        } else {
            expected == empty()
        }
    }
}

/// The digest of `entries` (see [`cofferdam_lint::history_entry_hash`]), in
/// any order: their count and their wrapping sum. A sum needs no sorting,
/// and each revision's entry is a constant the macro computed, so the
/// digest of 5,000 revisions costs a few microseconds.
fn combine(entries: impl Iterator<Item = u128>) -> String {
    let (count, sum) = entries.fold((0u64, 0u128), |(count, sum), entry| {
        (count + 1, sum.wrapping_add(entry))
    });
    render(count, sum)
}

/// How a digest is stored: the count and the sum, in hex.
fn render(count: u64, sum: u128) -> String {
    format!("{count}:{sum:032x}")
}

/// The digest of no rows (and of no revisions).
fn empty() -> String {
    combine(std::iter::empty())
}

/// The digest of a history where exactly `target` and its ancestors are
/// applied, unchanged.
///
/// Of a squash and the revisions it replaces, only the squash counts: a
/// database that ran it and one that ran them and recorded it are both at
/// the target (see [`of_rows`]).
pub(crate) fn expected(graph: &Graph, target: &str) -> String {
    let ancestors = graph.ancestors(target);
    combine(
        ancestors
            .iter()
            .filter(|id| {
                graph
                    .replaced_by(id)
                    .is_none_or(|squash| !ancestors.contains(squash.id))
            })
            .filter_map(|id| graph.get(id))
            .map(|revision| revision.entry),
    )
}

/// The digest of a history where every revision of `set` in this binary is
/// applied, unchanged: what [`expected`] gives for the head of a graph with
/// one head, computed without building the graph.
pub(crate) fn expected_all(set: &str) -> String {
    let of_set = || {
        inventory::iter::<Revision>
            .into_iter()
            .filter(move |revision| revision.set == set)
    };
    let (mut count, mut sum, mut squashes) = (0u64, 0u128, false);
    for revision in of_set() {
        count += 1;
        sum = sum.wrapping_add(revision.entry);
        squashes |= revision.is_squash();
    }
    // Replaced revisions do not count (see `expected`). Only a set with a
    // squash pays for a second pass.
    if squashes {
        let replaced: HashSet<&str> = of_set()
            .flat_map(|revision| revision.replaces.iter().copied())
            .collect();
        for revision in of_set().filter(|revision| replaced.contains(revision.id)) {
            count = count.saturating_sub(1);
            sum = sum.wrapping_sub(revision.entry);
        }
    }
    render(count, sum)
}

/// The digest of the rows read from the history table. The applied rows of
/// revisions replaced by a squash that is applied too are left out, as
/// [`expected`] leaves them out.
pub(crate) fn of_rows(graph: &Graph, rows: &[AppliedRevision]) -> String {
    let applied: HashSet<&str> = rows
        .iter()
        .filter(|row| row.state == State::Applied)
        .map(|row| row.id.as_str())
        .collect();
    combine(
        rows.iter()
            .filter(|row| {
                row.state != State::Applied
                    || graph
                        .replaced_by(&row.id)
                        .is_none_or(|squash| !applied.contains(squash.id))
            })
            .map(|row| {
                cofferdam_lint::history_entry_hash(&row.id, &row.checksum, row.state.as_str())
            }),
    )
}

impl Table {
    /// The digest table's name, in the history table's schema.
    pub(crate) fn digest_name(&self) -> String {
        format!("{}_digest", self.name)
    }

    fn digest_sea(&self) -> TableName {
        Table::sea_name(&self.digest_name())
    }

    /// One round trip: the stored digest, its counter, and whether the
    /// history has rows. None when there is no digest table (or no row in
    /// it), in which case the caller reads the history.
    pub(crate) async fn probe(&self, conn: &mut Conn) -> Option<Probe> {
        let any_row = Query::select()
            .expr(Expr::val(1))
            .from(self.sea())
            .limit(1)
            .to_owned();
        let sql = Query::select()
            .column("gen")
            .column("digest")
            .expr(Expr::case(Expr::exists(any_row), 1).finally(0))
            .from(self.digest_sea())
            .and_where(Expr::col("id").eq(1))
            .to_sql(conn.backend());
        // Any error (no digest table yet, no history table) means "read the
        // history": that path reports real errors with their context.
        let rows = conn.fetch_text(&sql).await.ok()?;
        let mut row = rows.into_iter().next()?.into_iter();
        let generation = row.next()??.parse().ok()?;
        let digest = row.next()?;
        let has_rows = row.next()?? == "1";
        Some(Probe {
            digest,
            generation,
            has_rows,
        })
    }

    /// Stores the digest of `rows`, read after `probe`, unless the history
    /// changed since the probe. Best effort: failing to cache is harmless.
    pub(crate) async fn refill_digest(
        &self,
        conn: &mut Conn,
        probe: &Probe,
        graph: &Graph,
        rows: &[AppliedRevision],
    ) {
        let digest = of_rows(graph, rows);
        if probe.digest.as_deref() == Some(digest.as_str()) {
            return;
        }
        // Also when the stored value is not NULL but stale (written by
        // another version's digest, say). The counter proves that no update
        // or delete came between the read and this write, and the row count
        // that no insert did: on SQLite an insert into a history whose
        // digest is already cleared leaves the counter alone.
        let rows_now = Query::select()
            .expr(Expr::col(Asterisk).count())
            .from(self.sea())
            .to_owned();
        let sql = Query::update()
            .table(self.digest_sea())
            .value("digest", digest)
            .and_where(Expr::col("id").eq(1))
            .and_where(Expr::col("gen").eq(probe.generation))
            .and_where(
                Expr::expr(SubQueryStatement::SelectStatement(rows_now)).eq(rows.len() as i64),
            )
            .to_sql(conn.backend());
        if let Err(error) = conn.execute_batch(&sql).await {
            tracing::debug!(error = %error.source, "could not refill the history digest");
        }
    }

    /// Creates the digest table, its row and the triggers that clear it.
    /// Runs under the lock, once per database. Where a trigger cannot be
    /// created the digest table is dropped again, so that it is never
    /// trusted without them.
    pub(crate) async fn create_digest(&self, conn: &mut Conn) {
        let backend = conn.backend();
        let mut statements = vec![
            self.digest_create_sql(backend),
            self.digest_seed_sql(backend),
        ];
        statements.extend(
            conn.engine()
                .digest_triggers_sql(&self.name, &self.digest_name()),
        );
        for statement in &statements {
            if let Err(error) = conn.execute_batch(statement).await {
                tracing::debug!(error = %error.source, "no history digest on this database");
                let drop = sea_query::Table::drop()
                    .table(self.digest_sea())
                    .if_exists()
                    .to_sql(backend);
                let _ = conn.execute_batch(&drop).await;
                return;
            }
        }
    }

    fn digest_create_sql(&self, backend: Backend) -> String {
        sea_query::Table::create()
            .table(self.digest_sea())
            .if_not_exists()
            .col(
                ColumnDef::new("id")
                    .small_integer()
                    .not_null()
                    .primary_key(),
            )
            .col(ColumnDef::new("gen").big_integer().not_null())
            .col(ColumnDef::new("digest").string_len(64).null())
            .to_sql(backend)
    }

    fn digest_seed_sql(&self, backend: Backend) -> String {
        Query::insert()
            .into_table(self.digest_sea())
            .columns(["id", "gen"])
            .values_panic([1.into(), 0.into()])
            .on_conflict(OnConflict::column("id").do_nothing_on(["id"]).to_owned())
            .to_sql(backend)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn digest_of(entries: &[(&str, &str, &str)]) -> String {
        combine(
            entries.iter().map(|(id, checksum, state)| {
                cofferdam_lint::history_entry_hash(id, checksum, state)
            }),
        )
    }

    #[test]
    fn the_digest_ignores_order_and_sees_every_field() {
        let a = digest_of(&[("a", "1", "applied"), ("b", "2", "applied")]);
        let b = digest_of(&[("b", "2", "applied"), ("a", "1", "applied")]);
        assert_eq!(a, b);
        let failed = digest_of(&[("a", "1", "applied"), ("b", "2", "failed")]);
        let edited = digest_of(&[("a", "1", "applied"), ("b", "3", "applied")]);
        let shifted = digest_of(&[("a", "1", "applied"), ("b2", "", "applied")]);
        let more = digest_of(&[
            ("a", "1", "applied"),
            ("b", "2", "applied"),
            ("c", "3", "applied"),
        ]);
        assert!(a != failed && a != edited && a != shifted && a != more);
        assert_eq!(digest_of(&[]), empty());
    }

    #[test]
    fn an_empty_history_matches_only_an_empty_graph() {
        let probe = Probe {
            digest: Some("abc".into()),
            generation: 3,
            has_rows: false,
        };
        assert!(probe.matches(&empty()));
        assert!(!probe.matches("abc"));
    }
}
