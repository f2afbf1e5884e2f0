//! Socket readiness (ZMQ_EVENTS) per socket type, as libzmq's xhas_in/xhas_out define it, and
//! `poll` over sockets and file descriptors (zmq_poll): which items it reports, timeouts,
//! wake-ups from other threads, no busy waiting, no missed wake-up.

mod common;

use std::io::Write;
use std::os::fd::AsFd;
use std::os::unix::net::UnixStream;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use common::{
    QUIET, SOON, Transport, bind, expect_msg, in_a_process_of_its_own, process_cpu, show, socket, unique_name,
};
use oxmq::{Context, Error, PollEvents, PollItem, SocketBase, SocketType, opt, poll, poll_async};

use SocketType::{Dealer, Pair, Pull, Push, Rep, Req, Router};

const IN: PollEvents = PollEvents::IN;
const OUT: PollEvents = PollEvents::OUT;
const NONE: PollEvents = PollEvents::empty();
const BOTH: PollEvents = PollEvents::IN.union(PollEvents::OUT);

const TRANSPORTS: [Transport; 2] = [Transport::Inproc, Transport::Tcp];

/// The socket's events, checked against the raw ZMQ_EVENTS option on the way.
#[track_caller]
fn events(s: &SocketBase) -> PollEvents {
    let ev = s.events().unwrap();
    let raw = i32::from_ne_bytes(s.get_option_raw(opt::EVENTS).unwrap()[..4].try_into().unwrap());
    assert_eq!(raw, i32::from(ev.bits()), "ZMQ_EVENTS and events() agree");
    ev
}

/// Poll one socket for `want` until it shows it (or fail after [`SOON`]).
#[track_caller]
fn wait_for(s: &SocketBase, want: PollEvents) {
    let mut items = [PollItem::socket(s, want)];
    let n = poll(&mut items, Some(SOON)).unwrap();
    assert_eq!((n, items[0].revents()), (1, want), "waited for {want:?} on a {:?}", s.socket_type());
}

#[test]
fn events_of_an_unconnected_socket_of_each_type() {
    let ctx = Context::new();
    for (t, want) in [
        // Nothing to read, and no peer to send to.
        (Pair, NONE),
        (Push, NONE),
        (Pull, NONE),
        (Req, NONE),
        (Rep, NONE),
        (Dealer, NONE),
        // A ROUTER drops what it cannot route, so it is always writable.
        (Router, OUT),
    ] {
        let s = socket(&ctx, t);
        assert_eq!(events(&s), want, "{t:?}");
    }
    let r = socket(&ctx, Router);
    r.set_router_mandatory(true).unwrap();
    assert_eq!(events(&r), NONE, "ROUTER_MANDATORY with no peer: nowhere to send");
}

#[test]
fn req_and_rep_are_readable_and_writable_in_strict_turn() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let rep = socket(&ctx, Rep);
        let req = socket(&ctx, Req);
        req.connect(&bind(&rep, tr)).unwrap();
        // REQ may send once it has a peer (over tcp the pipe exists at connect); REP owes nothing.
        wait_for(&req, OUT);
        assert_eq!(events(&req), OUT, "{tr:?}: REQ is not readable before its request");
        assert_eq!(events(&rep), NONE, "{tr:?}: REP is not writable before a request");
        req.send("ping").unwrap();
        assert_eq!(events(&req), NONE, "{tr:?}: REQ awaiting its reply may neither send nor read");
        wait_for(&rep, IN);
        assert_eq!(events(&rep), IN, "{tr:?}: REP with a request: readable, not yet writable");
        assert_eq!(rep.recv().unwrap(), "ping");
        assert_eq!(events(&rep), OUT, "{tr:?}: REP owes a reply");
        rep.send("pong").unwrap();
        assert_eq!(events(&rep), NONE, "{tr:?}");
        wait_for(&req, IN);
        assert_eq!(events(&req), IN, "{tr:?}: the reply is there; no new request before reading it");
        assert_eq!(req.recv().unwrap(), "pong");
        assert_eq!(events(&req), OUT, "{tr:?}");
    }
}

#[test]
fn req_relaxed_is_writable_while_a_reply_is_outstanding() {
    let ctx = Context::new();
    let rep = socket(&ctx, Rep);
    let req = socket(&ctx, Req);
    req.set_req_relaxed(true).unwrap();
    req.connect(&bind(&rep, Transport::Inproc)).unwrap();
    req.send("1").unwrap();
    assert_eq!(events(&req), OUT);
}

#[test]
fn req_is_readable_only_for_the_reply_to_its_current_request() {
    // With REQ_RELAXED and REQ_CORRELATE, a reply to an earlier request is dropped: it must not
    // make the REQ readable (a receive would not return it).
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    let req = socket(&ctx, Req);
    req.set_req_relaxed(true).unwrap();
    req.set_req_correlate(true).unwrap();
    req.connect(&bind(&router, Transport::Inproc)).unwrap();
    req.send("first").unwrap();
    req.send("second").unwrap();
    let first = router.recv_multipart().unwrap();
    let second = router.recv_multipart().unwrap();
    assert_eq!(show(&first[3..]), ["first"]);
    assert_eq!(show(&second[3..]), ["second"]);
    // Reply to the first request only.
    let reply =
        |to: &[oxmq::Bytes], body: &'static str| to[..3].iter().cloned().chain([body.into()]).collect::<Vec<_>>();
    router.send_multipart(reply(&first, "stale")).unwrap();
    let mut items = [PollItem::socket(&req, IN)];
    assert_eq!(poll(&mut items, Some(QUIET)).unwrap(), 0, "a stale reply is not readable");
    // The marker: the reply to the current request, sent after the stale one on the same
    // pipe, makes the REQ readable and is the whole of what it receives.
    router.send_multipart(reply(&second, "fresh")).unwrap();
    wait_for(&req, IN);
    expect_msg(&req, &["fresh"]);
}

#[test]
fn rep_is_not_readable_for_a_request_without_an_envelope() {
    let ctx = Context::new();
    let rep = socket(&ctx, Rep);
    let dealer = socket(&ctx, Dealer);
    dealer.connect(&bind(&rep, Transport::Inproc)).unwrap();
    dealer.send("no delimiter").unwrap();
    let mut items = [PollItem::socket(&rep, IN)];
    assert_eq!(poll(&mut items, Some(QUIET)).unwrap(), 0, "REP drops a request without a delimiter");
    // The marker: a good request on the same pipe makes the REP readable and is the whole of
    // what it receives.
    dealer.send_multipart(["", "ok"]).unwrap();
    wait_for(&rep, IN);
    expect_msg(&rep, &["ok"]);
}

#[test]
fn push_and_pull_one_way_each() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let push = socket(&ctx, Push);
        let ep = bind(&push, tr);
        assert_eq!(events(&push), NONE, "{tr:?}: a bound PUSH with no peer is not writable");
        let pull = socket(&ctx, Pull);
        pull.connect(&ep).unwrap();
        wait_for(&push, OUT);
        assert_eq!(events(&pull), NONE, "{tr:?}: PULL is never writable, and has nothing yet");
        push.send_multipart(["a", "b"]).unwrap();
        wait_for(&pull, IN);
        assert_eq!(pull.recv().unwrap(), "a");
        assert_eq!(events(&pull), IN, "{tr:?}: readable mid-message");
        assert_eq!(pull.recv().unwrap(), "b");
        assert_eq!(events(&pull), NONE, "{tr:?}");
        assert_eq!(events(&push), OUT, "{tr:?}: PUSH is never readable");
    }
}

#[test]
fn a_connected_push_is_writable_before_its_peer_exists() {
    // libzmq queues on a connecting pipe (without IMMEDIATE), so the socket is writable.
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.connect(&format!("inproc://{}", unique_name("later"))).unwrap();
    assert_eq!(events(&push), OUT);
}

#[test]
fn a_full_push_is_not_writable_and_a_poll_wakes_when_the_peer_drains_it() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        pull.set_rcvhwm(4).unwrap();
        let push = socket(&ctx, Push);
        push.set_sndhwm(4).unwrap();
        push.connect(&bind(&pull, tr)).unwrap();
        wait_for(&push, OUT);
        // Big messages, so that tcp's socket buffers fill soon too.
        let msg = |i: usize| format!("{i:>8}{}", ".".repeat(64 * 1024));
        // Fill until a send would block and no poll says OUT for a while (the I/O threads
        // have moved all they could).
        let mut sent = 0;
        loop {
            match push.try_send(msg(sent), false) {
                Ok(()) => sent += 1,
                Err(Error::Again) => {
                    let mut items = [PollItem::socket(&push, OUT)];
                    if poll(&mut items, Some(QUIET)).unwrap() == 0 {
                        break;
                    }
                }
                Err(e) => panic!("{tr:?}: {e}"),
            }
            assert!(sent < 100_000, "{tr:?}: HWM never reached");
        }
        let (done_tx, done_rx) = mpsc::channel();
        std::thread::scope(|s| {
            s.spawn(|| {
                let mut items = [PollItem::socket(&push, OUT)];
                done_tx.send(poll(&mut items, Some(2 * SOON)).map(|n| (n, items[0].revents()))).unwrap();
            });
            std::thread::sleep(Duration::from_millis(50));
            for i in 0..sent {
                assert!(pull.recv().unwrap() == msg(i), "{tr:?}: message {i}");
            }
            let r = done_rx.recv_timeout(SOON).unwrap_or_else(|_| panic!("{tr:?}: poll for OUT never woke"));
            assert_eq!(r.unwrap(), (1, OUT), "{tr:?}");
        });
        // The marker after the quiet poll that ended the filling: writable again, and what it
        // sends is the next message (no refused send got in).
        push.send("marker").unwrap();
        expect_msg(&pull, &["marker"]);
    }
}

#[test]
fn a_push_filled_exactly_to_its_hwm_wakes_a_poll_for_out_when_drained() {
    // Here no send ever failed on the full pipe: only the poll's own "not writable" answer can
    // arrange the wake-up.
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(3).unwrap();
    let push = socket(&ctx, Push);
    push.set_sndhwm(3).unwrap();
    push.connect(&bind(&pull, Transport::Inproc)).unwrap();
    let mut capacity = 0;
    while push.try_send("fill", false).is_ok() {
        capacity += 1;
    }
    assert!(capacity > 0);
    for _ in 0..capacity {
        pull.recv().unwrap();
    }
    for _ in 0..capacity {
        push.try_send("again", false).unwrap();
    }
    let (done_tx, done_rx) = mpsc::channel();
    std::thread::scope(|s| {
        s.spawn(|| {
            let mut items = [PollItem::socket(&push, OUT)];
            // Longer than the wait below, so a missed wake fails the test rather than being
            // found by the last check at the timeout.
            done_tx.send(poll(&mut items, Some(2 * SOON)).map(|n| (n, items[0].revents()))).unwrap();
        });
        let mut items = [PollItem::socket(&push, OUT)];
        assert_eq!(poll(&mut items, Some(QUIET)).unwrap(), 0, "full");
        for _ in 0..capacity {
            assert_eq!(pull.recv().unwrap(), "again");
        }
        let woke = done_rx.recv_timeout(SOON).expect("the poll for OUT woke when the PULL drained");
        assert_eq!(woke.unwrap(), (1, OUT));
    });
    // The marker after the "full" poll: writable again, and what it sends is the next message.
    push.send("marker").unwrap();
    expect_msg(&pull, &["marker"]);
}

#[test]
fn dealer_router_and_pair_readiness() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        router.set_router_mandatory(true).unwrap();
        let dealer = socket(&ctx, Dealer);
        dealer.set_routing_id(b"d").unwrap();
        dealer.connect(&bind(&router, tr)).unwrap();
        wait_for(&dealer, OUT);
        dealer.send("hello").unwrap();
        wait_for(&router, IN);
        assert_eq!(events(&router), BOTH, "{tr:?}: a MANDATORY ROUTER with a peer with room is writable");
        expect_msg(&router, &["d", "hello"]);
        assert_eq!(events(&router), OUT, "{tr:?}");
        router.send_multipart(["d", "back"]).unwrap();
        wait_for(&dealer, IN);
        assert_eq!(events(&dealer), BOTH, "{tr:?}");
        expect_msg(&dealer, &["back"]);

        let a = socket(&ctx, Pair);
        let b = socket(&ctx, Pair);
        b.connect(&bind(&a, tr)).unwrap();
        wait_for(&a, OUT);
        wait_for(&b, OUT);
        a.send("x").unwrap();
        wait_for(&b, IN);
        assert_eq!(events(&b), BOTH, "{tr:?}");
        assert_eq!(events(&a), OUT, "{tr:?}");
    }
}

#[test]
fn poll_reports_the_ready_sockets_only() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let pulls: Vec<_> = (0..5).map(|_| socket(&ctx, Pull)).collect();
        let pushes: Vec<_> = pulls
            .iter()
            .map(|p| {
                let push = socket(&ctx, Push);
                push.connect(&bind(p, tr)).unwrap();
                push
            })
            .collect();
        pushes[1].send("one").unwrap();
        pushes[3].send("three").unwrap();
        // Wait until both arrived, then poll all five at once.
        wait_for(&pulls[1], IN);
        wait_for(&pulls[3], IN);
        let mut items: Vec<_> = pulls.iter().map(|p| PollItem::socket(p, IN)).collect();
        assert_eq!(poll(&mut items, Some(Duration::ZERO)).unwrap(), 2, "{tr:?}");
        let ready: Vec<bool> = items.iter().map(PollItem::is_readable).collect();
        assert_eq!(ready, [false, true, false, true, false], "{tr:?}");
        // Asking for OUT on PULLs and IN on PUSHes finds nothing: revents is within events.
        let mut items: Vec<_> = pulls.iter().map(|p| PollItem::socket(p, OUT)).collect();
        items.extend(pushes.iter().map(|p| PollItem::socket(p, IN)));
        assert_eq!(poll(&mut items, Some(Duration::ZERO)).unwrap(), 0, "{tr:?}");
        assert!(items.iter().all(|i| i.revents().is_empty()), "{tr:?}");
    }
}

#[test]
fn timeouts_are_honoured_with_sockets_and_with_fds() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    bind(&pull, Transport::Tcp);
    let (fd_a, _fd_b) = UnixStream::pair().unwrap();
    for with_fd in [false, true] {
        let mut items = vec![PollItem::socket(&pull, IN)];
        if with_fd {
            items.push(PollItem::fd(fd_a.as_fd(), IN));
        }
        let t = Instant::now();
        assert_eq!(poll(&mut items, Some(Duration::ZERO)).unwrap(), 0);
        assert!(t.elapsed() < Duration::from_secs(1), "a zero timeout only checks (fd: {with_fd})");
        for ms in [50, 200] {
            let timeout = Duration::from_millis(ms);
            let t = Instant::now();
            assert_eq!(poll(&mut items, Some(timeout)).unwrap(), 0);
            let took = t.elapsed();
            assert!(took >= timeout, "returned after {took:?}, before the {timeout:?} timeout (fd: {with_fd})");
            assert!(took < timeout + Duration::from_secs(5), "took {took:?} for {timeout:?} (fd: {with_fd})");
        }
    }
    // No items: a plain sleep, as zmq_poll; and no items with no timeout is refused.
    let t = Instant::now();
    let mut none: [PollItem<'_>; 0] = [];
    assert_eq!(poll(&mut none, Some(Duration::from_millis(50))).unwrap(), 0);
    assert!(t.elapsed() >= Duration::from_millis(50));
    assert!(matches!(poll(&mut none, None), Err(Error::InvalidArgument(_))));
}

/// Run `f` on a thread; fail if it has not returned within [`SOON`].
fn within_long<T: Send + 'static>(what: &str, f: impl FnOnce() -> T + Send + 'static) -> T {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || tx.send(f()).unwrap());
    match rx.recv_timeout(SOON) {
        Ok(v) => v,
        Err(mpsc::RecvTimeoutError::Timeout) => panic!("{what}: still blocked after {SOON:?}"),
        Err(mpsc::RecvTimeoutError::Disconnected) => panic!("{what}: the thread panicked"),
    }
}

#[test]
fn a_message_from_another_thread_wakes_a_poll_waiting_forever() {
    for tr in TRANSPORTS {
        for with_fd in [false, true] {
            let ctx = Context::new();
            let pull = socket(&ctx, Pull);
            let other = socket(&ctx, Pull);
            let push = socket(&ctx, Push);
            push.connect(&bind(&pull, tr)).unwrap();
            bind(&other, tr);
            let sender = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(100));
                push.send("wake").unwrap();
                push
            });
            let n = within_long("poll(None)", move || {
                let (fd_a, _fd_b) = UnixStream::pair().unwrap();
                let mut items = vec![PollItem::socket(&other, IN), PollItem::socket(&pull, IN)];
                if with_fd {
                    items.push(PollItem::fd(fd_a.as_fd(), IN));
                }
                let n = poll(&mut items, None).unwrap();
                let flags: Vec<_> = items.iter().map(PollItem::revents).collect();
                assert_eq!(pull.recv().unwrap(), "wake");
                (n, flags)
            });
            let mut want = vec![NONE, IN];
            if with_fd {
                want.push(NONE);
            }
            assert_eq!(n, (1, want), "{tr:?}, fd: {with_fd}");
            drop(sender.join().unwrap());
        }
    }
}

#[test]
fn context_termination_wakes_a_poll_waiting_forever() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    bind(&pull, Transport::Tcp);
    let poller = std::thread::spawn(move || {
        let mut items = [PollItem::socket(&pull, IN)];
        poll(&mut items, None)
    });
    std::thread::sleep(Duration::from_millis(100));
    within_long("term", move || ctx.term());
    let r = poller.join().unwrap();
    assert!(matches!(r, Err(Error::ContextTerminated)), "{r:?}");
}

#[test]
fn fd_items_are_level_triggered_like_poll() {
    let (mut a, b) = UnixStream::pair().unwrap();
    let mut items = [PollItem::fd(b.as_fd(), IN)];
    assert_eq!(poll(&mut items, Some(Duration::ZERO)).unwrap(), 0);
    let writer = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        a.write_all(b"!").unwrap();
        a
    });
    assert_eq!(poll(&mut items, Some(SOON)).unwrap(), 1);
    assert_eq!(items[0].revents(), IN);
    // Still readable: nothing was read.
    assert_eq!(poll(&mut items, Some(Duration::ZERO)).unwrap(), 1);
    let a = writer.join().unwrap();
    // A fresh stream is writable; asking for IN only does not report OUT.
    let mut items = [PollItem::fd(a.as_fd(), BOTH), PollItem::fd(b.as_fd(), IN)];
    assert_eq!(poll(&mut items, Some(Duration::ZERO)).unwrap(), 2);
    assert_eq!((items[0].revents(), items[1].revents()), (OUT, IN));
    // The peer hanging up is reported as ERR, asked for or not (as zmq_poll).
    drop(a);
    let mut items = [PollItem::fd(b.as_fd(), NONE)];
    assert_eq!(poll(&mut items, Some(SOON)).unwrap(), 1);
    assert!(items[0].revents().contains(PollEvents::ERR), "{:?}", items[0].revents());
}

#[test]
fn sockets_and_fds_in_one_poll() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let push = socket(&ctx, Push);
    push.connect(&bind(&pull, Transport::Tcp)).unwrap();
    let (mut a, b) = UnixStream::pair().unwrap();
    let mut items = [PollItem::socket(&pull, IN), PollItem::fd(b.as_fd(), IN)];
    a.write_all(b"x").unwrap();
    assert_eq!(poll(&mut items, Some(SOON)).unwrap(), 1);
    assert!(!items[0].is_readable() && items[1].is_readable());
    push.send("m").unwrap();
    wait_for(&pull, IN);
    assert_eq!(poll(&mut items, Some(SOON)).unwrap(), 2, "both ready, both reported");
    assert!(items[0].is_readable() && items[1].is_readable());
}

#[test]
fn a_blocked_poll_uses_no_cpu() {
    // Other tests run in this process at the same time: measure in a process of its own.
    if !in_a_process_of_its_own("a_blocked_poll_uses_no_cpu") {
        return;
    }
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let push = socket(&ctx, Push);
    push.connect(&bind(&pull, Transport::Tcp)).unwrap();
    wait_for(&push, OUT);
    let (_a, b) = UnixStream::pair().unwrap();
    for with_fd in [false, true] {
        let mut items = vec![PollItem::socket(&pull, IN)];
        if with_fd {
            items.push(PollItem::fd(b.as_fd(), IN));
        }
        let cpu = process_cpu();
        let t = Instant::now();
        assert_eq!(poll(&mut items, Some(Duration::from_secs(1))).unwrap(), 0);
        let (cpu, wall) = (process_cpu() - cpu, t.elapsed());
        println!("poll waited {wall:?} using {cpu:?} of CPU (fd: {with_fd})");
        assert!(cpu < Duration::from_millis(100), "a blocked poll used {cpu:?} of CPU in {wall:?} (fd: {with_fd})");
    }
}

/// A small deterministic pseudo-random sequence (xorshift), seeded from the clock.
struct Rng(u64);

impl Rng {
    fn new() -> Rng {
        let seed = std::time::SystemTime::now().duration_since(std::time::UNIX_EPOCH).unwrap().as_nanos() as u64;
        println!("rng seed {seed}");
        Rng(seed | 1)
    }
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        self.0
    }
}

#[test]
fn no_wake_up_is_missed_under_stress() {
    // The sender sends each message only once the previous one was received, after a random
    // pause (none, a yield, or a short sleep), so each message races the poller's
    // check-then-sleep and each needs its own wake-up (a queue wakes its reader only when it
    // goes from empty to non-empty). An idle second socket is polled too.
    const N: usize = 2000;
    for tr in TRANSPORTS {
        for with_fd in [false, true] {
            let ctx = Context::new();
            let (pull, idle, push) = (socket(&ctx, Pull), socket(&ctx, Pull), socket(&ctx, Push));
            push.connect(&bind(&pull, tr)).unwrap();
            bind(&idle, tr);
            let (ack_tx, ack_rx) = mpsc::channel::<()>();
            let sender = std::thread::spawn(move || {
                let mut rng = Rng::new();
                for i in 0..N {
                    match rng.next() % 4 {
                        0 => {}
                        1 => std::thread::yield_now(),
                        2 => std::thread::sleep(Duration::from_micros(rng.next() % 100)),
                        _ => (0..rng.next() % 2000).for_each(|_| std::hint::spin_loop()),
                    }
                    push.send(format!("{i}")).unwrap();
                    if ack_rx.recv_timeout(SOON).is_err() {
                        break; // the poller gave up: its assertion says why
                    }
                }
                push
            });
            let (_a, b) = UnixStream::pair().unwrap();
            let mut items = vec![PollItem::socket(&idle, IN), PollItem::socket(&pull, IN)];
            if with_fd {
                items.push(PollItem::fd(b.as_fd(), IN));
            }
            for i in 0..N {
                // A missed wake-up shows as a poll that runs to its timeout (whose last check
                // then finds the message).
                let t = Instant::now();
                let n = poll(&mut items, Some(SOON)).unwrap();
                assert!(t.elapsed() < SOON && n == 1, "{tr:?} (fd: {with_fd}): a missed wake-up for message {i}");
                assert!(items[1].is_readable());
                // Readable means a receive succeeds at once.
                assert_eq!(pull.try_recv().unwrap(), format!("{i}"), "{tr:?}");
                ack_tx.send(()).unwrap();
            }
            drop(sender.join().unwrap());
        }
    }
}

#[tokio::test]
async fn poll_async_waits_for_any_socket_and_is_cancel_safe() {
    let ctx = Context::new();
    let pulls = [socket(&ctx, Pull), socket(&ctx, Pull)];
    let push = socket(&ctx, Push);
    push.connect(&bind(&pulls[1], Transport::Tcp)).unwrap();
    bind(&pulls[0], Transport::Tcp);
    let mut items = [PollItem::socket(&pulls[0], IN), PollItem::socket(&pulls[1], IN)];
    // Nothing yet: a timed-out (dropped) wait takes nothing.
    assert!(tokio::time::timeout(QUIET, poll_async(&mut items)).await.is_err());
    let sender = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(50));
        push.send("async").unwrap();
        push
    });
    let n = tokio::time::timeout(SOON, poll_async(&mut items)).await.expect("woken").unwrap();
    assert_eq!((n, items[0].revents(), items[1].revents()), (1, NONE, IN));
    assert_eq!(pulls[1].recv_async().await.unwrap(), "async");
    drop(sender.join().unwrap());
    // File descriptors are the runtime's job.
    let (_a, b) = UnixStream::pair().unwrap();
    let mut items = [PollItem::fd(b.as_fd(), IN)];
    assert!(matches!(poll_async(&mut items).await, Err(Error::InvalidArgument(_))));
}

#[test]
fn pub_sub_readiness_follows_topics_and_subscriptions() {
    use SocketType::{Pub, Stream, Sub, XPub, XSub};
    let ctx = Context::new();
    for (t, want) in [(Pub, OUT), (Sub, NONE), (XPub, OUT), (XSub, OUT), (Stream, OUT)] {
        assert_eq!(events(&socket(&ctx, t)), want, "unconnected {t:?}");
    }
    let xpub = socket(&ctx, XPub);
    let ep = bind(&xpub, Transport::Tcp);
    let sub = socket(&ctx, Sub);
    sub.connect(&ep).unwrap();
    sub.subscribe("yes").unwrap();
    // The subscription makes the XPUB readable.
    wait_for(&xpub, IN);
    expect_msg(&xpub, &[b"\x01yes"]);
    assert_eq!(events(&xpub), OUT);
    // A message the SUB filters out does not make it readable; a matching one does.
    xpub.send("no").unwrap();
    xpub.send_multipart(["yes", "two"]).unwrap();
    wait_for(&sub, IN);
    expect_msg(&sub, &["yes", "two"]);
    assert_eq!(events(&sub), NONE);
}

/// `Poller` as zmq_poller: members added, modified, removed; each ready one reported once
/// with its value and events; duplicates and strangers refused; EAGAIN on timeout.
#[test]
fn poller_adds_modifies_and_removes_sockets_and_descriptors() {
    use oxmq::Poller;

    let ctx = Context::new();
    let (a, b) = (ctx.socket(Pull).unwrap(), ctx.socket(Pull).unwrap());
    let ep_a = common::inproc_endpoint("poller-a");
    let ep_b = common::inproc_endpoint("poller-b");
    a.bind(&ep_a).unwrap();
    b.bind(&ep_b).unwrap();
    let push = ctx.socket(Push).unwrap();
    push.connect(&ep_b).unwrap();
    let (mut w, r) = UnixStream::pair().unwrap();

    let mut poller = Poller::new();
    poller.add(&a, PollEvents::IN, 'a').unwrap();
    poller.add(&b, PollEvents::IN, 'b').unwrap();
    poller.add_fd(r.as_fd(), PollEvents::IN, 'r').unwrap();
    assert_eq!(poller.len(), 3);
    assert!(matches!(poller.add(&a, PollEvents::IN, 'x'), Err(Error::InvalidArgument(_))));
    assert!(matches!(poller.add_fd(r.as_fd(), PollEvents::IN, 'x'), Err(Error::InvalidArgument(_))));
    assert!(matches!(poller.wait(Some(Duration::from_millis(20))), Err(Error::Again)));

    push.send("to b").unwrap();
    w.write_all(b"x").unwrap();
    assert_eq!(poller.wait(Some(SOON)).unwrap(), [(&'b', PollEvents::IN), (&'r', PollEvents::IN)]);
    // Watching nothing of b for now: only the descriptor is reported.
    poller.modify(&b, PollEvents::empty()).unwrap();
    assert_eq!(poller.wait(Some(SOON)).unwrap(), [(&'r', PollEvents::IN)]);
    assert_eq!(poller.remove_fd(r.as_fd()).unwrap(), 'r');
    assert!(matches!(poller.wait(Some(Duration::from_millis(20))), Err(Error::Again)));
    poller.modify(&b, PollEvents::IN).unwrap();
    assert_eq!(poller.wait(Some(SOON)).unwrap(), [(&'b', PollEvents::IN)]);
    assert_eq!(b.recv().unwrap(), "to b");
    assert_eq!(poller.remove(&a).unwrap(), 'a');
    assert!(matches!(poller.remove(&a), Err(Error::InvalidArgument(_))));
    assert!(matches!(poller.modify_fd(r.as_fd(), PollEvents::IN), Err(Error::InvalidArgument(_))));
    assert_eq!(poller.len(), 1);
    let mut empty: Poller<'_, ()> = Poller::new();
    assert!(matches!(empty.wait(None), Err(Error::InvalidArgument(_))));
}

/// recv_string: text as a String, anything else handed back as its bytes, nothing lost.
#[test]
fn recv_string_returns_text_or_the_bytes() {
    let ctx = Context::new();
    let ep = common::inproc_endpoint("recv-string");
    let pull = oxmq::Pull::new(&ctx).unwrap();
    pull.bind(&ep).unwrap();
    let push = oxmq::Push::new(&ctx).unwrap();
    push.connect(&ep).unwrap();
    push.send("héllo").unwrap();
    push.send(&b"\xff\xfe"[..]).unwrap();
    assert_eq!(pull.recv_string().unwrap(), Ok("héllo".to_string()));
    assert_eq!(pull.recv_string().unwrap(), Err(oxmq::Bytes::from_static(b"\xff\xfe")));
    assert_eq!(oxmq::version(), (4, 3, 5));
}
