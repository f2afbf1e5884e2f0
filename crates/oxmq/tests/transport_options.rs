//! The options of issue 20 that change what a socket does: the kernel settings of its tcp
//! connections (SNDBUF, RCVBUF, TOS, BINDTODEVICE), TCP_ACCEPT_FILTER, IPC_FILTER_*,
//! ROUTER_HANDOVER, ROUTER_RAW, USE_FD and SOCKS_PROXY. (Without ROUTER_HANDOVER a second peer with an id in use is refused:
//! patterns_router.rs. Their values, ranges and errors against libzmq: options.rs and
//! interop_getsockopt.rs; TCP_MAXRT, and BINDTODEVICE on the sockets themselves: the unit tests
//! of transport/tcp.rs.)

mod common;

use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream, ToSocketAddrs};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use common::{SOON, Transport, bind, eventually, expect_msg, recv_msg, skip, socket, unique_name};
use oxmq::{Context, Error, Event, SocketType};

use SocketType::{Dealer, Pull, Push, Rep, Req, Router};

/// `ss`'s line for the established tcp socket from local port `sport` to peer port `dport`.
fn ss_line(sport: u16, dport: u16) -> Option<String> {
    let filter = format!("( sport = :{sport} and dport = :{dport} )");
    let out = std::process::Command::new("ss").args(["-tnmiOH", "--tos", "state", "established", &filter]).output();
    let out = out.ok().filter(|o| o.status.success())?;
    String::from_utf8_lossy(&out.stdout).lines().next().map(str::to_string)
}

/// The value after `key` in an `ss` line (`tos:0x28`, `tb16384`).
fn ss_field<'a>(line: &'a str, key: &str) -> &'a str {
    let rest = &line[line.find(key).unwrap_or_else(|| panic!("no {key} in {line}")) + key.len()..];
    rest.split([' ', ',', ')']).next().unwrap()
}

#[test]
fn sndbuf_rcvbuf_and_tos_reach_the_connections_a_socket_makes_and_accepts() {
    if std::process::Command::new("ss").arg("-V").output().is_err() {
        skip("no ss(8) to read a connection's kernel settings");
        return;
    }
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_sndbuf(8192).unwrap();
    pull.set_rcvbuf(24576).unwrap();
    pull.set_tos(0x28).unwrap();
    let ep = bind(&pull, Transport::Tcp);
    let port: u16 = ep.rsplit(':').next().unwrap().parse().unwrap();
    let push = socket(&ctx, Push);
    push.set_sndbuf(16384).unwrap();
    push.set_rcvbuf(12288).unwrap();
    push.set_tos(0x48).unwrap();
    let mon = push.monitor(Event::Connected).unwrap();
    push.connect(&ep).unwrap();
    push.send("through").unwrap();
    expect_msg(&pull, &["through"]);
    assert_eq!(mon.recv_timeout(SOON).map(|e| e.event), Some(Event::Connected));
    // The push's side of its one connection: the local port is the one ss pairs with `port`.
    let out = std::process::Command::new("ss")
        .args(["-tnOH", "state", "established", &format!("( dport = :{port} )")])
        .output()
        .unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let local = lines[0].split_whitespace().nth(2).unwrap();
    let push_port: u16 = local.rsplit(':').next().unwrap().parse().unwrap();

    // Linux keeps twice the size given (half for its own bookkeeping).
    let connected = ss_line(push_port, port).expect("the push's connection");
    assert_eq!(ss_field(&connected, "tos:"), "0x48", "{connected}");
    assert_eq!(ss_field(&connected, "tb"), "32768", "{connected}");
    assert_eq!(ss_field(&connected, "rb"), "24576", "{connected}");
    let accepted = ss_line(port, push_port).expect("the pull's connection");
    assert_eq!(ss_field(&accepted, "tos:"), "0x28", "{accepted}");
    assert_eq!(ss_field(&accepted, "tb"), "16384", "{accepted}");
    assert_eq!(ss_field(&accepted, "rb"), "49152", "{accepted}");
}

#[test]
fn tcp_accept_filter_closes_connections_from_other_networks() {
    let ctx = Context::new();
    // Only 10.0.0.0/8: the loopback connection is closed as soon as it is accepted, and the
    // push keeps reconnecting.
    let strict = socket(&ctx, Pull);
    strict.add_tcp_accept_filter("10.0.0.0/8").unwrap();
    let ep = bind(&strict, Transport::Tcp);
    let push = socket(&ctx, Push);
    let mon = push.monitor(Event::Connected | Event::ConnectRetried).unwrap();
    push.connect(&ep).unwrap();
    push.send("refused").unwrap();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        seen.push(mon.recv_timeout(SOON).expect("the connection ends and is retried").event);
    }
    assert_eq!(seen, [Event::Connected, Event::ConnectRetried, Event::Connected, Event::ConnectRetried]);
    assert!(matches!(strict.try_recv(), Err(Error::Again)));

    // Loopback among the networks: served; and cleared before the bind: every address.
    let open = socket(&ctx, Pull);
    open.add_tcp_accept_filter("10.0.0.0/8").unwrap();
    open.add_tcp_accept_filter("127.0.0.0/8").unwrap();
    let cleared = socket(&ctx, Pull);
    cleared.add_tcp_accept_filter("10.0.0.0/8").unwrap();
    cleared.clear_tcp_accept_filters().unwrap();
    for pull in [open, cleared] {
        let ep = bind(&pull, Transport::Tcp);
        let push = socket(&ctx, Push);
        push.connect(&ep).unwrap();
        push.send("accepted").unwrap();
        expect_msg(&pull, &["accepted"]);
    }
}

#[test]
fn router_handover_gives_the_routing_id_to_the_newest_peer() {
    for tr in [Transport::Tcp, Transport::Inproc] {
        let ctx = Context::new();
        let router = socket(&ctx, Router);
        router.set_router_handover(true).unwrap();
        let ep = bind(&router, tr);
        let first = socket(&ctx, Dealer);
        first.set_routing_id(b"worker").unwrap();
        first.set_reconnect_ivl(-1).unwrap(); // once let go, it stays gone
        let mon = first.monitor(Event::Disconnected).unwrap();
        first.connect(&ep).unwrap();
        first.send("from the first").unwrap();
        expect_msg(&router, &["worker", "from the first"]);

        let second = socket(&ctx, Dealer);
        second.set_routing_id(b"worker").unwrap();
        second.connect(&ep).unwrap();
        second.send("from the second").unwrap();
        expect_msg(&router, &["worker", "from the second"]);
        // The id routes to the second peer now (it was attached before its message arrived).
        router.send_multipart(["worker", "to the worker"]).unwrap();
        expect_msg(&second, &["to the worker"]);
        assert!(matches!(first.try_recv(), Err(Error::Again)), "{tr:?}");
        if tr == Transport::Tcp {
            let ev = mon.recv_timeout(SOON).map(|e| e.event);
            assert_eq!(ev, Some(Event::Disconnected), "{tr:?}: the first peer's connection is closed");
        }
    }
}

/// Whether connects to `port` on loopback come to be refused (not merely left unanswered, as
/// a listener nobody accepts from leaves them once its backlog is full).
fn stops_listening(port: u16) -> bool {
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], port));
    eventually(SOON, || match TcpStream::connect_timeout(&addr, Duration::from_millis(200)) {
        Err(e) if e.kind() == std::io::ErrorKind::ConnectionRefused => Some(()),
        _ => None,
    })
    .is_some()
}

#[test]
fn use_fd_binds_the_applications_tcp_listener_and_closes_it_with_the_endpoint() {
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let pull = socket(&ctx, Pull);
    pull.set_use_fd(listener).unwrap();
    assert!(pull.use_fd().unwrap() >= 0);
    let ep = format!("tcp://127.0.0.1:{port}");
    pull.bind(&ep).unwrap();
    assert_eq!(pull.last_endpoint().unwrap(), ep);
    assert_eq!(pull.use_fd().unwrap(), -1, "used up by the bind");
    let push = socket(&ctx, Push);
    push.connect(&ep).unwrap();
    push.send("over the application's listener").unwrap();
    expect_msg(&pull, &["over the application's listener"]);
    // Unbound: the listener is closed (no copy of it is left listening).
    pull.unbind(&ep).unwrap();
    assert!(stops_listening(port), "still listening on {port} after unbind");
}

#[test]
fn use_fd_binds_the_applications_ipc_listener() {
    let ctx = Context::new();
    let dir = std::env::temp_dir().join(unique_name("use-fd"));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("socket");
    let listener = std::os::unix::net::UnixListener::bind(&path).unwrap();
    let pull = socket(&ctx, Pull);
    pull.set_use_fd(listener).unwrap();
    let ep = format!("ipc://{}", path.display());
    pull.bind(&ep).unwrap();
    assert_eq!(pull.last_endpoint().unwrap(), ep);
    let push = socket(&ctx, Push);
    push.connect(&ep).unwrap();
    push.send("over ipc").unwrap();
    expect_msg(&pull, &["over ipc"]);
    drop(pull);
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn use_fd_that_is_not_a_listener_of_the_transport_fails_the_bind_and_stays_held() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    // Bound but not listening.
    let udp = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
    pull.set_use_fd(udp).unwrap();
    let fd = pull.use_fd().unwrap();
    assert!(matches!(pull.bind("tcp://127.0.0.1:*"), Err(Error::InvalidArgument(_))));
    assert_eq!(pull.use_fd().unwrap(), fd, "kept for the next bind");
    // A tcp listener for an ipc endpoint.
    let tcp = TcpListener::bind("127.0.0.1:0").unwrap();
    pull.set_use_fd(tcp).unwrap();
    let ipc = format!("ipc://@{}", unique_name("use-fd-wrong"));
    assert!(matches!(pull.bind(&ipc), Err(Error::InvalidArgument(_))));
    // By number only -1 (drop the one held).
    pull.set_option_raw(oxmq::opt::USE_FD, &(-1i32).to_ne_bytes()).unwrap();
    assert_eq!(pull.use_fd().unwrap(), -1);
}

/// What a test SOCKS5 proxy was asked: the address type and the host, and the port.
type Asked = Arc<Mutex<Vec<(u8, String, u16)>>>;

/// A SOCKS5 proxy on a thread (RFC 1928, no authentication, CONNECT), relaying to the target;
/// with `refuse`, it answers every greeting with "no acceptable methods". Returns its port, what
/// it was asked, and how many connections it took.
fn socks_proxy(refuse: bool) -> (u16, Asked, Arc<Mutex<usize>>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let asked: Asked = Arc::default();
    let taken = Arc::new(Mutex::new(0));
    let (asked2, taken2) = (asked.clone(), taken.clone());
    std::thread::spawn(move || {
        for client in listener.incoming() {
            let Ok(mut client) = client else { return };
            *taken2.lock().unwrap() += 1;
            let asked = asked2.clone();
            std::thread::spawn(move || {
                let mut head = [0u8; 2];
                client.read_exact(&mut head).unwrap();
                assert_eq!(head[0], 5, "SOCKS version");
                let mut methods = vec![0u8; head[1] as usize];
                client.read_exact(&mut methods).unwrap();
                if refuse || !methods.contains(&0) {
                    let _ = client.write_all(&[5, 0xff]);
                    return;
                }
                client.write_all(&[5, 0]).unwrap();
                let mut req = [0u8; 4];
                client.read_exact(&mut req).unwrap();
                assert_eq!(req[..3], [5, 1, 0], "a CONNECT");
                let host = match req[3] {
                    1 => {
                        let mut a = [0u8; 4];
                        client.read_exact(&mut a).unwrap();
                        std::net::Ipv4Addr::from(a).to_string()
                    }
                    3 => {
                        let mut n = [0u8; 1];
                        client.read_exact(&mut n).unwrap();
                        let mut name = vec![0u8; n[0] as usize];
                        client.read_exact(&mut name).unwrap();
                        String::from_utf8(name).unwrap()
                    }
                    t => panic!("address type {t}"),
                };
                let mut p = [0u8; 2];
                client.read_exact(&mut p).unwrap();
                let target_port = u16::from_be_bytes(p);
                asked.lock().unwrap().push((req[3], host.clone(), target_port));
                let addrs: Vec<_> = (host.as_str(), target_port).to_socket_addrs().unwrap().collect();
                let Ok(target) = TcpStream::connect(&addrs[..]) else {
                    let _ = client.write_all(&[5, 5, 0, 1, 0, 0, 0, 0, 0, 0]);
                    return;
                };
                client.write_all(&[5, 0, 0, 1, 127, 0, 0, 1, 0, 0]).unwrap();
                let (mut c2, mut t2) = (client.try_clone().unwrap(), target.try_clone().unwrap());
                let (mut client, mut target) = (client, target);
                std::thread::spawn(move || {
                    let _ = std::io::copy(&mut t2, &mut c2);
                    let _ = c2.shutdown(std::net::Shutdown::Both);
                });
                let _ = std::io::copy(&mut client, &mut target);
                let _ = target.shutdown(std::net::Shutdown::Both);
            });
        }
    });
    (port, asked, taken)
}

#[test]
fn socks_proxy_carries_req_rep_and_resolves_the_host_name_itself() {
    let (proxy_port, asked, _) = socks_proxy(false);
    let ctx = Context::new();
    let rep = socket(&ctx, Rep);
    let ep = bind(&rep, Transport::Tcp);
    let port: u16 = ep.rsplit(':').next().unwrap().parse().unwrap();
    for (target, atyp, host) in [(format!("tcp://localhost:{port}"), 3, "localhost"), (ep.clone(), 1, "127.0.0.1")] {
        let req = socket(&ctx, Req);
        req.set_socks_proxy(&format!("127.0.0.1:{proxy_port}")).unwrap();
        req.connect(&target).unwrap();
        req.send("ping").unwrap();
        expect_msg(&rep, &["ping"]);
        rep.send("pong").unwrap();
        expect_msg(&req, &["pong"]);
        let last = asked.lock().unwrap().last().cloned();
        assert_eq!(last, Some((atyp, host.to_string(), port)), "{target}");
    }
    assert_eq!(asked.lock().unwrap().len(), 2, "one proxied connection per REQ");
}

#[test]
fn a_socks_proxy_that_refuses_costs_the_connection_and_it_is_retried() {
    let (proxy_port, asked, taken) = socks_proxy(true);
    let ctx = Context::new();
    let rep = socket(&ctx, Rep);
    let ep = bind(&rep, Transport::Tcp);
    let req = socket(&ctx, Req);
    req.set_socks_proxy(&format!("127.0.0.1:{proxy_port}")).unwrap();
    req.connect(&ep).unwrap();
    req.send("never through").unwrap();
    assert!(eventually(SOON, || (*taken.lock().unwrap() >= 3).then_some(())).is_some(), "retried");
    assert!(asked.lock().unwrap().is_empty());
    rep.set_rcvtimeo(0).unwrap();
    assert!(matches!(rep.recv(), Err(Error::Again)), "nothing went around the proxy");
}

#[test]
fn router_raw_talks_raw_bytes_to_tcp_peers_as_stream_does() {
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    router.set_router_raw(true).unwrap();
    let ep = bind(&router, Transport::Tcp);
    let mut peer = TcpStream::connect(common::tcp_addr(&ep)).unwrap();
    peer.set_read_timeout(Some(SOON)).unwrap();
    // No greeting: a connection is announced by an empty frame under its new id.
    let hello = recv_msg(&router);
    assert_eq!(hello.len(), 2);
    assert!(hello[1].is_empty(), "{hello:?}");
    let id = hello[0].clone();
    peer.write_all(b"GET / HTTP/1.0\r\n\r\n").unwrap();
    let mut got = Vec::new();
    while got.len() < 18 {
        let m = recv_msg(&router);
        assert_eq!(m[0], id);
        got.extend_from_slice(&m[1]);
    }
    assert_eq!(got, b"GET / HTTP/1.0\r\n\r\n");
    // MORE on the data frame is ignored: "b" starts a new message (a lone id frame, dropped).
    router.send_multipart([&id[..], b"reply", b"ignored"]).unwrap();
    router.send_multipart([&id[..], b" and more"]).unwrap();
    let mut want = b"reply and more".to_vec();
    let mut buf = vec![0u8; 64];
    while !want.is_empty() {
        let n = peer.read(&mut buf).unwrap();
        assert_eq!(&buf[..n], &want[..n]);
        want.drain(..n);
    }
    // Unknown ids are dropped, or refused with ROUTER_MANDATORY.
    router.send_multipart(["nobody", "x"]).unwrap();
    router.set_router_mandatory(true).unwrap();
    assert!(matches!(router.send_multipart(["nobody", "x"]), Err(Error::HostUnreachable)));
    // An empty data frame closes the connection.
    router.send_multipart([&id[..], b""]).unwrap();
    assert_eq!(peer.read(&mut buf).unwrap(), 0, "closed by the router");

    // A peer that goes is announced by an empty frame too.
    let other = TcpStream::connect(common::tcp_addr(&ep)).unwrap();
    let hello = recv_msg(&router);
    assert!(hello[1].is_empty());
    drop(other);
    assert_eq!(recv_msg(&router), vec![hello[0].clone(), Default::default()]);
}

#[test]
fn router_raw_connects_without_a_greeting_and_refuses_inproc() {
    let ctx = Context::new();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let router = socket(&ctx, Router);
    router.set_router_raw(true).unwrap();
    router.set_connect_routing_id(b"server").unwrap();
    router.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let (mut server, _) = listener.accept().unwrap();
    expect_msg(&router, &["server", ""]);
    router.send_multipart(["server", "raw bytes"]).unwrap();
    let mut buf = [0u8; 9];
    server.set_read_timeout(Some(SOON)).unwrap();
    server.read_exact(&mut buf).unwrap();
    assert_eq!(&buf, b"raw bytes", "the first bytes are the application's: no ZMTP greeting");
    server.write_all(b"back").unwrap();
    expect_msg(&router, &["server", "back"]);
    let inproc = format!("inproc://{}", unique_name("router-raw"));
    assert!(matches!(router.bind(&inproc), Err(Error::IncompatibleProtocol(_))));
}

#[test]
fn bindtodevice_fails_a_bind_to_an_interface_that_does_not_exist_and_serves_on_lo() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_bindtodevice("lo").unwrap();
    match pull.bind("tcp://127.0.0.1:*") {
        Ok(()) => {}
        Err(e) if e.errno() == 1 => {
            skip("SO_BINDTODEVICE needs CAP_NET_RAW here");
            return;
        }
        Err(e) => panic!("{e}"),
    }
    let push = socket(&ctx, Push);
    push.set_bindtodevice("lo").unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    push.send("on lo").unwrap();
    expect_msg(&pull, &["on lo"]);
    // As libzmq: ENODEV from the bind.
    let nowhere = socket(&ctx, Pull);
    nowhere.set_bindtodevice("oxmq-none0").unwrap();
    let e = nowhere.bind("tcp://127.0.0.1:*").unwrap_err();
    assert_eq!(e.errno(), 19, "{e}");
}

#[test]
fn use_fd_is_not_kept_by_a_connect_made_before_the_bind() {
    let ctx = Context::new();
    let other = socket(&ctx, Pull);
    let other_ep = bind(&other, Transport::Tcp);
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let sock = socket(&ctx, Push);
    sock.set_use_fd(listener).unwrap();
    // A connect in between keeps its own copy of the options; the listener is not in it.
    sock.connect(&other_ep).unwrap();
    let ep = format!("tcp://127.0.0.1:{port}");
    sock.bind(&ep).unwrap();
    sock.unbind(&ep).unwrap();
    assert!(stops_listening(port), "still listening on {port} after unbind");
    sock.send("the connect still works").unwrap();
    expect_msg(&other, &["the connect still works"]);
}

/// What a test does to a socket before it binds.
type Setup = Box<dyn Fn(&oxmq::Socket)>;

#[test]
fn ipc_filters_admit_only_the_listed_processes_users_and_groups() {
    use std::os::unix::fs::MetadataExt;
    // This process's uid and gid, from a file it creates (no unsafe getuid call).
    let probe = std::env::temp_dir().join(unique_name("ipc-filter-ids"));
    std::fs::write(&probe, b"").unwrap();
    let meta = std::fs::metadata(&probe).unwrap();
    let (uid, gid) = (meta.uid(), meta.gid());
    let _ = std::fs::remove_file(&probe);
    let pid = std::process::id() as i32;

    let ctx = Context::new();
    // Someone else only: closed at once, and retried.
    let strict = socket(&ctx, Pull);
    strict.add_ipc_filter_uid(uid.wrapping_add(4242)).unwrap();
    strict.add_ipc_filter_pid(pid.wrapping_add(4242)).unwrap();
    let ep = bind(&strict, Transport::Ipc);
    let push = socket(&ctx, Push);
    let mon = push.monitor(Event::Connected | Event::ConnectRetried).unwrap();
    push.connect(&ep).unwrap();
    push.send("refused").unwrap();
    let mut seen = Vec::new();
    while seen.len() < 4 {
        seen.push(mon.recv_timeout(SOON).expect("the connection ends and is retried").event);
    }
    assert_eq!(seen, [Event::Connected, Event::ConnectRetried, Event::Connected, Event::ConnectRetried]);
    assert!(matches!(strict.try_recv(), Err(Error::Again)));

    // This process by any one of its ids, or filters cleared: served.
    let by: [(&str, Setup); 4] = [
        ("uid", Box::new(move |s| s.add_ipc_filter_uid(uid).unwrap())),
        ("gid", Box::new(move |s| s.add_ipc_filter_gid(gid).unwrap())),
        ("pid", Box::new(move |s| s.add_ipc_filter_pid(pid).unwrap())),
        (
            "cleared",
            Box::new(move |s| {
                s.add_ipc_filter_uid(uid.wrapping_add(4242)).unwrap();
                s.clear_ipc_filters().unwrap();
            }),
        ),
    ];
    for (what, setup) in by {
        let pull = socket(&ctx, Pull);
        pull.add_ipc_filter_uid(uid.wrapping_add(1)).unwrap();
        setup(&pull);
        let ep = bind(&pull, Transport::Ipc);
        let push = socket(&ctx, Push);
        push.connect(&ep).unwrap();
        push.send(what).unwrap();
        expect_msg(&pull, &[what]);
    }
}
