//! ZMQ_FD and ZMQ_EVENTS as libzmq's: sockets driven only by their readiness descriptor, the
//! way pyzmq's asyncio integration (zmq/_future.py) and every event-loop binding drive them.
//!
//! The loop here ([`EventLoop`]) does what pyzmq's `_AsyncSocket` does: the descriptor is a
//! reader of the loop (poll(2) here, the selector there); when the loop starts and whenever a
//! descriptor fires it reads ZMQ_EVENTS of each socket and, where they meet what the socket
//! waits for, does one non-blocking receive or send (`_handle_events`, `_handle_recv`,
//! `_handle_send`); after each it reads ZMQ_EVENTS again and goes on at once while they still
//! meet what is waited for (`_schedule_remaining_events`): the descriptor is edge-triggered and
//! does not fire again for messages already there. Only when no socket has anything to do does
//! it wait on the descriptors. Nothing else ever wakes it: a lost wake-up is a loop that waits
//! while work remains, and fails here after [`SOON`].
//!
//! "Not readable when nothing happened" is checked ([`assert_quiet`]) only where no write to the
//! descriptor can still be under way: every change to the socket was made by this thread or a
//! thread it has joined (inproc peers notify in their own calls), or the socket has no peer, or
//! it is a connecting PUSH that is never refused (its pipe is attached in `connect`, the
//! connection posts it nothing, and its peer notifies it only when it was refused). A tcp
//! engine's notify can land just after the socket saw the change it reports, so such a check
//! over tcp elsewhere could flake, and is not made.

mod common;
#[macro_use]
#[allow(unused_macros)]
mod interop;

use std::cell::Cell;
use std::os::fd::{AsRawFd, BorrowedFd};
use std::sync::mpsc;
use std::thread;

use common::{QUIET, SOON, Transport};
use oxmq::{Context, Error, PollEvents, Socket, SocketBase, SocketType, opt};
use rustix::event::{PollFd, PollFlags, Timespec};

const IN: PollEvents = PollEvents::IN;
const OUT: PollEvents = PollEvents::OUT;
const NONE: PollEvents = PollEvents::empty();

// ---------------------------------------------------------------- the event loop

/// Does `fd` become readable within `within`? poll(2), as an event loop waits.
fn readable_within(fd: BorrowedFd<'_>, within: std::time::Duration) -> bool {
    let mut fds = [PollFd::from_borrowed_fd(fd, PollFlags::IN)];
    let timeout = Timespec::try_from(within).unwrap();
    loop {
        match rustix::event::poll(&mut fds, Some(&timeout)) {
            Ok(n) => return n > 0,
            Err(rustix::io::Errno::INTR) => continue,
            Err(e) => panic!("poll(2): {e}"),
        }
    }
}

/// After the application has read ZMQ_EVENTS (which clears the descriptor) and, in the
/// caller's scenario, nothing can change the socket any more (see the module's doc): the
/// descriptor is not readable. The poll's timeout only gives a wrong write time to show.
#[track_caller]
fn assert_quiet(s: &SocketBase, what: &str) {
    s.events().unwrap();
    assert!(
        !readable_within(s.fd().unwrap(), QUIET),
        "{what}: the descriptor is readable although nothing happened: an event loop would spin"
    );
}

/// What a socket's handler is given: the events that met what it waits for.
/// It does one non-blocking operation and returns what it waits for next (nothing: done).
type Handler<'a> = Box<dyn FnMut(PollEvents) -> PollEvents + 'a>;

struct Watched<'a> {
    sock: &'a SocketBase,
    fd: BorrowedFd<'a>,
    want: PollEvents,
    handler: Handler<'a>,
}

#[derive(Debug, Default)]
struct Stats {
    /// Times a descriptor fired.
    wakes: usize,
    /// Times one fired and no socket had anything to do (allowed: the descriptor may fire for
    /// a change ZMQ_EVENTS already showed; but never many in a row).
    idle_wakes: usize,
}

struct EventLoop<'a> {
    socks: Vec<Watched<'a>>,
}

impl<'a> EventLoop<'a> {
    fn new() -> EventLoop<'a> {
        EventLoop { socks: Vec::new() }
    }

    /// Watch `sock` (its descriptor asked for now, as pyzmq does when a socket is first used),
    /// waiting for `want`.
    fn watch(&mut self, sock: &'a SocketBase, want: PollEvents, handler: impl FnMut(PollEvents) -> PollEvents + 'a) {
        let fd = sock.fd().unwrap();
        self.socks.push(Watched { sock, fd, want, handler: Box::new(handler) });
    }

    /// Run until no socket waits for anything.
    fn run(&mut self) -> Stats {
        let mut stats = Stats::default();
        let mut idle_in_a_row = 0;
        loop {
            // `_handle_events` for each socket, then `_schedule_remaining_events`: again at
            // once while ZMQ_EVENTS meets what a socket waits for. ZMQ_EVENTS is read for every
            // socket, waiting for something or not, as pyzmq reads it on every wake.
            let mut progressed = false;
            loop {
                let mut any = false;
                for w in &mut self.socks {
                    let ev = w.sock.events().unwrap();
                    if !(ev & w.want).is_empty() {
                        w.want = (w.handler)(ev & w.want);
                        any = true;
                    }
                }
                if !any {
                    break;
                }
                progressed = true;
            }
            if self.socks.iter().all(|w| w.want.is_empty()) {
                return stats;
            }
            if stats.wakes > 0 && !progressed {
                stats.idle_wakes += 1;
                idle_in_a_row += 1;
                assert!(idle_in_a_row < 100, "descriptors keep firing with nothing to do: a busy loop ({stats:?})");
            } else {
                idle_in_a_row = 0;
            }
            // Wait on every descriptor, as the loop's selector does.
            let mut fds: Vec<PollFd<'_>> =
                self.socks.iter().map(|w| PollFd::from_borrowed_fd(w.fd, PollFlags::IN)).collect();
            let timeout = Timespec::try_from(SOON).unwrap();
            let n = loop {
                match rustix::event::poll(&mut fds, Some(&timeout)) {
                    Err(rustix::io::Errno::INTR) => continue,
                    r => break r.unwrap(),
                }
            };
            let waiting: Vec<_> = self.socks.iter().map(|w| (w.sock.socket_type(), w.want)).collect();
            assert!(n > 0, "no descriptor fired within {SOON:?} while sockets wait for {waiting:?}: a lost wake-up");
            stats.wakes += 1;
        }
    }
}

/// Message `i` of a test stream: 1 to 3 frames, each naming its message and frame.
fn msg(i: usize) -> Vec<Vec<u8>> {
    (0..i % 3 + 1).map(|k| format!("message {i} frame {k}").into_bytes()).collect()
}

/// Send `frames` without blocking (DONTWAIT): `Again` with nothing sent, or the whole
/// message queued (the rest of a message whose first frame was accepted always is).
fn try_send_msg(s: &Socket, frames: &[Vec<u8>]) -> oxmq::Result<()> {
    let last = frames.len() - 1;
    for (k, f) in frames.iter().enumerate() {
        match s.try_send(f.clone(), k < last) {
            Err(Error::Again) if k == 0 => return Err(Error::Again),
            Err(e) => panic!("{:?}: frame {k} of a started message refused: {e:?}", s.socket_type()),
            Ok(()) => {}
        }
    }
    Ok(())
}

/// Receive a whole message without blocking (DONTWAIT), as frames.
fn try_recv_msg(s: &Socket) -> oxmq::Result<Vec<Vec<u8>>> {
    s.try_recv_message().map(|m| m.frames().iter().map(|f| f.to_vec()).collect())
}

/// A handler's one non-blocking call when ZMQ_EVENTS said it would not block: it must not.
#[track_caller]
fn promised<T>(r: oxmq::Result<T>, what: &str) -> T {
    r.unwrap_or_else(|e| panic!("{what}: ZMQ_EVENTS said it would not block, and it failed: {e:?}"))
}

fn socket(ctx: &Context, t: SocketType) -> Socket {
    let s = ctx.socket(t).unwrap();
    s.set_linger(0).unwrap();
    s
}

/// `a` binds, `b` connects, over `t`.
fn wire(a: &Socket, b: &Socket, t: Transport) {
    a.bind(&t.bind_endpoint()).unwrap();
    b.connect(&a.last_endpoint().unwrap()).unwrap();
}

// ---------------------------------------------------------------- PUSH/PULL

/// A PUSH and a PULL in one loop, both driven by their descriptors: `count` messages of 1-3
/// frames, in order.
fn push_pull_in_one_loop(t: Transport, count: usize) {
    let ctx = Context::new();
    let (push, pull) = (socket(&ctx, SocketType::Push), socket(&ctx, SocketType::Pull));
    wire(&pull, &push, t);
    let (sent, got) = (Cell::new(0), Cell::new(0));
    let mut lp = EventLoop::new();
    lp.watch(&push, OUT, |_| {
        promised(try_send_msg(&push, &msg(sent.get())), "PUSH send");
        sent.set(sent.get() + 1);
        if sent.get() < count { OUT } else { NONE }
    });
    lp.watch(&pull, IN, |_| {
        let m = promised(try_recv_msg(&pull), "PULL receive");
        assert_eq!(m, msg(got.get()), "{t:?}: message {}", got.get());
        got.set(got.get() + 1);
        if got.get() < count { IN } else { NONE }
    });
    let stats = lp.run();
    assert_eq!((sent.get(), got.get()), (count, count));
    if t == Transport::Inproc {
        assert_quiet(&pull, "inproc PULL after the stream");
        assert_quiet(&push, "inproc PUSH after the stream");
    }
    eprintln!("{t:?}: {stats:?}");
}

#[test]
fn push_pull_driven_by_fd_inproc() {
    push_pull_in_one_loop(Transport::Inproc, 20_000);
}

#[test]
fn push_pull_driven_by_fd_tcp() {
    push_pull_in_one_loop(Transport::Tcp, 20_000);
}

#[test]
fn push_pull_driven_by_fd_ipc() {
    push_pull_in_one_loop(Transport::Ipc, 5_000);
}

/// The PULL alone in the loop, fed by a thread that sends with blocking calls: every wake-up
/// crosses threads (and, over tcp, the I/O thread).
fn pull_fed_by_a_thread(t: Transport, count: usize) {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind(&t.bind_endpoint()).unwrap();
    let endpoint = pull.last_endpoint().unwrap();
    let sender = {
        let ctx = ctx.clone();
        thread::spawn(move || {
            let push = socket(&ctx, SocketType::Push);
            push.connect(&endpoint).unwrap();
            for i in 0..count {
                push.send_multipart(msg(i)).unwrap();
            }
            push
        })
    };
    let got = Cell::new(0);
    let mut lp = EventLoop::new();
    lp.watch(&pull, IN, |_| {
        let m = promised(try_recv_msg(&pull), "PULL receive");
        assert_eq!(m, msg(got.get()), "{t:?}: message {}", got.get());
        got.set(got.get() + 1);
        if got.get() < count { IN } else { NONE }
    });
    let stats = lp.run();
    let push = sender.join().unwrap();
    if t == Transport::Inproc {
        // Every send (and so every notify) was made by the joined thread.
        assert_quiet(&pull, "inproc PULL after its sender is done");
    }
    drop(push);
    eprintln!("{t:?}: {stats:?}");
}

#[test]
fn pull_fed_by_a_thread_inproc() {
    pull_fed_by_a_thread(Transport::Inproc, 20_000);
}

#[test]
fn pull_fed_by_a_thread_tcp() {
    pull_fed_by_a_thread(Transport::Tcp, 20_000);
}

// ---------------------------------------------------------------- REQ/REP

/// A REQ and a REP in one loop: `count` round trips, each side waiting for OUT to send and
/// IN to receive in turn, as a REQ/REP pair of asyncio tasks does.
fn req_rep_in_one_loop(t: Transport, count: usize) {
    let ctx = Context::new();
    let (rep, req) = (socket(&ctx, SocketType::Rep), socket(&ctx, SocketType::Req));
    wire(&rep, &req, t);
    let (asked, answered, got) = (Cell::new(0), Cell::new(0), Cell::new(0));
    let pending: Cell<Option<Vec<Vec<u8>>>> = Cell::new(None);
    let mut lp = EventLoop::new();
    lp.watch(&req, OUT, |ev| {
        if ev.contains(OUT) {
            promised(try_send_msg(&req, &msg(asked.get())), "REQ send");
            asked.set(asked.get() + 1);
            return IN;
        }
        let m = promised(try_recv_msg(&req), "REQ receive");
        let mut want = msg(got.get());
        want.push(b"reply".to_vec());
        assert_eq!(m, want, "{t:?}: reply {}", got.get());
        got.set(got.get() + 1);
        if got.get() < count { OUT } else { NONE }
    });
    lp.watch(&rep, IN, |ev| {
        if ev.contains(IN) {
            let m = promised(try_recv_msg(&rep), "REP receive");
            assert_eq!(m, msg(answered.get()), "{t:?}: request {}", answered.get());
            pending.set(Some(m));
            return OUT;
        }
        let mut reply = pending.take().expect("a request to answer");
        reply.push(b"reply".to_vec());
        promised(try_send_msg(&rep, &reply), "REP send");
        answered.set(answered.get() + 1);
        if answered.get() < count { IN } else { NONE }
    });
    let stats = lp.run();
    drop(lp);
    assert_eq!(got.get(), count);
    if t == Transport::Inproc {
        assert_quiet(&req, "inproc REQ after the round trips");
        assert_quiet(&rep, "inproc REP after the round trips");
    }
    eprintln!("{t:?}: {stats:?}");
}

#[test]
fn req_rep_driven_by_fd_inproc() {
    req_rep_in_one_loop(Transport::Inproc, 5_000);
}

#[test]
fn req_rep_driven_by_fd_tcp() {
    req_rep_in_one_loop(Transport::Tcp, 2_000);
}

// ---------------------------------------------------------------- before the first fd()

/// Messages that arrived before the descriptor was first asked for: the application reads
/// ZMQ_EVENTS first (as libzmq's documentation says, and pyzmq does when it starts watching a
/// socket), and finds them. The descriptor is also readable when first asked for, so a loop
/// that waits first still looks once.
fn queued_before_fd(t: Transport) {
    const COUNT: usize = 10;
    let ctx = Context::new();
    let (push, pull) = (socket(&ctx, SocketType::Push), socket(&ctx, SocketType::Pull));
    wire(&pull, &push, t);
    for i in 0..COUNT {
        push.send_multipart(msg(i)).unwrap();
    }
    if t == Transport::Inproc {
        // Queued in the pipe already: ZMQ_EVENTS says so before any descriptor exists.
        assert!(readable_within(pull.fd().unwrap(), std::time::Duration::ZERO), "readable when first asked for");
        assert_eq!(pull.events().unwrap(), IN);
        assert_quiet(&pull, "after ZMQ_EVENTS, with nothing new");
    }
    let got = Cell::new(0);
    let mut lp = EventLoop::new();
    lp.watch(&pull, IN, |_| {
        assert_eq!(promised(try_recv_msg(&pull), "PULL receive"), msg(got.get()));
        got.set(got.get() + 1);
        if got.get() < COUNT { IN } else { NONE }
    });
    lp.run();
    if t == Transport::Inproc {
        assert_quiet(&pull, "inproc PULL after taking everything");
    }
}

#[test]
fn messages_queued_before_fd_is_asked_for_inproc() {
    queued_before_fd(Transport::Inproc);
}

#[test]
fn messages_queued_before_fd_is_asked_for_tcp() {
    queued_before_fd(Transport::Tcp);
}

#[test]
fn fd_is_readable_when_first_asked_for_and_quiet_after_events() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let fd = pull.fd().unwrap();
    assert!(readable_within(fd, std::time::Duration::ZERO));
    assert_eq!(pull.events().unwrap(), NONE);
    // A bound socket with no peer: nothing can change it.
    assert_quiet(&pull, "a PULL with no peer");
    assert_eq!(pull.fd().unwrap().as_raw_fd(), fd.as_raw_fd(), "one descriptor per socket");
}

// ---------------------------------------------------------------- HWM

/// A PUSH refused at its HWM (ZMQ_EVENTS without OUT) is woken by its descriptor when the
/// reader drains its queue, and sends the rest: the POLLOUT path. The reader only starts once
/// the PUSH has been refused, so it is refused at least once.
fn hwm_blocks_then_unblocks(t: Transport, count: usize, size: usize) {
    let ctx = Context::new();
    let (push, pull) = (socket(&ctx, SocketType::Push), socket(&ctx, SocketType::Pull));
    push.set_sndhwm(10).unwrap();
    pull.set_rcvhwm(10).unwrap();
    wire(&pull, &push, t);
    let body = |i: usize| {
        let mut b = vec![(i % 251) as u8; size];
        b[..8].copy_from_slice(&(i as u64).to_le_bytes());
        b
    };
    let (start_tx, start_rx) = mpsc::channel::<()>();
    let reader = thread::spawn(move || {
        start_rx.recv().unwrap();
        for i in 0..count {
            let m = pull.recv().unwrap();
            assert_eq!(m.len(), size);
            assert_eq!(u64::from_le_bytes(m[..8].try_into().unwrap()), i as u64, "message {i}");
        }
        pull
    });
    let (sent, refused) = (Cell::new(0), Cell::new(0));
    let fd = push.fd().unwrap();
    // Fill: send while ZMQ_EVENTS says OUT, and once it does not, wait on the descriptor;
    // the first time it does not, check it stays quiet (inproc) and start the reader.
    let mut start = Some(start_tx);
    while sent.get() < count {
        let ev = push.events().unwrap();
        if ev.contains(OUT) {
            promised(try_send_msg(&push, &[body(sent.get())]), "PUSH send");
            sent.set(sent.get() + 1);
            continue;
        }
        refused.set(refused.get() + 1);
        if let Some(tx) = start.take() {
            assert!(sent.get() >= 10, "refused after {} messages, below the HWM", sent.get());
            if t == Transport::Inproc {
                // Nobody reads: nothing can make room.
                assert_quiet(&push, "a PUSH at its HWM with nobody reading");
            }
            tx.send(()).unwrap();
        }
        assert!(readable_within(fd, SOON), "refused at the HWM, and the descriptor never fired as the reader drained");
    }
    // Never refused (more buffering than this test expects): let the reader finish, then fail.
    if let Some(tx) = start.take() {
        tx.send(()).unwrap();
    }
    let pull = reader.join().unwrap();
    assert!(refused.get() >= 1, "{t:?}: {count} messages of {size} B went out without the PUSH ever being refused");
    if t == Transport::Inproc {
        assert_quiet(&push, "inproc PUSH after the reader is done");
    }
    eprintln!("{t:?}: sent {count}, refused {} times", refused.get());
    drop(pull);
}

#[test]
fn hwm_blocks_then_pollout_wakes_inproc() {
    hwm_blocks_then_unblocks(Transport::Inproc, 5_000, 100);
}

#[test]
fn hwm_blocks_then_pollout_wakes_tcp() {
    // More than the two HWMs and the kernel's socket buffers hold, so the PUSH is refused
    // before the reader starts.
    hwm_blocks_then_unblocks(Transport::Tcp, 1_000, 100_000);
}

// ---------------------------------------------------------------- peers come and go

/// A bound PUSH waiting for OUT: a peer connecting wakes its descriptor (ZMQ_EVENTS then says
/// OUT), the peer going away wakes it again (OUT gone), a new peer again.
fn peers_come_and_go(t: Transport) {
    let ctx = Context::new();
    let push = socket(&ctx, SocketType::Push);
    push.bind(&t.bind_endpoint()).unwrap();
    let endpoint = push.last_endpoint().unwrap();
    let fd = push.fd().unwrap();
    assert_eq!(push.events().unwrap(), NONE, "no peer: not writable");
    assert_quiet(&push, "a PUSH with no peer");
    // Wait on the descriptor, then read ZMQ_EVENTS, until they say `want`.
    let wait_until = |want: PollEvents, what: &str| loop {
        if push.events().unwrap() == want {
            return;
        }
        assert!(readable_within(fd, SOON), "{t:?}: {what}: the descriptor never fired");
    };
    for round in 0..3 {
        let pull = socket(&ctx, SocketType::Pull);
        pull.connect(&endpoint).unwrap();
        wait_until(OUT, "a peer connected");
        promised(try_send_msg(&push, &[format!("round {round}").into_bytes()]), "PUSH send");
        assert_eq!(pull.recv().unwrap(), format!("round {round}").as_bytes());
        drop(pull);
        wait_until(NONE, "the peer went away");
        if t == Transport::Inproc {
            assert_quiet(&push, "inproc PUSH after its peer left");
        }
    }
}

#[test]
fn peers_connecting_and_leaving_wake_the_fd_inproc() {
    peers_come_and_go(Transport::Inproc);
}

#[test]
fn peers_connecting_and_leaving_wake_the_fd_tcp() {
    peers_come_and_go(Transport::Tcp);
}

/// Over tcp, a connecting PUSH that is never refused gets no notification at all once its
/// pipe is attached (in `connect`): after it sent everything, and the peer took it, its
/// descriptor is quiet.
#[test]
fn connecting_push_over_tcp_is_quiet_after_sending() {
    let ctx = Context::new();
    let (pull, push) = (socket(&ctx, SocketType::Pull), socket(&ctx, SocketType::Push));
    wire(&pull, &push, Transport::Tcp);
    let sent = Cell::new(0);
    let mut lp = EventLoop::new();
    lp.watch(&push, OUT, |_| {
        promised(try_send_msg(&push, &msg(sent.get())), "PUSH send");
        sent.set(sent.get() + 1);
        if sent.get() < 100 { OUT } else { NONE }
    });
    lp.run();
    drop(lp);
    for i in 0..100 {
        assert_eq!(pull.recv_multipart().unwrap(), msg(i));
    }
    assert_quiet(&push, "a connecting PUSH over tcp, never refused");
}

// ---------------------------------------------------------------- the option, and term

#[test]
fn fd_option_by_id_is_the_descriptor_as_an_int() {
    let ctx = Context::new();
    let s = socket(&ctx, SocketType::Dealer);
    let raw = s.get_option_raw(opt::FD).unwrap();
    assert_eq!(raw.len(), 4, "an int, as libzmq's on Unix");
    assert_eq!(i32::from_ne_bytes(raw[..].try_into().unwrap()), s.fd().unwrap().as_raw_fd());
    assert_eq!(s.get_option_sized(opt::FD, 4).unwrap(), raw);
    // libzmq answers ZMQ_FD in its socket code: any buffer of at least an int, the int written.
    assert_eq!(s.get_option_sized(opt::FD, 8).unwrap(), raw);
    assert!(s.get_option_sized(opt::FD, 2).is_err(), "a buffer under an int's size");
    assert!(s.set_option_raw(opt::FD, &raw).is_err(), "read-only");
    assert_eq!(opt::FD, 14);
}

/// `term` wakes the descriptor; ZMQ_EVENTS then says ETERM, and the descriptor does not stay
/// readable (an event loop handling ETERM by closing the socket later does not spin meanwhile).
#[test]
fn term_wakes_the_fd_once() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.bind("inproc://fd-term").unwrap();
    let fd = pull.fd().unwrap();
    assert_quiet(&pull, "before term");
    let term = {
        let ctx = ctx.clone();
        thread::spawn(move || ctx.term())
    };
    assert!(readable_within(fd, SOON), "term did not wake the descriptor");
    assert!(matches!(pull.events(), Err(Error::ContextTerminated)));
    // term notifies each socket once, and that notify is done: it made the descriptor readable.
    assert!(!readable_within(fd, QUIET), "readable after ZMQ_EVENTS said ETERM");
    drop(pull);
    term.join().unwrap();
}

// ---------------------------------------------------------------- against libzmq

/// oxmq driven by its descriptor against pyzmq (libzmq 4.3.5) peers over tcp.
mod pyzmq {
    use super::*;
    use interop::{Peer, args, burst_message, frames, run_test};

    fn burst(i: usize) -> Vec<Vec<u8>> {
        frames(&burst_message(i))
    }

    /// A PULL driven by its descriptor takes a burst of libzmq's, in order.
    #[test]
    fn pull_driven_by_fd_takes_a_libzmq_burst() {
        run_test(|| {
            const COUNT: usize = 3000;
            let ctx = Context::new();
            let pull = socket(&ctx, SocketType::Pull);
            pull.bind("tcp://127.0.0.1:*").unwrap();
            let mut peer = Peer::spawn("PUSH", &args(&["--connect", &pull.last_endpoint().unwrap()]));
            peer.write(&format!(r#"{{"cmd":"send_burst","count":{COUNT}}}"#));
            let got = Cell::new(0);
            let mut lp = EventLoop::new();
            lp.watch(&pull, IN, |_| {
                let i = got.get();
                assert_eq!(promised(try_recv_msg(&pull), "PULL receive"), burst(i), "burst message {i}");
                got.set(i + 1);
                if i + 1 < COUNT { IN } else { NONE }
            });
            lp.run();
            assert_eq!(peer.read_line(), "ok");
        });
    }

    /// A PUSH driven by its descriptor, with a small HWM, feeds libzmq's PULL: refused at the
    /// HWM and woken as libzmq reads.
    #[test]
    fn push_driven_by_fd_feeds_libzmq_through_its_hwm() {
        run_test(|| {
            const COUNT: usize = 3000;
            let ctx = Context::new();
            let push = socket(&ctx, SocketType::Push);
            push.set_sndhwm(5).unwrap();
            push.bind("tcp://127.0.0.1:*").unwrap();
            let mut peer = Peer::spawn("PULL", &args(&["--connect", &push.last_endpoint().unwrap()]));
            peer.write(&format!(r#"{{"cmd":"expect_burst","count":{COUNT},"timeout_ms":5000}}"#));
            let sent = Cell::new(0);
            let mut lp = EventLoop::new();
            lp.watch(&push, OUT, |_| {
                promised(try_send_msg(&push, &burst(sent.get())), "PUSH send");
                sent.set(sent.get() + 1);
                if sent.get() < COUNT { OUT } else { NONE }
            });
            let stats = lp.run();
            assert_eq!(peer.read_line(), "ok", "libzmq got the burst in order");
            eprintln!("{stats:?}");
        });
    }

    /// A REQ driven by its descriptor against libzmq's REP (echoing).
    #[test]
    fn req_driven_by_fd_against_libzmq_rep() {
        run_test(|| {
            const COUNT: usize = 300;
            let ctx = Context::new();
            let req = socket(&ctx, SocketType::Req);
            let mut peer = Peer::spawn("REP", &args(&["--bind", "tcp://127.0.0.1:*"]));
            req.connect(&peer.endpoint.clone()).unwrap();
            peer.start_echo(COUNT);
            let got = Cell::new(0);
            let mut lp = EventLoop::new();
            lp.watch(&req, OUT, |ev| {
                let i = got.get();
                if ev.contains(OUT) {
                    promised(try_send_msg(&req, &burst(i)), "REQ send");
                    return IN;
                }
                assert_eq!(promised(try_recv_msg(&req), "REQ receive"), burst(i), "echo {i}");
                got.set(i + 1);
                if i + 1 < COUNT { OUT } else { NONE }
            });
            lp.run();
            for _ in 0..COUNT {
                peer.read_msg();
            }
            peer.finish_echo(COUNT);
        });
    }
}
