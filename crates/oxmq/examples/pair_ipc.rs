//! PAIR sockets between two processes over ipc (a Unix domain socket).
//!
//! A PAIR talks to exactly one other PAIR, both ways: the simplest way to connect two
//! processes (or two threads, over `inproc://`). Run the two roles in two terminals:
//!
//! ```text
//! cargo run -p oxmq --example pair_ipc -- --role bind
//! cargo run -p oxmq --example pair_ipc -- --role connect
//! ```
//!
//! Arguments: `--role bind|connect [endpoint] [rounds]` (default `ipc:///tmp/pair.ipc`, 1
//! round). On Linux, `ipc://@name` is an abstract socket: no file to clean up.
//!
//! The conversation is the pyzmq note's (`../shared/seeds/`, 000's PAIR): the binding side
//! (process A) sends "Hello from A" and waits for an answer; the connecting side (process B)
//! waits for it, then answers "Hello from B". With more rounds they do so again. So either
//! role pairs with the note's Python program of the other. Start them in either order: A's
//! first send blocks until B has connected (a bound PAIR with no peer has nowhere to queue a
//! message; it does not drop it, whatever note 004 says), and B retries until A is bound.

fn main() -> oxmq::Result<()> {
    let mut args: Vec<String> = std::env::args().skip(1).collect();
    let role = match args.iter().position(|a| a == "--role") {
        Some(i) if i + 1 < args.len() => {
            let role = args.remove(i + 1);
            args.remove(i);
            role
        }
        _ => usage(),
    };
    let mut args = args.into_iter();
    let endpoint = args.next().unwrap_or_else(|| "ipc:///tmp/pair.ipc".to_string());
    let rounds: u32 = args.next().map_or(1, |n| n.parse().expect("rounds: a number"));

    let ctx = oxmq::Context::new();
    let pair = oxmq::Pair::new(&ctx)?;
    match role.as_str() {
        "bind" => {
            // Process A.
            pair.bind(&endpoint)?;
            println!("pair bound to {}", pair.last_endpoint()?);
            for _ in 0..rounds {
                pair.send("Hello from A")?;
                let message = pair.recv()?;
                println!("received: {}", String::from_utf8_lossy(&message));
                assert_eq!(message, "Hello from B");
            }
        }
        "connect" => {
            // Process B. The binder need not be up yet: the PAIR retries in the background.
            pair.connect(&endpoint)?;
            println!("pair connecting to {endpoint}");
            for _ in 0..rounds {
                let message = pair.recv()?;
                println!("received: {}", String::from_utf8_lossy(&message));
                assert_eq!(message, "Hello from A");
                pair.send("Hello from B")?;
            }
        }
        _ => usage(),
    }
    println!("pair_ipc {role}: {rounds} rounds done");
    // Dropping the socket waits for the last message to be sent (LINGER is infinite by default).
    Ok(())
}

fn usage() -> ! {
    eprintln!("usage: pair_ipc --role bind|connect [endpoint] [rounds]");
    std::process::exit(2);
}
