//! Lazy Pirate server: a REP echo server that misbehaves on purpose, for `lpclient`.
//!
//! Deterministically, so that a test can count on it:
//! - every `--drop-every N`th request "crashes" the server: it closes its socket without
//!   replying (the request is lost, the client's connection breaks) and binds a new one;
//! - every `--slow-every M`th request is answered only after `--slow-ms` ms ("CPU overload"),
//!   later than the client is willing to wait.
//!
//! Arguments: `[endpoint] [--drop-every N] [--slow-every M] [--slow-ms MS]` (default
//! `tcp://*:5555`, drop every 5th, slow every 7th, 3000 ms). 0 turns a failure off. Runs until
//! killed.

use std::time::Duration;

fn main() -> oxmq::Result<()> {
    let mut endpoint = "tcp://*:5555".to_string();
    let (mut drop_every, mut slow_every, mut slow_ms) = (5u64, 7u64, 3000u64);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        let mut value = || args.next().and_then(|v| v.parse().ok()).expect("a number after the flag");
        match arg.as_str() {
            "--drop-every" => drop_every = value(),
            "--slow-every" => slow_every = value(),
            "--slow-ms" => slow_ms = value(),
            _ => endpoint = arg,
        }
    }

    let ctx = oxmq::Context::new();
    let mut server = oxmq::Rep::new(&ctx)?;
    server.bind(&endpoint)?;
    // Rebind to the port we actually got, should the endpoint have been `tcp://...:*`.
    let endpoint = server.last_endpoint()?;
    println!("lpserver listening on {endpoint}");

    let mut cycles = 0u64;
    loop {
        let request = server.recv()?;
        let request = String::from_utf8_lossy(&request).into_owned();
        cycles += 1;

        if drop_every > 0 && cycles % drop_every == 0 {
            println!("I: simulating a crash, request {request} is lost");
            // Closing the socket drops the request and the client's connection. The listening
            // port is free again as soon as the socket is dropped, so we can bind it at once.
            server.set_linger(0)?;
            drop(server);
            server = oxmq::Rep::new(&ctx)?;
            server.bind(&endpoint)?;
            continue;
        }
        if slow_every > 0 && cycles % slow_every == 0 {
            println!("I: simulating CPU overload on request {request}");
            std::thread::sleep(Duration::from_millis(slow_ms));
        }
        println!("I: normal request ({request})");
        server.send(request)?;
    }
}
