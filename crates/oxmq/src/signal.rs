//! `Signal`: the one wake-up mechanism, shared by blocking threads and async tasks.
//!
//! A signal is a sequence number. A waiter reads it (`seq`), checks its condition (a pipe has a
//! message, a pipe has room, a command arrived), and if not met waits until the number moves.
//! Because the number is read *before* the condition is checked, a notification that lands in
//! between is never lost. Notifiers call [`Signal::notify`] only on state transitions (a queue
//! going from empty to non-empty, from full to below its low-water mark), never per message,
//! and `notify` costs one atomic add when nobody is waiting.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering::SeqCst};
use std::task::{Context, Poll, Waker};
use std::time::Instant;

use parking_lot::{Condvar, Mutex};

/// How many times a blocking waiter re-checks before sleeping (roughly a microsecond), or 0
/// if this process may use only one CPU.
fn spin_rounds() -> u32 {
    static ROUNDS: std::sync::OnceLock<u32> = std::sync::OnceLock::new();
    *ROUNDS.get_or_init(|| match std::thread::available_parallelism() {
        Ok(n) if n.get() > 1 => 200,
        _ => 0,
    })
}

#[derive(Default)]
pub(crate) struct Signal {
    seq: AtomicU64,
    /// Blocked threads plus stored wakers. Read without the lock by `notify` (the fast path);
    /// changed only under the lock.
    waiters: AtomicUsize,
    wakers: Mutex<Vec<Waker>>,
    cv: Condvar,
}

impl Signal {
    pub fn new() -> Signal {
        Signal::default()
    }

    /// The current sequence number: read it before checking the condition you wait for.
    pub fn seq(&self) -> u64 {
        self.seq.load(SeqCst)
    }

    /// Something changed: wake every waiter.
    pub fn notify(&self) {
        self.seq.fetch_add(1, SeqCst);
        // SeqCst on both sides (waiter: increment `waiters`, then read `seq`; notifier: bump
        // `seq`, then read `waiters`) means at least one of the two sees the other's write.
        if self.waiters.load(SeqCst) == 0 {
            return;
        }
        let wakers = {
            let mut guard = self.wakers.lock();
            let taken = std::mem::take(&mut *guard);
            self.waiters.fetch_sub(taken.len(), SeqCst);
            self.cv.notify_all();
            taken
        };
        for w in wakers {
            w.wake();
        }
    }

    /// Block the thread until the sequence number differs from `seen`, or `deadline` passes.
    /// Returns false on timeout.
    pub fn wait(&self, seen: u64, deadline: Option<Instant>) -> bool {
        // A peer thread that is mid-batch usually signals within a microsecond or two: spin
        // that long before paying for a futex sleep and wake-up. Only when the peer can run
        // meanwhile: on a single CPU (e.g. pinned with taskset) spinning just delays it.
        for _ in 0..spin_rounds() {
            if self.seq.load(SeqCst) != seen {
                return true;
            }
            std::hint::spin_loop();
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

    /// A future that completes once the sequence number differs from `seen`.
    pub fn changed(&self, seen: u64) -> Changed<'_> {
        Changed { signal: self, seen }
    }

    /// Poll form of [`Signal::changed`].
    pub fn poll_changed(&self, cx: &mut Context<'_>, seen: u64) -> Poll<()> {
        if self.register(cx.waker(), seen) { Poll::Pending } else { Poll::Ready(()) }
    }

    /// Store `waker` to be woken by the next [`notify`](Signal::notify), and return true, if the
    /// sequence number is still `seen`; return false if it has moved (the waker may then have
    /// been stored anyway: [`unregister`](Signal::unregister) it, or let one spurious wake pass).
    ///
    /// A waker that [`will_wake`](Waker::will_wake) the same task as one already stored is not
    /// stored twice, so one task or thread re-registering in a loop does not pile up wakers. This
    /// is how one waiter waits on several signals at once (the poller): register the same waker
    /// on each, then sleep until it is woken.
    pub fn register(&self, waker: &Waker, seen: u64) -> bool {
        if self.seq.load(SeqCst) != seen {
            return false;
        }
        {
            let mut guard = self.wakers.lock();
            if !guard.iter().any(|w| w.will_wake(waker)) {
                guard.push(waker.clone());
                self.waiters.fetch_add(1, SeqCst);
            }
        }
        // Read again after the waker is visible to `notify` (see the ordering note there).
        self.seq.load(SeqCst) == seen
    }

    /// Forget a waker stored by [`register`](Signal::register), if no `notify` took it yet: a
    /// waiter that stops waiting on this signal (its wait ended through another one) leaves
    /// nothing behind.
    pub fn unregister(&self, waker: &Waker) {
        if self.waiters.load(SeqCst) == 0 {
            return;
        }
        let mut guard = self.wakers.lock();
        let before = guard.len();
        guard.retain(|w| !w.will_wake(waker));
        let removed = before - guard.len();
        if removed > 0 {
            self.waiters.fetch_sub(removed, SeqCst);
        }
    }
}

pub(crate) struct Changed<'a> {
    signal: &'a Signal,
    seen: u64,
}

impl Future for Changed<'_> {
    type Output = ();
    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        self.signal.poll_changed(cx, self.seen)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;
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

    struct Flag(std::sync::atomic::AtomicUsize);
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
        assert!(a.register(&waker, sa));
        assert!(a.register(&waker, sa), "registering again is fine");
        assert!(b.register(&waker, sb));
        assert_eq!(a.wakers.lock().len(), 1, "the same waker is stored once");
        b.notify();
        assert_eq!(flag.0.load(SeqCst), 1);
        a.unregister(&waker);
        assert_eq!(a.waiters.load(SeqCst), 0);
        assert!(a.wakers.lock().is_empty());
        a.notify();
        assert_eq!(flag.0.load(SeqCst), 1, "an unregistered waker is not woken");
        assert!(!b.register(&waker, sb), "b moved past the seq we saw");
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
