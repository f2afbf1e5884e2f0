//! Interop tests, publish-subscribe: peers that go and come back, or stop reading. oxmq PUB,
//! XPUB, SUB and XSUB against libzmq 4.x peers (pyzmq, see `interop/mod.rs`).
//!
//! What 29/PUBSUB and zmq_socket(3) hold oxmq to: a subscriber's subscriptions are re-sent on
//! every new connection; XPUB reports a subscriber that disconnects as unsubscribes; PUB/XPUB
//! drop for a subscriber whose queue is full and never block; PUB keeps the queue of a
//! subscriber it connects to while the connection is down.

mod common;
#[macro_use]
mod interop;
#[path = "interop/pubsub.rs"]
mod pubsub;

use std::time::{Duration, Instant};

use interop::*;
use oxmq::{Context, Socket, SocketType};

use pubsub::*;

/// The oxmq socket binds or connects; returns the peer's bind/connect args.
fn wire_up(ox: &Socket, t: Transport, side: Side) -> (Vec<String>, Option<IpcFile>) {
    match side {
        Side::OxmqConnects => {
            let (ep, ipc) = fixed_endpoint(t);
            ox.connect(&ep).unwrap_or_else(|e| panic!("oxmq connect {ep}: {e:?}"));
            (args(&["--bind", &ep]), ipc)
        }
        Side::OxmqBinds => {
            let ipc = matches!(t, Transport::Ipc).then(IpcFile::new);
            let local = ipc.as_ref().map_or("tcp://127.0.0.1:*".to_string(), |f| f.endpoint());
            ox.bind(&local).unwrap_or_else(|e| panic!("oxmq bind {local}: {e:?}"));
            (args(&["--connect", &ox.last_endpoint().unwrap()]), ipc)
        }
    }
}

fn ox_subscribe(s: &Socket, topic: &[u8]) {
    if s.socket_type() == SocketType::Sub {
        s.subscribe(topic).unwrap();
    } else {
        oxmq_send(s, &subscription_msg(true, topic));
    }
}

/// The largest value in a /proc/sys file of numbers (e.g. tcp_wmem's max),
/// or `fallback` if it cannot be read.
fn proc_max(path: &str, fallback: usize) -> usize {
    std::fs::read_to_string(path)
        .ok()
        .and_then(|text| text.split_whitespace().filter_map(|n| n.parse().ok()).max())
        .unwrap_or(fallback)
}

// ---------------------------------------------------------------------------
// Reconnects: subscriptions are re-sent, publishers pick up new subscribers
// ---------------------------------------------------------------------------

/// An oxmq SUB or XSUB subscribed to "t" (before any connection) and "u"
/// (while connected); the libzmq PUB is killed and a new one started (bound
/// on the same endpoint, or connecting again): the oxmq socket must send
/// both subscriptions to it by itself, and the filter still holds.
fn resubscribes_after_publisher_restart(t: Transport, side: Side, ox_type: SocketType) {
    let name = format!("{ox_type:?}(oxmq), libzmq PUB restarted, {t:?}, {side:?}");
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, ox_type);
    ox_subscribe(&ox, b"t");
    let (peer_args, _ipc) = wire_up(&ox, t, side);
    let mut first = Peer::spawn("PUB", &peer_args);
    {
        let mut s = Session::new(Publisher::Pyzmq(&mut first), Subscriber::Oxmq(&ox), &format!("{name}, first PUB"));
        s.await_topic(b"t");
        ox_subscribe(&ox, b"u");
        s.await_topic(b"u");
    }
    first.kill();
    drop(first);

    let mut second = Peer::spawn("PUB", &peer_args);
    let mut s = Session::new(Publisher::Pyzmq(&mut second), Subscriber::Oxmq(&ox), &format!("{name}, second PUB"));
    s.await_topic(b"t");
    s.await_topic(b"u");
    s.check(&[m(&[b"x"]), m(&[b"u1"]), m(&[b"v"]), m(&[b"t1", b"more"])], &[1, 3], "filter after the restart");
}

fn sub_resubscribes_after_publisher_restart(t: Transport, side: Side) {
    resubscribes_after_publisher_restart(t, side, SocketType::Sub);
}

fn xsub_resubscribes_after_publisher_restart(t: Transport, side: Side) {
    resubscribes_after_publisher_restart(t, side, SocketType::XSub);
}

/// An oxmq PUB or XPUB and a libzmq SUB subscribed to "t"; the SUB is
/// killed and a new one started (bound on the same endpoint, or connecting
/// again): the publisher must deliver to the new one per its subscription.
/// An XPUB that accepted the subscriber reports the dead one's topic as
/// cancelled and the new one's as subscribed (29/PUBSUB; libzmq does the
/// same). An XPUB that connected is not checked for that: libzmq keeps the
/// queue - and its subscriptions - of a connection it makes across
/// reconnects (29/PUBSUB: "SHALL maintain the queue whether or not the
/// connection is established") and so reports neither.
fn delivers_after_subscriber_restart(t: Transport, side: Side, ox_type: SocketType) {
    let name = format!("{ox_type:?}(oxmq), libzmq SUB restarted, {t:?}, {side:?}");
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, ox_type);
    let (mut peer_args, _ipc) = wire_up(&ox, t, side);
    peer_args.extend(args(&["--subscribe", "t"]));
    let xpub_accepts = ox_type == SocketType::XPub && side == Side::OxmqBinds;

    let mut first = Peer::spawn("SUB", &peer_args);
    if ox_type == SocketType::XPub {
        expect_xpub_msg(&ox, b"\x01t", &format!("{name}: first SUB"));
    }
    Session::new(Publisher::Oxmq(&ox), Subscriber::Pyzmq { peer: &mut first, xsub: false }, &name).await_topic(b"t");
    first.kill();
    drop(first);
    if xpub_accepts {
        expect_xpub_msg(&ox, b"\x00t", &format!("{name}: the killed SUB's topic is cancelled"));
    }

    let mut second = Peer::spawn("SUB", &peer_args);
    if xpub_accepts {
        expect_xpub_msg(&ox, b"\x01t", &format!("{name}: the new SUB's subscription"));
    }
    let mut s = Session::new(Publisher::Oxmq(&ox), Subscriber::Pyzmq { peer: &mut second, xsub: false }, &name);
    s.await_topic(b"t");
    s.check(&[m(&[b"x"]), m(&[b"t1"]), m(&[b"u"]), m(&[b"t2", b"more"])], &[1, 3], "to the new SUB");
}

fn pub_delivers_after_subscriber_restart(t: Transport, side: Side) {
    delivers_after_subscriber_restart(t, side, SocketType::Pub);
}

fn xpub_delivers_after_subscriber_restart(t: Transport, side: Side) {
    delivers_after_subscriber_restart(t, side, SocketType::XPub);
}

interop_matrix!(
    sub_resubscribes_after_publisher_restart,
    xsub_resubscribes_after_publisher_restart,
    pub_delivers_after_subscriber_restart,
    xpub_delivers_after_subscriber_restart,
);

// ---------------------------------------------------------------------------
// A slow subscriber: PUB drops for it, never blocks, and does not starve others
// ---------------------------------------------------------------------------

/// oxmq PUB (SNDHWM 50) with two libzmq SUBs; one is frozen (SIGSTOP, so
/// neither its application nor its I/O thread reads) while the PUB sends
/// several times more than the HWM and the kernel buffers can hold. The PUB
/// must never block (zmq_socket(3): "The zmq_send() function shall never
/// block for this socket type"), the other SUB must get every message (it
/// reads, and each chunk stays below its HWM), and once thawed the frozen
/// SUB gets a subset of the messages - whole, in order, the rest dropped.
fn slow_subscriber(t: Transport) {
    const HWM: i32 = 50;
    const SIZE: usize = 16 * 1024;
    const CHUNK: usize = 40; // < HWM: the reading subscriber never hits it
    // What can sit between the PUB and the frozen SUB: the PUB's queue,
    // kernel buffers (send side autotuned up to tcp_wmem's max; receive side
    // pinned by the SUB's RCVBUF), oxmq's own write buffer. Send 3x that.
    let kernel = match t {
        Transport::Tcp => proc_max("/proc/sys/net/ipv4/tcp_wmem", 4 << 20) + 2 * 65536,
        Transport::Ipc => proc_max("/proc/sys/net/core/wmem_default", 1 << 20),
        Transport::Inproc => unreachable!("{INPROC_TO_LIBZMQ}"),
    };
    let capacity = HWM as usize * SIZE + kernel + (1 << 20);
    let total = (3 * capacity / SIZE).div_ceil(CHUNK) * CHUNK;

    let ctx = Context::new();
    let publisher = oxmq_socket(&ctx, SocketType::Pub);
    publisher.set_sndhwm(HWM).unwrap();
    let ipc = matches!(t, Transport::Ipc).then(IpcFile::new);
    let local = ipc.as_ref().map_or("tcp://127.0.0.1:*".to_string(), |f| f.endpoint());
    publisher.bind(&local).unwrap();
    let ep = publisher.last_endpoint().unwrap();
    let peer_args = args(&[
        "--connect",
        &ep,
        "--subscribe",
        "",
        "--sockopt",
        &format!("RCVHWM={HWM}"),
        "--sockopt",
        "RCVBUF=65536",
    ]);
    let mut slow = Peer::spawn("SUB", &peer_args);
    let mut fast = Peer::spawn("SUB", &peer_args);
    let name = format!("PUB(oxmq) to a frozen and a reading SUB(libzmq), {t:?}");
    // Both subscribe to everything: publish a probe until each got one.
    let mut joined = [false, false];
    let deadline = Instant::now() + SUBSCRIBE_DEADLINE;
    while joined != [true, true] {
        assert!(Instant::now() < deadline, "{name}: subscribers joined: {joined:?}");
        oxmq_send(&publisher, &m(&[b"~ready"]));
        for (k, peer) in [&mut slow, &mut fast].into_iter().enumerate() {
            if !joined[k] {
                joined[k] = peer.try_recv(20).is_some();
            }
        }
    }
    oxmq_send(&publisher, &m(&[b"~ready/fence"]));
    for peer in [&mut slow, &mut fast] {
        for got in peer.collect(b"~ready/fence") {
            assert_eq!(got, describe_msg(&[b"~ready"]), "{name}: only probes before the fence");
        }
    }

    slow.signal("STOP");
    let message =
        |i: usize| vec![Part::Data(format!("flood {i:06}").into_bytes()), Part::Pattern { size: SIZE, seed: i as u32 }];
    let started = Instant::now();
    for chunk in 0..total / CHUNK {
        for i in chunk * CHUNK..(chunk + 1) * CHUNK {
            match publisher.send_multipart(frames(&message(i))) {
                Ok(()) => {}
                Err(e) => panic!("{name}: PUB send {i} of {total} failed ({e:?}); a PUB must drop, not block"),
            }
        }
        let fence = format!("~fence{chunk}").into_bytes();
        oxmq_send(&publisher, &m(&[&fence]));
        let got = fast.collect(&fence);
        let want: Vec<Vec<String>> =
            (chunk * CHUNK..(chunk + 1) * CHUNK).map(|i| describe_parts(&message(i))).collect();
        assert!(
            got == want,
            "{name}: the reading SUB lost messages while the other was frozen (chunk {chunk}: got {} of {CHUNK})",
            got.len()
        );
    }
    let flood_time = started.elapsed();

    // Thaw the frozen SUB and read what it has, publishing an end marker
    // whenever it goes quiet (the first ones may still be dropped).
    slow.signal("CONT");
    slow.start_collect(b"~end");
    let mut received: Vec<Vec<String>> = Vec::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        match slow.try_read_line(Duration::from_millis(20)) {
            Some(line) if line.starts_with("msg ") => received.push(line[4..].split(' ').map(str::to_string).collect()),
            Some(line) if line == format!("ok collected {}", received.len()) => break,
            Some(line) => panic!("{name}: unexpected line from the thawed SUB: {line:?}"),
            None => oxmq_send(&publisher, &m(&[b"~end"])),
        }
        assert!(Instant::now() < deadline, "{name}: the thawed SUB did not catch up within 20 s");
    }
    // Whole messages, in order, a strict subset: drops happened. (It also
    // gets the markers: "~ready..." probes and fences, "~fence<chunk>".)
    let is_marker =
        |msg: &[String]| msg.len() == 1 && msg[0].starts_with("b64:") && unbase64(&msg[0][4..]).starts_with(b"~");
    received.retain(|msg| !is_marker(msg));
    let mut next = 0;
    for (k, msg) in received.iter().enumerate() {
        let index = (next..total).find(|&i| describe_parts(&message(i)) == *msg);
        let Some(i) = index else {
            panic!(
                "{name}: thawed SUB message {k} is not one of the flood messages after #{next}: {:?}",
                render_msg(msg)
            )
        };
        next = i + 1;
    }
    assert!(
        !received.is_empty() && received.len() < total,
        "{name}: the frozen SUB got {} of {total} messages; expected some, with drops",
        received.len()
    );
    // It is an ordinary subscriber again.
    let fence = b"~drained".to_vec();
    oxmq_send(&publisher, &m(&[&fence]));
    for extra in slow.collect(&fence) {
        assert_eq!(extra, describe_msg(&[b"~end"]), "{name}: only end markers after the end marker");
    }
    let mut s = Session::new(Publisher::Oxmq(&publisher), Subscriber::Pyzmq { peer: &mut slow, xsub: false }, &name);
    s.await_topic(b"~again");
    s.check(&[m(&[b"after"]), message(0)], &[0, 1], "the thawed SUB receives everything again");
    eprintln!("{name}: {total} x {SIZE} B sent in {flood_time:?}; the frozen SUB got {} of them", received.len());
}

#[test]
fn pub_drops_for_frozen_subscriber_tcp() {
    run_test(|| slow_subscriber(Transport::Tcp));
}

#[test]
fn pub_drops_for_frozen_subscriber_ipc() {
    run_test(|| slow_subscriber(Transport::Ipc));
}

// ---------------------------------------------------------------------------
// A publisher that connects keeps its subscriber's queue while it is away
// ---------------------------------------------------------------------------

/// oxmq PUB/XPUB connects to a libzmq SUB (subscribed to "t") bound on a
/// fixed endpoint; the SUB is killed, and once oxmq reports the
/// disconnection (monitor) messages are published; a new SUB on the same
/// endpoint must get the matching ones. 29/PUBSUB: a PUB/XPUB "SHALL create
/// a queue when initiating an outgoing connection to a subscriber, and
/// SHALL maintain the queue whether or not the connection is established",
/// and with the queue its subscriptions: libzmq 4.3.5 delivers exactly
/// these messages in this scenario.
fn publisher_keeps_queue_while_subscriber_away(t: Transport, ox_type: SocketType) {
    let name = format!("{ox_type:?}(oxmq) connecting to a libzmq SUB that restarts, {t:?}");
    let ctx = Context::new();
    let ox = oxmq_socket(&ctx, ox_type);
    let monitor = ox.monitor(oxmq::Event::Disconnected).unwrap();
    let (mut peer_args, _ipc) = wire_up(&ox, t, Side::OxmqConnects);
    peer_args.extend(args(&["--subscribe", "t"]));
    let mut first = Peer::spawn("SUB", &peer_args);
    Session::new(Publisher::Oxmq(&ox), Subscriber::Pyzmq { peer: &mut first, xsub: false }, &name).await_topic(b"t");
    first.kill();
    drop(first);
    let gone = monitor.recv_timeout(SUBSCRIBE_DEADLINE);
    assert!(gone.is_some(), "{name}: no DISCONNECTED within {SUBSCRIBE_DEADLINE:?} of killing the SUB");

    let away = [m(&[b"t away 1"]), m(&[b"x away"]), m(&[b"t away 2", b"more"])];
    for msg in &away {
        oxmq_send(&ox, msg);
    }
    let mut second = Peer::spawn("SUB", &peer_args);
    let mut s = Session::new(Publisher::Oxmq(&ox), Subscriber::Pyzmq { peer: &mut second, xsub: false }, &name);
    // The queued messages come first, then (once the new SUB's own
    // subscription is in) the probes.
    s.tag = b"t".to_vec();
    let fence = s.fence();
    oxmq_send(&ox, &m(&[&fence]));
    let got = s.subscriber.collect(&fence);
    let want = [describe_parts(&away[0]), describe_parts(&away[2])];
    assert_eq!(
        got.iter().map(|g| render_msg(g)).collect::<Vec<_>>(),
        want.iter().map(|w| render_msg(w)).collect::<Vec<_>>(),
        "{name}: what the new SUB got of the messages published while none was connected"
    );
}

#[test]
fn pub_keeps_queue_while_subscriber_away() {
    run_test(|| {
        publisher_keeps_queue_while_subscriber_away(Transport::Tcp, SocketType::Pub);
        publisher_keeps_queue_while_subscriber_away(Transport::Ipc, SocketType::Pub);
    });
}

#[test]
fn xpub_keeps_queue_while_subscriber_away() {
    run_test(|| {
        publisher_keeps_queue_while_subscriber_away(Transport::Tcp, SocketType::XPub);
        publisher_keeps_queue_while_subscriber_away(Transport::Ipc, SocketType::XPub);
    });
}
