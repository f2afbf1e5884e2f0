//! `oxmq monitor`: bind or connect a socket of a given type and print its events
//! ([`oxmq::SocketBase::monitor`]) as they happen.

use super::format::json_string_into;
use super::send_recv::{stdout_closed, timed_out};
use super::spec::parse_type;
use super::{CmdResult, Exit, SocketArgs, open, setup_err};
use clap::{Args, ValueEnum};
use oxmq::{Event, EventMask, MonitorEvent, SocketType};
use std::io::Write;
use std::time::Duration;

/// How events are printed.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum EventFormat {
    /// `EVENT<TAB>VALUE<TAB>ENDPOINT`, e.g. `ACCEPTED<TAB>12<TAB>tcp://127.0.0.1:5555`.
    Text,
    /// `{"event":"ACCEPTED","value":12,"endpoint":"tcp://127.0.0.1:5555"}`.
    Json,
}

/// Options of `oxmq monitor`.
#[derive(Debug, Args)]
#[command(after_help = MONITOR_HELP)]
pub struct MonitorArgs {
    /// The socket type (in any case): the peers' handshakes succeed only with a type they
    /// can talk to.
    #[arg(short = 't', long = "type", value_name = "TYPE", value_parser = parse_type)]
    pub ty: SocketType,
    #[command(flatten)]
    pub socket: SocketArgs,
    /// Only these events (comma-separated, any case), e.g. --events accepted,disconnected
    /// [default: all].
    #[arg(short = 'e', long, value_name = "EVENTS", value_parser = parse_event, value_delimiter = ',')]
    pub events: Vec<Event>,
    /// How to print each event.
    #[arg(short = 'f', long, value_enum, default_value_t = EventFormat::Text)]
    pub format: EventFormat,
    /// Stop after N events.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Give up when no event comes for MS milliseconds: exit 1 if fewer than --count events
    /// came (without --count: if none came at all), else exit 0.
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u32>,
}

const MONITOR_HELP: &str = "\
Events (libzmq's ZMQ_EVENT_* names) and their values: CONNECTED, ACCEPTED, LISTENING,
CLOSED, DISCONNECTED (a file descriptor); CONNECT_DELAYED, BIND_FAILED, ACCEPT_FAILED,
CLOSE_FAILED, HANDSHAKE_FAILED_NO_DETAIL (an errno); CONNECT_RETRIED (the reconnect interval in
ms); HANDSHAKE_SUCCEEDED (0); HANDSHAKE_FAILED_PROTOCOL (a protocol error code);
HANDSHAKE_FAILED_AUTH (a ZAP status code); MONITOR_STOPPED. Runs until --count, --timeout
or Ctrl-C. The socket does nothing else: messages sent to it stay queued.

Examples:
  oxmq monitor -t rep -b tcp://*:5555                  # who connects to this REP
  oxmq monitor -t sub -c tcp://server:5556 -e connected,disconnected,connect_retried
  oxmq monitor -t pull -b ipc:///tmp/q -f json -n 3 --timeout 10000";

/// Parses an event name (`accepted`, `HANDSHAKE_SUCCEEDED`).
fn parse_event(s: &str) -> Result<Event, String> {
    let name = s.trim().to_ascii_uppercase();
    let name = name.strip_prefix("ZMQ_EVENT_").unwrap_or(&name);
    Event::ALL.into_iter().find(|e| e.name() == name).ok_or_else(|| {
        let names: Vec<&str> = Event::ALL.iter().map(|e| e.name()).collect();
        format!("unknown event {s:?} (expected one of {})", names.join(", "))
    })
}

/// One event as a line (with its newline).
fn render(format: EventFormat, ev: &MonitorEvent) -> Vec<u8> {
    let mut out = Vec::new();
    match format {
        EventFormat::Text => out.extend_from_slice(format!("{}\t{}\t{}", ev.event, ev.value, ev.endpoint).as_bytes()),
        EventFormat::Json => {
            out.extend_from_slice(
                format!("{{\"event\":\"{}\",\"value\":{},\"endpoint\":", ev.event, ev.value).as_bytes(),
            );
            json_string_into(&mut out, &ev.endpoint);
            out.push(b'}');
        }
    }
    out.push(b'\n');
    out
}

/// `oxmq monitor`.
pub fn monitor(a: &MonitorArgs) -> CmdResult {
    let mask = if a.events.is_empty() { EventMask::ALL } else { a.events.iter().copied().collect() };
    let ctx = super::context();
    let mut monitor = None;
    let socket = open(&ctx, a.ty, &a.socket, |s| {
        s.set_linger(0).map_err(setup_err("cannot set LINGER"))?;
        if a.ty == SocketType::Sub {
            s.subscribe("").map_err(setup_err("cannot subscribe"))?;
        }
        // Before any bind or connect, so that LISTENING and CONNECT_DELAYED are seen too.
        monitor = Some(s.monitor(mask).map_err(setup_err("cannot monitor the socket"))?);
        Ok(())
    })?;
    let monitor = monitor.expect("set up in open");
    let timeout = a.timeout.map(|ms| Duration::from_millis(u64::from(ms)));
    let mut seen = 0u64;
    let stdout = std::io::stdout();
    while a.count.is_none_or(|n| seen < n) {
        // In slices, so that a signal is seen (a terminated context does not stop a monitor).
        let started = std::time::Instant::now();
        let ev = loop {
            let left = timeout.map_or(Duration::MAX, |t| t.saturating_sub(started.elapsed()));
            match monitor.recv_timeout(left.min(Duration::from_millis(100))) {
                Some(ev) => break Some(ev),
                None if left.is_zero() || monitor.is_stopped() => break None,
                None if super::interrupt::interrupted() => return Ok(()),
                None => {}
            }
        };
        let Some(ev) = ev else {
            if monitor.is_stopped() {
                return Err(Exit::failed("monitoring stopped"));
            }
            return timed_out(seen, a.count, super::timeout_ms(a.timeout), "event");
        };
        seen += 1;
        let mut out = stdout.lock();
        if let Err(e) = out.write_all(&render(a.format, &ev)).and_then(|()| out.flush()) {
            return stdout_closed(e);
        }
    }
    drop(socket);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn event_names() {
        assert_eq!(parse_event("accepted"), Ok(Event::Accepted));
        assert_eq!(parse_event("ZMQ_EVENT_HANDSHAKE_SUCCEEDED"), Ok(Event::HandshakeSucceeded));
        assert!(parse_event("nope").unwrap_err().contains("LISTENING"));
    }

    #[test]
    fn formats() {
        let ev = MonitorEvent { event: Event::Listening, value: 7, endpoint: "tcp://127.0.0.1:5555".into() };
        assert_eq!(render(EventFormat::Text, &ev), b"LISTENING\t7\ttcp://127.0.0.1:5555\n");
        assert_eq!(
            render(EventFormat::Json, &ev),
            b"{\"event\":\"LISTENING\",\"value\":7,\"endpoint\":\"tcp://127.0.0.1:5555\"}\n"
        );
    }
}
