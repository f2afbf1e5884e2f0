//! libzmq `conn_server`: the twin of oxmq's `conn_server` (same arguments, output,
//! structure): the memory one ROUTER (or PUB) spends per connected `zmtp_peers` peer.

use oxmq_libzmq_perf::{self as perf, HandshakeMonitor};
use std::time::{Duration, Instant};

fn main() {
    let [ty, bind_to, n] = perf::args::<3>("zmq_conn_server <router|pub> <bind-to> <connections>");
    let n = perf::number(&n, "connections").max(1);
    perf::raise_nofile_limit();
    let ty = match ty.as_str() {
        "router" => zmq::ROUTER,
        "pub" => zmq::PUB,
        _ => perf::fail("arguments", format!("socket type must be router or pub, not {ty:?}")),
    };
    let ctx = zmq::Context::new();
    let s = ctx.socket(ty).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    let monitor = HandshakeMonitor::new(&ctx, &s, "server").unwrap_or_else(|e| perf::fail("zmq_socket_monitor", e));
    // Before binding: the peers connect as soon as the listener is up.
    std::thread::sleep(Duration::from_millis(100));
    let before = perf::vm_rss_kib(None).unwrap_or(0);
    s.bind(&bind_to).unwrap_or_else(|e| perf::fail("zmq_bind", e));

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    while seen < n {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            perf::fail("setup", format!("only {seen} of {n} handshakes succeeded"));
        }
        if monitor.next(left) {
            seen += 1;
        }
    }
    let after = perf::settled_rss();
    perf::print_conn_result(n, before, after);
    // Exit without closing 10,000 connections one by one: the measurement is done.
    std::process::exit(0);
}
