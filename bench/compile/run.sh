#!/usr/bin/env bash
# Compile-time cost of #[migration] (issue 15): throwaway crates with the
# same N async migration functions, with the attribute ("attr"), without it
# ("plain": the issue's baseline, where nothing calls the functions, so their
# futures are never compiled), and without it but listed by hand in a
# registry of boxed futures ("listed": what a tool without the attribute
# needs to run them); a clean build of each, then one function edited and
# the crate rebuilt, REPEAT times, rotating the crates; medians and ratios.
#
#   bench/compile/run.sh [--revisions 200] [--repeat 5] [--keep DIR]
#
# Run from anywhere; it uses $CARGO_TARGET_DIR (or the workspace's target/)
# so the dependencies already built there are reused. The crates live in a
# temp dir with their own [workspace], so they never join the cofferdam
# workspace, and this is not part of `cargo test`. The generated crates
# build incrementally (CARGO_INCREMENTAL=1), as `cargo build` does for a
# user's own crate.
set -euo pipefail

revisions=200
repeat=5
keep=""
while [ $# -gt 0 ]; do
    case "$1" in
        --revisions) revisions="$2"; shift 2 ;;
        --repeat) repeat="$2"; shift 2 ;;
        --keep) keep="$2"; shift 2 ;;
        -h|--help) sed -n 2,17p "$0"; exit 0 ;;
        *) echo "unknown argument: $1" >&2; exit 2 ;;
    esac
done

root="$(cd "$(dirname "$0")/../.." && pwd)"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$root/target}"
export CARGO_INCREMENTAL=1
# Dependencies without debug info, as the workspace's helpers build them;
# the generated crate itself gets it back in its Cargo.toml.
export CARGO_PROFILE_DEV_DEBUG=0
if [ -n "$keep" ]; then
    work="$keep"
    mkdir -p "$work"
else
    work="$(mktemp -d -t cfdm-compile-XXXXXX)"
    trap 'rm -rf "$work"' EXIT
fi

# One migration body; $1 = index, $2 = "attr" or "plain".
body() {
    local i=$1 mode=$2 prev=$(( $1 - 1 ))
    local after=""
    if [ "$i" -gt 0 ]; then after="after = super::m$(( prev / 10 ))::rev_$prev"; fi
    local attr="" review=""
    if [ "$mode" = attr ]; then attr="#[migration($after)]"; fi
    case $(( i % 5 )) in
    0)
        cat <<RS
/// Creates table t$i.
$attr
pub async fn rev_$i(m: &mut Migration<'_>) -> Result<()> {
    m.exec(
        Table::create()
            .table("t$i")
            .col(ColumnDef::new("id").big_integer().not_null().primary_key())
            .col(ColumnDef::new("name").string_len(200).not_null())
            .col(ColumnDef::new("created_at").timestamp().not_null())
            .col(ColumnDef::new("note").text().null()),
    )
    .await?;
    m.exec(Index::create().name("t${i}_name").table("t$i").col("name"))
        .await
}

RS
        ;;
    1)
        cat <<RS
/// Adds a column to t$prev and fills it.
$attr
pub async fn rev_$i(m: &mut Migration<'_>) -> Result<()> {
    m.exec(
        Table::alter()
            .table("t$prev")
            .add_column(ColumnDef::new("slug").string_len(200).null()),
    )
    .await?;
    m.execute("UPDATE t$prev SET slug = lower(replace(name, ' ', '-'))")
        .await
}

RS
        ;;
    2)
        cat <<RS
/// Creates table s$i in SQL.
$attr
pub async fn rev_$i(m: &mut Migration<'_>) -> Result<()> {
    m.execute(
        "CREATE TABLE s$i (id BIGINT PRIMARY KEY, owner_id BIGINT NOT NULL, amount NUMERIC(12, 2) NOT NULL DEFAULT 0)",
    )
    .await?;
    m.execute("CREATE INDEX s${i}_owner ON s$i (owner_id)").await
}

RS
        ;;
    3)
        cat <<RS
/// Backfills s$prev.
$attr
pub async fn rev_$i(m: &mut Migration<'_>) -> Result<()> {
    m.execute("INSERT INTO s$prev (id, owner_id, amount) SELECT id, id, 0 FROM t$(( i - 3 ))")
        .await?;
    m.execute("UPDATE s$prev SET amount = amount + 1 WHERE owner_id > 10").await
}

RS
        ;;
    4)
        if [ "$mode" = attr ]; then review='#[destructive(reviewed, reason = "moved to slug; backup taken")]'; fi
        cat <<RS
/// Drops a column of t$(( i - 4 )) (reviewed).
$attr
$review
pub async fn rev_$i(m: &mut Migration<'_>) -> Result<()> {
    m.exec(Table::alter().table("t$(( i - 4 ))").drop_column("note"))
        .await
}

RS
        ;;
    esac
}

generate() {
    local mode=$1 dir="$work/$1"
    # The listed crate's functions are the plain ones.
    local bodies=$mode
    if [ "$mode" = listed ]; then bodies=plain; fi
    mkdir -p "$dir/src"
    cat > "$dir/Cargo.toml" <<TOML
[package]
name = "cfdm_compile_$mode"
version = "0.0.0"
edition = "2024"
publish = false

[dependencies]
cofferdam = { path = "$root/runtime", default-features = false, features = ["sqlite", "postgres", "mysql"] }

# Its own workspace: never a member of cofferdam's.
[workspace]

# The dependencies as in cofferdam's workspace, so the ones built there
# are reused; the crate itself with a user's debug info.
[profile.dev.package."*"]
opt-level = 1

[profile.dev.package.cfdm_compile_$mode]
debug = true
TOML
    cp "$root/Cargo.lock" "$dir/Cargo.lock"
    {
        echo "//! $revisions generated migrations ($mode)."
        echo "#![allow(missing_docs, dead_code)]"
        local modules=$(( (revisions + 9) / 10 ))
        for (( k = 0; k < modules; k++ )); do echo "pub mod m$k;"; done
    } > "$dir/src/lib.rs"
    for (( i = 0; i < revisions; i++ )); do
        local file="$dir/src/m$(( i / 10 )).rs"
        if (( i % 10 == 0 )); then echo "use cofferdam::prelude::*;" > "$file"; echo >> "$file"; fi
        body "$i" "$bodies" >> "$file"
    done
    if [ "$mode" = listed ]; then
        {
            echo
            echo "/// A boxed migration future, as a runner calls it."
            echo "pub type Up = for<'a, 'c> fn(&'a mut cofferdam::Migration<'c>) -> std::pin::Pin<Box<dyn std::future::Future<Output = cofferdam::Result<()>> + Send + 'a>>;"
            for (( i = 0; i < revisions; i++ )); do
                echo "fn up_$i<'a, 'c>(m: &'a mut cofferdam::Migration<'c>) -> std::pin::Pin<Box<dyn std::future::Future<Output = cofferdam::Result<()>> + Send + 'a>> { Box::pin(m$(( i / 10 ))::rev_$i(m)) }"
            done
            echo "/// Every migration by name, in order."
            echo "pub fn all() -> Vec<(&'static str, Up)> {"
            echo "    vec!["
            for (( i = 0; i < revisions; i++ )); do echo "        (\"rev_$i\", up_$i),"; done
            echo "    ]"
            echo "}"
        } >> "$dir/src/lib.rs"
    fi
}

build() { (cd "$work/$1" && cargo build --quiet --offline 2>&1) || { echo "build of $1 failed" >&2; exit 1; }; }

# Edits one function (a statement added to the middle revision's body, a
# change to its code and so to its checksum), differently each round.
touch_one() {
    local mid=$(( revisions / 2 )) round=$2
    local file="$work/$1/src/m$(( mid / 10 )).rs"
    sed -i -e '/let _edited = /d' \
        -e "s/^pub async fn rev_$mid(.*{\$/&\n    let _edited = $round;/" "$file"
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.3f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

modes="attr plain listed"
for mode in $modes; do generate "$mode"; done
echo "crates in $work; target dir $CARGO_TARGET_DIR" >&2

# Warm-up: builds whatever dependency the target dir lacks.
for mode in $modes; do build "$mode"; done

# Wall time and CPU time (user + system, cargo and rustc together): on a
# machine shared with other builds the CPU time is the steadier figure.
timed() {
    local out
    out=$( { /usr/bin/time -f "%e %U %S" bash -c "cd '$work/$1' && cargo build --quiet --offline" ; } 2>&1 ) \
        || { echo "build of $1 failed: $out" >&2; exit 1; }
    echo "$out" | tail -1 | awk '{ printf "%s %.2f\n", $1, $2 + $3 }'
}

declare -A wall cpu
for (( r = 1; r <= repeat; r++ )); do
    case $(( r % 3 )) in
        1) order="attr plain listed" ;;
        2) order="plain listed attr" ;;
        *) order="listed attr plain" ;;
    esac
    for mode in $order; do
        (cd "$work/$mode" && cargo clean --quiet --offline -p "cfdm_compile_$mode")
        read -r w c < <(timed "$mode")
        wall[clean_$mode]+="$w "; cpu[clean_$mode]+="$c "
        touch_one "$mode" "$r"
        read -r w c < <(timed "$mode")
        wall[incr_$mode]+="$w "; cpu[incr_$mode]+="$c "
    done
done

med() { echo "$1" | tr ' ' '\n' | grep . | median; }
row() {
    local label=$1 kind=$2 a=$3 p=$4 l=$5
    local ma mp ml
    ma=$(med "$a"); mp=$(med "$p"); ml=$(med "$l")
    printf '| %s | %s | %.2f s | %.2f s | %.2f s | **%.2fx** | **%.2fx** |\n' "$label" "$kind" "$mp" "$ml" "$ma" \
        "$(echo "$ma / $mp" | bc -l)" "$(echo "$ma / $ml" | bc -l)"
}
echo "| $revisions revisions, $repeat rounds | time | plain (median) | listed (median) | with #[migration] (median) | ratio to plain | ratio to listed |"
echo "|---|---|---:|---:|---:|---:|---:|"
row "clean build of the crate" wall "${wall[clean_attr]}" "${wall[clean_plain]}" "${wall[clean_listed]}"
row "clean build of the crate" CPU "${cpu[clean_attr]}" "${cpu[clean_plain]}" "${cpu[clean_listed]}"
row "rebuild after editing one function" wall "${wall[incr_attr]}" "${wall[incr_plain]}" "${wall[incr_listed]}"
row "rebuild after editing one function" CPU "${cpu[incr_attr]}" "${cpu[incr_plain]}" "${cpu[incr_listed]}"
echo
echo "per round (s): $(for k in clean_plain clean_listed clean_attr incr_plain incr_listed incr_attr; do printf '%s wall [%s] cpu [%s]; ' "$k" "${wall[$k]}" "${cpu[$k]}"; done)"
