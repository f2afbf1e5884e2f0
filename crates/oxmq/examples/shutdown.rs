//! Clean shutdown: LINGER on close, and `Context::term` waking a thread blocked in `recv`.
//!
//! 1. LINGER decides what happens to messages still queued when a socket is closed: they are
//!    still sent for up to LINGER ms, and the context's end (`term`, or dropping it) waits for
//!    that. The default, -1, waits as long as it takes, so that nothing is lost on exit; but a
//!    peer that never comes would then hold the program forever. Here a PUSH queues messages for
//!    a peer that is not there, and we time the context's end with LINGER 300 ms, then 0.
//! 2. `Context::term` makes every blocking call on the context's sockets, in any thread, return
//!    `Error::ContextTerminated`; each thread then closes (drops) its socket, and `term` returns
//!    once all of them are closed.
//!
//! Arguments: `[endpoint]`: where the PUSH of part 1 connects; nothing must listen there
//! (default `tcp://127.0.0.1:5571`).

use std::sync::mpsc;
use std::time::{Duration, Instant};

use oxmq::{Context, Error, Pull, Push};

fn main() -> oxmq::Result<()> {
    let endpoint = std::env::args().nth(1).unwrap_or_else(|| "tcp://127.0.0.1:5571".to_string());

    // ---- 1. LINGER
    for linger_ms in [300, 0] {
        let ctx = Context::new();
        let push = Push::new(&ctx)?;
        push.set_linger(linger_ms)?;
        push.connect(&endpoint)?; // nobody there: the messages stay queued
        for n in 0..3 {
            push.send(format!("message {n}"))?;
        }
        let start = Instant::now();
        drop(push); // closing never blocks; the queued messages linger in the background...
        ctx.term(); // ...and the context's end waits for them, for at most LINGER
        println!("LINGER {linger_ms} ms: term returned after {} ms", start.elapsed().as_millis());
        assert!(start.elapsed() < Duration::from_millis(linger_ms as u64 + 5000));
    }

    // ---- 2. term wakes a blocked receive
    let ctx = Context::new();
    let pull = Pull::new(&ctx)?;
    pull.bind("inproc://shutdown")?;
    let (started, is_started) = mpsc::channel();
    let worker = std::thread::spawn(move || {
        started.send(()).unwrap();
        // Blocks: nobody ever sends to this socket.
        match pull.recv() {
            Err(Error::ContextTerminated) => println!("worker: recv woken by term, closing its socket"),
            other => panic!("worker: unexpected {other:?}"),
        }
        // Dropping the socket (the end of this closure) lets `term` return.
    });
    is_started.recv().unwrap();
    std::thread::sleep(Duration::from_millis(100)); // let it block (not needed for correctness)
    let start = Instant::now();
    ctx.term();
    println!("main: term returned after {} ms", start.elapsed().as_millis());
    worker.join().expect("the worker thread");
    println!("shutdown: done");
    Ok(())
}
