//! Hello World client: a REQ socket sends "Hello" and waits for each "World".
//!
//! Start `hwserver` first (or not: the REQ connects in the background and the request waits
//! in its queue until the server is up).
//!
//! Arguments: `[endpoint] [requests]` (default `tcp://localhost:5555`, 10 requests).

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5555".to_string());
    let requests: u32 = args.next().map_or(10, |n| n.parse().expect("requests: a number"));

    let ctx = oxmq::Context::new();
    println!("Connecting to hello world server at {endpoint}");
    let requester = oxmq::Req::new(&ctx)?;
    requester.connect(&endpoint)?;

    for n in 0..requests {
        println!("Sending Hello {n}...");
        requester.send("Hello")?;
        // A REQ socket must alternate too: this reply belongs to the request just sent.
        let reply = requester.recv()?;
        println!("Received reply {n}: {}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}
