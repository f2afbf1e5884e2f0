#!/usr/bin/env python3
"""A hand-rolled ZMTP 3.0 (NULL mechanism) client that lies about its socket type.

libzmq always refuses incompatible socket types on its own side, so a pyzmq
peer cannot show whether *oxmq* checks the peer's Socket-Type. This script
can: it announces any Socket-Type, ignores what the other side says, and
sends a message right after the handshake.

    python3 zmtp_raw_peer.py --connect tcp://127.0.0.1:5555 --socket-type PUB --send hello

Output, one line each, in this order (the run stops at the first "closed"):

    connected
    peer-ready <Socket-Type the other side announced> | peer-error <reason> | closed
    sent | send-failed <reason>
    closed | open            # did the other side close within --wait-close-ms?

Failures of the script itself print "error <text>" and exit 1.
"""

import argparse
import socket
import struct
import sys
import time

FLAG_MORE, FLAG_LONG, FLAG_COMMAND = 0x01, 0x02, 0x04


def out(line):
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


class Closed(Exception):
    pass


def greeting():
    signature = b"\xff" + b"\x00" * 8 + b"\x7f"
    version = bytes([3, 0])
    mechanism = b"NULL".ljust(20, b"\x00")
    as_server = b"\x00"
    return signature + version + mechanism + as_server + b"\x00" * 31


def frame(flags, body):
    if len(body) > 255:
        return bytes([flags | FLAG_LONG]) + struct.pack(">Q", len(body)) + body
    return bytes([flags, len(body)]) + body


def ready_command(socket_type):
    name = b"Socket-Type"
    value = socket_type.encode()
    body = bytes([5]) + b"READY" + bytes([len(name)]) + name + struct.pack(">I", len(value)) + value
    return frame(FLAG_COMMAND, body)


def read_exact(sock, n):
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except (ConnectionResetError, BrokenPipeError):
            raise Closed()
        if not chunk:
            raise Closed()
        data += chunk
    return data


def read_frame(sock):
    flags = read_exact(sock, 1)[0]
    if flags & FLAG_LONG:
        size = struct.unpack(">Q", read_exact(sock, 8))[0]
    else:
        size = read_exact(sock, 1)[0]
    return flags, read_exact(sock, size)


def parse_properties(data):
    props = {}
    while data:
        n = data[0]
        name, data = data[1:1 + n].decode(), data[1 + n:]
        size = struct.unpack(">I", data[:4])[0]
        props[name], data = data[4:4 + size], data[4 + size:]
    return props


def handshake(sock, socket_type):
    """Sends our greeting + READY, reads theirs; returns the answer line."""
    sock.sendall(greeting() + ready_command(socket_type))
    theirs = read_exact(sock, 64)
    if theirs[0] != 0xFF or theirs[9] != 0x7F:
        raise RuntimeError("bad greeting signature %r" % theirs[:10])
    flags, body = read_frame(sock)
    if not flags & FLAG_COMMAND:
        raise RuntimeError("expected a command after the greeting, got flags %#x" % flags)
    name = body[1:1 + body[0]]
    rest = body[1 + body[0]:]
    if name == b"ERROR":
        return "peer-error " + rest[1:1 + rest[0]].decode(errors="replace")
    if name != b"READY":
        raise RuntimeError("expected READY, got command %r" % name)
    props = parse_properties(rest)
    return "peer-ready " + props.get("Socket-Type", b"?").decode(errors="replace")


def connect(endpoint, timeout):
    if endpoint.startswith("tcp://"):
        host, port = endpoint[len("tcp://"):].rsplit(":", 1)
        return socket.create_connection((host.strip("[]"), int(port)), timeout=timeout)
    if endpoint.startswith("ipc://"):
        sock = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
        sock.settimeout(timeout)
        path = endpoint[len("ipc://"):]
        sock.connect("\0" + path[1:] if path.startswith("@") else path)
        return sock
    raise RuntimeError("unsupported endpoint %r" % endpoint)


def wait_closed(sock, wait_ms):
    """True if the other side closes the connection within wait_ms."""
    deadline = time.monotonic() + wait_ms / 1000.0
    while time.monotonic() < deadline:
        sock.settimeout(max(0.001, deadline - time.monotonic()))
        try:
            if not sock.recv(65536):
                return True
        except socket.timeout:
            return False
        except (ConnectionResetError, BrokenPipeError):
            return True
    return False


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--connect", required=True, metavar="ENDPOINT")
    ap.add_argument("--socket-type", required=True, help="what to announce, e.g. PUB")
    ap.add_argument("--send", default="hello", help="one single-frame message to send after the handshake")
    ap.add_argument("--wait-close-ms", type=int, default=3000)
    args = ap.parse_args()
    try:
        sock = connect(args.connect, timeout=5.0)
        out("connected")
        try:
            out(handshake(sock, args.socket_type))
        except Closed:
            out("closed")
            return
        try:
            sock.sendall(frame(0, args.send.encode()))
            out("sent")
        except OSError as e:
            out("send-failed %s" % e)
        out("closed" if wait_closed(sock, args.wait_close_ms) else "open")
    except Exception as e:
        out("error %s: %s" % (type(e).__name__, " ".join(str(e).split())))
        sys.exit(1)


if __name__ == "__main__":
    main()
