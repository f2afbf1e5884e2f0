//! Waiting on many sockets and file descriptors at once: [`poll`] (libzmq's `zmq_poll`) for
//! threads, [`poll_async`] for async code.
//!
//! How a wait works, with no busy loop and no missed wake-up: for each socket, read its
//! signal's sequence number, *then* ask the socket whether it is ready
//! ([`SocketBase::events`]). If nothing is ready, register one waker on every socket's signal,
//! unless a sequence number has moved since it was read (then check again at once), and sleep
//! until that waker is woken or the timeout passes. A change between the read and the
//! registration moves the number; a change after the registration wakes the waker; the
//! readiness answers themselves are exact (see [`SocketBase::events`]), and every "not ready"
//! is a state whose end wakes the socket's signal. With sockets only, the waker unparks the
//! polling thread. With file descriptors, it writes to an eventfd (a pipe off Linux) that
//! poll(2) watches along with them. The waker and its eventfd belong to the polling thread and
//! are reused by every call it makes; a wait leaves no waker behind on a signal.

use std::cell::OnceCell;
use std::fmt;
use std::future::Future;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering::SeqCst};
use std::task::{Context, Poll, Wake, Waker};
use std::thread::Thread;
use std::time::{Duration, Instant};

use rustix::event::{PollFd, PollFlags, Timespec};

use crate::error::{Error, Result};
use crate::signal::WakerKey;
use crate::socket::SocketBase;
use crate::wake_fd::WakeFd;

pub(crate) mod events;
mod poller;
pub use events::PollEvents;
pub use poller::Poller;

#[derive(Clone, Copy)]
enum Target<'a> {
    Socket(&'a SocketBase),
    Fd(BorrowedFd<'a>),
}

/// One thing to [`poll`]: a socket or a file descriptor, the events asked for, and (after the
/// poll) the events that occurred.
///
/// Items are cheap and may be kept and polled again and again (a broker loop); each poll
/// clears [`revents`](Self::revents) first.
#[derive(Clone)]
pub struct PollItem<'a> {
    target: Target<'a>,
    events: PollEvents,
    revents: PollEvents,
    /// The socket signal's sequence number read before its readiness was last checked.
    seen: u64,
    /// This item's waker registration on the socket's signal, while waiting.
    key: Option<WakerKey>,
}

impl<'a> PollItem<'a> {
    /// Poll a socket (any typed socket dereferences to [`SocketBase`]) for `events`
    /// ([`PollEvents::IN`] and/or [`PollEvents::OUT`]).
    pub fn socket(socket: &'a SocketBase, events: PollEvents) -> PollItem<'a> {
        PollItem { target: Target::Socket(socket), events, revents: PollEvents::empty(), seen: 0, key: None }
    }

    /// Poll a file descriptor (a socket, pipe, eventfd, ...) for `events`, level-triggered as
    /// poll(2). Borrow one with `AsFd::as_fd`, or, for a raw descriptor you know stays open
    /// during the poll, `BorrowedFd::borrow_raw`.
    pub fn fd(fd: BorrowedFd<'a>, events: PollEvents) -> PollItem<'a> {
        PollItem { target: Target::Fd(fd), events, revents: PollEvents::empty(), seen: 0, key: None }
    }

    /// The events asked for.
    pub fn events(&self) -> PollEvents {
        self.events
    }

    /// Change the events asked for (by the next poll).
    pub fn set_events(&mut self, events: PollEvents) {
        self.events = events;
    }

    /// The events that occurred, as found by the last poll.
    pub fn revents(&self) -> PollEvents {
        self.revents
    }

    /// Did the last poll find the item readable?
    pub fn is_readable(&self) -> bool {
        self.revents.contains(PollEvents::IN)
    }

    /// Did the last poll find the item writable?
    pub fn is_writable(&self) -> bool {
        self.revents.contains(PollEvents::OUT)
    }
}

impl fmt::Debug for PollItem<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let mut d = f.debug_struct("PollItem");
        match self.target {
            Target::Socket(s) => d.field("socket", &s.socket_type()),
            Target::Fd(fd) => d.field("fd", &fd),
        };
        d.field("events", &self.events).field("revents", &self.revents).finish()
    }
}

/// Wait until at least one item is ready, or `timeout` passes; returns how many items are
/// ready (have a non-empty [`revents`](PollItem::revents)), 0 on timeout. As `zmq_poll`.
///
/// `timeout` `None` waits as long as it takes; `Some(Duration::ZERO)` only checks. Readiness is
/// level-triggered: an item stays ready until its message is received (or room is used up), so
/// a loop that handles what is ready and polls again never misses anything, and a poll that
/// waits uses no CPU until something happens.
///
/// Errors: [`Error::ContextTerminated`] if a socket's context was terminated (close the
/// sockets), an I/O error from poll(2), [`Error::InvalidArgument`] for no items and no timeout
/// (a wait that could never end).
///
/// ```
/// use std::time::Duration;
/// use oxmq::{Context, PollEvents, PollItem, Pull, Push};
/// let ctx = Context::new();
/// let (a, b) = (Pull::new(&ctx)?, Pull::new(&ctx)?);
/// a.bind("inproc://poll-doc-a")?;
/// b.bind("inproc://poll-doc-b")?;
/// let push = Push::new(&ctx)?;
/// push.connect("inproc://poll-doc-b")?;
/// push.send("hi")?;
/// let mut items = [PollItem::socket(&a, PollEvents::IN), PollItem::socket(&b, PollEvents::IN)];
/// assert_eq!(oxmq::poll(&mut items, Some(Duration::from_secs(5)))?, 1);
/// assert!(!items[0].is_readable() && items[1].is_readable());
/// assert_eq!(b.recv()?, "hi");
/// # Ok::<(), oxmq::Error>(())
/// ```
pub fn poll(items: &mut [PollItem<'_>], timeout: Option<Duration>) -> Result<usize> {
    poll_as(items, timeout, false)
}

/// [`poll`] for callers that take signals as C programs do: a signal handler that runs while
/// it waits makes it return [`Error::Io`] with the OS error `EINTR` (as `zmq_poll`), so that
/// the caller can react to the signal, where [`poll`] goes on waiting. It always waits in
/// poll(2), which a handler interrupts, rather than parking the thread.
pub fn poll_interruptible(items: &mut [PollItem<'_>], timeout: Option<Duration>) -> Result<usize> {
    poll_as(items, timeout, true)
}

fn poll_as(items: &mut [PollItem<'_>], timeout: Option<Duration>, interruptible: bool) -> Result<usize> {
    let deadline = timeout.and_then(|t| Instant::now().checked_add(t));
    if items.is_empty() {
        return match timeout {
            Some(t) if interruptible => {
                let t = Timespec::try_from(t).ok();
                match rustix::event::poll(&mut [], t.as_ref()) {
                    Ok(_) => Ok(0),
                    Err(e) => Err(Error::Io(e.into())),
                }
            }
            Some(t) => {
                std::thread::sleep(t);
                Ok(0)
            }
            None => Err(Error::InvalidArgument("poll with no items and no timeout would never return".into())),
        };
    }
    let with_fds = interruptible || items.iter().any(|it| matches!(it.target, Target::Fd(_)));
    WAITER.with(|w| {
        loop {
            let ready = check_sockets(items)?;
            let ready = if with_fds {
                let wait = if ready > 0 { Some(Duration::ZERO) } else { remaining(deadline) };
                ready + w.poll_fds(items, wait, interruptible)?
            } else {
                if ready == 0 && remaining(deadline) != Some(Duration::ZERO) {
                    w.park(items, deadline);
                    continue;
                }
                ready
            };
            if ready > 0 || remaining(deadline) == Some(Duration::ZERO) {
                return Ok(ready);
            }
        }
    })
}

/// Async [`poll`] for sockets: completes once at least one item is ready, with how many are.
///
/// Works under any executor. There is no timeout: wrap the call in your runtime's (e.g.
/// `tokio::time::timeout`). Cancel-safe: it takes no message, so dropping it loses nothing,
/// and it leaves no waker behind. File descriptors are not accepted
/// ([`Error::InvalidArgument`]): in async code wait for them with the runtime (tokio's
/// `AsyncFd`), for instance in a `select!` beside this.
pub async fn poll_async(items: &mut [PollItem<'_>]) -> Result<usize> {
    if items.is_empty() {
        return Err(Error::InvalidArgument("poll_async needs at least one socket to wait for".into()));
    }
    if items.iter().any(|it| matches!(it.target, Target::Fd(_))) {
        return Err(Error::InvalidArgument(
            "poll_async takes sockets only; wait for file descriptors with your runtime (e.g. tokio's AsyncFd)".into(),
        ));
    }
    PollAsync { items }.await
}

/// How long is left until `deadline`: `None` for no deadline, zero once it has passed.
fn remaining(deadline: Option<Instant>) -> Option<Duration> {
    deadline.map(|d| d.saturating_duration_since(Instant::now()))
}

/// For each socket item: read its signal's sequence number, then its readiness into `revents`.
/// Returns how many socket items are ready; file-descriptor items get an empty `revents`.
fn check_sockets(items: &mut [PollItem<'_>]) -> Result<usize> {
    let mut ready = 0;
    for it in items.iter_mut() {
        it.revents = PollEvents::empty();
        if let Target::Socket(s) = it.target {
            it.seen = s.signal().seq();
            it.revents = s.events()? & it.events;
            ready += usize::from(!it.revents.is_empty());
        }
    }
    Ok(ready)
}

/// Register `waker` on the signal of every socket item that asks for something; false (stop)
/// if a signal moved since [`check_sockets`] read it.
fn register_all(items: &mut [PollItem<'_>], waker: &Waker) -> bool {
    items.iter_mut().all(|it| match it.target {
        Target::Socket(s) if !it.events.is_empty() => s.signal().register(waker, it.seen, &mut it.key),
        _ => true,
    })
}

fn unregister_all(items: &mut [PollItem<'_>]) {
    for it in items {
        if let Target::Socket(s) = it.target {
            s.signal().unregister(&mut it.key);
        }
    }
}

/// Wakes a thread parked in [`Waiter::park`].
struct Unpark {
    thread: Thread,
    woken: AtomicBool,
}

impl Wake for Unpark {
    fn wake(self: Arc<Self>) {
        self.wake_by_ref();
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.woken.store(true, SeqCst);
        self.thread.unpark();
    }
}

/// What one thread waits with, made once per thread and reused by each of its polls.
struct Waiter {
    unpark: Arc<Unpark>,
    unpark_waker: Waker,
    fd: OnceCell<(Arc<WakeFd>, Waker)>,
}

thread_local! {
    static WAITER: Waiter = Waiter::new();
}

impl Waiter {
    fn new() -> Waiter {
        let unpark = Arc::new(Unpark { thread: std::thread::current(), woken: AtomicBool::new(false) });
        Waiter { unpark_waker: Waker::from(unpark.clone()), unpark, fd: OnceCell::new() }
    }

    /// Sockets only: sleep until a socket's signal moves past what [`check_sockets`] read, or
    /// `deadline`.
    fn park(&self, items: &mut [PollItem<'_>], deadline: Option<Instant>) {
        // A wake left over from an earlier wait costs at most one needless check.
        self.unpark.woken.store(false, SeqCst);
        if register_all(items, &self.unpark_waker) {
            // park() may return spuriously; only the flag says a signal moved.
            while !self.unpark.woken.load(SeqCst) {
                match remaining(deadline) {
                    None => std::thread::park(),
                    Some(Duration::ZERO) => break,
                    Some(left) => std::thread::park_timeout(left),
                }
            }
        }
        unregister_all(items);
    }

    /// Poll(2) the file-descriptor items, waiting up to `wait` (`None`: no limit) and, while
    /// waiting, also for any socket item's signal. Sets the fd items' `revents`; returns how
    /// many are ready.
    /// poll(2) the descriptor items, and while waiting (`wait` not zero) the thread's eventfd,
    /// which the sockets' signals write. A signal handler running meanwhile makes the caller
    /// check everything again, or with `interruptible` fails with `EINTR`.
    fn poll_fds(&self, items: &mut [PollItem<'_>], wait: Option<Duration>, interruptible: bool) -> Result<usize> {
        let (wake, waker) = match self.fd.get() {
            Some(fd) => fd,
            None => {
                let wake = Arc::new(WakeFd::new()?);
                let _ = self.fd.set((wake.clone(), Waker::from(wake)));
                self.fd.get().expect("just set")
            }
        };
        let block = wait != Some(Duration::ZERO);
        // A socket that changed since it was checked: only check the descriptors.
        let wait = if block && !register_all(items, waker) { Some(Duration::ZERO) } else { wait };
        let mut fds: Vec<PollFd<'_>> = items
            .iter()
            .filter_map(|it| match it.target {
                Target::Fd(fd) => Some(PollFd::from_borrowed_fd(fd, poll_flags(it.events))),
                Target::Socket(_) => None,
            })
            .collect();
        if block {
            fds.push(PollFd::from_borrowed_fd(wake.as_fd(), PollFlags::IN));
        }
        // A wait too long for a timespec is no limit.
        let timeout = wait.and_then(|w| Timespec::try_from(w).ok());
        let r = loop {
            match rustix::event::poll(&mut fds, timeout.as_ref()) {
                // Only checking: check again. Waiting: let the caller recheck everything.
                Err(rustix::io::Errno::INTR) if !block => continue,
                Err(rustix::io::Errno::INTR) if !interruptible => {
                    fds.iter_mut().for_each(PollFd::clear_revents);
                    break Ok(());
                }
                r => break r.map(drop),
            }
        };
        if block {
            unregister_all(items);
            if fds.pop().is_some_and(|w| !w.revents().is_empty()) {
                wake.drain();
            }
        }
        r.map_err(|e| Error::Io(e.into()))?;
        let mut ready = 0;
        for (it, fd) in items.iter_mut().filter(|it| matches!(it.target, Target::Fd(_))).zip(&fds) {
            it.revents = poll_events(fd.revents(), it.events);
            ready += usize::from(!it.revents.is_empty());
        }
        Ok(ready)
    }
}

fn poll_flags(events: PollEvents) -> PollFlags {
    let mut f = PollFlags::empty();
    if events.contains(PollEvents::IN) {
        f |= PollFlags::IN;
    }
    if events.contains(PollEvents::OUT) {
        f |= PollFlags::OUT;
    }
    f
}

/// poll(2)'s answer as zmq_poll reports it: POLLIN and POLLOUT as asked, anything else
/// (POLLERR, POLLHUP, POLLNVAL) as [`PollEvents::ERR`].
fn poll_events(r: PollFlags, asked: PollEvents) -> PollEvents {
    let mut e = PollEvents::empty();
    if r.contains(PollFlags::IN) {
        e |= PollEvents::IN;
    }
    if r.contains(PollFlags::OUT) {
        e |= PollEvents::OUT;
    }
    e = e & asked;
    if !r.difference(PollFlags::IN | PollFlags::OUT).is_empty() {
        e |= PollEvents::ERR;
    }
    e
}

/// The future behind [`poll_async`]: checks, and when nothing is ready registers the task's
/// waker on every socket's signal; dropping it withdraws the waker.
struct PollAsync<'i, 'a> {
    items: &'i mut [PollItem<'a>],
}

impl Future for PollAsync<'_, '_> {
    type Output = Result<usize>;

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<usize>> {
        let this = &mut *self;
        loop {
            let ready = check_sockets(this.items)?;
            if ready > 0 {
                unregister_all(this.items);
                return Poll::Ready(Ok(ready));
            }
            if register_all(this.items, cx.waker()) {
                return Poll::Pending;
            }
        }
    }
}

impl Drop for PollAsync<'_, '_> {
    fn drop(&mut self) {
        unregister_all(self.items);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn poll_events_bits_and_debug() {
        let e = PollEvents::IN | PollEvents::OUT;
        assert_eq!(e.bits(), 3);
        assert!(e.contains(PollEvents::IN) && !e.contains(PollEvents::ERR));
        assert_eq!(PollEvents::from_bits_truncate(0x7f), PollEvents::IN | PollEvents::OUT | PollEvents::ERR);
        assert_eq!(format!("{e:?}"), "PollEvents(IN | OUT)");
        assert_eq!(format!("{:?}", PollEvents::empty()), "PollEvents(empty)");
    }

    #[test]
    fn fd_errors_are_reported_even_if_not_asked_for() {
        assert_eq!(poll_events(PollFlags::IN | PollFlags::HUP, PollEvents::IN), PollEvents::IN | PollEvents::ERR);
        assert_eq!(poll_events(PollFlags::OUT, PollEvents::IN), PollEvents::empty());
        assert_eq!(poll_events(PollFlags::NVAL, PollEvents::empty()), PollEvents::ERR);
    }
}
