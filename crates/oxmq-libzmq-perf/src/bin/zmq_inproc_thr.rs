//! libzmq `inproc_thr`: PUSH (worker thread) -> PULL (main thread) over inproc.

use oxmq_libzmq_perf as perf;
use std::thread;

fn main() {
    let [size, count] = perf::args::<2>("zmq_inproc_thr <message-size> <message-count>");
    let size = perf::number(&size, "message size");
    let count = perf::number(&count, "message count").max(1);

    perf::pin_thread_from_env("PERF_PIN_RECV");
    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::PULL).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    s.bind("inproc://thr_test").unwrap_or_else(|e| perf::fail("zmq_bind", e));

    let worker_ctx = ctx.clone();
    let worker = thread::spawn(move || {
        perf::pin_thread_from_env("PERF_PIN_SEND");
        let s = worker_ctx.socket(zmq::PUSH).unwrap_or_else(|e| perf::fail("zmq_socket", e));
        s.connect("inproc://thr_test").unwrap_or_else(|e| perf::fail("zmq_connect", e));
        for _ in 0..count {
            let msg = zmq::Message::with_size(size);
            s.send(msg, 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
        }
    });

    perf::print_thr_header(size, count);

    let mut msg = zmq::Message::new();
    let elapsed = perf::time_receives(size, count, || {
        s.recv(&mut msg, 0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
        msg.len()
    });

    worker.join().expect("sender thread panicked");
    perf::print_thr_result(size, count, elapsed);
}
