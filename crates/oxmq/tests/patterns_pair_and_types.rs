//! PAIR, as libzmq defines it (zmq_socket(3), tests/test_spec_pair): both ways, one peer at a
//! time, a new peer once the first has left; and the socket types themselves: typed sockets and
//! their calls, dynamic sockets, incompatible types that must not talk. Over inproc, tcp and
//! ipc.

mod common;

use std::time::Duration;

use common::{QUIET_MS, TRANSPORTS, Transport, bind, expect_msg, expect_nothing, socket, unique_name};
use oxmq::{Context, Error, SocketType};

use SocketType::{Dealer, Pair, Pull, Push, Rep, Req, Router};

// ---------------------------------------------------------------------------------------------
// PAIR
// ---------------------------------------------------------------------------------------------

#[test]
fn pair_talks_both_ways() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let a = socket(&ctx, Pair);
        let ep = bind(&a, tr);
        let b = socket(&ctx, Pair);
        b.connect(&ep).unwrap();
        b.send("ping").unwrap();
        expect_msg(&a, &["ping"]);
        a.send_multipart(["po", "ng"]).unwrap();
        expect_msg(&b, &["po", "ng"]);
    }
}

#[test]
fn pair_accepts_only_one_peer() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let a = socket(&ctx, Pair);
        let ep = bind(&a, tr);
        let first = socket(&ctx, Pair);
        first.connect(&ep).unwrap();
        first.send("from first").unwrap();
        expect_msg(&a, &["from first"]);

        let second = socket(&ctx, Pair);
        second.connect(&ep).unwrap();
        // It may queue or block; either way nothing of it reaches `a`.
        let _ = second.try_send("from second", false);

        for i in 0..3 {
            a.send(format!("to first {i}")).unwrap();
        }
        for i in 0..3 {
            expect_msg(&first, &[format!("to first {i}")]);
        }
        first.send("first again").unwrap();
        expect_msg(&a, &["first again"]);
        // No marker: a wrongly accepted second peer would talk on its own connection, which
        // nothing first sends is ordered after, and `second` has no peer to send it one.
        expect_nothing(&second, QUIET_MS);
        expect_nothing(&a, QUIET_MS);
    }
}

#[test]
fn pair_without_peer_would_block() {
    let ctx = Context::new();
    let a = socket(&ctx, Pair);
    bind(&a, Transport::Inproc);
    assert!(matches!(a.try_send("x", false), Err(Error::Again)));
    assert!(matches!(a.try_recv(), Err(Error::Again)));
}

fn pair_accepts_a_new_peer_once_the_first_has_left(tr: Transport) {
    let ctx = Context::new();
    let a = socket(&ctx, Pair);
    let ep = bind(&a, tr);
    let first = socket(&ctx, Pair);
    first.connect(&ep).unwrap();
    first.send("first").unwrap();
    expect_msg(&a, &["first"]);
    drop(first);
    let second = socket(&ctx, Pair);
    second.connect(&ep).unwrap();
    // The second peer is let in once the first one's departure is noticed.
    let reached = common::eventually(Duration::from_secs(3), || {
        let _ = second.try_send("second", false);
        a.try_recv().ok()
    });
    assert_eq!(reached.as_deref(), Some(&b"second"[..]), "{tr:?}: the new peer never got through");
    a.send("to second").unwrap();
    expect_msg(&second, &["to second"]);
}

#[test]
fn pair_accepts_a_new_peer_once_the_first_has_left_inproc() {
    pair_accepts_a_new_peer_once_the_first_has_left(Transport::Inproc);
}

#[test]
fn pair_accepts_a_new_peer_once_the_first_has_left_tcp() {
    pair_accepts_a_new_peer_once_the_first_has_left(Transport::Tcp);
}

#[test]
fn pair_accepts_a_new_peer_once_the_first_has_left_ipc() {
    pair_accepts_a_new_peer_once_the_first_has_left(Transport::Ipc);
}

// ---------------------------------------------------------------------------------------------
// Typed and dynamic sockets
// ---------------------------------------------------------------------------------------------

#[test]
fn typed_sockets_work_and_become_dynamic() {
    let ctx = Context::new();
    let pull = oxmq::Pull::new(&ctx).unwrap();
    pull.set_rcvtimeo(2000).unwrap();
    let ep = bind(&pull, Transport::Inproc);
    let push = oxmq::Push::new(&ctx).unwrap();
    push.connect(&ep).unwrap();
    push.send("typed").unwrap();
    assert_eq!(pull.recv().unwrap(), "typed");
    assert!(!pull.rcvmore());
    assert_eq!(push.socket_type(), Push);

    let push = push.into_dynamic();
    let pull = pull.into_dynamic();
    assert_eq!(push.socket_type(), Push);
    assert!(matches!(push.recv(), Err(Error::NotSupported(_))));
    assert!(matches!(push.try_recv(), Err(Error::NotSupported(_))));
    assert!(matches!(push.recv_multipart(), Err(Error::NotSupported(_))));
    assert!(matches!(pull.send("x"), Err(Error::NotSupported(_))));
    assert!(matches!(pull.try_send("x", false), Err(Error::NotSupported(_))));
    assert!(matches!(pull.send_multipart(["a", "b"]), Err(Error::NotSupported(_))));
    // The connection survived the conversion.
    push.send("dynamic").unwrap();
    expect_msg(&pull, &["dynamic"]);
}

#[test]
fn every_typed_socket_has_its_calls() {
    let ctx = Context::new();
    let ep = format!("inproc://{}", unique_name("typed"));
    let rep = oxmq::Rep::new(&ctx).unwrap();
    rep.bind(&ep).unwrap();
    let req = oxmq::Req::new(&ctx).unwrap();
    req.connect(&ep).unwrap();
    req.send_multipart(["a", "b"]).unwrap();
    assert_eq!(rep.recv_multipart().unwrap(), vec!["a", "b"]);
    rep.send("c").unwrap();
    assert_eq!(req.recv().unwrap(), "c");

    let ep = format!("inproc://{}", unique_name("typed"));
    let router = oxmq::Router::new(&ctx).unwrap();
    router.bind(&ep).unwrap();
    let dealer = oxmq::Dealer::new(&ctx).unwrap();
    dealer.set_routing_id(b"d").unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send("x").unwrap();
    assert_eq!(router.recv_multipart().unwrap(), vec!["d", "x"]);
    router.send_more("d").unwrap();
    router.send("y").unwrap();
    assert_eq!(dealer.recv().unwrap(), "y");

    let ep = format!("inproc://{}", unique_name("typed"));
    let p1 = oxmq::Pair::new(&ctx).unwrap();
    p1.bind(&ep).unwrap();
    let p2 = oxmq::Pair::new(&ctx).unwrap();
    p2.connect(&ep).unwrap();
    p2.try_send("z", false).unwrap();
    assert_eq!(p1.recv().unwrap(), "z");
    assert_eq!(p1.into_dynamic().socket_type(), Pair);
}

#[test]
fn dynamic_sockets_report_their_type() {
    let ctx = Context::new();
    for t in [Pair, Req, Rep, Dealer, Router, Pull, Push] {
        assert_eq!(ctx.socket(t).unwrap().socket_type(), t);
        assert_eq!(oxmq::Socket::new(&ctx, t).unwrap().socket_type(), t);
    }
}

#[test]
fn incompatible_socket_types_do_not_talk() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let ep = bind(&pull, Transport::Inproc);
    let req = socket(&ctx, Req);
    assert!(matches!(req.connect(&ep), Err(Error::IncompatibleProtocol(_))));

    // Over tcp the handshake refuses the peer: nothing is delivered.
    let ep = bind(&pull, Transport::Tcp);
    let pair = socket(&ctx, Pair);
    pair.connect(&ep).unwrap();
    let _ = pair.try_send("wrong type", false);
    // No marker: the refused peer has no pipe a marker could follow.
    expect_nothing(&pull, QUIET_MS);
}
