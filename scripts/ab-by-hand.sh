#!/usr/bin/env bash
# The hand-run A/B of BENCHMARKS.md ("Caller-driven writes"): two builds of oxmq and libzmq's
# tools, in turn, outside `oxmq bench`.
#
#   OLD=/path/to/old/target/release NEW=target/release bash scripts/ab-by-hand.sh
#
# OLD=<old build's target/release> NEW=target/release: REQ/REP 64 B latency over tcp (both
# processes on core 0, 40,000 round trips) and PUSH/PULL 64 KiB over tcp (binder core 0,
# connecter core 1, 60,000 messages): old, new and libzmq's tools (NEW/zmq_*) in turn, 3 rounds.
# Build both first: cargo build --release -p oxmq-cli -p oxmq-libzmq-perf (NEW), -p oxmq-cli (OLD).
set -u
lat() { taskset -c 0 "$1/${2}local_lat" tcp://127.0.0.1:$3 64 40000 >/dev/null & sleep 0.3
        taskset -c 0 "$1/${2}remote_lat" tcp://127.0.0.1:$3 64 40000 | awk '/average latency/ {print $3}'; wait; }
thr() { taskset -c 0 "$1/${2}local_thr" tcp://127.0.0.1:$3 65536 60000 > "${TMPDIR:-/tmp}/ab-by-hand-thr.txt" & sleep 0.3
        taskset -c 1 "$1/${2}remote_thr" tcp://127.0.0.1:$3 65536 60000 >/dev/null; wait
        awk '/mean throughput:.*msg\/s/ {print $3}' "${TMPDIR:-/tmp}/ab-by-hand-thr.txt"; }
for r in 1 2 3; do
  echo "round $r lat us: old $(lat "$OLD" "" 5801) new $(lat "$NEW" "" 5802) libzmq $(lat "$NEW" zmq_ 5803)"
  echo "round $r 64KiB msg/s: old $(thr "$OLD" "" 5804) new $(thr "$NEW" "" 5805) libzmq $(thr "$NEW" zmq_ 5806)"
done
