#!/usr/bin/env python3
"""Writes the seed corpus (corpus/<target>/*) from RFC 23/37 layouts and the
libzmq captures in captures/ (recorded from pyzmq's libzmq 4.3.5, and checked
against it, by tests/libzmq_captures.rs). Re-run after changing a target's
input layout or re-recording the captures."""
import os
HERE = os.path.dirname(os.path.abspath(__file__))
C = os.path.join(HERE, "corpus")

def greeting(major=3, minor=1, mech=b"NULL", server=0, pad=b"\0\0\0\0\0\0\0\x01"):
    return b"\xff" + pad + b"\x7f" + bytes([major, minor]) + mech.ljust(20, b"\0") + bytes([server]) + b"\0" * 31
def frame(body, more=False, cmd=False, long=None):
    f = (1 if more else 0) | (4 if cmd else 0)
    if long or len(body) > 255:
        return bytes([f | 2]) + len(body).to_bytes(8, "big") + body
    return bytes([f, len(body)]) + body
def prop(k, v):
    return bytes([len(k)]) + k + len(v).to_bytes(4, "big") + v
def cmd(name, data=b""):
    return bytes([len(name)]) + name + data
def ready(*props):
    return cmd(b"READY", b"".join(prop(k, v) for k, v in props))
cap = {n[:-4]: open(os.path.join(HERE, "captures", n), "rb").read() for n in os.listdir(os.path.join(HERE, "captures")) if n.endswith(".bin")}

greetings = {
    "zmtp31_null": greeting(), "zmtp30_null": greeting(minor=0), "zmtp31_plain_server": greeting(mech=b"PLAIN", server=1),
    "zmtp31_curve": greeting(mech=b"CURVE"), "zmtp20": greeting(major=1, minor=5), "zmtp10_identity": b"\x01\x00",
    "future_4_7": greeting(4, 7), "libzmq_routing_id_pad": cap["libzmq_dealer_to_router"][:64], "http": b"GET / HTTP/1.1\r\n",
}
ready_dealer = ready((b"Socket-Type", b"DEALER"), (b"Identity", b"ab"))
ready_sub = ready((b"Socket-Type", b"SUB"))
commands = {
    "ready_dealer_identity": ready_dealer, "ready_sub": ready_sub, "ready_empty": ready(),
    "ready_dup_names": ready((b"socket-type", b"PUB"), (b"Socket-Type", b"SUB")),
    "ready_value_2g": cmd(b"READY", b"\x01X\x7f\xff\xff\xff"), "ready_value_4g": cmd(b"READY", b"\x01X\xff\xff\xff\xff"),
    "error": cmd(b"ERROR", b"\x0bbad request"), "error_invalid_utf8": cmd(b"ERROR", b"\x04\xff\xfe\xc3("),
    "ping": cmd(b"PING", b"\x00\x64ctx"), "ping_long_ctx": cmd(b"PING", b"\x01\x00" + b"c" * 40), "pong": cmd(b"PONG", b"ctx"),
    "subscribe": cmd(b"SUBSCRIBE", b"topic"), "subscribe_empty": cmd(b"SUBSCRIBE"), "cancel": cmd(b"CANCEL", b"topic"),
    "unknown": cmd(b"HELLO", b"\x00\x01"), "legacy_subscribe": b"\x01topic", "legacy_cancel": b"\x00",
    "libzmq_ready_dealer": cap["libzmq_dealer_to_router"][66:66 + 50],
}
metadata = {
    "socket_type_identity": ready_dealer[6:], "empty": b"", "resource": prop(b"Socket-Type", b"PUB") + prop(b"Resource", b"/x"),
    "dup_names": prop(b"a", b"1") + prop(b"A", b"2"), "len_2g": b"\x01X\x7f\xff\xff\xff", "len_4g": b"\x01X\xff\xff\xff\xff",
    "bad_name": prop(b"a b", b""), "long_name": prop(b"n" * 255, b"v" * 300),
}
short = frame(b"hello", more=True) + frame(b"world")
long_ = frame(b"L" * 300, more=True) + frame(b"s", long=True)
streams = {
    "short_multipart": short, "long_frames": long_, "commands": frame(ready_sub, cmd=True) + frame(cmd(b"PING", b"\x00\x10"), cmd=True) + frame(cmd(b"SUBSCRIBE", b"t"), cmd=True),
    "empty_frames": frame(b"", True) + frame(b""), "size_2pow63": b"\x02\x80\0\0\0\0\0\0\0body", "size_2pow63_minus1": b"\x03\x7f\xff\xff\xff\xff\xff\xff\xffbody",
    "reserved_flags": b"\x08\x00", "command_with_more": b"\x05\x00", "truncated_long": b"\x02\0\0\0\0\0\0\x01",
    "libzmq_dealer_frames": cap["libzmq_dealer_to_router"][64:], "libzmq_pair_ping": cap["libzmq_pair_heartbeat"][64:],
}
# decoder inputs: 9 control bytes (limit mode, limit/seed bytes) + stream.
decoder = {}
for i, (n, s) in enumerate(streams.items()):
    decoder[n + "_nolimit"] = bytes([0, i, 1, 2, 3, 4, 5, 6, 7]) + s
    decoder[n + "_max255"] = bytes([1, 255, 9, 8, 7, 6, 5, 4, 3]) + s
    decoder[n + "_max64k"] = bytes([2, i, 3, 1, 4, 1, 5, 9, 2]) + s
decoder["size_2pow63_max1m"] = bytes([3, 0, 0, 0x10, 0, 0, 0, 0, 0]) + streams["size_2pow63"]
# Past MAX_FRAME_SIZE (2^47): refused with no limit and with limits above the bound (2^62 and
# u64::MAX), which count as the bound; one of exactly 2^47 waits for its body.
over_bound = frame(b"ok") + b"\x02" + ((1 << 47) + 1).to_bytes(8, "big") + b"body"
decoder["over_the_bound_nolimit"] = bytes([0, 1, 2, 3, 4, 5, 6, 7, 8]) + over_bound
decoder["over_the_bound_max2pow62"] = bytes([3]) + (1 << 62).to_bytes(8, "little") + over_bound
decoder["over_the_bound_maxu64"] = bytes([4, 9, 8, 7, 6, 5, 4, 3, 2]) + over_bound
decoder["at_the_bound_max2pow62"] = bytes([3]) + (1 << 62).to_bytes(8, "little") + frame(b"ok") + b"\x02" + (1 << 47).to_bytes(8, "big") + b"body"
more_chain = {"mixed_sizes": b"\x01\x02\x03\x04\x05\x06\x07\x08\x00\x01\x55\x56\xff", "empty_frames": b"\0" * 8 + b"\0", "default_sizes": b"seedseed"}
# handshake inputs: 4 control bytes (our config, extra, prepend-greeting bit, other end's config) + peer bytes.
DEALER, ROUTER, PAIR, SUB, PUB, REP = 5, 6, 0, 2, 1, 4
handshake = {
    "router_vs_libzmq_dealer": bytes([ROUTER, 3, 0, DEALER]) + cap["libzmq_dealer_to_router"],
    "pub_vs_libzmq_sub": bytes([PUB, 0, 0, SUB]) + cap["libzmq_sub_to_pub"],
    "pair_vs_libzmq_pair_ping": bytes([PAIR, 0, 0, PAIR]) + cap["libzmq_pair_heartbeat"],
    "pub_vs_libzmq_rep_refusing": bytes([PUB, 0, 0, REP]) + cap["libzmq_rep_bad_type"],
    "dealer_ready_only": bytes([DEALER, 2, 1, ROUTER]) + frame(ready((b"Socket-Type", b"ROUTER")), cmd=True),
    "dealer_identity_meta": bytes([DEALER | 0x50, 20, 1, DEALER]) + frame(ready_dealer, cmd=True),
    "sub_error": bytes([SUB, 0, 1, PUB]) + frame(cmd(b"ERROR", b"\x04nope"), cmd=True),
    "pub_message_first": bytes([PUB, 0, 1, SUB]) + frame(b"hi"),
    "pair_ping_first": bytes([PAIR, 0, 1, PAIR]) + frame(cmd(b"PING", b"\x00\x01"), cmd=True),
    "max_tiny": bytes([PAIR | 0x20, 1, 1, PAIR | 0x20]) + frame(ready((b"Socket-Type", b"PAIR")), cmd=True),
    "plain_config": bytes([PAIR | 0x80, 0x80, 0, PAIR]) + greeting(mech=b"PLAIN"),
    "mechanism_mismatch": bytes([PAIR, 0, 0, PAIR]) + greeting(mech=b"CURVE"),
    "huge_frame_in_handshake": bytes([PAIR, 0, 1, PAIR]) + b"\x06\x7f\xff\xff\xff\xff\xff\xff\xff",
    "zmtp20_peer": bytes([PAIR, 0, 0, PAIR]) + greeting(major=1, minor=5),
    "identity_300": bytes([ROUTER, 0, 1, DEALER]) + frame(ready((b"Socket-Type", b"DEALER"), (b"Identity", b"i" * 300)), cmd=True),
}
# engine inputs: 4 control bytes (socket type index in SocketType::ALL, option bits, parameter,
# duplex buffer size) + the peer's bytes. Bit 0x20 puts a valid greeting + READY from a compatible
# type in front, so most seeds get past the handshake and then send valid or invalid traffic.
T = {n: i for i, n in enumerate(["PAIR", "PUB", "SUB", "REQ", "REP", "DEALER", "ROUTER", "PULL", "PUSH", "XPUB", "XSUB", "STREAM"])}
P = 0x20  # prelude bit
def hs(peer_type, *props, minor=1):
    return greeting(minor=minor) + frame(ready((b"Socket-Type", peer_type), *props), cmd=True)
msg = lambda *parts: b"".join(frame(p, more=i < len(parts) - 1) for i, p in enumerate(parts))
command = lambda name, data=b"": frame(cmd(name, data), cmd=True)
engine = {
    "router_libzmq_dealer": bytes([T["ROUTER"], 0, 0, 255]) + cap["libzmq_dealer_to_router"],
    "pub_libzmq_sub": bytes([T["PUB"], 0, 0, 255]) + cap["libzmq_sub_to_pub"],
    "pair_libzmq_pair_heartbeat": bytes([T["PAIR"], 0, 0, 3]) + cap["libzmq_pair_heartbeat"],
    "req_libzmq_rep_refusing": bytes([T["REQ"], 0, 0, 255]) + cap["libzmq_rep_bad_type"],
    "pair_messages_and_ping": bytes([T["PAIR"], P, 0, 255]) + msg(b"a", b"bb", b"") + command(b"PING", b"\x00\x0actx") + msg(b"L" * 300),
    "pull_small_duplex": bytes([T["PULL"], P, 0, 0]) + msg(b"one") + msg(b"two", b"parts") + msg(b"x" * 1000),
    "pull_hwm1": bytes([T["PULL"], P | 0x02, 0, 4]) + b"".join(msg(bytes([i])) for i in range(20)),
    "dealer_envelope": bytes([T["DEALER"], P, 0, 255]) + msg(b"", b"hello") + msg(b"", b"world"),
    "router_identity": bytes([T["ROUTER"], 0, 0, 255]) + hs(b"DEALER", (b"Identity", b"peer-1")) + msg(b"", b"req"),
    "router_zero_identity": bytes([T["ROUTER"], 0, 0, 255]) + hs(b"DEALER", (b"Identity", b"\x00abc")) + msg(b"m"),
    "rep_requests": bytes([T["REP"], P, 0, 255]) + msg(b"", b"q1") + msg(b"no-delimiter") + msg(b"id", b"", b"q2"),
    "req_replies": bytes([T["REQ"], P, 0, 255]) + msg(b"", b"r1") + msg(b"bad") + msg(b"", b"r2"),
    "sub_all": bytes([T["SUB"], P, 0, 255]) + msg(b"topic", b"data") + msg(b"other"),
    "sub_none": bytes([T["SUB"], P | 0x80, 0, 255]) + msg(b"topic", b"data"),
    "xsub_messages": bytes([T["XSUB"], P, 0, 255]) + msg(b"topic") + command(b"PING", b"\x00\x00"),
    "xpub_subscriptions": bytes([T["XPUB"], P, 0, 255]) + command(b"SUBSCRIBE", b"a") + command(b"SUBSCRIBE", b"a") + command(b"CANCEL", b"a") + msg(b"\x01b") + msg(b"plain"),
    "pub_zmtp30_subscriptions": bytes([T["PUB"], P | 0x40, 0, 255]) + msg(b"\x01topic") + msg(b"\x00topic"),
    "pub_subscribe_inside_message": bytes([T["PUB"], P, 0, 255]) + frame(b"part", more=True) + command(b"SUBSCRIBE", b"t"),
    "push_hwm1_flood": bytes([T["PUSH"], P | 0x02, 0, 255]) + b"".join(msg(bytes([i])) for i in range(50)),
    "pub_hwm1_flood": bytes([T["PUB"], P | 0x02, 0, 255]) + b"".join(msg(bytes([i])) for i in range(50)),
    "push_gets_messages": bytes([T["PUSH"], P, 0, 255]) + msg(b"unexpected"),
    "stream_http": bytes([T["STREAM"], 0, 0, 2]) + b"GET / HTTP/1.1\r\nHost: x\r\n\r\n",
    "pair_error_command": bytes([T["PAIR"], P, 0, 255]) + msg(b"before") + command(b"ERROR", b"\x04nope"),
    "pair_second_ready": bytes([T["PAIR"], P, 0, 255]) + command(b"READY", prop(b"Socket-Type", b"PAIR")),
    "pair_reserved_flags": bytes([T["PAIR"], P, 0, 255]) + msg(b"ok") + b"\x08\x00",
    "pair_over_maxmsgsize": bytes([T["PAIR"], P | 0x01, 10, 255]) + msg(b"x" * 40) + msg(b"y" * 41),
    "pair_huge_header": bytes([T["PAIR"], P, 0, 255]) + b"\x02\x00\x00\x00\x00\x01\x00\x00\x00partial",
    "pair_huge_header_slow": bytes([T["PAIR"], P, 0, 0]) + b"\x02\x00\x00\x01\x00\x00\x00\x00\x00" + b"b" * 300,
    # Over MAX_FRAME_SIZE (2^47) with no MAXMSGSIZE: refused from the header, the connection closed.
    "pair_header_over_the_bound": bytes([T["PAIR"], P, 0, 255]) + msg(b"before") + b"\x02" + (1 << 62).to_bytes(8, "big") + b"streamed" * 40,
    # push_hwm1_partial_message_fuzzed with its last frame's size (2^48, now over the bound) at
    # 2^40: a whole message, then a partial one that can wait for its body.
    "push_hwm1_partial_message": bytes([T["PUSH"], P | 0x02, 0, 255]) + msg(b"") + frame(b"", more=True) + frame(b"\x01", more=True) + b"\x03" + (1 << 40).to_bytes(8, "big") + b"\x00" * 120,
    "pair_truncated_message": bytes([T["PAIR"], P, 0, 255]) + msg(b"whole") + frame(b"first", more=True),
    "pair_heartbeat_ping_ttl": bytes([T["PAIR"], P | 0x08, 0, 255]) + command(b"PING", b"\x00\x64" + b"c" * 16) + command(b"PONG"),
    "dealer_conflate": bytes([T["DEALER"], P | 0x10, 0, 255]) + msg(b"1") + msg(b"2") + msg(b"3"),
    "rep_routing_id": bytes([T["REP"], P | 0x04, 7, 255]) + msg(b"", b"q"),
    "pair_incompatible_type": bytes([T["PAIR"], 0, 0, 255]) + hs(b"PUB"),
    "pair_eof_in_greeting": bytes([T["PAIR"], 0, 0, 255]) + greeting()[:20],
    "sub_zmtp30": bytes([T["SUB"], 0, 0, 255]) + hs(b"PUB", minor=0) + msg(b"news"),
}
endpoint = {
    "tcp_star": b"tcp://*:5555", "tcp_any_port": b"tcp://127.0.0.1:*", "tcp_ipv6": b"tcp://[::1]:80", "tcp_host": b"tcp://localhost:1",
    "tcp_ipv6_unbracketed": b"tcp://::1:5", "tcp_source": b"tcp://a:1;b:2", "tcp_bad_port": b"tcp://h:99999", "tcp_plus_port": b"tcp://h:+5",
    "tcp_unbalanced": b"tcp://[::1:5", "ipc_path": b"ipc:///tmp/a.sock", "ipc_abstract": b"ipc://@name", "ipc_wildcard": b"ipc://*",
    "inproc": b"inproc://x", "inproc_empty": b"inproc://", "pgm": b"pgm://eth0;239.1.1.1:5555", "unknown": b"foo://x",
    "invalid_utf8": b"tcp://\xff\xfe:1", "no_scheme": b"127.0.0.1:5555",
}
# The client handshakes (plain_client, curve_client): 4 control bytes (0x04: a genuine WELCOME
# first, 0x08: and a genuine READY; see src/security.rs), then what the server sends next.
plain_client = {
    "welcome_ready": b"\0\0\0\0" + command(b"WELCOME") + frame(ready((b"Socket-Type", b"ROUTER")), cmd=True),
    "welcome_with_data": b"\0\0\0\0" + command(b"WELCOME", b"x"),
    "error_400": b"\0\0\0\0" + command(b"ERROR", b"\x03400"),
    "error_truncated": b"\0\0\0\0" + command(b"ERROR", b"\x09short"),
    "ready_first": b"\0\0\0\0" + frame(ready((b"Socket-Type", b"ROUTER")), cmd=True),
    "genuine_welcome_bad_ready": b"\x04\0\0\0" + command(b"READY", b"\x0bSocket-Type\0\0\x03\xe8ROUTER"),
    "genuine_welcome_ready_then_message": b"\x0c\0\0\0" + frame(b"after"),
    "genuine_welcome_pub_ready": b"\x06\0\0\0" + frame(ready((b"Socket-Type", b"PUB")), cmd=True),
}
curve_client = {
    "welcome_shaped_junk": b"\0\0\0\0" + command(b"WELCOME", bytes(range(160))),
    "welcome_short": b"\0\0\0\0" + command(b"WELCOME", bytes(159)),
    "error_400": b"\0\0\0\0" + command(b"ERROR", b"\x03400"),
    "genuine_welcome": b"\x04\0\0\0",
    "genuine_welcome_junk_ready": b"\x04\0\0\0" + command(b"READY", bytes(40)),
    "genuine_welcome_short_ready": b"\x04\0\0\0" + command(b"READY", bytes(20)),
    "genuine_welcome_message": b"\x04\0\0\0" + command(b"MESSAGE", bytes(40)),
    "genuine_welcome_ready_req": b"\x0d\0\0\0",
    "genuine_welcome_ready_then_message": b"\x0c\0\0\0" + command(b"MESSAGE", bytes(40)),
}
for target, files in [("greeting", greetings), ("command", commands), ("metadata", metadata), ("decoder", decoder), ("decoder_more_chain", more_chain), ("handshake", handshake), ("engine", engine), ("endpoint", endpoint), ("plain_client", plain_client), ("curve_client", curve_client)]:
    d = os.path.join(C, target)
    os.makedirs(d, exist_ok=True)
    # Inputs the fuzzer found (a crash once, now a regression seed) are named *_fuzzed and kept.
    for n in os.listdir(d):
        if not n.endswith("_fuzzed"):
            os.remove(os.path.join(d, n))
    for n, data in files.items():
        open(os.path.join(d, n), "wb").write(data)
