//! oxmq `local_lat`: binds a REP socket and echoes every request.
//! Same arguments as libzmq's `local_lat`.

use oxmq::{Context, SocketType};
use oxmq_cli as perf;

fn main() {
    let [bind_to, size, roundtrips] = perf::args::<3>("local_lat <bind-to> <message-size> <roundtrip-count>");
    let size = perf::number(&size, "message size");
    let roundtrips = perf::number(&roundtrips, "roundtrip count");

    let ctx = Context::new();
    let s = ctx.socket(SocketType::Rep).unwrap_or_else(|e| perf::fail("socket", e));
    // PERF_MECHANISM (oxmq bench --mechanisms): NULL, PLAIN or CURVE, as the libzmq tool.
    let zap = perf::secure_oxmq(&ctx, &s, true);
    s.bind(&bind_to).unwrap_or_else(|e| perf::fail("bind", e));

    for _ in 0..roundtrips {
        let msg = s.recv().unwrap_or_else(|e| perf::fail("recv", e));
        perf::check_size(msg.len(), size);
        s.send(msg).unwrap_or_else(|e| perf::fail("send", e));
    }
    // LINGER -1: closing waits until the last reply has been sent.
    drop(s);
    drop(zap);
    ctx.term();
}
