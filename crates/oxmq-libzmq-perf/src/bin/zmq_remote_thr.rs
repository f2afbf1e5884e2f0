//! libzmq `remote_thr`: connects a PUSH socket and sends messages as fast as it can.

use oxmq_libzmq_perf as perf;

fn main() {
    let [connect_to, size, count] = perf::args::<3>("zmq_remote_thr <connect-to> <message-size> <message-count>");
    let size = perf::number(&size, "message size");
    let count = perf::number(&count, "message count");

    let ctx = zmq::Context::new();
    let s = ctx.socket(zmq::PUSH).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    // PERF_MECHANISM (oxmq bench --mechanisms): NULL, PLAIN or CURVE, as the oxmq tool.
    let zap = perf::secure(&ctx, &s, false);
    s.connect(&connect_to).unwrap_or_else(|e| perf::fail("zmq_connect", e));

    for _ in 0..count {
        // One fresh message per send, like libzmq's tool (rust-zmq zero-fills it).
        let msg = zmq::Message::with_size(size);
        s.send(msg, 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
    }
    // Dropping the socket and the context (ZMQ_LINGER -1) waits until
    // every queued message has been handed to the peer.
    drop(s);
    drop(zap);
    drop(ctx);
}
