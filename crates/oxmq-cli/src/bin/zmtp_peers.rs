//! `zmtp_peers`: opens `n` plain TCP connections to a ZeroMQ socket and completes the
//! ZMTP 3.0 NULL handshake on each (greeting, then READY with Socket-Type DEALER or SUB;
//! a SUB then subscribes to everything with a 3.0 subscription message). One process,
//! one file descriptor per peer, no ZeroMQ library: the same client for oxmq's and
//! libzmq's `conn_server`. Prints `handshakes: n [conn]`, then holds the connections
//! until killed (at most 10 minutes).

use oxmq_cli as perf;
use oxmq_wire::bytes::BytesMut;
use oxmq_wire::{Command, Decoder, Frame, Greeting, Mechanism, Metadata};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

fn main() {
    let [connect_to, n, ty] = perf::args::<3>("zmtp_peers <tcp://host:port> <connections> <dealer|sub>");
    let n = perf::number(&n, "connections");
    let addr = connect_to.strip_prefix("tcp://").unwrap_or_else(|| perf::fail("connect", "only tcp:// endpoints"));
    let socket_type = match ty.as_str() {
        "dealer" => "DEALER",
        "sub" => "SUB",
        _ => perf::fail("arguments", format!("type must be dealer or sub, not {ty:?}")),
    };
    let limit = perf::raise_nofile_limit();
    if (n as u64) + 16 > limit {
        perf::fail("setrlimit", format!("{n} connections need more than the {limit} open files allowed"));
    }

    // What each peer sends: greeting (ZMTP 3.0, NULL), READY, and for SUB a subscription.
    let mut hello = BytesMut::new();
    let greeting = Greeting { major: 3, minor: 0, mechanism: Mechanism::Null, as_server: false };
    hello.extend_from_slice(&greeting.encode());
    let mut md = Metadata::new();
    md.insert("Socket-Type", socket_type.as_bytes().to_vec());
    Command::Ready(md).encode(&mut hello);
    // A SUB subscribes once the handshake is done, as a SUB socket does: libzmq 4.3.4
    // drops a ZMTP 3.0 connection whose subscription arrives in the same read as its READY.
    let mut subscribe = BytesMut::new();
    if socket_type == "SUB" {
        Frame::message(vec![1u8], false).encode(&mut subscribe);
    }

    let started = Instant::now();
    let mut conns = Vec::with_capacity(n);
    for i in 0..n {
        let mut c = connect(addr).unwrap_or_else(|e| perf::fail("connect", format!("connection {i}: {e}")));
        c.write_all(&hello).unwrap_or_else(|e| perf::fail("write", format!("connection {i}: {e}")));
        read_handshake(&mut c).unwrap_or_else(|e| perf::fail("handshake", format!("connection {i}: {e}")));
        c.write_all(&subscribe).unwrap_or_else(|e| perf::fail("write", format!("connection {i}: {e}")));
        conns.push(c);
    }
    perf::print_figure("handshakes", conns.len(), "conn");
    perf::print_figure("handshake time", format!("{:.3}", started.elapsed().as_secs_f64()), "s");
    std::thread::sleep(Duration::from_secs(600));
}

fn connect(addr: &str) -> std::io::Result<TcpStream> {
    let mut tries = 0;
    loop {
        match TcpStream::connect(addr) {
            Ok(c) => {
                c.set_nodelay(true)?;
                c.set_read_timeout(Some(Duration::from_secs(10)))?;
                return Ok(c);
            }
            Err(e) if tries >= 50 => return Err(e),
            Err(_) => {
                tries += 1;
                std::thread::sleep(Duration::from_millis(20));
            }
        }
    }
}

/// Reads the peer's greeting and its READY command.
fn read_handshake(c: &mut TcpStream) -> Result<(), String> {
    let mut g = [0u8; Greeting::LEN];
    c.read_exact(&mut g).map_err(|e| format!("greeting: {e}"))?;
    Greeting::decode(&g).map_err(|e| format!("greeting: {e}"))?;
    let mut buf = BytesMut::new();
    let mut dec = Decoder::new(None);
    let mut chunk = [0u8; 512];
    loop {
        if let Some(frame) = dec.decode(&mut buf).map_err(|e| format!("frame: {e}"))? {
            return match frame.command.then(|| Command::parse(&frame.body)) {
                Some(Ok(Command::Ready(_))) => Ok(()),
                other => Err(format!("expected READY, got {other:?}")),
            };
        }
        let k = c.read(&mut chunk).map_err(|e| format!("READY: {e}"))?;
        if k == 0 {
            return Err("closed during the handshake".into());
        }
        buf.extend_from_slice(&chunk[..k]);
    }
}
