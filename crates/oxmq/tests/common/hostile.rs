//! What the hostile-peer tests (`hostile_*.rs`) share: the bound oxmq sockets they attack, how
//! long oxmq may take to close a bad connection, reading what oxmq sent before it closed, and
//! watching its monitor.

use std::time::{Duration, Instant};

use oxmq::{Context, Event, EventMask, Monitor, MonitorEvent, Pull, Rep};

use super::{RawFrame, SOON, TIMEO_MS, parse_frames};

/// How long oxmq may take to close a connection it has a reason to close.
pub const CLOSE_WITHIN: Duration = Duration::from_secs(1);

pub fn bound_pull(ctx: &Context) -> (Pull, String) {
    let pull = Pull::new(ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    (pull, ep)
}

pub fn bound_rep(ctx: &Context) -> (Rep, String) {
    let rep = Rep::new(ctx).unwrap();
    rep.set_rcvtimeo(TIMEO_MS).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let ep = rep.last_endpoint().unwrap();
    (rep, ep)
}

/// The frames oxmq sent after its greeting, from everything read on a connection.
pub fn frames_after_greeting(got: &[u8]) -> Vec<RawFrame> {
    if got.len() <= 64 { Vec::new() } else { parse_frames(&got[64..]) }
}

/// Everything oxmq sent on a refused connection is its greeting and commands (READY, ERROR),
/// never a message.
pub fn assert_only_commands(got: &[u8]) {
    for f in frames_after_greeting(got) {
        assert!(f.is_command(), "oxmq sent a message frame on a connection it refused: {f:?}");
        let name = f.command_name().unwrap_or("?").to_string();
        assert!(name == "READY" || name == "ERROR", "unexpected command {name} on a refused connection");
    }
}

/// The events up to and including the first `event`; panics if it does not come.
pub fn events_until(mon: &Monitor, event: Event) -> Vec<MonitorEvent> {
    let mut seen = Vec::new();
    loop {
        match mon.recv_timeout(SOON) {
            Some(ev) => {
                let done = ev.event == event;
                seen.push(ev);
                if done {
                    return seen;
                }
            }
            None => panic!("no {event} within {SOON:?}; saw {seen:?}"),
        }
    }
}

/// The value of the next `event` (skipping others).
pub fn next_value_of(mon: &Monitor, event: Event) -> u32 {
    events_until(mon, event).last().unwrap().value
}

/// A bound PULL with a monitor on `events`.
pub fn monitored_pull(ctx: &Context, events: EventMask, handshake_ivl: Option<i32>) -> (Pull, Monitor, String) {
    let pull = Pull::new(ctx).unwrap();
    pull.set_rcvtimeo(TIMEO_MS).unwrap();
    if let Some(ivl) = handshake_ivl {
        pull.set_handshake_ivl(ivl).unwrap();
    }
    let mon = pull.monitor(events).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let ep = pull.last_endpoint().unwrap();
    (pull, mon, ep)
}

pub fn handshake_events() -> EventMask {
    Event::Accepted
        | Event::HandshakeSucceeded
        | Event::HandshakeFailedNoDetail
        | Event::HandshakeFailedProtocol
        | Event::Disconnected
}

/// File descriptors open in this process.
pub fn open_fds() -> usize {
    std::fs::read_dir("/proc/self/fd").unwrap().count()
}
