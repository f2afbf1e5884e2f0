//! oxmq `remote_lat`: connects a REQ socket, does request/reply roundtrips and
//! prints the one-way latency (elapsed / 2 / roundtrips), like libzmq's `remote_lat`.

use bytes::Bytes;
use oxmq::{Context, SocketType};
use oxmq_cli as perf;

fn main() {
    let [connect_to, size, roundtrips] = perf::args::<3>("remote_lat <connect-to> <message-size> <roundtrip-count>");
    let size = perf::number(&size, "message size");
    let roundtrips = perf::number(&roundtrips, "roundtrip count");

    let ctx = Context::new();
    let s = ctx.socket(SocketType::Req).unwrap_or_else(|e| perf::fail("socket", e));
    // PERF_MECHANISM (oxmq bench --mechanisms): NULL, PLAIN or CURVE, as the libzmq tool.
    let zap = perf::secure_oxmq(&ctx, &s, false);
    s.connect(&connect_to).unwrap_or_else(|e| perf::fail("connect", e));

    let mut msg = Bytes::from(vec![0u8; size]);
    let elapsed = perf::time_roundtrips(size, roundtrips, || {
        s.send(std::mem::take(&mut msg)).unwrap_or_else(|e| perf::fail("send", e));
        msg = s.recv().unwrap_or_else(|e| perf::fail("recv", e));
        msg.len()
    });

    perf::print_lat_header(size, roundtrips);
    perf::print_lat_result(roundtrips, elapsed);

    drop(s);
    drop(zap);
    ctx.term();
}
