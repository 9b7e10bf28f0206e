//! The runtime guard's classifications, remembered by SQL text.
//!
//! Parsing is most of what the guard costs: measured on SQLite, about 65 µs
//! of a revision's client time for its two statements (BENCHMARKS.md). The
//! same text is classified again whenever the same revisions run against
//! another database in one process: a fleet of tenant databases, a test
//! suite that creates fresh databases, a rehearsal followed by the real run.
//! A classification depends only on the text and the dialect, so it is kept,
//! up to a bound: past [`CAPACITY`] entries the cache starts over, and texts
//! longer than [`MAX_TEXT`] (bulk data, generated scripts) are not kept.

use cofferdam_lint::{Classification, Dialect};
use std::collections::HashMap;
use std::sync::{Arc, Mutex, OnceLock, PoisonError};

/// How many texts are kept, over all dialects.
const CAPACITY: usize = 4096;
/// The longest text kept, in bytes.
const MAX_TEXT: usize = 4096;

type Cache = HashMap<Dialect, HashMap<Box<str>, Arc<Classification>>>;

static CACHE: OnceLock<Mutex<Cache>> = OnceLock::new();

/// `cofferdam_lint::classify_sql(sql, dialect)`, remembered.
pub(crate) fn classify(sql: &str, dialect: Dialect) -> Arc<Classification> {
    if sql.len() > MAX_TEXT {
        return Arc::new(cofferdam_lint::classify_sql(sql, dialect));
    }
    let cache = CACHE.get_or_init(Default::default);
    let lock = || cache.lock().unwrap_or_else(PoisonError::into_inner);
    if let Some(hit) = lock().get(&dialect).and_then(|texts| texts.get(sql)) {
        return Arc::clone(hit);
    }
    // Parsed outside the lock: another thread may classify the same text
    // meanwhile, which costs time, never correctness.
    let fresh = Arc::new(cofferdam_lint::classify_sql(sql, dialect));
    let mut cache = lock();
    if cache.values().map(HashMap::len).sum::<usize>() >= CAPACITY {
        cache.clear();
    }
    cache
        .entry(dialect)
        .or_default()
        .insert(sql.into(), Arc::clone(&fresh));
    fresh
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_same_text_is_classified_once_per_dialect() {
        let sql = "CREATE TABLE cached_once (id INTEGER); DROP TABLE cached_twice";
        let first = classify(sql, Dialect::Sqlite);
        let again = classify(sql, Dialect::Sqlite);
        assert!(Arc::ptr_eq(&first, &again));
        assert_eq!(*first, cofferdam_lint::classify_sql(sql, Dialect::Sqlite));
        assert_eq!(first.statements, Some(2));
        assert_eq!(first.findings.len(), 1, "{first:?}");
        let other = classify(sql, Dialect::Postgres);
        assert!(!Arc::ptr_eq(&first, &other));
    }
}
