//! What the publish-subscribe interop tests (`interop_pubsub_*.rs`) share: either end of a
//! publish-subscribe link, whichever implementation it is, and a `Session` of one publisher and
//! one subscriber with the fence and sync helpers.
//!
//! Where the exact sequence of subscription messages matters, the expected behaviour was
//! checked against libzmq 4.3.5 itself (the same scenario with a pyzmq XPUB), so what is
//! asserted is what libzmq does.
//!
//! Slow joiners: a subscription takes a moment to reach the publisher, and a publisher drops
//! what nobody has subscribed to yet. `Session::sync` subscribes to a fresh marker topic and
//! publishes it until it arrives; subscription changes travel in order on a connection, so
//! after that every earlier change is known to the publisher too. "Must not arrive" is checked
//! without sleeping: the publisher sends a fence message after the ones under test, and the
//! subscriber must get exactly the expected messages before the fence (messages on one
//! connection stay in order).
#![allow(dead_code)] // each test crate uses a different subset

use std::time::{Duration, Instant};

use oxmq::{Socket, SocketType};

use crate::interop::*;

// ---------------------------------------------------------------------------
// Either end of a publish-subscribe link, whichever implementation it is
// ---------------------------------------------------------------------------

/// How long a subscription may take to reach the publisher.
pub const SUBSCRIBE_DEADLINE: Duration = Duration::from_secs(10);

pub enum Publisher<'a> {
    Oxmq(&'a Socket),
    Pyzmq(&'a mut Peer),
}

impl Publisher<'_> {
    pub fn publish(&mut self, msg: &[Part]) {
        match self {
            Publisher::Oxmq(s) => oxmq_send(s, msg),
            Publisher::Pyzmq(p) => p.send(msg),
        }
    }
}

/// SUB subscribes with the socket option, XSUB by sending "\x01topic".
pub enum Subscriber<'a> {
    Oxmq(&'a Socket),
    Pyzmq { peer: &'a mut Peer, xsub: bool },
}

/// The message an XSUB sends to (un)subscribe: 1 or 0, then the topic.
pub fn subscription_msg(subscribe: bool, topic: &[u8]) -> Vec<Part> {
    let mut frame = vec![u8::from(subscribe)];
    frame.extend_from_slice(topic);
    vec![Part::Data(frame)]
}

impl Subscriber<'_> {
    pub fn subscribe(&mut self, topic: &[u8]) {
        self.change(true, topic);
    }

    pub fn unsubscribe(&mut self, topic: &[u8]) {
        self.change(false, topic);
    }

    pub fn change(&mut self, subscribe: bool, topic: &[u8]) {
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

    pub fn try_recv(&mut self, timeout_ms: u64) -> Option<Vec<String>> {
        match self {
            Subscriber::Oxmq(s) => oxmq_try_recv(s, timeout_ms as i32).map(|msg| describe_msg(&msg)),
            Subscriber::Pyzmq { peer, .. } => peer.try_recv(timeout_ms),
        }
    }

    /// Every message before the first one whose first frame is `fence`.
    pub fn collect(&mut self, fence: &[u8]) -> Vec<Vec<String>> {
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
pub struct Session<'a> {
    pub publisher: Publisher<'a>,
    pub subscriber: Subscriber<'a>,
    pub name: String,
    /// The latest marker topic `sync` subscribed to; fences start with it.
    pub tag: Vec<u8>,
    pub round: usize,
}

impl<'a> Session<'a> {
    pub fn new(publisher: Publisher<'a>, subscriber: Subscriber<'a>, name: &str) -> Session<'a> {
        Session { publisher, subscriber, name: name.to_string(), tag: Vec::new(), round: 0 }
    }

    pub fn fence(&mut self) -> Vec<u8> {
        self.round += 1;
        let mut fence = self.tag.clone();
        fence.extend_from_slice(format!("fence{}", self.round).as_bytes());
        fence
    }

    /// Subscribes to a fresh marker topic and publishes it until it arrives,
    /// then drains the extra copies: afterwards the publisher knows every
    /// subscription change the subscriber made before.
    pub fn sync(&mut self) {
        self.round += 1;
        let tag = format!("~sync{}/", self.round).into_bytes();
        self.subscriber.subscribe(&tag);
        self.await_topic(&tag);
    }

    /// Publishes `tag` until the subscriber gets it, then drains the extra
    /// copies; fences then start with `tag`, so `tag` must stay subscribed.
    pub fn await_topic(&mut self, tag: &[u8]) {
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
    pub fn sync_cancel(&mut self, probe: &[u8]) {
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
    pub fn check(&mut self, msgs: &[Vec<Part>], expected: &[usize], what: &str) {
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

impl Session<'_> {
    pub fn subscribe_all(&mut self, topics: &[&[u8]]) {
        for topic in topics {
            self.subscriber.subscribe(topic);
        }
    }
}

pub fn with_cmd(cmd: u8, topic: &[u8]) -> Vec<u8> {
    let mut v = vec![cmd];
    v.extend_from_slice(topic);
    v
}

/// The next message on an oxmq XPUB must be the subscription message `want`.
#[track_caller]
pub fn expect_xpub_msg(xpub: &Socket, want: &[u8], context: &str) {
    match oxmq_try_recv(xpub, TIMEO_MS) {
        Some(got) => assert_oxmq_got(&got, &m(&[want]), context),
        None => {
            panic!("{context}: oxmq XPUB got nothing within {TIMEO_MS} ms, expected {}", render(&describe(want)))
        }
    }
}
