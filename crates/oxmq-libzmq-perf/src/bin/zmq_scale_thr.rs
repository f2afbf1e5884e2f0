//! libzmq `scale_thr`: the twin of oxmq's `scale_thr` (same arguments, output and
//! structure): one socket and `peers` sockets in one process and one context.
//! Patterns: one PUSH -> many PULL, one XPUB (XPUB_NODROP) -> many SUB, many DEALER -> one ROUTER.

use oxmq_libzmq_perf::{self as perf, HandshakeMonitor, Pattern, RecvCounter, Role, ScaleArgs};
use std::sync::Barrier;
use std::time::Instant;

fn main() {
    let a = ScaleArgs::from_env(&format!("zmq_{}", perf::SCALE_USAGE));
    perf::raise_nofile_limit();
    let ctx = zmq::Context::new();
    if a.peers + 4 > 1023 {
        // libzmq's default ZMQ_MAX_SOCKETS, which rust-zmq 0.9 cannot raise.
        perf::fail("arguments", "at most 1019 peers (libzmq's ZMQ_MAX_SOCKETS is 1023)");
    }
    match a.role {
        Role::One => one(&ctx, &a, None),
        Role::Many => many(&ctx, &a, None),
        Role::Both => {
            // Bind, then connect every peer, then send: with inproc each connection is
            // attached when connect returns, and there is no handshake to wait for.
            let sync = std::sync::Arc::new(Barrier::new(2));
            let one_side = {
                let (ctx, a, sync) = (ctx.clone(), a.clone(), sync.clone());
                std::thread::spawn(move || {
                    a.pin_side(true);
                    one(&ctx, &a, Some(&sync))
                })
            };
            a.pin_side(false);
            many(&ctx, &a, Some(&sync));
            one_side.join().expect("one side");
        }
    }
}

fn msg(size: usize) -> zmq::Message {
    // One fresh message per send, like remote_thr (rust-zmq zero-fills it).
    zmq::Message::with_size(size)
}

/// The single socket: binds; sends (PUSH, PUB) or receives (ROUTER).
fn one(ctx: &zmq::Context, a: &ScaleArgs, sync: Option<&Barrier>) {
    let ty = match a.pattern {
        Pattern::Push => zmq::PUSH,
        Pattern::Pub => zmq::XPUB,
        Pattern::Router => zmq::ROUTER,
    };
    let mut s = ctx.socket(ty).unwrap_or_else(|e| perf::fail("zmq_socket", e));
    if a.pattern == Pattern::Pub {
        perf::set_int_option(&mut s, zmq_sys::ZMQ_XPUB_NODROP, 1)
            .unwrap_or_else(|e| perf::fail("zmq_setsockopt XPUB_NODROP", e));
        s.set_xpub_verbose(true).unwrap_or_else(|e| perf::fail("zmq_setsockopt XPUB_VERBOSE", e));
    }
    let monitor = HandshakeMonitor::new(ctx, &s, "one").unwrap_or_else(|e| perf::fail("zmq_socket_monitor", e));
    s.bind(&a.endpoint).unwrap_or_else(|e| perf::fail("zmq_bind", e));
    if let Some(b) = sync {
        b.wait(); // bound
        b.wait(); // every peer connected
    }

    if a.one_receives() {
        let mut c = RecvCounter::new(a.total_received(), a.size);
        let mut m = zmq::Message::new();
        while !c.done() {
            // [routing id, body]
            s.recv(&mut m, 0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
            while m.get_more() {
                s.recv(&mut m, 0).unwrap_or_else(|e| perf::fail("zmq_recvmsg", e));
            }
            c.record(m.len());
        }
        c.print();
        return;
    }

    // Wait until every peer is there before sending, so that the load is spread over all
    // of them: PUB sees each subscription (XPUB_VERBOSE), PUSH each finished handshake.
    let deadline = Instant::now() + perf::SETUP_TIMEOUT;
    let mut seen = 0;
    let wait_for_peers = a.pattern == Pattern::Pub || sync.is_none();
    while wait_for_peers && seen < a.peers {
        let left = deadline.saturating_duration_since(Instant::now());
        if left.is_zero() {
            perf::fail("setup", format!("only {seen} of {} peers arrived", a.peers));
        }
        if a.pattern == Pattern::Pub {
            s.set_rcvtimeo(left.as_millis().min(i32::MAX as u128) as i32)
                .unwrap_or_else(|e| perf::fail("zmq_setsockopt", e));
            match s.recv_bytes(0) {
                Ok(sub) if sub.first() == Some(&1) => seen += 1,
                Ok(_) => {}
                Err(e) => perf::fail("zmq_recv (subscription)", e),
            }
        } else if monitor.next(left) {
            seen += 1;
        }
    }
    for _ in 0..a.sends_per_sender() {
        s.send(msg(a.size), 0).unwrap_or_else(|e| perf::fail("zmq_sendmsg", e));
    }
    drop(monitor);
    // ZMQ_LINGER -1: the context's end waits until every queued message is handed over.
    drop(s);
}

/// The `peers` sockets: connect; receive (PULL, SUB) or send (DEALER).
fn many(ctx: &zmq::Context, a: &ScaleArgs, sync: Option<&Barrier>) {
    if let Some(b) = sync {
        b.wait(); // the one socket is bound
    }
    let ty = match a.pattern {
        Pattern::Push => zmq::PULL,
        Pattern::Pub => zmq::SUB,
        Pattern::Router => zmq::DEALER,
    };
    let socks: Vec<zmq::Socket> = (0..a.peers)
        .map(|_| {
            let s = ctx.socket(ty).unwrap_or_else(|e| perf::fail("zmq_socket", e));
            if a.pattern == Pattern::Pub {
                s.set_subscribe(b"").unwrap_or_else(|e| perf::fail("zmq_setsockopt SUBSCRIBE", e));
            }
            s.connect(&a.endpoint).unwrap_or_else(|e| perf::fail("zmq_connect", e));
            s
        })
        .collect();
    if let Some(b) = sync {
        b.wait(); // every peer connected
    }

    if a.one_receives() {
        // Each DEALER sends its share; a full one is skipped until poll says it can take more.
        let mut left: Vec<usize> = vec![a.sends_per_sender(); socks.len()];
        let mut remaining: usize = left.iter().sum();
        while remaining > 0 {
            let mut progress = false;
            for (s, n) in socks.iter().zip(left.iter_mut()) {
                if *n == 0 {
                    continue;
                }
                match s.send(msg(a.size), zmq::DONTWAIT) {
                    Ok(()) => {
                        *n -= 1;
                        remaining -= 1;
                        progress = true;
                    }
                    Err(zmq::Error::EAGAIN) => {}
                    Err(e) => perf::fail("zmq_sendmsg", e),
                }
            }
            if !progress {
                let mut items: Vec<zmq::PollItem> = socks
                    .iter()
                    .zip(&left)
                    .filter(|(_, n)| **n > 0)
                    .map(|(s, _)| s.as_poll_item(zmq::POLLOUT))
                    .collect();
                zmq::poll(&mut items, perf::SETUP_TIMEOUT.as_millis() as i64)
                    .unwrap_or_else(|e| perf::fail("zmq_poll", e));
            }
        }
        drop(socks);
        return;
    }

    // Drain every socket in turn; poll all of them when a whole round found nothing.
    let mut c = RecvCounter::new(a.total_received(), a.size);
    let mut m = zmq::Message::new();
    while !c.done() {
        let mut progress = false;
        for s in &socks {
            loop {
                match s.recv(&mut m, zmq::DONTWAIT) {
                    Ok(()) => {
                        c.record(m.len());
                        progress = true;
                    }
                    Err(zmq::Error::EAGAIN) => break,
                    Err(e) => perf::fail("zmq_recvmsg", e),
                }
            }
        }
        if !progress {
            let mut items: Vec<zmq::PollItem> = socks.iter().map(|s| s.as_poll_item(zmq::POLLIN)).collect();
            zmq::poll(&mut items, perf::SETUP_TIMEOUT.as_millis() as i64).unwrap_or_else(|e| perf::fail("zmq_poll", e));
        }
    }
    c.print();
}
