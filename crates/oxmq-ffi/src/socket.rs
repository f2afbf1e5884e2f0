//! Sockets: `zmq_socket`, `zmq_close`, `zmq_bind`, `zmq_connect`, `zmq_unbind`,
//! `zmq_disconnect`, `zmq_setsockopt`, `zmq_getsockopt`, `zmq_send`, `zmq_send_const`,
//! `zmq_recv`.

use std::ffi::{c_char, c_int, c_void};
use std::os::fd::{AsRawFd, FromRawFd, OwnedFd};
use std::ptr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, LazyLock};
use std::task::{Wake, Waker};
use std::time::{Duration, Instant};

use bytes::Bytes;
use oxmq::{PollEvents, Properties, Socket, SocketType};

use crate::ctx::{self, FfiCtx};
use crate::handles::{self, Held, Kept, Registry};
use crate::{R, WordErrno, c_str, guard, int_size, zerr};

pub const ZMQ_DONTWAIT: c_int = 1;
pub const ZMQ_SNDMORE: c_int = 2;
/// The socket's readiness descriptor (libzmq's edge-triggered ZMQ_FD).
pub const ZMQ_FD: c_int = 14;
/// The socket's readiness now (ZMQ_POLLIN, ZMQ_POLLOUT); reading it re-arms ZMQ_FD.
pub const ZMQ_EVENTS: c_int = 15;
/// ZMQ_USE_FD: bind on a listening descriptor the application hands over.
pub const ZMQ_USE_FD: c_int = 89;

/// A socket handle's object.
pub(crate) struct FfiSocket {
    pub sock: Socket,
    ctx: Arc<FfiCtx>,
    /// Not yet closed by `zmq_close` (which closes the socket itself: a thread's `lookup`
    /// may keep the object after its handle is gone).
    open: AtomicBool,
}

impl FfiSocket {
    /// Close the socket and count it out of its context, once.
    fn close(&self) {
        if self.open.swap(false, Ordering::SeqCst) {
            self.sock.close();
            self.ctx.sockets.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

impl Drop for FfiSocket {
    fn drop(&mut self) {
        // Never closed by handle (a socket whose creation failed half-way): the socket's own
        // drop closes it.
        if self.open.load(Ordering::SeqCst) {
            self.ctx.sockets.fetch_sub(1, Ordering::SeqCst);
        }
    }
}

/// Writes to the eventfd when the socket's signal moves.
pub(crate) struct FdWake {
    /// Open for as long as anyone holds the `FdWake`, waker or waiter, so a write never
    /// reaches a descriptor number reused by something else; no lock, because a waker that a
    /// wake-up preempts (the woken thread on its core) must not hold one that thread's next
    /// wait takes (a `sched_yield` and two more context switches per roundtrip of
    /// `zmq_inproc_lat` on one core, when this was a `Mutex<Option<OwnedFd>>`).
    fd: OwnedFd,
    /// Set before each write: a blocking call's wait empties the eventfd first only when a
    /// wake-up may have been written since it last did (`drain_if_pending`), not with a
    /// read(2) per wait.
    pending: AtomicBool,
    /// The process that made it: a forked child makes its own rather than share the
    /// parent's (whose wake-ups it would otherwise drain).
    pid: libc::pid_t,
}

impl Wake for FdWake {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.pending.store(true, Ordering::SeqCst);
        let one: u64 = 1;
        // SAFETY: an open eventfd (owned here) and an 8-byte value; a full counter (EAGAIN)
        // still leaves it readable, which is all that is needed.
        unsafe { libc::write(self.fd.as_raw_fd(), (&one as *const u64).cast(), 8) };
    }
}

impl FdWake {
    /// The eventfd's number (open while `self` is held).
    pub(crate) fn raw_fd(&self) -> c_int {
        self.fd.as_raw_fd()
    }

    /// Empty the eventfd's counter if a wake-up may have been written since it was last
    /// emptied. (A wake-up whose write comes just after such an empty read leaves it readable
    /// with nothing pending: the next wait then returns at once, and empties it.)
    fn drain_if_pending(&self) {
        if self.pending.load(Ordering::SeqCst) {
            self.drain();
        }
    }

    /// Empty the eventfd's counter (non-blocking: nothing to read is fine), and clear
    /// `pending` first: a wake-up written after the clear sets it again.
    pub(crate) fn drain(&self) {
        self.pending.store(false, Ordering::SeqCst);
        let mut n: u64 = 0;
        // SAFETY: an open eventfd (owned here) and an 8-byte buffer.
        unsafe { libc::read(self.fd.as_raw_fd(), (&mut n as *mut u64).cast(), 8) };
    }
}

pub(crate) static SOCKETS: LazyLock<Registry<FfiSocket>> = LazyLock::new(Registry::new);

/// The socket behind a handle: `ENOTSOCK` for NULL, a closed socket, or anything else.
/// For callers that keep it beyond the call (a poll's items); the others use [`lookup`].
pub(crate) fn lookup_arc(s: *mut c_void) -> R<Arc<FfiSocket>> {
    SOCKETS.get(s).ok_or(libc::ENOTSOCK)
}

thread_local! {
    /// The socket this thread called on last, kept so that the next call on it needs neither
    /// the registry's lock nor a reference count (see `handles`).
    static LAST: Kept<FfiSocket> = const { Kept::new() };
}

/// The socket behind a handle, for the length of one call (as [`lookup_arc`]): the one this
/// thread called on last if its handle is the same and no handle has been removed since,
/// else the registry's.
#[inline]
pub(crate) fn lookup(s: *mut c_void) -> R<SocketRef> {
    SOCKETS.get_kept(&LAST, s).ok_or(libc::ENOTSOCK)
}

/// Drop the socket this thread keeps (`zmq_close`, and `zmq_ctx_term`: a closed socket kept
/// would keep its context's I/O threads running).
pub(crate) fn forget_last() {
    handles::forget_kept(&LAST);
}

/// A socket looked up by [`lookup`].
pub(crate) type SocketRef = Held<FfiSocket>;

/// A new socket of `type_` in `ctx`: `EFAULT` for a bad context, `ETERM` once it is shut
/// down, `EINVAL` for an unknown type, `EMFILE` past ZMQ_MAX_SOCKETS.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_socket(ctx: *mut c_void, type_: c_int) -> *mut c_void {
    guard(ptr::null_mut(), || {
        let c = ctx::lookup(ctx)?;
        let t = SocketType::from_zmq_type(type_).ok_or(libc::EINVAL)?;
        let context = c.context()?;
        let (max_sockets, ipv6, blocky) = {
            let o = c.options.lock();
            (o.max_sockets, o.ipv6, o.blocky)
        };
        if c.sockets.fetch_add(1, Ordering::SeqCst) >= max_sockets as usize {
            c.sockets.fetch_sub(1, Ordering::SeqCst);
            return Err(libc::EMFILE);
        }
        let sock = match Socket::new(context, t) {
            Ok(s) => s,
            Err(e) => {
                c.sockets.fetch_sub(1, Ordering::SeqCst);
                return Err(zerr(e));
            }
        };
        let s = Arc::new(FfiSocket { sock, ctx: c.clone(), open: AtomicBool::new(true) });
        // The context's defaults for new sockets, as libzmq applies them.
        if ipv6 {
            s.sock.set_ipv6(true).map_err(zerr)?;
        }
        if !blocky {
            s.sock.set_linger(0).map_err(zerr)?;
        }
        Ok(SOCKETS.insert(s))
    })
}

/// Close a socket: its handle is invalid from now on (`ENOTSOCK`); queued messages are still
/// sent for up to ZMQ_LINGER.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_close(s: *mut c_void) -> c_int {
    guard(-1, || {
        let sock = SOCKETS.remove(s).ok_or(libc::ENOTSOCK)?;
        // The removal made whatever this thread keeps stale (it could never be used again):
        // dropped now, so that it does not keep this socket's memory.
        forget_last();
        if sock.ctx.forked() {
            // A forked child closing what it inherited: the socket's connections, pipes and
            // descriptors are the parent's too (and its I/O threads are not there to linger).
            // Left alone, as libzmq's child leaves them: only the handle goes.
            std::mem::forget(sock);
            return Ok(0);
        }
        // Closed now, not when the last reference goes: another thread may keep one (see
        // `lookup`), and a call blocked in it returns.
        sock.close();
        Ok(0)
    })
}

/// A socket call taking an endpoint.
unsafe fn endpoint_call(
    s: *mut c_void,
    addr: *const c_char,
    f: impl FnOnce(&Socket, &str) -> oxmq::Result<()>,
) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        // SAFETY: zmq.h's contract: `addr` is NULL or a NUL-terminated string.
        let addr = unsafe { c_str(addr) }?;
        f(&sock.sock, addr).map_err(zerr)?;
        Ok(0)
    })
}

/// A bind or connect: with ZMQ_IO_THREADS 0, only inproc works (`EMTHREAD` for tcp and
/// ipc, which need an I/O thread), as libzmq's.
unsafe fn attach_call(s: *mut c_void, addr: *const c_char, f: impl FnOnce(&Socket, &str) -> oxmq::Result<()>) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        // SAFETY: zmq.h's contract: `addr` is NULL or a NUL-terminated string.
        let addr = unsafe { c_str(addr) }?;
        if sock.ctx.no_io_threads.load(Ordering::Relaxed) && (addr.starts_with("tcp://") || addr.starts_with("ipc://"))
        {
            return Err(crate::errno::EMTHREAD);
        }
        f(&sock.sock, addr).map_err(zerr)?;
        Ok(0)
    })
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_bind(s: *mut c_void, addr: *const c_char) -> c_int {
    // SAFETY: the caller's contract is attach_call's.
    unsafe { attach_call(s, addr, |sock, a| sock.bind(a)) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_connect(s: *mut c_void, addr: *const c_char) -> c_int {
    // SAFETY: the caller's contract is attach_call's.
    unsafe { attach_call(s, addr, |sock, a| sock.connect(a)) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_unbind(s: *mut c_void, addr: *const c_char) -> c_int {
    // SAFETY: the caller's contract is endpoint_call's.
    unsafe { endpoint_call(s, addr, |sock, a| sock.unbind(a)) }
}

#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_disconnect(s: *mut c_void, addr: *const c_char) -> c_int {
    // SAFETY: the caller's contract is endpoint_call's.
    unsafe { endpoint_call(s, addr, |sock, a| sock.disconnect(a)) }
}

/// Set a socket option by libzmq's id, the value as libzmq takes it (`EINVAL` for a wrong
/// size, a bad value, or an option oxmq does not have).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_setsockopt(
    s: *mut c_void,
    option: c_int,
    optval: *const c_void,
    optvallen: usize,
) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        let v: &[u8] = if optvallen == 0 {
            &[]
        } else if optval.is_null() {
            return Err(libc::EINVAL);
        } else {
            // SAFETY: zmq.h's contract: `optval` points to `optvallen` readable bytes.
            unsafe { std::slice::from_raw_parts(optval.cast::<u8>(), optvallen) }
        };
        if option == ZMQ_USE_FD && v.len() == size_of::<c_int>() {
            let fd = c_int::from_ne_bytes(v.try_into().expect("4 bytes"));
            if fd >= 0 {
                // SAFETY: ZMQ_USE_FD's contract (zmq_setsockopt(3)): the application hands
                // over the descriptor of a socket it has bound and set listening, which the
                // library owns from then on and closes when done with it. The library only
                // ever closes it once (the OwnedFd), at unbind or close.
                let listener = unsafe { OwnedFd::from_raw_fd(fd) };
                sock.sock.set_use_fd(listener).map_err(zerr)?;
                return Ok(0);
            }
        }
        sock.sock.set_option_raw(option, v).map_err(zerr)?;
        Ok(0)
    })
}

/// Read a socket option into the caller's buffer of `*optvallen` bytes, storing how many
/// were written in `*optvallen` (`EINVAL` where libzmq refuses that size).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_getsockopt(
    s: *mut c_void,
    option: c_int,
    optval: *mut c_void,
    optvallen: *mut usize,
) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        if optvallen.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: not NULL; zmq.h's contract: it points to a size_t.
        let buflen = unsafe { *optvallen };
        let value = match option {
            // libzmq answers these in its socket code: any buffer of at least an int.
            ZMQ_FD | ZMQ_EVENTS if buflen < size_of::<c_int>() => return Err(libc::EINVAL),
            // The library's readiness descriptor (SocketBase::fd: libzmq's edge-triggered
            // rule) and readiness; reading the readiness clears the descriptor.
            ZMQ_FD => sock.sock.fd().map_err(zerr)?.as_raw_fd().to_ne_bytes().to_vec(),
            ZMQ_EVENTS => c_int::from(sock.sock.events().map_err(zerr)?.bits()).to_ne_bytes().to_vec(),
            _ => sock.sock.get_option_sized(option, buflen).map_err(zerr)?,
        };
        if value.len() > buflen {
            return Err(libc::EINVAL);
        }
        if !value.is_empty() {
            if optval.is_null() {
                return Err(libc::EFAULT);
            }
            // SAFETY: `optval` points to `buflen` writable bytes (zmq.h's contract) and
            // `value` is no longer than that; the two cannot overlap (`value` is ours).
            unsafe { ptr::copy_nonoverlapping(value.as_ptr(), optval.cast::<u8>(), value.len()) };
        }
        // SAFETY: as above.
        unsafe { *optvallen = value.len() };
        Ok(0)
    })
}

/// Send one frame: blocking (within ZMQ_SNDTIMEO) unless ZMQ_DONTWAIT, more frames to follow
/// with ZMQ_SNDMORE. The frame goes by move (no clone: a clone of a buffer the message owns
/// alone would make it a shared one, an allocation per message); when the send fails, for
/// whatever reason, the frame comes back with the errno, untouched, for `zmq_msg_send` to put
/// back in the caller's message.
#[inline]
pub(crate) fn send_frame(sock: &FfiSocket, data: Bytes, flags: c_int) -> Result<(), (c_int, Bytes)> {
    let more = flags & ZMQ_SNDMORE != 0;
    // The first attempt on its own: most sends need no other, and it costs no closure, no
    // option read, no moves of the frame in and out of a slot.
    let data = match sock.sock.try_send_frame(data, more) {
        Ok(()) => return Ok(()),
        Err((oxmq::Error::Again, back)) if flags & ZMQ_DONTWAIT == 0 => back,
        Err((e, back)) => return Err((zerr(e), back)),
    };
    send_frame_waiting(sock, data, more)
}

/// [`send_frame`] once its first attempt found no room: blocking within ZMQ_SNDTIMEO.
#[inline(never)]
fn send_frame_waiting(sock: &FfiSocket, data: Bytes, more: bool) -> Result<(), (c_int, Bytes)> {
    // The refused attempt may have made room itself: a stream's sender that finds its peer's
    // queue full writes what is queued on its own thread (oxmq's `engine::drive`). So one
    // more attempt before a wait, which would first yield the CPU to the I/O thread.
    let data = match sock.sock.try_send_frame(data, more) {
        Ok(()) => return Ok(()),
        Err((oxmq::Error::Again, back)) => back,
        Err((e, back)) => return Err((zerr(e), back)),
    };
    // Between attempts the frame waits here; every attempt that fails puts it back.
    let mut frame = Some(data);
    let sent = blocking(
        sock,
        PollEvents::OUT,
        || sock.sock.sndtimeo(),
        || match sock.sock.try_send_frame(frame.take().unwrap_or_default(), more) {
            Ok(()) => Ok(()),
            Err((e, back)) => {
                frame = Some(back);
                Err(e)
            }
        },
    );
    sent.map_err(|e| (e, frame.unwrap_or_default()))
}

/// Receive one frame: its bytes, whether more follow, and (given `properties`) its
/// connection's properties, put there unless they are there already; blocking (within
/// ZMQ_RCVTIMEO) unless ZMQ_DONTWAIT. As [`blocking`], but a wait on a socket
/// whose one peer is a tcp or ipc connection reads that connection on this thread
/// (`recv_frame_reading`: no hop through the I/O thread), in poll(2) too, so that a signal
/// handler still ends it with `EINTR`.
///
/// Always inlined: returned through memory, the frame was written by this function with
/// 8-byte stores and read back by `zmq_msg_recv` with a 16-byte load across two of them,
/// which waits for both to retire (a store-forwarding stall, half of `zmq_msg_recv`'s
/// samples); inlined, the frame stays in registers.
#[inline(always)]
pub(crate) fn recv_frame(
    sock: &FfiSocket,
    flags: c_int,
    mut properties: Option<&mut Option<Properties>>,
) -> Result<oxmq::ReceivedFrame, WordErrno> {
    if flags & ZMQ_DONTWAIT != 0 {
        return sock.sock.recv_frame(false, properties).map_err(|e| zerr(e).into());
    }
    // (Not a non-blocking receive: one that finds nothing gives the connection back to the
    // I/O thread, which the wait below would then take again.)
    if let Some(v) = sock.sock.recv_frame_now(properties.as_deref_mut()).map_err(zerr)? {
        return Ok(v);
    }
    let deadline = deadline_after(sock.sock.rcvtimeo().map_err(zerr)?)?;
    let mut trust_events = true;
    loop {
        match sock.sock.recv_frame_reading(deadline, properties.as_deref_mut()).map_err(zerr)? {
            oxmq::ReadFrame::Frame(frame) => return Ok(frame),
            oxmq::ReadFrame::Again => {}
            oxmq::ReadFrame::TimedOut => return Err(libc::EAGAIN.into()),
            oxmq::ReadFrame::Interrupted => return Err(libc::EINTR.into()),
            oxmq::ReadFrame::Wait => trust_events = wait_for(&sock.sock, PollEvents::IN, deadline, trust_events)?,
        }
    }
}

/// A blocking call as libzmq makes it, once a first try of `op` found the socket not ready
/// (and the call may wait): wait until the socket may have become ready (`want`), for
/// `timeo()` ms in all (-1: no limit; read only now, so that a call that need not wait costs
/// no option read), and try again. `EAGAIN` when the time is up; `EINTR` if a signal handler
/// ran meanwhile: the wait is a poll(2), which a signal always interrupts, so that the caller
/// can react to the signal (pyzmq raises KeyboardInterrupt on Ctrl-C) and call again.
fn blocking<T>(
    sock: &FfiSocket,
    want: PollEvents,
    timeo: impl FnOnce() -> oxmq::Result<c_int>,
    mut op: impl FnMut() -> oxmq::Result<T>,
) -> R<T> {
    let deadline = deadline_after(timeo().map_err(zerr)?)?;
    let mut trust_events = true;
    loop {
        trust_events = wait_for(&sock.sock, want, deadline, trust_events)?;
        match op() {
            Ok(v) => return Ok(v),
            Err(oxmq::Error::Again) => {}
            Err(e) => return Err(zerr(e)),
        }
    }
}

/// When a blocking call that must wait gives up, from its SNDTIMEO/RCVTIMEO `ms` (-1: never;
/// 0: `EAGAIN` at once, it must not wait).
fn deadline_after(ms: c_int) -> R<Option<Instant>> {
    match ms {
        0 => Err(libc::EAGAIN),
        ms => Ok(u64::try_from(ms).ok().map(|ms| Instant::now() + Duration::from_millis(ms))),
    }
}

thread_local! {
    /// The calling thread's wake-up descriptor for blocking calls: an eventfd written by a
    /// waker that the socket's signal wakes (made on a thread's first wait).
    static WAIT: std::cell::RefCell<Option<Arc<FdWake>>> = const { std::cell::RefCell::new(None) };
}

/// The calling thread's wake-up descriptor (made on its first wait, and again in a forked
/// child: the one it inherited is the parent's).
pub(crate) fn thread_wake() -> R<Arc<FdWake>> {
    let pid = crate::process_id();
    WAIT.with(|w| {
        let mut w = w.borrow_mut();
        match &*w {
            Some(wake) if wake.pid == pid => Ok(wake.clone()),
            _ => {
                let wake = new_fd_wake()?;
                *w = Some(wake.clone());
                Ok(wake)
            }
        }
    })
}

/// A new non-blocking eventfd, and a waker that writes to it.
fn new_fd_wake() -> R<Arc<FdWake>> {
    // SAFETY: eventfd(2) takes no pointers; a negative return is an error.
    let raw = unsafe { libc::eventfd(0, libc::EFD_NONBLOCK | libc::EFD_CLOEXEC) };
    if raw < 0 {
        return Err(crate::errno::get());
    }
    // SAFETY: a descriptor just opened and owned by nobody else.
    let fd = unsafe { OwnedFd::from_raw_fd(raw) };
    Ok(Arc::new(FdWake { fd, pending: AtomicBool::new(false), pid: crate::process_id() }))
}

/// Wait until `sock` may be ready for `want`, `deadline` passes (`EAGAIN`) or a signal
/// handler runs (`EINTR`). Returns at once if the socket is ready and `trust_events`; returns
/// whether the next wait may trust the socket's readiness answer again (not after a return
/// on that answer alone).
///
/// First, as oxmq's own blocking calls, about a microsecond's spin on the socket's signal (on
/// one CPU, a yield): a peer thread mid-batch usually gets there first, and then there is no
/// poll(2), no wake-up write and no eventfd read. A signal handler that runs within that
/// microsecond is not reported as `EINTR` (the call goes on to wait), as one that runs between
/// libzmq's last check and its poll(2) is not: the window is wider, of the same kind.
fn wait_for(sock: &Socket, want: PollEvents, deadline: Option<Instant>, trust_events: bool) -> R<bool> {
    if sock.changed_shortly() {
        return Ok(true);
    }
    let wake = thread_wake()?;
    let raw = wake.raw_fd();
    wake.drain_if_pending();
    let waker = Waker::from(wake.clone());
    let mut key = None;
    let ready = sock.events_then_wake(&waker, &mut key).map_err(zerr)?;
    let result = if ready.contains(want) && trust_events {
        Ok(false)
    } else {
        let timeout_ms = crate::poll::ms_until(deadline);
        let mut pfd = libc::pollfd { fd: raw, events: libc::POLLIN, revents: 0 };
        // SAFETY: one pollfd for our own eventfd, which stays open (the thread holds it).
        let n = unsafe { libc::poll(&mut pfd, 1, timeout_ms) };
        if n < 0 {
            Err(crate::errno::get())
        } else if n == 0 && deadline.is_some_and(|d| Instant::now() >= d) {
            Err(libc::EAGAIN)
        } else {
            if n > 0 {
                // Woken: emptied now, so that the next wait need not read it first.
                wake.drain();
            }
            Ok(true)
        }
    };
    sock.stop_waking(&mut key);
    result
}

/// Send `len` bytes from `buf` (copied) as one frame; returns `len`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_send(s: *mut c_void, buf: *const c_void, len: usize, flags: c_int) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        let data = if len == 0 {
            Bytes::new()
        } else if buf.is_null() {
            return Err(libc::EFAULT);
        } else {
            // SAFETY: zmq.h's contract: `buf` points to `len` readable bytes; they are copied.
            Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(buf.cast::<u8>(), len) })
        };
        send_frame(&sock, data, flags).map_err(|(e, _)| e)?;
        Ok(int_size(len))
    })
}

/// Send `len` bytes at `buf` as one frame without copying them: the caller promises they stay
/// unchanged for the life of the process (libzmq's "constant" data).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_send_const(s: *mut c_void, buf: *const c_void, len: usize, flags: c_int) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        let data = if len == 0 {
            Bytes::new()
        } else if buf.is_null() {
            return Err(libc::EFAULT);
        } else {
            // SAFETY: zmq_send_const's contract: `buf` points to `len` bytes that stay valid
            // and unchanged for as long as the library may use them, i.e. for ever.
            Bytes::from_static(unsafe { std::slice::from_raw_parts::<'static, u8>(buf.cast::<u8>(), len) })
        };
        send_frame(&sock, data, flags).map_err(|(e, _)| e)?;
        Ok(int_size(len))
    })
}

/// Receive one frame into `buf` (at most `len` bytes; the rest is dropped) and return its
/// full size, as libzmq: a return above `len` means the frame was truncated.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_recv(s: *mut c_void, buf: *mut c_void, len: usize, flags: c_int) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        if buf.is_null() && len > 0 {
            return Err(libc::EFAULT);
        }
        let frame = recv_frame(&sock, flags, None)?;
        let data = frame.data();
        let n = data.len().min(len);
        if n > 0 {
            // SAFETY: `buf` points to `len` writable bytes (zmq.h's contract), n <= len, and
            // the received frame is ours (no overlap).
            unsafe { ptr::copy_nonoverlapping(data.as_ptr(), buf.cast::<u8>(), n) };
        }
        Ok(int_size(data.len()))
    })
}

/// Send `count` buffers as frames, each copied: with ZMQ_SNDMORE in `flags`, as one message
/// (the last frame without it); without, as `count` messages. Returns the last frame's size.
/// (libzmq's undocumented scatter send.)
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_sendiov(s: *mut c_void, iov: *mut libc::iovec, count: usize, flags: c_int) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        if count == 0 || iov.is_null() {
            return Err(libc::EINVAL);
        }
        // SAFETY: zmq.h's contract: `iov` points to `count` iovecs.
        let iov = unsafe { std::slice::from_raw_parts(iov, count) };
        let mut sent = 0;
        for (i, v) in iov.iter().enumerate() {
            let data = if v.iov_len == 0 {
                Bytes::new()
            } else if v.iov_base.is_null() {
                return Err(libc::EFAULT);
            } else {
                // SAFETY: each iovec points to `iov_len` readable bytes; they are copied.
                Bytes::copy_from_slice(unsafe { std::slice::from_raw_parts(v.iov_base.cast::<u8>(), v.iov_len) })
            };
            let f = if i + 1 == count { flags & !ZMQ_SNDMORE } else { flags };
            sent = int_size(data.len());
            send_frame(&sock, data, f).map_err(|(e, _)| e)?;
        }
        Ok(sent)
    })
}

/// Receive up to `*count` frames of one message into `iov`, each in a buffer allocated with
/// malloc (the caller frees it); `*count` becomes the number received, which is returned.
/// (libzmq's undocumented gather receive.)
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_recviov(s: *mut c_void, iov: *mut libc::iovec, count: *mut usize, flags: c_int) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        if count.is_null() || iov.is_null() {
            return Err(libc::EINVAL);
        }
        // SAFETY: zmq.h's contract: `count` points to a size_t.
        let max = unsafe { *count };
        if max == 0 {
            return Err(libc::EINVAL);
        }
        // SAFETY: as above.
        unsafe { *count = 0 };
        // SAFETY: zmq.h's contract: `iov` points to `*count` iovecs, ours to fill.
        let iov = unsafe { std::slice::from_raw_parts_mut(iov, max) };
        let mut received = 0;
        for v in iov.iter_mut() {
            let (data, more) = recv_frame(&sock, flags, None)?.into_parts();
            // SAFETY: malloc of at least one byte (a NULL buffer would read as failure).
            let buf = unsafe { libc::malloc(data.len().max(1)) }.cast::<u8>();
            if buf.is_null() {
                return Err(libc::ENOMEM);
            }
            // SAFETY: `buf` has room for the frame; the frame is ours (no overlap).
            unsafe { ptr::copy_nonoverlapping(data.as_ptr(), buf, data.len()) };
            v.iov_base = buf.cast();
            v.iov_len = data.len();
            received += 1;
            // SAFETY: as above.
            unsafe { *count = received };
            if !more {
                break;
            }
        }
        Ok(int_size(received))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::ctx::{zmq_ctx_new, zmq_ctx_term};

    const ZMQ_PULL: c_int = 7;

    /// What a thread keeps for its next call (`lookup`) is dropped by `zmq_close` on that
    /// thread, and by `zmq_ctx_term` there for a socket another thread closed: else it would
    /// keep the socket's memory, and the context (its I/O threads) with it.
    #[test]
    #[cfg_attr(miri, ignore = "makes a context: its I/O thread blocks signals (sigfillset), which Miri cannot run")]
    fn zmq_close_and_zmq_ctx_term_drop_what_their_thread_keeps() {
        let ctx = zmq_ctx_new();
        let s = zmq_socket(ctx, ZMQ_PULL);
        assert!(!s.is_null());
        assert!(lookup(s).is_ok(), "used on this thread: kept for its next call");
        let socket = Arc::downgrade(&lookup_arc(s).unwrap());
        assert_eq!(zmq_close(s), 0);
        assert!(socket.upgrade().is_none(), "zmq_close drops the socket this thread kept");

        let s = zmq_socket(ctx, ZMQ_PULL);
        assert!(lookup(s).is_ok());
        let context = Arc::downgrade(&ctx::lookup(ctx).unwrap());
        let handle = s as usize;
        std::thread::spawn(move || assert_eq!(zmq_close(handle as *mut c_void), 0)).join().unwrap();
        assert_eq!(zmq_ctx_term(ctx), 0);
        assert!(context.upgrade().is_none(), "zmq_ctx_term drops the closed socket this thread kept");
    }
}
