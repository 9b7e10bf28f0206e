//! Run with
//!
//! ```not_rust
//! cargo run --release -p cofferdam-bench --bin cofferdam-noop-bench -- --sizes 100,1000,5000
//! ```
//!
//! The no-op start-up (the database is at head, nothing to apply) at 100,
//! 1,000 and 5,000 applied revisions, on SQLite, PostgreSQL and MariaDB, for
//! cofferdam, sqlx's migrator and the raw floor (a bare `SELECT 1`), in one
//! run:
//!
//! - **in process**: each call on a fresh connection, interleaved, medians.
//!   sqlx and the floor take a connection, so the part after connecting is
//!   timed directly; cofferdam's `up` takes a URL, so its part after
//!   connecting is its whole call minus the floor's median connect + close,
//!   measured in the same loop;
//! - **whole process**: this binary started again as a child that connects,
//!   runs the one no-op and exits, timed from spawn to exit.
//!
//! Each size is its own migration set of trivial revisions (`build.rs`
//! writes them), so a binary that knows 100 revisions is compared with a
//! database holding 100. Databases are created per size and dropped at the end.

#![forbid(unsafe_code)]

/// The generated `#[cofferdam::migration(set = "noop_<size>")]` functions.
mod revisions {
    include!(concat!(env!("OUT_DIR"), "/noop.rs"));
}

use clap::Parser;
use sqlx::{
    AssertSqlSafe, Connection, MySqlConnection, PgConnection, SqlSafeStr, SqliteConnection,
};
use std::borrow::Cow;
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// The sizes `build.rs` generates sets for.
const SIZES: [usize; 3] = [100, 1000, 5000];

#[derive(Debug, Parser)]
struct Args {
    /// Applied revisions; each must be one of 100, 1000, 5000.
    #[arg(long, value_delimiter = ',', default_value = "100,1000,5000")]
    sizes: Vec<usize>,
    /// Engines to measure.
    #[arg(
        long,
        value_enum,
        value_delimiter = ',',
        default_value = "sqlite,postgres,mysql"
    )]
    backends: Vec<Engine>,
    /// In-process no-ops per tool and size.
    #[arg(long, default_value_t = 60)]
    samples: usize,
    /// Whole-process no-ops per tool and size.
    #[arg(long, default_value_t = 30)]
    processes: usize,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
    #[arg(long, default_value = "mysql://root@127.0.0.1:3306/test")]
    my_url: String,
    /// Internal: run one no-op as a child process.
    #[arg(long, value_enum, hide = true)]
    child: Option<Tool>,
    #[arg(long, hide = true)]
    url: Option<String>,
    #[arg(long, hide = true, default_value_t = 0)]
    size: usize,
    #[arg(long, value_enum, hide = true)]
    engine: Option<Engine>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Engine {
    Sqlite,
    Postgres,
    Mysql,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
enum Tool {
    Floor,
    Cofferdam,
    Sqlx,
}

const TOOLS: [Tool; 3] = [Tool::Floor, Tool::Cofferdam, Tool::Sqlx];

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    if let Some(tool) = args.child {
        let engine = args.engine.ok_or("--engine is required with --child")?;
        let url = args
            .url
            .as_deref()
            .ok_or("--url is required with --child")?;
        return runtime.block_on(async {
            // Only sqlx's child pays for building its migration list (its
            // `migrate!` macro would do it at compile time).
            let size = if tool == Tool::Sqlx { args.size } else { 0 };
            let sqlx = sqlx_migrator(size);
            noop(tool, engine, url, args.size, &sqlx).await.map(|_| ())
        });
    }
    for size in &args.sizes {
        if !SIZES.contains(size) {
            return Err(format!("--sizes: {size} is not one of {SIZES:?}").into());
        }
    }
    let mut rows = Vec::new();
    for &engine in &args.backends {
        for &size in &args.sizes {
            let row = runtime.block_on(measure(&args, engine, size))?;
            eprintln!("{row:?}");
            rows.push(row);
        }
    }
    println!("{}", table(&args, &rows));
    Ok(())
}

/// Medians of one engine and size.
#[derive(Debug)]
struct Row {
    engine: Engine,
    size: usize,
    floor_query: Duration,
    floor_connect: Duration,
    cofferdam_call: Duration,
    sqlx_after: Duration,
    process: [Duration; 3],
}

async fn measure(args: &Args, engine: Engine, size: usize) -> Result<Row, BoxError> {
    let mut dbs = Scratch::new(args, engine);
    let result = measure_on(args, engine, size, &mut dbs).await;
    dbs.drop_all().await;
    result
}

async fn measure_on(
    args: &Args,
    engine: Engine,
    size: usize,
    dbs: &mut Scratch,
) -> Result<Row, BoxError> {
    let sqlx = sqlx_migrator(size);
    let ours = dbs.create(&format!("c{size}")).await?;
    let theirs = dbs.create(&format!("s{size}")).await?;
    eprintln!("{engine:?} {size}: applying");
    let report = cofferdam_migrator(size).up(&ours).await?;
    if report.revisions.len() != size {
        return Err(format!("cofferdam applied {} of {size}", report.revisions.len()).into());
    }
    run_sqlx(engine, &theirs, &sqlx).await?;
    // The first no-op after applying refills caches (and cofferdam's
    // digest): untimed.
    for tool in TOOLS {
        noop(tool, engine, url_for(tool, &ours, &theirs), size, &sqlx).await?;
    }
    let mut samples: [Vec<(Duration, Duration)>; 3] = Default::default();
    for _ in 0..args.samples {
        for (i, tool) in TOOLS.into_iter().enumerate() {
            tokio::time::sleep(Duration::from_millis(2)).await;
            let url = url_for(tool, &ours, &theirs);
            samples[i].push(noop(tool, engine, url, size, &sqlx).await?);
        }
    }
    let mut process: [Vec<Duration>; 3] = Default::default();
    let exe = std::env::current_exe()?;
    for _ in 0..args.processes {
        for (i, tool) in TOOLS.into_iter().enumerate() {
            let url = url_for(tool, &ours, &theirs);
            let started = Instant::now();
            let status = tokio::process::Command::new(&exe)
                .args(["--child", tool_name(tool), "--engine", engine_name(engine)])
                .args(["--url", url, "--size", &size.to_string()])
                .status()
                .await?;
            let took = started.elapsed();
            if !status.success() {
                return Err(format!("the {tool:?} child failed: {status}").into());
            }
            process[i].push(took);
        }
    }
    let median_of = |values: Vec<Duration>| median(values);
    let [floor, coff, theirs_samples] = samples;
    Ok(Row {
        engine,
        size,
        floor_query: median_of(floor.iter().map(|s| s.1).collect()),
        floor_connect: median_of(floor.iter().map(|s| s.0).collect()),
        cofferdam_call: median_of(coff.iter().map(|s| s.0).collect()),
        sqlx_after: median_of(theirs_samples.iter().map(|s| s.1).collect()),
        process: process.map(median),
    })
}

fn url_for<'a>(tool: Tool, ours: &'a str, theirs: &'a str) -> &'a str {
    match tool {
        Tool::Sqlx => theirs,
        Tool::Floor | Tool::Cofferdam => ours,
    }
}

fn tool_name(tool: Tool) -> &'static str {
    match tool {
        Tool::Floor => "floor",
        Tool::Cofferdam => "cofferdam",
        Tool::Sqlx => "sqlx",
    }
}

fn engine_name(engine: Engine) -> &'static str {
    match engine {
        Engine::Sqlite => "sqlite",
        Engine::Postgres => "postgres",
        Engine::Mysql => "mysql",
    }
}

fn median(mut values: Vec<Duration>) -> Duration {
    values.sort_unstable();
    values.get(values.len() / 2).copied().unwrap_or_default()
}

fn cofferdam_migrator(size: usize) -> cofferdam::Migrator {
    cofferdam::Migrator::new(revisions::set_name(size))
}

/// sqlx's migrator for `size` revisions. Its `migrate!` macro computes the
/// checksums at compile time; here the one script's checksum is computed
/// once and shared, so the child does not pay 5,000 SHA-384s sqlx would not.
fn sqlx_migrator(size: usize) -> sqlx::migrate::Migrator {
    let checksum = sqlx::migrate::Migration::new(
        1,
        Cow::Borrowed("noop"),
        sqlx::migrate::MigrationType::Simple,
        AssertSqlSafe("SELECT 1").into_sql_str(),
        false,
    )
    .checksum;
    sqlx::migrate::Migrator::with_migrations(
        (0..size)
            .map(|i| sqlx::migrate::Migration {
                version: i as i64 + 1,
                description: Cow::Owned(format!("noop_{i:04}")),
                migration_type: sqlx::migrate::MigrationType::Simple,
                sql: AssertSqlSafe("SELECT 1").into_sql_str(),
                checksum: checksum.clone(),
                no_tx: false,
            })
            .collect(),
    )
}

/// One no-op: (connect, the rest). For cofferdam, whose call includes the
/// connection, (the whole call, zero).
async fn noop(
    tool: Tool,
    engine: Engine,
    url: &str,
    size: usize,
    sqlx: &sqlx::migrate::Migrator,
) -> Result<(Duration, Duration), BoxError> {
    if tool == Tool::Cofferdam {
        let started = Instant::now();
        let report = cofferdam_migrator(size).up(url).await?;
        if !report.revisions.is_empty() {
            return Err("cofferdam applied revisions on a database at head".into());
        }
        return Ok((started.elapsed(), Duration::ZERO));
    }
    macro_rules! timed {
        ($conn:ty) => {{
            let started = Instant::now();
            let mut conn = <$conn>::connect(url).await?;
            let at = Instant::now();
            match tool {
                Tool::Floor => {
                    sqlx::raw_sql("SELECT 1").fetch_all(&mut conn).await?;
                }
                _ => sqlx.run(&mut conn).await?,
            }
            let after = at.elapsed();
            conn.close().await?;
            Ok((started.elapsed() - after, after))
        }};
    }
    match engine {
        Engine::Sqlite => timed!(SqliteConnection),
        Engine::Postgres => timed!(PgConnection),
        Engine::Mysql => timed!(MySqlConnection),
    }
}

async fn run_sqlx(
    engine: Engine,
    url: &str,
    sqlx: &sqlx::migrate::Migrator,
) -> Result<(), BoxError> {
    match engine {
        Engine::Sqlite => sqlx.run(&mut SqliteConnection::connect(url).await?).await?,
        Engine::Postgres => sqlx.run(&mut PgConnection::connect(url).await?).await?,
        Engine::Mysql => sqlx.run(&mut MySqlConnection::connect(url).await?).await?,
    }
    Ok(())
}

/// Databases of one engine and size, dropped at the end.
struct Scratch {
    engine: Engine,
    server: String,
    dir: std::path::PathBuf,
    names: Vec<String>,
}

impl Scratch {
    fn new(args: &Args, engine: Engine) -> Scratch {
        Scratch {
            engine,
            server: match engine {
                Engine::Postgres => args.pg_url.clone(),
                Engine::Mysql => args.my_url.clone(),
                Engine::Sqlite => String::new(),
            },
            dir: std::env::temp_dir().join(format!("cofferdam-noop-{}", std::process::id())),
            names: Vec::new(),
        }
    }

    async fn create(&mut self, label: &str) -> Result<String, BoxError> {
        let name = format!("bench_noop_{label}_{}", std::process::id());
        let url = match self.engine {
            Engine::Sqlite => {
                let dir = self.dir.join(&name);
                std::fs::create_dir_all(&dir)?;
                format!("sqlite://{}?mode=rwc", dir.join("db.sqlite").display())
            }
            Engine::Postgres | Engine::Mysql => {
                self.admin(&format!("CREATE DATABASE {name}")).await?;
                let mut url = url::Url::parse(&self.server)?;
                url.set_path(&name);
                url.to_string()
            }
        };
        self.names.push(name);
        Ok(url)
    }

    async fn admin(&self, sql: &str) -> Result<(), BoxError> {
        let sql = AssertSqlSafe(sql.to_owned());
        match self.engine {
            Engine::Postgres => {
                let mut conn = PgConnection::connect(&self.server).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
            }
            Engine::Mysql => {
                let mut conn = MySqlConnection::connect(&self.server).await?;
                sqlx::raw_sql(sql).execute(&mut conn).await?;
            }
            Engine::Sqlite => {}
        }
        Ok(())
    }

    async fn drop_all(&mut self) {
        for name in std::mem::take(&mut self.names) {
            let sql = match self.engine {
                Engine::Postgres => format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"),
                _ => format!("DROP DATABASE IF EXISTS {name}"),
            };
            if let Err(error) = self.admin(&sql).await {
                eprintln!("warning: could not drop {name}: {error}");
            }
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn ms(d: Duration) -> String {
    format!("{:.2}", d.as_secs_f64() * 1000.0)
}

fn table(args: &Args, rows: &[Row]) -> String {
    let mut out = format!(
        "`cargo run --release -p cofferdam-bench --bin cofferdam-noop-bench -- {}`: medians of {} in-process and {} whole-process no-ops per cell.\n\n\
         | engine | applied | floor `SELECT 1` | sqlx after connecting | cofferdam after connecting | cofferdam ÷ sqlx | process: floor | process: sqlx | process: cofferdam | cofferdam ÷ floor |\n\
         |---|---|---|---|---|---|---|---|---|---|\n",
        std::env::args().skip(1).collect::<Vec<_>>().join(" "),
        args.samples,
        args.processes
    );
    for row in rows {
        let ours = row.cofferdam_call.saturating_sub(row.floor_connect);
        let [floor, coff, sqlx] = row.process;
        out += &format!(
            "| {} | {} | {} ms | {} ms | {} ms | {:.2} | {} ms | {} ms | {} ms | {:.2} |\n",
            engine_name(row.engine),
            row.size,
            ms(row.floor_query),
            ms(row.sqlx_after),
            ms(ours),
            ours.as_secs_f64() / row.sqlx_after.as_secs_f64().max(1e-9),
            ms(floor),
            ms(sqlx),
            ms(coff),
            coff.as_secs_f64() / floor.as_secs_f64().max(1e-9),
        );
    }
    out
}
