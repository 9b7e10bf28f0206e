#!/usr/bin/env bash
# Instructions of one incremental rebuild of a generated crate (issue 15):
# edits the middle revision of a crate kept by `run.sh --keep DIR` and
# rebuilds it with its rustc under callgrind, which counts instructions
# instead of timing them, so the figure repeats whatever else the machine
# is doing. The first call rebuilds the crate (the wrapper changes its
# fingerprint); rounds after that are incremental.
#
#   RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=... bench/compile/run.sh --repeat 1 --keep DIR
#   RUSTC_BOOTSTRAP=1 CARGO_TARGET_DIR=... bench/compile/instructions.sh DIR/attr [ROUNDS=3] [OUT]
#
# Use the same CARGO_TARGET_DIR and RUSTC_BOOTSTRAP as the run that kept the
# crate. With OUT, the last round's callgrind profile is written there (read
# it with `callgrind_annotate --inclusive=yes OUT`).
set -euo pipefail
crate="$(cd "$1" && pwd)"
rounds="${2:-3}"
out="${3:-/dev/null}"
export CARGO_INCREMENTAL=1 CARGO_PROFILE_DEV_DEBUG=0
wrapper="$crate/.callgrind-rustc.sh"
cat > "$wrapper" <<'SH'
#!/bin/sh
exec valgrind --tool=callgrind --callgrind-out-file="${CFDM_CG_OUT:-/dev/null}" --log-file="$CFDM_CG_LOG" "$@"
SH
chmod +x "$wrapper"
log="$(mktemp)"
trap 'rm -f "$log"' EXIT
middle="$(grep -l 'pub async fn rev_100(' "$crate"/src/*.rs)"
for (( r = 0; r <= rounds; r++ )); do
    sed -i -e '/let _edited = /d' \
        -e "s/^\( *\)pub async fn rev_100(.*{\$/&\n    let _edited = $RANDOM;/" "$middle"
    target_out=/dev/null
    if [ "$r" -eq "$rounds" ]; then target_out="$out"; fi
    (cd "$crate" && CFDM_CG_LOG="$log" CFDM_CG_OUT="$target_out" RUSTC_WORKSPACE_WRAPPER="$wrapper" \
        cargo build --quiet --offline)
    count="$(grep -h Collected "$log" | awk '{ print $NF }')"
    if [ "$r" -eq 0 ]; then
        echo "warm-up build: $count instructions" >&2
    else
        echo "incremental rebuild $r: $count instructions"
    fi
done
