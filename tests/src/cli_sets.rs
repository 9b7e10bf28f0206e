//! The migration sets the CLI tests run through the `cli_child` helper
//! binary (`src/bin/cli_child.rs`). They live in the library so that the
//! helper links them: `#[migration]` registers each revision with
//! `inventory`, which collects what is linked into the running binary.
//! Their set names start with `cli_`, which no other test uses.

/// Revisions of `tests/cli_failed.rs`: a failure outside a transaction, an irreversible revision, a revision that reads data, a panic.
pub mod failed {
    use cofferdam::prelude::*;

    #[migration(set = "cli_outside_tx")]
    async fn make_widgets(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE widgets (id INTEGER PRIMARY KEY)")
            .await
    }

    /// Outside a transaction, like `CREATE INDEX CONCURRENTLY`; names a column that does not exist.
    #[migration(set = "cli_outside_tx", after = make_widgets, transaction = false)]
    async fn index_widgets(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE INDEX widgets_colour ON widgets (colour)")
            .await
    }

    #[migration(set = "cli_irreversible")]
    async fn keep_forever(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE kept (id INTEGER PRIMARY KEY)")
            .await
    }

    #[migration(set = "cli_irreversible", after = keep_forever, down = unmake_extra)]
    async fn make_extra(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE extra (id INTEGER PRIMARY KEY)")
            .await
    }

    async fn unmake_extra(m: &mut Migration<'_>) -> Result<()> {
        m.execute("DROP TABLE extra").await
    }

    #[migration(set = "cli_reads_data")]
    async fn seed_colours(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE colours (id INTEGER PRIMARY KEY, name VARCHAR(20))")
            .await?;
        m.execute("INSERT INTO colours (id, name) VALUES (1, 'red')")
            .await
    }

    /// Its statements depend on the rows it reads.
    #[migration(set = "cli_reads_data", after = seed_colours)]
    async fn copy_colours(m: &mut Migration<'_>) -> Result<()> {
        let rows: Vec<(i64,)> = m.fetch_all("SELECT id FROM colours").await?;
        for (id,) in rows {
            m.execute(&format!("UPDATE colours SET name = 'copy' WHERE id = {id}"))
                .await?;
        }
        Ok(())
    }

    #[migration(set = "cli_reads_data", after = copy_colours)]
    async fn index_colours(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE INDEX colours_name ON colours (name)")
            .await
    }

    #[migration(set = "cli_panics")]
    async fn panics_midway(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE half_made (id INTEGER PRIMARY KEY)")
            .await?;
        panic!("simulated bug in a migration");
    }
}

/// Revisions of `tests/cli_destructive.rs`: a reviewed destructive revision.
pub mod destructive {
    use cofferdam::prelude::*;

    #[migration(set = "cli_destructive")]
    async fn create_notes(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, legacy TEXT)")
            .await
    }

    #[migration(set = "cli_destructive", after = create_notes)]
    #[destructive(reviewed, reason = "legacy was copied into body in 2024; backup taken")]
    async fn drop_legacy(m: &mut Migration<'_>) -> Result<()> {
        m.exec(Table::alter().table("notes").drop_column("legacy"))
            .await
    }
}

/// Revisions of `tests/cli_graphs.rs`: a graph with two heads.
pub mod graphs {
    use cofferdam::prelude::*;

    #[migration(set = "cli_two_heads")]
    async fn base(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE base_table (id INTEGER PRIMARY KEY)")
            .await
    }

    #[migration(set = "cli_two_heads", after = base)]
    async fn left_branch(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE left_table (id INTEGER PRIMARY KEY)")
            .await
    }

    #[migration(set = "cli_two_heads", after = base)]
    async fn right_branch(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE right_table (id INTEGER PRIMARY KEY)")
            .await
    }
}

/// Does nothing; calling it makes sure this module is linked, so that its
/// revisions are registered.
pub fn link() {}
