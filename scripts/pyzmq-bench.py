#!/usr/bin/env python3
"""pyzmq on oxmq against pyzmq on its own libzmq (issue 20's pyzmq performance target).

Every case runs as two processes over tcp (127.0.0.1), once with LD_PRELOAD of oxmq's
libzmq.so (both processes) and once without (pyzmq's bundled libzmq 4.3.5), alternating which
library goes first from round to round; the table gives the median of the rounds for each and
the ratio oxmq / libzmq (above 1: oxmq is faster; for latency, above 1: oxmq is slower).

    cargo build --release -p oxmq-ffi
    python3 scripts/pyzmq-bench.py --lib target/release/libzmq.so            # 5 rounds
    python3 scripts/pyzmq-bench.py --lib target/release/libzmq.so --rounds 9 \\
        --small 500000 --large 50000 --roundtrips 50000
    python3 scripts/pyzmq-bench.py --lib target/release/libzmq.so --quick    # a smoke run

Cases: PUSH/PULL of 64 B and of 64 KiB messages, sent and received with copy=True and with
copy=False (pyzmq copies messages under its copy_threshold, 64 KiB, even with copy=False, so
at 64 B the two differ only in the Frame objects), msg/s measured by the receiver from the
first message to the last, as libzmq's local_thr; and REQ/REP of 64 B, round trips/s and the
latency as libzmq's local_lat reports it (half a round trip). Each process checks which
library it is on (oxmq_ffi_version is in the global scope only with oxmq preloaded). Run it
on a quiet machine: the figures are only as steady as the machine.
"""
import argparse
import ctypes
import json
import os
import statistics
import subprocess
import sys
import time

SMALL, LARGE = 64, 64 * 1024


def library():
    return "oxmq" if hasattr(ctypes.CDLL(None), "oxmq_ffi_version") else "libzmq"


# ---------------------------------------------------------------- the two processes


def receiver(a):
    """PULL or REP: bind, print the port, then receive (and for REP answer) a.count messages."""
    import zmq

    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL if a.role == "pull" else zmq.REP)
    port = s.bind_to_random_port("tcp://127.0.0.1")
    print(json.dumps({"port": port, "library": library()}), flush=True)
    copy = a.copy == "true"
    if a.role == "pull":
        first = s.recv(copy=copy)
        start = time.perf_counter()
        size = len(first)
        for _ in range(a.count - 1):
            size = len(s.recv(copy=copy))
        elapsed = time.perf_counter() - start
        assert size == a.size, (size, a.size)
        print(json.dumps({"elapsed": elapsed}), flush=True)
    else:
        for _ in range(a.count):
            s.send(s.recv(copy=copy), copy=copy)
    s.close()
    ctx.term()


def sender(a):
    """PUSH or REQ: connect to the receiver's port and send a.count messages (REQ: round trips)."""
    import zmq

    ctx = zmq.Context()
    s = ctx.socket(zmq.PUSH if a.role == "push" else zmq.REQ)
    s.connect(f"tcp://127.0.0.1:{a.port}")
    print(json.dumps({"library": library()}), flush=True)
    copy = a.copy == "true"
    payload = b"x" * a.size
    if a.role == "push":
        for _ in range(a.count):
            s.send(payload, copy=copy)
    else:
        s.send(payload, copy=copy)  # the connection's first round trip, not timed
        assert len(s.recv(copy=copy)) == a.size
        start = time.perf_counter()
        for _ in range(a.count - 1):
            s.send(payload, copy=copy)
            s.recv(copy=copy)
        elapsed = time.perf_counter() - start
        print(json.dumps({"elapsed": elapsed}), flush=True)
    s.close()  # LINGER -1: waits until every message is out
    ctx.term()


# ---------------------------------------------------------------- the driver


def spawn(args, lib, which):
    env = dict(os.environ)
    env.pop("LD_PRELOAD", None)
    if lib == "oxmq":
        env["LD_PRELOAD"] = which
    cmd = [sys.executable, os.path.abspath(__file__)] + args
    return subprocess.Popen(cmd, env=env, stdout=subprocess.PIPE, text=True)


def read_json(proc, what, timeout_at):
    line = proc.stdout.readline()
    if not line:
        proc.wait(max(1, timeout_at - time.monotonic()))
        sys.exit(f"{what} ended without a result (exit {proc.returncode})")
    return json.loads(line)


def run_case(case, lib, so, timeout):
    """One run of a case on one library; returns {figure name: value}."""
    pattern, size, copy, count = case["pattern"], case["size"], case["copy"], case["count"]
    common = ["--size", str(size), "--count", str(count), "--copy", "true" if copy else "false"]
    deadline = time.monotonic() + timeout
    rx = spawn(["--role", "pull" if pattern == "push/pull" else "rep"] + common, lib, so)
    hello = read_json(rx, "the receiver", deadline)
    tx = spawn(["--role", "push" if pattern == "push/pull" else "req", "--port", str(hello["port"])] + common, lib, so)
    tx_hello = read_json(tx, "the sender", deadline)
    for who, seen in (("receiver", hello["library"]), ("sender", tx_hello["library"])):
        if seen != lib:
            sys.exit(f"the {who} runs on {seen}, not {lib}: check --lib")
    timed = rx if pattern == "push/pull" else tx
    result = read_json(timed, "the timed side", deadline)
    for p in (rx, tx):
        try:
            p.wait(max(1, deadline - time.monotonic()))
        except subprocess.TimeoutExpired:
            p.kill()
            sys.exit(f"{case['name']} on {lib}: no end within {timeout} s")
        if p.returncode != 0:
            sys.exit(f"{case['name']} on {lib}: a process failed (exit {p.returncode})")
    elapsed = result["elapsed"]
    if pattern == "push/pull":
        return {"msg/s": count / elapsed}
    roundtrips = count - 1
    return {"round trips/s": roundtrips / elapsed, "latency [us]": elapsed / roundtrips / 2 * 1e6}


def main():
    p = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    p.add_argument("--lib", help="oxmq's libzmq.so (target/release/libzmq.so)")
    p.add_argument("--rounds", type=int, default=5, help="rounds per case and library (median taken; default 5)")
    p.add_argument("--small", type=int, default=200_000, help="messages of 64 B per run (default 200000)")
    p.add_argument("--large", type=int, default=20_000, help="messages of 64 KiB per run (default 20000)")
    p.add_argument("--roundtrips", type=int, default=20_000, help="REQ/REP round trips per run (default 20000)")
    p.add_argument("--quick", action="store_true", help="tiny counts and 1 round: checks the script works")
    p.add_argument("--timeout", type=float, default=300, help="seconds a run may take (default 300)")
    # The processes the driver starts.
    p.add_argument("--role", choices=["pull", "rep", "push", "req"], help=argparse.SUPPRESS)
    p.add_argument("--port", type=int, help=argparse.SUPPRESS)
    p.add_argument("--size", type=int, help=argparse.SUPPRESS)
    p.add_argument("--count", type=int, help=argparse.SUPPRESS)
    p.add_argument("--copy", choices=["true", "false"], help=argparse.SUPPRESS)
    a = p.parse_args()
    if a.role in ("pull", "rep"):
        return receiver(a)
    if a.role in ("push", "req"):
        return sender(a)
    if not a.lib:
        p.error("--lib is required (oxmq's libzmq.so)")
    so = os.path.abspath(a.lib)
    if not os.path.exists(so):
        p.error(f"no such file: {so}")
    if a.quick:
        a.rounds, a.small, a.large, a.roundtrips = 1, 2000, 200, 200

    cases = []
    for size, count in ((SMALL, a.small), (LARGE, a.large)):
        for copy in (True, False):
            name = f"PUSH/PULL {size if size < 1024 else size // 1024}{' B' if size < 1024 else ' KiB'} copy={copy}"
            cases.append({"name": name, "pattern": "push/pull", "size": size, "copy": copy, "count": count})
    cases.append({"name": "REQ/REP 64 B", "pattern": "req/rep", "size": SMALL, "copy": True, "count": a.roundtrips})

    import zmq

    print(f"pyzmq {zmq.__version__}, libzmq {zmq.zmq_version()} (bundled) against {so}; "
          f"{a.rounds} round(s), medians", file=sys.stderr)
    figures = {}  # (case, figure, lib) -> [values]
    for r in range(a.rounds):
        order = ("oxmq", "libzmq") if r % 2 == 0 else ("libzmq", "oxmq")
        for case in cases:
            for lib in order:
                for fig, value in run_case(case, lib, so, a.timeout).items():
                    figures.setdefault((case["name"], fig, lib), []).append(value)
            print(f"round {r + 1}/{a.rounds}: {case['name']} done", file=sys.stderr)

    print("| case | figure | libzmq | oxmq | oxmq / libzmq |")
    print("|---|---|---:|---:|---:|")
    for case in cases:
        for fig in [f for (c, f, lib) in figures if c == case["name"] and lib == "oxmq"]:
            lz = statistics.median(figures[(case["name"], fig, "libzmq")])
            ox = statistics.median(figures[(case["name"], fig, "oxmq")])
            fmt = (lambda v: f"{v:,.1f}") if "latency" in fig else (lambda v: f"{v:,.0f}")
            print(f"| {case['name']} | {fig} | {fmt(lz)} | {fmt(ox)} | {ox / lz:.2f} |")


if __name__ == "__main__":
    main()
