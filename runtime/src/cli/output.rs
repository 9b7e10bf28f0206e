//! What the `migrate` subcommand prints: short lines for people, JSON for machines.

use super::code_for;
use crate::{Error, Event, Report, Status};
use std::io::IsTerminal;

/// Printing settings of one command run.
#[derive(Debug, Clone)]
pub(super) struct Output {
    quiet: bool,
    verbose: u8,
    color: bool,
}

impl Output {
    pub(super) fn new(quiet: bool, verbose: u8) -> Output {
        // Colour only on a terminal, and never with NO_COLOR set.
        let color = std::io::stdout().is_terminal()
            && std::env::var_os("NO_COLOR").is_none_or(|v| v.is_empty());
        Output {
            quiet,
            verbose,
            color,
        }
    }

    pub(super) fn init_tracing(&self) {
        let level = match (self.quiet, self.verbose) {
            (true, _) => "error",
            (_, 0) => "warn",
            (_, 1) => "info",
            _ => "debug",
        };
        let filter = tracing_subscriber::EnvFilter::try_from_default_env().unwrap_or_else(|_| {
            tracing_subscriber::EnvFilter::new(format!("cofferdam={level},sqlx=warn"))
        });
        // An application may have set up its own subscriber already; keep it.
        let _ = tracing_subscriber::fmt()
            .with_env_filter(filter)
            .with_writer(std::io::stderr)
            .try_init();
    }

    fn paint(&self, code: &str, text: &str) -> String {
        if self.color {
            format!("\x1b[{code}m{text}\x1b[0m")
        } else {
            text.to_owned()
        }
    }

    pub(super) fn line(&self, text: &str) {
        if !self.quiet {
            println!("{text}");
        }
    }

    pub(super) fn event(&self, event: &Event) {
        match event {
            Event::Starting {
                revision,
                direction,
            } if self.verbose > 0 => {
                self.line(&format!("  {direction:<4} {revision} ..."));
            }
            Event::Finished {
                revision,
                direction,
                duration,
            } => {
                let mark = self.paint(
                    "32",
                    if *direction == "up" {
                        "applied "
                    } else {
                        "reverted"
                    },
                );
                self.line(&format!("  {mark} {revision} ({})", human(*duration)));
            }
            _ => {}
        }
    }

    pub(super) fn up_summary(&self, report: &Report, dry_run: bool) {
        if dry_run {
            for statement in &report.statements {
                let took = statement.duration.map(human).unwrap_or_default();
                self.line(&format!(
                    "  [{}] {} ({took})",
                    statement.revision, statement.sql
                ));
            }
            for skipped in &report.skipped {
                self.line(&format!("  skipped {skipped}: it runs outside a transaction, so a dry run cannot undo it"));
            }
            self.line(&format!(
                "dry run: {} revision(s) ran and were rolled back; nothing was changed",
                report.revisions.len()
            ));
            return;
        }
        let total: std::time::Duration = report.revisions.iter().map(|r| r.duration).sum();
        if report.revisions.is_empty() {
            self.line("already at head; nothing to apply");
        } else {
            self.line(&format!(
                "applied {} revision(s) in {}",
                report.revisions.len(),
                human(total)
            ));
        }
    }

    pub(super) fn status(&self, status: &Status) {
        self.line(&format!(
            "backend: {}  history: {}  heads: {}",
            status.backend,
            status.history_table,
            status.heads.join(", ")
        ));
        for row in &status.applied {
            self.line(&format!(
                "  applied  {} ({}, {} ms)",
                row.id, row.applied_at, row.duration_ms
            ));
        }
        for row in &status.failed {
            let error = row.error.as_deref().unwrap_or("unfinished");
            self.line(&format!(
                "  {} {} ({}): {error}",
                self.paint("31", "FAILED "),
                row.id,
                row.applied_at
            ));
        }
        for pending in &status.pending {
            let note = if pending.destructive {
                format!(" destructive: {}", pending.operations.join(", "))
            } else {
                String::new()
            };
            self.line(&format!(
                "  {} {}{note}",
                self.paint("33", "pending"),
                pending.id
            ));
        }
        for id in &status.unknown {
            self.line(&format!(
                "  {} {id}: applied, but unknown to this binary",
                self.paint("31", "UNKNOWN")
            ));
        }
        for id in &status.drifted {
            self.line(&format!(
                "  {} {id}: edited after it was applied",
                self.paint("31", "DRIFT  ")
            ));
        }
        let summary = if status.is_up_to_date() {
            "at head".to_owned()
        } else {
            format!(
                "{} applied, {} pending, {} failed",
                status.applied.len(),
                status.pending.len(),
                status.failed.len()
            )
        };
        self.line(&summary);
    }

    pub(super) fn json<T: serde::Serialize>(&self, value: &T) {
        match serde_json::to_string_pretty(value) {
            Ok(text) => println!("{text}"),
            Err(error) => eprintln!("error: could not encode JSON: {error}"),
        }
    }

    /// Prints the error as one paragraph and returns its exit code.
    pub(super) fn error(&self, error: &Error) -> u8 {
        eprintln!("{} {}", self.paint("31", "error:"), crate::report(error));
        code_for(error)
    }
}

/// A duration the way people read it: `850 ms`, `2.4 s`.
fn human(duration: std::time::Duration) -> String {
    if duration.as_millis() < 1000 {
        format!("{} ms", duration.as_millis())
    } else {
        format!("{:.1} s", duration.as_secs_f64())
    }
}
