//! `oxmq`: command-line front end. `oxmq bench` compares oxmq with libzmq.

mod bench;
mod runner;

use clap::{Parser, Subcommand};
use std::process::ExitCode;

#[derive(Debug, Parser)]
#[command(name = "oxmq", version, about = "oxmq command-line tools")]
struct Cli {
    #[command(subcommand)]
    command: Command,
}

#[derive(Debug, Subcommand)]
enum Command {
    /// Run the perf tools of oxmq and libzmq side by side (throughput and
    /// latency over tcp, ipc and inproc) and print a markdown table.
    ///
    /// Build the tools first:
    /// cargo build --release -p oxmq-cli -p oxmq-libzmq-perf
    Bench(bench::BenchArgs),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    match cli.command {
        Command::Bench(args) => match bench::run(&args) {
            Ok(0) => ExitCode::SUCCESS,
            Ok(code) => ExitCode::from(u8::try_from(code).unwrap_or(1)),
            Err(e) => {
                eprintln!("error: {e}");
                ExitCode::from(2)
            }
        },
    }
}
