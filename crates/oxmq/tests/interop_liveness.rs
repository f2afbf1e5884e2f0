//! Interop tests, connection liveness with libzmq (pyzmq) peers:
//! * an oxmq socket monitor (zmq_socket_monitor(3) events, typed API and
//!   the version-1 wire format) watching a libzmq peer connect, go away and
//!   come back;
//! * ZMTP heartbeats (37/ZMTP "Connection Heartbeating", zmq_setsockopt(3)
//!   ZMQ_HEARTBEAT_IVL / _TTL / _TIMEOUT) both ways: oxmq answers libzmq's
//!   PINGs, libzmq answers oxmq's, and oxmq detects a frozen (SIGSTOP)
//!   libzmq peer and reconnects once it thaws.
//!
//! The event sequences expected are libzmq 4.3.5's own in the same
//! scenarios (checked with a pyzmq socket monitor). Harness: `interop/mod.rs`.

mod common;
#[macro_use]
mod interop;

use std::time::{Duration, Instant};

use interop::*;
use oxmq::{Context, Event, EventMask, Socket, SocketType};

/// How long an event that must come may take.
const EVENT_DEADLINE: Duration = Duration::from_secs(10);

/// A libzmq PAIR with heartbeats on (PING every 100 ms, give up 400 ms
/// after a PING without any traffic back) and an oxmq PAIR without: oxmq
/// must answer each PING with a PONG (37/ZMTP: "When a peer receives a PING
/// command it SHALL respond with a PONG command"), so after 2 s of silence
/// (5 timeouts) the libzmq side has not dropped the connection and
/// messages still flow both ways.
fn libzmq_heartbeats_are_answered(t: Transport, side: Side) {
    let peer_args = [
        "--monitor",
        "--sockopt",
        "HEARTBEAT_IVL=100",
        "--sockopt",
        "HEARTBEAT_TIMEOUT=400",
        "--sockopt",
        "HEARTBEAT_TTL=1000",
    ];
    let mut l = link(t, side, SocketType::Pair, |_| {}, "PAIR", &peer_args);
    let before = m(&[b"before"]);
    l.peer.send(&before);
    assert_oxmq_got(&oxmq_recv(&l.ox), &before, &l.name);
    std::thread::sleep(Duration::from_secs(2)); // idle: only PINGs and PONGs travel
    let after = m(&[b"after"]);
    oxmq_send(&l.ox, &after);
    assert_peer_got(&l.peer.recv(), &after, &l.name);
    l.peer.send(&after);
    assert_oxmq_got(&oxmq_recv(&l.ox), &after, &l.name);
    let events = l.peer.events();
    let count = |name: &str| events.iter().filter(|e| *e == name).count();
    assert!(
        count("DISCONNECTED") == 0 && count("HANDSHAKE_SUCCEEDED") == 1,
        "{}: the libzmq peer with heartbeats dropped or redid the connection; its events: {events:?}",
        l.name
    );
}

interop_matrix!(libzmq_heartbeats_are_answered);

// ---------------------------------------------------------------------------
// Socket monitor: a libzmq peer connects, goes away, comes back
// ---------------------------------------------------------------------------

/// Where the events are read: the typed `Monitor`, or a PAIR connected to
/// `monitor_endpoint`'s inproc endpoint (libzmq's version-1 format, decoded
/// here by hand: u16 event + u32 value native-endian, then the endpoint).
enum Events {
    Typed(oxmq::Monitor),
    Wire(Box<Socket>),
}

impl Events {
    fn start(ctx: &Context, ox: &Socket, wire: bool) -> Events {
        if !wire {
            return Events::Typed(ox.monitor(EventMask::ALL).unwrap());
        }
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let ep = format!("inproc://interop-monitor-{}", N.fetch_add(1, std::sync::atomic::Ordering::Relaxed));
        ox.monitor_endpoint(&ep, EventMask::ALL.bits()).unwrap();
        let pair = oxmq_socket(ctx, SocketType::Pair);
        pair.connect(&ep).unwrap();
        Events::Wire(Box::new(pair))
    }

    /// (event, value, endpoint) of the next event within `timeout`.
    fn next(&self, timeout: Duration) -> Option<(Event, u32, String)> {
        match self {
            Events::Typed(m) => m.recv_timeout(timeout).map(|e| (e.event, e.value, e.endpoint)),
            Events::Wire(pair) => {
                let frames = oxmq_try_recv(pair, timeout.as_millis() as i32)?;
                assert_eq!(frames.len(), 2, "a version-1 monitor message has two frames");
                let head: [u8; 6] = frames[0].as_ref().try_into().expect("frame 1 is 6 bytes");
                let raw = u16::from_ne_bytes([head[0], head[1]]);
                let event = Event::from_raw(raw).unwrap_or_else(|| panic!("unknown event number {raw:#x}"));
                let value = u32::from_ne_bytes([head[2], head[3], head[4], head[5]]);
                Some((event, value, String::from_utf8(frames[1].to_vec()).expect("a utf-8 endpoint")))
            }
        }
    }

    /// Events are read until `want` comes (returned); events in `skip` are
    /// passed over, any other one fails the test.
    #[track_caller]
    fn expect(&self, want: Event, skip: &[Event], endpoint: &str, seen: &mut Vec<String>) -> u32 {
        let deadline = Instant::now() + EVENT_DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            let Some((event, value, ep)) = self.next(left) else {
                panic!("no {want:?} within {EVENT_DEADLINE:?}; events so far: {seen:?}")
            };
            seen.push(format!("{event:?}({value}) {ep}"));
            assert_eq!(ep, endpoint, "endpoint of {event:?}; events so far: {seen:?}");
            if event == want {
                return value;
            }
            assert!(skip.contains(&event), "unexpected {event:?} while waiting for {want:?}; events so far: {seen:?}");
            if event == Event::ConnectRetried {
                // zmq_setsockopt(3): RECONNECT_IVL 100 ms, possibly randomised.
                assert!((100..=200).contains(&value), "CONNECT_RETRIED value {value} (ms); events: {seen:?}");
            }
        }
    }
}

/// The attempts of a connecting socket whose peer is not there (yet):
/// libzmq reports each failed try as CONNECT_DELAYED (tcp), CLOSED and
/// CONNECT_RETRIED.
const RETRYING: [Event; 3] = [Event::ConnectDelayed, Event::Closed, Event::ConnectRetried];

/// One echo through the libzmq ROUTER peer: the connection really works.
fn echo(ox: &Socket, peer: &mut Peer, what: &str) {
    peer.start_echo(1);
    oxmq_send(ox, &m(&[what.as_bytes()]));
    assert_oxmq_got(&oxmq_recv(ox), &m(&[what.as_bytes()]), what);
    peer.read_msg();
    peer.finish_echo(1);
}

/// An oxmq DEALER, monitored, and a libzmq ROUTER that is killed and
/// started again (binding the same endpoint, or connecting again). Bound:
/// LISTENING, then ACCEPTED and HANDSHAKE_SUCCEEDED per connection,
/// DISCONNECTED when the peer dies. Connecting: CONNECTED and
/// HANDSHAKE_SUCCEEDED, DISCONNECTED, retries while the peer is away, then
/// CONNECTED and HANDSHAKE_SUCCEEDED again. Every event names the endpoint
/// (the bound one with its port, or the one given to connect), and
/// DISCONNECTED carries the same descriptor as the event that opened the
/// connection.
fn monitor_sees_peer_come_and_go(t: Transport, side: Side, wire: bool) {
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, SocketType::Dealer);
    let events = Events::start(&ctx, &ox, wire);
    let mut seen = Vec::new();
    let (peer_args, endpoint, _ipc) = match side {
        Side::OxmqBinds => {
            let ipc = matches!(t, Transport::Ipc).then(IpcFile::new);
            let local = ipc.as_ref().map_or("tcp://127.0.0.1:*".to_string(), |f| f.endpoint());
            ox.bind(&local).unwrap();
            let ep = ox.last_endpoint().unwrap();
            events.expect(Event::Listening, &[], &ep, &mut seen);
            (args(&["--connect", &ep]), ep, ipc)
        }
        Side::OxmqConnects => {
            let (ep, ipc) = fixed_endpoint(t);
            ox.connect(&ep).unwrap();
            (args(&["--bind", &ep]), ep, ipc)
        }
    };
    let (opened, skip): (Event, &[Event]) =
        if side == Side::OxmqBinds { (Event::Accepted, &[]) } else { (Event::Connected, &RETRYING) };
    for round in ["first", "second"] {
        let mut peer = Peer::spawn("ROUTER", &peer_args);
        let fd = events.expect(opened, skip, &endpoint, &mut seen);
        events.expect(Event::HandshakeSucceeded, &[], &endpoint, &mut seen);
        echo(&ox, &mut peer, &format!("{round} peer"));
        peer.kill();
        let gone = events.expect(Event::Disconnected, &[], &endpoint, &mut seen);
        assert_eq!(gone, fd, "DISCONNECTED names the connection's descriptor; events: {seen:?}");
    }
    // Nothing else happens (a connecting socket keeps retrying, though).
    let quiet = Instant::now() + Duration::from_millis(300);
    while let Some((event, value, ep)) = events.next(quiet.saturating_duration_since(Instant::now())) {
        seen.push(format!("{event:?}({value}) {ep}"));
        assert!(skip.contains(&event), "unexpected {event:?} after the second peer left; events: {seen:?}");
    }
}

fn monitor_sees_libzmq_peer_come_and_go(t: Transport, side: Side) {
    monitor_sees_peer_come_and_go(t, side, false);
}

fn monitor_endpoint_sees_libzmq_peer_come_and_go(t: Transport, side: Side) {
    monitor_sees_peer_come_and_go(t, side, true);
}

interop_matrix!(monitor_sees_libzmq_peer_come_and_go, monitor_endpoint_sees_libzmq_peer_come_and_go);

// ---------------------------------------------------------------------------
// oxmq heartbeats against libzmq: answered, and a frozen peer is detected
// ---------------------------------------------------------------------------

/// oxmq PUSH with heartbeats (PING every 100 ms, timeout 300 ms) connected
/// to a libzmq PULL:
/// * while the peer runs, its PONGs keep the connection up (2 s, many
///   timeouts: no DISCONNECTED);
/// * frozen with SIGSTOP it answers nothing: oxmq must report DISCONNECTED
///   within a few timeouts (37/ZMTP: "If it sends a PING command and does
///   not receive any traffic within some timeout" the connection is dead);
/// * thawed with SIGCONT, the reconnection completes and messages flow.
///
/// With `by_ttl`, oxmq has no heartbeat options; the libzmq peer sends PINGs
/// (every 100 ms) with a TTL of 500 ms instead, and oxmq must drop the
/// connection when no traffic follows within that TTL (37/ZMTP: "If it
/// receives a PING command with a non-zero TTL and then does not receive any
/// further traffic within that TTL"; libzmq does).
fn heartbeat_detects_frozen_peer(t: Transport, by_ttl: bool) {
    let ctx = Context::new();
    let push = oxmq_socket(&ctx, SocketType::Push);
    if !by_ttl {
        push.set_heartbeat_ivl(100).unwrap();
        push.set_heartbeat_timeout(300).unwrap();
        push.set_heartbeat_ttl(1000).unwrap();
    }
    let events = Events::start(&ctx, &push, false);
    let mut seen = Vec::new();
    let (ep, _ipc) = fixed_endpoint(t);
    let mut peer_args = args(&["--bind", &ep]);
    if by_ttl {
        peer_args.extend(args(&["--sockopt", "HEARTBEAT_IVL=100", "--sockopt", "HEARTBEAT_TTL=500"]));
    }
    let mut peer = Peer::spawn("PULL", &peer_args);
    push.connect(&ep).unwrap();
    events.expect(Event::Connected, &RETRYING, &ep, &mut seen);
    events.expect(Event::HandshakeSucceeded, &[], &ep, &mut seen);
    oxmq_send(&push, &m(&[b"hello"]));
    assert_peer_got(&peer.recv(), &m(&[b"hello"]), "before the silence");

    std::thread::sleep(Duration::from_secs(2)); // only PINGs and PONGs travel
    if let Some((event, value, ep)) = events.next(Duration::ZERO) {
        panic!("a live libzmq peer heartbeating, yet oxmq reported {event:?}({value}) {ep}; events: {seen:?}");
    }
    oxmq_send(&push, &m(&[b"still here"]));
    assert_peer_got(&peer.recv(), &m(&[b"still here"]), "after 2 s of heartbeats");

    peer.signal("STOP");
    let frozen = Instant::now();
    events.expect(Event::Disconnected, &[], &ep, &mut seen);
    let detected = frozen.elapsed();
    assert!(
        detected < Duration::from_secs(5),
        "a frozen peer was detected only after {detected:?} (HEARTBEAT_IVL 100 ms, TIMEOUT 300 ms or peer TTL 500 ms)"
    );
    // While frozen, the kernel may still accept a new connection; its
    // handshake waits for the thaw. Nothing may be reported as a success.
    peer.signal("CONT");
    events.expect(
        Event::HandshakeSucceeded,
        &[Event::Connected, Event::ConnectDelayed, Event::Closed, Event::ConnectRetried],
        &ep,
        &mut seen,
    );
    // Messages sent to the old connection may be lost: send numbered ones
    // until one arrives.
    let deadline = Instant::now() + EVENT_DEADLINE;
    let mut n = 0;
    loop {
        oxmq_send(&push, &m(&[format!("after thaw {n}").as_bytes()]));
        n += 1;
        if let Some(got) = peer.try_recv(50) {
            assert!(render_msg(&got)[0].starts_with("b\"after thaw "), "after the thaw the peer got {got:?}");
            break;
        }
        assert!(Instant::now() < deadline, "nothing reached the thawed peer; events: {seen:?}");
    }
    eprintln!("{t:?}, by TTL {by_ttl}: frozen peer detected after {detected:?}; events: {seen:?}");
}

#[test]
fn heartbeat_detects_frozen_libzmq_peer_tcp() {
    run_test(|| heartbeat_detects_frozen_peer(Transport::Tcp, false));
}

#[test]
fn heartbeat_detects_frozen_libzmq_peer_ipc() {
    run_test(|| heartbeat_detects_frozen_peer(Transport::Ipc, false));
}

#[test]
fn libzmq_ping_ttl_detects_frozen_libzmq_peer_tcp() {
    run_test(|| heartbeat_detects_frozen_peer(Transport::Tcp, true));
}
