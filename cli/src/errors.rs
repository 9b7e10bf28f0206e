//! How errors reach the operator: an exit code per kind of failure. The
//! message and the advice come from the runtime ([`Error::headline`],
//! [`Error::hint`]); this file only maps errors to exit codes.

use super::exit;
use cofferdam_core::Error;

/// The exit code for an error.
pub(super) fn code_for(error: &Error) -> u8 {
    match error {
        Error::Blocked { .. } => exit::FAILED,
        Error::DestructiveNotAllowed { .. } => exit::DESTRUCTIVE,
        Error::MultipleHeads { .. } => exit::MULTIPLE_HEADS,
        Error::ChecksumMismatch { .. } => exit::DRIFT,
        Error::UnknownApplied { .. } => exit::UNKNOWN,
        Error::Connect { .. } | Error::ConnectTimeout { .. } => exit::UNREACHABLE,
        Error::LockTimeout { .. } | Error::DatabaseBusy { .. } | Error::LeaseLost { .. } => {
            exit::LOCKED
        }
        // A URL that leads through a transaction pool is a setting to fix,
        // like an empty URL; retrying cannot help.
        Error::UnknownRevision { .. }
        | Error::InvalidTableName(_)
        | Error::UnstableSession { .. }
        | Error::ReadOnly { .. }
        | Error::NoDownToRun { .. }
        | Error::FleetFile { .. }
        | Error::FleetUnsupported { .. }
        | Error::FleetBudget { .. } => exit::USAGE,
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
        // A `started` row left behind blocks the next run like a failure.
        Error::FailureNotRecorded { ran: true, .. } => exit::FAILED,
        _ => exit::ERROR,
    }
}
