//! libzmq `inproc_lat`: REQ (main thread) <-> REP (worker thread) over inproc.

use oxmq_libzmq_perf as perf;
use std::thread;

fn main() {
    let [size, roundtrips] = perf::args::<2>("zmq_inproc_lat <message-size> <roundtrip-count>");
    let size = perf::number(&size, "message size");
    let roundtrips = perf::number(&roundtrips, "roundtrip count");

    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::REQ).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    s.bind("inproc://lat_test").unwrap_or_else(|e| perf::fail("zmq_bind", e));

    let worker_ctx = ctx.clone();
    let worker = thread::spawn(move || {
        let s = worker_ctx.socket(zmq::REP).unwrap_or_else(|e| perf::fail("zmq_socket", e));
        s.connect("inproc://lat_test").unwrap_or_else(|e| perf::fail("zmq_connect", e));
        for _ in 0..roundtrips {
            let mut msg = zmq::Message::new();
            s.recv(&mut msg, 0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
            s.send(msg, 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
        }
    });

    perf::print_lat_header(size, roundtrips);

    let mut msg = zmq::Message::with_size(size);
    let elapsed = perf::time_roundtrips(size, roundtrips, || {
        let request = std::mem::replace(&mut msg, zmq::Message::new());
        s.send(request, 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
        s.recv(&mut msg, 0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
        msg.len()
    });

    worker.join().expect("echo thread panicked");
    perf::print_lat_result(roundtrips, elapsed);
}
