//! The `serve` command: the example HTTP API, served through the drain layer.
//!
//! ```not_rust
//! cargo run -p example-app -- serve --listen 127.0.0.1:3000 --drain-delay 10s --drain-timeout 15s
//! ```
//!
//! On `SIGTERM` the server keeps answering for the drain delay (readiness
//! fails, HTTP/1 responses carry `Connection: close`), then stops accepting
//! and waits for requests in flight up to the drain timeout. A second signal
//! forces the exit. See the README, "Serving and draining", for the numbers a
//! deployment must agree on.

use std::convert::Infallible;
use std::io::{IsTerminal, Write};
use std::process::ExitCode;
use std::time::Duration;

use axum::Router;
use axum::http::header::CONTENT_TYPE;
use axum::http::{StatusCode, Uri};
use axum::response::sse::{Event, KeepAlive, Sse};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use cofferdam::drain::{Drain, DrainConfig, DrainOutcome, Signal};
use futures::Stream;

/// Options of `example-app serve`.
#[derive(Debug, clap::Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:3000")]
    pub listen: std::net::SocketAddr,

    /// How long to keep serving after SIGTERM before the listener closes.
    /// Must be longer than the load balancer takes to stop routing here.
    #[arg(long, default_value = "5s", value_parser = parse_duration)]
    pub drain_delay: Duration,

    /// How long, after the delay, requests in flight may take to finish.
    #[arg(long, default_value = "20s", value_parser = parse_duration)]
    pub drain_timeout: Duration,

    /// The orchestrator's grace period (Kubernetes
    /// `terminationGracePeriodSeconds`); a warning is logged when the delay
    /// plus the timeout do not fit in it.
    #[arg(long, default_value = "30s", value_parser = parse_duration)]
    pub grace_period: Duration,

    /// While draining, answer new requests `503` with `Retry-After` instead
    /// of serving them. Only for load balancers that retry 503.
    #[arg(long)]
    pub reject_new: bool,

    /// Apply pending migrations before serving. A signal during them lets
    /// the current revision finish or roll back and starts no new one.
    #[arg(long)]
    pub migrate: bool,

    /// Database for `/articles` and `--migrate`; found as `migrate` finds it:
    /// this flag, else DATABASE_URL, else DATABASE_URL in ./.env, else
    /// sqlite://example-app.db?mode=rwc. An empty value is a usage error.
    #[arg(long)]
    pub database_url: Option<String>,
}

/// Runs the server until it is shut down.
pub async fn run(args: ServeArgs) -> ExitCode {
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init();

    let drain = Drain::new(
        DrainConfig::new()
            .drain_delay(args.drain_delay)
            .drain_timeout(args.drain_timeout)
            .grace_period(args.grace_period)
            .reject_new(args.reject_new),
    );
    // Installed first, so a SIGTERM during start-up migrations is honoured.
    let signals = match drain.install_signal_handlers() {
        Ok(signals) => signals,
        Err(error) => {
            eprintln!("error: cannot install signal handlers: {error}");
            return ExitCode::FAILURE;
        }
    };
    let forced_exit = || exit_for(signals.forced_by());
    // The same resolution as `migrate`, so that `serve` never migrates or
    // serves another database than `migrate` would.
    let database_url = match cofferdam::cli::database_url::resolve(args.database_url.clone()) {
        Ok(resolved) => {
            if let Some(note) = resolved.note() {
                eprintln!("note: {note}");
            }
            resolved.url
        }
        Err(message) => {
            eprintln!("error: {message}");
            return ExitCode::from(cofferdam::cli::exit::USAGE);
        }
    };

    if args.migrate {
        let migrator = example_migrations::migrator().stop_on(drain.shutdown_token());
        let migrate = migrator.up(&database_url);
        let outcome = tokio::select! {
            outcome = migrate => outcome,
            // A second signal (or the drain deadline): stop waiting. Dropping
            // the run drops its connection, so the open transaction rolls
            // back.
            () = drain.deadline_token().cancelled_owned() => return forced_exit(),
        };
        match outcome {
            Ok(report) => println!("migrations: applied {} revision(s)", report.revisions.len()),
            Err(error @ cofferdam::Error::Interrupted { .. }) => {
                println!("migrations stopped: {error}; not serving");
                return ExitCode::SUCCESS;
            }
            Err(error) => {
                eprintln!("error: {}", cofferdam::report(&error));
                return ExitCode::FAILURE;
            }
        }
    }

    let listener = match tokio::net::TcpListener::bind(args.listen).await {
        Ok(listener) => listener,
        Err(error) => {
            eprintln!("error: cannot listen on {}: {error}", args.listen);
            return ExitCode::FAILURE;
        }
    };
    let addr = listener.local_addr().unwrap_or(args.listen);
    let db = match Db::lazy(&database_url) {
        Ok(db) => db,
        Err(error) => {
            eprintln!("error: bad database URL: {error}");
            return ExitCode::FAILURE;
        }
    };
    say(&format!("listening on {addr}"));

    let server =
        axum::serve(listener, app(&drain, db)).with_graceful_shutdown(drain.shutdown_signal());
    tokio::select! {
        // Every connection has closed: HTTP/2 ones once the streams sent
        // before their GOAWAY are answered, which can be after the drain
        // found nothing in flight.
        served = server => if let Err(error) = served {
            eprintln!("error: server failed: {error}");
            return ExitCode::FAILURE;
        },
        // The drain timeout passed (or a second signal): a client stalled
        // mid-request must not keep the process any longer.
        () = drain.deadline_token().cancelled_owned() => {}
    }
    // With the connections gone nothing is in flight, so the clock closes the
    // drain at once; bounded all the same.
    let _ = tokio::time::timeout(args.drain_timeout + Duration::from_secs(1), drain.closed()).await;
    // Streaming bodies ended at the deadline unwind within moments.
    let _ = drain.wait_drained(Duration::from_millis(500)).await;
    let stats = drain.stats();
    say(&format!(
        "drain finished: outcome={} in_flight={} rejected={} force_closed={} duration_ms={}",
        match stats.outcome {
            Some(DrainOutcome::Drained) => "drained",
            Some(DrainOutcome::TimedOut { .. }) => "timed-out",
            Some(DrainOutcome::Forced { .. }) => "forced",
            _ => "none",
        },
        stats.in_flight,
        stats.rejected,
        stats.force_closed,
        stats.drain_duration.unwrap_or_default().as_millis()
    ));
    match stats.outcome {
        Some(DrainOutcome::Forced { .. }) => forced_exit(),
        Some(DrainOutcome::TimedOut { .. }) => ExitCode::FAILURE,
        _ => ExitCode::SUCCESS,
    }
}

/// The conventional `128 + signal` status after a forced shutdown.
fn exit_for(signal: Option<Signal>) -> ExitCode {
    let code = 128 + signal.map_or(Signal::Terminate.number(), Signal::number);
    ExitCode::from(u8::try_from(code).unwrap_or(1))
}

/// Prints a line on stdout at once, for whoever supervises the process.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}

fn app(drain: &Drain, db: Db) -> Router {
    let events_drain = drain.clone();
    Router::new()
        .route("/", get(|| async { "Hello from example-app\n" }))
        .route("/articles", get(move || articles(db.clone())))
        .route("/slow", get(slow))
        .route(
            "/events",
            get(move |uri: Uri| events(events_drain.clone(), uri)),
        )
        .route_service("/healthz", drain.liveness())
        .route_service("/readyz", drain.readiness())
        // Outermost, so every request is counted. /healthz, /readyz and
        // /metrics are exempt by default.
        .layer(drain.layer())
}

/// `/slow?ms=N`: answers after N milliseconds (at most a minute).
async fn slow(uri: Uri) -> String {
    let ms = query_u64(&uri, "ms").unwrap_or(1000).min(60_000);
    tokio::time::sleep(Duration::from_millis(ms)).await;
    format!("slept {ms} ms\n")
}

/// `/events?every_ms=N`: an endless server-sent-events stream, one `tick`
/// every N milliseconds (default 1000). It ends when the drain deadline
/// comes: the handler watches the handle's token, and the layer would end
/// the body at that moment anyway.
async fn events(drain: Drain, uri: Uri) -> Sse<impl Stream<Item = Result<Event, Infallible>>> {
    let every = Duration::from_millis(
        query_u64(&uri, "every_ms")
            .unwrap_or(1000)
            .clamp(10, 60_000),
    );
    let deadline = drain.deadline_token();
    let ticks = futures::stream::unfold(0u64, move |n| {
        let deadline = deadline.clone();
        async move {
            tokio::select! {
                () = deadline.cancelled() => None,
                () = tokio::time::sleep(every) => {
                    Some((Ok(Event::default().event("tick").data(n.to_string())), n + 1))
                }
            }
        }
    });
    Sse::new(ticks).keep_alive(KeepAlive::default())
}

fn query_u64(uri: &Uri, name: &str) -> Option<u64> {
    uri.query()?
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .find(|(key, _)| *key == name)
        .and_then(|(_, value)| value.parse().ok())
}

/// `/articles`: the rows of the `articles` table as JSON, or `503` with a
/// JSON error when the table does not exist yet (migrations not applied).
async fn articles(db: Db) -> Response {
    match db.articles().await {
        Ok(rows) => {
            let rows: Vec<_> = rows
                .into_iter()
                .map(|(id, title)| serde_json::json!({ "id": id, "title": title }))
                .collect();
            json(StatusCode::OK, &serde_json::Value::Array(rows))
        }
        Err(error) if is_missing_table(&error) => json(
            StatusCode::SERVICE_UNAVAILABLE,
            &serde_json::json!({
                "error": "the articles table does not exist; run `example-app migrate up`"
            }),
        ),
        Err(error) => {
            tracing::error!(error = %error, "reading articles failed");
            json(
                StatusCode::INTERNAL_SERVER_ERROR,
                &serde_json::json!({ "error": "reading articles failed" }),
            )
        }
    }
}

fn json(status: StatusCode, value: &serde_json::Value) -> Response {
    (
        status,
        [(CONTENT_TYPE, "application/json")],
        value.to_string(),
    )
        .into_response()
}

fn is_missing_table(error: &sqlx::Error) -> bool {
    let sqlx::Error::Database(db) = error else {
        return false;
    };
    // PostgreSQL undefined_table, MySQL ER_NO_SUCH_TABLE, SQLite's message.
    matches!(db.code().as_deref(), Some("42P01" | "42S02" | "1146"))
        || db.message().contains("no such table")
}

/// A lazily connected pool: the server starts without the database, and
/// only `/articles` needs it.
#[derive(Clone)]
enum Db {
    Sqlite(sqlx::SqlitePool),
    Postgres(sqlx::PgPool),
    MySql(sqlx::MySqlPool),
}

const ARTICLES: &str = "SELECT id, title FROM articles ORDER BY id LIMIT 100";

impl Db {
    fn lazy(url: &str) -> Result<Self, sqlx::Error> {
        let scheme = url.split(':').next().unwrap_or_default();
        Ok(match scheme {
            "postgres" | "postgresql" => Db::Postgres(sqlx::PgPool::connect_lazy(url)?),
            "mysql" | "mariadb" => Db::MySql(sqlx::MySqlPool::connect_lazy(url)?),
            _ => Db::Sqlite(sqlx::SqlitePool::connect_lazy(url)?),
        })
    }

    async fn articles(&self) -> Result<Vec<(i64, String)>, sqlx::Error> {
        match self {
            Db::Sqlite(pool) => sqlx::query_as(ARTICLES).fetch_all(pool).await,
            Db::Postgres(pool) => sqlx::query_as(ARTICLES).fetch_all(pool).await,
            Db::MySql(pool) => sqlx::query_as(ARTICLES).fetch_all(pool).await,
        }
    }
}

/// Parses `500ms`, `5s`, `1.5s`, `2m`, or a bare number of seconds.
fn parse_duration(text: &str) -> Result<Duration, String> {
    let text = text.trim();
    let (number, unit) = match text.find(|c: char| !(c.is_ascii_digit() || c == '.')) {
        Some(at) => text.split_at(at),
        None => (text, "s"),
    };
    let value: f64 = number
        .parse()
        .map_err(|_| format!("`{text}` is not a duration such as 500ms, 5s or 2m"))?;
    let seconds = match unit {
        "ms" => value / 1000.0,
        "s" => value,
        "m" => value * 60.0,
        _ => return Err(format!("unknown unit `{unit}` in `{text}`: use ms, s or m")),
    };
    Duration::try_from_secs_f64(seconds).map_err(|e| format!("`{text}`: {e}"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn durations_parse_in_the_usual_units() {
        assert_eq!(parse_duration("500ms"), Ok(Duration::from_millis(500)));
        assert_eq!(parse_duration("5s"), Ok(Duration::from_secs(5)));
        assert_eq!(parse_duration("1.5s"), Ok(Duration::from_millis(1500)));
        assert_eq!(parse_duration("2m"), Ok(Duration::from_secs(120)));
        assert_eq!(parse_duration("7"), Ok(Duration::from_secs(7)));
        assert!(parse_duration("5h").is_err());
        assert!(parse_duration("soon").is_err());
    }

    #[test]
    fn query_values_are_found_by_name() {
        let uri: Uri = "/slow?x=1&ms=250".parse().unwrap();
        assert_eq!(query_u64(&uri, "ms"), Some(250));
        assert_eq!(query_u64(&uri, "every_ms"), None);
    }

    #[test]
    fn a_forced_exit_reports_the_signal() {
        assert_eq!(exit_for(Some(Signal::Interrupt)), ExitCode::from(130));
        assert_eq!(exit_for(Some(Signal::Terminate)), ExitCode::from(143));
    }
}
