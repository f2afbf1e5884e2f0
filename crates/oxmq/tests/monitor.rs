//! Socket monitor events: which events a bind, accept, connect, handshake, disconnect and close
//! report, in which order, with which values and endpoints (as libzmq 4.3 reports them), read
//! through the typed [`Monitor`] and through libzmq's version-1 wire format on a PAIR socket.

mod common;

use std::io::Write;
use std::net::{Shutdown, TcpStream};
use std::time::{Duration, Instant};

use common::*;
use oxmq::{Context, Error, Event, EventMask, Monitor, MonitorEvent, Pair, Pull, Push, Stream, protocol_error};

const EINPROGRESS: u32 = 115;
const EADDRINUSE: u32 = 98;
const EAGAIN: u32 = 11;
const EPIPE: u32 = 32;

/// The next event, which must come within [`SOON`].
fn next(mon: &Monitor) -> MonitorEvent {
    mon.recv_timeout(SOON).unwrap_or_else(|| panic!("no monitor event within {SOON:?}"))
}

/// The next event, which must be `event` on `endpoint`; returns its value.
fn expect(mon: &Monitor, event: Event, endpoint: &str) -> u32 {
    let ev = next(mon);
    assert_eq!((ev.event, ev.endpoint.as_str()), (event, endpoint), "expected {event} on {endpoint}, got {ev:?}");
    ev.value
}

/// No event arrives for `quiet` (a short check for something that must not happen).
fn expect_quiet(mon: &Monitor, quiet: Duration) {
    if let Some(ev) = mon.recv_timeout(quiet) {
        panic!("unexpected monitor event {ev:?}");
    }
}

/// Is `fd` an open socket of this process?
fn is_socket_fd(fd: u32) -> bool {
    std::fs::read_link(format!("/proc/self/fd/{fd}")).is_ok_and(|l| l.to_string_lossy().starts_with("socket:"))
}

/// The full life of a tcp or ipc connection as both sides see it.
fn connection_lifecycle(bind_endpoint: &str, tcp: bool) {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    let smon = pull.monitor(EventMask::ALL).unwrap();
    pull.bind(bind_endpoint).unwrap();
    let ep = pull.last_endpoint().unwrap();
    let listen_fd = expect(&smon, Event::Listening, &ep);
    assert!(is_socket_fd(listen_fd), "LISTENING carries the listening socket's fd, got {listen_fd}");

    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    let cmon = push.monitor(EventMask::ALL).unwrap();
    push.connect(&ep).unwrap();
    push.send("hello").unwrap();
    assert_eq!(pull.recv().unwrap(), "hello");

    if tcp {
        assert_eq!(expect(&cmon, Event::ConnectDelayed, &ep), EINPROGRESS);
    }
    let conn_fd = expect(&cmon, Event::Connected, &ep);
    assert!(is_socket_fd(conn_fd), "CONNECTED carries the connection's fd, got {conn_fd}");
    assert_eq!(expect(&cmon, Event::HandshakeSucceeded, &ep), 0);

    let accepted_fd = expect(&smon, Event::Accepted, &ep);
    assert!(is_socket_fd(accepted_fd), "ACCEPTED carries the connection's fd, got {accepted_fd}");
    assert_ne!(accepted_fd, listen_fd);
    assert_eq!(expect(&smon, Event::HandshakeSucceeded, &ep), 0);

    // The client goes away: the server sees its connection end; the client itself reports no
    // DISCONNECTED for a connection it closed, only the end of monitoring (as libzmq).
    drop(push);
    assert_eq!(expect(&cmon, Event::MonitorStopped, ""), 0);
    assert_eq!(cmon.recv_timeout(SOON), None, "a stopped monitor ends");
    assert!(cmon.is_stopped());
    assert_eq!(expect(&smon, Event::Disconnected, &ep), accepted_fd, "DISCONNECTED names the accepted connection's fd");

    // unbind closes the listener; close stops the monitor.
    pull.unbind(&ep).unwrap();
    assert_eq!(expect(&smon, Event::Closed, &ep), listen_fd, "CLOSED names the listening socket's fd");
    drop(pull);
    assert_eq!(expect(&smon, Event::MonitorStopped, ""), 0);
    assert_eq!(smon.recv(), None);
}

#[test]
fn tcp_bind_accept_connect_handshake_disconnect_close() {
    connection_lifecycle("tcp://127.0.0.1:*", true);
}

#[test]
fn ipc_bind_accept_connect_handshake_disconnect_close() {
    let (ep, path) = ipc_endpoint("mon");
    connection_lifecycle(&ep, false);
    assert!(!path.exists(), "the socket file is removed on unbind");
}

#[test]
fn closing_a_bound_socket_reports_closed_then_monitor_stopped() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let mon = pull.monitor(Event::Listening | Event::Closed | Event::MonitorStopped).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let fd = expect(&mon, Event::Listening, &ep);
    drop(pull);
    assert_eq!(expect(&mon, Event::Closed, &ep), fd);
    expect(&mon, Event::MonitorStopped, "");
    assert_eq!(mon.recv(), None);
}

#[test]
fn only_the_requested_events_are_reported() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let mon = pull.monitor(Event::HandshakeSucceeded).unwrap();
    assert_eq!(mon.events(), EventMask::from(Event::HandshakeSucceeded));
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let push = Push::new(&ctx).unwrap();
    push.connect(&ep).unwrap();
    expect(&mon, Event::HandshakeSucceeded, &ep);
    pull.stop_monitor().unwrap();
    // MONITOR_STOPPED was not asked for: the monitor just ends.
    assert_eq!(mon.recv_timeout(SOON), None);
    assert!(mon.is_stopped());
}

#[test]
fn bind_failure_reports_bind_failed_with_errno_and_bare_address() {
    let ctx = Context::new();
    let first = Pull::new(&ctx).unwrap();
    first.bind("tcp://127.0.0.1:*").unwrap();
    let ep = first.last_endpoint().unwrap();
    let second = Pull::new(&ctx).unwrap();
    let mon = second.monitor(EventMask::ALL).unwrap();
    assert!(matches!(second.bind(&ep), Err(Error::AddrInUse(_))));
    // libzmq gives the address without its tcp:// here.
    assert_eq!(expect(&mon, Event::BindFailed, tcp_addr(&ep)), EADDRINUSE);
    expect_quiet(&mon, Duration::from_millis(50));
}

#[test]
fn stream_connections_report_accept_and_disconnect_but_no_handshake() {
    let ctx = Context::new();
    let stream = Stream::new(&ctx).unwrap();
    let mon = stream.monitor(EventMask::ALL).unwrap();
    stream.bind("tcp://127.0.0.1:*").unwrap();
    let ep = stream.last_endpoint().unwrap();
    expect(&mon, Event::Listening, &ep);
    let raw = TcpStream::connect(tcp_addr(&ep)).unwrap();
    let fd = expect(&mon, Event::Accepted, &ep);
    drop(raw);
    // A raw peer has no handshake, to succeed or fail. (libzmq 4.3 reports
    // HANDSHAKE_FAILED_NO_DETAIL before DISCONNECTED here, as if its raw engine's handshake
    // had never ended; oxmq does not copy that.)
    assert_eq!(expect(&mon, Event::Disconnected, &ep), fd);
    expect_quiet(&mon, Duration::from_millis(20));
}

#[test]
fn inproc_reports_no_events() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let mon = pull.monitor(EventMask::ALL).unwrap();
    let ep = inproc_endpoint("mon");
    pull.bind(&ep).unwrap();
    let push = Push::new(&ctx).unwrap();
    push.connect(&ep).unwrap();
    push.send("x").unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    assert_eq!(pull.recv().unwrap(), "x");
    drop(push);
    pull.unbind(&ep).unwrap();
    pull.stop_monitor().unwrap();
    expect(&mon, Event::MonitorStopped, "");
    assert_eq!(mon.recv(), None);
}

#[test]
fn connect_before_listener_retries_with_backoff_then_connects() {
    let ctx = Context::new();
    let port = free_tcp_port();
    let ep = format!("tcp://127.0.0.1:{port}");
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    push.set_reconnect_ivl(50).unwrap();
    push.set_reconnect_ivl_max(200).unwrap();
    let mon = push.monitor(EventMask::ALL).unwrap();
    push.connect(&ep).unwrap();
    // Each failed attempt: CONNECT_DELAYED, then CONNECT_RETRIED with the interval before the
    // next one, doubling up to RECONNECT_IVL_MAX.
    for ivl in [50, 100, 200, 200] {
        assert_eq!(expect(&mon, Event::ConnectDelayed, &ep), EINPROGRESS);
        assert_eq!(expect(&mon, Event::ConnectRetried, &ep), ivl);
    }
    let pull = Pull::new(&ctx).unwrap();
    pull.bind(&ep).unwrap();
    let deadline = Instant::now() + SOON;
    loop {
        let ev = next(&mon);
        assert_eq!(ev.endpoint, ep);
        match ev.event {
            Event::ConnectDelayed | Event::ConnectRetried => {}
            Event::Connected => break,
            other => panic!("unexpected {other} before CONNECTED"),
        }
        assert!(Instant::now() < deadline, "no CONNECTED within {SOON:?} of the listener appearing");
    }
    assert_eq!(expect(&mon, Event::HandshakeSucceeded, &ep), 0);
}

/// Without RECONNECT_IVL_MAX, each wait is RECONNECT_IVL plus a random part below it (libzmq
/// 4.3.5), so clients that lose one server do not come back in lockstep: the intervals the
/// sockets announce (CONNECT_RETRIED) lie in [IVL, 2 IVL) and are not all the same. With the
/// random part gone, all 32 would announce exactly 1000; with it, 32 draws from 1000 values
/// all alike has a chance of 1000^-31.
#[test]
fn reconnect_intervals_without_a_max_are_randomised_per_socket() {
    let ctx = Context::new();
    let ep = format!("tcp://127.0.0.1:{}", free_tcp_port());
    let mut seen = Vec::new();
    let mut keep = Vec::new();
    for _ in 0..32 {
        let push = Push::new(&ctx).unwrap();
        push.set_linger(0).unwrap();
        push.set_reconnect_ivl(1000).unwrap();
        let mon = push.monitor(EventMask::from(Event::ConnectRetried)).unwrap();
        push.connect(&ep).unwrap();
        let ivl = expect(&mon, Event::ConnectRetried, &ep);
        assert!((1000..2000).contains(&ivl), "CONNECT_RETRIED {ivl} ms, not in [1000, 2000)");
        seen.push(ivl);
        keep.push((push, mon));
    }
    seen.sort_unstable();
    seen.dedup();
    assert!(seen.len() > 1, "32 sockets all announced the same interval {seen:?}");
}

#[test]
fn lost_connection_reports_disconnected_then_retried_then_reconnects() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    push.set_reconnect_ivl(30).unwrap();
    let mon = push.monitor(EventMask::ALL).unwrap();
    push.connect(&ep).unwrap();
    expect(&mon, Event::ConnectDelayed, &ep);
    let fd = expect(&mon, Event::Connected, &ep);
    expect(&mon, Event::HandshakeSucceeded, &ep);
    drop(pull);
    assert_eq!(expect(&mon, Event::Disconnected, &ep), fd);
    // RECONNECT_IVL plus libzmq's random part below it (RECONNECT_IVL_MAX is unset).
    let ivl = expect(&mon, Event::ConnectRetried, &ep);
    assert!((30..60).contains(&ivl), "CONNECT_RETRIED {ivl} ms, not in [30, 60)");
    // Nothing listens any more: the retries go on until something does.
    let pull = Pull::new(&ctx).unwrap();
    pull.bind(&ep).unwrap();
    loop {
        match next(&mon).event {
            Event::ConnectDelayed | Event::ConnectRetried => {}
            Event::Connected => break,
            other => panic!("unexpected {other} before CONNECTED"),
        }
    }
    expect(&mon, Event::HandshakeSucceeded, &ep);
}

#[test]
fn incompatible_socket_types_fail_the_handshake_with_a_protocol_error() {
    let ctx = Context::new();
    let a = Pull::new(&ctx).unwrap();
    let amon = a.monitor(EventMask::ALL).unwrap();
    a.bind("tcp://127.0.0.1:*").unwrap();
    let ep = a.last_endpoint().unwrap();
    expect(&amon, Event::Listening, &ep);
    let b = Pull::new(&ctx).unwrap();
    b.set_reconnect_ivl(20).unwrap();
    let bmon = b.monitor(EventMask::ALL).unwrap();
    b.connect(&ep).unwrap();

    let fd = expect(&amon, Event::Accepted, &ep);
    assert_eq!(expect(&amon, Event::HandshakeFailedProtocol, &ep), protocol_error::ZMTP_INVALID_METADATA);
    assert_eq!(expect(&amon, Event::Disconnected, &ep), fd);

    expect(&bmon, Event::ConnectDelayed, &ep);
    let fd = expect(&bmon, Event::Connected, &ep);
    assert_eq!(expect(&bmon, Event::HandshakeFailedProtocol, &ep), protocol_error::ZMTP_INVALID_METADATA);
    assert_eq!(expect(&bmon, Event::Disconnected, &ep), fd);
    // A protocol error is not worth reconnecting for (libzmq stops too).
    expect_quiet(&bmon, Duration::from_millis(150));
    expect_quiet(&amon, Duration::from_millis(10));
}

/// A bound PULL with a monitor, and a raw TCP connection to it.
fn monitored_pull(ctx: &Context) -> (Pull, Monitor, String) {
    let pull = Pull::new(ctx).unwrap();
    let mon = pull.monitor(EventMask::ALL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    expect(&mon, Event::Listening, &ep);
    (pull, mon, ep)
}

#[test]
fn mechanism_mismatch_is_a_protocol_failure() {
    let ctx = Context::new();
    let (_pull, mon, ep) = monitored_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    let mut g = greeting();
    g[12..32].fill(0);
    g[12..17].copy_from_slice(b"PLAIN");
    raw.write(&g).unwrap();
    raw.expect_closed(SOON);
    let fd = expect(&mon, Event::Accepted, &ep);
    assert_eq!(expect(&mon, Event::HandshakeFailedProtocol, &ep), protocol_error::ZMTP_MECHANISM_MISMATCH);
    assert_eq!(expect(&mon, Event::Disconnected, &ep), fd);
}

#[test]
fn peer_closing_during_the_handshake_is_a_failure_without_detail() {
    let ctx = Context::new();
    let (_pull, mon, ep) = monitored_pull(&ctx);
    let mut raw = TcpStream::connect(tcp_addr(&ep)).unwrap();
    raw.write_all(&greeting()[..20]).unwrap();
    // End our side cleanly (no reset): oxmq reads end-of-stream, which libzmq reports as EPIPE.
    raw.shutdown(Shutdown::Write).unwrap();
    let fd = expect(&mon, Event::Accepted, &ep);
    assert_eq!(expect(&mon, Event::HandshakeFailedNoDetail, &ep), EPIPE);
    assert_eq!(expect(&mon, Event::Disconnected, &ep), fd);
}

#[test]
fn a_zap_status_in_the_peers_error_is_an_authentication_failure() {
    let ctx = Context::new();
    let (_pull, mon, ep) = monitored_pull(&ctx);
    let mut raw = RawPeer::connect(&ep);
    raw.write(&greeting()).unwrap();
    raw.write(&command("ERROR", b"\x03400")).unwrap();
    raw.expect_closed(SOON);
    let fd = expect(&mon, Event::Accepted, &ep);
    assert_eq!(expect(&mon, Event::HandshakeFailedAuth, &ep), 400);
    assert_eq!(expect(&mon, Event::Disconnected, &ep), fd);
}

#[test]
fn disconnect_reports_nothing_for_the_connection_it_ends() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    let mon = push.monitor(EventMask::ALL).unwrap();
    push.connect(&ep).unwrap();
    expect(&mon, Event::ConnectDelayed, &ep);
    expect(&mon, Event::Connected, &ep);
    expect(&mon, Event::HandshakeSucceeded, &ep);
    // As libzmq: a connection the socket ends itself is not "disconnected unexpectedly".
    push.disconnect(&ep).unwrap();
    expect_quiet(&mon, Duration::from_millis(100));
}

#[test]
fn handshake_timeout_is_a_failure_without_detail() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_handshake_ivl(100).unwrap();
    let mon = pull.monitor(EventMask::ALL).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    expect(&mon, Event::Listening, &ep);
    let mut raw = RawPeer::connect(&ep);
    let fd = expect(&mon, Event::Accepted, &ep);
    // libzmq's value for an expired HANDSHAKE_IVL.
    assert_eq!(expect(&mon, Event::HandshakeFailedNoDetail, &ep), EAGAIN);
    assert_eq!(expect(&mon, Event::Disconnected, &ep), fd);
    raw.expect_closed(SOON);
}

#[test]
fn a_new_monitor_replaces_the_old_one_which_is_told() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let first = pull.monitor(EventMask::ALL).unwrap();
    let second = pull.monitor(EventMask::ALL).unwrap();
    expect(&first, Event::MonitorStopped, "");
    assert_eq!(first.recv(), None);
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    expect(&second, Event::Listening, &ep);
}

#[test]
fn dropping_the_monitor_stops_monitoring() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let mon = pull.monitor(EventMask::ALL).unwrap();
    drop(mon);
    // The socket goes on without a reader for its events.
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    assert_pull_serves(&ctx, &pull, &ep);
    let mon = pull.monitor(Event::Closed).unwrap();
    pull.unbind(&ep).unwrap();
    expect(&mon, Event::Closed, &ep);
}

#[test]
fn recv_async_delivers_events() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let mon = pull.monitor(EventMask::ALL).unwrap();
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        // A dropped receive takes nothing.
        assert!(tokio::time::timeout(Duration::from_millis(20), mon.recv_async()).await.is_err());
        pull.bind("tcp://127.0.0.1:*").unwrap();
        let ev = tokio::time::timeout(SOON, mon.recv_async()).await.expect("an event").expect("not stopped");
        assert_eq!((ev.event, ev.endpoint), (Event::Listening, pull.last_endpoint().unwrap()));
        pull.stop_monitor().unwrap();
        let ev = tokio::time::timeout(SOON, mon.recv_async()).await.unwrap().unwrap();
        assert_eq!(ev.event, Event::MonitorStopped);
        assert_eq!(tokio::time::timeout(SOON, mon.recv_async()).await.unwrap(), None);
    });
}

// ---------------------------------------------------------------- libzmq's wire format

/// Read one monitor message from a PAIR and decode it by hand, as libzmq's and pyzmq's
/// helpers do: frame 1 = u16 event + u32 value (native endian), frame 2 = endpoint.
fn read_v1(reader: &Pair) -> (u16, u32, String) {
    let frames = reader.recv_multipart().expect("a monitor message within RCVTIMEO");
    assert_eq!(frames.len(), 2, "a monitor message is two frames: {frames:?}");
    assert_eq!(frames[0].len(), 6, "the first frame is u16 event + u32 value");
    let event = u16::from_ne_bytes([frames[0][0], frames[0][1]]);
    let value = u32::from_ne_bytes([frames[0][2], frames[0][3], frames[0][4], frames[0][5]]);
    (event, value, String::from_utf8(frames[1].to_vec()).unwrap())
}

/// A PULL monitored for every event through `zmq_socket_monitor`'s PAIR at a fresh inproc
/// endpoint, and a PAIR reading it (RCVTIMEO 5 s); also that endpoint.
fn pull_with_monitor_reader(ctx: &Context, tag: &str) -> (Pull, Pair, String) {
    let pull = Pull::new(ctx).unwrap();
    let mep = inproc_endpoint(tag);
    pull.monitor_endpoint(&mep, EventMask::ALL.bits()).unwrap();
    let reader = Pair::new(ctx).unwrap();
    reader.set_rcvtimeo(5000).unwrap();
    reader.connect(&mep).unwrap();
    (pull, reader, mep)
}

#[test]
fn monitor_endpoint_publishes_libzmq_v1_frames_on_a_pair() {
    let ctx = Context::new();
    let (pull, reader, mep) = pull_with_monitor_reader(&ctx, "zmq-monitor");

    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let push = Push::new(&ctx).unwrap();
    push.connect(&ep).unwrap();

    let (event, listen_fd, endpoint) = read_v1(&reader);
    assert_eq!((event, endpoint.as_str()), (0x0008, ep.as_str()), "LISTENING");
    assert!(is_socket_fd(listen_fd));
    let (event, _, endpoint) = read_v1(&reader);
    assert_eq!((event, endpoint.as_str()), (0x0020, ep.as_str()), "ACCEPTED");
    assert_eq!(read_v1(&reader), (0x1000, 0, ep.clone()), "HANDSHAKE_SUCCEEDED");

    // An empty endpoint stops monitoring, with MONITOR_STOPPED: value 0, empty endpoint.
    pull.monitor_endpoint("", 0).unwrap();
    assert_eq!(read_v1(&reader), (0x0400, 0, String::new()), "MONITOR_STOPPED");
    // Nothing more comes.
    drop(push);
    reader.set_rcvtimeo(100).unwrap();
    assert!(matches!(reader.recv(), Err(Error::Again)));
    // The name is free again at once.
    pull.monitor_endpoint(&mep, EventMask::ALL.bits()).unwrap();
}

#[test]
fn monitor_endpoint_keeps_events_until_the_reader_connects() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    let mep = inproc_endpoint("early");
    pull.monitor_endpoint(&mep, (Event::Listening | Event::Closed).bits()).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    pull.unbind(&ep).unwrap();
    let reader = Pair::new(&ctx).unwrap();
    reader.set_rcvtimeo(5000).unwrap();
    reader.connect(&mep).unwrap();
    let frames = reader.recv_multipart().unwrap();
    let ev = MonitorEvent::from_frames(&frames).expect("a v1 monitor message");
    assert_eq!((ev.event, ev.endpoint.as_str()), (Event::Listening, ep.as_str()));
    let ev = MonitorEvent::from_frames(&reader.recv_multipart().unwrap()).unwrap();
    assert_eq!((ev.event, ev.endpoint.as_str()), (Event::Closed, ep.as_str()));
}

#[test]
fn closing_the_monitored_socket_sends_monitor_stopped_to_the_pair() {
    let ctx = Context::new();
    let (pull, reader, _) = pull_with_monitor_reader(&ctx, "closing");
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    drop(pull);
    let (event, fd, endpoint) = read_v1(&reader);
    assert_eq!((event, endpoint.as_str()), (0x0008, ep.as_str()), "LISTENING");
    assert_eq!(read_v1(&reader), (0x0080, fd, ep.clone()), "CLOSED");
    assert_eq!(read_v1(&reader), (0x0400, 0, String::new()), "MONITOR_STOPPED");
}

#[test]
fn monitor_endpoint_rejects_what_libzmq_rejects() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    assert!(matches!(pull.monitor_endpoint("tcp://127.0.0.1:5555", 0xFFFF), Err(Error::ProtocolNotSupported(_))));
    assert!(matches!(pull.monitor_endpoint("inproc://x", 0x1_0000), Err(Error::InvalidArgument(_))));
    assert!(matches!(pull.monitor_endpoint("no-scheme", 0xFFFF), Err(Error::InvalidEndpoint(_))));
    let taken = inproc_endpoint("taken");
    let other = Pair::new(&ctx).unwrap();
    other.bind(&taken).unwrap();
    assert!(matches!(pull.monitor_endpoint(&taken, 0xFFFF), Err(Error::AddrInUse(_))));
    // Stopping when nothing is monitored is fine, twice.
    pull.monitor_endpoint("", 0).unwrap();
    pull.stop_monitor().unwrap();
}
