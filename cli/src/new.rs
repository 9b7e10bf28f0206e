//! `new NAME`: scaffolds a migration as a module of the migrations crate.
//!
//! The file is `<dir>/<name>.rs` and `mod <name>;` is appended to the
//! crate root (`lib.rs`, else `main.rs`, else `mod.rs`) of that directory.
//! There is no timestamp or sequence prefix: the order of revisions is the
//! graph (`after = ...`), not the file names, and a module name cannot start
//! with a digit anyway. The revision id, the function and the file share one
//! name, so a revision is easy to find from the history table.
//!
//! The parent is the current head of the migrator linked into this binary,
//! written as a Rust path (`crate::link_authors`) so that a typo is a
//! compile error. The body is a `todo!()`: the crate compiles, clippy flags
//! it in CI, and if it ever ran it would fail and roll back rather than be
//! recorded as an empty applied revision that cannot be edited afterwards.

use super::{Ctx, exit};
use cofferdam_core::{Error, Revision};
use std::path::{Path, PathBuf};

/// Options of `migrate new`.
#[derive(Debug, clap::Args)]
pub(super) struct NewArgs {
    /// The new revision's name: a snake_case identifier, used as its id, function and file name
    #[arg(value_name = "NAME")]
    name: String,
    /// Build on REV instead of the current head; repeat to create a merge revision
    #[arg(long, value_name = "REV")]
    after: Vec<String>,
    /// Source directory of the migrations crate [default: migrations/src if it exists, else src]
    #[arg(long, value_name = "DIR")]
    dir: Option<PathBuf>,
}

pub(super) fn new(ctx: &Ctx, args: NewArgs) -> u8 {
    let out = &ctx.out;
    if let Err(problem) = valid_name(&args.name) {
        return out.fail(exit::USAGE, &problem);
    }
    let revisions: Vec<&'static Revision> = match ctx.migrator.revisions() {
        Ok(revisions) => revisions,
        Err(Error::NoRevisions { .. }) => Vec::new(),
        Err(error) => return out.error(&error),
    };
    if let Some(existing) = revisions.iter().find(|r| r.id == args.name) {
        return out.fail(
            exit::ERROR,
            &format!(
                "a revision named `{}` already exists ({} at {}); nothing was written; choose another name",
                args.name,
                existing.function,
                existing.location()
            ),
        );
    }
    let parents = match parents(ctx, &args, &revisions) {
        Ok(parents) => parents,
        Err(code) => return code,
    };
    let dir = args.dir.clone().unwrap_or_else(|| {
        let migrations = PathBuf::from("migrations/src");
        if migrations.is_dir() {
            migrations
        } else {
            PathBuf::from("src")
        }
    });
    let Some(root) = ["lib.rs", "main.rs", "mod.rs"]
        .iter()
        .map(|file| dir.join(file))
        .find(|path| path.is_file())
    else {
        return out.fail(
            exit::ERROR,
            &format!(
                "`{}` has no lib.rs, main.rs or mod.rs to add the module to; nothing was written; \
                 pass --dir with the source directory of the migrations crate",
                dir.display()
            ),
        );
    };
    let file = dir.join(format!("{}.rs", args.name));
    if file.exists() {
        return out.fail(
            exit::ERROR,
            &format!(
                "`{}` already exists; nothing was written; choose another name, or delete the file if it is a leftover",
                file.display()
            ),
        );
    }
    let this_crate = crate_name(&dir);
    let paths: Vec<String> = parents
        .iter()
        .map(|parent| rust_path(parent, this_crate.as_deref()))
        .collect();
    if let Err(error) = std::fs::write(&file, template(&args.name, &paths)) {
        return out.fail(
            exit::ERROR,
            &format!(
                "could not write `{}`: {error}; nothing was changed",
                file.display()
            ),
        );
    }
    if let Err(error) = append_mod(&root, &args.name) {
        let _ = std::fs::remove_file(&file);
        return out.fail(
            exit::ERROR,
            &format!(
                "could not add `mod {};` to `{}`: {error}; nothing was changed",
                args.name,
                root.display()
            ),
        );
    }
    let after = if parents.is_empty() {
        "a root revision".to_owned()
    } else {
        format!(
            "after {}",
            parents.iter().map(|p| p.id).collect::<Vec<_>>().join(", ")
        )
    };
    out.line(&format!(
        "created {} (revision `{}`, {after})",
        file.display(),
        args.name
    ));
    out.line(&format!("added `mod {};` to {}", args.name, root.display()));
    out.line(
        "next: write the migration in place of the todo!(), build, then `migrate up --dry-run`",
    );
    exit::OK
}

/// The parents: `--after` as given, else the single head (none for a first revision).
fn parents(
    ctx: &Ctx,
    args: &NewArgs,
    revisions: &[&'static Revision],
) -> Result<Vec<&'static Revision>, u8> {
    if !args.after.is_empty() {
        return args
            .after
            .iter()
            .map(|id| {
                revisions
                    .iter()
                    .copied()
                    .find(|r| r.id == id)
                    .ok_or_else(|| {
                        ctx.out.error(&Error::UnknownRevision {
                            revision: id.clone(),
                        })
                    })
            })
            .collect();
    }
    let heads: Vec<&'static Revision> = revisions
        .iter()
        .copied()
        .filter(|r| !revisions.iter().any(|child| child.parents.contains(&r.id)))
        .collect();
    if heads.len() > 1 {
        let ids: Vec<&str> = heads.iter().map(|h| h.id).collect();
        return Err(ctx.out.fail(
            exit::MULTIPLE_HEADS,
            &format!(
                "the graph has {} heads ({}), so the new revision's parent is ambiguous; nothing was written; \
                 pass `--after {}` to extend one branch, or `--after {}` to merge them",
                heads.len(),
                ids.join(", "),
                ids[0],
                ids.join(" --after ")
            ),
        ));
    }
    Ok(heads)
}

fn valid_name(name: &str) -> Result<(), String> {
    const KEYWORDS: &[&str] = &[
        "as", "async", "await", "break", "const", "continue", "crate", "dyn", "else", "enum",
        "extern", "false", "fn", "for", "gen", "if", "impl", "in", "let", "loop", "match", "mod",
        "move", "mut", "pub", "ref", "return", "self", "static", "struct", "super", "trait",
        "true", "try", "type", "unsafe", "use", "where", "while", "yield", "lib", "main",
    ];
    let shaped = name
        .chars()
        .next()
        .is_some_and(|c| c.is_ascii_lowercase() || c == '_')
        && name
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_')
        && name != "_";
    if !shaped {
        return Err(format!(
            "`{name}` is not a valid migration name: use snake_case letters, digits and `_`, starting with a letter, e.g. `add_article_tags`"
        ));
    }
    if KEYWORDS.contains(&name) {
        return Err(format!(
            "`{name}` cannot be a migration name: it is a Rust keyword or a reserved file name; try a name that says what changes, e.g. `add_article_tags`"
        ));
    }
    Ok(())
}

/// The package name of the crate whose sources are in `dir`, as a Rust identifier.
fn crate_name(dir: &Path) -> Option<String> {
    let manifest = dir
        .ancestors()
        .skip(1)
        .map(|d| d.join("Cargo.toml"))
        .find(|p| p.is_file())?;
    let text = std::fs::read_to_string(manifest).ok()?;
    let mut in_package = false;
    for line in text.lines().map(str::trim) {
        if line.starts_with('[') {
            in_package = line == "[package]";
        } else if in_package && let Some(value) = line.strip_prefix("name") {
            let value = value
                .trim_start()
                .strip_prefix('=')?
                .trim()
                .trim_matches('"');
            return Some(value.replace('-', "_"));
        }
    }
    None
}

/// `example_migrations::link_authors` as seen from `this_crate`: `crate::link_authors`.
fn rust_path(revision: &Revision, this_crate: Option<&str>) -> String {
    match revision.function.split_once("::") {
        Some((krate, rest)) if this_crate.is_none_or(|c| c == krate) => format!("crate::{rest}"),
        _ => revision.function.to_owned(),
    }
}

fn template(name: &str, parents: &[String]) -> String {
    let after = match parents {
        [] => String::new(),
        [one] => format!("after = {one}"),
        many => format!("after = [{}]", many.join(", ")),
    };
    format!(
        r#"//! Revision `{name}`.

use cofferdam::prelude::*;

/// Say in one sentence what this revision changes and why.
///
/// To make it reversible, add `down = undo_{name}` to `#[migration(...)]`
/// and write `async fn undo_{name}(m: &mut Migration<'_>) -> Result<()>`.
#[migration({after})]
pub async fn {name}(m: &mut Migration<'_>) -> Result<()> {{
    // Statements built with sea-query are rendered for the connected backend:
    // m.exec(Table::alter().table("articles").add_column(ColumnDef::new("tags").text().null())).await?;
    // SQL text works too, one statement or several:
    // m.execute("CREATE INDEX articles_title ON articles (title)").await?;
    let _ = m;
    todo!("write the migration `{name}`")
}}
"#
    )
    .replace("#[migration()]", "#[migration]")
}

fn append_mod(root: &Path, name: &str) -> std::io::Result<()> {
    let mut text = std::fs::read_to_string(root)?;
    if !text.ends_with('\n') && !text.is_empty() {
        text.push('\n');
    }
    text.push_str(&format!("\nmod {name};\n"));
    std::fs::write(root, text)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_must_be_snake_case_identifiers() {
        assert!(valid_name("add_tags").is_ok());
        assert!(valid_name("v2_backfill").is_ok());
        assert!(valid_name("AddTags").is_err());
        assert!(valid_name("2_tags").is_err());
        assert!(valid_name("add-tags").is_err());
        assert!(valid_name("mod").is_err());
        assert!(valid_name("").is_err());
    }

    #[test]
    fn a_root_revision_has_no_after() {
        let text = template("first", &[]);
        assert!(text.contains("#[migration]\npub async fn first"), "{text}");
        let text = template("merge", &["crate::a".into(), "crate::b".into()]);
        assert!(
            text.contains("#[migration(after = [crate::a, crate::b])]"),
            "{text}"
        );
    }
}
