//! `oxmq req` (send each request, print each reply, retrying as the guide's lazy pirate client
//! with `--retries`), and `oxmq rep` and `oxmq router` (serve requests: echo them, or reply with
//! the output of `--exec CMD` or `--exec-raw CMD`; the ROUTER keeps each request's envelope).

use super::format::{DEFAULT_SEPARATOR, FORMAT_HELP, Format, Printer, split_frames};
use super::input::{IN_HELP, InputMode, messages};
use super::send_recv::{parse_separator, stdout_closed, timed_out};
use super::{CmdResult, Exit, GAVE_UP, SocketArgs, context, open, setup_err, timeout_ms};
use clap::Args;
use oxmq::{Bytes, Socket, SocketType};
use std::io::Write;
use std::process::{Command, Stdio};

/// Options of `oxmq req`.
#[derive(Debug, Args)]
pub struct ReqArgs {
    #[command(flatten)]
    pub socket: SocketArgs,
    #[arg(long = "in", value_enum, value_name = "MODE", default_value_t = InputMode::Lines, help = IN_HELP)]
    pub input: InputMode,
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Text, help = FORMAT_HELP)]
    pub format: Format,
    /// Split each request into frames at SEP, and join the frames of a printed reply with it
    /// [default: requests are one frame, replies are joined with TAB].
    #[arg(short = 's', long, value_name = "SEP", value_parser = parse_separator)]
    pub separator: Option<String>,
    /// Send N requests: the first N stdin lines, or the MESSAGE arguments over and over in
    /// turn until N are sent (default: each argument once, or every stdin line).
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Give up (exit 1) when a reply takes longer than MS milliseconds (or a request cannot
    /// be sent for that long); with --retries, retry instead.
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u32>,
    /// Lazy pirate: when a reply has not come within --timeout, close the socket, open a new
    /// one, and send the request again, up to N times; exit 5 if the last try times out too.
    #[arg(long, value_name = "N", requires = "timeout")]
    pub retries: Option<u32>,
    /// With --retries: keep the socket and resend on it (REQ_RELAXED and REQ_CORRELATE: a late
    /// reply to an earlier try is dropped) instead of reopening it.
    #[arg(long, requires = "retries")]
    pub relaxed: bool,
    /// The requests; none: read them from stdin (see --in).
    #[arg(value_name = "MESSAGE")]
    pub messages: Vec<String>,
}

/// Options of `oxmq rep` and `oxmq router`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    #[command(flatten)]
    pub socket: SocketArgs,
    /// Reply with the output of CMD, run by `sh -c CMD` for each request: it reads the request
    /// on stdin (its frames joined by the separator, then a newline), and its stdout, less
    /// one trailing newline, is the reply (split into frames at --separator if given). Its
    /// stderr is ours; a failing CMD is reported on stderr and its output still sent.
    /// Without --exec or --exec-raw, each request is echoed back as it came.
    #[arg(short = 'e', long, value_name = "CMD", conflicts_with = "exec_raw")]
    pub exec: Option<String>,
    /// Reply with the output of CMD, bytes unchanged: CMD reads the request's bytes on stdin
    /// exactly as they came (several frames: joined by --separator if given, else
    /// back to back), and its whole stdout is the reply (one frame, or split at --separator
    /// if given). For binary messages: images, archives, ...
    #[arg(long, value_name = "CMD")]
    pub exec_raw: Option<String>,
    #[arg(short = 'f', long, value_enum, default_value_t = Format::Text, help = FORMAT_HELP)]
    pub format: Format,
    /// Join the frames of a request with SEP (when printed and on --exec's stdin), and split
    /// --exec's output into frames at SEP [default: join with TAB, do not split].
    #[arg(short = 's', long, value_name = "SEP", value_parser = parse_separator)]
    pub separator: Option<String>,
    /// Do not print the requests.
    #[arg(short = 'q', long)]
    pub quiet: bool,
    /// Stop after replying to N requests.
    #[arg(short = 'n', long, value_name = "N")]
    pub count: Option<u64>,
    /// Give up when no request comes for MS milliseconds: exit 1 if fewer than --count
    /// requests arrived (without --count: if none arrived at all), else exit 0.
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u32>,
}

/// Sets SNDTIMEO, RCVTIMEO and LINGER to `--timeout`, if given.
fn set_timeouts(s: &Socket, timeout: Option<u32>) -> CmdResult {
    if timeout.is_some() {
        let ms = timeout_ms(timeout);
        s.set_sndtimeo(ms).map_err(setup_err("bad --timeout"))?;
        s.set_rcvtimeo(ms).map_err(setup_err("bad --timeout"))?;
        s.set_linger(ms).map_err(setup_err("bad --timeout"))?;
    }
    Ok(())
}

/// `oxmq req`.
pub fn req(a: &ReqArgs) -> CmdResult {
    let input = messages(a.input, &a.messages, a.separator.as_deref(), a.count)?;
    let ctx = context();
    let open_req = || {
        open(&ctx, SocketType::Req, &a.socket, |s| {
            set_timeouts(s, a.timeout)?;
            if a.relaxed {
                s.set_req_relaxed(true).map_err(setup_err("cannot set REQ_RELAXED"))?;
                s.set_req_correlate(true).map_err(setup_err("cannot set REQ_CORRELATE"))?;
            }
            Ok(())
        })
    };
    let mut socket = open_req()?;
    let printer = Printer::new(a.format, a.separator.as_deref());
    let ms = timeout_ms(a.timeout);
    let retries = a.retries.unwrap_or(0);
    for (i, msg) in input.enumerate() {
        let n = i + 1;
        let msg = msg?;
        let mut tries = 0;
        loop {
            let what = match socket.send_multipart(msg.clone()) {
                Ok(()) => match socket.recv_multipart() {
                    Ok(reply) => {
                        if let Err(e) = printer.print(&reply) {
                            return stdout_closed(e);
                        }
                        break;
                    }
                    Err(oxmq::Error::Again) => format!("no reply to request {n} within {ms} ms"),
                    Err(e) => return Err(Exit::failed(format!("cannot receive the reply to request {n}: {e}"))),
                },
                Err(oxmq::Error::Again) => format!("request {n} could not be sent within {ms} ms"),
                Err(e) => return Err(Exit::failed(format!("cannot send request {n}: {e}"))),
            };
            if a.retries.is_none() {
                return Err(Exit::timed_out(format!("timed out: {what}")));
            }
            if tries == retries {
                return Err(Exit {
                    code: GAVE_UP,
                    message: format!("gave up: {what}, after {retries} retries (the server seems to be offline)"),
                });
            }
            tries += 1;
            if a.relaxed {
                eprintln!("oxmq req: {what}; resending ({tries} of {retries})");
            } else {
                eprintln!("oxmq req: {what}; reopening the socket and resending ({tries} of {retries})");
                // The guide's lazy pirate: drop what the old socket still holds, at once.
                let _ = socket.set_linger(0);
                drop(socket);
                socket = open_req()?;
            }
        }
    }
    Ok(())
}

/// `oxmq rep` (`ty` REP) and `oxmq router` (`ty` ROUTER).
pub fn serve(ty: SocketType, a: &ServeArgs) -> CmdResult {
    let ctx = context();
    let socket = open(&ctx, ty, &a.socket, |s| set_timeouts(s, a.timeout))?;
    let printer = Printer::new(a.format, a.separator.as_deref());
    let sep = a.separator.as_deref().unwrap_or(DEFAULT_SEPARATOR).as_bytes();
    let split_sep = a.separator.as_deref().map(str::as_bytes);
    let mut handled = 0u64;
    let mut stdout_open = true;
    while a.count.is_none_or(|n| handled < n) {
        let mut request = match socket.recv_multipart() {
            Ok(r) => r,
            Err(oxmq::Error::Again) => return timed_out(handled, a.count, timeout_ms(a.timeout), "request"),
            Err(e) => return Err(Exit::failed(format!("cannot receive a request: {e}"))),
        };
        // A ROUTER's request is its envelope (the peer's routing id, any more ids, the empty
        // delimiter) and then the body; a DEALER that sends no delimiter has only the id.
        let envelope: Vec<Bytes> = if ty == SocketType::Router {
            let end = request.iter().skip(1).position(|f| f.is_empty()).map_or(1, |k| k + 2);
            request.drain(..end.min(request.len())).collect()
        } else {
            Vec::new()
        };
        if !a.quiet && stdout_open {
            if let Err(e) = printer.print(&request) {
                stdout_closed(e)?;
                stdout_open = false;
            }
        }
        let reply: Vec<Bytes> = match (&a.exec, &a.exec_raw) {
            (Some(cmd), _) => {
                let mut input = join(&request, sep);
                input.push(b'\n');
                let mut out = exec(cmd, input)?;
                if out.last() == Some(&b'\n') {
                    out.pop();
                }
                split_frames(&out, split_sep).into_iter().map(Bytes::from).collect()
            }
            (None, Some(cmd)) => {
                let out = exec(cmd, join(&request, split_sep.unwrap_or_default()))?;
                split_frames(&out, split_sep).into_iter().map(Bytes::from).collect()
            }
            (None, None) => request,
        };
        socket
            .send_multipart(envelope.into_iter().chain(reply))
            .map_err(|e| Exit::failed(format!("cannot send the reply: {e}")))?;
        handled += 1;
    }
    Ok(())
}

/// The frames joined by `sep`.
fn join(frames: &[Bytes], sep: &[u8]) -> Vec<u8> {
    let mut out = Vec::new();
    for (i, f) in frames.iter().enumerate() {
        if i > 0 {
            out.extend_from_slice(sep);
        }
        out.extend_from_slice(f);
    }
    out
}

/// Runs `sh -c cmd` with `input` on its stdin; returns its stdout.
fn exec(cmd: &str, input: Vec<u8>) -> Result<Vec<u8>, Exit> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Exit::failed(format!("cannot run `sh -c {cmd:?}`: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    // Write from another thread: a command may print before it has read all its input.
    // A command that does not read its input at all (`echo hi`) closes the pipe: not an error.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&input);
    });
    let out = child.wait_with_output().map_err(|e| Exit::failed(format!("cannot run `sh -c {cmd:?}`: {e}")))?;
    let _ = writer.join();
    if !out.status.success() {
        eprintln!("oxmq: warning: `{cmd}` failed ({}); replying with its output all the same", out.status);
    }
    Ok(out.stdout)
}
