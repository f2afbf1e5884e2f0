//! Interop tests, publish-subscribe: oxmq PUB, XPUB, SUB and XSUB against
//! libzmq 4.x peers (pyzmq, see `interop/mod.rs`), oxmq on either end.
//!
//! What libzmq documents and these tests hold oxmq to:
//! * zmq_socket(3): PUB/XPUB fan out to subscribers, drop for a subscriber
//!   whose queue is full and never block; SUB/XSUB receive; XPUB hands
//!   subscriptions to the application as messages "\x01topic" (subscribe) /
//!   "\x00topic" (unsubscribe); XSUB subscribes by sending such messages.
//! * zmq_setsockopt(3): SUBSCRIBE/UNSUBSCRIBE are prefix filters on the
//!   first frame, an empty one matches everything, several instances of a
//!   filter count separately; XPUB_VERBOSE passes duplicate subscriptions,
//!   XPUB_VERBOSER also every unsubscription; XPUB_WELCOME_MSG and
//!   INVERT_MATCHING.
//! * 29/PUBSUB: a subscriber's subscriptions are re-sent on every new
//!   connection; XPUB reports a subscriber that disconnects as unsubscribes;
//!   PUB keeps the queue of a subscriber it connects to while the
//!   connection is down.
//! * 23/ZMTP and 37/ZMTP: to a ZMTP 3.0 peer a subscription is a message
//!   whose first byte is 1 (0 cancels); to a 3.1 peer a SUBSCRIBE / CANCEL
//!   command. A 3.1 publisher accepts both forms.
//!
//! Sections: topic filtering for every pairing (`interop_matrix!`: PUB/XPUB
//! to SUB/XSUB, either implementation publishing, tcp/ipc, bind/connect);
//! XPUB subscription messages; reconnects; a frozen subscriber; hand-written
//! ZMTP 3.0/3.1 peers; welcome message and inverted matching; the queue a
//! connecting publisher keeps.
//!
//! Where the exact sequence of subscription messages matters, the expected
//! behaviour was checked against libzmq 4.3.5 itself (the same scenario with
//! a pyzmq XPUB), so what is asserted here is what libzmq does.
//!
//! Slow joiners: a subscription takes a moment to reach the publisher, and a
//! publisher drops what nobody has subscribed to yet. `Session::sync`
//! subscribes to a fresh marker topic and publishes it until it arrives;
//! subscription changes travel in order on a connection, so after that every
//! earlier change is known to the publisher too. "Must not arrive" is checked
//! without sleeping: the publisher sends a fence message after the ones under
//! test, and the subscriber must get exactly the expected messages before the
//! fence (messages on one connection stay in order).

mod common;
#[macro_use]
mod interop;

use std::cell::RefCell;
use std::time::{Duration, Instant};

use interop::*;
use oxmq::{Context, Socket, SocketType};

/// How long a subscription may take to reach the publisher.
const SUBSCRIBE_DEADLINE: Duration = Duration::from_secs(10);

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

// ---------------------------------------------------------------------------
// Either end of a publish-subscribe link, whichever implementation it is
// ---------------------------------------------------------------------------

enum Publisher<'a> {
    Oxmq(&'a Socket),
    Pyzmq(&'a mut Peer),
}

impl Publisher<'_> {
    fn publish(&mut self, msg: &[Part]) {
        match self {
            Publisher::Oxmq(s) => oxmq_send(s, msg),
            Publisher::Pyzmq(p) => p.send(msg),
        }
    }
}

/// SUB subscribes with the socket option, XSUB by sending "\x01topic".
enum Subscriber<'a> {
    Oxmq(&'a Socket),
    Pyzmq { peer: &'a mut Peer, xsub: bool },
}

/// The message an XSUB sends to (un)subscribe: 1 or 0, then the topic.
fn subscription_msg(subscribe: bool, topic: &[u8]) -> Vec<Part> {
    let mut frame = vec![u8::from(subscribe)];
    frame.extend_from_slice(topic);
    vec![Part::Data(frame)]
}

impl Subscriber<'_> {
    fn subscribe(&mut self, topic: &[u8]) {
        self.change(true, topic);
    }

    fn unsubscribe(&mut self, topic: &[u8]) {
        self.change(false, topic);
    }

    fn change(&mut self, subscribe: bool, topic: &[u8]) {
        match self {
            Subscriber::Oxmq(s) if s.socket_type() == SocketType::Sub => {
                let r = if subscribe { s.subscribe(topic) } else { s.unsubscribe(topic) };
                r.unwrap_or_else(|e| panic!("oxmq SUB (un)subscribe {:?}: {e:?}", topic.escape_ascii().to_string()));
            }
            Subscriber::Oxmq(s) => oxmq_send(s, &subscription_msg(subscribe, topic)),
            Subscriber::Pyzmq { peer, xsub: false } => {
                peer.setsockopt_bytes(if subscribe { "SUBSCRIBE" } else { "UNSUBSCRIBE" }, topic)
            }
            Subscriber::Pyzmq { peer, xsub: true } => peer.send(&subscription_msg(subscribe, topic)),
        }
    }

    fn try_recv(&mut self, timeout_ms: u64) -> Option<Vec<String>> {
        match self {
            Subscriber::Oxmq(s) => oxmq_try_recv(s, timeout_ms as i32).map(|msg| describe_msg(&msg)),
            Subscriber::Pyzmq { peer, .. } => peer.try_recv(timeout_ms),
        }
    }

    /// Every message before the first one whose first frame is `fence`.
    fn collect(&mut self, fence: &[u8]) -> Vec<Vec<String>> {
        match self {
            Subscriber::Oxmq(s) => {
                let mut msgs = Vec::new();
                loop {
                    let Some(msg) = oxmq_try_recv(s, TIMEO_MS) else {
                        panic!(
                            "oxmq {:?}: fence {:?} not received within {TIMEO_MS} ms; got before it: {:?}",
                            s.socket_type(),
                            fence.escape_ascii().to_string(),
                            msgs.iter().map(|m: &Vec<String>| render_msg(m)).collect::<Vec<_>>()
                        )
                    };
                    if msg[0].as_ref() == fence {
                        return msgs;
                    }
                    msgs.push(describe_msg(&msg));
                }
            }
            Subscriber::Pyzmq { peer, .. } => peer.collect(fence),
        }
    }
}

/// One publisher and one subscriber under test, with the fence/sync helpers.
struct Session<'a> {
    publisher: Publisher<'a>,
    subscriber: Subscriber<'a>,
    name: String,
    /// The latest marker topic `sync` subscribed to; fences start with it.
    tag: Vec<u8>,
    round: usize,
}

impl<'a> Session<'a> {
    fn new(publisher: Publisher<'a>, subscriber: Subscriber<'a>, name: &str) -> Session<'a> {
        Session { publisher, subscriber, name: name.to_string(), tag: Vec::new(), round: 0 }
    }

    fn fence(&mut self) -> Vec<u8> {
        self.round += 1;
        let mut fence = self.tag.clone();
        fence.extend_from_slice(format!("fence{}", self.round).as_bytes());
        fence
    }

    /// Subscribes to a fresh marker topic and publishes it until it arrives,
    /// then drains the extra copies: afterwards the publisher knows every
    /// subscription change the subscriber made before.
    fn sync(&mut self) {
        self.round += 1;
        let tag = format!("~sync{}/", self.round).into_bytes();
        self.subscriber.subscribe(&tag);
        self.await_topic(&tag);
    }

    /// Publishes `tag` until the subscriber gets it, then drains the extra
    /// copies; fences then start with `tag`, so `tag` must stay subscribed.
    fn await_topic(&mut self, tag: &[u8]) {
        let tag = tag.to_vec();
        let probe = m(&[&tag]);
        let deadline = Instant::now() + SUBSCRIBE_DEADLINE;
        loop {
            self.publisher.publish(&probe);
            if let Some(got) = self.subscriber.try_recv(20) {
                assert_eq!(
                    got,
                    describe_parts(&probe),
                    "{}: probe for {:?}",
                    self.name,
                    tag.escape_ascii().to_string()
                );
                break;
            }
            assert!(
                Instant::now() < deadline,
                "{}: subscription {:?} did not reach the publisher within {SUBSCRIBE_DEADLINE:?}",
                self.name,
                tag.escape_ascii().to_string()
            );
        }
        self.tag = tag;
        let fence = self.fence();
        self.publisher.publish(&m(&[&fence]));
        for got in self.subscriber.collect(&fence) {
            assert_eq!(got, describe_parts(&probe), "{}: only probes before the fence", self.name);
        }
    }

    /// `sync` cannot tell when a cancel of a prefix covering its marker topic
    /// (the empty prefix) has arrived. This can: it publishes `probe` (which
    /// only the cancelled prefix matches) and a fence until the subscriber
    /// gets the fence without the probe; a cancel, once applied, stays.
    fn sync_cancel(&mut self, probe: &[u8]) {
        let deadline = Instant::now() + SUBSCRIBE_DEADLINE;
        loop {
            self.publisher.publish(&m(&[probe]));
            let fence = self.fence();
            self.publisher.publish(&m(&[&fence]));
            let got = self.subscriber.collect(&fence);
            if got.is_empty() {
                return;
            }
            assert_eq!(got, [describe_msg(&[probe])], "{}: only the probe may arrive", self.name);
            assert!(
                Instant::now() < deadline,
                "{}: a cancel did not reach the publisher within {SUBSCRIBE_DEADLINE:?}: {:?} still arrives",
                self.name,
                probe.escape_ascii().to_string()
            );
        }
    }

    /// Publishes `msgs` and a fence: the subscriber must receive exactly the
    /// messages `msgs[i]` for i in `expected`, in that order, before the fence.
    #[track_caller]
    fn check(&mut self, msgs: &[Vec<Part>], expected: &[usize], what: &str) {
        for msg in msgs {
            self.publisher.publish(msg);
        }
        let fence = self.fence();
        self.publisher.publish(&m(&[&fence]));
        let got = self.subscriber.collect(&fence);
        let want: Vec<Vec<String>> = expected.iter().map(|&i| describe_parts(&msgs[i])).collect();
        if got != want {
            let all: Vec<Vec<String>> = msgs.iter().map(|msg| render_msg(&describe_parts(msg))).collect();
            panic!(
                "{}: {what}\n  published: {all:?}\n  received:  {:?}\n  expected:  {:?}",
                self.name,
                got.iter().map(|g| render_msg(g)).collect::<Vec<_>>(),
                want.iter().map(|w| render_msg(w)).collect::<Vec<_>>(),
            );
        }
    }
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

impl Session<'_> {
    fn subscribe_all(&mut self, topics: &[&[u8]]) {
        for topic in topics {
            self.subscriber.subscribe(topic);
        }
    }
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

/// The next message on an oxmq XPUB must be the subscription message `want`.
#[track_caller]
fn expect_xpub_msg(xpub: &Socket, want: &[u8], context: &str) {
    match oxmq_try_recv(xpub, TIMEO_MS) {
        Some(got) => assert_oxmq_got(&got, &m(&[want]), context),
        None => {
            panic!("{context}: oxmq XPUB got nothing within {TIMEO_MS} ms, expected {}", render(&describe(want)))
        }
    }
}

/// The next `want.len()` messages, in any order (a closing subscriber's
/// cancels come in no particular order), then nothing more for a moment.
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
    if let Some(extra) = oxmq_try_recv(xpub, 200) {
        panic!("{context}: unexpected extra message {:?}", render_msg(&describe_msg(&extra)));
    }
}

fn with_cmd(cmd: u8, topic: &[u8]) -> Vec<u8> {
    let mut v = vec![cmd];
    v.extend_from_slice(topic);
    v
}

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
    if let Some(extra) = oxmq_try_recv(&xpub, 200) {
        panic!("{mode}: unexpected extra message {:?}", render_msg(&describe_msg(&extra)));
    }
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
// Reconnects: subscriptions are re-sent, publishers pick up new subscribers
// ---------------------------------------------------------------------------

/// The oxmq socket binds or connects; returns the peer's bind/connect args.
fn wire_up(ox: &Socket, t: Transport, side: Side) -> (Vec<String>, Option<IpcFile>) {
    match side {
        Side::OxmqConnects => {
            let (ep, ipc) = fixed_endpoint(t);
            ox.connect(&ep).unwrap_or_else(|e| panic!("oxmq connect {ep}: {e:?}"));
            (args(&["--bind", &ep]), ipc)
        }
        Side::OxmqBinds => {
            let ipc = matches!(t, Transport::Ipc).then(IpcFile::new);
            let local = ipc.as_ref().map_or("tcp://127.0.0.1:*".to_string(), |f| f.endpoint());
            ox.bind(&local).unwrap_or_else(|e| panic!("oxmq bind {local}: {e:?}"));
            (args(&["--connect", &ox.last_endpoint().unwrap()]), ipc)
        }
    }
}

fn ox_subscribe(s: &Socket, topic: &[u8]) {
    if s.socket_type() == SocketType::Sub {
        s.subscribe(topic).unwrap();
    } else {
        oxmq_send(s, &subscription_msg(true, topic));
    }
}

/// An oxmq SUB or XSUB subscribed to "t" (before any connection) and "u"
/// (while connected); the libzmq PUB is killed and a new one started (bound
/// on the same endpoint, or connecting again): the oxmq socket must send
/// both subscriptions to it by itself, and the filter still holds.
fn resubscribes_after_publisher_restart(t: Transport, side: Side, ox_type: SocketType) {
    let name = format!("{ox_type:?}(oxmq), libzmq PUB restarted, {t:?}, {side:?}");
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, ox_type);
    ox_subscribe(&ox, b"t");
    let (peer_args, _ipc) = wire_up(&ox, t, side);
    let mut first = Peer::spawn("PUB", &peer_args);
    {
        let mut s = Session::new(Publisher::Pyzmq(&mut first), Subscriber::Oxmq(&ox), &format!("{name}, first PUB"));
        s.await_topic(b"t");
        ox_subscribe(&ox, b"u");
        s.await_topic(b"u");
    }
    first.kill();
    drop(first);

    let mut second = Peer::spawn("PUB", &peer_args);
    let mut s = Session::new(Publisher::Pyzmq(&mut second), Subscriber::Oxmq(&ox), &format!("{name}, second PUB"));
    s.await_topic(b"t");
    s.await_topic(b"u");
    s.check(&[m(&[b"x"]), m(&[b"u1"]), m(&[b"v"]), m(&[b"t1", b"more"])], &[1, 3], "filter after the restart");
}

fn sub_resubscribes_after_publisher_restart(t: Transport, side: Side) {
    resubscribes_after_publisher_restart(t, side, SocketType::Sub);
}

fn xsub_resubscribes_after_publisher_restart(t: Transport, side: Side) {
    resubscribes_after_publisher_restart(t, side, SocketType::XSub);
}

/// An oxmq PUB or XPUB and a libzmq SUB subscribed to "t"; the SUB is
/// killed and a new one started (bound on the same endpoint, or connecting
/// again): the publisher must deliver to the new one per its subscription.
/// An XPUB that accepted the subscriber reports the dead one's topic as
/// cancelled and the new one's as subscribed (29/PUBSUB; libzmq does the
/// same). An XPUB that connected is not checked for that: libzmq keeps the
/// queue - and its subscriptions - of a connection it makes across
/// reconnects (29/PUBSUB: "SHALL maintain the queue whether or not the
/// connection is established") and so reports neither.
fn delivers_after_subscriber_restart(t: Transport, side: Side, ox_type: SocketType) {
    let name = format!("{ox_type:?}(oxmq), libzmq SUB restarted, {t:?}, {side:?}");
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, ox_type);
    let (mut peer_args, _ipc) = wire_up(&ox, t, side);
    peer_args.extend(args(&["--subscribe", "t"]));
    let xpub_accepts = ox_type == SocketType::XPub && side == Side::OxmqBinds;

    let mut first = Peer::spawn("SUB", &peer_args);
    if ox_type == SocketType::XPub {
        expect_xpub_msg(&ox, b"\x01t", &format!("{name}: first SUB"));
    }
    Session::new(Publisher::Oxmq(&ox), Subscriber::Pyzmq { peer: &mut first, xsub: false }, &name).await_topic(b"t");
    first.kill();
    drop(first);
    if xpub_accepts {
        expect_xpub_msg(&ox, b"\x00t", &format!("{name}: the killed SUB's topic is cancelled"));
    }

    let mut second = Peer::spawn("SUB", &peer_args);
    if xpub_accepts {
        expect_xpub_msg(&ox, b"\x01t", &format!("{name}: the new SUB's subscription"));
    }
    let mut s = Session::new(Publisher::Oxmq(&ox), Subscriber::Pyzmq { peer: &mut second, xsub: false }, &name);
    s.await_topic(b"t");
    s.check(&[m(&[b"x"]), m(&[b"t1"]), m(&[b"u"]), m(&[b"t2", b"more"])], &[1, 3], "to the new SUB");
}

fn pub_delivers_after_subscriber_restart(t: Transport, side: Side) {
    delivers_after_subscriber_restart(t, side, SocketType::Pub);
}

fn xpub_delivers_after_subscriber_restart(t: Transport, side: Side) {
    delivers_after_subscriber_restart(t, side, SocketType::XPub);
}

interop_matrix!(
    sub_resubscribes_after_publisher_restart,
    xsub_resubscribes_after_publisher_restart,
    pub_delivers_after_subscriber_restart,
    xpub_delivers_after_subscriber_restart,
);

// ---------------------------------------------------------------------------
// A slow subscriber: PUB drops for it, never blocks, and does not starve others
// ---------------------------------------------------------------------------

/// The largest value in a /proc/sys file of numbers (e.g. tcp_wmem's max),
/// or `fallback` if it cannot be read.
fn proc_max(path: &str, fallback: usize) -> usize {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.split_whitespace().filter_map(|n| n.parse().ok()).max())
        .unwrap_or(fallback)
}

/// oxmq PUB (SNDHWM 50) with two libzmq SUBs; one is frozen (SIGSTOP, so
/// neither its application nor its I/O thread reads) while the PUB sends
/// several times more than the HWM and the kernel buffers can hold. The PUB
/// must never block (zmq_socket(3): "The zmq_send() function shall never
/// block for this socket type"), the other SUB must get every message (it
/// reads, and each chunk stays below its HWM), and once thawed the frozen
/// SUB gets a subset of the messages - whole, in order, the rest dropped.
fn slow_subscriber(t: Transport) {
    const HWM: i32 = 50;
    const SIZE: usize = 16 * 1024;
    const CHUNK: usize = 40; // < HWM: the reading subscriber never hits it
    // What can sit between the PUB and the frozen SUB: the PUB's queue,
    // kernel buffers (send side autotuned up to tcp_wmem's max; receive side
    // pinned by the SUB's RCVBUF), oxmq's own write buffer. Send 3x that.
    let kernel = match t {
        Transport::Tcp => proc_max("/proc/sys/net/ipv4/tcp_wmem", 4 << 20) + 2 * 65536,
        Transport::Ipc => proc_max("/proc/sys/net/core/wmem_default", 1 << 20),
        Transport::Inproc => unreachable!("{INPROC_TO_LIBZMQ}"),
    };
    let capacity = HWM as usize * SIZE + kernel + (1 << 20);
    let total = (3 * capacity / SIZE).div_ceil(CHUNK) * CHUNK;

    let ctx = Context::new();
    let publisher = oxmq_socket(&ctx, SocketType::Pub);
    publisher.set_sndhwm(HWM).unwrap();
    let ipc = matches!(t, Transport::Ipc).then(IpcFile::new);
    let local = ipc.as_ref().map_or("tcp://127.0.0.1:*".to_string(), |f| f.endpoint());
    publisher.bind(&local).unwrap();
    let ep = publisher.last_endpoint().unwrap();
    let peer_args = args(&[
        "--connect",
        &ep,
        "--subscribe",
        "",
        "--sockopt",
        &format!("RCVHWM={HWM}"),
        "--sockopt",
        "RCVBUF=65536",
    ]);
    let mut slow = Peer::spawn("SUB", &peer_args);
    let mut fast = Peer::spawn("SUB", &peer_args);
    let name = format!("PUB(oxmq) to a frozen and a reading SUB(libzmq), {t:?}");
    // Both subscribe to everything: publish a probe until each got one.
    let mut joined = [false, false];
    let deadline = Instant::now() + SUBSCRIBE_DEADLINE;
    while joined != [true, true] {
        assert!(Instant::now() < deadline, "{name}: subscribers joined: {joined:?}");
        oxmq_send(&publisher, &m(&[b"~ready"]));
        for (k, peer) in [&mut slow, &mut fast].into_iter().enumerate() {
            if !joined[k] {
                joined[k] = peer.try_recv(20).is_some();
            }
        }
    }
    oxmq_send(&publisher, &m(&[b"~ready/fence"]));
    for peer in [&mut slow, &mut fast] {
        for got in peer.collect(b"~ready/fence") {
            assert_eq!(got, describe_msg(&[b"~ready"]), "{name}: only probes before the fence");
        }
    }

    slow.signal("STOP");
    let message =
        |i: usize| vec![Part::Data(format!("flood {i:06}").into_bytes()), Part::Pattern { size: SIZE, seed: i as u32 }];
    let started = Instant::now();
    for chunk in 0..total / CHUNK {
        for i in chunk * CHUNK..(chunk + 1) * CHUNK {
            match publisher.send_multipart(frames(&message(i))) {
                Ok(()) => {}
                Err(e) => panic!("{name}: PUB send {i} of {total} failed ({e:?}); a PUB must drop, not block"),
            }
        }
        let fence = format!("~fence{chunk}").into_bytes();
        oxmq_send(&publisher, &m(&[&fence]));
        let got = fast.collect(&fence);
        let want: Vec<Vec<String>> =
            (chunk * CHUNK..(chunk + 1) * CHUNK).map(|i| describe_parts(&message(i))).collect();
        assert!(
            got == want,
            "{name}: the reading SUB lost messages while the other was frozen (chunk {chunk}: got {} of {CHUNK})",
            got.len()
        );
    }
    let flood_time = started.elapsed();

    // Thaw the frozen SUB and read what it has, publishing an end marker
    // whenever it goes quiet (the first ones may still be dropped).
    slow.signal("CONT");
    slow.start_collect(b"~end");
    let mut received: Vec<Vec<String>> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match slow.try_read_line(Duration::from_millis(20)) {
            Some(line) if line.starts_with("msg ") => received.push(line[4..].split(' ').map(str::to_string).collect()),
            Some(line) if line == format!("ok collected {}", received.len()) => break,
            Some(line) => panic!("{name}: unexpected line from the thawed SUB: {line:?}"),
            None => oxmq_send(&publisher, &m(&[b"~end"])),
        }
        assert!(Instant::now() < deadline, "{name}: the thawed SUB did not catch up within 20 s");
    }
    // Whole messages, in order, a strict subset: drops happened. (It also
    // gets the markers: "~ready..." probes and fences, "~fence<chunk>".)
    let is_marker =
        |msg: &[String]| msg.len() == 1 && msg[0].starts_with("b64:") && unbase64(&msg[0][4..]).starts_with(b"~");
    received.retain(|msg| !is_marker(msg));
    let mut next = 0;
    for (k, msg) in received.iter().enumerate() {
        let index = (next..total).find(|&i| describe_parts(&message(i)) == *msg);
        let Some(i) = index else {
            panic!(
                "{name}: thawed SUB message {k} is not one of the flood messages after #{next}: {:?}",
                render_msg(msg)
            )
        };
        next = i + 1;
    }
    assert!(
        !received.is_empty() && received.len() < total,
        "{name}: the frozen SUB got {} of {total} messages; expected some, with drops",
        received.len()
    );
    // It is an ordinary subscriber again.
    let fence = b"~drained".to_vec();
    oxmq_send(&publisher, &m(&[&fence]));
    for extra in slow.collect(&fence) {
        assert_eq!(extra, describe_msg(&[b"~end"]), "{name}: only end markers after the end marker");
    }
    let mut s = Session::new(Publisher::Oxmq(&publisher), Subscriber::Pyzmq { peer: &mut slow, xsub: false }, &name);
    s.await_topic(b"~again");
    s.check(&[m(&[b"after"]), message(0)], &[0, 1], "the thawed SUB receives everything again");
    eprintln!("{name}: {total} x {SIZE} B sent in {flood_time:?}; the frozen SUB got {} of them", received.len());
}

#[test]
fn pub_drops_for_frozen_subscriber_tcp() {
    run_test(|| slow_subscriber(Transport::Tcp));
}

#[test]
fn pub_drops_for_frozen_subscriber_ipc() {
    run_test(|| slow_subscriber(Transport::Ipc));
}

// ---------------------------------------------------------------------------
// Hand-written ZMTP 3.0 / 3.1 peers: the subscription bytes on the wire
// ---------------------------------------------------------------------------
//
// pyzmq always speaks ZMTP 3.1, so these peers are written here: a greeting
// with the chosen minor version, READY, then raw frames. What they expect
// was checked against libzmq 4.3.5 (and the `*_libzmq_control` tests keep
// checking it): its SUB sends subscriptions to a 3.0 peer as messages
// "\x01topic" / "\x00topic", to a 3.1 peer as SUBSCRIBE / CANCEL commands;
// its XSUB sends them as messages to both; its XPUB accepts every form.

mod raw {
    use std::io::{Read, Write};
    use std::net::{TcpListener, TcpStream};
    use std::sync::mpsc::{self, Receiver, RecvTimeoutError};
    use std::time::{Duration, Instant};

    pub const MORE: u8 = 1;
    pub const LONG: u8 = 2;
    pub const COMMAND: u8 = 4;

    /// A frame as it was on the wire: flags (with LONG) and body.
    pub type Frame = (u8, Vec<u8>);

    pub fn encode(flags: u8, body: &[u8]) -> Vec<u8> {
        let mut out = Vec::with_capacity(body.len() + 9);
        if body.len() > 255 {
            out.push(flags | LONG);
            out.extend_from_slice(&(body.len() as u64).to_be_bytes());
        } else {
            out.push(flags);
            out.push(body.len() as u8);
        }
        out.extend_from_slice(body);
        out
    }

    /// `frame` as the wire carries it: LONG set when the body needs it.
    pub fn framed(flags: u8, body: &[u8]) -> Frame {
        (if body.len() > 255 { flags | LONG } else { flags }, body.to_vec())
    }

    pub fn show(frame: &Frame) -> String {
        let body = if frame.1.len() > 40 {
            format!("{}... ({} bytes)", frame.1[..40].escape_ascii(), frame.1.len())
        } else {
            frame.1.escape_ascii().to_string()
        };
        format!("flags {:#04x} \"{body}\"", frame.0)
    }

    fn read_frame(s: &mut TcpStream) -> std::io::Result<Frame> {
        let mut flags = [0u8; 1];
        s.read_exact(&mut flags)?;
        let size = if flags[0] & LONG != 0 {
            let mut n = [0u8; 8];
            s.read_exact(&mut n)?;
            u64::from_be_bytes(n) as usize
        } else {
            let mut n = [0u8; 1];
            s.read_exact(&mut n)?;
            n[0] as usize
        };
        if size > 1 << 26 {
            // Not a size any test sends: the stream is out of step.
            return Err(std::io::Error::other(format!("implausible frame size {size} (flags {:#04x})", flags[0])));
        }
        let mut body = vec![0u8; size];
        s.read_exact(&mut body)?;
        Ok((flags[0], body))
    }

    pub struct RawPeer {
        stream: TcpStream,
        frames: Receiver<Frame>,
        /// The Socket-Type the other side announced in READY.
        pub socket_type: String,
        pub name: String,
    }

    impl RawPeer {
        /// Connects to a tcp endpoint of the socket under test.
        pub fn connect(endpoint: &str, minor: u8, socket_type: &str, name: &str) -> RawPeer {
            let addr = endpoint.strip_prefix("tcp://").expect("a tcp endpoint");
            let stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("{name}: connect {addr}: {e}"));
            RawPeer::handshake(stream, minor, socket_type, name)
        }

        /// Accepts one connection (the socket under test connects to us).
        pub fn accept(listener: &TcpListener, minor: u8, socket_type: &str, name: &str) -> RawPeer {
            listener.set_nonblocking(true).unwrap();
            let deadline = Instant::now() + Duration::from_secs(10);
            loop {
                match listener.accept() {
                    Ok((stream, _)) => {
                        stream.set_nonblocking(false).unwrap();
                        return RawPeer::handshake(stream, minor, socket_type, name);
                    }
                    Err(e) if e.kind() == std::io::ErrorKind::WouldBlock && Instant::now() < deadline => {
                        std::thread::sleep(Duration::from_millis(5)); // bounded polling
                    }
                    Err(e) => panic!("{name}: no connection to accept within 10 s: {e}"),
                }
            }
        }

        /// Greeting (version 3.`minor`, NULL) and READY both ways.
        fn handshake(mut stream: TcpStream, minor: u8, socket_type: &str, name: &str) -> RawPeer {
            stream.set_nodelay(true).unwrap();
            stream.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut greeting = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, minor];
            greeting.extend_from_slice(b"NULL");
            greeting.resize(64, 0);
            let mut ready = b"\x05READY\x0bSocket-Type".to_vec();
            ready.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
            ready.extend_from_slice(socket_type.as_bytes());
            greeting.extend_from_slice(&encode(COMMAND, &ready));
            stream.write_all(&greeting).unwrap_or_else(|e| panic!("{name}: write greeting: {e}"));

            let mut theirs = vec![0u8; 64];
            stream.read_exact(&mut theirs).unwrap_or_else(|e| panic!("{name}: read the greeting: {e}"));
            assert!(theirs[0] == 0xFF && theirs[9] == 0x7F && theirs[10] == 3, "{name}: greeting {theirs:?}");
            let (flags, body) = read_frame(&mut stream).unwrap_or_else(|e| panic!("{name}: read READY: {e}"));
            assert!(flags & COMMAND != 0 && body.starts_with(b"\x05READY"), "{name}: expected READY, got {flags:#x}");
            // Properties: name (1 byte length) and value (4 byte length).
            let mut props = &body[6..];
            let mut socket_type = String::new();
            while !props.is_empty() {
                let n = props[0] as usize;
                let key = String::from_utf8_lossy(&props[1..1 + n]).to_string();
                let len = u32::from_be_bytes(props[1 + n..5 + n].try_into().unwrap()) as usize;
                if key.eq_ignore_ascii_case("Socket-Type") {
                    socket_type = String::from_utf8_lossy(&props[5 + n..5 + n + len]).to_string();
                }
                props = &props[5 + n + len..];
            }

            stream.set_read_timeout(None).unwrap();
            let mut reader = stream.try_clone().unwrap();
            let (tx, frames) = mpsc::channel();
            std::thread::spawn(move || {
                loop {
                    match read_frame(&mut reader) {
                        Ok(frame) => {
                            if tx.send(frame).is_err() {
                                break;
                            }
                        }
                        Err(e) if e.kind() == std::io::ErrorKind::Other => {
                            // Reported as a frame no test expects.
                            let _ = tx.send((0xFF, format!("READ ERROR: {e}").into_bytes()));
                            break;
                        }
                        Err(_) => break,
                    }
                }
            });
            RawPeer { stream, frames, socket_type, name: name.to_string() }
        }

        pub fn send_frame(&mut self, flags: u8, body: &[u8]) {
            self.stream.write_all(&encode(flags, body)).unwrap_or_else(|e| panic!("{}: write: {e}", self.name));
        }

        pub fn send_msg(&mut self, frames: &[&[u8]]) {
            for (i, body) in frames.iter().enumerate() {
                self.send_frame(if i + 1 < frames.len() { MORE } else { 0 }, body);
            }
        }

        /// The next frame within `timeout`, calling `poke` meanwhile (an
        /// oxmq or libzmq socket may only attach a new connection inside a
        /// call on it).
        pub fn next_frame(&mut self, timeout: Duration, mut poke: impl FnMut()) -> Option<Frame> {
            let deadline = Instant::now() + timeout;
            loop {
                poke();
                match self.frames.recv_timeout(Duration::from_millis(10)) {
                    Ok(frame) => return Some(frame),
                    Err(RecvTimeoutError::Timeout) if Instant::now() < deadline => {}
                    Err(_) => return None,
                }
            }
        }

        #[track_caller]
        pub fn expect_frame(&mut self, want: Frame, what: &str, poke: impl FnMut()) {
            match self.next_frame(Duration::from_secs(5), poke) {
                Some(got) if got == want => {}
                Some(got) => panic!("{}: {what}: got {}, expected {}", self.name, show(&got), show(&want)),
                None => panic!("{}: {what}: nothing within 5 s, expected {}", self.name, show(&want)),
            }
        }
    }
}

use raw::{COMMAND, MORE, RawPeer, framed};

/// The frame a SUB sends a ZMTP 3.`minor` peer to (un)subscribe `topic`.
fn sub_frame(minor: u8, subscribe: bool, topic: &[u8]) -> raw::Frame {
    if minor == 0 {
        framed(0, &with_cmd(u8::from(subscribe), topic))
    } else {
        let mut body = if subscribe { b"\x09SUBSCRIBE".to_vec() } else { b"\x06CANCEL".to_vec() };
        body.extend_from_slice(topic);
        framed(COMMAND, &body)
    }
}

/// A SUB (oxmq, or libzmq as the control) subscribed to "abc" before
/// connecting, and a raw PUB speaking ZMTP 3.`minor`: the exact
/// subscription frames (short and long), then receive-side filtering (a
/// 3.0 publisher need not filter; libzmq's SUB filters what it receives,
/// zmq_setsockopt(3) ZMQ_SUBSCRIBE).
fn sub_to_raw_publisher(minor: u8, libzmq: bool, side: Side) {
    let who = if libzmq { "libzmq SUB (control)" } else { "oxmq SUB" };
    let name = format!("{who} <-> raw ZMTP 3.{minor} PUB, {side:?}");
    let long_topic = vec![b'L'; 300];
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, SocketType::Sub);
    ox.subscribe("abc").unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let listen_ep = format!("tcp://{}", listener.local_addr().unwrap());
    let mut py;
    let (mut rawp, mut sub) = if libzmq {
        py = Peer::spawn("SUB", &args(&["--connect", &listen_ep, "--subscribe", "abc"]));
        (RawPeer::accept(&listener, minor, "PUB", &name), Subscriber::Pyzmq { peer: &mut py, xsub: false })
    } else if side == Side::OxmqConnects {
        ox.connect(&listen_ep).unwrap();
        (RawPeer::accept(&listener, minor, "PUB", &name), Subscriber::Oxmq(&ox))
    } else {
        ox.bind("tcp://127.0.0.1:*").unwrap();
        (RawPeer::connect(&ox.last_endpoint().unwrap(), minor, "PUB", &name), Subscriber::Oxmq(&ox))
    };
    assert_eq!(rawp.socket_type, "SUB", "{name}: Socket-Type in READY");
    let poke = || {
        if !libzmq {
            assert!(matches!(ox.try_recv(), Err(oxmq::Error::Again)), "nothing to receive yet");
        }
    };
    rawp.expect_frame(sub_frame(minor, true, b"abc"), "subscription made before connecting", poke);
    sub.subscribe(&long_topic);
    rawp.expect_frame(sub_frame(minor, true, &long_topic), "a 300 byte topic (long frame)", poke);
    sub.subscribe(b"");
    rawp.expect_frame(sub_frame(minor, true, b""), "the empty prefix", poke);
    sub.unsubscribe(b"");
    rawp.expect_frame(sub_frame(minor, false, b""), "cancel of the empty prefix", poke);
    sub.unsubscribe(&long_topic);
    rawp.expect_frame(sub_frame(minor, false, &long_topic), "cancel of the 300 byte topic", poke);
    // Around the short/long frame boundary (a body of 255 / 256 bytes):
    // 1 + topic for a message, 10 ("\x09SUBSCRIBE") or 7 ("\x06CANCEL") +
    // topic for a command.
    for len in [245, 246, 248, 249, 254, 255] {
        if libzmq && minor == 0 && len == 255 {
            // libzmq 4.3.5 gets this one wrong: to a 3.0 peer it sends the
            // 256 byte message as flags 0x00 (no LONG bit) followed by an
            // 8 byte size. Its 3.1 commands are framed right.
            continue;
        }
        let topic = vec![b'B'; len];
        sub.subscribe(&topic);
        rawp.expect_frame(sub_frame(minor, true, &topic), &format!("subscribe a {len} byte topic"), poke);
        sub.unsubscribe(&topic);
        rawp.expect_frame(sub_frame(minor, false, &topic), &format!("cancel a {len} byte topic"), poke);
    }

    rawp.send_msg(&[b"abc1"]);
    rawp.send_msg(&[b"zzz"]);
    rawp.send_msg(&[b"abc2", b"more"]);
    rawp.send_msg(&[b"ab"]);
    rawp.send_msg(&[&long_topic]);
    rawp.send_msg(&[b"abc-fence"]);
    let got = sub.collect(b"abc-fence");
    let want = vec![describe_msg(&[b"abc1"]), describe_msg(&[&b"abc2"[..], b"more"])];
    assert_eq!(got, want, "{name}: what the SUB delivers of what the raw PUB sent");
}

#[test]
fn zmtp30_publisher_gets_sub_subscriptions_as_messages() {
    run_without_python(|| {
        sub_to_raw_publisher(0, false, Side::OxmqConnects);
        sub_to_raw_publisher(0, false, Side::OxmqBinds);
    });
}

#[test]
fn zmtp31_publisher_gets_sub_subscriptions_as_commands() {
    run_without_python(|| {
        sub_to_raw_publisher(1, false, Side::OxmqConnects);
        sub_to_raw_publisher(1, false, Side::OxmqBinds);
    });
}

#[test]
fn zmtp_publisher_gets_sub_subscriptions_libzmq_control() {
    run_test(|| {
        sub_to_raw_publisher(0, true, Side::OxmqConnects);
        sub_to_raw_publisher(1, true, Side::OxmqConnects);
    });
}

/// An oxmq XSUB and a raw PUB: "\x01topic" / "\x00topic" messages the
/// application sends go out as messages to a 3.0 peer; to a 3.1 peer as
/// SUBSCRIBE / CANCEL commands (37/ZMTP) or as the same messages (what
/// libzmq 4.3.5's XSUB sends; every libzmq publisher accepts both).
/// Other messages go to the publisher unchanged (29/PUBSUB).
fn xsub_to_raw_publisher(minor: u8) {
    let name = format!("oxmq XSUB -> raw ZMTP 3.{minor} PUB");
    let ctx = Context::new();
    let xsub = oxmq_socket(&ctx, SocketType::XSub);
    xsub.bind("tcp://127.0.0.1:*").unwrap();
    let mut rawp = RawPeer::connect(&xsub.last_endpoint().unwrap(), minor, "PUB", &name);
    assert_eq!(rawp.socket_type, "XSUB", "{name}: Socket-Type in READY");
    let long_topic = vec![b'L'; 300];
    let cases: [(bool, &[u8]); 4] = [(true, b"abc"), (true, &long_topic), (false, b"abc"), (true, b"")];
    // The XSUB may attach the connection only inside a call on it.
    let poke = || assert!(matches!(xsub.try_recv(), Err(oxmq::Error::Again)), "{name}: nothing to receive");
    for (subscribe, topic) in cases {
        oxmq_send(&xsub, &subscription_msg(subscribe, topic));
        let what = format!("{} {:?}", if subscribe { "subscribe" } else { "cancel" }, render(&describe(topic)));
        let got = rawp.next_frame(Duration::from_secs(5), poke).unwrap_or_else(|| panic!("{name}: {what}: nothing"));
        let as_msg = framed(0, &with_cmd(u8::from(subscribe), topic));
        let ok = got == as_msg || (minor == 1 && got == sub_frame(1, subscribe, topic));
        assert!(ok, "{name}: {what}: got {}", raw::show(&got));
        if topic == b"abc" && subscribe {
            eprintln!("{name}: a subscription travels as {}", if got == as_msg { "a message" } else { "a command" });
        }
    }
    oxmq_send(&xsub, &m(&[b"hello", b"upstream"]));
    rawp.expect_frame((MORE, b"hello".to_vec()), "a plain message, first frame", || {});
    rawp.expect_frame((0, b"upstream".to_vec()), "a plain message, last frame", || {});
}

#[test]
fn zmtp_publisher_gets_xsub_subscriptions() {
    run_without_python(|| {
        xsub_to_raw_publisher(0);
        xsub_to_raw_publisher(1);
    });
}

/// How a raw subscriber subscribes: ZMTP 3.0 and 3.1 messages, 3.1 commands.
#[derive(Clone, Copy, Debug)]
enum Form {
    Zmtp30Message,
    Zmtp31Message,
    Zmtp31Command,
}

impl Form {
    fn minor(self) -> u8 {
        if matches!(self, Form::Zmtp30Message) { 0 } else { 1 }
    }

    fn send(self, rawp: &mut RawPeer, subscribe: bool, topic: &[u8]) {
        let (flags, body) = match self {
            Form::Zmtp31Command => sub_frame(1, subscribe, topic),
            _ => framed(0, &with_cmd(u8::from(subscribe), topic)),
        };
        rawp.send_frame(flags & !raw::LONG, &body);
    }
}

/// A raw SUB subscribing in `form` to an oxmq XPUB, PUB, or a libzmq XPUB
/// (control): the XPUB application sees "\x01abc" / "\x00abc", and the
/// publisher filters by what the raw SUB asked for.
fn raw_subscriber(form: Form, publisher_type: SocketType, libzmq: bool) {
    let who = if libzmq { format!("libzmq {publisher_type:?} (control)") } else { format!("oxmq {publisher_type:?}") };
    let name = format!("raw SUB ({form:?}) -> {who}");
    let long_topic = vec![b'L'; 300];
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, publisher_type);
    let py: RefCell<Option<Peer>> = RefCell::new(None);
    let endpoint = if libzmq {
        let peer = Peer::spawn("XPUB", &args(&["--bind", "tcp://127.0.0.1:*"]));
        let ep = peer.endpoint.clone();
        *py.borrow_mut() = Some(peer);
        ep
    } else {
        ox.bind("tcp://127.0.0.1:*").unwrap();
        ox.last_endpoint().unwrap()
    };
    let mut rawp = RawPeer::connect(&endpoint, form.minor(), "SUB", &name);
    let is_xpub = publisher_type == SocketType::XPub;
    let publish = |msg: &[&[u8]]| match py.borrow_mut().as_mut() {
        Some(peer) => peer.send(&m(msg)),
        None => oxmq_send(&ox, &m(msg)),
    };
    // What the XPUB application receives next (nothing to check on a PUB).
    let xpub_msg = |want: &[u8], what: &str| match py.borrow_mut().as_mut() {
        Some(peer) => assert_peer_got(&peer.recv(), &m(&[want]), &format!("{name}: {what}")),
        None if is_xpub => expect_xpub_msg(&ox, want, &format!("{name}: {what}")),
        None => {}
    };

    form.send(&mut rawp, true, b"abc");
    xpub_msg(b"\x01abc", "subscribe \"abc\"");
    form.send(&mut rawp, true, &long_topic);
    xpub_msg(&with_cmd(1, &long_topic), "subscribe a 300 byte topic");
    // Around the short/long frame boundary of messages and commands.
    for len in [245, 246, 248, 249, 254, 255] {
        let topic = vec![b'B'; len];
        form.send(&mut rawp, true, &topic);
        xpub_msg(&with_cmd(1, &topic), &format!("subscribe a {len} byte topic"));
        form.send(&mut rawp, false, &topic);
        xpub_msg(&with_cmd(0, &topic), &format!("cancel a {len} byte topic"));
    }
    // Publish probes until the subscription is in effect (a PUB tells no other way).
    let deadline = Instant::now() + SUBSCRIBE_DEADLINE;
    loop {
        publish(&[b"abc-probe"]);
        if rawp.next_frame(Duration::from_millis(20), || {}).is_some() {
            break;
        }
        assert!(Instant::now() < deadline, "{name}: subscription \"abc\" not in effect within {SUBSCRIBE_DEADLINE:?}");
    }
    let mut long_match = long_topic.clone();
    long_match.push(b'!');
    for msg in [&[&b"abc1"[..]][..], &[b"zzz"], &[b"abc2", b"more"], &[b"ab"], &[&long_match], &[b"abc-fence"]] {
        publish(msg);
    }
    let mut got = Vec::new();
    loop {
        let frame = rawp.next_frame(Duration::from_secs(5), || {}).unwrap_or_else(|| panic!("{name}: no fence"));
        if frame.1 == b"abc-fence" {
            break;
        }
        if frame.1 != b"abc-probe" {
            got.push(raw::show(&frame));
        }
    }
    let want: Vec<String> = [framed(0, b"abc1"), framed(MORE, b"abc2"), framed(0, b"more"), framed(0, &long_match)]
        .iter()
        .map(raw::show)
        .collect();
    assert_eq!(got, want, "{name}: frames the raw SUB received");

    form.send(&mut rawp, false, b"abc");
    xpub_msg(b"\x00abc", "cancel \"abc\"");
    form.send(&mut rawp, true, b"z");
    xpub_msg(b"\x01z", "subscribe \"z\"");
    let deadline = Instant::now() + SUBSCRIBE_DEADLINE;
    loop {
        publish(&[b"abc-late"]);
        publish(&[b"z1"]);
        let frame = rawp.next_frame(Duration::from_millis(20), || {});
        match frame {
            Some(frame) if frame.1 == b"z1" => break,
            Some(frame) if frame.1 == b"abc-late" && !is_xpub => {} // the PUB had not seen the cancel yet
            Some(frame) => panic!("{name}: after cancelling \"abc\": got {}", raw::show(&frame)),
            None => assert!(Instant::now() < deadline, "{name}: subscription \"z\" not in effect"),
        }
    }
}

#[test]
fn zmtp_subscribers_accepted_by_xpub() {
    run_without_python(|| {
        for form in [Form::Zmtp30Message, Form::Zmtp31Message, Form::Zmtp31Command] {
            raw_subscriber(form, SocketType::XPub, false);
        }
    });
}

#[test]
fn zmtp_subscribers_accepted_by_pub() {
    run_without_python(|| {
        for form in [Form::Zmtp30Message, Form::Zmtp31Message, Form::Zmtp31Command] {
            raw_subscriber(form, SocketType::Pub, false);
        }
    });
}

#[test]
fn zmtp_subscribers_accepted_by_xpub_libzmq_control() {
    run_test(|| {
        for form in [Form::Zmtp30Message, Form::Zmtp31Message, Form::Zmtp31Command] {
            raw_subscriber(form, SocketType::XPub, true);
        }
    });
}

// ---------------------------------------------------------------------------
// XPUB_WELCOME_MSG and INVERT_MATCHING across implementations
// ---------------------------------------------------------------------------

/// Receives from an oxmq socket until `fence` (first frame); returns the
/// messages before it.
fn oxmq_collect(s: &Socket, fence: &[u8]) -> Vec<Vec<String>> {
    Subscriber::Oxmq(s).collect(fence)
}

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

// ---------------------------------------------------------------------------
// A publisher that connects keeps its subscriber's queue while it is away
// ---------------------------------------------------------------------------

/// oxmq PUB/XPUB connects to a libzmq SUB (subscribed to "t") bound on a
/// fixed endpoint; the SUB is killed, and once oxmq reports the
/// disconnection (monitor) messages are published; a new SUB on the same
/// endpoint must get the matching ones. 29/PUBSUB: a PUB/XPUB "SHALL create
/// a queue when initiating an outgoing connection to a subscriber, and
/// SHALL maintain the queue whether or not the connection is established",
/// and with the queue its subscriptions: libzmq 4.3.5 delivers exactly
/// these messages in this scenario.
fn publisher_keeps_queue_while_subscriber_away(t: Transport, ox_type: SocketType) {
    let name = format!("{ox_type:?}(oxmq) connecting to a libzmq SUB that restarts, {t:?}");
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, ox_type);
    let monitor = ox.monitor(oxmq::Event::Disconnected).unwrap();
    let (mut peer_args, _ipc) = wire_up(&ox, t, Side::OxmqConnects);
    peer_args.extend(args(&["--subscribe", "t"]));
    let mut first = Peer::spawn("SUB", &peer_args);
    Session::new(Publisher::Oxmq(&ox), Subscriber::Pyzmq { peer: &mut first, xsub: false }, &name).await_topic(b"t");
    first.kill();
    drop(first);
    let gone = monitor.recv_timeout(SUBSCRIBE_DEADLINE);
    assert!(gone.is_some(), "{name}: no DISCONNECTED within {SUBSCRIBE_DEADLINE:?} of killing the SUB");

    let away = [m(&[b"t away 1"]), m(&[b"x away"]), m(&[b"t away 2", b"more"])];
    for msg in &away {
        oxmq_send(&ox, msg);
    }
    let mut second = Peer::spawn("SUB", &peer_args);
    let mut s = Session::new(Publisher::Oxmq(&ox), Subscriber::Pyzmq { peer: &mut second, xsub: false }, &name);
    // The queued messages come first, then (once the new SUB's own
    // subscription is in) the probes.
    s.tag = b"t".to_vec();
    let fence = s.fence();
    oxmq_send(&ox, &m(&[&fence]));
    let got = s.subscriber.collect(&fence);
    let want = [describe_parts(&away[0]), describe_parts(&away[2])];
    assert_eq!(
        got.iter().map(|g| render_msg(g)).collect::<Vec<_>>(),
        want.iter().map(|w| render_msg(w)).collect::<Vec<_>>(),
        "{name}: what the new SUB got of the messages published while none was connected"
    );
}

#[test]
fn pub_keeps_queue_while_subscriber_away() {
    run_test(|| {
        publisher_keeps_queue_while_subscriber_away(Transport::Tcp, SocketType::Pub);
        publisher_keeps_queue_while_subscriber_away(Transport::Ipc, SocketType::Pub);
    });
}

#[test]
fn xpub_keeps_queue_while_subscriber_away() {
    run_test(|| {
        publisher_keeps_queue_while_subscriber_away(Transport::Tcp, SocketType::XPub);
        publisher_keeps_queue_while_subscriber_away(Transport::Ipc, SocketType::XPub);
    });
}
