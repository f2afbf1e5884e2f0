//! oxmq `conn_server`: the memory one ROUTER (or PUB) spends per connected peer.
//! Twin: `zmq_conn_server`; the peers come from `zmtp_peers` (one process of raw
//! connections, the same client for both).
//!
//! `conn_server <router|pub> <bind-to> <n>` notes its VmRSS, binds the socket, waits until
//! `n` handshakes have succeeded (socket monitor), waits for its VmRSS to settle (the last
//! subscriptions, for PUB), and prints the growth per connection. Then it exits.

use oxmq::{Context, Event, SocketType};
use oxmq_cli as perf;
use std::time::{Duration, Instant};

fn main() {
    let [ty, bind_to, n] = perf::args::<3>("conn_server <router|pub> <bind-to> <connections>");
    let n = perf::number(&n, "connections").max(1);
    perf::raise_nofile_limit();
    let ty = match ty.as_str() {
        "router" => SocketType::Router,
        "pub" => SocketType::Pub,
        _ => perf::fail("arguments", format!("socket type must be router or pub, not {ty:?}")),
    };
    let ctx = Context::new();
    let s = ctx.socket(ty).unwrap_or_else(|e| perf::fail("socket", e));
    let monitor = s.monitor(Event::HandshakeSucceeded).unwrap_or_else(|e| perf::fail("monitor", e));
    // Before binding: the peers connect as soon as the listener is up.
    std::thread::sleep(Duration::from_millis(100));
    let before = perf::vm_rss_kib(None).unwrap_or(0);
    s.bind(&bind_to).unwrap_or_else(|e| perf::fail("bind", e));

    let deadline = Instant::now() + Duration::from_secs(120);
    let mut seen = 0;
    // The monitor queues up to 1000 events and counts the ones it had to drop: those
    // handshakes happened too.
    while seen + (monitor.dropped() as usize) < n {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            perf::fail("setup", format!("only {} of {n} handshakes succeeded", seen + monitor.dropped() as usize));
        }
        if monitor.recv_timeout(left).is_some_and(|ev| ev.event == Event::HandshakeSucceeded) {
            seen += 1;
        }
    }
    let after = perf::settled_rss();
    perf::print_conn_result(n, before, after);
    // Exit without closing the connections one by one: the measurement is done.
    std::process::exit(0);
}
