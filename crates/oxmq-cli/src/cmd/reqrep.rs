//! `oxmq req` (send each request, print each reply) and `oxmq rep` (echo each request, or
//! reply with the output of `--exec CMD`).

use super::format::{DEFAULT_SEPARATOR, FORMAT_HELP, Format, Printer, input_messages, split_frames};
use super::send_recv::{parse_separator, stdout_closed, timed_out};
use super::{CmdResult, Exit, SocketArgs, open, setup_err, timeout_ms};
use clap::Args;
use oxmq::{Bytes, Context, Socket, SocketType};
use std::io::Write;
use std::process::{Command, Stdio};

/// Options of `oxmq req`.
#[derive(Debug, Args)]
pub struct ReqArgs {
    #[command(flatten)]
    pub socket: SocketArgs,
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
    /// be sent for that long).
    #[arg(long, value_name = "MS")]
    pub timeout: Option<u32>,
    /// The requests; none: read them from stdin, one per line.
    #[arg(value_name = "MESSAGE")]
    pub messages: Vec<String>,
}

/// Options of `oxmq rep`.
#[derive(Debug, Args)]
pub struct RepArgs {
    #[command(flatten)]
    pub socket: SocketArgs,
    /// Reply with the output of CMD, run by `sh -c CMD` for each request: it reads the request
    /// on stdin (its frames joined by the separator, then a newline), and its stdout, less
    /// one trailing newline, is the reply (split into frames at --separator if given). Its
    /// stderr is ours; a failing CMD is reported on stderr and its output still sent.
    /// Without --exec, each request is echoed back as it came.
    #[arg(short = 'e', long, value_name = "CMD")]
    pub exec: Option<String>,
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
    let ctx = Context::new();
    let socket = open(&ctx, SocketType::Req, &a.socket, |s| set_timeouts(s, a.timeout))?;
    let printer = Printer::new(a.format, a.separator.as_deref());
    let sep = a.separator.as_deref().map(str::as_bytes);
    let ms = timeout_ms(a.timeout);
    for (i, msg) in input_messages(&a.messages, a.count).enumerate() {
        let n = i + 1;
        let msg = msg.map_err(|e| Exit::failed(format!("cannot read stdin: {e}")))?;
        match socket.send_multipart(split_frames(&msg, sep)) {
            Ok(()) => {}
            Err(oxmq::Error::Again) => {
                return Err(Exit::timed_out(format!("timed out: request {n} could not be sent within {ms} ms")));
            }
            Err(e) => return Err(Exit::failed(format!("cannot send request {n}: {e}"))),
        }
        match socket.recv_multipart() {
            Ok(reply) => {
                if let Err(e) = printer.print(&reply) {
                    return stdout_closed(e);
                }
            }
            Err(oxmq::Error::Again) => {
                return Err(Exit::timed_out(format!("timed out: no reply to request {n} within {ms} ms")));
            }
            Err(e) => return Err(Exit::failed(format!("cannot receive the reply to request {n}: {e}"))),
        }
    }
    Ok(())
}

/// `oxmq rep`.
pub fn rep(a: &RepArgs) -> CmdResult {
    let ctx = Context::new();
    let socket = open(&ctx, SocketType::Rep, &a.socket, |s| set_timeouts(s, a.timeout))?;
    let printer = Printer::new(a.format, a.separator.as_deref());
    let sep = a.separator.as_deref().unwrap_or(DEFAULT_SEPARATOR).as_bytes();
    let mut handled = 0u64;
    let mut stdout_open = true;
    while a.count.is_none_or(|n| handled < n) {
        let request = match socket.recv_multipart() {
            Ok(r) => r,
            Err(oxmq::Error::Again) => return timed_out(handled, a.count, timeout_ms(a.timeout), "request"),
            Err(e) => return Err(Exit::failed(format!("cannot receive a request: {e}"))),
        };
        if !a.quiet && stdout_open {
            if let Err(e) = printer.print(&request) {
                stdout_closed(e)?;
                stdout_open = false;
            }
        }
        let reply = match &a.exec {
            None => request,
            Some(cmd) => {
                let out = exec(cmd, &join(&request, sep))?;
                split_frames(&out, a.separator.as_deref().map(str::as_bytes)).into_iter().map(Bytes::from).collect()
            }
        };
        socket.send_multipart(reply).map_err(|e| Exit::failed(format!("cannot send the reply: {e}")))?;
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

/// Runs `sh -c cmd` with `input` and a newline on its stdin; returns its stdout less one
/// trailing newline.
fn exec(cmd: &str, input: &[u8]) -> Result<Vec<u8>, Exit> {
    let mut child = Command::new("sh")
        .arg("-c")
        .arg(cmd)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::inherit())
        .spawn()
        .map_err(|e| Exit::failed(format!("cannot run `sh -c {cmd:?}`: {e}")))?;
    let mut stdin = child.stdin.take().expect("piped stdin");
    let mut line = input.to_vec();
    line.push(b'\n');
    // Write from another thread: a command may print before it has read all its input.
    // A command that does not read its input at all (`echo hi`) closes the pipe: not an error.
    let writer = std::thread::spawn(move || {
        let _ = stdin.write_all(&line);
    });
    let out = child.wait_with_output().map_err(|e| Exit::failed(format!("cannot run `sh -c {cmd:?}`: {e}")))?;
    let _ = writer.join();
    if !out.status.success() {
        eprintln!("oxmq rep: warning: `{cmd}` failed ({}); replying with its output all the same", out.status);
    }
    let mut reply = out.stdout;
    if reply.last() == Some(&b'\n') {
        reply.pop();
    }
    Ok(reply)
}
