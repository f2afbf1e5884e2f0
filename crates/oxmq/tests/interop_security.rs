//! Interop tests of the security mechanisms against libzmq 4.3.5 through pyzmq: PLAIN and
//! CURVE handshakes and traffic, oxmq as the server and as the client, over tcp and ipc, with
//! oxmq binding and connecting; ZAP: pyzmq's authenticator (zmq.auth) admitting and refusing
//! oxmq's PLAIN clients, an oxmq ZAP handler admitting and refusing libzmq's; and refusals (a
//! wrong CURVE server key, mismatched mechanisms) on both sides. The CURVE servers have no ZAP
//! handler, so they admit any client that completes the handshake, as libzmq does.
//! The harness (`Peer`, `Link`, `interop_matrix!`) is in `interop/mod.rs`.

mod common;
#[macro_use]
mod interop;

use common::zap::ZapHandler;
use interop::*;
use oxmq::{Context, Event, SocketType};

/// Multipart messages, empty frames, and bodies past the 16 KiB zero-copy threshold and the
/// 255-byte short-frame limit: every frame crosses CURVE in its own MESSAGE box.
fn samples() -> Vec<Vec<Part>> {
    vec![
        m(&[b"hello"]),
        m(&[b"", b"a", b"", b""]),
        vec![Part::Pattern { size: 255, seed: 1 }, Part::Pattern { size: 256, seed: 2 }, Part::Data(vec![])],
        vec![Part::Pattern { size: 100_000, seed: 3 }],
    ]
}

/// A key pair as (public, secret), Z85.
fn keypair() -> (String, String) {
    let (public, secret) = oxmq::curve_keypair().expect("the OS random source");
    (public, secret.to_string())
}

/// Both ways over an established DEALER pair: the peer sends, oxmq receives, oxmq answers.
fn exchange(l: &mut Link) {
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &l.name);
        oxmq_send(&l.ox, &msg);
        assert_peer_got(&l.peer.recv(), &msg, &l.name);
    }
}

/// A ZAP handler admitting PLAIN user admin with password secret.
fn admin_only(ctx: &Context) -> ZapHandler {
    ZapHandler::start(ctx, |mechanism, creds| match (mechanism, creds) {
        ("PLAIN", [user, pass]) if &user[..] == b"admin" && &pass[..] == b"secret" => Ok("admin"),
        _ => Err("400"),
    })
}

/// oxmq is the PLAIN server, with an oxmq ZAP handler; libzmq's client sends a user name and
/// password.
fn plain_oxmq_server(t: Transport, side: Side) {
    let ctx = Context::new();
    let _zap = admin_only(&ctx);
    let peer_args = ["--sockopt-text", "PLAIN_USERNAME=admin", "--sockopt-text", "PLAIN_PASSWORD=secret"];
    let setup = |s: &oxmq::Socket| s.set_plain_server(true).unwrap();
    let mut l = link_in(ctx, t, side, SocketType::Dealer, setup, "DEALER", &peer_args);
    exchange(&mut l);
}

/// oxmq is the PLAIN client of libzmq's server, admitted by pyzmq's authenticator.
fn plain_oxmq_client(t: Transport, side: Side) {
    let setup = |s: &oxmq::Socket| {
        s.set_plain_username("admin").unwrap();
        s.set_plain_password("secret").unwrap();
    };
    let peer_args = ["--sockopt", "PLAIN_SERVER=1", "--auth-plain", "admin=secret"];
    let mut l = link(t, side, SocketType::Dealer, setup, "DEALER", &peer_args);
    exchange(&mut l);
}

/// An oxmq CURVE server (type `ox_type`) and a libzmq CURVE client (`peer_type`) that knows
/// the server's public key, linked.
fn curve_server_link(t: Transport, side: Side, ox_type: SocketType, peer_type: &str) -> Link {
    let (server_public, server_secret) = keypair();
    let (client_public, client_secret) = keypair();
    let peer_args = [
        "--sockopt-text".to_string(),
        format!("CURVE_SERVERKEY={server_public}"),
        "--sockopt-text".to_string(),
        format!("CURVE_PUBLICKEY={client_public}"),
        "--sockopt-text".to_string(),
        format!("CURVE_SECRETKEY={client_secret}"),
    ];
    let peer_args: Vec<&str> = peer_args.iter().map(String::as_str).collect();
    let setup = |s: &oxmq::Socket| {
        s.set_curve_server(true).unwrap();
        s.set_curve_secretkey(&server_secret).unwrap();
    };
    link(t, side, ox_type, setup, peer_type, &peer_args)
}

/// oxmq is the CURVE server; libzmq's client knows its public key.
fn curve_oxmq_server(t: Transport, side: Side) {
    let mut l = curve_server_link(t, side, SocketType::Dealer, "DEALER");
    exchange(&mut l);
}

/// oxmq is the CURVE client of libzmq's server.
fn curve_oxmq_client(t: Transport, side: Side) {
    let (server_public, server_secret) = keypair();
    let (client_public, client_secret) = keypair();
    let peer_args = [
        "--sockopt".to_string(),
        "CURVE_SERVER=1".to_string(),
        "--sockopt-text".to_string(),
        format!("CURVE_SECRETKEY={server_secret}"),
    ];
    let peer_args: Vec<&str> = peer_args.iter().map(String::as_str).collect();
    let setup = |s: &oxmq::Socket| {
        s.set_curve_serverkey(&server_public).unwrap();
        s.set_curve_publickey(&client_public).unwrap();
        s.set_curve_secretkey(&client_secret).unwrap();
    };
    let mut l = link(t, side, SocketType::Dealer, setup, "DEALER", &peer_args);
    exchange(&mut l);
}

/// REQ/REP through CURVE, oxmq the server: the REQ envelope's empty delimiter frame travels in
/// its own box.
fn curve_rep_from_req(t: Transport, side: Side) {
    let mut l = curve_server_link(t, side, SocketType::Rep, "REQ");
    for msg in samples() {
        l.peer.send(&msg);
        assert_oxmq_got(&oxmq_recv(&l.ox), &msg, &l.name);
        oxmq_send(&l.ox, &msg);
        assert_peer_got(&l.peer.recv(), &msg, &l.name);
    }
}

interop_matrix!(plain_oxmq_server, plain_oxmq_client, curve_oxmq_server, curve_oxmq_client, curve_rep_from_req);

/// A CURVE client with the wrong server key gets nowhere: libzmq's server cannot open its
/// HELLO and reports it (HANDSHAKE_FAILED_PROTOCOL, ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC);
/// oxmq's client reports its failed handshake too; nothing is delivered.
#[test]
fn curve_client_with_the_wrong_server_key_is_refused() {
    run_test(|| {
        let (_server_public, server_secret) = keypair();
        let (wrong_public, _) = keypair();
        let (client_public, client_secret) = keypair();
        let secret_arg = format!("CURVE_SECRETKEY={server_secret}");
        let peer_args = ["--sockopt", "CURVE_SERVER=1", "--sockopt-text", &secret_arg, "--monitor"];
        let setup = |s: &oxmq::Socket| {
            s.set_curve_serverkey(&wrong_public).unwrap();
            s.set_curve_publickey(&client_public).unwrap();
            s.set_curve_secretkey(&client_secret).unwrap();
        };
        let mut l = link(Transport::Tcp, Side::OxmqConnects, SocketType::Dealer, setup, "DEALER", &peer_args);
        let monitor =
            l.ox.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedNoDetail | Event::HandshakeFailedProtocol)
                .unwrap();
        let event = l.peer.wait_event(&["HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_SUCCEEDED"]);
        // ZMQ_PROTOCOL_ERROR_ZMTP_CRYPTOGRAPHIC
        assert!(event.starts_with(&format!("event HANDSHAKE_FAILED_PROTOCOL {}", 0x1100_0001u32)), "{event}");
        let ours = monitor.recv_timeout(SOON).expect("oxmq reports the failed handshake");
        assert_ne!(ours.event, Event::HandshakeSucceeded, "{ours:?}");
        assert_oxmq_nothing_queued(&l.ox, &l.name);
    });
}

/// A CURVE client to a PLAIN server: both sides refuse the mechanism.
#[test]
fn a_curve_client_to_a_plain_server_is_refused_on_both_sides() {
    run_test(|| {
        let (server_public, _) = keypair();
        let (client_public, client_secret) = keypair();
        let peer_args = ["--sockopt", "PLAIN_SERVER=1", "--monitor"];
        // The monitor starts before the connect: a protocol failure ends the connecter.
        let mut monitor = None;
        let setup = |s: &oxmq::Socket| {
            monitor = Some(s.monitor(oxmq::EventMask::ALL).unwrap());
            s.set_curve_serverkey(&server_public).unwrap();
            s.set_curve_publickey(&client_public).unwrap();
            s.set_curve_secretkey(&client_secret).unwrap();
        };
        let mut l = link(Transport::Tcp, Side::OxmqConnects, SocketType::Dealer, setup, "DEALER", &peer_args);
        let monitor = monitor.unwrap();
        let event = l.peer.wait_event(&["HANDSHAKE_FAILED_PROTOCOL", "HANDSHAKE_SUCCEEDED"]);
        assert!(event.starts_with("event HANDSHAKE_FAILED_PROTOCOL"), "{event}");
        // libzmq closes the connection on reading our greeting's mechanism, before sending
        // the rest of its own: oxmq sees the connection closed mid-handshake (EPIPE), as a
        // libzmq client would.
        let ours = next_handshake_event(&monitor);
        assert_eq!(ours.event, Event::HandshakeFailedNoDetail, "{ours:?}");
    });
}

/// pyzmq's authenticator refuses an oxmq client with the wrong password: libzmq's server
/// reports HANDSHAKE_FAILED_AUTH 400. libzmq 4.3.5's server then sends a malformed ERROR
/// (`^RROR` + the status code: its first two bytes overwritten, as a raw client sees it), so
/// oxmq's client reports what a libzmq client reports for it: HANDSHAKE_FAILED_PROTOCOL,
/// ZMTP_UNEXPECTED_COMMAND.
#[test]
fn pyzmq_authenticator_refuses_a_wrong_password() {
    run_test(|| {
        let peer_args = ["--sockopt", "PLAIN_SERVER=1", "--auth-plain", "admin=secret", "--monitor"];
        // The monitor starts before the connect: a refusal ends the connecter.
        let mut monitor = None;
        let setup = |s: &oxmq::Socket| {
            monitor = Some(s.monitor(oxmq::EventMask::ALL).unwrap());
            s.set_plain_username("admin").unwrap();
            s.set_plain_password("wrong").unwrap();
        };
        let mut l = link(Transport::Tcp, Side::OxmqConnects, SocketType::Dealer, setup, "DEALER", &peer_args);
        let monitor = monitor.unwrap();
        let event = l.peer.wait_event(&["HANDSHAKE_FAILED_AUTH", "HANDSHAKE_SUCCEEDED"]);
        assert!(event.starts_with("event HANDSHAKE_FAILED_AUTH 400"), "{event}");
        let ours = next_handshake_event(&monitor);
        let unexpected = oxmq::protocol_error::ZMTP_UNEXPECTED_COMMAND;
        assert_eq!((ours.event, ours.value), (Event::HandshakeFailedProtocol, unexpected), "{ours:?}");
    });
}

/// oxmq's ZAP handler refuses a libzmq client with the wrong password (HANDSHAKE_FAILED_AUTH
/// 400), and sends the ERROR RFC 24 asks for (`\x05ERROR\x03400`, which an oxmq client reads
/// as HANDSHAKE_FAILED_AUTH 400). libzmq 4.3.5's client reports HANDSHAKE_FAILED_PROTOCOL,
/// ZMTP_UNEXPECTED_COMMAND, for it, as it does for libzmq's own server's refusal.
#[test]
fn an_oxmq_zap_handler_refuses_a_libzmq_client() {
    run_test(|| {
        let ctx = Context::new();
        let _zap = admin_only(&ctx);
        let peer_args =
            ["--sockopt-text", "PLAIN_USERNAME=admin", "--sockopt-text", "PLAIN_PASSWORD=wrong", "--monitor"];
        let ox = oxmq_socket(&ctx, SocketType::Dealer);
        ox.set_plain_server(true).unwrap();
        let monitor = ox.monitor(Event::HandshakeSucceeded | Event::HandshakeFailedAuth).unwrap();
        ox.bind("tcp://127.0.0.1:*").unwrap();
        let ep = ox.last_endpoint().unwrap();
        let mut args: Vec<String> = peer_args.iter().map(|a| a.to_string()).collect();
        args.extend(["--connect".to_string(), ep]);
        let mut peer = Peer::spawn("DEALER", &args);
        let ours = monitor.recv_timeout(SOON).expect("oxmq reports the refusal");
        assert_eq!((ours.event, ours.value), (Event::HandshakeFailedAuth, 400), "{ours:?}");
        let event = peer.wait_event(&["HANDSHAKE_FAILED_AUTH", "HANDSHAKE_SUCCEEDED", "HANDSHAKE_FAILED_PROTOCOL"]);
        let unexpected = oxmq::protocol_error::ZMTP_UNEXPECTED_COMMAND;
        assert!(event.starts_with(&format!("event HANDSHAKE_FAILED_PROTOCOL {unexpected}")), "{event}");
    });
}

/// The first handshake event (succeeded or failed) a monitor reports.
fn next_handshake_event(monitor: &oxmq::Monitor) -> oxmq::MonitorEvent {
    loop {
        let e = monitor.recv_timeout(SOON).expect("a handshake event");
        if matches!(
            e.event,
            Event::HandshakeSucceeded
                | Event::HandshakeFailedNoDetail
                | Event::HandshakeFailedProtocol
                | Event::HandshakeFailedAuth
        ) {
            return e;
        }
    }
}
