//! Closing a socket and terminating its context do not wait on peers that have nothing to
//! receive.

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use oxmq::{Context, Pull};

#[test]
fn term_does_not_wait_for_a_peer_stuck_in_its_handshake() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut raw = TcpStream::connect(ep.trim_start_matches("tcp://")).unwrap();
    raw.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    // oxmq's greeting arrives once the connection is accepted; we never answer it.
    let mut greeting = [0u8; 64];
    raw.read_exact(&mut greeting).unwrap();
    drop(pull);
    let start = Instant::now();
    ctx.term();
    // HANDSHAKE_IVL is 30 s: term must not wait for it.
    assert!(start.elapsed() < Duration::from_secs(10), "term took {:?}", start.elapsed());
}

#[test]
fn a_reply_sent_just_before_the_peer_closes_is_delivered() {
    // The REP closes right after replying; over inproc the REQ learns of the close at once,
    // and must still read the reply already queued.
    let ctx = Context::new();
    let req = oxmq::Req::new(&ctx).unwrap();
    req.set_rcvtimeo(5000).unwrap();
    req.bind("inproc://reply-then-close").unwrap();
    for _ in 0..50 {
        let rep = oxmq::Rep::new(&ctx).unwrap();
        rep.connect("inproc://reply-then-close").unwrap();
        req.send("ping").unwrap();
        assert_eq!(rep.recv().unwrap(), "ping");
        rep.send("pong").unwrap();
        drop(rep);
        assert_eq!(req.recv().unwrap(), "pong");
    }
}
