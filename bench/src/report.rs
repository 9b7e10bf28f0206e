//! Medians, ratios and the markdown tables printed to stdout.

use crate::count::Counted;
use crate::variants::{Applied, Startup, Variant};
use std::time::Duration;

pub fn median(samples: &[Duration]) -> Duration {
    let mut sorted = samples.to_vec();
    sorted.sort();
    match sorted.len() {
        0 => Duration::ZERO,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2,
    }
}

fn median_f64(samples: &[f64]) -> f64 {
    let mut sorted = samples.to_vec();
    sorted.sort_by(f64::total_cmp);
    match sorted.len() {
        0 => f64::NAN,
        n if n % 2 == 1 => sorted[n / 2],
        n => (sorted[n / 2 - 1] + sorted[n / 2]) / 2.0,
    }
}

fn seconds(d: Duration) -> String {
    format!("{:.3} s", d.as_secs_f64())
}

fn millis(d: Duration) -> String {
    format!("{:.3} ms", d.as_secs_f64() * 1e3)
}

fn ratio(a: Duration, b: Duration) -> f64 {
    a.as_secs_f64() / b.as_secs_f64()
}

/// The apply table: median per variant; the median of the per-round ratios
/// to the raw floor (each round's runs are minutes apart at most, so pairing
/// them cancels slow drift in the machine's load); the per-round ratios, to
/// see the noise; and the client's CPU time.
pub fn apply_table(revisions: usize, rows: &[(Variant, Vec<Applied>)]) -> String {
    let raw: Vec<Duration> = rows
        .iter()
        .find(|(v, _)| *v == Variant::Raw)
        .expect("the raw floor always runs")
        .1
        .iter()
        .map(|a| a.wall)
        .collect();
    let mut out = format!(
        "| applying {revisions} revisions to an empty database | median | × raw floor (median of rounds) | per round | client CPU (median) |\n\
         |---|---:|---:|---|---:|\n"
    );
    for (variant, samples) in rows {
        let wall: Vec<Duration> = samples.iter().map(|a| a.wall).collect();
        let cpu: Vec<Duration> = samples.iter().filter_map(|a| a.cpu).collect();
        let per_round: Vec<f64> = wall.iter().zip(&raw).map(|(s, r)| ratio(*s, *r)).collect();
        out += &format!(
            "| {} | {} | **{:.2}** | {} | {} |\n",
            variant.title(),
            seconds(median(&wall)),
            median_f64(&per_round),
            per_round
                .iter()
                .map(|r| format!("{r:.2}"))
                .collect::<Vec<_>>()
                .join(", "),
            if cpu.is_empty() {
                "n/a".to_owned()
            } else {
                seconds(median(&cpu))
            },
        );
    }
    out
}

/// The start-up table.
///
/// `SELECT 1` is timed both whole (connect → close) and after connecting;
/// their difference, sample by sample, is what connecting and closing cost.
/// sqlx's migrator and refinery take a connection, so their part after
/// connecting is timed directly. cofferdam's `Migrator::up` takes a URL and
/// connects itself: its part after connecting is its whole call minus that
/// connect-and-close cost (both connect with sqlx the same way).
pub fn startup_table(rows: &[(Variant, Vec<Startup>)]) -> String {
    let whole = |samples: &[Startup]| median(&samples.iter().map(|s| s.total).collect::<Vec<_>>());
    let select = &rows
        .iter()
        .find(|(v, _)| *v == Variant::Raw)
        .expect("the raw floor always runs")
        .1;
    let select_whole = whole(select);
    let select_after = median(
        &select
            .iter()
            .filter_map(|s| s.after_connect)
            .collect::<Vec<_>>(),
    );
    let connect = median(
        &select
            .iter()
            .filter_map(|s| s.after_connect.map(|after| s.total - after))
            .collect::<Vec<_>>(),
    );
    let mut out = format!(
        "| no-op start-up, database at head ({} each) | whole call (connect → close) | × `SELECT 1` | after connecting | × `SELECT 1` |\n\
         |---|---:|---:|---:|---:|\n\
         | connect + close (sqlx, timed inside the `SELECT 1` probe) | {} | | | |\n",
        select.len(),
        millis(connect),
    );
    for (variant, samples) in rows {
        let total = whole(samples);
        let name = match variant {
            Variant::Raw => "bare `SELECT 1` (`raw_sql`, one round trip)",
            other => other.title(),
        };
        let after = median(
            &samples
                .iter()
                .filter_map(|s| s.after_connect)
                .collect::<Vec<_>>(),
        );
        let (after, mark) = if samples.iter().any(|s| s.after_connect.is_some()) {
            (after, "")
        } else {
            (total.saturating_sub(connect), " †")
        };
        out += &format!(
            "| {name} | {} | {:.2} | {}{mark} | **{:.2}**{mark} |\n",
            millis(total),
            ratio(total, select_whole),
            millis(after),
            ratio(after, select_after),
        );
    }
    out += "\n† `Migrator::up` takes a URL and connects itself: its part after connecting is its median \
            whole call minus the median connect + close.\n";
    out
}

pub fn count_table(revisions: usize, counted: &[Counted]) -> String {
    let mut out = format!(
        "| PostgreSQL, counted | round trips, {revisions} revisions | per revision | commits per revision | no-op: round trips after connecting | no-op: transactions |\n\
         |---|---:|---:|---:|---:|---:|\n"
    );
    for c in counted {
        let name = match c.variant {
            Variant::Raw => "raw floor / bare `SELECT 1`",
            other => other.title(),
        };
        out += &format!(
            "| {name} | {} | {:.2} | {:.2} | {} | {} |\n",
            c.apply_flights,
            c.apply_flights as f64 / revisions as f64,
            c.apply_commits as f64 / revisions as f64,
            c.startup_flights,
            c.startup_commits,
        );
    }
    out
}
