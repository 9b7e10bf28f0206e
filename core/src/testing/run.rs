//! What `#[cofferdam::test]` expands to calls: build a runtime, make the
//! database, run the test. Not public API.

use super::database::TestDatabase;
use crate::{Backend, Migrator};
use std::future::Future;

/// The database a generated test asks for.
#[derive(Debug, Clone, Copy, Default)]
pub struct Setup {
    /// The set to migrate; None: an empty database.
    pub migrator: Option<fn() -> Migrator>,
    /// Migrate to this revision instead of the head.
    pub to: Option<&'static str>,
    /// Migrate to the ancestors of this revision (a data-migration test).
    pub before: Option<&'static str>,
}

/// What a test function may return: `()` or a `Result` whose error fails
/// the test.
pub trait TestOutcome {
    /// Panics when the test failed.
    fn check(self);
}

impl TestOutcome for () {
    fn check(self) {}
}

impl<E: std::fmt::Debug> TestOutcome for Result<(), E> {
    fn check(self) {
        if let Err(error) = self {
            panic!("the test returned an error: {error:?}");
        }
    }
}

/// Runs `test` on a multi-threaded runtime with a database on `backend`
/// set up as `setup` says; returns early (the skip note printed) when the
/// engine is not available.
pub fn run<F, Fut>(backend: Backend, setup: Setup, test: F)
where
    F: FnOnce(TestDatabase) -> Fut,
    Fut: Future,
    Fut::Output: TestOutcome,
{
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("build the test's tokio runtime");
    runtime.block_on(async move {
        let db = match (setup.migrator, setup.to, setup.before) {
            (None, ..) => TestDatabase::new(backend).await,
            (Some(migrator), Some(to), _) => {
                TestDatabase::migrated_to(backend, &migrator(), to).await
            }
            (Some(migrator), None, Some(before)) => {
                let db = TestDatabase::new(backend).await;
                if let Some(db) = &db {
                    db.migrate_before(&migrator(), before).await;
                }
                db
            }
            (Some(migrator), None, None) => TestDatabase::migrated(backend, &migrator()).await,
        };
        if let Some(db) = db {
            test(db).await.check();
        }
    });
}
