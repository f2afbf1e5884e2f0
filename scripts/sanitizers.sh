#!/usr/bin/env bash
# oxmq's lib and integration tests under ThreadSanitizer and AddressSanitizer (nightly).
#
#   bash scripts/sanitizers.sh          # both
#   bash scripts/sanitizers.sh thread   # or: address
#
# Each sanitizer builds std itself (-Zbuild-std: a sanitizer must see std's code too, or TSan
# reports races inside std's own synchronisation) into its own target dir
# (target/san-thread, target/san-address), so the first run is a long build.
#
# Left out, and why (SKIP_TESTS below):
# - examples.rs runs the example programs as child processes, built by a nested
#   `cargo build --examples` that does not pass -Zbuild-std, so they are not sanitized
#   and may not link;
# - load.rs asserts RSS and fd bounds over 400k messages and 5000 connection cycles: the
#   sanitizers' shadow memory (and ASan's quarantine of freed memory) make the RSS bound
#   meaningless, and at their speed it runs for many minutes.
# The interop tests (pyzmq peers in child processes) and faults.rs (network namespaces) run:
# only the oxmq side is instrumented, which is the side under test.
# Measured under TSan (2 cores, cold, including the build-std build): 528 tests in about 14 min,
# 527 passed, no TSan report;
# one timing failure, interop_pubsub's pub_drops_for_frozen_subscriber_tcp hitting the 30 s
# test watchdog at TSan's speed.
# Measured under ASan (warm): 537 tests pass in 97 s, no ASan or leak report, with the two
# RSS-bound tests of RSS_BOUND_SKIP left out.
# Needs: rustup toolchain nightly with rust-src (installed here if missing).
set -euo pipefail
cd "$(dirname "$0")/.."

rustup +nightly component list --installed 2>/dev/null | grep -q '^rust-src' || rustup +nightly component add rust-src

target=x86_64-unknown-linux-gnu
SKIP_TESTS=(examples load)
mapfile -t all_tests < <(ls crates/oxmq/tests/*.rs | xargs -n1 basename | sed 's/\.rs$//')
test_args=(--lib)
for t in "${all_tests[@]}"; do
  [[ " ${SKIP_TESTS[*]} " == *" $t "* ]] || test_args+=(--test "$t")
done

run() {
  local san=$1
  local start=$SECONDS
  local skip=("${RSS_BOUND_SKIP[@]}")
  echo "== $san sanitizer"
  RUSTFLAGS="-Zsanitizer=$san" RUSTDOCFLAGS="-Zsanitizer=$san" \
    CARGO_TARGET_DIR="target/san-$san" \
    cargo +nightly test -Zbuild-std --target "$target" -p oxmq --no-fail-fast "${test_args[@]}" \
    -- "${skip[@]}" 2>&1 | tee "target/san-$san.log"
  local rc=${PIPESTATUS[0]}
  echo "== $san: exit $rc in $((SECONDS - start)) s; $(grep -c 'WARNING: ThreadSanitizer\|ERROR: AddressSanitizer' "target/san-$san.log" || true) sanitizer reports"
  return "$rc"
}

# Tests that bound the resident memory of the whole test process, left out under both
# sanitizers: ASan's quarantine of freed memory makes the bound meaningless (the PING flood
# grew RSS by 77 MiB under ASan, by nothing without it), and so does TSan's shadow memory of
# the tests that run beside them in the same process (79 MiB on 2026-12-02; they passed when
# run alone). Both run in every plain `cargo test`.
RSS_BOUND_SKIP=(--skip ping_flood_without_reading_pongs_does_not_grow_memory
  --skip a_flood_of_unknown_and_unsolicited_commands_is_ignored)
export TSAN_OPTIONS="${TSAN_OPTIONS:-halt_on_error=0 second_deadlock_stack=1}"
export ASAN_OPTIONS="${ASAN_OPTIONS:-detect_leaks=1}"
status=0
case "${1:-both}" in
  thread) run thread || status=1 ;;
  address) run address || status=1 ;;
  both) run thread || status=1; run address || status=1 ;;
  *) echo "usage: $0 [thread|address|both]" >&2; exit 2 ;;
esac
exit $status
