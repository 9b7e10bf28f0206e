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

/// Revisions of `tests/cli_failed.rs`: a unique index built concurrently on
/// a column with duplicates, which fails and leaves an INVALID index, and a
/// `down` that cleans it up.
pub mod concurrent_index {
    use cofferdam::prelude::*;

    #[migration(set = "cli_cic")]
    async fn cic_users(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE cic_users (id INTEGER PRIMARY KEY, email VARCHAR(40))")
            .await?;
        m.execute(
            "INSERT INTO cic_users (id, email) VALUES (1, 'a@example.com'), (2, 'a@example.com')",
        )
        .await
    }

    #[migration(set = "cli_cic", after = cic_users, transaction = false, down = drop_cic_email)]
    async fn cic_email(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE UNIQUE INDEX CONCURRENTLY cic_users_email ON cic_users (email)")
            .await
    }

    async fn drop_cic_email(m: &mut Migration<'_>) -> Result<()> {
        m.execute("DROP INDEX CONCURRENTLY IF EXISTS cic_users_email")
            .await
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

/// Revisions of the phase test in `tests/cli_destructive.rs`: the same
/// drop, in the contract phase.
pub mod phase {
    use cofferdam::prelude::*;

    #[migration(set = "cli_phase")]
    async fn create_notes(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, legacy TEXT)")
            .await
    }

    #[migration(set = "cli_phase", after = create_notes, phase = contract)]
    #[destructive(
        reviewed,
        reason = "the release before this one stopped reading legacy"
    )]
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

/// Revisions of `tests/cli_lifecycle.rs`: one line of revisions as two
/// binaries of different ages know it, and a binary that went another way.
/// The modules share function names, so the ids (and checksums) agree.
pub mod rollback {
    /// The newer binary: three revisions.
    pub mod newer {
        use cofferdam::prelude::*;

        #[migration(set = "cli_rollback_new")]
        async fn rb_one(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE TABLE rb_one_t (id INTEGER PRIMARY KEY)")
                .await
        }

        #[migration(set = "cli_rollback_new", after = rb_one)]
        async fn rb_two(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE TABLE rb_two_t (id INTEGER PRIMARY KEY)")
                .await
        }

        #[migration(set = "cli_rollback_new", after = rb_two)]
        async fn rb_three(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE TABLE rb_three_t (id INTEGER PRIMARY KEY)")
                .await
        }
    }

    /// The older binary, rolled back to: the first two revisions.
    pub mod older {
        use cofferdam::prelude::*;

        #[migration(set = "cli_rollback_old")]
        async fn rb_one(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE TABLE rb_one_t (id INTEGER PRIMARY KEY)")
                .await
        }

        #[migration(set = "cli_rollback_old", after = rb_one)]
        async fn rb_two(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE TABLE rb_two_t (id INTEGER PRIMARY KEY)")
                .await
        }
    }

    /// A binary whose third revision is another one: diverged.
    pub mod other {
        use cofferdam::prelude::*;

        #[migration(set = "cli_rollback_other")]
        async fn rb_one(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE TABLE rb_one_t (id INTEGER PRIMARY KEY)")
                .await
        }

        #[migration(set = "cli_rollback_other", after = rb_one)]
        async fn rb_two(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE TABLE rb_two_t (id INTEGER PRIMARY KEY)")
                .await
        }

        #[migration(set = "cli_rollback_other", after = rb_two)]
        async fn rb_elsewhere(m: &mut Migration<'_>) -> Result<()> {
            m.execute("CREATE TABLE rb_elsewhere_t (id INTEGER PRIMARY KEY)")
                .await
        }
    }
}

/// Revisions of `tests/cli_lifecycle.rs`: a root with two branches, for `stamp`.
pub mod stamp {
    use cofferdam::prelude::*;

    #[migration(set = "cli_stamp")]
    async fn st_root(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE st_root_t (id INTEGER PRIMARY KEY)")
            .await
    }

    #[migration(set = "cli_stamp", after = st_root)]
    async fn st_left(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE st_left_t (id INTEGER PRIMARY KEY)")
            .await
    }

    #[migration(set = "cli_stamp", after = st_root)]
    async fn st_right(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE st_right_t (id INTEGER PRIMARY KEY)")
            .await
    }
}

/// Revisions of `tests/cli_lifecycle.rs`: runners racing with two spellings
/// of the history table, and a SQLite file held busy.
pub mod spellings {
    use cofferdam::prelude::*;

    #[migration(set = "cli_spellings")]
    async fn sp_table(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE sp_t (id INTEGER PRIMARY KEY, name VARCHAR(20))")
            .await
    }

    /// Outside a transaction: its history row is written as `started`
    /// first, the row a racing runner must never touch.
    #[migration(set = "cli_spellings", after = sp_table, transaction = false)]
    async fn sp_index(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE INDEX sp_t_name ON sp_t (name)").await
    }
}

/// Revisions of `tests/cli_lifecycle.rs`: a revision that parks on a lock
/// the test holds, so that `status` can be asked while it runs.
pub mod slow {
    use cofferdam::prelude::*;

    /// Outside a transaction (on MySQL every revision is): recorded as
    /// `started` while it waits for the test's gate.
    #[migration(set = "cli_slow", transaction = false)]
    async fn slow_gate(m: &mut Migration<'_>) -> Result<()> {
        match m.backend() {
            Backend::Postgres => {
                m.execute("SELECT pg_advisory_lock(4201)").await?;
                m.execute("SELECT pg_advisory_unlock(4201)").await?;
            }
            Backend::MySql => {
                m.execute("SELECT GET_LOCK(CONCAT('cfdm_gate_', DATABASE()), 120)")
                    .await?;
                m.execute("SELECT RELEASE_LOCK(CONCAT('cfdm_gate_', DATABASE()))")
                    .await?;
            }
            _ => {}
        }
        m.execute("CREATE TABLE slow_t (id INTEGER PRIMARY KEY)")
            .await
    }
}

/// Revisions of `tests/lease.rs`: three tables, the second revision
/// pausing for `CFDM_LEASE_PAUSE_MS` milliseconds (0 when unset) before its
/// statement, so that a test can stop or kill a runner while it holds the
/// lease.
pub mod lease {
    use cofferdam::prelude::*;

    #[migration(set = "cli_lease")]
    async fn lease_one(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE lease_one_t (id INTEGER PRIMARY KEY)")
            .await
    }

    #[migration(set = "cli_lease", after = lease_one)]
    async fn lease_slow(m: &mut Migration<'_>) -> Result<()> {
        let pause = std::env::var("CFDM_LEASE_PAUSE_MS")
            .ok()
            .and_then(|ms| ms.parse().ok())
            .unwrap_or(0);
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        m.execute("CREATE TABLE lease_slow_t (id INTEGER PRIMARY KEY)")
            .await
    }

    #[migration(set = "cli_lease", after = lease_slow)]
    async fn lease_three(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE lease_three_t (id INTEGER PRIMARY KEY)")
            .await
    }
}

/// Revisions of `tests/fleet.rs`: three tables, so that a tenant where
/// `fleet_two` already exists fails at the second revision.
pub mod fleet {
    use cofferdam::prelude::*;

    #[migration(set = "cli_fleet")]
    async fn fleet_one(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE fleet_one (id INTEGER PRIMARY KEY)")
            .await
    }

    #[migration(set = "cli_fleet", after = fleet_one)]
    async fn fleet_two(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE fleet_two (id INTEGER PRIMARY KEY)")
            .await
    }

    #[migration(set = "cli_fleet", after = fleet_two)]
    async fn fleet_three(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE fleet_three (id INTEGER PRIMARY KEY)")
            .await
    }
}

/// Revisions of `tests/cli_squash.rs`: two revisions, a squash that
/// replaces them, and one built on the second.
pub mod squash {
    use cofferdam::prelude::*;

    #[migration(set = "cli_squash", down = drop_tags)]
    async fn create_tags(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY)")
            .await
    }

    async fn drop_tags(m: &mut Migration<'_>) -> Result<()> {
        m.execute("DROP TABLE tags").await
    }

    #[migration(set = "cli_squash", after = create_tags, down = remove_label)]
    async fn add_label(m: &mut Migration<'_>) -> Result<()> {
        m.execute("ALTER TABLE tags ADD COLUMN label VARCHAR(40)")
            .await
    }

    async fn remove_label(m: &mut Migration<'_>) -> Result<()> {
        m.execute("ALTER TABLE tags DROP COLUMN label").await
    }

    /// What `create_tags` and `add_label` built, in one step.
    #[migration(set = "cli_squash", replaces = [create_tags, add_label], down = drop_all_tags)]
    async fn tags_squashed(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE TABLE tags (id INTEGER PRIMARY KEY, label VARCHAR(40))")
            .await
    }

    async fn drop_all_tags(m: &mut Migration<'_>) -> Result<()> {
        m.execute("DROP TABLE tags").await
    }

    #[migration(set = "cli_squash", after = add_label, down = unindex_labels)]
    async fn index_labels(m: &mut Migration<'_>) -> Result<()> {
        m.execute("CREATE INDEX tags_label ON tags (label)").await
    }

    async fn unindex_labels(m: &mut Migration<'_>) -> Result<()> {
        m.exec(Index::drop().name("tags_label").table("tags")).await
    }
}

/// Does nothing; calling it makes sure this module is linked, so that its
/// revisions are registered.
pub fn link() {}
