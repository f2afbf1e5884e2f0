//! Socket and context lifecycle, with libzmq's semantics: bind/connect order, IMMEDIATE,
//! reconnection, unbind/disconnect, LINGER, context termination and HANDSHAKE_IVL.

mod common;

use std::io::Read;
use std::net::TcpListener;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use oxmq::{Context, Error, Pair, Pull, Push, Socket, SocketType};

/// A PULL with RCVTIMEO set, bound to `endpoint`.
fn pull_bound(ctx: &Context, endpoint: &str) -> Pull {
    let pull = Pull::new(ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind(endpoint).unwrap();
    pull
}

/// A PUSH with LINGER 0 (so an unsent message never holds up the end of a test).
fn push_linger0(ctx: &Context) -> Push {
    let push = Push::new(ctx).unwrap();
    push.set_linger(0).unwrap();
    push
}

/// Send numbered messages until one arrives at `pull` (each receive waits `step_ms`), for at
/// most `within`. Returns the first message received.
fn send_until_received(push: &Push, pull: &Pull, within: Duration, step_ms: i32) -> Option<String> {
    pull.set_rcvtimeo(step_ms).unwrap();
    let mut i = 0;
    eventually(within, || {
        i += 1;
        let _ = push.try_send(format!("probe-{i}"), false);
        pull.recv().ok().map(|m| String::from_utf8(m.to_vec()).unwrap())
    })
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

fn bounce_fails(a: &Pair, b: &Pair) -> bool {
    let _ = b.try_send("bounce", false);
    a.set_rcvtimeo(150).unwrap();
    let r = a.recv();
    a.set_rcvtimeo(TIMEO_MS).unwrap();
    is_again(&r)
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

// ================================================================ unbind / disconnect

#[test]
fn unbind_closes_the_listener_and_frees_the_port() {
    let ctx = Context::new();
    let pull = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let ep = pull.last_endpoint().unwrap();
    let push = push_linger0(&ctx);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    push.send("one").unwrap();
    assert_eq!(pull.recv().unwrap(), "one");

    pull.unbind(&ep).unwrap();
    // The listener is gone: new connections are refused.
    let refused = eventually(SOON, || std::net::TcpStream::connect(tcp_addr(&ep)).is_err().then_some(()));
    assert!(refused.is_some(), "{ep} still accepts connections after unbind");
    // Another socket (of another context) can bind the port.
    let other_ctx = Context::new();
    let pull2 = eventually(SOON, || {
        let p = Pull::new(&other_ctx).unwrap();
        p.set_rcvtimeo(TIMEO_MS).unwrap();
        p.bind(&ep).ok().map(|()| p)
    })
    .expect("the port can be bound by another socket after unbind");
    // The PUSH reconnects, to the new owner of the port; the unbound PULL gets nothing more.
    let got = send_until_received(&push, &pull2, SOON, 50);
    assert!(got.is_some(), "the PUSH reconnected to the new listener");
    pull.set_rcvtimeo(100).unwrap();
    let late = pull.recv();
    assert!(is_again(&late), "the unbound PULL still received {late:?}");
}

#[test]
fn send_after_unbind_has_no_peer() {
    // libzmq test_send_after_unbind_fails: unbind closes the connections accepted there.
    let ctx = Context::new();
    let push = push_linger0(&ctx);
    push.bind("tcp://127.0.0.1:*").unwrap();
    let ep = push.last_endpoint().unwrap();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.connect(&ep).unwrap();
    push.set_sndtimeo(TIMEO_MS).unwrap();
    push.send("ABC").unwrap();
    assert_eq!(pull.recv().unwrap(), "ABC");
    push.unbind(&ep).unwrap();
    let no_peer = eventually(SOON, || is_again(&push.try_send("ABC", false)).then_some(()));
    assert!(no_peer.is_some(), "the PUSH still has a peer after unbind");
}

#[test]
fn send_after_disconnect_has_no_peer() {
    // libzmq test_send_after_disconnect_fails.
    let ctx = Context::new();
    let pull = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let ep = pull.last_endpoint().unwrap();
    let push = push_linger0(&ctx);
    push.connect(&ep).unwrap();
    push.send("ABC").unwrap();
    assert_eq!(pull.recv().unwrap(), "ABC");
    push.disconnect(&ep).unwrap();
    assert!(is_again(&push.try_send("ABC", false)), "no peer right after disconnect");
}

#[test]
fn unbind_and_disconnect_of_unknown_endpoints() {
    let ctx = Context::new();
    let s = Socket::new(&ctx, SocketType::Pull).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let bound = s.last_endpoint().unwrap();
    let connected = free_tcp_endpoint();
    s.connect(&connected).unwrap();
    let not_found = |r: Result<(), Error>| matches!(r, Err(Error::EndpointNotFound(_)));
    assert!(not_found(s.unbind("tcp://127.0.0.1:1")), "never bound");
    assert!(not_found(s.unbind("inproc://nothing-here")));
    assert!(not_found(s.unbind(&connected)), "unbind of a connected endpoint");
    assert!(not_found(s.disconnect(&bound)), "disconnect of a bound endpoint");
    assert!(not_found(s.disconnect("tcp://127.0.0.1:2")), "never connected");
    s.unbind(&bound).unwrap();
    assert!(not_found(s.unbind(&bound)), "second unbind");
    s.disconnect(&connected).unwrap();
    assert!(not_found(s.disconnect(&connected)), "second disconnect");
}

#[test]
fn unbind_by_last_endpoint_of_wildcard_binds() {
    let ctx = Context::new();
    let s = Pull::new(&ctx).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let tcp = s.last_endpoint().unwrap();
    assert!(!tcp.ends_with(":*") && !tcp.ends_with(":0"), "resolved: {tcp}");
    s.bind("ipc://*").unwrap();
    let ipc = s.last_endpoint().unwrap();
    assert!(ipc.starts_with("ipc://") && ipc != "ipc://*", "resolved: {ipc}");
    let ipc_path = std::path::PathBuf::from(ipc.strip_prefix("ipc://").unwrap());
    assert!(ipc_path.exists(), "the ipc socket file exists while bound");
    s.unbind(&tcp).unwrap();
    s.unbind(&ipc).unwrap();
    assert!(!ipc_path.exists(), "unbind removes the ipc socket file");
    let again = eventually(SOON, || TcpListener::bind(tcp_addr(&tcp)).ok());
    assert!(again.is_some(), "the tcp port is free after unbind");
}

#[test]
fn wildcard_endpoint_string_cannot_unbind() {
    // libzmq test_wildcard_unbind_fails: a wildcard bind is unbound by its resolved endpoint,
    // not by the wildcard string (ENOENT).
    let ctx = Context::new();
    let s = Pull::new(&ctx).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    s.bind("ipc://*").unwrap();
    assert!(matches!(s.unbind("tcp://127.0.0.1:*"), Err(Error::EndpointNotFound(_))));
    assert!(matches!(s.unbind("ipc://*"), Err(Error::EndpointNotFound(_))));
}

fn disconnect_stops_delivery(bind1: &str, bind2: &str) {
    let ctx = Context::new();
    let pull1 = pull_bound(&ctx, bind1);
    let pull2 = pull_bound(&ctx, bind2);
    let (ep1, ep2) = (pull1.last_endpoint().unwrap(), pull2.last_endpoint().unwrap());
    let push = push_linger0(&ctx);
    push.set_sndtimeo(TIMEO_MS).unwrap();
    push.connect(&ep1).unwrap();
    push.connect(&ep2).unwrap();
    // Round-robin: both get one of the first two.
    push.send("r0").unwrap();
    push.send("r1").unwrap();
    assert!(pull1.recv().is_ok() && pull2.recv().is_ok(), "both peers are connected");

    push.disconnect(&ep1).unwrap();
    for i in 0..20 {
        push.send(format!("after-{i}")).unwrap();
    }
    for i in 0..20 {
        match pull2.recv() {
            Ok(m) => assert_eq!(m, format!("after-{i}").as_str()),
            Err(e) => panic!("message after-{i} did not reach the remaining peer: {e}"),
        }
    }
    pull1.set_rcvtimeo(100).unwrap();
    let late = pull1.recv();
    assert!(is_again(&late), "the disconnected peer still received {late:?}");
}

#[test]
fn disconnect_stops_delivery_to_that_peer_tcp() {
    disconnect_stops_delivery("tcp://127.0.0.1:*", "tcp://127.0.0.1:*");
}

#[test]
fn disconnect_stops_delivery_to_that_peer_ipc() {
    disconnect_stops_delivery("ipc://*", "ipc://*");
}

#[test]
fn disconnect_stops_delivery_to_that_peer_inproc() {
    disconnect_stops_delivery(&inproc_endpoint("disc1"), &inproc_endpoint("disc2"));
}

#[test]
fn bind_to_an_endpoint_in_use_is_addr_in_use() {
    let ctx = Context::new();
    let a = Pull::new(&ctx).unwrap();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let ep = a.last_endpoint().unwrap();
    let b = Pull::new(&ctx).unwrap();
    assert!(matches!(b.bind(&ep), Err(Error::AddrInUse(_))), "tcp");
    let name = inproc_endpoint("inuse");
    a.bind(&name).unwrap();
    assert!(matches!(b.bind(&name), Err(Error::AddrInUse(_))), "inproc");
    // A failed bind leaves the socket usable.
    b.bind("tcp://127.0.0.1:*").unwrap();
}

#[test]
fn messages_sent_before_the_peer_closes_are_delivered() {
    let ctx = Context::new();
    let pull = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let ep = pull.last_endpoint().unwrap();
    {
        let mut raw = RawPeer::connect(&ep);
        raw.handshake("PUSH");
        for i in 0..5 {
            raw.write(&frame(0, format!("m{i}").as_bytes())).unwrap();
        }
    } // the peer closes at once
    for i in 0..5 {
        match pull.recv() {
            Ok(m) => assert_eq!(m, format!("m{i}").as_str()),
            Err(e) => panic!("message m{i} sent before the peer closed was lost: {e}"),
        }
    }
}

#[test]
fn inproc_unbind_frees_the_name() {
    let ctx = Context::new();
    let name = inproc_endpoint("unbind");
    let first = pull_bound(&ctx, &name);
    first.unbind(&name).unwrap();
    // A new connect no longer reaches the unbound socket; a new binder gets it.
    let push = push_linger0(&ctx);
    push.connect(&name).unwrap();
    push.send("for the new binder").unwrap();
    let second = pull_bound(&ctx, &name);
    assert_eq!(second.recv().unwrap(), "for the new binder");
    first.set_rcvtimeo(50).unwrap();
    assert!(is_again(&first.recv()));
}

#[test]
fn inproc_unbind_keeps_existing_connections() {
    // libzmq: unbinding an inproc name only forgets the name; established pipes stay.
    let ctx = Context::new();
    let name = inproc_endpoint("keep");
    let pull = pull_bound(&ctx, &name);
    let push = push_linger0(&ctx);
    push.connect(&name).unwrap();
    push.send("before").unwrap();
    pull.unbind(&name).unwrap();
    push.send("after").unwrap();
    assert_eq!(pull.recv().unwrap(), "before");
    assert_eq!(pull.recv().unwrap(), "after");
}

// ================================================================ LINGER

#[test]
fn linger_zero_close_with_queued_messages_returns_promptly() {
    let ep = free_tcp_endpoint();
    let done = within(Duration::from_secs(2), move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.connect(&ep).unwrap();
        for i in 0..5 {
            push.send(format!("m{i}")).unwrap();
        }
        push.set_linger(0).unwrap();
        let t = Instant::now();
        drop(push);
        ctx.term();
        drop(ctx);
        t.elapsed()
    });
    let took = done.expect("close + term with LINGER 0 hung");
    assert!(took < Duration::from_millis(500), "LINGER 0 close + term took {took:?}");
}

#[test]
fn linger_delivers_after_close_when_the_peer_appears_in_time() {
    let ep = free_tcp_endpoint();
    let ep2 = ep.clone();
    let (closed_tx, closed_rx) = mpsc::channel();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.set_reconnect_ivl(20).unwrap();
        push.set_linger(2000).unwrap();
        push.connect(&ep2).unwrap();
        for i in 0..3 {
            push.send(format!("lingering-{i}")).unwrap();
        }
        drop(push);
        closed_tx.send(()).unwrap();
        let t = Instant::now();
        ctx.term();
        t.elapsed()
    });
    closed_rx.recv_timeout(SOON).expect("the sender closed its socket");
    // The peer appears only after the PUSH was closed.
    let ctx = Context::new();
    let pull = pull_bound(&ctx, &ep);
    for i in 0..3 {
        assert_eq!(pull.recv().unwrap(), format!("lingering-{i}").as_str());
    }
    let term_took = sender.join().unwrap();
    assert!(term_took < Duration::from_millis(1900), "term waited for the full LINGER: {term_took:?}");
}

#[test]
fn linger_expiry_bounds_term() {
    let ep = free_tcp_endpoint();
    let took = within(Duration::from_secs(2), move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.set_linger(300).unwrap();
        push.connect(&ep).unwrap();
        push.send("never delivered").unwrap();
        let t = Instant::now();
        drop(push);
        ctx.term();
        t.elapsed()
    })
    .expect("term with LINGER 300 and no peer hung");
    assert!(took >= Duration::from_millis(250), "term returned before LINGER expired: {took:?}");
    assert!(took < Duration::from_millis(1000), "term took {took:?} for LINGER 300");
}

#[test]
fn linger_forever_flushes_everything_before_term_returns() {
    const N: usize = 10_000;
    let rctx = Context::new();
    let pull = pull_bound(&rctx, "tcp://127.0.0.1:*");
    let ep = pull.last_endpoint().unwrap();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        assert_eq!(push.linger().unwrap(), -1, "LINGER defaults to -1");
        push.connect(&ep).unwrap();
        for i in 0..N {
            push.send(format!("{i}")).unwrap();
        }
        drop(push);
        ctx.term();
    });
    let t = Instant::now();
    for i in 0..N {
        match pull.recv() {
            Ok(m) => assert_eq!(m, format!("{i}").as_str()),
            Err(e) => panic!("message {i} of {N} lost: {e}"),
        }
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    sender.join().unwrap();
}

#[test]
fn inproc_messages_survive_the_senders_close() {
    let ctx = Context::new();
    let name = inproc_endpoint("survive");
    let pull = pull_bound(&ctx, &name);
    let push = Push::new(&ctx).unwrap();
    push.connect(&name).unwrap();
    for i in 0..100 {
        push.send(format!("{i}")).unwrap();
    }
    drop(push);
    for i in 0..100 {
        assert_eq!(pull.recv().unwrap(), format!("{i}").as_str());
    }
}

#[test]
fn linger_forever_on_a_bound_push_flushes_accepted_connections() {
    const N: usize = 3000;
    let (ep, path) = ipc_endpoint("linger-bound");
    let rctx = Context::new();
    let (ready_tx, ready_rx) = mpsc::channel();
    let ep2 = ep.clone();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.bind(&ep2).unwrap();
        ready_tx.send(()).unwrap();
        for i in 0..N {
            push.send(format!("{i}")).unwrap();
        }
        drop(push);
        ctx.term();
    });
    ready_rx.recv_timeout(SOON).unwrap();
    let pull = Pull::new(&rctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.connect(&ep).unwrap();
    for i in 0..N {
        match pull.recv() {
            Ok(m) => assert_eq!(m, format!("{i}").as_str()),
            Err(e) => panic!("message {i} of {N} lost: {e}"),
        }
    }
    sender.join().unwrap();
    let _ = std::fs::remove_file(path);
}

#[test]
fn linger_zero_with_a_peer_that_does_not_read_returns_promptly() {
    let rctx = Context::new();
    let pull = Pull::new(&rctx).unwrap();
    pull.set_rcvhwm(1).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    push.set_sndhwm(0).unwrap();
    push.connect(&ep).unwrap();
    push.send("connected").unwrap();
    assert_eq!(pull.recv().unwrap(), "connected");
    let took = within(Duration::from_secs(3), move || {
        // Far more than the peer's queue and the socket buffers hold.
        for _ in 0..40 {
            push.send(vec![0u8; 1 << 20]).unwrap();
        }
        push.set_linger(0).unwrap();
        let t = Instant::now();
        drop(push);
        ctx.term();
        t.elapsed()
    })
    .expect("close + term with LINGER 0 hung on a peer that does not read");
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn disconnect_still_flushes_queued_messages_within_linger() {
    // zmq_disconnect: messages sent but not yet transferred are handled per LINGER, as on close
    // (the default, and here 2 s, keeps them).
    const N: usize = 30;
    let rctx = Context::new();
    let pull = Pull::new(&rctx).unwrap();
    pull.set_rcvhwm(1).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    push.set_linger(2000).unwrap();
    push.set_sndhwm(0).unwrap();
    push.connect(&ep).unwrap();
    push.send("hello").unwrap();
    assert_eq!(pull.recv().unwrap(), "hello");
    for i in 0..N {
        let mut m = vec![i as u8; 1 << 20];
        m[0] = i as u8;
        push.send(m).unwrap();
    }
    // The peer reads nothing yet, so most of these are still queued in oxmq.
    push.disconnect(&ep).unwrap();
    for i in 0..N {
        match pull.recv() {
            Ok(m) => assert_eq!((m.len(), m[0]), (1 << 20, i as u8)),
            Err(e) => panic!("message {i} of {N} queued before disconnect was dropped: {e}"),
        }
    }
}

// ================================================================ term

#[test]
fn term_wakes_a_thread_blocked_in_recv() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.bind(&inproc_endpoint("term")).unwrap();
    let (tid_tx, tid_rx) = mpsc::channel();
    let (res_tx, res_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let receiver = std::thread::spawn(move || {
        tid_tx.send(current_tid()).unwrap();
        let r = pull.recv(); // no RCVTIMEO: blocks until term
        res_tx.send(r).unwrap();
        go_rx.recv().unwrap();
        drop(pull);
    });
    let tid = tid_rx.recv().unwrap();
    assert!(wait_thread_asleep(&tid, SOON), "the receiver never blocked");
    let ctx2 = ctx.clone();
    let (term_tx, term_rx) = mpsc::channel();
    std::thread::spawn(move || {
        ctx2.term();
        term_tx.send(()).unwrap();
    });
    let r = res_rx.recv_timeout(SOON).expect("term did not wake the blocked recv");
    assert!(is_term(&r), "blocked recv ended with {r:?}, not ContextTerminated");
    // The socket is still open: term must still be waiting for it.
    assert!(term_rx.try_recv().is_err(), "term returned while a socket was still open");
    go_tx.send(()).unwrap();
    term_rx.recv_timeout(SOON).expect("term did not return after the last socket closed");
    receiver.join().unwrap();
}

#[test]
fn term_wakes_a_thread_blocked_in_send() {
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap(); // no peer: send blocks
    let (tid_tx, tid_rx) = mpsc::channel();
    let (res_tx, res_rx) = mpsc::channel();
    std::thread::spawn(move || {
        tid_tx.send(current_tid()).unwrap();
        let r = push.send("blocked");
        res_tx.send(r).unwrap();
    });
    let tid = tid_rx.recv().unwrap();
    assert!(wait_thread_asleep(&tid, SOON), "the sender never blocked");
    let done = within(Duration::from_secs(2), move || ctx.term());
    let r = res_rx.recv_timeout(SOON).expect("term did not wake the blocked send");
    assert!(is_term(&r), "blocked send ended with {r:?}");
    assert!(done.is_some(), "term did not return");
}

#[test]
fn every_call_after_term_gives_context_terminated() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    let ep = inproc_endpoint("after-term");
    pull.bind(&ep).unwrap();
    push.connect(&ep).unwrap();
    push.send("queued").unwrap();
    let ctx2 = ctx.clone();
    let (term_tx, term_rx) = mpsc::channel();
    std::thread::spawn(move || {
        ctx2.term();
        term_tx.send(()).unwrap();
    });
    let seen = eventually(SOON, || is_term(&pull.try_recv()).then_some(()));
    assert!(seen.is_some(), "term never took effect");
    // Even with a message waiting, every call reports the termination.
    assert!(is_term(&pull.recv()));
    assert!(is_term(&pull.try_recv()));
    assert!(is_term(&pull.recv_multipart()));
    assert!(is_term(&push.send("x")));
    assert!(is_term(&push.try_send("x", false)));
    assert!(is_term(&push.send_multipart(["a", "b"])));
    assert!(is_term(&pull.bind("tcp://127.0.0.1:*")));
    assert!(is_term(&push.connect("tcp://127.0.0.1:5555")));
    assert!(is_term(&pull.unbind(&ep)));
    assert!(is_term(&push.disconnect(&ep)));
    assert!(is_term(&Pull::new(&ctx).map(drop)));
    drop(pull);
    drop(push);
    term_rx.recv_timeout(SOON).expect("term returned once the sockets were closed");
}

#[test]
fn socket_options_after_term_give_context_terminated() {
    // libzmq's zmq_setsockopt / zmq_getsockopt check for termination first (ETERM).
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let ctx2 = ctx.clone();
    let (term_tx, term_rx) = mpsc::channel();
    std::thread::spawn(move || {
        ctx2.term();
        term_tx.send(()).unwrap();
    });
    assert!(eventually(SOON, || is_term(&pull.try_recv()).then_some(())).is_some());
    assert!(is_term(&pull.set_rcvtimeo(10)), "setsockopt after term");
    assert!(is_term(&pull.rcvtimeo()), "getsockopt after term");
    assert!(is_term(&pull.last_endpoint()), "LAST_ENDPOINT after term");
    drop(pull);
    term_rx.recv_timeout(SOON).unwrap();
}

#[test]
fn new_sockets_after_term_fail() {
    let ctx = Context::new();
    let done = within(Duration::from_secs(1), {
        let ctx = ctx.clone();
        move || ctx.term()
    });
    assert!(done.is_some(), "term of a context without sockets returns at once");
    assert!(matches!(Push::new(&ctx), Err(Error::ContextTerminated)));
    assert!(matches!(ctx.socket(SocketType::Rep), Err(Error::ContextTerminated)));
    assert!(matches!(Socket::new(&ctx, SocketType::Pull), Err(Error::ContextTerminated)));
    ctx.term(); // a second term is harmless
}

/// A listener whose accept queue is full, so that a further connect hangs (tcp: the SYN is
/// dropped and retried for minutes; ipc: connect blocks). Returns the endpoint and what must
/// stay alive.
fn tcp_listener_that_never_accepts() -> (String, socket2::Socket, Vec<std::net::TcpStream>) {
    use socket2::{Domain, Socket as RawSocket, Type};
    let l = RawSocket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    // Fill the accept queue until a connect no longer completes.
    while let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
        fillers.push(s);
        assert!(fillers.len() < 64, "the accept queue never filled");
    }
    (format!("tcp://{addr}"), l, fillers)
}

/// Wait until some socket of this machine is in SYN-SENT towards 127.0.0.1:`port`.
fn wait_syn_sent(port: u16, within: Duration) -> bool {
    let remote = format!("0100007F:{port:04X}");
    eventually(within, || {
        let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
        table
            .lines()
            .skip(1)
            .any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 3 && f[2] == remote && f[3] == "02"
            })
            .then_some(())
    })
    .is_some()
}

#[test]
fn close_and_term_do_not_wait_for_a_hanging_tcp_connect() {
    // Nothing was sent, so nothing lingers: close + term must not wait for a connect that the
    // kernel keeps retrying (libzmq returns at once).
    let (ep, _listener, _fillers) = tcp_listener_that_never_accepts();
    let took = within(Duration::from_secs(2), move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.connect(&ep).unwrap();
        let port: u16 = ep.rsplit(':').next().unwrap().parse().unwrap();
        assert!(wait_syn_sent(port, SOON), "oxmq's connect never started");
        let t = Instant::now();
        drop(push);
        ctx.term();
        t.elapsed()
    });
    let took = took.expect("term hung on a socket that only had a connect in progress");
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn a_hanging_ipc_connect_does_not_stall_the_context() {
    // A Unix listener with a full backlog: a blocking connect to it blocks. Other sockets of
    // the same context (one I/O thread) must keep working.
    use socket2::{Domain, SockAddr, Socket as RawSocket, Type};
    let (ep, path) = ipc_endpoint("full-backlog");
    let l = RawSocket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    l.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    l.listen(0).unwrap();
    let mut fillers = Vec::new();
    loop {
        let c = RawSocket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        c.set_nonblocking(true).unwrap();
        if c.connect(&SockAddr::unix(&path).unwrap()).is_err() {
            break; // EAGAIN: the backlog is full
        }
        fillers.push(c);
        assert!(fillers.len() < 64, "the backlog never filled");
    }
    let ok = within(Duration::from_secs(2), move || {
        let ctx = Context::new();
        let stuck = Push::new(&ctx).unwrap();
        stuck.set_linger(0).unwrap();
        stuck.connect(&ep).unwrap();
        let pull = pull_bound(&ctx, "tcp://127.0.0.1:*");
        let push = push_linger0(&ctx);
        push.connect(&pull.last_endpoint().unwrap()).unwrap();
        push.send("unaffected").unwrap();
        pull.recv().map(|m| m == "unaffected")
    });
    let _ = std::fs::remove_file(&path);
    drop((l, fillers));
    match ok {
        Some(Ok(true)) => {}
        Some(other) => panic!("tcp traffic in the same context failed: {other:?}"),
        None => panic!("the context stalled behind a blocking ipc connect"),
    }
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
    assert!(raw.stays_open_and_silent(Duration::from_millis(300)), "a handshaken peer is kept");
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

#[test]
fn closing_an_ipc_wildcard_bind_removes_its_file_and_directory() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.bind("ipc://*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let file = std::path::PathBuf::from(ep.strip_prefix("ipc://").unwrap());
    let dir = file.parent().unwrap().to_path_buf();
    assert!(file.exists(), "{file:?} exists while bound");
    pull.unbind(&ep).unwrap();
    assert!(!file.exists(), "{file:?} removed on unbind");
    assert!(!dir.exists(), "{dir:?} removed on unbind");
}

#[test]
fn closing_an_ipc_listener_leaves_a_file_another_socket_bound_since() {
    let ctx = Context::new();
    let (ep, path) = ipc_endpoint("rebound");
    let first = Pull::new(&ctx).unwrap();
    first.bind(&ep).unwrap();
    // A second socket takes the path over (as libzmq, binding replaces a file left there).
    let second = Pull::new(&ctx).unwrap();
    second.bind(&ep).unwrap();
    drop(first);
    assert!(path.exists(), "the first socket's close must not remove the second one's file");
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    push.connect(&ep).unwrap();
    push.send("to the second").unwrap();
    second.set_rcvtimeo(5000).unwrap();
    assert_eq!(second.recv().unwrap(), "to the second");
    drop(second);
    assert!(!path.exists(), "the second socket's close removes its own file");
}
