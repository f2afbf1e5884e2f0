//! Publish-subscribe between oxmq sockets: PUB, SUB, XPUB, XSUB over every transport.
//!
//! A subscription takes a moment to reach the publisher, and a publisher drops what nobody
//! has subscribed to yet, so tests first wait until the subscription is known: an XPUB sees
//! it arrive; a PUB publishes a probe until the subscriber gets one.

mod common_sem;

use std::time::Duration;

use common_sem::*;
use oxmq::{Context, Error, Socket, SocketType};

/// Publish `probe` until `sub` receives it, then drain: the subscription for it has arrived.
fn await_subscription(publisher: &Socket, sub: &Socket, probe: &[u8]) {
    let got = retry_until(Duration::from_secs(5), || {
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
        expect_nothing(&sub, QUIET_MS);
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
        expect_nothing(&sub, QUIET_MS);
        // The subscriber leaving cancels its topics.
        drop(sub);
        expect_msg(&xpub, &[b"\x00b"]);
    }
}
