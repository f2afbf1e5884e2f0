//! Task sink: the last stage of the pipeline. Collects the results of a batch from the
//! workers, checks that every task came back exactly once, then tells the workers to stop with
//! a `KILL` on its control PUB socket.
//!
//! Arguments: `[endpoint] [control]` (default `tcp://*:5558`, `tcp://*:5559`). Exits with 1
//! if a result is missing or duplicated.

use std::collections::BTreeMap;
use std::time::Instant;

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5558".to_string());
    let control_endpoint = args.next().unwrap_or_else(|| "tcp://*:5559".to_string());

    let ctx = oxmq::Context::new();
    let receiver = oxmq::Pull::new(&ctx)?;
    receiver.bind(&endpoint)?;
    let controller = oxmq::Pub::new(&ctx)?;
    controller.bind(&control_endpoint)?;
    println!("tasksink listening on {} control {}", receiver.last_endpoint()?, controller.last_endpoint()?);

    // The ventilator's "BATCH <n>" and the workers' "RESULT <task> <worker>" arrive on the
    // same PULL socket, fair-queued from all of them: a result may even come before the batch
    // size (they travel on different connections), so both are handled in any order.
    let mut expected: Option<usize> = None;
    let mut seen = Vec::<u32>::new();
    let mut per_worker = BTreeMap::<String, u32>::new();
    let mut start = None;
    while expected.is_none_or(|n| seen.len() < n) {
        let msg = receiver.recv()?;
        let msg = std::str::from_utf8(&msg).expect("messages are text");
        let mut words = msg.split(' ');
        match (words.next(), words.next(), words.next()) {
            (Some("BATCH"), Some(n), None) => {
                expected = Some(n.parse().expect("a batch size"));
                start.get_or_insert_with(Instant::now);
            }
            (Some("RESULT"), Some(task), Some(worker)) => {
                seen.push(task.parse().expect("a task number"));
                *per_worker.entry(worker.to_string()).or_default() += 1;
                start.get_or_insert_with(Instant::now);
            }
            _ => panic!("unexpected message {msg:?}"),
        }
    }
    let elapsed = start.map(|s| s.elapsed()).unwrap_or_default();
    let expected = expected.unwrap_or_default();
    println!("Total elapsed time: {} msec", elapsed.as_millis());

    // Tell the workers to stop. (Dropping the sockets then flushes the KILL: LINGER.)
    controller.send("KILL")?;

    seen.sort_unstable();
    if seen.iter().copied().eq(0..expected as u32) {
        println!("all {expected} results received, per worker: {per_worker:?}");
        Ok(())
    } else {
        eprintln!("wrong results: expected tasks 0..{expected}, got {seen:?}");
        std::process::exit(1);
    }
}
