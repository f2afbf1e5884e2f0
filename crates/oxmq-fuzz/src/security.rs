//! Fuzz entry points for the PLAIN and CURVE handshakes (server and client
//! sides, fed arbitrary commands) and for CURVE MESSAGE decryption.

use std::time::Instant;

use bytes::{Buf, Bytes, BytesMut};
use oxmq_wire::{
    Connection, ConnectionConfig, ConnectionError, CurveConfig, Greeting, Handshake, HandshakeConfig, HandshakeStatus,
    Mechanism, MechanismConfig, Message, PlainConfig, SocketType, Transmit, WireError, ZapConfig, ZapReply,
};

use crate::{XorShift, alloc_scope, chunks, fuzz_keys, seed_from, split_control};

/// ZAP status codes a control byte picks from (404 is refused as malformed).
const STATUSES: [u16; 5] = [200, 300, 400, 500, 404];

/// Feeds `stream` (after the peer's greeting) to a server handshake in
/// chunks, answering its ZAP request with a status picked by `ctl`. Checks:
/// no panic, errors stick, our output stays bounded by our own config.
fn run_server(cfg: HandshakeConfig, mechanism: Mechanism, ctl: [u8; 4], stream: &[u8]) {
    let mut hs = Handshake::new(cfg);
    let mut input = BytesMut::from(&Greeting::ours(mechanism, false).encode()[..]);
    let mut out = BytesMut::new();
    let mut rng = XorShift::new(seed_from(&ctl) ^ stream.len() as u64);
    let mut result = hs.input(&mut input, &mut out);
    for piece in chunks(stream, &mut rng) {
        input.extend_from_slice(piece);
        result = hs.input(&mut input, &mut out);
        if let Ok(HandshakeStatus::AwaitingZap) = result {
            assert!(hs.zap_request().is_some());
            let status = STATUSES[usize::from(ctl[1]) % STATUSES.len()];
            let reply = if status == 200 { ZapReply::allow("user") } else { ZapReply::deny(status, "no") };
            match hs.zap_reply(reply, &mut out) {
                Ok(()) => result = hs.input(&mut input, &mut out),
                Err(e) => {
                    assert!(matches!(e, WireError::AuthFailed { .. } | WireError::ZapBadReply(_)));
                    result = Err(e);
                }
            }
        }
        if result.is_err() || matches!(result, Ok(HandshakeStatus::Done(_))) {
            break;
        }
    }
    if let Err(e) = &result {
        assert_eq!(hs.input(&mut BytesMut::from(&b"\x04\x06\x05HELLO"[..]), &mut out).as_ref(), Err(e));
    }
    // Greeting, WELCOME (CURVE: 170 bytes), READY with our metadata, ERROR.
    assert!(out.len() <= 64 + 180 + 200 + 20, "the server wrote {} bytes", out.len());
}

fn server_cfg(mechanism: MechanismConfig, ctl: [u8; 4]) -> HandshakeConfig {
    let mut cfg = HandshakeConfig::new(if ctl[0] & 1 == 0 { SocketType::Router } else { SocketType::Rep });
    cfg.mechanism = mechanism;
    if ctl[0] & 2 != 0 {
        cfg.zap = Some(ZapConfig::default());
    }
    cfg
}

/// A PLAIN server fed arbitrary commands after a PLAIN client greeting. Four
/// control bytes: socket type and ZAP on/off, the ZAP status, chunking.
pub fn plain_server(data: &[u8]) {
    alloc_scope(data.len(), || {
        let (ctl, rest) = split_control::<4>(data);
        let cfg = server_cfg(MechanismConfig::Plain(PlainConfig::server()), ctl);
        run_server(cfg, Mechanism::Plain, ctl, rest);
    });
}

/// A genuine CURVE HELLO for the fuzz server key (random short-term key).
fn genuine_hello() -> Vec<u8> {
    let keys = fuzz_keys();
    let server_key = keys.public;
    let mut cfg = HandshakeConfig::new(SocketType::Dealer);
    cfg.mechanism = MechanismConfig::Curve(CurveConfig::client(keys, server_key));
    let mut hs = Handshake::new(cfg);
    let mut out = BytesMut::new();
    let mut input = BytesMut::from(&Greeting::ours(Mechanism::Curve, true).encode()[..]);
    hs.input(&mut input, &mut out).expect("greeting");
    out.split_off(64).to_vec()
}

/// A CURVE server fed arbitrary commands after a CURVE client greeting;
/// control bit 0x04 of the first byte puts a genuine HELLO first, so that
/// the rest reaches INITIATE.
pub fn curve_server(data: &[u8]) {
    alloc_scope(data.len(), || {
        let (ctl, rest) = split_control::<4>(data);
        let cfg = server_cfg(MechanismConfig::Curve(CurveConfig::server(fuzz_keys())), ctl);
        let mut stream = if ctl[0] & 4 != 0 { genuine_hello() } else { Vec::new() };
        stream.extend_from_slice(rest);
        run_server(cfg, Mechanism::Curve, ctl, &stream);
    });
}

/// Feeds `stream` (what a server sends after its greeting) to a client
/// handshake in chunks. With `genuine`, a real server handshake of that
/// configuration answers the client first: its WELCOME (control bit 0x04),
/// and its READY too (bit 0x08) when the client's INITIATE gets that far; the
/// fuzzed stream follows. Checks: no panic, a client never waits for ZAP,
/// errors stick, our output stays bounded by our own config (greeting,
/// HELLO, INITIATE: nothing is sent in answer to what the server says).
fn run_client(
    cfg: HandshakeConfig,
    genuine: Option<HandshakeConfig>,
    ctl: [u8; 4],
    stream: &[u8],
) -> Result<HandshakeStatus, WireError> {
    let mechanism = cfg.mechanism.name();
    let mut hs = Handshake::new(cfg);
    let mut input = BytesMut::from(&Greeting::ours(mechanism, true).encode()[..]);
    let mut out = BytesMut::new();
    let mut rng = XorShift::new(seed_from(&ctl) ^ stream.len() as u64);
    let mut result = hs.input(&mut input, &mut out);
    if let Some(server_cfg) = genuine.filter(|_| ctl[0] & 4 != 0) {
        let mut server = Handshake::new(server_cfg);
        let (mut to_server, mut to_client) = (BytesMut::from(&out[..]), BytesMut::new());
        server.input(&mut to_server, &mut to_client).expect("a genuine server takes our HELLO");
        input.extend_from_slice(&to_client[64..]);
        let sent = out.len();
        result = hs.input(&mut input, &mut out);
        if ctl[0] & 8 != 0 && result.is_ok() {
            let (mut to_server, mut to_client) = (BytesMut::from(&out[sent..]), BytesMut::new());
            let answered = server.input(&mut to_server, &mut to_client);
            assert!(answered.is_ok(), "a genuine server takes our INITIATE: {answered:?}");
            input.extend_from_slice(&to_client);
            result = hs.input(&mut input, &mut out);
        }
    }
    for piece in chunks(stream, &mut rng) {
        if result.is_err() || matches!(result, Ok(HandshakeStatus::Done(_))) {
            break;
        }
        input.extend_from_slice(piece);
        result = hs.input(&mut input, &mut out);
    }
    assert!(!matches!(result, Ok(HandshakeStatus::AwaitingZap)), "a client never asks ZAP");
    if let Err(e) = &result {
        assert_eq!(hs.input(&mut BytesMut::from(&b"\x04\x08\x07WELCOME"[..]), &mut out).as_ref(), Err(e));
    }
    // Greeting, HELLO (CURVE: 202 bytes), INITIATE (CURVE: 9 + 257 + our metadata).
    assert!(out.len() <= 64 + 210 + 400, "the client wrote {} bytes", out.len());
    result
}

fn client_cfg(mechanism: MechanismConfig, ctl: [u8; 4]) -> HandshakeConfig {
    let mut cfg = HandshakeConfig::new(if ctl[0] & 1 == 0 { SocketType::Dealer } else { SocketType::Req });
    cfg.mechanism = mechanism;
    if ctl[0] & 2 != 0 {
        cfg.identity = Some(Bytes::from_static(b"fuzz-client"));
    }
    cfg
}

/// The server a genuine answer comes from: a ROUTER, no ZAP.
fn genuine_server(mechanism: MechanismConfig) -> HandshakeConfig {
    let mut cfg = HandshakeConfig::new(SocketType::Router);
    cfg.mechanism = mechanism;
    cfg
}

/// A PLAIN client fed arbitrary server commands after a PLAIN server
/// greeting. Four control bytes: bit 0x01 REQ (else DEALER), 0x02 an
/// identity, 0x04 a genuine WELCOME first, 0x08 and a genuine READY; the
/// rest seed the chunking.
pub fn plain_client(data: &[u8]) {
    alloc_scope(data.len(), || drop(client_outcome(Mechanism::Plain, data)));
}

/// A CURVE client (of the fuzz server key) fed arbitrary server commands
/// after a CURVE server greeting; control bytes as [`plain_client`]'s: a
/// genuine WELCOME (and READY) is the only way past the boxes, since the
/// client's short-term key is fresh for every input.
pub fn curve_client(data: &[u8]) {
    alloc_scope(data.len(), || drop(client_outcome(Mechanism::Curve, data)));
}

/// How the [`plain_client`] or [`curve_client`] handshake of `data` ends (for
/// the tests that check the harness gets where it should).
pub fn client_outcome(mechanism: Mechanism, data: &[u8]) -> Result<HandshakeStatus, WireError> {
    let (ctl, rest) = split_control::<4>(data);
    let (ours, server) = match mechanism {
        Mechanism::Curve => {
            let keys = fuzz_keys();
            (
                MechanismConfig::Curve(CurveConfig::client(keys.clone(), keys.public)),
                MechanismConfig::Curve(CurveConfig::server(keys)),
            )
        }
        _ => (
            MechanismConfig::Plain(PlainConfig::client("fuzz-user", "fuzz-pass")),
            MechanismConfig::Plain(PlainConfig::server()),
        ),
    };
    run_client(client_cfg(ours, ctl), Some(genuine_server(server)), ctl, rest)
}

fn drain(tx: &mut Transmit) -> Bytes {
    tx.copy_to_bytes(tx.remaining())
}

/// An established CURVE pair (client PUSH, server PULL), all handshake bytes moved.
fn curve_pair(now: Instant) -> (Connection, Connection) {
    let keys = fuzz_keys();
    let mut cc = ConnectionConfig::new(SocketType::Push);
    cc.handshake.mechanism = MechanismConfig::Curve(CurveConfig::client(keys.clone(), keys.public));
    let mut sc = ConnectionConfig::new(SocketType::Pull);
    sc.handshake.mechanism = MechanismConfig::Curve(CurveConfig::server(keys));
    let (mut client, mut server) = (Connection::new(cc, now).unwrap(), Connection::new(sc, now).unwrap());
    let (mut to_client, mut to_server, mut tx) = (BytesMut::new(), BytesMut::new(), Transmit::new());
    // Greetings, HELLO, WELCOME, INITIATE, READY: one step each way per round.
    for _ in 0..8 {
        client.poll_transmit(&mut tx);
        to_server.extend_from_slice(&drain(&mut tx));
        server.poll_transmit(&mut tx);
        to_client.extend_from_slice(&drain(&mut tx));
        client.input(now, &mut to_client, &mut Vec::new()).expect("client handshake");
        server.input(now, &mut to_server, &mut Vec::new()).expect("server handshake");
    }
    assert!(client.is_established() && server.is_established());
    (client, server)
}

/// CURVE MESSAGE decryption: after a real handshake, the server is fed the
/// client's genuine MESSAGEs (one per control byte 2's low bits), one byte
/// of them flipped at a position from control bytes 3-4 when bit 0x80 of
/// byte 2 is set, then the rest of the input as further wire bytes. With
/// bit 0x04 of the first control byte the roles turn: the client decrypts
/// the server's MESSAGEs (the other nonce prefix and counter).
/// Checks: genuine MESSAGEs arrive intact, a flipped one is refused (bad
/// MAC, bad length or header, replay), nothing panics, errors stick.
pub fn curve_message(data: &[u8]) {
    alloc_scope(data.len(), || {
        let (ctl, rest) = split_control::<4>(data);
        let now = Instant::now();
        let (client, server) = curve_pair(now);
        // Who boxes and who opens.
        let (mut client, mut server) = if ctl[0] & 4 != 0 { (server, client) } else { (client, server) };
        let count = usize::from(ctl[0] & 3) + 1;
        let msgs: Vec<Message> = (0..count)
            .map(|i| Message { body: Bytes::from(vec![i as u8; usize::from(ctl[1])]), more: i + 1 < count })
            .collect();
        let mut tx = Transmit::new();
        client.encode(msgs.clone(), &mut tx);
        let mut wire = drain(&mut tx).to_vec();
        let flipped = ctl[2] & 0x80 != 0 && !wire.is_empty();
        if flipped {
            let at = usize::from(u16::from_be_bytes([ctl[2] & 0x7F, ctl[3]])) % wire.len();
            wire[at] ^= 1 << (ctl[3] % 8);
        }
        let mut buf = BytesMut::from(&wire[..]);
        let mut got = Vec::new();
        let result = server.input(now, &mut buf, &mut got);
        if !flipped {
            result.as_ref().expect("genuine MESSAGEs");
            assert_eq!(got, msgs);
        } else if result.is_ok() {
            // A flipped length can leave a frame incomplete; never a wrong message.
            assert!(got.iter().zip(&msgs).all(|(a, b)| a == b));
        }
        buf.extend_from_slice(rest);
        let again = server.input(now, &mut buf, &mut got);
        if let Err(e) = &result {
            assert_eq!(again.as_ref(), Err(e), "errors stick");
        }
        if let Err(ConnectionError::Protocol(e) | ConnectionError::CurveMessage(e)) = &again {
            assert!(!matches!(e, WireError::AuthFailed { .. }));
        }
    });
}
