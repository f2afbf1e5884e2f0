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
use oxmq::{Socket, SocketType};

/// How long a subscription may take to reach the publisher.
const SUBSCRIBE_DEADLINE: Duration = Duration::from_secs(10);

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
