//! Request-reply worker: a REP socket connected to the broker's backend (`rrbroker`) answers
//! each request with "World", as the zguide's `rrworker.py` does; the name it is given shows
//! in its own output only, so that a run shows which worker served what.
//!
//! Arguments: `[backend] [name]` (default `tcp://localhost:5560`, the process id). Runs until
//! killed.

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5560".to_string());
    let name = args.next().unwrap_or_else(|| std::process::id().to_string());

    let ctx = oxmq::Context::new();
    let responder = oxmq::Rep::new(&ctx)?;
    responder.connect(&endpoint)?;
    println!("rrworker {name} ready");

    loop {
        // The REP socket hides the envelope (the client's routing id) the broker added: we
        // see only the request, and the reply goes back along the same path.
        let request = responder.recv()?;
        println!("{name}: Received request: {}", String::from_utf8_lossy(&request));
        responder.send("World")?;
    }
}
