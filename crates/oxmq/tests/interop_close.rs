//! Interop tests, closing a connection to a libzmq (pyzmq) peer: everything a
//! socket sent before it closed reaches a libzmq receiver, however slowly that
//! receiver reads, and a peer that never reads cannot hold `Context::term`.
//!
//! libzmq stops reading a connection while its pipe to the socket is full
//! (RCVHWM). Over ipc, when the other end close()s the connection, the
//! kernel reports a hang-up (EPOLLHUP) on the survivor, and libzmq's engine,
//! woken with its input stopped, takes that for an error and drops the
//! connection with the messages still in the kernel's buffer. So oxmq only
//! half-closes (shutdown for writing) once everything is written, and keeps
//! reading until the peer closes its side. Harness: `interop/mod.rs`.

mod common;
#[macro_use]
mod interop;

use std::time::{Duration, Instant};

use interop::*;
use oxmq::{Context, SocketType};

const SLOW_PULL: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/tests/peers/slow_pull.py");

/// Starts `slow_pull.py` bound to a fresh endpoint on `t`; returns it with
/// its endpoint and the ipc file to remove afterwards.
fn slow_pull(t: Transport, expected: usize, hwm: usize, extra: &[&str]) -> (Peer, Option<IpcFile>) {
    let ipc = matches!(t, Transport::Ipc).then(IpcFile::new);
    let local = ipc.as_ref().map_or("tcp://127.0.0.1:*".to_string(), IpcFile::endpoint);
    let mut a = vec![local, expected.to_string(), hwm.to_string()];
    a.extend(extra.iter().map(|s| s.to_string()));
    let mut peer = Peer::start(SLOW_PULL, &a, format!("slow pyzmq PULL on {t:?}"));
    let ready = peer.read_line();
    match ready.strip_prefix("ready ") {
        Some(ep) => peer.endpoint = ep.to_string(),
        None => peer.fail(&format!("expected 'ready <endpoint>', got {ready:?}")),
    }
    (peer, ipc)
}

/// An oxmq PUSH sends N small messages to a libzmq PULL that reads slowly
/// (RCVHWM 100), then is dropped with the default LINGER (-1) and its
/// context terminated: the PULL must get all N. Over ipc, oxmq used to close
/// the connection outright and libzmq lost the last thousands of messages.
fn slow_libzmq_pull_gets_everything(t: Transport) {
    const N: usize = 200_000;
    let (mut peer, _ipc) = slow_pull(t, N, 100, &[]);
    let ctx = Context::new();
    let push = ctx.socket(SocketType::Push).unwrap();
    assert_eq!(push.linger().unwrap(), -1);
    push.connect(&peer.endpoint).unwrap();
    let body = [0x5au8; 64];
    for i in 0..N {
        push.send(&body[..]).unwrap_or_else(|e| panic!("send {i}: {e:?}"));
    }
    drop(push);
    ctx.term();
    let got = peer.read_line();
    assert_eq!(got, format!("received {N}"), "{t:?}: the libzmq PULL lost messages sent before close");
}

#[test]
fn slow_libzmq_pull_gets_everything_ipc() {
    run_test(|| slow_libzmq_pull_gets_everything(Transport::Ipc));
}

#[test]
fn slow_libzmq_pull_gets_everything_tcp() {
    run_test(|| slow_libzmq_pull_gets_everything(Transport::Tcp));
}

/// A libzmq PULL whose application never reads: libzmq fills its pipe
/// (RCVHWM 100), stops reading the connection, and never sees the end of
/// the stream, so it never closes its side. `term` (LINGER -1) must still
/// return, after the close-wait cap (5 s) at most.
#[test]
fn libzmq_pull_that_never_reads_does_not_hold_term() {
    run_test(|| {
        // More than its pipe holds (RCVHWM 100), few enough that the rest fits the kernel's
        // buffers even written one message per write (each write costs the unix socket's send
        // buffer about a kilobyte of overhead: 1,000 of them filled it under AddressSanitizer,
        // and the PUSH then waited for room forever, as LINGER -1 says it must).
        const N: usize = 200;
        let (mut peer, _ipc) = slow_pull(Transport::Ipc, N, 100, &["--never-read"]);
        let ctx = Context::new();
        let push = ctx.socket(SocketType::Push).unwrap();
        push.set_sndtimeo(5000).unwrap();
        push.connect(&peer.endpoint).unwrap();
        for i in 0..N {
            push.send(&[0x5au8; 64][..]).unwrap_or_else(|e| panic!("send {i}: {e:?}"));
        }
        drop(push);
        let start = Instant::now();
        ctx.term();
        let took = start.elapsed();
        assert!(took < Duration::from_secs(8), "term took {took:?} with a libzmq peer that never reads");
        // The peer is still there, its side open: it did not end the wait.
        assert!(peer.try_read_line(Duration::from_millis(10)).is_none());
    });
}
