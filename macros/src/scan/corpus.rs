//! The compile-time half of the gate's benchmark: the scanner reads every case of the corpus
//! (`lint/tests/corpus/cases.rs`) as a migration body. Prints recall and false alarms, and
//! checks that no case is a trap: refused at run time while the compiler would reject the
//! review marker that lets it through.
//! `cargo test -p cofferdam-macros corpus -- --nocapture` shows the table.

#[path = "../../../lint/tests/corpus/cases.rs"]
mod cases;
#[path = "../../../lint/tests/corpus/recorder.rs"]
mod recorder;

use cofferdam_lint::Gate;
use recorder::Recorder;

/// What `#[migration]` would decide about a body.
struct Compiled {
    /// The build fails without a review marker.
    flagged: bool,
    /// The build accepts a review marker.
    marker_accepted: bool,
    operations: Vec<String>,
}

fn compile(body: &str) -> Compiled {
    let source = format!("async fn case(m: &mut Migration<'_>) -> Result<()> {body}");
    let function: syn::ItemFn = syn::parse_str(&source).expect("the case body parses");
    let scan = super::scan(&function);
    Compiled {
        flagged: !scan.found.is_empty(),
        marker_accepted: !scan.found.is_empty() || !scan.warnings.is_empty() || scan.dynamic,
        operations: scan.found.iter().map(super::Found::operation).collect(),
    }
}

/// Whether the runtime guard refuses the case on any of its backends: judging a revision's
/// statements in order with one gate, or (`alone`) each statement by itself, as a runtime
/// that calls `classify_sql` does.
fn refused_at_run_time(case: &cases::Case, alone: bool) -> bool {
    case.dialects.iter().any(|&dialect| {
        let mut recorder = Recorder::new(dialect);
        (case.run)(&mut recorder);
        let mut gate = Gate::new(dialect);
        for (table, columns) in case.tables {
            gate.learn_columns(table, columns.iter());
        }
        recorder.sent.iter().any(|sql| {
            if alone {
                !cofferdam_lint::classify_sql(sql, dialect).is_safe()
            } else {
                !gate.classify(sql).is_safe()
            }
        })
    })
}

#[test]
fn corpus_at_compile_time() {
    // `include_str!` in a case is relative to the corpus file; no compiler says so here.
    super::text::set_include_base(concat!(env!("CARGO_MANIFEST_DIR"), "/../lint/tests/corpus"));
    let cases = cases::cases();
    let (mut destructive, mut caught, mut benign, mut alarms, mut hidden) = (0, 0, 0, 0, 0);
    let mut traps = Vec::new();
    let mut report = Vec::new();
    for case in &cases {
        let compiled = compile(case.body);
        if case.destructive && case.hidden {
            hidden += 1;
        } else if case.destructive {
            destructive += 1;
            caught += usize::from(compiled.flagged);
        } else {
            benign += 1;
            alarms += usize::from(compiled.flagged);
        }
        if std::env::var_os("CORPUS_VERBOSE").is_some() {
            println!("  {:?}: {:?}", case.name, compiled.operations);
        }
        if compiled.flagged != case.destructive && !case.hidden {
            report.push(format!(
                "{:<5} {:?} [{}]: {:?}",
                if case.destructive { "MISS" } else { "ALARM" },
                case.name,
                case.rule,
                compiled.operations
            ));
        }
        let refused = refused_at_run_time(case, false) || refused_at_run_time(case, true);
        if refused && !compiled.marker_accepted {
            traps.push(case.name);
        }
    }
    let recall = 100.0 * caught as f64 / destructive as f64;
    let false_alarms = 100.0 * alarms as f64 / benign as f64;
    println!(
        "compile time: recall {recall:.1}% ({caught}/{destructive} in scope; {hidden} destructive \
         cases out of the compiler's sight), false alarms {false_alarms:.1}% ({alarms}/{benign}), \
         traps {}",
        traps.len()
    );
    for line in &report {
        println!("  {line}");
    }
    assert!(traps.is_empty(), "traps: {traps:?}");
    assert!(recall >= 85.0, "compile-time recall fell below 85%");
    assert!(
        false_alarms <= 5.0,
        "compile-time false alarms rose above 5%"
    );
}
