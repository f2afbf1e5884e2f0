//! DEALER and ROUTER, as libzmq defines them (zmq_socket(3), tests/test_spec_router,
//! test_spec_dealer, test_router_mandatory, test_probe_router, test_connect_rid): routing ids
//! (given, generated, CONNECT_ROUTING_ID, taken again once free), ROUTER_MANDATORY, PROBE_ROUTER,
//! unknown and full peers, ROUTER to ROUTER. Over inproc, tcp and ipc.

mod common;

use std::collections::BTreeSet;
use std::time::Duration;

use common::{
    QUIET_MS, TRANSPORTS, Transport, bind, count_until_full, drain, expect_msg, expect_nothing, expect_nothing_before,
    recv_msg, send_when_routable, show, socket,
};
use oxmq::{Bytes, Context, Error, SocketType};

use SocketType::{Dealer, Router};

// ---------------------------------------------------------------------------------------------
// DEALER / ROUTER
// ---------------------------------------------------------------------------------------------

#[test]
fn router_prefixes_messages_with_the_dealers_routing_id() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        let ep = bind(&router, tr);
        let dealer = socket(&ctx, Dealer);
        dealer.set_routing_id(b"D1").unwrap();
        dealer.connect(&ep).unwrap();
        dealer.send_multipart(["a", "", "b"]).unwrap();
        expect_msg(&router, &["D1", "a", "", "b"]);
        assert!(!router.rcvmore());
    }
}

#[test]
fn router_generates_five_byte_ids_starting_with_zero() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        let ep = bind(&router, tr);
        let dealers: Vec<_> = (0..3).map(|_| socket(&ctx, Dealer)).collect();
        let mut ids = BTreeSet::new();
        for (k, d) in dealers.iter().enumerate() {
            d.connect(&ep).unwrap();
            d.send(format!("{k}")).unwrap();
            let m = recv_msg(&router);
            assert_eq!(m.len(), 2);
            assert_eq!(m[1], format!("{k}"));
            assert_eq!(m[0].len(), 5, "{tr:?}: generated id {:?}", m[0]);
            assert_eq!(m[0][0], 0, "{tr:?}: generated id {:?}", m[0]);
            ids.insert(m[0].clone());
            // The generated id routes back to that dealer.
            router.send_multipart([m[0].clone(), Bytes::from(format!("back to {k}"))]).unwrap();
            expect_msg(d, &[format!("back to {k}")]);
        }
        assert_eq!(ids.len(), 3, "{tr:?}: ids must differ");
    }
}

#[test]
fn router_replies_reach_the_right_dealer_among_several() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        let ep = bind(&router, tr);
        let dealers: Vec<_> = (0..3).map(|_| socket(&ctx, Dealer)).collect();
        for (k, d) in dealers.iter().enumerate() {
            d.set_routing_id(format!("dealer-{k}").as_bytes()).unwrap();
            d.connect(&ep).unwrap();
            d.send("hi").unwrap();
        }
        let mut seen = BTreeSet::new();
        for _ in 0..3 {
            let m = show(&recv_msg(&router));
            assert_eq!(m[1], "hi");
            seen.insert(m[0].clone());
        }
        assert_eq!(seen.len(), 3);
        for k in (0..3).rev() {
            router.send_multipart([format!("dealer-{k}"), format!("for {k}")]).unwrap();
        }
        for (k, d) in dealers.iter().enumerate() {
            expect_msg(d, &[format!("for {k}")]);
            expect_nothing(d, 20);
            router.send_multipart([format!("dealer-{k}"), "marker".to_string()]).unwrap();
            expect_msg(d, &["marker"]);
        }
    }
}

#[test]
fn router_refuses_a_second_peer_with_the_same_routing_id() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        let ep = bind(&router, tr);
        let first = socket(&ctx, Dealer);
        first.set_routing_id(b"same").unwrap();
        first.connect(&ep).unwrap();
        first.send("first").unwrap();
        expect_msg(&router, &["same", "first"]);
        let second = socket(&ctx, Dealer);
        second.set_routing_id(b"same").unwrap();
        second.connect(&ep).unwrap();
        let _ = second.try_send("second", false);
        router.send_multipart(["same", "to first"]).unwrap();
        expect_msg(&first, &["to first"]);
        first.send("first again").unwrap();
        expect_msg(&router, &["same", "first again"]);
        // No marker: a wrongly accepted "second" would come on second's own connection, which
        // nothing sent on first's is ordered after, and second has no peer to send it one.
        expect_nothing(&router, QUIET_MS);
        expect_nothing(&second, 20);
    }
}

fn router_accepts_a_routing_id_again_once_its_peer_has_left(tr: Transport) {
    let ctx = Context::new();
    let (router, dealer) = router_with_known_dealer(&ctx, tr);
    drop(dealer);
    let again = socket(&ctx, Dealer);
    again.set_routing_id(b"known").unwrap();
    again.connect(&router.last_endpoint().unwrap()).unwrap();
    again.send("back").unwrap();
    let m = common::eventually(Duration::from_secs(3), || {
        let m = router.try_recv().ok()?;
        let rest = std::iter::from_fn(|| router.rcvmore().then(|| router.recv().unwrap()));
        Some(std::iter::once(m).chain(rest).collect::<Vec<_>>())
    });
    assert_eq!(m.as_deref().map(show), Some(vec!["known".to_string(), "back".to_string()]), "{tr:?}");
}

#[test]
fn router_accepts_a_routing_id_again_once_its_peer_has_left_inproc() {
    router_accepts_a_routing_id_again_once_its_peer_has_left(Transport::Inproc);
}

#[test]
fn router_accepts_a_routing_id_again_once_its_peer_has_left_tcp() {
    router_accepts_a_routing_id_again_once_its_peer_has_left(Transport::Tcp);
}

#[test]
fn router_accepts_a_routing_id_again_once_its_peer_has_left_ipc() {
    router_accepts_a_routing_id_again_once_its_peer_has_left(Transport::Ipc);
}

#[test]
fn router_ignores_a_lone_routing_id_frame() {
    let ctx = Context::new();
    let (router, dealer) = router_with_known_dealer(&ctx, Transport::Inproc);
    router.set_router_mandatory(true).unwrap();
    // libzmq drops a single-frame message on a ROUTER: there is nothing to route.
    router.send("known").unwrap();
    router.send("unknown").unwrap();
    router.send_multipart(["known", "real"]).unwrap();
    expect_msg(&dealer, &["real"]);
    expect_nothing_before(&dealer, || router.send_multipart(["known", "marker"]).unwrap(), &["marker"]);
}

/// A ROUTER with one DEALER ("known") it has heard from.
fn router_with_known_dealer(ctx: &Context, tr: Transport) -> (oxmq::Socket, oxmq::Socket) {
    let router = socket(ctx, Router);
    let ep = bind(&router, tr);
    let dealer = socket(ctx, Dealer);
    dealer.set_routing_id(b"known").unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send("hello").unwrap();
    expect_msg(&router, &["known", "hello"]);
    (router, dealer)
}

#[test]
fn router_silently_drops_messages_to_unknown_ids() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (router, dealer) = router_with_known_dealer(&ctx, tr);
        router.send_multipart(["unknown", "lost"]).unwrap();
        router.send_multipart(["unknown", "a", "b", "c"]).unwrap();
        router.send_multipart(["known", "delivered"]).unwrap();
        expect_msg(&dealer, &["delivered"]);
        expect_nothing_before(&dealer, || router.send_multipart(["known", "marker"]).unwrap(), &["marker"]);
    }
}

#[test]
fn router_drops_messages_to_a_full_peer_without_blocking() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.set_sndhwm(1).unwrap();
    let ep = bind(&router, Transport::Inproc);
    let dealer = socket(&ctx, Dealer);
    dealer.set_rcvhwm(1).unwrap();
    dealer.set_routing_id(b"D").unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send("hi").unwrap();
    expect_msg(&router, &["D", "hi"]);
    for i in 0..5 {
        router.try_send("D", true).unwrap();
        router.try_send(format!("{i}"), false).unwrap();
    }
    expect_msg(&dealer, &["0"]);
    expect_msg(&dealer, &["1"]);
    // Room again: a marker must come next, so 2..4 were dropped, not kept.
    expect_nothing_before(&dealer, || router.send_multipart(["D", "marker"]).unwrap(), &["marker"]);
}

#[test]
fn router_mandatory_refuses_unknown_ids_with_host_unreachable() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (router, dealer) = router_with_known_dealer(&ctx, tr);
        router.set_router_mandatory(true).unwrap();
        assert!(matches!(router.send_more("unknown"), Err(Error::HostUnreachable)), "{tr:?}");
        assert!(matches!(router.try_send("unknown", true), Err(Error::HostUnreachable)), "{tr:?}");
        assert!(matches!(router.send_multipart(["unknown", "x"]), Err(Error::HostUnreachable)), "{tr:?}");
        // The refused message left nothing behind: the next one starts with a routing id.
        router.send_multipart(["known", "ok"]).unwrap();
        expect_msg(&dealer, &["ok"]);
        expect_nothing_before(&dealer, || router.send_multipart(["known", "marker"]).unwrap(), &["marker"]);
    }
}

#[test]
fn router_mandatory_reports_a_full_peer_as_would_block() {
    // test_router_mandatory_hwm over inproc: ROUTER SNDHWM 1 + DEALER RCVHWM 1.
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.set_router_mandatory(true).unwrap();
    router.set_sndhwm(1).unwrap();
    let ep = bind(&router, Transport::Inproc);
    let dealer = socket(&ctx, Dealer);
    dealer.set_rcvhwm(1).unwrap();
    dealer.set_routing_id(b"D").unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send("hi").unwrap();
    expect_msg(&router, &["D", "hi"]);
    let sent = count_until_full(100, || {
        router.try_send("D", true)?;
        router.try_send("payload", false)
    });
    assert_eq!(sent, 2);
    router.set_sndtimeo(50).unwrap();
    assert!(matches!(router.send_more("D"), Err(Error::Again)));
    assert_eq!(drain(&dealer), 2);
    router.send_multipart(["D", "after"]).unwrap();
    expect_msg(&dealer, &["after"]);
}

fn router_mandatory_reports_a_peer_that_left_as_unreachable(tr: Transport) {
    let ctx = Context::new();
    let (router, dealer) = router_with_known_dealer(&ctx, tr);
    router.set_router_mandatory(true).unwrap();
    router.send_multipart(["known", "still there"]).unwrap();
    expect_msg(&dealer, &["still there"]);
    drop(dealer);
    // A send to a peer that is gone must not block (libzmq: EHOSTUNREACH, not EAGAIN);
    // the timeout only keeps a failure from hanging the test.
    router.set_sndtimeo(100).unwrap();
    let gone = common::eventually(Duration::from_secs(3), || match router.send_multipart(["known", "x"]) {
        Err(Error::HostUnreachable) => Some(()),
        Ok(()) | Err(Error::Again) => None,
        Err(e) => panic!("{tr:?}: {e:?}"),
    });
    assert!(gone.is_some(), "{tr:?}: the departed peer stayed routable");
}

#[test]
fn router_mandatory_reports_a_peer_that_left_as_unreachable_inproc() {
    router_mandatory_reports_a_peer_that_left_as_unreachable(Transport::Inproc);
}

#[test]
fn router_mandatory_reports_a_peer_that_left_as_unreachable_tcp() {
    router_mandatory_reports_a_peer_that_left_as_unreachable(Transport::Tcp);
}

#[test]
fn router_mandatory_reports_a_peer_that_left_as_unreachable_ipc() {
    router_mandatory_reports_a_peer_that_left_as_unreachable(Transport::Ipc);
}

#[test]
fn probe_router_announces_the_dealer_with_an_empty_message() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        let ep = bind(&router, tr);
        let dealer = socket(&ctx, Dealer);
        dealer.set_routing_id(b"X").unwrap();
        dealer.set_probe_router(true).unwrap();
        dealer.connect(&ep).unwrap();
        expect_msg(&router, &["X", ""]);
        router.send_multipart(["X", "Hello"]).unwrap();
        expect_msg(&dealer, &["Hello"]);
        // The probe is for the ROUTER only: the DEALER itself receives nothing more.
        expect_nothing_before(&dealer, || router.send_multipart(["X", "marker"]).unwrap(), &["marker"]);
    }
}

#[test]
fn probe_router_from_a_dealer_without_routing_id_gives_its_generated_id() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    let ep = bind(&router, Transport::Tcp);
    let dealer = socket(&ctx, Dealer);
    dealer.set_probe_router(true).unwrap();
    dealer.connect(&ep).unwrap();
    let m = recv_msg(&router);
    assert_eq!(m.len(), 2);
    assert_eq!((m[0].len(), m[0][0]), (5, 0));
    assert!(m[1].is_empty());
    router.send_multipart([m[0].clone(), Bytes::from_static(b"found you")]).unwrap();
    expect_msg(&dealer, &["found you"]);
}

fn router_with_probe_router_announces_itself_to_the_router_it_connects_to(tr: Transport) {
    // test_probe_router: the probing client is itself a ROUTER.
    let ctx = Context::new();
    let server = socket(&ctx, Router);
    let ep = bind(&server, tr);
    let client = socket(&ctx, Router);
    client.set_routing_id(b"X").unwrap();
    client.set_probe_router(true).unwrap();
    client.connect(&ep).unwrap();
    expect_msg(&server, &["X", ""]);
    server.send_multipart(["X", "Hello"]).unwrap();
    let m = recv_msg(&client);
    assert_eq!(m.len(), 2, "{tr:?}");
    assert_eq!((m[0].len(), m[0][0]), (5, 0), "{tr:?}: the server's generated id");
    assert_eq!(m[1], "Hello");
}

#[test]
fn router_with_probe_router_announces_itself_to_the_router_it_connects_to_inproc() {
    router_with_probe_router_announces_itself_to_the_router_it_connects_to(Transport::Inproc);
}

#[test]
fn router_with_probe_router_announces_itself_to_the_router_it_connects_to_tcp() {
    router_with_probe_router_announces_itself_to_the_router_it_connects_to(Transport::Tcp);
}

#[test]
fn router_with_probe_router_announces_itself_to_the_router_it_connects_to_ipc() {
    router_with_probe_router_announces_itself_to_the_router_it_connects_to(Transport::Ipc);
}

#[test]
fn connect_routing_id_names_the_peer_of_a_connecting_router() {
    // test_connect_rid's router-to-router case, anonymous and named.
    for tr in TRANSPORTS {
        for named in [false, true] {
            let ctx = Context::new();
            let bound = socket(&ctx, Router);
            let connecting = socket(&ctx, Router);
            if named {
                bound.set_routing_id(b"X").unwrap();
                connecting.set_routing_id(b"Y").unwrap();
            }
            let ep = bind(&bound, tr);
            connecting.set_router_mandatory(true).unwrap();
            connecting.set_connect_routing_id(b"conn1").unwrap();
            connecting.connect(&ep).unwrap();
            send_when_routable(&connecting, &["conn1", "hi 1"]);
            let m = recv_msg(&bound);
            assert_eq!(m.len(), 2, "{tr:?}");
            if named {
                assert_eq!(m[0], "Y", "{tr:?}");
            } else {
                assert_eq!((m[0].len(), m[0][0]), (5, 0), "{tr:?}: {:?}", m[0]);
            }
            assert_eq!(m[1], "hi 1");
            bound.send_multipart([m[0].clone(), Bytes::from_static(b"ok")]).unwrap();
            expect_msg(&connecting, &["conn1", "ok"]);
        }
    }
}

#[test]
fn connect_routing_id_applies_to_the_next_connect_only() {
    let ctx = Context::new();
    let a = socket(&ctx, Router);
    let b = socket(&ctx, Router);
    b.set_routing_id(b"B").unwrap();
    let (ep_a, ep_b) = (bind(&a, Transport::Tcp), bind(&b, Transport::Tcp));
    let c = socket(&ctx, Router);
    c.set_routing_id(b"C").unwrap();
    c.set_router_mandatory(true).unwrap();
    c.set_connect_routing_id(b"first").unwrap();
    c.connect(&ep_a).unwrap();
    c.connect(&ep_b).unwrap();
    send_when_routable(&c, &["first", "to a"]);
    send_when_routable(&c, &["B", "to b"]);
    expect_msg(&a, &["C", "to a"]);
    expect_msg(&b, &["C", "to b"]);
}

#[test]
fn router_to_router_both_ways() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let server = socket(&ctx, Router);
        server.set_routing_id(b"server").unwrap();
        server.set_router_mandatory(true).unwrap();
        let ep = bind(&server, tr);
        let client = socket(&ctx, Router);
        client.set_routing_id(b"client").unwrap();
        client.set_router_mandatory(true).unwrap();
        client.connect(&ep).unwrap();
        // The connecting side learns the bound side's id from the handshake, and vice versa:
        // either may speak first.
        send_when_routable(&server, &["client", "from server"]);
        send_when_routable(&client, &["server", "from client"]);
        expect_msg(&client, &["server", "from server"]);
        expect_msg(&server, &["client", "from client"]);
    }
}

#[test]
fn dealer_to_dealer_and_router_multipart_roundtrip() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let a = socket(&ctx, Dealer);
        let ep = bind(&a, tr);
        let b = socket(&ctx, Dealer);
        b.connect(&ep).unwrap();
        b.send_multipart(["x", "", "y"]).unwrap();
        expect_msg(&a, &["x", "", "y"]);
        a.send_multipart(["", "z"]).unwrap();
        expect_msg(&b, &["", "z"]);
    }
}
