//! Closing a socket and terminating its context do not wait on peers that have nothing to
//! receive; once everything is written, a connection is shut down for writing and closed when
//! the peer closes its side, or after a bounded wait if it never does.

mod common;

use std::io::Read;
use std::net::TcpStream;
use std::time::{Duration, Instant};

use common::*;
use oxmq::{Context, Pull, Push};

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

/// The engine's close-wait cap (engine/zmtp.rs `CLOSE_WAIT`), and slack for a loaded machine.
const CLOSE_WAIT: Duration = Duration::from_secs(5);
const SLACK: Duration = Duration::from_secs(3);

/// A PUSH (default LINGER -1) bound on tcp with a raw ZMTP PULL connected, which has read
/// the `n` messages sent: the connection has nothing left to write.
fn push_served_to_raw_pull(n: usize) -> (Context, Push, RawPeer) {
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    assert_eq!(push.linger().unwrap(), -1);
    push.set_sndtimeo(5000).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap();
    let mut raw = RawPeer::connect(&push.last_endpoint().unwrap());
    raw.handshake("PULL");
    for i in 0..n {
        push.send(format!("m{i}")).unwrap();
    }
    for i in 0..n {
        assert_eq!(raw.read_frame().body, format!("m{i}").as_bytes());
    }
    (ctx, push, raw)
}

/// After close, the connection is only shut down for writing: the peer sees the end of the
/// stream at once, and `term` waits for the peer to close its side, returning as soon as it
/// does.
#[test]
fn term_waits_for_the_peer_to_close_after_the_end_of_stream() {
    let (ctx, push, mut raw) = push_served_to_raw_pull(10);
    drop(push);
    let term = std::thread::spawn(move || ctx.term());
    assert!(raw.expect_closed(SOON).is_empty(), "nothing after the messages but the end of the stream");
    std::thread::sleep(Duration::from_millis(500));
    assert!(!term.is_finished(), "term returned with the peer's side still open: the connection was closed outright");
    drop(raw);
    let start = Instant::now();
    assert!(within(SOON, move || term.join().unwrap()).is_some(), "term still waiting {SOON:?} after the peer closed");
    assert!(start.elapsed() < SOON);
}

/// A peer that never closes its side holds `term` (LINGER -1) for the close-wait cap at
/// most, and then the connection is closed.
#[test]
fn term_waits_at_most_the_cap_for_a_peer_that_never_closes() {
    let (ctx, push, mut raw) = push_served_to_raw_pull(10);
    drop(push);
    let start = Instant::now();
    let took = within(CLOSE_WAIT + SLACK, move || ctx.term());
    assert!(took.is_some(), "term still waiting {:?} after close, for a peer that never closes", start.elapsed());
    // The peer keeps its side open and reads nothing more: the engine ended the connection.
    raw.expect_closed(SOON);
}

/// With LINGER set, the connection's wait for the peer to close ends at LINGER.
#[test]
fn linger_bounds_the_wait_for_the_peer_to_close() {
    let (ctx, push, _raw) = push_served_to_raw_pull(10);
    push.set_linger(300).unwrap();
    drop(push);
    let start = Instant::now();
    ctx.term();
    assert!(start.elapsed() < Duration::from_secs(2), "term took {:?} with LINGER 300 ms", start.elapsed());
}

/// An oxmq peer sees the end of the stream and closes its side, even with its socket open:
/// `term` on the closing side returns at once, over tcp and ipc.
#[test]
fn an_oxmq_peer_releases_term_at_once() {
    let (ipc, _path) = ipc_endpoint("close-wait");
    for ep in ["tcp://127.0.0.1:*".to_string(), ipc] {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.bind(&ep).unwrap();
        let ep = push.last_endpoint().unwrap();
        let other = Context::new();
        let pull = Pull::new(&other).unwrap();
        pull.set_rcvtimeo(5000).unwrap();
        pull.connect(&ep).unwrap();
        for i in 0..100 {
            push.send(format!("m{i}")).unwrap();
        }
        for i in 0..100 {
            assert_eq!(pull.recv().unwrap(), format!("m{i}").as_bytes(), "{ep}");
        }
        drop(push);
        let start = Instant::now();
        ctx.term();
        assert!(start.elapsed() < SOON, "{ep}: term took {:?} with an oxmq peer", start.elapsed());
        drop(pull);
    }
}

/// `close` (for a socket shared between threads, as the C ABI's `zmq_close`): a receive
/// blocked in another thread returns `Closed`, with a peer connected (its connection may be
/// read by the receiving thread itself) and without; every later call fails the same way,
/// the endpoint is free again, and closing twice, then dropping, is harmless.
#[test]
fn close_from_another_thread_ends_a_blocked_receive_and_every_later_call() {
    for with_peer in [false, true] {
        let ctx = Context::new();
        let pull = std::sync::Arc::new(Pull::new(&ctx).unwrap());
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let ep = pull.last_endpoint().unwrap();
        let push = Push::new(&ctx).unwrap();
        if with_peer {
            push.connect(&ep).unwrap();
            push.send(&b"first"[..]).unwrap();
            assert_eq!(pull.recv().unwrap(), "first");
        }
        let receiver = {
            let pull = pull.clone();
            std::thread::spawn(move || pull.recv())
        };
        std::thread::sleep(Duration::from_millis(100));
        let start = Instant::now();
        pull.close();
        let got = receiver.join().unwrap();
        assert!(matches!(got, Err(oxmq::Error::Closed)), "with_peer {with_peer}: {got:?}");
        assert!(start.elapsed() < Duration::from_secs(5), "took {:?}", start.elapsed());
        assert!(matches!(pull.recv(), Err(oxmq::Error::Closed)));
        assert!(matches!(pull.bind("tcp://127.0.0.1:*"), Err(oxmq::Error::Closed)));
        assert!(matches!(pull.connect(&ep), Err(oxmq::Error::Closed)));
        assert_eq!(oxmq::Error::Closed.errno(), libc_enotsock());
        let again = Pull::new(&ctx).unwrap();
        again.bind(&ep).unwrap_or_else(|e| panic!("{ep} is free once the socket is closed: {e}"));
        pull.close();
        drop(pull);
        drop((again, push));
        ctx.term();
    }
}

/// ENOTSOCK on Linux.
fn libc_enotsock() -> i32 {
    88
}
