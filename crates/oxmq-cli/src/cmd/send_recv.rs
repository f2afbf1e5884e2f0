//! `oxmq send` / `oxmq recv`, and their shorthands `oxmq pub` (send on a PUB socket) and
//! `oxmq sub` (recv on a SUB socket).

use super::format::{FORMAT_HELP, Format, Printer};
use super::input::{IN_HELP, InputMode, messages};
use super::spec::parse_type;
use super::{CmdResult, Exit, SocketArgs, can_recv, can_send, context, open, sleep_ms, timeout_ms};
use clap::Args;
use oxmq::SocketType;

/// Rejects an empty `--separator`.
pub fn parse_separator(s: &str) -> Result<String, String> {
    if s.is_empty() { Err("the separator must not be empty".into()) } else { Ok(s.to_string()) }
}

/// Options of `oxmq send` and `oxmq pub`.
#[derive(Debug, Args)]
pub struct SendOpts {
    #[command(flatten)]
    pub socket: SocketArgs,
    #[arg(long = "in", value_enum, value_name = "MODE", default_value_t = InputMode::Lines, help = IN_HELP)]
    pub input: InputMode,
    /// Split each message into frames at SEP (a multipart message); without it each message
    /// is one frame. E.g. -s '|' sends "a|b" as the frames "a" and "b".
    #[arg(short = 's', long, value_name = "SEP", value_parser = parse_separator)]
    pub separator: Option<String>,
    /// Send N messages: the first N stdin lines, or the MESSAGE arguments over and over in
    /// turn until N are sent (default: each argument once, or every stdin line).
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Give up (exit 1) when a send blocks longer than MS milliseconds (no peer ready to take
    /// the message). It also bounds how long queued messages are flushed at exit; without
    /// it, oxmq waits until they are delivered.
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u32>,
    /// Wait MS milliseconds after binding/connecting before the first send, so that peers
    /// can connect and subscribers subscribe (PUB drops what no subscriber asked for yet).
    #[arg(short = 'd', long, value_name = "MS", default_value_t = 0)]
    pub delay: u64,
    /// Wait MS milliseconds between two messages.
    #[arg(short = 'i', long, value_name = "MS", default_value_t = 0)]
    pub interval: u64,
    /// The messages to send; none: read them from stdin (see --in).
    #[arg(value_name = "MESSAGE")]
    pub messages: Vec<String>,
}

/// Options of `oxmq send`.
#[derive(Debug, Args)]
pub struct SendArgs {
    /// The socket type, in any case: any type that can send (all but PULL and SUB). For
    /// ROUTER and STREAM, a message's first frame is the peer's routing id.
    #[arg(short = 't', long = "type", value_name = "TYPE", default_value = "PUSH", value_parser = parse_type)]
    pub ty: SocketType,
    #[command(flatten)]
    pub opts: SendOpts,
}

/// Options of `oxmq recv` and `oxmq sub`.
#[derive(Debug, Args)]
pub struct RecvOpts {
    #[command(flatten)]
    pub socket: SocketArgs,
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Text, help = FORMAT_HELP)]
    pub format: Format,
    /// Join the frames of a printed message with SEP [default: TAB].
    #[arg(short = 's', long, value_name = "SEP", value_parser = parse_separator)]
    pub separator: Option<String>,
    /// Stop after N messages.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Give up when no message comes for MS milliseconds: exit 1 if fewer than --count
    /// messages arrived (without --count: if none arrived at all), else exit 0.
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u32>,
    /// Subscribe to messages whose first frame starts with TOPIC (SUB and XSUB only;
    /// repeatable). A SUB with no --subscribe receives everything.
    #[arg(long, value_name = "TOPIC")]
    pub subscribe: Vec<String>,
}

/// Options of `oxmq recv`.
#[derive(Debug, Args)]
pub struct RecvArgs {
    /// The socket type, in any case: any type that can receive (all but PUSH and PUB). ROUTER
    /// and STREAM print the peer's routing id as the first frame.
    #[arg(short = 't', long = "type", value_name = "TYPE", default_value = "PULL", value_parser = parse_type)]
    pub ty: SocketType,
    #[command(flatten)]
    pub opts: RecvOpts,
}

/// Sends the messages of `o` on a socket of type `ty`.
pub fn send(ty: SocketType, o: &SendOpts) -> CmdResult {
    if !can_send(ty) {
        return Err(Exit::setup(format!("a {ty} socket cannot send (use `oxmq recv` or `oxmq sub`)")));
    }
    let input = messages(o.input, &o.messages, o.separator.as_deref(), o.count)?;
    let ctx = context();
    let socket = open(&ctx, ty, &o.socket, |s| {
        if o.timeout.is_some() {
            s.set_sndtimeo(timeout_ms(o.timeout)).map_err(super::setup_err("bad --timeout"))?;
            s.set_linger(timeout_ms(o.timeout)).map_err(super::setup_err("bad --timeout"))?;
        }
        Ok(())
    })?;
    sleep_ms(o.delay);
    for (i, msg) in input.enumerate() {
        let msg = msg?;
        if i > 0 {
            sleep_ms(o.interval);
        }
        match socket.send_multipart(msg) {
            Ok(()) => super::interrupt::count_sent(),
            Err(oxmq::Error::Again) => {
                return Err(Exit::timed_out(format!(
                    "timed out: message {} could not be sent within {} ms (no peer ready to take it)",
                    i + 1,
                    timeout_ms(o.timeout)
                )));
            }
            Err(e) => return Err(Exit::failed(format!("cannot send message {}: {e}", i + 1))),
        }
    }
    Ok(())
}

/// Receives and prints messages on a socket of type `ty`.
pub fn recv(ty: SocketType, o: &RecvOpts) -> CmdResult {
    if !can_recv(ty) {
        return Err(Exit::setup(format!("a {ty} socket cannot receive (use `oxmq send` or `oxmq pub`)")));
    }
    if !o.subscribe.is_empty() && !matches!(ty, SocketType::Sub | SocketType::XSub) {
        return Err(Exit::setup(format!("--subscribe needs a SUB or XSUB socket, not {ty}")));
    }
    let ctx = context();
    let socket = open(&ctx, ty, &o.socket, |s| {
        s.set_linger(0).map_err(super::setup_err("cannot set LINGER"))?;
        s.set_rcvtimeo(timeout_ms(o.timeout)).map_err(super::setup_err("bad --timeout"))?;
        if ty == SocketType::Sub {
            for topic in topics(&o.subscribe) {
                s.subscribe(topic).map_err(super::setup_err(format_args!("cannot subscribe to {topic:?}")))?;
            }
        }
        Ok(())
    })?;
    if ty == SocketType::XSub {
        // XSUB subscribes by sending 0x01 + topic upstream.
        for topic in topics(&o.subscribe) {
            let mut msg = vec![1u8];
            msg.extend_from_slice(topic.as_bytes());
            socket.send(msg).map_err(|e| Exit::failed(format!("cannot subscribe to {topic:?}: {e}")))?;
        }
    }
    let printer = Printer::new(o.format, o.separator.as_deref());
    let mut received = 0u64;
    while o.count.is_none_or(|n| received < n) {
        match socket.recv_multipart() {
            Ok(frames) => {
                received += 1;
                if let Err(e) = printer.print(&frames) {
                    return stdout_closed(e);
                }
            }
            Err(oxmq::Error::Again) => return timed_out(received, o.count, timeout_ms(o.timeout), "message"),
            Err(e) => return Err(Exit::failed(format!("cannot receive: {e}"))),
        }
    }
    Ok(())
}

/// The topics to subscribe to: those given, or everything.
fn topics(given: &[String]) -> Vec<&str> {
    if given.is_empty() { vec![""] } else { given.iter().map(String::as_str).collect() }
}

/// A failed write to stdout: a closed pipe (`| head -1`) ends the command quietly.
pub fn stdout_closed(e: std::io::Error) -> CmdResult {
    if e.kind() == std::io::ErrorKind::BrokenPipe {
        Ok(())
    } else {
        Err(Exit::failed(format!("cannot write to stdout: {e}")))
    }
}

/// The end of a receive loop whose wait for one more `what` timed out after `ms`, having had
/// `received` of `count`.
pub fn timed_out(received: u64, count: Option<u64>, ms: i32, what: &str) -> CmdResult {
    match count {
        Some(n) => Err(Exit::timed_out(format!("timed out: no {what} for {ms} ms, received {received} of {n}"))),
        None if received == 0 => Err(Exit::timed_out(format!("timed out: no {what} within {ms} ms"))),
        None => Ok(()),
    }
}
