//! The messaging commands of `oxmq` (everything but `bench`), one module per command family:
//! - `send_recv`: `send`, `recv` and their `pub` / `sub` shorthands;
//! - `reqrep`: `req` (with lazy-pirate `--retries`), `rep` and `router` (echo, `--exec CMD`
//!   or `--exec-raw CMD`);
//! - `duplex`: `pair` and `dealer`, sending and receiving at the same time;
//! - `proxy`: `proxy FRONT BACK [--capture SPEC]`;
//! - `monitor`: print a socket's connection events;
//! - `soak`: a load and soak run of the library (pipeline with stalls, connect/disconnect churn).
//!
//! Shared pieces: `spec` parses socket types and `TYPE@ENDPOINT` specs, `input` reads the
//! messages to send (`--in`), `format` prints received ones (`-f`), `sockopt` is `--opt
//! NAME=VALUE` and `oxmq options`, `security` the PLAIN/CURVE flags and the authenticator of a
//! server (`--curve-server`, `--curve-allow`, `--plain-users`, ...), `interrupt` handles
//! SIGINT/SIGTERM, and this file holds the exit codes, the common arguments and the socket
//! set-up.

pub mod duplex;
pub mod format;
pub mod input;
pub mod interrupt;
pub mod keygen;
pub mod monitor;
pub mod proxy;
pub mod reqrep;
pub mod security;
pub mod send_recv;
pub mod soak;
pub mod sockopt;
pub mod spec;

use clap::Args;
use oxmq::{Context, Socket, SocketType};
use sockopt::{OPT_HELP, SockOpt, parse_opt};

/// How a command ends when it does not succeed: an exit code and a message for stderr.
#[derive(Debug)]
pub struct Exit {
    /// The process exit code (see [`EXIT_CODES`]).
    pub code: u8,
    /// What went wrong, printed as `oxmq COMMAND: MESSAGE`.
    pub message: String,
}

/// Exit code: a `--timeout` expired, nothing (or not enough) was received.
pub const TIMED_OUT: u8 = 1;
/// Exit code: bad arguments, unknown socket type, bad endpoint, bind or connect failed.
pub const SETUP: u8 = 2;
/// Exit code: a send or receive failed while running, `--exec` could not be run, or input
/// could not be read.
pub const FAILED: u8 = 3;
/// Exit code: `req --retries N`: a request still had no reply after N retries.
pub const GAVE_UP: u8 = 5;

/// The exit codes as `oxmq --help` documents them.
pub const EXIT_CODES: &str = "\
Exit codes:
  0  success
  1  timed out: a --timeout expired before --count messages (recv, sub, rep, monitor), before
     a reply (req), or while a send was blocked; recv without --count exits 1 only if
     nothing at all arrived
  2  usage or setup error: bad arguments, unknown socket type or --opt, a type that cannot
     do what the command needs, bad endpoint, bind or connect failure, malformed --in input
  3  failure while running: a send or receive failed, --exec could not be run, stdin or
     stdout failed
  4  soak: a check failed (messages lost, duplicated or corrupt, memory over its bound or
     growing, descriptors left open, a request without its reply)
  5  req --retries N: a request had no reply after N retries (the server is gone)
  130, 143  interrupted by SIGINT (Ctrl-C) or SIGTERM: the sockets were closed and LINGER
     delivered what they had accepted; a second signal exits at once";

impl Exit {
    pub fn timed_out(message: impl Into<String>) -> Exit {
        Exit { code: TIMED_OUT, message: message.into() }
    }
    pub fn setup(message: impl Into<String>) -> Exit {
        Exit { code: SETUP, message: message.into() }
    }
    pub fn failed(message: impl Into<String>) -> Exit {
        Exit { code: FAILED, message: message.into() }
    }
}

/// What a command returns.
pub type CmdResult = Result<(), Exit>;

/// Where a socket binds and connects (at least one endpoint).
#[derive(Debug, Clone, Args)]
#[group(required = true, multiple = true)]
pub struct Endpoints {
    /// Bind to ENDPOINT (repeatable): tcp://*:5555, tcp://127.0.0.1:* (a free port, printed
    /// on stderr), ipc:///tmp/sock, ipc://@abstract-name.
    #[arg(short = 'b', long = "bind", value_name = "ENDPOINT")]
    pub bind: Vec<String>,
    /// Connect to ENDPOINT (repeatable): tcp://host:5555, ipc:///tmp/sock, ... The peer need
    /// not be there yet: the socket keeps trying.
    #[arg(short = 'c', long = "connect", value_name = "ENDPOINT")]
    pub connect: Vec<String>,
}

/// The socket options every messaging command takes.
#[derive(Debug, Clone, Args)]
pub struct SocketArgs {
    #[command(flatten)]
    pub endpoints: Endpoints,
    /// Set the socket's routing id (what a ROUTER peer sees as the first frame).
    #[arg(long, value_name = "ID")]
    pub routing_id: Option<String>,
    /// Print each bind and connect on stderr (`oxmq: bound ENDPOINT`, `oxmq: connected
    /// ENDPOINT`), and the library's log lines (dropped connections, refused handshakes) at
    /// debug level unless --log or RUST_LOG says otherwise. A bind to a wildcard port (`:*`,
    /// `:0`) is always printed.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    #[arg(long = "opt", value_name = "NAME=VALUE", value_parser = parse_opt, help = OPT_HELP)]
    pub opts: Vec<SockOpt>,
    #[command(flatten)]
    pub security: security::SecurityArgs,
}

/// A `--timeout` in milliseconds as a socket option value (-1: none).
pub fn timeout_ms(timeout: Option<u32>) -> i32 {
    timeout.map_or(-1, |t| i32::try_from(t).unwrap_or(i32::MAX))
}

pub use interrupt::{context, sleep_ms};

/// Turns a setup-time library error into exit code 2.
pub fn setup_err(what: impl std::fmt::Display) -> impl FnOnce(oxmq::Error) -> Exit {
    move |e| Exit::setup(format!("{what}: {e}"))
}

/// Creates a socket of type `ty`, sets the common options, lets `configure` set more (before
/// any bind or connect, as subscriptions and timeouts should be), sets up its security (and a
/// server's authenticator), sets the `--opt`s (last, so that they override what the command
/// chose), then binds and connects.
pub fn open(
    ctx: &Context,
    ty: SocketType,
    args: &SocketArgs,
    configure: impl FnOnce(&Socket) -> CmdResult,
) -> Result<Socket, Exit> {
    let socket = ctx.socket(ty).map_err(setup_err(format_args!("cannot create a {ty} socket")))?;
    if let Some(id) = &args.routing_id {
        socket.set_routing_id(id.as_bytes()).map_err(setup_err(format_args!("bad --routing-id {id:?}")))?;
    }
    configure(&socket)?;
    security::apply(ctx, &socket, &args.security, args.verbose)?;
    sockopt::apply(&socket, &args.opts)?;
    attach(&socket, &args.endpoints.bind, &args.endpoints.connect, args.verbose)?;
    Ok(socket)
}

/// Binds `socket` to each of `bind` and connects it to each of `connect`, reporting on stderr
/// as [`SocketArgs::verbose`] says.
pub fn attach(socket: &Socket, bind: &[String], connect: &[String], verbose: bool) -> CmdResult {
    for ep in bind {
        socket.bind(ep).map_err(setup_err(format_args!("cannot bind to {ep:?}")))?;
        if verbose || is_wildcard_port(ep) {
            let resolved = socket.last_endpoint().unwrap_or_else(|_| ep.clone());
            eprintln!("oxmq: bound {resolved}");
        }
    }
    for ep in connect {
        socket.connect(ep).map_err(setup_err(format_args!("cannot connect to {ep:?}")))?;
        if verbose {
            eprintln!("oxmq: connected {ep}");
        }
    }
    Ok(())
}

/// Whether binding `ep` picks a port (or path) the user cannot know in advance.
fn is_wildcard_port(ep: &str) -> bool {
    ep.ends_with(":*") || ep.ends_with(":0") || ep == "ipc://*"
}

/// Whether a socket of this type can send messages.
pub fn can_send(t: SocketType) -> bool {
    !matches!(t, SocketType::Pull | SocketType::Sub)
}

/// Whether a socket of this type can receive messages.
pub fn can_recv(t: SocketType) -> bool {
    !matches!(t, SocketType::Push | SocketType::Pub)
}
