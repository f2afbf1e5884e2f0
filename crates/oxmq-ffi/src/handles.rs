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
//! What cannot be detected: after a handle is closed, the allocator may give the same address
//! to a new socket, and a stale pointer then reaches that socket (as it would reach freed
//! memory with libzmq).

use std::collections::HashMap;
use std::ffi::c_void;
use std::hash::{BuildHasherDefault, Hasher};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

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
