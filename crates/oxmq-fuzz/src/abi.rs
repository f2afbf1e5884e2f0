//! The C ABI (`oxmq-ffi`, libzmq's `zmq.h` functions) driven by arbitrary bytes: each input is
//! a program of calls on up to six sockets, three `zmq_msg_t`s and four inproc endpoints in one
//! context: sockets made and closed, bound, connected, unbound; options set (any id, any size,
//! any bytes) and read (any buffer size); frames and messages sent and received without
//! blocking; messages initialised, copied, moved, closed and used after close; `zmq_poll`;
//! handles that are NULL, closed or never were one. Then every socket is closed (LINGER 0)
//! and the context terminated, and calls after termination must fail.
//!
//! Checked besides "no crash": no exported function panicked (the ABI turns a panic into
//! `EFAULT`, and counts it: `zmq::panics_caught`), every call on a closed socket or a NULL
//! or foreign handle fails with `ENOTSOCK`, and termination returns (no hang).
//!
//! Excluded: `ZMQ_USE_FD` with a descriptor number (the library takes over and later closes
//! whatever descriptor the number names: the caller's contract, not something to fuzz), and
//! calls that would block (every send and receive has `ZMQ_DONTWAIT`, `zmq_poll` a 0 timeout).

use std::ffi::{CString, c_int, c_void};
use std::mem::MaybeUninit;

use zmq::ctx::{zmq_ctx_new, zmq_ctx_term};
use zmq::errno::zmq_errno;
use zmq::msg::*;
use zmq::poll::zmq_poll;
use zmq::socket::*;
use zmq::{zmq_msg_t, zmq_pollitem_t};

const ZMQ_DONTWAIT: c_int = 1;
const ZMQ_SNDMORE: c_int = 2;
const ZMQ_LINGER: c_int = 17;
const ZMQ_USE_FD: c_int = 89;
const ENOTSOCK: c_int = 88;
const EINTR: c_int = 4;
const EFAULT: c_int = 14;

/// Reads the program: one byte at a time, zeros past the end.
struct Program<'a> {
    data: &'a [u8],
    at: usize,
}

impl Program<'_> {
    fn byte(&mut self) -> u8 {
        let b = self.data.get(self.at).copied().unwrap_or(0);
        self.at += 1;
        b
    }
    fn bytes(&mut self, n: usize) -> Vec<u8> {
        (0..n).map(|_| self.byte()).collect()
    }
    fn done(&self) -> bool {
        self.at >= self.data.len()
    }
}

/// A socket handle, live or closed (a closed one stays, to be used again: ENOTSOCK).
struct Handle {
    ptr: *mut c_void,
    open: bool,
}

/// Runs `data` as a program of C ABI calls (see the module doc).
pub fn abi(data: &[u8]) {
    let panics_before = zmq::panics_caught();
    let ctx = zmq_ctx_new();
    assert!(!ctx.is_null(), "zmq_ctx_new failed: errno {}", zmq_errno());
    let endpoints: Vec<CString> = (0..4).map(|i| CString::new(format!("inproc://fuzz-{i}")).unwrap()).collect();
    let mut sockets: Vec<Handle> = Vec::new();
    // SAFETY: zmq_msg_t is plain bytes (`[u8; 64]`-like); all zeros is "never initialised",
    // which the ABI must refuse (EFAULT) without reading anything else.
    let mut msgs: [zmq_msg_t; 3] = unsafe { MaybeUninit::zeroed().assume_init() };
    let mut p = Program { data, at: 0 };
    let mut not_a_handle: u64 = 0xdead_beef;
    let mut steps = 0;
    while !p.done() && steps < 200 {
        steps += 1;
        let op = p.byte() % 17;
        // A socket handle: a live or closed one, NULL, or a pointer to something else.
        let pick = p.byte() as usize;
        let s: *mut c_void = match pick % (sockets.len() + 2) {
            i if i < sockets.len() => sockets[i].ptr,
            i if i == sockets.len() => std::ptr::null_mut(),
            _ => (&mut not_a_handle as *mut u64).cast(),
        };
        let is_live = sockets.iter().any(|h| h.open && h.ptr == s);
        let ep = &endpoints[p.byte() as usize % endpoints.len()];
        let m = p.byte() as usize % msgs.len();
        let rc = match op {
            0 => {
                let t = c_int::from(p.byte() % 12);
                if sockets.iter().filter(|h| h.open).count() < 6 {
                    let ptr = zmq_socket(ctx, t);
                    if !ptr.is_null() {
                        sockets.push(Handle { ptr, open: true });
                    }
                }
                0
            }
            1 => {
                let rc = zmq_close(s);
                if rc == 0 {
                    sockets.iter_mut().filter(|h| h.ptr == s).for_each(|h| h.open = false);
                }
                rc
            }
            // SAFETY (2-4): `ep` is a NUL-terminated string that outlives the call.
            2 => unsafe { zmq_bind(s, ep.as_ptr()) },
            3 => unsafe { zmq_connect(s, ep.as_ptr()) },
            4 => unsafe { if p.byte() % 2 == 0 { zmq_unbind(s, ep.as_ptr()) } else { zmq_disconnect(s, ep.as_ptr()) } },
            5 => {
                let id = c_int::from(p.byte());
                let len = p.byte() as usize % 9;
                let value = p.bytes(len);
                if id == ZMQ_USE_FD {
                    0
                } else {
                    // SAFETY: `value` holds `len` readable bytes.
                    unsafe { zmq_setsockopt(s, id, value.as_ptr().cast(), value.len()) }
                }
            }
            6 => {
                let id = c_int::from(p.byte());
                let mut buf = [0u8; 64];
                let mut len = p.byte() as usize % (buf.len() + 1);
                // SAFETY: `buf` has room for `len` bytes; `len` is a live size_t.
                let rc = unsafe { zmq_getsockopt(s, id, buf.as_mut_ptr().cast(), &mut len) };
                if rc == 0 {
                    assert!(len <= buf.len(), "zmq_getsockopt wrote a length past the buffer: {len}");
                }
                rc
            }
            7 => {
                let flags = ZMQ_DONTWAIT | (c_int::from(p.byte() & 1) * ZMQ_SNDMORE);
                let len = p.byte() as usize % 32;
                let body = p.bytes(len);
                // SAFETY: `body` holds `body.len()` readable bytes.
                unsafe { zmq_send(s, body.as_ptr().cast(), body.len(), flags) }
            }
            8 => {
                let mut buf = [0u8; 32];
                let len = p.byte() as usize % (buf.len() + 1);
                // SAFETY: `buf` has room for `len` bytes.
                unsafe { zmq_recv(s, buf.as_mut_ptr().cast(), len, ZMQ_DONTWAIT) }
            }
            // SAFETY (9-15): `msgs[..]` are live zmq_msg_t places, initialised or not: the ABI
            // tells them apart by their tag.
            9 => unsafe {
                // Initialising one that holds a message would leak it (as in libzmq): close first.
                zmq_msg_close(&mut msgs[m]);
                match p.byte() % 2 {
                    0 => zmq_msg_init(&mut msgs[m]),
                    _ => zmq_msg_init_size(&mut msgs[m], p.byte() as usize),
                }
            },
            10 => unsafe { zmq_msg_send(&mut msgs[m], s, ZMQ_DONTWAIT | (c_int::from(p.byte() & 1) * ZMQ_SNDMORE)) },
            11 => unsafe { zmq_msg_recv(&mut msgs[m], s, ZMQ_DONTWAIT) },
            12 => unsafe { zmq_msg_close(&mut msgs[m]) },
            13 | 14 => {
                let other = p.byte() as usize % msgs.len();
                let base = msgs.as_mut_ptr();
                // SAFETY: both point into `msgs`; the ABI handles dest == src.
                unsafe {
                    if op == 13 {
                        zmq_msg_copy(base.add(m), base.add(other))
                    } else {
                        zmq_msg_move(base.add(m), base.add(other))
                    }
                }
            }
            15 => unsafe {
                let _ = zmq_msg_size(&msgs[m]);
                let _ = zmq_msg_more(&msgs[m]);
                // zmq_msg_gets caches the value in the message: a pointer that may write.
                let _ = zmq_msg_gets(&raw mut msgs[m], c"Socket-Type".as_ptr());
                0
            },
            _ => {
                let mut items: Vec<zmq_pollitem_t> = sockets
                    .iter()
                    .filter(|h| h.open)
                    .map(|h| zmq_pollitem_t { socket: h.ptr, fd: 0, events: 3, revents: 0 })
                    .collect();
                // SAFETY: `items` holds `items.len()` items of live sockets.
                unsafe { zmq_poll(items.as_mut_ptr(), items.len() as c_int, 0) }
            }
        };
        // A socket call on anything but a live socket is ENOTSOCK, never anything worse (a
        // message call may first refuse a message that is not one: EFAULT).
        let socket_call = matches!(op, 1..=8 | 10 | 11);
        if socket_call && !is_live && !(op == 5 && rc == 0) {
            let errno = zmq_errno();
            let ok = errno == ENOTSOCK || (matches!(op, 10 | 11) && errno == EFAULT);
            assert!(rc == -1 && ok, "op {op} on a handle that is no socket: rc {rc}, errno {errno}");
        }
    }
    for h in sockets.iter().filter(|h| h.open) {
        let zero: c_int = 0;
        // SAFETY: a 4-byte int and its size.
        unsafe { zmq_setsockopt(h.ptr, ZMQ_LINGER, (&zero as *const c_int).cast(), 4) };
        assert_eq!(zmq_close(h.ptr), 0, "closing a live socket: errno {}", zmq_errno());
    }
    for m in msgs.iter_mut() {
        // SAFETY: a live zmq_msg_t place.
        unsafe { zmq_msg_close(m) };
    }
    // A signal may interrupt the wait (libFuzzer's timer, SIGALRM, does): as libzmq's,
    // zmq_ctx_term then fails with EINTR and is called again.
    let rc = loop {
        let rc = zmq_ctx_term(ctx);
        if rc == 0 || zmq_errno() != EINTR {
            break rc;
        }
    };
    assert_eq!(rc, 0, "zmq_ctx_term: errno {}", zmq_errno());
    assert!(zmq_socket(ctx, 0).is_null(), "a socket from a terminated context");
    assert_eq!(zmq::panics_caught(), panics_before, "an exported function panicked (see stderr)");
}
