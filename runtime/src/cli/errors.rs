//! How errors reach the operator: an exit code per kind of failure, and one
//! paragraph per error, what happened first and what to do next after it.

use super::exit;
use crate::Error;

/// The exit code for an error.
pub(super) fn code_for(error: &Error) -> u8 {
    match error {
        Error::Blocked { .. } => exit::FAILED,
        Error::DestructiveNotAllowed { .. } => exit::DESTRUCTIVE,
        Error::MultipleHeads { .. } => exit::MULTIPLE_HEADS,
        Error::ChecksumMismatch { .. } => exit::DRIFT,
        Error::UnknownApplied { .. } => exit::UNKNOWN,
        Error::Connect { .. } | Error::ConnectTimeout { .. } => exit::UNREACHABLE,
        Error::LockTimeout { .. } => exit::LOCKED,
        Error::UnknownRevision { .. } => exit::USAGE,
        Error::Interrupted { .. } => exit::INTERRUPTED,
        Error::RevisionFailed { source, .. } if matches!(**source, Error::Interrupted { .. }) => {
            exit::INTERRUPTED
        }
        // Outside a transaction (MySQL, `transaction = false`) a failure is
        // recorded and blocks the next run, exactly like a failed state found
        // at start.
        Error::RevisionFailed {
            rolled_back: false, ..
        } => exit::FAILED,
        _ => exit::ERROR,
    }
}

/// The error as one line, what happened first. The runtime's messages put
/// the advice before the cause for a few variants; for those the CLI prints
/// the cause here and moves the advice to [`hint`].
pub(super) fn message(error: &Error) -> String {
    match error {
        Error::Connect { url, source } => {
            format!("could not connect to {url}: {}", crate::report(source))
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
            crate::report(&**source)
        ),
        other => crate::report(other),
    }
}

/// What to do next, for errors whose message does not say it already.
pub(super) fn hint(error: &Error) -> Option<String> {
    match error {
        Error::RevisionFailed {
            revision,
            rolled_back,
            applied_before,
            ..
        } => {
            let before = if applied_before.is_empty() {
                "No revision was applied before it in this run.".to_owned()
            } else {
                format!(
                    "Applied before it in this run: {}.",
                    applied_before.join(", ")
                )
            };
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
        Error::Interrupted { next, .. } => Some(format!(
            "Nothing is half-done: the run stopped between revisions. Run the same command again to continue with `{next}`."
        )),
        Error::DestructiveNotAllowed { .. } => Some(
            "Review them (`migrate sql` shows the statements), take a backup, then run `migrate up --allow-destructive`."
                .to_owned(),
        ),
        Error::Irreversible { revision } => Some(format!(
            "Revert to a revision after `{revision}` with `migrate down --to`, or undo `{revision}` by hand and record it with `migrate stamp`."
        )),
        Error::Connect { .. } => Some(
            "Check that the server is running, the URL is right and the credentials are valid. \
             The URL comes from --database-url, else DATABASE_URL, else a SQLite file named after this binary."
                .to_owned(),
        ),
        Error::ConnectTimeout { .. } => Some(
            "Check the host, port and firewall, or raise --connect-timeout. \
             The URL comes from --database-url, else DATABASE_URL, else a SQLite file named after this binary."
                .to_owned(),
        ),
        _ => None,
    }
}
