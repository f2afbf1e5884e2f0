//! Shared argument parsing and result printing for the oxmq perf tools
//! (`local_thr`, `remote_thr`, `local_lat`, `remote_lat`, `inproc_thr`, `inproc_lat`).
//!
//! They mirror libzmq's `perf/` programs: same arguments, same output
//! lines, same measurement window, so that they pair with the libzmq tools of
//! `oxmq-libzmq-perf` across processes in either direction.

use std::fmt::Display;
use std::process;
use std::time::{Duration, Instant};

/// Reads exactly `N` positional arguments or prints `usage: ...` and exits 1.
pub fn args<const N: usize>(usage: &str) -> [String; N] {
    let v: Vec<String> = std::env::args().skip(1).collect();
    match <[String; N]>::try_from(v) {
        Ok(a) => a,
        Err(_) => {
            println!("usage: {usage}");
            process::exit(1);
        }
    }
}

/// Parses a non-negative count or size argument, exiting with a message on error.
pub fn number(s: &str, what: &str) -> usize {
    match s.trim().parse::<usize>() {
        Ok(n) => n,
        Err(_) => {
            eprintln!("invalid {what}: {s:?}");
            process::exit(1);
        }
    }
}

/// Reports a failed call the way libzmq's tools do and exits 1.
pub fn fail(call: &str, err: impl Display) -> ! {
    eprintln!("error in {call}: {err}");
    process::exit(1);
}

/// Exits 1 with libzmq's message for a message of the wrong size.
pub fn check_size(got: usize, want: usize) {
    if got != want {
        eprintln!("message of incorrect size received (got {got} B, expected {want} B)");
        process::exit(1);
    }
}

/// Receive `count` messages with `recv` (which returns each one's size), checking their size.
/// As in libzmq's `local_thr`, the clock starts once the first message has arrived.
pub fn time_receives(size: usize, count: usize, mut recv: impl FnMut() -> usize) -> Duration {
    check_size(recv(), size);
    let start = Instant::now();
    for _ in 1..count {
        check_size(recv(), size);
    }
    start.elapsed()
}

/// Run `roundtrips` request/reply roundtrips with `roundtrip` (which returns the reply's size),
/// checking the size of each reply.
pub fn time_roundtrips(size: usize, roundtrips: usize, mut roundtrip: impl FnMut() -> usize) -> Duration {
    let start = Instant::now();
    for _ in 0..roundtrips {
        check_size(roundtrip(), size);
    }
    start.elapsed()
}

fn micros(elapsed: Duration) -> f64 {
    // libzmq's stopwatch has microsecond resolution and clamps 0 to 1.
    (elapsed.as_micros().max(1)) as f64
}

/// Prints the two header lines of the throughput tools.
pub fn print_thr_header(size: usize, count: usize) {
    println!("message size: {size} [B]");
    println!("message count: {count}");
}

/// Prints the throughput lines, computed like libzmq's `local_thr`:
/// `count` messages over the time from the first message to the last.
pub fn print_thr_result(size: usize, count: usize, elapsed: Duration) {
    let throughput = (count as f64 / micros(elapsed) * 1_000_000.0) as u64;
    let megabits = (throughput as f64 * size as f64 * 8.0) / 1_000_000.0;
    println!("mean throughput: {throughput} [msg/s]");
    println!("mean throughput: {megabits:.3} [Mb/s]");
}

/// Prints the two header lines of the latency tools.
pub fn print_lat_header(size: usize, roundtrips: usize) {
    println!("message size: {size} [B]");
    println!("roundtrip count: {roundtrips}");
}

/// Prints the one-way latency: elapsed / (2 * roundtrips), in microseconds.
pub fn print_lat_result(roundtrips: usize, elapsed: Duration) {
    let latency = elapsed.as_secs_f64() * 1_000_000.0 / (2.0 * roundtrips.max(1) as f64);
    println!("average latency: {latency:.3} [us]");
}
