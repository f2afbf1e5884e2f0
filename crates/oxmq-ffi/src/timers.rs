//! libzmq's timers (`zmq_timers_*`): a set of repeating timers that the caller drives, from
//! its own loop, with `zmq_timers_timeout` (how long to wait, typically passed to `zmq_poll`)
//! and `zmq_timers_execute` (run the handlers that are due).
//!
//! A timer set's handle is registered like a socket's (`handles.rs`): a NULL, foreign or
//! destroyed handle is refused with `EFAULT`, as libzmq's tag check does, without being read.

use std::collections::BTreeMap;
use std::ffi::{c_int, c_long, c_void};
use std::ptr;
use std::sync::{Arc, LazyLock};
use std::time::{Duration, Instant};

use parking_lot::Mutex;

use crate::handles::Registry;
use crate::{R, guard};

/// A timer's handler: called with the timer's id and the argument given to `zmq_timers_add`.
pub type TimerFn = unsafe extern "C" fn(timer_id: c_int, arg: *mut c_void);

struct Timer {
    interval: Duration,
    when: Instant,
    handler: TimerFn,
    arg: *mut c_void,
}

/// A timer set.
pub(crate) struct Timers {
    inner: Mutex<Inner>,
}

struct Inner {
    next_id: c_int,
    timers: BTreeMap<c_int, Timer>,
}

// SAFETY: the handlers' arguments are the caller's, passed back to its handlers on whichever
// thread calls zmq_timers_execute, as with libzmq; everything else is behind the mutex.
unsafe impl Send for Timers {}
// SAFETY: as above.
unsafe impl Sync for Timers {}

static TIMERS: LazyLock<Registry<Timers>> = LazyLock::new(Registry::new);

fn lookup(timers: *mut c_void) -> R<Arc<Timers>> {
    TIMERS.get(timers).ok_or(libc::EFAULT)
}

#[unsafe(no_mangle)]
pub extern "C" fn zmq_timers_new() -> *mut c_void {
    guard(ptr::null_mut(), || {
        Ok(TIMERS.insert(Arc::new(Timers { inner: Mutex::new(Inner { next_id: 1, timers: BTreeMap::new() }) })))
    })
}

/// Destroy the set `*timers_p` and set `*timers_p` to NULL.
#[unsafe(no_mangle)]
pub unsafe extern "C" fn zmq_timers_destroy(timers_p: *mut *mut c_void) -> c_int {
    guard(-1, || {
        if timers_p.is_null() {
            return Err(libc::EFAULT);
        }
        // SAFETY: zmq.h's contract: `timers_p` points to a timer set handle.
        let handle = unsafe { *timers_p };
        TIMERS.remove(handle).ok_or(libc::EFAULT)?;
        // SAFETY: as above.
        unsafe { *timers_p = ptr::null_mut() };
        Ok(0)
    })
}

/// Add a timer that calls `handler(id, arg)` every `interval` ms; returns its id.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_timers_add(
    timers: *mut c_void,
    interval: usize,
    handler: Option<TimerFn>,
    arg: *mut c_void,
) -> c_int {
    guard(-1, || {
        let t = lookup(timers)?;
        let handler = handler.ok_or(libc::EFAULT)?;
        let interval = Duration::from_millis(interval as u64);
        let mut inner = t.inner.lock();
        let id = inner.next_id;
        inner.next_id = inner.next_id.checked_add(1).ok_or(libc::ENOMEM)?;
        inner.timers.insert(id, Timer { interval, when: Instant::now() + interval, handler, arg });
        Ok(id)
    })
}

#[unsafe(no_mangle)]
pub extern "C" fn zmq_timers_cancel(timers: *mut c_void, timer_id: c_int) -> c_int {
    guard(-1, || {
        lookup(timers)?.inner.lock().timers.remove(&timer_id).ok_or(libc::EINVAL)?;
        Ok(0)
    })
}

/// Change a timer's interval; it next fires `interval` ms from now.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_timers_set_interval(timers: *mut c_void, timer_id: c_int, interval: usize) -> c_int {
    guard(-1, || {
        let t = lookup(timers)?;
        let mut inner = t.inner.lock();
        let timer = inner.timers.get_mut(&timer_id).ok_or(libc::EINVAL)?;
        timer.interval = Duration::from_millis(interval as u64);
        timer.when = Instant::now() + timer.interval;
        Ok(0)
    })
}

/// Restart a timer: it next fires one interval from now.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_timers_reset(timers: *mut c_void, timer_id: c_int) -> c_int {
    guard(-1, || {
        let t = lookup(timers)?;
        let mut inner = t.inner.lock();
        let timer = inner.timers.get_mut(&timer_id).ok_or(libc::EINVAL)?;
        timer.when = Instant::now() + timer.interval;
        Ok(0)
    })
}

/// Milliseconds until the next timer is due (0 if one is due now), -1 if there is none.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_timers_timeout(timers: *mut c_void) -> c_long {
    guard(-1, || {
        let t = lookup(timers)?;
        let inner = t.inner.lock();
        let Some(next) = inner.timers.values().map(|t| t.when).min() else { return Ok(-1) };
        let left = next.saturating_duration_since(Instant::now());
        // Rounded up, so that a caller sleeping this long finds the timer due.
        Ok(c_long::try_from(left.as_micros().div_ceil(1000)).unwrap_or(c_long::MAX))
    })
}

/// Run the handler of every timer that is due, each once, and schedule it one interval from
/// now. Handlers may add, cancel and change timers of the same set.
#[unsafe(no_mangle)]
pub extern "C" fn zmq_timers_execute(timers: *mut c_void) -> c_int {
    guard(-1, || {
        let t = lookup(timers)?;
        let now = Instant::now();
        let due: Vec<(c_int, TimerFn, *mut c_void)> = {
            let mut inner = t.inner.lock();
            inner
                .timers
                .iter_mut()
                .filter(|(_, timer)| timer.when <= now)
                .map(|(&id, timer)| {
                    timer.when = now + timer.interval;
                    (id, timer.handler, timer.arg)
                })
                .collect()
        };
        // The lock is not held while handlers run: they may call back into this set.
        for (id, handler, arg) in due {
            // A handler run earlier in this call may have cancelled this timer.
            if !t.inner.lock().timers.contains_key(&id) {
                continue;
            }
            // SAFETY: the caller's handler with the caller's argument, as zmq_timers_add was
            // given them.
            unsafe { handler(id, arg) };
        }
        Ok(0)
    })
}
