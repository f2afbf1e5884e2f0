//! Hostile and broken peers: raw TCP clients that speak bad or malicious ZMTP to a bound oxmq
//! PULL or REP. oxmq must close such connections (or, where closing is not required, at least
//! not crash or allocate what a length field claims), and every test then proves the socket
//! still serves a well-behaved oxmq peer that connects afterwards.

mod common;

use std::io::Write;
use std::net::Shutdown;
use std::time::{Duration, Instant};

use common::*;
use oxmq::{Context, Event, EventMask, Monitor, MonitorEvent, Pull, Rep};

/// How long oxmq may take to close a connection it has a reason to close.
const CLOSE_WITHIN: Duration = Duration::from_secs(1);

fn bound_pull(ctx: &Context) -> (Pull, String) {
    let pull = Pull::new(ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    (pull, ep)
}

fn bound_rep(ctx: &Context) -> (Rep, String) {
    let rep = Rep::new(ctx).unwrap();
    rep.set_rcvtimeo(TIMEO_MS).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.last_endpoint().unwrap();
    (rep, ep)
}

/// The frames oxmq sent after its greeting, from everything read on a connection.
fn frames_after_greeting(got: &[u8]) -> Vec<RawFrame> {
    if got.len() <= 64 { Vec::new() } else { parse_frames(&got[64..]) }
}

/// Everything oxmq sent on a refused connection is its greeting and commands (READY, ERROR),
/// never a message.
fn assert_only_commands(got: &[u8]) {
    for f in frames_after_greeting(got) {
        assert!(f.is_command(), "oxmq sent a message frame on a connection it refused: {f:?}");
        let name = f.command_name().unwrap_or("?").to_string();
        assert!(name == "READY" || name == "ERROR", "unexpected command {name} on a refused connection");
    }
}

// ---------------------------------------------------------------- the raw peer itself

#[test]
fn raw_peer_positive_control_delivers_messages() {
    // Proves the hand-written peer is right, so that the "closed" outcomes below are oxmq's
    // doing and not the helper's.
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    let props = raw.handshake("PUSH");
    assert!(
        props.iter().any(|(n, v)| n.eq_ignore_ascii_case("Socket-Type") && v == b"PULL"),
        "oxmq's READY announces PULL: {props:?}"
    );
    raw.write(&frame(FLAG_MORE, b"a")).unwrap();
    raw.write(&frame(0, b"b")).unwrap();
    raw.write(&frame(0, &[9u8; 300])).unwrap();
    assert_eq!(pull.recv_multipart().unwrap(), vec!["a", "b"]);
    assert_eq!(pull.recv().unwrap(), vec![9u8; 300]);
    assert!(raw.stays_open_and_silent(Duration::from_millis(50)), "a good raw peer stays connected");
}

#[test]
fn raw_req_positive_control_against_rep() {
    let ctx = Context::new();
    let (rep, ep) = bound_rep(&ctx);
    rep.set_sndtimeo(TIMEO_MS).unwrap();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("REQ");
    raw.write(&frame(FLAG_MORE, b"")).unwrap();
    raw.write(&frame(0, b"hi")).unwrap();
    assert_eq!(rep.recv().unwrap(), "hi");
    rep.send("yo").unwrap();
    assert_eq!(raw.read_frame(), RawFrame { flags: FLAG_MORE, body: vec![] }, "empty delimiter");
    assert_eq!(raw.read_frame(), RawFrame { flags: 0, body: b"yo".to_vec() });
}

// ---------------------------------------------------------------- bad greetings

#[test]
fn http_request_instead_of_greeting_is_closed() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    let _ = raw.write(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert!(got.len() <= 64, "nothing but (at most) oxmq's greeting: {} bytes", got.len());
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn zmtp_1_0_peer_is_closed() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    // ZMTP 1.0: an identity frame of length 1 (just the flags byte), flags 0.
    let _ = raw.write(&[0x01, 0x00]);
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert!(got.len() <= 64, "{} bytes", got.len());
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn zmtp_2_0_greeting_is_closed() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    // ZMTP 2.0: signature, revision 0x01, socket type (PUSH = 8), then an empty identity.
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x08, 0x00, 0x00];
    g.extend_from_slice(&[0u8; 8]);
    let _ = raw.write(&g);
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert!(got.len() <= 64, "{} bytes", got.len());
    assert_only_commands(&got);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn unknown_mechanism_is_closed() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    let mut g = greeting();
    g[12..18].copy_from_slice(b"GSSAPI");
    let _ = raw.write(&g);
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert_only_commands(&got);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn plain_mechanism_against_null_is_closed() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    let mut g = greeting();
    g[12..17].copy_from_slice(b"PLAIN");
    let _ = raw.write(&g);
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert_only_commands(&got);
    assert_pull_serves(&ctx, &pull, &ep);
}

// ---------------------------------------------------------------- bad READY

#[test]
fn pub_peer_to_pull_is_refused() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    let _ = raw.write(&ready_as("PUB"));
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert_only_commands(&got);
    let frames = frames_after_greeting(&got);
    if let Some(err) = frames.iter().find(|f| f.command_name() == Some("ERROR")) {
        let data = err.command_data();
        assert!(!data.is_empty() && data.len() == 1 + data[0] as usize, "ERROR is reason-len + reason: {err:?}");
    }
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn rep_peer_to_rep_is_refused() {
    let ctx = Context::new();
    let (rep, ep) = bound_rep(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    let _ = raw.write(&ready_as("REP"));
    let _ = raw.write(&frame(FLAG_MORE, b""));
    let _ = raw.write(&frame(0, b"sneaky"));
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert_only_commands(&got);
    assert_rep_serves(&ctx, &rep, &ep);
}

#[test]
fn unknown_socket_type_is_refused() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    let _ = raw.write(&ready_as("BANANA"));
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert_only_commands(&got);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn ready_without_socket_type_is_refused() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    let _ = raw.write(&ready(&[("Identity", b"x")]));
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert_only_commands(&got);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn malformed_ready_properties_are_refused() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    // A property whose value length runs past the end of the command.
    let mut data = vec![11];
    data.extend_from_slice(b"Socket-Type");
    data.extend_from_slice(&1000u32.to_be_bytes());
    data.extend_from_slice(b"PUSH");
    let _ = raw.write(&command("READY", &data));
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert_only_commands(&got);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn message_before_ready_is_refused() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    let _ = raw.write(&frame(0, b"too early"));
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert_only_commands(&got);
    assert_pull_serves(&ctx, &pull, &ep);
}

// ---------------------------------------------------------------- bad frames after the handshake

#[test]
fn reserved_flag_bits_close_the_connection() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    raw.write(&frame(0, b"fine")).unwrap();
    assert_eq!(pull.recv().unwrap(), "fine", "the handshake was good");
    let _ = raw.write(&[0x80, 3, b'b', b'a', b'd']);
    raw.expect_closed(CLOSE_WITHIN);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn command_frame_with_more_flag_closes_the_connection() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let mut ping = ping(0, b"");
    ping[0] |= FLAG_MORE;
    let _ = raw.write(&ping);
    raw.expect_closed(CLOSE_WITHIN);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn second_ready_after_handshake_closes_the_connection() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let _ = raw.write(&ready_as("PUSH"));
    raw.expect_closed(CLOSE_WITHIN);
    assert_pull_serves(&ctx, &pull, &ep);
}

/// Resident memory of this process in KiB.
fn rss_kib() -> u64 {
    let status = std::fs::read_to_string("/proc/self/status").unwrap();
    let line = status.lines().find(|l| l.starts_with("VmRSS:")).unwrap();
    line.split_whitespace().nth(1).unwrap().parse().unwrap()
}

#[test]
fn frame_claiming_2_pow_62_bytes_is_not_allocated() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let before = rss_kib();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let mut hdr = vec![FLAG_LONG];
    hdr.extend_from_slice(&(1u64 << 62).to_be_bytes());
    let _ = raw.write(&hdr);
    let _ = raw.write(&[0xAB; 1000]);
    // Whether oxmq closes such a connection or waits for the body, it must not allocate what
    // the length claims, and it must keep serving.
    assert_pull_serves(&ctx, &pull, &ep);
    let grown = rss_kib().saturating_sub(before);
    assert!(grown < 256 * 1024, "resident memory grew by {grown} KiB for one bogus frame header");
    assert!(pull.try_recv().is_err(), "no part of the bogus frame is delivered");
}

#[test]
fn frame_length_beyond_i64_max_closes_the_connection() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let mut hdr = vec![FLAG_LONG];
    hdr.extend_from_slice(&u64::MAX.to_be_bytes());
    let _ = raw.write(&hdr);
    raw.expect_closed(CLOSE_WITHIN);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn maxmsgsize_exceeded_closes_the_connection() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.set_maxmsgsize(100).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    raw.write(&frame(0, &[1u8; 100])).unwrap();
    assert_eq!(pull.recv().unwrap(), vec![1u8; 100], "exactly MAXMSGSIZE is allowed");
    let _ = raw.write(&frame(0, &[2u8; 101]));
    raw.expect_closed(CLOSE_WITHIN);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn maxmsgsize_checked_from_the_long_header_alone() {
    // The header claims 1 MiB with MAXMSGSIZE 100: oxmq must not wait for the body.
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_maxmsgsize(100).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let mut hdr = vec![FLAG_LONG];
    hdr.extend_from_slice(&(1u64 << 20).to_be_bytes());
    let _ = raw.write(&hdr);
    raw.expect_closed(CLOSE_WITHIN);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn truncated_frame_then_close_delivers_nothing() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    {
        let mut raw = RawPeer::connect(&ep);
        raw.handshake("PUSH");
        // A complete first part of a multipart message, then a truncated second part.
        raw.write(&frame(FLAG_MORE, b"part-one")).unwrap();
        raw.write(&[0x00, 10, b'a', b'b', b'c']).unwrap();
    } // closed here
    assert_pull_serves(&ctx, &pull, &ep);
    pull.set_rcvtimeo(200).unwrap();
    let late = pull.recv();
    assert!(is_again(&late), "nothing of the truncated message may be delivered, got {late:?}");
}

#[test]
fn truncated_long_header_then_close_delivers_nothing() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    {
        let mut raw = RawPeer::connect(&ep);
        raw.handshake("PUSH");
        raw.write(&[FLAG_LONG, 0, 0, 0]).unwrap();
    }
    assert_pull_serves(&ctx, &pull, &ep);
    pull.set_rcvtimeo(200).unwrap();
    let late = pull.recv();
    assert!(is_again(&late), "got {late:?}");
}

#[test]
fn messages_read_before_a_protocol_error_are_delivered() {
    // Regression: whole messages that arrived in the same read as a protocol error were
    // dropped with the connection. libzmq hands each message over as it decodes it, so those
    // before the error are delivered; the message left open by the error is not.
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let bytes = [
        frame(0, b"one"),
        frame(FLAG_MORE, b"two-a"),
        frame(0, b"two-b"),
        frame(FLAG_MORE, b"open"),
        vec![0xFF, 0xFF, 0xFF],
        frame(0, b"after"),
    ]
    .concat();
    let _ = raw.write(&bytes);
    assert_eq!(pull.recv().unwrap(), "one");
    assert_eq!(pull.recv_multipart().unwrap(), vec!["two-a", "two-b"]);
    raw.expect_closed(CLOSE_WITHIN);
    assert_pull_serves(&ctx, &pull, &ep);
    assert!(pull.try_recv().is_err(), "nothing of the open message nor after the error");
}

// ---------------------------------------------------------------- heartbeats

#[test]
fn ping_gets_pong_echoing_the_context() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    for context in [&b"hello"[..], b"", &[7u8; 16]] {
        raw.write(&ping(100, context)).unwrap();
        let pong = raw.read_frame();
        assert_eq!(pong.command_name(), Some("PONG"), "{pong:?}");
        assert_eq!(pong.command_data(), context, "PONG echoes the PING context");
        assert_eq!(pong.flags, FLAG_COMMAND);
    }
    // Heartbeats do not disturb messages.
    raw.write(&frame(0, b"after pings")).unwrap();
    assert_eq!(pull.recv().unwrap(), "after pings");
}

#[test]
fn ping_on_rep_gets_pong() {
    let ctx = Context::new();
    let (rep, ep) = bound_rep(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("REQ");
    raw.write(&ping(10, b"ctx")).unwrap();
    let pong = raw.read_frame();
    assert_eq!(pong.command_name(), Some("PONG"));
    assert_eq!(pong.command_data(), b"ctx");
    assert_rep_serves(&ctx, &rep, &ep);
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

// ---------------------------------------------------------------- slow, big and flooding peers

#[test]
fn handshake_sent_one_byte_at_a_time_is_accepted() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    let mut bytes = greeting().to_vec();
    bytes.extend(ready_as("PUSH"));
    bytes.extend(frame(0, b"slow"));
    for b in bytes {
        raw.write(&[b]).unwrap();
    }
    assert_eq!(pull.recv().unwrap(), "slow");
}

#[test]
fn oversized_ready_is_refused() {
    // 64 KiB is the handshake's frame limit; this READY is bigger.
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    let big = vec![b'x'; 70_000];
    let _ = raw.write(&ready(&[("Socket-Type", b"PUSH"), ("X-Big", &big)]));
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert_only_commands(&got);
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn identity_longer_than_255_bytes_is_refused() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    let _ = raw.write(&ready(&[("Socket-Type", b"PUSH"), ("Identity", &[b'i'; 256])]));
    let got = raw.expect_closed(CLOSE_WITHIN);
    assert_only_commands(&got);
    assert_pull_serves(&ctx, &pull, &ep);
}

/// Write `chunk` repeatedly until a write stalls for `stall` (the peer stopped reading) or
/// `limit` bytes were written; returns the bytes written and whether it stalled.
fn write_until_stalled(raw: &mut RawPeer, chunk: &[u8], stall: Duration, limit: usize) -> (usize, bool) {
    use std::io::Write;
    raw.stream.set_write_timeout(Some(stall)).unwrap();
    let mut total = 0;
    // Stop only at a whole chunk, so that whatever follows starts a new frame.
    while total < limit || total % chunk.len() != 0 {
        // Partial writes continue where they stopped, so the frames stay aligned.
        let at = total % chunk.len();
        match raw.stream.write(&chunk[at..]) {
            Ok(n) => total += n,
            Err(e) if matches!(e.kind(), std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut) => {
                return (total, true);
            }
            Err(e) => panic!("write failed after {total} bytes: {e}"),
        }
    }
    (total, false)
}

#[test]
fn a_flooding_push_is_held_back_at_rcvhwm() {
    // The application does not read: oxmq must stop reading from the peer at the HWM (TCP
    // pushes back) instead of buffering whatever the peer sends.
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_rcvhwm(10).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let msg = frame(0, &[5u8; 1000]);
    let chunk: Vec<u8> = msg.iter().copied().cycle().take(msg.len() * 64).collect();
    let (written, stalled) = write_until_stalled(&mut raw, &chunk, Duration::from_millis(300), 256 << 20);
    assert!(stalled, "oxmq read {written} bytes from a peer while the application read nothing");
    // Everything that was taken is intact, and reading resumes the flow.
    for _ in 0..20 {
        assert_eq!(pull.recv().unwrap(), vec![5u8; 1000]);
    }
}

#[test]
fn ping_flood_without_reading_pongs_does_not_grow_memory() {
    // A peer that sends PINGs and never reads the PONGs: libzmq keeps one pending PONG (the
    // latest context); oxmq must not queue a PONG per PING without bound.
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let one = ping(100, &[0x55; 16]);
    let chunk: Vec<u8> = one.iter().copied().cycle().take(one.len() * 4096).collect();
    let before = rss_kib();
    let total = 16 << 20;
    let (written, stalled) = write_until_stalled(&mut raw, &chunk, Duration::from_millis(1000), total);
    // A marker message after the PINGs: once it arrives, every PING has been processed.
    if !stalled {
        raw.stream.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
        raw.write(&frame(0, b"marker")).unwrap();
        pull.set_rcvtimeo(5000).unwrap();
        assert_eq!(pull.recv().unwrap(), "marker");
    }
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    assert!(grown_mib < 6, "{written} bytes of PINGs grew resident memory by {grown_mib} MiB");
}

// ---------------------------------------------------------------- monitor helpers

/// libzmq's values (Linux errno) in handshake failure events.
const EAGAIN: u32 = 11;
const EPIPE: u32 = 32;

/// The events up to and including the first `event`; panics if it does not come.
fn events_until(mon: &Monitor, event: Event) -> Vec<MonitorEvent> {
    let mut seen = Vec::new();
    loop {
        match mon.recv_timeout(SOON) {
            Some(ev) => {
                let done = ev.event == event;
                seen.push(ev);
                if done {
                    return seen;
                }
            }
            None => panic!("no {event} within {SOON:?}; saw {seen:?}"),
        }
    }
}

/// The value of the next `event` (skipping others).
fn next_value_of(mon: &Monitor, event: Event) -> u32 {
    events_until(mon, event).last().unwrap().value
}

/// A bound PULL with a monitor on `events`.
fn monitored_pull(ctx: &Context, events: EventMask, handshake_ivl: Option<i32>) -> (Pull, Monitor, String) {
    let pull = Pull::new(ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    if let Some(ivl) = handshake_ivl {
        pull.set_handshake_ivl(ivl).unwrap();
    }
    let mon = pull.monitor(events).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    (pull, mon, ep)
}

fn handshake_events() -> EventMask {
    Event::Accepted
        | Event::HandshakeSucceeded
        | Event::HandshakeFailedNoDetail
        | Event::HandshakeFailedProtocol
        | Event::Disconnected
}

// ---------------------------------------------------------------- HANDSHAKE_IVL against slow peers

/// Write `bytes` one at a time, one per `pace`, on a clone of the peer's stream, from a thread;
/// stops early at a write error or when the returned sender is dropped. The thread gives back
/// how many bytes it wrote.
fn trickle(
    raw: &RawPeer,
    bytes: Vec<u8>,
    pace: Duration,
) -> (std::sync::mpsc::Sender<()>, std::thread::JoinHandle<usize>) {
    let mut out = raw.stream.try_clone().unwrap();
    let (stop, stopped) = std::sync::mpsc::channel::<()>();
    let h = std::thread::spawn(move || {
        for (i, b) in bytes.iter().enumerate() {
            if out.write_all(&[*b]).is_err() {
                return i;
            }
            // The pace of a slow peer (not a wait for something to happen).
            match stopped.recv_timeout(pace) {
                Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {}
                _ => return i + 1,
            }
        }
        bytes.len()
    });
    (stop, h)
}

#[test]
fn greeting_at_one_byte_per_second_is_cut_at_handshake_ivl() {
    // A peer that keeps the handshake alive with one byte a second must still be cut when
    // HANDSHAKE_IVL (a deadline for the whole handshake, not an idle timeout) expires, with
    // libzmq's events: HANDSHAKE_FAILED_NO_DETAIL (EAGAIN, checked against libzmq 4.3.5 via
    // pyzmq), then DISCONNECTED. A good peer connecting meanwhile is served at once.
    const IVL: Duration = Duration::from_millis(1500);
    let ctx = Context::new();
    let (pull, mon, ep) = monitored_pull(&ctx, handshake_events(), Some(IVL.as_millis() as i32));
    let started = Instant::now();
    let mut slow = RawPeer::connect(&ep);
    let (stop, trickler) = trickle(&slow, greeting().to_vec(), Duration::from_secs(1));
    let slow_fd = next_value_of(&mon, Event::Accepted);

    // A good peer, during the slow handshake.
    assert_pull_serves(&ctx, &pull, &ep);
    let before_failure = events_until(&mon, Event::HandshakeFailedNoDetail);
    let failure = before_failure.last().unwrap();
    assert!(
        before_failure.iter().any(|e| e.event == Event::HandshakeSucceeded),
        "the good peer's handshake completed while the slow one was pending: {before_failure:?}"
    );
    assert!(!before_failure.iter().any(|e| e.event == Event::Disconnected && e.value == slow_fd), "{before_failure:?}");
    assert_eq!(failure.value, EAGAIN, "libzmq's value for an expired HANDSHAKE_IVL: {failure:?}");
    assert_eq!(failure.endpoint, ep);
    // Then DISCONNECTED for the slow connection (the good peer's own may come before it).
    loop {
        let ev = events_until(&mon, Event::Disconnected).pop().unwrap();
        if ev.value == slow_fd {
            break;
        }
    }

    // The socket closed it: we see EOF (or a reset) within HANDSHAKE_IVL plus a margin. An idle
    // timeout would never fire: a byte arrives every second.
    let got = slow.expect_closed((IVL + Duration::from_secs(2)).saturating_sub(started.elapsed()));
    let closed_after = started.elapsed();
    drop(stop);
    let sent = trickler.join().unwrap();
    assert!(closed_after >= IVL - Duration::from_millis(50), "closed before HANDSHAKE_IVL: {closed_after:?}");
    assert!(sent < 64, "the greeting never completed ({sent} bytes sent)");
    assert!(got.len() <= 64, "nothing but oxmq's greeting: {} bytes", got.len());
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn handshake_ivl_zero_lets_a_slow_greeting_finish() {
    // HANDSHAKE_IVL 0 is no limit: a greeting paced over 1.5 s (well past what the IVL of the
    // test above allows) completes, with no failure event.
    let ctx = Context::new();
    let (pull, mon, ep) = monitored_pull(&ctx, handshake_events(), Some(0));
    let mut raw = RawPeer::connect(&ep);
    let g = greeting();
    for piece in g.chunks(16) {
        raw.write(piece).unwrap();
        // A slow peer's pace.
        std::thread::sleep(Duration::from_millis(500));
    }
    raw.write(&ready_as("PUSH")).unwrap();
    raw.read_greeting();
    assert_eq!(raw.read_frame().command_name(), Some("READY"));
    raw.write(&frame(0, b"slow but complete")).unwrap();
    assert_eq!(pull.recv().unwrap(), "slow but complete");
    let events = events_until(&mon, Event::HandshakeSucceeded);
    assert!(
        !events.iter().any(|e| matches!(e.event, Event::HandshakeFailedNoDetail | Event::Disconnected)),
        "{events:?}"
    );
}

// ---------------------------------------------------------------- command floods

/// A stream of commands that make no sense to a PULL: subscriptions (PUSH/PULL has no use for
/// them), unknown names, commands of other socket families (JOIN/LEAVE), unsolicited PONGs.
fn nonsense_commands() -> Vec<u8> {
    let one: Vec<u8> = [
        command("SUBSCRIBE", b"topic-0123456789"),
        command("CANCEL", b"topic-0123456789"),
        command("SUBSCRIBE", b""),
        command("FOOBAR", b"whatever"),
        command("X-EXTENSION", &[0x5A; 200]),
        command("JOIN", b"group"),
        command("LEAVE", b"group"),
        command("PONG", b"unasked"),
        frame(FLAG_COMMAND, &[1, b'Z']),
    ]
    .concat();
    one.iter().copied().cycle().take(one.len() * 128).collect()
}

#[test]
fn a_flood_of_unknown_and_unsolicited_commands_is_ignored() {
    // libzmq (checked with 4.3.5 via pyzmq) ignores commands it does not know and keeps the
    // connection. Where libzmq differs on purpose: it hands SUBSCRIBE/CANCEL to a PULL
    // application as messages ("\x09SUBSCRIBE...") - oxmq drops them, as PUSH/PULL has no
    // subscriptions. Memory stays flat: nothing of the flood is kept.
    if !common::in_a_process_of_its_own("a_flood_of_unknown_and_unsolicited_commands_is_ignored") {
        return; // it measures resident memory: alone in its process
    }
    let ctx = Context::new();
    let (pull, mon, ep) = monitored_pull(&ctx, Event::Accepted | Event::Disconnected, None);
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("PUSH");
    let flood_fd = next_value_of(&mon, Event::Accepted);
    raw.write(&frame(0, b"first")).unwrap();
    assert_eq!(pull.recv().unwrap(), "first");
    let chunk = nonsense_commands();
    const TOTAL: usize = 32 << 20;
    let before = rss_kib();
    let flood = std::thread::spawn(move || {
        let (written, stalled) = write_until_stalled(&mut raw, &chunk, Duration::from_secs(3), TOTAL);
        (raw, written, stalled)
    });
    // A good peer on the same socket, during the flood: its message is the next one (nothing
    // of the flood becomes a message).
    assert_pull_serves(&ctx, &pull, &ep);
    let (mut raw, written, stalled) = flood.join().unwrap();
    assert!(!stalled, "oxmq stopped reading a command flood after {written} bytes");
    // A marker after the flood: once it arrives, every command was processed.
    raw.stream.set_write_timeout(Some(Duration::from_secs(2))).unwrap();
    raw.write(&frame(0, b"marker")).unwrap();
    pull.set_rcvtimeo(10_000).unwrap();
    assert_eq!(pull.recv().unwrap(), "marker", "the flooding connection still works");
    let grown_mib = rss_kib().saturating_sub(before) / 1024;
    eprintln!("{written} bytes of commands: resident memory grew by {grown_mib} MiB");
    assert!(grown_mib < 8, "{written} bytes of ignored commands grew resident memory by {grown_mib} MiB");
    while let Some(ev) = mon.try_recv() {
        assert!(ev.event != Event::Disconnected || ev.value != flood_fd, "the flooding connection ended: {ev:?}");
    }
    assert!(raw.stays_open_and_silent(Duration::from_millis(50)), "the flooding peer is kept, as libzmq does");
}

#[test]
fn error_and_malformed_commands_after_the_handshake_cost_only_their_connection() {
    // libzmq 4.3.5 ignores these after the handshake (ERROR included) and keeps reading. oxmq
    // closes the connection: RFC 37's NULL grammar allows only messages (and the 3.1 commands)
    // after READY, and ERROR means the peer is giving up. Either way the socket goes on: the
    // message before is delivered, the one after is not, and a good peer is served.
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    let cases: [(&str, Vec<u8>); 5] = [
        ("ERROR", command("ERROR", b"\x07go away")),
        ("ERROR without a reason", command("ERROR", b"")),
        ("empty command frame", frame(FLAG_COMMAND, b"")),
        ("command name longer than the frame", frame(FLAG_COMMAND, b"\xC8abc")),
        ("PING without its TTL", command("PING", b"")),
    ];
    for (what, bad) in cases {
        let mut raw = RawPeer::connect(&ep);
        raw.handshake("PUSH");
        let _ = raw.write(&[frame(0, b"before"), bad, frame(0, b"after")].concat());
        assert_eq!(pull.recv().unwrap(), "before", "{what}");
        raw.expect_closed(CLOSE_WITHIN);
        assert_pull_serves(&ctx, &pull, &ep);
        assert!(pull.try_recv().is_err(), "{what}: nothing after the bad command is delivered");
    }
}

// ---------------------------------------------------------------- garbage and half-closes

#[test]
fn garbage_between_valid_frames_ends_the_connection_and_drops_the_open_message() {
    let ctx = Context::new();
    let (pull, ep) = bound_pull(&ctx);
    // Bytes no valid frame starts with (reserved flag bits), some from a fixed pseudo-random
    // sequence.
    let mut x = 0x2545_F491_4F6C_DD1Du64;
    let noise: Vec<u8> = (0..300)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            x as u8
        })
        .collect();
    let garbage: [Vec<u8>; 4] = [
        [&[0xFFu8][..], &noise].concat(),
        [&[0x08u8, 0x10][..], &noise[..16]].concat(),
        [&[0x40u8][..], b"GET / HTTP/1.1\r\n\r\n"].concat(),
        vec![0x80, 0x00],
    ];
    for (i, bad) in garbage.into_iter().enumerate() {
        let mut raw = RawPeer::connect(&ep);
        raw.handshake("PUSH");
        // One write: a whole message, the start of a multipart one, the garbage, a valid frame.
        let stream =
            [frame(0, b"whole"), frame(FLAG_MORE, b"open-1"), frame(FLAG_MORE, b"open-2"), bad, frame(0, b"after")]
                .concat();
        let _ = raw.write(&stream);
        assert_eq!(pull.recv().unwrap(), "whole", "garbage {i}");
        raw.expect_closed(CLOSE_WITHIN);
        // The next message is the good peer's: nothing of the open message, nothing after.
        assert_pull_serves(&ctx, &pull, &ep);
        assert!(pull.try_recv().is_err(), "garbage {i}");
    }
}

#[test]
fn half_close_right_after_the_greeting_ends_the_connection() {
    // The peer sends its greeting and shuts down its write side: the handshake cannot finish,
    // and oxmq must not wait (HANDSHAKE_IVL is 30 s here) but close, reporting libzmq's
    // HANDSHAKE_FAILED_NO_DETAIL with EPIPE (checked against libzmq 4.3.5 via pyzmq).
    let ctx = Context::new();
    let (pull, mon, ep) = monitored_pull(&ctx, handshake_events(), None);
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    raw.stream.shutdown(Shutdown::Write).unwrap();
    let fd = next_value_of(&mon, Event::Accepted);
    let got = raw.expect_closed(CLOSE_WITHIN);
    // oxmq's greeting and READY (a NULL server sends it as soon as it has the greeting, as
    // libzmq), nothing else.
    assert_only_commands(&got);
    let events = events_until(&mon, Event::Disconnected);
    assert_eq!(
        events.iter().map(|e| (e.event, e.value)).collect::<Vec<_>>(),
        vec![(Event::HandshakeFailedNoDetail, EPIPE), (Event::Disconnected, fd)]
    );
    assert_pull_serves(&ctx, &pull, &ep);
}

#[test]
fn half_close_after_messages_delivers_them_and_ends_the_connection() {
    let ctx = Context::new();
    let (rep, ep) = bound_rep(&ctx);
    let (pull, pull_ep) = bound_pull(&ctx);
    // PULL: the messages before the half-close arrive, then the connection ends.
    let mut raw = RawPeer::connect(&pull_ep);
    raw.handshake("PUSH");
    raw.write(&[frame(FLAG_MORE, b"last"), frame(0, b"words")].concat()).unwrap();
    raw.stream.shutdown(Shutdown::Write).unwrap();
    assert_eq!(pull.recv_multipart().unwrap(), vec!["last", "words"]);
    raw.expect_closed(CLOSE_WITHIN);
    assert_pull_serves(&ctx, &pull, &pull_ep);
    // REP: a request then a half-close. As libzmq, the connection ends at the end of its input;
    // the request, whole, is still delivered, and the reply to a peer that is gone is dropped
    // without blocking or failing the REP.
    rep.set_rcvtimeo(TIMEO_MS).unwrap();
    rep.set_sndtimeo(TIMEO_MS).unwrap();
    let mut raw = RawPeer::connect(&ep);
    raw.handshake("REQ");
    raw.write(&[frame(FLAG_MORE, b""), frame(0, b"question")].concat()).unwrap();
    raw.stream.shutdown(Shutdown::Write).unwrap();
    raw.expect_closed(CLOSE_WITHIN);
    assert_eq!(rep.recv().unwrap(), "question");
    rep.send("to nobody").unwrap();
    assert_rep_serves(&ctx, &rep, &ep);
}

// ---------------------------------------------------------------- thousands of connections

/// File descriptors open in this process.
fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}

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

/// A PUB that is polled (EVENTS) but has not sent anything yet keeps reading its subscribers:
/// a peer sending it far more than RCVHWM messages, then a PING, gets its PONG. (The PUB read
/// its pipes only when sending, so the connection stopped at the HWM for good; libzmq's
/// EVENTS takes the messages in.) Found by the engine fuzz target (crates/oxmq-fuzz).
#[test]
fn a_polled_pub_keeps_reading_a_flooding_subscriber() {
    let ctx = Context::new();
    let publisher = oxmq::Pub::new(&ctx).unwrap();
    publisher.set_rcvhwm(1).unwrap();
    publisher.bind("tcp://127.0.0.1:*").unwrap();
    let mut peer = RawPeer::connect(&publisher.last_endpoint().unwrap());
    peer.handshake("SUB");
    let mut writer = peer.stream.try_clone().unwrap();
    // 2 MB: far more than one read of the engine, so the PING comes in a later read.
    std::thread::spawn(move || {
        use std::io::Write;
        let body = vec![b'm'; 1024];
        for _ in 0..2000 {
            if writer.write_all(&frame(0, &body)).is_err() {
                return;
            }
        }
        let _ = writer.write_all(&ping(0, b"p"));
    });
    peer.stream.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let pong = std::thread::spawn(move || peer.read_frame());
    let deadline = std::time::Instant::now() + Duration::from_secs(20);
    while !pong.is_finished() && std::time::Instant::now() < deadline {
        let _ = publisher.events().unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    let f = pong.join().expect("no PONG within 20 s: the PUB stopped reading its subscriber");
    assert_eq!(f.command_name(), Some("PONG"), "{f:?}");
}
