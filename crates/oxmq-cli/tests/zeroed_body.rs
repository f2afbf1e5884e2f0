//! `zeroed_body` must allocate as libzmq's tools do, with `malloc` then a fill, not with
//! `calloc` (see its doc): this test binary's allocator counts which entry point is used.

use std::alloc::{GlobalAlloc, Layout, System};
use std::sync::atomic::{AtomicUsize, Ordering::Relaxed};

struct Counting;

static ALLOC: AtomicUsize = AtomicUsize::new(0);
static ALLOC_ZEROED: AtomicUsize = AtomicUsize::new(0);

// SAFETY: every call is passed on unchanged to the system allocator, which upholds
// `GlobalAlloc`'s contract; the counters have no effect on the memory handed out.
unsafe impl GlobalAlloc for Counting {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        ALLOC.fetch_add(1, Relaxed);
        // SAFETY: the caller's layout, as `GlobalAlloc::alloc` requires.
        unsafe { System.alloc(layout) }
    }
    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        ALLOC_ZEROED.fetch_add(1, Relaxed);
        // SAFETY: as above.
        unsafe { System.alloc_zeroed(layout) }
    }
    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from this allocator, i.e. from `System`, with this layout.
        unsafe { System.dealloc(ptr, layout) }
    }
}

#[global_allocator]
static GLOBAL: Counting = Counting;

#[test]
fn zeroed_body_is_malloc_then_fill_not_calloc() {
    for size in [1, 64, 1024, 65536] {
        let (a, z) = (ALLOC.load(Relaxed), ALLOC_ZEROED.load(Relaxed));
        let body = std::hint::black_box(oxmq_cli::zeroed_body(size));
        let (a2, z2) = (ALLOC.load(Relaxed), ALLOC_ZEROED.load(Relaxed));
        assert_eq!(body.len(), size);
        assert!(body.iter().all(|&b| b == 0), "zero-filled");
        assert_eq!((a2 - a, z2 - z), (1, 0), "one plain allocation for {size} B, no zeroed one");
    }
    // The check can fail: `vec![0; n]` is the zeroed allocation it must not be.
    let z = ALLOC_ZEROED.load(Relaxed);
    let v = std::hint::black_box(vec![0u8; 64]);
    assert_eq!(ALLOC_ZEROED.load(Relaxed) - z, 1);
    drop(v);
}
