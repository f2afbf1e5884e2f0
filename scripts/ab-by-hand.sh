#!/usr/bin/env bash
# The hand-run A/B of BENCHMARKS.md: two builds of oxmq and libzmq's tools, in turn, outside
# `oxmq bench`.
#
#   OLD=/path/to/old/target/release NEW=target/release bash scripts/ab-by-hand.sh
#
# Per round: REQ/REP 64 B latency over tcp and ipc (both processes on core 0, 40,000 round
# trips), then PUSH/PULL over tcp at 64 B (2M messages), 1 KiB (1M) and 64 KiB (60,000) with
# the binder on core 0 and the connecter on core 1: old, new and libzmq's tools (NEW/zmq_*)
# in turn, 3 rounds (ROUNDS=n for another number). Build both first: cargo build --release -p oxmq-cli -p oxmq-libzmq-perf
# (NEW), -p oxmq-cli (OLD).
#
# THR="ipc:65536:20000 tcp:64:2000000 ..." replaces the throughput workloads (transport:size:
# count) and LAT=0 leaves out the latency runs; PEERS="monocoque_" adds another
# implementation's pair (NEW/<prefix>local_thr, built by oxmq-peers-perf) after libzmq's in
# each; STAT=1 adds the sending side's page faults and CPU ms (perf stat) after each rate.
# ABI_OLD=dir ABI_NEW=dir (each holding a libzmq.so.5 of oxmq's, e.g. a symlink to a build's
# target/release/libzmq.so) add libzmq's tools (NEW/zmq_*) run on each of the two libraries.
# SCALE="push:100 pub:10 router:1 ..." (pattern:peers) adds scale_thr's one-to-many runs
# (tcp, 64 B, 5M messages, 2.5M with 100 peers; the one socket on core 0, the peers on core
# 1): OLD, NEW and libzmq's zmq_scale_thr in turn, each round. THR=" " leaves out the throughput
# runs.
# (The throughput tools' stderr goes to $TMPDIR/ab-by-hand-err.txt: an empty rate is explained there.)
set -u
lib=
lat() { taskset -c 0 "$1/${2}local_lat" "$3" 64 40000 >/dev/null & sleep 0.3
        taskset -c 0 "$1/${2}remote_lat" "$3" 64 40000 | awk '/average latency/ {print $3}'; wait; }
stat=()
[ "${STAT:-0}" = 1 ] && stat=(perf stat -x, -e page-faults,task-clock -o "${TMPDIR:-/tmp}/ab-by-hand-stat.txt")
thr() { taskset -c 0 ${lib:+env LD_LIBRARY_PATH="$lib" PERF_EXPECT_LIBZMQ=oxmq} "$1/${2}local_thr" "$3" "$4" "$5" > "${TMPDIR:-/tmp}/ab-by-hand-thr.txt" 2>>"${TMPDIR:-/tmp}/ab-by-hand-err.txt" & sleep 0.3
        "${stat[@]}" taskset -c 1 ${lib:+env LD_LIBRARY_PATH="$lib" PERF_EXPECT_LIBZMQ=oxmq} "$1/${2}remote_thr" "$3" "$4" "$5" >/dev/null 2>>"${TMPDIR:-/tmp}/ab-by-hand-err.txt"; wait
        awk '/mean throughput:.*msg\/s/ {printf "%s", $3}' "${TMPDIR:-/tmp}/ab-by-hand-thr.txt"
        [ ${#stat[@]} -eq 0 ] || awk -F, '/page-faults/ {f=$1} /task-clock/ {t=$1} END {printf " (%d faults, %.0f ms)", f, t}' "${TMPDIR:-/tmp}/ab-by-hand-stat.txt"
        echo; }
scale() { taskset -c 0 "$1/${2}scale_thr" one "$3" "$5" "$4" 64 "$6" > "${TMPDIR:-/tmp}/ab-by-hand-one.txt" 2>&1 & sleep 0.3
          taskset -c 1 "$1/${2}scale_thr" many "$3" "$5" "$4" 64 "$6" > "${TMPDIR:-/tmp}/ab-by-hand-many.txt" 2>&1; wait
          cat "${TMPDIR:-/tmp}"/ab-by-hand-{one,many}.txt | awk '/mean throughput:.*msg\/s/ {printf "%s", $3}'; }
port=5900
ep() { port=$((port + 1)); if [ "$1" = tcp ]; then echo "tcp://127.0.0.1:$port"; else echo "ipc://${TMPDIR:-/tmp}/ab-by-hand-$port"; fi; }
for r in $(seq 1 ${ROUNDS:-3}); do
  if [ "${LAT:-1}" != 0 ]; then
    for tr in tcp ipc; do
      echo "round $r $tr lat us: old $(lat "$OLD" "" "$(ep $tr)") new $(lat "$NEW" "" "$(ep $tr)") libzmq $(lat "$NEW" zmq_ "$(ep $tr)")"
    done
  fi
  for w in ${THR:-tcp:64:2000000 tcp:1024:1000000 tcp:65536:60000}; do
    tr=${w%%:*}; sn=${w#*:}; s=${sn%%:*}; n=${sn##*:}
    line="round $r $tr $s B msg/s: old $(thr "$OLD" "" "$(ep $tr)" "$s" "$n") new $(thr "$NEW" "" "$(ep $tr)" "$s" "$n") libzmq $(thr "$NEW" zmq_ "$(ep $tr)" "$s" "$n")"
    for p in ${PEERS:-}; do line="$line ${p%_} $(thr "$NEW" "$p" "$(ep $tr)" "$s" "$n")"; done
    if [ -n "${ABI_OLD:-}" ]; then
      line="$line old-abi $(lib=$ABI_OLD thr "$NEW" zmq_ "$(ep $tr)" "$s" "$n") new-abi $(lib=$ABI_NEW thr "$NEW" zmq_ "$(ep $tr)" "$s" "$n")"
    fi
    echo "$line"
  done
  for w in ${SCALE:-}; do
    pat=${w%%:*}; n=${w#*:}; c=5000000; [ "$n" -ge 100 ] && c=2500000
    echo "round $r scale $pat $n peers msg/s: old $(scale "$OLD" "" "$pat" "$n" "$(ep tcp)" $c) new $(scale "$NEW" "" "$pat" "$n" "$(ep tcp)" $c) libzmq $(scale "$NEW" zmq_ "$pat" "$n" "$(ep tcp)" $c)"
  done
done
