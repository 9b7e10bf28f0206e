//! Data-migration tests: seed rows just before a revision, run it, read
//! the rows.
//!
//! ```rust,ignore
//! let migrator = my_migrations::migrator();
//! let db = TestDatabase::new(Backend::Sqlite).await.unwrap();
//! db.migrate_before(&migrator, "add_slug").await;
//! db.execute("INSERT INTO articles (id, title, body) VALUES (1, 'Hello World', '')").await;
//! db.migrate_to(&migrator, "add_slug").await;
//! assert_eq!(db.query("SELECT slug FROM articles").await, [[Some("hello-world".into())]]);
//! ```

use super::database::TestDatabase;
use crate::{Migrator, Report};

impl TestDatabase {
    /// Migrates to every ancestor of `revision`, and not `revision`
    /// itself: the state in which to insert the rows a data migration will
    /// transform. Destructive revisions are allowed. Panics on an error.
    pub async fn migrate_before(&self, migrator: &Migrator, revision: &str) {
        let migrator = migrator.clone().allow_destructive(true);
        let parents = match migrator
            .graph()
            .and_then(|graph| graph.require(revision).map(|r| r.parents))
        {
            Ok(parents) => parents,
            Err(error) => panic!("{}", crate::report(&error)),
        };
        for parent in parents {
            if let Err(error) = migrator.up_to(self.url(), parent).await {
                panic!(
                    "migrating to `{parent}`, before `{revision}`: {}",
                    crate::report(&error)
                );
            }
        }
    }

    /// Migrates up to `revision` (and any ancestor not applied yet),
    /// destructive revisions allowed; answers what ran. Panics on an error.
    pub async fn migrate_to(&self, migrator: &Migrator, revision: &str) -> Report {
        let migrator = migrator.clone().allow_destructive(true);
        migrator
            .up_to(self.url(), revision)
            .await
            .unwrap_or_else(|error| panic!("migrating to `{revision}`: {}", crate::report(&error)))
    }
}
