//! `tcp_remote_lat`: the raw-TCP floor for `remote_lat`. Connects a plain TCP socket (no
//! ZeroMQ; blocking, TCP_NODELAY), does `roundtrip-count` ping-pongs of `message-size` bytes
//! (one write, then read the whole echo) and prints the one-way latency as `remote_lat` does
//! (elapsed / 2 / roundtrips): the least a roundtrip over this loopback costs.

use oxmq_cli as perf;
use std::io::{Read, Write};

fn main() {
    let [connect_to, size, roundtrips] =
        perf::args::<3>("tcp_remote_lat <tcp://host:port> <message-size> <roundtrip-count>");
    let size = perf::number(&size, "message size").max(1);
    let roundtrips = perf::number(&roundtrips, "roundtrip count");
    let mut conn = perf::tcp_connect(&connect_to);
    conn.set_nodelay(true).unwrap_or_else(|e| perf::fail("TCP_NODELAY", e));

    let mut buf = vec![0u8; size];
    let elapsed = perf::time_roundtrips(size, roundtrips, || {
        conn.write_all(&buf).unwrap_or_else(|e| perf::fail("write", e));
        conn.read_exact(&mut buf).unwrap_or_else(|e| perf::fail("read", e));
        buf.len()
    });

    perf::print_lat_header(size, roundtrips);
    perf::print_lat_result(roundtrips, elapsed);
}
