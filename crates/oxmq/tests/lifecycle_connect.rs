//! Socket lifecycle, with libzmq's semantics: how connections come up. Bind and connect in
//! either order (queued messages delivered once the bind exists), IMMEDIATE, reconnection after
//! a peer restarts (RECONNECT_IVL, its maximum, -1 for never) and HANDSHAKE_IVL on both sides.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use oxmq::{Context, Dealer, Event, EventMask, Monitor, Pair, Pull, Router};

fn bounce_fails(a: &Pair, b: &Pair) -> bool {
    let _ = b.try_send("bounce", false);
    a.set_rcvtimeo(150).unwrap();
    let r = a.recv();
    a.set_rcvtimeo(TIMEO_MS).unwrap();
    is_again(&r)
}

// ================================================================ bind / connect order

fn connect_first_then_bind(endpoint: &str) {
    let ctx = Context::new();
    let push = push_linger0(&ctx);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(endpoint).unwrap();
    // Nobody there yet: without IMMEDIATE the messages queue.
    push.try_send("early-1", false).unwrap();
    push.send("early-2").unwrap();
    let pull = pull_bound(&ctx, endpoint);
    assert_eq!(pull.recv().unwrap(), "early-1");
    assert_eq!(pull.recv().unwrap(), "early-2");
    push.send("later").unwrap();
    assert_eq!(pull.recv().unwrap(), "later");
}

#[test]
fn connect_before_bind_tcp_delivers_queued_messages() {
    connect_first_then_bind(&free_tcp_endpoint());
}

#[test]
fn connect_before_bind_ipc_delivers_queued_messages() {
    let (ep, path) = ipc_endpoint("cbb");
    connect_first_then_bind(&ep);
    let _ = std::fs::remove_file(path);
}

#[test]
fn connect_before_bind_inproc_delivers_queued_messages() {
    connect_first_then_bind(&inproc_endpoint("cbb"));
}

fn bind_first_then_connect(endpoint: &str) {
    let ctx = Context::new();
    let pull = pull_bound(&ctx, endpoint);
    let ep = pull.last_endpoint().unwrap();
    let push = push_linger0(&ctx);
    push.connect(&ep).unwrap();
    // Sent before the connection is up: queued, then delivered.
    push.send("first").unwrap();
    push.send_multipart(["a", "b"]).unwrap();
    assert_eq!(pull.recv().unwrap(), "first");
    assert_eq!(pull.recv_multipart().unwrap(), vec!["a", "b"]);
}

#[test]
fn bind_before_connect_tcp() {
    bind_first_then_connect("tcp://127.0.0.1:*");
}

#[test]
fn bind_before_connect_ipc() {
    let (ep, path) = ipc_endpoint("bbc");
    bind_first_then_connect(&ep);
    let _ = std::fs::remove_file(path);
}

#[test]
fn bind_before_connect_inproc() {
    bind_first_then_connect(&inproc_endpoint("bbc"));
}

#[test]
fn pull_connects_before_push_binds_tcp() {
    // The connecting side is the receiver: it waits for the binder to appear.
    let ctx = Context::new();
    let ep = free_tcp_endpoint();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_reconnect_ivl(20).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.connect(&ep).unwrap();
    let push = push_linger0(&ctx);
    push.set_sndtimeo(TIMEO_MS).unwrap();
    push.bind(&ep).unwrap();
    push.send("hello").unwrap();
    assert_eq!(pull.recv().unwrap(), "hello");
}

#[test]
fn bound_push_without_peers_blocks_until_a_peer_connects() {
    let ctx = Context::new();
    let push = push_linger0(&ctx);
    push.bind("tcp://127.0.0.1:*").unwrap();
    let ep = push.last_endpoint().unwrap();
    // A bound PUSH with no peer has nowhere to queue: it blocks (libzmq's EAGAIN).
    assert!(is_again(&push.try_send("nobody", false)));
    push.set_sndtimeo(50).unwrap();
    let t = Instant::now();
    assert!(is_again(&push.send("nobody")));
    assert!(t.elapsed() >= Duration::from_millis(40), "SNDTIMEO was honoured: {:?}", t.elapsed());
    let pull = Pull::new(&ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.connect(&ep).unwrap();
    push.set_sndtimeo(TIMEO_MS).unwrap();
    push.send("somebody").unwrap();
    assert_eq!(pull.recv().unwrap(), "somebody");
}

// ================================================================ IMMEDIATE

#[test]
fn immediate_push_connected_to_nothing_does_not_queue() {
    let ctx = Context::new();
    let push = push_linger0(&ctx);
    push.set_immediate(true).unwrap();
    push.connect(&free_tcp_endpoint()).unwrap();
    assert!(is_again(&push.try_send("x", false)), "IMMEDIATE: no completed connection, no queue");
    push.set_sndtimeo(50).unwrap();
    assert!(is_again(&push.send("x")));
}

#[test]
fn without_immediate_push_connected_to_nothing_queues_up_to_sndhwm() {
    let ctx = Context::new();
    let push = push_linger0(&ctx);
    push.set_sndhwm(5).unwrap();
    push.set_reconnect_ivl(20).unwrap();
    let ep = free_tcp_endpoint();
    push.connect(&ep).unwrap();
    for i in 0..5 {
        push.try_send(format!("m{i}"), false).unwrap_or_else(|e| panic!("message {i} should queue: {e}"));
    }
    assert!(is_again(&push.try_send("over", false)), "SNDHWM 5 reached");
    let pull = pull_bound(&ctx, &ep);
    for i in 0..5 {
        assert_eq!(pull.recv().unwrap(), format!("m{i}").as_str());
    }
}

#[test]
fn immediate_push_sends_once_connected() {
    let ctx = Context::new();
    let ep = free_tcp_endpoint();
    let push = push_linger0(&ctx);
    push.set_immediate(true).unwrap();
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    assert!(is_again(&push.try_send("x", false)));
    let pull = pull_bound(&ctx, &ep);
    push.set_sndtimeo(TIMEO_MS).unwrap();
    push.send("after connect").unwrap();
    assert_eq!(pull.recv().unwrap(), "after connect");
}

#[test]
fn immediate_sends_only_to_completed_connections() {
    // libzmq test_immediate: a PUSH connected to a dead and a live endpoint; with IMMEDIATE every
    // message goes to the live one (without it, half would sit in the dead one's queue).
    let ctx = Context::new();
    let pull = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let live = pull.last_endpoint().unwrap();
    let push = push_linger0(&ctx);
    push.set_immediate(true).unwrap();
    push.set_sndtimeo(TIMEO_MS).unwrap();
    push.connect(&free_tcp_endpoint()).unwrap();
    push.connect(&live).unwrap();
    for i in 0..10 {
        push.send(format!("m{i}")).unwrap();
    }
    for i in 0..10 {
        match pull.recv() {
            Ok(m) => assert_eq!(m, format!("m{i}").as_str()),
            Err(e) => panic!("message {i} did not reach the live peer: {e}"),
        }
    }
}

#[test]
fn immediate_stops_queueing_once_the_peer_is_gone() {
    let ctx = Context::new();
    let peer_ctx = Context::new();
    let pull = pull_bound(&peer_ctx, "tcp://127.0.0.1:*");
    let ep = pull.last_endpoint().unwrap();
    let push = push_linger0(&ctx);
    push.set_immediate(true).unwrap();
    push.set_reconnect_ivl(-1).unwrap();
    push.set_sndtimeo(TIMEO_MS).unwrap();
    push.connect(&ep).unwrap();
    push.send("one").unwrap();
    assert_eq!(pull.recv().unwrap(), "one");
    drop(pull);
    drop(peer_ctx);
    // Once the connection is seen to be gone, nothing queues any more.
    let refused = eventually(SOON, || is_again(&push.try_send("into the void", false)).then_some(()));
    assert!(refused.is_some(), "IMMEDIATE PUSH kept queueing after its only peer went away");
}

// ================================================================ reconnect

fn reconnect_after_restart(endpoint_of: impl Fn(&Pull) -> String, bind_to: &str, ivl: i32, ivl_max: i32) {
    let ctx = Context::new();
    let first_ctx = Context::new();
    let pull = pull_bound(&first_ctx, bind_to);
    let ep = endpoint_of(&pull);
    let push = push_linger0(&ctx);
    push.set_reconnect_ivl(ivl).unwrap();
    push.set_reconnect_ivl_max(ivl_max).unwrap();
    push.connect(&ep).unwrap();
    push.send("before").unwrap();
    assert_eq!(pull.recv().unwrap(), "before");
    // The peer goes away completely.
    drop(pull);
    first_ctx.term();
    // A new peer on the same address.
    let second_ctx = Context::new();
    let pull2 = eventually(SOON, || {
        let p = Pull::new(&second_ctx).unwrap();
        p.bind(&ep).ok().map(|()| p)
    })
    .expect("the address can be bound again");
    let got = send_until_received(&push, &pull2, Duration::from_millis(1500), 50);
    assert!(got.is_some(), "the PUSH never reconnected to the restarted peer at {ep}");
    assert!(got.unwrap().starts_with("probe-"), "only messages sent after the restart arrive");
}

#[test]
fn reconnects_after_peer_restarts_on_same_tcp_port() {
    let port = free_tcp_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    reconnect_after_restart(|p| p.last_endpoint().unwrap(), &ep, 20, 0);
}

#[test]
fn reconnects_with_backoff_max_set() {
    let ep = free_tcp_endpoint();
    reconnect_after_restart(|p| p.last_endpoint().unwrap(), &ep, 10, 80);
}

#[test]
fn reconnects_after_peer_restarts_on_same_ipc_path() {
    let (ep, path) = ipc_endpoint("reconnect");
    reconnect_after_restart(|p| p.last_endpoint().unwrap(), &ep, 20, 0);
    let _ = std::fs::remove_file(path);
}

/// Waits until `n` HANDSHAKE_SUCCEEDED events came (events the monitor had to drop count too).
fn handshakes(mon: &Monitor, n: usize, within: Duration) {
    let deadline = Instant::now() + within;
    let mut seen = 0;
    while seen + (mon.dropped() as usize) < n {
        let left = deadline.saturating_duration_since(Instant::now());
        assert!(!left.is_zero(), "only {} of {n} clients handshaken within {within:?}", seen + mon.dropped() as usize);
        if mon.recv_timeout(left).is_some_and(|e| e.event == Event::HandshakeSucceeded) {
            seen += 1;
        }
    }
}

/// A reconnect storm, CI-sized: 200 DEALERs lose their ROUTER, which comes back on the same
/// port. Every client comes back, and the first wait each announces (CONNECT_RETRIED) is
/// RECONNECT_IVL plus libzmq's random part, in [100, 200) ms and not the same for all (with the
/// exact interval all 200 would say 100; with the random part, all alike has a chance of
/// 100^-199). Nothing about timing is asserted but a generous deadline.
#[test]
fn two_hundred_clients_all_come_back_after_their_server_restarts() {
    const N: usize = 200;
    let ctx = Context::new();
    let first_ctx = Context::new();
    let ep = free_tcp_endpoint();
    let server = Router::new(&first_ctx).unwrap();
    server.set_linger(0).unwrap();
    let mon = server.monitor(Event::HandshakeSucceeded).unwrap();
    server.bind(&ep).unwrap();
    let clients: Vec<(Dealer, Monitor)> = (0..N)
        .map(|_| {
            let c = Dealer::new(&ctx).unwrap();
            c.set_linger(0).unwrap();
            c.set_reconnect_ivl(100).unwrap();
            let m = c.monitor(EventMask::from(Event::ConnectRetried)).unwrap();
            c.connect(&ep).unwrap();
            (c, m)
        })
        .collect();
    handshakes(&mon, N, Duration::from_secs(30));
    // The server goes away.
    drop((mon, server));
    first_ctx.term();
    let mut waits: Vec<u32> = clients
        .iter()
        .map(|(_, m)| m.recv_timeout(SOON).expect("CONNECT_RETRIED after the server went away").value)
        .collect();
    for w in &waits {
        assert!((100..200).contains(w), "a first wait of {w} ms, not in [100, 200)");
    }
    waits.sort_unstable();
    waits.dedup();
    assert!(waits.len() > 1, "all {N} clients announced the same wait {waits:?}");
    // It comes back on the same port: every client reconnects.
    let second_ctx = Context::new();
    let server = Router::new(&second_ctx).unwrap();
    server.set_linger(0).unwrap();
    let mon = server.monitor(Event::HandshakeSucceeded).unwrap();
    eventually(SOON, || server.bind(&ep).ok()).expect("the port can be bound again");
    handshakes(&mon, N, Duration::from_secs(60));
}

#[test]
fn messages_queued_during_an_outage_are_delivered_after_reconnect() {
    let ctx = Context::new();
    let first_ctx = Context::new();
    let ep = free_tcp_endpoint();
    let pull = pull_bound(&first_ctx, &ep);
    let push = push_linger0(&ctx);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    push.send("before").unwrap();
    assert_eq!(pull.recv().unwrap(), "before");
    drop(pull);
    first_ctx.term();
    // Make sure the PUSH has noticed the outage: a raw listener on the port sees its
    // reconnection attempt, which therefore cannot carry queued messages to anyone.
    let listener = eventually(SOON, || TcpListener::bind(tcp_addr(&ep)).ok()).expect("port free again");
    let (mut seen, _) = listener.accept().unwrap();
    seen.set_read_timeout(Some(SOON)).unwrap();
    let mut g = [0u8; 10];
    seen.read_exact(&mut g).unwrap();
    assert_eq!(g[0], 0xFF, "an oxmq greeting from the reconnecting PUSH");
    // Queue during the outage.
    for i in 0..3 {
        push.send(format!("queued-{i}")).unwrap();
    }
    drop(seen);
    drop(listener);
    let pull2 = eventually(SOON, || {
        let p = Pull::new(&ctx).unwrap();
        p.set_rcvtimeo(TIMEO_MS).unwrap();
        p.bind(&ep).ok().map(|()| p)
    })
    .unwrap();
    for i in 0..3 {
        assert_eq!(pull2.recv().unwrap(), format!("queued-{i}").as_str());
    }
}

#[test]
fn reconnect_ivl_minus_one_never_reconnects() {
    // libzmq test_reconnect_ivl: after unbind + rebind, a connecter with RECONNECT_IVL -1 stays
    // disconnected until it connects again explicitly.
    let ctx = Context::new();
    let sb = Pair::new(&ctx).unwrap();
    sb.set_rcvtimeo(TIMEO_MS).unwrap();
    sb.set_sndtimeo(TIMEO_MS).unwrap();
    sb.set_linger(0).unwrap();
    sb.bind("tcp://127.0.0.1:*").unwrap();
    let ep = sb.last_endpoint().unwrap();
    let sc = Pair::new(&ctx).unwrap();
    sc.set_reconnect_ivl(-1).unwrap();
    sc.set_rcvtimeo(TIMEO_MS).unwrap();
    sc.set_sndtimeo(TIMEO_MS).unwrap();
    sc.set_linger(0).unwrap();
    sc.connect(&ep).unwrap();
    sc.send("up").unwrap();
    assert_eq!(sb.recv().unwrap(), "up");
    sb.send("down").unwrap();
    assert_eq!(sc.recv().unwrap(), "down");

    sb.unbind(&ep).unwrap();
    assert!(bounce_fails(&sb, &sc), "after unbind nothing goes through");
    eventually(SOON, || sb.bind(&ep).ok()).expect("rebind the same endpoint");
    assert!(bounce_fails(&sb, &sc), "RECONNECT_IVL -1: no reconnection to the rebound endpoint");

    sc.connect(&ep).unwrap();
    sc.send("again").unwrap();
    assert_eq!(sb.recv().unwrap(), "again", "an explicit new connect works");
    sb.send("back").unwrap();
    assert_eq!(sc.recv().unwrap(), "back");
}

// ================================================================ HANDSHAKE_IVL

#[test]
fn handshake_ivl_drops_a_silent_peer() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_handshake_ivl(200).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let t = Instant::now();
    let mut raw = RawPeer::connect(&ep);
    // oxmq sends its greeting at once; we never send anything.
    raw.read_greeting();
    let rest = raw.expect_closed(Duration::from_millis(1200));
    let took = t.elapsed();
    assert!(rest.is_empty(), "nothing after the greeting: {rest:?}");
    assert!(took >= Duration::from_millis(150), "closed before HANDSHAKE_IVL: {took:?}");
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn handshake_ivl_drops_a_peer_stuck_after_its_greeting() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_handshake_ivl(200).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let t = Instant::now();
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    raw.read_greeting();
    assert_eq!(raw.read_frame().command_name(), Some("READY"));
    // Our READY never comes.
    raw.expect_closed(Duration::from_millis(1200));
    assert!(t.elapsed() >= Duration::from_millis(150), "closed before HANDSHAKE_IVL: {:?}", t.elapsed());
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn handshake_ivl_zero_means_no_limit() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_handshake_ivl(0).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut raw = RawPeer::connect(&ep);
    raw.read_greeting();
    assert!(raw.stays_open_and_silent(Duration::from_millis(300)), "HANDSHAKE_IVL 0: no timeout");
    // The marker: once we send our greeting, oxmq's READY must be the next frame (checked by
    // handshake_after_greeting); before the handshake oxmq has nothing else it could send.
    raw.handshake_after_greeting("PUSH");
    raw.write(&frame(0, b"eventually")).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    assert_eq!(pull.recv().unwrap(), "eventually");
}

#[test]
fn handshake_ivl_does_not_cut_a_completed_connection() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_handshake_ivl(100).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    raw.expect_silent_before_pong(Duration::from_millis(300), "a handshaken peer is kept");
    raw.write(&frame(0, b"late")).unwrap();
    assert_eq!(pull.recv().unwrap(), "late");
}

#[test]
fn handshake_ivl_on_the_connecting_side_drops_a_silent_server() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://{}", listener.local_addr().unwrap());
    let ctx = Context::new();
    let push = push_linger0(&ctx);
    push.set_handshake_ivl(200).unwrap();
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    server.set_read_timeout(Some(Duration::from_millis(1200))).unwrap();
    let t = Instant::now();
    let mut buf = Vec::new();
    // We read oxmq's greeting and never answer: it must give up and close.
    match server.read_to_end(&mut buf) {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
        Err(e) => panic!("oxmq kept a silent server's connection open: {e} after {:?}", t.elapsed()),
    }
    assert_eq!(buf.len(), 64, "just the greeting");
    // ...and then it reconnects.
    listener.set_nonblocking(false).unwrap();
    let again = within(SOON, move || listener.accept().is_ok());
    assert_eq!(again, Some(true), "the connecter tries again after a handshake timeout");
}
