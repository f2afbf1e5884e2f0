//! Interop tests, connection liveness: ZMTP heartbeats between oxmq and
//! libzmq (pyzmq) peers (37/ZMTP "Connection Heartbeating",
//! zmq_setsockopt(3) ZMQ_HEARTBEAT_IVL / _TTL / _TIMEOUT).
//! Harness: `interop/mod.rs`.

#[macro_use]
mod interop;

use std::time::Duration;

use interop::*;
use oxmq::SocketType;

/// A libzmq PAIR with heartbeats on (PING every 100 ms, give up 400 ms
/// after a PING without any traffic back) and an oxmq PAIR without: oxmq
/// must answer each PING with a PONG (37/ZMTP: "When a peer receives a PING
/// command it SHALL respond with a PONG command"), so after 2 s of silence
/// (5 timeouts) the libzmq side has not dropped the connection and
/// messages still flow both ways.
fn libzmq_heartbeats_are_answered(t: Transport, side: Side) {
    let peer_args = [
        "--monitor",
        "--sockopt",
        "HEARTBEAT_IVL=100",
        "--sockopt",
        "HEARTBEAT_TIMEOUT=400",
        "--sockopt",
        "HEARTBEAT_TTL=1000",
    ];
    let mut l = link(t, side, SocketType::Pair, |_| {}, "PAIR", &peer_args);
    let before = m(&[b"before"]);
    l.peer.send(&before);
    assert_oxmq_got(&oxmq_recv(&l.ox), &before, &l.name);
    std::thread::sleep(Duration::from_secs(2)); // idle: only PINGs and PONGs travel
    let after = m(&[b"after"]);
    oxmq_send(&l.ox, &after);
    assert_peer_got(&l.peer.recv(), &after, &l.name);
    l.peer.send(&after);
    assert_oxmq_got(&oxmq_recv(&l.ox), &after, &l.name);
    let events = l.peer.events();
    let count = |name: &str| events.iter().filter(|e| *e == name).count();
    assert!(
        count("DISCONNECTED") == 0 && count("HANDSHAKE_SUCCEEDED") == 1,
        "{}: the libzmq peer with heartbeats dropped or redid the connection; its events: {events:?}",
        l.name
    );
}

interop_matrix!(libzmq_heartbeats_are_answered);
