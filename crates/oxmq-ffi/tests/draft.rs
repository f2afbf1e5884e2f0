//! The draft API (`cargo test -p oxmq-ffi --features draft`), called from Rust as a C program
//! calls it: the poller, the message routing id and group, the context's `_ext` options, the
//! versioned monitor, and the calls for socket types oxmq does not have.
#![cfg(feature = "draft")]

use std::ffi::{CStr, c_int, c_void};
use std::os::fd::AsRawFd;
use std::ptr;
use std::time::Duration;

use zmq::ctx::*;
use zmq::draft::*;
use zmq::errno::*;
use zmq::msg::draft::*;
use zmq::msg::*;
use zmq::socket::*;
use zmq::util::*;
use zmq::zmq_msg_t;

mod capi;
use capi::*;

const ZMQ_PAIR: c_int = 0;
const ZMQ_ROUTER: c_int = 6;
const ZMQ_PULL: c_int = 7;
const ZMQ_PUSH: c_int = 8;
const ZMQ_RCVTIMEO: c_int = 27;
const ZMQ_POLLIN: i16 = 1;
const ZMQ_POLLOUT: i16 = 2;

fn no_event() -> zmq_poller_event_t {
    zmq_poller_event_t { socket: ptr::null_mut(), fd: 0, user_data: ptr::null_mut(), events: 0 }
}

/// The caller's pointer for a member: any address, handed back untouched.
fn tag(n: usize) -> *mut c_void {
    n as *mut c_void
}

#[test]
fn zmq_has_draft() {
    // SAFETY: a NUL-terminated capability name.
    assert_eq!(unsafe { zmq_has(c("draft").as_ptr()) }, 1);
}

#[test]
fn poller_reports_ready_sockets_and_descriptors_with_their_user_data() {
    let ctx = ctx();
    let (pull, push) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
    assert_eq!(bind(pull, "inproc://poller"), 0);
    assert_eq!(connect(push, "inproc://poller"), 0);
    let (r, w) = std::io::pipe().unwrap();
    let p = zmq_poller_new();
    assert!(!p.is_null());
    assert_eq!(zmq_poller_add(p, pull, tag(1), ZMQ_POLLIN), 0);
    assert_eq!(zmq_poller_add(p, push, tag(2), ZMQ_POLLOUT), 0);
    assert_eq!(zmq_poller_add_fd(p, r.as_raw_fd(), tag(3), ZMQ_POLLIN), 0);
    assert_eq!(zmq_poller_size(p), 3);
    let mut events = [no_event(), no_event(), no_event()];
    // Only PUSH is ready (it can send).
    // SAFETY: three event structs.
    assert_eq!(unsafe { zmq_poller_wait_all(p, events.as_mut_ptr(), 3, 0) }, 1);
    assert_eq!(
        (events[0].socket, events[0].fd, events[0].user_data, events[0].events),
        (push, -1, tag(2), ZMQ_POLLOUT)
    );
    // A message for PULL and a byte in the pipe: all three, in the order added.
    assert_eq!(send(push, b"hi", 0), 2);
    std::io::Write::write_all(&mut &w, b"x").unwrap();
    // SAFETY: three event structs.
    assert_eq!(unsafe { zmq_poller_wait_all(p, events.as_mut_ptr(), 3, 5000) }, 3);
    assert_eq!((events[0].socket, events[0].user_data, events[0].events), (pull, tag(1), ZMQ_POLLIN));
    assert_eq!((events[2].socket, events[2].fd, events[2].user_data), (ptr::null_mut(), r.as_raw_fd(), tag(3)));
    // zmq_poller_wait: the first one only, returning 0.
    let mut one = no_event();
    // SAFETY: one event struct.
    assert_eq!(unsafe { zmq_poller_wait(p, &mut one, 0) }, 0);
    assert_eq!(one.user_data, tag(1));
    // Modified to watch nothing, removed: nothing ready any more.
    assert_eq!(zmq_poller_modify(p, push, 0), 0);
    assert_eq!(zmq_poller_remove(p, pull), 0);
    assert_eq!(zmq_poller_remove_fd(p, r.as_raw_fd()), 0);
    assert_eq!(zmq_poller_size(p), 1);
    // SAFETY: one event struct.
    fails_with(unsafe { zmq_poller_wait(p, &mut one, 0) }, libc::EAGAIN);
    assert!(one.user_data.is_null() && one.fd == -1, "a failed wait clears the event");
    // Nothing watched, no timeout: refused rather than waiting for ever, as libzmq.
    // SAFETY: one event struct.
    fails_with(unsafe { zmq_poller_wait(p, &mut one, -1) }, libc::EFAULT);
    let mut p2 = p;
    // SAFETY: a poller handle's address.
    assert_eq!(unsafe { zmq_poller_destroy(&mut p2) }, 0);
    assert!(p2.is_null());
    for s in [pull, push] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn poller_refuses_bad_input_as_libzmq() {
    let ctx = ctx();
    let s = socket(ctx, ZMQ_PAIR);
    let p = zmq_poller_new();
    let mut ev = no_event();
    let bogus = 0x1234usize as *mut c_void;
    fails_with(zmq_poller_size(bogus), libc::EFAULT);
    fails_with(zmq_poller_add(bogus, s, ptr::null_mut(), ZMQ_POLLIN), libc::EFAULT);
    // SAFETY: a bad poller is refused before the event is read.
    fails_with(unsafe { zmq_poller_wait(ptr::null_mut(), &mut ev, 0) }, libc::EFAULT);
    // SAFETY: NULL events are refused.
    fails_with(unsafe { zmq_poller_wait_all(p, ptr::null_mut(), 1, 0) }, libc::EFAULT);
    // SAFETY: one event struct; a negative count is refused.
    fails_with(unsafe { zmq_poller_wait_all(p, &mut ev, -1, 0) }, libc::EINVAL);
    fails_with(zmq_poller_add(p, bogus, ptr::null_mut(), ZMQ_POLLIN), libc::ENOTSOCK);
    fails_with(zmq_poller_add(p, s, ptr::null_mut(), 0x40), libc::EINVAL);
    fails_with(zmq_poller_add_fd(p, -1, ptr::null_mut(), ZMQ_POLLIN), libc::EBADF);
    assert_eq!(zmq_poller_add(p, s, ptr::null_mut(), ZMQ_POLLIN), 0);
    fails_with(zmq_poller_add(p, s, ptr::null_mut(), ZMQ_POLLIN), libc::EINVAL);
    fails_with(zmq_poller_modify_fd(p, 0, ZMQ_POLLIN), libc::EINVAL);
    fails_with(zmq_poller_remove_fd(p, 0), libc::EINVAL);
    let mut fd: c_int = 0;
    fails_with(zmq_poller_fd(p, &mut fd), libc::EINVAL);
    let mut p2 = p;
    // SAFETY: a poller handle's address; destroying twice is refused.
    unsafe {
        assert_eq!(zmq_poller_destroy(&mut p2), 0);
        let mut again = p;
        fails_with(zmq_poller_destroy(&mut again), libc::EFAULT);
        fails_with(zmq_poller_destroy(ptr::null_mut()), libc::EFAULT);
    }
    assert_eq!(zmq_close(s), 0);
    // A socket closed while in a poller: the poller does not keep it (zmq_ctx_term would wait
    // for it), and a wait then fails with ENOTSOCK.
    let s = socket(ctx, ZMQ_PAIR);
    let p = zmq_poller_new();
    assert_eq!(zmq_poller_add(p, s, ptr::null_mut(), ZMQ_POLLIN), 0);
    // Used meanwhile by a thread that is still there: it keeps the socket's object for its
    // next call (the library's lookup), but the socket is closed all the same.
    let (used, closed) = (std::sync::mpsc::channel(), std::sync::mpsc::channel::<()>());
    let handle = s as usize;
    let user = std::thread::spawn(move || {
        assert_eq!(set_int(handle as *mut c_void, 17 /* ZMQ_LINGER */, 0), 0);
        used.0.send(()).unwrap();
        closed.1.recv().unwrap();
        fails_with(set_int(handle as *mut c_void, 17, 0), libc::ENOTSOCK);
    });
    used.1.recv().unwrap();
    assert_eq!(zmq_close(s), 0);
    // SAFETY: one event struct.
    fails_with(unsafe { zmq_poller_wait(p, &mut ev, 0) }, libc::ENOTSOCK);
    closed.0.send(()).unwrap();
    user.join().unwrap();
    assert_eq!(zmq_ctx_term(ctx), 0);
    // SAFETY: one event struct.
    fails_with(unsafe { zmq_poller_wait(p, &mut ev, 0) }, libc::ENOTSOCK);
    let mut p2 = p;
    // SAFETY: a poller handle's address.
    assert_eq!(unsafe { zmq_poller_destroy(&mut p2) }, 0);
}

#[test]
fn a_signal_interrupts_a_poller_wait_with_eintr() {
    let ctx = ctx();
    let pull = socket(ctx, ZMQ_PULL);
    assert_eq!(bind(pull, "inproc://poller-eintr"), 0);
    let p = zmq_poller_new();
    assert_eq!(zmq_poller_add(p, pull, ptr::null_mut(), ZMQ_POLLIN), 0);
    let handle = P(p);
    let (rc, errno) = interrupted(Interrupt { restart: false, block: false }, move || {
        let handle = handle;
        let mut ev = no_event();
        // SAFETY: one event struct.
        unsafe { zmq_poller_wait(handle.0, &mut ev, -1) }
    });
    assert_eq!((rc, errno), (-1, libc::EINTR));
    let mut p2 = p;
    // SAFETY: a poller handle's address.
    assert_eq!(unsafe { zmq_poller_destroy(&mut p2) }, 0);
    assert_eq!(zmq_close(pull), 0);
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn ppoll_waits_with_the_signal_mask_it_is_given() {
    let ctx = ctx();
    let (pull, push) = (socket(ctx, ZMQ_PULL), socket(ctx, ZMQ_PUSH));
    assert_eq!(bind(pull, "inproc://ppoll"), 0);
    assert_eq!(connect(push, "inproc://ppoll"), 0);
    // SIGUSR1 is blocked in the waiting thread, and let through by ppoll's mask only: the
    // signal ends the wait, which it could not with the thread's own mask.
    let handle = P(pull);
    let (rc, errno) = interrupted(Interrupt { restart: false, block: true }, move || {
        let handle = handle;
        let mut item = zmq::zmq_pollitem_t { socket: handle.0, fd: 0, events: ZMQ_POLLIN, revents: 0 };
        // SAFETY: a sigset_t initialised by sigemptyset; one poll item.
        unsafe {
            let mut open: libc::sigset_t = std::mem::zeroed();
            libc::sigemptyset(&mut open);
            zmq_ppoll(&mut item, 1, -1, &open)
        }
    });
    assert_eq!((rc, errno), (-1, libc::EINTR));
    // A ready socket: counted as zmq_poll counts it (no mask: the thread's stays).
    assert_eq!(send(push, b"hi", 0), 2);
    let mut item = zmq::zmq_pollitem_t { socket: pull, fd: 0, events: ZMQ_POLLIN, revents: 0 };
    // SAFETY: one poll item, no mask.
    assert_eq!(unsafe { zmq_ppoll(&mut item, 1, 5000, ptr::null()) }, 1);
    assert_eq!(item.revents, ZMQ_POLLIN);
    for s in [pull, push] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn messages_carry_a_routing_id_and_a_group_and_copies_keep_them() {
    let mut m = zmq_msg_t::new();
    let mut copy = zmq_msg_t::new();
    // SAFETY: messages initialised before use and closed once; NUL-terminated groups.
    unsafe {
        assert_eq!(zmq_msg_init_buffer(&mut m, b"buffer".as_ptr().cast(), 6), 0);
        assert_eq!(zmq_msg_size(&m), 6);
        assert_eq!(std::slice::from_raw_parts(zmq_msg_data(&mut m).cast::<u8>(), 6), b"buffer");
        assert_eq!(zmq_msg_routing_id(&mut m), 0);
        assert_eq!(CStr::from_ptr(zmq_msg_group(&mut m)).to_bytes(), b"");
        fails_with(zmq_msg_set_routing_id(&mut m, 0), libc::EINVAL);
        assert_eq!(zmq_msg_set_routing_id(&mut m, 42), 0);
        assert_eq!(zmq_msg_set_group(&mut m, c("weather").as_ptr()), 0);
        assert_eq!(zmq_msg_routing_id(&mut m), 42);
        assert_eq!(CStr::from_ptr(zmq_msg_group(&mut m)).to_bytes(), b"weather");
        fails_with(zmq_msg_set_group(&mut m, c(&"g".repeat(256)).as_ptr()), libc::EINVAL);
        assert_eq!(zmq_msg_set_group(&mut m, c(&"g".repeat(255)).as_ptr()), 0);
        assert_eq!(zmq_msg_init(&mut copy), 0);
        assert_eq!(zmq_msg_copy(&mut copy, &mut m), 0);
        assert_eq!(zmq_msg_routing_id(&mut copy), 42);
        assert_eq!(CStr::from_ptr(zmq_msg_group(&mut copy)).to_bytes().len(), 255);
        assert_eq!(zmq_msg_close(&mut m), 0);
        assert_eq!(zmq_msg_routing_id(&mut m), 0);
        assert_eq!(zmq_errno(), libc::EFAULT);
        assert_eq!(zmq_msg_close(&mut copy), 0);
    }
}

#[test]
fn context_ext_options_take_a_text_name_prefix() {
    let ctx = ctx();
    let prefix = b"draftctx";
    // SAFETY: buffers of the lengths given.
    unsafe {
        assert_eq!(zmq_ctx_set_ext(ctx, ZMQ_THREAD_NAME_PREFIX, prefix.as_ptr().cast(), prefix.len()), 0);
        let mut buf = [0u8; 16];
        let mut len = buf.len();
        assert_eq!(zmq_ctx_get_ext(ctx, ZMQ_THREAD_NAME_PREFIX, buf.as_mut_ptr().cast(), &mut len), 0);
        assert_eq!(&buf[..prefix.len()], prefix);
        fails_with(zmq_ctx_set_ext(ctx, ZMQ_THREAD_NAME_PREFIX, [b'x'; 17].as_ptr().cast(), 17), libc::EINVAL);
        let two: c_int = 2;
        assert_eq!(zmq_ctx_set_ext(ctx, ZMQ_IO_THREADS, (&two as *const c_int).cast(), 4), 0);
        fails_with(zmq_ctx_set_ext(ctx, ZMQ_IO_THREADS, (&two as *const c_int).cast(), 2), libc::EINVAL);
        let (mut v, mut len) = (0 as c_int, 4usize);
        assert_eq!(zmq_ctx_get_ext(ctx, ZMQ_IO_THREADS, (&mut v as *mut c_int).cast(), &mut len), 0);
        assert_eq!(v, 2);
    }
    assert_eq!(zmq_ctx_get(ctx, ZMQ_ZERO_COPY_RECV), 1);
    assert_eq!(zmq_ctx_set(ctx, ZMQ_ZERO_COPY_RECV, 0), 0);
    assert_eq!(zmq_ctx_get(ctx, ZMQ_ZERO_COPY_RECV), 0);
    // The I/O threads take the prefix's text, cut at 15 bytes: "draftctx/ZMQbg/".
    let s = socket(ctx, ZMQ_PAIR);
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    let named = || {
        std::fs::read_dir("/proc/self/task")
            .unwrap()
            .flatten()
            .any(|t| std::fs::read_to_string(t.path().join("comm")).is_ok_and(|n| n.trim_end() == "draftctx/ZMQbg/"))
    };
    while !named() {
        assert!(std::time::Instant::now() < deadline, "no I/O thread named draftctx/ZMQbg/");
        std::thread::sleep(Duration::from_millis(10));
    }
    assert_eq!(zmq_close(s), 0);
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn router_reports_a_peers_state_by_routing_id() {
    const ZMQ_DEALER: c_int = 5;
    const ZMQ_ROUTING_ID: c_int = 5;
    const ZMQ_SNDHWM: c_int = 23;
    const ZMQ_RCVHWM: c_int = 24;
    const ZMQ_ROUTER_MANDATORY: c_int = 33;
    const ZMQ_DONTWAIT: c_int = 1;
    const ZMQ_SNDMORE: c_int = 2;
    let ctx = ctx();
    let (router, dealer, pull) = (socket(ctx, ZMQ_ROUTER), socket(ctx, ZMQ_DEALER), socket(ctx, ZMQ_PULL));
    assert_eq!(set_int(router, ZMQ_SNDHWM, 1), 0);
    assert_eq!(set_int(router, ZMQ_ROUTER_MANDATORY, 1), 0);
    assert_eq!(set_int(dealer, ZMQ_RCVHWM, 1), 0);
    // SAFETY: a routing id of the length given.
    assert_eq!(unsafe { zmq_setsockopt(dealer, ZMQ_ROUTING_ID, b"peer".as_ptr().cast(), 4) }, 0);
    assert_eq!(bind(router, "inproc://peer-state"), 0);
    assert_eq!(connect(dealer, "inproc://peer-state"), 0);
    // The router knows the peer once its first message is in.
    assert_eq!(send(dealer, b"hello", 0), 5);
    let mut buf = [0u8; 16];
    assert_eq!(recv(router, &mut buf, 0), 4);
    assert_eq!(&buf[..4], b"peer");
    assert_eq!(recv(router, &mut buf, 0), 5);
    let state = |id: &[u8]| {
        // SAFETY: a routing id of the length given.
        unsafe { zmq_socket_get_peer_state(router, id.as_ptr().cast(), id.len()) }
    };
    assert_eq!(state(b"peer"), ZMQ_POLLOUT as c_int);
    fails_with(state(b"nobody"), libc::EHOSTUNREACH);
    // Fill the peer's queue (the dealer reads nothing): its state says it takes no more.
    let mut sent = 0;
    loop {
        // SAFETY: buffers of the lengths given.
        let rc = unsafe {
            if zmq_send(router, b"peer".as_ptr().cast(), 4, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 {
                -1
            } else {
                zmq_send(router, b"x".as_ptr().cast(), 1, ZMQ_DONTWAIT)
            }
        };
        if rc < 0 {
            assert_eq!(zmq_errno(), libc::EAGAIN);
            break;
        }
        sent += 1;
        assert!(sent < 10_000, "the peer's queue never filled");
    }
    assert_eq!(state(b"peer"), 0);
    // SAFETY: an empty routing id.
    fails_with(unsafe { zmq_socket_get_peer_state(pull, ptr::null(), 0) }, libc::ENOTSUP);
    for s in [router, dealer, pull] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn versioned_monitor_publishes_from_a_push_or_a_pub() {
    const ZMQ_PUB: c_int = 1;
    const ZMQ_SUB: c_int = 2;
    const ZMQ_SUBSCRIBE: c_int = 6;
    let ctx = ctx();
    for (kind, reader_kind, ep) in [(ZMQ_PUSH, ZMQ_PULL, "inproc://mon-push"), (ZMQ_PUB, ZMQ_SUB, "inproc://mon-pub")] {
        let watched = socket(ctx, ZMQ_PAIR);
        // SAFETY: a NUL-terminated endpoint.
        assert_eq!(unsafe { zmq_socket_monitor_versioned(watched, c(ep).as_ptr(), 0xFFFF, 1, kind) }, 0);
        let reader = socket(ctx, reader_kind);
        if reader_kind == ZMQ_SUB {
            // SAFETY: an empty subscription.
            assert_eq!(unsafe { zmq_setsockopt(reader, ZMQ_SUBSCRIBE, ptr::null(), 0) }, 0);
        }
        assert_eq!(set_int(reader, ZMQ_RCVTIMEO, 10_000), 0);
        assert_eq!(connect(reader, ep), 0);
        // A PUB drops what no subscriber takes yet: bind only once the reader has joined (a
        // first bind's event may go before the subscription lands; bind until one arrives).
        let mut ev = [0u8; 6];
        let mut got = -1;
        for _ in 0..100 {
            assert_eq!(bind(watched, "tcp://127.0.0.1:*"), 0);
            assert_eq!(set_int(reader, ZMQ_RCVTIMEO, if reader_kind == ZMQ_SUB { 100 } else { 10_000 }), 0);
            got = recv(reader, &mut ev, 0);
            if got == 6 {
                break;
            }
        }
        assert_eq!(got, 6);
        assert_eq!(u16::from_ne_bytes([ev[0], ev[1]]), 0x0008, "ZMQ_EVENT_LISTENING");
        for s in [watched, reader] {
            assert_eq!(zmq_close(s), 0);
        }
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}

#[test]
fn versioned_monitor_takes_version_1_on_a_pair() {
    let ctx = ctx();
    let router = socket(ctx, ZMQ_ROUTER);
    let ep = c("inproc://monitor-versioned");
    // SAFETY: NUL-terminated endpoints.
    unsafe {
        fails_with(zmq_socket_monitor_versioned(router, ep.as_ptr(), 0x1_0000, 1, ZMQ_PAIR), libc::EINVAL);
        fails_with(zmq_socket_monitor_versioned(router, ep.as_ptr(), 0xFFFF, 2, ZMQ_PAIR), libc::ENOTSUP);
        fails_with(zmq_socket_monitor_versioned(router, ep.as_ptr(), 0xFFFF, 1, ZMQ_ROUTER), libc::EINVAL);
        assert_eq!(zmq_socket_monitor_versioned(router, ep.as_ptr(), 0xFFFF, 1, ZMQ_PAIR), 0);
    }
    let mon = socket(ctx, ZMQ_PAIR);
    assert_eq!(connect(mon, "inproc://monitor-versioned"), 0);
    let timeout: c_int = 10_000;
    // SAFETY: a 4-byte int option.
    assert_eq!(unsafe { zmq_setsockopt(mon, ZMQ_RCVTIMEO, (&timeout as *const c_int).cast(), 4) }, 0);
    assert_eq!(bind(router, "tcp://127.0.0.1:*"), 0);
    let mut ev = [0u8; 6];
    assert_eq!(recv(mon, &mut ev, 0), 6);
    assert_eq!(u16::from_ne_bytes([ev[0], ev[1]]), 0x0008, "ZMQ_EVENT_LISTENING");
    fails_with(zmq_socket_monitor_pipes_stats(router), libc::EINVAL);
    // The calls for socket types oxmq does not have answer as libzmq's on the others.
    fails_with(zmq_join(router, c("g").as_ptr()), libc::ENOTSUP);
    fails_with(zmq_leave(router, c("g").as_ptr()), libc::ENOTSUP);
    assert_eq!(zmq_connect_peer(router, c("tcp://127.0.0.1:1").as_ptr()), 0);
    assert_eq!(zmq_errno(), libc::ENOTSUP);
    // SAFETY: a routing id of the length given.
    fails_with(unsafe { zmq_socket_get_peer_state(router, b"id".as_ptr().cast(), 2) }, libc::EHOSTUNREACH);
    fails_with(zmq_join(ptr::null_mut(), c("g").as_ptr()), libc::ENOTSOCK);
    for s in [router, mon] {
        assert_eq!(zmq_close(s), 0);
    }
    assert_eq!(zmq_ctx_term(ctx), 0);
}
