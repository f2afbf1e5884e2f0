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
//!   XPUB_VERBOSER also every unsubscription.
//! * 29/PUBSUB: a subscriber's subscriptions are re-sent on every new
//!   connection; XPUB reports a subscriber that disconnects as unsubscribes;
//!   PUB keeps the queue of a subscriber it connects to while the
//!   connection is down.
//! * 23/ZMTP and 37/ZMTP: to a ZMTP 3.0 peer a subscription is a message
//!   whose first byte is 1 (0 cancels); to a 3.1 peer a SUBSCRIBE / CANCEL
//!   command. A 3.1 publisher accepts both forms.
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

#[macro_use]
mod interop;

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
                    let Some(msg) = oxmq_try_recv(s, OX_TIMEOUT_MS) else {
                        panic!(
                            "oxmq {:?}: fence {:?} not received within {OX_TIMEOUT_MS} ms; got before it: {:?}",
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
    match oxmq_try_recv(xpub, OX_TIMEOUT_MS) {
        Some(got) => assert_oxmq_got(&got, &m(&[want]), context),
        None => {
            panic!("{context}: oxmq XPUB got nothing within {OX_TIMEOUT_MS} ms, expected {}", render(&describe(want)))
        }
    }
}

/// The next `want.len()` messages, in any order (a closing subscriber's
/// cancels come in no particular order), then nothing more for a moment.
#[track_caller]
fn expect_xpub_msgs_any_order(xpub: &Socket, want: &[&[u8]], context: &str) {
    let mut got: Vec<String> = (0..want.len())
        .map(|i| match oxmq_try_recv(xpub, OX_TIMEOUT_MS) {
            Some(msg) if msg.len() == 1 => describe(&msg[0]),
            Some(msg) => {
                panic!("{context}: a subscription message has one frame, got {:?}", render_msg(&describe_msg(&msg)))
            }
            None => panic!("{context}: got {i} of {} messages within {OX_TIMEOUT_MS} ms", want.len()),
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

/// An endpoint a restarted peer can bind again (a free tcp port, or an ipc
/// path removed at the end).
fn fixed_endpoint(t: Transport) -> (String, Option<IpcFile>) {
    match t {
        Transport::Ipc => {
            let f = IpcFile::new();
            (f.endpoint(), Some(f))
        }
        Transport::Tcp => {
            let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            (format!("tcp://127.0.0.1:{}", probe.local_addr().unwrap().port()), None)
        }
    }
}

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
