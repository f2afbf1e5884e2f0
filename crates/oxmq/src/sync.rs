//! The synchronisation primitives of the wake-up code ([`crate::signal`], [`crate::pipe`]), one
//! name for two builds (and [`SpinMutex`], the lock every message passes under, below):
//! - normally parking_lot's `Mutex`/`Condvar` and std's atomics, re-exported as they are (no
//!   wrapper, no cost);
//! - under `--cfg oxmq_loom` (scripts/loom.sh), loom's, wrapped in the small part of
//!   parking_lot's API that the code uses, so that the loom models in `loom_models` run the
//!   real `Signal` and `Queue` under loom's scheduler rather than a copy of them.
//!
//! The cfg is `oxmq_loom`, not `loom`: tokio changes itself under `cfg(loom)` (it drops `net`),
//! and this crate would not build.
//!
//! Only what can race in those two modules goes through here. Statics that hand out ids
//! (`NEXT_KEY`, `NEXT_PIPE_ID`) stay std atomics: loom's cannot be `static`, and a counter
//! that only has to be unique is not what the models check. `Arc` stays std's: its count is
//! not under test either.

#[cfg(not(oxmq_loom))]
pub(crate) use parking_lot::{Condvar, Mutex};
#[cfg(not(oxmq_loom))]
pub(crate) use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, fence};

#[cfg(oxmq_loom)]
pub(crate) use self::model::{AtomicBool, AtomicU64, AtomicUsize, Condvar, Mutex};
#[cfg(oxmq_loom)]
pub(crate) use loom::sync::atomic::fence;

#[cfg(oxmq_loom)]
mod model {
    use std::ops::{Deref, DerefMut};
    use std::sync::atomic::Ordering;
    use std::time::Instant;

    use loom::sync::atomic::fence;

    /// loom's atomics, with `SeqCst` made to mean what it means in Rust.
    ///
    /// loom regards a `SeqCst` access as `AcqRel` (its README lists this as unsupported, with
    /// false alarms as the result), but it does model `fence(SeqCst)`. `Signal` relies on
    /// `SeqCst` accesses for its store-buffering handshake (the notifier bumps `seq` then
    /// reads `waiters`; the waiter bumps `waiters` then reads `seq`: one must see the other),
    /// which loom alone reports as a lost wake-up that the language's memory model rules out.
    /// So here a `SeqCst` access is a `SeqCst` fence followed by the access at `Acquire` /
    /// `AcqRel` (the "leading fence" way of building sequentially consistent accesses out of
    /// fences), which gives loom the total order between two `SeqCst` accesses.
    ///
    /// What this can hide: the fence also orders whatever came before it, so an access made
    /// weaker than `SeqCst` is still checked when it is the *second* of a pair (weaken the
    /// `waiters` load in `notify` and loom finds the lost wake-up) but not when it is the
    /// first. Weaker orderings otherwise pass through unchanged.
    macro_rules! seqcst_atomic {
        ($name:ident, $int:ty) => {
            #[derive(Default)]
            pub(crate) struct $name(loom::sync::atomic::$name);

            impl $name {
                #[allow(dead_code, reason = "not every atomic is made outside a Default")]
                pub fn new(v: $int) -> $name {
                    $name(loom::sync::atomic::$name::new(v))
                }

                pub fn load(&self, order: Ordering) -> $int {
                    match order {
                        Ordering::SeqCst => {
                            fence(Ordering::SeqCst);
                            self.0.load(Ordering::Acquire)
                        }
                        _ => self.0.load(order),
                    }
                }

                #[allow(dead_code, reason = "not every atomic is stored to")]
                pub fn store(&self, v: $int, order: Ordering) {
                    match order {
                        // A store has no acquire half: the fence, then a release store.
                        Ordering::SeqCst => {
                            fence(Ordering::SeqCst);
                            self.0.store(v, Ordering::Release);
                            fence(Ordering::SeqCst);
                        }
                        _ => self.0.store(v, order),
                    }
                }
            }
        };
        ($name:ident, $int:ty, counter) => {
            seqcst_atomic!($name, $int);

            impl $name {
                pub fn fetch_add(&self, v: $int, order: Ordering) -> $int {
                    seqcst_rmw(order, |o| self.0.fetch_add(v, o))
                }

                #[allow(dead_code, reason = "not every counter counts down")]
                pub fn fetch_sub(&self, v: $int, order: Ordering) -> $int {
                    seqcst_rmw(order, |o| self.0.fetch_sub(v, o))
                }
            }
        };
    }

    impl AtomicBool {
        pub fn swap(&self, v: bool, order: Ordering) -> bool {
            seqcst_rmw(order, |o| self.0.swap(v, o))
        }
    }

    fn seqcst_rmw<T>(order: Ordering, op: impl FnOnce(Ordering) -> T) -> T {
        match order {
            Ordering::SeqCst => {
                fence(Ordering::SeqCst);
                op(Ordering::AcqRel)
            }
            _ => op(order),
        }
    }

    seqcst_atomic!(AtomicU64, u64, counter);
    seqcst_atomic!(AtomicUsize, usize, counter);
    seqcst_atomic!(AtomicBool, bool);

    /// loom's mutex with parking_lot's `lock` (no poisoning to unwrap).
    #[derive(Default)]
    pub(crate) struct Mutex<T>(loom::sync::Mutex<T>);

    impl<T> Mutex<T> {
        pub fn new(value: T) -> Mutex<T> {
            Mutex(loom::sync::Mutex::new(value))
        }

        pub fn lock(&self) -> MutexGuard<'_, T> {
            MutexGuard(Some(self.0.lock().expect("loom mutex poisoned")))
        }

        pub fn try_lock(&self) -> Option<MutexGuard<'_, T>> {
            self.0.try_lock().ok().map(|g| MutexGuard(Some(g)))
        }
    }

    /// Holds the guard in an `Option` so that [`Condvar::wait`] can take it by `&mut`, as
    /// parking_lot's does, and hand it to loom's by value. Always `Some` outside that call.
    pub(crate) struct MutexGuard<'a, T>(Option<loom::sync::MutexGuard<'a, T>>);

    impl<T> Deref for MutexGuard<'_, T> {
        type Target = T;
        fn deref(&self) -> &T {
            self.0.as_ref().expect("guard present")
        }
    }

    impl<T> DerefMut for MutexGuard<'_, T> {
        fn deref_mut(&mut self) -> &mut T {
            self.0.as_mut().expect("guard present")
        }
    }

    #[derive(Default)]
    pub(crate) struct Condvar(loom::sync::Condvar);

    pub(crate) struct WaitTimeoutResult(bool);

    impl WaitTimeoutResult {
        pub fn timed_out(&self) -> bool {
            self.0
        }
    }

    impl Condvar {
        pub fn notify_all(&self) {
            self.0.notify_all();
        }

        pub fn wait<T>(&self, guard: &mut MutexGuard<'_, T>) {
            let inner = guard.0.take().expect("guard present");
            guard.0 = Some(self.0.wait(inner).expect("loom mutex poisoned"));
        }

        /// loom has no clock: this waits like [`wait`](Condvar::wait) and never times out, so
        /// a model that loses a wake-up deadlocks (which loom reports) instead of passing by a
        /// timeout.
        pub fn wait_until<T>(&self, guard: &mut MutexGuard<'_, T>, _deadline: Instant) -> WaitTimeoutResult {
            self.wait(guard);
            WaitTimeoutResult(false)
        }
    }
}

/// The lock of what every message passes under (a socket's state, a pipe's queue): spin's,
/// taken by a compare-and-swap and released by a plain store, where parking_lot releases by a
/// second compare-and-swap (so that it can wake a parked waiter). A 64 B sender took four
/// locked instructions a message, two locks and two releases, about 40% of its time (`perf
/// annotate`, BENCHMARKS.md); the releases are gone. A waiter yields its CPU until the lock
/// is free, instead of sleeping: fine for locks held for a few hundred instructions and
/// seldom contended (a socket used from one thread at a time; a pipe's two ends meeting),
/// wasteful for a long hold (nothing under these locks blocks: the waits are on `Signal`).
#[cfg(not(oxmq_loom))]
pub(crate) type SpinMutex<T> = lock_api::Mutex<spin::mutex::SpinMutex<(), spin::relax::Yield>, T>;
#[cfg(not(oxmq_loom))]
pub(crate) type SpinMutexGuard<'a, T> = lock_api::MutexGuard<'a, spin::mutex::SpinMutex<(), spin::relax::Yield>, T>;
#[cfg(oxmq_loom)]
pub(crate) type SpinMutex<T> = Mutex<T>;
#[cfg(oxmq_loom)]
pub(crate) type SpinMutexGuard<'a, T> = model::MutexGuard<'a, T>;

#[cfg(all(test, not(oxmq_loom)))]
mod tests {
    use super::SpinMutex;
    use std::sync::Arc;

    #[test]
    fn a_spin_mutex_excludes_and_its_waiters_get_their_turn() {
        // Four threads (more than this machine's cores: a waiter must yield to the holder)
        // each add one at a time under the lock: no increment is lost.
        let n = Arc::new(SpinMutex::new(0u64));
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let n = n.clone();
                std::thread::spawn(move || {
                    for _ in 0..if cfg!(miri) { 100 } else { 100_000 } {
                        let mut g = n.lock();
                        let v = *g;
                        std::hint::black_box(&v);
                        *g = v + 1;
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(*n.lock(), if cfg!(miri) { 400 } else { 400_000 });
        assert!(n.try_lock().is_some(), "released");
    }
}
