//! The `#[migration]` and `#[destructive]` attributes of cofferdam.
//!
//! Not intended to be used directly: depend on `cofferdam`, which re-exports
//! them. The entry points are thin; the work is a pipeline:
//! [`attr`] (parse arguments) → [`valid`] (check the function) →
//! [`scan`] (find destructive operations) → [`expand`] (emit the registration).
//! `#[derive(Model)]` is its own pipeline in [`model`].

#![forbid(unsafe_code)]

mod attr;
mod checksum;
mod ctxt;
mod expand;
mod model;
mod scan;
mod test;
mod valid;

use proc_macro::TokenStream;

/// Marks an `async fn name(m: &mut Migration<'_>) -> Result<()>` as a revision.
///
/// Arguments: `after = parent` or `after = [a, b]` (Rust paths to other
/// migrations), `id = "..."`, `down = reverse_fn`, `transaction = false`,
/// `set = "..."`, `replaces = [a, b, "deleted_c"]` (a squash: the chain of
/// revisions it builds in one step; paths while their code exists, ids once
/// it is deleted).
#[proc_macro_attribute]
pub fn migration(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::migration(args.into(), item.into()).into()
}

/// Acknowledges the destructive operations of a migration after a review:
/// `#[destructive(reviewed, reason = "...")]`. Only valid with `#[migration]`.
#[proc_macro_attribute]
pub fn destructive(args: TokenStream, item: TokenStream) -> TokenStream {
    expand::destructive(args.into(), item.into()).into()
}

/// Turns an `async fn name(db: cofferdam::testing::TestDatabase)` into one
/// `#[test]` per engine (`name_sqlite`, `name_postgres`, `name_mysql`), each
/// with a fresh database, migrated when the attribute names a set, dropped
/// when the test ends. Needs the `testing` feature of `cofferdam`.
///
/// Arguments, all optional: `migrator = path::to::migrator` (a
/// `fn() -> Migrator`; without it the database is empty), `to = path::to::revision`
/// or `before = path::to::revision` (migrate to that #[migration] function,
/// or to its parents; default: the head), `engines = [sqlite, postgres, mysql]`
/// (default: all three). Other attributes (`#[ignore]`, `#[should_panic]`)
/// apply to every generated test.
#[proc_macro_attribute]
pub fn test(args: TokenStream, item: TokenStream) -> TokenStream {
    test::expand(args.into(), item.into()).into()
}

/// Declares the table a struct is stored in, for `migrate new --autogenerate`
/// and `migrate check`: `#[derive(cofferdam::Model)]`.
///
/// On the struct: `#[model(table = "articles")]` (default: the struct's
/// name in snake_case), `set = "..."` (default: the crate's name; the
/// migrator of that set compares with it), and
/// `index(columns = [a, b], unique, name = "...")` for a multi-column index.
/// On a field: `primary_key` (several make a composite key),
/// `auto_increment`, `unique`, `index`, `len = N` (`varchar(N)`),
/// `precision = P, scale = S`, `default = <literal>`,
/// `default_sql = "now()"`, `column = "..."`, `sql_type = "..."`,
/// `references(table.column, on_delete = cascade)`, `skip`.
/// `Option<T>` is a nullable column.
#[proc_macro_derive(Model, attributes(model))]
pub fn derive_model(item: TokenStream) -> TokenStream {
    model::derive(item.into()).into()
}
