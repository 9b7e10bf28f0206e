//! The test databases themselves: each is gone once its handle drops, even
//! when the test panicked while holding it.

use cofferdam_tests::{Backend, TestDb, fresh_database};
use sqlx::{AssertSqlSafe, Connection};

/// Whether the database (or SQLite file) named `name` still exists.
async fn exists(backend: Backend, name: &str) -> bool {
    let sql = match backend {
        Backend::Sqlite => return std::path::Path::new(name).exists(),
        Backend::Postgres => format!("SELECT count(*) FROM pg_database WHERE datname = '{name}'"),
        Backend::MySql => {
            format!("SELECT count(*) FROM information_schema.schemata WHERE schema_name = '{name}'")
        }
    };
    let server = backend.server_url().unwrap();
    let count: i64 = match backend {
        Backend::Postgres => {
            let mut conn = sqlx::PgConnection::connect(&server).await.unwrap();
            sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
        _ => {
            let mut conn = sqlx::MySqlConnection::connect(&server).await.unwrap();
            sqlx::query_scalar(AssertSqlSafe(sql))
                .fetch_one(&mut conn)
                .await
                .unwrap()
        }
    };
    count > 0
}

async fn dropped_after_a_panic(backend: Backend) {
    let Some(db) = fresh_database(backend).await else {
        return;
    };
    db.execute("CREATE TABLE kept_open (id INTEGER)").await;
    let name = db.name.clone();
    assert!(exists(backend, &name).await);

    let test = tokio::spawn(async move {
        let _db: TestDb = db;
        panic!("a failing test");
    });
    assert!(test.await.unwrap_err().is_panic());
    assert!(!exists(backend, &name).await, "{name} was left behind");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sqlite_database_is_dropped_after_a_panic() {
    dropped_after_a_panic(Backend::Sqlite).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_database_is_dropped_after_a_panic() {
    dropped_after_a_panic(Backend::Postgres).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_database_is_dropped_after_a_panic() {
    dropped_after_a_panic(Backend::MySql).await;
}
