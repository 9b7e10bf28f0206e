//! Run with
//!
//! ```not_rust
//! cargo run --release -p cofferdam-bench --bin backfill -- --backend postgres --rows 1000000
//! cargo run --release -p cofferdam-bench --bin backfill -- --backend sqlite --rows 1000000
//! ```
//!
//! Backfills `--rows` rows (`w = v + k`) three ways in one run, on one
//! table: one `UPDATE` of every row (the floor: one statement, one lock held
//! to the end), a keyset loop written by hand in plain sqlx (the bound query,
//! then the `UPDATE` of the batch, each committed on its own), and
//! cofferdam's `m.backfill(..)` at the same batch size (which also commits a
//! progress record with each batch). The hand loop and the helper run
//! `--repeat` times each, alternating; the best time of each is reported.
//! Meanwhile a reader on its own connection and thread reads one row at a
//! time; the longest read during each variant is reported: how long the
//! application waited behind the backfill's locks.

#![forbid(unsafe_code)]

use clap::Parser;
use cofferdam::prelude::*;
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection, SqliteConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const BATCH: u64 = 1000;

/// Rows updated by each run of the helper: every run sets a new value.
static HELPER_VALUE: AtomicU64 = AtomicU64::new(0);

#[cofferdam::migration(set = "bench_backfill", transaction = false)]
async fn backfill_w(m: &mut Migration<'_>) -> Result<()> {
    let k = HELPER_VALUE.load(Ordering::Relaxed);
    m.backfill("t")
        .set(&format!("w = v + {k}"))
        .batch_size(BATCH)
        .run()
        .await?;
    Ok(())
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Backend {
    Postgres,
    Sqlite,
}

/// Backfill benchmark: one UPDATE, a hand keyset loop, cofferdam's helper.
#[derive(Debug, Parser)]
struct Args {
    #[arg(long, value_enum, default_value = "postgres")]
    backend: Backend,
    #[arg(long, default_value_t = 1_000_000)]
    rows: u64,
    #[arg(long, default_value_t = 2)]
    repeat: usize,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(&args))
}

/// A connection of either engine.
enum Conn {
    Pg(PgConnection),
    Lite(SqliteConnection),
}

impl Conn {
    async fn open(url: &str) -> Result<Conn, BoxError> {
        Ok(if url.starts_with("sqlite") {
            Conn::Lite(SqliteConnection::connect(url).await?)
        } else {
            Conn::Pg(PgConnection::connect(url).await?)
        })
    }

    async fn run(&mut self, sql: &str) -> Result<u64, BoxError> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(match self {
            Conn::Pg(c) => c.execute(sql).await?.rows_affected(),
            Conn::Lite(c) => c.execute(sql).await?.rows_affected(),
        })
    }

    async fn max_key(&mut self, sql: &str) -> Result<Option<i64>, BoxError> {
        let sql = AssertSqlSafe(sql.to_owned());
        Ok(match self {
            Conn::Pg(c) => sqlx::query_scalar(sql).fetch_one(c).await?,
            Conn::Lite(c) => sqlx::query_scalar(sql).fetch_one(c).await?,
        })
    }
}

async fn run(args: &Args) -> Result<(), BoxError> {
    let pid = std::process::id();
    let (url, cleanup): (String, Box<dyn FnOnce() -> Result<(), BoxError> + Send>) =
        match args.backend {
            Backend::Postgres => {
                let name = format!("bench_backfill_{pid}");
                let mut admin = PgConnection::connect(&args.pg_url).await?;
                admin
                    .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
                    .await?;
                admin.close().await?;
                let mut url = url::Url::parse(&args.pg_url)?;
                url.set_path(&name);
                let admin_url = args.pg_url.clone();
                (
                    url.to_string(),
                    Box::new(move || {
                        let runtime = tokio::runtime::Builder::new_current_thread()
                            .enable_all()
                            .build()?;
                        runtime.block_on(async {
                            let mut admin = PgConnection::connect(&admin_url).await?;
                            admin
                                .execute(AssertSqlSafe(format!(
                                    "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
                                )))
                                .await?;
                            Ok::<(), BoxError>(())
                        })
                    }),
                )
            }
            Backend::Sqlite => {
                let dir = std::env::temp_dir().join(format!("cofferdam-bench-backfill-{pid}"));
                std::fs::create_dir_all(&dir)?;
                let url = format!("sqlite://{}?mode=rwc", dir.join("bench.db").display());
                (url, Box::new(move || Ok(std::fs::remove_dir_all(&dir)?)))
            }
        };
    let result = measure(args, &url).await;
    // The helper's connection must be gone before the drop.
    tokio::task::spawn_blocking(cleanup).await??;
    result
}

async fn measure(args: &Args, url: &str) -> Result<(), BoxError> {
    let mut conn = Conn::open(url).await?;
    let rows = args.rows;
    conn.run(
        "CREATE TABLE t (id BIGINT PRIMARY KEY, v INTEGER NOT NULL, w INTEGER NOT NULL DEFAULT 0)",
    )
    .await?;
    match args.backend {
        Backend::Postgres => {
            conn.run(&format!(
                "INSERT INTO t (id, v) SELECT g, g % 1000 FROM generate_series(1, {rows}) g"
            ))
            .await?;
            conn.run("VACUUM ANALYZE t").await?;
        }
        Backend::Sqlite => {
            conn.run(&format!(
                "WITH RECURSIVE s(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM s WHERE i < {rows}) \
                 INSERT INTO t (id, v) SELECT i, i % 1000 FROM s"
            ))
            .await?;
        }
    }
    let reader = Reader::start(url.to_owned(), rows);
    let mut results: Vec<(&str, Duration, Duration)> = Vec::new();

    reader.reset();
    let started = Instant::now();
    conn.run("UPDATE t SET w = v + 1").await?;
    results.push(("one UPDATE (floor)", started.elapsed(), reader.reset()));

    let mut hand = Vec::new();
    let mut helper = Vec::new();
    for round in 0..args.repeat {
        let k = 10 + 2 * round as u64;
        reader.reset();
        let started = Instant::now();
        hand_loop(&mut conn, k).await?;
        hand.push((started.elapsed(), reader.reset()));

        HELPER_VALUE.store(k + 1, Ordering::Relaxed);
        let history = format!("bench_history_{round}");
        reader.reset();
        let started = Instant::now();
        cofferdam::Migrator::new("bench_backfill")
            .history_table(&history)
            .up(url)
            .await?;
        helper.push((started.elapsed(), reader.reset()));
    }
    reader.stop();
    let best = |runs: &[(Duration, Duration)]| {
        let time = runs.iter().map(|r| r.0).min().unwrap_or_default();
        let read = runs.iter().map(|r| r.1).max().unwrap_or_default();
        (time, read)
    };
    let (hand_time, hand_read) = best(&hand);
    let (helper_time, helper_read) = best(&helper);
    results.push(("hand keyset loop, sqlx", hand_time, hand_read));
    results.push(("m.backfill", helper_time, helper_read));

    println!(
        "{} rows, batches of {BATCH}, best of {} for the loops\n",
        rows, args.repeat
    );
    println!("| variant | time | rows/s | / hand loop | longest read meanwhile |");
    println!("|---|---|---|---|---|");
    for (name, time, read) in results {
        println!(
            "| {name} | {:.2} s | {:.0} | {:.2}x | {:.1} ms |",
            time.as_secs_f64(),
            rows as f64 / time.as_secs_f64(),
            time.as_secs_f64() / hand_time.as_secs_f64(),
            read.as_secs_f64() * 1000.0
        );
    }
    if let Conn::Pg(c) = conn {
        c.close().await?;
    }
    Ok(())
}

/// The backfill as a person writes it with sqlx: find the batch's last key,
/// update the batch, repeat; each statement commits on its own.
async fn hand_loop(conn: &mut Conn, k: u64) -> Result<(), BoxError> {
    let mut last: i64 = 0;
    loop {
        let bound = conn
            .max_key(&format!(
                "SELECT MAX(id) FROM (SELECT id FROM t WHERE id > {last} ORDER BY id LIMIT {BATCH}) b"
            ))
            .await?;
        let Some(up_to) = bound else { return Ok(()) };
        conn.run(&format!(
            "UPDATE t SET w = v + {k} WHERE id > {last} AND id <= {up_to}"
        ))
        .await?;
        last = up_to;
    }
}

/// Reads one row at a time on its own thread and connection, keeping the
/// longest read since the last reset.
struct Reader {
    stop: Arc<AtomicBool>,
    longest_micros: Arc<AtomicU64>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl Reader {
    fn start(url: String, rows: u64) -> Reader {
        let stop = Arc::new(AtomicBool::new(false));
        let longest_micros = Arc::new(AtomicU64::new(0));
        let (stop2, longest2) = (Arc::clone(&stop), Arc::clone(&longest_micros));
        let thread = std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let mut conn = Conn::open(&url).await.expect("the reader connects");
                let mut id = 1u64;
                while !stop2.load(Ordering::Relaxed) {
                    id = (id * 7919) % rows + 1;
                    let started = Instant::now();
                    let _ = conn.run(&format!("SELECT w FROM t WHERE id = {id}")).await;
                    let micros = u64::try_from(started.elapsed().as_micros()).unwrap_or(u64::MAX);
                    longest2.fetch_max(micros, Ordering::Relaxed);
                    tokio::time::sleep(Duration::from_millis(2)).await;
                }
            });
        });
        Reader {
            stop,
            longest_micros,
            thread: Some(thread),
        }
    }

    /// The longest read since the last reset.
    fn reset(&self) -> Duration {
        Duration::from_micros(self.longest_micros.swap(0, Ordering::Relaxed))
    }

    fn stop(mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}
