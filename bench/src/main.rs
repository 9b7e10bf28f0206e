//! Run with
//!
//! ```not_rust
//! cargo run --release -p cofferdam-bench -- --backend postgres --revisions 1000 --repeat 5
//! cargo run --release -p cofferdam-bench -- --backend sqlite --revisions 1000 --repeat 5
//! cargo run --release -p cofferdam-bench -- --backend postgres --count
//! cargo run --release -p cofferdam-bench -- --test-db --repeat 5
//! ```
//!
//! Applies the same generated revisions (revision i: `CREATE TABLE t_i (...)`
//! and `CREATE INDEX t_i_name ON t_i (name)`) to an empty database with
//! cofferdam, with plain sqlx (the raw floor: one transaction per revision and
//! nothing else), with sqlx's migrator and with refinery; then times the no-op
//! start-up of each against its database, now at head, beside a bare `SELECT 1`
//! on a fresh connection. PostgreSQL databases are created on `--pg-url`'s
//! server and dropped at the end; SQLite files live in the temp directory.
//!
//! Every variant gets a fresh database per round, and each timed apply starts
//! from the same state (`sync`, and a `CHECKPOINT` on PostgreSQL). Rounds
//! rotate the order of the variants; the no-op start-ups run in a new random
//! order each time. Ratios to the raw floor measured in the same run are the
//! result; absolute times vary with the machine.
//!
//! `--count` times nothing: it sends each variant through a relay that counts
//! round trips, and reads the server's count of commits (PostgreSQL only).
//!
//! `--test-db` measures something else: the per-test cost of a PostgreSQL
//! test database at head, cofferdam's against `#[sqlx::test]`'s (see
//! `testdb.rs`).
//!
//! The 1,000 cofferdam revisions are real `#[migration]` functions written by
//! `build.rs`; `--revisions N` applies the first N of them (`up_to`).

#![forbid(unsafe_code)]

mod count;
mod proxy;
mod report;
mod sql;
mod target;
mod testdb;
mod variants;

/// The generated `#[cofferdam::migration(set = "bench")]` functions.
mod revisions {
    include!(concat!(env!("OUT_DIR"), "/generated.rs"));
}

use clap::Parser;
use sqlx::{Connection, PgConnection, SqliteConnection};
use std::collections::HashMap;
use std::time::Duration;
use target::{Backend, Database, Databases};
use variants::{Applied, Prepared, Startup, Variant};

/// Any error of a bench step; the bench only reports it.
pub type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// Benchmark of applying revisions, cofferdam against its peers.
#[derive(Debug, Parser)]
struct Args {
    /// Which database to measure.
    #[arg(long, value_enum, default_value = "postgres")]
    backend: Backend,
    /// How many of the generated revisions to apply.
    #[arg(long, default_value_t = sql::REVISIONS)]
    revisions: usize,
    /// Rounds; each applies every variant to a fresh database.
    #[arg(long, default_value_t = 5)]
    repeat: usize,
    /// No-op start-ups per variant and round.
    #[arg(long, default_value_t = 100)]
    startups: usize,
    /// Variants to run (the raw floor always runs: it is the baseline).
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "raw,cofferdam,sqlx,refinery"
    )]
    variants: Vec<Variant>,
    /// PostgreSQL server; databases are created and dropped on it.
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    /// Count round trips and commits on PostgreSQL through a relay instead of timing.
    #[arg(long)]
    count: bool,
    /// PostgreSQL: create the databases with `synchronous_commit = off`, so
    /// that commits do not wait for the disk. On a machine whose disk is shared
    /// and busy this takes flush latency, the noisiest part, out of the
    /// comparison and leaves round trips and server work.
    #[arg(long)]
    no_sync_commit: bool,
    /// Time a test database at head per test instead (see `testdb.rs`):
    /// `--repeat` rounds of `--per-round` tests per way.
    #[arg(long)]
    test_db: bool,
    /// Tests per way and round, with `--test-db`.
    #[arg(long, default_value_t = 20)]
    per_round: usize,
    /// Internal: the child process of `--test-db` that runs sqlx's tests.
    #[arg(long, hide = true)]
    sqlx_child: Option<usize>,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    if let Some(tests) = args.sqlx_child {
        return testdb::sqlx_child(tests);
    }
    if args.revisions == 0 || args.revisions > sql::REVISIONS {
        return Err(format!("--revisions must be 1..={}", sql::REVISIONS).into());
    }
    if args.count && args.backend != Backend::Postgres {
        return Err("--count counts PostgreSQL round trips; use --backend postgres".into());
    }
    let mut variants = vec![Variant::Raw];
    for variant in &args.variants {
        if !variants.contains(variant) {
            variants.push(*variant);
        }
    }
    // One thread: the client side of every variant runs the same way, and
    // sqlx-sqlite keeps its own worker thread per connection regardless.
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if args.test_db {
        let table = runtime.block_on(testdb::run(args.repeat, args.per_round))?;
        let command: Vec<String> = std::env::args().skip(1).collect();
        println!(
            "### PostgreSQL: a test database per test\n\n`cargo run --release -p cofferdam-bench -- {}`\n\n{table}",
            command.join(" ")
        );
        return Ok(());
    }
    runtime.block_on(run(&args, &variants))
}

async fn run(args: &Args, variants: &[Variant]) -> Result<(), BoxError> {
    let prepared = Prepared::new(args.revisions)?;
    let mut databases = Databases::new(args.backend, &args.pg_url, args.no_sync_commit)?;
    let result = if args.count {
        count::run(&mut databases, variants, &prepared)
            .await
            .map(|counted| report::count_table(args.revisions, &counted))
    } else {
        measure(args, variants, &prepared, &mut databases).await
    };
    let dropped = databases.drop_all().await;
    let table = result?;
    dropped?;
    println!("{}", header(args));
    println!("{table}");
    Ok(())
}

async fn measure(
    args: &Args,
    variants: &[Variant],
    prepared: &Prepared,
    databases: &mut Databases,
) -> Result<String, BoxError> {
    let backend = args.backend;
    let mut applied: HashMap<Variant, Vec<Applied>> = HashMap::new();
    let mut started: HashMap<Variant, Vec<Startup>> = HashMap::new();
    let mut seed = 0x9E37_79B9_7F4A_7C15_u64 ^ u64::from(std::process::id());
    // The first apply of a process ran at half speed on PostgreSQL here:
    // warm up, untimed.
    let warm_up = databases.create("warm_up").await?;
    databases.settle().await?;
    variants::apply(Variant::Raw, backend, &warm_up, prepared).await?;
    for round in 0..args.repeat {
        let mut order = variants.to_vec();
        order.rotate_left(round % variants.len());
        let mut at_head: HashMap<Variant, Database> = HashMap::new();
        for &variant in &order {
            let db = databases
                .create(&format!("{}_{round}", variant.label()))
                .await?;
            databases.settle().await?;
            let took = variants::apply(variant, backend, &db, prepared).await?;
            verify(backend, &db, args.revisions).await?;
            eprintln!(
                "round {round}: {} applied in {:?} (CPU {:?})",
                variant.label(),
                took.wall,
                took.cpu
            );
            applied.entry(variant).or_default().push(took);
            at_head.insert(variant, db);
        }
        let mut probes = variants.to_vec();
        for _ in 0..args.startups {
            // A fresh random order each time, and a pause before each probe so
            // that the previous server process has exited: no probe always
            // follows the same neighbour or competes with its teardown.
            shuffle(&mut probes, &mut seed);
            for variant in &probes {
                tokio::time::sleep(Duration::from_millis(5)).await;
                let sample =
                    variants::startup(*variant, backend, &at_head[variant], prepared).await?;
                started.entry(*variant).or_default().push(sample);
            }
        }
        eprintln!("round {round}: {} no-op start-ups each", args.startups);
    }
    let apply_rows: Vec<_> = variants
        .iter()
        .map(|v| (*v, applied.remove(v).unwrap_or_default()))
        .collect();
    let startup_rows: Vec<_> = variants
        .iter()
        .map(|v| (*v, started.remove(v).unwrap_or_default()))
        .collect();
    let mut tables = report::apply_table(args.revisions, &apply_rows);
    if args.startups > 0 {
        tables += "\n";
        tables += &report::startup_table(&startup_rows);
    }
    Ok(tables)
}

/// Fisher-Yates with xorshift64: enough randomness to vary an order.
fn shuffle<T>(items: &mut [T], seed: &mut u64) {
    for i in (1..items.len()).rev() {
        *seed ^= *seed << 13;
        *seed ^= *seed >> 7;
        *seed ^= *seed << 17;
        let j = usize::try_from(*seed % (i as u64 + 1)).expect("j <= i fits in usize");
        items.swap(i, j);
    }
}

/// Every variant must have done the same work: n tables and n indexes.
async fn verify(backend: Backend, db: &Database, revisions: usize) -> Result<(), BoxError> {
    let (tables, indexes): (i64, i64) = match backend {
        Backend::Postgres => {
            let mut conn = PgConnection::connect(&db.url).await?;
            let counts = sqlx::query_as(
                "SELECT \
                 (SELECT count(*) FROM pg_tables WHERE schemaname = 'public' AND tablename ~ '^t_[0-9]+$'), \
                 (SELECT count(*) FROM pg_indexes WHERE schemaname = 'public' AND indexname ~ '^t_[0-9]+_name$')",
            )
            .fetch_one(&mut conn)
            .await?;
            conn.close().await?;
            counts
        }
        Backend::Sqlite => {
            let mut conn =
                SqliteConnection::connect_with(&variants::sqlite_options(&db.url)?).await?;
            let counts = sqlx::query_as(
                "SELECT \
                 (SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name GLOB 't_[0-9]*' AND name NOT GLOB '*_name'), \
                 (SELECT count(*) FROM sqlite_master WHERE type = 'index' AND name GLOB 't_[0-9]*_name')",
            )
            .fetch_one(&mut conn)
            .await?;
            conn.close().await?;
            counts
        }
    };
    let expected = i64::try_from(revisions)?;
    if (tables, indexes) != (expected, expected) {
        return Err(format!(
            "{}: expected {revisions} tables and indexes, found {tables} and {indexes}",
            db.name
        )
        .into());
    }
    Ok(())
}

fn header(args: &Args) -> String {
    let cores = std::thread::available_parallelism().map_or(0, |n| n.get());
    let date = std::process::Command::new("date")
        .args(["-u", "+%Y-%m-%d"])
        .output()
        .ok()
        .and_then(|out| String::from_utf8(out.stdout).ok())
        .unwrap_or_default();
    let command: Vec<String> = std::env::args().skip(1).collect();
    let what = if args.count {
        "counted".to_owned()
    } else {
        format!("{} rounds", args.repeat)
    };
    format!(
        "### {}: {} revisions, {what}\n\n\
         `cargo run --release -p cofferdam-bench -- {}` on {}, {cores} cores.\n",
        args.backend.name(),
        args.revisions,
        command.join(" "),
        date.trim(),
    )
}
