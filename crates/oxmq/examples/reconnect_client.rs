//! A client that keeps working across a server restart.
//!
//! oxmq sockets reconnect by themselves: when the server (here `hwserver`) goes away, the REQ
//! socket tries again every RECONNECT_IVL ms and carries on once a server is back on the
//! endpoint. What the socket cannot know is whether the request in flight was lost with the
//! old server; so the client waits at most RCVTIMEO for each reply and, with REQ_RELAXED and
//! REQ_CORRELATE, sends the request again on the same socket (a late reply to the abandoned
//! request is dropped). A monitor shows the connection coming and going.
//!
//! Arguments: `[endpoint] [requests] [interval-ms]` (default `tcp://localhost:5555`, 20
//! requests, one every 100 ms). Kill and restart `hwserver` while it runs.

use std::time::Duration;

use oxmq::{Error, Event};

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5555".to_string());
    let requests: u32 = args.next().map_or(20, |n| n.parse().expect("requests: a number"));
    let interval = Duration::from_millis(args.next().map_or(100, |n| n.parse().expect("interval-ms: a number")));

    let ctx = oxmq::Context::new();
    let client = oxmq::Req::new(&ctx)?;
    client.set_rcvtimeo(1000)?;
    client.set_req_relaxed(true)?;
    client.set_req_correlate(true)?;
    client.set_reconnect_ivl(100)?; // first retry after 100 ms...
    client.set_reconnect_ivl_max(1000)?; // ...then backing off up to 1 s between attempts

    // Print the connection's ups and downs from another thread; the monitor ends when the
    // socket is closed.
    let monitor = client.monitor(Event::HandshakeSucceeded | Event::Disconnected)?;
    let events = std::thread::spawn(move || {
        while let Some(ev) = monitor.recv() {
            println!("event: {} {}", ev.event, ev.endpoint);
        }
    });
    client.connect(&endpoint)?;

    for n in 0..requests {
        let mut attempts = 1;
        client.send("Hello")?;
        let reply = loop {
            match client.recv() {
                Ok(reply) => break reply,
                Err(Error::Again) if attempts < 30 => {
                    println!("no reply to request {n} yet, sending it again");
                    attempts += 1;
                    client.send("Hello")?;
                }
                Err(e) => return Err(e),
            }
        };
        println!("reply {n}: {} ({attempts} attempts)", String::from_utf8_lossy(&reply));
        std::thread::sleep(interval);
    }
    println!("reconnect_client: all {requests} replies received");

    // A clean end: nothing is left queued, but LINGER 0 makes sure closing never waits on a
    // server that went away.
    client.set_linger(0)?;
    drop(client);
    events.join().expect("the monitor thread");
    Ok(())
}
