//! TCP socket settings reach the kernel socket of each connection, CONNECT_TIMEOUT gives up
//! connects that hang, and a lone large message goes to the kernel in two writes.

mod common;

use std::io::{ErrorKind, Read};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::time::{Duration, Instant};

use oxmq::{Context, Event, EventMask, Monitor, Push};

const EINPROGRESS: u32 = 115;

/// The timer kind `/proc/net/tcp` shows for the connection whose local port is `port`
/// (0 none, 1 retransmit, 2 keepalive), once the connection is established.
fn timer_kind(port: u16) -> Option<u8> {
    let table = std::fs::read_to_string("/proc/net/tcp").ok()?;
    let want = format!(":{port:04X}");
    table.lines().skip(1).find_map(|line| {
        let f: Vec<&str> = line.split_whitespace().collect();
        let established = f.get(3) == Some(&"01");
        (f.get(1)?.ends_with(&want) && established).then(|| u8::from_str_radix(&f.get(5)?[..2], 16).ok())?
    })
}

/// Connect a PUSH configured by `setup` to a plain listener; the timer kind of its connection.
fn connection_timer(setup: impl Fn(&Push)) -> Option<u8> {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    setup(&push);
    push.connect(&format!("tcp://{}", listener.local_addr().unwrap())).unwrap();
    let (mut peer, addr) = listener.accept().unwrap();
    // oxmq configures the socket before it sends its greeting: once the greeting's first
    // bytes are here, the options are in force.
    peer.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    let mut signature = [0u8; 10];
    peer.read_exact(&mut signature).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    loop {
        if let Some(kind) = timer_kind(addr.port()) {
            return Some(kind);
        }
        if Instant::now() > deadline {
            return None;
        }
        std::thread::yield_now();
    }
}

#[test]
fn tcp_keepalive_turns_on_the_kernel_keepalive_timer() {
    if !std::path::Path::new("/proc/net/tcp").exists() {
        common::skip("no /proc/net/tcp to read socket timers from (not Linux)");
        return;
    }
    let on = connection_timer(|s| {
        s.set_tcp_keepalive(1).unwrap();
        s.set_tcp_keepalive_idle(60).unwrap();
        s.set_tcp_keepalive_intvl(5).unwrap();
        s.set_tcp_keepalive_cnt(3).unwrap();
    });
    assert_eq!(on, Some(2), "TCP_KEEPALIVE=1: the connection runs the keepalive timer");
    let off = connection_timer(|s| s.set_tcp_keepalive(0).unwrap());
    assert_eq!(off, Some(0), "TCP_KEEPALIVE=0: no timer on an idle connection");
}

#[test]
fn bind_by_host_name_reports_the_resolved_address() {
    let ctx = Context::new();
    let pull = oxmq::Pull::new(&ctx).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind("tcp://localhost:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    assert!(ep.starts_with("tcp://127.0.0.1:") || ep.starts_with("tcp://[::1]:"), "{ep}");
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    push.connect(&ep).unwrap();
    push.send("by name").unwrap();
    assert_eq!(pull.recv().unwrap(), "by name");
}

/// A listener whose accept queue is full, with what holds the queue: the kernel drops any
/// further SYN, so a connect to it neither completes nor fails, but retransmits its SYN for
/// minutes. None if this kernel does not make a connect hang that way.
fn hanging_listener() -> Option<(socket2::Socket, Vec<TcpStream>, SocketAddr)> {
    use socket2::{Domain, Socket, Type};
    let listener = Socket::new(Domain::IPV4, Type::STREAM, None).unwrap();
    listener.bind(&SocketAddr::from(([127, 0, 0, 1], 0)).into()).unwrap();
    // A backlog of 0: Linux queues one connection and drops SYNs from then on.
    listener.listen(0).unwrap();
    let addr = listener.local_addr().unwrap().as_socket().unwrap();
    let mut held = Vec::new();
    for _ in 0..8 {
        match TcpStream::connect_timeout(&addr, Duration::from_secs(1)) {
            Ok(s) => held.push(s),
            Err(e) if e.kind() == ErrorKind::TimedOut => {
                return Some((listener, held, addr));
            }
            Err(_) => return None,
        }
    }
    None
}

/// The next monitor event and its value, which must come within 5 s.
fn next_event(mon: &Monitor) -> (Event, u32) {
    let ev = mon.recv_timeout(Duration::from_secs(5)).expect("a monitor event within 5 s");
    (ev.event, ev.value)
}

#[test]
fn connect_timeout_gives_up_a_hanging_connect_and_retries_until_it_completes() {
    let Some((listener, held, addr)) = hanging_listener() else {
        common::skip("this kernel does not leave a connect to a full accept queue hanging");
        return;
    };
    let ep = format!("tcp://{addr}");
    let ctx = Context::new();
    let timed = Push::new(&ctx).unwrap();
    timed.set_linger(0).unwrap();
    timed.set_reconnect_ivl(50).unwrap();
    timed.set_connect_timeout(100).unwrap();
    let mon = timed.monitor(EventMask::ALL).unwrap();
    // The control: the default (0) waits on the kernel, which retransmits for minutes.
    let untimed = Push::new(&ctx).unwrap();
    untimed.set_linger(0).unwrap();
    untimed.set_reconnect_ivl(50).unwrap();
    let control = untimed.monitor(EventMask::ALL).unwrap();
    timed.connect(&ep).unwrap();
    untimed.connect(&ep).unwrap();
    // Each attempt is given up after 100 ms and retried RECONNECT_IVL later, like a refused one.
    for _ in 0..3 {
        assert_eq!(next_event(&mon), (Event::ConnectDelayed, EINPROGRESS));
        let (event, ivl) = next_event(&mon);
        // RECONNECT_IVL plus libzmq's random part below it.
        assert!(event == Event::ConnectRetried && (50..100).contains(&ivl), "{event} {ivl}");
    }
    assert_eq!(next_event(&control), (Event::ConnectDelayed, EINPROGRESS));
    // Without CONNECT_TIMEOUT the attempt is still waiting: the next event is a bind's marker.
    common::expect_no_event_before(&control, &untimed);
    // Close the control (its SYN_SENT socket goes with it) and make room in the queue: the
    // next attempt completes.
    drop((untimed, control));
    let (first, _) = listener.accept().unwrap();
    loop {
        match next_event(&mon).0 {
            Event::ConnectDelayed | Event::ConnectRetried => {}
            Event::Connected => break,
            other => panic!("unexpected {other} before CONNECTED"),
        }
    }
    drop((first, held));
}

/// Over tcp a lone message of 32 KiB or more is written in two parts, the header with the
/// first 8 KiB of the body, then the rest, as libzmq's encoder writes it
/// (`engine::zmtp::first_write`): written whole, one at a time, such messages had a kernel that
/// paces TCP (BBR without the fq qdisc) pace nearly every one (BENCHMARKS.md). Seen from the
/// sending thread, which writes a message to an idle connection itself: two write calls for a
/// 64 KiB message, one for a 16 KiB one. (The most over five sends of each: a send that finds
/// the I/O thread stepping leaves its message to it, and makes one write, the wake-up.)
#[test]
fn a_lone_large_message_is_written_in_two_parts() {
    let ctx = Context::new();
    let pull = common::socket(&ctx, oxmq::SocketType::Pull);
    let ep = common::bind(&pull, common::Transport::Tcp);
    let push = common::socket(&ctx, oxmq::SocketType::Push);
    // Room for a whole message in the kernel, so that no write is cut short.
    push.set_sndbuf(1 << 20).unwrap();
    push.connect(&ep).unwrap();
    push.send("hello").unwrap();
    common::expect_msg(&pull, &["hello"]);
    let most_writes = |size: usize| {
        (0..5)
            .map(|_| {
                let before = common::proc_thread_self("io", "syscw");
                push.send(vec![7u8; size]).unwrap();
                let writes = common::proc_thread_self("io", "syscw") - before;
                assert_eq!(common::recv_msg(&pull), vec![vec![7u8; size]]);
                writes
            })
            .max()
            .unwrap()
    };
    assert_eq!(most_writes(16 * 1024), 1, "a message below 32 KiB, one write");
    assert_eq!(most_writes(64 * 1024), 2, "a 64 KiB message, two writes");
}
