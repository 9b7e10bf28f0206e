//! The checks every migrations crate should run, here on the example
//! migrations, on each engine: the stairway, the reversibility report, an
//! idempotent `up`, and a data-migration test of `add_slug`'s backfill.

use cofferdam::testing::{self, TestDatabase};
use example_migrations::migrator;

/// Every revision up, down and up again leaves the schema as it was.
#[cofferdam::test]
async fn stairway(db: TestDatabase) {
    testing::stairway(&migrator(), &db).await.unwrap();
}

/// Every revision can be reverted. A revision added without `down` fails
/// here: give it one, or add it to this list on purpose.
#[test]
fn every_revision_has_a_down() {
    assert_eq!(
        testing::irreversible(&migrator()).unwrap(),
        Vec::<&str>::new()
    );
}

/// `up` at head applies nothing and changes nothing.
#[cofferdam::test]
async fn up_at_head_is_idempotent(db: TestDatabase) {
    testing::idempotent(&migrator(), &db).await.unwrap();
}

/// `add_slug` fills the new column from the titles already there.
#[cofferdam::test(migrator = migrator, before = example_migrations::add_slug)]
async fn add_slug_backfills_existing_titles(db: TestDatabase) {
    db.execute(
        "INSERT INTO articles (id, title, body) VALUES (1, 'Hello World', ''), (2, 'rust', '')",
    )
    .await;
    db.migrate_to(&migrator(), "add_slug").await;
    let slugs = db.query("SELECT slug FROM articles ORDER BY id").await;
    assert_eq!(
        slugs,
        [[Some("hello-world".to_owned())], [Some("rust".to_owned())]]
    );
}
