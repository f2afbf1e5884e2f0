//! Interop tests, publish-subscribe: what gets through. oxmq PUB, XPUB, SUB and XSUB against
//! libzmq 4.x peers (pyzmq, see `interop/mod.rs`), oxmq on either end.
//!
//! What libzmq documents and these tests hold oxmq to:
//! * zmq_socket(3): PUB/XPUB fan out to subscribers; SUB/XSUB receive; XPUB hands
//!   subscriptions to the application as messages "\x01topic" (subscribe) / "\x00topic"
//!   (unsubscribe); XSUB subscribes by sending such messages.
//! * zmq_setsockopt(3): SUBSCRIBE/UNSUBSCRIBE are prefix filters on the first frame, an empty
//!   one matches everything, several instances of a filter count separately; XPUB_VERBOSE
//!   passes duplicate subscriptions, XPUB_VERBOSER also every unsubscription; XPUB_WELCOME_MSG
//!   and INVERT_MATCHING.
//!
//! Sections: topic filtering for every pairing (`interop_matrix!`: PUB/XPUB to SUB/XSUB, either
//! implementation publishing, tcp/ipc, bind/connect); XPUB subscription messages; welcome
//! message and inverted matching. The sessions, fences and slow-joiner handling are in
//! `interop/pubsub.rs`.

mod common;
#[macro_use]
mod interop;
#[path = "interop/pubsub.rs"]
mod pubsub;

use std::time::Instant;

use interop::*;
use oxmq::{Context, Socket, SocketType};

use pubsub::*;

/// Calls `f` until it returns `Some`, for at most SUBSCRIBE_DEADLINE.
fn poll_until<T>(mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let deadline = Instant::now() + SUBSCRIBE_DEADLINE;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= deadline {
            return None;
        }
    }
}

/// The next `want.len()` messages, in any order (a closing subscriber's
/// cancels come in no particular order).
#[track_caller]
fn expect_xpub_msgs_any_order(xpub: &Socket, want: &[&[u8]], context: &str) {
    let mut got: Vec<String> = (0..want.len())
        .map(|i| match oxmq_try_recv(xpub, TIMEO_MS) {
            Some(msg) if msg.len() == 1 => describe(&msg[0]),
            Some(msg) => {
                panic!("{context}: a subscription message has one frame, got {:?}", render_msg(&describe_msg(&msg)))
            }
            None => panic!("{context}: got {i} of {} messages within {TIMEO_MS} ms", want.len()),
        })
        .collect();
    let mut want: Vec<String> = want.iter().map(|w| describe(w)).collect();
    got.sort();
    want.sort();
    assert_eq!(render_msg(&got), render_msg(&want), "{context}");
}

/// Nothing more arrives on `xpub` (bound at `ep`): a quiet window, then a marker: a fresh
/// libzmq SUB subscribes to a new topic, and that subscription must be the next message. An
/// XPUB keeps what it has for the application in one queue, and queues a closed subscriber's
/// cancels all at once, so the marker comes after any of them.
#[track_caller]
fn nothing_more_before_a_new_subscriber(xpub: &Socket, ep: &str) {
    let mut marker = Vec::new();
    let subscribe = || marker.push(Peer::spawn("SUB", &args(&["--connect", ep, "--subscribe", "~marker~"])));
    common::expect_nothing_before(xpub, subscribe, &[b"\x01~marker~"]);
}

/// Receives from an oxmq socket until `fence` (first frame); returns the
/// messages before it.
fn oxmq_collect(s: &Socket, fence: &[u8]) -> Vec<Vec<String>> {
    Subscriber::Oxmq(s).collect(fence)
}

// ---------------------------------------------------------------------------
// Topic filtering, message by message, for every pairing
// ---------------------------------------------------------------------------

/// The filtering script every pairing runs: several topics, overlapping
/// prefixes, a duplicate subscription, binary and long (> 255 byte, so a
/// long ZMTP frame) topics, multipart messages, unsubscribing, the empty
/// prefix.
fn filtering(publisher: Publisher, subscriber: Subscriber, name: &str) {
    let long_topic = vec![b'L'; 300];
    let mut s = Session::new(publisher, subscriber, name);
    s.subscribe_all(&[b"weather.", b"weather.paris", b"news", b"news", b"\x00\xff", &long_topic]);
    s.sync();

    let mut long_match = long_topic.clone();
    long_match.push(b'!');
    let msgs = vec![
        m(&[b"weather.paris.1"]),       // 0: matches two overlapping prefixes: delivered once
        m(&[b"weather.london"]),        // 1
        m(&[b"weather"]),               // 2: shorter than the prefix
        m(&[b"news!", b"part 2", b""]), // 3: multipart, only the first frame is matched
        m(&[b"new"]),                   // 4
        m(&[b"sport"]),                 // 5
        m(&[b""]),                      // 6: an empty frame matches only the empty prefix
        m(&[b"x", b"weather."]),        // 7: a matching second frame does not count
        m(&[b"NEWS"]),                  // 8: binary comparison, case matters
        m(&[b"\x00\xff\x10"]),          // 9: binary topic
        m(&[b"\x00\xfe"]),              // 10
        m(&[&long_match]),              // 11
        m(&[&long_topic[..299]]),       // 12
        vec![Part::Pattern { size: 70_000, seed: 3 }, Part::Data(b"weather.".to_vec())], // 13
    ];
    s.check(&msgs, &[0, 1, 3, 9, 11], "after subscribing");

    // "news" was subscribed twice: one unsubscribe leaves one instance.
    s.subscriber.unsubscribe(b"news");
    s.sync();
    s.check(&msgs, &[0, 1, 3, 9, 11], "after one of two unsubscribes from \"news\"");
    s.subscriber.unsubscribe(b"news");
    s.subscriber.unsubscribe(b"weather.");
    s.subscriber.unsubscribe(&long_topic);
    s.sync();
    s.check(&msgs, &[0, 9], "after unsubscribing \"news\" (twice), \"weather.\" and the long topic");

    s.subscriber.subscribe(b"");
    s.sync();
    s.check(&msgs, &(0..msgs.len()).collect::<Vec<_>>(), "with the empty prefix subscribed");
    s.subscriber.unsubscribe(b"");
    s.sync_cancel(b"sport");
    s.check(&msgs, &[0, 9], "after unsubscribing the empty prefix");
}

/// oxmq publishes (PUB or XPUB) to a pyzmq subscriber (SUB or XSUB).
fn oxmq_publishes(t: Transport, side: Side, ox_type: SocketType, peer_type: &str) {
    let mut l = link(t, side, ox_type, |_| {}, peer_type, &[]);
    let subscriber = Subscriber::Pyzmq { peer: &mut l.peer, xsub: peer_type == "XSUB" };
    filtering(Publisher::Oxmq(&l.ox), subscriber, &l.name);
}

/// A pyzmq publisher (PUB or XPUB) to an oxmq subscriber (SUB or XSUB).
fn pyzmq_publishes(t: Transport, side: Side, ox_type: SocketType, peer_type: &str) {
    let mut l = link(t, side, ox_type, |_| {}, peer_type, &[]);
    filtering(Publisher::Pyzmq(&mut l.peer), Subscriber::Oxmq(&l.ox), &l.name);
}

fn pub_to_pyzmq_sub(t: Transport, side: Side) {
    oxmq_publishes(t, side, SocketType::Pub, "SUB");
}

fn xpub_to_pyzmq_sub(t: Transport, side: Side) {
    oxmq_publishes(t, side, SocketType::XPub, "SUB");
}

fn pub_to_pyzmq_xsub(t: Transport, side: Side) {
    oxmq_publishes(t, side, SocketType::Pub, "XSUB");
}

fn xpub_to_pyzmq_xsub(t: Transport, side: Side) {
    oxmq_publishes(t, side, SocketType::XPub, "XSUB");
}

fn sub_from_pyzmq_pub(t: Transport, side: Side) {
    pyzmq_publishes(t, side, SocketType::Sub, "PUB");
}

fn sub_from_pyzmq_xpub(t: Transport, side: Side) {
    pyzmq_publishes(t, side, SocketType::Sub, "XPUB");
}

fn xsub_from_pyzmq_pub(t: Transport, side: Side) {
    pyzmq_publishes(t, side, SocketType::XSub, "PUB");
}

fn xsub_from_pyzmq_xpub(t: Transport, side: Side) {
    pyzmq_publishes(t, side, SocketType::XSub, "XPUB");
}

interop_matrix!(
    pub_to_pyzmq_sub,
    xpub_to_pyzmq_sub,
    pub_to_pyzmq_xsub,
    xpub_to_pyzmq_xsub,
    sub_from_pyzmq_pub,
    sub_from_pyzmq_xpub,
    xsub_from_pyzmq_pub,
    xsub_from_pyzmq_xpub,
);

// ---------------------------------------------------------------------------
// XPUB: subscriptions as the application sees them
// ---------------------------------------------------------------------------

/// oxmq XPUB (default: no verbosity) and a libzmq SUB: the exact
/// "\x01topic" / "\x00topic" messages, duplicates folded, the cancels of a
/// closing subscriber. (Checked against libzmq 4.3.5's own XPUB.)
fn xpub_sees_pyzmq_subscriptions(t: Transport, side: Side) {
    let mut l = link(t, side, SocketType::XPub, |_| {}, "SUB", &["--subscribe", "a"]);
    let name = l.name.clone();
    let long_topic = vec![b'L'; 300];
    expect_xpub_msg(&l.ox, b"\x01a", &format!("{name}: subscription made before connecting"));
    // libzmq's SUB passes a duplicate on; a non-verbose XPUB does not report it.
    l.peer.setsockopt_bytes("SUBSCRIBE", b"a");
    l.peer.setsockopt_bytes("SUBSCRIBE", b"b");
    expect_xpub_msg(&l.ox, b"\x01b", &format!("{name}: after a duplicate \"a\" only the new \"b\""));
    l.peer.setsockopt_bytes("SUBSCRIBE", b"");
    expect_xpub_msg(&l.ox, b"\x01", &format!("{name}: the empty prefix"));
    l.peer.setsockopt_bytes("SUBSCRIBE", b"\x00");
    expect_xpub_msg(&l.ox, b"\x01\x00", &format!("{name}: a topic that is one zero byte"));
    l.peer.setsockopt_bytes("SUBSCRIBE", &long_topic);
    expect_xpub_msg(&l.ox, &with_cmd(1, &long_topic), &format!("{name}: a 300 byte topic (long command frame)"));
    // "a" was subscribed twice: only the second unsubscribe cancels it.
    l.peer.setsockopt_bytes("UNSUBSCRIBE", b"a");
    l.peer.setsockopt_bytes("UNSUBSCRIBE", b"a");
    expect_xpub_msg(&l.ox, b"\x00a", &format!("{name}: cancel of \"a\" after its second unsubscribe"));
    l.peer.setsockopt_bytes("SUBSCRIBE", b"c");
    expect_xpub_msg(&l.ox, b"\x01c", &format!("{name}: nothing between the cancel of \"a\" and \"c\""));
    // The subscriber goes away: XPUB reports its remaining topics as
    // cancelled (29/PUBSUB) - libzmq does for connections it accepted. Its
    // own outgoing connections keep their queue and subscriptions across
    // reconnects (see `delivers_after_subscriber_restart`), so then it
    // reports nothing; that case is not checked.
    l.peer.close();
    if side == Side::OxmqConnects {
        return;
    }
    let long_cancel = with_cmd(0, &long_topic);
    expect_xpub_msgs_any_order(
        &l.ox,
        &[b"\x00b", b"\x00", b"\x00\x00", &long_cancel, b"\x00c"],
        &format!("{name}: cancels for the topics of a SUB that closed"),
    );
    nothing_more_before_a_new_subscriber(&l.ox, &l.ox.last_endpoint().unwrap());
}

/// What a libzmq XPUB (XPUB_VERBOSE, so duplicates show) receives from an
/// oxmq SUB: the same messages a libzmq SUB would make it deliver (checked
/// against libzmq 4.3.5 with a pyzmq SUB).
fn pyzmq_xpub_sees_oxmq_subscriptions(t: Transport, side: Side) {
    let setup = |s: &Socket| s.subscribe("a").unwrap();
    let l = link(t, side, SocketType::Sub, setup, "XPUB", &["--sockopt", "XPUB_VERBOSE=1"]);
    let Link { mut peer, ox, name, .. } = l;
    let long_topic = vec![b'L'; 300];
    let expect = |peer: &mut Peer, want: &[u8], what: &str| {
        assert_peer_got(&peer.recv(), &m(&[want]), &format!("{name}: {what}"));
    };
    // Like libzmq's, an oxmq socket may attach an incoming connection (and
    // a SUB send its subscriptions on it) only inside a call on the socket:
    // keep calling until the subscription arrives.
    let first = poll_until(|| {
        assert!(matches!(ox.try_recv(), Err(oxmq::Error::Again)), "{name}: the SUB has nothing to receive");
        peer.try_recv(20)
    });
    let first = first.unwrap_or_else(|| panic!("{name}: no subscription within {SUBSCRIBE_DEADLINE:?}"));
    assert_peer_got(&first, &m(&[b"\x01a"]), &format!("{name}: subscription made before connecting"));
    // libzmq's SUB sends duplicates on (an XPUB_VERBOSE application sees
    // each); so must oxmq's.
    ox.subscribe("a").unwrap();
    expect(&mut peer, b"\x01a", "a duplicate subscription (XPUB_VERBOSE shows it)");
    ox.subscribe("").unwrap();
    expect(&mut peer, b"\x01", "the empty prefix");
    ox.subscribe(b"\x00").unwrap();
    expect(&mut peer, b"\x01\x00", "a topic that is one zero byte");
    ox.subscribe(&long_topic).unwrap();
    expect(&mut peer, &with_cmd(1, &long_topic), "a 300 byte topic (long command frame)");
    ox.unsubscribe("a").unwrap();
    ox.unsubscribe("a").unwrap();
    expect(&mut peer, b"\x00a", "the cancel of \"a\" after its second unsubscribe");
    // Unsubscribing a topic that is not subscribed: libzmq's SUB sends
    // nothing (a libzmq XPUB would report any CANCEL it got as "\x00never").
    // libzmq returns success here; oxmq may refuse, that is not checked.
    let _ = ox.unsubscribe("never");
    ox.subscribe("c").unwrap();
    expect(&mut peer, b"\x01c", "next after unsubscribing a topic never subscribed");
    // The oxmq SUB closes: libzmq's XPUB reports its topics as cancelled -
    // if it accepted the connection. Its own outgoing connections keep
    // their queue and subscriptions across reconnects (see
    // `delivers_after_subscriber_restart`), so then it reports nothing.
    drop(ox);
    if side == Side::OxmqBinds {
        return;
    }
    let mut got: Vec<String> = (0..4).map(|_| peer.recv().concat()).collect();
    let mut want: Vec<String> =
        [&b"\x00"[..], b"\x00\x00", &with_cmd(0, &long_topic), b"\x00c"].iter().map(|w| describe(w)).collect();
    got.sort();
    want.sort();
    assert_eq!(render_msg(&got), render_msg(&want), "{name}: cancels after the oxmq SUB closed");
}

interop_matrix!(xpub_sees_pyzmq_subscriptions, pyzmq_xpub_sees_oxmq_subscriptions);

/// XPUB_VERBOSE passes duplicate subscriptions (from one subscriber and
/// from a second one); XPUB_VERBOSER also passes each cancel, even while
/// another subscriber still has the topic. Two libzmq SUBs; the sequence is
/// what libzmq 4.3.5's own XPUB delivers in the same scenario.
fn xpub_verbosity(verboser: bool) {
    let ctx = Context::new();
    let xpub = oxmq_socket(&ctx, SocketType::XPub);
    let mode = if verboser { "XPUB_VERBOSER" } else { "XPUB_VERBOSE" };
    if verboser {
        xpub.set_xpub_verboser(true).unwrap();
    } else {
        xpub.set_xpub_verbose(true).unwrap();
    }
    xpub.bind("tcp://127.0.0.1:*").unwrap();
    let ep = xpub.last_endpoint().unwrap();
    let mut sub1 = Peer::spawn("SUB", &args(&["--connect", &ep, "--subscribe", "a"]));
    expect_xpub_msg(&xpub, b"\x01a", &format!("{mode}: first SUB subscribes \"a\""));
    sub1.setsockopt_bytes("SUBSCRIBE", b"a");
    expect_xpub_msg(&xpub, b"\x01a", &format!("{mode}: first SUB subscribes \"a\" again"));
    let mut sub2 = Peer::spawn("SUB", &args(&["--connect", &ep, "--subscribe", "a"]));
    expect_xpub_msg(&xpub, b"\x01a", &format!("{mode}: second SUB subscribes \"a\""));
    // The first SUB drops both its "a" (one CANCEL on the wire).
    sub1.setsockopt_bytes("UNSUBSCRIBE", b"a");
    sub1.setsockopt_bytes("UNSUBSCRIBE", b"a");
    sub1.setsockopt_bytes("SUBSCRIBE", b"z");
    if verboser {
        expect_xpub_msg(&xpub, b"\x00a", &format!("{mode}: first SUB cancels \"a\", the second still has it"));
    }
    expect_xpub_msg(&xpub, b"\x01z", &format!("{mode}: next after the first SUB's cancel of \"a\""));
    sub2.close();
    expect_xpub_msg(&xpub, b"\x00a", &format!("{mode}: the last SUB with \"a\" closes"));
    sub1.close();
    expect_xpub_msg(&xpub, b"\x00z", &format!("{mode}: the SUB with \"z\" closes"));
    nothing_more_before_a_new_subscriber(&xpub, &ep);
}

#[test]
fn xpub_verbose_passes_duplicate_subscriptions() {
    run_test(|| xpub_verbosity(false));
}

#[test]
fn xpub_verboser_passes_every_cancel() {
    run_test(|| xpub_verbosity(true));
}

// ---------------------------------------------------------------------------
// XPUB_WELCOME_MSG and INVERT_MATCHING across implementations
// ---------------------------------------------------------------------------

/// oxmq XPUB with XPUB_WELCOME_MSG "Welcome": a libzmq SUB subscribed to
/// "W" gets it on connecting; one subscribed only to "x" does not (libzmq's
/// SUB filters what it receives).
#[test]
fn xpub_welcome_message_to_libzmq_subs() {
    run_test(|| {
        let ctx = Context::new();
        let xpub = oxmq_socket(&ctx, SocketType::XPub);
        xpub.set_xpub_welcome_msg(b"Welcome").unwrap();
        xpub.bind("tcp://127.0.0.1:*").unwrap();
        let ep = xpub.last_endpoint().unwrap();
        let mut welcomed = Peer::spawn("SUB", &args(&["--connect", &ep, "--subscribe", "W"]));
        expect_xpub_msg(&xpub, b"\x01W", "subscription of the first SUB");
        assert_peer_got(&welcomed.recv(), &m(&[b"Welcome"]), "SUB subscribed to \"W\"");
        let mut other = Peer::spawn("SUB", &args(&["--connect", &ep, "--subscribe", "x"]));
        expect_xpub_msg(&xpub, b"\x01x", "subscription of the second SUB");
        oxmq_send(&xpub, &m(&[b"x-fence"]));
        assert_eq!(other.collect(b"x-fence"), Vec::<Vec<String>>::new(), "SUB subscribed only to \"x\"");
    });
}

/// libzmq XPUB with XPUB_WELCOME_MSG "Welcome" sends it to every new
/// subscriber, matching or not: an oxmq SUB subscribed to "W" delivers it,
/// one subscribed only to "x" must filter it out (zmq_setsockopt(3)
/// ZMQ_SUBSCRIBE: a SUB filters incoming messages).
#[test]
fn sub_filters_libzmq_xpub_welcome_message() {
    run_test(|| {
        let mut xpub =
            Peer::spawn("XPUB", &args(&["--bind", "tcp://127.0.0.1:*", "--sockopt-text", "XPUB_WELCOME_MSG=Welcome"]));
        let ctx = Context::new();
        let welcomed = oxmq_socket(&ctx, SocketType::Sub);
        welcomed.subscribe("W").unwrap();
        welcomed.connect(&xpub.endpoint).unwrap();
        assert_peer_got(&xpub.recv(), &m(&[b"\x01W"]), "subscription of the first SUB");
        assert_oxmq_got(&oxmq_recv(&welcomed), &m(&[b"Welcome"]), "oxmq SUB subscribed to \"W\"");
        let other = oxmq_socket(&ctx, SocketType::Sub);
        other.subscribe("x").unwrap();
        other.connect(&xpub.endpoint).unwrap();
        assert_peer_got(&xpub.recv(), &m(&[b"\x01x"]), "subscription of the second SUB");
        xpub.send(&m(&[b"x-fence"]));
        assert_eq!(oxmq_collect(&other, b"x-fence"), Vec::<Vec<String>>::new(), "oxmq SUB subscribed only to \"x\"");
    });
}

/// INVERT_MATCHING on both ends (zmq_setsockopt(3): the publisher sends
/// what does not match a subscription, and its SUBs must invert too):
/// subscribed to "a", a SUB gets everything but "a...". Both ways round.
#[test]
fn invert_matching_with_libzmq() {
    run_test(|| {
        let msgs: [&[u8]; 5] = [b"a1", b"b1", b"", b"ab", b"c"];
        let want: Vec<Vec<String>> = [&b"b1"[..], b"", b"c"].iter().map(|w| describe_msg(&[w])).collect();

        let ctx = Context::new();
        let xpub = oxmq_socket(&ctx, SocketType::XPub);
        xpub.set_invert_matching(true).unwrap();
        xpub.bind("tcp://127.0.0.1:*").unwrap();
        let ep = xpub.last_endpoint().unwrap();
        let mut sub =
            Peer::spawn("SUB", &args(&["--connect", &ep, "--sockopt", "INVERT_MATCHING=1", "--subscribe", "a"]));
        expect_xpub_msg(&xpub, b"\x01a", "oxmq XPUB (inverted): subscription");
        for msg in msgs {
            oxmq_send(&xpub, &m(&[msg]));
        }
        oxmq_send(&xpub, &m(&[b"fence"]));
        assert_eq!(sub.collect(b"fence"), want, "libzmq SUB (inverted) from oxmq XPUB (inverted)");

        let mut pyxpub = Peer::spawn("XPUB", &args(&["--bind", "tcp://127.0.0.1:*", "--sockopt", "INVERT_MATCHING=1"]));
        let oxsub = oxmq_socket(&ctx, SocketType::Sub);
        oxsub.set_invert_matching(true).unwrap();
        oxsub.subscribe("a").unwrap();
        oxsub.connect(&pyxpub.endpoint).unwrap();
        assert_peer_got(&pyxpub.recv(), &m(&[b"\x01a"]), "libzmq XPUB (inverted): subscription");
        for msg in msgs {
            pyxpub.send(&m(&[msg]));
        }
        pyxpub.send(&m(&[b"fence"]));
        assert_eq!(oxmq_collect(&oxsub, b"fence"), want, "oxmq SUB (inverted) from libzmq XPUB (inverted)");
    });
}
