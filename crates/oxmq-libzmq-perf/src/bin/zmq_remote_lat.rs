//! libzmq `remote_lat`: connects a REQ socket, does request/reply roundtrips and
//! prints the one-way latency (elapsed / 2 / roundtrips).

use oxmq_libzmq_perf as perf;
use std::time::Instant;

fn main() {
    let [connect_to, size, roundtrips] =
        perf::args::<3>("zmq_remote_lat <connect-to> <message-size> <roundtrip-count>");
    let size = perf::number(&size, "message size");
    let roundtrips = perf::number(&roundtrips, "roundtrip count");

    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::REQ).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    s.connect(&connect_to).unwrap_or_else(|e| perf::fail("zmq_connect", e));

    let mut msg = zmq::Message::with_size(size);
    let start = Instant::now();
    for _ in 0..roundtrips {
        s.send(msg, 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
        msg = zmq::Message::new();
        s.recv(&mut msg, 0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
        perf::check_size(msg.len(), size);
    }
    let elapsed = start.elapsed();

    perf::print_lat_header(size, roundtrips);
    perf::print_lat_result(roundtrips, elapsed);
}
