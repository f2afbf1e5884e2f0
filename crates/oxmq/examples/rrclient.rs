//! Request-reply client: a REQ socket connected to the broker's frontend (`rrbroker`) sends
//! "Hello" requests; any worker behind the broker may answer ("World"), as the zguide's
//! `rrclient.py` does.
//!
//! Arguments: `[frontend] [requests]` (default `tcp://localhost:5559`, 10 requests).

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5559".to_string());
    let requests: u32 = args.next().map_or(10, |n| n.parse().expect("requests: a number"));

    let ctx = oxmq::Context::new();
    let requester = oxmq::Req::new(&ctx)?;
    requester.connect(&endpoint)?;

    for n in 0..requests {
        requester.send("Hello")?;
        let reply = requester.recv()?;
        println!("Received reply {n} [{}]", String::from_utf8_lossy(&reply));
    }
    println!("rrclient done: {requests} replies");
    Ok(())
}
