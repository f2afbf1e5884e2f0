//! Interop tests: oxmq against libzmq 4.x, driven through pyzmq: the
//! socket patterns (PAIR, PUSH/PULL, REQ/REP, DEALER/ROUTER, DEALER/DEALER)
//! over tcp and ipc, STREAM to STREAM over tcp, peer restarts, PROBE_ROUTER
//! and refusal of incompatible socket types.
//! The harness (`Peer`, `Link`, `interop_matrix!`) is in `interop/mod.rs`.

mod common;
#[macro_use]
mod interop;

use std::time::{Duration, Instant};

use interop::*;
use oxmq::{Context, Socket, SocketType};

// ---------------------------------------------------------------------------
// Scenarios, each run over {tcp, ipc} x {oxmq binds, oxmq connects}
// ---------------------------------------------------------------------------

#[path = "interop/patterns.rs"]
mod patterns;

use patterns::*;

interop_matrix!(
    pair_pair,
    push_to_pull,
    pull_from_push,
    req_to_rep,
    rep_from_req,
    req_to_router,
    router_from_req,
    dealer_to_rep,
    rep_from_dealer,
    dealer_to_router,
    router_from_dealer,
    router_router,
    dealer_dealer,
    message_sizes,
    burst,
);

/// PROBE_ROUTER on the oxmq side: the connecting oxmq ROUTER announces itself
/// with an empty message, so the libzmq ROUTER can answer without retrying.
#[test]
fn probe_router_from_oxmq() {
    run_test(|| {
        let setup = |s: &Socket| {
            s.set_routing_id(b"ox-router").unwrap();
            s.set_probe_router(true).unwrap();
        };
        let peer_args = ["--routing-id", "py-router", "--router-mandatory"];
        let mut l = link(Transport::Tcp, Side::OxmqConnects, SocketType::Router, setup, "ROUTER", &peer_args);
        // Queue "recv, then reply" on the peer before blocking in oxmq recv:
        // like libzmq, oxmq may only attach the new peer (and send the
        // probe) while the application is inside a socket call.
        let reply = m(&[b"ox-router", b"hi"]); // no retry: the probe made us known
        l.peer.write(r#"{"cmd":"recv","timeout_ms":5000}"#);
        l.peer.write(&format!(r#"{{"cmd":"send","parts":{}}}"#, parts_json(&reply)));
        let got = l.ox.recv_multipart();
        assert_peer_got(&l.peer.read_msg(), &m(&[b"ox-router", b""]), "probe from oxmq ROUTER");
        assert_eq!(l.peer.read_line(), "ok", "libzmq ROUTER replying to the probe");
        let got = got.unwrap_or_else(|e| panic!("oxmq ROUTER recv of the reply to its probe: {e:?}"));
        assert_oxmq_got(&got, &m(&[b"py-router", b"hi"]), "reply to the probe");
    });
}

/// PROBE_ROUTER on the libzmq side: the oxmq ROUTER receives the probe
/// (routing id + empty frame) and can answer straight away.
#[test]
fn probe_router_from_libzmq() {
    run_test(|| {
        let setup = |s: &Socket| {
            s.set_routing_id(b"ox-router").unwrap();
            s.set_router_mandatory(true).unwrap();
        };
        let peer_args = ["--routing-id", "py-router", "--probe-router"];
        let mut l = link(Transport::Tcp, Side::OxmqBinds, SocketType::Router, setup, "ROUTER", &peer_args);
        assert_oxmq_got(&oxmq_recv(&l.ox), &m(&[b"py-router", b""]), "probe from libzmq ROUTER");
        oxmq_send(&l.ox, &m(&[b"py-router", b"hi"])); // mandatory, no retry: the peer is known
        assert_peer_got(&l.peer.recv(), &m(&[b"ox-router", b"hi"]), "reply to the probe");
    });
}

// ---------------------------------------------------------------------------
// A restarting libzmq peer is reconnected to
// ---------------------------------------------------------------------------

/// oxmq PUSH connects to a libzmq PULL bound on a fixed endpoint; the peer is
/// killed (SIGKILL) and a new one binds the same endpoint; oxmq must
/// reconnect by itself and deliver to the new peer.
fn reconnects_after_peer_restart(transport: Transport) {
    let ipc = matches!(transport, Transport::Ipc).then(IpcFile::new);
    let endpoint = match &ipc {
        Some(f) => f.endpoint(),
        None => {
            // A free port for the fixed endpoint (the peer rebinds it with SO_REUSEADDR).
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            format!("tcp://127.0.0.1:{}", probe.local_addr().unwrap().port())
        }
    };
    let name = format!("restart over {transport:?} ({endpoint})");
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, SocketType::Push);
    ox.connect(&endpoint).unwrap_or_else(|e| panic!("oxmq connect {endpoint}: {e:?}"));

    let bind = ["--bind".to_string(), endpoint.clone()];
    let mut first = Peer::spawn("PULL", &bind);
    let before = m(&[b"before restart"]);
    oxmq_send(&ox, &before);
    assert_peer_got(&first.recv(), &before, &name);
    first.kill();
    drop(first);

    let mut second = Peer::spawn("PULL", &bind);
    // Messages sent while oxmq has not noticed the restart may be lost, so
    // keep sending numbered messages until one arrives (bounded by a deadline).
    ox.set_sndtimeo(100).unwrap();
    let deadline = Instant::now() + SOON;
    let mut sent = Vec::new();
    loop {
        let msg = format!("after restart {}", sent.len());
        sent.push(describe(msg.as_bytes()));
        match ox.send(msg.into_bytes()) {
            Ok(()) | Err(oxmq::Error::Again) => {}
            Err(e) => panic!("{name}: oxmq send after the peer restarted: {e:?}"),
        }
        if let Some(got) = second.try_recv(100) {
            assert!(
                got.len() == 1 && sent.contains(&got[0]),
                "{name}: the new peer received {got:?}, not one of the messages sent after the restart"
            );
            return;
        }
        assert!(
            Instant::now() < deadline,
            "{name}: no message reached the restarted peer within {SOON:?} ({} sent); \
             oxmq did not reconnect",
            sent.len()
        );
    }
}

#[test]
fn reconnects_after_peer_restart_tcp() {
    run_test(|| reconnects_after_peer_restart(Transport::Tcp));
}

#[test]
fn reconnects_after_peer_restart_ipc() {
    run_test(|| reconnects_after_peer_restart(Transport::Ipc));
}

/// oxmq ROUTER (bound): a libzmq DEALER with routing id "py" is killed; oxmq
/// must notice (the id becomes unroutable) and then accept a new DEALER
/// with the same routing id and route to it.
///
/// Note: this is stricter than libzmq 4.3.5, whose own ROUTER sometimes
/// (~1 run in 10) still refuses the reused id right after reporting it
/// unreachable, silently dropping the new peer's messages.
#[test]
fn router_accepts_restarted_peer_with_same_routing_id() {
    run_test(|| {
        let ctx = Context::new();
        let router = oxmq_socket(&ctx, SocketType::Router);
        router.bind("tcp://127.0.0.1:*").unwrap();
        let ep = router.last_endpoint().unwrap();
        let args = ["--connect".to_string(), ep, "--routing-id".to_string(), "py".to_string()];

        let mut first = Peer::spawn("DEALER", &args);
        first.send(&m(&[b"one"]));
        assert_oxmq_got(&oxmq_recv(&router), &m(&[b"py", b"one"]), "first DEALER");
        first.kill();
        drop(first);
        // Wait until oxmq has noticed the death: with ROUTER_MANDATORY,
        // sending to "py" then fails with HostUnreachable. (Without this the
        // new connection could race the old one's teardown, and a live
        // duplicate routing id is refused - by libzmq too.)
        router.set_router_mandatory(true).unwrap();
        let deadline = Instant::now() + SOON;
        loop {
            match router.send_multipart([&b"py"[..], b"to the dead peer"]) {
                Err(oxmq::Error::HostUnreachable) => break,
                Ok(()) | Err(oxmq::Error::Again) if Instant::now() < deadline => {
                    std::thread::sleep(Duration::from_millis(5)); // bounded polling
                }
                other => {
                    panic!("oxmq ROUTER still routes to a killed peer after {SOON:?} (last send: {other:?})")
                }
            }
        }

        let mut second = Peer::spawn("DEALER", &args);
        second.send(&m(&[b"two"]));
        assert_oxmq_got(&oxmq_recv(&router), &m(&[b"py", b"two"]), "restarted DEALER, same routing id");
        oxmq_send(&router, &m(&[b"py", b"reply"]));
        assert_peer_got(&second.recv(), &m(&[b"reply"]), "reply routed to the restarted DEALER");
    });
}

/// ROUTER_HANDOVER: a libzmq DEALER arriving with the routing id a live libzmq DEALER has
/// takes it over; replies go to the newcomer, and the first (which does not reconnect) gets
/// nothing.
#[test]
fn router_handover_hands_a_libzmq_peers_routing_id_to_the_newcomer() {
    run_test(|| {
        let ctx = Context::new();
        let router = oxmq_socket(&ctx, SocketType::Router);
        router.set_router_handover(true).unwrap();
        router.bind("tcp://127.0.0.1:*").unwrap();
        let ep = router.last_endpoint().unwrap();
        let args = |extra: &[&str]| {
            let mut a = vec!["--connect".to_string(), ep.clone(), "--routing-id".to_string(), "py".to_string()];
            a.extend(extra.iter().map(|s| s.to_string()));
            a
        };
        let mut first = Peer::spawn("DEALER", &args(&["--reconnect-ivl", "-1"]));
        first.send(&m(&[b"one"]));
        assert_oxmq_got(&oxmq_recv(&router), &m(&[b"py", b"one"]), "first DEALER");
        let mut second = Peer::spawn("DEALER", &args(&[]));
        second.send(&m(&[b"two"]));
        // Its message comes after its attach: the id is the newcomer's from here on.
        assert_oxmq_got(&oxmq_recv(&router), &m(&[b"py", b"two"]), "second DEALER, same routing id");
        oxmq_send(&router, &m(&[b"py", b"reply"]));
        assert_peer_got(&second.recv(), &m(&[b"reply"]), "reply routed to the newcomer");
        assert_eq!(first.try_recv(200), None, "the first DEALER was handed over, not served");
    });
}

/// Messages sent right before the socket is dropped are still delivered
/// when LINGER allows it (here: sent before the connection is even up).
#[test]
fn close_with_linger_flushes_pending_messages() {
    run_test(|| {
        const COUNT: usize = 200;
        let mut peer = Peer::spawn("PULL", &["--bind".to_string(), "tcp://127.0.0.1:*".to_string()]);
        let ctx = Context::new();
        let push = oxmq_socket(&ctx, SocketType::Push);
        push.set_linger(5000).unwrap();
        push.connect(&peer.endpoint).unwrap();
        for i in 0..COUNT {
            oxmq_send(&push, &burst_message(i));
        }
        drop(push); // must not discard what is queued (LINGER 5 s)
        peer.expect(&format!(r#"{{"cmd":"expect_burst","count":{COUNT},"timeout_ms":5000}}"#), "ok");
    });
}

// ---------------------------------------------------------------------------
// Incompatible socket types are refused
// ---------------------------------------------------------------------------

const HANDSHAKE_FAILED: [&str; 3] = ["HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_FAILED_NO_DETAIL", "DISCONNECTED"];

/// libzmq DEALER connects to an oxmq PULL and sends: the handshake must fail,
/// oxmq must deliver nothing and keep working for a compatible peer.
#[test]
fn incompatible_dealer_to_oxmq_pull_is_refused() {
    run_test(|| {
        let ctx = Context::new();
        let pull = oxmq_socket(&ctx, SocketType::Pull);
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let ep = pull.last_endpoint().unwrap();
        let mut peer = Peer::spawn("DEALER", &["--connect".into(), ep.clone(), "--monitor".into()]);
        // Queued on the connecting pipe if libzmq has not yet dropped it
        // after the failed handshake (then it would block: that's fine too).
        peer.try_send(&m(&[b"must not arrive"]));
        peer.wait_event(&HANDSHAKE_FAILED);
        let events = peer.events();
        assert!(
            !events.iter().any(|e| e == "HANDSHAKE_SUCCEEDED"),
            "libzmq DEALER completed a handshake with oxmq PULL; its events: {events:?}"
        );
        // No marker: the refused DEALER has no pipe into the PULL for one to follow.
        assert_oxmq_nothing_queued(&pull, "PULL after refusing a DEALER");

        // Still alive: a compatible oxmq PUSH gets through, and only its message.
        let push = oxmq_socket(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();
        let alive = m(&[b"still alive"]);
        oxmq_send(&push, &alive);
        assert_oxmq_got(&oxmq_recv(&pull), &alive, "PULL after refusing a DEALER");
        nothing_more_from(&push, &pull);
    });
}

/// Nothing more arrives on `pull` after the message of `push`: a quiet window, then a marker
/// from the same PUSH must be the next message.
#[track_caller]
fn nothing_more_from(push: &Socket, pull: &Socket) {
    common::expect_nothing_before(pull, || oxmq_send(push, &m(&[b"marker"])), &[b"marker"]);
}

/// libzmq REQ connects to an oxmq REQ (REQ-REQ is invalid): refused, and the
/// oxmq REQ has no peer to send its request to.
#[test]
fn incompatible_req_to_oxmq_req_is_refused() {
    run_test(|| {
        let ctx = Context::new();
        let req = oxmq_socket(&ctx, SocketType::Req);
        let ipc = IpcFile::new();
        req.bind(&ipc.endpoint()).unwrap();
        let mut peer = Peer::spawn("REQ", &["--connect".into(), ipc.endpoint(), "--monitor".into()]);
        peer.try_send(&m(&[b"request from libzmq"])); // best effort, as above
        peer.wait_event(&HANDSHAKE_FAILED);
        let events = peer.events();
        assert!(
            !events.iter().any(|e| e == "HANDSHAKE_SUCCEEDED"),
            "libzmq REQ completed a handshake with oxmq REQ; its events: {events:?}"
        );
        req.set_sndtimeo(200).unwrap();
        match req.send(&b"request from oxmq"[..]) {
            Err(oxmq::Error::Again) => {}
            other => panic!("oxmq REQ with only an incompatible peer: send should time out (Again), got {other:?}"),
        }
    });
}

// libzmq refuses incompatible types on its own side, so the tests above can't
// show that oxmq checks the peer's Socket-Type. zmtp_raw_peer.py can: it
// announces any type, ignores oxmq's, and sends a message right away.

fn raw_peer(endpoint: &str, announced_type: &str, message: &str) -> Peer {
    let args: Vec<String> = ["--connect", endpoint, "--socket-type", announced_type, "--send", message]
        .iter()
        .map(|a| a.to_string())
        .collect();
    Peer::start(RAW_PEER_SCRIPT, &args, format!("raw ZMTP peer announcing {announced_type}"))
}

/// Control for the test below: the raw peer announcing a compatible type
/// (PUSH) is accepted by oxmq PULL and its message is delivered, so the raw
/// peer's framing is right and the refusal test cannot pass vacuously.
#[test]
fn raw_zmtp_compatible_peer_is_accepted() {
    run_test(|| {
        let ctx = Context::new();
        let pull = oxmq_socket(&ctx, SocketType::Pull);
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let mut peer = raw_peer(&pull.last_endpoint().unwrap(), "PUSH", "from raw PUSH");
        assert_eq!(peer.read_line(), "connected");
        assert_eq!(peer.read_line(), "peer-ready PULL", "oxmq PULL should send READY with Socket-Type PULL");
        assert_eq!(peer.read_line(), "sent");
        assert_oxmq_got(&oxmq_recv(&pull), &m(&[b"from raw PUSH"]), "raw PUSH -> oxmq PULL");
    });
}

/// Peers announcing types incompatible with PULL are disconnected, nothing
/// they send is delivered, and the PULL keeps working.
#[test]
fn raw_zmtp_incompatible_peer_is_dropped() {
    run_test(|| {
        let ctx = Context::new();
        let pull = oxmq_socket(&ctx, SocketType::Pull);
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let ep = pull.last_endpoint().unwrap();
        for announced in ["PUB", "REQ", "PULL"] {
            let context = format!("raw peer announcing {announced} -> oxmq PULL");
            let mut peer = raw_peer(&ep, announced, "must not arrive");
            assert_eq!(peer.read_line(), "connected", "{context}");
            let mut line = peer.read_line(); // peer-ready PULL | peer-error .. | closed
            while line != "closed" && line != "open" {
                assert!(
                    line.starts_with("peer-ready")
                        || line.starts_with("peer-error")
                        || line.starts_with("sent")
                        || line.starts_with("send-failed"),
                    "{context}: unexpected line {line:?}"
                );
                line = peer.read_line();
            }
            assert_eq!(line, "closed", "{context}: oxmq did not close the connection");
            // No marker: the refused peer's connection is closed, so nothing can follow it.
            assert_oxmq_nothing_queued(&pull, &context);
        }
        let push = oxmq_socket(&ctx, SocketType::Push);
        push.connect(&ep).unwrap();
        let alive = m(&[b"still alive"]);
        oxmq_send(&push, &alive);
        assert_oxmq_got(&oxmq_recv(&pull), &alive, "PULL after refusing raw peers");
        nothing_more_from(&push, &pull);
    });
}

// ---------------------------------------------------------------------------
// Self-checks of the helpers (no python needed)
// ---------------------------------------------------------------------------

#[test]
fn helper_encodings_match_known_vectors() {
    assert_eq!(base64(b""), "");
    assert_eq!(base64(b"f"), "Zg==");
    assert_eq!(base64(b"fo"), "Zm8=");
    assert_eq!(base64(b"foobar"), "Zm9vYmFy");
    for text in [&b""[..], b"f", b"fo", b"foo", b"foob", b"\x00\xff\x10"] {
        assert_eq!(unbase64(&base64(text)), text);
    }
    let hex = |d: [u8; 32]| d.iter().map(|b| format!("{b:02x}")).collect::<String>();
    assert_eq!(hex(sha256(b"")), "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855");
    assert_eq!(hex(sha256(b"abc")), "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad");
    let million_a = vec![b'a'; 1_000_000];
    assert_eq!(hex(sha256(&million_a)), "cdc76e5c9914fb9281a1c7e284d73e67f1809a48a497200e046d39ccc7112cd0");
    let slow = |size: usize, seed: usize| -> Vec<u8> {
        (0..size).map(|i| ((i % 251) * 131 + (i / 251) * 17 + seed * 29) as u8).collect()
    };
    for (size, seed) in [(0, 0), (1, 3), (251, 1), (252, 2), (70_000, 9)] {
        assert_eq!(pattern(size, seed as u32), slow(size, seed), "pattern({size}, {seed})");
    }
    assert_eq!(pattern(300, 1)[249..253], [(249 * 131 + 29) as u8, (250 * 131 + 29) as u8, 17 + 29, 131 + 17 + 29]);
}

// ---------------------------------------------------------------------------
// STREAM <-> STREAM: raw TCP between oxmq and libzmq
// ---------------------------------------------------------------------------
//
// Both sides are STREAM sockets with STREAM_NOTIFY on (the default of both):
// each gets [id, ""] when the connection is up, raw bytes arrive as
// [id, bytes] (TCP may split or join them, so the bytes are collected until
// the expected length and then compared exactly), and [id, ""] sent closes
// the connection, which the other side sees as its own [id, ""].

/// Which side ends the STREAM connection by sending [id, ""].
#[derive(Clone, Copy, Debug)]
enum Closer {
    Oxmq,
    Libzmq,
}

/// The frames of a message the peer printed (every frame here is small
/// enough to be printed whole).
fn peer_frames(described: &[String]) -> Vec<Vec<u8>> {
    described
        .iter()
        .map(|d| unbase64(d.strip_prefix("b64:").unwrap_or_else(|| panic!("a small frame, got {d}"))))
        .collect()
}

/// The frames of the next message on oxmq's STREAM.
fn oxmq_frames(ox: &Socket) -> Vec<Vec<u8>> {
    oxmq_recv(ox).iter().map(|f| f.to_vec()).collect()
}

/// A connection's [id, ""] notification (the next message, `got`); returns the id.
#[track_caller]
fn stream_notification(got: Vec<Vec<u8>>, what: &str) -> Vec<u8> {
    assert!(got.len() == 2 && !got[0].is_empty() && got[1].is_empty(), "{what}: expected [id, \"\"], got {got:?}");
    got[0].clone()
}

/// Bytes that a STREAM receives from connection `id`, message by message
/// ([id, bytes] each, from `next`), until `len` bytes have come.
#[track_caller]
fn stream_bytes(mut next: impl FnMut() -> Vec<Vec<u8>>, id: &[u8], len: usize, what: &str) -> Vec<u8> {
    let mut bytes = Vec::new();
    while bytes.len() < len {
        let got = next();
        assert_eq!(got.len(), 2, "{what}: a STREAM message is [id, bytes]");
        assert_eq!(got[0], id, "{what}: the bytes came from another connection");
        assert!(!got[1].is_empty(), "{what}: [id, \"\"] (a disconnect) after {} of {len} bytes", bytes.len());
        bytes.extend_from_slice(&got[1]);
    }
    bytes
}

/// oxmq STREAM <-> libzmq STREAM over tcp: connect notifications on both
/// sides, raw bytes each way (exact bytes, two sends each way so a second
/// message on the connection is checked too), then `closer` closes with
/// [id, ""] and the other side must get [id, ""] as the next message.
fn stream_stream(side: Side, closer: Closer) {
    let mut l = link(Transport::Tcp, side, SocketType::Stream, |_| {}, "STREAM", &[]);
    let name = format!("{}, {closer:?} closes", l.name);
    let ox_id = stream_notification(oxmq_frames(&l.ox), &format!("{name}: connect, oxmq's STREAM"));
    let py_id = stream_notification(peer_frames(&l.peer.recv()), &format!("{name}: connect, libzmq's STREAM"));

    for round in 0..2u32 {
        let to_py = pattern(300 + round as usize * 400, round);
        oxmq_send(&l.ox, &[Part::Data(ox_id.clone()), Part::Data(to_py.clone())]);
        let got = stream_bytes(|| peer_frames(&l.peer.recv()), &py_id, to_py.len(), &format!("{name}: oxmq -> libzmq"));
        assert!(got == to_py, "{name}: libzmq got other bytes than oxmq sent (round {round})");

        let to_ox = pattern(500 + round as usize * 300, 10 + round);
        l.peer.send(&[Part::Data(py_id.clone()), Part::Data(to_ox.clone())]);
        let got = stream_bytes(|| oxmq_frames(&l.ox), &ox_id, to_ox.len(), &format!("{name}: libzmq -> oxmq"));
        assert!(got == to_ox, "{name}: oxmq got other bytes than libzmq sent (round {round})");
    }

    match closer {
        Closer::Oxmq => {
            oxmq_send(&l.ox, &[Part::Data(ox_id.clone()), Part::Data(Vec::new())]);
            let got = peer_frames(&l.peer.recv());
            assert_eq!(got, [py_id, Vec::new()], "{name}: libzmq's disconnect notification");
        }
        Closer::Libzmq => {
            l.peer.send(&[Part::Data(py_id.clone()), Part::Data(Vec::new())]);
            assert_eq!(oxmq_frames(&l.ox), [ox_id, Vec::new()], "{name}: oxmq's disconnect notification");
        }
    }
}

#[test]
fn stream_stream_tcp_oxmq_binds_oxmq_closes() {
    run_test(|| stream_stream(Side::OxmqBinds, Closer::Oxmq));
}

#[test]
fn stream_stream_tcp_oxmq_binds_libzmq_closes() {
    run_test(|| stream_stream(Side::OxmqBinds, Closer::Libzmq));
}

#[test]
fn stream_stream_tcp_oxmq_connects_oxmq_closes() {
    run_test(|| stream_stream(Side::OxmqConnects, Closer::Oxmq));
}

#[test]
fn stream_stream_tcp_oxmq_connects_libzmq_closes() {
    run_test(|| stream_stream(Side::OxmqConnects, Closer::Libzmq));
}
