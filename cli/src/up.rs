//! `up` and `down`: the verbs that change the schema.

use super::output::{CYAN, YELLOW};
use super::output::{human, plural};
use super::run::{Mode, Run};
use super::{Ctx, exit};
use cofferdam_core::{Down, Phase, Report, Up};

/// Options of `migrate up`.
#[derive(Debug, clap::Args)]
pub(super) struct UpArgs {
    /// Stop at this revision (and its ancestors) instead of the head
    #[arg(long, value_name = "REV")]
    to: Option<String>,
    /// Apply revisions marked #[destructive(reviewed)]; without it `up` refuses them (exit 5)
    #[arg(long)]
    allow_destructive: bool,
    /// Rehearse: run every statement in a transaction that is rolled back, printing each with its duration (PostgreSQL, SQLite)
    #[arg(long)]
    dry_run: bool,
    /// How long one statement waits for a table lock before giving up (e.g. 2s), for revisions that declare no lock_timeout; a DDL waiting behind a long transaction blocks every query on its table
    #[arg(long, value_name = "DURATION", value_parser = cofferdam_core::parse_duration)]
    statement_lock_timeout: Option<std::time::Duration>,
    /// How long one statement may run (e.g. 30s; PostgreSQL, MariaDB), for revisions that declare no statement_timeout
    #[arg(long, value_name = "DURATION", value_parser = cofferdam_core::parse_duration)]
    statement_timeout: Option<std::time::Duration>,
    /// How many times a statement that gave up waiting for a lock is retried, with a doubling pause, for revisions that declare no retries
    #[arg(long, value_name = "N")]
    lock_retries: Option<u32>,
    /// Apply only what this phase of a rolling deploy may: `expand` before the rollout (everything not marked phase = contract), `contract` after it (everything)
    #[arg(long, value_name = "PHASE")]
    phase: Option<PhaseArg>,
    /// Print JSON for machines: one object per target and a summary (fleets only)
    #[arg(long)]
    pub(super) json: bool,
    #[command(flatten)]
    pub(super) fleet: super::fleet::FleetArgs,
}

/// The values of `up --phase`.
#[derive(Debug, Clone, Copy, clap::ValueEnum)]
enum PhaseArg {
    /// Before the rollout: revisions compatible with the release still serving.
    Expand,
    /// After the rollout: contract revisions, and anything else pending.
    Contract,
}

/// Options of `migrate down`.
#[derive(Debug, clap::Args)]
pub(super) struct DownArgs {
    /// Revert the last N applied revisions [default: 1]
    #[arg(short = 'n', long = "steps", value_name = "N", conflicts_with = "to",
          value_parser = clap::value_parser!(u32).range(1..))]
    steps: Option<u32>,
    /// Revert every revision that REV does not build on, keeping REV applied
    #[arg(long, value_name = "REV")]
    to: Option<String>,
}

pub(super) async fn up(ctx: Ctx, args: UpArgs) -> u8 {
    if let Some(message) = args.fleet.stray() {
        return ctx.out.fail(exit::USAGE, message);
    }
    if args.json && !args.fleet.is_fleet() {
        return ctx.out.fail(
            exit::USAGE,
            "up --json reports a fleet: give --schemas PATTERN, --fleet-file FILE or --fleet-query SQL",
        );
    }
    if args.fleet.is_fleet() {
        let (migrator, options) = configured(ctx.migrator.clone(), &args);
        return super::fleet::up(ctx, migrator, options, &args.fleet).await;
    }
    let Ctx { out, url, migrator } = ctx;
    let mode = if args.dry_run {
        Mode::Rehearse
    } else {
        Mode::Apply
    };
    let run = Run::start(&out, mode);
    let (migrator, options) = configured(migrator, &args);
    let migrator = migrator.stop_on(run.token()).on_event(run.observer());
    tracing::info!(database = %cofferdam_core::redact(&url), target = ?args.to, dry_run = args.dry_run, "migrate up");
    let report = match run.drive("up", migrator.up_with(&url, &options)).await {
        Ok(report) => report,
        Err(code) => return code,
    };
    let target = match &args.to {
        Some(to) => to.clone(),
        None => migrator
            .heads()
            .map(|heads| heads.join(", "))
            .unwrap_or_default(),
    };
    if !report.ahead.is_empty() {
        out.warn(&format!(
            "the database is ahead of this binary by {}: {}; a newer binary applied {} on top of this one's revisions. \
             Nothing was applied and this binary can run on it (an image rollback). To revert {}, run `migrate down` with the newer binary; \
             pass --strict to refuse such a database",
            plural(report.ahead.len(), "revision"),
            report.ahead.join(", "),
            if report.ahead.len() == 1 { "it" } else { "them" },
            if report.ahead.len() == 1 { "it" } else { "them" },
        ));
    }
    if !report.deferred.is_empty() {
        out.note(&format!(
            "left for the contract phase: {}; run `migrate up --phase contract` after the rollout",
            report.deferred.join(", ")
        ));
    }
    if !report.recorded.is_empty() {
        out.note(&format!(
            "recorded {} as applied without running: the revisions {} replaced ran one by one",
            report.recorded.join(", "),
            if report.recorded.len() == 1 {
                "it"
            } else {
                "they"
            },
        ));
    }
    if args.dry_run {
        rehearsal(&out, &migrator, &report, &target);
    } else if !report.ahead.is_empty() && report.revisions.is_empty() {
        out.line(&format!(
            "ahead of this binary by {} ({}); nothing to apply",
            plural(report.ahead.len(), "revision"),
            report.ahead.join(", ")
        ));
    } else if report.revisions.is_empty() && report.recorded.is_empty() {
        out.line(&format!("already at {target}; nothing to apply"));
    } else {
        out.line(&format!(
            "applied {} in {}; now at {target}",
            plural(report.revisions.len(), "revision"),
            human(total(&report))
        ));
    }
    exit::OK
}

/// The migrator and the options of `up` as its flags set them.
fn configured(migrator: cofferdam_core::Migrator, args: &UpArgs) -> (cofferdam_core::Migrator, Up) {
    let mut migrator = migrator.allow_destructive(args.allow_destructive);
    if let Some(timeout) = args.statement_lock_timeout {
        migrator = migrator.statement_lock_timeout(timeout);
    }
    if let Some(timeout) = args.statement_timeout {
        migrator = migrator.statement_timeout(timeout);
    }
    if let Some(retries) = args.lock_retries {
        migrator = migrator.lock_retries(retries);
    }
    let mut options = Up::new().dry_run(args.dry_run);
    if let Some(to) = &args.to {
        options = options.to(to);
    }
    if let Some(phase) = args.phase {
        options = options.phase(match phase {
            PhaseArg::Expand => Phase::Expand,
            PhaseArg::Contract => Phase::Contract,
        });
    }
    (migrator, options)
}

/// Prints a dry run: each revision with its statements and their durations.
fn rehearsal(
    out: &super::output::Output,
    migrator: &cofferdam_core::Migrator,
    report: &Report,
    target: &str,
) {
    if report.revisions.is_empty() && report.skipped.is_empty() {
        out.line(&format!("already at {target}; nothing to rehearse"));
        return;
    }
    let revisions = migrator.revisions().unwrap_or_default();
    for run in &report.revisions {
        out.line(&format!(
            "  {} {} ({})",
            out.paint(CYAN, "rehearsed"),
            run.id,
            human(run.duration)
        ));
        for statement in report.statements.iter().filter(|s| s.revision == run.id) {
            let took = statement.duration.map(human).unwrap_or_default();
            let sql = statement.sql.trim().replace('\n', "\n              ");
            out.line(&format!("    {took:>8}  {sql}"));
        }
        if let Some(review) = revisions
            .iter()
            .find(|r| r.id == run.id)
            .and_then(|r| r.review)
        {
            out.line(&format!(
                "              destructive ({}): a real `up` needs --allow-destructive",
                review.operations.join(", ")
            ));
        }
    }
    for skipped in &report.skipped {
        out.line(&format!(
            "  {} {skipped}: it runs outside a transaction (transaction = false), so a dry run could not undo it",
            out.paint(YELLOW, "skipped  ")
        ));
    }
    out.line(
        "a real run holds at most 2 database connections: one for the migration lock and the revisions, \
         and a second while it checks that no transaction pool shares its session (PostgreSQL) or \
         renews its lease (--lock lease); a backfill watching MySQL replicas adds one per replica URL",
    );
    out.line(&format!(
        "dry run: {} ran in {} and {} rolled back; nothing was changed",
        plural(report.revisions.len(), "revision"),
        human(total(report)),
        if report.revisions.len() == 1 {
            "was"
        } else {
            "were"
        }
    ));
}

pub(super) async fn down(ctx: Ctx, args: DownArgs) -> u8 {
    let Ctx { out, url, migrator } = ctx;
    let down = match &args.to {
        Some(to) => Down::To(to.clone()),
        None => Down::Steps(args.steps.unwrap_or(1) as usize),
    };
    let run = Run::start(&out, Mode::Revert);
    let migrator = migrator.stop_on(run.token()).on_event(run.observer());
    tracing::info!(database = %cofferdam_core::redact(&url), ?down, "migrate down");
    let report = match run.drive("down", migrator.down(&url, down)).await {
        Ok(report) => report,
        Err(code) => return code,
    };
    if !report.recorded.is_empty() {
        out.note(&format!(
            "forgot {} (recorded, never run): the revisions {} replaced were reverted with their own downs",
            report.recorded.join(", "),
            if report.recorded.len() == 1 { "it" } else { "they" },
        ));
    }
    if report.revisions.is_empty() {
        out.line(match &args.to {
            Some(_) => "nothing to revert: no applied revision builds on it",
            None => "nothing to revert: no revision is applied",
        });
        return exit::OK;
    }
    // Where the database stands now, for the summary; not worth failing over.
    let now = match migrator.status(&url).await {
        Ok(status) => match status.current_heads().join(", ") {
            heads if heads.is_empty() => "; no revision is applied now".to_owned(),
            heads => format!("; now at {heads}"),
        },
        Err(_) => String::new(),
    };
    out.line(&format!(
        "reverted {} in {}{now}",
        plural(report.revisions.len(), "revision"),
        human(total(&report))
    ));
    exit::OK
}

fn total(report: &Report) -> std::time::Duration {
    report.revisions.iter().map(|r| r.duration).sum()
}
