//! Reading a live schema with sea-schema, one file per engine, into the
//! normalised [`Schema`].
//!
//! SQLite and MySQL/MariaDB are read with sea-schema 0.18 (on sea-query
//! 1.0 and sqlx 0.9, as we are): columns, types, defaults, keys, indexes
//! and foreign keys; one more query on the same pool lists views, triggers
//! and routines. sea-schema wants a pool; each read opens a pool of one
//! connection and closes it. PostgreSQL is read from `pg_catalog` in four
//! queries instead: sea-schema took 242 s for 200 tables there (the
//! reason, measured, is in `postgres.rs`).

mod mysql;
mod postgres;
mod sqlite;

use super::Backend;
use crate::schema::{ColumnDefault, ForeignKeyAction, Schema, Type};
use crate::url::redact;
use crate::{Error, Result};
use sea_query::{ColumnType, StringLen};
use std::borrow::Cow;

/// Reads the schema of the database at `url`, leaving out the tables
/// named in `ignore` (the history table).
pub(crate) async fn introspect(url: &str, ignore: &[&str]) -> Result<Schema> {
    let failed = |source: sqlx::Error| Error::Introspect {
        url: redact(url),
        source,
    };
    let mut schema: Schema = match Backend::from_url(url)? {
        #[cfg(feature = "sqlite")]
        Backend::Sqlite => sqlite::read(url).await.map_err(failed)?,
        #[cfg(feature = "postgres")]
        Backend::Postgres => postgres::read(url).await.map_err(failed)?,
        #[cfg(feature = "mysql")]
        Backend::MySql => mysql::read(url).await.map_err(failed)?,
        #[allow(unreachable_patterns)]
        other => {
            return Err(Error::BackendDisabled {
                backend: other.name(),
            });
        }
    };
    schema
        .tables
        .retain(|name, _| !ignore.iter().any(|i| i.eq_ignore_ascii_case(name)));
    schema
        .unsupported
        .retain(|note| !ignore.iter().any(|i| note.contains(&format!("`{i}`"))));
    // cofferdam's own: the digest's trigger and function (named after the
    // history table) and the PostgreSQL backstop (`cofferdam_guard_*`, on
    // every table).
    schema.objects.retain(|object| {
        !object.contains("`cofferdam_")
            && !ignore.iter().any(|i| {
                let i = i.to_ascii_lowercase();
                let object = object.to_ascii_lowercase();
                object.contains(&format!("`{i}`")) || object.contains(&format!("`{i}_"))
            })
    });
    Ok(schema)
}

/// One of [`Schema::objects`]: the kind and the name in backquotes, and
/// for a trigger its table: ``trigger `bonus` on `priced` ``.
fn object(kind: &str, name: &str, table: Option<&str>) -> String {
    match table {
        Some(table) => format!("{kind} `{name}` on `{table}`"),
        None => format!("{kind} `{name}`"),
    }
}

/// A sea-query column type as one of ours. What has no counterpart is kept
/// by its sea-query name, as a [`Type::Custom`], so it still compares.
pub(super) fn from_column_type(ty: &ColumnType) -> Type {
    match ty {
        ColumnType::TinyInteger | ColumnType::SmallInteger | ColumnType::TinyUnsigned => {
            Type::SmallInt
        }
        ColumnType::Integer | ColumnType::SmallUnsigned => Type::Int,
        ColumnType::BigInteger | ColumnType::Unsigned | ColumnType::BigUnsigned => Type::BigInt,
        ColumnType::Boolean => Type::Bool,
        ColumnType::Float => Type::Float,
        ColumnType::Double => Type::Double,
        ColumnType::Decimal(precision) => Type::Decimal(*precision),
        ColumnType::String(StringLen::N(n)) => Type::Varchar(*n),
        ColumnType::String(_) | ColumnType::Text => Type::Text,
        ColumnType::Blob | ColumnType::VarBinary(StringLen::None) => Type::Blob,
        ColumnType::Date => Type::Date,
        ColumnType::Time => Type::Time,
        ColumnType::DateTime => Type::Timestamp,
        // What sea-query creates for `timestamp_with_time_zone()` on MySQL
        // (`timestamp`, stored in UTC) and reads back on SQLite.
        ColumnType::Timestamp | ColumnType::TimestampWithTimeZone => Type::TimestampTz,
        ColumnType::Uuid => Type::Uuid,
        ColumnType::Json | ColumnType::JsonBinary => Type::Json,
        ColumnType::Custom(name) => Type::Custom(Cow::Owned(name.to_string().to_lowercase())),
        other => Type::Custom(Cow::Owned(format!("{other:?}").to_lowercase())),
    }
}

/// A foreign key action by its SQL or Rust name (`SET NULL`, `SetNull`, ...).
pub(super) fn action(name: &str) -> ForeignKeyAction {
    let name: String = name.chars().filter(|c| c.is_ascii_alphabetic()).collect();
    match name.to_ascii_uppercase().as_str() {
        "CASCADE" => ForeignKeyAction::Cascade,
        "SETNULL" => ForeignKeyAction::SetNull,
        "SETDEFAULT" => ForeignKeyAction::SetDefault,
        "RESTRICT" => ForeignKeyAction::Restrict,
        _ => ForeignKeyAction::NoAction,
    }
}

/// A default the catalog gives as text.
pub(super) fn sql_default(text: String) -> ColumnDefault {
    ColumnDefault::Sql(Cow::Owned(text))
}
