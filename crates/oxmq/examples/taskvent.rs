//! Task ventilator: the first stage of a PUSH/PULL pipeline (with `taskwork` and `tasksink`).
//!
//! Speaks as the zguide's `taskvent.py`: first a `"0"` to the sink (the batch starts), then
//! each task to the workers as its workload in msec, a decimal string (`"37"`); PUSH
//! distributes them round-robin among the connected workers. So it drives the zguide's
//! Python workers and sink as well as `taskwork` and `tasksink`.
//!
//! Arguments: `[endpoint] [sink] [tasks] [workers] [max-ms]`: bind `endpoint` (default
//! `tcp://*:5557`) for the workers, connect to the sink at `sink` (default
//! `tcp://localhost:5558`), send `tasks` tasks (default 100), each of a random workload of 1 to
//! `max-ms` ms (default 100), once `workers` workers (default 1) are connected.

use oxmq::Event;

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5557".to_string());
    let sink_endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5558".to_string());
    let tasks: u32 = args.next().map_or(100, |n| n.parse().expect("tasks: a number"));
    let workers: u32 = args.next().map_or(1, |n| n.parse().expect("workers: a number"));
    let max_ms: u32 = args.next().map_or(100, |n| n.parse().expect("max-ms: a number"));

    let ctx = oxmq::Context::new();
    let sender = oxmq::Push::new(&ctx)?;
    // The zguide asks you to press Enter once the workers are up; here the socket's monitor
    // tells us: one HANDSHAKE_SUCCEEDED event per worker connection. Start monitoring before
    // the bind so that no event is missed.
    let monitor = sender.monitor(Event::HandshakeSucceeded)?;
    sender.bind(&endpoint)?;
    println!("taskvent listening on {}", sender.last_endpoint()?);

    let sink = oxmq::Push::new(&ctx)?;
    // IMMEDIATE: the "0" below waits for the connection to the sink instead of being queued
    // before it, so that it reaches the sink ahead of the workers' first results (the zguide's
    // tasksink.py takes whatever comes first for the start of the batch).
    sink.set_immediate(true)?;
    sink.connect(&sink_endpoint)?;

    println!("Waiting for {workers} workers...");
    for _ in 0..workers {
        monitor.recv().expect("the monitor stops only when the socket closes");
    }

    println!("Sending tasks to workers...");
    // The first message is "0" and signals the start of the batch.
    sink.send("0")?;

    let mut rng = XorShift(0x9e37_79b9_7f4a_7c15);
    let mut total_msec = 0;
    for _ in 0..tasks {
        let workload = rng.below(max_ms) + 1;
        total_msec += workload;
        // Blocks only if every worker's queue is full (SNDHWM): back-pressure, no loss.
        sender.send(workload.to_string())?;
    }
    println!("Sent {tasks} tasks, Total expected cost: {total_msec} msec");
    // Dropping the sockets (and the context) waits until the queued tasks are sent: LINGER is
    // infinite by default, so nothing is lost by exiting right away.
    Ok(())
}

/// A tiny pseudo-random generator (xorshift64), so the example needs no `rand` crate.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(n.max(1))) as u32
    }
}
