#!/usr/bin/env bash
# pyzmq's own test suite on oxmq's libzmq (LD_PRELOAD) beside the same suite on the libzmq
# pyzmq's wheel bundles, file by file; fails if a test fails on oxmq and not on libzmq,
# unless it is one COMPATIBILITY.md explains (KNOWN below).
#
#   bash scripts/pyzmq-suite.sh PYZMQ_SOURCE          # a checkout of pyzmq at the tag of the
#                                                     # installed pyzmq (its tests/, pytest.ini)
#   PYTHON=/path/venv/bin/python bash scripts/pyzmq-suite.sh PYZMQ_SOURCE
#   OXMQ_LIBZMQ=/path/libzmq.so bash scripts/pyzmq-suite.sh PYZMQ_SOURCE   # skip the build
#
# Needs, beside pyzmq: pytest, pytest-asyncio, pytest-timeout and tornado (a venv made with
# --system-site-packages over the pyzmq that CI installs works). Not part of CI: the suite's
# sources come from pyzmq's repository (the wheel does not ship them). Takes a few minutes.
set -euo pipefail
cd "$(dirname "$0")/.."

src="${1:?usage: bash scripts/pyzmq-suite.sh PYZMQ_SOURCE}"
src="$(cd "$src" && pwd)"
python="${PYTHON:-python3}"
# Tests that fail on oxmq for a reason COMPATIBILITY.md gives.
KNOWN=()

lib="${OXMQ_LIBZMQ:-}"
if [ -z "$lib" ]; then
  cargo build --release -p oxmq-ffi
  lib="$(pwd)/${CARGO_TARGET_DIR:-target}/release/libzmq.so"
fi
[ -f "$lib" ] || { echo "no $lib" >&2; exit 1; }

out="$(mktemp -d)"
cd "$src"
status=0
for f in tests/test_*.py; do
  for mode in libzmq oxmq; do
    pre=""
    [ "$mode" = oxmq ] && pre="$lib"
    LD_PRELOAD="$pre" timeout 300 "$python" -m pytest -q -p no:cacheprovider --timeout 60 -rfE "$f" \
      > "$out/$mode.txt" 2>&1 || true
    grep -E "^(FAILED|ERROR) " "$out/$mode.txt" | sed -E 's/ - .*//' | sort > "$out/$mode.failed" || true
  done
  echo "$f: libzmq: $(tail -1 "$out/libzmq.txt")"
  echo "$f: oxmq:   $(tail -1 "$out/oxmq.txt")"
  # Some of pyzmq's tests are flaky on libzmq itself (test_log.py's inproc PUB/SUB races its
  # subscription, hangs, and the rest of the file then fails): a failure only counts if it
  # comes back in two more runs of the file on oxmq.
  comm -13 "$out/libzmq.failed" "$out/oxmq.failed" > "$out/only"
  for again in 1 2; do
    [ -s "$out/only" ] || break
    LD_PRELOAD="$lib" timeout 300 "$python" -m pytest -q -p no:cacheprovider --timeout 60 -rfE "$f" \
      > "$out/again.txt" 2>&1 || true
    grep -E "^(FAILED|ERROR) " "$out/again.txt" | sed -E 's/ - .*//' | sort > "$out/again.failed" || true
    comm -12 "$out/only" "$out/again.failed" > "$out/still"
    mv "$out/still" "$out/only"
  done
  while read -r line; do
    test_id="${line#* }"
    known=no
    for k in "${KNOWN[@]}"; do [ "$test_id" = "$k" ] && known=yes; done
    if [ "$known" = yes ]; then
      echo "    known: $line"
    else
      echo "    ONLY ON OXMQ: $line"
      status=1
    fi
  done < "$out/only"
done
rm -rf "$out"
exit $status
