//! oxmq `hwm_fill`: how many messages a PUSH can queue towards a PULL that never reads,
//! and what that costs the sender in memory. Twin: `zmq_hwm_fill`.
//!
//! `hwm_fill pull <endpoint> <hwm> <size>` binds a PULL with RCVHWM=hwm and never reads
//! (it sleeps until killed, at most 10 minutes).
//! `hwm_fill push <endpoint> <hwm> <size>` connects a PUSH with SNDHWM=hwm and LINGER=0,
//! waits for the handshake, then sends without blocking until the send fails with EAGAIN
//! and keeps failing for 0.5 s (the I/O side may still be moving messages out). It prints
//! the messages queued and the growth of its own VmRSS over the sends.

use oxmq::{Context, Error, Event, SocketType};
use oxmq_cli as perf;
use std::time::{Duration, Instant};

fn main() {
    let [role, endpoint, hwm, size] = perf::args::<4>("hwm_fill <pull|push> <endpoint> <hwm> <message-size>");
    let hwm = i32::try_from(perf::number(&hwm, "hwm")).unwrap_or_else(|e| perf::fail("hwm", e));
    let size = perf::number(&size, "message size");
    let ctx = Context::new();
    match role.as_str() {
        "pull" => {
            let s = ctx.socket(SocketType::Pull).unwrap_or_else(|e| perf::fail("socket", e));
            s.set_rcvhwm(hwm).unwrap_or_else(|e| perf::fail("setsockopt RCVHWM", e));
            s.bind(&endpoint).unwrap_or_else(|e| perf::fail("bind", e));
            std::thread::sleep(Duration::from_secs(600));
        }
        "push" => {
            let s = ctx.socket(SocketType::Push).unwrap_or_else(|e| perf::fail("socket", e));
            s.set_sndhwm(hwm).unwrap_or_else(|e| perf::fail("setsockopt SNDHWM", e));
            s.set_linger(0).unwrap_or_else(|e| perf::fail("setsockopt LINGER", e));
            let monitor = s.monitor(Event::HandshakeSucceeded).unwrap_or_else(|e| perf::fail("monitor", e));
            s.connect(&endpoint).unwrap_or_else(|e| perf::fail("connect", e));
            if monitor.recv_timeout(perf::SETUP_TIMEOUT).is_none() {
                perf::fail("connect", "no handshake");
            }
            let rss0 = perf::vm_rss_kib(None).unwrap_or(0);
            let mut queued = 0u64;
            let mut last_progress = Instant::now();
            while last_progress.elapsed() < Duration::from_millis(500) {
                loop {
                    match s.try_send(perf::zeroed_body(size), false) {
                        Ok(()) => {
                            queued += 1;
                            last_progress = Instant::now();
                        }
                        Err(Error::Again) => break,
                        Err(e) => perf::fail("send", e),
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let rss1 = perf::vm_rss_kib(None).unwrap_or(0);
            perf::print_figure("message size", size, "B");
            perf::print_figure("hwm", hwm, "msg");
            perf::print_figure("queued", queued, "msg");
            perf::print_figure("sender rss growth", rss1.saturating_sub(rss0), "KiB");
        }
        _ => perf::fail("arguments", format!("role must be pull or push, not {role:?}")),
    }
    // LINGER 0 on the PUSH: nothing waits for the stuck messages.
    ctx.term();
}
