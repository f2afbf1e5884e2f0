//! PLAIN, CURVE and ZAP: handshakes between two [`Connection`]s wired
//! together in memory, traffic after them, every refusal, and bytes captured
//! from libzmq 4.3.5.

use std::time::{Duration, Instant};

use bytes::{Buf, Bytes, BytesMut};
use crypto_box::SalsaBox;

use crate::mechanism::curve::{CurveClient, CurveServer};
use crate::mechanism::curve_codec::{CurveCodec, Side, long_nonce, open, short_nonce};
use crate::mechanism::libzmq_vectors as v;
use crate::mechanism::{Codec, FrameCodec, MechanismHandshake, MechanismStatus};
use crate::{
    Connection, ConnectionConfig, ConnectionError, CurveConfig, CurveKeyPair, CurveSecretKey, Frame, Heartbeat,
    MechanismConfig, Message, Metadata, PlainConfig, SocketType, Transmit, WireError, ZapConfig, ZapReply,
};

/// What an error must be.
type Check = fn(&WireError) -> bool;

fn hex(s: &str) -> Vec<u8> {
    (0..s.len()).step_by(2).map(|i| u8::from_str_radix(&s[i..i + 2], 16).unwrap()).collect()
}

fn key(s: &str) -> CurveSecretKey {
    CurveSecretKey::from_bytes(hex(s).try_into().unwrap())
}

fn drain(tx: &mut Transmit) -> Bytes {
    let mut out = BytesMut::new();
    while tx.has_remaining() {
        out.extend_from_slice(tx.chunk());
        let n = tx.chunk().len();
        tx.advance(n);
    }
    out.freeze()
}

/// One end of an in-memory connection.
struct End {
    conn: Connection,
    buf: BytesMut,
    got: Vec<Message>,
    err: Option<ConnectionError>,
}

impl End {
    fn new(cfg: ConnectionConfig, now: Instant) -> End {
        End { conn: Connection::new(cfg, now).unwrap(), buf: BytesMut::new(), got: Vec::new(), err: None }
    }

    fn out(&mut self) -> Bytes {
        let mut tx = Transmit::new();
        self.conn.poll_transmit(&mut tx);
        drain(&mut tx)
    }

    fn send(&mut self, msgs: &[(&[u8], bool)]) -> Bytes {
        let mut tx = Transmit::new();
        self.conn
            .encode(msgs.iter().map(|(b, more)| Message { body: Bytes::copy_from_slice(b), more: *more }), &mut tx);
        drain(&mut tx)
    }

    fn feed(&mut self, bytes: &[u8], now: Instant) {
        self.buf.extend_from_slice(bytes);
        if self.err.is_none()
            && let Err(e) = self.conn.input(now, &mut self.buf, &mut self.got)
        {
            self.err = Some(e);
        }
    }
}

/// Moves bytes both ways until neither end has anything to send.
fn exchange(a: &mut End, b: &mut End, now: Instant) {
    for _ in 0..20 {
        let (x, y) = (a.out(), b.out());
        if x.is_empty() && y.is_empty() {
            return;
        }
        b.feed(&x, now);
        a.feed(&y, now);
    }
    panic!("the exchange does not settle");
}

fn cfg(socket_type: SocketType, mechanism: MechanismConfig) -> ConnectionConfig {
    let mut c = ConnectionConfig::new(socket_type);
    c.handshake.mechanism = mechanism;
    c
}

fn plain_cfgs(client: SocketType, server: SocketType) -> (ConnectionConfig, ConnectionConfig) {
    (
        cfg(client, MechanismConfig::Plain(PlainConfig::client("admin", "secret"))),
        cfg(server, MechanismConfig::Plain(PlainConfig::server())),
    )
}

struct CurveSetup {
    client: ConnectionConfig,
    server: ConnectionConfig,
    client_keys: CurveKeyPair,
}

fn curve_cfgs(client: SocketType, server: SocketType) -> CurveSetup {
    let server_keys = CurveKeyPair::generate().unwrap();
    let client_keys = CurveKeyPair::generate().unwrap();
    CurveSetup {
        client: cfg(client, MechanismConfig::Curve(CurveConfig::client(client_keys.clone(), server_keys.public))),
        server: cfg(server, MechanismConfig::Curve(CurveConfig::server(server_keys))),
        client_keys,
    }
}

fn connect(a: ConnectionConfig, b: ConnectionConfig) -> (End, End, Instant) {
    let now = Instant::now();
    let (mut a, mut b) = (End::new(a, now), End::new(b, now));
    exchange(&mut a, &mut b, now);
    (a, b, now)
}

/// Multipart both ways, a large body, and an empty frame.
fn check_traffic(a: &mut End, b: &mut End, now: Instant) {
    assert!(a.conn.is_established() && b.conn.is_established(), "{:?} / {:?}", a.err, b.err);
    let big = vec![0xA5u8; 70_000];
    let wire = a.send(&[(b"one", true), (b"", true), (&big, false)]);
    b.feed(&wire, now);
    let got: Vec<(&[u8], bool)> = b.got.iter().map(|m| (&m.body[..], m.more)).collect();
    assert_eq!(got, [(&b"one"[..], true), (b"", true), (&big[..], false)]);
    let wire = b.send(&[(b"back", false)]);
    a.feed(&wire, now);
    assert_eq!(a.got.last().map(|m| &m.body[..]), Some(&b"back"[..]));
    assert!(a.err.is_none() && b.err.is_none());
}

#[test]
fn plain_handshake_and_traffic_both_ways() {
    for (client, server) in [(SocketType::Dealer, SocketType::Router), (SocketType::Router, SocketType::Dealer)] {
        let (c, s) = plain_cfgs(client, server);
        let (mut a, mut b, now) = connect(c, s);
        assert_eq!(b.conn.peer_info().unwrap().socket_type, client);
        assert_eq!(a.conn.peer_info().unwrap().socket_type, server);
        check_traffic(&mut a, &mut b, now);
        // PLAIN traffic is NULL's: in the clear.
        assert!(a.conn.frames_in_the_clear() && b.conn.frames_in_the_clear());
        assert_eq!(&a.send(&[(b"clear", false)])[..], b"\x00\x05clear");
    }
}

#[test]
fn curve_handshake_and_traffic_both_ways() {
    for (client, server) in [(SocketType::Dealer, SocketType::Router), (SocketType::Pull, SocketType::Push)] {
        let s = curve_cfgs(client, server);
        let (mut a, mut b, now) = connect(s.client, s.server);
        assert_eq!(b.conn.peer_info().unwrap().socket_type, client);
        // Every frame is boxed with a nonce: never encoded apart from the connection.
        assert!(!a.conn.frames_in_the_clear() && !b.conn.frames_in_the_clear());
        if client == SocketType::Dealer {
            check_traffic(&mut a, &mut b, now);
        } else {
            check_traffic(&mut b, &mut a, now);
        }
    }
}

#[test]
fn curve_frames_are_boxed_in_messages() {
    let s = curve_cfgs(SocketType::Dealer, SocketType::Router);
    let (mut a, _b, _) = connect(s.client, s.server);
    let wire = a.send(&[(b"secret", true), (b"text", false)]);
    assert!(!wire.windows(6).any(|w| w == b"secret"));
    // Two MESSAGE frames without flags on the wire, nonces 3 and 4 (HELLO 1, INITIATE 2).
    assert_eq!(&wire[..2], &[0x00, 39]);
    assert_eq!(&wire[2..18], b"\x07MESSAGE\0\0\0\0\0\0\0\x03");
    assert_eq!(&wire[41..43], &[0x00, 37]);
    assert_eq!(&wire[51..59], &4u64.to_be_bytes());
}

#[test]
fn curve_heartbeats_travel_inside_messages() {
    let mut s = curve_cfgs(SocketType::Dealer, SocketType::Router);
    s.client.heartbeat = Some(Heartbeat { interval: Duration::from_millis(10), timeout: None, ttl: Duration::ZERO });
    let (mut a, mut b, now) = connect(s.client, s.server);
    let later = now + Duration::from_millis(10);
    a.conn.handle_timeout(later).unwrap();
    let ping = a.out();
    assert_eq!(&ping[..10], b"\x00\x28\x07MESSAGE", "PING in a MESSAGE");
    b.feed(&ping, later);
    assert!(b.err.is_none(), "{:?}", b.err);
    assert!(b.conn.wants_transmit(), "a PONG is owed");
    let pong = b.out();
    assert_eq!(&pong[2..10], b"\x07MESSAGE");
    a.feed(&pong, later);
    assert!(a.err.is_none() && a.got.is_empty());
}

/// The PLAIN or CURVE server with ZAP: the handshake pauses until the reply.
fn zap_run(mechanism: &str, status: u16) -> (End, End, Instant, Option<CurveKeyPair>) {
    let (c, mut s, keys) = match mechanism {
        "PLAIN" => {
            let (c, s) = plain_cfgs(SocketType::Req, SocketType::Rep);
            (c, s, None)
        }
        "CURVE" => {
            let s = curve_cfgs(SocketType::Req, SocketType::Rep);
            (s.client, s.server, Some(s.client_keys))
        }
        _ => (cfg(SocketType::Req, MechanismConfig::Null), cfg(SocketType::Rep, MechanismConfig::Null), None),
    };
    s.handshake.zap =
        Some(ZapConfig { domain: Bytes::from_static(b"global"), address: Bytes::from_static(b"127.0.0.1") });
    let (mut a, mut b, now) = connect(c, s);
    let req = b.conn.zap_request().expect("the server asks ZAP").clone();
    assert!(!b.conn.is_established() && !a.conn.is_established());
    assert_eq!(req.mechanism.as_str(), mechanism);
    assert_eq!(&req.domain[..], b"global");
    assert_eq!(&req.address[..], b"127.0.0.1");
    match mechanism {
        "PLAIN" => assert_eq!(req.credentials, [Bytes::from_static(b"admin"), Bytes::from_static(b"secret")]),
        "CURVE" => assert_eq!(req.credentials, [Bytes::copy_from_slice(&keys.as_ref().unwrap().public.0)]),
        _ => assert!(req.credentials.is_empty()),
    }
    let mut reply = if status == 200 { ZapReply::allow("alice") } else { ZapReply::deny(status, "no") };
    reply.metadata.insert("X-Zap", "yes");
    let result = b.conn.zap_reply(reply, now);
    assert_eq!(result.is_ok(), status == 200, "{result:?}");
    b.feed(&[], now);
    exchange(&mut a, &mut b, now);
    (a, b, now, keys)
}

#[test]
fn zap_pause_and_resume_for_each_status() {
    for mechanism in ["PLAIN", "CURVE", "NULL"] {
        let (mut a, mut b, now, _) = zap_run(mechanism, 200);
        let peer = b.conn.peer_info().unwrap();
        assert_eq!(peer.user_id.as_deref(), Some(&b"alice"[..]), "{mechanism}");
        assert_eq!(peer.zap_metadata.get("X-Zap").map(|v| &v[..]), Some(&b"yes"[..]));
        assert!(a.conn.peer_info().unwrap().user_id.is_none());
        check_traffic(&mut a, &mut b, now);
        for status in [300, 400, 500] {
            let (a, b, _, _) = zap_run(mechanism, status);
            let err = b.conn.error().unwrap().wire_error().unwrap().clone();
            assert_eq!(err, WireError::AuthFailed { status_code: status, status_text: "no".into() });
            if status == 300 {
                // No ERROR: the client is left waiting (and times out), as with libzmq.
                assert!(a.err.is_none(), "{mechanism}");
            } else {
                let e = a.err.expect("the client was refused");
                assert_eq!(e, ConnectionError::Handshake(WireError::PeerError(status.to_string())));
            }
        }
    }
}

#[test]
fn zap_reply_validation() {
    let (c, mut s) = plain_cfgs(SocketType::Dealer, SocketType::Router);
    let now = Instant::now();
    let mut early = End::new(s.clone(), now);
    assert!(matches!(
        early.conn.zap_reply(ZapReply::allow(""), now),
        Err(ConnectionError::Handshake(WireError::ZapBadReply(_)))
    ));
    s.handshake.zap = Some(ZapConfig::default());
    let (_a, mut b, _) = connect(c, s);
    assert!(b.conn.zap_request().is_some());
    let bad = ZapReply::deny(404, "?");
    assert!(matches!(b.conn.zap_reply(bad, now), Err(ConnectionError::Handshake(WireError::ZapBadReply(_)))));
    // A peer that keeps sending while its authentication is pending is refused.
    let mut s2 = plain_cfgs(SocketType::Dealer, SocketType::Router).1;
    s2.handshake.zap = Some(ZapConfig::default());
    let (c2, _) = plain_cfgs(SocketType::Dealer, SocketType::Router);
    let (_a, mut b, now) = connect(c2, s2);
    b.feed(&vec![0u8; 70_000], now);
    assert!(matches!(b.err, Some(ConnectionError::Handshake(WireError::UnexpectedCommand(_)))));
    early.feed(&[], now);
}

/// Runs a CURVE client and server mechanism directly, returning each
/// command the client sent (HELLO, INITIATE) and the server's (WELCOME).
struct Direct {
    client: CurveClient,
    server: CurveServer,
}

impl Direct {
    fn new() -> Direct {
        let s = curve_cfgs(SocketType::Dealer, SocketType::Router);
        let (MechanismConfig::Curve(cc), MechanismConfig::Curve(sc)) =
            (&s.client.handshake.mechanism, &s.server.handshake.mechanism)
        else {
            unreachable!()
        };
        Direct {
            client: CurveClient::new(&s.client.handshake, cc).unwrap(),
            server: CurveServer::new(&s.server.handshake, sc).unwrap(),
        }
    }
}

/// The body of the single command frame in `out`.
fn body(out: &BytesMut) -> Bytes {
    let mut d = crate::Decoder::new(None);
    let mut b = out.clone();
    let f = d.decode(&mut b).unwrap().unwrap();
    assert!(b.is_empty());
    f.body
}

fn hello_welcome_initiate() -> (Direct, Bytes, Bytes, Bytes) {
    let mut d = Direct::new();
    let mut out = BytesMut::new();
    d.client.start(&mut out).unwrap();
    let hello = body(&out);
    out.clear();
    d.server.on_command(hello.clone(), &mut out).unwrap();
    let welcome = body(&out);
    out.clear();
    d.client.on_command(welcome.clone(), &mut out).unwrap();
    let initiate = body(&out);
    (d, hello, welcome, initiate)
}

fn tampered(b: &Bytes, at: usize) -> Bytes {
    let mut v = b.to_vec();
    v[at] ^= 1;
    Bytes::from(v)
}

#[test]
fn curve_server_refuses_bad_hellos() {
    let (_, hello, _, _) = hello_welcome_initiate();
    let mut out = BytesMut::new();
    let cases: [(Bytes, Check); 5] = [
        (hello.slice(..199), |e| matches!(e, WireError::MalformedCommand(m) if m.starts_with("HELLO"))),
        (tampered(&hello, 6), |e| matches!(e, WireError::MalformedCommand(_))),
        (tampered(&hello, 150), |e| matches!(e, WireError::Cryptographic(_))),
        (tampered(&hello, 120), |e| matches!(e, WireError::Cryptographic(_))),
        (Bytes::from_static(b"\x08INITIATE"), |e| matches!(e, WireError::UnexpectedCommand(_))),
    ];
    for (cmd, check) in cases {
        let mut d = Direct::new();
        let e = d.server.on_command(cmd, &mut out).unwrap_err();
        assert!(check(&e), "{e}");
        assert!(out.is_empty(), "nothing sent to a bad HELLO");
    }
    // A HELLO for another server's key does not open.
    let (_, other_hello, _, _) = hello_welcome_initiate();
    let mut d = Direct::new();
    assert!(matches!(d.server.on_command(other_hello, &mut out), Err(WireError::Cryptographic(_))));
}

#[test]
fn curve_server_refuses_bad_initiates() {
    for (at, cut) in [(20, None), (60, None), (110, None), (200, None), (0, Some(256))] {
        let (mut d, _, _, initiate) = hello_welcome_initiate();
        let cmd = match cut {
            Some(n) => initiate.slice(..n),
            None => tampered(&initiate, at),
        };
        let e = d.server.on_command(cmd, &mut BytesMut::new()).unwrap_err();
        match (at, cut) {
            (_, Some(_)) => assert!(matches!(e, WireError::MalformedCommand(m) if m.starts_with("INITIATE"))),
            // Cookie nonce and box, then INITIATE nonce and box.
            _ => assert!(matches!(e, WireError::Cryptographic(_)), "{at}: {e}"),
        }
    }
    // A cookie from another connection (another cookie key) does not open.
    let (mut d1, _, _, _) = hello_welcome_initiate();
    let (_, _, _, initiate2) = hello_welcome_initiate();
    assert!(matches!(
        d1.server.on_command(initiate2, &mut BytesMut::new()),
        Err(WireError::Cryptographic("the INITIATE cookie is not the one we sent"))
    ));
}

#[test]
fn curve_client_refuses_bad_welcome_and_ready() {
    let (_, _, welcome, _) = hello_welcome_initiate();
    let mut fresh = Direct::new();
    let mut out = BytesMut::new();
    fresh.client.start(&mut out).unwrap();
    // Another server's WELCOME (not for our short-term key).
    assert!(matches!(fresh.client.on_command(welcome.clone(), &mut out), Err(WireError::Cryptographic(_))));
    // A WELCOME of the wrong size: libzmq reports it as a box that does not open
    // (ZMTP_CRYPTOGRAPHIC, not MALFORMED_COMMAND_WELCOME, which only its PLAIN client uses).
    let longer = Bytes::from([&welcome[..], b"x"].concat());
    for wrong_size in [welcome.slice(..167), longer] {
        let mut fresh = Direct::new();
        fresh.client.start(&mut out).unwrap();
        let e = fresh.client.on_command(wrong_size, &mut out).unwrap_err();
        assert!(matches!(e, WireError::Cryptographic(m) if m.contains("168 bytes")), "{e}");
    }
    // READY: too short, tampered; a MESSAGE before READY.
    for (cmd, ok) in [
        (Bytes::from_static(b"\x05READY\0\0\0\0\0\0\0\x01short"), "READY too short"),
        (Bytes::from([&b"\x05READY\0\0\0\0\0\0\0\x01"[..], &[0u8; 40]].concat()), "crypto"),
        (Bytes::from([&b"\x07MESSAGE\0\0\0\0\0\0\0\x02"[..], &[0u8; 40]].concat()), "unexpected"),
    ] {
        let (mut d, _, _, _) = hello_welcome_initiate();
        let e = d.client.on_command(cmd, &mut out).unwrap_err();
        match ok {
            "crypto" => assert!(matches!(e, WireError::Cryptographic(_)), "{e}"),
            "unexpected" => assert!(matches!(e, WireError::UnexpectedCommand(_)), "{e}"),
            _ => assert!(matches!(e, WireError::MalformedCommand(_)), "{e}"),
        }
    }
    let (mut d, _, _, _) = hello_welcome_initiate();
    let e = d.client.on_command(Bytes::from_static(b"\x05ERROR\x03400"), &mut out).unwrap_err();
    assert_eq!(e, WireError::PeerError("400".into()));
}

/// An INITIATE built by hand with the vouch `vouch_plain` (C' + S), for a
/// server with `server` keys; returns the server's answer.
fn initiate_with_vouch(vouch_for: impl FnOnce(&[u8; 32], &[u8; 32]) -> [u8; 64]) -> Result<MechanismStatus, WireError> {
    use crate::mechanism::curve_codec::seal;
    let server = CurveKeyPair::generate().unwrap();
    let client = CurveKeyPair::generate().unwrap();
    let eph = CurveKeyPair::generate().unwrap();
    let mut hs = ConnectionConfig::new(SocketType::Dealer).handshake;
    let cc = CurveConfig::client(client.clone(), server.public);
    hs.mechanism = MechanismConfig::Curve(cc.clone());
    let mut ours = CurveClient::new(&hs, &cc).unwrap().with_ephemeral(eph.secret.clone());
    let sc = CurveConfig::server(server.clone());
    let mut srv = CurveServer::new(&hs, &sc).unwrap();
    let mut out = BytesMut::new();
    ours.start(&mut out).unwrap();
    let hello = body(&out);
    out.clear();
    srv.on_command(hello, &mut out).unwrap();
    let welcome = body(&out);
    let long = SalsaBox::new(&crypto_box::PublicKey::from(server.public.0), &eph.secret.to_crypto());
    let w = open(&long, &long_nonce(b"WELCOME-", &welcome[8..24]), &welcome[24..], "welcome").unwrap();
    let server_eph = crypto_box::PublicKey::from(<[u8; 32]>::try_from(&w[..32]).unwrap());
    let mut plain = BytesMut::new();
    plain.extend_from_slice(&client.public.0);
    plain.extend_from_slice(&[9u8; 16]);
    let vouch_box = SalsaBox::new(&server_eph, &client.secret.to_crypto());
    seal(&vouch_box, &long_nonce(b"VOUCH---", &[9u8; 16]), &vouch_for(&eph.public.0, &server.public.0), &mut plain);
    let mut boxed = BytesMut::new();
    seal(
        &SalsaBox::new(&server_eph, &eph.secret.to_crypto()),
        &short_nonce(b"CurveZMQINITIATE", 2),
        &plain,
        &mut boxed,
    );
    let initiate = [&b"\x08INITIATE"[..], &w[32..], &2u64.to_be_bytes(), &boxed].concat();
    srv.on_command(Bytes::from(initiate), &mut BytesMut::new())
}

fn concat64(a: &[u8; 32], b: &[u8; 32]) -> [u8; 64] {
    let mut v = [0u8; 64];
    v[..32].copy_from_slice(a);
    v[32..].copy_from_slice(b);
    v
}

#[test]
fn curve_vouch_must_name_this_connections_keys() {
    // The hand-built INITIATE is right: accepted.
    assert!(matches!(initiate_with_vouch(concat64), Ok(MechanismStatus::Ready(..))));
    // A vouch for another server, or for another short-term key.
    let e = initiate_with_vouch(|c, _| concat64(c, &[1; 32])).unwrap_err();
    assert_eq!(e, WireError::KeyExchange("the vouch is not for this connection's keys"));
    let e = initiate_with_vouch(|_, s| concat64(&[2; 32], s)).unwrap_err();
    assert!(matches!(e, WireError::KeyExchange(_)));
}

#[test]
fn curve_message_rejections() {
    let s = curve_cfgs(SocketType::Dealer, SocketType::Router);
    let (mut a, b, now) = connect(s.client.clone(), s.server.clone());
    let wire = a.send(&[(b"once", false)]);
    // Replayed: the same MESSAGE twice.
    let mut b = b;
    b.feed(&wire, now);
    b.feed(&wire, now);
    assert!(matches!(b.err, Some(ConnectionError::CurveMessage(WireError::InvalidSequence { nonce: 3, last: 3 }))));
    // Bad MAC; too short; not a MESSAGE; a message frame in the clear.
    let cases: [(Vec<u8>, Check); 4] = [
        (
            {
                let mut w = wire.to_vec();
                w[30] ^= 1;
                w
            },
            |e| matches!(e, WireError::Cryptographic(_)),
        ),
        (b"\x00\x10\x07MESSAGE\0\0\0\0\0\0\0\x09".to_vec(), |e| matches!(e, WireError::MalformedCommand(_))),
        (b"\x04\x07\x04PING\0\0".to_vec(), |e| matches!(e, WireError::UnexpectedCommand(_))),
        (b"\x00\x05hello".to_vec(), |e| matches!(e, WireError::UnexpectedCommand(_))),
    ];
    for (bytes, check) in cases {
        let (_a, mut b, now) = connect(s.client.clone(), s.server.clone());
        b.feed(&bytes, now);
        let Some(ConnectionError::CurveMessage(e)) = &b.err else { panic!("{:?}", b.err) };
        assert!(check(e), "{e}");
        assert!(b.got.is_empty());
    }
}

#[test]
fn forged_message_does_not_move_the_sequence() {
    let (mut d, _, _, initiate) = hello_welcome_initiate();
    let mut out = BytesMut::new();
    let MechanismStatus::Ready(_, Codec::Curve(mut server)) = d.server.on_command(initiate, &mut out).unwrap() else {
        panic!("no ZAP: READY")
    };
    let MechanismStatus::Ready(_, Codec::Curve(mut client)) = d.client.on_command(body(&out), &mut out).unwrap() else {
        panic!("READY completes the client")
    };
    let mut tx = Transmit::new();
    FrameCodec::encode_message(&mut client, Bytes::from_static(b"x"), false, &mut tx);
    let wire = wire_frames(&drain(&mut tx)).remove(0);
    let forged = tampered(&wire.body, 20);
    assert!(matches!(server.open_message(forged), Err(WireError::Cryptographic(_))));
    assert_eq!(server.open_message(wire.body).unwrap(), Frame::message(&b"x"[..], false));
}

#[test]
fn curve_message_before_ready_and_oversized_metadata() {
    // The server sends traffic before READY: the client refuses it.
    let s = curve_cfgs(SocketType::Dealer, SocketType::Router);
    let now = Instant::now();
    let (mut a, mut b) = (End::new(s.client.clone(), now), End::new(s.server.clone(), now));
    b.feed(&a.out(), now);
    a.feed(&b.out(), now);
    a.feed(b"\x00\x05hello", now);
    assert_eq!(a.err, Some(ConnectionError::Handshake(WireError::MessageBeforeHandshake)));
    // INITIATE with over 64 KiB of metadata: refused by the handshake's frame limit.
    let mut s = curve_cfgs(SocketType::Dealer, SocketType::Router);
    s.client.handshake.metadata.insert("X-Big", vec![b'm'; 70_000]);
    let now = Instant::now();
    let (mut a, mut b) = (End::new(s.client, now), End::new(s.server, now));
    exchange(&mut a, &mut b, now);
    assert!(matches!(b.err, Some(ConnectionError::Handshake(WireError::FrameTooLarge { .. }))), "{:?}", b.err);
}

#[test]
fn plain_refusals() {
    let (c, s) = plain_cfgs(SocketType::Dealer, SocketType::Router);
    let now = Instant::now();
    let greeting = crate::Greeting::ours(crate::Mechanism::Plain, false).encode();
    for (hello, what) in [
        (&b"\x04\x06\x05HELLO"[..], "no user name"),
        (b"\x04\x09\x05HELLO\x05ab", "truncated user name"),
        (b"\x04\x0a\x05HELLO\x01a\x02b", "truncated password"),
        (b"\x04\x0b\x05HELLO\x01a\x01bX", "extra data"),
    ] {
        let mut b = End::new(s.clone(), now);
        b.feed(&greeting, now);
        b.feed(hello, now);
        assert!(
            matches!(&b.err, Some(ConnectionError::Handshake(WireError::MalformedCommand(m))) if m.starts_with("HELLO")),
            "{what}: {:?}",
            b.err
        );
    }
    let mut b = End::new(s.clone(), now);
    b.feed(&greeting, now);
    b.feed(b"\x04\x09\x08INITIATE", now);
    assert!(matches!(b.err, Some(ConnectionError::Handshake(WireError::UnexpectedCommand(_)))));
    // The client: a WELCOME with data, an ERROR.
    let server_greeting = crate::Greeting::ours(crate::Mechanism::Plain, true).encode();
    for (cmd, expect) in [
        (&b"\x04\x09\x07WELCOMEx"[..], WireError::MalformedCommand("WELCOME with data (PLAIN)")),
        (b"\x04\x0a\x05ERROR\x03400", WireError::PeerError("400".into())),
        (b"\x04\x08\x05ERROR\x03x", WireError::MalformedCommand("ERROR reason truncated")),
    ] {
        let mut a = End::new(c.clone(), now);
        a.feed(&server_greeting, now);
        a.feed(cmd, now);
        assert_eq!(a.err, Some(ConnectionError::Handshake(expect)));
    }
    // A PLAIN client to a CURVE server: refused at the greeting.
    let mut a = End::new(c, now);
    a.feed(&crate::Greeting::ours(crate::Mechanism::Curve, true).encode(), now);
    assert!(matches!(a.err, Some(ConnectionError::Handshake(WireError::MechanismMismatch { .. }))));
}

#[test]
fn greeting_as_server_flag() {
    let (c, s) = plain_cfgs(SocketType::Dealer, SocketType::Router);
    let now = Instant::now();
    assert_eq!(End::new(c, now).out()[32], 0);
    assert_eq!(End::new(s, now).out()[32], 1);
    let cs = curve_cfgs(SocketType::Dealer, SocketType::Router);
    assert_eq!(&End::new(cs.server, now).out()[12..18], b"CURVE\0");
}

// --- Bytes captured from libzmq 4.3.5 -------------------------------------------------

/// Splits a captured stream (after its greeting) into frames.
fn wire_frames(bytes: &[u8]) -> Vec<Frame> {
    let mut buf = BytesMut::from(bytes);
    let mut d = crate::Decoder::new(None);
    let mut out = Vec::new();
    while let Some(f) = d.decode(&mut buf).unwrap() {
        out.push(f);
    }
    assert!(buf.is_empty());
    out
}

#[test]
fn libzmq_plain_client_accepted_by_our_server() {
    let stream = hex(v::PLAIN_CLIENT_STREAM);
    let (_, s) = plain_cfgs(SocketType::Dealer, SocketType::Router);
    let now = Instant::now();
    let mut b = End::new(s, now);
    b.feed(&stream, now);
    assert!(b.err.is_none(), "{:?}", b.err);
    assert!(b.conn.is_established());
    let peer = b.conn.peer_info().unwrap();
    assert_eq!(peer.socket_type, SocketType::Dealer);
    let got: Vec<(&[u8], bool)> = b.got.iter().map(|m| (&m.body[..], m.more)).collect();
    assert_eq!(got, [(&b"hello"[..], true), (b"plain", false)]);
    // What we answered: a server greeting, WELCOME, READY.
    let out = b.out();
    assert_eq!(out[32], 1);
    let frames = wire_frames(&out[64..]);
    assert_eq!(&frames[0].body[..], b"\x07WELCOME");
    assert!(frames[1].body.starts_with(b"\x05READY"));
}

#[test]
fn libzmq_plain_hello_goes_to_zap() {
    let stream = hex(v::PLAIN_CLIENT_STREAM);
    let (_, mut s) = plain_cfgs(SocketType::Dealer, SocketType::Router);
    s.handshake.zap = Some(ZapConfig::default());
    let now = Instant::now();
    let mut b = End::new(s, now);
    b.feed(&stream, now);
    let req = b.conn.zap_request().unwrap();
    assert_eq!(req.credentials, [Bytes::from_static(b"admin"), Bytes::from_static(b"secret")]);
    b.conn.zap_reply(ZapReply::allow("admin"), now).unwrap();
    b.feed(&[], now);
    assert!(b.conn.is_established() && b.got.len() == 2);
}

#[test]
fn libzmq_curve_server_replayed_to_our_client() {
    let server_secret = key(v::SERVER_SECRET);
    let client = CurveKeyPair::from_secret(key(v::CLIENT_SECRET));
    let mut cfg = ConnectionConfig::new(SocketType::Dealer).handshake;
    let curve = CurveConfig::client(client, server_secret.public_key());
    cfg.mechanism = MechanismConfig::Curve(curve.clone());
    let mut ours = CurveClient::new(&cfg, &curve).unwrap().with_ephemeral(key(v::CLIENT_EPHEMERAL_SECRET));
    let stream = hex(v::CURVE_SERVER_STREAM);
    // libzmq 4.3.5 leaves as-server at zero even for a CURVE server (it
    // writes 32 zero bytes after the mechanism); we set it, as RFC 23 asks,
    // and read nothing from the peer's.
    assert_eq!(stream[32], 0);
    let frames = wire_frames(&stream[64..]);
    let mut out = BytesMut::new();
    ours.start(&mut out).unwrap();
    // Our HELLO is byte for byte the one the script sent (same keys, nonce 1).
    let script = hex(v::CURVE_OUR_CLIENT_STREAM);
    assert_eq!(&out[..], &script[64..64 + 202]);
    out.clear();
    assert!(matches!(ours.on_command(frames[0].body.clone(), &mut out).unwrap(), MechanismStatus::Handshaking));
    assert!(body(&out).starts_with(b"\x08INITIATE"));
    let MechanismStatus::Ready(md, Codec::Curve(mut codec)) =
        ours.on_command(frames[1].body.clone(), &mut out).unwrap()
    else {
        panic!("READY completes the client")
    };
    assert_eq!(md.get("Socket-Type").map(|v| &v[..]), Some(&b"ROUTER"[..]));
    // The MESSAGEs: a two-frame reply, then a PING command.
    let inner: Vec<Frame> = frames[2..].iter().map(|f| codec.open_message(f.body.clone()).unwrap()).collect();
    assert_eq!(inner[0], Frame::message(&b"part1"[..], true));
    assert_eq!(inner[1], Frame::message(vec![b'x'; 300], false));
    assert!(inner[2].command && inner[2].body.starts_with(b"\x04PING"));
    // Replaying the first again is refused.
    assert!(matches!(codec.open_message(frames[2].body.clone()), Err(WireError::InvalidSequence { .. })));
}

#[test]
fn libzmq_curve_client_checked_with_our_keys() {
    let stream = hex(v::CURVE_CLIENT_STREAM);
    assert_eq!(stream[32], 0);
    let frames = wire_frames(&stream[64..]);
    let server = CurveKeyPair::from_secret(key(v::SERVER_SECRET));
    let client = CurveKeyPair::from_secret(key(v::CLIENT_SECRET));
    // Our server takes libzmq's HELLO and answers a 168-byte WELCOME.
    let mut cfg = ConnectionConfig::new(SocketType::Router).handshake;
    let curve = CurveConfig::server(server.clone());
    cfg.mechanism = MechanismConfig::Curve(curve.clone());
    let mut ours = CurveServer::new(&cfg, &curve).unwrap();
    let mut out = BytesMut::new();
    ours.on_command(frames[0].body.clone(), &mut out).unwrap();
    assert_eq!(body(&out).len(), 168);
    // The script's server used this short-term key: open INITIATE, check the vouch.
    let hello = &frames[0].body;
    let client_eph = crypto_box::PublicKey::from(<[u8; 32]>::try_from(&hello[80..112]).unwrap());
    let server_eph = key(v::SERVER_EPHEMERAL_SECRET).to_crypto();
    let cipher = SalsaBox::new(&client_eph, &server_eph);
    let init = &frames[1].body;
    let nonce = u64::from_be_bytes(init[105..113].try_into().unwrap());
    assert_eq!(nonce, 2);
    let plain = open(&cipher, &short_nonce(b"CurveZMQINITIATE", nonce), &init[113..], "initiate").unwrap();
    assert_eq!(&plain[..32], client.public.as_bytes());
    let vouch_box = SalsaBox::new(&crypto_box::PublicKey::from(client.public.0), &server_eph);
    let vouch = open(&vouch_box, &long_nonce(b"VOUCH---", &plain[32..48]), &plain[48..128], "vouch").unwrap();
    assert_eq!(&vouch[..32], &hello[80..112]);
    assert_eq!(&vouch[32..], server.public.as_bytes());
    let md = Metadata::parse(&plain[128..]).unwrap();
    assert_eq!(md.get("Socket-Type").map(|v| &v[..]), Some(&b"DEALER"[..]));
    // Its MESSAGEs, nonces 3 and 4, decode with our codec.
    let mut codec = CurveCodec::new(cipher, Side::Server, 2, nonce);
    let a = codec.open_message(frames[2].body.clone()).unwrap();
    let b = codec.open_message(frames[3].body.clone()).unwrap();
    assert_eq!((a, b), (Frame::message(&b"from"[..], true), Frame::message(&b"libzmq"[..], false)));
}
