//! Production operations: the catalog helpers (`has_table`, `has_column`,
//! `has_index`) that let a revision adopt what already exists, lock
//! timeouts with retries, expand/contract phases, backfills, SQLite table
//! rebuilds and replaceable objects: one test binary, a module per topic.

use cofferdam::prelude::*;
use cofferdam::{Event, Migrator, Phase, Up};
use cofferdam_tests::{Backend, TestDb, backend_tests, fresh_database};
use sqlx::{AssertSqlSafe, Connection};
use std::time::Duration;

mod adopt;
mod backfill;
mod phases;
mod rebuild;
mod replace;
mod retries;
