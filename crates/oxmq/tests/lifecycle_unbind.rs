//! Socket lifecycle, with libzmq's semantics: how endpoints go away. Unbind and disconnect (by
//! endpoint, by the LAST_ENDPOINT of a wildcard bind, of unknown endpoints), the ports, inproc
//! names and ipc files they free, delivery stopping for the peer that went, and binding an
//! endpoint already in use.

mod common;

use std::net::TcpListener;

use common::*;
use oxmq::{Context, Error, Pull, Push, Socket, SocketType};

// ================================================================ unbind / disconnect

#[test]
fn unbind_closes_the_listener_and_frees_the_port() {
    let ctx = Context::new();
    let pull = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let ep = pull.last_endpoint().unwrap();
    let push = push_linger0(&ctx);
    push.set_reconnect_ivl(20).unwrap();
    push.connect(&ep).unwrap();
    push.send("one").unwrap();
    assert_eq!(pull.recv().unwrap(), "one");

    pull.unbind(&ep).unwrap();
    // The listener is gone: new connections are refused.
    let refused = eventually(SOON, || std::net::TcpStream::connect(tcp_addr(&ep)).is_err().then_some(()));
    assert!(refused.is_some(), "{ep} still accepts connections after unbind");
    // Another socket (of another context) can bind the port.
    let other_ctx = Context::new();
    let pull2 = eventually(SOON, || {
        let p = Pull::new(&other_ctx).unwrap();
        p.set_rcvtimeo(TIMEO_MS).unwrap();
        p.bind(&ep).ok().map(|()| p)
    })
    .expect("the port can be bound by another socket after unbind");
    // The PUSH reconnects, to the new owner of the port; the unbound PULL gets nothing more.
    let got = send_until_received(&push, &pull2, SOON, 50);
    assert!(got.is_some(), "the PUSH reconnected to the new listener");
    pull.set_rcvtimeo(100).unwrap();
    let late = pull.recv();
    assert!(is_again(&late), "the unbound PULL still received {late:?}");
}

#[test]
fn send_after_unbind_has_no_peer() {
    // libzmq test_send_after_unbind_fails: unbind closes the connections accepted there.
    let ctx = Context::new();
    let push = push_linger0(&ctx);
    push.bind("tcp://127.0.0.1:*").unwrap();
    let ep = push.last_endpoint().unwrap();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.connect(&ep).unwrap();
    push.set_sndtimeo(TIMEO_MS).unwrap();
    push.send("ABC").unwrap();
    assert_eq!(pull.recv().unwrap(), "ABC");
    push.unbind(&ep).unwrap();
    let no_peer = eventually(SOON, || is_again(&push.try_send("ABC", false)).then_some(()));
    assert!(no_peer.is_some(), "the PUSH still has a peer after unbind");
}

#[test]
fn send_after_disconnect_has_no_peer() {
    // libzmq test_send_after_disconnect_fails.
    let ctx = Context::new();
    let pull = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let ep = pull.last_endpoint().unwrap();
    let push = push_linger0(&ctx);
    push.connect(&ep).unwrap();
    push.send("ABC").unwrap();
    assert_eq!(pull.recv().unwrap(), "ABC");
    push.disconnect(&ep).unwrap();
    assert!(is_again(&push.try_send("ABC", false)), "no peer right after disconnect");
}

#[test]
fn unbind_and_disconnect_of_unknown_endpoints() {
    let ctx = Context::new();
    let s = Socket::new(&ctx, SocketType::Pull).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let bound = s.last_endpoint().unwrap();
    let connected = free_tcp_endpoint();
    s.connect(&connected).unwrap();
    let not_found = |r: Result<(), Error>| matches!(r, Err(Error::EndpointNotFound(_)));
    assert!(not_found(s.unbind("tcp://127.0.0.1:1")), "never bound");
    assert!(not_found(s.unbind("inproc://nothing-here")));
    assert!(not_found(s.unbind(&connected)), "unbind of a connected endpoint");
    assert!(not_found(s.disconnect(&bound)), "disconnect of a bound endpoint");
    assert!(not_found(s.disconnect("tcp://127.0.0.1:2")), "never connected");
    s.unbind(&bound).unwrap();
    assert!(not_found(s.unbind(&bound)), "second unbind");
    s.disconnect(&connected).unwrap();
    assert!(not_found(s.disconnect(&connected)), "second disconnect");
}

#[test]
fn unbind_by_last_endpoint_of_wildcard_binds() {
    let ctx = Context::new();
    let s = Pull::new(&ctx).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    let tcp = s.last_endpoint().unwrap();
    assert!(!tcp.ends_with(":*") && !tcp.ends_with(":0"), "resolved: {tcp}");
    s.bind("ipc://*").unwrap();
    let ipc = s.last_endpoint().unwrap();
    assert!(ipc.starts_with("ipc://") && ipc != "ipc://*", "resolved: {ipc}");
    let ipc_path = std::path::PathBuf::from(ipc.strip_prefix("ipc://").unwrap());
    assert!(ipc_path.exists(), "the ipc socket file exists while bound");
    s.unbind(&tcp).unwrap();
    s.unbind(&ipc).unwrap();
    assert!(!ipc_path.exists(), "unbind removes the ipc socket file");
    let again = eventually(SOON, || TcpListener::bind(tcp_addr(&tcp)).ok());
    assert!(again.is_some(), "the tcp port is free after unbind");
}

#[test]
fn wildcard_endpoint_string_cannot_unbind() {
    // libzmq test_wildcard_unbind_fails: a wildcard bind is unbound by its resolved endpoint,
    // not by the wildcard string (ENOENT).
    let ctx = Context::new();
    let s = Pull::new(&ctx).unwrap();
    s.bind("tcp://127.0.0.1:*").unwrap();
    s.bind("ipc://*").unwrap();
    assert!(matches!(s.unbind("tcp://127.0.0.1:*"), Err(Error::EndpointNotFound(_))));
    assert!(matches!(s.unbind("ipc://*"), Err(Error::EndpointNotFound(_))));
}

fn disconnect_stops_delivery(bind1: &str, bind2: &str) {
    let ctx = Context::new();
    let pull1 = pull_bound(&ctx, bind1);
    let pull2 = pull_bound(&ctx, bind2);
    let (ep1, ep2) = (pull1.last_endpoint().unwrap(), pull2.last_endpoint().unwrap());
    let push = push_linger0(&ctx);
    push.set_sndtimeo(TIMEO_MS).unwrap();
    push.connect(&ep1).unwrap();
    push.connect(&ep2).unwrap();
    // Round-robin: both get one of the first two.
    push.send("r0").unwrap();
    push.send("r1").unwrap();
    assert!(pull1.recv().is_ok() && pull2.recv().is_ok(), "both peers are connected");

    push.disconnect(&ep1).unwrap();
    for i in 0..20 {
        push.send(format!("after-{i}")).unwrap();
    }
    for i in 0..20 {
        match pull2.recv() {
            Ok(m) => assert_eq!(m, format!("after-{i}").as_str()),
            Err(e) => panic!("message after-{i} did not reach the remaining peer: {e}"),
        }
    }
    pull1.set_rcvtimeo(100).unwrap();
    let late = pull1.recv();
    assert!(is_again(&late), "the disconnected peer still received {late:?}");
}

#[test]
fn disconnect_stops_delivery_to_that_peer_tcp() {
    disconnect_stops_delivery("tcp://127.0.0.1:*", "tcp://127.0.0.1:*");
}

#[test]
fn disconnect_stops_delivery_to_that_peer_ipc() {
    disconnect_stops_delivery("ipc://*", "ipc://*");
}

#[test]
fn disconnect_stops_delivery_to_that_peer_inproc() {
    disconnect_stops_delivery(&inproc_endpoint("disc1"), &inproc_endpoint("disc2"));
}

#[test]
fn bind_to_an_endpoint_in_use_is_addr_in_use() {
    let ctx = Context::new();
    let a = Pull::new(&ctx).unwrap();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let ep = a.last_endpoint().unwrap();
    let b = Pull::new(&ctx).unwrap();
    assert!(matches!(b.bind(&ep), Err(Error::AddrInUse(_))), "tcp");
    let name = inproc_endpoint("inuse");
    a.bind(&name).unwrap();
    assert!(matches!(b.bind(&name), Err(Error::AddrInUse(_))), "inproc");
    // A failed bind leaves the socket usable.
    b.bind("tcp://127.0.0.1:*").unwrap();
}

#[test]
fn messages_sent_before_the_peer_closes_are_delivered() {
    let ctx = Context::new();
    let pull = pull_bound(&ctx, "tcp://127.0.0.1:*");
    let ep = pull.last_endpoint().unwrap();
    {
        let mut raw = RawPeer::connect(&ep);
        raw.handshake("PUSH");
        for i in 0..5 {
            raw.write(&frame(0, format!("m{i}").as_bytes())).unwrap();
        }
    } // the peer closes at once
    for i in 0..5 {
        match pull.recv() {
            Ok(m) => assert_eq!(m, format!("m{i}").as_str()),
            Err(e) => panic!("message m{i} sent before the peer closed was lost: {e}"),
        }
    }
}

#[test]
fn inproc_unbind_frees_the_name() {
    let ctx = Context::new();
    let name = inproc_endpoint("unbind");
    let first = pull_bound(&ctx, &name);
    first.unbind(&name).unwrap();
    // A new connect no longer reaches the unbound socket; a new binder gets it.
    let push = push_linger0(&ctx);
    push.connect(&name).unwrap();
    push.send("for the new binder").unwrap();
    let second = pull_bound(&ctx, &name);
    assert_eq!(second.recv().unwrap(), "for the new binder");
    first.set_rcvtimeo(50).unwrap();
    assert!(is_again(&first.recv()));
}

#[test]
fn inproc_unbind_keeps_existing_connections() {
    // libzmq: unbinding an inproc name only forgets the name; established pipes stay.
    let ctx = Context::new();
    let name = inproc_endpoint("keep");
    let pull = pull_bound(&ctx, &name);
    let push = push_linger0(&ctx);
    push.connect(&name).unwrap();
    push.send("before").unwrap();
    pull.unbind(&name).unwrap();
    push.send("after").unwrap();
    assert_eq!(pull.recv().unwrap(), "before");
    assert_eq!(pull.recv().unwrap(), "after");
}

#[test]
fn closing_an_ipc_wildcard_bind_removes_its_file_and_directory() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.bind("ipc://*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let file = std::path::PathBuf::from(ep.strip_prefix("ipc://").unwrap());
    let dir = file.parent().unwrap().to_path_buf();
    assert!(file.exists(), "{file:?} exists while bound");
    pull.unbind(&ep).unwrap();
    assert!(!file.exists(), "{file:?} removed on unbind");
    assert!(!dir.exists(), "{dir:?} removed on unbind");
}

#[test]
fn closing_an_ipc_listener_leaves_a_file_another_socket_bound_since() {
    let ctx = Context::new();
    let (ep, path) = ipc_endpoint("rebound");
    let first = Pull::new(&ctx).unwrap();
    first.bind(&ep).unwrap();
    // A second socket takes the path over (as libzmq, binding replaces a file left there).
    let second = Pull::new(&ctx).unwrap();
    second.bind(&ep).unwrap();
    drop(first);
    assert!(path.exists(), "the first socket's close must not remove the second one's file");
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    push.connect(&ep).unwrap();
    push.send("to the second").unwrap();
    second.set_rcvtimeo(5000).unwrap();
    assert_eq!(second.recv().unwrap(), "to the second");
    drop(second);
    assert!(!path.exists(), "the second socket's close removes its own file");
}
