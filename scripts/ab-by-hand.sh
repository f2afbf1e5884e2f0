#!/usr/bin/env bash
# The hand-run A/B of BENCHMARKS.md: two builds of oxmq and libzmq's tools, in turn, outside
# `oxmq bench`.
#
#   OLD=/path/to/old/target/release NEW=target/release bash scripts/ab-by-hand.sh
#
# Per round: REQ/REP 64 B latency over tcp and ipc (both processes on core 0, 40,000 round
# trips), then PUSH/PULL over tcp at 64 B (2M messages), 1 KiB (1M) and 64 KiB (60,000) with
# the binder on core 0 and the connecter on core 1: old, new and libzmq's tools (NEW/zmq_*)
# in turn, 3 rounds. Build both first: cargo build --release -p oxmq-cli -p oxmq-libzmq-perf
# (NEW), -p oxmq-cli (OLD).
#
# THR="ipc:65536:20000 tcp:64:2000000 ..." replaces the throughput workloads (transport:size:
# count) and LAT=0 leaves out the latency runs; PEERS="monocoque_" adds another
# implementation's pair (NEW/<prefix>local_thr, built by oxmq-peers-perf) after libzmq's in
# each; STAT=1 adds the sending side's page faults and CPU ms (perf stat) after each rate.
set -u
lat() { taskset -c 0 "$1/${2}local_lat" "$3" 64 40000 >/dev/null & sleep 0.3
        taskset -c 0 "$1/${2}remote_lat" "$3" 64 40000 | awk '/average latency/ {print $3}'; wait; }
stat=()
[ "${STAT:-0}" = 1 ] && stat=(perf stat -x, -e page-faults,task-clock -o "${TMPDIR:-/tmp}/ab-by-hand-stat.txt")
thr() { taskset -c 0 "$1/${2}local_thr" "$3" "$4" "$5" > "${TMPDIR:-/tmp}/ab-by-hand-thr.txt" & sleep 0.3
        "${stat[@]}" taskset -c 1 "$1/${2}remote_thr" "$3" "$4" "$5" >/dev/null; wait
        awk '/mean throughput:.*msg\/s/ {printf "%s", $3}' "${TMPDIR:-/tmp}/ab-by-hand-thr.txt"
        [ ${#stat[@]} -eq 0 ] || awk -F, '/page-faults/ {f=$1} /task-clock/ {t=$1} END {printf " (%d faults, %.0f ms)", f, t}' "${TMPDIR:-/tmp}/ab-by-hand-stat.txt"
        echo; }
port=5900
ep() { port=$((port + 1)); if [ "$1" = tcp ]; then echo "tcp://127.0.0.1:$port"; else echo "ipc://${TMPDIR:-/tmp}/ab-by-hand-$port"; fi; }
for r in 1 2 3; do
  if [ "${LAT:-1}" != 0 ]; then
    for tr in tcp ipc; do
      echo "round $r $tr lat us: old $(lat "$OLD" "" "$(ep $tr)") new $(lat "$NEW" "" "$(ep $tr)") libzmq $(lat "$NEW" zmq_ "$(ep $tr)")"
    done
  fi
  for w in ${THR:-tcp:64:2000000 tcp:1024:1000000 tcp:65536:60000}; do
    tr=${w%%:*}; sn=${w#*:}; s=${sn%%:*}; n=${sn##*:}
    line="round $r $tr $s B msg/s: old $(thr "$OLD" "" "$(ep $tr)" "$s" "$n") new $(thr "$NEW" "" "$(ep $tr)" "$s" "$n") libzmq $(thr "$NEW" zmq_ "$(ep $tr)" "$s" "$n")"
    for p in ${PEERS:-}; do line="$line ${p%_} $(thr "$NEW" "$p" "$(ep $tr)" "$s" "$n")"; done
    echo "$line"
  done
done
