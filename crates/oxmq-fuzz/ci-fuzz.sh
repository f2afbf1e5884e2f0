#!/usr/bin/env bash
# Runs every cargo-fuzz target in crates/oxmq-fuzz/fuzz for a short time each, one after the
# other, and fails on the first crash, hang (per-input timeout) or out-of-memory.
#
#   crates/oxmq-fuzz/ci-fuzz.sh                 # CI: 12 s per target
#   FUZZ_SECONDS=600 crates/oxmq-fuzz/ci-fuzz.sh   # a maintainer's longer run
#   FUZZ_SECONDS=60 crates/oxmq-fuzz/ci-fuzz.sh engine endpoint   # only these targets
#
# Works on a stable toolchain (RUSTC_BOOTSTRAP=1, no sanitizer); set FUZZ_SANITIZER=address on
# nightly for AddressSanitizer. Installs cargo-fuzz if it is missing. New inputs go to
# fuzz/corpus/<target>/ (ignored by git); the committed seeds are read from corpus/<target>/.
# A crash is saved as fuzz/artifacts/<target>/crash-* and the script exits non-zero; replay it
# with `cargo fuzz run -s none <target> <file>` (see README.md).
set -euo pipefail

seconds="${FUZZ_SECONDS:-12}"
sanitizer="${FUZZ_SANITIZER:-none}"
cd "$(dirname "$0")/fuzz"

if ! cargo fuzz --version >/dev/null 2>&1; then
    echo "ci-fuzz: installing cargo-fuzz"
    cargo install cargo-fuzz --locked
fi
if [ "$sanitizer" = none ]; then
    # cargo-fuzz passes nightly-only flags; stable accepts them with this.
    export RUSTC_BOOTSTRAP=1
fi

if [ "$#" -gt 0 ]; then targets=("$@"); else mapfile -t targets < <(cargo fuzz list); fi
start=$(date +%s)
# Build every target first, so that the time limits are spent fuzzing.
cargo fuzz build -s "$sanitizer"
built=$(date +%s)
for t in "${targets[@]}"; do
    mkdir -p "corpus/$t"
    echo "ci-fuzz: $t for ${seconds}s"
    # -max_len: libFuzzer would otherwise cap inputs at the largest seed; -timeout: one input
    # taking over 10 s is a hang; -rss_limit_mb: the engine target
    # legitimately reserves up to 16 MiB per connection, far below this.
    if ! cargo fuzz run -s "$sanitizer" "$t" "corpus/$t" "../corpus/$t" -- \
        -max_total_time="$seconds" -max_len=4096 -timeout=10 -rss_limit_mb=1024 -print_final_stats=1; then
        echo "ci-fuzz: $t FAILED (input saved under fuzz/artifacts/$t/)" >&2
        exit 1
    fi
done
end=$(date +%s)
echo "ci-fuzz: ${#targets[@]} targets, ${seconds}s each: build $((built - start))s, fuzzing $((end - built))s, total $((end - start))s"
