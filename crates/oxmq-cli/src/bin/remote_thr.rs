//! oxmq `remote_thr`: connects a PUSH socket and sends messages as fast as it can.
//! Same arguments as libzmq's `remote_thr`.

use oxmq::{Context, SocketType};
use oxmq_cli as perf;

fn main() {
    let [connect_to, size, count] = perf::args::<3>("remote_thr <connect-to> <message-size> <message-count>");
    let size = perf::number(&size, "message size");
    let count = perf::number(&count, "message count");

    let ctx = Context::new();
    let s = ctx.socket(SocketType::Push).unwrap_or_else(|e| perf::fail("socket", e));
    // PERF_MECHANISM (oxmq bench --mechanisms): NULL, PLAIN or CURVE, as the libzmq tool.
    let zap = perf::secure_oxmq(&ctx, &s, false);
    s.connect(&connect_to).unwrap_or_else(|e| perf::fail("connect", e));

    for _ in 0..count {
        // One fresh zero-filled buffer per message, like the libzmq tool
        // (zmq_msg_init_size per message; rust-zmq zero-fills it).
        s.send(perf::zeroed_body(size)).unwrap_or_else(|e| perf::fail("send", e));
    }
    // LINGER defaults to -1: closing waits until every queued message has
    // been handed to the peer.
    drop(s);
    drop(zap);
    ctx.term();
}
