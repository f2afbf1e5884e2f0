//! A listener out of file descriptors: accept() fails with EMFILE. As libzmq, the socket must
//! report ACCEPT_FAILED with the errno and keep its listener, without spinning on the pending
//! connection, and serve peers again once descriptors are free.
//!
//! It lowers the process's fd limit and fills it, so it runs alone in a process of its own.

mod common;

use std::fs::File;
use std::time::{Duration, Instant};

use common::hostile::open_fds;
use common::*;
use oxmq::{Context, Event, Pull};
use rustix::process::{Resource, Rlimit, getrlimit, setrlimit};

const EMFILE: i32 = 24;

/// Sockets open in this process.
fn open_sockets() -> usize {
    std::fs::read_dir("/proc/self/fd")
        .unwrap()
        .filter_map(|e| std::fs::read_link(e.ok()?.path()).ok())
        .filter(|target| target.to_string_lossy().starts_with("socket:"))
        .count()
}

#[test]
fn out_of_fds_reports_accept_failed_and_the_listener_survives() {
    if !common::in_a_process_of_its_own("out_of_fds_reports_accept_failed_and_the_listener_survives") {
        return;
    }
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    let mon =
        pull.monitor(Event::Accepted | Event::AcceptFailed | Event::HandshakeSucceeded | Event::Disconnected).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    let sockets = open_sockets();
    // A good peer before, so that everything the runtime creates lazily exists already.
    assert_pull_serves(&ctx, &pull, &ep);
    // ... and its connection closed on our side too (it would free a descriptor later).
    for want in [Event::Accepted, Event::HandshakeSucceeded, Event::Disconnected] {
        let ev = mon.recv_timeout(Duration::from_secs(5)).unwrap_or_else(|| panic!("no {want}"));
        assert_eq!(ev.event, want, "{ev:?}");
    }
    // ... and on the good peer's side: it shuts its side down before it closes, so our
    // DISCONNECTED (on its end of stream) can come before its descriptor is free.
    assert!(
        eventually(SOON, || (open_sockets() == sockets).then_some(())).is_some(),
        "the good peer's connection still open on some side: {} sockets, {sockets} before",
        open_sockets()
    );

    // A low limit, then every descriptor under it taken.
    let limit = getrlimit(Resource::Nofile);
    let low = (open_fds() as u64 + 64).min(limit.current.unwrap_or(u64::MAX));
    setrlimit(Resource::Nofile, Rlimit { current: Some(low), maximum: limit.maximum }).unwrap();
    let mut filler = Vec::new();
    loop {
        match File::open("/dev/null") {
            Ok(f) => filler.push(f),
            Err(e) if e.raw_os_error() == Some(EMFILE) => break,
            Err(e) => panic!("filling the fd table: {e}"),
        }
    }
    assert!(!filler.is_empty());
    // One descriptor for our side of a connection: the kernel completes it into the listen
    // backlog, and oxmq's accept has no descriptor left to take it with.
    filler.pop();
    let mut raw = RawPeer::connect(&ep);
    let failed = mon.recv_timeout(Duration::from_secs(5)).expect("a monitor event for the failed accept");
    assert_eq!((failed.event, failed.value), (Event::AcceptFailed, EMFILE as u32), "{failed:?}");
    assert_eq!(failed.endpoint, ep);

    // While out of descriptors, the accept loop retries at a gentle pace, not in a spin. (The
    // second is the interval measured, not a wait for an event.)
    let cpu_before = common::process_cpu();
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let cpu = common::process_cpu() - cpu_before;
    let wall = t.elapsed();
    let mut retries = 0;
    while let Some(ev) = mon.try_recv() {
        assert_eq!((ev.event, ev.value), (Event::AcceptFailed, EMFILE as u32), "{ev:?}");
        retries += 1;
    }
    eprintln!("out of fds for {wall:?}: {retries} more ACCEPT_FAILED, {cpu:?} of CPU");
    assert!(cpu < Duration::from_millis(200), "the process used {cpu:?} of CPU in {wall:?} while out of fds");
    assert!(retries <= 4 * wall.as_millis() as usize / 100, "{retries} accept retries in {wall:?}");

    // Descriptors back: the waiting connection is accepted and served, and new ones too.
    drop(filler);
    setrlimit(Resource::Nofile, limit).unwrap();
    let accepted = eventually(Duration::from_secs(5), || match mon.try_recv() {
        Some(ev) if ev.event == Event::AcceptFailed => None,
        Some(ev) => Some(ev),
        None => None,
    })
    .expect("the pending connection is accepted once descriptors are free");
    assert_eq!(accepted.event, Event::Accepted, "{accepted:?}");
    raw.handshake("PUSH");
    raw.write(&frame(0, b"waited out EMFILE")).unwrap();
    assert_eq!(pull.recv().unwrap(), "waited out EMFILE");
    assert_pull_serves(&ctx, &pull, &ep);
}
