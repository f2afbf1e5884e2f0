//! oxmq `inproc_lat`: REQ (main thread) <-> REP (worker thread) over inproc,
//! like libzmq's `inproc_lat`.

use bytes::Bytes;
use oxmq::{Context, SocketType};
use oxmq_cli as perf;
use std::thread;

fn main() {
    let [size, roundtrips] = perf::args::<2>("inproc_lat <message-size> <roundtrip-count>");
    let size = perf::number(&size, "message size");
    let roundtrips = perf::number(&roundtrips, "roundtrip count");

    let ctx = Context::new();
    let s = ctx.socket(SocketType::Req).unwrap_or_else(|e| perf::fail("socket", e));
    s.bind("inproc://lat_test").unwrap_or_else(|e| perf::fail("bind", e));

    let worker_ctx = ctx.clone();
    let worker = thread::spawn(move || {
        let s = worker_ctx.socket(SocketType::Rep).unwrap_or_else(|e| perf::fail("socket", e));
        s.connect("inproc://lat_test").unwrap_or_else(|e| perf::fail("connect", e));
        for _ in 0..roundtrips {
            let msg = s.recv().unwrap_or_else(|e| perf::fail("recv", e));
            s.send(msg).unwrap_or_else(|e| perf::fail("send", e));
        }
    });

    perf::print_lat_header(size, roundtrips);

    let mut msg = Bytes::from(vec![0u8; size]);
    let elapsed = perf::time_roundtrips(size, roundtrips, || {
        s.send(std::mem::take(&mut msg)).unwrap_or_else(|e| perf::fail("send", e));
        msg = s.recv().unwrap_or_else(|e| perf::fail("recv", e));
        msg.len()
    });

    worker.join().expect("echo thread panicked");
    perf::print_lat_result(roundtrips, elapsed);

    drop(s);
    ctx.term();
}
