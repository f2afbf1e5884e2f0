//! libzmq `local_thr`: binds a PULL socket and measures receive throughput.

use oxmq_libzmq_perf as perf;

fn main() {
    let [bind_to, size, count] = perf::args::<3>("zmq_local_thr <bind-to> <message-size> <message-count>");
    let size = perf::number(&size, "message size");
    let count = perf::number(&count, "message count").max(1);

    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::PULL).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    // PERF_MECHANISM (oxmq bench --mechanisms): NULL, PLAIN or CURVE, as the oxmq tool.
    let zap = perf::secure(&ctx, &s, true);
    s.bind(&bind_to).unwrap_or_else(|e| perf::fail("zmq_bind", e));

    let mut msg = zmq::Message::new();
    let elapsed = perf::time_receives(size, count, || {
        s.recv(&mut msg, 0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
        msg.len()
    });

    perf::print_thr_header(size, count);
    perf::print_thr_result(size, count, elapsed);
    drop(s);
    drop(zap);
}
