#!/usr/bin/env python3
"""A libzmq proxy (zmq_proxy_steerable in a thread), driven over stdin/stdout.

Used by crates/oxmq/tests/interop_proxy.rs, but handy by hand too:

    python3 zmq_proxy.py --frontend ROUTER --frontend-bind tcp://127.0.0.1:* \\
                         --backend DEALER --backend-bind tcp://127.0.0.1:*

Startup: both sockets are created (LINGER 0), --sockopt options applied to
both, all binds and connects done, the proxy thread started, then ONE line:

    ready <frontend LAST_ENDPOINT> <backend LAST_ENDPOINT>

Then: {"cmd": "ping"} -> "ok"; {"cmd": "close"} (or end of stdin) stops the
proxy with the TERMINATE control command, prints "ok" (close only) and exits 0.
Any failure prints "error <text>" and exits 1.
"""

import argparse
import json
import sys
import threading

import zmq


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def make_socket(ctx, kind, binds, connects, sockopts):
    sock = ctx.socket(getattr(zmq, kind))
    sock.setsockopt(zmq.LINGER, 0)
    for opt in sockopts:
        name, _, value = opt.partition("=")
        sock.setsockopt(getattr(zmq, name), int(value))
    for ep in binds:
        sock.bind(ep)
    for ep in connects:
        sock.connect(ep)
    return sock


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--frontend", required=True, help="socket type, e.g. ROUTER or XSUB")
    ap.add_argument("--frontend-bind", action="append", default=[])
    ap.add_argument("--frontend-connect", action="append", default=[])
    ap.add_argument("--backend", required=True, help="socket type, e.g. DEALER or XPUB")
    ap.add_argument("--backend-bind", action="append", default=[])
    ap.add_argument("--backend-connect", action="append", default=[])
    ap.add_argument("--sockopt", action="append", default=[], metavar="NAME=INT")
    args = ap.parse_args()
    try:
        ctx = zmq.Context()
        front = make_socket(ctx, args.frontend, args.frontend_bind, args.frontend_connect, args.sockopt)
        back = make_socket(ctx, args.backend, args.backend_bind, args.backend_connect, args.sockopt)
        control_ep = "inproc://proxy-control"
        control_in = ctx.socket(zmq.PAIR)
        control_in.bind(control_ep)
        control_out = ctx.socket(zmq.PAIR)
        control_out.connect(control_ep)
        failure = []

        def run():
            try:
                zmq.proxy_steerable(front, back, None, control_in)
            except zmq.ZMQError as e:
                failure.append(e)

        thread = threading.Thread(target=run, daemon=True)
        thread.start()
        ep = lambda s: s.getsockopt(zmq.LAST_ENDPOINT).decode() or "-"
        out("ready %s %s" % (ep(front), ep(back)))
        answered_close = False
        for line in sys.stdin:
            line = line.strip()
            if not line:
                continue
            cmd = json.loads(line)["cmd"]
            if cmd == "ping":
                out("ok" if not failure else "error proxy stopped: %s" % failure[0])
            elif cmd == "close":
                answered_close = True
                break
            else:
                out("error unknown command %r" % cmd)
                sys.exit(1)
        control_out.send(b"TERMINATE")
        thread.join(5)
        for s in (front, back, control_in, control_out):
            s.close(linger=0)
        ctx.term()
        if answered_close:
            out("ok")
    except Exception as e:
        out("error %s: %s" % (type(e).__name__, " ".join(str(e).split())))
        sys.exit(1)


if __name__ == "__main__":
    main()
