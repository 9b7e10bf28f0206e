//! `up` and `status` over a fleet: every schema matching a pattern, every
//! database of a fleet file or of a query. The runs are the library's
//! ([`cofferdam_core::fleet`]); this file picks the targets from the
//! options, shows progress on stderr, and presents the report.

use super::errors::code_for;
use super::output::{GREEN, Output, RED, YELLOW, human, plural};
use super::run::{Mode, Run};
use super::{Ctx, exit};
use cofferdam_core::Up;
use cofferdam_core::fleet::{self, Fleet, FleetReport, Outcome, Progress, Target};
use std::io::{IsTerminal, Write};
use std::path::PathBuf;
use std::sync::Arc;

/// Where a fleet's targets come from, and how they are run.
#[derive(Debug, Default, clap::Args)]
#[command(next_help_heading = "Fleet options")]
pub(super) struct FleetArgs {
    /// Run on every schema whose name matches this SQL LIKE pattern (e.g. 'tenant_%') on the server of the database URL, search_path set per schema (PostgreSQL; on MySQL, databases)
    #[arg(long, value_name = "PATTERN", conflicts_with_all = ["fleet_file", "fleet_query"])]
    schemas: Option<String>,
    /// Run on every database listed in FILE: one `URL` or `NAME URL` per line, `#` comments
    #[arg(long, value_name = "FILE", conflicts_with = "fleet_query")]
    fleet_file: Option<PathBuf>,
    /// Run on every database URL this query answers on the database URL (first column a URL, or a name then a URL)
    #[arg(long, value_name = "SQL")]
    fleet_query: Option<String>,
    /// Fleet: how many targets run at once
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    concurrency: Option<u32>,
    /// Fleet: never more than N connections to one server at once (one `up` holds up to 2, one `status` 1)
    #[arg(long, value_name = "N", value_parser = clap::value_parser!(u32).range(1..))]
    max_connections_per_server: Option<u32>,
    /// Fleet: start no target after the first failure; the rest are reported as skipped
    #[arg(long)]
    fail_fast: bool,
}

impl FleetArgs {
    /// Whether a fleet was asked for.
    pub(super) fn is_fleet(&self) -> bool {
        self.schemas.is_some() || self.fleet_file.is_some() || self.fleet_query.is_some()
    }

    /// Whether the targets come from a file (the database URL is unused).
    pub(super) fn reads_file(&self) -> bool {
        self.fleet_file.is_some()
    }

    /// A usage error when fleet options come without a fleet.
    pub(super) fn stray(&self) -> Option<&'static str> {
        let tuned = self.concurrency.is_some()
            || self.max_connections_per_server.is_some()
            || self.fail_fast;
        (tuned && !self.is_fleet()).then_some(
            "--concurrency, --max-connections-per-server and --fail-fast need a fleet: \
             --schemas PATTERN, --fleet-file FILE or --fleet-query SQL",
        )
    }

    fn fleet(&self, ctx: &Ctx, migrator: cofferdam_core::Migrator) -> Fleet {
        let mut fleet = Fleet::new(migrator)
            .fail_fast(self.fail_fast)
            .on_progress(progress_printer(&ctx.out));
        if let Some(n) = self.concurrency {
            fleet = fleet.concurrency(n as usize);
        }
        if let Some(n) = self.max_connections_per_server {
            fleet = fleet.max_connections_per_server(n as usize);
        }
        fleet
    }

    async fn targets(&self, ctx: &Ctx) -> Result<Vec<Target>, u8> {
        let listed = if let Some(pattern) = &self.schemas {
            fleet::schemas(&ctx.url, pattern).await
        } else if let Some(path) = &self.fleet_file {
            match std::fs::read_to_string(path) {
                Ok(text) => fleet::parse_fleet_file(&text),
                Err(error) => {
                    return Err(ctx.out.fail(
                        exit::USAGE,
                        &format!("could not read the fleet file {}: {error}", path.display()),
                    ));
                }
            }
        } else if let Some(sql) = &self.fleet_query {
            fleet::from_query(&ctx.url, sql).await
        } else {
            Ok(Vec::new())
        };
        match listed {
            Ok(targets) if targets.is_empty() => Err(ctx.out.fail(
                exit::USAGE,
                "the fleet has no targets: no schema matched the pattern, or the file or query listed none",
            )),
            Ok(targets) => Ok(targets),
            Err(error) => Err(ctx.out.error(&error)),
        }
    }
}

/// `up` over a fleet.
pub(super) async fn up(
    ctx: Ctx,
    migrator: cofferdam_core::Migrator,
    options: Up,
    args: &FleetArgs,
) -> u8 {
    let targets = match args.targets(&ctx).await {
        Ok(targets) => targets,
        Err(code) => return code,
    };
    let run = Run::start(&ctx.out, Mode::Apply);
    let fleet = args.fleet(&ctx, migrator.stop_on(run.token()));
    let report = fleet.up(targets, &options).await;
    let (signal, _) = run.finish();
    let report = match report {
        Ok(report) => report,
        Err(error) => return ctx.out.error(&error),
    };
    let code = if signal.is_some() && !report.succeeded() {
        exit::INTERRUPTED
    } else if report.succeeded() {
        exit::OK
    } else {
        exit::FLEET_FAILED
    };
    present(&ctx.out, &report, code);
    code
}

/// `status` over a fleet: exit 14 when a target failed or is unsettled,
/// else 3 when one is behind.
pub(super) async fn status(ctx: &Ctx, args: &FleetArgs) -> u8 {
    let targets = match args.targets(ctx).await {
        Ok(targets) => targets,
        Err(code) => return code,
    };
    let report = match args.fleet(ctx, ctx.migrator.clone()).status(targets).await {
        Ok(report) => report,
        Err(error) => return ctx.out.error(&error),
    };
    let counts = report.counts();
    let code = if counts.failed > 0 {
        exit::FLEET_FAILED
    } else if counts.behind > 0 {
        exit::PENDING
    } else {
        exit::OK
    };
    present(&ctx.out, &report, code);
    code
}

/// Progress on stderr: on a terminal one line redrawn as targets finish;
/// otherwise one line per finished target.
fn progress_printer(out: &Output) -> impl Fn(&Progress) + Send + Sync + 'static {
    let out = Arc::new(out.clone());
    let tty = std::io::stderr().is_terminal();
    move |progress| {
        if out.quiet() {
            return;
        }
        let rate = progress.rate();
        let eta = progress
            .eta()
            .map(|eta| format!(", ETA {}", human(eta)))
            .unwrap_or_default();
        if tty {
            let mut stderr = std::io::stderr().lock();
            let _ = write!(
                stderr,
                "\r\x1b[2Kfleet: {}/{} done, {} failed, {} running, {rate:.1}/s{eta}",
                progress.done, progress.total, progress.failures, progress.running
            );
            if progress.done == progress.total {
                let _ = writeln!(stderr);
            }
            let _ = stderr.flush();
        } else {
            let what = if progress.failed {
                out.paint(RED, "failed")
            } else {
                out.paint(GREEN, "done")
            };
            anstream::eprintln!(
                "fleet: {what} {} ({}/{}, {} failed, {rate:.1}/s{eta})",
                out.scrub(&progress.target),
                progress.done,
                progress.total,
                progress.failures
            );
        }
    }
}

/// Each failure as an error paragraph, then the summary table or the JSON.
fn present(out: &Output, report: &FleetReport, code: u8) {
    for target in report.failures() {
        match &target.outcome {
            Outcome::Failed { error } => out.paragraph(
                &format!("{}: {}", target.name, error.headline()),
                error.hint().as_deref(),
            ),
            Outcome::Unsettled { problems } => {
                out.paragraph(&format!("{}: {}", target.name, problems.join("; ")), None);
            }
            _ => {}
        }
    }
    if out.is_json() {
        out.json(&json(report, code));
        return;
    }
    let counts = report.counts();
    let secs = report.elapsed.as_secs_f64();
    let rate = if secs > 0.0 {
        counts.total as f64 / secs
    } else {
        0.0
    };
    out.line(&format!(
        "fleet: {} in {} ({rate:.1} targets/s)",
        plural(counts.total, "target"),
        human(report.elapsed)
    ));
    let rows = [
        ("at head", counts.at_head, GREEN),
        ("applied", counts.applied, GREEN),
        ("behind", counts.behind, YELLOW),
        ("ahead", counts.ahead, YELLOW),
        ("failed", counts.failed, RED),
        ("skipped", counts.skipped, YELLOW),
    ];
    for (label, count, style) in rows {
        if count > 0 || matches!(label, "at head" | "failed") {
            // Padded before painting: colour codes would count as width.
            let label = out.paint(style, &format!("{label:<8}"));
            out.line(&format!("  {label} {count:>6}"));
        }
    }
    let failed: Vec<&str> = report.failures().map(|t| t.name.as_str()).collect();
    if !failed.is_empty() {
        out.line(&format!("failed: {}", failed.join(", ")));
    }
    let behind: Vec<&str> = report
        .targets
        .iter()
        .filter(|t| matches!(t.outcome, Outcome::Behind { .. }))
        .map(|t| t.name.as_str())
        .collect();
    if !behind.is_empty() {
        out.line(&format!("behind: {}", shortened(&behind)));
    }
    let skipped = report
        .targets
        .iter()
        .filter(|t| matches!(t.outcome, Outcome::Skipped))
        .count();
    if skipped > 0 {
        out.line(&format!(
            "{} not started after the first failure (--fail-fast)",
            plural(skipped, "target")
        ));
    }
}

/// `names` joined, the first ten only when there are more.
fn shortened(names: &[&str]) -> String {
    const SHOWN: usize = 10;
    if names.len() <= SHOWN {
        names.join(", ")
    } else {
        format!(
            "{} and {} more (--json lists them all)",
            names[..SHOWN].join(", "),
            names.len() - SHOWN
        )
    }
}

/// The report as JSON: one object per target, then the summary.
fn json(report: &FleetReport, code: u8) -> serde_json::Value {
    let targets: Vec<serde_json::Value> = report
        .targets
        .iter()
        .map(|target| {
            let mut object = serde_json::json!({
                "name": target.name,
                "duration_ms": target.duration.as_millis() as u64,
            });
            let fields = match &target.outcome {
                Outcome::AtHead => serde_json::json!({ "outcome": "at_head" }),
                Outcome::Applied { revisions } => {
                    serde_json::json!({ "outcome": "applied", "revisions": revisions })
                }
                Outcome::Behind { pending } => {
                    serde_json::json!({ "outcome": "behind", "pending": pending })
                }
                Outcome::Ahead { revisions } => {
                    serde_json::json!({ "outcome": "ahead", "revisions": revisions })
                }
                Outcome::Unsettled { problems } => serde_json::json!({
                    "outcome": "failed",
                    "error": { "message": problems.join("; "), "exit_code": exit::FAILED },
                }),
                Outcome::Failed { error } => serde_json::json!({
                    "outcome": "failed",
                    "error": {
                        "message": error.headline(),
                        "hint": error.hint(),
                        "revision": error.revision(),
                        "exit_code": code_for(error),
                    },
                }),
                Outcome::Skipped => serde_json::json!({ "outcome": "skipped" }),
                _ => serde_json::json!({ "outcome": "unknown" }),
            };
            if let (Some(object), serde_json::Value::Object(fields)) =
                (object.as_object_mut(), fields)
            {
                object.extend(fields);
            }
            object
        })
        .collect();
    serde_json::json!({
        "targets": targets,
        "summary": {
            "counts": report.counts(),
            "elapsed_ms": report.elapsed.as_millis() as u64,
            "peak_reserved_connections": report.peak_reserved,
            "exit_code": code,
        },
    })
}
