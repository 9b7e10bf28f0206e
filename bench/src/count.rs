//! `--count`: round trips and transactions of each variant on PostgreSQL,
//! measured rather than reasoned: the variant talks to the server through a
//! counting relay ([`crate::proxy`]), and the server's own `pg_stat_database`
//! says how many transactions committed in the variant's database.

use crate::BoxError;
use crate::proxy::Proxy;
use crate::target::{Backend, Database, Databases};
use crate::variants::{self, Prepared, Variant};
use sqlx::{Connection, PgConnection};
use std::net::ToSocketAddrs;
use std::time::Duration;

/// What one variant cost, counted.
#[derive(Debug)]
pub struct Counted {
    pub variant: Variant,
    pub apply_flights: u64,
    pub apply_commits: i64,
    /// After connecting: the handshakes' round trips and the commit a server
    /// process makes while it starts are subtracted, here and above.
    pub startup_flights: u64,
    pub startup_commits: i64,
}

pub async fn run(
    databases: &mut Databases,
    variants: &[Variant],
    prepared: &Prepared,
) -> Result<Vec<Counted>, BoxError> {
    let admin = url::Url::parse(databases.admin_url())?;
    let upstream = (
        admin.host_str().ok_or("--pg-url has no host")?,
        admin.port().unwrap_or(5432),
    )
        .to_socket_addrs()?
        .next()
        .ok_or("--pg-url's host does not resolve")?;
    let proxy = Proxy::start(upstream).await?;
    let mut counted = Vec::new();
    for &variant in variants {
        let direct = databases
            .create(&format!("count_{}", variant.label()))
            .await?;
        let mut via = direct.clone();
        let mut url = url::Url::parse(&direct.url)?;
        url.set_ip_host(proxy.addr.ip())
            .map_err(|()| "cannot set the relay's address")?;
        url.set_port(Some(proxy.addr.port()))
            .map_err(|()| "cannot set the relay's port")?;
        via.url = url.to_string();

        let initial = commits(databases.admin_url(), &direct).await?;
        let handshake = {
            let before = proxy.flights();
            if variant == Variant::Refinery {
                let (client, connection) =
                    tokio_postgres::connect(&via.url, tokio_postgres::NoTls).await?;
                let driver = tokio::spawn(connection);
                drop(client);
                driver.await??;
            } else {
                PgConnection::connect(&via.url).await?.close().await?;
            }
            proxy.flights() - before
        };

        // A server process commits once while it starts (catalog reads).
        let commits = commits_settled(databases.admin_url(), &direct).await?;
        let handshake_commits = commits - initial;
        let before = proxy.flights();
        variants::apply(variant, Backend::Postgres, &via, prepared).await?;
        let apply_flights = proxy.flights() - before;
        let after_apply = commits_settled(databases.admin_url(), &direct).await?;

        let before = proxy.flights();
        variants::startup(variant, Backend::Postgres, &via, prepared).await?;
        let startup_flights = proxy.flights() - before - handshake;
        let after_startup = commits_settled(databases.admin_url(), &direct).await?;

        counted.push(Counted {
            variant,
            apply_flights: apply_flights - handshake,
            apply_commits: after_apply - commits - handshake_commits,
            startup_flights,
            startup_commits: after_startup - after_apply - handshake_commits,
        });
    }
    Ok(counted)
}

/// Committed transactions in `db` so far, as the server counts them.
async fn commits(admin_url: &str, db: &Database) -> Result<i64, BoxError> {
    let mut admin = PgConnection::connect(admin_url).await?;
    let (count,): (i64,) =
        sqlx::query_as("SELECT xact_commit FROM pg_stat_database WHERE datname = $1")
            .bind(&db.name)
            .fetch_one(&mut admin)
            .await?;
    admin.close().await?;
    Ok(count)
}

/// Backends publish their counters when they exit, a moment after the
/// client closed: poll until the count has not moved for a while.
async fn commits_settled(admin_url: &str, db: &Database) -> Result<i64, BoxError> {
    let mut last = commits(admin_url, db).await?;
    let mut stable = 0;
    while stable < 3 {
        tokio::time::sleep(Duration::from_millis(250)).await;
        let now = commits(admin_url, db).await?;
        stable = if now == last { stable + 1 } else { 0 };
        last = now;
    }
    Ok(last)
}
