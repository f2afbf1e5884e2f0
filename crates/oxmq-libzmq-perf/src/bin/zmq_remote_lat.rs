//! libzmq `remote_lat`: connects a REQ socket, does request/reply roundtrips and
//! prints the one-way latency (elapsed / 2 / roundtrips).

use oxmq_libzmq_perf as perf;

fn main() {
    let [connect_to, size, roundtrips] =
        perf::args::<3>("zmq_remote_lat <connect-to> <message-size> <roundtrip-count>");
    let size = perf::number(&size, "message size");
    let roundtrips = perf::number(&roundtrips, "roundtrip count");

    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::REQ).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    // PERF_MECHANISM (oxmq bench --mechanisms): NULL, PLAIN or CURVE, as the oxmq tool.
    let zap = perf::secure(&ctx, &s, false);
    s.connect(&connect_to).unwrap_or_else(|e| perf::fail("zmq_connect", e));

    let mut msg = zmq::Message::with_size(size);
    let elapsed = perf::time_roundtrips(size, roundtrips, || {
        let request = std::mem::replace(&mut msg, zmq::Message::new());
        s.send(request, 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
        s.recv(&mut msg, 0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
        msg.len()
    });

    perf::print_lat_header(size, roundtrips);
    perf::print_lat_result(roundtrips, elapsed);
    drop(s);
    drop(zap);
}
