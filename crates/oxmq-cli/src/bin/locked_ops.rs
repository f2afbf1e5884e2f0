//! `locked_ops [iterations]`: what the primitives of a message's path cost on this machine,
//! one thread, nothing contended: a `parking_lot` mutex taken and let go (the lock of a
//! socket's `Core` and of a pipe's queue), an atomic read-modify-write, a `SeqCst` store, a
//! `Relaxed` one, an `Arc` cloned and dropped, and a 64-byte block allocated and freed on the
//! same thread. BENCHMARKS.md counts the 64 B send and receive paths in these units; run it
//! pinned (`taskset -c 1 target/release/locked_ops`) beside the perf tools.

use std::hint::black_box;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Instant;

fn per_op(n: u64, mut f: impl FnMut(u64)) -> f64 {
    let t = Instant::now();
    for i in 0..n {
        f(i);
    }
    t.elapsed().as_nanos() as f64 / n as f64
}

fn main() {
    let n: u64 = match std::env::args().nth(1) {
        Some(a) => a.parse().unwrap_or_else(|_| oxmq_cli::fail("iterations", format!("not a number: {a}"))),
        None => 20_000_000,
    };
    let mutex = parking_lot::Mutex::new(0u64);
    let atomic = AtomicU64::new(0);
    let arc = Arc::new(0u64);
    let rows = [
        ("parking_lot mutex lock + unlock", per_op(n, |i| *black_box(&mutex).lock() += i)),
        (
            "atomic fetch_add (SeqCst)",
            per_op(n, |i| {
                black_box(&atomic).fetch_add(i, Ordering::SeqCst);
            }),
        ),
        ("atomic store (SeqCst)", per_op(n, |i| black_box(&atomic).store(i, Ordering::SeqCst))),
        ("atomic store (Relaxed)", per_op(n, |i| black_box(&atomic).store(i, Ordering::Relaxed))),
        ("Arc clone + drop", per_op(n, |_| drop(black_box(Arc::clone(black_box(&arc)))))),
        ("64 B Vec alloc + free, one thread", per_op(n, |i| drop(black_box(vec![i as u8; 64])))),
    ];
    for (what, ns) in rows {
        println!("{what:<36} {ns:>6.2} ns");
    }
}
