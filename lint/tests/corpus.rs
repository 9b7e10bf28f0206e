//! The run-time half of the gate's benchmark: every case of the corpus (`corpus/cases.rs`) is
//! run against a recorder for each backend it targets, and the SQL it sends is judged in order
//! by one [`Gate`] per revision, as the runtime guard judges it. Prints recall and false
//! alarms; `cargo test -p cofferdam-lint --test corpus -- --nocapture` shows the table.
//!
//! The compile-time half is in the macros crate (`macros/src/scan/corpus.rs`).

#[path = "corpus/cases.rs"]
mod cases;
#[path = "corpus/recorder.rs"]
mod recorder;

use cofferdam_lint::{Gate, classify_sql};
use recorder::Recorder;

struct Tally {
    destructive: usize,
    caught: usize,
    benign: usize,
    alarms: usize,
}

impl Tally {
    fn new() -> Self {
        Tally {
            destructive: 0,
            caught: 0,
            benign: 0,
            alarms: 0,
        }
    }

    fn add(&mut self, destructive: bool, refused: bool) {
        if destructive {
            self.destructive += 1;
            self.caught += usize::from(refused);
        } else {
            self.benign += 1;
            self.alarms += usize::from(refused);
        }
    }

    fn recall(&self) -> f64 {
        100.0 * self.caught as f64 / self.destructive.max(1) as f64
    }

    fn false_alarms(&self) -> f64 {
        100.0 * self.alarms as f64 / self.benign.max(1) as f64
    }
}

#[test]
fn corpus_at_run_time() {
    let cases = cases::cases();
    let mut gate_tally = Tally::new();
    let mut alone_tally = Tally::new();
    let mut misses = Vec::new();
    for case in &cases {
        for &dialect in case.dialects {
            let mut recorder = Recorder::new(dialect);
            (case.run)(&mut recorder);
            // What the runtime guard decides with one gate per revision, knowing the live
            // columns of the tables the case starts from (the catalog).
            let mut gate = Gate::new(dialect);
            for (table, columns) in case.tables {
                gate.learn_columns(table, columns.iter());
            }
            let verdicts: Vec<_> = recorder.sent.iter().map(|sql| gate.classify(sql)).collect();
            let refused = verdicts.iter().any(|c| !c.is_safe());
            gate_tally.add(case.destructive, refused);
            // Each statement alone, as `classify_sql` judges it (today's runtime).
            let alone = recorder
                .sent
                .iter()
                .any(|sql| !classify_sql(sql, dialect).is_safe());
            alone_tally.add(case.destructive, alone);
            if refused != case.destructive {
                let found: Vec<String> = verdicts
                    .iter()
                    .flat_map(|c| c.findings.iter().map(ToString::to_string))
                    .collect();
                misses.push(format!(
                    "{:<5} {dialect:?} {:?} [{}]: sent {:?}, found {found:?}",
                    if case.destructive { "MISS" } else { "ALARM" },
                    case.name,
                    case.rule,
                    recorder.sent
                ));
            }
        }
    }
    let destructive = cases.iter().filter(|c| c.destructive).count();
    println!(
        "corpus: {} cases ({destructive} destructive, {} benign), {} runs over the backends",
        cases.len(),
        cases.len() - destructive,
        gate_tally.destructive + gate_tally.benign
    );
    println!(
        "run time, one gate per revision: recall {:.1}% ({}/{}), false alarms {:.1}% ({}/{})",
        gate_tally.recall(),
        gate_tally.caught,
        gate_tally.destructive,
        gate_tally.false_alarms(),
        gate_tally.alarms,
        gate_tally.benign
    );
    println!(
        "run time, each statement alone: recall {:.1}% ({}/{}), false alarms {:.1}% ({}/{})",
        alone_tally.recall(),
        alone_tally.caught,
        alone_tally.destructive,
        alone_tally.false_alarms(),
        alone_tally.alarms,
        alone_tally.benign
    );
    for miss in &misses {
        println!("  {miss}");
    }
    assert!(cases.len() >= 80, "the corpus has at least 80 cases");
    assert!(
        gate_tally.recall() >= 98.0,
        "run-time recall fell below 98%"
    );
    assert!(
        gate_tally.false_alarms() <= 5.0,
        "run-time false alarms rose above 5%"
    );
}
