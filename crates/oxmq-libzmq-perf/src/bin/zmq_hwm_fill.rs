//! libzmq `hwm_fill`: the twin of oxmq's `hwm_fill` (same arguments, output, structure):
//! how many messages a PUSH can queue towards a PULL that never reads, and the sender's
//! VmRSS growth.

use oxmq_libzmq_perf::{self as perf, HandshakeMonitor};
use std::time::{Duration, Instant};

fn main() {
    let [role, endpoint, hwm, size] = perf::args::<4>("zmq_hwm_fill <pull|push> <endpoint> <hwm> <message-size>");
    let hwm = i32::try_from(perf::number(&hwm, "hwm")).unwrap_or_else(|e| perf::fail("hwm", e));
    let size = perf::number(&size, "message size");
    let ctx = zmq::Context::new();
    match role.as_str() {
        "pull" => {
            let s = ctx.socket(zmq::PULL).unwrap_or_else(|e| perf::fail("zmq_socket", e));
            s.set_rcvhwm(hwm).unwrap_or_else(|e| perf::fail("zmq_setsockopt RCVHWM", e));
            s.bind(&endpoint).unwrap_or_else(|e| perf::fail("zmq_bind", e));
            std::thread::sleep(Duration::from_secs(600));
        }
        "push" => {
            let s = ctx.socket(zmq::PUSH).unwrap_or_else(|e| perf::fail("zmq_socket", e));
            s.set_sndhwm(hwm).unwrap_or_else(|e| perf::fail("zmq_setsockopt SNDHWM", e));
            s.set_linger(0).unwrap_or_else(|e| perf::fail("zmq_setsockopt LINGER", e));
            let monitor =
                HandshakeMonitor::new(&ctx, &s, "push").unwrap_or_else(|e| perf::fail("zmq_socket_monitor", e));
            s.connect(&endpoint).unwrap_or_else(|e| perf::fail("zmq_connect", e));
            if !monitor.next(perf::SETUP_TIMEOUT) {
                perf::fail("zmq_connect", "no handshake");
            }
            let rss0 = perf::vm_rss_kib(None).unwrap_or(0);
            let mut queued = 0u64;
            let mut last_progress = Instant::now();
            while last_progress.elapsed() < Duration::from_millis(500) {
                loop {
                    match s.send(zmq::Message::with_size(size), zmq::DONTWAIT) {
                        Ok(()) => {
                            queued += 1;
                            last_progress = Instant::now();
                        }
                        Err(zmq::Error::EAGAIN) => break,
                        Err(e) => perf::fail("zmq_sendmsg", e),
                    }
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let rss1 = perf::vm_rss_kib(None).unwrap_or(0);
            perf::print_figure("message size", size, "B");
            perf::print_figure("hwm", hwm, "msg");
            perf::print_figure("queued", queued, "msg");
            perf::print_figure("sender rss growth", rss1.saturating_sub(rss0), "KiB");
            drop(monitor);
            drop(s);
        }
        _ => perf::fail("arguments", format!("role must be pull or push, not {role:?}")),
    }
    // ZMQ_LINGER 0 on the PUSH: nothing waits for the stuck messages.
}
