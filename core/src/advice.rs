//! What a person should do after an error: the one place the runtime's
//! advice lives, for the CLI (which prints it as `hint: ...`) and for any
//! other front end.

use crate::error::{Error, report};

impl Error {
    /// What a person should do next, for errors whose message does not say
    /// it already: the one place the runtime's advice lives. The CLI prints
    /// it after the message as `hint: ...`.
    pub fn hint(&self) -> Option<String> {
        const URL_SOURCES: &str = "The URL comes from --database-url, else DATABASE_URL, else DATABASE_URL in ./.env, else a SQLite file named after this binary.";
        match self {
            Error::RevisionFailed {
                revision,
                rolled_back: false,
                applied_before,
                invalid_indexes,
                ..
            } if !invalid_indexes.is_empty() => {
                let names: Vec<&str> = invalid_indexes.iter().map(|i| i.name.as_str()).collect();
                let drops: Vec<&str> = invalid_indexes.iter().map(|i| i.drop.as_str()).collect();
                Some(format!(
                    "{} `{revision}` ran outside a transaction and the current schema now has INVALID indexes \
                     (a failed CREATE INDEX CONCURRENTLY leaves one; the database keeps it, never reads it, and a new attempt fails on its name): {}. \
                     Either run `migrate resolve {revision} --rolled-back --run-down` if its `down` drops them, \
                     or drop them yourself with `{}` and run `migrate resolve {revision} --rolled-back`; \
                     then fix the cause (the data it tripped on) and run `migrate up` again.",
                    applied_before_note(applied_before),
                    names.join(", "),
                    drops.join(" ")
                ))
            }
            Error::RevisionFailed {
                revision,
                rolled_back,
                applied_before,
                ..
            } => {
                let before = applied_before_note(applied_before);
                Some(if *rolled_back {
                    format!(
                        "{before} The database is as it was before `{revision}`: fix the migration (or the data it tripped on) and run `migrate up` again."
                    )
                } else {
                    format!(
                        "{before} `{revision}` ran outside a transaction, so part of it may have been applied, and it now blocks further runs: \
                         inspect the schema, finish or undo its changes by hand, then run `migrate resolve {revision} --applied` or `--rolled-back`."
                    )
                })
            }
            Error::FailureNotRecorded { revision, ran, .. } => Some(if *ran {
                format!(
                    "`{revision}` ran outside a transaction, so part of it may have been applied. Once the database is reachable, run `migrate status`, \
                     inspect the schema, finish or undo its changes by hand, then run `migrate resolve {revision} --applied` or `--rolled-back`."
                )
            } else {
                format!(
                    "`{revision}` did not run. Once the database is reachable, run `migrate status` and `migrate up` again."
                )
            }),
            Error::Interrupted { next, .. } => Some(format!(
                "Nothing is half-done: the run stopped between revisions. Run the same command again to continue with `{next}`."
            )),
            Error::ContractFirst { contract, .. } => Some(format!(
                "If the release serving now no longer uses what `{contract}` removes or changes (it was written for an earlier release), \
                 run `migrate up --phase contract --to {contract}`, then `migrate up --phase expand` again; otherwise finish the rollout \
                 of the release that stops using it first."
            )),
            Error::BackfillIncomplete { revision, .. } => Some(format!(
                "The history shows `{revision}` as failed. To continue after the last committed batch, run \
                 `migrate resolve {revision} --rolled-back` (it forgets the attempt, not the batches) and `migrate up` again."
            )),
            Error::DestructiveNotAllowed { .. } => Some(
                "Review them (`migrate sql` shows the statements), take a backup, then run `migrate up --allow-destructive`."
                    .to_owned(),
            ),
            Error::Irreversible { revision } => Some(format!(
                "Revert to a revision after `{revision}` with `migrate down --to`, or undo `{revision}` by hand and record it with `migrate stamp`."
            )),
            Error::Connect { source, .. } => Some(match tls_advice(source) {
                Some(advice) => format!("{advice} {URL_SOURCES}"),
                None => format!(
                    "Check that the server is running, the URL is right and the credentials are valid. {URL_SOURCES}"
                ),
            }),
            Error::NoDownToRun { revision } => Some(format!(
                "Undo its changes by hand (`migrate status` and the error recorded in `migrate history` say how far it got), then run `migrate resolve {revision} --rolled-back`."
            )),
            Error::UnstableSession { .. } => Some(format!(
                "Connect migrations directly to PostgreSQL (its own host and port, not PgBouncer's), or through a pool with `pool_mode = session`, \
                 or run with `--lock lease` (a lock row with an expiry, which needs no session); \
                 the application can keep using the transaction pool. {URL_SOURCES}"
            )),
            Error::LeaseLost { .. } => Some(
                "A pause longer than the lease (a stopped process, a long GC or VM pause, a lost network) ends it. \
                 No revision was applied twice: another run's history row refuses a second apply. \
                 Run `migrate status`, then `migrate up` again; raise --lease if such pauses are expected."
                    .to_owned(),
            ),
            Error::ReadOnly { .. } => Some(format!(
                "Point migrations at the primary, the server that takes writes, not at a replica or standby \
                 (on PostgreSQL `SELECT pg_is_in_recovery()` answers false there). {URL_SOURCES}"
            )),
            Error::ConnectTimeout { .. } => Some(format!(
                "Check the host, port and firewall, or raise --connect-timeout. {URL_SOURCES}"
            )),
            _ => None,
        }
    }

    /// The error as one line with its causes, what happened first: like
    /// [`report`], but for the variants whose message puts the advice first
    /// (a failed revision, a refused connection), the advice is left to
    /// [`Error::hint`] and the cause follows the headline directly.
    pub fn headline(&self) -> String {
        match self {
            Error::Connect { url, source } => {
                format!("could not connect to {url}: {}", report(source))
            }
            Error::Introspect { url, source } => {
                format!("could not read the schema of {url}: {}", report(source))
            }
            Error::RevisionFailed {
                revision,
                rolled_back,
                source,
                ..
            } => format!(
                "revision `{revision}` failed{}: {}",
                if *rolled_back {
                    " and was rolled back"
                } else {
                    " and is recorded as failed"
                },
                report(&**source)
            ),
            other => report(other),
        }
    }
}

/// The first sentence of a failed revision's advice.
fn applied_before_note(applied_before: &[String]) -> String {
    if applied_before.is_empty() {
        "No revision was applied before it in this run.".to_owned()
    } else {
        format!(
            "Applied before it in this run: {}.",
            applied_before.join(", ")
        )
    }
}

/// Advice for a connection that failed on TLS rather than on reaching the
/// server or logging in. rustls reports an untrusted certificate through
/// sqlx as an I/O error ("invalid peer certificate: UnknownIssuer"), so the
/// text is what tells.
fn tls_advice(source: &sqlx::Error) -> Option<&'static str> {
    let text = report(source);
    if text.contains("does not support TLS") {
        Some(
            "The URL requires TLS (`sslmode=require` or stricter, `ssl-mode=REQUIRED` or stricter) but the server does not offer it: \
             enable TLS on the server, or connect to one that has it.",
        )
    } else if matches!(source, sqlx::Error::Tls(_)) || text.contains("peer certificate") {
        Some(
            "The server's TLS certificate was not accepted: check that `sslrootcert=` (PostgreSQL) or `ssl-ca=` (MySQL) names the CA file that signed it, \
             and that the host in the URL is one the certificate names. `sslmode=require` / `ssl-mode=REQUIRED` encrypts without checking the certificate.",
        )
    } else {
        None
    }
}
