//! Run with
//!
//! ```not_rust
//! cargo run -p cofferdam-bench --bin autogenerate -- --backend sqlite --repeat 5
//! cargo run -p cofferdam-bench --bin autogenerate -- --backend postgres --repeat 5
//! ```
//!
//! Times autogenerate on a model of 200 tables (10 columns, 2 indexes and 1
//! foreign key each, written by `build.rs` as `#[derive(Model)]` structs):
//! the whole `migrate new --autogenerate` against empty migrations (shadow,
//! introspection, diff, verification on the shadow, code), and its phases
//! apart: building the shadow with the 200 tables, reading it back,
//! diffing it with the models, and writing the code. Medians of `--repeat`
//! rounds; the PostgreSQL shadow is a temporary database on `--pg-url`.

#![forbid(unsafe_code)]

use clap::Parser;
use cofferdam::Migrator;
use cofferdam::schema::{self, Schema, ShadowDatabase};
use std::time::{Duration, Instant};

/// The generated models (`set = "bench_models"`).
#[allow(missing_docs)]
mod models {
    /// The name the derive reads as `timestamp`; the bench needs no date library.
    pub struct NaiveDateTime;
    include!(concat!(env!("OUT_DIR"), "/models.rs"));
}

/// Autogenerate on a 200-table model.
#[derive(Debug, Parser)]
struct Args {
    /// `sqlite` or `postgres`.
    #[arg(long, default_value = "sqlite")]
    backend: String,
    /// Rounds; the median is reported.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// PostgreSQL server for the shadow databases.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

type BoxError = Box<dyn std::error::Error + Send + Sync>;

fn median(mut times: Vec<Duration>) -> Duration {
    times.sort();
    times[times.len() / 2]
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let url = match args.backend.as_str() {
        "postgres" => args.pg_url.clone(),
        _ => "sqlite://bench-unused.db?mode=rwc".to_owned(),
    };
    let _ = models::M0 {
        id: 0,
        parent_id: None,
        name: String::new(),
        email: None,
        score: 0.0,
        views: 0,
        active: true,
        body: None,
        created_at: models::NaiveDateTime,
        flag: 0,
    };
    let migrator = Migrator::new("bench_empty").models("bench_models");
    let target = migrator.model_schema();
    assert_eq!(
        target.tables.len(),
        200,
        "the 200 generated models are linked"
    );
    let backend = cofferdam::Backend::from_url(&url)?;
    let [mut whole, mut build, mut read, mut diffing, mut code] = [(); 5].map(|()| Vec::new());
    for _ in 0..args.repeat {
        let dir =
            std::env::temp_dir().join(format!("cofferdam-bench-autogen-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        std::fs::create_dir_all(&dir)?;
        std::fs::write(dir.join("lib.rs"), "")?;
        let command = cofferdam::cli::MigrateCommand::try_parse_from([
            "-q",
            "--database-url",
            &url,
            "new",
            "everything",
            "--autogenerate",
            "--dir",
            dir.to_str().unwrap_or_default(),
        ])?;
        // The phases first, each said as it ends (stderr), then the whole.
        let started = Instant::now();
        let shadow = ShadowDatabase::create(&url, None).await?;
        let create = schema::diff(&Schema::default(), &target, backend);
        apply(&shadow, &create, backend).await?;
        build.push(started.elapsed());
        eprintln!("shadow built in {:?}", started.elapsed());
        let started = Instant::now();
        let live = migrator.live_schema(shadow.url()).await;
        read.push(started.elapsed());
        eprintln!("read back in {:?}", started.elapsed());
        shadow.close().await?;
        let live = live?;
        assert_eq!(live.tables.len(), 200);
        let started = Instant::now();
        let left = schema::diff(&live, &target, backend);
        let all = schema::diff(&Schema::default(), &target, backend);
        diffing.push(started.elapsed());
        assert!(left.is_empty(), "{left:?}");
        let started = Instant::now();
        let text = render(&migrator, all, backend);
        code.push(started.elapsed());
        assert!(text.len() > 100_000);

        let started = Instant::now();
        let code_ = command.exit_code(migrator.clone()).await;
        whole.push(started.elapsed());
        assert_eq!(code_, 0, "migrate new --autogenerate succeeded");
        let _ = std::fs::remove_dir_all(&dir);
    }
    println!(
        "| {} | {:.2} s | {:.2} s | {:.2} s | {:.0} ms | {:.0} ms |",
        args.backend,
        median(whole).as_secs_f64(),
        median(build).as_secs_f64(),
        median(read).as_secs_f64(),
        median(diffing).as_secs_f64() * 1000.0,
        median(code).as_secs_f64() * 1000.0,
    );
    Ok(())
}

async fn apply(
    shadow: &ShadowDatabase,
    diff: &schema::Diff,
    backend: cofferdam::Backend,
) -> Result<(), BoxError> {
    // As one revision would: one transaction.
    let mut sql = String::from("BEGIN;\n");
    for change in &diff.changes {
        for statement in change.statements(backend) {
            sql.push_str(&statement);
            sql.push_str(";\n");
        }
    }
    sql.push_str("COMMIT");
    match backend {
        cofferdam::Backend::Postgres => {
            use sqlx::Connection;
            let mut conn = sqlx::PgConnection::connect(shadow.url()).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
        }
        _ => {
            use sqlx::Connection;
            let mut conn = sqlx::SqliteConnection::connect(shadow.url()).await?;
            sqlx::raw_sql(sqlx::AssertSqlSafe(sql))
                .execute(&mut conn)
                .await?;
            conn.close().await?;
        }
    }
    Ok(())
}

/// The code generation alone, from changes already found.
fn render(migrator: &Migrator, diff: schema::Diff, backend: cofferdam::Backend) -> String {
    let found = cofferdam::Autogenerated::new(backend, diff);
    cofferdam::cli::migration_source("everything", &[], &found, migrator.models_set())
}
