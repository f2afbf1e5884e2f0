//! The registries behind the `void *` handles of contexts and sockets.
//!
//! A handle is the address of a heap object (an `Arc`) that the registry keeps alive. Every
//! call looks the address up before touching anything: an address that is not registered
//! (NULL, a pointer into anything else, a socket already closed, a context already
//! terminated) is refused with an errno and its memory is never read. The lookup hands out a
//! clone of the `Arc`, so a call in progress keeps its object alive even if another thread
//! closes the handle meanwhile (libzmq leaves that undefined; here the socket closes at once,
//! and the call in progress ends with `ENOTSOCK` if it had not finished).
//!
//! A lookup takes a read lock and an `Arc` clone, four locked instructions, a fifth of a 64 B
//! message's time through the ABI. So the registry also counts removals: a thread that keeps
//! the object it last looked up, with the count then, may use it again while the count has
//! not moved, without the lock (the socket calls keep one so, `socket::lookup`). The object a
//! thread keeps outlives its handle until that thread's next lookup; what must not wait for
//! that (closing the socket) is done by the call that removes the handle, not by the drop.
//! What does wait is memory: the closed socket's, and, once its context is terminated, the
//! context's (its I/O threads idle until then). `zmq_close` and `zmq_ctx_term` drop what their
//! own thread keeps; another thread's goes at its next socket call or when it exits.
//!
//! The object a thread keeps is in a `Kept` slot of its own (a thread-local): one
//! thread-local access per call, and a call borrows the object in place, marking the slot
//! busy, rather than moving it out and back (two accesses, and the moves: measured, the
//! lookup and its release were 100 of a 64 B `zmq_msg_send`'s 650 instructions that way).
//! A call made while another on the same thread holds the slot (a free function that
//! calls the ABI, `zmq_proxy`'s second socket) looks up in the registry.
//!
//! What cannot be detected: after a handle is closed, the allocator may give the same address
//! to a new socket, and a stale pointer then reaches that socket (as it would reach freed
//! memory with libzmq).

use std::cell::{Cell, UnsafeCell};
use std::collections::HashMap;
use std::ffi::c_void;
use std::hash::{BuildHasherDefault, Hasher};
use std::ops::Deref;
use std::ptr::NonNull;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::thread::LocalKey;

use parking_lot::RwLock;

const SHARDS: usize = 16;

/// The hasher of the registry's maps: every send and receive looks its socket up, and the
/// keys are heap addresses the library chose, not input an attacker picks, so a multiply
/// (Fibonacci hashing) does where SipHash cost a few percent of a 64 B message's time.
#[derive(Default)]
struct AddrHasher(u64);

impl Hasher for AddrHasher {
    fn write(&mut self, bytes: &[u8]) {
        for &b in bytes {
            self.0 = (self.0.rotate_left(8) ^ u64::from(b)).wrapping_mul(0x9e37_79b9_7f4a_7c15);
        }
    }
    fn write_usize(&mut self, n: usize) {
        // The low bits of an address are alignment; the high bits of the product mix them all.
        self.0 = (n as u64).wrapping_mul(0x9e37_79b9_7f4a_7c15);
    }
    fn finish(&self) -> u64 {
        // hashbrown takes its buckets from the low bits and its tags from the top 7.
        self.0.rotate_left(32)
    }
}

type Map<T> = HashMap<usize, Arc<T>, BuildHasherDefault<AddrHasher>>;

/// A registry of live handles of type `T`, sharded by address so that threads calling on
/// different handles rarely meet on one lock.
pub(crate) struct Registry<T> {
    shards: Vec<RwLock<Map<T>>>,
    /// Handles removed, ever (see the module's doc).
    removals: AtomicU64,
}

impl<T> Registry<T> {
    pub fn new() -> Registry<T> {
        Registry { shards: (0..SHARDS).map(|_| RwLock::new(Map::default())).collect(), removals: AtomicU64::new(0) }
    }

    fn shard(&self, addr: usize) -> &RwLock<Map<T>> {
        // Heap addresses are at least 16-byte aligned: skip the low bits.
        &self.shards[(addr >> 4) % SHARDS]
    }

    /// Register `obj` and return its handle.
    pub fn insert(&self, obj: Arc<T>) -> *mut c_void {
        let handle = Arc::as_ptr(&obj).cast_mut().cast::<c_void>();
        let addr = handle as usize;
        self.shard(addr).write().insert(addr, obj);
        handle
    }

    /// The object behind `handle`, if it is registered.
    pub fn get(&self, handle: *mut c_void) -> Option<Arc<T>> {
        let addr = handle as usize;
        self.shard(addr).read().get(&addr).cloned()
    }

    /// Unregister `handle`, handing back its object. Counted after the removal: an object
    /// found by a lookup that read the count before it was registered still then.
    pub fn remove(&self, handle: *mut c_void) -> Option<Arc<T>> {
        let addr = handle as usize;
        let obj = self.shard(addr).write().remove(&addr);
        if obj.is_some() {
            self.removals.fetch_add(1, Ordering::SeqCst);
        }
        obj
    }

    /// Handles removed so far. An object that [`get`](Self::get) found after this returned
    /// `n` is still registered while this still returns `n`.
    pub fn removals(&self) -> u64 {
        self.removals.load(Ordering::SeqCst)
    }
}

/// The object a thread keeps between its calls (see the module's doc): a thread-local.
pub(crate) struct Kept<T> {
    /// Its handle (0: none kept).
    handle: Cell<usize>,
    /// The registry's removal count when it was looked up.
    removals: Cell<u64>,
    /// Lent to a call on this thread (a [`Held::Kept`] exists): nothing else touches `obj`.
    busy: Cell<bool>,
    obj: UnsafeCell<Option<Arc<T>>>,
}

impl<T> Kept<T> {
    pub const fn new() -> Kept<T> {
        Kept { handle: Cell::new(0), removals: Cell::new(0), busy: Cell::new(false), obj: UnsafeCell::new(None) }
    }

    /// Take out what is kept, unless a call holds it (then only marked stale: that call's
    /// [`Held`] drops it when it ends). For the caller to drop, outside any borrow of the slot.
    fn take_unless_busy(&self) -> Option<Arc<T>> {
        self.handle.set(0);
        if self.busy.get() {
            return None;
        }
        // SAFETY: not busy, so no `Held` refers to the object, and this thread (the slot's
        // only user) is not inside another access to it.
        unsafe { (*self.obj.get()).take() }
    }
}

/// An object looked up for the length of one call: the one its thread keeps, borrowed in
/// place, or (when that is held by an outer call, or at thread exit) a reference of its own.
pub(crate) enum Held<T: 'static> {
    /// The thread's [`Kept`] slot, marked busy; not `Send` (the slot is this thread's).
    Kept(NonNull<Kept<T>>),
    Own(Arc<T>),
}

impl<T> Deref for Held<T> {
    type Target = T;
    #[inline]
    fn deref(&self) -> &T {
        match self {
            Held::Own(obj) => obj,
            // SAFETY: the slot is a thread-local of this thread (a `Held` never leaves it), alive
            // while the thread runs a call; busy while this `Held` lives, so nothing replaces or
            // drops the object meanwhile (`Registry::get_kept`, `take_unless_busy`).
            Held::Kept(slot) => unsafe { (*slot.as_ref().obj.get()).as_deref().expect("a kept object while held") },
        }
    }
}

impl<T> Drop for Held<T> {
    #[inline]
    fn drop(&mut self) {
        if let Held::Kept(slot) = self {
            // SAFETY: as in `deref`.
            let slot = unsafe { slot.as_ref() };
            slot.busy.set(false);
            if slot.handle.get() == 0 {
                // Forgotten while held (`forget_kept` from a nested call): dropped now.
                drop(slot.take_unless_busy());
            }
        }
    }
}

impl<T: 'static> Registry<T> {
    /// The object behind `handle`, as [`get`](Self::get), for the length of one call: the one
    /// this thread keeps in `slot` if its handle is the same and no handle has been removed
    /// since it was looked up, else the registry's, kept in the slot from now on.
    #[inline]
    pub fn get_kept(&self, slot: &'static LocalKey<Kept<T>>, handle: *mut c_void) -> Option<Held<T>> {
        let addr = handle as usize;
        // Read before the registry: a removal after this moves it.
        let removals = self.removals();
        let Ok(kept) = slot.try_with(|k| NonNull::from(k)) else {
            // This thread's thread-locals are being destroyed.
            return self.get(handle).map(Held::Own);
        };
        // SAFETY: this thread's slot, alive for the rest of this call (a thread-local is
        // destroyed only once its thread's calls are over).
        let k = unsafe { kept.as_ref() };
        if k.busy.get() {
            return self.get(handle).map(Held::Own);
        }
        if addr != 0 && k.handle.get() == addr && k.removals.get() == removals {
            k.busy.set(true);
            return Some(Held::Kept(kept));
        }
        let found = self.get(handle);
        let held = found.is_some();
        // SAFETY: not busy: no `Held` refers to the object (see `take_unless_busy`).
        let old = unsafe { std::mem::replace(&mut *k.obj.get(), found) };
        k.handle.set(if held { addr } else { 0 });
        k.removals.set(removals);
        k.busy.set(held);
        // What was kept is dropped last, with the slot in order (and held, if found): if this
        // was its last reference, what its drop runs (a message's free function calling the
        // ABI) finds the slot busy or empty.
        let held = held.then_some(Held::Kept(kept));
        drop(old);
        held
    }
}

/// Drop the object this thread keeps in `slot` (at once, or when the call holding it ends).
pub(crate) fn forget_kept<T: 'static>(slot: &'static LocalKey<Kept<T>>) {
    let old = slot.try_with(Kept::take_unless_busy).ok().flatten();
    // Outside the slot's access: the drop may run code that calls the ABI.
    drop(old);
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_registered_handles_are_found_and_each_is_removed_once() {
        let reg: Registry<String> = Registry::new();
        let a = reg.insert(Arc::new("a".to_string()));
        let b = reg.insert(Arc::new("b".to_string()));
        assert_ne!(a, b);
        assert_eq!(reg.get(a).as_deref().map(String::as_str), Some("a"));
        assert!(reg.get(std::ptr::null_mut()).is_none());
        // An address inside the object, or any other, is not a handle.
        assert!(reg.get(a.wrapping_byte_add(1)).is_none());
        let held = reg.get(b).unwrap();
        assert_eq!(reg.remove(b).as_deref().map(String::as_str), Some("b"));
        assert!(reg.remove(b).is_none(), "removed twice");
        assert!(reg.get(b).is_none());
        // A lookup made before the removal keeps its object alive.
        assert_eq!(held.as_str(), "b");
        assert!(reg.remove(a).is_some());
    }

    thread_local! {
        static SLOT: Kept<String> = const { Kept::new() };
    }

    /// The slot's rules (`get_kept`): kept while its handle and the removal count stay the same;
    /// a lookup while it is held gets a reference of its own; forgotten while held, it goes
    /// when the holder ends; a removed handle is refused and what was kept goes with it.
    #[test]
    fn a_kept_object_is_lent_in_place_and_released_by_the_rules() {
        let reg: Registry<String> = Registry::new();
        let obj = Arc::new("a".to_string());
        let a = reg.insert(obj.clone());
        let b = reg.insert(Arc::new("b".to_string()));
        {
            let held = reg.get_kept(&SLOT, a).unwrap();
            assert!(matches!(held, Held::Kept(_)), "the first lookup fills the slot");
            assert_eq!(&*held, "a");
            // Nested: the slot is busy, so the same handle and another come from the registry.
            let nested = reg.get_kept(&SLOT, a).unwrap();
            assert!(matches!(nested, Held::Own(_)));
            let other = reg.get_kept(&SLOT, b).unwrap();
            assert!(matches!(other, Held::Own(_)) && &*other == "b");
            assert_eq!(&*held, "a", "untouched by the nested lookups");
        }
        // registry + slot + `obj`
        assert_eq!(Arc::strong_count(&obj), 3);
        let again = reg.get_kept(&SLOT, a).unwrap();
        assert!(matches!(again, Held::Kept(_)), "the same handle again: the kept one");
        drop(again);
        assert!(reg.get_kept(&SLOT, std::ptr::null_mut()).is_none());
        assert_eq!(Arc::strong_count(&obj), 2, "a refused lookup empties the slot");

        // Forgotten while held: released when the holder ends, not before.
        let held = reg.get_kept(&SLOT, a).unwrap();
        forget_kept(&SLOT);
        assert_eq!(Arc::strong_count(&obj), 3);
        assert_eq!(&*held, "a");
        drop(held);
        assert_eq!(Arc::strong_count(&obj), 2, "released by the holder's end");

        // A removal makes what is kept stale: refused, and dropped.
        drop(reg.get_kept(&SLOT, a).unwrap());
        assert!(reg.remove(a).is_some());
        assert_eq!(Arc::strong_count(&obj), 2, "slot + `obj`");
        assert!(reg.get_kept(&SLOT, a).is_none(), "removed: not found though kept");
        assert_eq!(Arc::strong_count(&obj), 1);

        // Another thread has a slot of its own, dropped when it exits.
        let b_addr = b as usize;
        let kept_by_thread = std::thread::scope(|t| {
            t.spawn(|| {
                // (Only its address matters: the registry never reads through a handle.)
                let b = std::ptr::without_provenance_mut::<c_void>(b_addr);
                let held = reg.get_kept(&SLOT, b).unwrap();
                assert!(matches!(held, Held::Kept(_)));
                Arc::downgrade(&reg.get(b).unwrap())
            })
            .join()
            .unwrap()
        });
        assert!(reg.remove(b).is_some());
        assert!(kept_by_thread.upgrade().is_none(), "the thread's slot went with it");
    }

    #[test]
    fn removals_are_counted_and_a_refused_removal_is_not() {
        let reg: Registry<u8> = Registry::new();
        let a = reg.insert(Arc::new(1));
        let n = reg.removals();
        assert!(reg.get(a).is_some());
        assert_eq!(reg.removals(), n, "a lookup is not a removal");
        assert!(reg.remove(a).is_some());
        assert_eq!(reg.removals(), n + 1);
        assert!(reg.remove(a).is_none());
        assert_eq!(reg.removals(), n + 1, "nothing removed");
    }
}
