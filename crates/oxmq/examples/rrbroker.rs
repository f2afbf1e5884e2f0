//! Request-reply broker: REQ clients (`rrclient`) connect to a ROUTER, REP workers
//! (`rrworker`) to a DEALER, and `oxmq::proxy` moves the messages between the two.
//!
//! The ROUTER prefixes each request with the client's routing id; the DEALER passes that
//! envelope to a worker (round-robin) and the REP worker returns it with the reply, so the
//! ROUTER knows which client to answer. Neither clients nor workers know about each other:
//! both sides can grow without changing any code.
//!
//! Arguments: `[frontend] [backend]` (default `tcp://*:5559`, `tcp://*:5560`). Runs until
//! killed.

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let frontend_endpoint = args.next().unwrap_or_else(|| "tcp://*:5559".to_string());
    let backend_endpoint = args.next().unwrap_or_else(|| "tcp://*:5560".to_string());

    let ctx = oxmq::Context::new();
    let frontend = oxmq::Router::new(&ctx)?;
    frontend.bind(&frontend_endpoint)?;
    let backend = oxmq::Dealer::new(&ctx)?;
    backend.bind(&backend_endpoint)?;
    println!("rrbroker frontend {} backend {}", frontend.last_endpoint()?, backend.last_endpoint()?);

    // zmq_proxy: forwards whole messages both ways until the context is terminated.
    oxmq::proxy(&frontend, &backend, None)
}
