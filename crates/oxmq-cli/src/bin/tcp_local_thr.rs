//! `tcp_local_thr`: the raw-TCP ceiling for `local_thr`. Accepts one plain TCP connection
//! (no ZeroMQ at all) and reads `count` chunks of `chunk-size` bytes with reads of that size;
//! prints `local_thr`'s lines with each chunk counted as a message. The clock starts when
//! the first bytes arrive, as in `local_thr`.

use oxmq_cli as perf;
use std::io::Read;
use std::time::Instant;

fn main() {
    let [bind_to, size, count] = perf::args::<3>("tcp_local_thr <tcp://host:port> <chunk-size> <chunk-count>");
    let size = perf::number(&size, "chunk size").max(1);
    let count = perf::number(&count, "chunk count").max(1);
    let mut conn = perf::tcp_accept(&bind_to);

    let mut buf = vec![0u8; size];
    let total = size as u64 * count as u64;
    let mut got = 0u64;
    let mut start = None;
    while got < total {
        let want = (total - got).min(size as u64) as usize;
        match conn.read(&mut buf[..want]) {
            Ok(0) => perf::fail("read", format!("connection closed after {got} of {total} bytes")),
            Ok(n) => {
                start.get_or_insert_with(Instant::now);
                got += n as u64;
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => perf::fail("read", e),
        }
    }
    let elapsed = start.map(|s| s.elapsed()).unwrap_or_default();
    perf::print_thr_header(size, count);
    perf::print_thr_result(size, count, elapsed);
}
