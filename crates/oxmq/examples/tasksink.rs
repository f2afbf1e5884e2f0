//! Task sink: the last stage of the pipeline. Waits for the start of the batch, collects its
//! results from the workers, then tells the workers to stop with a `KILL` on its control PUB
//! socket: the zguide's `tasksink2.py`, message for message (the ventilator's `"0"` starts the
//! batch; each result is one message; the batch has `tasks` of them). So the zguide's Python
//! ventilator and workers work with it as well as `taskvent` and `taskwork`.
//!
//! The zguide's workers send back the task (its workload in msec) as the result; this sink
//! adds those up, so that a run can be checked against the ventilator's total expected cost.
//! (The C workers send an empty result: it counts, and adds nothing.)
//!
//! Arguments: `[endpoint] [control] [tasks]` (default `tcp://*:5558`, `tcp://*:5559`, 100
//! tasks, as the zguide's batch).

use std::time::Instant;

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5558".to_string());
    let control_endpoint = args.next().unwrap_or_else(|| "tcp://*:5559".to_string());
    let tasks: u32 = args.next().map_or(100, |n| n.parse().expect("tasks: a number"));

    let ctx = oxmq::Context::new();
    let receiver = oxmq::Pull::new(&ctx)?;
    receiver.bind(&endpoint)?;
    let controller = oxmq::Pub::new(&ctx)?;
    controller.bind(&control_endpoint)?;
    println!("tasksink listening on {} control {}", receiver.last_endpoint()?, controller.last_endpoint()?);

    // The ventilator's "0" and the workers' results arrive on the same PULL socket, fair-queued
    // from all of them. They travel on different connections, so a result may even come before
    // the "0" (tasksink2.py would take that result for the start of the batch): "0" is never a
    // result (a workload is at least 1 msec), so both are handled in any order.
    let mut started = false;
    let (mut results, mut total_msec) = (0u32, 0u64);
    let mut start = None;
    while !started || results < tasks {
        let msg = receiver.recv()?;
        start.get_or_insert_with(Instant::now);
        if msg == "0" && !started {
            started = true;
            continue;
        }
        results += 1;
        if !msg.is_empty() {
            let workload = std::str::from_utf8(&msg).ok().and_then(|m| m.parse::<u64>().ok());
            total_msec += workload.unwrap_or_else(|| panic!("a result is the task's workload, not {msg:?}"));
        }
    }
    let elapsed = start.map(|s| s.elapsed()).unwrap_or_default();
    println!("Total elapsed time: {} msec", elapsed.as_millis());
    println!("{results} results received, total workload {total_msec} msec");

    // Tell the workers to stop. (Dropping the sockets then flushes the KILL: LINGER.)
    controller.send("KILL")?;
    Ok(())
}
