//! The perf tools over the other Rust ZeroMQ implementations (omq.rs, zmq.rs, rzmq,
//! monocoque): `<impl>_local_thr`, `<impl>_remote_thr`, `<impl>_local_lat`,
//! `<impl>_remote_lat`, with libzmq's `perf/` arguments and output through oxmq-cli's shared
//! code, so that `oxmq bench --peers` runs them as it runs oxmq's and libzmq's tools.
//!
//! Each implementation is a module with the four tools; a binary is one call. The module
//! says which configuration it runs (runtime, batching) and why.

pub mod monocoque;
pub mod omq;
pub mod rzmq;
pub mod zeromqrs;

pub use oxmq_cli::{
    check_size, fail, number, print_lat_header, print_lat_result, print_thr_header, print_thr_result, time_receives,
    time_roundtrips, zeroed_body,
};

use std::time::{Duration, Instant};

/// The three arguments of every tool: endpoint, message size, message (or roundtrip) count.
pub struct Args {
    pub endpoint: String,
    pub size: usize,
    pub count: usize,
}

/// Parses `<endpoint> <message-size> <count>` as libzmq's tools, or prints the usage and exits 1.
/// The counts of the thr tools are at least 1 (local_thr times from the first message).
pub fn args(usage: &str) -> Args {
    let [endpoint, size, count] = oxmq_cli::args::<3>(usage);
    Args { endpoint, size: number(&size, "message size"), count: number(&count, "count") }
}

/// A `tcp://host:port` or `ipc://path` endpoint, for the implementations that take an
/// address or a path rather than a ZeroMQ endpoint.
pub enum Endpoint<'a> {
    Tcp(&'a str),
    Ipc(&'a str),
}

impl<'a> Endpoint<'a> {
    pub fn parse(s: &'a str) -> Endpoint<'a> {
        if let Some(a) = s.strip_prefix("tcp://") {
            Endpoint::Tcp(a)
        } else if let Some(p) = s.strip_prefix("ipc://") {
            Endpoint::Ipc(p)
        } else {
            fail("endpoint", format!("{s:?}: only tcp:// and ipc:// endpoints"))
        }
    }
}

/// How long a connecter retries while its peer is not listening yet (libzmq's tools
/// reconnect on their own; some of these implementations fail the first connect instead).
pub const CONNECT_RETRY: Duration = Duration::from_secs(5);

/// Retries `connect` every 10 ms until it succeeds or [`CONNECT_RETRY`] has passed.
pub async fn retry<T, E: std::fmt::Display, F: std::future::Future<Output = Result<T, E>>>(
    what: &str,
    mut connect: impl FnMut() -> F,
    sleep: impl Fn(Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>>,
) -> T {
    let deadline = Instant::now() + CONNECT_RETRY;
    loop {
        match connect().await {
            Ok(v) => return v,
            Err(e) if Instant::now() > deadline => fail(what, e),
            Err(_) => sleep(Duration::from_millis(10)).await,
        }
    }
}

/// The first part's size of a received message (the tools send single-part messages).
pub fn first_len<B: AsRef<[u8]>>(parts: &[B]) -> usize {
    if parts.len() != 1 {
        fail("recv", format!("a message of {} parts, expected 1", parts.len()));
    }
    parts[0].as_ref().len()
}
