//! `tcp_local_lat`: the raw-TCP floor for `local_lat`. Accepts one plain TCP connection (no
//! ZeroMQ at all; blocking socket, TCP_NODELAY) and echoes `roundtrip-count` messages of
//! `message-size` bytes: reads each whole, then writes it back with one write.

use oxmq_cli as perf;
use std::io::{Read, Write};

fn main() {
    let [bind_to, size, roundtrips] =
        perf::args::<3>("tcp_local_lat <tcp://host:port> <message-size> <roundtrip-count>");
    // A TCP ping-pong needs a byte to carry; an empty ZeroMQ message still sends a frame header.
    let size = perf::number(&size, "message size").max(1);
    let roundtrips = perf::number(&roundtrips, "roundtrip count");
    let mut conn = perf::tcp_accept(&bind_to);
    conn.set_nodelay(true).unwrap_or_else(|e| perf::fail("TCP_NODELAY", e));

    let mut buf = vec![0u8; size];
    for _ in 0..roundtrips {
        conn.read_exact(&mut buf).unwrap_or_else(|e| perf::fail("read", e));
        conn.write_all(&buf).unwrap_or_else(|e| perf::fail("write", e));
    }
}
