//! Squash on every backend: `migrate squash --to link_authors squash_blog`
//! on the example application's migrations wrote
//! `tests/autogen/squash_blog.rs` (committed, compiled into this test and
//! compared with what the generator writes now). It replaces those four
//! revisions, copied in `old` so that they share a set with the squash;
//! `add_published` builds on the last of them.
//!
//! - a fresh database runs the squash, then the rest;
//! - a database that ran the replaced revisions records the squash and goes on;
//! - a database part-way through them runs the rest of them first;
//! - `down` reverts with the squash's `down` or with theirs;
//! - once their code is deleted (set `squash_deleted`, where `replaces`
//!   names them by id), their rows are still known and `check` passes.

use cofferdam::cli::MigrateCommand;
use cofferdam::{Down, Error, Migrator};
use cofferdam_tests::{Backend, TestDb, backend_tests, fresh_database};

#[path = "../autogen/squash_blog.rs"]
mod squash_blog;

/// A scratch crate source directory, removed on drop.
fn scratch_dir(name: &str) -> cofferdam_tests::ScratchDir {
    cofferdam_tests::ScratchDir::new(&format!("squash_{name}"))
}

const HISTORY: &str = "cofferdam_history";
const REPLACED: [&str; 4] = [
    "create_articles",
    "create_authors",
    "add_slug",
    "link_authors",
];

/// The example application's revisions (`migrations/src/lib.rs`), as they
/// were before the squash.
mod old {
    use cofferdam::prelude::*;

    #[migration(down = drop_articles)]
    pub async fn create_articles(m: &mut Migration<'_>) -> Result<()> {
        m.exec(
            Table::create()
                .table("articles")
                .col(ColumnDef::new("id").big_integer().not_null().primary_key())
                .col(ColumnDef::new("title").string_len(200).not_null())
                .col(ColumnDef::new("body").text().not_null()),
        )
        .await
    }

    async fn drop_articles(m: &mut Migration<'_>) -> Result<()> {
        m.exec(Table::drop().table("articles")).await
    }

    #[migration(down = drop_authors)]
    pub async fn create_authors(m: &mut Migration<'_>) -> Result<()> {
        m.exec(
            Table::create()
                .table("authors")
                .col(ColumnDef::new("id").big_integer().not_null().primary_key())
                .col(ColumnDef::new("name").string_len(100).not_null()),
        )
        .await
    }

    async fn drop_authors(m: &mut Migration<'_>) -> Result<()> {
        m.exec(Table::drop().table("authors")).await
    }

    #[migration(after = create_articles, down = remove_slug)]
    pub async fn add_slug(m: &mut Migration<'_>) -> Result<()> {
        m.exec(
            Table::alter()
                .table("articles")
                .add_column(ColumnDef::new("slug").string_len(200).null()),
        )
        .await?;
        m.execute("UPDATE articles SET slug = lower(replace(title, ' ', '-'))")
            .await
    }

    async fn remove_slug(m: &mut Migration<'_>) -> Result<()> {
        m.exec(Table::alter().table("articles").drop_column("slug"))
            .await
    }

    #[migration(after = [add_slug, create_authors], down = remove_author_id)]
    pub async fn link_authors(m: &mut Migration<'_>) -> Result<()> {
        m.exec(
            Table::alter()
                .table("articles")
                .add_column(ColumnDef::new("author_id").big_integer().null()),
        )
        .await?;
        m.exec(
            Index::create()
                .name("articles_author_id")
                .table("articles")
                .col("author_id"),
        )
        .await
    }

    async fn remove_author_id(m: &mut Migration<'_>) -> Result<()> {
        m.exec(Index::drop().name("articles_author_id").table("articles"))
            .await?;
        m.exec(Table::alter().table("articles").drop_column("author_id"))
            .await
    }
}

/// Built on the last replaced revision, written before the squash: the
/// squash satisfies it.
mod later {
    use cofferdam::prelude::*;

    #[migration(after = crate::old::link_authors, down = remove_published)]
    pub async fn add_published(m: &mut Migration<'_>) -> Result<()> {
        m.exec(
            Table::alter()
                .table("articles")
                .add_column(ColumnDef::new("published").boolean().null()),
        )
        .await
    }

    async fn remove_published(m: &mut Migration<'_>) -> Result<()> {
        m.exec(Table::alter().table("articles").drop_column("published"))
            .await
    }
}

/// The same set after the second step: the replaced revisions deleted,
/// named by id; `add_published` now builds on the squash. Same functions,
/// same checksums (checked by `the_deleted_set_keeps_the_checksums`).
mod deleted {
    use cofferdam::prelude::*;

    include!("../autogen/squash_blog_deleted.rs");

    #[migration(set = "squash_deleted", after = squash_blog, down = remove_published)]
    pub async fn add_published(m: &mut Migration<'_>) -> Result<()> {
        m.exec(
            Table::alter()
                .table("articles")
                .add_column(ColumnDef::new("published").boolean().null()),
        )
        .await
    }

    async fn remove_published(m: &mut Migration<'_>) -> Result<()> {
        m.exec(Table::alter().table("articles").drop_column("published"))
            .await
    }
}

/// This test binary's set: the replaced revisions, the squash, and
/// `add_published`.
fn kept() -> Migrator {
    Migrator::new(env!("CARGO_CRATE_NAME"))
}

/// The set once the replaced revisions' code is deleted.
fn deleted() -> Migrator {
    Migrator::new("squash_deleted")
}

fn ran(report: &cofferdam::Report) -> Vec<&str> {
    report.revisions.iter().map(|r| r.id.as_str()).collect()
}

/// `(id, squashed)` of each history row, in application order.
async fn rows(migrator: &Migrator, db: &TestDb) -> Vec<(String, bool)> {
    let status = migrator.status(&db.url).await.unwrap();
    status
        .applied
        .iter()
        .map(|row| (row.id.clone(), row.squashed))
        .collect()
}

/// The user's tables (not cofferdam's own).
async fn user_tables(db: &TestDb) -> Vec<String> {
    db.tables()
        .await
        .into_iter()
        .filter(|t| !t.starts_with(HISTORY))
        .collect()
}

/// A second `up` at head stays on the digest's fast path: it does not read
/// the history. Proven by renaming a history column, which fires no
/// trigger (the digest stays) and breaks every full read of the history.
async fn second_up_is_a_no_op_on_the_fast_path(migrator: &Migrator, db: &TestDb) {
    db.execute(&format!(
        "ALTER TABLE {HISTORY} RENAME COLUMN seq TO seq_moved"
    ))
    .await;
    // (SQLite reads an unknown "seq" as the string 'seq', which is no number.)
    assert!(
        migrator.status(&db.url).await.is_err(),
        "a full read of the history fails now"
    );
    let report = migrator.up(&db.url).await.unwrap_or_else(|e| {
        panic!(
            "{:?}: not on the fast path: {}",
            db.backend,
            cofferdam::report(&e)
        )
    });
    assert!(ran(&report).is_empty() && report.recorded.is_empty());
    db.execute(&format!(
        "ALTER TABLE {HISTORY} RENAME COLUMN seq_moved TO seq"
    ))
    .await;
}

async fn up_or_panic(migrator: &Migrator, db: &TestDb) -> cofferdam::Report {
    migrator
        .up(&db.url)
        .await
        .unwrap_or_else(|e| panic!("{:?}: {}", db.backend, cofferdam::report(&e)))
}

async fn up_to_or_panic(migrator: &Migrator, db: &TestDb, to: &str) -> cofferdam::Report {
    migrator
        .up_to(&db.url, to)
        .await
        .unwrap_or_else(|e| panic!("{:?}: {}", db.backend, cofferdam::report(&e)))
}

/// The schema the replaced revisions build, one by one, with `add_published`.
async fn built_one_by_one(backend: Backend) -> cofferdam::testing::Snapshot {
    let db = fresh_database(backend)
        .await
        .expect("the backend answered once");
    up_to_or_panic(&kept(), &db, "link_authors").await;
    up_or_panic(&kept(), &db).await;
    db.snapshot().await
}

async fn fresh_database_runs_the_squash_then_the_rest(db: TestDb) {
    let report = up_or_panic(&kept(), &db).await;
    assert_eq!(ran(&report), ["squash_blog", "add_published"]);
    assert!(report.recorded.is_empty());
    assert_eq!(
        db.history(HISTORY).await,
        [
            ("squash_blog".to_owned(), "applied".to_owned()),
            ("add_published".to_owned(), "applied".to_owned())
        ],
        "the history keeps what ran: the squash, not the revisions it replaces"
    );
    assert_eq!(user_tables(&db).await, ["articles", "authors"]);
    let differences = built_one_by_one(db.backend)
        .await
        .diff(&db.snapshot().await);
    assert!(
        differences.is_empty(),
        "{:?}: the squash builds the schema the replaced revisions built: {differences:?}",
        db.backend
    );
    assert!(kept().status(&db.url).await.unwrap().pending.is_empty());
    second_up_is_a_no_op_on_the_fast_path(&kept(), &db).await;

    // `down` across a squash that ran: its own `down`.
    let report = kept().down(&db.url, Down::Steps(2)).await.unwrap();
    assert_eq!(ran(&report), ["add_published", "squash_blog"]);
    assert!(
        user_tables(&db).await.is_empty(),
        "{:?}",
        user_tables(&db).await
    );
    assert!(db.history(HISTORY).await.is_empty());
}

async fn existing_database_records_the_squash_and_goes_on(db: TestDb) {
    let report = up_to_or_panic(&kept(), &db, "link_authors").await;
    assert_eq!(
        ran(&report).len(),
        4,
        "the replaced revisions, as an older release ran them"
    );
    // What `status` says before: the squash will be recorded, not run, so
    // its destructive operations are not among what the next `up` does.
    let pending: Vec<(String, bool)> = kept()
        .status(&db.url)
        .await
        .unwrap()
        .pending
        .into_iter()
        .map(|p| (p.id, p.recorded_only))
        .collect();
    assert_eq!(
        pending,
        [
            ("squash_blog".to_owned(), true),
            ("add_published".to_owned(), false)
        ]
    );
    let report = up_or_panic(&kept(), &db).await;
    assert_eq!(ran(&report), ["add_published"]);
    assert_eq!(report.recorded, ["squash_blog"]);
    let history = rows(&kept(), &db).await;
    assert_eq!(history.len(), 6, "{history:?}");
    assert!(
        history[..4]
            .iter()
            .all(|(id, squashed)| REPLACED.contains(&id.as_str()) && !squashed)
    );
    assert_eq!(
        history[4],
        ("squash_blog".to_owned(), true),
        "recorded, not run"
    );
    assert_eq!(history[5], ("add_published".to_owned(), false));
    assert!(kept().status(&db.url).await.unwrap().pending.is_empty());
    second_up_is_a_no_op_on_the_fast_path(&kept(), &db).await;

    // `down` across a recorded squash: the replaced revisions' `down`s,
    // the squash and they counting as one step.
    let report = kept().down(&db.url, Down::Steps(2)).await.unwrap();
    assert_eq!(report.recorded, ["squash_blog"]);
    assert_eq!(ran(&report)[0], "add_published");
    assert_eq!(ran(&report).len(), 5, "{:?}", ran(&report));
    assert!(
        user_tables(&db).await.is_empty(),
        "{:?}",
        user_tables(&db).await
    );
    assert!(db.history(HISTORY).await.is_empty());
}

async fn partial_database_runs_the_rest_of_the_replaced_first(db: TestDb) {
    let report = up_to_or_panic(&kept(), &db, "add_slug").await;
    assert_eq!(ran(&report), ["create_articles", "add_slug"]);
    let status = kept().status(&db.url).await.unwrap();
    let squash = status.pending.iter().find(|p| p.id == "squash_blog");
    assert!(
        squash.is_some_and(|p| p.recorded_only),
        "part-way: recorded after the rest of the replaced run: {:?}",
        status.pending
    );
    let report = up_or_panic(&kept(), &db).await;
    assert_eq!(
        ran(&report),
        ["create_authors", "link_authors", "add_published"]
    );
    assert_eq!(
        report.recorded,
        ["squash_blog"],
        "never run over a partly built schema"
    );
    let fresh = fresh_database(db.backend)
        .await
        .expect("the backend answered once");
    up_or_panic(&kept(), &fresh).await;
    let differences = fresh.snapshot().await.diff(&db.snapshot().await);
    assert!(differences.is_empty(), "{:?}: {differences:?}", db.backend);
    second_up_is_a_no_op_on_the_fast_path(&kept(), &db).await;
}

/// Runs `migrate ARGS...` with `migrator`; the exit code.
async fn migrate(migrator: Migrator, url: &str, args: &[&str]) -> u8 {
    let mut all = vec!["--database-url", url, "-q"];
    all.extend_from_slice(args);
    let command = MigrateCommand::try_parse_from(all).expect("arguments parse");
    command.exit_code(migrator).await
}

async fn deleted_replaced_revisions_stay_known(db: TestDb) {
    // Squashed and recorded by the release that still had the old code.
    up_to_or_panic(&kept(), &db, "link_authors").await;
    up_or_panic(&kept(), &db).await;
    assert_eq!(
        migrate(deleted(), &db.url, &["check"]).await,
        0,
        "rows of replaced revisions are known"
    );
    let status = deleted().status(&db.url).await.unwrap();
    assert!(status.unknown.is_empty() && status.ahead.is_empty() && status.pending.is_empty());
    assert!(ran(&up_or_panic(&deleted(), &db).await).is_empty());
    second_up_is_a_no_op_on_the_fast_path(&deleted(), &db).await;
    // Their `down`s are gone with their code: said, and nothing reverted.
    let error = deleted().down(&db.url, Down::Steps(2)).await.unwrap_err();
    assert!(
        matches!(&error, Error::SquashNotReversible { squash, missing } if squash == "squash_blog" && missing.len() == 4),
        "{error}"
    );
    assert_eq!(db.history(HISTORY).await.len(), 6, "nothing was reverted");

    // A database that ran every replaced revision, before any release had
    // the squash: the squash is recorded.
    let old = fresh_database(db.backend)
        .await
        .expect("the backend answered once");
    up_to_or_panic(&kept(), &old, "link_authors").await;
    let report = up_or_panic(&deleted(), &old).await;
    assert_eq!(ran(&report), ["add_published"]);
    assert_eq!(report.recorded, ["squash_blog"]);
    assert_eq!(migrate(deleted(), &old.url, &["check"]).await, 0);

    // Part-way through them: neither side can finish without their code.
    let partial = fresh_database(db.backend)
        .await
        .expect("the backend answered once");
    up_to_or_panic(&kept(), &partial, "add_slug").await;
    let error = deleted().up(&partial.url).await.unwrap_err();
    assert!(
        matches!(&error, Error::UnfinishedSquash { squash, missing } if squash == "squash_blog" && missing == &["create_authors", "link_authors"]),
        "{error}"
    );
    assert_eq!(partial.history(HISTORY).await.len(), 2, "nothing ran");
    assert_eq!(migrate(deleted(), &partial.url, &["check"]).await, 1);
}

/// `status`, `check`, `diff`, `sql` and `stamp` with a squash present.
async fn the_other_verbs_see_the_squash(db: TestDb) {
    up_to_or_panic(&kept(), &db, "link_authors").await;
    up_or_panic(&kept(), &db).await;
    for verb in ["status", "check", "diff", "heads", "history", "graph"] {
        assert_eq!(
            migrate(kept(), &db.url, &[verb]).await,
            0,
            "{:?}: {verb}",
            db.backend
        );
        assert_eq!(
            migrate(deleted(), &db.url, &[verb]).await,
            0,
            "{:?}: {verb} after deleting",
            db.backend
        );
    }

    // `sql` on a database part-way: the rest of the replaced revisions,
    // never the squash's statements.
    let partial = fresh_database(db.backend)
        .await
        .expect("the backend answered once");
    up_to_or_panic(&kept(), &partial, "add_slug").await;
    let rendered = kept().render_sql(&partial.url, None).await.unwrap();
    let mut from: Vec<&str> = rendered
        .statements
        .iter()
        .map(|s| s.revision.as_str())
        .collect();
    from.dedup();
    assert_eq!(from, ["create_authors", "link_authors", "add_published"]);
    assert_eq!(
        migrate(kept(), &partial.url, &["status"]).await,
        3,
        "pending"
    );

    // `stamp head` on an empty database records the squash, not what it replaces.
    let empty = fresh_database(db.backend)
        .await
        .expect("the backend answered once");
    kept().stamp(&empty.url, "head").await.unwrap();
    let ids: Vec<String> = empty
        .history(HISTORY)
        .await
        .into_iter()
        .map(|(id, _)| id)
        .collect();
    assert_eq!(ids, ["squash_blog", "add_published"]);
    assert!(ran(&up_or_panic(&kept(), &empty).await).is_empty());
}

backend_tests!(
    the_other_verbs_see_the_squash,
    fresh_database_runs_the_squash_then_the_rest,
    existing_database_records_the_squash_and_goes_on,
    partial_database_runs_the_rest_of_the_replaced_first,
    deleted_replaced_revisions_stay_known,
);

#[test]
fn the_graph_puts_the_squash_in_place_of_what_it_replaces() {
    assert_eq!(kept().heads().unwrap(), ["add_published"]);
    assert_eq!(deleted().heads().unwrap(), ["add_published"]);
    let order: Vec<&str> = kept().revisions().unwrap().iter().map(|r| r.id).collect();
    let at = |id: &str| order.iter().position(|o| *o == id).unwrap();
    assert!(REPLACED.iter().all(|id| at(id) < at("squash_blog")));
    assert!(at("squash_blog") < at("add_published"));
}

#[test]
fn the_deleted_set_keeps_the_checksums() {
    let checksum = |migrator: Migrator, id: &str| {
        migrator
            .revisions()
            .unwrap()
            .iter()
            .find(|r| r.id == id)
            .unwrap()
            .checksum
    };
    for id in ["squash_blog", "add_published"] {
        assert_eq!(checksum(kept(), id), checksum(deleted(), id), "{id}");
    }
}

/// Squashes that make no sense, refused when the graph is checked.
mod bad {
    use cofferdam::prelude::*;

    #[migration(set = "squash_bad_twice")]
    async fn one(_m: &mut Migration<'_>) -> Result<()> {
        Ok(())
    }

    #[migration(set = "squash_bad_twice", replaces = [one])]
    async fn first_squash(_m: &mut Migration<'_>) -> Result<()> {
        Ok(())
    }

    #[migration(set = "squash_bad_twice", replaces = ["one"])]
    async fn second_squash(_m: &mut Migration<'_>) -> Result<()> {
        Ok(())
    }

    #[migration(set = "squash_bad_chain")]
    async fn base(_m: &mut Migration<'_>) -> Result<()> {
        Ok(())
    }

    #[migration(set = "squash_bad_chain", after = base)]
    async fn middle(_m: &mut Migration<'_>) -> Result<()> {
        Ok(())
    }

    /// Replaces `middle` without `base`, which it builds on.
    #[migration(set = "squash_bad_chain", replaces = [middle])]
    async fn not_a_chain(_m: &mut Migration<'_>) -> Result<()> {
        Ok(())
    }
}

#[test]
fn nonsense_squashes_are_refused_with_the_revisions_named() {
    let error = Migrator::new("squash_bad_twice").check_graph().unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::InvalidSquash { .. }), "{text}");
    assert!(
        text.contains("`one`") && text.contains("first_squash") && text.contains("second_squash"),
        "{text}"
    );
    let error = Migrator::new("squash_bad_chain").check_graph().unwrap_err();
    let text = error.to_string();
    assert!(matches!(error, Error::InvalidSquash { .. }), "{text}");
}

/// `text` (the generated file) as it reads once the replaced revisions are
/// deleted: only its items, `replaces` naming them by id, in set
/// `squash_deleted`. Its function is untouched, so its checksum is too.
fn without_replaced_code(text: &str) -> String {
    let items = &text[text.find("\n///").expect("a documented function") + 1..];
    let start = items.find("#[migration(").expect("the attribute");
    let end = start + items[start..].find(")]").expect("its end") + 2;
    let ids: Vec<String> = REPLACED.iter().map(|id| format!("\"{id}\"")).collect();
    format!(
        "{}#[migration(set = \"squash_deleted\", replaces = [{}], down = undo_squash_blog)]{}",
        &items[..start],
        ids.join(", "),
        &items[end..]
    )
}

#[tokio::test(flavor = "multi_thread")]
async fn the_generated_squash_is_the_committed_one() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let Some(db) = fresh_database(backend).await else {
            continue;
        };
        let dir = scratch_dir(&format!("{backend:?}"));
        let mut args = vec!["squash", "--to", "link_authors", "squash_blog", "--dir"];
        args.push(dir.to_str().unwrap());
        // The example application's own set, where no squash exists yet.
        let code = migrate(example_migrations::migrator(), &db.url, &args).await;
        assert_eq!(code, 0, "{backend:?}");
        // Its revisions are copied in `old` here.
        let generated = std::fs::read_to_string(dir.join("squash_blog.rs"))
            .expect("the file was written")
            .replace("crate::", "crate::old::");
        assert!(
            generated.contains("replaces = [") && generated.contains("crate::old::link_authors"),
            "{generated}"
        );
        assert!(
            generated.contains("// not reproduced: `add_slug` changes rows"),
            "the data migration is reported in the file: {generated}"
        );
        let lib = std::fs::read_to_string(dir.join("lib.rs")).unwrap();
        assert!(lib.contains("mod squash_blog;"), "{lib}");
        if backend != Backend::Sqlite {
            continue;
        }
        let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/autogen/squash_blog.rs");
        let committed_deleted = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/autogen/squash_blog_deleted.rs"
        );
        let rustfmt = std::process::Command::new("rustfmt")
            .arg("--version")
            .output();
        if rustfmt.is_err() && !cofferdam_tests::all_backends_required() {
            eprintln!(
                "note: skipped the comparison with the committed file: rustfmt is not installed"
            );
            continue;
        }
        if std::env::var_os("COFFERDAM_BLESS").is_some() {
            std::fs::write(committed, &generated).expect("bless");
            std::fs::write(committed_deleted, without_replaced_code(&generated)).expect("bless");
        }
        assert_eq!(
            generated,
            std::fs::read_to_string(committed).unwrap(),
            "the generator's output changed; rerun with COFFERDAM_BLESS=1 and review the diff"
        );
        assert_eq!(
            without_replaced_code(&generated),
            std::fs::read_to_string(committed_deleted).unwrap(),
            "rerun with COFFERDAM_BLESS=1"
        );
    }
}

/// The stairway check (`cofferdam::testing::stairway`) over a set with a
/// squash: the replaced revisions one by one, the squash recorded over them
/// and reverted with their `down`s, then the squash run by itself (its `up`
/// compared with theirs, its `down` checked), then the rest.
#[tokio::test(flavor = "multi_thread")]
async fn the_stairway_check_walks_through_a_squash() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let Some(db) = cofferdam::testing::TestDatabase::new(backend.engine()).await else {
            continue;
        };
        let stairway = cofferdam::testing::stairway(&kept(), &db)
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: {e:?}"));
        assert!(
            stairway.checked.iter().any(|id| id == "squash_blog"),
            "{stairway:?}"
        );
        assert_eq!(stairway.checked.len(), 6, "{stairway:?}");
    }
}

/// `--from`: a squash of the middle of the history builds on the start's
/// parents and replaces only from there.
#[tokio::test(flavor = "multi_thread")]
async fn a_squash_can_start_from_a_revision() {
    for backend in [Backend::Sqlite, Backend::Postgres, Backend::MySql] {
        let Some(db) = fresh_database(backend).await else {
            continue;
        };
        let dir = scratch_dir(&format!("from_{backend:?}"));
        let mut args = vec![
            "squash",
            "--from",
            "add_slug",
            "--to",
            "link_authors",
            "tail",
            "--dir",
        ];
        args.push(dir.to_str().unwrap());
        let code = migrate(example_migrations::migrator(), &db.url, &args).await;
        assert_eq!(code, 0, "{backend:?}");
        let text = std::fs::read_to_string(dir.join("tail.rs")).expect("the file was written");
        let compact: String = text.split_whitespace().collect::<Vec<_>>().join(" ");
        assert!(
            compact.contains("after = crate::create_articles,"),
            "{text}"
        );
        let attribute = &compact[compact.find("#[migration(").expect("the attribute")..];
        let replaces = &attribute[attribute.find("replaces = [").expect("replaces")..];
        let replaces = &replaces[..replaces.find(']').unwrap()];
        for id in ["add_slug", "create_authors", "link_authors"] {
            assert!(
                replaces.contains(&format!("crate::{id}")),
                "{id}: {replaces}"
            );
        }
        assert!(!replaces.contains("create_articles"), "{replaces}");
        assert!(text.contains("create table authors"), "{text}");
        assert!(
            !text.contains("create table articles"),
            "it builds on articles: {text}"
        );
    }
}
