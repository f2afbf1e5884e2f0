//! PLAIN and CURVE between oxmq sockets: the options that choose a mechanism (as libzmq's
//! zmq_setsockopt), traffic of every pattern family over tcp and ipc, and the refusals; the
//! Z85 and key utilities. (Against libzmq: `interop_security.rs`.)

mod common;

use common::zap::ZapHandler;
use common::{QUIET_MS, SOON, Transport, bind, socket};
use oxmq::{Context, Error, Event, Mechanism, Socket, SocketType, opt};

fn keypair() -> (String, String) {
    let (public, secret) = oxmq::curve_keypair().unwrap();
    (public, secret.to_string())
}

/// How a pair of sockets is secured.
#[derive(Clone, Debug)]
enum Security {
    Plain,
    Curve { server_public: String, server_secret: String, client_public: String, client_secret: String },
}

impl Security {
    fn curve() -> Security {
        let (server_public, server_secret) = keypair();
        let (client_public, client_secret) = keypair();
        Security::Curve { server_public, server_secret, client_public, client_secret }
    }

    fn server(&self, s: &Socket) {
        match self {
            Security::Plain => s.set_plain_server(true).unwrap(),
            Security::Curve { server_secret, .. } => {
                s.set_curve_server(true).unwrap();
                s.set_curve_secretkey(server_secret).unwrap();
            }
        }
    }

    fn client(&self, s: &Socket) {
        match self {
            Security::Plain => {
                s.set_plain_username("user").unwrap();
                s.set_plain_password("pass").unwrap();
            }
            Security::Curve { server_public, client_public, client_secret, .. } => {
                s.set_curve_serverkey(server_public).unwrap();
                s.set_curve_publickey(client_public).unwrap();
                s.set_curve_secretkey(client_secret).unwrap();
            }
        }
    }
}

/// A bound server of type `st` and a connected client of type `ct`, secured by `sec`.
fn pair(ctx: &Context, sec: &Security, tr: Transport, st: SocketType, ct: SocketType) -> (Socket, Socket) {
    let server = socket(ctx, st);
    sec.server(&server);
    let ep = bind(&server, tr);
    let client = socket(ctx, ct);
    sec.client(&client);
    client.connect(&ep).unwrap();
    (server, client)
}

fn securities() -> [Security; 2] {
    [Security::Plain, Security::curve()]
}

const TRANSPORTS: [Transport; 2] = [Transport::Tcp, Transport::Ipc];

#[test]
fn req_rep_crosses_plain_and_curve_with_large_and_empty_frames() {
    let big = vec![7u8; 200_000];
    for sec in securities() {
        for tr in TRANSPORTS {
            let ctx = Context::new();
            let _zap = ZapHandler::admit_all(&ctx);
            let (rep, req) = pair(&ctx, &sec, tr, SocketType::Rep, SocketType::Req);
            req.send_multipart(["a", "", "c"]).unwrap();
            assert_eq!(rep.recv_multipart().unwrap(), ["a", "", "c"], "{sec:?} {tr:?}");
            rep.send(big.clone()).unwrap();
            assert_eq!(req.recv().unwrap(), big, "{sec:?} {tr:?}: a large reply crosses intact");
        }
    }
}

#[test]
fn dealer_router_and_push_pull_cross_plain_and_curve() {
    for sec in securities() {
        for tr in TRANSPORTS {
            let ctx = Context::new();
            let _zap = ZapHandler::admit_all(&ctx);
            let router = socket(&ctx, SocketType::Router);
            sec.server(&router);
            let ep = bind(&router, tr);
            let dealer = socket(&ctx, SocketType::Dealer);
            sec.client(&dealer);
            dealer.set_routing_id(b"d1").unwrap();
            dealer.connect(&ep).unwrap();
            dealer.send_multipart(["x", "y"]).unwrap();
            assert_eq!(router.recv_multipart().unwrap(), ["d1", "x", "y"], "{sec:?} {tr:?}");
            router.send_multipart(["d1", "back"]).unwrap();
            assert_eq!(dealer.recv_multipart().unwrap(), ["back"], "{sec:?} {tr:?}");

            let (pull, push) = pair(&ctx, &sec, tr, SocketType::Pull, SocketType::Push);
            for i in 0..1000u32 {
                push.send(i.to_be_bytes().to_vec()).unwrap();
            }
            for i in 0..1000u32 {
                assert_eq!(pull.recv().unwrap(), i.to_be_bytes()[..], "{sec:?} {tr:?}: message {i}");
            }
        }
    }
}

/// SUBSCRIBE and CANCEL travel as commands inside the mechanism (boxed, for CURVE), and the
/// publisher filters on them.
#[test]
fn pub_sub_subscriptions_cross_plain_and_curve() {
    for sec in securities() {
        let ctx = Context::new();
        let _zap = ZapHandler::admit_all(&ctx);
        let (publisher, sub) = pair(&ctx, &sec, Transport::Tcp, SocketType::Pub, SocketType::Sub);
        sub.subscribe("A").unwrap();
        // The subscription arrives some time after the connection: publish until it has.
        let deadline = std::time::Instant::now() + SOON;
        loop {
            publisher.send("B-dropped").unwrap();
            publisher.send("A-kept").unwrap();
            sub.set_rcvtimeo(50).unwrap();
            if let Ok(m) = sub.recv() {
                assert_eq!(m, "A-kept", "{sec:?}: only the subscribed topic arrives");
                break;
            }
            assert!(std::time::Instant::now() < deadline, "{sec:?}: the subscription never took effect");
        }
    }
}

/// The server's messages carry the peer's properties as the mechanism delivered them.
#[test]
fn metadata_crosses_the_handshake() {
    for sec in securities() {
        let ctx = Context::new();
        let _zap = ZapHandler::admit_all(&ctx);
        let server = socket(&ctx, SocketType::Dealer);
        sec.server(&server);
        let ep = bind(&server, Transport::Tcp);
        let client = socket(&ctx, SocketType::Dealer);
        sec.client(&client);
        client.add_metadata("X-Hello", "world").unwrap();
        // Set again, a name keeps its first value, as libzmq 4.3.5 does; a value may hold ':'.
        client.add_metadata("X-Hello", "again").unwrap();
        client.add_metadata("X-Time", "12:30").unwrap();
        client.connect(&ep).unwrap();
        client.send("m").unwrap();
        let msg = server.recv_message().unwrap();
        assert_eq!(msg.property("X-Hello"), Some(&b"world"[..]), "{sec:?}");
        assert_eq!(msg.property("X-Time"), Some(&b"12:30"[..]), "{sec:?}");
        assert_eq!(msg.property("Socket-Type"), Some(&b"DEALER"[..]), "{sec:?}");
        assert_eq!(msg.property("User-Id"), Some(&b"anyone"[..]), "{sec:?}: the ZAP handler's user id");
    }
}

/// A CURVE client that has the wrong server key never gets through: the server cannot open its
/// HELLO; both sides report a failed handshake, and nothing is delivered.
#[test]
fn a_wrong_curve_server_key_is_refused() {
    let ctx = Context::new();
    let Security::Curve { server_secret, client_public, client_secret, .. } = Security::curve() else { unreachable!() };
    let (wrong, _) = keypair();
    let server = socket(&ctx, SocketType::Pull);
    let smon = server.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedProtocol).unwrap();
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(&server_secret).unwrap();
    let ep = bind(&server, Transport::Tcp);
    let client = socket(&ctx, SocketType::Push);
    let cmon = client
        .monitor(Event::HandshakeSucceeded | Event::HandshakeFailedNoDetail | Event::HandshakeFailedProtocol)
        .unwrap();
    client.set_curve_serverkey(&wrong).unwrap();
    client.set_curve_publickey(&client_public).unwrap();
    client.set_curve_secretkey(&client_secret).unwrap();
    client.connect(&ep).unwrap();
    client.send("never").unwrap();
    let s = smon.recv_timeout(SOON).expect("the server reports the refused HELLO");
    assert_eq!(s.event, Event::HandshakeFailedProtocol, "{s:?}");
    assert_eq!(s.value, oxmq::protocol_error::ZMTP_CRYPTOGRAPHIC, "{s:?}");
    let c = cmon.recv_timeout(SOON).expect("the client reports its failed handshake");
    assert_ne!(c.event, Event::HandshakeSucceeded, "{c:?}");
    server.set_rcvtimeo(QUIET_MS).unwrap();
    assert!(matches!(server.recv(), Err(Error::Again)));
}

/// Mismatched mechanisms (PLAIN client, CURVE server) are refused by both sides.
#[test]
fn mismatched_mechanisms_are_refused() {
    let ctx = Context::new();
    let (_, server_secret) = keypair();
    let server = socket(&ctx, SocketType::Pull);
    let smon = server.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedProtocol).unwrap();
    server.set_curve_server(true).unwrap();
    server.set_curve_secretkey(&server_secret).unwrap();
    let ep = bind(&server, Transport::Tcp);
    let client = socket(&ctx, SocketType::Push);
    let cmon = client.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedProtocol).unwrap();
    client.set_plain_username("u").unwrap();
    client.connect(&ep).unwrap();
    for mon in [&smon, &cmon] {
        let e = mon.recv_timeout(SOON).expect("a refused handshake is reported");
        assert_eq!(e.event, Event::HandshakeFailedProtocol, "{e:?}");
        assert_eq!(e.value, oxmq::protocol_error::ZMTP_MECHANISM_MISMATCH, "{e:?}");
    }
}

/// A CURVE client without the server's key cannot start a handshake: it says so.
#[test]
fn a_curve_client_without_the_server_key_reports_why() {
    let ctx = Context::new();
    let server = socket(&ctx, SocketType::Pull);
    let ep = bind(&server, Transport::Tcp);
    let client = socket(&ctx, SocketType::Push);
    let mon = client.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedProtocol).unwrap();
    let (_, secret) = keypair();
    client.set_curve_secretkey(&secret).unwrap();
    client.connect(&ep).unwrap();
    let e = mon.recv_timeout(SOON).expect("the handshake cannot start");
    assert_eq!(e.event, Event::HandshakeFailedProtocol, "{e:?}");
}

/// The options choose the mechanism as libzmq's do, and read back as libzmq returns them.
#[test]
fn options_choose_the_mechanism_as_libzmq() {
    let ctx = Context::new();
    let s = ctx.socket(SocketType::Dealer).unwrap();
    let get_int = |id| i32::from_ne_bytes(s.get_option_raw(id).unwrap()[..4].try_into().unwrap());
    assert_eq!(s.mechanism().unwrap(), Mechanism::Null);
    assert_eq!(get_int(opt::MECHANISM), 0);

    s.set_plain_username("bob").unwrap();
    assert_eq!((s.mechanism().unwrap(), get_int(opt::PLAIN_SERVER)), (Mechanism::Plain, 0));
    assert_eq!(s.get_option_raw(opt::PLAIN_USERNAME).unwrap(), b"bob\0");
    s.set_plain_username("").unwrap();
    assert_eq!(s.mechanism().unwrap(), Mechanism::Null, "an empty user name turns PLAIN off");
    s.set_plain_server(true).unwrap();
    assert_eq!((get_int(opt::MECHANISM), get_int(opt::PLAIN_SERVER)), (1, 1));
    assert!(matches!(s.set_option_raw(opt::PLAIN_SERVER, &2i32.to_ne_bytes()), Err(Error::InvalidArgument(_))));
    assert!(matches!(s.set_plain_username([b'x'; 256]), Err(Error::InvalidArgument(_))));

    let (public, secret) = keypair();
    s.set_curve_server(true).unwrap();
    assert_eq!((get_int(opt::MECHANISM), get_int(opt::CURVE_SERVER), get_int(opt::PLAIN_SERVER)), (2, 1, 0));
    // A key as 40 Z85 characters, as 41 with a NUL, or as 32 bytes; read back as 32 bytes.
    s.set_curve_secretkey(&secret).unwrap();
    let raw = oxmq::z85_decode(&secret).unwrap();
    assert_eq!(s.get_option_raw(opt::CURVE_SECRETKEY).unwrap(), raw);
    let mut with_nul = public.clone().into_bytes();
    with_nul.push(0);
    s.set_curve_publickey(&with_nul).unwrap();
    assert_eq!(s.get_option_raw(opt::CURVE_PUBLICKEY).unwrap(), oxmq::z85_decode(&public).unwrap());
    s.set_curve_serverkey(oxmq::z85_decode(&public).unwrap()).unwrap();
    assert_eq!(get_int(opt::CURVE_SERVER), 0, "CURVE_SERVERKEY makes a client");
    for bad in [&b"short"[..], &[b'~'; 40][..], &[b'a'; 33][..]] {
        assert!(matches!(s.set_curve_publickey(bad), Err(Error::InvalidArgument(_))), "{bad:?}");
    }
    assert!(matches!(s.set_option_raw(opt::MECHANISM, &0i32.to_ne_bytes()), Err(Error::InvalidArgument(_))));

    s.set_zap_domain("global").unwrap();
    assert_eq!(s.get_option_raw(opt::ZAP_DOMAIN).unwrap(), b"global\0");
    s.set_zap_enforce_domain(true).unwrap();
    assert_eq!(get_int(opt::ZAP_ENFORCE_DOMAIN), 1);
    for bad in ["Hello:x", "X-Hello", "X-Hello:", ":x"] {
        assert!(matches!(s.set_option_raw(opt::METADATA, bad.as_bytes()), Err(Error::InvalidArgument(_))), "{bad}");
    }
    s.add_metadata("X-Hello", "x").unwrap();
}

#[test]
fn z85_and_keys_follow_libzmq() {
    // RFC 32's example.
    let data = [0x86, 0x4F, 0xD2, 0x6F, 0xB5, 0x59, 0xF7, 0x5B];
    assert_eq!(oxmq::z85_encode(&data).unwrap(), "HelloWorld");
    assert_eq!(oxmq::z85_decode("HelloWorld").unwrap(), data);
    assert!(oxmq::z85_encode(&data[..7]).is_err(), "a length that is not a multiple of 4");
    assert!(oxmq::z85_decode("Hello").is_ok());
    assert!(oxmq::z85_decode("Hell").is_err(), "a length that is not a multiple of 5");
    assert!(oxmq::z85_decode("Hell~").is_err(), "a character outside the alphabet");
    let (public, secret) = keypair();
    assert_eq!((public.len(), secret.len()), (40, 40));
    assert_eq!(oxmq::curve_public(&secret).unwrap(), public);
    assert!(oxmq::has("curve") && oxmq::has("ipc"));
    assert!(!oxmq::has("pgm") && !oxmq::has("gssapi") && !oxmq::has("draft"));
}

/// A PLAIN server asks the ZAP handler with the client's credentials (RFC 27 frames, as
/// libzmq sends them), admits whom it admits, with its User-Id, and refuses the others: the
/// server reports HANDSHAKE_FAILED_AUTH with the status code, and so does the client, which
/// gets the ERROR.
#[test]
fn plain_credentials_go_through_zap() {
    let ctx = Context::new();
    let zap = ZapHandler::start(&ctx, |mechanism, creds| match (mechanism, creds) {
        ("PLAIN", [user, pass]) if &user[..] == b"alice" && &pass[..] == b"secret" => Ok("alice-id"),
        _ => Err("400"),
    });
    let server = socket(&ctx, SocketType::Pull);
    server.set_plain_server(true).unwrap();
    server.set_zap_domain("test-domain").unwrap();
    let smon = server.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedAuth).unwrap();
    let ep = bind(&server, Transport::Tcp);

    let bad = socket(&ctx, SocketType::Push);
    let bmon = bad.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedAuth).unwrap();
    bad.set_plain_username("alice").unwrap();
    bad.set_plain_password("wrong").unwrap();
    bad.connect(&ep).unwrap();
    bad.send("from the wrong password").unwrap();
    let e = smon.recv_timeout(SOON).expect("the server reports the refusal");
    assert_eq!((e.event, e.value), (Event::HandshakeFailedAuth, 400), "{e:?}");
    let e = bmon.recv_timeout(SOON).expect("the client learns of the refusal");
    assert_eq!((e.event, e.value), (Event::HandshakeFailedAuth, 400), "{e:?}");
    drop(bad);

    let good = socket(&ctx, SocketType::Push);
    good.set_plain_username("alice").unwrap();
    good.set_plain_password("secret").unwrap();
    good.connect(&ep).unwrap();
    good.send("hello").unwrap();
    let msg = server.recv_message().unwrap();
    assert_eq!(msg.frames(), ["hello"], "only the admitted client's message arrives");
    assert_eq!(msg.property("User-Id"), Some(&b"alice-id"[..]));
    assert_eq!(msg.property("X-Zap"), Some(&b"yes"[..]), "the handler's metadata is a message property");
    let seen = zap.seen.lock().unwrap().clone();
    let last = seen.last().expect("the handler was asked");
    assert_eq!(&last[0][..], b"1.0");
    assert_eq!(&last[2][..], b"test-domain");
    assert_eq!(&last[3][..], b"127.0.0.1", "the peer's address");
    assert_eq!(&last[5][..], b"PLAIN");
    assert_eq!(&last[6..], [&b"alice"[..], &b"secret"[..]]);
}

/// With no ZAP handler bound, a PLAIN server refuses every client (libzmq 4.3.5:
/// HANDSHAKE_FAILED_NO_DETAIL with EFAULT), while a CURVE server admits any client that
/// completes the handshake, unless ZAP_ENFORCE_DOMAIN.
#[test]
fn without_a_zap_handler_plain_refuses_and_curve_admits() {
    let ctx = Context::new();
    let server = socket(&ctx, SocketType::Pull);
    server.set_plain_server(true).unwrap();
    let mon = server.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedNoDetail).unwrap();
    let ep = bind(&server, Transport::Tcp);
    let client = socket(&ctx, SocketType::Push);
    client.set_plain_username("u").unwrap();
    client.set_plain_password("p").unwrap();
    client.connect(&ep).unwrap();
    let e = mon.recv_timeout(SOON).expect("the PLAIN server refuses");
    assert_eq!((e.event, e.value), (Event::HandshakeFailedNoDetail, 14), "{e:?}");

    for enforce in [false, true] {
        let sec = Security::curve();
        let server = socket(&ctx, SocketType::Pull);
        sec.server(&server);
        server.set_zap_enforce_domain(enforce).unwrap();
        let mon = server.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedNoDetail).unwrap();
        let ep = bind(&server, Transport::Tcp);
        let client = socket(&ctx, SocketType::Push);
        sec.client(&client);
        client.connect(&ep).unwrap();
        let e = mon.recv_timeout(SOON).expect("the CURVE handshake ends");
        if enforce {
            assert_eq!((e.event, e.value), (Event::HandshakeFailedNoDetail, 14), "{e:?}");
        } else {
            assert_eq!(e.event, Event::HandshakeSucceeded, "{e:?}");
            client.send("in").unwrap();
            assert_eq!(server.recv().unwrap(), "in");
        }
    }
}

/// A NULL socket asks the ZAP handler only once it has a ZAP_DOMAIN (as libzmq): without one
/// the handler is not asked; with one, its refusal keeps the peer out (HANDSHAKE_FAILED_AUTH).
#[test]
fn null_asks_zap_only_with_a_domain() {
    let ctx = Context::new();
    let zap = ZapHandler::start(&ctx, |mechanism, _| if mechanism == "NULL" { Err("400") } else { Ok("x") });
    let open = socket(&ctx, SocketType::Pull);
    let ep = bind(&open, Transport::Tcp);
    let push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    push.send("in").unwrap();
    let msg = open.recv_message().unwrap();
    assert_eq!(msg.frames(), ["in"]);
    assert_eq!(msg.property("User-Id"), None);
    assert!(zap.seen.lock().unwrap().is_empty(), "no ZAP_DOMAIN: the handler is not asked");

    let guarded = socket(&ctx, SocketType::Pull);
    guarded.set_zap_domain("guarded").unwrap();
    let mon = guarded.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedAuth).unwrap();
    let ep = bind(&guarded, Transport::Tcp);
    let push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    let e = mon.recv_timeout(SOON).expect("the handshake ends");
    assert_eq!((e.event, e.value), (Event::HandshakeFailedAuth, 400), "{e:?}");
    let seen = zap.seen.lock().unwrap().clone();
    assert_eq!((&seen[0][2][..], &seen[0][5][..]), (&b"guarded"[..], &b"NULL"[..]));
}
