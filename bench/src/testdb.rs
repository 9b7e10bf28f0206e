//! `--test-db`: what one test pays for a PostgreSQL database at the head of
//! the example migrations (`example-migrations`), created and dropped:
//!
//! - **cofferdam, fresh**: `TestDatabase::new` (`CREATE DATABASE`), then
//!   `Migrator::up`, then the drop;
//! - **cofferdam, template**: `TestDatabase::migrated`, a `CREATE DATABASE
//!   ... TEMPLATE` of the template migrated once (before the clock starts),
//!   then the drop;
//! - **sqlx `#[sqlx::test]`**: what that attribute runs (`sqlx::testing`'s
//!   `run_test`: `CREATE DATABASE`, sqlx's `Migrator` on the same schema
//!   written as SQL, a no-op test, the drop), in a child process of this
//!   binary, because sqlx reads the server from `DATABASE_URL` and builds
//!   its own runtime.
//!
//! MySQL/MariaDB has no database copy, so its test databases are always
//! migrated per test; a last row times that (`COFFERDAM_TEST_MYSQL`), for
//! scale only: it is another server.
//!
//! Each round runs the three in a rotated order, `--per-round` tests each;
//! the result is the median per test and its ratio to sqlx's, per round and
//! overall. The server is `COFFERDAM_TEST_POSTGRES` (default: the local one).

use crate::BoxError;
use crate::report::median;
use cofferdam::Backend;
use cofferdam::testing::TestDatabase;
use std::borrow::Cow;
use std::time::{Duration, Instant};

/// The example migrations as sqlx migrations: the SQL cofferdam sends for them.
const SQLX_MIGRATIONS: [&str; 4] = [
    "CREATE TABLE articles (id bigint NOT NULL PRIMARY KEY, title varchar(200) NOT NULL, body text NOT NULL)",
    "ALTER TABLE articles ADD COLUMN slug varchar(200) NULL; \
     UPDATE articles SET slug = lower(replace(title, ' ', '-'))",
    "CREATE TABLE authors (id bigint NOT NULL PRIMARY KEY, name varchar(100) NOT NULL)",
    "ALTER TABLE articles ADD COLUMN author_id bigint NULL; \
     CREATE INDEX articles_author_id ON articles (author_id)",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Way {
    Fresh,
    Template,
    Sqlx,
}

impl Way {
    fn label(self) -> &'static str {
        match self {
            Way::Fresh => "cofferdam, fresh: CREATE DATABASE + apply",
            Way::Template => "cofferdam, template clone (`#[cofferdam::test]`)",
            Way::Sqlx => "sqlx `#[sqlx::test]`: CREATE DATABASE + sqlx Migrator",
        }
    }
}

/// Runs the comparison; answers the markdown table.
pub async fn run(rounds: usize, per_round: usize) -> Result<String, BoxError> {
    let migrator = example_migrations::migrator();
    // The template is built once per migration set: not per test, untimed.
    drop(
        TestDatabase::migrated(Backend::Postgres, &migrator)
            .await
            .ok_or("PostgreSQL is not reachable")?,
    );
    let ways = [Way::Fresh, Way::Template, Way::Sqlx];
    let mut samples: Vec<(Way, Vec<Duration>)> = ways.iter().map(|w| (*w, Vec::new())).collect();
    let mut per_round_ratios: Vec<(Way, Vec<f64>)> =
        ways.iter().map(|w| (*w, Vec::new())).collect();
    for round in 0..rounds {
        let mut order = ways.to_vec();
        order.rotate_left(round % ways.len());
        let mut medians = Vec::new();
        for way in order {
            let times = match way {
                Way::Sqlx => sqlx_in_child(per_round).await?,
                _ => cofferdam(way, &migrator, per_round).await?,
            };
            eprintln!("round {round}: {} median {:?}", way.label(), median(&times));
            medians.push((way, median(&times)));
            samples
                .iter_mut()
                .find(|(w, _)| *w == way)
                .expect("a way")
                .1
                .extend(times);
        }
        let sqlx = medians
            .iter()
            .find(|(w, _)| *w == Way::Sqlx)
            .expect("sqlx ran")
            .1;
        for (way, m) in medians {
            let ratios = &mut per_round_ratios
                .iter_mut()
                .find(|(w, _)| *w == way)
                .expect("a way")
                .1;
            ratios.push(m.as_secs_f64() / sqlx.as_secs_f64());
        }
    }
    let sqlx = median(
        &samples
            .iter()
            .find(|(w, _)| *w == Way::Sqlx)
            .expect("sqlx ran")
            .1,
    );
    let mut out = format!(
        "| a test database at head, created and dropped ({per_round} tests × {rounds} rounds) | median per test | × sqlx | per round |\n\
         |---|---:|---:|---|\n"
    );
    for ((way, times), (_, ratios)) in samples.iter().zip(&per_round_ratios) {
        let m = median(times);
        let rounds: Vec<String> = ratios.iter().map(|r| format!("{r:.2}")).collect();
        out += &format!(
            "| {} | {:.1} ms | {:.2} | {} |\n",
            way.label(),
            m.as_secs_f64() * 1e3,
            m.as_secs_f64() / sqlx.as_secs_f64(),
            rounds.join(", ")
        );
    }
    let mut mysql = Vec::new();
    for _ in 0..rounds * per_round {
        let start = Instant::now();
        let Some(db) = TestDatabase::new(Backend::MySql).await else {
            break;
        };
        migrator.up(db.url()).await?;
        drop(db);
        mysql.push(start.elapsed());
    }
    if !mysql.is_empty() {
        out += &format!(
            "| MySQL/MariaDB, cofferdam fresh: CREATE DATABASE + apply (another server) | {:.1} ms | — | — |\n",
            median(&mysql).as_secs_f64() * 1e3
        );
    }
    Ok(out)
}

async fn cofferdam(
    way: Way,
    migrator: &cofferdam::Migrator,
    tests: usize,
) -> Result<Vec<Duration>, BoxError> {
    let mut times = Vec::with_capacity(tests);
    for _ in 0..tests {
        let start = Instant::now();
        let db = if way == Way::Fresh {
            let db = TestDatabase::new(Backend::Postgres)
                .await
                .ok_or("PostgreSQL is not reachable")?;
            migrator.up(db.url()).await?;
            db
        } else {
            TestDatabase::migrated(Backend::Postgres, migrator)
                .await
                .ok_or("PostgreSQL is not reachable")?
        };
        drop(db);
        times.push(start.elapsed());
    }
    Ok(times)
}

/// Runs `tests` sqlx tests in a child process whose `DATABASE_URL` is a
/// scratch database (sqlx keeps its bookkeeping schema there), and reads
/// the time of each from its output.
async fn sqlx_in_child(tests: usize) -> Result<Vec<Duration>, BoxError> {
    let master = TestDatabase::new(Backend::Postgres)
        .await
        .ok_or("PostgreSQL is not reachable")?;
    let output = std::process::Command::new(std::env::current_exe()?)
        .args(["--sqlx-child", &tests.to_string()])
        .env("DATABASE_URL", master.url())
        .output()?;
    if !output.status.success() {
        return Err(format!(
            "the sqlx child failed: {}",
            String::from_utf8_lossy(&output.stderr)
        )
        .into());
    }
    String::from_utf8(output.stdout)?
        .lines()
        .map(|line| Ok(Duration::from_nanos(line.trim().parse()?)))
        .collect()
}

async fn no_op(_pool: sqlx::PgPool) {}

/// In the child: `tests` runs of what `#[sqlx::test(migrator = ...)]`
/// expands to, after one untimed run that opens sqlx's master pool; prints
/// each run's nanoseconds. Must not run inside a tokio runtime.
pub fn sqlx_child(tests: usize) -> Result<(), BoxError> {
    let migrations = SQLX_MIGRATIONS
        .iter()
        .enumerate()
        .map(|(i, sql)| {
            sqlx::migrate::Migration::new(
                i as i64 + 1,
                Cow::Owned(format!("m{i}")),
                sqlx::migrate::MigrationType::Simple,
                sqlx::SqlSafeStr::into_sql_str(sqlx::AssertSqlSafe(*sql)),
                false,
            )
        })
        .collect();
    let migrator: &'static sqlx::migrate::Migrator = Box::leak(Box::new(
        sqlx::migrate::Migrator::with_migrations(migrations),
    ));
    let one = || {
        let mut args = sqlx::testing::TestArgs::new("cofferdam_bench::testdb::no_op");
        args.migrator(migrator);
        let test: fn(sqlx::PgPool) -> _ = no_op;
        sqlx::testing::TestFn::run_test(test, args);
    };
    one();
    for _ in 0..tests {
        let start = Instant::now();
        one();
        println!("{}", start.elapsed().as_nanos());
    }
    Ok(())
}
