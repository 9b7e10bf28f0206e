//! Which rename candidates of `migrate new --autogenerate` are renames.
//!
//! A column dropped and another of the same type added in one table may be
//! a rename, and a rename keeps the data where a drop and an add lose it.
//! Autogenerate never guesses: `--rename TABLE.OLD=NEW` says so up front
//! (for scripts and CI), and on a terminal each remaining candidate is
//! asked about. Elsewhere the pair stays a drop and an add, with a comment
//! in the file that shows how to make it a rename.

use std::io::{BufRead, IsTerminal, Write};

/// The answers: given on the command line, or asked for.
pub(super) struct Renames {
    /// `(table, old, new)` from `--rename`.
    given: Vec<(String, String, String)>,
    /// Which of `given` matched a candidate.
    used: Vec<bool>,
    /// Ask on the terminal about candidates `--rename` did not name.
    ask: bool,
}

impl Renames {
    /// Parses the `--rename` values; asks about the rest only when both
    /// stdin and stderr are terminals.
    pub(super) fn new(flags: &[String]) -> Result<Renames, String> {
        let given = flags
            .iter()
            .map(|flag| parse(flag))
            .collect::<Result<Vec<_>, _>>()?;
        Ok(Renames {
            used: vec![false; given.len()],
            given,
            ask: std::io::stdin().is_terminal() && std::io::stderr().is_terminal(),
        })
    }

    /// Whether `table.dropped` becoming `table.added` is a rename.
    pub(super) fn decide(&mut self, table: &str, dropped: &str, added: &str) -> bool {
        if let Some(at) = self
            .given
            .iter()
            .position(|(t, old, new)| t == table && old == dropped && new == added)
        {
            self.used[at] = true;
            return true;
        }
        self.ask
            && ask(
                table,
                dropped,
                added,
                &mut std::io::stdin().lock(),
                &mut std::io::stderr(),
            )
    }

    /// The `--rename` values that matched no candidate.
    pub(super) fn unused(&self) -> Vec<String> {
        self.given
            .iter()
            .zip(&self.used)
            .filter(|(_, used)| !**used)
            .map(|((table, old, new), _)| format!("{table}.{old}={new}"))
            .collect()
    }
}

/// `TABLE.OLD=NEW` as its three names.
fn parse(flag: &str) -> Result<(String, String, String), String> {
    let parsed = flag.split_once('=').and_then(|(from, new)| {
        let (table, old) = from.rsplit_once('.')?;
        [table, old, new]
            .iter()
            .all(|part| !part.trim().is_empty())
            .then(|| {
                (
                    table.trim().to_owned(),
                    old.trim().to_owned(),
                    new.trim().to_owned(),
                )
            })
    });
    parsed.ok_or_else(|| {
        format!(
            "`--rename {flag}` is not TABLE.OLD=NEW (for example `--rename articles.body=content`)"
        )
    })
}

/// Asks on `output`, reads the answer from `input`: yes only for `y`/`yes`.
fn ask(
    table: &str,
    dropped: &str,
    added: &str,
    input: &mut impl BufRead,
    output: &mut impl Write,
) -> bool {
    let _ = write!(
        output,
        "`{table}.{dropped}` was dropped and `{table}.{added}` added with the same type.\nRename `{dropped}` to `{added}` (keeps the values)? [y/N] "
    );
    let _ = output.flush();
    let mut answer = String::new();
    if input.read_line(&mut answer).is_err() {
        return false;
    }
    matches!(answer.trim().to_ascii_lowercase().as_str(), "y" | "yes")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_rename_flag_names_table_old_and_new() {
        assert_eq!(
            parse("articles.body=content").unwrap(),
            ("articles".into(), "body".into(), "content".into())
        );
        // A schema-qualified table keeps its dot.
        assert_eq!(
            parse("app.articles.body=content").unwrap().0,
            "app.articles"
        );
        for bad in [
            "articles.body",
            "body=content",
            "articles.=content",
            "articles.body=",
        ] {
            let error = parse(bad).unwrap_err();
            assert!(error.contains("is not TABLE.OLD=NEW"), "{bad}: {error}");
        }
    }

    #[test]
    fn the_prompt_takes_only_a_yes() {
        for (answer, expected) in [
            ("y\n", true),
            ("Yes\n", true),
            ("\n", false),
            ("n\n", false),
            ("", false),
        ] {
            let mut shown = Vec::new();
            let said = ask(
                "articles",
                "body",
                "content",
                &mut answer.as_bytes(),
                &mut shown,
            );
            assert_eq!(said, expected, "answer {answer:?}");
            let shown = String::from_utf8(shown).unwrap();
            assert!(
                shown.contains("Rename `body` to `content` (keeps the values)? [y/N]"),
                "{shown}"
            );
        }
    }

    #[test]
    fn given_renames_are_taken_and_the_rest_reported() {
        let mut renames = Renames {
            given: vec![
                ("a".into(), "x".into(), "y".into()),
                ("b".into(), "p".into(), "q".into()),
            ],
            used: vec![false, false],
            ask: false,
        };
        assert!(renames.decide("a", "x", "y"));
        assert!(!renames.decide("a", "x", "z"), "not named and not asked");
        assert_eq!(renames.unused(), ["b.p=q"]);
    }
}
