//! `oxmq pair` and `oxmq dealer`: two-way sockets. The input messages are sent on one thread
//! while every message received is printed on another, until the input has all been sent and
//! as many messages have come back as were sent (or `--count` have come).

use super::format::{FORMAT_HELP, Format, Printer};
use super::input::{Frames, IN_HELP, InputMode, messages};
use super::interrupt::{count_sent, interrupted};
use super::send_recv::{parse_separator, stdout_closed};
use super::{CmdResult, Exit, SocketArgs, context, open, setup_err, sleep_ms};
use clap::Args;
use oxmq::{Socket, SocketType};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

/// How long one blocking call waits before the loops look at their stop conditions.
const SLICE_MS: i32 = 50;

/// Options of `oxmq pair` and `oxmq dealer`.
#[derive(Debug, Args)]
pub struct DuplexArgs {
    #[command(flatten)]
    pub socket: SocketArgs,
    #[arg(long = "in", value_enum, value_name = "MODE", default_value_t = InputMode::Lines, help = IN_HELP)]
    pub input: InputMode,
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Text, help = FORMAT_HELP)]
    pub format: Format,
    /// Split each message sent into frames at SEP, and join the frames of a printed one with
    /// it [default: messages sent are one frame, printed frames are joined with TAB].
    #[arg(short = 's', long, value_name = "SEP", value_parser = parse_separator)]
    pub separator: Option<String>,
    /// Send an empty delimiter frame before each message, and take it off each message
    /// received: the envelope a REP, or a ROUTER that reads `id, "", body`, expects.
    #[arg(long)]
    pub delimiter: bool,
    /// Stop once the input has all been sent and N messages have been received [default: as
    /// many as were sent: one reply each; 0: exit once the input is sent].
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Give up when nothing has been received for MS milliseconds while replies are still
    /// awaited (exit 1), or when a send blocks that long (no peer to take it).
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u32>,
    /// Wait MS milliseconds after binding/connecting before the first send.
    #[arg(short = 'd', long, value_name = "MS", default_value_t = 0)]
    pub delay: u64,
    /// Wait MS milliseconds between two messages sent.
    #[arg(short = 'i', long, value_name = "MS", default_value_t = 0)]
    pub interval: u64,
    /// The messages to send; none: read them from stdin (see --in).
    #[arg(value_name = "MESSAGE")]
    pub messages: Vec<String>,
}

/// What the two loops share.
struct Shared {
    sent: AtomicU64,
    input_done: AtomicBool,
    stop: AtomicBool,
}

/// `oxmq pair` (`ty` PAIR) and `oxmq dealer` (`ty` DEALER).
pub fn duplex(ty: SocketType, a: &DuplexArgs) -> CmdResult {
    let input = messages(a.input, &a.messages, a.separator.as_deref(), None)?;
    let ctx = context();
    let socket = open(&ctx, ty, &a.socket, |s| {
        // Short waits on both sides, so that each loop sees the other's progress and signals;
        // LINGER stays as it is (forever): what was sent is delivered before exit.
        s.set_sndtimeo(SLICE_MS).map_err(setup_err("cannot set SNDTIMEO"))?;
        s.set_rcvtimeo(SLICE_MS).map_err(setup_err("cannot set RCVTIMEO"))?;
        if let Some(ms) = a.timeout {
            s.set_linger(i32::try_from(ms).unwrap_or(i32::MAX)).map_err(setup_err("bad --timeout"))?;
        }
        Ok(())
    })?;
    let shared = Shared { sent: AtomicU64::new(0), input_done: AtomicBool::new(false), stop: AtomicBool::new(false) };
    let printer = Printer::new(a.format, a.separator.as_deref());
    std::thread::scope(|scope| {
        let sender = scope.spawn(|| {
            let r = send_all(&socket, a, input, &shared);
            shared.input_done.store(true, Ordering::SeqCst);
            r
        });
        let received = receive(&socket, a, &printer, &shared);
        shared.stop.store(true, Ordering::SeqCst);
        let sent = sender.join().expect("the sending thread panicked");
        // A failed send says more than the receive that then waited in vain.
        sent.and(received)
    })
}

/// Sends every input message (the sending thread).
fn send_all(
    socket: &Socket,
    a: &DuplexArgs,
    input: Box<dyn Iterator<Item = Result<Frames, Exit>> + Send>,
    shared: &Shared,
) -> CmdResult {
    sleep_ms(a.delay);
    for (i, msg) in input.enumerate() {
        if shared.stop.load(Ordering::SeqCst) {
            return Ok(());
        }
        let mut msg = msg?;
        if i > 0 {
            sleep_ms(a.interval);
        }
        if a.delimiter {
            msg.insert(0, Vec::new());
        }
        let started = Instant::now();
        loop {
            match socket.send_multipart(msg.clone()) {
                Ok(()) => break,
                Err(oxmq::Error::Again) => {
                    if shared.stop.load(Ordering::SeqCst) || interrupted() {
                        return Ok(());
                    }
                    if let Some(ms) = a.timeout.filter(|&ms| started.elapsed() >= Duration::from_millis(u64::from(ms)))
                    {
                        return Err(Exit::timed_out(format!(
                            "timed out: message {} could not be sent within {ms} ms (no peer ready to take it)",
                            i + 1
                        )));
                    }
                }
                Err(e) => return Err(Exit::failed(format!("cannot send message {}: {e}", i + 1))),
            }
        }
        shared.sent.fetch_add(1, Ordering::SeqCst);
        count_sent();
    }
    Ok(())
}

/// Prints every message received until the input has ended and enough have come (the main
/// thread).
fn receive(socket: &Socket, a: &DuplexArgs, printer: &Printer, shared: &Shared) -> CmdResult {
    let mut received = 0u64;
    let mut idle_since = Instant::now();
    let mut stdout_open = true;
    loop {
        let done = shared.input_done.load(Ordering::SeqCst);
        // Every input message goes out first; then N (or one reply each) must have come.
        let want = done.then(|| a.count.unwrap_or_else(|| shared.sent.load(Ordering::SeqCst)));
        if want.is_some_and(|n| received >= n) {
            return Ok(());
        }
        match socket.recv_multipart() {
            Ok(mut frames) => {
                received += 1;
                idle_since = Instant::now();
                if a.delimiter && frames.first().is_some_and(|f| f.is_empty()) {
                    frames.remove(0);
                }
                if stdout_open {
                    if let Err(e) = printer.print(&frames) {
                        stdout_closed(e)?;
                        stdout_open = false;
                    }
                }
            }
            Err(oxmq::Error::Again) => {
                if interrupted() {
                    return Ok(());
                }
                // Time out only once nothing more is to be sent: until then, silence is fine.
                if let (Some(ms), true) = (a.timeout, done) {
                    if idle_since.elapsed() >= Duration::from_millis(u64::from(ms)) {
                        let want = want.unwrap_or(0);
                        return Err(Exit::timed_out(format!(
                            "timed out: nothing received for {ms} ms, {received} of {want} messages received"
                        )));
                    }
                } else if !done {
                    idle_since = Instant::now();
                }
            }
            Err(e) => return Err(Exit::failed(format!("cannot receive: {e}"))),
        }
    }
}
