#!/usr/bin/env bash
# pyzmq's own test suite on oxmq, the tests/ of the pyzmq sdist at the version of the installed
# pyzmq, run two ways:
#   --preload LIB               the installed pyzmq wheel, LD_PRELOAD=LIB (oxmq's libzmq.so)
#   --built-from-source PREFIX  pyzmq built from that sdist against the libzmq installed in
#                               PREFIX (scripts/install-libzmq-compat.sh --prefix PREFIX), in a
#                               venv, no preload; checked to load PREFIX/lib/libzmq.so.5
# (either or both; with neither, --preload on a fresh `cargo build --release -p oxmq-ffi`).
#
#   bash scripts/pyzmq-suite.sh --preload target/debug/libzmq.so
#   bash scripts/install-libzmq-compat.sh --prefix /tmp/oxmq && \
#     bash scripts/pyzmq-suite.sh --built-from-source /tmp/oxmq
#   bash scripts/pyzmq-suite.sh ... --source DIR   # tests/ and pytest.ini of a pyzmq checkout
#                                                  # instead of the sdist (route 2 builds DIR)
#
# The whole suite runs once per route, in one pytest process. The wheel's bundled libzmq 4.3.5
# (no preload) runs only what tells results apart. Some of pyzmq's tests are flaky on libzmq
# itself (test_log.py's test_blank_root_topic publishes right after subscribing, sometimes
# loses that race on either library, hangs 60 s and leaves its handler on a shared logger, so
# the rest of its file fails), so a failing test is run on libzmq, then its file again on
# oxmq in a new process, in turn: it counts against oxmq only if it fails five runs on oxmq
# and passes five on libzmq; one pass on oxmq clears it, one libzmq run it does not pass sets
# it aside as not oxmq's. (A test that loses a race half the time on both libraries would
# still count once in a thousand routes.) Run it on a release build: a debug build is slower
# on the I/O path, and racy tests then lose more often on oxmq than on libzmq. A test that skips on oxmq is run on libzmq: if it passes there,
# COMPATIBILITY.md must say why, as "`test_file.py::Class::test` skips on oxmq: reason" (the
# node id without "tests/"). A test listed in `isolated=` (below, with why) runs in a process
# of its own after the rest, counted as any other. Every rerun and its result is printed. Exit status 1 if a test fails on oxmq only, skips on oxmq only
# without being listed, or a run dies.
#
# Needs python3 with pyzmq (the wheel; CI pins it in .ci/run), pip reaching PyPI, and for
# route 2 a C compiler (cmake and ninja come from PyPI). The test dependencies are pinned in
# .ci/pyzmq-suite-requirements.txt and installed into venvs under the work directory,
# ${PYZMQ_SUITE_WORK:-${CARGO_TARGET_DIR:-target}/pyzmq-suite}.
set -euo pipefail
cd "$(dirname "$0")/.."
root="$PWD"

lib=
prefix=
source_dir=
while [ $# -gt 0 ]; do
  case "$1" in
    --preload) lib="$2"; shift 2 ;;
    --built-from-source) prefix="$2"; shift 2 ;;
    --source) source_dir="$2"; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d'; exit 0 ;;
    *) echo "unknown argument: $1 (see --help)" >&2; exit 2 ;;
  esac
done
if [ -z "$lib" ] && [ -z "$prefix" ]; then
  cargo build --release -p oxmq-ffi
  lib="${CARGO_TARGET_DIR:-target}/release/libzmq.so"
fi
if [ -n "$lib" ]; then
  [ -f "$lib" ] || { echo "no $lib" >&2; exit 1; }
  lib="$(cd "$(dirname "$lib")" && pwd)/$(basename "$lib")"
fi
if [ -n "$prefix" ]; then
  [ -f "$prefix/lib/libzmq.so.5" ] && [ -f "$prefix/include/zmq.h" ] \
    || { echo "no libzmq.so.5 and zmq.h under $prefix (install-libzmq-compat.sh)" >&2; exit 1; }
  prefix="$(cd "$prefix" && pwd)"
fi

started=$SECONDS
python="${PYTHON:-python3}"
work="${PYZMQ_SUITE_WORK:-${CARGO_TARGET_DIR:-target}/pyzmq-suite}"
mkdir -p "$work"
work="$(cd "$work" && pwd)"
requirements="$root/.ci/pyzmq-suite-requirements.txt"
version="$(env -u LD_PRELOAD "$python" -c 'import zmq; print(zmq.__version__)')"
echo "== pyzmq $version's test suite (work directory $work)"

# The tests: the sdist's tests/ and pytest.ini, unpacked away from its zmq/ (which would
# shadow the installed package).
sdist="$work/pyzmq-$version.tar.gz"
suite="$work/suite"
rm -rf "$suite"
mkdir -p "$suite"
if [ -n "$source_dir" ]; then
  source_dir="$(cd "$source_dir" && pwd)"
  cp -r "$source_dir/tests" "$source_dir/pytest.ini" "$suite/"
  build_from="$source_dir"
else
  if [ ! -f "$sdist" ]; then
    "$python" -m pip download -q --no-deps --no-binary pyzmq "pyzmq==$version" -d "$work"
  fi
  tar -xzf "$sdist" -C "$suite" --strip-components=1 "pyzmq-$version/tests" "pyzmq-$version/pytest.ini"
  build_from="$sdist"
fi
echo "tests: $(ls "$suite"/tests/test_*.py | wc -l) files from ${source_dir:-$sdist}"

# venv-wheel sees the installed pyzmq wheel (--system-site-packages); venv-source gets its own
# pyzmq, built from source, which shadows it.
make_venv() {
  { [ -x "$1/bin/python" ] || env -u LD_PRELOAD "$python" -m venv --system-site-packages "$1"; } \
    && env -u LD_PRELOAD "$1/bin/python" -m pip install -q -r "$requirements"
}
make_venv "$work/venv-wheel"
wheel_py="$work/venv-wheel/bin/python"

out="$(mktemp -d)"
trap 'rm -rf "$out"' EXIT

# How each kind of run starts python (into the array PY): the wheel on libzmq, the wheel on
# oxmq, the build on oxmq.
py_env() {
  case "$1" in
    libzmq) PY=(env -u LD_PRELOAD "$wheel_py") ;;
    preload) PY=(env LD_PRELOAD="$lib" "$wheel_py") ;;
    source) PY=(env -u LD_PRELOAD -u LD_LIBRARY_PATH "$work/venv-source/bin/python") ;;
  esac
}

# Which library a kind of run calls, checked from inside a process started the same way.
WHICH='
import ctypes, os, sys, zmq
mode, where = sys.argv[1], sys.argv[2]
mapped = sorted({l.split()[-1] for l in open("/proc/self/maps") if "libzmq" in l.split()[-1]})
def oxmq_version(handle):
    f = getattr(handle, "oxmq_ffi_version", None)
    if f is None:
        return None
    f.restype = ctypes.c_char_p
    return f().decode()
print(f"  zmq from {os.path.dirname(zmq.__file__)}, zmq_version() {zmq.zmq_version()}")
print("  libzmq files mapped: " + ", ".join(mapped))
if mode == "libzmq":
    assert oxmq_version(ctypes.CDLL(None)) is None, "oxmq is loaded"
    assert all(oxmq_version(ctypes.CDLL(p, mode=os.RTLD_NOLOAD)) is None for p in mapped)
    print("  no oxmq_ffi_version anywhere: the bundled libzmq of the wheel")
elif mode == "preload":
    v = oxmq_version(ctypes.CDLL(None))
    assert v is not None, "LD_PRELOAD did not take: no oxmq_ffi_version in the global scope"
    ours = ctypes.CDLL(where, mode=os.RTLD_NOLOAD)
    for name in ("zmq_ctx_new", "zmq_msg_init", "zmq_socket"):
        first = ctypes.cast(getattr(ctypes.CDLL(None), name), ctypes.c_void_p).value
        assert first == ctypes.cast(getattr(ours, name), ctypes.c_void_p).value, name
    print(f"  zmq_* resolve to {where} first: oxmq_ffi_version {v}")
else:
    assert sys.prefix != sys.base_prefix and zmq.__file__.startswith(sys.prefix), zmq.__file__
    want = os.path.realpath(os.path.join(where, "lib", "libzmq.so.5"))
    assert [os.path.realpath(p) for p in mapped] == [want], (mapped, want)
    v = oxmq_version(ctypes.CDLL(want, mode=os.RTLD_NOLOAD))
    assert v is not None, f"{want} is not oxmq"
    print(f"  the one libzmq loaded is {want}: oxmq_ffi_version {v}")
'
which_lib() {
  local where="$prefix"
  [ "$1" = source ] || where="$lib"
  py_env "$1"
  (cd "$suite" && "${PY[@]}" -c "$WHICH" "$1" "${where:-none}")
}

# run NAME KIND PYTEST_ARGS...: pytest in the suite directory; NAME.log, NAME.outcomes in $out.
run() {
  local name="$1"
  py_env "$2"
  shift 2
  : > "$out/$name.outcomes"
  (cd "$suite" && PYTHONPATH="$root/scripts" PYZMQ_SUITE_OUTCOMES="$out/$name.outcomes" \
    timeout 1800 "${PY[@]}" -m pytest -p pyzmq_suite_outcomes -p no:cacheprovider \
    -q -rfEsR --timeout 120 "$@") > "$out/$name.log" 2>&1 || true
}
# ids OUTCOME... < outcomes: the node ids with one of these outcomes, sorted
ids() {
  local pattern
  pattern="$(printf '%s|' "$@")"
  grep -E "^(${pattern%|}) " | cut -d' ' -f2- | sort -u || true
}
# of_file FILE < ids: the ids in that test file; not_of_file: the others
of_file() { awk -v f="$1" '$0 == f || index($0, f "::") == 1'; }
not_of_file() { awk -v f="$1" '!($0 == f || index($0, f "::") == 1)'; }
# finished OUTCOMES: the session ended with tests run, passing or not (pytest's exit status 0
# or 1; not interrupted, an internal or usage error, or no tests collected)
finished() { grep -qE '^finished [01]$' "$1"; }

echo
echo "== the reference, for comparisons: the wheel without preload"
which_lib libzmq

# Tests that run each in a process of its own, after the rest: a pyzmq bug in them leaves
# something behind that can abort a later, unrelated test (the reason beside each). They
# count as any other test.
isolated=(
  # zmq.green: its shadow sockets keep gevent watchers on the socket's ZMQ_FD once the
  # socket is closed; gevent's loop aborts the process when it next applies its changes
  # while that descriptor number is free (libev: "I/O watcher with invalid fd found in
  # epoll_ctl"). Which later test meets it depends on descriptor numbers (with libzmq's
  # none did; with oxmq's, TestSocketGreen::test_custom_serialize in about one run in
  # eight). scripts/green_shadow_close.py does the same on libzmq, run below.
  tests/test_socket.py::TestSocketGreen::test_copy
)
deselect=()
for id in "${isolated[@]}"; do deselect+=(--deselect "$id"); done
py_env libzmq
echo "scripts/green_shadow_close.py on libzmq 4.3.5 (why test_copy's green version runs alone):"
# (the group's redirection takes the shell's own "Aborted" line too)
if { "${PY[@]}" "$root/scripts/green_shadow_close.py" > "$out/shadow.log" 2>&1; } 2>> "$out/shadow.log"; then
  echo "  $(tail -1 "$out/shadow.log") (this time)"
else
  echo "  aborted: $(grep -m1 -o 'libev: [^"]*' "$out/shadow.log" || tail -1 "$out/shadow.log")"
fi

status=0
total_passed=0 total_failed=0 total_skipped=0
# check ROUTE KIND: the whole suite on oxmq, then the reruns and libzmq comparisons it needs.
check() {
  local route="$1" kind="$2" t0=$SECONDS f again id n
  local -a list
  echo
  echo "== $route"
  which_lib "$kind"
  run main "$kind" tests "${deselect[@]}"
  cat "$out/main.log"
  if ! finished "$out/main.outcomes"; then
    echo "$route: the pytest run did not end normally (above); its last line of outcomes:" \
      "$(tail -1 "$out/main.outcomes")"
    status=1
  fi
  for id in "${isolated[@]}"; do
    run alone "$kind" "$id"
    echo "$route: $id in a process of its own: $(tail -1 "$out/alone.log")"
    if ! finished "$out/alone.outcomes"; then
      cat "$out/alone.log"
      status=1
    fi
    grep -v '^finished ' "$out/alone.outcomes" >> "$out/main.outcomes" || true
  done
  ids failed error < "$out/main.outcomes" > "$out/failing"
  # A failing test is run on libzmq and its file rerun on oxmq, in turn, five rounds at most
  # (libzmq first: a hang costs a minute, and pyzmq's racy tests lose on libzmq too). It
  # counts against oxmq once it has failed five runs on oxmq and passed five on libzmq; it
  # is cleared by one pass on oxmq, or set aside by one run on libzmq that does not pass.
  : > "$out/both"
  local round rounds=5
  for round in $(seq $rounds); do
    [ -s "$out/failing" ] || break
    mapfile -t list < "$out/failing"
    run ref libzmq "${list[@]}"
    echo "round $round: the ${#list[@]} tests failing on oxmq, on libzmq 4.3.5: $(tail -1 "$out/ref.log")"
    ids passed < "$out/ref.outcomes" > "$out/ref.passed"
    comm -23 "$out/failing" "$out/ref.passed" >> "$out/both"
    comm -12 "$out/failing" "$out/ref.passed" > "$out/failing.new"
    mv "$out/failing.new" "$out/failing"
    [ -s "$out/failing" ] && [ "$round" -lt $rounds ] || continue
    mapfile -t list < <(sed 's/::.*//' "$out/failing" | sort -u)
    # the isolated tests stay out of a rerun of their file, unless one of them is failing
    local -a keep_out=()
    for id in "${isolated[@]}"; do
      grep -qxF "$id" "$out/failing" || keep_out+=(--deselect "$id")
    done
    run again "$kind" "${list[@]}" "${keep_out[@]}"
    echo "round $round: ${list[*]} again on oxmq: $(tail -1 "$out/again.log")"
    ids failed error < "$out/again.outcomes" > "$out/again.failing"
    # a run that died fails whatever it had not finished
    finished "$out/again.outcomes" || cat "$out/failing" >> "$out/again.failing"
    sort -u "$out/again.failing" | comm -12 "$out/failing" - > "$out/failing.new"
    mv "$out/failing.new" "$out/failing"
  done
  sort -u -o "$out/both" "$out/both"
  local only both
  only=$(wc -l < "$out/failing")
  both=$(wc -l < "$out/both")
  while read -r id; do
    echo "  does not pass on libzmq 4.3.5 either, not counted against oxmq: $id"
  done < "$out/both"
  while read -r id; do
    echo "  FAILS ON OXMQ ONLY ($rounds runs of $rounds; passes $rounds of $rounds on libzmq): $id"
    status=1
  done < "$out/failing"
  # Skips on oxmq that libzmq does not skip.
  ids skipped < "$out/main.outcomes" > "$out/skipped"
  n=$(wc -l < "$out/skipped")
  if [ "$n" -gt 0 ]; then
    mapfile -t list < "$out/skipped"
    run ref libzmq "${list[@]}"
    ids passed < "$out/ref.outcomes" > "$out/ref.passed"
    if [ -s "$out/ref.passed" ]; then
      echo "skipped on oxmq but passing on libzmq 4.3.5:"
      while read -r id; do
        if grep -qF "\`${id#tests/}\` skips on oxmq:" "$root/COMPATIBILITY.md"; then
          echo "  $id (COMPATIBILITY.md says why)"
        else
          echo "  SKIPPED ON OXMQ ONLY, and COMPATIBILITY.md does not say why: $id"
          status=1
        fi
      done < "$out/ref.passed"
    else
      echo "the $n tests or files skipped on oxmq skip on libzmq 4.3.5 too: $(tail -1 "$out/ref.log")"
    fi
  fi
  local passed recovered flaky
  # a test that failed the first run and passed a rerun of its file counts as passed
  recovered=$(ids failed error < "$out/main.outcomes" | comm -23 - "$out/failing" \
    | comm -23 - "$out/both" | wc -l)
  passed=$(($(ids passed < "$out/main.outcomes" | wc -l) + recovered))
  flaky=$(grep -c '^rerun ' "$out/main.outcomes" || true)
  echo "$route: $passed passed ($recovered of them on a rerun of their file, and" \
    "$flaky reruns of pyzmq's @flaky tests), $only failed on oxmq only, $both failed on oxmq" \
    "and do not pass on libzmq either, $n skipped (tests or whole files); $((SECONDS - t0)) s"
  total_passed=$((total_passed + passed))
  total_failed=$((total_failed + only))
  total_skipped=$((total_skipped + n))
}

if [ -n "$lib" ]; then
  check "pyzmq $version wheel, LD_PRELOAD=$lib" preload
fi
# Route 2 builds after route 1 has run: a build beside the tests slows them, and makes the
# racy ones lose more often.
if [ -n "$prefix" ]; then
  t0=$SECONDS
  echo
  echo "== building pyzmq $version from source against $prefix (log: $work/build.log)"
  if (
    # --no-cache-dir: a wheel pip cached from an earlier build would skip the build.
    make_venv "$work/venv-source" && env -u LD_PRELOAD PYZMQ_NO_BUNDLE=1 ZMQ_PREFIX="$prefix" \
      "$work/venv-source/bin/python" -m pip install -v --no-cache-dir --force-reinstall \
      --no-deps --no-binary pyzmq "$build_from"
  ) > "$work/build.log" 2>&1; then
    grep -E "Looking for libzmq|RPATH|Successfully installed pyzmq" "$work/build.log" | sed 's/^ */  /'
    ext="$(ls "$work"/venv-source/lib/python*/site-packages/zmq/backend/cython/_zmq*.so)"
    echo "  ldd $(basename "$ext"): $(ldd "$ext" | grep libzmq | sed 's/^[[:space:]]*//')"
    echo "  built in $((SECONDS - t0)) s"
    check "pyzmq $version built from source against $prefix" source
  else
    cat "$work/build.log"
    echo "building pyzmq $version against $prefix failed (above)"
    status=1
  fi
fi
echo
echo "pyzmq-suite took $((SECONDS - started)) s"
echo "pyzmq-suite: $total_passed passed, $total_failed failed, $total_skipped skipped"
exit $status
