#!/usr/bin/env python3
"""A libzmq PULL that binds, reads slowly with a small RCVHWM, and counts.

    python3 slow_pull.py <endpoint> <expected> <rcvhwm> [--never-read]

Prints "ready <LAST_ENDPOINT>", then receives until it has <expected>
messages or none arrives for 3 s (10 s for the first), and prints
"received <n>". It sleeps 1 ms every 1000 messages, so with a small RCVHWM
its pipe is full most of the time: libzmq then stops reading the
connection, which is when a peer's close() can make it drop what the
kernel still holds.

With --never-read it completes the handshake (libzmq does that itself),
prints "ready ...", and then reads nothing and never closes until stdin
closes.
"""

import sys
import time

import zmq


def main():
    endpoint, expected, hwm = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
    never_read = "--never-read" in sys.argv[4:]
    ctx = zmq.Context()
    s = ctx.socket(zmq.PULL)
    s.setsockopt(zmq.RCVHWM, hwm)
    s.setsockopt(zmq.LINGER, 0)
    s.bind(endpoint)
    print("ready", s.getsockopt_string(zmq.LAST_ENDPOINT), flush=True)
    if never_read:
        sys.stdin.read()
        return
    s.setsockopt(zmq.RCVTIMEO, 10000)
    n = 0
    while n < expected:
        try:
            s.recv()
        except zmq.Again:
            break
        n += 1
        if n == 1:
            s.setsockopt(zmq.RCVTIMEO, 3000)
        if n % 1000 == 0:
            time.sleep(0.001)
    print("received", n, flush=True)
    s.close()
    ctx.term()


if __name__ == "__main__":
    main()
