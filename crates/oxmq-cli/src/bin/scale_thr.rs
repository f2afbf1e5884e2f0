//! oxmq `scale_thr`: throughput between one socket and `peers` sockets, the peers all in
//! one process and one context. Patterns: one PUSH -> many PULL, one PUB (an XPUB with
//! XPUB_NODROP, so nothing is dropped) -> many SUB, many DEALER -> one ROUTER.
//! The receiving side prints `local_thr`'s lines, counting every message of every
//! receiving socket; for PUB the count is the messages delivered to all subscribers.
//! Its libzmq twin is `zmq_scale_thr` (crates/oxmq-libzmq-perf), same structure.

use oxmq::{Context, Error, Event, PollEvents, PollItem, Socket, SocketType};
use oxmq_cli::{self as perf, Pattern, RecvCounter, Role, ScaleArgs};
use std::sync::Barrier;
use std::time::Instant;

fn main() {
    let a = ScaleArgs::from_env(perf::SCALE_USAGE);
    perf::raise_nofile_limit();
    let ctx = Context::new();
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
    ctx.term();
}

fn msg(size: usize) -> Vec<u8> {
    // One fresh zero-filled buffer per message, like remote_thr.
    perf::zeroed_body(size)
}

/// The single socket: binds; sends (PUSH, PUB) or receives (ROUTER).
fn one(ctx: &Context, a: &ScaleArgs, sync: Option<&Barrier>) {
    let ty = match a.pattern {
        Pattern::Push => SocketType::Push,
        Pattern::Pub => SocketType::XPub,
        Pattern::Router => SocketType::Router,
    };
    let s = ctx.socket(ty).unwrap_or_else(|e| perf::fail("socket", e));
    if a.pattern == Pattern::Pub {
        s.set_xpub_nodrop(true).unwrap_or_else(|e| perf::fail("setsockopt XPUB_NODROP", e));
        s.set_xpub_verbose(true).unwrap_or_else(|e| perf::fail("setsockopt XPUB_VERBOSE", e));
    }
    let monitor = s.monitor(Event::HandshakeSucceeded).unwrap_or_else(|e| perf::fail("monitor", e));
    s.bind(&a.endpoint).unwrap_or_else(|e| perf::fail("bind", e));
    if let Some(b) = sync {
        b.wait(); // bound
        b.wait(); // every peer connected
    }

    if a.one_receives() {
        let mut c = RecvCounter::new(a.total_received(), a.size);
        while !c.done() {
            let parts = s.recv_multipart().unwrap_or_else(|e| perf::fail("recv", e));
            c.record(parts.last().map_or(0, |p| p.len()));
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
                .unwrap_or_else(|e| perf::fail("setsockopt", e));
            match s.recv() {
                Ok(sub) if sub.first() == Some(&1) => seen += 1,
                Ok(_) => {}
                Err(e) => perf::fail("recv (subscription)", e),
            }
        } else if monitor.recv_timeout(left).is_some_and(|ev| ev.event == Event::HandshakeSucceeded) {
            seen += 1;
        }
    }
    for _ in 0..a.sends_per_sender() {
        s.send(msg(a.size)).unwrap_or_else(|e| perf::fail("send", e));
    }
    drop(monitor);
    // LINGER -1: closing waits until every queued message is handed over.
    drop(s);
}

/// The `peers` sockets: connect; receive (PULL, SUB) or send (DEALER).
fn many(ctx: &Context, a: &ScaleArgs, sync: Option<&Barrier>) {
    if let Some(b) = sync {
        b.wait(); // the one socket is bound
    }
    let ty = match a.pattern {
        Pattern::Push => SocketType::Pull,
        Pattern::Pub => SocketType::Sub,
        Pattern::Router => SocketType::Dealer,
    };
    let socks: Vec<Socket> = (0..a.peers)
        .map(|_| {
            let s = ctx.socket(ty).unwrap_or_else(|e| perf::fail("socket", e));
            if ty == SocketType::Sub {
                s.subscribe(b"").unwrap_or_else(|e| perf::fail("subscribe", e));
            }
            s.connect(&a.endpoint).unwrap_or_else(|e| perf::fail("connect", e));
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
                match s.try_send(msg(a.size), false) {
                    Ok(()) => {
                        *n -= 1;
                        remaining -= 1;
                        progress = true;
                    }
                    Err(Error::Again) => {}
                    Err(e) => perf::fail("send", e),
                }
            }
            if !progress {
                let mut items: Vec<PollItem> = socks
                    .iter()
                    .zip(&left)
                    .filter(|(_, n)| **n > 0)
                    .map(|(s, _)| PollItem::socket(s, PollEvents::OUT))
                    .collect();
                oxmq::poll(&mut items, Some(perf::SETUP_TIMEOUT)).unwrap_or_else(|e| perf::fail("poll", e));
            }
        }
        drop(socks);
        return;
    }

    // Drain every socket in turn; poll all of them when a whole round found nothing.
    let mut c = RecvCounter::new(a.total_received(), a.size);
    while !c.done() {
        let mut progress = false;
        for s in &socks {
            loop {
                match s.try_recv() {
                    Ok(m) => {
                        c.record(m.len());
                        progress = true;
                    }
                    Err(Error::Again) => break,
                    Err(e) => perf::fail("recv", e),
                }
            }
        }
        if !progress {
            let mut items: Vec<PollItem> = socks.iter().map(|s| PollItem::socket(s, PollEvents::IN)).collect();
            oxmq::poll(&mut items, Some(perf::SETUP_TIMEOUT)).unwrap_or_else(|e| perf::fail("poll", e));
        }
    }
    c.print();
}
