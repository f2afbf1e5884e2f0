//! Publish-subscribe between oxmq sockets: PUB, SUB, XPUB, XSUB over every transport.
//!
//! A subscription takes a moment to reach the publisher, and a publisher drops what nobody
//! has subscribed to yet, so tests first wait until the subscription is known: an XPUB sees
//! it arrive; a PUB publishes a probe until the subscriber gets one.

mod common;

use std::time::Duration;

use common::*;
use oxmq::{Context, Error, Socket, SocketType};

/// Publish `probe` until `sub` receives it, then drain: the subscription for it has arrived.
fn await_subscription(publisher: &Socket, sub: &Socket, probe: &[u8]) {
    let got = eventually(SOON, || {
        publisher.send(probe.to_vec()).unwrap();
        sub.recv_multipart_timeout(10)
    });
    assert!(got.is_some(), "subscription for {:?} never reached the publisher", String::from_utf8_lossy(probe));
    std::thread::sleep(Duration::from_millis(20));
    drain(sub);
}

trait RecvTimeout {
    fn recv_multipart_timeout(&self, ms: i32) -> Option<Vec<oxmq::Bytes>>;
}

impl RecvTimeout for Socket {
    fn recv_multipart_timeout(&self, ms: i32) -> Option<Vec<oxmq::Bytes>> {
        let saved = self.rcvtimeo().unwrap();
        self.set_rcvtimeo(ms).unwrap();
        let r = self.recv_multipart();
        self.set_rcvtimeo(saved).unwrap();
        match r {
            Ok(m) => Some(m),
            Err(Error::Again) => None,
            Err(e) => panic!("recv: {e:?}"),
        }
    }
}

#[test]
fn sub_receives_only_its_topics_on_every_transport() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let publisher = socket(&ctx, SocketType::Pub);
        let ep = bind(&publisher, tr);
        let sub = socket(&ctx, SocketType::Sub);
        sub.subscribe("weather.").unwrap();
        sub.subscribe("probe").unwrap();
        sub.connect(&ep).unwrap();
        await_subscription(&publisher, &sub, b"probe");
        for m in ["news.1", "weather.1", "weatherman", "weather.2", "", "w"] {
            publisher.send(m).unwrap();
        }
        publisher.send_multipart(["weather.3", "part two"]).unwrap();
        expect_msg(&sub, &["weather.1"]);
        expect_msg(&sub, &["weather.2"]);
        expect_msg(&sub, &["weather.3", "part two"]);
        expect_nothing_before(&sub, || publisher.send("weather.marker").unwrap(), &["weather.marker"]);
    }
}

#[test]
fn xpub_sees_subscriptions_and_cancels() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let xpub = socket(&ctx, SocketType::XPub);
        let ep = bind(&xpub, tr);
        let sub = socket(&ctx, SocketType::Sub);
        sub.connect(&ep).unwrap();
        sub.subscribe("a").unwrap();
        expect_msg(&xpub, &[b"\x01a"]);
        sub.subscribe("a").unwrap();
        sub.subscribe("b").unwrap();
        expect_msg(&xpub, &[b"\x01b"]);
        sub.unsubscribe("a").unwrap();
        sub.unsubscribe("a").unwrap();
        expect_msg(&xpub, &[b"\x00a"]);
        xpub.send("b1").unwrap();
        xpub.send("a1").unwrap();
        expect_msg(&sub, &["b1"]);
        expect_nothing_before(&sub, || xpub.send("b marker").unwrap(), &["b marker"]);
        // The subscriber leaving cancels its topics.
        drop(sub);
        expect_msg(&xpub, &[b"\x00b"]);
    }
}

#[test]
fn xpub_verbose_passes_repeated_subscriptions_and_verboser_repeated_cancels() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_verboser(true).unwrap();
    let ep = bind(&xpub, Transport::Tcp);
    let (s1, s2) = (socket(&ctx, SocketType::Sub), socket(&ctx, SocketType::Sub));
    s1.connect(&ep).unwrap();
    s1.subscribe("t").unwrap();
    expect_msg(&xpub, &[b"\x01t"]);
    s2.connect(&ep).unwrap();
    s2.subscribe("t").unwrap();
    expect_msg(&xpub, &[b"\x01t"]);
    s1.unsubscribe("t").unwrap();
    expect_msg(&xpub, &[b"\x00t"]);
    s2.unsubscribe("t").unwrap();
    expect_msg(&xpub, &[b"\x00t"]);

    // Plain XPUB: only the first subscription and the last cancel of a topic.
    let quiet = socket(&ctx, SocketType::XPub);
    let ep = bind(&quiet, Transport::Tcp);
    let (s3, s4) = (socket(&ctx, SocketType::Sub), socket(&ctx, SocketType::Sub));
    s3.connect(&ep).unwrap();
    s3.subscribe("t").unwrap();
    expect_msg(&quiet, &[b"\x01t"]);
    s4.connect(&ep).unwrap();
    s4.subscribe("t").unwrap();
    s4.subscribe("u").unwrap();
    expect_msg(&quiet, &[b"\x01u"]);
    s3.unsubscribe("t").unwrap();
    s4.unsubscribe("u").unwrap();
    expect_msg(&quiet, &[b"\x00u"]);
    s4.unsubscribe("t").unwrap();
    expect_msg(&quiet, &[b"\x00t"]);
    // Markers on both subscribers' connections (an XPUB fair-queues between them): each
    // subscription to a new topic must be the next thing its connection delivers.
    expect_nothing(&quiet, QUIET_MS);
    s3.subscribe("m3").unwrap();
    s4.subscribe("m4").unwrap();
    let mut got = [recv_msg(&quiet), recv_msg(&quiet)];
    got.sort();
    assert_eq!(show(&got.concat()), ["\x01m3", "\x01m4"], "the markers, and nothing before them");

    // XPUB_VERBOSE alone: repeated subscriptions, but only the last cancel.
    let verbose = socket(&ctx, SocketType::XPub);
    verbose.set_xpub_verbose(true).unwrap();
    let ep = bind(&verbose, Transport::Inproc);
    let (s5, s6) = (socket(&ctx, SocketType::Sub), socket(&ctx, SocketType::Sub));
    s5.connect(&ep).unwrap();
    s6.connect(&ep).unwrap();
    s5.subscribe("v").unwrap();
    s6.subscribe("v").unwrap();
    expect_msg(&verbose, &[b"\x01v"]);
    expect_msg(&verbose, &[b"\x01v"]);
    s5.unsubscribe("v").unwrap();
    expect_nothing_before(&verbose, || s5.subscribe("m5").unwrap(), &[b"\x01m5"]);
    s6.unsubscribe("v").unwrap();
    expect_msg(&verbose, &[b"\x00v"]);
}

#[test]
fn xpub_manual_lets_the_application_decide_what_a_subscriber_gets() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_manual(true).unwrap();
    let ep = bind(&xpub, Transport::Tcp);
    let sub = socket(&ctx, SocketType::Sub);
    sub.connect(&ep).unwrap();
    sub.subscribe("asked").unwrap();
    expect_msg(&xpub, &[b"\x01asked"]);
    // Nothing is subscribed until the application says so...
    xpub.send("asked 1").unwrap();
    // (The marker: "given 1" below, sent after it, must be the next message.)
    expect_nothing(&sub, QUIET_MS);
    // ...and it may subscribe the peer to something else entirely (the SUB still filters on
    // its own topics, so it subscribes to that too, which the XPUB sees first).
    sub.subscribe("given").unwrap();
    expect_msg(&xpub, &[b"\x01given"]);
    xpub.subscribe("given").unwrap();
    xpub.send("asked 2").unwrap();
    xpub.send("given 1").unwrap();
    expect_msg(&sub, &["given 1"]);
    expect_nothing(&sub, QUIET_MS);
    xpub.unsubscribe("given").unwrap();
    xpub.send("given 2").unwrap();
    sub.subscribe("marker").unwrap();
    expect_msg(&xpub, &[b"\x01marker"]);
    xpub.subscribe("marker").unwrap();
    expect_nothing_before(&sub, || xpub.send("marker").unwrap(), &["marker"]);
    // Without XPUB_MANUAL, SUBSCRIBE is refused on an XPUB.
    let plain = socket(&ctx, SocketType::XPub);
    assert!(matches!(plain.subscribe("x"), Err(Error::InvalidArgument(_))));
}

#[test]
fn xpub_nodrop_makes_a_send_to_a_full_subscriber_wait() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_sndhwm(5).unwrap();
    xpub.set_xpub_nodrop(true).unwrap();
    xpub.set_sndtimeo(0).unwrap();
    let ep = bind(&xpub, Transport::Inproc);
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_rcvhwm(5).unwrap();
    sub.subscribe("").unwrap();
    sub.connect(&ep).unwrap();
    expect_msg(&xpub, &[b"\x01"]);
    let sent = count_until_full(1000, || xpub.send("m"));
    assert_eq!(sent, 10, "inproc HWM is SNDHWM + RCVHWM, then Again instead of dropping");
    assert_eq!(drain(&sub), 10);
    xpub.send("after").unwrap();
    expect_msg(&sub, &["after"]);
}

#[test]
fn pub_never_blocks_and_a_slow_subscriber_does_not_starve_a_fast_one() {
    for tr in [Transport::Inproc, Transport::Tcp] {
        let ctx = Context::new();
        let publisher = socket(&ctx, SocketType::Pub);
        publisher.set_sndhwm(10).unwrap();
        publisher.set_sndtimeo(0).unwrap();
        let ep = bind(&publisher, tr);
        let slow = socket(&ctx, SocketType::Sub);
        slow.set_rcvhwm(10).unwrap();
        slow.subscribe("").unwrap();
        slow.connect(&ep).unwrap();
        let fast = socket(&ctx, SocketType::Sub);
        fast.set_rcvhwm(0).unwrap();
        fast.subscribe("").unwrap();
        fast.connect(&ep).unwrap();
        await_subscription(&publisher, &fast, b"probe");
        await_subscription(&publisher, &slow, b"probe");
        drain(&fast);
        // The slow subscriber never reads. The fast one reads in rounds of fewer messages
        // than its queues hold, so it must get every one: the stalled subscriber neither
        // blocks the publisher (SNDTIMEO 0 would turn a block into an error) nor takes
        // anything from the others.
        const ROUNDS: usize = 400;
        const BATCH: usize = 5;
        for round in 0..ROUNDS {
            for i in 0..BATCH {
                publisher.send(format!("m{round}.{i}")).unwrap_or_else(|e| panic!("{tr:?}: send: {e:?}"));
            }
            for i in 0..BATCH {
                expect_msg(&fast, &[format!("m{round}.{i}")]);
            }
        }
        // Over inproc the one queue between them holds SNDHWM + RCVHWM messages (over tcp the
        // kernel's socket buffers hold an amount that depends on the machine).
        if tr == Transport::Inproc {
            assert_eq!(drain(&slow), 10 + 10, "the queue filled, then the slow subscriber missed the rest");
        }
    }
}

#[test]
fn welcome_message_greets_each_new_subscriber() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_welcome_msg(b"WELCOME").unwrap();
    let ep = bind(&xpub, Transport::Tcp);
    let sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("WELCOME").unwrap();
    sub.connect(&ep).unwrap();
    // As with libzmq, the XPUB greets a subscriber once it has taken it on, which happens
    // when the application next uses the socket (here: to receive the subscription).
    expect_msg(&xpub, &[b"\x01WELCOME"]);
    expect_msg(&sub, &["WELCOME"]);
}

#[test]
fn invert_matching_on_both_ends() {
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    publisher.set_invert_matching(true).unwrap();
    let ep = bind(&publisher, Transport::Inproc);
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_invert_matching(true).unwrap();
    sub.subscribe("skip").unwrap();
    sub.connect(&ep).unwrap();
    // An inverted SUB receives what matches none of its topics.
    let got = eventually(SOON, || {
        publisher.send("probe").unwrap();
        sub.recv_multipart_timeout(10)
    });
    assert!(got.is_some());
    drain(&sub);
    publisher.send("skip this").unwrap();
    publisher.send("keep this").unwrap();
    expect_msg(&sub, &["keep this"]);
    expect_nothing_before(&sub, || publisher.send("marker").unwrap(), &["marker"]);
    assert!(sub.invert_matching().unwrap());
}

#[test]
fn many_subscribers_with_overlapping_topics_each_get_exactly_their_matches() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.set_xpub_verbose(true).unwrap();
    let ep = bind(&xpub, Transport::Tcp);
    let topic_sets: Vec<Vec<&str>> = vec![
        vec![""],
        vec!["a"],
        vec!["ab"],
        vec!["a", "ab"],
        vec!["abc", "b"],
        vec!["b"],
        vec!["c", "ca"],
        vec!["zz"],
    ];
    let subs: Vec<Socket> = topic_sets
        .iter()
        .map(|topics| {
            let s = socket(&ctx, SocketType::Sub);
            for t in topics {
                s.subscribe(t).unwrap();
            }
            s.connect(&ep).unwrap();
            s
        })
        .collect();
    let total: usize = topic_sets.iter().map(Vec::len).sum();
    for _ in 0..total {
        recv_msg(&xpub);
    }
    let messages = ["a", "ab", "abc", "abcd", "b", "ba", "c", "ca", "cab", "d", "", "zz top"];
    for m in messages {
        xpub.send(m).unwrap();
    }
    for (s, topics) in subs.iter().zip(&topic_sets) {
        for m in messages {
            if topics.iter().any(|t| m.starts_with(t)) {
                expect_msg(s, &[m]);
            }
        }
        expect_nothing(s, 50);
    }
    // Markers: a topic of each subscriber's own, known to the XPUB before it publishes them;
    // each must be the next message its subscriber gets.
    for (k, s) in subs.iter().enumerate() {
        s.subscribe(format!("~m{k}~")).unwrap();
        expect_msg(&xpub, &[format!("\x01~m{k}~")]);
    }
    for k in 0..subs.len() {
        xpub.send(format!("~m{k}~")).unwrap();
    }
    for (k, s) in subs.iter().enumerate() {
        expect_msg(s, &[format!("~m{k}~")]);
    }
}

#[test]
fn xsub_subscribes_by_message_and_sends_other_messages_upstream() {
    let ctx = Context::new();
    let xpub = socket(&ctx, SocketType::XPub);
    let ep = bind(&xpub, Transport::Ipc);
    let xsub = socket(&ctx, SocketType::XSub);
    xsub.connect(&ep).unwrap();
    xsub.send(b"\x01news".to_vec()).unwrap();
    expect_msg(&xpub, &[b"\x01news"]);
    xsub.send_multipart(["hello", "upstream"]).unwrap();
    expect_msg(&xpub, &["hello", "upstream"]);
    xpub.send("news!").unwrap();
    xpub.send("other").unwrap();
    // XSUB does not filter: the publisher did.
    expect_msg(&xsub, &["news!"]);
    expect_nothing_before(&xsub, || xpub.send("news marker").unwrap(), &["news marker"]);
    xsub.send(b"\x00news".to_vec()).unwrap();
    expect_msg(&xpub, &[b"\x00news"]);
    assert!(matches!(xsub.subscribe("x"), Err(Error::InvalidArgument(_))));
}

#[test]
fn calls_a_type_does_not_have_are_refused() {
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    assert!(matches!(publisher.try_recv(), Err(Error::NotSupported(_))));
    assert!(matches!(publisher.subscribe("x"), Err(Error::InvalidArgument(_))));
    let sub = socket(&ctx, SocketType::Sub);
    assert!(matches!(sub.try_send("x", false), Err(Error::NotSupported(_))));
    assert!(matches!(sub.set_xpub_verbose(true), Err(Error::InvalidArgument(_))));
}

#[test]
fn subscriptions_are_sent_again_after_the_publisher_restarts() {
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    let ep = bind(&publisher, Transport::Tcp);
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_reconnect_ivl(20).unwrap();
    sub.subscribe("t").unwrap();
    sub.connect(&ep).unwrap();
    await_subscription(&publisher, &sub, b"t probe");
    drop(publisher);
    // A new publisher on the same port knows nothing of the subscription until the SUB's
    // reconnect re-sends it.
    let publisher = socket(&ctx, SocketType::Pub);
    publisher.bind(&ep).unwrap();
    await_subscription(&publisher, &sub, b"t probe 2");
    publisher.send("t after").unwrap();
    publisher.send("u after").unwrap();
    expect_msg(&sub, &["t after"]);
    expect_nothing_before(&sub, || publisher.send("t marker").unwrap(), &["t marker"]);
}

#[test]
fn subscriptions_made_before_and_after_connecting_reach_a_late_publisher() {
    let ctx = Context::new();
    let ep = Transport::Ipc.bind_endpoint();
    let sub = socket(&ctx, SocketType::Sub);
    sub.subscribe("before").unwrap();
    sub.connect(&ep).unwrap();
    sub.subscribe("after").unwrap();
    let xpub = socket(&ctx, SocketType::XPub);
    xpub.bind(&ep).unwrap();
    let mut got = vec![recv_msg(&xpub), recv_msg(&xpub)];
    got.sort();
    assert_eq!(got, vec![vec![oxmq::Bytes::from_static(b"\x01after")], vec![oxmq::Bytes::from_static(b"\x01before")]]);
}

#[test]
fn conflate_keeps_only_the_latest_message() {
    let ctx = Context::new();
    let publisher = socket(&ctx, SocketType::Pub);
    let ep = bind(&publisher, Transport::Tcp);
    let sub = socket(&ctx, SocketType::Sub);
    sub.set_conflate(true).unwrap();
    sub.subscribe("").unwrap();
    sub.connect(&ep).unwrap();
    await_subscription(&publisher, &sub, b"probe");
    for i in 0..100 {
        publisher.send(format!("{i}")).unwrap();
    }
    // The last one arrives; whatever arrived before it was replaced while unread.
    let last = eventually(SOON, || {
        let m = sub.recv_multipart_timeout(100)?;
        (m[0].as_ref() == b"99").then_some(())
    });
    assert!(last.is_some(), "the latest message arrives");
    expect_nothing_before(&sub, || publisher.send("marker").unwrap(), &["marker"]);
}
