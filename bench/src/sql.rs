//! The SQL every variant runs. `build.rs` includes this file too, so the
//! generated `#[migration]` functions and the baselines cannot drift apart.

/// Revisions compiled into the binary as `#[migration]` functions.
pub const REVISIONS: usize = 1000;

/// The id of revision `i`, which is also its function name.
pub fn revision_id(i: usize) -> String {
    format!("rev_{i:04}")
}

/// The first statement of revision `i`.
pub fn create_table(i: usize) -> String {
    format!(
        "CREATE TABLE t_{i} (id BIGINT PRIMARY KEY, name TEXT NOT NULL, \
         created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
    )
}

/// The second statement of revision `i`.
pub fn create_index(i: usize) -> String {
    format!("CREATE INDEX t_{i}_name ON t_{i} (name)")
}
