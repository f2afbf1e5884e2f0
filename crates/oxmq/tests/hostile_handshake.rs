//! Hostile and broken peers before and during the handshake: raw TCP clients that send a wrong
//! greeting (HTTP, ZMTP 1.0/2.0, unknown or mismatched mechanism), a bad READY (wrong or missing
//! socket type, malformed or oversized properties, a message first), or the handshake a byte at
//! a time, too slowly for HANDSHAKE_IVL. oxmq must close such connections, and every test then
//! proves the socket still serves a well-behaved oxmq peer that connects afterwards.

mod common;

use std::io::Write;
use std::time::{Duration, Instant};

use common::hostile::*;
use common::*;
use oxmq::{Context, Event};

/// libzmq's value (Linux errno) in a handshake failure event.
const EAGAIN: u32 = 11;

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
    raw.expect_silent_before_pong(Duration::from_millis(50), "a good raw peer stays connected");
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

// ---------------------------------------------------------------- HANDSHAKE_IVL against slow peers

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
