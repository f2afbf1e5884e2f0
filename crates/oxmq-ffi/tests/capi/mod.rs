//! The C API as this crate's Rust tests call it (`api.rs`, `draft.rs`): small wrappers that
//! take Rust strings and slices, and a helper that interrupts a blocking call with a signal.
//! Not every test file uses every item.
#![allow(dead_code)]

use std::ffi::{CStr, CString, c_int, c_void};
use std::ptr;
use std::time::Duration;

use zmq::ctx::*;
use zmq::errno::*;
use zmq::socket::*;

pub const ZMQ_LAST_ENDPOINT: c_int = 32;

pub fn c(s: &str) -> CString {
    CString::new(s).unwrap()
}

/// A handle (context, socket, poller), for moving it to another thread.
#[derive(Clone, Copy)]
pub struct P(pub *mut c_void);
// SAFETY: the library's handles may be used from any thread (one at a time per socket).
unsafe impl Send for P {}
// SAFETY: as above; the library's calls are safe to make from several threads at once.
unsafe impl Sync for P {}

pub fn ctx() -> *mut c_void {
    let ctx = zmq_ctx_new();
    assert!(!ctx.is_null());
    ctx
}

pub fn socket(ctx: *mut c_void, t: c_int) -> *mut c_void {
    let s = zmq_socket(ctx, t);
    assert!(!s.is_null(), "zmq_socket: errno {}", zmq_errno());
    s
}

pub fn set_int(s: *mut c_void, opt: c_int, v: c_int) -> c_int {
    // SAFETY: a 4-byte int for a 4-byte option.
    unsafe { zmq_setsockopt(s, opt, (&v as *const c_int).cast(), 4) }
}

pub fn bind(s: *mut c_void, ep: &str) -> c_int {
    // SAFETY: a NUL-terminated endpoint.
    unsafe { zmq_bind(s, c(ep).as_ptr()) }
}

pub fn connect(s: *mut c_void, ep: &str) -> c_int {
    // SAFETY: a NUL-terminated endpoint.
    unsafe { zmq_connect(s, c(ep).as_ptr()) }
}

pub fn send(s: *mut c_void, data: &[u8], flags: c_int) -> c_int {
    // SAFETY: `data` is readable for its length.
    unsafe { zmq_send(s, data.as_ptr().cast(), data.len(), flags) }
}

pub fn recv(s: *mut c_void, buf: &mut [u8], flags: c_int) -> c_int {
    // SAFETY: `buf` is writable for its length.
    unsafe { zmq_recv(s, buf.as_mut_ptr().cast(), buf.len(), flags) }
}

pub fn last_endpoint(s: *mut c_void) -> String {
    let mut buf = [0u8; 256];
    let mut len = buf.len();
    // SAFETY: a 256-byte buffer and its length.
    assert_eq!(unsafe { zmq_getsockopt(s, ZMQ_LAST_ENDPOINT, buf.as_mut_ptr().cast(), &mut len) }, 0);
    CStr::from_bytes_with_nul(&buf[..len]).unwrap().to_str().unwrap().to_string()
}

/// Assert that a call failed with `errno`.
#[track_caller]
pub fn fails_with(rc: c_int, errno: c_int) {
    assert_eq!(rc, -1, "the call should have failed");
    assert_eq!(zmq_errno(), errno, "errno");
}

extern "C" fn on_sigusr1(_: c_int) {}

/// How [`interrupted`] sends its signal.
pub struct Interrupt {
    /// Install the handler with SA_RESTART (libzmq's calls return EINTR all the same).
    pub restart: bool,
    /// Block SIGUSR1 in the calling thread (for a call that lets it through itself, ppoll).
    pub block: bool,
}

/// Run `call` on a new thread, sending that thread SIGUSR1 (whose handler does nothing) until
/// the call returns; its return value and errno. The signal may land before the call starts
/// waiting (then it is missed, as with libzmq): hence the repetition.
pub fn interrupted(how: Interrupt, call: impl FnOnce() -> c_int + Send + 'static) -> (c_int, c_int) {
    // SAFETY: a zeroed sigaction filled in before use; the handler does nothing.
    unsafe {
        let mut sa: libc::sigaction = std::mem::zeroed();
        sa.sa_sigaction = on_sigusr1 as *const () as usize;
        libc::sigemptyset(&mut sa.sa_mask);
        if how.restart {
            sa.sa_flags = libc::SA_RESTART;
        }
        assert_eq!(libc::sigaction(libc::SIGUSR1, &sa, ptr::null_mut()), 0);
    }
    let (tx, rx) = std::sync::mpsc::channel();
    let block = how.block;
    let t = std::thread::spawn(move || {
        if block {
            // SAFETY: a sigset_t initialised by sigemptyset before use; this thread's mask.
            unsafe {
                let mut set: libc::sigset_t = std::mem::zeroed();
                libc::sigemptyset(&mut set);
                libc::sigaddset(&mut set, libc::SIGUSR1);
                assert_eq!(libc::pthread_sigmask(libc::SIG_BLOCK, &set, ptr::null_mut()), 0);
            }
        }
        // SAFETY: pthread_self has no preconditions.
        tx.send(unsafe { libc::pthread_self() } as u64).unwrap();
        let rc = call();
        (rc, zmq_errno())
    });
    let thread = rx.recv().unwrap() as libc::pthread_t;
    let deadline = std::time::Instant::now() + Duration::from_secs(30);
    while !t.is_finished() {
        assert!(std::time::Instant::now() < deadline, "the call was not interrupted");
        // SAFETY: the thread is not joined yet, so its id is valid.
        unsafe { libc::pthread_kill(thread, libc::SIGUSR1) };
        std::thread::sleep(Duration::from_millis(20));
    }
    t.join().unwrap()
}
