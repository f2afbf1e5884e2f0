//! TCP socket settings reach the kernel socket of each connection.

use std::io::Read;
use std::net::TcpListener;
use std::time::{Duration, Instant};

use oxmq::{Context, Push};

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
        eprintln!("skipped: no /proc/net/tcp to read socket timers from (not Linux)");
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
