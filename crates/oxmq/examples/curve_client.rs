//! CURVE client: a REQ socket that talks to `curve_server` encrypted, pinning the server's
//! public key (a server without the matching secret key cannot complete the handshake).
//!
//! It proves who it is with its own key pair: given as its secret key (the second line of
//! `oxmq keygen`), or, without one, a new pair made for this run, which a server that admits
//! known clients only will refuse. The socket's monitor tells how the handshake ended, so a
//! refused client says so and exits 1 instead of waiting for a reply that never comes.
//!
//! Arguments: `endpoint server-public-key [requests] [client-secret-key]` (10 requests).

use std::time::Duration;

use oxmq::{Context, Event, Req};

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: curve_client ENDPOINT SERVER-PUBLIC-KEY [REQUESTS] [CLIENT-SECRET-KEY]";
    let endpoint = args.next().expect(usage);
    let server_key = args.next().expect(usage);
    let requests: u32 = args.next().map_or(10, |n| n.parse().expect("REQUESTS: a number"));
    let secret = match args.next() {
        Some(secret) => oxmq::Zeroizing::new(secret),
        None => oxmq::curve_keypair()?.1,
    };
    let public = oxmq::curve_public(&secret)?;
    println!("curve_client public key {public}");

    let ctx = Context::new();
    let client = Req::new(&ctx)?;
    client.set_curve_serverkey(&server_key)?;
    client.set_curve_publickey(&public)?;
    client.set_curve_secretkey(secret.as_str())?;
    let monitor = client.monitor(
        Event::HandshakeSucceeded
            | Event::HandshakeFailedAuth
            | Event::HandshakeFailedProtocol
            | Event::HandshakeFailedNoDetail,
    )?;
    client.connect(&endpoint)?;

    match monitor.recv_timeout(Duration::from_secs(10)) {
        Some(e) if e.event == Event::HandshakeSucceeded => println!("curve_client admitted by {endpoint}"),
        Some(e) if e.event == Event::HandshakeFailedAuth => {
            eprintln!("curve_client: the server refused this client (status {})", e.value);
            std::process::exit(1);
        }
        Some(e) => {
            eprintln!("curve_client: the handshake failed: {:?} {}", e.event, e.value);
            std::process::exit(1);
        }
        None => {
            eprintln!("curve_client: no handshake with {endpoint} within 10 s");
            std::process::exit(1);
        }
    }
    for n in 0..requests {
        client.send("Hello")?;
        let reply = client.recv()?;
        println!("Received reply {n}: {}", String::from_utf8_lossy(&reply));
    }
    Ok(())
}
