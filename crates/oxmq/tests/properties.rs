//! Message properties (libzmq's `zmq_msg_gets`): `recv_message` reports the properties of the
//! connection a message came over, as libzmq 4.3.5 reports them (checked through pyzmq):
//! `Socket-Type`, `Identity` (only from the types that send one), `Peer-Address` (a tcp peer's
//! IP address; `localhost:<uid>:<gid>:<pid>` for ipc), the peer's own `X-` properties; nothing
//! for inproc.

mod common;

use common::raw::{FLAG_MORE, RawPeer, frame, greeting, ready};
use common::{TIMEO_MS, Transport, bind, socket};
use oxmq::{Context, SocketType};

fn text(v: Option<&[u8]>) -> Option<String> {
    v.map(|b| String::from_utf8_lossy(b).into_owned())
}

#[test]
fn a_tcp_peer_reports_its_type_identity_and_address() {
    let ctx = Context::new();
    let router = socket(&ctx, SocketType::Router);
    let ep = bind(&router, Transport::Tcp);
    let dealer = socket(&ctx, SocketType::Dealer);
    dealer.set_routing_id(b"dd").unwrap();
    dealer.connect(&ep).unwrap();
    dealer.send_multipart(["hello"]).unwrap();
    let msg = router.recv_message().unwrap();
    assert_eq!(msg.frames(), ["dd", "hello"]);
    assert_eq!(text(msg.property("Socket-Type")).as_deref(), Some("DEALER"));
    assert_eq!(text(msg.property("socket-type")).as_deref(), Some("DEALER"), "names are case-insensitive");
    assert_eq!(text(msg.property("Identity")).as_deref(), Some("dd"));
    assert_eq!(text(msg.property("Peer-Address")).as_deref(), Some("127.0.0.1"));
    assert_eq!(msg.property("User-Id"), None, "no mechanism authenticated the peer");
    assert_eq!(msg.property("X-Nothing"), None);

    // The reply's way back: the DEALER's connect pipe (made before its peer existed) carries
    // the properties of the connection it has now.
    router.send_multipart(["dd", "back"]).unwrap();
    let reply = dealer.recv_message().unwrap();
    assert_eq!(reply.frames(), ["back"]);
    assert_eq!(text(reply.property("Socket-Type")).as_deref(), Some("ROUTER"));
    assert_eq!(text(reply.property("Peer-Address")).as_deref(), Some("127.0.0.1"));
}

#[test]
fn an_ipc_peer_reports_its_process_as_libzmq_does() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    let ep = bind(&pull, Transport::Ipc);
    let push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    push.send("x").unwrap();
    let msg = pull.recv_message().unwrap();
    assert_eq!(text(msg.property("Socket-Type")).as_deref(), Some("PUSH"));
    assert_eq!(msg.property("Identity"), None, "a PUSH announces no identity");
    // This process's uid, read from a file it creates (no unsafe getuid call).
    let me = std::process::id();
    let addr = text(msg.property("Peer-Address")).expect("an ipc peer has an address");
    let parts: Vec<&str> = addr.split(':').collect();
    assert_eq!(parts.len(), 4, "{addr}");
    assert_eq!(parts[0], "localhost");
    assert_eq!(parts[3], me.to_string(), "{addr}: the peer is this process");
    let probe = std::env::temp_dir().join(format!("oxmq-props-{me}"));
    std::fs::write(&probe, b"").unwrap();
    let meta = std::os::unix::fs::MetadataExt::uid(&std::fs::metadata(&probe).unwrap());
    std::fs::remove_file(&probe).unwrap();
    assert_eq!(parts[1], meta.to_string(), "{addr}: uid");
}

#[test]
fn inproc_messages_have_no_properties() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, SocketType::Push);
    push.connect(&ep).unwrap();
    push.send("x").unwrap();
    let msg = pull.recv_message().unwrap();
    assert_eq!(msg.frames(), ["x"]);
    assert!(msg.properties().is_none());
}

/// The peer's own properties (a libzmq peer's ZMQ_METADATA) are reported as it sent them;
/// a `Peer-Address` it claims is not.
#[test]
fn a_peers_own_properties_are_reported_and_its_address_is_ours_to_say() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    let ep = bind(&pull, Transport::Tcp);
    let mut peer = RawPeer::connect(&ep);
    peer.write(&greeting()).unwrap();
    peer.read_greeting();
    let props: [(&str, &[u8]); 3] = [("Socket-Type", b"PUSH"), ("X-Foo", b"bar"), ("Peer-Address", b"10.9.8.7")];
    peer.write(&ready(&props)).unwrap();
    assert_eq!(peer.read_frame().command_name(), Some("READY"));
    peer.write(&frame(FLAG_MORE, b"a")).unwrap();
    peer.write(&frame(0, b"b")).unwrap();
    let msg = pull.recv_message().unwrap();
    assert_eq!(msg.frames(), ["a", "b"]);
    assert_eq!(text(msg.property("X-Foo")).as_deref(), Some("bar"));
    assert_eq!(text(msg.property("Peer-Address")).as_deref(), Some("127.0.0.1"));
    let names: Vec<&str> = msg.properties().unwrap().iter().map(|(n, _)| n).collect();
    assert_eq!(names, ["Socket-Type", "X-Foo", "Peer-Address"]);
}

/// A message read after its peer went away still has the properties of its connection.
#[test]
fn properties_outlive_the_connection_of_a_queued_message() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    let ep = bind(&pull, Transport::Tcp);
    let push = socket(&ctx, SocketType::Push);
    push.set_linger(-1).unwrap();
    push.connect(&ep).unwrap();
    push.send("queued").unwrap();
    drop(push);
    // The PUSH is gone (its connection closes once the message is written) before the PULL
    // reads.
    std::thread::sleep(common::QUIET);
    let msg = pull.recv_message().unwrap();
    assert_eq!(msg.frames(), ["queued"]);
    assert_eq!(text(msg.property("Socket-Type")).as_deref(), Some("PUSH"));
}

/// A connecting socket keeps one pipe across reconnections; a message from the new
/// connection has the new connection's properties, even right after one from the old (the
/// socket keeps a copy of the last pipe's properties and must see them change).
#[test]
fn after_a_reconnection_messages_have_the_new_connections_properties() {
    let ctx = Context::new();
    let pull = socket(&ctx, SocketType::Pull);
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.set_reconnect_ivl(10).unwrap();
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    pull.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    for name in ["first", "second"] {
        let (stream, _) = listener.accept().unwrap();
        stream.set_read_timeout(Some(common::SOON)).unwrap();
        let mut peer = common::raw::RawPeer { stream };
        peer.write(&greeting()).unwrap();
        peer.read_greeting();
        let props: [(&str, &[u8]); 2] = [("Socket-Type", b"PUSH"), ("X-Name", name.as_bytes())];
        peer.write(&ready(&props)).unwrap();
        assert_eq!(peer.read_frame().command_name(), Some("READY"));
        for _ in 0..2 {
            peer.write(&frame(0, name.as_bytes())).unwrap();
            let msg = pull.recv_message().unwrap();
            assert_eq!(msg.frames(), [name]);
            assert_eq!(text(msg.property("X-Name")).as_deref(), Some(name), "{name}'s connection's properties");
        }
        // The peer goes away; the PULL reconnects to the listener.
        drop(peer);
    }
}
