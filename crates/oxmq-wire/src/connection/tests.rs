//! Deterministic tests of [`Connection`]: explicit instants, scripted peers
//! built with the crate's own encoders, no sockets, no sleeps.

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use proptest::prelude::*;

use super::*;
use crate::{Greeting, Mechanism, Metadata, encode_frame_header};

fn ms(n: u64) -> Duration {
    Duration::from_millis(n)
}

/// What a NULL peer of type `socket` speaking ZMTP 3.`minor` sends to complete
/// its side of the handshake: greeting, then READY.
fn peer_handshake(socket: SocketType, minor: u8) -> BytesMut {
    let mut out = BytesMut::new();
    let mut greeting = Greeting::ours(Mechanism::Null, false);
    greeting.minor = minor;
    out.extend_from_slice(&greeting.encode());
    let mut md = Metadata::new();
    md.insert("Socket-Type", socket.as_str());
    Command::Ready(md).encode(&mut out);
    out
}

fn command(cmd: Command) -> BytesMut {
    let mut out = BytesMut::new();
    cmd.encode(&mut out);
    out
}

fn message(body: &[u8], more: bool) -> BytesMut {
    let mut out = BytesMut::new();
    Frame::message(Bytes::copy_from_slice(body), more).encode(&mut out);
    out
}

fn ping(ttl: u16, context: &'static [u8]) -> BytesMut {
    command(Command::Ping { ttl, context: Bytes::from_static(context) })
}

fn drain(tx: &mut Transmit) -> Bytes {
    tx.copy_to_bytes(tx.remaining())
}

/// Every frame in `bytes`.
fn frames(bytes: &[u8]) -> Vec<Frame> {
    let mut buf = BytesMut::from(bytes);
    let mut out = Vec::new();
    while let Some(f) = Decoder::new(None).decode(&mut buf).unwrap() {
        out.push(f);
    }
    assert!(buf.is_empty(), "a partial frame was sent");
    out
}

fn feed(c: &mut Connection, now: Instant, bytes: &[u8]) -> Result<Vec<Message>, ConnectionError> {
    let mut buf = BytesMut::from(bytes);
    let mut msgs = Vec::new();
    c.input(now, &mut buf, &mut msgs).map(|()| msgs)
}

/// What the connection sends with `msgs` (and what it owes), as frames.
fn encoded(c: &mut Connection, msgs: impl IntoIterator<Item = Message>) -> Vec<Frame> {
    let mut tx = Transmit::new();
    c.encode(msgs, &mut tx);
    frames(&drain(&mut tx))
}

/// What the connection sends now (owed commands only), as frames.
fn sent(c: &mut Connection) -> Vec<Frame> {
    encoded(c, [])
}

fn as_frames(msgs: &[Message]) -> Vec<Frame> {
    msgs.iter().map(|m| Frame::message(m.body.clone(), m.more)).collect()
}

fn sent_commands(c: &mut Connection) -> Vec<Command> {
    sent(c).iter().map(|f| Command::parse(&f.body).unwrap()).collect()
}

fn config(ours: SocketType) -> ConnectionConfig {
    ConnectionConfig::new(ours)
}

/// A connection established at `t0` with a scripted peer (what it sent
/// during the handshake already taken).
fn established(cfg: ConnectionConfig, peer: SocketType, minor: u8, t0: Instant) -> Connection {
    let mut c = Connection::new(cfg, t0).unwrap();
    assert!(feed(&mut c, t0, &peer_handshake(peer, minor)).unwrap().is_empty());
    assert!(c.is_established());
    let mut tx = Transmit::new();
    c.poll_transmit(&mut tx);
    assert!(!c.wants_transmit());
    c
}

fn with_heartbeat(ours: SocketType, ivl: u64, timeout: i32, ttl: i32) -> ConnectionConfig {
    ConnectionConfig { heartbeat: Heartbeat::from_options(ivl as i32, timeout, ttl), ..config(ours) }
}

#[test]
fn handshake_completes_with_a_scripted_peer() {
    let t0 = Instant::now();
    let mut cfg = config(SocketType::Dealer);
    cfg.handshake.identity = Some(Bytes::from_static(b"me"));
    let mut c = Connection::new(cfg, t0).unwrap();
    assert!(c.wants_transmit(), "our greeting is owed at once");
    let mut tx = Transmit::new();
    c.poll_transmit(&mut tx);
    let greeting = drain(&mut tx);
    assert_eq!(&greeting[..], &Greeting::ours(Mechanism::Null, false).encode()[..]);
    assert!(c.peer_info().is_none());

    // The peer's greeting and READY, byte by byte, with a message right behind.
    let mut script = peer_handshake(SocketType::Router, 1);
    script.extend_from_slice(&message(b"first", false));
    let mut buf = BytesMut::new();
    let mut msgs = Vec::new();
    for &b in &script[..] {
        buf.extend_from_slice(&[b]);
        c.input(t0, &mut buf, &mut msgs).unwrap();
    }
    assert!(c.is_established());
    assert_eq!(msgs, [Message::new(&b"first"[..], false)]);
    let peer = c.peer_info().unwrap();
    assert_eq!((peer.version, peer.socket_type, peer.identity.clone()), ((3, 1), SocketType::Router, None));

    // Our READY went out after the greeting, announcing our identity.
    let ready = sent(&mut c);
    let [f] = &ready[..] else { panic!("{ready:?}") };
    let Command::Ready(md) = Command::parse(&f.body).unwrap() else { panic!() };
    assert_eq!(md.get("Socket-Type").map(|v| &v[..]), Some(&b"DEALER"[..]));
    assert_eq!(md.get("Identity").map(|v| &v[..]), Some(&b"me"[..]));
}

#[test]
fn handshake_failure_keeps_the_wire_error_and_the_error_command() {
    let t0 = Instant::now();
    let mut c = Connection::new(config(SocketType::Pub), t0).unwrap();
    let e = feed(&mut c, t0, &peer_handshake(SocketType::Rep, 1)).unwrap_err();
    assert!(matches!(e, ConnectionError::Handshake(WireError::IncompatibleSocketType { .. })), "{e}");
    assert!(e.is_protocol() && e.is_handshake_failure());
    assert!(e.wire_error().is_some());
    // The ERROR for the peer is still emitted, after the greeting and READY.
    let mut tx = Transmit::new();
    c.poll_transmit(&mut tx);
    let out = frames(&drain(&mut tx)[Greeting::LEN..]);
    let last = Command::parse(&out.last().unwrap().body).unwrap();
    assert!(matches!(last, Command::Error(_)), "{last:?}");
    // Final: every call repeats the error.
    assert_eq!(feed(&mut c, t0, b"").unwrap_err(), e);
    assert_eq!(c.handle_timeout(t0).unwrap_err(), e);
    assert_eq!(c.poll_timeout(), None);

    let mut bad = config(SocketType::Dealer);
    bad.handshake.identity = Some(Bytes::from(vec![1u8; 256]));
    let e = Connection::new(bad, t0).unwrap_err();
    assert!(matches!(e, ConnectionError::Handshake(WireError::InvalidMetadata(_))), "{e}");
}

#[test]
fn handshake_timeout() {
    let t0 = Instant::now();
    let cfg = ConnectionConfig { handshake_timeout: Some(ms(500)), ..config(SocketType::Pair) };
    let mut c = Connection::new(cfg, t0).unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + ms(500)));
    // Half a greeting does not extend it.
    feed(&mut c, t0 + ms(100), &peer_handshake(SocketType::Pair, 1)[..30]).unwrap();
    c.handle_timeout(t0 + ms(499)).unwrap();
    let e = c.handle_timeout(t0 + ms(500)).unwrap_err();
    assert_eq!(e, ConnectionError::HandshakeTimeout(ms(500)));
    assert!(e.is_liveness() && e.is_handshake_failure());

    // Once established the deadline is gone.
    let cfg = ConnectionConfig { handshake_timeout: Some(ms(500)), ..config(SocketType::Pair) };
    let mut c = established(cfg, SocketType::Pair, 1, t0);
    assert_eq!(c.poll_timeout(), None);
    c.handle_timeout(t0 + ms(10_000)).unwrap();
}

#[test]
fn pings_at_the_interval_and_times_out_only_without_input() {
    let t0 = Instant::now();
    let mut c = established(with_heartbeat(SocketType::Pair, 100, 250, 1500), SocketType::Pair, 1, t0);
    assert_eq!(c.poll_timeout(), Some(t0 + ms(100)));
    c.handle_timeout(t0 + ms(50)).unwrap();
    assert!(!c.wants_transmit(), "early call: nothing due");
    c.handle_timeout(t0 + ms(100)).unwrap();
    assert!(c.wants_transmit());
    assert_eq!(sent_commands(&mut c), [Command::Ping { ttl: 15, context: Bytes::new() }]);
    // Next PING at 200; the timeout armed by the first PING expires at 350.
    assert_eq!(c.poll_timeout(), Some(t0 + ms(200)));
    c.handle_timeout(t0 + ms(200)).unwrap();
    c.handle_timeout(t0 + ms(300)).unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + ms(350)), "a PING sent while one is pending does not re-arm it");
    let e = c.handle_timeout(t0 + ms(350)).unwrap_err();
    assert_eq!(e, ConnectionError::HeartbeatTimeout(ms(250)));
    assert!(e.is_liveness() && !e.is_handshake_failure());
}

#[test]
fn any_input_cancels_the_heartbeat_timeout() {
    let t0 = Instant::now();
    let mut c = established(with_heartbeat(SocketType::Pair, 100, 150, 0), SocketType::Pair, 1, t0);
    c.handle_timeout(t0 + ms(100)).unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + ms(200)));
    // Even a partial frame is something received.
    feed(&mut c, t0 + ms(120), &[0x01]).unwrap();
    c.handle_timeout(t0 + ms(200)).unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + ms(300)), "re-armed by the PING at 200");
    c.on_read();
    c.handle_timeout(t0 + ms(300)).unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + ms(400)));
    // PING at 300 armed 450: nothing more arrives.
    c.handle_timeout(t0 + ms(400)).unwrap();
    assert!(c.handle_timeout(t0 + ms(450)).is_err());
}

#[test]
fn reading_paused_suppresses_the_heartbeat_timeout() {
    let t0 = Instant::now();
    let mut c = established(with_heartbeat(SocketType::Pair, 100, 250, 0), SocketType::Pair, 1, t0);
    c.handle_timeout(t0 + ms(100)).unwrap();
    c.set_reading_paused(true, t0 + ms(120));
    assert!(c.reading_paused());
    // PINGs go on, no timeout.
    for n in 2..20 {
        assert_eq!(c.poll_timeout(), Some(t0 + ms(100 * n)));
        c.handle_timeout(t0 + ms(100 * n)).unwrap();
        assert!(c.wants_transmit());
        sent(&mut c);
    }
    c.set_reading_paused(false, t0 + ms(1950));
    // The first PING after the pause arms a new timeout.
    c.handle_timeout(t0 + ms(2000)).unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + ms(2100)));
    c.handle_timeout(t0 + ms(2100)).unwrap();
    c.handle_timeout(t0 + ms(2200)).unwrap();
    assert_eq!(c.handle_timeout(t0 + ms(2250)).unwrap_err(), ConnectionError::HeartbeatTimeout(ms(250)));
}

#[test]
fn heartbeat_timeout_minus_one_is_the_interval_and_zero_is_none() {
    let hb = Heartbeat::from_options(100, -1, 0).unwrap();
    assert_eq!((hb.interval, hb.timeout), (ms(100), Some(ms(100))));
    assert_eq!(Heartbeat::from_options(100, 0, 0).unwrap().timeout, None);
    assert_eq!(Heartbeat::from_options(0, 100, 0), None);

    let t0 = Instant::now();
    let mut c = established(with_heartbeat(SocketType::Pair, 100, 0, 0), SocketType::Pair, 1, t0);
    for n in 1..50 {
        c.handle_timeout(t0 + ms(100 * n)).unwrap();
    }
}

#[test]
fn no_heartbeats_to_a_zmtp_3_0_peer() {
    let t0 = Instant::now();
    let mut c = established(with_heartbeat(SocketType::Pair, 100, 100, 0), SocketType::Pair, 0, t0);
    assert_eq!(c.poll_timeout(), None);
    c.handle_timeout(t0 + ms(10_000)).unwrap();
    assert!(!c.wants_transmit());
}

#[test]
fn the_peers_ping_ttl() {
    let t0 = Instant::now();
    let mut c = established(config(SocketType::Pair), SocketType::Pair, 1, t0);
    assert_eq!(c.poll_timeout(), None);
    // TTL 5 ds: nothing within 500 ms of the batch that held the PING ends it.
    feed(&mut c, t0 + ms(10), &ping(5, b"")).unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + ms(510)));
    // Any input stops it.
    feed(&mut c, t0 + ms(400), &message(b"x", false)).unwrap();
    assert_eq!(c.poll_timeout(), None);
    feed(&mut c, t0 + ms(1000), &ping(5, b"")).unwrap();
    // Suspended while paused, restarted in full on resume.
    c.set_reading_paused(true, t0 + ms(1100));
    assert_eq!(c.poll_timeout(), None);
    c.handle_timeout(t0 + ms(5000)).unwrap();
    c.set_reading_paused(false, t0 + ms(6000));
    assert_eq!(c.poll_timeout(), Some(t0 + ms(6500)));
    let e = c.handle_timeout(t0 + ms(6500)).unwrap_err();
    assert_eq!(e, ConnectionError::PeerTtlExpired(ms(500)));
    assert!(e.is_liveness());
    // A PING without TTL starts nothing.
    let mut c = established(config(SocketType::Pair), SocketType::Pair, 1, t0);
    feed(&mut c, t0, &ping(0, b"")).unwrap();
    assert_eq!(c.poll_timeout(), None);
}

#[test]
fn pong_echoes_the_context_and_only_the_latest_is_owed() {
    let t0 = Instant::now();
    let mut c = established(config(SocketType::Pair), SocketType::Pair, 1, t0);
    let mut input = ping(0, b"one");
    input.extend_from_slice(&ping(0, b"two"));
    assert!(feed(&mut c, t0, &input).unwrap().is_empty());
    assert!(c.wants_transmit());
    assert_eq!(sent_commands(&mut c), [Command::Pong { context: Bytes::from_static(b"two") }]);
    assert!(!c.wants_transmit());
    // The PONG goes out with the next messages, before them.
    feed(&mut c, t0, &ping(0, b"three")).unwrap();
    let out = encoded(&mut c, [Message::new(&b"m"[..], false)]);
    assert_eq!(Command::parse(&out[0].body).unwrap(), Command::Pong { context: Bytes::from_static(b"three") });
    assert_eq!(out[1], Frame::message(&b"m"[..], false));
}

#[test]
fn sub_sends_subscriptions_as_commands_to_3_1_and_as_messages_to_3_0() {
    let t0 = Instant::now();
    let batch = || {
        vec![
            Message::new(&b"\x01topic"[..], false),
            Message::new(&b"\x00old"[..], false),
            // Not subscriptions: a multipart message that starts like one, and its tail.
            Message::new(&b"\x01multi"[..], true),
            Message::new(&b"\x01tail"[..], false),
            Message::new(&b"plain"[..], false),
        ]
    };
    let mut c = established(config(SocketType::Sub), SocketType::Pub, 1, t0);
    let out = encoded(&mut c, batch());
    assert_eq!(Command::parse(&out[0].body).unwrap(), Command::Subscribe(Bytes::from_static(b"topic")));
    assert_eq!(Command::parse(&out[1].body).unwrap(), Command::Cancel(Bytes::from_static(b"old")));
    assert_eq!(out[2..], as_frames(&batch()[2..]));

    let mut c = established(config(SocketType::XSub), SocketType::XPub, 0, t0);
    assert_eq!(encoded(&mut c, batch()), as_frames(&batch()));
}

/// Frames in the clear: a message's wire form is its frames, whoever encodes it, as long as
/// nothing of ours turns into a command; encoded apart from the connection and appended to
/// its `Transmit`, it goes out where the connection's own encoding would have put it.
#[test]
fn frames_in_the_clear_unless_subscriptions_become_commands_or_the_connection_failed() {
    let t0 = Instant::now();
    assert!(!Connection::new(config(SocketType::Push), t0).unwrap().frames_in_the_clear(), "before the handshake");
    let mut c = established(config(SocketType::Push), SocketType::Pull, 1, t0);
    assert!(c.frames_in_the_clear());
    let mut packed = BytesMut::new();
    for body in [&b"one"[..], &[7u8; 300][..]] {
        encode_frame_header(false, false, body.len(), &mut packed);
        packed.extend_from_slice(body);
    }
    let mut tx = Transmit::new();
    tx.append_encoded(&mut packed);
    assert!(packed.is_empty());
    c.encode([Message::new(&b"three"[..], false)], &mut tx);
    let mut more = BytesMut::from(&b"\x00\x04four"[..]);
    tx.append_encoded(&mut more);
    assert!(more.is_empty());
    let bodies: Vec<Bytes> = frames(&drain(&mut tx)).into_iter().map(|f| f.body).collect();
    assert_eq!(bodies, [&b"one"[..], &[7u8; 300][..], b"three", b"four"]);

    assert!(!established(config(SocketType::Sub), SocketType::Pub, 1, t0).frames_in_the_clear());
    assert!(!established(config(SocketType::XSub), SocketType::XPub, 1, t0).frames_in_the_clear());
    assert!(established(config(SocketType::Sub), SocketType::Pub, 0, t0).frames_in_the_clear(), "3.0: as messages");
    // A failed connection sends nothing more.
    assert!(feed(&mut c, t0, &command(Command::Ready(Metadata::new()))).is_err());
    assert!(!c.frames_in_the_clear());
}

#[test]
fn pub_receives_subscription_commands_as_messages() {
    let t0 = Instant::now();
    for (ours, minor) in [(SocketType::Pub, 1), (SocketType::XPub, 1), (SocketType::XPub, 0)] {
        let mut c = established(config(ours), SocketType::Sub, minor, t0);
        let mut input = command(Command::Subscribe(Bytes::from_static(b"a")));
        input.extend_from_slice(&command(Command::Cancel(Bytes::from_static(b"b"))));
        // A 3.0 peer's form passes through as it is.
        input.extend_from_slice(&message(b"\x01c", false));
        let msgs = feed(&mut c, t0, &input).unwrap();
        assert_eq!(
            msgs,
            [
                Message::new(&b"\x01a"[..], false),
                Message::new(&b"\x00b"[..], false),
                Message::new(&b"\x01c"[..], false),
            ]
        );
    }
    // Other socket types drop them.
    let mut c = established(config(SocketType::Pair), SocketType::Pair, 1, t0);
    assert!(feed(&mut c, t0, &command(Command::Subscribe(Bytes::from_static(b"a")))).unwrap().is_empty());
}

#[test]
fn a_subscription_inside_a_multipart_message_is_a_protocol_error() {
    let t0 = Instant::now();
    let mut c = established(config(SocketType::XPub), SocketType::XSub, 1, t0);
    let mut input = message(b"whole", false);
    input.extend_from_slice(&message(b"open", true));
    input.extend_from_slice(&command(Command::Subscribe(Bytes::from_static(b"a"))));
    let mut buf = input;
    let mut msgs = Vec::new();
    let e = c.input(t0, &mut buf, &mut msgs).unwrap_err();
    assert!(matches!(&e, ConnectionError::Protocol(WireError::UnexpectedCommand(_))), "{e}");
    assert!(e.is_protocol());
    // What came before is delivered; the open message is the driver's to roll back.
    assert_eq!(msgs, [Message::new(&b"whole"[..], false), Message::new(&b"open"[..], true)]);
}

#[test]
fn peer_error_second_ready_and_malformed_commands_end_the_connection() {
    let t0 = Instant::now();
    type Expect = fn(&ConnectionError) -> bool;
    let cases: [(BytesMut, Expect); 3] = [
        (command(Command::Error("go away".into())), |e| *e == ConnectionError::PeerError("go away".into())),
        (command(Command::Ready(Metadata::new())), |e| {
            matches!(e, ConnectionError::Protocol(WireError::UnexpectedCommand(_)))
        }),
        (command(Command::Unknown { name: Bytes::from_static(b"PING"), data: Bytes::new() }), |e| {
            matches!(e, ConnectionError::Protocol(WireError::MalformedCommand(_)))
        }),
    ];
    for (input, is) in cases {
        let mut c = established(config(SocketType::Pair), SocketType::Pair, 1, t0);
        // A PONG owed when the connection fails is not sent.
        let input = [ping(0, b"owed"), input].concat();
        let e = feed(&mut c, t0, &input).unwrap_err();
        assert!(!c.wants_transmit());
        assert!(sent(&mut c).is_empty());
        assert!(is(&e) && e.is_protocol(), "{e}");
        assert_eq!(c.error(), Some(&e));
        assert_eq!(c.peek_header(&message(b"x", false)), None);
    }
}

#[test]
fn unknown_commands_and_pongs_are_ignored() {
    let t0 = Instant::now();
    let mut c = established(config(SocketType::Pair), SocketType::Pair, 1, t0);
    let mut input = command(Command::Unknown { name: Bytes::from_static(b"HELLO"), data: Bytes::from_static(b"x") });
    input.extend_from_slice(&command(Command::Pong { context: Bytes::new() }));
    input.extend_from_slice(&message(b"after", false));
    assert_eq!(feed(&mut c, t0, &input).unwrap(), [Message::new(&b"after"[..], false)]);
    assert!(!c.wants_transmit());
}

#[test]
fn maxmsgsize_refuses_an_oversize_frame_from_its_header() {
    let t0 = Instant::now();
    let mut cfg = config(SocketType::Pair);
    cfg.handshake.max_frame_size = Some(100);
    let mut c = established(cfg, SocketType::Pair, 1, t0);
    assert_eq!(feed(&mut c, t0, &message(&[7; 100], false)).unwrap().len(), 1, "the limit is inclusive");
    let mut header = BytesMut::new();
    encode_frame_header(false, false, 101, &mut header);
    let e = feed(&mut c, t0, &header).unwrap_err();
    assert_eq!(e, ConnectionError::Protocol(WireError::FrameTooLarge { size: 101, max: 100 }));
    assert!(e.is_protocol());
}

#[test]
fn decodes_many_frames_per_call_without_copying_bodies() {
    let t0 = Instant::now();
    let mut c = established(config(SocketType::Pair), SocketType::Pair, 1, t0);
    let mut buf = BytesMut::new();
    for i in 0..10_000u32 {
        Frame::message(Bytes::copy_from_slice(&i.to_be_bytes()), i % 3 == 0).encode(&mut buf);
    }
    let tail = message(b"partial", false);
    buf.extend_from_slice(&tail[..4]);
    let base = buf.as_ptr() as usize;
    let end = base + buf.len();
    let mut msgs = std::collections::VecDeque::new();
    c.input(t0, &mut buf, &mut msgs).unwrap();
    assert_eq!(msgs.len(), 10_000);
    for (i, m) in msgs.iter().enumerate() {
        assert_eq!(&m.body[..], &(i as u32).to_be_bytes());
        assert_eq!(m.more, i % 3 == 0);
        let at = m.body.as_ptr() as usize;
        assert!((base..end).contains(&at), "bodies are slices of the read buffer");
    }
    assert_eq!(&buf[..], &tail[..4], "the partial frame stays");
}

#[test]
fn large_bodies_are_encoded_as_the_same_bytes() {
    let t0 = Instant::now();
    let mut c = established(config(SocketType::Pair), SocketType::Pair, 1, t0);
    let big = Bytes::from(vec![0xAB; Transmit::ZERO_COPY_MIN]);
    let bigger = Bytes::from(vec![0xCD; 1 << 20]);
    let small = Bytes::from(vec![0xEF; Transmit::ZERO_COPY_MIN - 1]);
    let mut tx = Transmit::new();
    c.encode(
        [
            Message { body: big.clone(), more: true },
            Message { body: small.clone(), more: true },
            Message { body: bigger.clone(), more: false },
        ],
        &mut tx,
    );
    let mut io = [std::io::IoSlice::new(&[]); 16];
    let n = tx.chunks_vectored(&mut io);
    let ptrs: Vec<*const u8> = io[..n].iter().map(|s| s.as_ptr()).collect();
    assert!(ptrs.contains(&big.as_ptr()) && ptrs.contains(&bigger.as_ptr()));
    assert!(!ptrs.contains(&small.as_ptr()), "small bodies are copied into the buffer");
    assert_eq!(n, 4, "header | big | header+small+header | bigger");
    let out = frames(&drain(&mut tx));
    assert_eq!(out, [Frame::message(big, true), Frame::message(small, true), Frame::message(bigger, false)]);
}

#[test]
fn a_large_body_read_directly_is_fed_as_one_frame() {
    let t0 = Instant::now();
    let mut c = established(with_heartbeat(SocketType::Pair, 100, 100, 0), SocketType::Pair, 1, t0);
    let body: Vec<u8> = (0..100_000u32).map(|i| i as u8).collect();
    let mut buf = message(b"before", false);
    let mut big = message(&body, true);
    buf.extend_from_slice(&big[..1000]);
    let mut msgs = Vec::new();
    c.input(t0, &mut buf, &mut msgs).unwrap();
    assert_eq!(msgs.len(), 1);
    let h = c.peek_header(&buf).unwrap();
    assert_eq!(h, FrameHeader { more: true, command: false, header_len: 9, body_len: 100_000 });
    assert_eq!(buf.len(), 1000, "peeking consumes nothing");
    // The driver reads the rest into its own buffer; partial reads count as traffic.
    c.handle_timeout(t0 + ms(100)).unwrap();
    assert_eq!(c.poll_timeout(), Some(t0 + ms(200)));
    c.on_read();
    let _ = big.split_to(h.header_len);
    c.input_frame(t0 + ms(150), Frame { more: h.more, command: h.command, body: big.freeze() }, &mut msgs).unwrap();
    assert_eq!(msgs[1], Message::new(body, true));
    // Nothing to peek during the handshake.
    let c = Connection::new(config(SocketType::Pair), t0).unwrap();
    assert_eq!(c.peek_header(&message(b"x", false)), None);
}

#[test]
fn connections_are_send() {
    fn assert_send<T: Send + 'static>() {}
    assert_send::<Connection>();
    assert_send::<Transmit>();
    assert_send::<ConnectionError>();
}

/// Two connections, `a` sending to `b`: the whole stream `a` writes
/// (greeting, READY, messages).
fn stream_from(a: &mut Connection, batches: &[Vec<Message>]) -> Vec<u8> {
    let mut wire = Vec::new();
    let mut tx = Transmit::new();
    a.poll_transmit(&mut tx);
    wire.extend_from_slice(&drain(&mut tx));
    // `a` completes its handshake with `b`'s greeting and READY.
    let t0 = Instant::now();
    feed(a, t0, &peer_handshake(SocketType::Dealer, 1)).unwrap();
    for batch in batches {
        a.encode(batch.iter().cloned(), &mut tx);
        wire.extend_from_slice(&drain(&mut tx));
    }
    wire
}

fn arb_message() -> impl Strategy<Value = Message> {
    let body = prop_oneof![
        8 => proptest::collection::vec(any::<u8>(), 0..300),
        1 => proptest::collection::vec(any::<u8>(), Transmit::ZERO_COPY_MIN - 2..Transmit::ZERO_COPY_MIN + 40_000),
    ];
    (body, any::<bool>()).prop_map(|(b, more)| Message::new(b, more))
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    /// Encoding arbitrary batches and feeding the bytes to a peer connection
    /// in arbitrary chunks yields the same messages.
    #[test]
    fn encoded_batches_decode_to_the_same_messages_whatever_the_split(
        batches in proptest::collection::vec(proptest::collection::vec(arb_message(), 0..20), 1..5),
        cuts in proptest::collection::vec(any::<proptest::sample::Index>(), 0..40),
    ) {
        let t0 = Instant::now();
        let mut a = Connection::new(config(SocketType::Dealer), t0).unwrap();
        let wire = stream_from(&mut a, &batches);
        let mut cuts: Vec<usize> = cuts.iter().map(|i| i.index(wire.len() + 1)).collect();
        cuts.push(wire.len());
        cuts.sort_unstable();
        let mut b = Connection::new(config(SocketType::Dealer), t0).unwrap();
        let mut buf = BytesMut::new();
        let mut got = Vec::new();
        let mut from = 0;
        for to in cuts {
            buf.extend_from_slice(&wire[from..to]);
            from = to;
            b.input(t0, &mut buf, &mut got).unwrap();
        }
        prop_assert!(b.is_established());
        prop_assert!(buf.is_empty());
        let want: Vec<Message> = batches.into_iter().flatten().collect();
        prop_assert_eq!(got, want);
    }
}
