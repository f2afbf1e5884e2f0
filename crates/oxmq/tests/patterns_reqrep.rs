//! The request-reply pattern, as libzmq defines it (zmq_socket(3), tests/test_spec_req,
//! test_spec_rep, test_req_correlate, test_req_relaxed): REQ/REP strict alternation and
//! round-robin, REQ_RELAXED and REQ_CORRELATE, the envelope (routing id, delimiter, body) a
//! ROUTER or DEALER sees or must supply, multi-hop envelopes. Over inproc, tcp and ipc.

mod common;

use common::{TRANSPORTS, Transport, bind, expect_msg, expect_nothing_before, recv_msg, show, socket};
use oxmq::{Bytes, Context, Error, SocketType};

use SocketType::{Dealer, Rep, Req, Router};

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

        // Two ordinary cycles. (Over tcp and ipc the stale WRONG may still be on its way in
        // reps[0]'s pipe: without REQ_CORRELATE it is dropped only while another pipe's reply
        // is awaited, so no request goes to reps[0] again until case 2 awaits reps[1]'s.)
        req.send("E").unwrap();
        expect_msg(&reps[2], &["E"]);
        reps[2].send_multipart(["F", "G"]).unwrap();
        expect_msg(&req, &["F", "G"]);
        req.send("X").unwrap();
        expect_msg(&reps[3], &["X"]);
        reps[3].send("Y").unwrap();
        expect_msg(&req, &["Y"]);

        // Case 2: a second request while the first one's reply is already queued.
        req.send("H").unwrap();
        expect_msg(&reps[0], &["H"]);
        reps[0].send("BAD").unwrap();
        req.send("I").unwrap();
        expect_msg(&reps[1], &["I"]);
        reps[1].send("GOOD").unwrap();
        expect_msg(&req, &["GOOD"]);

        // Case 3: the resends closed no pipe; the round-robin goes on where it was.
        req.send("J").unwrap();
        expect_msg(&reps[2], &["J"]);
        reps[2].send("K").unwrap();
        expect_msg(&req, &["K"]);
        // The round-robin's next is reps[3]: that request must be the first it gets.
        expect_nothing_before(&reps[3], || req.send("L").unwrap(), &["L"]);
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
