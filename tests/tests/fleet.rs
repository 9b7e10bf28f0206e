//! Fleets: `up` and `status` over 200 PostgreSQL schemas and 50 MariaDB
//! databases with one tenant broken on purpose, the connection budget
//! sampled on the server, and `--fail-fast`.
//!
//! Every schema lives in the test's own database, and every MariaDB tenant
//! is a test database of its own: all are dropped with their handles, after
//! a panic too.

mod cli_support;

use cli_support::migrate;
use cofferdam_tests::{Backend, TestDb, fresh_database};
use serde_json::Value;
use sqlx::Connection;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};

const SET: &str = "cli_fleet";
const ALL: &str = "fleet_one,fleet_two,fleet_three";

/// Creates `count` schemas `tenant_001`... in one statement.
async fn tenant_schemas(db: &TestDb, count: usize) {
    db.execute(&format!(
        "DO $$ BEGIN FOR i IN 1..{count} LOOP \
           EXECUTE format('CREATE SCHEMA tenant_%s', lpad(i::text, 3, '0')); \
         END LOOP; END $$"
    ))
    .await;
}

/// Each tenant schema's history, `id@applied_at` joined by commas in order
/// (empty without a history table), read in one query.
async fn histories(db: &TestDb) -> BTreeMap<String, String> {
    let rows = db
        .query(
            "SELECT n.nspname, CASE WHEN to_regclass(quote_ident(n.nspname) || '.cofferdam_history') IS NULL THEN '' ELSE \
               (xpath('/row/h/text()', query_to_xml(format( \
                 'SELECT string_agg(id || ''@'' || applied_at::text, '','' ORDER BY seq) AS h FROM %I.cofferdam_history', \
                 n.nspname), false, true, '')))[1]::text END \
             FROM pg_namespace n WHERE n.nspname LIKE 'tenant\\_%' ORDER BY 1",
        )
        .await;
    rows.into_iter()
        .map(|row| {
            (
                row[0].clone().unwrap_or_default(),
                row[1].clone().unwrap_or_default(),
            )
        })
        .collect()
}

/// The ids of a history as [`histories`] spells it.
fn ids(history: &str) -> String {
    history
        .split(',')
        .filter(|entry| !entry.is_empty())
        .map(|entry| entry.split('@').next().unwrap_or_default())
        .collect::<Vec<_>>()
        .join(",")
}

/// The targets of a `--json` report by outcome.
fn by_outcome(report: &Value, outcome: &str) -> Vec<String> {
    report["targets"]
        .as_array()
        .expect("a targets array")
        .iter()
        .filter(|t| t["outcome"] == outcome)
        .map(|t| t["name"].as_str().unwrap_or_default().to_owned())
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_hundred_schemas_with_one_broken_tenant() {
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    tenant_schemas(&db, 200).await;
    // The broken tenant: the second revision's table is already there.
    db.execute("CREATE TABLE tenant_077.fleet_two (id INTEGER)")
        .await;

    let run = migrate(
        SET,
        &db.url,
        &[
            "up",
            "--schemas",
            "tenant_%",
            "--concurrency",
            "8",
            "--json",
        ],
    )
    .await
    .expect(14)
    .stderr_has("error: tenant_077: ");
    let report = run.json();
    assert_eq!(report["summary"]["counts"]["applied"], 199, "{report:#}");
    assert_eq!(report["summary"]["counts"]["failed"], 1, "{report:#}");
    assert_eq!(report["summary"]["exit_code"], 14);
    assert_eq!(by_outcome(&report, "failed"), ["tenant_077"]);
    let broken = report["targets"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "tenant_077")
        .unwrap();
    assert_eq!(broken["error"]["revision"], "fleet_two", "{broken:#}");
    assert_eq!(broken["error"]["exit_code"], 1, "{broken:#}");
    assert!(
        broken["error"]["message"]
            .as_str()
            .unwrap_or_default()
            .contains("fleet_two"),
        "{broken:#}"
    );

    let before = histories(&db).await;
    assert_eq!(before.len(), 200);
    for (schema, history) in &before {
        let expected = if schema == "tenant_077" {
            "fleet_one"
        } else {
            ALL
        };
        assert_eq!(ids(history), expected, "{schema}");
    }
    let tables = db
        .query("SELECT count(*) FROM pg_tables WHERE tablename = 'fleet_three'")
        .await;
    assert_eq!(tables[0][0].as_deref(), Some("199"));

    // Status: one tenant behind, no failure recorded (PostgreSQL rolled it back).
    let status = migrate(SET, &db.url, &["status", "--schemas", "tenant_%", "--json"])
        .await
        .expect(3)
        .json();
    migrate(SET, &db.url, &["status", "--schemas", "tenant_%"])
        .await
        .expect(3)
        .stdout_has("behind: tenant_077\n");
    assert_eq!(status["summary"]["counts"]["at_head"], 199);
    assert_eq!(status["summary"]["counts"]["behind"], 1);
    assert_eq!(by_outcome(&status, "behind"), ["tenant_077"]);

    // Fixed by hand, then the whole fleet again: only tenant_077 is touched.
    db.execute("DROP TABLE tenant_077.fleet_two").await;
    let rerun = migrate(
        SET,
        &db.url,
        &[
            "up",
            "--schemas",
            "tenant_%",
            "--concurrency",
            "8",
            "--json",
        ],
    )
    .await
    .expect(0)
    .json();
    assert_eq!(by_outcome(&rerun, "applied"), ["tenant_077"]);
    assert_eq!(by_outcome(&rerun, "at_head").len(), 199);
    let after = histories(&db).await;
    for (schema, history) in &after {
        if schema == "tenant_077" {
            assert_eq!(ids(history), ALL);
        } else {
            assert_eq!(history, &before[schema], "{schema} was touched");
        }
    }

    // The summary table, for people.
    migrate(SET, &db.url, &["status", "--schemas", "tenant_%"])
        .await
        .expect(0)
        .stdout_has("fleet: 200 targets in")
        .stdout_has("at head     200");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_connection_budget_holds_on_the_server() {
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    tenant_schemas(&db, 40).await;
    // Every connection of the run carries this name; the sampler's does not.
    let url = format!(
        "{}{}application_name=cfdm_fleet_budget",
        db.url,
        if db.url.contains('?') { '&' } else { '?' }
    );
    let mut sampler = sqlx::PgConnection::connect(&db.url)
        .await
        .expect("connect the sampler");
    let done = Arc::new(AtomicBool::new(false));
    let samples = Arc::new(AtomicUsize::new(0));
    let sampling = {
        let (done, samples) = (done.clone(), samples.clone());
        tokio::spawn(async move {
            let mut peak = 0i64;
            while !done.load(Ordering::Relaxed) {
                let (count,): (i64,) = sqlx::query_as(
                    "SELECT count(*) FROM pg_stat_activity WHERE application_name = 'cfdm_fleet_budget'",
                )
                .fetch_one(&mut sampler)
                .await
                .expect("sample pg_stat_activity");
                peak = peak.max(count);
                samples.fetch_add(1, Ordering::Relaxed);
                // Leaves the CPU to the run; a connection lives far longer.
                tokio::time::sleep(std::time::Duration::from_millis(1)).await;
            }
            peak
        })
    };
    let report = migrate(
        SET,
        &url,
        &[
            "up",
            "--schemas",
            "tenant_%",
            "--concurrency",
            "16",
            "--max-connections-per-server",
            "3",
            "--json",
        ],
    )
    .await
    .expect(0)
    .json();
    done.store(true, Ordering::Relaxed);
    let peak = sampling.await.expect("the sampler ran");
    eprintln!(
        "peak {peak} connections over {} samples",
        samples.load(Ordering::Relaxed)
    );
    assert_eq!(report["summary"]["counts"]["applied"], 40);
    assert!(
        samples.load(Ordering::Relaxed) > 10,
        "too few samples to judge"
    );
    assert!(peak >= 1, "the sampler never saw the run's connections");
    assert!(peak <= 3, "{peak} connections to the server at once");
    assert!(
        report["summary"]["peak_reserved_connections"]
            .as_u64()
            .unwrap_or(99)
            <= 3
    );

    // A budget smaller than one run needs is refused before anything runs.
    migrate(
        SET,
        &url,
        &[
            "up",
            "--schemas",
            "tenant_%",
            "--max-connections-per-server",
            "1",
        ],
    )
    .await
    .expect(2)
    .stderr_has("raise --max-connections-per-server to 2");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fail_fast_starts_nothing_after_the_first_failure() {
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    tenant_schemas(&db, 20).await;
    db.execute("CREATE TABLE tenant_005.fleet_two (id INTEGER)")
        .await;
    let run = migrate(
        SET,
        &db.url,
        &[
            "up",
            "--schemas",
            "tenant_%",
            "--concurrency",
            "1",
            "--fail-fast",
        ],
    )
    .await
    .expect(14)
    .stdout_has("15 targets not started after the first failure (--fail-fast)")
    .stdout_has("failed: tenant_005");
    drop(run);
    let histories = histories(&db).await;
    for (schema, history) in &histories {
        let n: usize = schema["tenant_".len()..].parse().unwrap();
        let expected = match n {
            1..=4 => ALL,
            5 => "fleet_one",
            _ => "",
        };
        assert_eq!(ids(history), expected, "{schema}");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fifty_mariadb_databases_from_a_fleet_file() {
    let mut tenants = Vec::new();
    for _ in 0..50 {
        match fresh_database(Backend::MySql).await {
            Some(db) => tenants.push(db),
            None => return,
        }
    }
    let broken = 17;
    tenants[broken]
        .execute("CREATE TABLE fleet_two (id INTEGER PRIMARY KEY)")
        .await;
    let dir = std::env::temp_dir().join(format!("cfdm_fleet_{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join("fleet.txt");
    let mut text = String::from("# fifty tenants\n\n");
    for (i, db) in tenants.iter().enumerate() {
        text.push_str(&format!("tenant_{i:02} {}\n", db.url));
    }
    std::fs::write(&file, text).unwrap();
    let file = file.to_string_lossy().into_owned();
    let main = tenants[0].url.clone();

    let report = migrate(
        SET,
        &main,
        &["up", "--fleet-file", &file, "--concurrency", "8", "--json"],
    )
    .await
    .expect(14)
    .json();
    assert_eq!(by_outcome(&report, "failed"), ["tenant_17"]);
    assert_eq!(by_outcome(&report, "applied").len(), 49);
    let failed = &report["targets"][broken];
    // MySQL commits DDL: the failure is recorded and blocks the tenant (exit 4).
    assert_eq!(failed["error"]["exit_code"], 4, "{failed:#}");
    assert_eq!(failed["error"]["revision"], "fleet_two", "{failed:#}");
    let mut before = Vec::new();
    for (i, db) in tenants.iter().enumerate() {
        let history = db.history("cofferdam_history").await;
        let ids: Vec<&str> = history.iter().map(|(id, _)| id.as_str()).collect();
        if i == broken {
            assert_eq!(ids, ["fleet_one", "fleet_two"]);
            assert_eq!(history[1].1, "failed");
        } else {
            assert_eq!(ids.join(","), ALL, "tenant_{i:02}");
        }
        before.push(
            db.query("SELECT id, applied_at FROM cofferdam_history ORDER BY seq")
                .await,
        );
    }
    migrate(SET, &main, &["status", "--fleet-file", &file])
        .await
        .expect(14)
        .stdout_has("at head      49")
        .stderr_has("tenant_17: recorded as failed: fleet_two");

    // Fixed by hand and settled, then the whole fleet again.
    let fixed = &tenants[broken];
    fixed.execute("DROP TABLE fleet_two").await;
    migrate(SET, &fixed.url, &["resolve", "fleet_two", "--rolled-back"])
        .await
        .expect(0);
    let rerun = migrate(SET, &main, &["up", "--fleet-file", &file, "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(by_outcome(&rerun, "applied"), ["tenant_17"]);
    assert_eq!(by_outcome(&rerun, "at_head").len(), 49);
    for (i, db) in tenants.iter().enumerate() {
        if i == broken {
            let history = db.history("cofferdam_history").await;
            assert!(history.iter().all(|(_, state)| state == "applied"));
            continue;
        }
        let now = db
            .query("SELECT id, applied_at FROM cofferdam_history ORDER BY seq")
            .await;
        assert_eq!(now, before[i], "tenant_{i:02} was touched");
    }

    // The same tenants from a query on the main database.
    let query = tenants[..3]
        .iter()
        .enumerate()
        .map(|(i, db)| format!("SELECT 'q{i}', '{}'", db.url))
        .collect::<Vec<_>>()
        .join(" UNION ALL ");
    let status = migrate(SET, &main, &["status", "--fleet-query", &query, "--json"])
        .await
        .expect(0)
        .json();
    assert_eq!(by_outcome(&status, "at_head"), ["q0", "q1", "q2"]);
    let _ = std::fs::remove_dir_all(&dir);
}
