#!/usr/bin/env bash
# The loom models of the wake-up code (crates/oxmq/src/loom_models.rs): the real Signal and
# Queue, built over loom's mutex, condvar and atomics, under every thread interleaving loom
# explores with up to LOOM_MAX_PREEMPTIONS preemptions per run (default 5; unset it for an
# unbounded search, which takes minutes). A lost wake-up shows as a deadlock that loom reports.
#
#   bash scripts/loom.sh                 # all models
#   bash scripts/loom.sh rebind          # the models whose name contains "rebind"
#   LOOM_MAX_PREEMPTIONS=3 bash scripts/loom.sh
#
# Built with --cfg oxmq_loom in its own target dir (target/loom), so it neither rebuilds nor
# is rebuilt by the normal build. Release, without LTO: the models run fast, and the build is
# most of the time.
set -euo pipefail
cd "$(dirname "$0")/.."

export RUSTFLAGS="--cfg oxmq_loom"
export CARGO_TARGET_DIR="${OXMQ_LOOM_TARGET_DIR:-target/loom}"
export CARGO_PROFILE_RELEASE_LTO=false
export LOOM_MAX_PREEMPTIONS="${LOOM_MAX_PREEMPTIONS-5}"
[ -n "$LOOM_MAX_PREEMPTIONS" ] || unset LOOM_MAX_PREEMPTIONS

filter="loom_models${1:+::}${1:-}"
run() { cargo test -q -p oxmq --release --lib "$@"; }
run --no-run
# One process per model: after a failed execution loom panics again while dropping its objects,
# which aborts the whole test binary, so in one process the first failure would hide the rest.
mapfile -t models < <(run "$filter" -- --list 2>/dev/null | sed -n 's/: test$//p')
[ ${#models[@]} -gt 0 ] || { echo "no loom model matches '$filter'" >&2; exit 1; }
failed=()
start=$SECONDS
for m in "${models[@]}"; do
  if run "$m" -- --exact >"$CARGO_TARGET_DIR/loom-last.log" 2>&1; then
    echo "ok      $m"
  else
    echo "FAILED  $m"
    # The first panic and its message (loom's "deadlock; threads = ..." or the assertion).
    awk '/panicked at/ && !n++ { print; getline; print }' "$CARGO_TARGET_DIR/loom-last.log" | sed 's/^/        /'
    failed+=("$m")
  fi
done
echo "loom ($((SECONDS - start)) s, LOOM_MAX_PREEMPTIONS=${LOOM_MAX_PREEMPTIONS:-unbounded}):"
echo "loom: $(( ${#models[@]} - ${#failed[@]} )) passed, ${#failed[@]} failed"
[ ${#failed[@]} -eq 0 ]
