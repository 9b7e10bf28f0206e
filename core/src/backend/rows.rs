//! Reading rows in data migrations, whatever the backend.

#[cfg(feature = "mysql")]
use sqlx::mysql::MySqlRow;
#[cfg(feature = "postgres")]
use sqlx::postgres::PgRow;
#[cfg(feature = "sqlite")]
use sqlx::sqlite::SqliteRow;

macro_rules! row_bound {
    ($name:ident, $feature:literal, $row:ty) => {
        #[doc(hidden)]
        #[cfg(feature = $feature)]
        pub trait $name: for<'r> sqlx::FromRow<'r, $row> {}
        #[cfg(feature = $feature)]
        impl<T: for<'r> sqlx::FromRow<'r, $row>> $name for T {}
        #[doc(hidden)]
        #[cfg(not(feature = $feature))]
        pub trait $name {}
        #[cfg(not(feature = $feature))]
        impl<T> $name for T {}
    };
}

row_bound!(FromSqliteRow, "sqlite", SqliteRow);
row_bound!(FromPgRow, "postgres", PgRow);
row_bound!(FromMySqlRow, "mysql", MySqlRow);

/// A row type that every enabled backend can decode: tuples such as
/// `(i64, String)` and `#[derive(sqlx::FromRow)]` structs.
pub trait FromAnyRow: FromSqliteRow + FromPgRow + FromMySqlRow + Send + Unpin + 'static {}
impl<T: FromSqliteRow + FromPgRow + FromMySqlRow + Send + Unpin + 'static> FromAnyRow for T {}
