//! CURVE server: a REP socket that encrypts every message and admits only the clients it
//! knows, by their public keys (the [`Authenticator`](oxmq::Authenticator)).
//!
//! The server makes a new key pair each run and prints its public key; a client pins it (see
//! `curve_client`). The clients it admits are given as arguments: a client's public key (40
//! Z85 characters, as `oxmq keygen` prints on its first line), or a directory of
//! certificates (`NAME.key` files as pyzmq's `zmq.auth.create_certificates` and czmq write
//! them). Any other client is refused during the handshake: its requests never arrive.
//!
//! ```text
//! oxmq keygen > client.keys                    # the client's public key, then its secret key
//! cargo run -p oxmq --example curve_server -- tcp://127.0.0.1:5556 0 "$(head -1 client.keys)"
//! # prints: curve_server public key <SERVER-KEY>
//! cargo run -p oxmq --example curve_client -- tcp://127.0.0.1:5556 <SERVER-KEY> 3 "$(tail -1 client.keys)"
//! ```
//!
//! Arguments: `endpoint requests ALLOWED...` (`requests` 0: serve forever).

use std::path::Path;

use oxmq::{Authenticator, Context, Rep};

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let usage = "usage: curve_server ENDPOINT REQUESTS CLIENT-KEY-OR-CERT-DIR...";
    let endpoint = args.next().expect(usage);
    let requests: u64 = args.next().expect(usage).parse().expect("REQUESTS: a number");
    let allowed: Vec<String> = args.collect();

    let ctx = Context::new();
    // The ZAP handler of this context: every CURVE server socket in it asks it about each
    // client. Started before the socket binds, so that no handshake goes unchecked.
    let auth = Authenticator::start(&ctx)?;
    let mut keys = Vec::new();
    for a in &allowed {
        if Path::new(a).is_dir() {
            // Every certificate in the directory: its public key.
            keys.extend(Authenticator::load_curve_dir(Path::new(a))?);
        } else {
            let key = oxmq::z85_decode(a)?;
            keys.push(key.try_into().map_err(|_| oxmq::Error::InvalidArgument(format!("{a}: not a CURVE key")))?);
        }
    }
    println!("curve_server admits {} client keys", keys.len());
    // "*": every ZAP domain (this server sets none). Only these keys get in.
    auth.configure_curve("*", keys);

    let (public, secret) = oxmq::curve_keypair()?;
    let server = Rep::new(&ctx)?;
    server.set_curve_server(true)?;
    server.set_curve_secretkey(secret.as_str())?;
    server.bind(&endpoint)?;
    println!("curve_server public key {public}");
    println!("curve_server listening on {}", server.last_endpoint()?);

    let mut served = 0;
    while requests == 0 || served < requests {
        let request = server.recv_message()?;
        // The Authenticator names each client by its public key (the User-Id property).
        let client = request.property("User-Id").map(String::from_utf8_lossy).unwrap_or_default();
        println!("Received {} from {client}", String::from_utf8_lossy(&request.frames()[0]));
        server.send("World")?;
        served += 1;
    }
    println!("curve_server done after {served} requests");
    Ok(())
}
