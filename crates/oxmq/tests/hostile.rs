//! Hostile and broken peers: raw TCP clients that speak bad or malicious ZMTP to a bound oxmq
//! PULL or REP. oxmq must close such connections (or, where closing is not required, at least
//! not crash or allocate what a length field claims), and every test then proves the socket
//! still serves a well-behaved oxmq peer that connects afterwards.

mod common;

use std::time::Duration;

use common::*;
use oxmq::{Context, Pull, Rep};

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
