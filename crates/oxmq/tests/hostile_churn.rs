//! Hostile numbers of connections: hundreds dropped at every stage of the handshake, many left
//! open and idle, thousands opened and dropped while a monitor counts them. oxmq must leak no
//! file descriptors, balance every connection's monitor events, and keep serving a
//! well-behaved peer.

mod common;

use std::time::{Duration, Instant};

use common::hostile::*;
use common::*;
use oxmq::{Context, Event, Monitor};

/// Monitor tallies of ACCEPTED and DISCONNECTED.
#[derive(Default, Debug)]
struct Tally {
    accepted: usize,
    disconnected: usize,
}

impl Tally {
    /// Count events until `done` holds, for at most `within`; false if it never did.
    fn until(&mut self, mon: &Monitor, within: Duration, done: impl Fn(&Tally) -> bool) -> bool {
        let deadline = Instant::now() + within;
        while !done(self) {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some(ev) = mon.recv_timeout(left) else { return false };
            match ev.event {
                Event::Accepted => self.accepted += 1,
                Event::Disconnected => self.disconnected += 1,
                other => panic!("unexpected event {other}"),
            }
        }
        true
    }
}

/// Open and drop `n` raw connections to `ep` in bursts, each left at a stage of its life: no
/// bytes, part of the greeting, the greeting, part of the READY, or a full handshake as
/// `peer_type` then part of a frame; half of them end with a reset instead of a FIN. Returns
/// the most file descriptors the process had open meanwhile.
fn churn(mon: &Monitor, ep: &str, peer_type: &str, n: usize) -> usize {
    const BURST: usize = 50;
    let g = greeting();
    let ready = ready_as(peer_type);
    let mut tally = Tally::default();
    let mut peak = 0;
    for start in (0..n).step_by(BURST) {
        let end = (start + BURST).min(n);
        let mut burst = Vec::with_capacity(BURST);
        for i in start..end {
            let mut raw = RawPeer::connect(ep);
            let _ = match i % 5 {
                0 => Ok(()),
                1 => raw.write(&g[..1 + i % 63]),
                2 => raw.write(&g),
                3 => raw.write(&[&g[..], &ready[..1 + i % (ready.len() - 1)]].concat()),
                _ => raw.write(&[&g[..], &ready, &[0x00, 0x10, b'p', b'a', b'r', b't']].concat()),
            };
            if i % 2 == 0 {
                socket2::SockRef::from(&raw.stream).set_linger(Some(Duration::ZERO)).unwrap();
            }
            burst.push(raw);
        }
        // Every connection of the burst reached oxmq before it is dropped (a burst never fills
        // the listen backlog of 100, and the kernel does not lose connections the client
        // already dropped), and the previous burst's are being closed.
        let caught_up =
            tally.until(mon, Duration::from_secs(10), |t| t.accepted == end && t.disconnected + 2 * BURST >= end);
        assert!(caught_up, "oxmq fell behind accepting or closing: {tally:?} after {end} connections");
        peak = peak.max(open_fds());
        drop(burst);
    }
    let balanced = tally.until(mon, Duration::from_secs(20), |t| t.accepted == n && t.disconnected == n);
    assert!(balanced, "after {n} connections: {tally:?}");
    assert_eq!(mon.dropped(), 0, "the monitor kept up");
    peak
}

// ---------------------------------------------------------------- churn

#[test]
fn two_hundred_connections_dropped_at_every_stage() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let g = greeting();
    for i in 0..200 {
        let mut raw = RawPeer::connect(&ep);
        match i % 5 {
            0 => {}
            1 => {
                let _ = raw.write(&g[..1 + i % 40]);
            }
            2 => {
                let _ = raw.write(&g);
            }
            3 => {
                let _ = raw.write(&g);
                let _ = raw.write(&ready_as("PUSH")[..5]);
            }
            _ => {
                let _ = raw.write(b"\x00\x00\x00garbage");
            }
        }
    }
    assert_pull_serves(&ctx, &pull, &ep);
    // And a raw peer still completes a handshake.
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    raw.write(&frame(0, b"still here")).unwrap();
    assert_eq!(pull.recv().unwrap(), "still here");
}

#[test]
fn many_open_idle_connections_do_not_block_a_good_peer() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let idle: Vec<RawPeer> = (0..50).map(|_| RawPeer::connect(&ep)).collect();
    assert_pull_serves(&ctx, &pull, &ep);
    drop(idle);
}

// ---------------------------------------------------------------- thousands of connections

#[test]
fn thousands_of_dropped_connections_leak_no_fds_and_balance_their_events() {
    if !common::in_a_process_of_its_own("thousands_of_dropped_connections_leak_no_fds_and_balance_their_events") {
        return; // it counts the process's file descriptors: alone in its process
    }
    const N: usize = 3000;
    let ctx = Context::new();
    let events = Event::Accepted | Event::Disconnected;

    // PULL.
    let (pull, mon, ep) = monitored_pull(&ctx, events, None);
    let baseline = open_fds();
    let t = Instant::now();
    let peak = churn(&mon, &ep, "PUSH", N);
    eprintln!("PULL: {N} connections opened and dropped in {:?}; fds {baseline} before, {peak} at most", t.elapsed());
    assert!(peak > baseline + 50, "the fd count sees the connections: {peak} vs {baseline}");
    assert_pull_serves(&ctx, &pull, &ep);
    // The good peer's connection, made and ended by assert_pull_serves, balances too.
    let mut tally = Tally::default();
    assert!(tally.until(&mon, SOON, |t| t.accepted == 1 && t.disconnected == 1), "{tally:?}");
    let back = eventually(Duration::from_secs(5), || (open_fds() == baseline).then_some(()));
    assert!(back.is_some(), "PULL: {} fds open, {baseline} before the churn", open_fds());
    drop(pull);

    // ROUTER.
    let router = oxmq::Router::new(&ctx).unwrap();
    router.set_rcvtimeo(TIMEO_MS).unwrap();
    router.set_sndtimeo(TIMEO_MS).unwrap();
    let mon = router.monitor(events).unwrap();
    router.bind("tcp://127.0.0.1:*").unwrap();
    let ep = router.last_endpoint().unwrap();
    let baseline = open_fds();
    let t = Instant::now();
    let peak = churn(&mon, &ep, "DEALER", N);
    eprintln!("ROUTER: {N} connections opened and dropped in {:?}; fds {baseline} before, {peak} at most", t.elapsed());
    assert!(peak > baseline + 50, "the fd count sees the connections: {peak} vs {baseline}");
    {
        let dealer = oxmq::Dealer::new(&ctx).unwrap();
        dealer.set_linger(0).unwrap();
        dealer.set_rcvtimeo(TIMEO_MS).unwrap();
        dealer.connect(&ep).unwrap();
        dealer.send("hello").unwrap();
        let req = router.recv_multipart().expect("a good DEALER is served after the churn");
        assert_eq!(req[1], "hello");
        router.send_multipart([req[0].clone(), "welcome".into()]).unwrap();
        assert_eq!(dealer.recv().unwrap(), "welcome");
    }
    let mut tally = Tally::default();
    assert!(tally.until(&mon, SOON, |t| t.accepted == 1 && t.disconnected == 1), "{tally:?}");
    let back = eventually(Duration::from_secs(5), || (open_fds() == baseline).then_some(()));
    assert!(back.is_some(), "ROUTER: {} fds open, {baseline} before the churn", open_fds());
}
