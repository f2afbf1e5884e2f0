//! The socket-pattern scenarios of the interop tests: one oxmq socket and one pyzmq peer of a
//! compatible type, linked over tcp or ipc with oxmq binding or connecting (`interop::link`),
//! exchanging messages each way. `interop_pyzmq.rs` runs them as they are; `interop_security.rs`
//! runs the same ones with PLAIN or CURVE on the link (`interop::with_security`).
#![allow(dead_code)] // each test crate uses a different subset

use std::time::{Duration, Instant};

use oxmq::{Socket, SocketType};

use crate::interop::*;

/// The messages every scenario exchanges: single frame, multipart with empty
/// frames first/middle/last, and frames at the short/long size boundary.
pub fn samples() -> Vec<Vec<Part>> {
    vec![
        m(&[b"hello"]),
        m(&[b"", b"a", b"", b""]),
        vec![Part::Pattern { size: 255, seed: 1 }, Part::Pattern { size: 256, seed: 2 }, Part::Data(vec![])],
    ]
}

/// A reply distinct from the request it answers.
pub fn reply_to(msg: &[Part]) -> Vec<Part> {
    let mut reply = msg.to_vec();
    reply.push(Part::Data(b"reply".to_vec()));
    reply
}

pub fn pair_pair(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Pair, |_| {}, "PAIR", &[]);
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &l.name);
        oxmq_send(&l.ox, &msg);
        assert_peer_got(&l.peer.recv(), &msg, &l.name);
    }
}

pub fn push_to_pull(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Push, |_| {}, "PULL", &[]);
    for msg in samples() {
        oxmq_send(&l.ox, &msg);
        assert_peer_got(&l.peer.recv(), &msg, &l.name);
    }
}

pub fn pull_from_push(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Pull, |_| {}, "PUSH", &[]);
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &l.name);
    }
}

/// oxmq REQ -> libzmq REP (echo).
pub fn req_to_rep(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Req, |_| {}, "REP", &[]);
    let msgs = samples();
    l.peer.start_echo(msgs.len());
    for msg in &msgs {
        oxmq_send(&l.ox, msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), msg, &l.name);
        assert_peer_got(&l.peer.read_msg(), msg, &l.name);
    }
    l.peer.finish_echo(msgs.len());
}

/// libzmq REQ -> oxmq REP.
pub fn rep_from_req(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Rep, |_| {}, "REQ", &[]);
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &l.name);
        let reply = reply_to(&msg);
        oxmq_send(&l.ox, &reply);
        assert_peer_got(&l.peer.recv(), &reply, &l.name);
    }
}

/// oxmq REQ -> libzmq ROUTER (echo): ROUTER sees [routing id, "", body].
pub fn req_to_router(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Req, |s| s.set_routing_id(b"ox-req").unwrap(), "ROUTER", &[]);
    let msgs = samples();
    l.peer.start_echo(msgs.len());
    for msg in &msgs {
        oxmq_send(&l.ox, msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), msg, &l.name);
        assert_peer_got(&l.peer.read_msg(), &with_prefix(&[b"ox-req", b""], msg), &l.name);
    }
    l.peer.finish_echo(msgs.len());
}

/// libzmq REQ -> oxmq ROUTER.
pub fn router_from_req(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Router, |_| {}, "REQ", &["--routing-id", "py-req"]);
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &with_prefix(&[b"py-req", b""], &msg), &l.name);
        let reply = reply_to(&msg);
        oxmq_send(&l.ox, &with_prefix(&[b"py-req", b""], &reply));
        assert_peer_got(&l.peer.recv(), &reply, &l.name);
    }
}

/// oxmq DEALER -> libzmq REP (echo): the DEALER supplies the empty delimiter.
pub fn dealer_to_rep(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Dealer, |_| {}, "REP", &[]);
    let msgs = samples();
    l.peer.start_echo(msgs.len());
    for msg in &msgs {
        let request = with_prefix(&[b""], msg);
        oxmq_send(&l.ox, &request);
        assert_oxmq_got(&oxmq_recv(&l.ox), &request, &l.name);
        assert_peer_got(&l.peer.read_msg(), msg, &l.name);
    }
    l.peer.finish_echo(msgs.len());
}

/// libzmq DEALER -> oxmq REP.
pub fn rep_from_dealer(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Rep, |_| {}, "DEALER", &[]);
    for msg in samples() {
        l.peer.send(&with_prefix(&[b""], &msg));
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &l.name);
        let reply = reply_to(&msg);
        oxmq_send(&l.ox, &reply);
        assert_peer_got(&l.peer.recv(), &with_prefix(&[b""], &reply), &l.name);
    }
}

/// oxmq DEALER (routing id set) -> libzmq ROUTER (echo).
pub fn dealer_to_router(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Dealer, |s| s.set_routing_id(b"ox-dealer").unwrap(), "ROUTER", &[]);
    let msgs = samples();
    l.peer.start_echo(msgs.len());
    for msg in &msgs {
        oxmq_send(&l.ox, msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), msg, &l.name);
        assert_peer_got(&l.peer.read_msg(), &with_prefix(&[b"ox-dealer"], msg), &l.name);
    }
    l.peer.finish_echo(msgs.len());
}

/// libzmq DEALER (routing id set) -> oxmq ROUTER.
pub fn router_from_dealer(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Router, |_| {}, "DEALER", &["--routing-id", "py-dealer"]);
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &with_prefix(&[b"py-dealer"], &msg), &l.name);
        let reply = reply_to(&msg);
        oxmq_send(&l.ox, &with_prefix(&[b"py-dealer"], &reply));
        assert_peer_got(&l.peer.recv(), &reply, &l.name);
    }
}

/// DEALER <-> DEALER: no envelope either way. Each side sends every sample
/// (multipart, empty frames first/middle/last, the short/long frame boundary)
/// back to back before the other reads, so the messages must arrive whole, in
/// order and with exactly their frames; a marker message then must be the very
/// next thing each side receives (nothing extra was delivered).
pub fn dealer_dealer(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::Dealer, |_| {}, "DEALER", &[]);
    let msgs = samples();
    let marker = m(&[b"marker", b"end"]);
    for msg in msgs.iter().chain([&marker]) {
        oxmq_send(&l.ox, msg);
    }
    for msg in msgs.iter().chain([&marker]) {
        assert_peer_got(&l.peer.recv(), msg, &format!("{}, oxmq -> libzmq", l.name));
    }
    for msg in msgs.iter().chain([&marker]) {
        l.peer.send(msg);
    }
    for msg in msgs.iter().chain([&marker]) {
        assert_oxmq_got(&oxmq_recv(&l.ox), msg, &format!("{}, libzmq -> oxmq", l.name));
    }
}

/// Sends with ROUTER_MANDATORY, retrying while the peer is not known yet.
pub fn oxmq_send_when_routable(s: &Socket, msg: &[Part], context: &str) {
    let deadline = Instant::now() + SOON;
    loop {
        match s.send_multipart(frames(msg)) {
            Ok(()) => return,
            Err(oxmq::Error::HostUnreachable | oxmq::Error::Again) if Instant::now() < deadline => {
                std::thread::sleep(Duration::from_millis(5)); // bounded polling
            }
            Err(e) => panic!("{context}: oxmq ROUTER could not route to the peer within {SOON:?}: {e:?}"),
        }
    }
}

/// ROUTER <-> ROUTER, both with routing ids. The connecting side sends first,
/// with ROUTER_MANDATORY, retrying until the handshake made the peer known.
pub fn router_router(t: Transport, side: Side) {
    let setup = |s: &Socket| {
        s.set_routing_id(b"ox-router").unwrap();
        s.set_router_mandatory(true).unwrap();
    };
    let mut l =
        link(t, side, SocketType::Router, setup, "ROUTER", &["--routing-id", "py-router", "--router-mandatory"]);
    for (i, msg) in samples().into_iter().enumerate() {
        let reply = reply_to(&msg);
        if side == Side::OxmqConnects {
            let to_peer = with_prefix(&[b"py-router"], &msg);
            if i == 0 {
                oxmq_send_when_routable(&l.ox, &to_peer, &l.name);
            } else {
                oxmq_send(&l.ox, &to_peer);
            }
            assert_peer_got(&l.peer.recv(), &with_prefix(&[b"ox-router"], &msg), &l.name);
            l.peer.send(&with_prefix(&[b"ox-router"], &reply));
            assert_oxmq_got(&oxmq_recv(&l.ox), &with_prefix(&[b"py-router"], &reply), &l.name);
        } else {
            l.peer.send_retrying(&with_prefix(&[b"ox-router"], &msg), 5000);
            assert_oxmq_got(&oxmq_recv(&l.ox), &with_prefix(&[b"py-router"], &msg), &l.name);
            oxmq_send(&l.ox, &with_prefix(&[b"py-router"], &reply));
            assert_peer_got(&l.peer.recv(), &with_prefix(&[b"ox-router"], &reply), &l.name);
        }
    }
}

/// PAIR <-> PAIR with frames of 0, 1, 255, 256 (short/long frame boundary),
/// 65536 and 16 MiB bytes in both directions, then all in one message.
pub fn message_sizes(t: Transport, side: Side) {
    const SIZES: [usize; 6] = [0, 1, 255, 256, 65536, 16 << 20];
    let mut l = link(t, side, SocketType::Pair, |_| {}, "PAIR", &[]);
    for (i, size) in SIZES.into_iter().enumerate() {
        let msg = vec![Part::Pattern { size, seed: i as u32 }];
        let context = format!("{}, {size} byte frame", l.name);
        oxmq_send(&l.ox, &msg);
        assert_peer_got(&l.peer.recv(), &msg, &context);
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &context);
    }
    let mixed: Vec<Part> =
        (0..2).flat_map(|round| SIZES[..5].iter().map(move |&size| Part::Pattern { size, seed: 7 + round })).collect();
    let context = format!("{}, multipart of mixed sizes", l.name);
    oxmq_send(&l.ox, &mixed);
    assert_peer_got(&l.peer.recv(), &mixed, &context);
    l.peer.send(&mixed);
    assert_oxmq_got(&oxmq_recv(&l.ox), &mixed, &context);
}

/// PAIR <-> PAIR: 2000 back-to-back messages of 1-3 frames (0..600 bytes)
/// each way, so frames straddle read/write buffer boundaries; order and
/// content are checked message by message.
pub fn burst(t: Transport, side: Side) {
    const COUNT: usize = 2000;
    let mut l = link(t, side, SocketType::Pair, |_| {}, "PAIR", &[]);
    l.peer.write(&format!(r#"{{"cmd":"expect_burst","count":{COUNT},"timeout_ms":5000}}"#));
    for i in 0..COUNT {
        oxmq_send(&l.ox, &burst_message(i));
    }
    let line = l.peer.read_line();
    assert_eq!(line, "ok", "{}: burst from oxmq", l.name);
    l.peer.expect(&format!(r#"{{"cmd":"send_burst","count":{COUNT}}}"#), "ok");
    for i in 0..COUNT {
        let context = format!("{}: burst message {i} from libzmq", l.name);
        assert_oxmq_got(&oxmq_recv(&l.ox), &burst_message(i), &context);
    }
}
