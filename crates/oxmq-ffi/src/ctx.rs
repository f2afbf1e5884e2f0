//! Contexts: `zmq_ctx_new`, `zmq_ctx_term`, `zmq_ctx_shutdown`, `zmq_ctx_set`, `zmq_ctx_get`
//! and the older `zmq_init`, `zmq_term`, `zmq_ctx_destroy`.
//!
//! The oxmq [`Context`] (and its I/O threads) is made when the first socket is, so that
//! ZMQ_IO_THREADS and the ZMQ_THREAD_* options set before that take effect, as with libzmq:
//! the threads are named `ZMQbg/IO/<n>` (after ZMQ_THREAD_NAME_PREFIX and a `/`), pinned to
//! the ZMQ_THREAD_AFFINITY_CPU_ADD CPUs, and given ZMQ_THREAD_SCHED_POLICY and
//! ZMQ_THREAD_PRIORITY as they start.

use std::collections::BTreeSet;
use std::ffi::{c_int, c_void};
use std::ptr;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, LazyLock, OnceLock};
use std::task::Waker;

use oxmq::Context;
use parking_lot::Mutex;

use crate::handles::Registry;
use crate::{R, guard};

pub const ZMQ_IO_THREADS: c_int = 1;
pub const ZMQ_MAX_SOCKETS: c_int = 2;
pub const ZMQ_SOCKET_LIMIT: c_int = 3;
pub const ZMQ_THREAD_PRIORITY: c_int = 3;
pub const ZMQ_THREAD_SCHED_POLICY: c_int = 4;
pub const ZMQ_MAX_MSGSZ: c_int = 5;
pub const ZMQ_MSG_T_SIZE: c_int = 6;
pub const ZMQ_THREAD_AFFINITY_CPU_ADD: c_int = 7;
pub const ZMQ_THREAD_AFFINITY_CPU_REMOVE: c_int = 8;
pub const ZMQ_THREAD_NAME_PREFIX: c_int = 9;
/// Declared by the draft API but taken by every libzmq 4.3.5 build: stored and read back (it
/// picks libzmq's decoder allocation strategy, which oxmq does not have).
pub const ZMQ_ZERO_COPY_RECV: c_int = 10;
pub const ZMQ_IPV6: c_int = 42;
pub const ZMQ_BLOCKY: c_int = 70;

/// The "not set" value of ZMQ_THREAD_PRIORITY and ZMQ_THREAD_SCHED_POLICY.
const THREAD_DFLT: c_int = -1;

/// The most sockets a context can be allowed (libzmq's limit with its default poller).
const SOCKET_LIMIT: c_int = 65535;

/// What a context's options say (ZMQ_IO_THREADS, ...), with libzmq's defaults.
#[derive(Clone)]
pub(crate) struct CtxOptions {
    pub io_threads: c_int,
    pub max_sockets: c_int,
    pub ipv6: bool,
    pub blocky: bool,
    /// Stored and read back only: libzmq 4.3.5 applies it nowhere either.
    pub max_msgsz: c_int,
    /// ZMQ_THREAD_PRIORITY, ZMQ_THREAD_SCHED_POLICY (-1: leave as inherited).
    pub thread_priority: c_int,
    pub thread_sched_policy: c_int,
    /// ZMQ_THREAD_AFFINITY_CPU_ADD/_REMOVE: the I/O threads' CPUs (empty: no restriction).
    pub thread_affinity: BTreeSet<c_int>,
    /// ZMQ_THREAD_NAME_PREFIX, as given (at most 16 bytes).
    pub thread_name_prefix: Vec<u8>,
    pub zero_copy_recv: bool,
}

impl Default for CtxOptions {
    fn default() -> CtxOptions {
        CtxOptions {
            io_threads: 1,
            max_sockets: 1023,
            ipv6: false,
            blocky: true,
            max_msgsz: c_int::MAX,
            thread_priority: THREAD_DFLT,
            thread_sched_policy: THREAD_DFLT,
            thread_affinity: BTreeSet::new(),
            thread_name_prefix: Vec::new(),
            zero_copy_recv: true,
        }
    }
}

impl CtxOptions {
    /// Set `option` to `value` (an int's bytes, or for ZMQ_THREAD_NAME_PREFIX also a string's),
    /// with libzmq 4.3.5's checks: `EINVAL` for anything else.
    pub fn set(&mut self, option: c_int, value: &[u8]) -> R<()> {
        let int = <[u8; 4]>::try_from(value).ok().map(c_int::from_ne_bytes);
        let non_negative = int.filter(|&v| v >= 0);
        match (option, non_negative) {
            (ZMQ_IO_THREADS, Some(v)) => self.io_threads = v,
            (ZMQ_MAX_SOCKETS, Some(v)) if (1..=SOCKET_LIMIT).contains(&v) => self.max_sockets = v,
            (ZMQ_IPV6, Some(v)) => self.ipv6 = v != 0,
            (ZMQ_BLOCKY, Some(v)) => self.blocky = v != 0,
            (ZMQ_MAX_MSGSZ, Some(v)) => self.max_msgsz = v,
            (ZMQ_ZERO_COPY_RECV, Some(v)) => self.zero_copy_recv = v != 0,
            (ZMQ_THREAD_PRIORITY, Some(v)) => self.thread_priority = v,
            (ZMQ_THREAD_SCHED_POLICY, Some(v)) => self.thread_sched_policy = v,
            (ZMQ_THREAD_AFFINITY_CPU_ADD, Some(v)) => {
                self.thread_affinity.insert(v);
            }
            // Removing a CPU that was not added is an error, as libzmq's.
            (ZMQ_THREAD_AFFINITY_CPU_REMOVE, Some(v)) if self.thread_affinity.remove(&v) => {}
            // An int (any, negative too) names the threads with its decimal digits; otherwise
            // the bytes themselves, 1 to 16 of them.
            (ZMQ_THREAD_NAME_PREFIX, _) => match int {
                Some(v) => self.thread_name_prefix = v.to_string().into_bytes(),
                None if (1..=16).contains(&value.len()) => self.thread_name_prefix = value.to_vec(),
                None => return Err(libc::EINVAL),
            },
            _ => return Err(libc::EINVAL),
        }
        Ok(())
    }

    /// Read `option` into `buf`, as libzmq 4.3.5's: an int's worth of bytes for every option
    /// it reads (not ZMQ_THREAD_PRIORITY nor the affinity, which it only takes), or for
    /// ZMQ_THREAD_NAME_PREFIX the prefix's bytes into a buffer at least that long; returns
    /// how many bytes were written.
    pub fn get(&self, option: c_int, buf: &mut [u8]) -> R<usize> {
        let is_int = buf.len() == size_of::<c_int>();
        let value = match option {
            ZMQ_IO_THREADS => self.io_threads,
            ZMQ_MAX_SOCKETS => self.max_sockets,
            ZMQ_SOCKET_LIMIT => SOCKET_LIMIT,
            ZMQ_IPV6 => self.ipv6 as c_int,
            ZMQ_BLOCKY => self.blocky as c_int,
            ZMQ_MAX_MSGSZ => self.max_msgsz,
            ZMQ_ZERO_COPY_RECV => self.zero_copy_recv as c_int,
            ZMQ_MSG_T_SIZE => size_of::<crate::zmq_msg_t>() as c_int,
            ZMQ_THREAD_SCHED_POLICY => self.thread_sched_policy,
            ZMQ_THREAD_NAME_PREFIX if is_int => atoi(&self.thread_name_prefix),
            ZMQ_THREAD_NAME_PREFIX if buf.len() >= self.thread_name_prefix.len() => {
                let n = self.thread_name_prefix.len();
                buf[..n].copy_from_slice(&self.thread_name_prefix);
                return Ok(n);
            }
            _ => return Err(libc::EINVAL),
        };
        if !is_int {
            return Err(libc::EINVAL);
        }
        buf.copy_from_slice(&value.to_ne_bytes());
        Ok(buf.len())
    }

    /// The I/O threads' name, libzmq's: `ZMQbg/IO/<i>`, after the prefix and a `/` if there
    /// is a prefix, cut to the 15 bytes a thread name holds.
    fn thread_name(prefix: &[u8], i: usize) -> String {
        let prefix = prefix.split(|&b| b == 0).next().unwrap_or_default();
        let mut name = Vec::with_capacity(32);
        if !prefix.is_empty() {
            name.extend_from_slice(prefix);
            name.push(b'/');
        }
        name.extend_from_slice(format!("ZMQbg/IO/{i}").as_bytes());
        name.truncate(15);
        String::from_utf8_lossy(&name).into_owned()
    }

    /// A builder for the oxmq context these options describe.
    fn context_builder(&self) -> oxmq::ContextBuilder {
        let prefix = self.thread_name_prefix.clone();
        let mut builder = Context::builder()
            .io_threads(self.io_threads.max(1) as usize)
            .thread_name(move |i| CtxOptions::thread_name(&prefix, i))
            .cpu_affinity(self.thread_affinity.iter().map(|&c| c as usize));
        let (policy, priority) = (self.thread_sched_policy, self.thread_priority);
        if policy != THREAD_DFLT || priority != THREAD_DFLT {
            builder = builder.on_thread_start(move || set_scheduling(policy, priority));
        }
        builder
    }
}

/// C's `atoi`: the leading decimal number of `s` (after blanks, with a sign), 0 if none.
fn atoi(s: &[u8]) -> c_int {
    let s = s.trim_ascii_start();
    let (negative, digits) = match s.first() {
        Some(b'-') => (true, &s[1..]),
        Some(b'+') => (false, &s[1..]),
        _ => (false, s),
    };
    let n = digits
        .iter()
        .take_while(|b| b.is_ascii_digit())
        .fold(0i64, |n, &d| (n * 10 + i64::from(d - b'0')).min(i64::from(c_int::MAX) + 1));
    let n = if negative { -n } else { n };
    n.clamp(i64::from(c_int::MIN), i64::from(c_int::MAX)) as c_int
}

/// Apply ZMQ_THREAD_SCHED_POLICY and ZMQ_THREAD_PRIORITY to the calling (I/O) thread, as
/// libzmq's I/O threads do when they start: the policy if set; the priority as the static
/// priority under SCHED_FIFO and SCHED_RR, and under the other policies (whose static priority
/// is 0) as a request for the highest scheduling precedence, nice -20. What the system refuses
/// (EPERM without CAP_SYS_NICE, a priority out of the policy's range) is left as it was;
/// libzmq aborts the process instead.
fn set_scheduling(policy: c_int, priority: c_int) {
    // SAFETY: pthread_self is the calling thread; `param` is a plain struct that
    // pthread_getschedparam fills before it is read; nice takes no pointers.
    unsafe {
        let me = libc::pthread_self();
        let mut current = 0;
        let mut param: libc::sched_param = std::mem::zeroed();
        if libc::pthread_getschedparam(me, &mut current, &mut param) != 0 {
            return;
        }
        let policy = if policy == THREAD_DFLT { current } else { policy };
        let real_time = policy == libc::SCHED_FIFO || policy == libc::SCHED_RR;
        if !real_time {
            param.sched_priority = 0;
        } else if priority != THREAD_DFLT {
            param.sched_priority = priority;
        }
        libc::pthread_setschedparam(me, policy, &param);
        if !real_time && priority > 0 {
            libc::nice(-20);
        }
    }
}

/// A context handle's object.
pub(crate) struct FfiCtx {
    pub options: Mutex<CtxOptions>,
    context: OnceLock<Context>,
    /// Held while the context is being started (its first socket).
    starting: Mutex<()>,
    /// The context was started with ZMQ_IO_THREADS 0: only inproc works, as libzmq's.
    pub no_io_threads: AtomicBool,
    /// The process that made the context: any other is a forked child (`forked`).
    pid: libc::pid_t,
    /// Set by zmq_ctx_shutdown and zmq_ctx_term: no new sockets.
    shut: AtomicBool,
    /// Sockets of this context not yet closed (for ZMQ_MAX_SOCKETS).
    pub sockets: AtomicUsize,
}

impl FfiCtx {
    /// Is this a forked child's copy of the context? Its I/O threads did not survive the
    /// fork, and what it holds (connections, the event loop's epoll, eventfds) is shared with
    /// the parent's: closing or terminating it must touch none of that (`zmq_close`,
    /// `zmq_ctx_term`), as libzmq's, which a child is expected to call and then leave alone.
    pub fn forked(&self) -> bool {
        self.pid != crate::process_id()
    }

    /// The oxmq context, started now if this is its first socket (with the options set so
    /// far: ZMQ_IO_THREADS and the ZMQ_THREAD_* ones apply to the I/O threads it starts, as
    /// libzmq's); `ETERM` once shut down.
    pub fn context(&self) -> R<&Context> {
        if self.shut.load(Ordering::SeqCst) {
            return Err(crate::errno::ETERM);
        }
        if let Some(c) = self.context.get() {
            return Ok(c);
        }
        let _starting = self.starting.lock();
        if let Some(c) = self.context.get() {
            return Ok(c);
        }
        let options = self.options.lock().clone();
        let context = without_signals(|| options.context_builder().build())
            .map_err(|e| e.raw_os_error().unwrap_or(crate::errno::EMTHREAD))?;
        self.no_io_threads.store(options.io_threads == 0, Ordering::SeqCst);
        Ok(self.context.get_or_init(|| context))
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
            starting: Mutex::new(()),
            no_io_threads: AtomicBool::new(false),
            pid: crate::process_id(),
            shut: AtomicBool::new(false),
            sockets: AtomicUsize::new(0),
        });
        Ok(CONTEXTS.insert(ctx))
    })
}

/// Terminate the context: blocking calls on its sockets return `ETERM`, then this waits for
/// every socket to be closed (and done lingering) and frees the context; or fails with
/// `EINTR`, the context left terminated but not freed, if a signal handler runs meanwhile.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_ctx_term(ctx: *mut c_void) -> c_int {
    guard(-1, || {
        let c = lookup(ctx)?;
        if c.forked() {
            forget_in_child(ctx);
            return Ok(0);
        }
        c.shut.store(true, Ordering::SeqCst);
        if let Some(context) = c.context.get() {
            wait_term(context)?;
        }
        // Two threads terminating at once both wait above; the first to get here frees it.
        CONTEXTS.remove(ctx);
        crate::socket::forget_last();
        Ok(0)
    })
}

/// Terminate `context` and wait until its sockets are closed and done lingering, in poll(2)
/// on the thread's wake-up eventfd, so that a signal handler running meanwhile ends the wait
/// with `EINTR`, as libzmq's; the context then stays, terminated, for the caller to call
/// `zmq_ctx_term` again.
fn wait_term(context: &Context) -> R<()> {
    let wake = crate::socket::thread_wake()?;
    let fd = wake.raw_fd();
    let waker = Waker::from(wake.clone());
    loop {
        // Emptied before asking, so that a change after the answer leaves it readable.
        wake.drain();
        if context.poll_term(&waker) {
            return Ok(());
        }
        let mut pfd = libc::pollfd { fd, events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd for the thread's own eventfd, which stays open meanwhile.
        if unsafe { libc::poll(&mut pfd, 1, -1) } < 0 {
            return Err(crate::errno::get());
        }
    }
}

/// Terminate a context a forked child inherited: its handle goes, and the context is left
/// as it is, never dropped. Terminating it would wait for I/O threads the child does not have
/// (a hang), and dropping its connections and event loop would deregister the parent's
/// descriptors from the epoll instance the two processes share (harming the parent).
fn forget_in_child(ctx: *mut c_void) {
    if let Some(c) = CONTEXTS.remove(ctx) {
        std::mem::forget(c);
    }
}

/// Shut the context down without waiting: blocking calls on its sockets return `ETERM`, and
/// so does every later call but `zmq_close`. `zmq_ctx_term` must still be called.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_ctx_shutdown(ctx: *mut c_void) -> c_int {
    guard(-1, || {
        let c = lookup(ctx)?;
        if c.forked() {
            return Ok(0); // nothing to wake: the child has no thread blocked in the parent's sockets
        }
        c.shut.store(true, Ordering::SeqCst);
        if let Some(context) = c.context.get() {
            context.shutdown();
        }
        Ok(0)
    })
}

/// Set a context option: ZMQ_IO_THREADS and the ZMQ_THREAD_* options (they apply to the I/O
/// threads, which start with the first socket), ZMQ_MAX_SOCKETS, ZMQ_IPV6, ZMQ_BLOCKY,
/// ZMQ_MAX_MSGSZ; `EINVAL` for a bad value or another option, as libzmq.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_ctx_set(ctx: *mut c_void, option: c_int, optval: c_int) -> c_int {
    guard(-1, || {
        lookup(ctx)?.options.lock().set(option, &optval.to_ne_bytes())?;
        Ok(0)
    })
}

/// Read a context option (those `zmq_ctx_set` takes but ZMQ_THREAD_PRIORITY and the affinity,
/// which libzmq cannot read back either; ZMQ_SOCKET_LIMIT and ZMQ_MSG_T_SIZE; the name prefix
/// as C's `atoi` reads it).
#[unsafe(no_mangle)]
pub extern "C" fn zmq_ctx_get(ctx: *mut c_void, option: c_int) -> c_int {
    guard(-1, || {
        let c = lookup(ctx)?;
        let mut v = [0; size_of::<c_int>()];
        c.options.lock().get(option, &mut v)?;
        Ok(c_int::from_ne_bytes(v))
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

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_thread_names_are_libzmqs_cut_at_15_bytes() {
        assert_eq!(CtxOptions::thread_name(b"", 0), "ZMQbg/IO/0");
        assert_eq!(CtxOptions::thread_name(b"7", 12), "7/ZMQbg/IO/12");
        assert_eq!(CtxOptions::thread_name(b"abcdef", 1), "abcdef/ZMQbg/IO");
        assert_eq!(CtxOptions::thread_name(b"ab\0cd", 3), "ab/ZMQbg/IO/3");
    }

    #[test]
    fn name_prefix_reads_back_as_atoi_or_bytes() {
        assert_eq!(
            [atoi(b"42"), atoi(b" -7x"), atoi(b"app"), atoi(b""), atoi(b"99999999999")],
            [42, -7, 0, 0, c_int::MAX]
        );
        let mut o = CtxOptions::default();
        assert_eq!(o.set(ZMQ_THREAD_NAME_PREFIX, b"app"), Ok(()));
        let mut buf = [0u8; 16];
        assert_eq!(o.get(ZMQ_THREAD_NAME_PREFIX, &mut buf), Ok(3));
        assert_eq!(&buf[..3], b"app");
        assert_eq!(o.get(ZMQ_THREAD_NAME_PREFIX, &mut [0u8; 2]), Err(libc::EINVAL));
        assert_eq!(o.set(ZMQ_THREAD_NAME_PREFIX, &[b'x'; 17]), Err(libc::EINVAL));
        assert_eq!(o.set(ZMQ_THREAD_NAME_PREFIX, b""), Err(libc::EINVAL));
        // An int-sized value is always a number, as libzmq reads it.
        assert_eq!(o.set(ZMQ_THREAD_NAME_PREFIX, &5i32.to_ne_bytes()), Ok(()));
        assert_eq!(o.thread_name_prefix, b"5");
    }
}
