//! libzmq `local_lat`: binds a REP socket and echoes every request.

use oxmq_libzmq_perf as perf;

fn main() {
    let [bind_to, size, roundtrips] = perf::args::<3>("zmq_local_lat <bind-to> <message-size> <roundtrip-count>");
    let size = perf::number(&size, "message size");
    let roundtrips = perf::number(&roundtrips, "roundtrip count");

    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::REP).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    // PERF_MECHANISM (oxmq bench --mechanisms): NULL, PLAIN or CURVE, as the oxmq tool.
    let zap = perf::secure(&ctx, &s, true);
    s.bind(&bind_to).unwrap_or_else(|e| perf::fail("zmq_bind", e));

    for _ in 0..roundtrips {
        let mut msg = zmq::Message::new();
        s.recv(&mut msg, 0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
        perf::check_size(msg.len(), size);
        s.send(msg, 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
    }
    // ZMQ_LINGER -1: closing waits until the last reply has been sent.
    drop(s);
    drop(zap);
    drop(ctx);
}
