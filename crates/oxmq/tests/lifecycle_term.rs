//! Socket and context lifecycle, with libzmq's semantics: how sockets and contexts end. LINGER
//! (zero, bounded, forever; on close, disconnect and term), context termination waking blocked
//! calls and failing every later call with ContextTerminated, and close/term not waiting for a
//! connect that hangs.

mod common;

use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::*;
use oxmq::{Context, Error, Pull, Push, Socket, SocketType};

/// A listener whose accept queue is full, so that a further connect hangs (tcp: the SYN is
/// dropped and retried for minutes; ipc: connect blocks). Returns the endpoint and what must
/// stay alive.
fn tcp_listener_that_never_accepts() -> (String, socket2::Socket, Vec<std::net::TcpStream>) {
    use socket2::{Domain, Socket as RawSocket, Type};
    let l = RawSocket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    l.bind(&"127.0.0.1:0".parse::<std::net::SocketAddr>().unwrap().into()).unwrap();
    l.listen(0).unwrap();
    let addr = l.local_addr().unwrap().as_socket().unwrap();
    let mut fillers = Vec::new();
    // Fill the accept queue until a connect no longer completes.
    while let Ok(s) = std::net::TcpStream::connect_timeout(&addr, Duration::from_millis(100)) {
        fillers.push(s);
        assert!(fillers.len() < 64, "the accept queue never filled");
    }
    (format!("tcp://{addr}"), l, fillers)
}

/// Wait until some socket of this machine is in SYN-SENT towards 127.0.0.1:`port`.
fn wait_syn_sent(port: u16, within: Duration) -> bool {
    let remote = format!("0100007F:{port:04X}");
    eventually(within, || {
        let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
        table
            .lines()
            .skip(1)
            .any(|l| {
                let f: Vec<&str> = l.split_whitespace().collect();
                f.len() > 3 && f[2] == remote && f[3] == "02"
            })
            .then_some(())
    })
    .is_some()
}

// ================================================================ LINGER

#[test]
fn linger_zero_close_with_queued_messages_returns_promptly() {
    let ep = free_tcp_endpoint();
    let done = within(Duration::from_secs(2), move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.connect(&ep).unwrap();
        for i in 0..5 {
            push.send(format!("m{i}")).unwrap();
        }
        push.set_linger(0).unwrap();
        let t = Instant::now();
        drop(push);
        ctx.term();
        drop(ctx);
        t.elapsed()
    });
    let took = done.expect("close + term with LINGER 0 hung");
    assert!(took < Duration::from_millis(500), "LINGER 0 close + term took {took:?}");
}

#[test]
fn linger_delivers_after_close_when_the_peer_appears_in_time() {
    let ep = free_tcp_endpoint();
    let ep2 = ep.clone();
    let (closed_tx, closed_rx) = mpsc::channel();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.set_reconnect_ivl(20).unwrap();
        push.set_linger(2000).unwrap();
        push.connect(&ep2).unwrap();
        for i in 0..3 {
            push.send(format!("lingering-{i}")).unwrap();
        }
        drop(push);
        closed_tx.send(()).unwrap();
        let t = Instant::now();
        ctx.term();
        t.elapsed()
    });
    closed_rx.recv_timeout(SOON).expect("the sender closed its socket");
    // The peer appears only after the PUSH was closed.
    let ctx = Context::new();
    let pull = pull_bound(&ctx, &ep);
    for i in 0..3 {
        assert_eq!(pull.recv().unwrap(), format!("lingering-{i}").as_str());
    }
    let term_took = sender.join().unwrap();
    assert!(term_took < Duration::from_millis(1900), "term waited for the full LINGER: {term_took:?}");
}

#[test]
fn linger_expiry_bounds_term() {
    let ep = free_tcp_endpoint();
    let took = within(Duration::from_secs(2), move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.set_linger(300).unwrap();
        push.connect(&ep).unwrap();
        push.send("never delivered").unwrap();
        let t = Instant::now();
        drop(push);
        ctx.term();
        t.elapsed()
    })
    .expect("term with LINGER 300 and no peer hung");
    assert!(took >= Duration::from_millis(250), "term returned before LINGER expired: {took:?}");
    assert!(took < Duration::from_millis(1000), "term took {took:?} for LINGER 300");
}

#[test]
fn linger_forever_flushes_everything_before_term_returns() {
    const N: usize = 10_000;
    let rctx = Context::new();
    let pull = pull_bound(&rctx, "tcp://127.0.0.1:*");
    let ep = pull.last_endpoint().unwrap();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        assert_eq!(push.linger().unwrap(), -1, "LINGER defaults to -1");
        push.connect(&ep).unwrap();
        for i in 0..N {
            push.send(format!("{i}")).unwrap();
        }
        drop(push);
        ctx.term();
    });
    let t = Instant::now();
    for i in 0..N {
        match pull.recv() {
            Ok(m) => assert_eq!(m, format!("{i}").as_str()),
            Err(e) => panic!("message {i} of {N} lost: {e}"),
        }
    }
    assert!(t.elapsed() < Duration::from_secs(5));
    sender.join().unwrap();
}

#[test]
fn inproc_messages_survive_the_senders_close() {
    let ctx = Context::new();
    let name = inproc_endpoint("survive");
    let pull = pull_bound(&ctx, &name);
    let push = Push::new(&ctx).unwrap();
    push.connect(&name).unwrap();
    for i in 0..100 {
        push.send(format!("{i}")).unwrap();
    }
    drop(push);
    for i in 0..100 {
        assert_eq!(pull.recv().unwrap(), format!("{i}").as_str());
    }
}

#[test]
fn linger_forever_on_a_bound_push_flushes_accepted_connections() {
    const N: usize = 3000;
    let (ep, path) = ipc_endpoint("linger-bound");
    let rctx = Context::new();
    let (ready_tx, ready_rx) = mpsc::channel();
    let ep2 = ep.clone();
    let sender = std::thread::spawn(move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.bind(&ep2).unwrap();
        ready_tx.send(()).unwrap();
        for i in 0..N {
            push.send(format!("{i}")).unwrap();
        }
        drop(push);
        ctx.term();
    });
    ready_rx.recv_timeout(SOON).unwrap();
    let pull = Pull::new(&rctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.connect(&ep).unwrap();
    for i in 0..N {
        match pull.recv() {
            Ok(m) => assert_eq!(m, format!("{i}").as_str()),
            Err(e) => panic!("message {i} of {N} lost: {e}"),
        }
    }
    sender.join().unwrap();
    let _ = std::fs::remove_file(path);
}

#[test]
fn linger_zero_with_a_peer_that_does_not_read_returns_promptly() {
    let rctx = Context::new();
    let pull = Pull::new(&rctx).unwrap();
    pull.set_rcvhwm(1).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    push.set_sndhwm(0).unwrap();
    push.connect(&ep).unwrap();
    push.send("connected").unwrap();
    assert_eq!(pull.recv().unwrap(), "connected");
    let took = within(Duration::from_secs(3), move || {
        // Far more than the peer's queue and the socket buffers hold.
        for _ in 0..40 {
            push.send(vec![0u8; 1 << 20]).unwrap();
        }
        push.set_linger(0).unwrap();
        let t = Instant::now();
        drop(push);
        ctx.term();
        t.elapsed()
    })
    .expect("close + term with LINGER 0 hung on a peer that does not read");
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn disconnect_still_flushes_queued_messages_within_linger() {
    // zmq_disconnect: messages sent but not yet transferred are handled per LINGER, as on close
    // (the default, and here 2 s, keeps them).
    const N: usize = 30;
    let rctx = Context::new();
    let pull = Pull::new(&rctx).unwrap();
    pull.set_rcvhwm(1).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    push.set_linger(2000).unwrap();
    push.set_sndhwm(0).unwrap();
    push.connect(&ep).unwrap();
    push.send("hello").unwrap();
    assert_eq!(pull.recv().unwrap(), "hello");
    for i in 0..N {
        let mut m = vec![i as u8; 1 << 20];
        m[0] = i as u8;
        push.send(m).unwrap();
    }
    // The peer reads nothing yet, so most of these are still queued in oxmq.
    push.disconnect(&ep).unwrap();
    for i in 0..N {
        match pull.recv() {
            Ok(m) => assert_eq!((m.len(), m[0]), (1 << 20, i as u8)),
            Err(e) => panic!("message {i} of {N} queued before disconnect was dropped: {e}"),
        }
    }
}

// ================================================================ term

#[test]
fn term_wakes_a_thread_blocked_in_recv() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.bind(&inproc_endpoint("term")).unwrap();
    let (tid_tx, tid_rx) = mpsc::channel();
    let (res_tx, res_rx) = mpsc::channel();
    let (go_tx, go_rx) = mpsc::channel::<()>();
    let receiver = std::thread::spawn(move || {
        tid_tx.send(current_tid()).unwrap();
        let r = pull.recv(); // no RCVTIMEO: blocks until term
        res_tx.send(r).unwrap();
        go_rx.recv().unwrap();
        drop(pull);
    });
    let tid = tid_rx.recv().unwrap();
    assert!(wait_thread_asleep(&tid, SOON), "the receiver never blocked");
    let ctx2 = ctx.clone();
    let (term_tx, term_rx) = mpsc::channel();
    std::thread::spawn(move || {
        ctx2.term();
        term_tx.send(()).unwrap();
    });
    let r = res_rx.recv_timeout(SOON).expect("term did not wake the blocked recv");
    assert!(is_term(&r), "blocked recv ended with {r:?}, not ContextTerminated");
    // The socket is still open: term must still be waiting for it.
    assert!(term_rx.try_recv().is_err(), "term returned while a socket was still open");
    go_tx.send(()).unwrap();
    term_rx.recv_timeout(SOON).expect("term did not return after the last socket closed");
    receiver.join().unwrap();
}

#[test]
fn term_wakes_a_thread_blocked_in_send() {
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap(); // no peer: send blocks
    let (tid_tx, tid_rx) = mpsc::channel();
    let (res_tx, res_rx) = mpsc::channel();
    std::thread::spawn(move || {
        tid_tx.send(current_tid()).unwrap();
        let r = push.send("blocked");
        res_tx.send(r).unwrap();
    });
    let tid = tid_rx.recv().unwrap();
    assert!(wait_thread_asleep(&tid, SOON), "the sender never blocked");
    let done = within(Duration::from_secs(2), move || ctx.term());
    let r = res_rx.recv_timeout(SOON).expect("term did not wake the blocked send");
    assert!(is_term(&r), "blocked send ended with {r:?}");
    assert!(done.is_some(), "term did not return");
}

#[test]
fn every_call_after_term_gives_context_terminated() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    let ep = inproc_endpoint("after-term");
    pull.bind(&ep).unwrap();
    push.connect(&ep).unwrap();
    push.send("queued").unwrap();
    let ctx2 = ctx.clone();
    let (term_tx, term_rx) = mpsc::channel();
    std::thread::spawn(move || {
        ctx2.term();
        term_tx.send(()).unwrap();
    });
    let seen = eventually(SOON, || is_term(&pull.try_recv()).then_some(()));
    assert!(seen.is_some(), "term never took effect");
    // Even with a message waiting, every call reports the termination.
    assert!(is_term(&pull.recv()));
    assert!(is_term(&pull.try_recv()));
    assert!(is_term(&pull.recv_multipart()));
    assert!(is_term(&push.send("x")));
    assert!(is_term(&push.try_send("x", false)));
    assert!(is_term(&push.send_multipart(["a", "b"])));
    assert!(is_term(&pull.bind("tcp://127.0.0.1:*")));
    assert!(is_term(&push.connect("tcp://127.0.0.1:5555")));
    assert!(is_term(&pull.unbind(&ep)));
    assert!(is_term(&push.disconnect(&ep)));
    assert!(is_term(&Pull::new(&ctx).map(drop)));
    drop(pull);
    drop(push);
    term_rx.recv_timeout(SOON).expect("term returned once the sockets were closed");
}

#[test]
fn socket_options_after_term_give_context_terminated() {
    // libzmq's zmq_setsockopt / zmq_getsockopt check for termination first (ETERM).
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let ctx2 = ctx.clone();
    let (term_tx, term_rx) = mpsc::channel();
    std::thread::spawn(move || {
        ctx2.term();
        term_tx.send(()).unwrap();
    });
    assert!(eventually(SOON, || is_term(&pull.try_recv()).then_some(())).is_some());
    assert!(is_term(&pull.set_rcvtimeo(10)), "setsockopt after term");
    assert!(is_term(&pull.rcvtimeo()), "getsockopt after term");
    assert!(is_term(&pull.last_endpoint()), "LAST_ENDPOINT after term");
    drop(pull);
    term_rx.recv_timeout(SOON).unwrap();
}

#[test]
fn new_sockets_after_term_fail() {
    let ctx = Context::new();
    let done = within(Duration::from_secs(1), {
        let ctx = ctx.clone();
        move || ctx.term()
    });
    assert!(done.is_some(), "term of a context without sockets returns at once");
    assert!(matches!(Push::new(&ctx), Err(Error::ContextTerminated)));
    assert!(matches!(ctx.socket(SocketType::Rep), Err(Error::ContextTerminated)));
    assert!(matches!(Socket::new(&ctx, SocketType::Pull), Err(Error::ContextTerminated)));
    ctx.term(); // a second term is harmless
}

#[test]
fn close_and_term_do_not_wait_for_a_hanging_tcp_connect() {
    // Nothing was sent, so nothing lingers: close + term must not wait for a connect that the
    // kernel keeps retrying (libzmq returns at once).
    let (ep, _listener, _fillers) = tcp_listener_that_never_accepts();
    let took = within(Duration::from_secs(2), move || {
        let ctx = Context::new();
        let push = Push::new(&ctx).unwrap();
        push.connect(&ep).unwrap();
        let port: u16 = ep.rsplit(':').next().unwrap().parse().unwrap();
        assert!(wait_syn_sent(port, SOON), "oxmq's connect never started");
        let t = Instant::now();
        drop(push);
        ctx.term();
        t.elapsed()
    });
    let took = took.expect("term hung on a socket that only had a connect in progress");
    assert!(took < Duration::from_millis(500), "took {took:?}");
}

#[test]
fn a_hanging_ipc_connect_does_not_stall_the_context() {
    // A Unix listener with a full backlog: a blocking connect to it blocks. Other sockets of
    // the same context (one I/O thread) must keep working.
    use socket2::{Domain, SockAddr, Socket as RawSocket, Type};
    let (ep, path) = ipc_endpoint("full-backlog");
    let l = RawSocket::new(Domain::UNIX, Type::STREAM, None).unwrap();
    l.bind(&SockAddr::unix(&path).unwrap()).unwrap();
    l.listen(0).unwrap();
    let mut fillers = Vec::new();
    loop {
        let c = RawSocket::new(Domain::UNIX, Type::STREAM, None).unwrap();
        c.set_nonblocking(true).unwrap();
        if c.connect(&SockAddr::unix(&path).unwrap()).is_err() {
            break; // EAGAIN: the backlog is full
        }
        fillers.push(c);
        assert!(fillers.len() < 64, "the backlog never filled");
    }
    let ok = within(Duration::from_secs(2), move || {
        let ctx = Context::new();
        let stuck = Push::new(&ctx).unwrap();
        stuck.set_linger(0).unwrap();
        stuck.connect(&ep).unwrap();
        let pull = pull_bound(&ctx, "tcp://127.0.0.1:*");
        let push = push_linger0(&ctx);
        push.connect(&pull.last_endpoint().unwrap()).unwrap();
        push.send("unaffected").unwrap();
        pull.recv().map(|m| m == "unaffected")
    });
    let _ = std::fs::remove_file(&path);
    drop((l, fillers));
    match ok {
        Some(Ok(true)) => {}
        Some(other) => panic!("tcp traffic in the same context failed: {other:?}"),
        None => panic!("the context stalled behind a blocking ipc connect"),
    }
}
