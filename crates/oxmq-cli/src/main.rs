//! `oxmq`: command-line front end. Messaging commands (`send`, `recv`, `pub`, `sub`, `req`,
//! `rep`, `proxy`, `monitor`, `soak`) live in `cmd/`; `oxmq bench` compares oxmq with libzmq.

mod bench;
mod cmd;
mod runner;

use clap::{Parser, Subcommand};
use cmd::monitor::MonitorArgs;
use cmd::proxy::ProxyArgs;
use cmd::reqrep::{RepArgs, ReqArgs};
use cmd::send_recv::{RecvArgs, RecvOpts, SendArgs, SendOpts};
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
  oxmq proxy 'router@tcp://*:5559' 'dealer@tcp://*:5560'
  oxmq monitor --type rep --bind tcp://*:5557
Run `oxmq COMMAND --help` for each command's options and more examples.";

#[derive(Debug, Parser)]
#[command(
    name = "oxmq",
    version,
    about = "oxmq command-line tools: send, receive, serve, proxy and watch ZeroMQ messages",
    long_about = "oxmq command-line tools: send, receive, serve, proxy and watch ZeroMQ messages.\n\n\
        Each command binds (--bind) and/or connects (--connect) one socket to tcp://, ipc:// \
        endpoints, and talks ZMTP 3 with libzmq and every other ZeroMQ implementation. \
        Messages to send come from the arguments or, if none, from stdin (one per line); \
        received messages are printed one per line.",
    after_help = format!("{EXAMPLES}\n\n{}", cmd::EXIT_CODES),
)]
struct Cli {
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
    /// Send requests on a REQ socket and print each reply.
    #[command(after_help = "\
Examples:
  oxmq req -c tcp://localhost:5557 hello             # print the reply
  oxmq req -c tcp://localhost:5557 --timeout 3000 ping   # exit 1 without a reply in 3 s
  printf 'a\\nb\\n' | oxmq req -c ipc:///tmp/echo        # one request per line")]
    Req(ReqArgs),
    /// Serve requests on a REP socket: echo them, or reply with a command's output.
    #[command(after_help = "\
Examples:
  oxmq rep -b tcp://*:5557                           # echo server
  oxmq rep -b tcp://*:5557 --exec 'tr a-z A-Z'       # reply in upper case
  oxmq rep -b tcp://*:5557 -q --exec 'wc -c' -n 10   # answer 10 requests, then exit")]
    Rep(RepArgs),
    /// Forward messages between a frontend and a backend socket (zmq_proxy), optionally
    /// copying them to a capture socket.
    Proxy(ProxyArgs),
    /// Print a socket's connection events (libzmq's socket monitor) as they happen.
    Monitor(MonitorArgs),
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

fn main() -> ExitCode {
    let cli = Cli::parse();
    let (name, result) = match &cli.command {
        Command::Send(a) => ("send", cmd::send_recv::send(a.ty, &a.opts)),
        Command::Recv(a) => ("recv", cmd::send_recv::recv(a.ty, &a.opts)),
        Command::Pub(o) => ("pub", cmd::send_recv::send(SocketType::Pub, o)),
        Command::Sub(o) => ("sub", cmd::send_recv::recv(SocketType::Sub, o)),
        Command::Req(a) => ("req", cmd::reqrep::req(a)),
        Command::Rep(a) => ("rep", cmd::reqrep::rep(a)),
        Command::Proxy(a) => ("proxy", cmd::proxy::proxy(a)),
        Command::Monitor(a) => ("monitor", cmd::monitor::monitor(a)),
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
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("oxmq {name}: {}", e.message);
            ExitCode::from(e.code)
        }
    }
}
