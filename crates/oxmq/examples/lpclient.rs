//! Lazy Pirate client: reliable request-reply on top of REQ, by the client alone.
//!
//! A plain REQ waits forever for a reply that a crashed or overloaded server will never send,
//! and cannot send again until it has one. So: wait at most `--timeout` ms (RCVTIMEO), and when
//! no reply comes, send the request again, up to `--retries` times, then give up.
//!
//! Two ways to send again:
//! - classic (the zguide's): close the REQ socket (LINGER 0: drop the unanswered request) and
//!   open a fresh one, which has no pending request and no connection to the old server state;
//! - `--relaxed`: keep the socket, with REQ_RELAXED (a REQ may send again before the reply
//!   came) and REQ_CORRELATE (each request carries an id, and a late reply to an abandoned
//!   request is dropped instead of being taken for the reply to the new one).
//!
//! Each request carries its sequence number, and the server (`lpserver`) echoes it.
//!
//! Arguments: `[endpoint] [requests] [--timeout MS] [--retries N] [--relaxed]` (default
//! `tcp://localhost:5555`, 10 requests, 2500 ms, 3 retries). Exits with 1 if it gave up.

use oxmq::{Context, Error, Req};

fn main() -> oxmq::Result<()> {
    let mut positional = Vec::new();
    let (mut timeout_ms, mut retries, mut relaxed) = (2500i32, 3u32, false);
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        match arg.as_str() {
            "--timeout" => timeout_ms = args.next().and_then(|v| v.parse().ok()).expect("--timeout MS"),
            "--retries" => retries = args.next().and_then(|v| v.parse().ok()).expect("--retries N"),
            "--relaxed" => relaxed = true,
            _ => positional.push(arg),
        }
    }
    let mut positional = positional.into_iter();
    let endpoint = positional.next().unwrap_or_else(|| "tcp://localhost:5555".to_string());
    let requests: u32 = positional.next().map_or(10, |n| n.parse().expect("requests: a number"));

    let ctx = Context::new();
    println!("I: connecting to server at {endpoint}");
    let mut client = open(&ctx, &endpoint, timeout_ms, relaxed)?;

    for sequence in 1..=requests {
        let request = sequence.to_string();
        client.send(request.as_str())?;
        let mut retries_left = retries;
        loop {
            match client.recv() {
                Ok(reply) if reply == request.as_str() => {
                    println!("I: server replied OK ({request})");
                    break;
                }
                Ok(reply) => {
                    // Cannot happen with a fresh socket or with REQ_CORRELATE: a reply to an
                    // older request never gets here.
                    println!("E: malformed reply from server: {}", String::from_utf8_lossy(&reply));
                }
                Err(Error::Again) => {
                    // RCVTIMEO expired.
                    if retries_left == 0 {
                        println!("E: server seems to be offline, abandoning");
                        std::process::exit(1);
                    }
                    retries_left -= 1;
                    println!("W: no response from server, retrying ({request})...");
                    if !relaxed {
                        // The old socket is stuck waiting for its reply: throw it away (LINGER
                        // 0: do not keep trying to deliver its request) and start afresh.
                        client.set_linger(0)?;
                        drop(client);
                        println!("I: reconnecting to server...");
                        client = open(&ctx, &endpoint, timeout_ms, relaxed)?;
                    }
                    // With REQ_RELAXED the same socket may simply send again.
                    client.send(request.as_str())?;
                }
                Err(e) => return Err(e),
            }
        }
    }
    println!("I: all {requests} replies received");
    Ok(())
}

fn open(ctx: &Context, endpoint: &str, timeout_ms: i32, relaxed: bool) -> oxmq::Result<Req> {
    let client = Req::new(ctx)?;
    client.set_rcvtimeo(timeout_ms)?;
    if relaxed {
        client.set_req_relaxed(true)?;
        client.set_req_correlate(true)?;
    }
    client.connect(endpoint)?;
    Ok(client)
}
