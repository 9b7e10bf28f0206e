//! `migrate new` scaffolds a module in a copy of the example's migrations
//! crate: the file, its `mod` line, and a parent written as a Rust path.

mod cli_support;

use cli_support::command;
use std::path::{Path, PathBuf};

/// A scratch directory holding a copy of the migrations crate as `migrations/`.
fn scratch_copy() -> PathBuf {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_nanos();
    let dir = std::env::temp_dir().join(format!("cofferdam-new-{}-{nanos}", std::process::id()));
    let source = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../migrations");
    std::fs::create_dir_all(dir.join("migrations/src")).unwrap();
    std::fs::copy(source.join("Cargo.toml"), dir.join("migrations/Cargo.toml")).unwrap();
    std::fs::copy(source.join("src/lib.rs"), dir.join("migrations/src/lib.rs")).unwrap();
    dir
}

async fn new(dir: &Path, args: &[&str]) -> cli_support::Run {
    let mut full = vec!["new"];
    full.extend(args);
    let child = command("sqlite::memory:", &full)
        .current_dir(dir)
        .spawn()
        .unwrap();
    cli_support::finish(child).await
}

#[tokio::test]
async fn new_writes_a_module_after_the_head_and_registers_it() {
    let dir = scratch_copy();
    let lib = dir.join("migrations/src/lib.rs");
    let before = std::fs::read_to_string(&lib).unwrap();

    new(&dir, &["add_tags"])
        .await
        .expect(0)
        .stdout_has("created migrations/src/add_tags.rs (revision `add_tags`, after link_authors)")
        .stdout_has("added `mod add_tags;` to migrations/src/lib.rs");
    let file = std::fs::read_to_string(dir.join("migrations/src/add_tags.rs")).unwrap();
    assert!(file.contains("use cofferdam::prelude::*;"), "{file}");
    assert!(
        file.contains(
            "#[migration(after = crate::link_authors)]\npub async fn add_tags(m: &mut Migration<'_>) -> Result<()> {"
        ),
        "{file}"
    );
    assert!(
        file.contains("todo!(\"write the migration `add_tags`\")"),
        "{file}"
    );
    let after = std::fs::read_to_string(&lib).unwrap();
    assert_eq!(after, format!("{before}\nmod add_tags;\n"));

    // Never overwritten, and the crate root is left as it was.
    new(&dir, &["add_tags"])
        .await
        .expect(1)
        .stderr_has("`migrations/src/add_tags.rs` already exists; nothing was written");
    assert_eq!(std::fs::read_to_string(&lib).unwrap(), after);

    // Several parents make a merge revision.
    new(
        &dir,
        &[
            "join_parts",
            "--after",
            "add_slug",
            "--after",
            "create_authors",
        ],
    )
    .await
    .expect(0);
    let file = std::fs::read_to_string(dir.join("migrations/src/join_parts.rs")).unwrap();
    assert!(
        file.contains("#[migration(after = [crate::add_slug, crate::create_authors])]"),
        "{file}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn new_refuses_bad_names_unknown_parents_and_missing_crates() {
    let dir = scratch_copy();
    let lib = dir.join("migrations/src/lib.rs");
    let before = std::fs::read_to_string(&lib).unwrap();
    new(&dir, &["Add-Tags"])
        .await
        .expect(2)
        .stderr_has("`Add-Tags` is not a valid migration name");
    new(&dir, &["link_authors"]).await.expect(1).stderr_has(
        "a revision named `link_authors` already exists (example_migrations::link_authors at ",
    );
    new(&dir, &["add_tags", "--after", "nope"])
        .await
        .expect(2)
        .stderr_has("unknown revision `nope`");
    std::fs::create_dir_all(dir.join("empty")).unwrap();
    new(&dir, &["add_tags", "--dir", "empty"])
        .await
        .expect(1)
        .stderr_has("`empty` has no lib.rs, main.rs or mod.rs");
    assert_eq!(
        std::fs::read_to_string(&lib).unwrap(),
        before,
        "nothing was written"
    );
    assert!(!dir.join("migrations/src/add_tags.rs").exists());

    // Without a migrations/ directory, `src` of the current crate is used.
    let crate_dir = dir.join("migrations");
    new(&crate_dir, &["add_tags"])
        .await
        .expect(0)
        .stdout_has("created src/add_tags.rs");
    let _ = std::fs::remove_dir_all(&dir);
}
