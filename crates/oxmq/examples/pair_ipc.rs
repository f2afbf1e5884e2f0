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
//! Arguments: `--role bind|connect [endpoint] [rounds]` (default `ipc:///tmp/oxmq-pair.ipc`,
//! 5 rounds). On Linux, `ipc://@name` is an abstract socket: no file to clean up.
//!
//! The connecting side says READY, then each round it sends "ping <n>" and the binding side
//! answers "pong <n>"; the binding side ends with "DONE".

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
    let endpoint = args.next().unwrap_or_else(|| "ipc:///tmp/oxmq-pair.ipc".to_string());
    let rounds: u32 = args.next().map_or(5, |n| n.parse().expect("rounds: a number"));

    let ctx = oxmq::Context::new();
    let pair = oxmq::Pair::new(&ctx)?;
    match role.as_str() {
        "bind" => {
            pair.bind(&endpoint)?;
            println!("pair bound to {}", pair.last_endpoint()?);
            let ready = pair.recv()?;
            assert_eq!(ready, "READY");
            println!("peer is ready");
            for _ in 0..rounds {
                let ping = pair.recv()?;
                let ping = String::from_utf8_lossy(&ping).into_owned();
                println!("got {ping}");
                pair.send(ping.replace("ping", "pong"))?;
            }
            pair.send("DONE")?;
        }
        "connect" => {
            // The binder need not be up yet: the PAIR retries in the background and READY
            // waits in its queue.
            pair.connect(&endpoint)?;
            pair.send("READY")?;
            for n in 0..rounds {
                pair.send(format!("ping {n}"))?;
                let pong = pair.recv()?;
                assert_eq!(pong, format!("pong {n}").as_str());
                println!("got {}", String::from_utf8_lossy(&pong));
            }
            assert_eq!(pair.recv()?, "DONE");
            println!("peer is done");
        }
        _ => usage(),
    }
    println!("pair_ipc {role}: {rounds} rounds done");
    // Dropping the socket waits for DONE to be sent (LINGER is infinite by default).
    Ok(())
}

fn usage() -> ! {
    eprintln!("usage: pair_ipc --role bind|connect [endpoint] [rounds]");
    std::process::exit(2);
}
