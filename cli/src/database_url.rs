//! Where the database URL comes from: `--database-url`, else the
//! `DATABASE_URL` environment variable, else `DATABASE_URL` in a `.env` file
//! in the working directory, else a SQLite file named after the binary.
//!
//! An empty or blank value is refused rather than skipped: `DATABASE_URL=`
//! in a deploy manifest is a mistake (a secret that did not resolve), and
//! falling through to a local SQLite file would "succeed" against the wrong
//! database. The `.env` file is read for `DATABASE_URL` only and the process
//! environment is left untouched, so no other setting in it changes what the
//! application does.
//!
//! ```rust,ignore
//! let url = match cofferdam::cli::database_url::resolve(args.database_url) {
//!     Ok(resolved) => resolved.url,
//!     Err(message) => {
//!         eprintln!("error: {message}");
//!         return ExitCode::from(cofferdam::cli::exit::USAGE);
//!     }
//! };
//! ```

use cofferdam_core::default_database_url;
use std::path::Path;

/// Which source gave the URL.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Source {
    /// `--database-url`.
    Flag,
    /// The `DATABASE_URL` environment variable.
    Environment,
    /// `DATABASE_URL` in `./.env`.
    DotEnv,
    /// Nothing was given: the SQLite file named after the binary.
    Default,
}

/// The URL to use and where it came from.
#[derive(Debug)]
#[non_exhaustive]
pub struct Resolved {
    /// The database URL.
    pub url: String,
    /// Where it came from.
    pub source: Source,
}

impl Resolved {
    /// What to tell the operator about a URL they did not give explicitly.
    pub fn note(&self) -> Option<String> {
        match self.source {
            Source::Flag | Source::Environment => None,
            Source::DotEnv => {
                Some("using DATABASE_URL from the .env file in the working directory".to_owned())
            }
            Source::Default => Some(format!(
                "no database URL given (--database-url, DATABASE_URL or a .env file); using the default `{}`",
                self.url
            )),
        }
    }
}

const EXAMPLE: &str =
    "e.g. postgres://USER@HOST/DB, mysql://USER@HOST/DB or sqlite://app.db?mode=rwc";

/// Resolves the URL from the flag's value, the environment and `./.env`,
/// as `migrate` does; an application's other commands (`serve`) call it
/// too, so that every command of one binary reaches the same database.
/// The error is a usage error's message (exit [`crate::exit::USAGE`]).
pub fn resolve(flag: Option<String>) -> Result<Resolved, String> {
    if let Some(url) = flag {
        return given(
            url,
            Source::Flag,
            "--database-url is empty; give a URL (",
            ")",
        );
    }
    if let Some(value) = std::env::var_os("DATABASE_URL") {
        let url = value
            .into_string()
            .map_err(|_| "DATABASE_URL is not valid UTF-8".to_owned())?;
        return given(
            url,
            Source::Environment,
            "DATABASE_URL is set but empty; set it to a URL (",
            ") or unset it",
        );
    }
    if let Some(url) = from_dot_env(Path::new(".env"))? {
        return given(
            url,
            Source::DotEnv,
            "DATABASE_URL in ./.env is empty; set it to a URL (",
            ") or remove the line",
        );
    }
    Ok(Resolved {
        url: default_database_url(),
        source: Source::Default,
    })
}

fn given(url: String, source: Source, before: &str, after: &str) -> Result<Resolved, String> {
    if url.trim().is_empty() {
        return Err(format!("{before}{EXAMPLE}{after}; nothing was changed"));
    }
    Ok(Resolved { url, source })
}

/// `DATABASE_URL` from a dotenv file, when the file exists and sets it.
fn from_dot_env(path: &Path) -> Result<Option<String>, String> {
    let entries = match dotenvy::from_path_iter(path) {
        Ok(entries) => entries,
        Err(error) if error.not_found() => return Ok(None),
        Err(error) => return Err(format!("could not read {}: {error}", path.display())),
    };
    let mut found = None;
    for entry in entries {
        // dotenvy's message quotes the line, which may hold a password:
        // say only where it is.
        let (key, value) = entry.map_err(|error| match error {
            dotenvy::Error::LineParse(_, index) => format!(
                "could not parse {} (at character {index} of a line); fix the file or give the URL with --database-url",
                path.display()
            ),
            other => format!("could not read {}: {other}", path.display()),
        })?;
        // The last assignment wins, as when a shell sources the file.
        if key == "DATABASE_URL" {
            found = Some(value);
        }
    }
    Ok(found)
}
