//! `tcp_remote_thr`: the raw-TCP ceiling for `remote_thr`. Connects a plain TCP socket
//! (no ZeroMQ) and writes `count` chunks of `chunk-size` bytes, one write call each.

use oxmq_cli as perf;
use std::io::Write;

fn main() {
    let [connect_to, size, count] = perf::args::<3>("tcp_remote_thr <tcp://host:port> <chunk-size> <chunk-count>");
    let size = perf::number(&size, "chunk size").max(1);
    let count = perf::number(&count, "chunk count");
    let mut conn = perf::tcp_connect(&connect_to);
    let chunk = vec![0u8; size];
    for _ in 0..count {
        conn.write_all(&chunk).unwrap_or_else(|e| perf::fail("write", e));
    }
    conn.flush().unwrap_or_else(|e| perf::fail("flush", e));
}
