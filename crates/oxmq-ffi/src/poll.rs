//! `zmq_poll`, `zmq_proxy`, `zmq_proxy_steerable`, `zmq_device`, `zmq_socket_monitor`.

use std::ffi::{c_char, c_int, c_long, c_short, c_void};
use std::sync::Arc;
use std::task::Waker;
use std::time::{Duration, Instant};

use crate::socket::{FfiSocket, lookup, lookup_arc, thread_wake};
use crate::{R, c_str, guard, zerr};

/// libzmq's `zmq_pollitem_t`: a socket, or (socket NULL) a descriptor.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct zmq_pollitem_t {
    pub socket: *mut c_void,
    pub fd: c_int,
    pub events: c_short,
    pub revents: c_short,
}

pub const ZMQ_POLLIN: c_short = 1;
pub const ZMQ_POLLOUT: c_short = 2;
pub const ZMQ_POLLERR: c_short = 4;
pub const ZMQ_POLLPRI: c_short = 8;

/// Wait until at least one item is ready or `timeout` ms pass (-1: no limit, 0: only check);
/// returns how many items are ready. Sockets report ZMQ_POLLIN and ZMQ_POLLOUT; descriptors
/// what poll(2) says: ZMQ_POLLIN, ZMQ_POLLOUT, ZMQ_POLLPRI, and ZMQ_POLLERR for anything else
/// (error, hang-up, invalid), asked for or not, as libzmq. A signal handler that runs during
/// the wait makes it return -1 with `EINTR`, as libzmq's.
///
/// How it waits: each socket's readiness is read after its signal's sequence number, with a
/// waker stored on the signal (`SocketBase::events_then_wake`) that writes to the calling
/// thread's eventfd at the socket's next change; the descriptors and that eventfd go to one
/// poll(2). A change between a socket's check and the poll(2) has written the eventfd by then,
/// so nothing is missed; the wakers are withdrawn before returning.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_poll(items: *mut zmq_pollitem_t, nitems: c_int, timeout: c_long) -> c_int {
    // SAFETY: the caller's contract is poll_c's.
    unsafe { poll_c(items, nitems, timeout, None) }
}

/// `zmq_poll`, or with `sigmask` the draft API's `zmq_ppoll`: the calling thread's signal
/// mask is `sigmask` while it waits (in ppoll(2)), as pselect(2) sets it for libzmq's.
///
/// # Safety
/// `items` points to `nitems` poll items (or `nitems` is 0); `sigmask` points to a sigset_t.
pub(crate) unsafe fn poll_c(
    items: *mut zmq_pollitem_t,
    nitems: c_int,
    timeout: c_long,
    sigmask: Option<*const libc::sigset_t>,
) -> c_int {
    guard(-1, || {
        let n = usize::try_from(nitems).map_err(|_| libc::EINVAL)?;
        if n > 0 && items.is_null() {
            return Err(libc::EFAULT);
        }
        let items: &mut [zmq_pollitem_t] = if n == 0 {
            &mut []
        } else {
            // SAFETY: zmq.h's contract: `items` points to `nitems` poll items, ours for the call.
            unsafe { std::slice::from_raw_parts_mut(items, n) }
        };
        let deadline = u64::try_from(timeout).ok().map(|ms| Instant::now() + Duration::from_millis(ms));
        if n == 0 && deadline.is_none() {
            return Err(libc::EINVAL); // a wait that could never end
        }
        // The sockets stay alive (their Arcs held) for the whole poll.
        let sockets: Vec<Option<Arc<FfiSocket>>> = items
            .iter()
            .map(|it| if it.socket.is_null() { Ok(None) } else { lookup_arc(it.socket).map(Some) })
            .collect::<R<_>>()?;
        poll_items(items, &sockets, deadline, sigmask)
    })
}

/// Wait as `zmq_poll` does on `items`, whose sockets are `sockets` (`None` for descriptor
/// items), until one is ready (their number) or `deadline` passes (0), or a signal handler
/// runs (`EINTR`). Also the draft API's `zmq_poller_wait_all`.
pub(crate) fn poll_items(
    items: &mut [zmq_pollitem_t],
    sockets: &[Option<Arc<FfiSocket>>],
    deadline: Option<Instant>,
    sigmask: Option<*const libc::sigset_t>,
) -> R<c_int> {
    let mut keys: Vec<Option<u64>> = vec![None; items.len()];
    let result = poll_loop(items, sockets, &mut keys, deadline, sigmask);
    for (s, key) in sockets.iter().zip(&mut keys) {
        if let Some(s) = s {
            s.sock.stop_waking(key);
        }
    }
    result
}

fn poll_loop(
    items: &mut [zmq_pollitem_t],
    sockets: &[Option<Arc<FfiSocket>>],
    keys: &mut [Option<u64>],
    deadline: Option<Instant>,
    sigmask: Option<*const libc::sigset_t>,
) -> R<c_int> {
    let wake = thread_wake()?;
    let wake_fd = wake.raw_fd();
    let mut pfds: Vec<libc::pollfd> = Vec::with_capacity(items.len() + 1);
    loop {
        wake.drain();
        let waker = Waker::from(wake.clone());
        let mut ready = 0;
        for ((it, s), key) in items.iter_mut().zip(sockets).zip(keys.iter_mut()) {
            it.revents = 0;
            if let Some(s) = s {
                let want = it.events & (ZMQ_POLLIN | ZMQ_POLLOUT);
                if want != 0 {
                    let ev = s.sock.events_then_wake(&waker, key).map_err(zerr)?;
                    it.revents = ev.bits() & want;
                }
            }
            ready += c_int::from(it.revents != 0);
        }
        pfds.clear();
        for it in items.iter().filter(|it| it.socket.is_null()) {
            let mut events = 0;
            if it.events & ZMQ_POLLIN != 0 {
                events |= libc::POLLIN;
            }
            if it.events & ZMQ_POLLOUT != 0 {
                events |= libc::POLLOUT;
            }
            if it.events & ZMQ_POLLPRI != 0 {
                events |= libc::POLLPRI;
            }
            pfds.push(libc::pollfd { fd: it.fd, events, revents: 0 });
        }
        pfds.push(libc::pollfd { fd: wake_fd, events: libc::POLLIN, revents: 0 });
        let wait_ms = if ready > 0 { 0 } else { ms_until(deadline) };
        let rc = match sigmask {
            // SAFETY: `pfds` is a live array of that many pollfds; the descriptors are the
            // caller's (zmq.h's contract: open for the poll) and our eventfd.
            None => unsafe { libc::poll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, wait_ms) },
            Some(mask) => {
                let ts = (wait_ms >= 0).then(|| libc::timespec {
                    tv_sec: libc::time_t::from(wait_ms / 1000),
                    tv_nsec: libc::c_long::from(wait_ms % 1000) * 1_000_000,
                });
                let ts = ts.as_ref().map_or(std::ptr::null(), |t| t as *const libc::timespec);
                // SAFETY: as above; `ts` is NULL or a live timespec, and `mask` a sigset_t
                // (zmq_ppoll's contract).
                unsafe { libc::ppoll(pfds.as_mut_ptr(), pfds.len() as libc::nfds_t, ts, mask) }
            }
        };
        if rc < 0 {
            return Err(crate::errno::get());
        }
        let mut fd_results = pfds.iter();
        for it in items.iter_mut().filter(|it| it.socket.is_null()) {
            let r = fd_results.next().expect("one pollfd per descriptor item").revents;
            let mut rev = 0;
            if r & libc::POLLIN != 0 {
                rev |= ZMQ_POLLIN;
            }
            if r & libc::POLLOUT != 0 {
                rev |= ZMQ_POLLOUT;
            }
            if r & libc::POLLPRI != 0 {
                rev |= ZMQ_POLLPRI;
            }
            if r & !(libc::POLLIN | libc::POLLOUT | libc::POLLPRI) != 0 {
                rev |= ZMQ_POLLERR;
            }
            it.revents = rev;
            ready += c_int::from(rev != 0);
        }
        if ready > 0 || deadline.is_some_and(|d| Instant::now() >= d) {
            return Ok(ready);
        }
        // Our eventfd: some socket may have changed; look again.
    }
}

/// Milliseconds until `deadline`, rounded up (so a wait never ends early); -1 for none.
pub(crate) fn ms_until(deadline: Option<Instant>) -> c_int {
    match deadline {
        None => -1,
        Some(d) => c_int::try_from(d.saturating_duration_since(Instant::now()).as_micros().div_ceil(1000))
            .unwrap_or(c_int::MAX),
    }
}

fn optional(s: *mut c_void) -> R<Option<Arc<FfiSocket>>> {
    if s.is_null() { Ok(None) } else { lookup_arc(s).map(Some) }
}

/// Move messages between `frontend` and `backend` (copies to `capture`, if not NULL) until
/// the context is terminated; returns -1 with errno `ETERM` then, as libzmq, or `EINTR` if a
/// signal handler ran while it waited.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_proxy(frontend: *mut c_void, backend: *mut c_void, capture: *mut c_void) -> c_int {
    zmq_proxy_steerable(frontend, backend, capture, std::ptr::null_mut())
}

/// `zmq_proxy` steered by PAUSE, RESUME, TERMINATE and STATISTICS commands on `control`
/// (if not NULL); returns 0 after TERMINATE.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_proxy_steerable(
    frontend: *mut c_void,
    backend: *mut c_void,
    capture: *mut c_void,
    control: *mut c_void,
) -> c_int {
    guard(-1, || {
        let (f, b) = (lookup(frontend)?, lookup(backend)?);
        let (capture, control) = (optional(capture)?, optional(control)?);
        let capture = capture.as_ref().map(|c| &*c.sock);
        let control = control.as_ref().map(|c| &*c.sock);
        // A signal handler that runs while it waits ends it with EINTR, as libzmq's.
        oxmq::proxy_interruptible(&f.sock, &b.sock, capture, control).map_err(zerr)?;
        Ok(0)
    })
}

/// The old name of `zmq_proxy` (every device type is the same proxy).
#[unsafe(no_mangle)]
pub extern "C" fn zmq_device(_type: c_int, frontend: *mut c_void, backend: *mut c_void) -> c_int {
    zmq_proxy(frontend, backend, std::ptr::null_mut())
}

/// Publish the socket's `events` (ZMQ_EVENT_* bits) from a PAIR bound at the inproc `addr`,
/// in libzmq's format; `addr` NULL stops monitoring.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_socket_monitor(s: *mut c_void, addr: *const c_char, events: c_int) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        // SAFETY: zmq.h's contract: NULL or a NUL-terminated endpoint.
        let addr = if addr.is_null() { "" } else { unsafe { c_str(addr) }? };
        sock.sock.monitor_endpoint(addr, events as u32).map_err(zerr)?;
        Ok(0)
    })
}
