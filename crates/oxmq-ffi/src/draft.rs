//! libzmq 4.3.5's draft API (built with `--features draft`, as libzmq with
//! ZMQ_BUILD_DRAFT_API; the header declares it under `#ifdef ZMQ_BUILD_DRAFT_API`):
//! `zmq_poller_*`, `zmq_socket_monitor_versioned`, `zmq_join`/`zmq_leave`,
//! `zmq_connect_peer`, `zmq_socket_get_peer_state`, `zmq_socket_monitor_pipes_stats`,
//! `zmq_ppoll`,
//! `zmq_ctx_set_ext`/`zmq_ctx_get_ext`; the message calls are in [`crate::msg::draft`].
//!
//! oxmq has none of the draft socket types (SERVER, CLIENT, RADIO, DISH, PEER, ...): the calls
//! that only they serve answer as libzmq's do on the stable types (`ENOTSUP`).
//! `zmq_socket_get_peer_state` is ROUTER's (`SocketBase::peer_state`).
//!
//! The poller waits as `zmq_poll` does (`poll::poll_items`: the sockets' signals wake the
//! thread's eventfd, which poll(2) watches with the descriptors), so it reports a descriptor's
//! `ZMQ_POLLPRI` and `ZMQ_POLLERR` as libzmq's and a signal handler interrupts it with `EINTR`.
//! A poller handle is registered like a socket's (`handles.rs`): NULL, foreign or destroyed
//! ones are refused with `EFAULT` without being read.

use std::ffi::{c_char, c_int, c_long, c_short, c_void};
use std::ptr;
use std::sync::{Arc, LazyLock, Weak};
use std::time::{Duration, Instant};

use oxmq::SocketType;
use parking_lot::Mutex;

use crate::handles::Registry;
use crate::poll::{ZMQ_POLLERR, ZMQ_POLLIN, ZMQ_POLLOUT, ZMQ_POLLPRI, poll_items, zmq_pollitem_t};
use crate::socket::{FfiSocket, lookup, lookup_arc};
use crate::{R, c_str, guard, zerr};

/// libzmq's `zmq_poller_event_t`: what `zmq_poller_wait` and `_wait_all` report.
#[allow(non_camel_case_types)]
#[repr(C)]
pub struct zmq_poller_event_t {
    pub socket: *mut c_void,
    pub fd: c_int,
    pub user_data: *mut c_void,
    pub events: c_short,
}

pub const ZMQ_EVENT_PIPES_STATS: u64 = 0x10000;

/// One member of a poller: a socket (its handle, and its object while it is open: a poller
/// does not keep a closed socket alive, so that `zmq_ctx_term` is not held up by it) or a
/// descriptor.
#[derive(Clone)]
struct Entry {
    socket: Option<(usize, Weak<FfiSocket>)>,
    fd: c_int,
    user_data: *mut c_void,
    events: c_short,
}

/// A poller's members, in the order they were added.
pub(crate) struct FfiPoller {
    entries: Mutex<Vec<Entry>>,
}

// SAFETY: `user_data` is the caller's pointer, only handed back to it, never dereferenced;
// everything else is behind the mutex.
unsafe impl Send for FfiPoller {}
// SAFETY: as above.
unsafe impl Sync for FfiPoller {}

static POLLERS: LazyLock<Registry<FfiPoller>> = LazyLock::new(Registry::new);

fn poller(p: *mut c_void) -> R<Arc<FfiPoller>> {
    POLLERS.get(p).ok_or(libc::EFAULT)
}

/// Events a poller takes: `EINVAL` for any other bit, as libzmq.
fn check_events(events: c_short) -> R<()> {
    if events & !(ZMQ_POLLIN | ZMQ_POLLOUT | ZMQ_POLLERR | ZMQ_POLLPRI) != 0 {
        return Err(libc::EINVAL);
    }
    Ok(())
}

/// A descriptor a poller takes: `EBADF` for -1 (libzmq's "retired" descriptor).
fn check_fd(fd: c_int) -> R<()> {
    if fd == -1 { Err(libc::EBADF) } else { Ok(()) }
}

#[unsafe(no_mangle)]
pub extern "C" fn zmq_poller_new() -> *mut c_void {
    guard(ptr::null_mut(), || Ok(POLLERS.insert(Arc::new(FfiPoller { entries: Mutex::new(Vec::new()) }))))
}

/// Destroy the poller `*poller_p` and set `*poller_p` to NULL (`EFAULT` for a bad one).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_poller_destroy(poller_p: *mut *mut c_void) -> c_int {
    guard(-1, || {
        if poller_p.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: zmq.h's contract: `poller_p` points to a poller handle.
        let handle = unsafe { *poller_p };
        POLLERS.remove(handle).ok_or(libc::EFAULT)?;
        // SAFETY: as above.
        unsafe { *poller_p = ptr::null_mut() };
        Ok(0)
    })
}

/// How many sockets and descriptors are in the poller.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_poller_size(p: *mut c_void) -> c_int {
    guard(-1, || Ok(crate::int_size(poller(p)?.entries.lock().len())))
}

/// Watch socket `s` for `events`, reported with `user_data`; `EINVAL` if it is there already.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_poller_add(p: *mut c_void, s: *mut c_void, user_data: *mut c_void, events: c_short) -> c_int {
    guard(-1, || {
        let p = poller(p)?;
        let sock = lookup_arc(s)?;
        check_events(events)?;
        let mut entries = p.entries.lock();
        if entries.iter().any(|e| e.socket.as_ref().is_some_and(|(h, _)| *h == s as usize)) {
            return Err(libc::EINVAL);
        }
        entries.push(Entry { socket: Some((s as usize, Arc::downgrade(&sock))), fd: -1, user_data, events });
        Ok(0)
    })
}

/// Watch descriptor `fd` for `events`, reported with `user_data`; `EINVAL` if it is there.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_poller_add_fd(p: *mut c_void, fd: c_int, user_data: *mut c_void, events: c_short) -> c_int {
    guard(-1, || {
        let p = poller(p)?;
        check_fd(fd)?;
        check_events(events)?;
        let mut entries = p.entries.lock();
        if entries.iter().any(|e| e.socket.is_none() && e.fd == fd) {
            return Err(libc::EINVAL);
        }
        entries.push(Entry { socket: None, fd, user_data, events });
        Ok(0)
    })
}

/// The member for socket `s` (or descriptor `fd`): `f` applied to the member list and its
/// position; `EINVAL` if it is not there.
fn with_member<T>(
    p: &FfiPoller,
    s: Option<*mut c_void>,
    fd: c_int,
    f: impl FnOnce(&mut Vec<Entry>, usize) -> T,
) -> R<T> {
    let mut entries = p.entries.lock();
    let i = entries
        .iter()
        .position(|e| match (s, &e.socket) {
            (Some(s), Some((h, _))) => *h == s as usize,
            (None, None) => e.fd == fd,
            _ => false,
        })
        .ok_or(libc::EINVAL)?;
    Ok(f(&mut entries, i))
}

#[unsafe(no_mangle)]
pub extern "C" fn zmq_poller_modify(p: *mut c_void, s: *mut c_void, events: c_short) -> c_int {
    guard(-1, || {
        let p = poller(p)?;
        lookup(s)?;
        check_events(events)?;
        with_member(&p, Some(s), -1, |entries, i| entries[i].events = events)?;
        Ok(0)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn zmq_poller_modify_fd(p: *mut c_void, fd: c_int, events: c_short) -> c_int {
    guard(-1, || {
        let p = poller(p)?;
        check_fd(fd)?;
        check_events(events)?;
        with_member(&p, None, fd, |entries, i| entries[i].events = events)?;
        Ok(0)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn zmq_poller_remove(p: *mut c_void, s: *mut c_void) -> c_int {
    guard(-1, || {
        let p = poller(p)?;
        lookup(s)?;
        with_member(&p, Some(s), -1, |entries, i| entries.remove(i))?;
        Ok(0)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn zmq_poller_remove_fd(p: *mut c_void, fd: c_int) -> c_int {
    guard(-1, || {
        let p = poller(p)?;
        check_fd(fd)?;
        with_member(&p, None, fd, |entries, i| entries.remove(i))?;
        Ok(0)
    })
}

/// libzmq's poller has a descriptor only for its thread-safe sockets (the draft types, which
/// oxmq does not have): `EINVAL`, as libzmq's for a poller without one.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_poller_fd(p: *mut c_void, fd: *mut c_int) -> c_int {
    guard(-1, || {
        poller(p)?;
        let _ = fd;
        Err(libc::EINVAL)
    })
}

/// Wait until a member is ready (`timeout` ms; -1: no limit, 0: only check) and report up to
/// `n_events` ready ones in `events`, in the order they were added; returns how many.
/// `EAGAIN` if none became ready in time, `EINTR` if a signal handler ran meanwhile, `EFAULT`
/// for an endless wait on a poller with nothing to watch.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_poller_wait_all(
    p: *mut c_void,
    events: *mut zmq_poller_event_t,
    n_events: c_int,
    timeout: c_long,
) -> c_int {
    guard(-1, || {
        let p = poller(p)?;
        if events.is_null() {
            return Err(libc::EFAULT);
        }
        let n = usize::try_from(n_events).map_err(|_| libc::EINVAL)?;
        // Members watching nothing are left out, as libzmq leaves them out of its poll set.
        let members: Vec<Entry> = p.entries.lock().iter().filter(|e| e.events != 0).cloned().collect();
        let deadline = u64::try_from(timeout).ok().map(|ms| Instant::now() + Duration::from_millis(ms));
        if members.is_empty() {
            return match deadline {
                None => Err(libc::EFAULT),
                Some(_) if timeout == 0 => Err(libc::EAGAIN),
                Some(_) => {
                    // SAFETY: no descriptors: poll(2) only sleeps, interruptibly.
                    let rc = unsafe { libc::poll(ptr::null_mut(), 0, crate::poll::ms_until(deadline)) };
                    Err(if rc < 0 { crate::errno::get() } else { libc::EAGAIN })
                }
            };
        }
        let mut items: Vec<zmq_pollitem_t> = members
            .iter()
            .map(|e| zmq_pollitem_t {
                socket: e.socket.as_ref().map_or(ptr::null_mut(), |(h, _)| *h as *mut c_void),
                fd: e.fd,
                events: e.events,
                revents: 0,
            })
            .collect();
        // A member closed since it was added: ENOTSOCK (libzmq reads freed memory there).
        let sockets: Vec<Option<Arc<FfiSocket>>> = members
            .iter()
            .map(|e| match &e.socket {
                Some((_, s)) => s.upgrade().map(Some).ok_or(libc::ENOTSOCK),
                None => Ok(None),
            })
            .collect::<R<_>>()?;
        if poll_items(&mut items, &sockets, deadline, None)? == 0 {
            return Err(libc::EAGAIN);
        }
        let mut found = 0;
        for (it, e) in items.iter().zip(&members).filter(|(it, _)| it.revents != 0).take(n) {
            let event = zmq_poller_event_t {
                socket: it.socket,
                fd: if e.socket.is_some() { -1 } else { e.fd },
                user_data: e.user_data,
                events: it.revents,
            };
            // SAFETY: zmq.h's contract: `events` points to `n_events` event structs, and
            // `found` < n_events.
            unsafe { events.add(found).write(event) };
            found += 1;
        }
        Ok(crate::int_size(found))
    })
}

/// [`zmq_poller_wait_all`] for one event; returns 0 on success, and clears `*event` on
/// failure, as libzmq.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_poller_wait(p: *mut c_void, event: *mut zmq_poller_event_t, timeout: c_long) -> c_int {
    // SAFETY: the caller's contract: `event` is NULL or points to one event struct.
    let rc = unsafe { zmq_poller_wait_all(p, event, 1, timeout) };
    if rc < 0 && !event.is_null() {
        // SAFETY: as above.
        unsafe {
            event.write(zmq_poller_event_t { socket: ptr::null_mut(), fd: -1, user_data: ptr::null_mut(), events: 0 })
        };
    }
    if rc < 0 { rc } else { 0 }
}

/// `zmq_socket_monitor` with a choice of event format and monitor socket type (PAIR, PUB or
/// PUSH; `EINVAL` for another). oxmq's monitor publishes version 1 (`ZMQ_EVENT_*` bits up to
/// 0xFFFF); version 2 (64-bit events with the local and remote endpoints) fails with
/// `ENOTSUP`.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_socket_monitor_versioned(
    s: *mut c_void,
    addr: *const c_char,
    events: u64,
    event_version: c_int,
    type_: c_int,
) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        if event_version == 1 && events >> 16 != 0 {
            return Err(libc::EINVAL);
        }
        // SAFETY: zmq.h's contract: NULL or a NUL-terminated endpoint.
        let addr = if addr.is_null() { "" } else { unsafe { c_str(addr) }? };
        if !addr.is_empty() && event_version != 1 {
            return Err(libc::ENOTSUP);
        }
        // Any other type is refused by the monitor with EINVAL, as libzmq.
        let t = SocketType::from_zmq_type(type_).unwrap_or(SocketType::Router);
        sock.sock.monitor_endpoint_as(addr, events as u32, t).map_err(zerr)?;
        Ok(0)
    })
}

/// Ask for a ZMQ_EVENT_PIPES_STATS event, which only a version-2 monitor asking for it gets:
/// `EINVAL`, as libzmq's on a socket without one (oxmq has no version-2 monitor).
#[unsafe(no_mangle)]
pub extern "C" fn zmq_socket_monitor_pipes_stats(s: *mut c_void) -> c_int {
    guard(-1, || {
        lookup(s)?;
        Err(libc::EINVAL)
    })
}

/// Join a DISH socket's group: `ENOTSUP`, as libzmq on every other socket type (oxmq has no
/// DISH).
#[unsafe(no_mangle)]
pub extern "C" fn zmq_join(s: *mut c_void, _group: *const c_char) -> c_int {
    guard(-1, || {
        lookup(s)?;
        Err(libc::ENOTSUP)
    })
}

/// Leave a DISH socket's group: `ENOTSUP`, as [`zmq_join`].
#[unsafe(no_mangle)]
pub extern "C" fn zmq_leave(s: *mut c_void, _group: *const c_char) -> c_int {
    guard(-1, || {
        lookup(s)?;
        Err(libc::ENOTSUP)
    })
}

/// Connect a PEER socket and return the peer's routing id: 0 with `ENOTSUP`, as libzmq on
/// every other socket type (oxmq has no PEER).
#[unsafe(no_mangle)]
pub extern "C" fn zmq_connect_peer(s: *mut c_void, _addr: *const c_char) -> u32 {
    guard(0, || {
        lookup(s)?;
        Err(libc::ENOTSUP)
    })
}

/// A ROUTER peer's state by routing id: `ZMQ_POLLOUT` if a message to it would be queued
/// now, 0 if its queue is full; `EHOSTUNREACH` if no peer has that routing id; `ENOTSUP` on the
/// other socket types, as libzmq.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_socket_get_peer_state(s: *mut c_void, routing_id: *const c_void, size: usize) -> c_int {
    guard(-1, || {
        let sock = lookup(s)?;
        let id: &[u8] = if size == 0 {
            &[]
        } else if routing_id.is_null() {
            return Err(libc::EFAULT);
        } else {
            // SAFETY: zmq.h's contract: `routing_id` points to `size` readable bytes.
            unsafe { std::slice::from_raw_parts(routing_id.cast::<u8>(), size) }
        };
        Ok(c_int::from(sock.sock.peer_state(id).map_err(zerr)?.bits()))
    })
}

/// Set a context option from a value of any size: the options of `zmq_ctx_set` (an int's
/// bytes), and ZMQ_THREAD_NAME_PREFIX also as 1 to 16 bytes of text.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_ctx_set_ext(
    ctx: *mut c_void,
    option: c_int,
    optval: *const c_void,
    optvallen: usize,
) -> c_int {
    guard(-1, || {
        let c = crate::ctx::lookup(ctx)?;
        let value: &[u8] = if optvallen == 0 {
            &[]
        } else if optval.is_null() {
            return Err(libc::EINVAL);
        } else {
            // SAFETY: zmq.h's contract: `optval` points to `optvallen` readable bytes.
            unsafe { std::slice::from_raw_parts(optval.cast::<u8>(), optvallen) }
        };
        c.options.lock().set(option, value)?;
        Ok(0)
    })
}

/// Read a context option into the caller's buffer of `*optvallen` bytes: an int's worth for
/// the options `zmq_ctx_get` reads, or ZMQ_THREAD_NAME_PREFIX's text into a buffer at least
/// as long (not NUL-terminated, and `*optvallen` left as it was, as libzmq's).
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_ctx_get_ext(
    ctx: *mut c_void,
    option: c_int,
    optval: *mut c_void,
    optvallen: *mut usize,
) -> c_int {
    guard(-1, || {
        let c = crate::ctx::lookup(ctx)?;
        if optvallen.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: not NULL; zmq.h's contract: it points to a size_t.
        let len = unsafe { *optvallen };
        let mut buf = vec![0u8; len];
        let n = c.options.lock().get(option, &mut buf)?;
        if n > 0 {
            if optval.is_null() {
                return Err(libc::EFAULT);
            }
            // SAFETY: zmq.h's contract: `optval` points to `*optvallen` writable bytes, and
            // n <= that; `buf` is ours (no overlap).
            unsafe { ptr::copy_nonoverlapping(buf.as_ptr(), optval.cast::<u8>(), n) };
        }
        Ok(0)
    })
}

/// `zmq_poll` with the calling thread's signal mask set to `*sigmask` while it waits (NULL:
/// left as it is), atomically, as ppoll(2): a signal blocked elsewhere but let through by the
/// mask interrupts the wait with `EINTR`, and none is lost between a check and the wait.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_ppoll(
    items: *mut zmq_pollitem_t,
    nitems: c_int,
    timeout: c_long,
    sigmask: *const libc::sigset_t,
) -> c_int {
    let mask = (!sigmask.is_null()).then_some(sigmask);
    // SAFETY: zmq.h's contract: `items` points to `nitems` items, `sigmask` is NULL or points
    // to a sigset_t.
    unsafe { crate::poll::poll_c(items, nitems, timeout, mask) }
}
