//! Handshake tests: two instances talking to each other, byte vectors from
//! the RFC, and refusals.

use oxmq_wire::bytes::{Bytes, BytesMut};
use oxmq_wire::*;

/// The greeting libzmq 4.x sends (NULL, no routing id), byte by byte.
fn libzmq_greeting(minor: u8) -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 0x01, 0x7F, 0x03, minor];
    g.extend_from_slice(b"NULL");
    g.extend_from_slice(&[0; 16]); // mechanism padding
    g.push(0); // as-server
    g.extend_from_slice(&[0; 31]); // filler
    assert_eq!(g.len(), 64);
    g
}

/// A READY command frame with the given properties.
fn ready(props: &[(&str, &[u8])]) -> Vec<u8> {
    let mut md = Metadata::new();
    for (n, v) in props {
        md.insert(n, Bytes::copy_from_slice(v));
    }
    let mut out = BytesMut::new();
    Command::Ready(md).encode(&mut out);
    out.to_vec()
}

fn cfg(t: SocketType) -> HandshakeConfig {
    HandshakeConfig::new(t)
}

/// Runs a handshake against a scripted peer whose bytes are `peer`, fed in
/// chunks of `chunk` bytes. Returns the result, what we sent, and what was
/// left in the input buffer.
fn against(c: HandshakeConfig, peer: &[u8], chunk: usize) -> (Result<HandshakeStatus, WireError>, BytesMut, BytesMut) {
    let mut hs = Handshake::new(c);
    let mut out = BytesMut::new();
    hs.start(&mut out);
    let mut input = BytesMut::new();
    let mut result = Ok(HandshakeStatus::NeedMore);
    for piece in peer.chunks(chunk.max(1)) {
        input.extend_from_slice(piece);
        result = hs.input(&mut input, &mut out);
        if !matches!(result, Ok(HandshakeStatus::NeedMore)) {
            break;
        }
    }
    (result, out, input)
}

/// Two handshakes feeding each other. `chunk` limits how many bytes are
/// delivered per call. Returns both results.
fn pair(
    a: HandshakeConfig,
    b: HandshakeConfig,
    chunk: usize,
) -> (Result<PeerInfo, WireError>, Result<PeerInfo, WireError>) {
    let mut ha = Handshake::new(a);
    let mut hb = Handshake::new(b);
    let (mut a_out, mut b_out) = (BytesMut::new(), BytesMut::new());
    ha.start(&mut a_out);
    hb.start(&mut b_out);
    let (mut a_in, mut b_in) = (BytesMut::new(), BytesMut::new());
    let mut ra: Option<Result<PeerInfo, WireError>> = None;
    let mut rb: Option<Result<PeerInfo, WireError>> = None;
    let step = |hs: &mut Handshake, input: &mut BytesMut, out: &mut BytesMut| match hs.input(input, out) {
        Ok(HandshakeStatus::NeedMore | HandshakeStatus::AwaitingZap) => None,
        Ok(HandshakeStatus::Done(i)) => Some(Ok(i)),
        Err(e) => Some(Err(e)),
    };
    while ra.is_none() || rb.is_none() {
        // Deliver up to `chunk` bytes each way.
        let (na, nb) = (a_out.len().min(chunk), b_out.len().min(chunk));
        if na == 0 && nb == 0 {
            break; // nothing in flight: no further progress possible
        }
        b_in.extend_from_slice(&a_out.split_to(na));
        a_in.extend_from_slice(&b_out.split_to(nb));
        if ra.is_none() {
            ra = step(&mut ha, &mut a_in, &mut a_out);
        }
        if rb.is_none() {
            rb = step(&mut hb, &mut b_in, &mut b_out);
        }
    }
    assert!(a_in.is_empty() && b_in.is_empty(), "handshake left bytes");
    (ra.expect("side A finished"), rb.expect("side B finished"))
}

#[test]
fn every_compatible_pair_completes() {
    let mut pairs = 0;
    for a in SocketType::ALL {
        for b in SocketType::ALL {
            if !a.is_compatible(b) {
                continue;
            }
            pairs += 1;
            let mut ca = cfg(a);
            ca.identity = Some(Bytes::from_static(b"alice"));
            let cb = cfg(b);
            let (ra, rb) = pair(ca, cb, usize::MAX);
            let ia = ra.unwrap_or_else(|e| panic!("{a}/{b}: {e}"));
            let ib = rb.unwrap_or_else(|e| panic!("{a}/{b}: {e}"));
            assert_eq!(ia.socket_type, b);
            assert_eq!(ib.socket_type, a);
            assert_eq!(ia.version, (3, 1));
            // Identity only travels from REQ/DEALER/ROUTER; b sends an empty one.
            let expect = a.sends_identity().then(|| Bytes::from_static(b"alice"));
            assert_eq!(ib.identity, expect, "{a}/{b}");
            assert_eq!(ia.identity, None);
            assert_eq!(ib.metadata.get("identity").is_some(), a.sends_identity(), "{a}/{b}");
        }
    }
    assert_eq!(pairs, 21); // ordered pairs
}

#[test]
fn every_incompatible_pair_is_refused() {
    for a in SocketType::ALL {
        for b in SocketType::ALL {
            if a.is_compatible(b) {
                continue;
            }
            let (ra, rb) = pair(cfg(a), cfg(b), usize::MAX);
            // Each side refuses the other's READY (it sees it before the
            // other side's ERROR arrives).
            assert_eq!(ra, Err(WireError::IncompatibleSocketType { ours: a, theirs: b.as_str().to_owned() }));
            assert!(matches!(rb, Err(WireError::IncompatibleSocketType { .. })));
        }
    }
}

#[test]
fn byte_at_a_time_pair() {
    let mut a = cfg(SocketType::Dealer);
    a.identity = Some(Bytes::from_static(b"\x00generated"));
    a.metadata.insert("X-Hello", "world");
    let (ra, rb) = pair(a, cfg(SocketType::Router), 1);
    assert_eq!(ra.unwrap().socket_type, SocketType::Router);
    let ib = rb.unwrap();
    // Identity starting with a zero byte is passed up unchanged.
    assert_eq!(ib.identity.as_deref(), Some(&b"\x00generated"[..]));
    assert_eq!(ib.metadata.get("x-hello").map(|v| &v[..]), Some(&b"world"[..]));
}

#[test]
fn byte_at_a_time_against_scripted_peer() {
    let mut peer = libzmq_greeting(1);
    peer.extend(ready(&[("Socket-Type", b"ROUTER")]));
    let (r, out, rest) = against(cfg(SocketType::Req), &peer, 1);
    let HandshakeStatus::Done(info) = r.unwrap() else { panic!("not done") };
    assert_eq!(info.socket_type, SocketType::Router);
    assert!(rest.is_empty());
    // We sent greeting + READY{Socket-Type=REQ, Identity=""}.
    assert_eq!(&out[..64], &libzmq_greeting(1)[..]);
    assert_eq!(&out[64..], &ready(&[("Socket-Type", b"REQ"), ("Identity", b"")])[..]);
}

#[test]
fn greeting_ready_and_traffic_in_one_chunk() {
    let mut peer = libzmq_greeting(1);
    peer.extend(ready(&[("Socket-Type", b"PUSH")]));
    let mut traffic = BytesMut::new();
    Frame::message(&b"part1"[..], true).encode(&mut traffic);
    Frame::message(vec![9u8; 300], false).encode(&mut traffic);
    Command::Ping { ttl: 10, context: Bytes::new() }.encode(&mut traffic);
    traffic.extend_from_slice(&[0x00]); // half a frame
    peer.extend_from_slice(&traffic);
    let (r, _, rest) = against(cfg(SocketType::Pull), &peer, usize::MAX);
    assert!(matches!(r, Ok(HandshakeStatus::Done(_))));
    assert_eq!(&rest[..], &traffic[..]);
    // The engine's decoder takes over from here.
    let mut rest = rest;
    let mut d = Decoder::new(None);
    assert_eq!(&d.decode(&mut rest).unwrap().unwrap().body[..], b"part1");
    assert_eq!(d.decode(&mut rest).unwrap().unwrap().body.len(), 300);
    let ping = d.decode(&mut rest).unwrap().unwrap();
    assert!(matches!(Command::parse(&ping.body), Ok(Command::Ping { ttl: 10, .. })));
    assert_eq!(d.decode(&mut rest).unwrap(), None);
}

#[test]
fn done_is_sticky_and_consumes_nothing() {
    let mut hs = Handshake::new(cfg(SocketType::Pair));
    let mut out = BytesMut::new();
    hs.start(&mut out);
    let mut input = BytesMut::from(&libzmq_greeting(1)[..]);
    input.extend_from_slice(&ready(&[("Socket-Type", b"PAIR")]));
    input.extend_from_slice(b"\x00\x01x");
    let first = hs.input(&mut input, &mut out).unwrap();
    assert!(hs.is_done());
    let len = out.len();
    let again = hs.input(&mut input, &mut out).unwrap();
    assert_eq!(first, again);
    assert_eq!(&input[..], b"\x00\x01x");
    assert_eq!(out.len(), len);
}

#[test]
fn dealer_ready_matches_rfc_worked_example() {
    // RFC 37 "Worked Example": DEALER with empty identity sends a 41-byte
    // READY body.
    let (_, out, _) = against(cfg(SocketType::Dealer), &libzmq_greeting(1), 64);
    let mut expect = vec![0x04, 41, 5];
    expect.extend_from_slice(b"READY");
    expect.push(11);
    expect.extend_from_slice(b"Socket-Type");
    expect.extend_from_slice(&[0, 0, 0, 6]);
    expect.extend_from_slice(b"DEALER");
    expect.push(8);
    expect.extend_from_slice(b"Identity");
    expect.extend_from_slice(&[0, 0, 0, 0]);
    assert_eq!(&out[64..], &expect[..]);

    // The RFC's ROUTER reply has no Identity, but libzmq's ROUTER does send
    // an (empty) one, and so do we.
    let (_, out, _) = against(cfg(SocketType::Router), &libzmq_greeting(1), 64);
    let mut router = expect.clone();
    router[24..30].copy_from_slice(b"ROUTER");
    assert_eq!(&out[64..], &router[..]);

    // Types that do not route announce Socket-Type only (26-byte body).
    let (_, out, _) = against(cfg(SocketType::Pull), &libzmq_greeting(1), 64);
    let mut expect = vec![0x04, 26, 5];
    expect.extend_from_slice(b"READY");
    expect.push(11);
    expect.extend_from_slice(b"Socket-Type");
    expect.extend_from_slice(&[0, 0, 0, 4]);
    expect.extend_from_slice(b"PULL");
    assert_eq!(&out[64..], &expect[..]);
}

#[test]
fn dealer_with_identity_ready_bytes() {
    let mut c = cfg(SocketType::Dealer);
    c.identity = Some(Bytes::from_static(b"id-1"));
    c.metadata.insert("X-App", "demo");
    c.metadata.insert("socket-type", "PUB"); // ignored: we announce our own
    let (_, out, _) = against(c, &libzmq_greeting(1), 64);
    let mut body = b"\x05READY".to_vec();
    body.extend_from_slice(b"\x0bSocket-Type\x00\x00\x00\x06DEALER");
    body.extend_from_slice(b"\x08Identity\x00\x00\x00\x04id-1");
    body.extend_from_slice(b"\x05X-App\x00\x00\x00\x04demo");
    let mut expect = vec![0x04, body.len() as u8];
    expect.extend(body);
    assert_eq!(&out[64..], &expect[..]);
}

#[test]
fn zmtp_3_0_peer_works_the_same() {
    let mut peer = libzmq_greeting(0);
    peer.extend(ready(&[("Socket-Type", b"SUB")]));
    let mut hs = Handshake::new(cfg(SocketType::Pub));
    let mut out = BytesMut::new();
    hs.start(&mut out);
    assert_eq!(hs.peer_version(), None);
    let mut input = BytesMut::from(&peer[..64]);
    assert_eq!(hs.input(&mut input, &mut out), Ok(HandshakeStatus::NeedMore));
    assert_eq!(hs.peer_version(), Some((3, 0)));
    input.extend_from_slice(&peer[64..]);
    let HandshakeStatus::Done(info) = hs.input(&mut input, &mut out).unwrap() else { panic!() };
    assert_eq!(info.version, (3, 0));
    // We still announce 3.1.
    assert_eq!(out[11], 1);
}

#[test]
fn as_server_and_padding_are_ignored_for_null() {
    let mut peer = libzmq_greeting(1);
    peer[32] = 1;
    peer[1..9].copy_from_slice(&[0xAA; 8]);
    peer.extend(ready(&[("Socket-Type", b"PUSH")]));
    let (r, _, _) = against(cfg(SocketType::Pull), &peer, 7);
    assert!(matches!(r, Ok(HandshakeStatus::Done(_))));
}

#[test]
fn metadata_names_are_case_insensitive() {
    let mut peer = libzmq_greeting(1);
    peer.extend(ready(&[("SOCKET-TYPE", b"DEALER"), ("identity", b"bob")]));
    let (r, _, _) = against(cfg(SocketType::Router), &peer, 64);
    let Ok(HandshakeStatus::Done(info)) = r else { panic!("{r:?}") };
    assert_eq!(info.socket_type, SocketType::Dealer);
    assert_eq!(info.identity.as_deref(), Some(&b"bob"[..]));
}

#[test]
fn truncated_input_waits() {
    let mut peer = libzmq_greeting(1);
    peer.extend(ready(&[("Socket-Type", b"REP")]));
    for cut in 0..peer.len() {
        let (r, _, _) = against(cfg(SocketType::Req), &peer[..cut], usize::MAX);
        assert_eq!(r, Ok(HandshakeStatus::NeedMore), "cut={cut}");
    }
}

// ---- refusals -------------------------------------------------------------

fn refused(t: SocketType, peer: &[u8]) -> (WireError, BytesMut) {
    for chunk in [1, 5, usize::MAX] {
        let (r, _, _) = against(cfg(t), peer, chunk);
        assert!(r.is_err(), "chunk {chunk}: {r:?}");
    }
    let (r, out, _) = against(cfg(t), peer, usize::MAX);
    (r.unwrap_err(), out)
}

#[test]
fn garbage_greeting_refused() {
    let (e, _) = refused(SocketType::Rep, b"GET / HTTP/1.1\r\nHost: x\r\n\r\n");
    assert_eq!(e, WireError::BadSignature);
    // Signature with bit 0 of byte 9 clear.
    let mut g = libzmq_greeting(1);
    g[9] = 0x7E;
    assert_eq!(refused(SocketType::Rep, &g).0, WireError::BadSignature);
}

#[test]
fn zmtp_1_0_peer_refused_with_clear_error() {
    // ZMTP 1.0: an identity frame, length 1 (empty identity + flags), flags 0.
    let (e, out) = refused(SocketType::Rep, &[0x01, 0x00]);
    assert_eq!(e, WireError::BadSignature);
    assert!(e.to_string().contains("ZMTP 1.0"), "{e}");
    // We never sent more than our greeting.
    assert_eq!(out.len(), 64);
}

#[test]
fn zmtp_2_0_peer_refused_with_clear_error() {
    // ZMTP 2.0 (libzmq 3.x): signature, revision 0x01, socket type, identity.
    let peer = [0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 0x01, 0x05, 0x00, 0x00];
    let (e, _) = refused(SocketType::Rep, &peer);
    assert!(matches!(e, WireError::UnsupportedVersion { major: 1, .. }), "{e:?}");
    assert!(e.to_string().contains("ZMTP 2.0"), "{e}");
    // Refused as soon as the version byte arrives.
    let (r, _, _) = against(cfg(SocketType::Rep), &peer[..11], 1);
    assert!(matches!(r, Err(WireError::UnsupportedVersion { .. })));
}

#[test]
fn mechanism_mismatch_refused() {
    let mut g = libzmq_greeting(1);
    g[12..32].copy_from_slice(&Mechanism::Plain.to_field());
    assert_eq!(
        refused(SocketType::Rep, &g).0,
        WireError::MechanismMismatch { ours: Mechanism::Null, theirs: Mechanism::Plain }
    );
    g[12..32].copy_from_slice(b"GSSAPI\0\0\0\0\0\0\0\0\0\0\0\0\0\0");
    assert_eq!(refused(SocketType::Rep, &g).0, WireError::UnknownMechanism);
}

#[test]
fn bad_security_config_is_a_clear_error() {
    let mut c = cfg(SocketType::Req);
    let keys = oxmq_wire::CurveKeyPair::generate().unwrap();
    c.mechanism = oxmq_wire::MechanismConfig::Curve(oxmq_wire::CurveConfig { server: false, keys, server_key: None });
    let expected = WireError::BadConfig("a CURVE client needs the server's public key");
    assert_eq!(Handshake::try_new(c.clone()).err(), Some(expected.clone()));
    let mut hs = Handshake::new(c);
    let mut out = BytesMut::new();
    hs.start(&mut out);
    assert!(out.is_empty());
    assert_eq!(hs.input(&mut BytesMut::new(), &mut out), Err(expected));
    let mut c = cfg(SocketType::Req);
    c.mechanism = oxmq_wire::MechanismConfig::Plain(oxmq_wire::PlainConfig::client(vec![b'u'; 256], "p"));
    assert!(matches!(Handshake::try_new(c), Err(WireError::BadConfig(_))));
}

#[test]
fn oversized_identity_in_config_refused() {
    let mut c = cfg(SocketType::Dealer);
    c.identity = Some(Bytes::from(vec![1u8; 256]));
    assert!(matches!(Handshake::try_new(c), Err(WireError::InvalidMetadata(_))));
}

#[test]
fn peer_error_command_is_reported() {
    let mut peer = libzmq_greeting(1);
    let mut f = BytesMut::new();
    Command::Error("go away".into()).encode(&mut f);
    peer.extend_from_slice(&f);
    let (e, _) = refused(SocketType::Req, &peer);
    assert_eq!(e, WireError::PeerError("go away".into()));
}

#[test]
fn incompatible_peer_gets_error_command() {
    let mut peer = libzmq_greeting(1);
    peer.extend(ready(&[("Socket-Type", b"PUSH")]));
    let (e, out) = refused(SocketType::Pub, &peer);
    assert_eq!(e, WireError::IncompatibleSocketType { ours: SocketType::Pub, theirs: "PUSH".into() });
    // greeting, our READY, then ERROR.
    let mut rest = BytesMut::from(&out[64..]);
    let mut d = Decoder::new(None);
    let our_ready = d.decode(&mut rest).unwrap().unwrap();
    assert!(matches!(Command::parse(&our_ready.body), Ok(Command::Ready(_))));
    let err = d.decode(&mut rest).unwrap().unwrap();
    assert!(matches!(Command::parse(&err.body), Ok(Command::Error(_))));
    assert!(rest.is_empty());

    // Unknown socket types (e.g. CLIENT) are incompatible too.
    let mut peer = libzmq_greeting(1);
    peer.extend(ready(&[("Socket-Type", b"CLIENT")]));
    assert!(matches!(refused(SocketType::Pair, &peer).0, WireError::IncompatibleSocketType { .. }));
}

#[test]
fn stream_never_completes_a_handshake() {
    for t in SocketType::ALL {
        let (ra, _) = pair(cfg(SocketType::Stream), cfg(t), usize::MAX);
        assert!(ra.is_err());
    }
}

#[test]
fn missing_socket_type_refused() {
    let mut peer = libzmq_greeting(1);
    peer.extend(ready(&[("Identity", b"x")]));
    assert!(matches!(refused(SocketType::Router, &peer).0, WireError::InvalidMetadata(_)));
}

#[test]
fn oversized_peer_identity_refused() {
    let mut peer = libzmq_greeting(1);
    peer.extend(ready(&[("Socket-Type", b"DEALER"), ("Identity", &[7u8; 256])]));
    assert!(matches!(refused(SocketType::Router, &peer).0, WireError::InvalidMetadata(_)));
}

#[test]
fn malformed_metadata_refused() {
    let good = ready(&[("Socket-Type", b"DEALER")]);
    // Cut the READY body short but fix up the frame length so the frame
    // itself is complete: every truncation of the metadata is refused.
    for body_len in 7..good.len() - 2 {
        let mut peer = libzmq_greeting(1);
        peer.push(0x04);
        peer.push(body_len as u8);
        peer.extend_from_slice(&good[2..2 + body_len]);
        let (e, _) = refused(SocketType::Router, &peer);
        assert!(matches!(e, WireError::InvalidMetadata(_)), "len {body_len}: {e:?}");
    }
}

#[test]
fn malformed_commands_refused() {
    for frame in [
        &b"\x04\x00"[..],           // empty command
        b"\x04\x03\x05REA",         // truncated name
        b"\x04\x06\x05ERROR",       // ERROR without reason length
        b"\x04\x08\x05ERROR\x05ab", // truncated reason
    ] {
        let mut peer = libzmq_greeting(1);
        peer.extend_from_slice(frame);
        let (e, _) = refused(SocketType::Req, &peer);
        assert!(matches!(e, WireError::MalformedCommand(_)), "{frame:?}: {e:?}");
    }
}

#[test]
fn unexpected_command_during_handshake_refused() {
    let mut peer = libzmq_greeting(1);
    let mut f = BytesMut::new();
    Command::Subscribe(Bytes::new()).encode(&mut f);
    peer.extend_from_slice(&f);
    assert!(matches!(refused(SocketType::Pub, &peer).0, WireError::UnexpectedCommand(_)));
}

#[test]
fn message_frame_before_ready_refused() {
    let mut peer = libzmq_greeting(1);
    peer.extend_from_slice(b"\x00\x05hello");
    assert_eq!(refused(SocketType::Pull, &peer).0, WireError::MessageBeforeHandshake);
}

#[test]
fn command_with_more_flag_refused() {
    let mut peer = libzmq_greeting(1);
    let mut r = ready(&[("Socket-Type", b"PUSH")]);
    r[0] |= flags::MORE;
    peer.extend(r);
    assert!(matches!(refused(SocketType::Pull, &peer).0, WireError::MalformedCommand(_)));
}

#[test]
fn reserved_flag_bits_refused() {
    for bit in [0x08u8, 0x10, 0x20, 0x40, 0x80] {
        let mut peer = libzmq_greeting(1);
        peer.push(0x04 | bit);
        assert_eq!(refused(SocketType::Pull, &peer).0, WireError::ReservedFlags(0x04 | bit));
    }
}

#[test]
fn oversized_handshake_frames_refused_without_buffering() {
    // 2^63 declared: refused even though no body follows.
    let mut peer = libzmq_greeting(1);
    peer.extend_from_slice(&[0x06, 0x80, 0, 0, 0, 0, 0, 0, 0]);
    assert!(matches!(
        refused(SocketType::Pull, &peer).0,
        WireError::FrameTooLarge { size, .. } if size == 1 << 63
    ));
    // Just over the handshake limit.
    let mut peer = libzmq_greeting(1);
    peer.push(0x06);
    peer.extend_from_slice(&(HANDSHAKE_MAX_FRAME_SIZE + 1).to_be_bytes());
    assert_eq!(
        refused(SocketType::Pull, &peer).0,
        WireError::FrameTooLarge { size: HANDSHAKE_MAX_FRAME_SIZE + 1, max: HANDSHAKE_MAX_FRAME_SIZE }
    );
    // A smaller configured maximum applies during the handshake too.
    let mut c = cfg(SocketType::Pull);
    c.max_frame_size = Some(10);
    let mut peer = libzmq_greeting(1);
    peer.extend(ready(&[("Socket-Type", b"PUSH")]));
    let (r, _, _) = against(c, &peer, usize::MAX);
    assert!(matches!(r, Err(WireError::FrameTooLarge { max: 10, .. })));
}

#[test]
fn errors_are_sticky() {
    let mut hs = Handshake::new(cfg(SocketType::Req));
    let mut out = BytesMut::new();
    hs.start(&mut out);
    let mut input = BytesMut::from(&b"garbage"[..]);
    let e = hs.input(&mut input, &mut out).unwrap_err();
    let mut more = BytesMut::from(&libzmq_greeting(1)[..]);
    assert_eq!(hs.input(&mut more, &mut out), Err(e));
    assert_eq!(out.len(), 64);
}

#[test]
fn start_is_idempotent_and_implicit() {
    let mut hs = Handshake::new(cfg(SocketType::Req));
    let mut out = BytesMut::new();
    assert_eq!(hs.input(&mut BytesMut::new(), &mut out), Ok(HandshakeStatus::NeedMore));
    assert_eq!(out.len(), 64);
    hs.start(&mut out);
    assert_eq!(out.len(), 64);
}
