//! Task worker: the middle stage of the pipeline. Pulls tasks from `taskvent`, "works" (sleeps
//! for the task's workload), pushes each result to `tasksink`, and stops when the sink
//! broadcasts `KILL` on its control PUB socket: the zguide's `taskwork2.py`, message for
//! message (a task is its workload in msec as a decimal string, the result is that same
//! string, any message on the control socket stops the worker), so it works for the zguide's
//! Python ventilator and sink as well as for `taskvent` and `tasksink`.
//!
//! Start as many workers as you like: the ventilator spreads the tasks among them.
//!
//! Arguments: `[ventilator] [sink] [control] [name]` (default `tcp://localhost:5557`,
//! `tcp://localhost:5558`, `tcp://localhost:5559`, and the process id as the name).

use std::time::Duration;

use oxmq::{PollEvents, PollItem};

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let vent_endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5557".to_string());
    let sink_endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5558".to_string());
    let control_endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5559".to_string());
    let name = args.next().unwrap_or_else(|| std::process::id().to_string());

    let ctx = oxmq::Context::new();
    // The kill signal, subscribed to before anything else so that it is in place long before
    // the sink can send it.
    let controller = oxmq::Sub::new(&ctx)?;
    controller.connect(&control_endpoint)?;
    controller.subscribe("")?;

    let receiver = oxmq::Pull::new(&ctx)?;
    receiver.connect(&vent_endpoint)?;
    let sender = oxmq::Push::new(&ctx)?;
    sender.connect(&sink_endpoint)?;
    println!("worker {name} ready");

    let mut done = 0u32;
    // Wait on both sockets at once with poll: whichever has a message is handled.
    let mut items = [PollItem::socket(&receiver, PollEvents::IN), PollItem::socket(&controller, PollEvents::IN)];
    loop {
        oxmq::poll(&mut items, None)?;
        if items[0].is_readable() {
            let task = receiver.recv()?;
            let workload: u64 = std::str::from_utf8(&task)
                .ok()
                .and_then(|t| t.parse().ok())
                .unwrap_or_else(|| panic!("a task is its workload in msec, not {task:?}"));
            std::thread::sleep(Duration::from_millis(workload));
            // The result is the task itself, as taskwork2.py sends it.
            sender.send(task)?;
            done += 1;
        }
        if items[1].is_readable() {
            // The sink sends "KILL"; any message on this socket means stop.
            controller.recv()?;
            break;
        }
    }
    println!("worker {name} killed after {done} tasks");
    Ok(())
}
