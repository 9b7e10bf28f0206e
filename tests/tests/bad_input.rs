//! Bad input gets a clear error, a bounded wait, and never shows a password.

use cofferdam::{Error, report};
use cofferdam_tests::Backend;
use std::time::{Duration, Instant};

fn migrator() -> cofferdam::Migrator {
    example_migrations::migrator().connect_timeout(Duration::from_secs(2))
}

#[tokio::test]
async fn invalid_urls_say_what_is_expected() {
    for url in [
        "",
        "oracle://db/app",
        "postgres://user:secret@host:notaport/db",
        "not a url at all",
    ] {
        let error = migrator().up(url).await.unwrap_err();
        let text = report(&error);
        assert!(
            // Rejected before any connection is attempted.
            matches!(error, Error::InvalidUrl { .. }),
            "{url}: {text}"
        );
        assert!(!text.contains("secret"), "password leaked: {text}");
    }
    let text = report(&migrator().up("oracle://db/app").await.unwrap_err());
    assert!(
        text.contains("unknown scheme `oracle`") && text.contains("expected sqlite://"),
        "{text}"
    );
}

#[tokio::test]
async fn refused_connections_fail_fast_with_the_url() {
    for url in [
        "postgres://app:hunter2@127.0.0.1:1/app",
        "mysql://app:hunter2@127.0.0.1:1/app",
    ] {
        let started = Instant::now();
        let error = migrator().up(url).await.unwrap_err();
        let text = report(&error);
        assert!(matches!(error, Error::Connect { .. }), "{text}");
        assert!(
            text.contains("could not connect to") && text.contains("127.0.0.1:1"),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "password leaked: {text}");
        assert!(started.elapsed() < Duration::from_secs(10));
    }
}

/// A server that accepts the connection and never answers: the wait is bounded.
#[tokio::test]
async fn a_silent_server_times_out() {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let hold = tokio::spawn(async move {
        let mut held = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            held.push(socket);
        }
    });
    for scheme in ["postgres", "mysql"] {
        let url = format!("{scheme}://app:hunter2@127.0.0.1:{port}/app");
        let error = migrator().up(&url).await.unwrap_err();
        let text = report(&error);
        assert!(
            matches!(error, Error::ConnectTimeout { seconds: 2, .. }),
            "{text}"
        );
        assert!(!text.contains("hunter2"), "password leaked: {text}");
    }
    hold.abort();
}

#[tokio::test]
async fn sqlite_in_a_missing_directory() {
    let error = migrator()
        .up("sqlite:///no/such/directory/app.db")
        .await
        .unwrap_err();
    assert!(matches!(error, Error::Connect { .. }), "{}", report(&error));
}

#[tokio::test]
async fn wrong_credentials_do_not_leak_the_password() {
    // MariaDB's root has no password, so any password is wrong.
    if let Some(server) = Backend::MySql.server_url() {
        let mut url = url::Url::parse(&server).unwrap();
        url.set_password(Some("hunter2-wrong")).unwrap();
        if let Err(error) = migrator().up(url.as_str()).await {
            let text = report(&error);
            assert!(!text.contains("hunter2"), "password leaked: {text}");
            if cofferdam_tests::all_backends_required() {
                assert!(text.contains("Access denied"), "{text}");
            }
        } else {
            panic!("a wrong password was accepted");
        }
    }
    // PostgreSQL trusts loopback here, so use a role that does not exist.
    if let Some(server) = Backend::Postgres.server_url() {
        let mut url = url::Url::parse(&server).unwrap();
        url.set_username("no_such_role").unwrap();
        url.set_password(Some("hunter2-wrong")).unwrap();
        let error = migrator().up(url.as_str()).await.unwrap_err();
        let text = report(&error);
        assert!(!text.contains("hunter2"), "password leaked: {text}");
        if cofferdam_tests::all_backends_required() {
            assert!(text.contains("no_such_role"), "{text}");
        }
    }
}
