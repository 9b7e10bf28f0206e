#!/usr/bin/env python3
"""What a history row costs SQLite itself, with no client code in the way.

Each layout applies N revisions to a fresh file in the temp dir, each one
`BEGIN IMMEDIATE; CREATE TABLE; CREATE INDEX; [history insert]; COMMIT`
(the revisions of `cofferdam-bench`), with SQLite's defaults (rollback
journal, synchronous FULL). Rounds rotate the layouts; each round's time is
divided by the floor's in that round, and the median of those ratios is
printed. Run on an idle machine:

    python3 bench/sqlite/layouts.py [N=300] [ROUNDS=15]
    ONLY=shipped strace -f -c -e trace=pwrite64,fdatasync python3 bench/sqlite/layouts.py 300 1

Layouts:
  floor        no history (the raw floor of cofferdam-bench)
  minimal      a one-column history (the id, in a WITHOUT ROWID table)
  row          cofferdam's history row, no digest
  shipped-old  the row, plus the digest row cleared by every insert
  shipped      the row, plus the digest row cleared by the first insert
               while it holds a digest (the trigger cofferdam creates now)
"""
import hashlib
import os
import sqlite3
import statistics
import sys
import tempfile
import time

N = int(sys.argv[1]) if len(sys.argv) > 1 else 300
ROUNDS = int(sys.argv[2]) if len(sys.argv) > 2 else 15

HISTORY = """CREATE TABLE h (id varchar(255) NOT NULL PRIMARY KEY, seq bigint NOT NULL,
 parents text NOT NULL, checksum varchar(64) NOT NULL, state varchar(16) NOT NULL,
 applied_at varchar(40) NOT NULL, duration_ms bigint NOT NULL, applied_by varchar(255) NOT NULL,
 destructive smallint NOT NULL, review_reason text, error text)"""
DIGEST = [
    "CREATE TABLE h_digest (id INTEGER PRIMARY KEY, gen BIGINT NOT NULL, digest TEXT)",
    "INSERT INTO h_digest VALUES (1, 0, 'set')",
]
CLEAR = "BEGIN UPDATE h_digest SET gen = gen + 1, digest = NULL WHERE id = 1; END"
TRIGGERS_OLD = [f"CREATE TRIGGER h_d_{e} AFTER {e} ON h {CLEAR}" for e in ("INSERT", "UPDATE", "DELETE")]
TRIGGERS_NOW = [
    "CREATE TRIGGER h_d_insert AFTER INSERT ON h "
    f"WHEN (SELECT digest FROM h_digest WHERE id = 1) IS NOT NULL {CLEAR}"
] + TRIGGERS_OLD[1:]

LAYOUTS = {
    "floor": ([], None),
    "minimal": (["CREATE TABLE h (id TEXT PRIMARY KEY) WITHOUT ROWID"], "minimal"),
    "row": ([HISTORY], "row"),
    "shipped-old": ([HISTORY] + DIGEST + TRIGGERS_OLD, "row"),
    "shipped": ([HISTORY] + DIGEST + TRIGGERS_NOW, "row"),
}


def history_insert(kind, i):
    if kind == "minimal":
        return f"INSERT INTO h VALUES ('rev_{i:04}')"
    checksum = hashlib.sha256(str(i).encode()).hexdigest()
    started = "'2026-12-01T04:30:00.123456Z'"
    return (
        f"INSERT INTO h VALUES ('rev_{i:04}', {i + 1}, 'rev_{i - 1:04}', '{checksum}', 'applied', "
        f"{started}, CAST((julianday('now') - julianday({started})) * 86400000 AS INTEGER), "
        "'deploy@host-1234', 0, NULL, NULL)"
    )


def run(setup, kind):
    with tempfile.TemporaryDirectory() as directory:
        conn = sqlite3.connect(os.path.join(directory, "db.sqlite"), isolation_level=None)
        for statement in setup:
            conn.execute(statement)
        started = time.perf_counter()
        for i in range(N):
            conn.execute("BEGIN IMMEDIATE")
            conn.execute(
                f"CREATE TABLE t_{i} (id BIGINT PRIMARY KEY, name TEXT NOT NULL, "
                "created_at TIMESTAMP NOT NULL DEFAULT CURRENT_TIMESTAMP)"
            )
            conn.execute(f"CREATE INDEX t_{i}_name ON t_{i} (name)")
            if kind:
                conn.execute(history_insert(kind, i))
            conn.execute("COMMIT")
        elapsed = time.perf_counter() - started
        conn.close()
    return elapsed


only = os.environ.get("ONLY")
names = [name for name in LAYOUTS if not only or name == only]
times = {name: [] for name in names}
for r in range(ROUNDS):
    for name in names[r % len(names):] + names[: r % len(names)]:
        times[name].append(run(*LAYOUTS[name]))
base = times.get("floor") or times[names[0]]
print(f"{N} revisions, {ROUNDS} rounds, SQLite {sqlite3.sqlite_version}")
for name in names:
    ratios = [t / b for t, b in zip(times[name], base)]
    print(
        f"{name:12} median {statistics.median(times[name]) * 1000 / N:.3f} ms/revision, "
        f"x floor (median of rounds) {statistics.median(ratios):.3f}"
    )
