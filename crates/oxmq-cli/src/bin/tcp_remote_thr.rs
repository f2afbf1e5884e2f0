//! `tcp_remote_thr`: the raw-TCP ceiling for `remote_thr`. Connects a plain TCP socket
//! (no ZeroMQ) and writes `count` chunks of `chunk-size` bytes, one write call each.

use oxmq_cli as perf;
use std::io::Write;
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let [connect_to, size, count] = perf::args::<3>("tcp_remote_thr <tcp://host:port> <chunk-size> <chunk-count>");
    let size = perf::number(&size, "chunk size").max(1);
    let count = perf::number(&count, "chunk count");
    let addr = connect_to.strip_prefix("tcp://").unwrap_or_else(|| perf::fail("connect", "only tcp:// endpoints"));
    // Retry for a while, like a ZeroMQ connect would, in case the listener is not up yet.
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut conn = loop {
        match TcpStream::connect(addr) {
            Ok(c) => break c,
            Err(e) if Instant::now() > deadline => perf::fail("connect", e),
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    };
    let chunk = vec![0u8; size];
    for _ in 0..count {
        conn.write_all(&chunk).unwrap_or_else(|e| perf::fail("write", e));
    }
    conn.flush().unwrap_or_else(|e| perf::fail("flush", e));
}
