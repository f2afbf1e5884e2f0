//! ZMTP 3.1 heartbeats: the PINGs oxmq sends (HEARTBEAT_IVL, with HEARTBEAT_TTL), the
//! connections it closes when a peer stops answering (HEARTBEAT_TIMEOUT) or goes silent after
//! a PING with a TTL, and the connections it keeps while the peer answers. Raw ZMTP peers
//! play the peer where its behaviour must be exact; oxmq peers where it must just work.

mod common;

use std::net::TcpListener;
use std::time::{Duration, Instant};

use common::*;
use oxmq::{Context, Event, EventMask, Monitor, Pub, Pull, Push, Sub};

/// The next frame from oxmq, which must be a PING; returns its TTL and context.
fn read_ping(raw: &mut RawPeer) -> (u16, Vec<u8>) {
    let f = raw.read_frame();
    assert_eq!(f.command_name(), Some("PING"), "expected a PING from oxmq, got {f:?}");
    let data = f.command_data();
    assert!(data.len() >= 2, "a PING carries a 2-byte TTL: {f:?}");
    (u16::from_be_bytes([data[0], data[1]]), data[2..].to_vec())
}

/// A bound PULL with the given heartbeat options and a monitor for DISCONNECTED (and CLOSED,
/// for markers).
fn heartbeating_pull(ctx: &Context, ivl: i32, timeout: i32, ttl: i32) -> (Pull, Monitor, String) {
    let pull = Pull::new(ctx).unwrap();
    pull.set_heartbeat_ivl(ivl).unwrap();
    pull.set_heartbeat_timeout(timeout).unwrap();
    pull.set_heartbeat_ttl(ttl).unwrap();
    let mon = pull.monitor(Event::Disconnected | Event::Closed).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    (pull, mon, ep)
}

fn expect_disconnected(mon: &Monitor, ep: &str) {
    let ev = mon.recv_timeout(SOON).expect("a DISCONNECTED event");
    assert_eq!((ev.event, ev.endpoint.as_str()), (Event::Disconnected, ep));
}

#[test]
fn pings_carry_the_ttl_in_deciseconds_and_no_context() {
    let ctx = Context::new();
    // 1550 ms is kept as 1500 ms: 15 deciseconds on the wire, big-endian.
    let (pull, _mon, ep) = heartbeating_pull(&ctx, 50, 0, 1550);
    assert_eq!(pull.heartbeat_ttl().unwrap(), 1500);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let f = raw.read_frame();
    assert_eq!(f.body, b"\x04PING\x00\x0f", "PING with TTL 15 ds and no context: {f:?}");

    let (_pull, _mon, ep) = heartbeating_pull(&ctx, 50, 0, 0);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    assert_eq!(read_ping(&mut raw), (0, vec![]));
}

#[test]
fn unanswered_pings_close_the_connection_after_the_timeout() {
    let ctx = Context::new();
    let (ivl, timeout) = (100, 300);
    let (pull, mon, ep) = heartbeating_pull(&ctx, ivl, timeout, 0);
    let connected = Instant::now();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let handshaken = Instant::now();
    read_ping(&mut raw);
    // The raw peer reads oxmq's PINGs but never answers.
    raw.expect_closed(SOON);
    let (since_connect, since_handshake) = (connected.elapsed(), handshaken.elapsed());
    let (ivl, timeout) = (Duration::from_millis(ivl as u64), Duration::from_millis(timeout as u64));
    // The timeout starts with the first PING, one interval after the handshake.
    assert!(since_connect >= ivl + timeout, "closed after only {since_connect:?}");
    assert!(since_handshake < 5 * (ivl + timeout), "closed only after {since_handshake:?}");
    expect_disconnected(&mon, &ep);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn answered_pings_keep_an_idle_connection_until_the_answers_stop() {
    let ctx = Context::new();
    let (pull, mon, ep) = heartbeating_pull(&ctx, 50, 100, 0);
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    // Answer every PING for 20 intervals, sending nothing else.
    let start = Instant::now();
    let mut pings = 0;
    while start.elapsed() < Duration::from_secs(1) {
        let (_, context) = read_ping(&mut raw);
        raw.write(&command("PONG", &context)).unwrap();
        pings += 1;
    }
    assert!(pings >= 5, "only {pings} PINGs in a second at a 50 ms interval");
    // No quiet window or marker here: the peer must answer each PING within 100 ms. The marker
    // at the end shows that the one DISCONNECTED there was the only one.
    assert!(mon.try_recv().is_none(), "the connection must still be up");
    raw.write(&frame(0, b"still here")).unwrap();
    assert_eq!(pull.recv().unwrap(), "still here");
    // Now stop answering.
    let silent = Instant::now();
    raw.expect_closed(SOON);
    assert!(silent.elapsed() < Duration::from_millis(5 * 150), "closed only after {:?}", silent.elapsed());
    expect_disconnected(&mon, &ep);
    expect_no_event_before(&mon, &pull);
}

#[test]
fn connecter_reconnects_after_a_heartbeat_timeout() {
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ep = format!("tcp://{}", listener.local_addr().unwrap());
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    push.set_reconnect_ivl(50).unwrap();
    // HEARTBEAT_TIMEOUT left at -1: it is HEARTBEAT_IVL.
    push.set_heartbeat_ivl(100).unwrap();
    assert_eq!(push.heartbeat_timeout().unwrap(), -1);
    let mon = push.monitor(EventMask::ALL).unwrap();
    push.connect(&ep).unwrap();

    let accept = |listener: &TcpListener| {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(Duration::from_secs(2))).unwrap();
        RawPeer { stream }
    };
    let mut first = accept(&listener);
    let accepted = Instant::now();
    first.handshake("PULL");
    read_ping(&mut first);
    first.expect_closed(SOON);
    let elapsed = accepted.elapsed();
    assert!(elapsed >= Duration::from_millis(200), "closed after only {elapsed:?} (interval + timeout is 200 ms)");
    assert!(elapsed < Duration::from_millis(5 * 200), "closed only after {elapsed:?}");

    let listener = within(SOON, move || {
        let peer = accept(&listener);
        (listener, peer)
    });
    let (_listener, mut second) = listener.expect("oxmq reconnects after the heartbeat timeout");
    second.handshake("PULL");
    push.send("after").unwrap();
    loop {
        let f = second.read_frame();
        if !f.is_command() {
            assert_eq!(f.body, b"after");
            break;
        }
    }

    let events: Vec<Event> = std::iter::from_fn(|| mon.try_recv()).map(|e| e.event).collect();
    let expected_start = [
        Event::ConnectDelayed,
        Event::Connected,
        Event::HandshakeSucceeded,
        Event::Disconnected,
        Event::ConnectRetried,
        Event::ConnectDelayed,
        Event::Connected,
        Event::HandshakeSucceeded,
    ];
    assert_eq!(events, expected_start, "monitor events of the timed-out connection and the reconnect");
}

#[test]
fn peer_ping_ttl_closes_a_connection_that_goes_silent() {
    let ctx = Context::new();
    // No heartbeats of our own: the peer's TTL alone applies, as with libzmq.
    let pull = Pull::new(&ctx).unwrap();
    let mon = pull.monitor(Event::Disconnected).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let pinged = Instant::now();
    raw.write(&ping(3, b"ctx")).unwrap();
    let pong = raw.read_frame();
    assert_eq!(pong.body, b"\x04PONGctx", "the PONG echoes the PING's context: {pong:?}");
    raw.expect_closed(SOON);
    let elapsed = pinged.elapsed();
    assert!(elapsed >= Duration::from_millis(300), "closed after only {elapsed:?} (TTL 300 ms)");
    assert!(elapsed < Duration::from_millis(5 * 300), "closed only after {elapsed:?}");
    expect_disconnected(&mon, &ep);
}

#[test]
fn traffic_after_a_peer_ping_cancels_its_ttl() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    raw.write(&ping(2, b"")).unwrap();
    assert_eq!(raw.read_frame().command_name(), Some("PONG"));
    raw.write(&frame(0, b"m")).unwrap();
    assert_eq!(pull.recv().unwrap(), "m");
    // Only a PING arms the TTL, and traffic after it cancels it: the connection stays.
    raw.expect_silent_before_pong(Duration::from_millis(400), "closed despite traffic after the PING");
    raw.write(&frame(0, b"n")).unwrap();
    assert_eq!(pull.recv().unwrap(), "n");
}

#[test]
fn no_pings_to_a_zmtp_3_0_peer() {
    let ctx = Context::new();
    let (pull, mon, ep) = heartbeating_pull(&ctx, 20, 40, 0);
    let mut raw = RawPeer::connect(&ep);
    let mut g = greeting();
    g[11] = 0; // ZMTP 3.0: PING and PONG do not exist
    raw.write(&g).unwrap();
    raw.write(&ready_as("PUSH")).unwrap();
    raw.read_exact(64);
    assert_eq!(raw.read_frame().command_name(), Some("READY"));
    // No marker: a PULL sends nothing of its own, and a ZMTP 3.0 peer cannot ask for a PONG.
    assert!(raw.stays_open_and_silent(Duration::from_millis(200)), "oxmq sent a PING to a ZMTP 3.0 peer");
    expect_no_event_before(&mon, &pull);
}

#[test]
fn heartbeats_run_beside_pub_sub_traffic_between_oxmq_peers() {
    let ctx = Context::new();
    let publisher = Pub::new(&ctx).unwrap();
    publisher.set_heartbeat_ivl(20).unwrap();
    publisher.set_heartbeat_timeout(200).unwrap();
    let pmon = publisher.monitor(Event::Disconnected | Event::Closed).unwrap();
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let ep = publisher.last_endpoint().unwrap();
    let sub = Sub::new(&ctx).unwrap();
    sub.set_heartbeat_ivl(20).unwrap();
    sub.set_heartbeat_timeout(200).unwrap();
    sub.set_rcvtimeo(TIMEO_MS).unwrap();
    let smon = sub.monitor(Event::Disconnected | Event::Closed).unwrap();
    sub.connect(&ep).unwrap();
    sub.subscribe("").unwrap();
    // Until the subscription has arrived, the publisher drops messages.
    eventually(SOON, || {
        publisher.send_multipart(["warmup", "x"]).unwrap();
        sub.try_recv().ok().map(|_| ())
    })
    .expect("the subscription reaches the publisher");
    while sub.try_recv().is_ok() {}
    // Multipart messages for about 25 heartbeat intervals: PINGs and PONGs go between them.
    let start = Instant::now();
    let mut n = 0u32;
    while start.elapsed() < Duration::from_millis(500) {
        publisher.send_multipart([b"topic".to_vec(), n.to_be_bytes().to_vec()]).unwrap();
        n += 1;
        std::thread::sleep(Duration::from_millis(2));
    }
    let mut i = 0;
    while i < n {
        let m = sub.recv_multipart().unwrap();
        if m[0] == "warmup" {
            continue; // sent before the drain above, still in flight then
        }
        assert_eq!(m, [b"topic".to_vec(), i.to_be_bytes().to_vec()], "message {i} of {n}");
        i += 1;
    }
    // No connection may drop: on each side, a bind's CLOSED is the next event.
    expect_no_event_before(&pmon, &publisher);
    expect_no_event_before(&smon, &sub);
}
