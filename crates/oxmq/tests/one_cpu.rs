//! On one CPU, a REQ/REP round trip over tcp: each side's receive, having just written to
//! its peer, lets the peer run before it reads (`engine::feed`, `Drive::awaits_answer`), so
//! it reads once per message instead of twice (an empty read, a yield, the read).
//!
//! Its own test binary: whether the process has one CPU is decided once per process, by the
//! first thread that asks, and this test pins its threads before any oxmq call.

#![cfg(target_os = "linux")]

mod common;

use common::socket;
use oxmq::{Context, SocketType};

/// read(2)-family system calls this process has made (`syscr` of /proc/self/io).
fn reads() -> u64 {
    common::proc_self("io", "syscr")
}

#[test]
fn a_request_awaiting_its_reply_on_one_cpu_reads_once_per_message() {
    let mut one = rustix::thread::CpuSet::new();
    one.set(0);
    rustix::thread::sched_setaffinity(None, &one).unwrap();
    assert_eq!(std::thread::available_parallelism().unwrap().get(), 1);
    // Every thread from here on (the I/O threads, the REP's) inherits the one CPU.
    let ctx = Context::new();
    let rep = socket(&ctx, SocketType::Rep);
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let req = socket(&ctx, SocketType::Req);
    req.connect(&rep.last_endpoint().unwrap()).unwrap();
    const ROUNDS: u64 = 2000;
    let server = std::thread::spawn(move || {
        for _ in 0..ROUNDS + 100 {
            let m = rep.recv().unwrap();
            rep.send(m).unwrap();
        }
    });
    // Warm up: the connection made, lent to the callers.
    for _ in 0..100 {
        req.send("ping").unwrap();
        assert_eq!(req.recv().unwrap(), "ping");
    }
    let before = reads();
    for _ in 0..ROUNDS {
        req.send("ping").unwrap();
        assert_eq!(req.recv().unwrap(), "ping");
    }
    let per_round = (reads() - before) as f64 / ROUNDS as f64;
    server.join().unwrap();
    eprintln!("{per_round:.2} reads per round trip (both sides)");
    // One read per receive is 2 a round trip; reading before yielding made it 4. Slack for
    // the rounds where the peer had not answered yet when the yield returned.
    assert!(per_round < 3.0, "{per_round:.2} reads per round trip, where 2 is one per receive");
}
