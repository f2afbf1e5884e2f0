//! libzmq's C ABI over oxmq: built as `libzmq.so` (soname `libzmq.so.5`) and `libzmq.a`, with
//! the header `include/zmq.h`, so C and C++ programs and libzmq bindings (pyzmq, cppzmq,
//! czmq, ...) run on oxmq unchanged. The API and ABI are libzmq 4.3.5's stable ones;
//! COMPATIBILITY.md at the repository root lists what differs or is missing.
//!
//! How the boundary is kept safe:
//! - every exported function runs its body inside [`std::panic::catch_unwind`]: a panic
//!   becomes `-1`/`NULL` with errno `EFAULT`, never an unwind into C (`guard`);
//! - errors are reported through the C `errno` of the calling thread, with libzmq's values
//!   (`oxmq::Error::errno`); `zmq_errno` reads it back;
//! - contexts and sockets are handed out as pointers to heap objects that are also entered
//!   in a registry, and every call looks the pointer up there before using it: a NULL,
//!   foreign, closed or terminated pointer is refused (`ENOTSOCK` for sockets, `EFAULT` for
//!   contexts) without the memory behind it ever being read ([`handles`]);
//! - a `zmq_msg_t` holds a tag and a Rust value in its 64 bytes; a closed or never
//!   initialised message is refused with `EFAULT` ([`msg`]).
//!
//! Modules: [`errno`] (errno and texts), [`handles`] (the registries), [`ctx`] (contexts),
//! [`socket`] (sockets, options, send and receive), [`msg`] (`zmq_msg_t`), [`timers`], [`poll`]
//! (`zmq_poll`, proxies, monitors), [`util`] (version, capabilities, Z85, CURVE keys, atomic
//! counters, stopwatch, threads); with the feature `draft`, `draft` (libzmq's draft API: the
//! poller, `zmq_ctx_set_ext`, the versioned monitor, ...) and `msg::draft`.

// The safety contract of every exported function is the one libzmq documents for it (valid
// pointers where zmq.h asks for them, NUL-terminated strings, buffers of the stated length);
// the bad inputs this crate can detect (NULL, closed or foreign handles, closed messages) are
// refused with an errno instead.
#![allow(clippy::missing_safety_doc)]

pub mod ctx;
#[cfg(feature = "draft")]
pub mod draft;
pub mod errno;
pub mod handles;
pub mod msg;
pub mod poll;
pub mod socket;
pub mod timers;
pub mod util;

use std::ffi::{CStr, c_char, c_int};
use std::panic::{AssertUnwindSafe, catch_unwind};

pub use msg::zmq_msg_t;
pub use poll::zmq_pollitem_t;

/// The library's allocator: mimalloc, not the process's malloc.
///
/// Every message body a C program makes (`zmq_msg_init_size`, `zmq_send`'s copy) is allocated
/// by the thread that sends it and freed by the one that drops it last: over inproc, always
/// another thread. glibc's malloc serves that pattern slowly (its per-thread cache never
/// refills for the sender, and the arena's fast bins move every chunk between the two cores),
/// and it bounded the ABI's inproc throughput below libzmq's (`zmq_inproc_thr` by hand, 64 B:
/// 1.61-1.88M msg/s on glibc's malloc, 1.96-2.72M on mimalloc, libzmq 1.93-2.32M; 1 KiB:
/// 1.43-1.63M, 2.19-2.37M, libzmq 1.29-1.40M; tcp and ipc unchanged; BENCHMARKS.md). mimalloc
/// hands a block freed by another thread back to its owner's page in one atomic push,
/// collected in bulk.
///
/// Not under Miri (which cannot run its C) or cargo-fuzz (`cfg(fuzzing)`: a sanitizer must see
/// every allocation); off with `--no-default-features` (feature `mimalloc`), and left to the
/// program that links this crate with feature `foreign-allocator`.
#[cfg(all(feature = "mimalloc", not(feature = "foreign-allocator"), not(miri), not(fuzzing)))]
mod mi {
    use std::alloc::{GlobalAlloc, Layout};
    use std::ffi::c_void;

    use libmimalloc_sys as ffi;

    /// Every block mimalloc hands out is a whole number of words at a word-aligned address
    /// (its size classes count words), so `mi_malloc` serves any alignment up to a word: the
    /// message bodies (align 1) take its fast path, not `mi_malloc_aligned`'s checks (30 of
    /// the 80 instructions of a 64 B body's allocation, callgrind).
    const WORD: usize = size_of::<usize>();

    pub struct Mimalloc;

    #[global_allocator]
    static ALLOCATOR: Mimalloc = Mimalloc;

    // SAFETY: each call forwards to mimalloc's matching call, with the layout's alignment
    // honoured (below a word by every block, else by the aligned call); blocks are freed by
    // `mi_free`, whichever call made them, as mimalloc allows.
    unsafe impl GlobalAlloc for Mimalloc {
        #[inline]
        unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
            // SAFETY: plain C allocation calls, any size.
            unsafe {
                if layout.align() <= WORD {
                    ffi::mi_malloc(layout.size()).cast()
                } else {
                    ffi::mi_malloc_aligned(layout.size(), layout.align()).cast()
                }
            }
        }

        #[inline]
        unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
            // SAFETY: as `alloc`.
            unsafe {
                if layout.align() <= WORD {
                    ffi::mi_zalloc(layout.size()).cast()
                } else {
                    ffi::mi_zalloc_aligned(layout.size(), layout.align()).cast()
                }
            }
        }

        #[inline]
        unsafe fn dealloc(&self, ptr: *mut u8, _layout: Layout) {
            // SAFETY: `ptr` came from this allocator (GlobalAlloc's contract), so from mimalloc.
            unsafe { ffi::mi_free(ptr.cast::<c_void>()) }
        }

        #[inline]
        unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
            // SAFETY: as `dealloc`; the new block keeps the layout's alignment (as `alloc`).
            unsafe {
                if layout.align() <= WORD {
                    ffi::mi_realloc(ptr.cast(), new_size).cast()
                } else {
                    ffi::mi_realloc_aligned(ptr.cast(), new_size, layout.align()).cast()
                }
            }
        }
    }
}

/// This process's id: a load, where getpid(2) is a system call (glibc no longer caches it)
/// and every blocking call checks it (a forked child must not use its parent's eventfds).
/// Read once, and again in each child `fork(3)` makes (a `pthread_atfork` handler); a child
/// forked before the first read reads its own.
pub(crate) fn process_id() -> libc::pid_t {
    match PROCESS_ID.load(std::sync::atomic::Ordering::Relaxed) {
        0 => first_process_id(),
        pid => pid,
    }
}

static PROCESS_ID: std::sync::atomic::AtomicI32 = std::sync::atomic::AtomicI32::new(0);

#[cold]
fn first_process_id() -> libc::pid_t {
    // A flag, not a `Once`: a child forked while another thread of its parent was inside a
    // `Once` would find it running for ever.
    static REGISTERED: std::sync::atomic::AtomicBool = std::sync::atomic::AtomicBool::new(false);
    extern "C" fn in_child() {
        // SAFETY: getpid has no preconditions (and is async-signal-safe, as a handler run
        // in a forked child must be).
        PROCESS_ID.store(unsafe { libc::getpid() }, std::sync::atomic::Ordering::Relaxed);
    }
    // Registered before the first read: a fork from now on runs the handler in the child.
    if !REGISTERED.swap(true, std::sync::atomic::Ordering::SeqCst) {
        // SAFETY: a handler with C linkage that stays valid for the life of the process.
        unsafe { libc::pthread_atfork(None, None, Some(in_child)) };
    }
    // SAFETY: getpid has no preconditions.
    let pid = unsafe { libc::getpid() };
    PROCESS_ID.store(pid, std::sync::atomic::Ordering::Relaxed);
    pid
}

/// The result of an exported function's body: a value, or the errno to fail with.
pub(crate) type R<T> = Result<T, c_int>;

/// An errno a word wide: the error of the calls that return a received frame.
///
/// With a `c_int` error, the `Err` variant's 4-byte errno overlaps the first word of the
/// `Ok` variant's frame, and LLVM then copies the frame out of the `Result` in pieces shifted
/// by 4 bytes (4, 8, 4); each layer's 8-byte load across two of those stores waits for both
/// to retire (a store-forwarding stall), up to the `zmq_msg_data` that reads the message just
/// received. A word-wide errno is copied with the frame's own words. (The same stall, and the
/// same cure, as `oxmq`'s word-wide MORE flag in its `Msg`.)
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct WordErrno(i64);

impl From<c_int> for WordErrno {
    #[inline]
    fn from(e: c_int) -> WordErrno {
        WordErrno(i64::from(e))
    }
}

impl From<WordErrno> for c_int {
    #[inline]
    fn from(e: WordErrno) -> c_int {
        // Made from a c_int (above): always in range.
        e.0 as c_int
    }
}

/// Run an exported function's body: its value, or `fail` with errno set to the error (or to
/// `EFAULT` if the body panicked; the panic never reaches C).
pub(crate) fn guard<T>(fail: T, body: impl FnOnce() -> R<T>) -> T {
    match catch_unwind(AssertUnwindSafe(body)) {
        Ok(Ok(v)) => v,
        Ok(Err(e)) => {
            errno::set(e);
            fail
        }
        Err(_) => {
            PANICS_CAUGHT.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            errno::set(libc::EFAULT);
            fail
        }
    }
}

/// Panics [`guard`] has caught (each one a bug: the call failed with `EFAULT` instead). For
/// the fuzz target over the ABI and the tests, which fail on any.
static PANICS_CAUGHT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// How many panics the exported functions have caught in this process (see `guard`).
pub fn panics_caught() -> usize {
    PANICS_CAUGHT.load(std::sync::atomic::Ordering::Relaxed)
}

/// An oxmq error as the errno libzmq reports.
pub(crate) fn zerr(e: oxmq::Error) -> c_int {
    e.errno()
}

/// A C string argument as UTF-8: `EINVAL` for NULL or text that is not UTF-8 (every endpoint,
/// property name and key libzmq takes is ASCII).
///
/// # Safety
/// `s` is NULL or points to a NUL-terminated string that outlives `'a`.
pub(crate) unsafe fn c_str<'a>(s: *const c_char) -> R<&'a str> {
    if s.is_null() {
        return Err(libc::EINVAL);
    }
    // SAFETY: not NULL, and the caller passes a NUL-terminated string (zmq.h's contract).
    let s = unsafe { CStr::from_ptr(s) };
    s.to_str().map_err(|_| libc::EINVAL)
}

/// A size as the `int` libzmq returns for it (clipped at `INT_MAX`).
pub(crate) fn int_size(n: usize) -> c_int {
    c_int::try_from(n).unwrap_or(c_int::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_panic_becomes_efault_and_never_unwinds_past_guard() {
        let rc = guard(-1, || -> R<c_int> { panic!("a bug inside the library") });
        assert_eq!(rc, -1);
        assert_eq!(errno::get(), libc::EFAULT);
        let p = guard(std::ptr::null_mut::<u8>(), || panic!("another"));
        assert!(p.is_null());
        assert_eq!(guard(-1, || Err(libc::EINVAL)), -1);
        assert_eq!(errno::get(), libc::EINVAL);
        assert_eq!(guard(-1, || Ok(7)), 7);
    }
}
