//! `Signal`: the one wake-up mechanism, shared by blocking threads and async tasks.
//!
//! A signal is a sequence number. A waiter reads it (`seq`), checks its condition (a pipe has a
//! message, a pipe has room, a command arrived), and if not met waits until the number moves.
//! Because the number is read *before* the condition is checked, a notification that lands in
//! between is never lost. Notifiers call [`Signal::notify`] only on state transitions (a queue
//! going from empty to non-empty, from full to below its low-water mark), never per message,
//! and `notify` costs one atomic add when nobody is waiting.
//!
//! A socket's signal can also have a readiness descriptor ([`Signal::readiness_fd`], the
//! socket's ZMQ_FD) for event loops that wait with poll(2)/epoll rather than on the signal.
//! It is edge-triggered the way libzmq's is, and the rule is:
//!
//! - **readable** from the first `notify` after the last drain (a `notify` made while it is
//!   readable changes nothing), and when it is created (changes made before it existed are
//!   not lost to an application that waits on it before looking);
//! - **cleared** only by [`Signal::drain_fd`], which the socket calls at the start of every
//!   readiness check (ZMQ_EVENTS, [`poll`](crate::poll())) and every send or receive
//!   attempt, before it looks at its state.
//!
//! Since the drain comes before the look, a change that lands after the look makes the
//! descriptor readable again: an application that found "nothing" in ZMQ_EVENTS and then waits
//! on the descriptor is woken (the loom model `fd_wake_between_events_and_wait_is_not_lost`).
//! Since only a `notify` makes it readable, and every `notify` is a state change (a message
//! for an idle reader, room for a refused writer, a command posted), it does not stay readable
//! when nothing happens. What it does not do is stay readable while messages are queued: a
//! receive drains it, so after each send or receive, and after each wake-up, the application
//! reads ZMQ_EVENTS and handles what it says until it says nothing, as with libzmq.

use std::future::Future;
use std::os::fd::{AsFd, BorrowedFd};
use std::pin::Pin;
use std::sync::OnceLock;
use std::sync::atomic::Ordering::SeqCst;
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use crate::sync::{AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex};
use crate::wake_fd::WakeFd;

/// How many times a blocking waiter re-checks before sleeping (roughly a microsecond), or 0
/// if this process may use only one CPU (it yields instead: [`Signal::spin`]).
#[cfg(not(oxmq_loom))]
fn spin_rounds() -> u32 {
    static ROUNDS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *ROUNDS.get_or_init(|| match std::thread::available_parallelism() {
        Ok(n) if n.get() > 1 => 200,
        _ => 0,
    })
}

/// On a single CPU, yield it once and return true (for a waiter about to sleep: the thread
/// it waits for may be runnable, preempted by this one, and about to answer); else false at
/// once.
pub(crate) fn yield_if_one_cpu() -> bool {
    if spin_rounds() == 0 {
        std::thread::yield_now();
        true
    } else {
        false
    }
}

/// Under loom, one round: the models still take the path where the spin sees the change, and
/// an unbounded spin would only multiply the interleavings loom has to explore.
#[cfg(oxmq_loom)]
fn spin_rounds() -> u32 {
    1
}

#[derive(Default)]
pub(crate) struct Signal {
    seq: AtomicU64,
    /// Blocked threads plus stored wakers. Read without the lock by `notify` (the fast path);
    /// changed only under the lock.
    waiters: AtomicUsize,
    wakers: Mutex<Vec<(WakerKey, Waker)>>,
    cv: Condvar,
    /// The readiness descriptor, once someone asked for it (see the module's doc).
    fd: OnceLock<ReadinessFd>,
}

/// A socket's readiness descriptor (ZMQ_FD): made readable by the signal's `notify`, cleared
/// by [`Signal::drain_fd`]. The rule is in the module's doc.
struct ReadinessFd {
    fd: WakeFd,
    /// Whether `fd` has been written and not drained since. Changed only under `lock`, with
    /// the write or the read that goes with it, so the two always agree outside it; read
    /// without the lock by the drain's fast path.
    readable: AtomicBool,
    lock: Mutex<()>,
}

impl ReadinessFd {
    fn new() -> std::io::Result<ReadinessFd> {
        let fd = WakeFd::new()?;
        // Readable from the start: see the module's doc.
        fd.wake();
        Ok(ReadinessFd { fd, readable: AtomicBool::new(true), lock: Mutex::new(()) })
    }

    fn set_readable(&self) {
        let _guard = self.lock.lock();
        if !self.readable.load(SeqCst) {
            // The flag first: a drain that finds it unset returns at once, so the descriptor
            // must never be readable while it is unset (the drain would leave it so, and an
            // event loop would spin until this thread got to the flag). A drain that finds it
            // set waits for the lock, and so for this write, and reads it back.
            self.readable.store(true, SeqCst);
            self.fd.wake();
        }
    }

    fn drain(&self) {
        // Not readable, and nothing written: nothing to clear. A `set_readable` under way that
        // this misses writes after this returns, so the descriptor ends up readable, as it
        // must (the look that follows this drain may miss its change).
        if !self.readable.load(SeqCst) {
            return;
        }
        let _guard = self.lock.lock();
        if self.readable.load(SeqCst) {
            self.fd.drain();
            self.readable.store(false, SeqCst);
        }
    }
}

/// One registration of a waker with [`Signal::register`], so that exactly it can be
/// withdrawn: a task may wait on one signal through several futures at once (say a receive
/// and a poll on the same socket), and withdrawing one must not withdraw the others.
pub(crate) type WakerKey = u64;

/// A std atomic even under loom (see `crate::sync`): it only hands out distinct keys.
static NEXT_KEY: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(1);

impl Signal {
    pub fn new() -> Signal {
        Signal::default()
    }

    /// The current sequence number: read it before checking the condition you wait for.
    pub fn seq(&self) -> u64 {
        self.seq.load(SeqCst)
    }

    /// Something changed: wake every waiter, and make the readiness descriptor (if any)
    /// readable.
    pub fn notify(&self) {
        self.seq.fetch_add(1, SeqCst);
        // SeqCst on both sides (waiter: increment `waiters`, then read `seq`; notifier: bump
        // `seq`, then read `waiters`) means at least one of the two sees the other's write.
        if self.waiters.load(SeqCst) != 0 {
            self.wake_waiters();
        }
        // One atomic load for a signal nobody asked a descriptor of.
        if let Some(fd) = self.fd.get() {
            fd.set_readable();
        }
    }

    /// The socket's readiness descriptor (made on the first call): readable once the signal
    /// has been notified since the last [`drain_fd`](Self::drain_fd), and when new. See the
    /// module's doc for the rule.
    pub fn readiness_fd(&self) -> std::io::Result<BorrowedFd<'_>> {
        if let Some(fd) = self.fd.get() {
            return Ok(fd.fd.as_fd());
        }
        // Two first calls at once: one descriptor is kept, the other closed; both were made
        // readable, so either is fine.
        let _ = self.fd.set(ReadinessFd::new()?);
        Ok(self.fd.get().expect("just set").fd.as_fd())
    }

    /// Clear the readiness descriptor, if there is one (one atomic load otherwise, and when it
    /// is not readable). Call it *before* looking at the state the descriptor reports on.
    #[inline]
    pub fn drain_fd(&self) {
        if let Some(fd) = self.fd.get() {
            fd.drain();
        }
    }

    fn wake_waiters(&self) {
        let wakers = {
            let mut guard = self.wakers.lock();
            let taken = std::mem::take(&mut *guard);
            self.waiters.fetch_sub(taken.len(), SeqCst);
            self.cv.notify_all();
            taken
        };
        for (_, w) in wakers {
            w.wake();
        }
    }

    /// Has the sequence number moved from `seen` within about a microsecond of spinning (or,
    /// on one CPU, once this thread has yielded it)?
    ///
    /// A peer thread that is mid-batch usually signals within a microsecond or two: a waiter
    /// spins that long before paying for a sleep and a wake-up (and its waker for the write
    /// that wakes it: nobody is registered yet). On a single CPU (e.g. pinned with taskset)
    /// spinning would only delay the peer; instead the waiter yields the CPU once, for the
    /// peer that its own wake-up often just preempted: it runs on, and what it sends back
    /// needs no sleep and no wake-up (`inproc_lat` on core 0: BENCHMARKS.md, the fifth
    /// session of 2026-12-06). When nobody else is runnable the yield returns at once.
    pub fn spin(&self, seen: u64) -> bool {
        if self.seq.load(SeqCst) != seen {
            return true;
        }
        if yield_if_one_cpu() {
            return self.seq.load(SeqCst) != seen;
        }
        for _ in 0..spin_rounds() {
            if self.seq.load(SeqCst) != seen {
                return true;
            }
            std::hint::spin_loop();
        }
        false
    }

    /// Block the thread until the sequence number differs from `seen`, or `deadline` passes.
    /// Returns false on timeout.
    pub fn wait(&self, seen: u64, deadline: Option<Instant>) -> bool {
        if self.spin(seen) {
            return true;
        }
        let mut guard = self.wakers.lock();
        self.waiters.fetch_add(1, SeqCst);
        let mut changed = true;
        while self.seq.load(SeqCst) == seen {
            match deadline {
                Some(d) => {
                    if self.cv.wait_until(&mut guard, d).timed_out() {
                        changed = self.seq.load(SeqCst) != seen;
                        break;
                    }
                }
                None => self.cv.wait(&mut guard),
            }
        }
        self.waiters.fetch_sub(1, SeqCst);
        changed
    }

    /// A future that completes once the sequence number differs from `seen`. Dropping it
    /// before then withdraws its waker.
    pub fn changed(&self, seen: u64) -> Changed<'_> {
        Changed { signal: self, seen, key: None }
    }

    /// Store `waker` to be woken by the next [`notify`](Signal::notify), and return true, if the
    /// sequence number is still `seen`; return false if it has moved (the waker may then have
    /// been stored anyway: [`unregister`](Signal::unregister) it, or let one spurious wake pass).
    ///
    /// `key` names the registration: the first call stores the waker and sets it; later calls
    /// with the same key replace that waker (if it changed) instead of adding one, so one
    /// waiter re-registering in a loop does not pile up wakers. This is also how one waiter
    /// waits on several signals at once (the poller): register on each, with a key for each.
    pub fn register(&self, waker: &Waker, seen: u64, key: &mut Option<WakerKey>) -> bool {
        if self.seq.load(SeqCst) != seen {
            return false;
        }
        {
            let mut guard = self.wakers.lock();
            match key.and_then(|k| guard.iter_mut().find(|(kk, _)| *kk == k)) {
                Some((_, w)) => {
                    if !w.will_wake(waker) {
                        *w = waker.clone();
                    }
                }
                // New, or taken by a notify since.
                None => {
                    let k = NEXT_KEY.fetch_add(1, SeqCst);
                    guard.push((k, waker.clone()));
                    self.waiters.fetch_add(1, SeqCst);
                    *key = Some(k);
                }
            }
        }
        // Read again after the waker is visible to `notify` (see the ordering note there).
        self.seq.load(SeqCst) == seen
    }

    /// Withdraw the registration `key` (if a `notify` did not take it already), and clear it.
    pub fn unregister(&self, key: &mut Option<WakerKey>) {
        let Some(k) = key.take() else { return };
        if self.waiters.load(SeqCst) == 0 {
            return;
        }
        let mut guard = self.wakers.lock();
        if let Some(i) = guard.iter().position(|(kk, _)| *kk == k) {
            guard.swap_remove(i);
            self.waiters.fetch_sub(1, SeqCst);
        }
    }
}

/// For the tests and loom models: is the readiness descriptor (which must exist) readable
/// now? (poll(2) with a zero timeout, which changes nothing.)
#[cfg(test)]
impl Signal {
    pub fn fd_is_readable(&self) -> bool {
        self.fd.get().expect("readiness_fd was called").fd.is_readable()
    }

    /// The invariant that keeps an event loop from spinning: whenever the descriptor is
    /// readable, the next drain clears it (its flag says so). Check it from the only thread
    /// that drains (between its drains, nothing clears the flag).
    pub fn fd_readable_implies_flag(&self) -> bool {
        let fd = self.fd.get().expect("readiness_fd was called");
        !fd.fd.is_readable() || fd.readable.load(SeqCst)
    }
}

/// For the loom models' "nothing left behind" checks.
#[cfg(all(test, oxmq_loom))]
impl Signal {
    pub fn waiter_count(&self) -> usize {
        self.waiters.load(SeqCst)
    }

    pub fn stored_wakers(&self) -> usize {
        self.wakers.lock().len()
    }
}

pub(crate) struct Changed<'a> {
    signal: &'a Signal,
    seen: u64,
    key: Option<WakerKey>,
}

impl Future for Changed<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let this = self.get_mut();
        if this.signal.register(cx.waker(), this.seen, &mut this.key) { Poll::Pending } else { Poll::Ready(()) }
    }
}

impl Drop for Changed<'_> {
    fn drop(&mut self) {
        self.signal.unregister(&mut self.key);
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    // std's, not `crate::sync`'s: these flags are test scaffolding, not code under test.
    use std::sync::Arc;
    use std::sync::atomic::AtomicUsize;
    use std::time::Duration;

    #[test]
    fn wait_returns_when_notified_from_another_thread() {
        let s = Arc::new(Signal::new());
        let seen = s.seq();
        let s2 = s.clone();
        let t = std::thread::spawn(move || s2.notify());
        assert!(s.wait(seen, Some(Instant::now() + Duration::from_secs(10))));
        t.join().unwrap();
    }

    #[test]
    fn wait_times_out_without_notification() {
        let s = Signal::new();
        let seen = s.seq();
        assert!(!s.wait(seen, Some(Instant::now() + Duration::from_millis(20))));
    }

    #[test]
    fn notification_before_wait_is_not_lost() {
        let s = Signal::new();
        let seen = s.seq();
        s.notify();
        assert!(s.wait(seen, Some(Instant::now())));
    }

    struct Flag(AtomicUsize);
    impl std::task::Wake for Flag {
        fn wake(self: Arc<Self>) {
            self.0.fetch_add(1, SeqCst);
        }
    }

    #[test]
    fn one_waker_registered_on_several_signals_is_woken_by_any_and_can_be_withdrawn() {
        let (a, b) = (Signal::new(), Signal::new());
        let flag = Arc::new(Flag(AtomicUsize::new(0)));
        let waker = Waker::from(flag.clone());
        let (sa, sb) = (a.seq(), b.seq());
        let (mut ka, mut kb) = (None, None);
        assert!(a.register(&waker, sa, &mut ka));
        assert!(a.register(&waker, sa, &mut ka), "registering again is fine");
        assert!(b.register(&waker, sb, &mut kb));
        assert_eq!(a.wakers.lock().len(), 1, "the same registration is stored once");
        b.notify();
        assert_eq!(flag.0.load(SeqCst), 1);
        a.unregister(&mut ka);
        assert_eq!(a.waiters.load(SeqCst), 0);
        assert!(a.wakers.lock().is_empty());
        a.notify();
        assert_eq!(flag.0.load(SeqCst), 1, "an unregistered waker is not woken");
        assert!(!b.register(&waker, sb, &mut kb), "b moved past the seq we saw");
    }

    #[test]
    fn withdrawing_one_registration_keeps_another_of_the_same_task() {
        // One task waiting through two futures on one signal (a receive and a poll of the same
        // socket, say): dropping one must leave the other able to wake the task.
        let s = Signal::new();
        let flag = Arc::new(Flag(AtomicUsize::new(0)));
        let waker = Waker::from(flag.clone());
        let mut cx = Context::from_waker(&waker);
        let seen = s.seq();
        let mut first = Box::pin(s.changed(seen));
        let mut second = Box::pin(s.changed(seen));
        assert!(first.as_mut().poll(&mut cx).is_pending());
        assert!(second.as_mut().poll(&mut cx).is_pending());
        drop(first);
        s.notify();
        assert_eq!(flag.0.load(SeqCst), 1, "the remaining future's waker was woken");
        assert!(second.as_mut().poll(&mut cx).is_ready());
    }

    #[test]
    fn a_dropped_pending_future_leaves_no_waker_behind() {
        let s = Signal::new();
        let flag = Arc::new(Flag(AtomicUsize::new(0)));
        for _ in 0..100 {
            // A distinct task each time, as many tasks timing out on an idle socket would be.
            let waker = Waker::from(Arc::new(Flag(AtomicUsize::new(0))));
            let mut cx = Context::from_waker(&waker);
            let mut f = Box::pin(s.changed(s.seq()));
            assert!(f.as_mut().poll(&mut cx).is_pending());
        }
        assert!(s.wakers.lock().is_empty());
        assert_eq!(s.waiters.load(SeqCst), 0);
        drop(flag);
    }

    #[test]
    #[cfg_attr(miri, ignore = "Miri cannot call eventfd or ppoll (foreign functions)")]
    fn readiness_fd_is_readable_from_a_notify_until_the_next_drain() {
        let s = Signal::new();
        s.notify(); // before the descriptor exists: nothing to write to
        let fd = s.readiness_fd().unwrap();
        use std::os::fd::AsRawFd;
        let raw = fd.as_raw_fd();
        assert!(s.fd_is_readable(), "readable when made: changes before it are not lost");
        s.drain_fd();
        assert!(!s.fd_is_readable());
        s.drain_fd();
        assert!(!s.fd_is_readable(), "a drain with nothing to clear leaves it unreadable");
        s.notify();
        assert!(s.fd_is_readable());
        s.notify();
        assert!(s.fd_is_readable(), "a notify while readable keeps it readable");
        assert!(s.fd_readable_implies_flag());
        s.drain_fd();
        assert!(!s.fd_is_readable(), "one drain clears any number of notifies");
        assert_eq!(s.readiness_fd().unwrap().as_raw_fd(), raw, "made once");
        assert!(!s.fd_is_readable(), "asking again does not make it readable");
    }

    #[test]
    fn async_waiter_is_woken() {
        let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
        let s = Arc::new(Signal::new());
        let seen = s.seq();
        let s2 = s.clone();
        rt.block_on(async move {
            let t = std::thread::spawn(move || {
                std::thread::sleep(Duration::from_millis(5));
                s2.notify()
            });
            tokio::time::timeout(Duration::from_secs(10), s.changed(seen)).await.unwrap();
            t.join().unwrap();
        });
    }
}
