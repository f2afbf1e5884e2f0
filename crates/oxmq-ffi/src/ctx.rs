//! Contexts: `zmq_ctx_new`, `zmq_ctx_term`, `zmq_ctx_shutdown`, `zmq_ctx_set`, `zmq_ctx_get`
//! and the older `zmq_init`, `zmq_term`, `zmq_ctx_destroy`.
//!
//! The oxmq [`Context`] (and its I/O threads) is made when the first socket is, so that
//! ZMQ_IO_THREADS set before that takes effect, as with libzmq.

use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};

use oxmq::Context;
use parking_lot::Mutex;

use crate::handles::Registry;
use crate::{R, guard};

pub const ZMQ_IO_THREADS: c_int = 1;
pub const ZMQ_MAX_SOCKETS: c_int = 2;
pub const ZMQ_SOCKET_LIMIT: c_int = 3;
pub const ZMQ_MAX_MSGSZ: c_int = 5;
pub const ZMQ_MSG_T_SIZE: c_int = 6;
pub const ZMQ_IPV6: c_int = 42;
pub const ZMQ_BLOCKY: c_int = 70;

/// The most sockets a context can be allowed (libzmq's limit with its default poller).
const SOCKET_LIMIT: c_int = 65535;

/// What a context's options say (ZMQ_IO_THREADS, ...), with libzmq's defaults.
#[derive(Clone, Copy)]
pub(crate) struct CtxOptions {
    pub io_threads: c_int,
    pub max_sockets: c_int,
    pub ipv6: bool,
    pub blocky: bool,
    pub max_msgsz: c_int,
}

impl Default for CtxOptions {
    fn default() -> CtxOptions {
        CtxOptions { io_threads: 1, max_sockets: 1023, ipv6: false, blocky: true, max_msgsz: c_int::MAX }
    }
}

/// A context handle's object.
pub(crate) struct FfiCtx {
    pub options: Mutex<CtxOptions>,
    context: OnceLock<Context>,
    /// Set by zmq_ctx_shutdown and zmq_ctx_term: no new sockets.
    shut: AtomicBool,
    /// Sockets of this context not yet closed (for ZMQ_MAX_SOCKETS).
    pub sockets: AtomicUsize,
}

impl FfiCtx {
    /// The oxmq context, started now if this is its first socket; `ETERM` once shut down.
    pub fn context(&self) -> R<&Context> {
        if self.shut.load(Ordering::SeqCst) {
            return Err(crate::errno::ETERM);
        }
        let io_threads = self.options.lock().io_threads;
        Ok(self.context.get_or_init(|| without_signals(|| Context::with_io_threads(io_threads.max(1) as usize))))
    }
}

/// Run `f` with every signal blocked in the calling thread, so that the threads it starts
/// (the context's I/O threads inherit the mask) never take a signal meant for the
/// application, as libzmq's I/O threads do not: a process-directed signal (SIGINT, SIGALRM)
/// then reaches an application thread, and interrupts its blocking call with EINTR.
fn without_signals<T>(f: impl FnOnce() -> T) -> T {
    // SAFETY: sigset_t values initialised by sigfillset/pthread_sigmask before use; the mask
    // is the calling thread's own and is restored before returning.
    unsafe {
        let mut all: libc::sigset_t = std::mem::zeroed();
        let mut old: libc::sigset_t = std::mem::zeroed();
        libc::sigfillset(&mut all);
        libc::pthread_sigmask(libc::SIG_BLOCK, &all, &mut old);
        let r = f();
        libc::pthread_sigmask(libc::SIG_SETMASK, &old, std::ptr::null_mut());
        r
    }
}

pub(crate) static CONTEXTS: LazyLock<Registry<FfiCtx>> = LazyLock::new(Registry::new);

/// The context behind a handle: `EFAULT` for anything else, as libzmq.
pub(crate) fn lookup(ctx: *mut c_void) -> R<Arc<FfiCtx>> {
    CONTEXTS.get(ctx).ok_or(libc::EFAULT)
}

/// A new context (its I/O threads start with its first socket).
#[unsafe(no_mangle)]
pub extern "C" fn zmq_ctx_new() -> *mut c_void {
    guard(ptr::null_mut(), || {
        let ctx = Arc::new(FfiCtx {
            options: Mutex::new(CtxOptions::default()),
            context: OnceLock::new(),
            shut: AtomicBool::new(false),
            sockets: AtomicUsize::new(0),
        });
        Ok(CONTEXTS.insert(ctx))
    })
}

/// Terminate the context: blocking calls on its sockets return `ETERM`, then this waits for
/// every socket to be closed (and done lingering) and frees the context.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_ctx_term(ctx: *mut c_void) -> c_int {
    guard(-1, || {
        let c = lookup(ctx)?;
        c.shut.store(true, Ordering::SeqCst);
        if let Some(context) = c.context.get() {
            context.term();
        }
        // Two threads terminating at once both wait above; the first to get here frees it.
        CONTEXTS.remove(ctx);
        Ok(0)
    })
}

/// Shut the context down without waiting: blocking calls on its sockets return `ETERM`, and
/// so does every later call but `zmq_close`. `zmq_ctx_term` must still be called.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_ctx_shutdown(ctx: *mut c_void) -> c_int {
    guard(-1, || {
        let c = lookup(ctx)?;
        c.shut.store(true, Ordering::SeqCst);
        if let Some(context) = c.context.get() {
            context.shutdown();
        }
        Ok(0)
    })
}

/// Set a context option: ZMQ_IO_THREADS (before the first socket), ZMQ_MAX_SOCKETS,
/// ZMQ_IPV6, ZMQ_BLOCKY, ZMQ_MAX_MSGSZ. The options oxmq cannot honour (thread priority,
/// scheduling policy, affinity, name prefix) are refused with `EINVAL`.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_ctx_set(ctx: *mut c_void, option: c_int, optval: c_int) -> c_int {
    guard(-1, || {
        let c = lookup(ctx)?;
        let mut o = c.options.lock();
        match option {
            ZMQ_IO_THREADS if optval >= 0 => o.io_threads = optval,
            ZMQ_MAX_SOCKETS if (1..=SOCKET_LIMIT).contains(&optval) => o.max_sockets = optval,
            ZMQ_IPV6 if optval >= 0 => o.ipv6 = optval != 0,
            ZMQ_BLOCKY if optval >= 0 => o.blocky = optval != 0,
            ZMQ_MAX_MSGSZ if optval >= 0 => o.max_msgsz = optval,
            _ => return Err(libc::EINVAL),
        }
        Ok(0)
    })
}

/// Read a context option (the ones `zmq_ctx_set` takes, ZMQ_SOCKET_LIMIT and ZMQ_MSG_T_SIZE).
#[unsafe(no_mangle)]
pub extern "C" fn zmq_ctx_get(ctx: *mut c_void, option: c_int) -> c_int {
    guard(-1, || {
        let c = lookup(ctx)?;
        let o = *c.options.lock();
        Ok(match option {
            ZMQ_IO_THREADS => o.io_threads,
            ZMQ_MAX_SOCKETS => o.max_sockets,
            ZMQ_SOCKET_LIMIT => SOCKET_LIMIT,
            ZMQ_IPV6 => o.ipv6 as c_int,
            ZMQ_BLOCKY => o.blocky as c_int,
            ZMQ_MAX_MSGSZ => o.max_msgsz,
            ZMQ_MSG_T_SIZE => size_of::<crate::zmq_msg_t>() as c_int,
            _ => return Err(libc::EINVAL),
        })
    })
}

/// The old way to make a context with `io_threads` I/O threads.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_init(io_threads: c_int) -> *mut c_void {
    if io_threads < 0 {
        crate::errno::set(libc::EINVAL);
        return ptr::null_mut();
    }
    let ctx = zmq_ctx_new();
    if !ctx.is_null() && zmq_ctx_set(ctx, ZMQ_IO_THREADS, io_threads) != 0 {
        zmq_ctx_term(ctx);
        return ptr::null_mut();
    }
    ctx
}

/// The old name of `zmq_ctx_term`.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_term(ctx: *mut c_void) -> c_int {
    zmq_ctx_term(ctx)
}

/// The old name of `zmq_ctx_term`.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_ctx_destroy(ctx: *mut c_void) -> c_int {
    zmq_ctx_term(ctx)
}
