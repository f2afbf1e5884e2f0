#!/usr/bin/env bash
# A/B of two builds of oxmq: `oxmq bench` of each, interleaved, each run saving its medians,
# then one table of both builds' runs side by side. Say whether a change regressed by
# comparing the gap between the builds with the spread between two runs of one build.
#
#   bash scripts/ab-bench.sh OLD_DIR NEW_DIR [ROUNDS] [-- extra oxmq bench arguments]
#
# OLD_DIR and NEW_DIR each hold a release build's tools (cp target/release/* there: the
# `oxmq` binary and its perf tools). Default: 2 rounds of `--workloads thr,lat --vs none`.
set -euo pipefail
old=$1 new=$2 rounds=${3:-2}
shift $(( $# < 3 ? $# : 3 ))
[ "${1:-}" = "--" ] && shift
extra=("$@")
[ ${#extra[@]} -gt 0 ] || extra=(--workloads thr,lat --vs none)
out=$(mktemp -d)
for r in $(seq 1 "$rounds"); do
  for side in old new; do
    dir=$old; [ $side = new ] && dir=$new
    echo "round $r: $side ($dir)" >&2
    "$dir/oxmq" bench --bin-dir "$dir" "${extra[@]}" --save-baseline "$out/$side-$r.json" >/dev/null
  done
done
python3 - "$out" "$rounds" <<'PY'
import json, sys, os
out, rounds = sys.argv[1], int(sys.argv[2])
load = lambda p: json.load(open(p))["figures"]
runs = {s: [load(os.path.join(out, f"{s}-{r}.json")) for r in range(1, rounds + 1)] for s in ("old", "new")}
names = sorted(runs["old"][0], key=lambda n: (n.split()[0], n))
hdr = " | ".join([f"old {r}" for r in range(1, rounds + 1)] + [f"new {r}" for r in range(1, rounds + 1)])
print(f"| figure | {hdr} | new/old (mean of runs) | old runs' spread | within it? |")
print("|---|" + "---:|" * (2 * rounds) + "---:|---:|---|")
for n in names:
    if not all(n in r for s in runs.values() for r in s):
        continue
    o = [r[n]["value"] for r in runs["old"]]; w = [r[n]["value"] for r in runs["new"]]
    hib = runs["old"][0][n]["higher_is_better"]
    mo, mw = sum(o) / len(o), sum(w) / len(w)
    ratio = mw / mo
    spread = (max(o) - min(o)) / mo
    spread_new = (max(w) - min(w)) / mw
    gap = abs(mw - mo) / mo
    worse = (mw < mo) if hib else (mw > mo)
    ok = "yes" if gap <= max(spread, spread_new) or not worse else "**no**"
    fmt = lambda v: f"{v/1e6:.2f}M" if v >= 1e6 else (f"{v/1e3:.1f}k" if v >= 1e3 else f"{v:.2f}")
    cells = " | ".join(fmt(v) for v in o + w)
    print(f"| {n} | {cells} | {ratio:.3f} | ±{spread*50:.1f}% (new ±{spread_new*50:.1f}%) | {ok} |")
PY
