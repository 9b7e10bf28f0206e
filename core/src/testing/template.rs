//! Template databases: migrate once per migration set, clone per test.

use super::database::{database_url, on_server};
use super::unique_name;
use crate::backend::{Conn, TemplateSql};
use crate::{Migrator, Revision};
use std::collections::HashSet;
use std::sync::Mutex;
use std::time::Duration;

/// Why a clone could not be made.
#[derive(Debug)]
pub(super) enum Failure {
    /// The server refused or could not be reached: skip the test.
    Server(String),
    /// Migrating the template failed: fail the test.
    Migration(crate::Error),
}

/// Templates this process has seen exist, so later tests skip the lock.
static KNOWN: Mutex<Option<HashSet<String>>> = Mutex::new(None);

/// A new database on `server` at `target` of `migrator`'s set, cloned from
/// its template (built first if no one has); answers its name.
pub(super) async fn clone(
    sql: &'static dyn TemplateSql,
    server: &str,
    migrator: &Migrator,
    target: &str,
) -> Result<String, Failure> {
    let template = template_name(migrator, target).map_err(Failure::Migration)?;
    let known = KNOWN
        .lock()
        .map(|set| set.as_ref().is_some_and(|s| s.contains(&template)))
        .unwrap_or(false);
    if !known {
        build(sql, server, migrator, target, &template).await?;
        remember(&template, true);
    }
    let name = unique_name();
    match on_server(server, &sql.clone_from(&name, &template)).await {
        Ok(()) => Ok(name),
        // Someone dropped the template since this process saw it (a
        // cleanup between runs): build it again, once.
        Err(_) if known => {
            remember(&template, false);
            build(sql, server, migrator, target, &template).await?;
            remember(&template, true);
            on_server(server, &sql.clone_from(&name, &template))
                .await
                .map_err(Failure::Server)?;
            Ok(name)
        }
        Err(error) => Err(Failure::Server(error)),
    }
}

fn remember(template: &str, exists: bool) {
    if let Ok(mut set) = KNOWN.lock() {
        let set = set.get_or_insert_with(HashSet::new);
        if exists {
            set.insert(template.to_owned());
        } else {
            set.remove(template);
        }
    }
}

/// Makes sure the template exists: under the server-wide lock, migrates a
/// scratch database and renames it, so no one sees it half-migrated.
async fn build(
    sql: &'static dyn TemplateSql,
    server: &str,
    migrator: &Migrator,
    target: &str,
    template: &str,
) -> Result<(), Failure> {
    let server_error = |error: crate::Error| Failure::Server(error.to_string());
    let text = |error: sqlx::Error| Failure::Server(error.to_string());
    let mut conn = Conn::connect(server, Duration::from_secs(30), Duration::from_secs(5))
        .await
        .map_err(server_error)?;
    // Another binary may be building this template: wait for it.
    let result = async {
        conn.execute_batch(&sql.lock(template))
            .await
            .map_err(|e| text(e.source))?;
        let rows = conn.fetch_text(&sql.exists(template)).await.map_err(text)?;
        let exists = rows
            .first()
            .and_then(|row| row.first().cloned().flatten())
            .is_some_and(|n| n != "0");
        if !exists {
            let scratch = unique_name();
            let create = conn.engine().create_database(&scratch).unwrap_or_default();
            conn.execute_batch(&create)
                .await
                .map_err(|e| text(e.source))?;
            let migrated = migrator
                .up_to(&database_url(server, &scratch), target)
                .await;
            let outcome = match migrated {
                Ok(_) => conn
                    .execute_batch(&sql.rename(&scratch, template))
                    .await
                    .map_err(|e| text(e.source)),
                Err(error) => Err(Failure::Migration(error)),
            };
            if outcome.is_err() {
                let drop = conn.engine().drop_database(&scratch).unwrap_or_default();
                let _ = conn.execute_batch(&drop).await;
            }
            outcome?;
        }
        Ok(())
    }
    .await;
    let _ = conn.execute_batch(&sql.unlock(template)).await;
    conn.close().await;
    result
}

/// `cfdmtpl_` and a digest of what the template holds: the set, its history
/// table, the target, and the id and checksum of every revision it applies.
fn template_name(migrator: &Migrator, target: &str) -> crate::Result<String> {
    let graph = migrator.graph()?;
    let target = graph.require(target)?.id;
    let ancestors = graph.ancestors(target);
    let mut revisions: Vec<&Revision> = graph
        .ordered()
        .filter(|r| ancestors.contains(r.id))
        .collect();
    revisions.sort_by_key(|revision| revision.id);
    let mut digest = Fnv::default();
    for part in [migrator.set(), &migrator.table, target] {
        digest.feed(part);
    }
    for revision in revisions {
        digest.feed(revision.id);
        digest.feed(revision.checksum);
    }
    Ok(format!("cfdmtpl_{:016x}", digest.0))
}

/// FNV-1a, 64 bits: stable across builds and Rust versions (unlike std's
/// hasher), which a name kept on the server between runs needs.
struct Fnv(u64);

impl Default for Fnv {
    fn default() -> Fnv {
        Fnv(0xcbf2_9ce4_8422_2325)
    }
}

impl Fnv {
    fn feed(&mut self, text: &str) {
        // A separator, so that ("ab", "c") and ("a", "bc") differ.
        for byte in text.bytes().chain([0]) {
            self.0 ^= u64::from(byte);
            self.0 = self.0.wrapping_mul(0x0100_0000_01b3);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Fnv;

    #[test]
    fn the_digest_is_stable_and_separates_parts() {
        let digest = |parts: &[&str]| {
            let mut fnv = Fnv::default();
            parts.iter().for_each(|part| fnv.feed(part));
            fnv.0
        };
        // Template names outlive the binary: the digest must not change.
        assert_eq!(digest(&["a"]), 0x089b_e207_b544_f1e4);
        assert_ne!(digest(&["ab", "c"]), digest(&["a", "bc"]));
    }
}
