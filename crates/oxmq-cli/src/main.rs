//! `oxmq`: command-line front end. Messaging commands (`send`, `recv`, `pub`, `sub`, `req`,
//! `rep`, `router`, `pair`, `dealer`, `proxy`, `monitor`, `options`, `soak`) live in `cmd/`;
//! `oxmq bench` compares oxmq with libzmq.

mod bench;
mod cmd;
mod runner;

use clap::{Parser, Subcommand};
use cmd::duplex::DuplexArgs;
use cmd::monitor::MonitorArgs;
use cmd::proxy::ProxyArgs;
use cmd::reqrep::{ReqArgs, ServeArgs};
use cmd::send_recv::{RecvArgs, RecvOpts, SendArgs, SendOpts};
use cmd::sockopt::OptionsArgs;
use oxmq::SocketType;
use std::process::ExitCode;

const EXAMPLES: &str = "\
Examples:
  oxmq recv --bind tcp://*:5555                      # a PULL socket: print each message
  oxmq send --connect tcp://localhost:5555 hello world
  seq 3 | oxmq send -c tcp://localhost:5555          # one message per stdin line
  oxmq recv -t router -b ipc:///tmp/r -f hex         # print routing id + frames in hex
  oxmq send -t dealer -c ipc:///tmp/r -s '|' 'two|frames'
  oxmq sub --bind tcp://*:5556 --subscribe weather
  oxmq pub --connect tcp://localhost:5556 --delay 500 'weather sunny'
  oxmq rep --bind tcp://*:5557 --exec 'tr a-z A-Z'
  oxmq req --connect tcp://localhost:5557 hello      # prints HELLO
  oxmq req -c tcp://localhost:5557 --timeout 2500 --retries 3 hello   # lazy pirate
  oxmq req -c tcp://localhost:5557 --in file image.raw -f raw > reply.raw
  oxmq rep -b tcp://*:5557 --exec-raw 'gzip -c'        # binary in, binary out
  oxmq router -b tcp://*:5558 --exec 'tr a-z A-Z'     # serve REQ and DEALER clients
  oxmq dealer -c tcp://localhost:5558 --delimiter one two   # send both, print both replies
  oxmq pair -b ipc:///tmp/pair.ipc                     # a PAIR conversation on the terminal
  oxmq send -c tcp://localhost:5555 --opt sndhwm=10 --opt linger=0 --in hex 00ff0a
  oxmq options -t req --opt req_relaxed=1             # the options a socket has
  oxmq proxy 'router@tcp://*:5559' 'dealer@tcp://*:5560'
  oxmq monitor --type rep --bind tcp://*:5557 --log debug
Run `oxmq COMMAND --help` for each command's options and more examples.";

#[derive(Debug, Parser)]
#[command(
    name = "oxmq",
    version,
    about = "oxmq command-line tools: send, receive, serve, proxy and watch ZeroMQ messages",
    long_about = "oxmq command-line tools: send, receive, serve, proxy and watch ZeroMQ messages.\n\n\
        Each command binds (--bind) and/or connects (--connect) one socket to tcp://, ipc:// \
        endpoints, and talks ZMTP 3 with libzmq and every other ZeroMQ implementation. \
        Messages to send come from the arguments or, if none, from stdin (one per line; \
        --in raw|hex|json|file for binary messages); received messages are printed one per \
        line (-f text|hex|json, or raw bytes). Any socket option by its libzmq name: \
        --opt NAME=VALUE. Ctrl-C (SIGINT) and SIGTERM close the sockets, letting LINGER \
        deliver what they accepted, and exit 130 / 143; a second one exits at once. \
        The library's log lines (why a connection was dropped, a handshake refused) go to \
        stderr with -v (debug), --log LEVEL or RUST_LOG (e.g. RUST_LOG=oxmq=trace).",
    after_help = format!("{EXAMPLES}\n\n{}\n\n{}", cmd::security::SECURITY_HELP, cmd::EXIT_CODES),
)]
struct Cli {
    /// Print the library's log lines at LEVEL and above on stderr: error, warn, info, debug,
    /// trace, or a RUST_LOG-style filter such as oxmq=debug [default: RUST_LOG if set, else
    /// debug with -v, else nothing].
    #[arg(long, value_name = "LEVEL", global = true)]
    log: Option<String>,
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Send messages (arguments, or stdin lines) on a socket of any type (default PUSH).
    #[command(after_help = "\
Examples:
  oxmq send -c tcp://localhost:5555 one two three    # three messages on a PUSH socket
  tail -f log | oxmq send -c tcp://localhost:5555    # each line as it comes
  oxmq send -t pub -b tcp://*:5556 -d 1000 -i 100 -n 50 tick   # 'tick' 50 times
  oxmq send -t router -b tcp://*:5555 -s '|' 'peer1|hello'     # to routing id peer1
  oxmq send -c ipc:///tmp/q --timeout 2000 x          # exit 1 if no peer takes it")]
    Send(SendArgs),
    /// Receive messages on a socket of any type (default PULL) and print them.
    #[command(after_help = "\
Examples:
  oxmq recv -b tcp://*:5555                          # print every message
  oxmq recv -b tcp://*:5555 -n 1 --timeout 5000      # one message, or exit 1 after 5 s
  oxmq recv -t router -b tcp://*:5555 -f hex         # routing id frame first, in hex
  oxmq recv -c tcp://localhost:5555 -f json          # [\"frame\",{\"hex\":\"00ff\"}]
  oxmq recv -t sub -c tcp://localhost:5556 --subscribe a --subscribe b")]
    Recv(RecvArgs),
    /// Publish messages: `oxmq send --type PUB`.
    #[command(after_help = "\
PUB drops messages for subscribers that have not connected and subscribed yet (the slow
joiner): bind the SUB side first, or give --delay, or repeat with --count and --interval.

Examples:
  oxmq pub -c tcp://localhost:5556 -d 500 'weather sunny' 'sport 2-1'
  oxmq pub -b tcp://*:5556 -d 1000 -i 1000 -n 3600 heartbeat")]
    Pub(SendOpts),
    /// Subscribe and print messages: `oxmq recv --type SUB`.
    #[command(after_help = "\
Examples:
  oxmq sub -b tcp://*:5556                           # everything
  oxmq sub -c tcp://localhost:5556 --subscribe weather -n 1 --timeout 10000")]
    Sub(RecvOpts),
    /// Send requests on a REQ socket and print each reply; retry as the lazy pirate does.
    #[command(after_help = "\
Examples:
  oxmq req -c tcp://localhost:5557 hello             # print the reply
  oxmq req -c tcp://localhost:5557 --timeout 3000 ping   # exit 1 without a reply in 3 s
  printf 'a\\nb\\n' | oxmq req -c ipc:///tmp/echo        # one request per line
  oxmq req -c tcp://localhost:5557 --in file img.raw -f raw > out.raw   # binary, unchanged
  oxmq req -c tcp://localhost:5557 --timeout 2500 --retries 3 ping
      # lazy pirate: no reply in 2.5 s -> new socket, resend; exit 5 after 3 retries
  oxmq req -c tcp://localhost:5557 --timeout 2500 --retries 3 --relaxed ping
      # resend on the same socket (REQ_RELAXED + REQ_CORRELATE)
  oxmq req -c tcp://localhost:5557 --curve-serverkey \"$SERVER_PUBLIC\" \\
      --curve-secretkey \"$CLIENT_SECRET\" --timeout 5000 hello   # CURVE, a known client")]
    Req(ReqArgs),
    /// Serve requests on a REP socket: echo them, or reply with a command's output.
    #[command(after_help = "\
Examples:
  oxmq rep -b tcp://*:5557                           # echo server
  oxmq rep -b tcp://*:5557 --exec 'tr a-z A-Z'       # reply in upper case
  oxmq rep -b tcp://*:5557 -q --exec 'wc -c' -n 10   # answer 10 requests, then exit
  oxmq rep -b tcp://*:5557 -q --exec-raw 'convert - -flip -'   # binary request and reply
  oxmq rep -b tcp://*:5557 --curve-server --curve-secretkey \"$SERVER_SECRET\" \\
      --curve-allow \"$CLIENT_PUBLIC\"                  # CURVE, admitting one client
  oxmq rep -b tcp://*:5557 --plain-server --plain-users users.txt   # lines user=password")]
    Rep(ServeArgs),
    /// Serve requests on a ROUTER socket, as `rep` does: each reply goes back with its
    /// request's envelope (routing id, and the empty delimiter if the client sent one), so
    /// REQ and DEALER clients are served alike.
    #[command(after_help = "\
Examples:
  oxmq router -b tcp://*:5558                        # echo server for REQ and DEALER clients
  oxmq router -b tcp://*:5558 --exec 'tr a-z A-Z' -q
  oxmq router -b tcp://*:5558 --exec-raw 'sha256sum' -n 100")]
    Router(ServeArgs),
    /// Talk on a PAIR socket: send the messages (arguments or stdin) and print every message
    /// received, at the same time, until the input has ended and the replies are in.
    #[command(after_help = "\
Examples:
  oxmq pair -b ipc:///tmp/pair.ipc                   # type lines, see the peer's
  oxmq pair -c ipc:///tmp/pair.ipc ping              # send ping, print one reply, exit
  oxmq pair -c tcp://localhost:15555 -n 0 hello      # send and exit, expecting nothing")]
    Pair(DuplexArgs),
    /// Talk on a DEALER socket: send the messages and print every message received, at the
    /// same time, until the input has ended and as many replies as requests are in.
    #[command(after_help = "\
Examples:
  oxmq dealer -c tcp://localhost:8000 --delimiter one two three   # a ROUTER server's client
  seq 100 | oxmq dealer -c tcp://localhost:5557 --delimiter -q    # 100 requests to a REP
  oxmq dealer -c tcp://localhost:8000 -s '|' 'a|b' --timeout 5000")]
    Dealer(DuplexArgs),
    /// Forward messages between a frontend and a backend socket (zmq_proxy), optionally
    /// copying them to a capture socket.
    Proxy(ProxyArgs),
    /// Print a socket's connection events (libzmq's socket monitor) as they happen.
    Monitor(MonitorArgs),
    /// List the socket options `--opt` takes (libzmq's names and ids), with the values a
    /// socket of --type holds after the given --opts.
    #[command(after_help = "\
Output: one line per option, NAME<TAB>ID<TAB>TYPE<TAB>VALUE (VALUE `-` for write-only ones,
`(hidden)` for curve_secretkey and plain_password without --show-secrets). TYPE is int, bool,
int64, bytes, text or key; bytes and text print as text, or as hex:DIGITS when they are not
printable text; keys as Z85.

Examples:
  oxmq options                                       # every option and its default
  oxmq options -t req --opt req_relaxed=1 --opt linger=0
  oxmq options -t dealer --opt routing_id=hex:ff000a --opt curve_server=1")]
    Options(OptionsArgs),
    /// Make a CURVE key pair: the public key on the first line, the secret key on the second
    /// (Z85, 40 characters each), nothing else on stdout.
    #[command(after_help = "\
Examples:
  oxmq keygen > server.keys                          # public key, then secret key
  { read -r public; read -r secret; } < server.keys  # use them in a script")]
    Keygen,
    /// Load and soak run: a PUSH -> workers -> PULL pipeline with random stalls (every
    /// message must arrive exactly once, memory must stay under a bound from the HWMs), then
    /// connect/disconnect churn (memory and descriptors must stay flat).
    #[command(after_help = "\
Examples:
  oxmq soak --messages 10000000 --transport tcp      # then 10000 churn cycles
  oxmq soak --duration 2h --report-secs 60 --cycles 100000
  oxmq soak --phase pipeline --transport inproc --workers 8 --max-size 65536
  oxmq soak --phase churn --cycles 100000 --json

Exit 0 if every check passed, 4 with the reasons on stderr if one failed.")]
    Soak(cmd::soak::SoakArgs),
    /// Run the perf tools of oxmq and libzmq side by side (throughput, latency, the raw-TCP
    /// ceiling, PUB/SUB, scaling with peers, memory) and print markdown tables; save or
    /// compare a baseline of oxmq's figures (the regression check).
    ///
    /// Build the tools first:
    /// cargo build --release -p oxmq-cli -p oxmq-libzmq-perf
    Bench(bench::BenchArgs),
}

/// Whether the command was given `-v`.
fn verbose(c: &Command) -> bool {
    match c {
        Command::Send(a) => a.opts.socket.verbose,
        Command::Recv(a) => a.opts.socket.verbose,
        Command::Pub(o) => o.socket.verbose,
        Command::Sub(o) => o.socket.verbose,
        Command::Req(a) => a.socket.verbose,
        Command::Rep(a) | Command::Router(a) => a.socket.verbose,
        Command::Pair(a) | Command::Dealer(a) => a.socket.verbose,
        Command::Proxy(a) => a.verbose,
        Command::Monitor(a) => a.socket.verbose,
        Command::Options(_) | Command::Keygen | Command::Soak(_) | Command::Bench(_) => false,
    }
}

/// Sends the library's tracing events to stderr: `--log` wins, then RUST_LOG, then `-v`
/// (debug); with none of them nothing is printed.
fn init_logging(log: Option<&str>, verbose: bool) -> Result<(), String> {
    use tracing_subscriber::EnvFilter;
    const LEVELS: [&str; 6] = ["off", "error", "warn", "info", "debug", "trace"];
    if let Some(level) = log.filter(|l| !l.contains(['=', ',']) && !LEVELS.contains(&l.to_ascii_lowercase().as_str())) {
        return Err(format!(
            "bad --log {level:?}: expected a level ({}) or a RUST_LOG-style filter such as oxmq=debug",
            LEVELS.join(", ")
        ));
    }
    let filter = match (log, std::env::var("RUST_LOG").ok().filter(|v| !v.is_empty())) {
        (Some(level), _) => EnvFilter::try_new(level).map_err(|e| format!("bad --log {level:?}: {e}"))?,
        (None, Some(env)) => EnvFilter::try_new(&env).map_err(|e| format!("bad RUST_LOG {env:?}: {e}"))?,
        (None, None) if verbose => EnvFilter::new("debug"),
        (None, None) => return Ok(()),
    };
    use std::io::IsTerminal;
    tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    Ok(())
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if let Err(e) = init_logging(cli.log.as_deref(), verbose(&cli.command)) {
        eprintln!("oxmq: {e}");
        return ExitCode::from(cmd::SETUP);
    }
    if !matches!(cli.command, Command::Bench(_) | Command::Soak(_)) {
        if let Err(e) = cmd::interrupt::install() {
            eprintln!("oxmq: cannot handle SIGINT/SIGTERM: {e}");
            return ExitCode::from(cmd::FAILED);
        }
    }
    let (name, result) = match &cli.command {
        Command::Send(a) => ("send", cmd::send_recv::send(a.ty, &a.opts)),
        Command::Recv(a) => ("recv", cmd::send_recv::recv(a.ty, &a.opts)),
        Command::Pub(o) => ("pub", cmd::send_recv::send(SocketType::Pub, o)),
        Command::Sub(o) => ("sub", cmd::send_recv::recv(SocketType::Sub, o)),
        Command::Req(a) => ("req", cmd::reqrep::req(a)),
        Command::Rep(a) => ("rep", cmd::reqrep::serve(SocketType::Rep, a)),
        Command::Router(a) => ("router", cmd::reqrep::serve(SocketType::Router, a)),
        Command::Pair(a) => ("pair", cmd::duplex::duplex(SocketType::Pair, a)),
        Command::Dealer(a) => ("dealer", cmd::duplex::duplex(SocketType::Dealer, a)),
        Command::Proxy(a) => ("proxy", cmd::proxy::proxy(a)),
        Command::Monitor(a) => ("monitor", cmd::monitor::monitor(a)),
        Command::Options(a) => ("options", cmd::sockopt::options(a)),
        Command::Keygen => ("keygen", cmd::keygen::keygen()),
        Command::Soak(a) => ("soak", cmd::soak::soak(a)),
        Command::Bench(args) => {
            return match bench::run(args) {
                Ok(0) => ExitCode::SUCCESS,
                Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
                Err(e) => {
                    eprintln!("error: {e}");
                    ExitCode::from(2)
                }
            };
        }
    };
    // The authenticator of a server's socket goes before the context it is bound in.
    cmd::security::stop();
    // The command's sockets are closed; wait for their LINGER, then see whether a signal
    // ended the command (its error is then only the signal's doing).
    if let Some((code, signal)) = cmd::interrupt::finish() {
        let sent = cmd::interrupt::sent();
        let sent =
            if sent > 0 { format!("; the {sent} messages sent were delivered or lingered out") } else { String::new() };
        eprintln!("oxmq {name}: interrupted by {signal}{sent}");
        return ExitCode::from(code);
    }
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oxmq {name}: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
