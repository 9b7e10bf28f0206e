//! Autogenerate on every backend: the models as `#[derive(Model)]` structs,
//! the migration `migrate new --autogenerate` writes for them (committed as
//! `tests/autogen/create_blog.rs` and compiled into this test, so it is
//! built and run here), `check` catching a model without a migration, and a
//! generated drop that does not build until reviewed (a trybuild case in
//! `ui.rs`, kept equal to what the generator writes).

use cofferdam::Migrator;
use cofferdam::cli::MigrateCommand;
use cofferdam::schema::{self, Change};
use cofferdam_tests::{Backend, fresh_database};

#[path = "../autogen/create_blog.rs"]
mod create_blog;

/// Stand-ins with the names the derive reads (it maps types by name, like
/// `chrono::NaiveDateTime`); the test needs no date library.
mod chrono {
    pub struct NaiveDateTime;
}

mod blog {
    use super::chrono;
    use cofferdam::Model;

    #[allow(dead_code)]
    #[derive(Model)]
    #[model(table = "authors")]
    pub struct Author {
        #[model(primary_key, auto_increment)]
        pub id: i64,
        #[model(len = 100, unique)]
        pub name: String,
        pub email: Option<String>,
        #[model(default = true)]
        pub active: bool,
    }

    #[allow(dead_code)]
    #[derive(Model)]
    #[model(table = "articles", index(columns = [author_id, published_at]))]
    pub struct Article {
        #[model(primary_key)]
        pub id: i64,
        #[model(len = 200, unique)]
        pub slug: String,
        #[model(references(authors.id, on_delete = cascade))]
        pub author_id: i64,
        pub body: Option<String>,
        #[model(len = 20, default = "draft")]
        pub state: String,
        #[model(default = 0)]
        pub views: i32,
        pub score: f64,
        pub published_at: Option<chrono::NaiveDateTime>,
        #[model(default_sql = "CURRENT_TIMESTAMP")]
        pub created_at: chrono::NaiveDateTime,
        #[model(skip)]
        pub cached: Vec<String>,
    }
}

/// The blog with a subtitle and an index on it: a model change with no migration.
mod blog_v2 {
    use cofferdam::Model;

    #[allow(dead_code)]
    #[derive(Model)]
    #[model(table = "authors", set = "autogen_v2")]
    pub struct Author {
        #[model(primary_key, auto_increment)]
        pub id: i64,
        #[model(len = 100, unique)]
        pub name: String,
        pub email: Option<String>,
        #[model(default = true)]
        pub active: bool,
    }

    #[allow(dead_code)]
    #[derive(Model)]
    #[model(table = "articles", set = "autogen_v2", index(columns = [author_id, published_at]))]
    pub struct Article {
        #[model(primary_key)]
        pub id: i64,
        #[model(len = 200, unique)]
        pub slug: String,
        #[model(references(authors.id, on_delete = cascade))]
        pub author_id: i64,
        pub body: Option<String>,
        #[model(len = 20, default = "draft")]
        pub state: String,
        #[model(default = 0)]
        pub views: i32,
        pub score: f64,
        pub published_at: Option<super::chrono::NaiveDateTime>,
        #[model(default_sql = "CURRENT_TIMESTAMP")]
        pub created_at: super::chrono::NaiveDateTime,
        #[model(len = 300, index)]
        pub subtitle: Option<String>,
    }
}

/// The blog without `articles.body`: a dropped field.
mod blog_dropped {
    use cofferdam::Model;

    #[allow(dead_code)]
    #[derive(Model)]
    #[model(table = "authors", set = "autogen_dropped")]
    pub struct Author {
        #[model(primary_key, auto_increment)]
        pub id: i64,
        #[model(len = 100, unique)]
        pub name: String,
        pub email: Option<String>,
        #[model(default = true)]
        pub active: bool,
    }

    #[allow(dead_code)]
    #[derive(Model)]
    #[model(table = "articles", set = "autogen_dropped", index(columns = [author_id, published_at]))]
    pub struct Article {
        #[model(primary_key)]
        pub id: i64,
        #[model(len = 200, unique)]
        pub slug: String,
        #[model(references(authors.id, on_delete = cascade))]
        pub author_id: i64,
        #[model(len = 20, default = "draft")]
        pub state: String,
        #[model(default = 0)]
        pub views: i32,
        pub score: f64,
        pub published_at: Option<super::chrono::NaiveDateTime>,
        #[model(default_sql = "CURRENT_TIMESTAMP")]
        pub created_at: super::chrono::NaiveDateTime,
    }
}

/// The blog with `articles.body` renamed `content` and `authors.email`
/// renamed `contact`: each a drop and an add of one type, offered as a rename.
mod blog_renamed {
    use cofferdam::Model;

    #[allow(dead_code)]
    #[derive(Model)]
    #[model(table = "authors", set = "autogen_renamed")]
    pub struct Author {
        #[model(primary_key, auto_increment)]
        pub id: i64,
        #[model(len = 100, unique)]
        pub name: String,
        pub contact: Option<String>,
        #[model(default = true)]
        pub active: bool,
    }

    #[allow(dead_code)]
    #[derive(Model)]
    #[model(table = "articles", set = "autogen_renamed", index(columns = [author_id, published_at]))]
    pub struct Article {
        #[model(primary_key)]
        pub id: i64,
        #[model(len = 200, unique)]
        pub slug: String,
        #[model(references(authors.id, on_delete = cascade))]
        pub author_id: i64,
        pub content: Option<String>,
        #[model(len = 20, default = "draft")]
        pub state: String,
        #[model(default = 0)]
        pub views: i32,
        pub score: f64,
        pub published_at: Option<super::chrono::NaiveDateTime>,
        #[model(default_sql = "CURRENT_TIMESTAMP")]
        pub created_at: super::chrono::NaiveDateTime,
    }
}

/// The blog with every other kind of change: a type, a default, a unique
/// index made plain, a new column with a foreign key to an existing table.
mod blog_v3 {
    use cofferdam::Model;

    #[allow(dead_code)]
    #[derive(Model)]
    #[model(table = "authors", set = "autogen_v3")]
    pub struct Author {
        #[model(primary_key, auto_increment)]
        pub id: i64,
        #[model(len = 100, unique)]
        pub name: String,
        pub email: Option<String>,
        #[model(default = true)]
        pub active: bool,
    }

    #[allow(dead_code)]
    #[derive(Model)]
    #[model(table = "articles", set = "autogen_v3", index(columns = [author_id, published_at]))]
    pub struct Article {
        #[model(primary_key)]
        pub id: i64,
        #[model(len = 200, index)]
        pub slug: String,
        #[model(references(authors.id, on_delete = cascade))]
        pub author_id: i64,
        pub body: Option<String>,
        #[model(len = 20, default = "draft")]
        pub state: String,
        #[model(default = 1)]
        pub views: i32,
        pub score: f32,
        pub published_at: Option<super::chrono::NaiveDateTime>,
        #[model(default_sql = "CURRENT_TIMESTAMP")]
        pub created_at: super::chrono::NaiveDateTime,
        #[model(references(authors.id, on_delete = set_null))]
        pub editor_id: Option<i64>,
    }
}

/// A scratch crate source directory, removed on drop.
fn scratch_dir(name: &str) -> cofferdam_tests::ScratchDir {
    cofferdam_tests::ScratchDir::new(&format!("autogen_{name}"))
}

const BACKENDS: [Backend; 3] = [Backend::Sqlite, Backend::Postgres, Backend::MySql];

/// This test binary's migrations (the committed generated file).
fn migrator() -> Migrator {
    Migrator::new(env!("CARGO_CRATE_NAME"))
}

/// A set with no revisions, compared with this binary's models.
fn from_scratch() -> Migrator {
    Migrator::new("autogen_empty").models(env!("CARGO_CRATE_NAME"))
}

/// Runs `migrate ARGS...` with `migrator`; the exit code and what
/// `migrate new` wrote in `dir`.
async fn migrate(migrator: Migrator, url: &str, args: &[&str]) -> u8 {
    let mut all = vec!["--database-url", url, "-q"];
    all.extend_from_slice(args);
    let command = MigrateCommand::try_parse_from(all).expect("arguments parse");
    command.exit_code(migrator).await
}

#[tokio::test(flavor = "multi_thread")]
async fn models_become_verified_changes_on_every_backend() {
    for backend in BACKENDS {
        let Some(db) = fresh_database(backend).await else {
            continue;
        };
        let found = from_scratch()
            .autogenerate(&db.url, None, true)
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: {}", cofferdam::report(&e)));
        let described: Vec<String> = found.diff.changes.iter().map(Change::describe).collect();
        assert_eq!(
            described[..2],
            [
                "create table authors".to_owned(),
                "create table articles".to_owned()
            ],
            "{backend:?}: parents first: {described:#?}"
        );
        assert!(
            found.unexpressible.is_empty(),
            "{backend:?}: {:?}",
            found.unexpressible
        );
        assert!(
            found.leftover.is_empty(),
            "{backend:?}: the shadow should match the models after the changes: {:?}",
            found.leftover
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn the_generated_file_is_the_committed_one() {
    let dir = scratch_dir("golden");
    let code = migrate(
        from_scratch(),
        "sqlite://unused.db?mode=rwc",
        &[
            "new",
            "create_blog",
            "--autogenerate",
            "--dir",
            dir.to_str().unwrap(),
        ],
    )
    .await;
    assert_eq!(code, 0);
    assert!(
        !std::path::Path::new("unused.db").exists(),
        "the target database is not created"
    );
    let generated =
        std::fs::read_to_string(dir.join("create_blog.rs")).expect("the file was written");
    let committed = concat!(env!("CARGO_MANIFEST_DIR"), "/autogen/create_blog.rs");
    let rustfmt = std::process::Command::new("rustfmt")
        .arg("--version")
        .output();
    if rustfmt.is_err() && !cofferdam_tests::all_backends_required() {
        // Without rustfmt the generator keeps prettyplease's layout.
        eprintln!("note: skipped the comparison with the committed file: rustfmt is not installed");
        return;
    }
    if std::env::var_os("COFFERDAM_BLESS").is_some() {
        std::fs::write(committed, &generated).expect("bless");
    }
    assert_eq!(
        generated,
        std::fs::read_to_string(committed).unwrap(),
        "the generator's output changed; rerun with COFFERDAM_BLESS=1 and review the diff"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn the_generated_migration_applies_and_leaves_no_difference() {
    for backend in BACKENDS {
        let Some(db) = fresh_database(backend).await else {
            continue;
        };
        migrator()
            .up(&db.url)
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: {}", cofferdam::report(&e)));
        assert!(
            db.tables().await.contains(&"articles".to_owned()),
            "{backend:?}"
        );
        let live = migrator().live_schema(&db.url).await.unwrap();
        let engine = cofferdam::Backend::from_url(&db.url).unwrap();
        let left = schema::diff(&live, &migrator().model_schema(), engine);
        assert!(left.is_empty(), "{backend:?}: {left:#?}");
        // And autogenerate, through the shadow, has nothing left to write.
        let dir = scratch_dir(&format!("again_{backend:?}"));
        let code = migrate(
            migrator(),
            &db.url,
            &[
                "new",
                "again",
                "--autogenerate",
                "--dir",
                dir.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(code, 0, "{backend:?}");
        assert!(
            !dir.join("again.rs").exists(),
            "{backend:?}: nothing to write"
        );
        // The generated `down` undoes it.
        migrator()
            .down(&db.url, cofferdam::Down::Steps(1))
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: {}", cofferdam::report(&e)));
        let tables = db.tables().await;
        assert!(
            !tables.contains(&"articles".to_owned()) && !tables.contains(&"authors".to_owned()),
            "{backend:?}: {tables:?}"
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn check_fails_on_a_model_change_without_a_migration() {
    for backend in BACKENDS {
        let Some(db) = fresh_database(backend).await else {
            continue;
        };
        migrator().up(&db.url).await.unwrap();
        let code = migrate(migrator(), &db.url, &["check"]).await;
        assert_eq!(code, 0, "{backend:?}: models and migrations agree");
        let changed = migrator().models("autogen_v2");
        let code = migrate(changed.clone(), &db.url, &["check"]).await;
        assert_eq!(code, cofferdam::cli::exit::MODELS, "{backend:?}");
        let found = changed.autogenerate(&db.url, None, true).await.unwrap();
        let described: Vec<String> = found.diff.changes.iter().map(Change::describe).collect();
        assert_eq!(
            described,
            [
                "add column articles.subtitle",
                "create index articles_subtitle_idx on articles (subtitle)"
            ],
            "{backend:?}"
        );
        assert!(
            found.leftover.is_empty(),
            "{backend:?}: {:?}",
            found.leftover
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn a_dropped_field_is_written_unreviewed() {
    for backend in BACKENDS {
        let Some(db) = fresh_database(backend).await else {
            continue;
        };
        let dir = scratch_dir(&format!("drop_{backend:?}"));
        let dropped = migrator().models("autogen_dropped");
        let code = migrate(
            dropped,
            &db.url,
            &[
                "new",
                "drop_body",
                "--autogenerate",
                "--dir",
                dir.to_str().unwrap(),
            ],
        )
        .await;
        assert_eq!(code, 0, "{backend:?}");
        let text = std::fs::read_to_string(dir.join("drop_body.rs")).unwrap();
        assert!(text.contains(r#".drop_column("body")"#), "{text}");
        assert!(
            text.contains("// loses data: every value of `articles.body`"),
            "{text}"
        );
        assert!(
            !text.contains("\n#[destructive"),
            "not marked reviewed: {text}"
        );
        if backend == Backend::Sqlite {
            // The trybuild case that shows it does not build, kept equal to
            // what the generator writes (as a root revision, plus a main).
            let fixture = concat!(
                env!("CARGO_MANIFEST_DIR"),
                "/ui/autogenerate/drop_unreviewed.rs"
            );
            let expected = format!(
                "{}\nfn main() {{}}\n",
                text.replace("after = crate::create_blog::create_blog, ", "")
            );
            if std::env::var_os("COFFERDAM_BLESS").is_some() {
                std::fs::write(fixture, &expected).expect("bless");
            }
            assert_eq!(expected, std::fs::read_to_string(fixture).unwrap());
        }
    }
}

/// SQL that changes `articles.score` from double to single precision, where
/// the engine can do it in place (not SQLite).
fn narrow_score(backend: Backend) -> Option<&'static str> {
    match backend {
        Backend::Sqlite => None,
        Backend::Postgres => Some("ALTER TABLE articles ALTER COLUMN score TYPE real"),
        Backend::MySql => Some("ALTER TABLE articles MODIFY score float NOT NULL"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn diff_reports_hand_edits_in_the_live_database() {
    for backend in BACKENDS {
        let Some(db) = fresh_database(backend).await else {
            continue;
        };
        migrator().up(&db.url).await.unwrap();
        assert_eq!(
            migrate(migrator(), &db.url, &["diff"]).await,
            0,
            "{backend:?}: no edits yet"
        );
        db.execute("CREATE INDEX hand_idx ON articles (views)")
            .await;
        db.execute("CREATE VIEW hand_view AS SELECT id FROM articles")
            .await;
        if let Some(sql) = narrow_score(backend) {
            db.execute(sql).await;
        }
        assert_eq!(
            migrate(migrator(), &db.url, &["diff", "--json"]).await,
            cofferdam::cli::exit::SCHEMA_DRIFT,
            "{backend:?}"
        );
        let drift = migrator().drift(&db.url, None).await.unwrap();
        let found: Vec<String> = drift.changes.iter().map(Change::describe_drift).collect();
        let mut expected = Vec::new();
        if narrow_score(backend).is_some() {
            expected.push("changed column: articles.score (type Double -> Float)".to_owned());
        }
        expected.push("extra index hand_idx on articles (views)".to_owned());
        assert_eq!(found, expected, "{backend:?}");
        // What a model cannot declare is still compared by name; cofferdam's
        // own trigger and functions (the digest, the PostgreSQL backstop) are not listed.
        assert_eq!(drift.extra_objects, ["view `hand_view`"], "{backend:?}");
        assert!(
            drift.missing_objects.is_empty(),
            "{backend:?}: {:?}",
            drift.missing_objects
        );
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn baseline_stamps_a_matching_database_and_refuses_another() {
    for backend in BACKENDS {
        for matching in [true, false] {
            let Some(db) = fresh_database(backend).await else {
                continue;
            };
            // Built without cofferdam, as `create_all` would.
            let engine = cofferdam::Backend::from_url(&db.url).unwrap();
            let built = schema::diff(
                &schema::Schema::default(),
                &migrator().model_schema(),
                engine,
            );
            for change in &built.changes {
                for sql in change.statements(engine) {
                    db.execute(&sql).await;
                }
            }
            if !matching {
                db.execute("ALTER TABLE articles ADD COLUMN legacy_flag integer")
                    .await;
            }
            let code = migrate(migrator(), &db.url, &["baseline", "create_blog"]).await;
            let stamped = db.tables().await.contains(&"cofferdam_history".to_owned());
            if matching {
                assert_eq!(code, 0, "{backend:?}");
                assert!(stamped, "{backend:?}");
                let history = db.history("cofferdam_history").await;
                assert_eq!(history.len(), 1, "{backend:?}: {history:?}");
                assert_eq!(history[0].0, "create_blog", "{backend:?}");
            } else {
                assert_eq!(code, cofferdam::cli::exit::SCHEMA_DRIFT, "{backend:?}");
                assert!(!stamped, "{backend:?}: nothing is stamped");
            }
        }
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn every_kind_of_change_applies_or_is_reported() {
    for backend in BACKENDS {
        let Some(db) = fresh_database(backend).await else {
            continue;
        };
        let found = migrator()
            .models("autogen_v3")
            .autogenerate(&db.url, None, true)
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: {}", cofferdam::report(&e)));
        let described: Vec<String> = found.diff.changes.iter().map(Change::describe).collect();
        assert_eq!(
            described,
            [
                "drop index articles_slug_key on articles",
                "add column articles.editor_id",
                "alter column articles.views (default 0 -> 1)",
                "alter column articles.score (type Double -> Float)",
                "create index articles_slug_idx on articles (slug)",
                "add foreign key articles (editor_id) -> authors (id)",
            ],
            "{backend:?}"
        );
        if backend == Backend::Sqlite {
            // SQLite alters neither columns nor foreign keys in place: said, not written.
            assert_eq!(found.unexpressible.len(), 3, "{:?}", found.unexpressible);
            assert_eq!(found.leftover.len(), 3, "{:?}", found.leftover);
        } else {
            assert!(
                found.unexpressible.is_empty(),
                "{backend:?}: {:?}",
                found.unexpressible
            );
            assert!(
                found.leftover.is_empty(),
                "{backend:?}: {:?}",
                found.leftover
            );
        }
    }
}

/// A rename a person confirms becomes `rename_column`, verified on the
/// shadow, and keeps the column's values; the candidate nobody confirmed
/// stays a drop and an add.
#[tokio::test(flavor = "multi_thread")]
async fn a_confirmed_rename_keeps_the_values() {
    for backend in BACKENDS {
        let Some(db) = fresh_database(backend).await else {
            continue;
        };
        migrator()
            .up(&db.url)
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: {}", cofferdam::report(&e)));
        db.execute("INSERT INTO authors (id, name, email) VALUES (1, 'ada', 'ada@example.com')")
            .await;
        db.execute(
            "INSERT INTO articles (id, slug, author_id, body, score) VALUES (1, 'first', 1, 'kept', 1.5)",
        )
        .await;
        let mut asked = Vec::new();
        let found = migrator()
            .models("autogen_renamed")
            .autogenerate_renaming(&db.url, None, true, |table, dropped, added| {
                asked.push(format!("{table}.{dropped}={added}"));
                table == "articles"
            })
            .await
            .unwrap_or_else(|e| panic!("{backend:?}: {}", cofferdam::report(&e)));
        asked.sort();
        assert_eq!(
            asked,
            ["articles.body=content", "authors.email=contact"],
            "{backend:?}"
        );
        let described: Vec<String> = found.diff.changes.iter().map(Change::describe).collect();
        assert_eq!(
            described,
            [
                "rename column articles.body to content",
                "add column authors.contact",
                "drop column authors.email",
            ],
            "{backend:?}"
        );
        assert!(
            found.leftover.is_empty(),
            "{backend:?}: {:?}",
            found.leftover
        );
        // Applied to the live database, the article keeps its text.
        for change in &found.diff.changes {
            for sql in change.statements(found.backend) {
                db.execute(&sql).await;
            }
        }
        assert_eq!(
            db.query("SELECT content FROM articles WHERE id = 1").await,
            [[Some("kept".to_owned())]],
            "{backend:?}"
        );
    }
}

/// `migrate new --autogenerate --rename TABLE.OLD=NEW` writes the rename
/// and no drop; a `--rename` that names no candidate is refused.
#[tokio::test(flavor = "multi_thread")]
async fn the_rename_flag_writes_rename_column() {
    let migrator = || migrator().models("autogen_renamed");
    let dir = scratch_dir("rename");
    let url = "sqlite::memory:";
    let dir_arg = dir.to_str().unwrap();
    let code = migrate(
        migrator(),
        url,
        &[
            "new",
            "rename_body",
            "--autogenerate",
            "--dir",
            dir_arg,
            "--rename",
            "articles.body=nope",
        ],
    )
    .await;
    assert_eq!(code, 2, "a rename of no candidate is a usage error");
    assert!(!dir.join("rename_body.rs").exists(), "nothing was written");
    let code = migrate(
        migrator(),
        url,
        &[
            "new",
            "rename_body",
            "--autogenerate",
            "--dir",
            dir_arg,
            "--rename",
            "articles.body=content",
            "--rename",
            "authors.email=contact",
        ],
    )
    .await;
    assert_eq!(code, 0);
    let text = std::fs::read_to_string(dir.join("rename_body.rs")).expect("the file was written");
    assert!(
        text.contains(r#".rename_column("body", "content")"#),
        "{text}"
    );
    assert!(
        text.contains(r#".rename_column("content", "body")"#),
        "the down renames back: {text}"
    );
    assert!(
        !text.contains("drop_column"),
        "no drop, so no review needed: {text}"
    );
    assert!(
        !text.contains("rename?"),
        "no candidate left to ask about: {text}"
    );
}
