//! The `#[migration]` and `#[destructive]` attributes of cofferdam.
//!
//! Not intended to be used directly: depend on `cofferdam`, which re-exports
//! them. The entry points are thin; the work is a pipeline:
//! [`attr`] (parse arguments) → [`valid`] (check the function) →
//! [`scan`] (find destructive operations) → [`expand`] (emit the registration).

#![forbid(unsafe_code)]

mod attr;
mod checksum;
mod ctxt;
mod expand;
mod scan;
mod test;
mod valid;

use proc_macro::TokenStream;

/// Marks an `async fn name(m: &mut Migration<'_>) -> Result<()>` as a revision.
///
/// Arguments: `after = parent` or `after = [a, b]` (Rust paths to other
/// migrations), `id = "..."`, `down = reverse_fn`, `transaction = false`,
/// `set = "..."`.
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
