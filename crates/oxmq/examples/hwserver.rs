//! Hello World server: a REP socket answers every "Hello" with "World".
//!
//! The zguide's first example. Run it, then `hwclient` in another terminal:
//!
//! ```text
//! cargo run -p oxmq --example hwserver                      # serves forever on tcp://*:5555
//! cargo run -p oxmq --example hwserver -- tcp://127.0.0.1:* 3   # any free port, 3 requests
//! ```
//!
//! Arguments: `[endpoint] [requests]` (default `tcp://*:5555`, serve forever).

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5555".to_string());
    let requests: Option<u64> = args.next().map(|n| n.parse().expect("requests: a number"));

    let ctx = oxmq::Context::new();
    let responder = oxmq::Rep::new(&ctx)?;
    responder.bind(&endpoint)?;
    // With a wildcard port (`tcp://127.0.0.1:*`), LAST_ENDPOINT tells which port we got.
    println!("hwserver listening on {}", responder.last_endpoint()?);

    let mut served = 0;
    while requests.is_none_or(|n| served < n) {
        // A REP socket must alternate: receive a request, then send its reply.
        let request = responder.recv()?;
        println!("Received request: {}", String::from_utf8_lossy(&request));
        responder.send("World")?;
        served += 1;
    }
    println!("hwserver done after {served} requests");
    Ok(())
}
