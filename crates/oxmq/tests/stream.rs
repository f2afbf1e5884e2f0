//! STREAM sockets against raw TCP (and ipc) peers written with std: an HTTP client, a
//! netcat-like server, several clients at once. libzmq's semantics (src/stream.cpp,
//! src/raw_engine.cpp, src/session_base.cpp, tests/test_stream*.cpp): messages are
//! [routing id, bytes]; STREAM_NOTIFY's empty messages on connect and disconnect; [id, ""]
//! closes a connection; unknown ids are `HostUnreachable`; a connect keeps its peer's id across
//! reconnections.

mod common;

use std::io::{ErrorKind, Read, Write};
use std::net::{Shutdown, TcpListener, TcpStream};
use std::os::unix::net::UnixStream;
use std::thread;
use std::time::{Duration, Instant};

use common::{QUIET, QUIET_MS, SOON, TIMEO_MS, expect_nothing, expect_nothing_before};
use oxmq::{Bytes, Context, Error, SocketType, Stream};

fn stream(ctx: &Context) -> Stream {
    let s = Stream::new(ctx).unwrap();
    s.set_rcvtimeo(TIMEO_MS).unwrap();
    s.set_sndtimeo(TIMEO_MS).unwrap();
    s.set_linger(0).unwrap();
    s
}

/// `s` bound to a fresh loopback port; returns `host:port`.
fn bind_tcp(s: &Stream) -> String {
    s.bind("tcp://127.0.0.1:*").unwrap();
    s.last_endpoint().unwrap().strip_prefix("tcp://").unwrap().to_string()
}

/// A std client connected to `addr`, with read and write timeouts.
fn client(addr: &str) -> TcpStream {
    let c = TcpStream::connect(addr).unwrap();
    c.set_read_timeout(Some(SOON)).unwrap();
    c.set_write_timeout(Some(SOON)).unwrap();
    c
}

/// Receive one STREAM message: exactly [id, data].
#[track_caller]
fn recv(s: &Stream) -> (Bytes, Bytes) {
    let m = s.recv_multipart().unwrap_or_else(|e| panic!("expected a message, got {e:?}"));
    assert_eq!(m.len(), 2, "a STREAM message is [id, data], got {} frames", m.len());
    (m[0].clone(), m[1].clone())
}

/// Receive a connect or disconnect notification: [id, ""]. Returns the id.
#[track_caller]
fn expect_notification(s: &Stream) -> Bytes {
    let (id, data) = recv(s);
    assert!(data.is_empty(), "expected a notification, got data {:?}", String::from_utf8_lossy(&data));
    id
}

/// Receive data from `id` until `n` bytes have come (a peer's bytes may arrive in any number
/// of messages). Fails on data from another peer or a notification.
#[track_caller]
fn recv_bytes(s: &Stream, id: &[u8], n: usize) -> Vec<u8> {
    let mut got = Vec::with_capacity(n);
    while got.len() < n {
        let (from, data) = recv(s);
        assert_eq!(&from[..], id, "data from another peer");
        assert!(!data.is_empty(), "unexpected notification after {} of {n} bytes", got.len());
        got.extend_from_slice(&data);
    }
    assert_eq!(got.len(), n, "more bytes than sent");
    got
}

fn send(s: &Stream, id: &[u8], data: &[u8]) -> oxmq::Result<()> {
    s.send_multipart([id, data])
}

/// Read until EOF; fails on a timeout or an error.
#[track_caller]
fn read_to_eof(c: &mut TcpStream) -> Vec<u8> {
    let mut all = Vec::new();
    c.read_to_end(&mut all).unwrap_or_else(|e| panic!("reading to EOF: {e} after {} bytes", all.len()));
    all
}

/// Bytes that show where they were cut or reordered.
fn payload(n: usize, seed: u8) -> Vec<u8> {
    (0..n).map(|i| (i as u8).wrapping_mul(31).wrapping_add(seed)).collect()
}

const REQUEST: &[u8] = b"GET / HTTP/1.0\r\n\r\n";
const RESPONSE: &[u8] = b"HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\nContent-Length: 13\r\n\r\nHello, World!";

// ================================================================ an HTTP server

#[test]
fn http_client_gets_the_whole_response_then_eof() {
    let ctx = Context::new();
    let server = stream(&ctx);
    let addr = bind_tcp(&server);
    let mut c = client(&addr);
    let id = expect_notification(&server);
    assert_eq!((id.len(), id[0]), (5, 0), "a generated id: 5 bytes, the first 0");

    c.write_all(REQUEST).unwrap();
    assert_eq!(recv_bytes(&server, &id, REQUEST.len()), REQUEST);
    send(&server, &id, RESPONSE).unwrap();
    send(&server, &id, b"").unwrap();
    assert_eq!(read_to_eof(&mut c), RESPONSE);
    // The socket closed the connection itself: no disconnection to report (libzmq's raw
    // engine reports only what happens to the connection), and the id is gone. No marker: the
    // connection's pipe ended with it, and another connection's messages are not ordered after.
    expect_nothing(&server, QUIET_MS);
    assert!(matches!(send(&server, &id, b"late"), Err(Error::HostUnreachable)));
}

#[test]
fn several_clients_at_once_each_get_their_own_reply() {
    const CLIENTS: usize = 8;
    let ctx = Context::new();
    let server = stream(&ctx);
    let addr = bind_tcp(&server);
    let clients: Vec<_> = (0..CLIENTS)
        .map(|k| {
            let addr = addr.clone();
            thread::spawn(move || {
                let mut c = client(&addr);
                c.write_all(format!("request {k};").as_bytes()).unwrap();
                String::from_utf8(read_to_eof(&mut c)).unwrap()
            })
        })
        .collect();
    // Serve them as their bytes come, interleaved: each request ends with ';'.
    let mut partial: std::collections::HashMap<Bytes, Vec<u8>> = Default::default();
    let mut served = 0;
    while served < CLIENTS {
        let (id, data) = recv(&server);
        if data.is_empty() {
            continue; // a connection (the peers close only after the reply)
        }
        let buf = partial.entry(id.clone()).or_default();
        buf.extend_from_slice(&data);
        if buf.ends_with(b";") {
            let req = String::from_utf8(buf.clone()).unwrap();
            let k = req.trim_start_matches("request ").trim_end_matches(';');
            send(&server, &id, format!("reply to {k}").as_bytes()).unwrap();
            send(&server, &id, b"").unwrap();
            served += 1;
        }
    }
    for (k, h) in clients.into_iter().enumerate() {
        assert_eq!(h.join().unwrap(), format!("reply to {k}"));
    }
}

#[test]
fn a_mebibyte_each_way_arrives_complete() {
    const N: usize = 1 << 20;
    let ctx = Context::new();
    let server = stream(&ctx);
    let addr = bind_tcp(&server);
    let mut c = client(&addr);
    let id = expect_notification(&server);

    let up = payload(N, 1);
    let writer = {
        let mut c = c.try_clone().unwrap();
        let up = up.clone();
        thread::spawn(move || c.write_all(&up).unwrap())
    };
    assert!(recv_bytes(&server, &id, N) == up, "the client's mebibyte arrived changed");
    writer.join().unwrap();

    // One message of 1 MiB, then one in three pieces: the peer sees one byte stream.
    let down = payload(N, 2);
    send(&server, &id, &down).unwrap();
    for piece in down.chunks(N / 3 + 1) {
        send(&server, &id, piece).unwrap();
    }
    let mut got = vec![0u8; 2 * N];
    c.read_exact(&mut got).unwrap();
    assert!(got[..N] == down[..] && got[N..] == down[..], "the server's bytes arrived changed");
}

// ================================================================ notifications

#[test]
fn notifications_on_connect_and_disconnect_of_an_accepted_peer() {
    let ctx = Context::new();
    let server = stream(&ctx);
    assert!(server.stream_notify().unwrap(), "STREAM_NOTIFY is on by default");
    let addr = bind_tcp(&server);
    let mut c = client(&addr);
    let id = expect_notification(&server);
    c.write_all(b"hello").unwrap();
    assert_eq!(recv_bytes(&server, &id, 5), b"hello");
    drop(c);
    assert_eq!(expect_notification(&server), id, "the disconnection names the same peer");
    assert!(matches!(send(&server, &id, b"gone?"), Err(Error::HostUnreachable)));
    // No marker: an accepted peer's pipe ends with its connection, and another connection's
    // messages are not ordered after it.
    expect_nothing(&server, QUIET_MS);
}

#[test]
fn no_notifications_with_stream_notify_off() {
    let ctx = Context::new();
    let server = stream(&ctx);
    server.set_stream_notify(false).unwrap();
    assert!(!server.stream_notify().unwrap());
    let addr = bind_tcp(&server);
    let mut c = client(&addr);
    c.write_all(b"first").unwrap();
    let (id, data) = recv(&server);
    assert_eq!(&data[..], b"first", "the first message is data, no connect notification");
    send(&server, &id, b"pong").unwrap();
    let mut buf = [0u8; 4];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"pong");
    drop(c);
    // No marker: an accepted peer's pipe ends with its connection, and another connection's
    // messages are not ordered after it.
    expect_nothing(&server, QUIET_MS);
    // The peer is gone all the same.
    let start = Instant::now();
    while !matches!(send(&server, &id, b"x"), Err(Error::HostUnreachable)) {
        assert!(start.elapsed() < SOON, "the disconnected peer's id still routes");
        thread::sleep(Duration::from_millis(5));
    }
}

#[test]
fn a_peer_that_disconnects_mid_message_is_reported_after_its_last_bytes() {
    let ctx = Context::new();
    let server = stream(&ctx);
    let addr = bind_tcp(&server);
    let mut c = client(&addr);
    let id = expect_notification(&server);
    // Half a request, then gone.
    c.write_all(b"POST /upload HTTP/1.0\r\nContent-Length: 100\r\n\r\npartial").unwrap();
    c.shutdown(Shutdown::Both).unwrap();
    drop(c);
    let mut got = Vec::new();
    loop {
        let (from, data) = recv(&server);
        assert_eq!(from, id);
        if data.is_empty() {
            break;
        }
        got.extend_from_slice(&data);
    }
    assert_eq!(got, b"POST /upload HTTP/1.0\r\nContent-Length: 100\r\n\r\npartial");
    assert!(matches!(send(&server, &id, b"too late"), Err(Error::HostUnreachable)));
}

// ================================================================ connecting to raw servers

/// A netcat-like server: accepts one connection at a time and hands it over.
fn raw_server() -> (TcpListener, String) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap().to_string();
    (l, addr)
}

/// Accept one connection within [`SOON`].
fn accept(l: &TcpListener) -> TcpStream {
    l.set_nonblocking(true).unwrap();
    let start = Instant::now();
    loop {
        match l.accept() {
            Ok((s, _)) => {
                s.set_nonblocking(false).unwrap();
                s.set_read_timeout(Some(SOON)).unwrap();
                s.set_write_timeout(Some(SOON)).unwrap();
                return s;
            }
            Err(e) if e.kind() == ErrorKind::WouldBlock && start.elapsed() < SOON => {
                thread::sleep(Duration::from_millis(2));
            }
            Err(e) => panic!("no connection came: {e}"),
        }
    }
}

/// The marker after a quiet window in which a closed connect must not have connected again:
/// `s` connects to `listener` once more, under the id "marker", and the first connection the
/// listener accepts after the window (the kernel queues them in order) must be that one: its
/// byte arrives under "marker", with nothing from another id before it.
#[track_caller]
fn expect_next_connection_is_a_new_one(s: &Stream, listener: &TcpListener) {
    s.set_connect_routing_id(b"marker").unwrap();
    s.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let mut conn = accept(listener);
    conn.write_all(b"M").unwrap();
    loop {
        let (id, data) = recv(s);
        assert_eq!(&id[..], b"marker", "the first connection accepted after the window is the marker's");
        if !data.is_empty() {
            assert_eq!(&data[..], b"M");
            return;
        }
    }
}

#[test]
fn connecting_stream_talks_both_ways_with_a_raw_server() {
    let ctx = Context::new();
    let (listener, addr) = raw_server();
    let s = stream(&ctx);
    s.connect(&format!("tcp://{addr}")).unwrap();
    // As in libzmq, ROUTING_ID now holds the id of this connect's peer, and messages to it
    // queue until the connection is made.
    let id = s.routing_id().unwrap();
    assert_eq!((id.len(), id[0]), (5, 0));
    send(&s, &id, b"hello ").unwrap();
    send(&s, &id, b"server").unwrap();

    let mut conn = accept(&listener);
    assert_eq!(&expect_notification(&s)[..], &id[..], "connected");
    let mut buf = [0u8; 12];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"hello server");
    conn.write_all(b"hello client").unwrap();
    assert_eq!(recv_bytes(&s, &id, 12), b"hello client");

    drop(conn);
    assert_eq!(&expect_notification(&s)[..], &id[..], "disconnected");
}

#[test]
fn connect_routing_id_names_the_peer() {
    let ctx = Context::new();
    let (listener, addr) = raw_server();
    let s = stream(&ctx);
    s.set_connect_routing_id(b"conn1").unwrap();
    s.connect(&format!("tcp://{addr}")).unwrap();
    send(&s, b"conn1", b"ping").unwrap();
    let mut conn = accept(&listener);
    assert_eq!(expect_notification(&s), "conn1");
    let mut buf = [0u8; 4];
    conn.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ping");
    conn.write_all(b"pong").unwrap();
    assert_eq!(recv_bytes(&s, b"conn1", 4), b"pong");
}

#[test]
fn connecting_stream_without_notifications_sees_only_data() {
    let ctx = Context::new();
    let (listener, addr) = raw_server();
    let s = stream(&ctx);
    s.set_stream_notify(false).unwrap();
    s.set_connect_routing_id(b"peer").unwrap();
    s.connect(&format!("tcp://{addr}")).unwrap();
    let mut conn = accept(&listener);
    conn.write_all(b"banner").unwrap();
    assert_eq!(recv_bytes(&s, b"peer", 6), b"banner", "data first: no connect notification");
    drop(conn);
    // A connect's pipe outlives its connection: the reconnection's first byte, sent after any
    // (wrong) disconnect notification of the first, must be the next message.
    let mut again = accept(&listener);
    expect_nothing_before(&s, || again.write_all(b"M").unwrap(), &[&b"peer"[..], b"M"]);
}

#[test]
fn a_lost_connection_is_made_again_under_the_same_id() {
    let ctx = Context::new();
    let (listener, addr) = raw_server();
    let s = stream(&ctx);
    s.set_reconnect_ivl(20).unwrap();
    s.connect(&format!("tcp://{addr}")).unwrap();
    let id = s.routing_id().unwrap();

    let first = accept(&listener);
    assert_eq!(&expect_notification(&s)[..], &id[..]);
    drop(first);
    assert_eq!(&expect_notification(&s)[..], &id[..], "disconnected");
    // Sent while disconnected: queued for the next connection, as libzmq's pipe outlives it.
    send(&s, &id, b"again").unwrap();

    let mut second = accept(&listener);
    assert_eq!(&expect_notification(&s)[..], &id[..], "connected again, same id");
    let mut buf = [0u8; 5];
    second.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"again");
    second.write_all(b"back").unwrap();
    assert_eq!(recv_bytes(&s, &id, 4), b"back");
}

#[test]
fn closing_a_connect_peer_ends_that_connection_for_good() {
    let ctx = Context::new();
    let (listener, addr) = raw_server();
    let s = stream(&ctx);
    s.set_reconnect_ivl(10).unwrap();
    s.connect(&format!("tcp://{addr}")).unwrap();
    let id = s.routing_id().unwrap();
    let mut conn = accept(&listener);
    expect_notification(&s);
    send(&s, &id, b"bye").unwrap();
    send(&s, &id, b"").unwrap();
    assert_eq!(read_to_eof(&mut conn), b"bye");
    drop(conn);
    assert!(matches!(send(&s, &id, b"x"), Err(Error::HostUnreachable)));
    // No reconnection (many reconnect intervals pass).
    listener.set_nonblocking(true).unwrap();
    thread::sleep(QUIET);
    assert!(listener.accept().is_err(), "the STREAM connected again after closing the connection");
    // No marker: the socket closed that connection's pipe, and another connection's messages
    // are not ordered after it.
    expect_nothing(&s, QUIET_MS);
    expect_next_connection_is_a_new_one(&s, &listener);
}

// ================================================================ sending

#[test]
fn sending_to_an_unknown_id_fails_with_host_unreachable() {
    let ctx = Context::new();
    let server = stream(&ctx);
    let addr = bind_tcp(&server);
    assert!(matches!(send(&server, b"nobody", b"x"), Err(Error::HostUnreachable)));
    assert!(matches!(send(&server, &[0, 1, 2, 3, 4], b"x"), Err(Error::HostUnreachable)));
    // The failed message left nothing behind: the next one goes where it should.
    let mut c = client(&addr);
    let id = expect_notification(&server);
    send(&server, &id, b"ok").unwrap();
    let mut buf = [0u8; 2];
    c.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"ok");
}

#[test]
fn more_on_the_data_frame_is_ignored_and_stray_frames_are_dropped() {
    let ctx = Context::new();
    let server = stream(&ctx);
    let addr = bind_tcp(&server);
    let mut c = client(&addr);
    let id = expect_notification(&server);
    // libzmq's own test_stream_disconnect sends data frames with SNDMORE: they still end the
    // message.
    server.send_more(&id).unwrap();
    server.send_more("one,").unwrap();
    // A frame without MORE where a routing id should be is no message.
    server.send("stray").unwrap();
    // Three frames: the third is such a stray frame.
    server.send_multipart([&id[..], b"two,", b"three"]).unwrap();
    send(&server, &id, b"four").unwrap();
    send(&server, &id, b"").unwrap();
    assert_eq!(read_to_eof(&mut c), b"one,two,four");
}

#[test]
fn a_full_peer_makes_send_wait_until_it_reads() {
    const PIECE: usize = 256 * 1024;
    let ctx = Context::new();
    let server = stream(&ctx);
    server.set_sndhwm(4).unwrap();
    let addr = bind_tcp(&server);
    let mut c = client(&addr);
    let id = expect_notification(&server);
    // The client reads nothing: once its kernel buffers and the pipe are full, sends fail.
    let piece = Bytes::from(payload(PIECE, 3));
    let mut sent = 0;
    loop {
        match server.try_send(&id, true) {
            Ok(()) => {
                server.send(&piece).unwrap();
                sent += 1;
            }
            Err(Error::Again) => break,
            Err(e) => panic!("send {sent}: {e:?}"),
        }
        assert!(sent < 2000, "500 MiB accepted for a peer that reads nothing: no HWM");
    }
    assert!(sent >= 4, "the pipe holds SNDHWM messages, got {sent}");
    // Once the client reads, a blocking send goes through.
    let total = (sent + 1) * PIECE;
    let reader = thread::spawn(move || {
        let mut all = vec![0u8; total];
        c.read_exact(&mut all).map(|()| all)
    });
    send(&server, &id, &piece).unwrap();
    let all = reader.join().unwrap().unwrap();
    assert!(all.chunks(PIECE).all(|p| p == &piece[..]), "bytes arrived changed");
}

// ================================================================ closing the socket

#[test]
fn closing_a_connection_writes_everything_queued_first() {
    const N: usize = 4 << 20;
    let ctx = Context::new();
    let server = stream(&ctx);
    let addr = bind_tcp(&server);
    let mut c = client(&addr);
    let id = expect_notification(&server);
    let data = payload(N, 4);
    send(&server, &id, &data).unwrap();
    send(&server, &id, b"").unwrap();
    // What the client still sends is dropped, and does not cut the connection short.
    c.write_all(b"more from the client").unwrap();
    // The client starts reading only now: the close waited for the 4 MiB.
    assert!(read_to_eof(&mut c) == data, "the data before the close arrived changed or cut");
    // No marker: the socket closed that connection's pipe, and another connection's messages
    // are not ordered after it.
    expect_nothing(&server, QUIET_MS);
}

#[test]
fn closing_the_socket_flushes_pending_data_within_linger() {
    const N: usize = 4 << 20;
    let ctx = Context::new();
    let server = stream(&ctx);
    server.set_linger(-1).unwrap();
    let addr = bind_tcp(&server);
    let mut c = client(&addr);
    let id = expect_notification(&server);
    let data = payload(N, 5);
    send(&server, &id, &data).unwrap();
    drop(server);
    assert!(read_to_eof(&mut c) == data, "the data queued before close arrived changed or cut");
}

#[test]
fn closing_the_socket_with_linger_0_still_closes_the_connections() {
    const N: usize = 16 << 20;
    let ctx = Context::new();
    let server = stream(&ctx);
    let addr = bind_tcp(&server);
    let mut c = client(&addr);
    let id = expect_notification(&server);
    let data = payload(N, 6);
    send(&server, &id, &data).unwrap();
    drop(server);
    // Whatever part of the data got out, the connection ends (EOF, or a reset since the
    // kernel may discard the rest), rather than staying open.
    let mut got = Vec::new();
    match c.read_to_end(&mut got) {
        Ok(_) => {}
        Err(e) if e.kind() == ErrorKind::ConnectionReset => {}
        Err(e) => panic!("the connection did not end: {e} after {} bytes", got.len()),
    }
    assert!(got.len() <= N && got[..] == data[..got.len()], "bytes arrived changed");
}

// ================================================================ transports and options

#[test]
fn stream_over_ipc() {
    let ctx = Context::new();
    let server = stream(&ctx);
    let path = std::env::temp_dir().join(format!("oxmq-stream-{}.sock", std::process::id()));
    let _ = std::fs::remove_file(&path);
    server.bind(&format!("ipc://{}", path.display())).unwrap();
    let mut c = UnixStream::connect(&path).unwrap();
    c.set_read_timeout(Some(SOON)).unwrap();
    let id = expect_notification(&server);
    c.write_all(b"over ipc").unwrap();
    assert_eq!(recv_bytes(&server, &id, 8), b"over ipc");
    send(&server, &id, b"reply").unwrap();
    send(&server, &id, b"").unwrap();
    let mut got = Vec::new();
    c.read_to_end(&mut got).unwrap();
    assert_eq!(got, b"reply");
    drop(server);
    let _ = std::fs::remove_file(&path);
}

#[test]
fn inproc_is_refused() {
    let ctx = Context::new();
    let s = stream(&ctx);
    assert!(matches!(s.bind("inproc://stream-refused"), Err(Error::IncompatibleProtocol(_))));
    assert!(matches!(s.connect("inproc://stream-refused"), Err(Error::IncompatibleProtocol(_))));
}

#[test]
fn stream_notify_option() {
    let ctx = Context::new();
    let s = stream(&ctx);
    let raw = |v: i32| s.set_option_raw(oxmq::opt::STREAM_NOTIFY, &v.to_ne_bytes());
    assert_eq!(s.get_option_raw(oxmq::opt::STREAM_NOTIFY).unwrap(), 1i32.to_ne_bytes());
    raw(0).unwrap();
    assert!(!s.stream_notify().unwrap());
    raw(1).unwrap();
    assert!(s.stream_notify().unwrap());
    // libzmq: exactly 0 or 1, and only on STREAM sockets.
    assert!(matches!(raw(2), Err(Error::InvalidArgument(_))));
    let router = ctx.socket(SocketType::Router).unwrap();
    assert!(matches!(router.set_stream_notify(false), Err(Error::InvalidArgument(_))));
}

#[test]
fn a_connect_routing_id_already_in_use_is_refused() {
    let ctx = Context::new();
    let (_listener, addr) = raw_server();
    let s = stream(&ctx);
    s.set_connect_routing_id(b"twice").unwrap();
    s.connect(&format!("tcp://{addr}")).unwrap();
    s.set_connect_routing_id(b"twice").unwrap();
    assert!(matches!(s.connect(&format!("tcp://{addr}")), Err(Error::InvalidArgument(_))));
}

#[test]
fn immediate_connect_has_a_peer_only_while_connected() {
    let ctx = Context::new();
    let (listener, addr) = raw_server();
    let s = stream(&ctx);
    s.set_immediate(true).unwrap();
    s.set_reconnect_ivl(20).unwrap();
    s.set_connect_routing_id(b"imm").unwrap();
    s.connect(&format!("tcp://{addr}")).unwrap();
    let first = accept(&listener);
    assert_eq!(expect_notification(&s), "imm");
    drop(first);
    assert_eq!(expect_notification(&s), "imm", "disconnected");
    assert!(matches!(send(&s, b"imm", b"x"), Err(Error::HostUnreachable)), "no peer while disconnected");
    // Connected again under the same name.
    let mut second = accept(&listener);
    assert_eq!(expect_notification(&s), "imm");
    send(&s, b"imm", b"hi").unwrap();
    send(&s, b"imm", b"").unwrap();
    assert_eq!(read_to_eof(&mut second), b"hi");
    drop(second);
    // Closed by the socket: not made again.
    listener.set_nonblocking(true).unwrap();
    thread::sleep(QUIET);
    assert!(listener.accept().is_err(), "connected again after the socket closed the connection");
    expect_next_connection_is_a_new_one(&s, &listener);
}
