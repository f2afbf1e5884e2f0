//! oxmq `local_thr`: binds a PULL socket and measures receive throughput.
//! Same arguments and output as libzmq's `local_thr`.

use oxmq::{Context, SocketType};
use oxmq_cli as perf;

fn main() {
    let [bind_to, size, count] = perf::args::<3>("local_thr <bind-to> <message-size> <message-count>");
    let size = perf::number(&size, "message size");
    let count = perf::number(&count, "message count").max(1);

    let ctx = Context::new();
    let s = ctx.socket(SocketType::Pull).unwrap_or_else(|e| perf::fail("socket", e));
    // PERF_MECHANISM (oxmq bench --mechanisms): NULL, PLAIN or CURVE, as the libzmq tool.
    let zap = perf::secure_oxmq(&ctx, &s, true);
    s.bind(&bind_to).unwrap_or_else(|e| perf::fail("bind", e));

    let elapsed = perf::time_receives(size, count, || s.recv().unwrap_or_else(|e| perf::fail("recv", e)).len());

    perf::print_thr_header(size, count);
    perf::print_thr_result(size, count, elapsed);

    drop(s);
    drop(zap);
    ctx.term();
}
