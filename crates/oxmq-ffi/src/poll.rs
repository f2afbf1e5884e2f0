//! `zmq_poll`, `zmq_proxy`, `zmq_proxy_steerable`, `zmq_device`, `zmq_socket_monitor`.

use std::ffi::{c_char, c_int, c_long, c_short, c_void};
use std::os::fd::BorrowedFd;
use std::sync::Arc;
use std::time::Duration;

use oxmq::{PollEvents, PollItem};

use crate::socket::{FfiSocket, lookup};
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

/// Wait until at least one item is ready or `timeout` ms pass (-1: no limit, 0: only check);
/// returns how many items are ready. ZMQ_POLLIN, ZMQ_POLLOUT for sockets and descriptors,
/// ZMQ_POLLERR reported for descriptors; ZMQ_POLLPRI is not supported (COMPATIBILITY.md).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_poll(items: *mut zmq_pollitem_t, nitems: c_int, timeout: c_long) -> c_int {
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
        // The sockets stay alive (their Arcs held) for the whole poll.
        let sockets: Vec<Option<Arc<FfiSocket>>> = items
            .iter()
            .map(|it| if it.socket.is_null() { Ok(None) } else { lookup(it.socket).map(Some) })
            .collect::<R<_>>()?;
        let mut poll_items: Vec<PollItem<'_>> = items
            .iter()
            .zip(&sockets)
            .map(|(it, s)| {
                let events = PollEvents::from_bits_truncate(it.events);
                match s {
                    Some(s) => PollItem::socket(&s.sock, events),
                    // SAFETY: zmq.h's contract: the descriptor is open for the whole poll.
                    None => PollItem::fd(unsafe { BorrowedFd::borrow_raw(it.fd) }, events),
                }
            })
            .collect();
        let timeout = u64::try_from(timeout).ok().map(Duration::from_millis);
        let ready = oxmq::poll(&mut poll_items, timeout).map_err(zerr)?;
        for (it, p) in items.iter_mut().zip(&poll_items) {
            it.revents = p.revents().bits();
        }
        Ok(ready as c_int)
    })
}

fn optional(s: *mut c_void) -> R<Option<Arc<FfiSocket>>> {
    if s.is_null() { Ok(None) } else { lookup(s).map(Some) }
}

/// Move messages between `frontend` and `backend` (copies to `capture`, if not NULL) until
/// the context is terminated; returns -1 with errno `ETERM` then, as libzmq.
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
        match &control {
            Some(ctl) => oxmq::proxy_steerable(&f.sock, &b.sock, capture, &ctl.sock),
            None => oxmq::proxy(&f.sock, &b.sock, capture),
        }
        .map_err(zerr)?;
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
