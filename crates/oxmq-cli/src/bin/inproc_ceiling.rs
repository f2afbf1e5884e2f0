//! `inproc_ceiling`: the ceiling for `inproc_thr` without ZeroMQ. The same two threads move
//! the same messages as `inproc_thr` (a `Bytes` per message, made on the sending thread and
//! dropped on the receiving one) through std's bounded channel, a lock-free queue of
//! crossbeam's design, with room for 1000 messages like the pipe's default HWM. Prints
//! `inproc_thr`'s lines.
//!
//! `<bodies>`: `fresh` allocates each body as `inproc_thr` does (`zeroed_body`, freed by the
//! receiver); `static` sends a view of one static buffer (no allocation at all), which leaves
//! the cost of the queue and the two threads alone.
//!
//! Pin the threads like `inproc_thr`: `PERF_PIN_RECV=0 PERF_PIN_SEND=1`.

use bytes::Bytes;
use oxmq_cli as perf;
use std::sync::mpsc;
use std::thread;

/// The largest body `static` mode can send.
static ZEROS: [u8; 65536] = [0; 65536];

fn main() {
    let [size, count, bodies] = perf::args::<3>("inproc_ceiling <message-size> <message-count> fresh|static");
    let size = perf::number(&size, "message size");
    let count = perf::number(&count, "message count").max(1);
    let fresh = match bodies.as_str() {
        "fresh" => true,
        "static" if size <= ZEROS.len() => false,
        "static" => perf::fail("static", format!("at most {} B", ZEROS.len())),
        _ => perf::fail("bodies", format!("want fresh or static, got {bodies:?}")),
    };
    perf::pin_thread_from_env("PERF_PIN_RECV");

    let (tx, rx) = mpsc::sync_channel::<Bytes>(1000);
    let worker = thread::spawn(move || {
        perf::pin_thread_from_env("PERF_PIN_SEND");
        for _ in 0..count {
            let body = if fresh { Bytes::from(perf::zeroed_body(size)) } else { Bytes::from_static(&ZEROS[..size]) };
            tx.send(body).unwrap_or_else(|e| perf::fail("send", e));
        }
    });

    perf::print_thr_header(size, count);
    let elapsed = perf::time_receives(size, count, || rx.recv().unwrap_or_else(|e| perf::fail("recv", e)).len());

    worker.join().expect("sender thread panicked");
    perf::print_thr_result(size, count, elapsed);
}
