//! oxmq `inproc_thr`: PUSH (worker thread) -> PULL (main thread) over inproc,
//! like libzmq's `inproc_thr`.

use oxmq::{Context, SocketType};
use oxmq_cli as perf;
use std::thread;

fn main() {
    let [size, count] = perf::args::<2>("inproc_thr <message-size> <message-count>");
    let size = perf::number(&size, "message size");
    let count = perf::number(&count, "message count").max(1);

    perf::pin_thread_from_env("PERF_PIN_RECV");
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Pull).unwrap_or_else(|e| perf::fail("socket", e));
    s.bind("inproc://thr_test").unwrap_or_else(|e| perf::fail("bind", e));

    let worker_ctx = ctx.clone();
    let worker = thread::spawn(move || {
        perf::pin_thread_from_env("PERF_PIN_SEND");
        let s = worker_ctx.socket(SocketType::Push).unwrap_or_else(|e| perf::fail("socket", e));
        s.connect("inproc://thr_test").unwrap_or_else(|e| perf::fail("connect", e));
        for _ in 0..count {
            s.send(perf::zeroed_body(size)).unwrap_or_else(|e| perf::fail("send", e));
        }
    });

    perf::print_thr_header(size, count);

    let elapsed = perf::time_receives(size, count, || s.recv().unwrap_or_else(|e| perf::fail("recv", e)).len());

    worker.join().expect("sender thread panicked");
    perf::print_thr_result(size, count, elapsed);

    drop(s);
    ctx.term();
}
