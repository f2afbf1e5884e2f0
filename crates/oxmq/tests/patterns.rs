//! The messaging patterns, as libzmq defines them (zmq_socket(3) and the tests/test_spec_*,
//! test_req_*, test_router_*, test_probe_router, test_connect_rid and test_hwm tests), over
//! inproc, tcp and ipc.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{
    QUIET_MS, TRANSPORTS, Transport, bind, count_until_full, drain, expect_msg, expect_nothing, recv_msg,
    send_when_routable, show, socket, unique_name,
};
use oxmq::{Bytes, Context, Error, SocketType};

use SocketType::{Dealer, Pair, Pull, Push, Rep, Req, Router};

// ---------------------------------------------------------------------------------------------
// PUSH / PULL
// ---------------------------------------------------------------------------------------------

#[test]
fn push_round_robins_over_pulls_each_getting_its_share_in_order() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let pulls: Vec<_> = (0..3).map(|_| socket(&ctx, Pull)).collect();
        let push = socket(&ctx, Push);
        for p in &pulls {
            push.connect(&bind(p, tr)).unwrap();
        }
        for i in 0..9 {
            push.send(format!("m{i}")).unwrap();
        }
        for (k, p) in pulls.iter().enumerate() {
            for round in 0..3 {
                expect_msg(p, &[format!("m{}", k + 3 * round)]);
            }
        }
    }
}

#[test]
fn bound_push_round_robins_over_connected_inproc_pulls() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    let ep = bind(&push, Transport::Inproc);
    let pulls: Vec<_> = (0..3).map(|_| socket(&ctx, Pull)).collect();
    for p in &pulls {
        p.connect(&ep).unwrap();
    }
    for word in ["ABC", "DEF"] {
        for k in 0..3 {
            push.send(format!("{word}{k}")).unwrap();
        }
    }
    for (k, p) in pulls.iter().enumerate() {
        expect_msg(p, &[format!("ABC{k}")]);
        expect_msg(p, &[format!("DEF{k}")]);
    }
}

#[test]
fn pull_fair_queues_one_message_from_each_push_in_turn() {
    // test_spec_pushpull's order: with every message queued, a PULL takes one from each peer
    // before it takes a second from any.
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let ep = bind(&pull, Transport::Inproc);
    let pushes: Vec<_> = (0..3).map(|_| socket(&ctx, Push)).collect();
    for p in &pushes {
        p.connect(&ep).unwrap();
    }
    for (k, p) in pushes.iter().enumerate() {
        p.send(format!("first-{k}")).unwrap();
        p.send(format!("second-{k}")).unwrap();
    }
    let take3 = || (0..3).map(|_| show(&recv_msg(&pull)).concat()).collect::<BTreeSet<_>>();
    let want = |half: &str| (0..3).map(|k| format!("{half}-{k}")).collect::<BTreeSet<_>>();
    assert_eq!(take3(), want("first"));
    assert_eq!(take3(), want("second"));
    expect_nothing(&pull, QUIET_MS);
}

#[test]
fn pull_receives_every_message_of_several_pushes_in_per_peer_order() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        let ep = bind(&pull, tr);
        let pushes: Vec<_> = (0..3).map(|_| socket(&ctx, Push)).collect();
        for p in &pushes {
            p.connect(&ep).unwrap();
        }
        for i in 0..20 {
            for (k, p) in pushes.iter().enumerate() {
                p.send(format!("{k}:{i}")).unwrap();
            }
        }
        let mut next = [0; 3];
        for _ in 0..60 {
            let m = show(&recv_msg(&pull)).concat();
            let (k, i) = m.split_once(':').unwrap();
            let (k, i): (usize, usize) = (k.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[k], "{tr:?}: peer {k}'s messages out of order");
            next[k] += 1;
        }
        assert_eq!(next, [20; 3]);
    }
}

#[test]
fn push_without_peers_would_block() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    assert!(matches!(push.try_send("x", false), Err(Error::Again)));
    push.set_sndtimeo(0).unwrap();
    assert!(matches!(push.send("x"), Err(Error::Again)));
    push.set_sndtimeo(50).unwrap();
    let start = Instant::now();
    assert!(matches!(push.send("x"), Err(Error::Again)));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(45), "SNDTIMEO 50 returned after {took:?}");
    assert!(took < Duration::from_millis(1000), "SNDTIMEO 50 returned after {took:?}");
}

/// Fill an inproc PUSH->PULL pipe; returns how many messages it took.
fn fill(push: &oxmq::Socket) -> usize {
    count_until_full(100_000, || push.try_send(Bytes::new(), false))
}

#[test]
fn inproc_hwm_is_sndhwm_plus_rcvhwm_when_pull_binds_first() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(7).unwrap();
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.set_sndhwm(5).unwrap();
    push.connect(&ep).unwrap();
    assert_eq!(fill(&push), 12);
    push.set_sndtimeo(50).unwrap();
    assert!(matches!(push.send("x"), Err(Error::Again)), "a full PUSH blocks until SNDTIMEO");
    // Once the PULL has read everything, the pipe takes as many again.
    assert_eq!(drain(&pull), 12);
    assert_eq!(fill(&push), 12);
    assert_eq!(drain(&pull), 12);
}

#[test]
fn inproc_hwm_is_sndhwm_plus_rcvhwm_when_push_binds_first() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.set_sndhwm(5).unwrap();
    let ep = bind(&push, Transport::Inproc);
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(7).unwrap();
    pull.connect(&ep).unwrap();
    assert_eq!(fill(&push), 12);
    assert_eq!(drain(&pull), 12);
    assert_eq!(fill(&push), 12);
}

#[test]
fn inproc_hwm_defaults_to_2000() {
    // test_hwm's test_defaults: 1000 + 1000.
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.connect(&ep).unwrap();
    assert_eq!(fill(&push), 2000);
    assert_eq!(drain(&pull), 2000);
}

#[test]
fn inproc_hwm_zero_means_no_limit() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(0).unwrap();
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect(&ep).unwrap();
    assert_eq!(count_until_full(10_000, || push.try_send("x", false)), 10_000);
}

#[test]
fn inproc_hwm_is_sndhwm_plus_rcvhwm_when_push_connects_before_the_bind() {
    // test_hwm's test_inproc_connect_first: the HWMs are settled when the bind arrives.
    let ctx = Context::new();
    let name = format!("inproc://{}", unique_name("hwm-connect-first"));
    let push = socket(&ctx, Push);
    push.set_sndhwm(5).unwrap();
    push.connect(&name).unwrap();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(7).unwrap();
    pull.bind(&name).unwrap();
    assert_eq!(fill(&push), 12);
    assert_eq!(drain(&pull), 12);
}

#[test]
fn inproc_hwm_before_any_bind_is_the_sndhwm() {
    // test_hwm's test_inproc_connect_and_close_first: with nobody bound yet, a connected PUSH
    // queues SNDHWM messages; they are delivered once a PULL binds.
    let ctx = Context::new();
    let name = format!("inproc://{}", unique_name("hwm-before-bind"));
    let push = socket(&ctx, Push);
    push.set_sndhwm(5).unwrap();
    push.connect(&name).unwrap();
    assert_eq!(fill(&push), 5);
    let pull = socket(&ctx, Pull);
    pull.bind(&name).unwrap();
    for _ in 0..5 {
        expect_msg(&pull, &[""]);
    }
}

#[test]
fn tcp_push_blocks_at_the_hwm_and_resumes_once_the_pull_reads() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(10).unwrap();
    let ep = bind(&pull, Transport::Tcp);
    let push = socket(&ctx, Push);
    push.set_sndhwm(10).unwrap();
    push.set_sndtimeo(300).unwrap();
    push.connect(&ep).unwrap();
    // Large messages so the kernel's socket buffers fill quickly too.
    let body = Bytes::from(vec![7u8; 64 * 1024]);
    let sent = count_until_full(5_000, || push.send(body.clone()));
    assert!(sent < 5_000, "a PUSH whose peer does not read never blocked");
    assert!(sent >= 20, "blocked after {sent} messages, before even SNDHWM + RCVHWM");
    for _ in 0..sent {
        assert_eq!(recv_msg(&pull), vec![body.clone()]);
    }
    push.send("again").unwrap();
    expect_msg(&pull, &["again"]);
}

// ---------------------------------------------------------------------------------------------
// REQ / REP
// ---------------------------------------------------------------------------------------------

#[test]
fn req_and_rep_enforce_strict_alternation() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let rep = socket(&ctx, Rep);
        let ep = bind(&rep, tr);
        let req = socket(&ctx, Req);
        req.connect(&ep).unwrap();

        assert!(matches!(req.recv(), Err(Error::State(_))), "{tr:?}: REQ recv before send");
        assert!(matches!(rep.send("no"), Err(Error::State(_))), "{tr:?}: REP send before recv");

        req.send("q1").unwrap();
        assert!(matches!(req.send("q2"), Err(Error::State(_))), "{tr:?}: REQ second send");
        assert!(matches!(req.try_send("q2", false), Err(Error::State(_))), "{tr:?}: REQ second try_send");
        expect_msg(&rep, &["q1"]);
        assert!(matches!(rep.recv(), Err(Error::State(_))), "{tr:?}: REP second recv");
        rep.send("a1").unwrap();
        assert!(matches!(rep.send("a1 again"), Err(Error::State(_))), "{tr:?}: REP second send");
        expect_msg(&req, &["a1"]);
        assert!(matches!(req.recv(), Err(Error::State(_))), "{tr:?}: REQ recv after the reply");

        // And the cycle goes on.
        req.send("q2").unwrap();
        expect_msg(&rep, &["q2"]);
        rep.send("a2").unwrap();
        expect_msg(&req, &["a2"]);
    }
}

#[test]
fn req_round_robins_requests_over_reps() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let reps: Vec<_> = (0..3).map(|_| socket(&ctx, Rep)).collect();
        let req = socket(&ctx, Req);
        for r in &reps {
            req.connect(&bind(r, tr)).unwrap();
        }
        for i in 0..9 {
            let rep = &reps[i % 3];
            req.send(format!("q{i}")).unwrap();
            expect_msg(rep, &[format!("q{i}")]);
            rep.send(format!("a{i}")).unwrap();
            expect_msg(&req, &[format!("a{i}")]);
        }
    }
}

#[test]
fn rep_replies_reach_the_right_req_among_several() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let rep = socket(&ctx, Rep);
        let ep = bind(&rep, tr);
        let reqs: Vec<_> = (0..4).map(|_| socket(&ctx, Req)).collect();
        for (k, r) in reqs.iter().enumerate() {
            r.connect(&ep).unwrap();
            r.send(format!("from {k}")).unwrap();
        }
        for _ in 0..reqs.len() {
            let q = show(&recv_msg(&rep)).concat();
            rep.send(format!("reply to {q}")).unwrap();
        }
        for (k, r) in reqs.iter().enumerate() {
            expect_msg(r, &[format!("reply to from {k}")]);
        }
    }
}

#[test]
fn req_rep_multipart_with_empty_frames() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let rep = socket(&ctx, Rep);
        let ep = bind(&rep, tr);
        let req = socket(&ctx, Req);
        req.connect(&ep).unwrap();
        let request = ["", "a", "", "", "b", ""];
        req.send_multipart(request).unwrap();
        expect_msg(&rep, &request);
        let reply = ["", "x", "", "y"];
        rep.send_multipart(reply).unwrap();
        expect_msg(&req, &reply);
    }
}

#[test]
fn req_relaxed_allows_a_resend_and_drops_the_stale_reply() {
    // test_req_relaxed's cases 1 to 3, over REPs the REQ connects to (so the round-robin
    // order is known).
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let req = socket(&ctx, Req);
        req.set_req_relaxed(true).unwrap();
        let reps: Vec<_> = (0..4).map(|_| socket(&ctx, Rep)).collect();
        for r in &reps {
            req.connect(&bind(r, tr)).unwrap();
        }
        // Case 1: a second request before the reply to the first arrives.
        req.send_multipart(["A", "B"]).unwrap();
        expect_msg(&reps[0], &["A", "B"]);
        req.send_multipart(["C", "D"]).unwrap();
        expect_msg(&reps[1], &["C", "D"]);
        reps[0].send("WRONG").unwrap();
        reps[1].send("OK").unwrap();
        expect_msg(&req, &["OK"]);

        // An ordinary cycle.
        req.send("E").unwrap();
        expect_msg(&reps[2], &["E"]);
        reps[2].send_multipart(["F", "G"]).unwrap();
        expect_msg(&req, &["F", "G"]);

        // Case 2: a second request while the first one's reply is already queued.
        req.send("H").unwrap();
        expect_msg(&reps[3], &["H"]);
        reps[3].send("BAD").unwrap();
        req.send("I").unwrap();
        expect_msg(&reps[0], &["I"]);
        reps[0].send("GOOD").unwrap();
        expect_msg(&req, &["GOOD"]);

        // Case 3: the resends closed no pipe; the round-robin goes on where it was.
        req.send("J").unwrap();
        expect_msg(&reps[1], &["J"]);
        reps[1].send("K").unwrap();
        expect_msg(&req, &["K"]);
        expect_nothing(&reps[2], QUIET_MS);
    }
}

/// A REQ with REQ_CORRELATE (and REQ_RELAXED) connected to a bound ROUTER.
fn correlating_req_and_router(ctx: &Context, tr: Transport) -> (oxmq::Socket, oxmq::Socket) {
    let router = socket(ctx, Router);
    let ep = bind(&router, tr);
    let req = socket(ctx, Req);
    req.set_req_correlate(true).unwrap();
    req.set_req_relaxed(true).unwrap();
    req.connect(&ep).unwrap();
    (req, router)
}

/// Receive a correlated request at a ROUTER: returns (routing id, request id), checking the
/// delimiter and body.
fn recv_correlated(router: &oxmq::Socket, body: &str) -> (Bytes, Bytes) {
    let m = recv_msg(router);
    assert_eq!(m.len(), 4, "[routing id, request id, delimiter, body], got {:?}", show(&m));
    assert_eq!(m[1].len(), 4, "the request id is a 4-byte frame");
    assert!(m[2].is_empty(), "the delimiter follows the request id");
    assert_eq!(m[3], body);
    (m[0].clone(), m[1].clone())
}

#[test]
fn req_correlate_delivers_only_the_reply_with_the_current_request_id() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (req, router) = correlating_req_and_router(&ctx, tr);
        req.send("old").unwrap();
        req.send("new").unwrap();
        let (rid, old_id) = recv_correlated(&router, "old");
        let (rid2, new_id) = recv_correlated(&router, "new");
        assert_eq!(rid, rid2);
        assert_ne!(old_id, new_id, "each request gets a new id");
        // Answer the old request, then one with a made-up id, then the new one.
        let mut bogus = new_id.to_vec();
        bogus[0] ^= 0xff;
        for (id, body) in [(old_id.to_vec(), "reply to old"), (bogus, "bogus"), (new_id.to_vec(), "reply to new")] {
            router.send_multipart([rid.to_vec(), id, vec![], body.as_bytes().to_vec()]).unwrap();
        }
        expect_msg(&req, &["reply to new"]);
    }
}

#[test]
fn req_correlate_without_relaxed_drops_a_reply_with_a_wrong_id() {
    // test_req_correlate.
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    let ep = bind(&router, Transport::Tcp);
    let req = socket(&ctx, Req);
    req.set_req_correlate(true).unwrap();
    req.connect(&ep).unwrap();
    req.send_multipart(["ABC", "DEF"]).unwrap();
    let m = recv_msg(&router);
    assert_eq!(m.len(), 5, "{:?}", show(&m));
    assert_eq!((m[1].len(), m[2].len(), &m[3][..], &m[4][..]), (4, 0, &b"ABC"[..], &b"DEF"[..]));
    let bad = (u32::from_ne_bytes(m[1][..].try_into().unwrap()).wrapping_add(1)).to_ne_bytes();
    router.send_multipart([&m[0][..], &bad, b"", b"DATA"]).unwrap();
    router.send_multipart([&m[0][..], &m[1][..], b"", b"GHI"]).unwrap();
    expect_msg(&req, &["GHI"]);
}

#[test]
fn router_sees_a_req_message_as_routing_id_delimiter_body() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        let ep = bind(&router, tr);
        let req = socket(&ctx, Req);
        req.set_routing_id(b"client").unwrap();
        req.connect(&ep).unwrap();
        req.send_multipart(["hello", "there"]).unwrap();
        expect_msg(&router, &["client", "", "hello", "there"]);
        router.send_multipart(["client", "", "world"]).unwrap();
        expect_msg(&req, &["world"]);
    }
}

#[test]
fn req_drops_a_reply_without_the_delimiter() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    let ep = bind(&router, Transport::Inproc);
    let req = socket(&ctx, Req);
    req.set_routing_id(b"client").unwrap();
    req.connect(&ep).unwrap();
    req.send("q").unwrap();
    expect_msg(&router, &["client", "", "q"]);
    router.send_multipart(["client", "no delimiter"]).unwrap();
    router.send_multipart(["client", "", "good"]).unwrap();
    expect_msg(&req, &["good"]);
}

#[test]
fn dealer_talks_to_rep_with_an_explicit_delimiter() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let rep = socket(&ctx, Rep);
        let ep = bind(&rep, tr);
        let dealer = socket(&ctx, Dealer);
        dealer.connect(&ep).unwrap();
        // Without the delimiter, a REP has no envelope to reply to: the request is dropped.
        dealer.send("malformed").unwrap();
        dealer.send_multipart(["", "hello"]).unwrap();
        expect_msg(&rep, &["hello"]);
        rep.send_multipart(["world", "!"]).unwrap();
        expect_msg(&dealer, &["", "world", "!"]);
        // A DEALER may have several requests in flight.
        dealer.send_multipart(["", "q1"]).unwrap();
        dealer.send_multipart(["", "q2"]).unwrap();
        expect_msg(&rep, &["q1"]);
        rep.send("a1").unwrap();
        expect_msg(&rep, &["q2"]);
        rep.send("a2").unwrap();
        expect_msg(&dealer, &["", "a1"]);
        expect_msg(&dealer, &["", "a2"]);
    }
}

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
        }
    }
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
        expect_nothing(&dealer, QUIET_MS);
    }
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
        expect_nothing(&dealer, QUIET_MS);
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
        expect_nothing(&dealer, QUIET_MS);
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

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// A bound PULL and a PUSH connected to it.
fn pipeline(ctx: &Context, tr: Transport) -> (oxmq::Socket, oxmq::Socket) {
    let pull = socket(ctx, Pull);
    let ep = bind(&pull, tr);
    let push = socket(ctx, Push);
    push.connect(&ep).unwrap();
    (push, pull)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn frames_of_every_size_class_arrive_intact() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        for len in [0, 1, 254, 255, 256, 257, 65535, 65536, 65537] {
            push.send(pattern(len)).unwrap();
            let got = recv_msg(&pull);
            assert_eq!(got.len(), 1);
            assert!(got[0] == pattern(len), "{tr:?}: a {len}-byte frame came back as {} bytes", got[0].len());
        }
    }
}

#[test]
fn a_16_mib_frame_arrives_intact() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        let big = Bytes::from(pattern(16 << 20));
        push.send_multipart([Bytes::from_static(b"head"), big.clone(), Bytes::from_static(b"tail")]).unwrap();
        push.send("next").unwrap();
        let got = recv_msg(&pull);
        assert_eq!(got.len(), 3, "{tr:?}");
        assert_eq!(got[0], "head");
        assert!(got[1] == big, "{tr:?}: 16 MiB frame corrupted ({} bytes)", got[1].len());
        assert_eq!(got[2], "tail");
        expect_msg(&pull, &["next"]);
    }
}

#[test]
fn a_hundred_frame_message_arrives_whole_and_in_order() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        let parts: Vec<Vec<u8>> = (0..100).map(|i| if i % 10 == 0 { vec![] } else { pattern(i * 37) }).collect();
        push.send_multipart(parts.clone()).unwrap();
        push.send("after").unwrap();
        // Frame by frame, with RCVMORE on all but the last.
        for (i, p) in parts.iter().enumerate() {
            let f = pull.recv().unwrap();
            assert!(f == *p, "{tr:?}: frame {i}");
            assert_eq!(pull.rcvmore(), i < 99, "{tr:?}: RCVMORE after frame {i}");
        }
        expect_msg(&pull, &["after"]);
    }
}

#[test]
fn empty_messages_and_empty_frames() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        push.send("").unwrap();
        push.send_multipart(["", ""]).unwrap();
        push.send_more(Vec::new()).unwrap();
        push.send("x").unwrap();
        expect_msg(&pull, &[""]);
        expect_msg(&pull, &["", ""]);
        expect_msg(&pull, &["", "x"]);
    }
}

#[test]
fn send_accepts_every_kind_of_buffer() {
    let ctx = Context::new();
    let (push, pull) = pipeline(&ctx, Transport::Tcp);
    push.send(Bytes::from_static(b"bytes")).unwrap();
    push.send(b"vec".to_vec()).unwrap();
    push.send("static str").unwrap();
    push.send(String::from("string")).unwrap();
    push.send(&b"slice"[..]).unwrap();
    push.send(*b"array").unwrap();
    let borrowed = String::from("&string");
    push.send(&borrowed).unwrap();
    push.send(vec![1u8, 2].into_boxed_slice()).unwrap();
    for want in ["bytes", "vec", "static str", "string", "slice", "array", &borrowed] {
        expect_msg(&pull, &[want]);
    }
    expect_msg(&pull, &[[1u8, 2]]);
}

#[test]
fn send_multipart_of_nothing_is_invalid() {
    let ctx = Context::new();
    let (push, _pull) = pipeline(&ctx, Transport::Inproc);
    assert!(matches!(push.send_multipart(Vec::<Bytes>::new()), Err(Error::InvalidArgument(_))));
}

#[test]
fn inproc_moves_the_buffer_without_copying() {
    let ctx = Context::new();
    let (push, pull) = pipeline(&ctx, Transport::Inproc);
    let data = Bytes::from(pattern(100_000));
    let ptr = data.as_ptr();
    push.send(data).unwrap();
    let got = pull.recv().unwrap();
    assert_eq!(got.as_ptr(), ptr, "the received Bytes is not the one sent");
    assert!(got == pattern(100_000));
    // Also for a small buffer and across a PAIR.
    let a = socket(&ctx, Pair);
    let ep = bind(&a, Transport::Inproc);
    let b = socket(&ctx, Pair);
    b.connect(&ep).unwrap();
    let small = Bytes::from(b"tiny".to_vec());
    let ptr = small.as_ptr();
    b.send(small).unwrap();
    assert_eq!(a.recv().unwrap().as_ptr(), ptr);
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
    expect_nothing(&pull, QUIET_MS);
}

// ---------------------------------------------------------------------------------------------
// More routing and queueing details
// ---------------------------------------------------------------------------------------------

#[test]
fn rep_keeps_a_multi_hop_envelope_for_the_reply() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let rep = socket(&ctx, Rep);
        let ep = bind(&rep, tr);
        let dealer = socket(&ctx, Dealer);
        dealer.connect(&ep).unwrap();
        dealer.send_multipart(["hop1", "hop2", "", "body", "", "tail"]).unwrap();
        expect_msg(&rep, &["body", "", "tail"]);
        rep.send("reply").unwrap();
        expect_msg(&dealer, &["hop1", "hop2", "", "reply"]);
    }
}

#[test]
fn dealer_round_robins_requests_and_fair_queues_replies() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let reps: Vec<_> = (0..3).map(|_| socket(&ctx, Rep)).collect();
        let dealer = socket(&ctx, Dealer);
        for r in &reps {
            dealer.connect(&bind(r, tr)).unwrap();
        }
        for i in 0..6 {
            dealer.send_multipart(["", &format!("q{i}")]).unwrap();
        }
        for (k, r) in reps.iter().enumerate() {
            for i in [k, k + 3] {
                expect_msg(r, &[format!("q{i}")]);
                r.send(format!("a{i}")).unwrap();
            }
        }
        let mut replies: Vec<String> = (0..6).map(|_| show(&recv_msg(&dealer)).join("|")).collect();
        replies.sort();
        assert_eq!(replies, (0..6).map(|i| format!("|a{i}")).collect::<Vec<_>>(), "{tr:?}");
    }
}

#[test]
fn multipart_messages_are_never_split_or_interleaved() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        // Fan out: whole messages round-robin over the PULLs.
        let pulls: Vec<_> = (0..2).map(|_| socket(&ctx, Pull)).collect();
        let push = socket(&ctx, Push);
        for p in &pulls {
            push.connect(&bind(p, tr)).unwrap();
        }
        for i in 0..4 {
            push.send_multipart([format!("{i}a"), format!("{i}b"), format!("{i}c")]).unwrap();
        }
        for (k, p) in pulls.iter().enumerate() {
            for i in [k, k + 2] {
                expect_msg(p, &[format!("{i}a"), format!("{i}b"), format!("{i}c")]);
            }
        }
        // Fan in: frames of messages from several peers do not interleave.
        let sink = socket(&ctx, Pull);
        let ep = bind(&sink, tr);
        let pushes: Vec<_> = (0..3).map(|_| socket(&ctx, Push)).collect();
        for p in &pushes {
            p.connect(&ep).unwrap();
        }
        for i in 0..10 {
            for (k, p) in pushes.iter().enumerate() {
                p.send_multipart((0..5).map(|f| format!("{k}-{i}-{f}"))).unwrap();
            }
        }
        for _ in 0..30 {
            let m = show(&recv_msg(&sink));
            assert_eq!(m.len(), 5, "{tr:?}: {m:?}");
            let prefix = m[0].strip_suffix("-0").unwrap().to_string();
            for (f, part) in m.iter().enumerate() {
                assert_eq!(*part, format!("{prefix}-{f}"), "{tr:?}: interleaved frames in {m:?}");
            }
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
        expect_nothing(&router, QUIET_MS);
        expect_nothing(&second, 20);
    }
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
fn inproc_connect_before_bind_queues_until_the_bind() {
    let ctx = Context::new();
    // PUSH -> PULL.
    let name = format!("inproc://{}", unique_name("early"));
    let push = socket(&ctx, Push);
    push.connect(&name).unwrap();
    push.send_multipart(["early", "bird"]).unwrap();
    let pull = socket(&ctx, Pull);
    pull.bind(&name).unwrap();
    expect_msg(&pull, &["early", "bird"]);
    push.send("later").unwrap();
    expect_msg(&pull, &["later"]);

    // DEALER -> ROUTER: the ROUTER learns the dealer's routing id.
    let name = format!("inproc://{}", unique_name("early"));
    let dealer = socket(&ctx, Dealer);
    dealer.set_routing_id(b"early-dealer").unwrap();
    dealer.connect(&name).unwrap();
    dealer.send("hi").unwrap();
    let router = socket(&ctx, Router);
    router.bind(&name).unwrap();
    expect_msg(&router, &["early-dealer", "hi"]);
    router.send_multipart(["early-dealer", "ho"]).unwrap();
    expect_msg(&dealer, &["ho"]);

    // ROUTER connecting before a DEALER binds: it addresses the DEALER by its routing id.
    let name = format!("inproc://{}", unique_name("early"));
    let router = socket(&ctx, Router);
    router.set_router_mandatory(true).unwrap();
    router.connect(&name).unwrap();
    assert!(matches!(router.send_more("server"), Err(Error::HostUnreachable)));
    let server = socket(&ctx, Dealer);
    server.set_routing_id(b"server").unwrap();
    server.bind(&name).unwrap();
    send_when_routable(&router, &["server", "hello"]);
    expect_msg(&server, &["hello"]);
}

#[test]
fn a_blocked_receive_wakes_when_a_message_arrives() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        std::thread::scope(|s| {
            let reader = s.spawn(|| recv_msg(&pull));
            // The reader may or may not be blocked yet; either way it must get the message.
            push.send("wake up").unwrap();
            assert_eq!(show(&reader.join().unwrap()), ["wake up"], "{tr:?}");
        });
    }
}

#[test]
fn a_blocked_send_wakes_when_the_peer_reads() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(1).unwrap();
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect(&ep).unwrap();
    assert_eq!(count_until_full(10, || push.try_send("x", false)), 2);
    push.set_sndtimeo(5000).unwrap();
    std::thread::scope(|s| {
        let sender = s.spawn(|| push.send("third"));
        expect_msg(&pull, &["x"]);
        expect_msg(&pull, &["x"]);
        expect_msg(&pull, &["third"]);
        sender.join().unwrap().unwrap();
    });
}

#[test]
fn inproc_names_belong_to_their_context() {
    let ctx1 = Context::new();
    let ctx2 = Context::new();
    let name = format!("inproc://{}", unique_name("per-context"));
    let pull1 = socket(&ctx1, Pull);
    pull1.bind(&name).unwrap();
    let pull2 = socket(&ctx2, Pull);
    pull2.bind(&name).unwrap();
    let push2 = socket(&ctx2, Push);
    push2.connect(&name).unwrap();
    push2.send("ctx2").unwrap();
    expect_msg(&pull2, &["ctx2"]);
    expect_nothing(&pull1, QUIET_MS);
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
fn push_skips_a_full_pull_and_feeds_the_others() {
    let ctx = Context::new();
    let slow = socket(&ctx, Pull);
    slow.set_rcvhwm(1).unwrap();
    let fast = socket(&ctx, Pull);
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect(&bind(&slow, Transport::Inproc)).unwrap();
    push.connect(&bind(&fast, Transport::Inproc)).unwrap();
    for i in 0..10 {
        push.try_send(format!("{i}"), false).unwrap();
    }
    // The slow PULL's pipe holds 1 + 1; everything else went to the fast one.
    assert_eq!(drain(&slow), 2);
    assert_eq!(drain(&fast), 8);
}

#[test]
fn inproc_hwm_counts_messages_not_frames() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(1).unwrap();
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect(&ep).unwrap();
    let sent = count_until_full(100, || {
        push.try_send("a", true)?;
        push.try_send("b", true)?;
        push.try_send("c", false)
    });
    assert_eq!(sent, 2);
    expect_msg(&pull, &["a", "b", "c"]);
    expect_msg(&pull, &["a", "b", "c"]);
}

#[test]
fn req_without_peers_blocks_and_keeps_its_state() {
    let ctx = Context::new();
    let req = socket(&ctx, Req);
    assert!(matches!(req.try_send("q", false), Err(Error::Again)));
    req.set_sndtimeo(20).unwrap();
    assert!(matches!(req.send("q"), Err(Error::Again)));
    // No request went out, so there is nothing to receive and a new send is allowed.
    assert!(matches!(req.recv(), Err(Error::State(_))));
    let rep = socket(&ctx, Rep);
    req.connect(&bind(&rep, Transport::Inproc)).unwrap();
    req.send("q").unwrap();
    expect_msg(&rep, &["q"]);
    rep.send("a").unwrap();
    expect_msg(&req, &["a"]);
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
    expect_nothing(&dealer, QUIET_MS);
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
    expect_nothing(&dealer, QUIET_MS);
}
