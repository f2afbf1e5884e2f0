//! `oxmq proxy FRONTEND BACKEND [--capture SPEC] [--control SPEC]`: libzmq's `zmq_proxy`
//! between two sockets given as czmq-style specs (`router@tcp://*:5559`).

use super::security::SecurityArgs;
use super::sockopt::SockOpt;
use super::spec::{SPEC_HELP, SocketSpec};
use super::{CmdResult, Exit, attach, can_recv, can_send, setup_err};
use clap::Args;
use oxmq::{Context, Socket, SocketType};

/// Options of `oxmq proxy`.
#[derive(Debug, Args)]
#[command(after_help = format!("{SPEC_HELP}\n\n{PROXY_EXAMPLES}"))]
pub struct ProxyArgs {
    /// The frontend socket, e.g. 'router@tcp://*:5559' (clients connect here).
    #[arg(value_name = "FRONTEND")]
    pub frontend: SocketSpec,
    /// The backend socket, e.g. 'dealer@tcp://*:5560' (workers connect here).
    #[arg(value_name = "BACKEND")]
    pub backend: SocketSpec,
    /// Also send every message that passes, either way, to this socket (a PUB, PUSH, PAIR or
    /// DEALER, say), e.g. --capture 'pub@tcp://*:5570'.
    #[arg(long, value_name = "SPEC")]
    pub capture: Option<SocketSpec>,
    /// Steer the proxy from this socket (a REP or PAIR) as zmq_proxy_steerable: the messages
    /// PAUSE, RESUME, TERMINATE (the proxy exits 0) and STATISTICS (eight u64 counters).
    #[arg(long, value_name = "SPEC")]
    pub control: Option<SocketSpec>,
    /// Print each bind and connect on stderr (`oxmq: bound ENDPOINT`, `oxmq: connected
    /// ENDPOINT`), in the order frontend, backend, capture, control. A bind to a wildcard port
    /// (`:*`) is always printed.
    #[arg(short = 'v', long)]
    pub verbose: bool,
    /// Set a socket option (libzmq's name, as for the other commands) on the frontend and
    /// the backend, e.g. --opt sndhwm=100000 --opt linger=0; repeatable.
    #[arg(long = "opt", value_name = "NAME=VALUE", value_parser = super::sockopt::parse_opt)]
    pub opts: Vec<super::sockopt::SockOpt>,
    /// PLAIN or CURVE on the frontend (where clients connect); the backend stays NULL.
    #[command(flatten)]
    pub security: SecurityArgs,
}

const PROXY_EXAMPLES: &str = "\
The proxy runs until it is killed (Ctrl-C) or, with --control, told TERMINATE. A SUB
frontend or backend subscribes to everything. The security flags (--curve-server,
--plain-server, --curve-serverkey, ...) apply to the frontend only.

Examples:
  oxmq proxy 'router@tcp://*:5559' 'dealer@tcp://*:5560'     # request-reply broker
  oxmq proxy 'xsub@tcp://*:5557' 'xpub@tcp://*:5558'         # pub-sub forwarder
  oxmq proxy 'pull@tcp://*:5557' 'push@tcp://*:5558' --capture 'pub@tcp://*:5570'
  oxmq proxy 'router@tcp://*:5559' 'dealer@tcp://*:5560' --opt sndhwm=100000 --opt rcvhwm=100000
  oxmq proxy 'router@ipc:///tmp/front' 'dealer>tcp://backend:5560' --control 'rep@ipc:///tmp/ctl'
  oxmq req -c ipc:///tmp/ctl TERMINATE                         # then: stop that proxy
  oxmq proxy 'router@tcp://*:5559' 'dealer@ipc:///tmp/workers' --curve-server \
      --curve-secretkey \"$SERVER_SECRET\" --curve-allow-dir clients/   # CURVE clients only";

/// Creates, binds and connects the socket `spec` describes (its role names it in errors),
/// secured as `security` says, if given.
fn open(
    ctx: &Context,
    spec: &SocketSpec,
    role: &str,
    verbose: bool,
    opts: &[SockOpt],
    security: Option<&SecurityArgs>,
) -> Result<Socket, Exit> {
    let ty = spec.ty;
    let socket = ctx.socket(ty).map_err(setup_err(format_args!("cannot create the {role} ({ty}) socket")))?;
    if ty == SocketType::Sub {
        socket.subscribe("").map_err(setup_err(format_args!("cannot subscribe the {role} socket")))?;
    }
    if let Some(security) = security {
        super::security::apply(ctx, &socket, security, verbose)
            .map_err(|e| Exit { message: format!("{role}: {}", e.message), ..e })?;
    }
    super::sockopt::apply(&socket, opts).map_err(|e| Exit { message: format!("{role}: {}", e.message), ..e })?;
    attach(&socket, &spec.bind, &spec.connect, verbose)
        .map_err(|e| Exit { message: format!("{role}: {}", e.message), ..e })?;
    Ok(socket)
}

/// `oxmq proxy`.
pub fn proxy(a: &ProxyArgs) -> CmdResult {
    for (spec, role) in [(&a.frontend, "frontend"), (&a.backend, "backend")] {
        if !can_send(spec.ty) && !can_recv(spec.ty) {
            return Err(Exit::setup(format!("the {role} cannot be a {} socket", spec.ty)));
        }
    }
    if let Some(spec) = &a.capture {
        if !can_send(spec.ty) {
            return Err(Exit::setup(format!("the capture socket must be able to send, and {} cannot", spec.ty)));
        }
    }
    if let Some(spec) = &a.control {
        if !matches!(spec.ty, SocketType::Rep | SocketType::Pair) {
            return Err(Exit::setup(format!("the control socket must be a REP or PAIR, not {}", spec.ty)));
        }
    }
    let ctx = super::context();
    let frontend = open(&ctx, &a.frontend, "frontend", a.verbose, &a.opts, Some(&a.security))?;
    let backend = open(&ctx, &a.backend, "backend", a.verbose, &a.opts, None)?;
    let capture = a.capture.as_ref().map(|s| open(&ctx, s, "capture", a.verbose, &[], None)).transpose()?;
    let control = a.control.as_ref().map(|s| open(&ctx, s, "control", a.verbose, &[], None)).transpose()?;
    let result = match &control {
        Some(control) => oxmq::proxy_steerable(&frontend, &backend, capture.as_deref(), control),
        None => oxmq::proxy(&frontend, &backend, capture.as_deref()),
    };
    result.map_err(|e| Exit::failed(format!("the proxy stopped: {e}")))
}
