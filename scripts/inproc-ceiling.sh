#!/usr/bin/env bash
# The inproc ceiling: what two threads can move without ZeroMQ, beside oxmq and libzmq.
#
# For each size, runs in turn (ROUNDS times, alternating): inproc_ceiling with fresh bodies
# (the messages inproc_thr makes: one allocation per message, freed by the other thread),
# inproc_ceiling with static bodies (no allocation: the queue alone), oxmq's inproc_thr and
# libzmq's. Receiving thread on core 0, sending thread on core 1. Prints each run and the
# medians in msg/s.
#
# ALLOCATOR=/path/to/libsomething.so preloads that malloc into all four tools alike (for
# example Debian's libjemalloc2, libmimalloc2.0 or libtcmalloc-minimal4), so both libraries
# are measured on an allocator other than glibc's, the same one.
#
# Build first: cargo build --release -p oxmq-cli -p oxmq-libzmq-perf
# Usage: [ALLOCATOR=lib.so] scripts/inproc-ceiling.sh [rounds] [sizes...]   (default: 5 rounds, 64 1024)
set -euo pipefail
cd "$(dirname "$0")/.."
bin=target/release
rounds=${1:-5}
shift || true
[ $# -gt 0 ] || set -- 64 1024
sizes=("$@")
export PERF_PIN_RECV=0 PERF_PIN_SEND=1
if [ -n "${ALLOCATOR:-}" ]; then
    [ -f "$ALLOCATOR" ] || { echo "ALLOCATOR: no such file: $ALLOCATOR" >&2; exit 2; }
    export LD_PRELOAD="$ALLOCATOR"
fi

count_for() { if [ "$1" -le 1024 ]; then echo 3000000; else echo 300000; fi; }
rate() { "$@" | awk '/mean throughput:.*msg\/s/ { print $3 }'; }
median() { sort -n | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }

for size in "${sizes[@]}"; do
    n=$(count_for "$size")
    declare -A runs=()
    for ((r = 1; r <= rounds; r++)); do
        runs[fresh]+="$(rate $bin/inproc_ceiling "$size" "$n" fresh) "
        runs[static]+="$(rate $bin/inproc_ceiling "$size" "$n" static) "
        runs[oxmq]+="$(rate $bin/inproc_thr "$size" "$n") "
        runs[libzmq]+="$(rate $bin/zmq_inproc_thr "$size" "$n") "
    done
    echo "size $size B, $n messages, $rounds rounds, allocator: ${ALLOCATOR:-glibc}"
    for k in fresh static oxmq libzmq; do
        m=$(tr ' ' '\n' <<<"${runs[$k]}" | grep . | median)
        printf '  %-7s median %12.0f msg/s   runs: %s\n' "$k" "$m" "${runs[$k]}"
    done
    unset runs
done
