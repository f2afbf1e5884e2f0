#!/usr/bin/env python3
"""A libzmq (pyzmq) peer driven line by line over stdin/stdout.

Used by crates/oxmq/tests/interop_pyzmq.rs, but handy by hand too:

    python3 zmq_peer.py --type REP --bind tcp://127.0.0.1:*
    python3 zmq_peer.py --type DEALER --connect tcp://127.0.0.1:5555 --routing-id me

Security: --auth-plain USER=PASSWORD (repeatable), --auth-curve-any and
--auth-curve-dir DIR (zmq.auth's configure_curve with location=DIR: the
*.key certificates there) run pyzmq's ZAP authenticator
(zmq.auth.thread.ThreadAuthenticator) in the peer's context; --auth-allow IP
and --auth-deny IP (repeatable) give it an allow- or deny-list.

Options: --subscribe TEXT (repeatable, SUB only), --sockopt NAME=INT
(repeatable: any integer ZMQ_<NAME> option, e.g. --sockopt RCVHWM=10
--sockopt XPUB_VERBOSE=1 --sockopt HEARTBEAT_IVL=100) and --sockopt-text
NAME=TEXT (binary options, e.g. XPUB_WELCOME_MSG=hi) are applied before
bind/connect, like the other flags.

Startup: the socket is created, options applied, all --bind and --connect
done, then ONE line is printed:

    ready <endpoint>        # socket.LAST_ENDPOINT (the real port after :*)

Then every stdin line is one JSON command; every command prints exactly one
line unless said otherwise:

    {"cmd": "send", "parts": [PART, ...], "retry_ms": 0}
        -> "ok". PART is {"b64": "..."} | {"text": "..."} | {"size": N, "seed": K}.
        The {"size","seed"} form is the shared test pattern (see pattern()), so
        16 MiB messages never travel over stdin. "retry_ms" > 0 retries on
        EAGAIN / EHOSTUNREACH (ROUTER_MANDATORY, peer not known yet) until
        that deadline. Optional "timeout_ms" overrides SNDTIMEO for this send;
        with "allow_timeout": true, EAGAIN answers "timeout" instead of failing.
    {"cmd": "recv", "timeout_ms": 5000, "allow_timeout": false}
        -> "msg PART PART ..." where each received frame is "b64:<base64>"
        (frames up to SMALL bytes; an empty frame is "b64:") or
        "sha256:<len>:<hex digest>" for bigger frames.
        On timeout: "timeout" if allow_timeout, otherwise an error.
    {"cmd": "recv_props", "names": ["User-Id", "X-Foo"], "timeout_ms": 5000}
        -> "props V V ..." for one message received with copy=False: each
        V is its first frame's property of that name (Frame.get, i.e.
        zmq_msg_gets) as "b64:<base64>", or "none" if it has none.
    {"cmd": "echo", "count": N, "timeout_ms": 5000}
        Receive N messages and send each straight back as it came (for
        ROUTER/REP/DEALER/PAIR this answers on the same envelope). Prints one
        "msg ..." line per message (what was received, after replying) and
        then "ok echoed N".
    {"cmd": "send_burst", "count": N}
        -> "ok" after sending burst_message(0..N) back to back.
    {"cmd": "expect_burst", "count": N, "timeout_ms": 5000}
        -> "ok" if the next N messages are exactly burst_message(0..N),
        otherwise an error naming the first difference.
    {"cmd": "wait_event", "events": ["HANDSHAKE_SUCCEEDED", ...], "timeout_ms": 5000}
        (needs --monitor) -> "event <NAME> <value> <endpoint>" for the first
        monitor event whose name is listed; events not listed are skipped.
    {"cmd": "events"} (needs --monitor)
        -> "events NAME NAME ..." all monitor events seen so far, without waiting.
    {"cmd": "serve", "suffix": PART, "idle_ms": 10000}
        A worker (REP, ...): answers each message with itself plus the
        frame PART, until none comes for idle_ms -> "ok served N".
    {"cmd": "collect", "stop": PART, "timeout_ms": 5000}
        Receive messages until one whose first frame equals PART (the
        "fence", not printed). Prints one "msg ..." line per message before
        the fence, then "ok collected N". timeout_ms applies to each message.
    {"cmd": "setsockopt", "name": "SUBSCRIBE", "value": PART}
    {"cmd": "setsockopt", "name": "XPUB_VERBOSE", "int": 1}
        -> "ok" after zmq_setsockopt(ZMQ_<name>, value) (bytes or int).
    {"cmd": "ping"}   -> "ok"   (round trip, e.g. to be sure startup is done)
    {"cmd": "close"}  -> "ok", then the socket is closed (honouring --linger)
        and the process exits 0. End of stdin does the same without printing.

While waiting for a command the peer touches its socket every 50 ms
(ZMQ_EVENTS), like an application that is always in a socket call: libzmq
only attaches new connections inside API calls.

Any failure prints "error <text>" and exits with status 1. Nothing blocks
forever: every receive has a timeout and sends use --sndtimeo.
"""

import argparse
import base64
import hashlib
import json
import os
import select
import sys
import time

import zmq

SMALL = 1024  # frames up to this size are printed in full (base64)

MONITOR_EVENTS = [
    "CONNECTED", "CONNECT_DELAYED", "CONNECT_RETRIED", "LISTENING",
    "BIND_FAILED", "ACCEPTED", "ACCEPT_FAILED", "CLOSED", "CLOSE_FAILED",
    "DISCONNECTED", "MONITOR_STOPPED", "HANDSHAKE_FAILED_NO_DETAIL",
    "HANDSHAKE_SUCCEEDED", "HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_FAILED_AUTH",
]
EVENT_NAMES = {getattr(zmq, "EVENT_" + n): n for n in MONITOR_EVENTS}


class PeerError(Exception):
    pass


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


def fail(text):
    out("error " + " ".join(str(text).split()))
    sys.exit(1)


# --- test pattern -----------------------------------------------------------

_SHIFT_TABLES = [bytes((x + k) & 0xFF for x in range(256)) for k in range(256)]
_BLOCK = bytes((i * 131) & 0xFF for i in range(251))


def pattern(size, seed):
    """byte[i] = ((i % 251) * 131 + (i // 251) * 17 + seed * 29) mod 256.

    Built 251-byte block by block with bytes.translate so 16 MiB is quick.
    The Rust test generates the same bytes.
    """
    blocks = []
    nblocks = size // 251 + 1
    for j in range(nblocks):
        blocks.append(_BLOCK.translate(_SHIFT_TABLES[(j * 17 + seed * 29) & 0xFF]))
    return b"".join(blocks)[:size]


def burst_message(i):
    """Message i of a burst: (i % 3) + 1 frames; frame k has
    (i * 131 + k * 71) % 600 bytes of pattern(seed=(i + k) % 256).
    The Rust test generates the same messages."""
    return [pattern((i * 131 + k * 71) % 600, (i + k) % 256) for k in range(i % 3 + 1)]


def describe(frame):
    frame = bytes(frame)
    if len(frame) <= SMALL:
        return "b64:" + base64.b64encode(frame).decode("ascii")
    return "sha256:%d:%s" % (len(frame), hashlib.sha256(frame).hexdigest())


def make_part(spec):
    if "b64" in spec:
        return base64.b64decode(spec["b64"], validate=True)
    if "text" in spec:
        return spec["text"].encode("utf-8")
    if "size" in spec:
        return pattern(int(spec["size"]), int(spec.get("seed", 0)))
    raise PeerError("bad part spec %r" % (spec,))


# --- the peer ---------------------------------------------------------------

class Peer:
    def __init__(self, args):
        self.ctx = zmq.Context()
        # pyzmq's own ZAP handler (zmq.auth), started before the socket so that its first
        # handshake is already authenticated.
        self.auth = None
        if args.auth_plain or args.auth_curve_any or args.auth_curve_dir or args.auth_allow or args.auth_deny:
            from zmq.auth.thread import ThreadAuthenticator
            self.auth = ThreadAuthenticator(self.ctx)
            self.auth.start()
            if args.auth_allow:
                self.auth.allow(*args.auth_allow)
            if args.auth_deny:
                self.auth.deny(*args.auth_deny)
            if args.auth_curve_dir:
                if not os.path.isdir(args.auth_curve_dir):
                    raise PeerError("no certificate directory %s" % args.auth_curve_dir)
                self.auth.configure_curve(domain="*", location=args.auth_curve_dir)
            if args.auth_plain:
                users = dict(u.partition("=")[::2] for u in args.auth_plain)
                self.auth.configure_plain(domain="*", passwords=users)
            if args.auth_curve_any:
                self.auth.configure_curve(domain="*", location=zmq.auth.CURVE_ALLOW_ANY)
        self.sock = self.ctx.socket(getattr(zmq, args.type))
        self.sock.setsockopt(zmq.LINGER, args.linger)
        self.sndtimeo = args.sndtimeo
        self.sock.setsockopt(zmq.SNDTIMEO, args.sndtimeo)
        self.sock.setsockopt(zmq.RCVTIMEO, args.rcvtimeo)
        if args.routing_id is not None:
            self.sock.setsockopt(zmq.ROUTING_ID, args.routing_id.encode())
        if args.router_mandatory:
            self.sock.setsockopt(zmq.ROUTER_MANDATORY, 1)
        if args.probe_router:
            self.sock.setsockopt(zmq.PROBE_ROUTER, 1)
        if args.immediate:
            self.sock.setsockopt(zmq.IMMEDIATE, 1)
        if args.reconnect_ivl is not None:
            self.sock.setsockopt(zmq.RECONNECT_IVL, args.reconnect_ivl)
        for opt in args.sockopt:
            name, _, value = opt.partition("=")
            self.sock.setsockopt(getattr(zmq, name), int(value))
        for opt in args.sockopt_text:
            name, _, value = opt.partition("=")
            self.sock.setsockopt(getattr(zmq, name), value.encode())
        for topic in args.subscribe:
            self.sock.setsockopt(zmq.SUBSCRIBE, topic.encode())
        self.monitor = None
        self.events_seen = []
        if args.monitor:
            # Must be attached before bind/connect to see every event.
            self.monitor = self.sock.get_monitor_socket()
        for ep in args.bind:
            self.sock.bind(ep)
        for ep in args.connect:
            self.sock.connect(ep)
        endpoint = self.sock.getsockopt(zmq.LAST_ENDPOINT).decode()
        out("ready " + (endpoint or "-"))

    # One multipart message, or None if nothing arrives within timeout_ms.
    def recv_message(self, timeout_ms):
        if not self.sock.poll(timeout_ms, zmq.POLLIN):
            return None
        return self.sock.recv_multipart(copy=False)

    def cmd_send(self, c):
        parts = [make_part(p) for p in c["parts"]]
        deadline = time.monotonic() + c.get("retry_ms", 0) / 1000.0
        if "timeout_ms" in c:
            self.sock.setsockopt(zmq.SNDTIMEO, c["timeout_ms"])
        try:
            while True:
                try:
                    self.sock.send_multipart(parts)
                    return "ok"
                except zmq.ZMQError as e:
                    if e.errno == zmq.EAGAIN and c.get("allow_timeout"):
                        return "timeout"
                    retryable = e.errno in (zmq.EAGAIN, zmq.EHOSTUNREACH)
                    if not retryable or time.monotonic() >= deadline:
                        raise PeerError("send failed: %s (errno %d)" % (e, e.errno))
                    time.sleep(0.005)  # bounded polling until the peer is known
        finally:
            if "timeout_ms" in c:
                self.sock.setsockopt(zmq.SNDTIMEO, self.sndtimeo)

    def cmd_recv(self, c):
        msg = self.recv_message(c.get("timeout_ms", 5000))
        if msg is None:
            if c.get("allow_timeout"):
                return "timeout"
            raise PeerError("recv timed out after %d ms" % c.get("timeout_ms", 5000))
        return "msg " + " ".join(describe(f) for f in msg)

    def cmd_recv_props(self, c):
        msg = self.recv_message(c.get("timeout_ms", 5000))
        if msg is None:
            raise PeerError("recv_props timed out after %d ms" % c.get("timeout_ms", 5000))
        values = []
        for name in c["names"]:
            try:
                value = msg[0].get(name)
            except zmq.ZMQError:
                values.append("none")
                continue
            if isinstance(value, str):
                value = value.encode("utf-8", "surrogateescape")
            values.append(describe(value))
        return "props " + " ".join(values)

    def cmd_echo(self, c):
        count = c.get("count", 1)
        timeout_ms = c.get("timeout_ms", 5000)
        for i in range(count):
            msg = self.recv_message(timeout_ms)
            if msg is None:
                raise PeerError("echo: message %d of %d not received within %d ms"
                                % (i + 1, count, timeout_ms))
            try:
                self.sock.send_multipart(msg)
            except zmq.ZMQError as e:
                raise PeerError("echo: send back failed: %s" % e)
            out("msg " + " ".join(describe(f) for f in msg))
        return "ok echoed %d" % count

    def cmd_send_burst(self, c):
        for i in range(c["count"]):
            try:
                self.sock.send_multipart(burst_message(i))
            except zmq.ZMQError as e:
                raise PeerError("send_burst: message %d failed: %s" % (i, e))
        return "ok"

    def cmd_expect_burst(self, c):
        timeout_ms = c.get("timeout_ms", 5000)
        for i in range(c["count"]):
            msg = self.recv_message(timeout_ms)
            if msg is None:
                raise PeerError("expect_burst: message %d of %d not received within %d ms"
                                % (i, c["count"], timeout_ms))
            got = [bytes(f) for f in msg]
            want = burst_message(i)
            if got != want:
                raise PeerError("expect_burst: message %d differs: got %s, expected %s"
                                % (i, [describe(f) for f in got], [describe(f) for f in want]))
        return "ok"

    def cmd_collect(self, c):
        stop = make_part(c["stop"])
        timeout_ms = c.get("timeout_ms", 5000)
        count = 0
        while True:
            msg = self.recv_message(timeout_ms)
            if msg is None:
                raise PeerError("collect: no message within %d ms after %d messages (fence %s not seen)"
                                % (timeout_ms, count, describe(stop)))
            if bytes(msg[0]) == stop:
                return "ok collected %d" % count
            out("msg " + " ".join(describe(f) for f in msg))
            count += 1

    def cmd_serve(self, c):
        suffix = make_part(c["suffix"])
        served = 0
        while True:
            msg = self.recv_message(c.get("idle_ms", 10000))
            if msg is None:
                return "ok served %d" % served
            self.sock.send_multipart(list(msg) + [suffix])
            served += 1

    def cmd_setsockopt(self, c):
        option = getattr(zmq, c["name"])
        if "int" in c:
            self.sock.setsockopt(option, int(c["int"]))
        else:
            self.sock.setsockopt(option, make_part(c["value"]))
        return "ok"

    def next_event(self, timeout_ms):
        if not self.monitor.poll(timeout_ms, zmq.POLLIN):
            return None
        from zmq.utils.monitor import recv_monitor_message
        ev = recv_monitor_message(self.monitor)
        name = EVENT_NAMES.get(ev["event"], str(ev["event"]))
        endpoint = ev.get("endpoint", b"")
        if isinstance(endpoint, bytes):
            endpoint = endpoint.decode(errors="replace")
        self.events_seen.append(name)
        return name, ev["value"], endpoint

    def cmd_wait_event(self, c):
        if self.monitor is None:
            raise PeerError("wait_event needs --monitor")
        wanted = set(c["events"])
        timeout_ms = c.get("timeout_ms", 5000)
        deadline = time.monotonic() + timeout_ms / 1000.0
        while True:
            left_ms = int(max(0.0, deadline - time.monotonic()) * 1000)
            ev = self.next_event(left_ms)
            if ev is None:
                raise PeerError("none of %s within %d ms; seen so far: %s"
                                % (sorted(wanted), timeout_ms, self.events_seen))
            if ev[0] in wanted:
                return "event %s %s %s" % (ev[0], ev[1], ev[2] or "-")

    def cmd_events(self, c):
        if self.monitor is None:
            raise PeerError("events needs --monitor")
        while self.next_event(0) is not None:
            pass
        return "events " + " ".join(self.events_seen)

    def close(self):
        if self.monitor is not None:
            self.sock.disable_monitor()
            self.monitor.close(linger=0)
        self.sock.close()
        if self.auth is not None:
            self.auth.stop()
        self.ctx.term()

    def stdin_lines(self):
        """Yields stdin lines; while none comes, touches the socket every
        50 ms. libzmq attaches a new connection's pipe (and a SUB sends its
        subscriptions on it, a PROBE_ROUTER socket its probe) only inside an
        API call on the socket; a real application is usually inside one."""
        pending = b""
        while True:
            while b"\n" in pending:
                line, pending = pending.split(b"\n", 1)
                yield line.decode()
            ready, _, _ = select.select([0], [], [], 0.05)
            if not ready:
                self.sock.getsockopt(zmq.EVENTS)  # processes pending commands
                continue
            chunk = os.read(0, 65536)
            if not chunk:
                if pending:
                    yield pending.decode()
                return
            pending += chunk

    def run(self):
        for line in self.stdin_lines():
            line = line.strip()
            if not line:
                continue
            try:
                c = json.loads(line)
                name = c["cmd"]
            except (ValueError, KeyError, TypeError) as e:
                raise PeerError("bad command line %r: %s" % (line, e))
            if name == "close":
                out("ok")
                self.close()
                return
            if name == "ping":
                out("ok")
                continue
            handler = getattr(self, "cmd_" + name, None)
            if handler is None:
                raise PeerError("unknown command %r" % name)
            out(handler(c))
        self.close()  # stdin closed: the test is done with us


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--type", required=True, help="PAIR, PUSH, ROUTER, ... (zmq constant name)")
    ap.add_argument("--bind", action="append", default=[], metavar="ENDPOINT")
    ap.add_argument("--connect", action="append", default=[], metavar="ENDPOINT")
    ap.add_argument("--routing-id", help="ZMQ_ROUTING_ID (utf-8 text)")
    ap.add_argument("--linger", type=int, default=0)
    ap.add_argument("--sndtimeo", type=int, default=5000)
    ap.add_argument("--rcvtimeo", type=int, default=5000)
    ap.add_argument("--router-mandatory", action="store_true")
    ap.add_argument("--probe-router", action="store_true")
    ap.add_argument("--immediate", action="store_true")
    ap.add_argument("--reconnect-ivl", type=int)
    ap.add_argument("--subscribe", action="append", default=[], metavar="TEXT",
                    help="ZMQ_SUBSCRIBE prefix (SUB sockets); repeatable")
    ap.add_argument("--sockopt", action="append", default=[], metavar="NAME=INT",
                    help="any integer option, e.g. RCVHWM=10; repeatable")
    ap.add_argument("--sockopt-text", action="append", default=[], metavar="NAME=TEXT",
                    help="any binary option as utf-8 text, e.g. XPUB_WELCOME_MSG=hi; repeatable")
    ap.add_argument("--monitor", action="store_true", help="enable wait_event/events")
    ap.add_argument("--auth-plain", action="append", default=[], metavar="USER=PASSWORD",
                    help="run pyzmq's authenticator (zmq.auth) admitting these PLAIN users; repeatable")
    ap.add_argument("--auth-curve-any", action="store_true",
                    help="run pyzmq's authenticator admitting any CURVE client")
    ap.add_argument("--auth-curve-dir", metavar="DIR",
                    help="run pyzmq's authenticator admitting the CURVE clients whose *.key certificates are in DIR")
    ap.add_argument("--auth-allow", action="append", default=[], metavar="IP",
                    help="run pyzmq's authenticator with this address on its allow-list; repeatable")
    ap.add_argument("--auth-deny", action="append", default=[], metavar="IP",
                    help="run pyzmq's authenticator with this address on its deny-list; repeatable")
    args = ap.parse_args()
    try:
        Peer(args).run()
    except (PeerError, zmq.ZMQError) as e:
        fail(e)
    except Exception as e:  # anything unexpected still ends in an error line
        fail("%s: %s" % (type(e).__name__, e))


if __name__ == "__main__":
    main()
