//! TLS to PostgreSQL, the way a managed database is reached: the test makes
//! its own CA and a server certificate for 127.0.0.1 and localhost with the
//! `openssl` command, points the local server at them (`ALTER SYSTEM`, then a
//! reload), and checks that `sslmode=verify-full` with the right CA connects
//! while a wrong CA is refused with exit 9 and a message that says why.
//!
//! The server's previous certificate settings are restored when the test
//! ends, after a panic too. Other tests connect with the default
//! `sslmode=prefer`, which accepts either certificate, so they are not
//! disturbed while this one runs.

mod cli_support;

use cli_support::migrate;
use cofferdam_tests::{Backend, TestDb, fresh_database};
use sqlx::{AssertSqlSafe, Connection};
use std::path::{Path, PathBuf};
use std::process::Command;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn postgres_verify_full_trusts_only_the_given_ca() {
    let Some(db) = fresh_database(Backend::Postgres).await else {
        return;
    };
    let certs = Certificates::make();
    let _server = ServerCertificate::install(&db, &certs).await;

    let verified = with_tls(&db.url, "verify-full", &certs.ca);
    migrate(&verified, &["up"]).await.expect(0);
    migrate(&verified, &["status"])
        .await
        .expect(0)
        .stdout_has("at head");

    // A CA that did not sign the server's certificate: the handshake fails,
    // and the operator is told it is the certificate, not the server.
    let wrong = with_tls(&db.url, "verify-full", &certs.other_ca);
    migrate(&wrong, &["status"])
        .await
        .expect(9)
        .stderr_has("error: could not connect to ")
        .stderr_has("invalid peer certificate: UnknownIssuer")
        .stderr_has(
            "hint: The server's TLS certificate was not accepted: check that `sslrootcert=`",
        );

    // `require` encrypts without checking who answers, so any CA will do.
    let required = with_tls(&db.url, "require", &certs.other_ca);
    migrate(&required, &["status"]).await.expect(0);
}

/// MariaDB with TLS, on a server of the test's own started with the
/// test's certificate (MariaDB 10.11 loads one only at start, and the
/// shared server is not restarted): `ssl-mode=VERIFY_IDENTITY` with the
/// right CA applies, a wrong CA is refused with exit 9 and says why.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_verify_identity_trusts_only_the_given_ca() {
    use cofferdam_tests::lone_mariadb::LoneMariaDb;
    let certs = Certificates::make();
    let name = "cfdm_tls_mariadb";
    let dir = LoneMariaDb::dir_for(name);
    let options = [
        format!("--ssl-ca={}", dir.join("ca.pem").display()),
        format!("--ssl-cert={}", dir.join("server.crt").display()),
        format!("--ssl-key={}", dir.join("server.key").display()),
        "--require-secure-transport=ON".to_owned(),
    ];
    let setup = [
        ("ca.pem", certs.ca.as_path()),
        ("server.crt", certs.server_cert.as_path()),
        ("server.key", certs.server_key.as_path()),
    ];
    let Some(server) = LoneMariaDb::start(name, &options, &setup).await else {
        return;
    };
    let verified = format!(
        "{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
        server.url,
        certs.ca.display()
    );
    migrate(&verified, &["up"]).await.expect(0);
    migrate(&verified, &["status"])
        .await
        .expect(0)
        .stdout_has("at head");

    let wrong = format!(
        "{}?ssl-mode=VERIFY_IDENTITY&ssl-ca={}",
        server.url,
        certs.other_ca.display()
    );
    migrate(&wrong, &["status"])
        .await
        .expect(9)
        .stderr_has("error: could not connect to ")
        .stderr_has("hint: The server's TLS certificate was not accepted");
}

/// The CI's shared MariaDB runs without TLS (it needs a restart to load a
/// certificate), so this checks the other half of the promise there: a URL
/// that requires TLS never falls back to plain text.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn mysql_ssl_mode_required_never_falls_back_to_plain_text() {
    let Some(db) = fresh_database(Backend::MySql).await else {
        return;
    };
    let tls_offered = !db
        .query("SELECT @@have_ssl")
        .await
        .iter()
        .any(|row| row[0].as_deref() == Some("DISABLED"));
    for mode in ["REQUIRED", "VERIFY_IDENTITY"] {
        let url = format!("{}?ssl-mode={mode}", db.url);
        let run = migrate(&url, &["status"]).await;
        if tls_offered {
            // A server with TLS: REQUIRED connects (pending, exit 3).
            if mode == "REQUIRED" {
                run.expect(3);
            }
            continue;
        }
        run.expect(9)
            .stderr_has("server does not support TLS")
            .stderr_has("hint: The URL requires TLS");
    }
    assert_eq!(db.tables().await, Vec::<String>::new());
}

/// `url` with `sslmode` and `sslrootcert` added, as sqlx documents them.
fn with_tls(url: &str, mode: &str, ca: &Path) -> String {
    let separator = if url.contains('?') { '&' } else { '?' };
    format!(
        "{url}{separator}sslmode={mode}&sslrootcert={}",
        ca.display()
    )
}

/// A CA, a server certificate it signed (for 127.0.0.1 and localhost), and
/// another CA that signed nothing, in a temporary directory removed on drop.
struct Certificates {
    dir: PathBuf,
    ca: PathBuf,
    other_ca: PathBuf,
    server_cert: PathBuf,
    server_key: PathBuf,
}

impl Certificates {
    fn make() -> Certificates {
        // One directory per call: the tests of this file run at once, and
        // each removes its own when it ends.
        static MADE: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let n = MADE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let dir = std::env::temp_dir()
            .join("cofferdam-tests")
            .join(format!("tls_{}_{n}", std::process::id()));
        std::fs::create_dir_all(&dir).expect("create the certificate directory");
        let certs = Certificates {
            ca: dir.join("ca.pem"),
            other_ca: dir.join("other-ca.pem"),
            server_cert: dir.join("server.crt"),
            server_key: dir.join("server.key"),
            dir,
        };
        for name in ["ca", "other-ca"] {
            openssl(
                &certs.dir,
                &[
                    "req",
                    "-x509",
                    "-newkey",
                    "rsa:2048",
                    "-nodes",
                    "-days",
                    "2",
                    "-keyout",
                    &format!("{name}.key"),
                    "-out",
                    &format!("{name}.pem"),
                    "-subj",
                    &format!("/CN=cofferdam test {name}"),
                    "-addext",
                    "basicConstraints=critical,CA:TRUE",
                    "-addext",
                    "keyUsage=critical,keyCertSign,cRLSign",
                ],
            );
        }
        std::fs::write(
            certs.dir.join("server.ext"),
            "subjectAltName=DNS:localhost,IP:127.0.0.1\n\
             basicConstraints=CA:FALSE\n\
             keyUsage=critical,digitalSignature,keyEncipherment\n\
             extendedKeyUsage=serverAuth\n",
        )
        .expect("write the extensions file");
        openssl(
            &certs.dir,
            &[
                "req",
                "-newkey",
                "rsa:2048",
                "-nodes",
                "-keyout",
                "server.key",
                "-out",
                "server.csr",
                "-subj",
                "/CN=localhost",
            ],
        );
        openssl(
            &certs.dir,
            &[
                "x509",
                "-req",
                "-in",
                "server.csr",
                "-CA",
                "ca.pem",
                "-CAkey",
                "ca.key",
                "-CAcreateserial",
                "-days",
                "2",
                "-extfile",
                "server.ext",
                "-out",
                "server.crt",
            ],
        );
        certs
    }
}

impl Drop for Certificates {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn openssl(dir: &Path, args: &[&str]) {
    let output = Command::new("openssl")
        .args(args)
        .current_dir(dir)
        .output()
        .expect("run the openssl command (install openssl)");
    assert!(
        output.status.success(),
        "openssl {} failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&output.stderr)
    );
}

/// The server's certificate, replaced for the length of the test. The files
/// are written by the server itself (`COPY ... TO PROGRAM`), so they belong to its
/// own user with mode 0600 as PostgreSQL requires, whoever runs the test.
struct ServerCertificate {
    admin: String,
    /// Each setting changed, and the value `ALTER SYSTEM` held before (None:
    /// it was not set there, so it is reset).
    previous: Vec<(&'static str, Option<String>)>,
    files: Vec<String>,
}

const SETTINGS: [&str; 2] = ["ssl_cert_file", "ssl_key_file"];

impl ServerCertificate {
    async fn install(db: &TestDb, certs: &Certificates) -> ServerCertificate {
        let admin = Backend::Postgres.server_url().expect("a server URL");
        let mut conn = sqlx::PgConnection::connect(&admin)
            .await
            .expect("connect as the administrator");
        let data_dir = text(&mut conn, "SELECT current_setting('data_directory')").await;
        let mut previous = Vec::new();
        for name in SETTINGS {
            let from_auto_conf = text(
                &mut conn,
                &format!(
                    "SELECT coalesce((SELECT setting FROM pg_file_settings \
                     WHERE name = '{name}' AND sourcefile LIKE '%postgresql.auto.conf' \
                     ORDER BY seqno DESC LIMIT 1), '\u{1}')"
                ),
            )
            .await;
            previous.push((name, (from_auto_conf != "\u{1}").then_some(from_auto_conf)));
        }
        let prefix = format!("{data_dir}/{}_", db.name);
        let guard = ServerCertificate {
            admin,
            previous,
            files: vec![format!("{prefix}server.crt"), format!("{prefix}server.key")],
        };
        for (source, target) in [&certs.server_cert, &certs.server_key]
            .into_iter()
            .zip(&guard.files)
        {
            let pem = std::fs::read_to_string(source).expect("read a generated file");
            // One row per line: PEM holds no tab or backslash, which COPY's
            // text format would escape. Written by a program under the
            // server's own user with umask 077: PostgreSQL refuses a key
            // file with group or world access.
            let lines: Vec<String> = pem.lines().map(|line| format!("('{line}')")).collect();
            execute(
                &mut conn,
                &format!(
                    "COPY (SELECT l FROM (VALUES {}) AS pem(l)) TO PROGRAM 'umask 077 && cat > {target}'",
                    lines.join(", ")
                ),
            )
            .await;
        }
        execute(
            &mut conn,
            &format!("ALTER SYSTEM SET ssl_cert_file = '{}'", guard.files[0]),
        )
        .await;
        execute(
            &mut conn,
            &format!("ALTER SYSTEM SET ssl_key_file = '{}'", guard.files[1]),
        )
        .await;
        execute(&mut conn, "SELECT pg_reload_conf()").await;
        let _ = conn.close().await;
        // The postmaster reloads a moment after the signal; a new session
        // sees the new file once it has.
        let reloaded = async {
            loop {
                let mut probe = sqlx::PgConnection::connect(&guard.admin)
                    .await
                    .expect("connect as the administrator");
                let current = text(&mut probe, "SELECT current_setting('ssl_cert_file')").await;
                let _ = probe.close().await;
                if current == guard.files[0] {
                    break;
                }
                tokio::time::sleep(std::time::Duration::from_millis(100)).await;
            }
        };
        tokio::time::timeout(std::time::Duration::from_secs(60), reloaded)
            .await
            .expect("the server reloaded its configuration");
        guard
    }

    async fn restore(&self) -> Result<(), sqlx::Error> {
        let mut conn = sqlx::PgConnection::connect(&self.admin).await?;
        for (name, value) in &self.previous {
            let sql = match value {
                Some(value) => format!("ALTER SYSTEM SET {name} = '{value}'"),
                None => format!("ALTER SYSTEM RESET {name}"),
            };
            sqlx::raw_sql(AssertSqlSafe(sql)).execute(&mut conn).await?;
        }
        sqlx::raw_sql("SELECT pg_reload_conf()")
            .execute(&mut conn)
            .await?;
        // Removed by the server's user too, wherever the test runs.
        sqlx::raw_sql(AssertSqlSafe(format!(
            "COPY (SELECT 1) TO PROGRAM 'rm -f {}'",
            self.files.join(" ")
        )))
        .execute(&mut conn)
        .await?;
        conn.close().await
    }
}

impl Drop for ServerCertificate {
    fn drop(&mut self) {
        // Like `TestDb`: `drop` cannot await, so a thread with a small
        // runtime of its own puts the server back.
        let restored = std::thread::scope(|scope| {
            scope
                .spawn(|| {
                    tokio::runtime::Builder::new_current_thread()
                        .enable_all()
                        .build()
                        .map_err(|e| e.to_string())?
                        .block_on(self.restore())
                        .map_err(|e| e.to_string())
                })
                .join()
        });
        if !matches!(restored, Ok(Ok(()))) {
            eprintln!(
                "warning: the PostgreSQL server's ssl_cert_file/ssl_key_file were not restored ({restored:?}); \
                 run ALTER SYSTEM RESET ssl_cert_file; ALTER SYSTEM RESET ssl_key_file; SELECT pg_reload_conf()"
            );
        }
    }
}

async fn text(conn: &mut sqlx::PgConnection, sql: &str) -> String {
    use sqlx::Row;
    sqlx::query(AssertSqlSafe(sql.to_owned()))
        .fetch_one(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

async fn execute(conn: &mut sqlx::PgConnection, sql: &str) {
    sqlx::raw_sql(AssertSqlSafe(sql.to_owned()))
        .execute(conn)
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"));
}
