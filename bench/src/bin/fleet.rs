//! Run with
//!
//! ```not_rust
//! cargo build --release -p example-app
//! cargo run --release -p cofferdam-bench --bin cofferdam-fleet-bench -- \
//!     --tenants 1000 --loop-sample 200 --concurrency 1,4,16 --budget 32
//! ```
//!
//! A fleet of PostgreSQL schemas migrated with the example application's
//! migrations, in one run:
//!
//! - **loop**: what users do today, a shell-style loop that starts the
//!   example app's `migrate up` once per schema (`options[search_path]` in
//!   its URL), one after the other; on `--loop-sample` schemas when that is
//!   fewer than `--tenants`, its per-tenant time then scaled;
//! - **fleet**: `cofferdam::fleet::Fleet::up` over every schema, at each
//!   `--concurrency`, with `--budget` connections per server.
//!
//! Each variant gets its own schemas (`<variant>_0001`...) in one database
//! created for the run and dropped at the end. While each variant runs, a
//! sampler counts the server's connections that carry the run's
//! `application_name`, as often as it can: the peak is what it saw.

#![forbid(unsafe_code)]

use clap::Parser;
use cofferdam::fleet::{self, Fleet};
use sqlx::{AssertSqlSafe, Connection, Executor, PgConnection};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

const APP_NAME: &str = "cfdm_fleet_bench";

#[derive(Debug, Parser)]
struct Args {
    /// Schemas per variant.
    #[arg(long, default_value_t = 1000)]
    tenants: usize,
    /// How many schemas the process loop migrates (its time per tenant is
    /// scaled to --tenants).
    #[arg(long, default_value_t = 200)]
    loop_sample: usize,
    /// Fleet concurrencies to measure.
    #[arg(long, value_delimiter = ',', default_value = "1,4,16")]
    concurrency: Vec<usize>,
    /// Connections per server the fleet may hold.
    #[arg(long, default_value_t = 32)]
    budget: usize,
    /// The example app's binary (build it in release first).
    #[arg(long)]
    app: Option<std::path::PathBuf>,
    #[arg(long, default_value = "postgres://postgres@127.0.0.1:5432/postgres")]
    pg_url: String,
}

/// One measured variant.
struct Row {
    label: String,
    tenants: usize,
    total: Duration,
    peak: i64,
}

fn main() -> Result<(), BoxError> {
    let args = Args::parse();
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()?;
    runtime.block_on(run(args))
}

async fn run(args: Args) -> Result<(), BoxError> {
    let app = args.app.clone().unwrap_or_else(default_app);
    if !app.exists() {
        return Err(format!(
            "{} not found: run `cargo build --release -p example-app` first, or pass --app",
            app.display()
        )
        .into());
    }
    let name = format!("cfdm_fleet_bench_{}", std::process::id());
    let mut admin = PgConnection::connect(&args.pg_url).await?;
    admin
        .execute(AssertSqlSafe(format!("CREATE DATABASE {name}")))
        .await?;
    let mut db_url = url::Url::parse(&args.pg_url)?;
    db_url.set_path(&format!("/{name}"));
    db_url
        .query_pairs_mut()
        .append_pair("application_name", APP_NAME);
    let db_url = db_url.to_string();
    let result = measure(&args, &app, &db_url, &name).await;
    admin
        .execute(AssertSqlSafe(format!(
            "DROP DATABASE IF EXISTS {name} WITH (FORCE)"
        )))
        .await?;
    let rows = result?;
    println!("{}", table(&rows, args.tenants, args.budget));
    Ok(())
}

fn default_app() -> std::path::PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR").unwrap_or_else(|| "target".into());
    std::path::Path::new(&target).join("release/example-app")
}

async fn measure(
    args: &Args,
    app: &std::path::Path,
    db_url: &str,
    db_name: &str,
) -> Result<Vec<Row>, BoxError> {
    let mut rows = Vec::new();
    let sample = args.loop_sample.min(args.tenants);
    create_schemas(db_url, "loop", sample).await?;
    let targets = fleet::schemas(db_url, "loop\\_%").await?;
    let sampler = Sampler::start(db_url, db_name).await?;
    let started = Instant::now();
    for target in &targets {
        let status = tokio::process::Command::new(app)
            .args(["migrate", "--database-url", &target.url, "-q", "up"])
            .env_remove("DATABASE_URL")
            .status()
            .await?;
        if !status.success() {
            return Err(format!("`migrate up` failed on {}: {status}", target.name).into());
        }
    }
    let total = started.elapsed();
    rows.push(Row {
        label: "process loop (`example-app migrate up` per schema)".to_owned(),
        tenants: targets.len(),
        total,
        peak: sampler.stop().await?,
    });
    eprintln!("loop: {} schemas in {total:?}", targets.len());

    for &concurrency in &args.concurrency {
        let prefix = format!("c{concurrency}");
        create_schemas(db_url, &prefix, args.tenants).await?;
        let targets = fleet::schemas(db_url, &format!("{prefix}\\_%")).await?;
        let sampler = Sampler::start(db_url, db_name).await?;
        let report = Fleet::new(example_migrations::migrator())
            .concurrency(concurrency)
            .max_connections_per_server(args.budget)
            .up(targets, &cofferdam::Up::new())
            .await?;
        let peak = sampler.stop().await?;
        let counts = report.counts();
        if counts.applied != args.tenants {
            return Err(format!("fleet at {concurrency}: {counts:?}").into());
        }
        eprintln!("fleet at {concurrency}: {:?}", report.elapsed);
        rows.push(Row {
            label: format!("fleet, concurrency {concurrency}"),
            tenants: args.tenants,
            total: report.elapsed,
            peak,
        });
    }
    Ok(rows)
}

/// `count` empty schemas `<prefix>_0001`..., in one statement.
async fn create_schemas(url: &str, prefix: &str, count: usize) -> Result<(), BoxError> {
    let mut conn = PgConnection::connect(url).await?;
    conn.execute(AssertSqlSafe(format!(
        "DO $$ BEGIN FOR i IN 1..{count} LOOP \
           EXECUTE format('CREATE SCHEMA {prefix}_%s', lpad(i::text, 4, '0')); \
         END LOOP; END $$"
    )))
    .await?;
    conn.close().await?;
    Ok(())
}

/// Counts the server's connections to the bench database that carry the
/// run's `application_name`, until stopped; its own connection carries
/// another name.
struct Sampler {
    stop: Arc<AtomicBool>,
    task: tokio::task::JoinHandle<Result<i64, sqlx::Error>>,
}

impl Sampler {
    async fn start(url: &str, db_name: &str) -> Result<Sampler, BoxError> {
        let own = url.replace(
            &format!("application_name={APP_NAME}"),
            "application_name=cfdm_fleet_sampler",
        );
        let mut conn = PgConnection::connect(&own).await?;
        let stop = Arc::new(AtomicBool::new(false));
        let flag = stop.clone();
        let sql = format!(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = '{db_name}' AND application_name = '{APP_NAME}'"
        );
        let task = tokio::spawn(async move {
            let mut peak = 0;
            while !flag.load(Ordering::Relaxed) {
                let (count,): (i64,) = sqlx::query_as(AssertSqlSafe(sql.clone()))
                    .fetch_one(&mut conn)
                    .await?;
                peak = peak.max(count);
                tokio::time::sleep(Duration::from_millis(2)).await;
            }
            Ok(peak)
        });
        Ok(Sampler { stop, task })
    }

    async fn stop(self) -> Result<i64, BoxError> {
        self.stop.store(true, Ordering::Relaxed);
        Ok(self.task.await??)
    }
}

fn table(rows: &[Row], tenants: usize, budget: usize) -> String {
    let per = |row: &Row| row.total.as_secs_f64() * 1000.0 / row.tenants.max(1) as f64;
    let baseline = rows.first().map(per).unwrap_or(1.0);
    let mut out = format!(
        "{tenants} PostgreSQL schemas, example migrations (4 revisions), budget {budget} connections\n\n\
         | variant | schemas run | total | per tenant | total for {tenants} (loop: scaled) | vs loop | peak connections |\n\
         |---|---:|---:|---:|---:|---:|---:|\n"
    );
    for row in rows {
        let per_tenant = per(row);
        out.push_str(&format!(
            "| {} | {} | {:.2} s | {per_tenant:.2} ms | {:.1} s | {:.1}x | {} |\n",
            row.label,
            row.tenants,
            row.total.as_secs_f64(),
            per_tenant * tenants as f64 / 1000.0,
            baseline / per_tenant,
            row.peak
        ));
    }
    out
}
