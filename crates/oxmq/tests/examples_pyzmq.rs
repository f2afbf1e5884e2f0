//! The examples against pyzmq programs of the scenarios they show: each example pairs with its
//! Python counterpart, in both directions where the scenario has two sides. The counterparts
//! are the classic ZeroMQ guide's Python programs (hwserver.py, wuserver.py, taskvent.py,
//! rrbroker.py, lpclient.py, ...) and the programs of the notes in `../shared/seeds/` (the
//! image and PAIR programs of note 000), run as written but for the endpoint (a free port or
//! an abstract ipc name instead of a fixed one), a bounded loop instead of `while True` where
//! the program must end, shorter sleeps where the guide's would only slow the test, and the
//! slips the seeds' README lists: every such change is marked `# test:` in the scripts below.
//! Some add a check (`assert`, a total printed) so that a format the example got wrong fails
//! the test instead of passing unnoticed.
//!
//! One example has no peer to pair with: `shutdown` (its PUSH needs nobody listening, its
//! blocked PULL is inproc) runs beside a pyzmq program of the same scenario instead, and the two
//! must behave alike. `async_reqrep` runs its server and clients in one process over inproc, as
//! note 001's asyncio program does; with its `server` or `clients` role it pairs with that
//! program's asyncio REP worker or REQ client over tcp.
//!
//! Needs python3 with pyzmq and numpy: without them the tests are skipped, saying so; in CI
//! (`CI` set), where .ci/run installs them, their absence fails the tests instead.

mod build_examples;

use std::io::{BufRead, BufReader, Read, Write};
use std::path::PathBuf;
use std::process::{Child, Command, ExitStatus, Stdio};
use std::time::{Duration, Instant};

const DEADLINE: Duration = Duration::from_secs(60);

/// Whether python3 can import pyzmq and numpy (see the module's doc).
fn have_python(test: &str) -> bool {
    let ok = Command::new("python3").args(["-c", "import zmq, numpy"]).status().is_ok_and(|s| s.success());
    if !ok {
        assert!(std::env::var_os("CI").is_none(), "{test}: pyzmq or numpy is missing in CI");
        eprintln!("{test}: SKIPPED: python3 with pyzmq and numpy is not installed (pip install pyzmq numpy)");
    }
    ok
}

/// The example binary `name`, built on first use.
fn example(name: &str) -> PathBuf {
    build_examples::examples_dir().join(name)
}

/// A running process whose stdout lines are read as they come; killed when dropped.
struct Running {
    what: String,
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(cmd: Command, what: &str) -> Running {
        Running::start_fed(cmd, what, None)
    }

    /// As [`Running::start`], with `input` on its stdin (then closed) if given.
    fn start_fed(mut cmd: Command, what: &str, input: Option<&str>) -> Running {
        let mut child = cmd
            .stdin(if input.is_some() { Stdio::piped() } else { Stdio::null() })
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
        if let (Some(input), Some(mut stdin)) = (input, child.stdin.take()) {
            // A few bytes: the pipe holds them, so this does not wait on the reader.
            stdin.write_all(input.as_bytes()).unwrap_or_else(|e| panic!("cannot feed {what}: {e}"));
        }
        let out = BufReader::new(child.stdout.take().unwrap());
        let (tx, lines) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            for line in out.lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        Running { what: what.to_string(), child, lines, seen: Vec::new() }
    }

    /// Waits for a line containing `text`; returns it.
    fn wait_for(&mut self, text: &str) -> String {
        let deadline = Instant::now() + DEADLINE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) => {
                    self.seen.push(line.clone());
                    if line.contains(text) {
                        return line;
                    }
                }
                Err(_) => panic!("{} did not print {text:?}; it printed:\n{}", self.what, self.seen.join("\n")),
            }
        }
    }

    /// Waits for the process to exit 0; returns all it printed.
    fn success(self) -> String {
        let what = self.what.clone();
        let (status, out) = self.finish();
        assert!(status.success(), "{what} failed ({status}); it printed:\n{out}");
        out
    }

    /// Kills a process that would run on (a server); returns all it printed.
    fn stop(mut self) -> String {
        let _ = self.child.kill();
        self.finish().1
    }

    /// Waits for the process to exit; returns its status and all it printed.
    fn finish(mut self) -> (ExitStatus, String) {
        let deadline = Instant::now() + DEADLINE;
        let status = loop {
            if let Some(s) = self.child.try_wait().unwrap() {
                break s;
            }
            assert!(Instant::now() < deadline, "{} did not finish; it printed:\n{}", self.what, self.seen.join("\n"));
            std::thread::sleep(Duration::from_millis(20));
        };
        while let Ok(line) = self.lines.recv_timeout(Duration::from_secs(5)) {
            self.seen.push(line);
        }
        (status, self.seen.join("\n"))
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
        let _ = self.child.stdout.take().map(|mut o| o.read_to_end(&mut Vec::new()));
    }
}

fn python(script: &str, args: &[&str], what: &str) -> Running {
    Running::start(python_command(script, args), what)
}

/// A python script with `input` on its stdin.
fn python_fed(script: &str, args: &[&str], what: &str, input: &str) -> Running {
    Running::start_fed(python_command(script, args), what, Some(input))
}

fn python_command(script: &str, args: &[&str]) -> Command {
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg("-c").arg(script).args(args);
    cmd
}

/// The word after `label` in `line` (an endpoint a program printed).
fn word_after(line: &str, label: &str) -> String {
    let mut words = line.split(' ').skip_while(|w| *w != label);
    words.nth(1).unwrap_or_else(|| panic!("no word after {label:?} in {line:?}")).to_string()
}

fn rust_example(name: &str, args: &[&str]) -> Running {
    let mut cmd = Command::new(example(name));
    cmd.args(args);
    Running::start(cmd, name)
}

/// 000's `process_server`.
const NOTE_IMAGE_SERVER: &str = r#"
import sys
import zmq
import numpy as np

def process_server():
    context = zmq.Context()
    socket = context.socket(zmq.REP)  # REP 模式（服务端）
    socket.bind("tcp://127.0.0.1:*")  # test: a free port, not 15555
    print("Server started", socket.getsockopt(zmq.LAST_ENDPOINT).decode())
    # 2 bytes for points
    IMAGE_CHUNK_SIZE = 480 * 640 * 4
    BOUNDING_BOX_CHUNK_SIZE = 4 * 2
    chunk_size = IMAGE_CHUNK_SIZE + BOUNDING_BOX_CHUNK_SIZE
    for _ in range(int(sys.argv[1])):  # test: not while True
        # 接收客户端发送的二进制数据（零拷贝）
        msg = socket.recv(copy=False)
        print(f"recerved msg size: {len(msg)}")
        assert len(msg) == chunk_size
        arr = np.frombuffer(
            msg.buffer[:-BOUNDING_BOX_CHUNK_SIZE], dtype=np.uint8
        ).reshape(480, 640, 4)
        bbox_2d = np.frombuffer(
            msg.buffer[-BOUNDING_BOX_CHUNK_SIZE:], dtype=np.uint16
        ).reshape(4,)
        # 处理数据（示例：简单反转数值）
        processed_arr = 255 - arr
        print(f"Received and processed data: {arr.shape} {bbox_2d.shape}\n{bbox_2d}...")
        # 发送处理后的数据（零拷贝）
        socket.send(processed_arr.tobytes(), copy=False)


if __name__ == "__main__":
    process_server()
"#;

/// 000's `process_client`.
const NOTE_IMAGE_CLIENT: &str = r#"
import sys
import zmq
import time
import numpy as np

def process_client():
    context = zmq.Context()
    socket = context.socket(zmq.REQ)  # REQ 模式（客户端）
    socket.setsockopt(zmq.RCVTIMEO, 5000)  # 5秒超时
    socket.connect(sys.argv[1])  # test: the server's endpoint
    # 初始化数据（示例：全零数组）
    data = np.zeros((480, 640, 4), dtype=np.uint8)
    bbox_2d = np.array([1, 2, 3, 4], dtype=np.uint16)
    max_try = 5
    tried = 0
    IMAGE_CHUNK_SIZE = 480 * 640 * 4
    BOUNDING_BOX_CHUNK_SIZE = 4 * 2
    chunk_size = IMAGE_CHUNK_SIZE + BOUNDING_BOX_CHUNK_SIZE
    for _ in range(int(sys.argv[2])):  # test: not while True
        # 发送数据（零拷贝）
        socket.send(data.tobytes() + bbox_2d.tobytes(), copy=False)
        # 接收服务端处理后的数据（零拷贝）
        try:
            msg = socket.recv(copy=False)
            tried = 0
            sent = data  # test: kept to check the reply
            data = np.frombuffer(msg.buffer, dtype=np.uint8).reshape(480, 640, 4)
            assert (data == 255 - sent).all(), "not 255 - image"  # test: the check
            print("reply ok", len(msg))  # test
            # 客户端进一步处理（示例：加 1）
            # 注意，与整数操作后，可能会从 uint8 变为 int16，会影响 buffer 大小
            data = (data.astype(np.int16) + 1) % 256  # test: numpy 2 overflows on uint8 + 1 % 256
            data = data.astype(np.uint8)
        except zmq.Again:
            # REQ 模式下，两次连续的 send 会报错，所以要重新初始化。
            context = zmq.Context()
            socket = context.socket(zmq.REQ)  # REQ 模式（客户端）
            socket.setsockopt(zmq.RCVTIMEO, 5000)  # 5秒超时
            socket.connect(sys.argv[1])  # test: the server's endpoint
            if tried >= max_try:
                print("max_try count reached, stop trying")
                break
            print("Timeout, retrying...")
            tried += 1
            socket.send(data.tobytes() + bbox_2d.tobytes(), copy=False)  # test: the box too
    print("client done")
if __name__ == "__main__":
    process_client()
"#;

#[test]
fn image_server_serves_the_notes_python_client() {
    if !have_python("image_server_serves_the_notes_python_client") {
        return;
    }
    let mut server = rust_example("image_server", &["tcp://127.0.0.1:*", "3"]);
    let endpoint = server.wait_for("image_server listening on").rsplit(' ').next().unwrap().to_string();
    let client = python(NOTE_IMAGE_CLIENT, &[&endpoint, "3"], "the notes' image client").success();
    assert_eq!(client.matches("reply ok 1228800").count(), 3, "{client}");
    assert!(client.contains("client done") && !client.contains("Timeout"), "{client}");
    let out = server.success();
    assert_eq!(out.matches("received msg size: 1228808").count(), 3, "{out}");
    assert!(out.contains("[1, 2, 3, 4]"), "the box as the client sent it: {out}");
}

#[test]
fn image_client_talks_to_the_notes_python_server() {
    if !have_python("image_client_talks_to_the_notes_python_server") {
        return;
    }
    let mut server = python(NOTE_IMAGE_SERVER, &["3"], "the notes' image server");
    let endpoint = server.wait_for("Server started").rsplit(' ').next().unwrap().to_string();
    let client = rust_example("image_client", &[&endpoint, "3"]).success();
    assert!(client.contains("image_client: 3 round trips verified"), "{client}");
    let out = server.success();
    assert_eq!(out.matches("recerved msg size: 1228808").count(), 3, "{out}");
    assert!(out.contains("[1 2 3 4]"), "the box as numpy reads it: {out}");
}

// ---------------------------------------------------------------- hello world

/// The guide's hwserver.py.
const HWSERVER_PY: &str = r#"
#   Hello World server in Python
#   Binds REP socket to tcp://*:5555
#   Expects b"Hello" from client, replies with b"World"
import sys  # test
import time
import zmq

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5555
print("hwserver.py bound to", socket.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

for _ in range(int(sys.argv[1])):  # test: N requests, not while True
    #  Wait for next request from client
    message = socket.recv()
    print(f"Received request: {message}")

    #  Do some 'work'
    time.sleep(1)

    #  Send reply back to client
    socket.send(b"World")
"#;

/// The guide's hwclient.py.
const HWCLIENT_PY: &str = r#"
#   Hello World client in Python
#   Connects REQ socket to tcp://localhost:5555
#   Sends "Hello" to server, expects "World" back
import sys  # test
import zmq

context = zmq.Context()

#  Socket to talk to server
print("Connecting to hello world server…")
socket = context.socket(zmq.REQ)
socket.connect(sys.argv[1])  # test: the server's endpoint, not tcp://localhost:5555

#  Do 10 requests, waiting each time for a response
for request in range(int(sys.argv[2])):  # test: N requests, not 10
    print(f"Sending request {request} …")
    socket.send(b"Hello")

    #  Get the reply.
    message = socket.recv()
    print(f"Received reply {request} [ {message} ]")
"#;

#[test]
fn hwserver_serves_the_python_hwclient() {
    if !have_python("hwserver_serves_the_python_hwclient") {
        return;
    }
    let mut server = rust_example("hwserver", &["tcp://127.0.0.1:*", "3"]);
    let endpoint = word_after(&server.wait_for("hwserver listening on"), "on");
    let client = python(HWCLIENT_PY, &[&endpoint, "3"], "hwclient.py").success();
    assert_eq!(client.matches("[ b'World' ]").count(), 3, "{client}");
    let out = server.success();
    assert_eq!(out.matches("Received request: Hello").count(), 3, "{out}");
}

#[test]
fn hwclient_talks_to_the_python_hwserver() {
    if !have_python("hwclient_talks_to_the_python_hwserver") {
        return;
    }
    let mut server = python(HWSERVER_PY, &["2"], "hwserver.py");
    let endpoint = word_after(&server.wait_for("hwserver.py bound to"), "to");
    let client = rust_example("hwclient", &[&endpoint, "2"]).success();
    assert_eq!(client.matches(": World").count(), 2, "{client}");
    let out = server.success();
    assert_eq!(out.matches("Received request: b'Hello'").count(), 2, "{out}");
}

// ---------------------------------------------------------------- weather updates

/// The guide's wuserver.py.
const WUSERVER_PY: &str = r#"
#   Weather update server
#   Binds PUB socket to tcp://*:5556
#   Publishes random weather updates
from random import randrange
import zmq

context = zmq.Context()
socket = context.socket(zmq.PUB)
socket.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5556
print("wuserver.py publishing on", socket.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

while True:  # test: until the test kills it
    zipcode = randrange(10000, 10010)  # test: ten zip codes, not randrange(1, 100000)
    temperature = randrange(-80, 135)
    relhumidity = randrange(10, 60)

    socket.send_string("%05d %d %d" % (zipcode, temperature, relhumidity))
"#;

/// The guide's wuclient.py.
const WUCLIENT_PY: &str = r#"
#   Weather update client
#   Connects SUB socket to tcp://localhost:5556
#   Collects weather updates and finds avg temp in zipcode
import sys
import zmq

#  Socket to talk to server
context = zmq.Context()
socket = context.socket(zmq.SUB)

print("Collecting updates from weather server...")
socket.connect(sys.argv[1])  # test: the server's endpoint, not tcp://localhost:5556

# Subscribe to zipcode, default is NYC, 10001
zip_filter = sys.argv[2] if len(sys.argv) > 2 else "10001"  # test: argv[1] is the endpoint
socket.setsockopt_string(zmq.SUBSCRIBE, zip_filter)

# Process 5 updates
total_temp = 0
for update_nbr in range(5):
    string = socket.recv_string()
    zipcode, temperature, relhumidity = string.split()
    assert zipcode == zip_filter, string  # test: only the zip code subscribed to
    total_temp += int(temperature)

print(
    f"Average temperature for zipcode '{zip_filter}' was "
    f"{total_temp / (update_nbr + 1)} F"
)
"#;

#[test]
fn wuserver_publishes_to_the_python_wuclient() {
    if !have_python("wuserver_publishes_to_the_python_wuclient") {
        return;
    }
    // Ten zip codes, 10000 to 10009, until killed.
    let mut server = rust_example("wuserver", &["tcp://127.0.0.1:*", "10000-10009"]);
    let endpoint = word_after(&server.wait_for("wuserver publishing on"), "on");
    let client = python(WUCLIENT_PY, &[&endpoint], "wuclient.py").success();
    assert!(client.contains("Average temperature for zipcode '10001' was"), "{client}");
}

#[test]
fn wuclient_subscribes_to_the_python_wuserver() {
    if !have_python("wuclient_subscribes_to_the_python_wuserver") {
        return;
    }
    let mut server = python(WUSERVER_PY, &[], "wuserver.py");
    let endpoint = word_after(&server.wait_for("wuserver.py publishing on"), "on");
    // wuclient fails on an update that is not "<zipcode> <temperature> <relhumidity>".
    let client = rust_example("wuclient", &[&endpoint, "10003", "20"]).success();
    assert!(client.contains("Average temperature for zipcode '10003' was"), "{client}");
    assert!(client.contains("over 20 updates"), "{client}");
}

// ---------------------------------------------------------------- pipeline

/// The guide's taskvent.py.
const TASKVENT_PY: &str = r#"
# Task ventilator
# Binds PUSH socket to tcp://localhost:5557
# Sends batch of tasks to workers via that socket
import sys  # test
import zmq
import random
import time

context = zmq.Context()

# Socket to send messages on
sender = context.socket(zmq.PUSH)
sender.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5557
print("taskvent.py bound to", sender.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

# Socket with direct access to the sink: used to synchronize start of batch
sink = context.socket(zmq.PUSH)
# test: IMMEDIATE, so that the "0" waits for the connection to the sink and arrives before
# test: any result (the guide counts on a human pressing Enter long after all connected)
sink.setsockopt(zmq.IMMEDIATE, 1)
sink.connect(sys.argv[1])  # test: the sink's endpoint, not tcp://localhost:5558

print("Press Enter when the workers are ready: ")
_ = input()
print("Sending tasks to workers...")

# The first message is "0" and signals start of batch
sink.send(b'0')

# Initialize random number generator
random.seed()

# Send 100 tasks
total_msec = 0
for task_nbr in range(int(sys.argv[2])):  # test: N tasks, not 100
    # Random workload from 1 to 100 msecs
    workload = random.randint(1, 100)
    total_msec += workload

    sender.send_string(f"{workload}")

print(f"Total expected cost: {total_msec} msec")

# Give 0MQ time to deliver
time.sleep(1)
"#;

/// The guide's taskwork2.py (the worker that stops on the sink's kill signal).
const TASKWORK2_PY: &str = r#"
# Task worker - design 2
# Adds pub-sub flow to receive and respond to kill signal
import sys
import time
import zmq

context = zmq.Context()

# Socket to receive messages on
receiver = context.socket(zmq.PULL)
receiver.connect(sys.argv[1])  # test: the ventilator's endpoint, not tcp://localhost:5557

# Socket to send messages to
sender = context.socket(zmq.PUSH)
sender.connect(sys.argv[2])  # test: the sink's endpoint, not tcp://localhost:5558

# Socket for control input
controller = context.socket(zmq.SUB)
controller.connect(sys.argv[3])  # test: the sink's control endpoint, not tcp://localhost:5559
controller.setsockopt(zmq.SUBSCRIBE, b"")
print("worker ready")  # test (no dot: the dots count the tasks)

# Process messages from receiver and controller
poller = zmq.Poller()
poller.register(receiver, zmq.POLLIN)
poller.register(controller, zmq.POLLIN)
# Process messages from both sockets
while True:
    socks = dict(poller.poll())

    if socks.get(receiver) == zmq.POLLIN:
        message = receiver.recv_string()

        # Process task
        workload = int(message)  # Workload in msecs

        # Do the work
        time.sleep(workload / 1000.0)

        # Send results to sink
        sender.send_string(message)

        # Simple progress indicator for the viewer
        sys.stdout.write(".")
        sys.stdout.flush()

    # Any waiting controller command acts as 'KILL'
    if socks.get(controller) == zmq.POLLIN:
        break

print(" killed")  # test

# Finished
receiver.close()
sender.close()
controller.close()
context.term()
"#;

/// The guide's tasksink2.py (the sink that sends the kill signal).
const TASKSINK2_PY: &str = r#"
# Task sink - design 2
# Adds pub-sub flow to send kill signal to workers
import sys
import time
import zmq

context = zmq.Context()

# Socket to receive messages on
receiver = context.socket(zmq.PULL)
receiver.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5558

# Socket for worker control
controller = context.socket(zmq.PUB)
controller.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5559
print("tasksink2.py bound to", receiver.getsockopt(zmq.LAST_ENDPOINT).decode(),  # test
      "control", controller.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

# Wait for start of batch
start = receiver.recv()  # test: kept, to check it
assert start == b"0", start  # test: the batch starts with "0"

# Start our clock now
tstart = time.time()

# Process 100 confirmations
returned = 0  # test
for task_nbr in range(int(sys.argv[1])):  # test: N tasks, not 100
    result = receiver.recv()  # test: kept, to check it
    returned += int(result)  # test: each result is its task's workload, as taskwork2.py sends it
    if task_nbr % 10 == 0:
        sys.stdout.write(":")
    else:
        sys.stdout.write(".")
    sys.stdout.flush()

# Calculate and report duration of batch
tend = time.time()
tdiff = tend - tstart
total_msec = tdiff * 1000
print(f"Total elapsed time: {total_msec} msec")
print(f"total workload {returned} msec")  # test

# Send kill signal to workers
controller.send(b"KILL")

# Finished
receiver.close()
controller.close()
context.term()
"#;

/// The total workload a ventilator printed ("Total expected cost: 1234 msec").
fn expected_cost(vent_output: &str) -> String {
    let line = vent_output.lines().find(|l| l.contains("Total expected cost:"));
    word_after(line.unwrap_or_else(|| panic!("no total cost in:\n{vent_output}")), "cost:")
}

#[test]
fn taskvent_and_tasksink_drive_python_workers() {
    if !have_python("taskvent_and_tasksink_drive_python_workers") {
        return;
    }
    let mut sink = rust_example("tasksink", &["tcp://127.0.0.1:*", "tcp://127.0.0.1:*", "20"]);
    let line = sink.wait_for("tasksink listening on");
    let (sink_endpoint, control_endpoint) = (word_after(&line, "on"), word_after(&line, "control"));
    // 20 tasks of up to 30 ms, once both workers are connected.
    let mut vent = rust_example("taskvent", &["tcp://127.0.0.1:*", &sink_endpoint, "20", "2", "30"]);
    let vent_endpoint = word_after(&vent.wait_for("taskvent listening on"), "on");
    let workers: Vec<Running> = (0..2)
        .map(|_| python(TASKWORK2_PY, &[&vent_endpoint, &sink_endpoint, &control_endpoint], "taskwork2.py"))
        .collect();

    let out = vent.success();
    let cost = expected_cost(&out);
    // The workers sent back each task, its workload: the sink adds them up.
    let out = sink.success();
    assert!(out.contains(&format!("20 results received, total workload {cost} msec")), "{out}");
    // The sink's KILL stopped both; between them they did the 20 tasks (a dot each).
    let dots: usize = workers
        .into_iter()
        .map(|w| {
            let out = w.success();
            assert!(out.contains(" killed"), "{out}");
            out.matches('.').count()
        })
        .sum();
    assert_eq!(dots, 20);
}

#[test]
fn taskwork_works_for_the_python_ventilator_and_sink() {
    if !have_python("taskwork_works_for_the_python_ventilator_and_sink") {
        return;
    }
    let mut sink = python(TASKSINK2_PY, &["20"], "tasksink2.py");
    let line = sink.wait_for("tasksink2.py bound to");
    let (sink_endpoint, control_endpoint) = (word_after(&line, "to"), word_after(&line, "control"));
    let mut vent = python_fed(TASKVENT_PY, &[&sink_endpoint, "20"], "taskvent.py", "\n");
    let vent_endpoint = word_after(&vent.wait_for("taskvent.py bound to"), "to");
    let workers: Vec<Running> = ["w1", "w2"]
        .iter()
        .map(|name| {
            let mut w = rust_example("taskwork", &[&vent_endpoint, &sink_endpoint, &control_endpoint, name]);
            w.wait_for("ready");
            w
        })
        .collect();

    let out = vent.success();
    let cost = expected_cost(&out);
    // The sink checks that the batch starts with "0" and that each result is a workload.
    let out = sink.success();
    assert!(out.contains(&format!("total workload {cost} msec")), "{out}");
    // Its KILL stopped both workers; between them they did the 20 tasks.
    let done: u32 = workers
        .into_iter()
        .map(|w| {
            let out = w.success();
            let line = out.lines().find(|l| l.contains("killed after")).unwrap_or_else(|| panic!("{out}"));
            word_after(line, "after").parse::<u32>().expect(line)
        })
        .sum();
    assert_eq!(done, 20);
}

// ---------------------------------------------------------------- broker

/// The guide's rrclient.py.
const RRCLIENT_PY: &str = r#"
#   Request-reply client in Python
#   Connects REQ socket to tcp://localhost:5559
#   Sends "Hello" to server, expects "World" back
import sys  # test
import zmq

#  Prepare our context and sockets
context = zmq.Context()
socket = context.socket(zmq.REQ)
socket.connect(sys.argv[1])  # test: the broker's frontend, not tcp://localhost:5559

#  Do 10 requests, waiting each time for a response
for request in range(1, int(sys.argv[2]) + 1):  # test: N requests, not 10
    socket.send(b"Hello")
    message = socket.recv()
    print(f"Received reply {request} [{message}]")
"#;

/// The guide's rrworker.py.
const RRWORKER_PY: &str = r#"
#   Request-reply service in Python
#   Connects REP socket to tcp://localhost:5560
#   Expects "Hello" from client, replies with "World"
import sys  # test
import zmq

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.connect(sys.argv[1])  # test: the broker's backend, not tcp://localhost:5560

while True:
    message = socket.recv()
    print(f"Received request: {message}")
    socket.send(b"World")
"#;

/// The guide's rrbroker.py.
const RRBROKER_PY: &str = r#"
# Simple request-reply broker
import zmq

# Prepare our context and sockets
context = zmq.Context()
frontend = context.socket(zmq.ROUTER)
backend = context.socket(zmq.DEALER)
frontend.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5559
backend.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5560
print("rrbroker.py frontend", frontend.getsockopt(zmq.LAST_ENDPOINT).decode(),  # test
      "backend", backend.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

# Initialize poll set
poller = zmq.Poller()
poller.register(frontend, zmq.POLLIN)
poller.register(backend, zmq.POLLIN)

# Switch messages between sockets
while True:
    socks = dict(poller.poll())

    if socks.get(frontend) == zmq.POLLIN:
        message = frontend.recv_multipart()
        backend.send_multipart(message)

    if socks.get(backend) == zmq.POLLIN:
        message = backend.recv_multipart()
        frontend.send_multipart(message)
"#;

#[test]
fn rrbroker_between_python_clients_and_workers() {
    if !have_python("rrbroker_between_python_clients_and_workers") {
        return;
    }
    let mut broker = rust_example("rrbroker", &["tcp://127.0.0.1:*", "tcp://127.0.0.1:*"]);
    let line = broker.wait_for("rrbroker frontend");
    let (frontend, backend) = (word_after(&line, "frontend"), word_after(&line, "backend"));
    let workers: Vec<Running> = (0..2).map(|_| python(RRWORKER_PY, &[&backend], "rrworker.py")).collect();
    let clients: Vec<Running> = (0..2).map(|_| python(RRCLIENT_PY, &[&frontend, "5"], "rrclient.py")).collect();
    for client in clients {
        let out = client.success();
        assert_eq!(out.matches("[b'World']").count(), 5, "{out}");
    }
    // Every request reached a worker as the client sent it.
    let served: usize = workers.into_iter().map(|w| w.stop().matches("Received request: b'Hello'").count()).sum();
    assert_eq!(served, 10);
}

#[test]
fn rrclient_and_rrworker_through_the_python_rrbroker() {
    if !have_python("rrclient_and_rrworker_through_the_python_rrbroker") {
        return;
    }
    let mut broker = python(RRBROKER_PY, &[], "rrbroker.py");
    let line = broker.wait_for("rrbroker.py frontend");
    let (frontend, backend) = (word_after(&line, "frontend"), word_after(&line, "backend"));
    let workers: Vec<Running> = ["w1", "w2"].iter().map(|name| rust_example("rrworker", &[&backend, name])).collect();
    let clients: Vec<Running> = (0..2).map(|_| rust_example("rrclient", &[&frontend, "5"])).collect();
    for client in clients {
        let out = client.success();
        assert_eq!(out.matches("[World]").count(), 5, "{out}");
    }
    let served: usize = workers.into_iter().map(|w| w.stop().matches(": Received request: Hello").count()).sum();
    assert_eq!(served, 10);
}

// ---------------------------------------------------------------- PAIR

/// Note 000's PAIR, process A (the binding side).
const NOTE_PAIR_A: &str = r#"
import sys  # test
import zmq

context = zmq.Context()
# 进程 A
pair_a = context.socket(zmq.PAIR)
# 还可以绑定网络通信，比如
# pair_a.bind("tcp://*:15555")
pair_a.bind(sys.argv[1])  # test: the test's endpoint, not ipc:///tmp/pair.ipc
print("A bound")  # test
pair_a.send(b"Hello from A")
message = pair_a.recv()
print("A received", message)  # test
"#;

/// Note 000's PAIR, process B (the connecting side).
const NOTE_PAIR_B: &str = r#"
import sys  # test
import zmq

context = zmq.Context()
# 进程 B
pair_b = context.socket(zmq.PAIR)
# pair_b.connect("tcp://pair_a_ip:15555")
pair_b.connect(sys.argv[1])  # test: the test's endpoint, not ipc:///tmp/pair.ipc
message = pair_b.recv()
print("B received", message)  # test
pair_b.send(b"Hello from B")
"#;

fn pair_endpoint(who: &str) -> String {
    format!("ipc://@oxmq-pyzmq-pair-{who}-{}", std::process::id())
}

#[test]
fn pair_ipc_binds_for_the_notes_python_process_b() {
    if !have_python("pair_ipc_binds_for_the_notes_python_process_b") {
        return;
    }
    let endpoint = pair_endpoint("b");
    let mut a = rust_example("pair_ipc", &["--role", "bind", &endpoint]);
    a.wait_for("pair bound to");
    let b = python(NOTE_PAIR_B, &[&endpoint], "the note's PAIR process B").success();
    assert!(b.contains("B received b'Hello from A'"), "{b}");
    let a = a.success();
    assert!(a.contains("received: Hello from B"), "{a}");
}

#[test]
fn pair_ipc_connects_to_the_notes_python_process_a() {
    if !have_python("pair_ipc_connects_to_the_notes_python_process_a") {
        return;
    }
    let endpoint = pair_endpoint("a");
    let mut a = python(NOTE_PAIR_A, &[&endpoint], "the note's PAIR process A");
    a.wait_for("A bound");
    let b = rust_example("pair_ipc", &["--role", "connect", &endpoint]).success();
    assert!(b.contains("received: Hello from A"), "{b}");
    let a = a.success();
    assert!(a.contains("A received b'Hello from B'"), "{a}");
}

// ---------------------------------------------------------------- lazy pirate

/// The guide's lpclient.py.
const LPCLIENT_PY: &str = r#"
#
#  Lazy Pirate client
#  Use zmq_poll to do a safe request-reply
#  To run, start lpserver and then randomly kill/restart it
#
#   Author: Daniel Lundin <dln(at)eintr(dot)org>
#
import itertools
import logging
import sys
import zmq

logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.INFO, stream=sys.stdout)  # test: stdout

REQUEST_TIMEOUT = 1000  # test: 1 s, not 2.5
REQUEST_RETRIES = 3
SERVER_ENDPOINT = sys.argv[1]  # test: the server's endpoint, not tcp://localhost:5555

context = zmq.Context()

logging.info("Connecting to server…")
client = context.socket(zmq.REQ)
client.connect(SERVER_ENDPOINT)

for sequence in range(1, int(sys.argv[2]) + 1):  # test: N requests, not itertools.count()
    request = str(sequence).encode()
    logging.info("Sending (%s)", request)
    client.send(request)

    retries_left = REQUEST_RETRIES
    while True:
        if (client.poll(REQUEST_TIMEOUT) & zmq.POLLIN) != 0:
            reply = client.recv()
            if int(reply) == sequence:
                logging.info("Server replied OK (%s)", reply)
                retries_left = REQUEST_RETRIES
                break
            else:
                logging.error("Malformed reply from server: %s", reply)
                continue

        retries_left -= 1
        logging.warning("No response from server")
        # Socket is confused. Close and remove it.
        client.setsockopt(zmq.LINGER, 0)
        client.close()
        if retries_left == 0:
            logging.error("Server seems to be offline, abandoning")
            sys.exit()

        logging.info("Reconnecting to server…")
        # Create new connection
        client = context.socket(zmq.REQ)
        client.connect(SERVER_ENDPOINT)
        logging.info("Resending (%s)", request)
        client.send(request)
print("all replies received")  # test
"#;

/// The guide's lpserver.py.
const LPSERVER_PY: &str = r#"
#
#  Lazy Pirate server
#  Binds REQ socket to tcp://*:5555
#  Like hwserver except:
#   - echoes request as-is
#   - randomly runs slowly, or exits to simulate a crash.
#
#   Author: Daniel Lundin <dln(at)eintr(dot)org>
#
from random import randint
import itertools
import logging
import sys  # test
import time
import zmq

logging.basicConfig(format="%(levelname)s: %(message)s", level=logging.INFO, stream=sys.stdout)  # test: stdout

CRASH_AT, SLOW_AT = int(sys.argv[1]), int(sys.argv[2])  # test: deterministic failures

context = zmq.Context()
server = context.socket(zmq.REP)
server.bind("tcp://127.0.0.1:*")  # test: a free port, not tcp://*:5555
print("lpserver.py bound to", server.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

for cycles in itertools.count():
    request = server.recv()

    # Simulate various problems, after a few cycles
    if cycles == CRASH_AT:  # test: at cycle CRASH_AT, not cycles > 3 and randint(0, 3) == 0
        logging.info("Simulating a crash")
        break
    elif cycles == SLOW_AT:  # test: at cycle SLOW_AT, not cycles > 3 and randint(0, 3) == 0
        logging.info("Simulating CPU overload")
        time.sleep(2)

    logging.info("Normal request (%s)", request)
    time.sleep(0.1)  # Do some heavy work  # test: 0.1 s, not 1
    server.send(request)
"#;

#[test]
fn lpclient_retries_against_the_python_lpserver() {
    if !have_python("lpclient_retries_against_the_python_lpserver") {
        return;
    }
    // Overloaded at the third request (2 s, twice the client's patience), gone at cycle 6.
    let mut server = python(LPSERVER_PY, &["6", "2"], "lpserver.py");
    let endpoint = word_after(&server.wait_for("lpserver.py bound to"), "to");
    let (status, out) = rust_example("lpclient", &[&endpoint, "10", "--timeout", "1000", "--retries", "3"]).finish();
    // The overloaded request was resent and answered; the crash left the client to give up.
    for n in 1..=3 {
        assert!(out.contains(&format!("I: server replied OK ({n})")), "{out}");
    }
    assert!(out.contains("W: no response from server, retrying (3)"), "{out}");
    assert!(out.contains("E: server seems to be offline, abandoning"), "{out}");
    assert!(!out.contains("malformed"), "{out}");
    assert_eq!(status.code(), Some(1), "lpclient gives up with 1: {out}");
    let out = server.success();
    assert!(out.contains("INFO: Simulating CPU overload") && out.contains("INFO: Simulating a crash"), "{out}");
    assert!(out.contains("INFO: Normal request (b'1')"), "the requests as lpclient.py sends them: {out}");
}

#[test]
fn lpserver_answers_the_python_lpclient() {
    if !have_python("lpserver_answers_the_python_lpclient") {
        return;
    }
    // Every third request is lost with the server's socket ("a crash"), and answered when resent.
    let mut server = rust_example("lpserver", &["tcp://127.0.0.1:*", "--drop-every", "3", "--slow-every", "0"]);
    let endpoint = word_after(&server.wait_for("lpserver listening on"), "on");
    let out = python(LPCLIENT_PY, &[&endpoint, "5"], "lpclient.py").success();
    assert_eq!(out.matches("INFO: Server replied OK").count(), 5, "{out}");
    assert!(out.contains("WARNING: No response from server"), "{out}");
    assert!(out.contains("all replies received") && !out.contains("Malformed"), "{out}");
    let out = server.stop();
    assert!(out.contains("I: simulating a crash"), "{out}");
}

// ---------------------------------------------------------------- reconnection

/// The guide's hwserver.py, binding the endpoint it is given, so that it can be restarted on
/// the same one.
const HWSERVER_RESTARTABLE_PY: &str = r#"
#   Hello World server in Python
#   Binds REP socket to tcp://*:5555
#   Expects b"Hello" from client, replies with b"World"
import sys  # test
import time
import zmq

context = zmq.Context()
socket = context.socket(zmq.REP)
socket.bind(sys.argv[1])  # test: the test's endpoint (the same one after a restart), not tcp://*:5555
print("hwserver.py bound to", socket.getsockopt(zmq.LAST_ENDPOINT).decode())  # test

while True:
    #  Wait for next request from client
    message = socket.recv()
    print(f"Received request: {message}")

    #  Do some 'work'
    time.sleep(0.1)  # test: 0.1 s, not 1 (the client gives a reply 1 s before resending)

    #  Send reply back to client
    socket.send(b"World")
"#;

#[test]
fn reconnect_client_keeps_working_across_a_python_hwserver_restart() {
    if !have_python("reconnect_client_keeps_working_across_a_python_hwserver_restart") {
        return;
    }
    let mut server = python(HWSERVER_RESTARTABLE_PY, &["tcp://127.0.0.1:*"], "hwserver.py");
    let endpoint = word_after(&server.wait_for("hwserver.py bound to"), "to");
    let mut client = rust_example("reconnect_client", &[&endpoint, "10", "100"]);
    // Three requests served, then the server is killed mid-run (the fourth may be lost with it:
    // the client resends it after RCVTIMEO), and started again on the same endpoint.
    for _ in 0..3 {
        server.wait_for("Received request: b'Hello'");
    }
    server.stop();
    client.wait_for("event: DISCONNECTED");
    let mut server = python(HWSERVER_RESTARTABLE_PY, &[&endpoint], "the restarted hwserver.py");
    server.wait_for("hwserver.py bound to");
    let out = client.success();
    assert!(out.contains("reconnect_client: all 10 replies received"), "{out}");
    assert_eq!(out.matches(": World (").count(), 10, "every reply is libzmq's World: {out}");
    assert_eq!(out.matches("event: HANDSHAKE_SUCCEEDED").count(), 2, "one per server: {out}");
    let out = server.stop();
    assert!(out.contains("Received request: b'Hello'"), "the restarted server served the rest: {out}");
}

// ---------------------------------------------------------------- shutdown, side by side

/// The shutdown example's scenario as a pyzmq program, after the notes' way of ending (000:
/// `socket.close()` then `context.term()`; 003: LINGER 0 empties the queue on close). It has
/// no peer to pair with: part 1 needs nobody listening, part 2 is inproc. So it runs beside the
/// example instead, on libzmq, and the two must behave alike.
const SHUTDOWN_PY: &str = r#"
import sys, threading, time
import zmq

endpoint = sys.argv[1]
for linger_ms in (300, 0):
    context = zmq.Context()
    socket = context.socket(zmq.PUSH)
    socket.setsockopt(zmq.LINGER, linger_ms)  # 0: 关闭时直接清空队列
    socket.connect(endpoint)  # nobody there: the messages stay queued
    for n in range(3):
        socket.send_string(f"message {n}")
    start = time.monotonic()
    socket.close()
    context.term()  # 销毁上下文
    print(f"LINGER {linger_ms} ms: term returned after {int((time.monotonic() - start) * 1000)} ms")

context = zmq.Context()
pull = context.socket(zmq.PULL)
pull.bind("inproc://shutdown")

def worker():
    try:
        pull.recv()
    except zmq.ContextTerminated:
        print("worker: recv woken by term, closing its socket")
        pull.close()

thread = threading.Thread(target=worker)
thread.start()
time.sleep(0.1)
start = time.monotonic()
context.term()
print(f"main: term returned after {int((time.monotonic() - start) * 1000)} ms")
thread.join()
print("shutdown: done")
"#;

#[test]
fn shutdown_behaves_as_the_same_program_on_libzmq() {
    if !have_python("shutdown_behaves_as_the_same_program_on_libzmq") {
        return;
    }
    // A port nobody listens on, for the PUSH whose messages linger.
    let port = std::net::TcpListener::bind("127.0.0.1:0").unwrap().local_addr().unwrap().port();
    let endpoint = format!("tcp://127.0.0.1:{port}");
    let libzmq = python(SHUTDOWN_PY, &[&endpoint], "shutdown.py").success();
    let oxmq = rust_example("shutdown", &[&endpoint]).success();
    for (who, out) in [("libzmq", &libzmq), ("oxmq", &oxmq)] {
        let ms = |linger: &str| -> u64 {
            let line = out.lines().find(|l| l.starts_with(&format!("LINGER {linger} ms"))).expect(out);
            word_after(line, "after").parse().expect(line)
        };
        // LINGER 300: term waits for messages that can never be delivered, 300 ms; LINGER 0
        // drops them (the bound is only "well before forever").
        assert!(ms("300") >= 290, "{who}: {out}");
        assert!(ms("0") < 5000, "{who}: {out}");
        assert!(out.contains("worker: recv woken by term, closing its socket"), "{who}: {out}");
        assert!(out.contains("main: term returned after") && out.ends_with("shutdown: done"), "{who}: {out}");
    }
}

// ---------------------------------------------------------------- async REQ/REP

/// Note 001's asyncio REP worker (`async_rep_worker`), bound to the test's endpoint instead of
/// inproc (inproc cannot cross processes), answering the example's requests (`hello C.N`,
/// upper-cased back) a bounded number of times instead of `while True`.
const NOTE_ASYNC_REP_WORKER: &str = r#"
import asyncio
import sys  # test
import zmq
import zmq.asyncio as azmq # 使用异步版本

ADDRESS = sys.argv[1]  # test: the test's endpoint, not inproc://my_async_channel
REQUESTS = int(sys.argv[2])  # test: a bounded loop

async def async_rep_worker(context: azmq.Context):
    socket = context.socket(zmq.REP)
    socket.bind(ADDRESS)
    print("REP worker bound to", socket.getsockopt(zmq.LAST_ENDPOINT).decode())  # test
    try:
        for _ in range(REQUESTS):  # test: not while True
            message = await socket.recv_string()
            await socket.send_string(message.upper())  # test: the example's reply, upper-cased
        print(f"REP worker answered {REQUESTS} requests")  # test
    finally:
        socket.close()

async def main():
    context = azmq.Context()
    await async_rep_worker(context)
    context.term()

asyncio.run(main())
"#;

/// Note 001's asyncio REQ client (`async_req_client`), several of them as the example has,
/// each checking its replies.
const NOTE_ASYNC_REQ_CLIENTS: &str = r#"
import asyncio
import sys  # test
import zmq
import zmq.asyncio as azmq

ADDRESS, CLIENTS, REQUESTS = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])  # test

async def async_req_client(context: azmq.Context, c: int):
    socket = context.socket(zmq.REQ)
    socket.connect(ADDRESS)
    try:
        for n in range(REQUESTS):
            await socket.send_string(f"hello {c}.{n}")
            reply = await asyncio.wait_for(socket.recv_string(), 10)
            assert reply == f"HELLO {c}.{n}", reply  # test
    finally:
        socket.close()

async def main():
    context = azmq.Context()
    await asyncio.gather(*(async_req_client(context, c) for c in range(CLIENTS)))
    print(f"REQ clients: {CLIENTS * REQUESTS} replies received")  # test
    context.term()

asyncio.run(main())
"#;

#[test]
fn async_reqrep_server_answers_python_asyncio_clients() {
    if !have_python("async_reqrep_server_answers_python_asyncio_clients") {
        return;
    }
    let mut server = rust_example("async_reqrep", &["tcp://127.0.0.1:*", "3", "4", "server"]);
    let endpoint = word_after(&server.wait_for("server bound to"), "to");
    let clients = python(NOTE_ASYNC_REQ_CLIENTS, &[&endpoint, "3", "4"], "asyncio REQ clients").success();
    assert!(clients.contains("REQ clients: 12 replies received"), "{clients}");
    let out = server.success();
    assert!(out.contains("async_reqrep: 3 clients, 12 requests answered"), "{out}");
}

#[test]
fn async_reqrep_clients_talk_to_a_python_asyncio_worker() {
    if !have_python("async_reqrep_clients_talk_to_a_python_asyncio_worker") {
        return;
    }
    let mut worker = python(NOTE_ASYNC_REP_WORKER, &["tcp://127.0.0.1:*", "12"], "asyncio REP worker");
    let endpoint = word_after(&worker.wait_for("REP worker bound to"), "to");
    let out = rust_example("async_reqrep", &[&endpoint, "3", "4", "clients"]).success();
    assert!(out.contains("async_reqrep: 3 clients, 12 replies received"), "{out}");
    let out = worker.success();
    assert!(out.contains("REP worker answered 12 requests"), "{out}");
}

// ---------------------------------------------------------------- CURVE, ironhouse

/// pyzmq's examples/security/ironhouse.py server side: certificates made with
/// zmq.auth.create_certificates and sorted into public and private directories (as its
/// generate_certificates.py does), a ThreadAuthenticator admitting the client certificates
/// of the public directory, a CURVE REP socket. It answers "World" to the example's "Hello"
/// a bounded number of times.
const IRONHOUSE_SERVER_PY: &str = r#"
import os, shutil, sys, tempfile  # test
import zmq
import zmq.auth
from zmq.auth.thread import ThreadAuthenticator

endpoint, requests = sys.argv[1], int(sys.argv[2])  # test
base_dir = tempfile.mkdtemp()  # test: a fresh directory, not the example's ./certificates
keys_dir = os.path.join(base_dir, "certificates")
public_keys_dir = os.path.join(base_dir, "public_keys")
secret_keys_dir = os.path.join(base_dir, "private_keys")
for d in (keys_dir, public_keys_dir, secret_keys_dir):
    os.mkdir(d)
zmq.auth.create_certificates(keys_dir, "server")
zmq.auth.create_certificates(keys_dir, "client")
for key_file in os.listdir(keys_dir):
    if key_file.endswith(".key"):
        shutil.move(os.path.join(keys_dir, key_file), os.path.join(public_keys_dir, "."))
    elif key_file.endswith(".key_secret"):
        shutil.move(os.path.join(keys_dir, key_file), os.path.join(secret_keys_dir, "."))

ctx = zmq.Context.instance()
auth = ThreadAuthenticator(ctx)
auth.start()
auth.configure_curve(domain='*', location=public_keys_dir)

server = ctx.socket(zmq.REP)
server_public, server_secret = zmq.auth.load_certificate(os.path.join(secret_keys_dir, "server.key_secret"))
server.curve_secretkey = server_secret
server.curve_publickey = server_public
server.curve_server = True
server.bind(endpoint)
# test: what the oxmq client needs: the server's public key and the client's secret key
client_secret = zmq.auth.load_certificate(os.path.join(secret_keys_dir, "client.key_secret"))[1]
print("server public", server_public.decode(), "client secret", client_secret.decode(), "bound to",
      server.getsockopt(zmq.LAST_ENDPOINT).decode())
for _ in range(requests):  # test: a bounded loop
    frame = server.recv(copy=False)
    print("Received", frame.bytes.decode(), "from", frame.get("User-Id"))  # test
    server.send(b"World")
server.close()
auth.stop()
ctx.term()
print("ironhouse server done")
"#;

/// The ironhouse client side: its own key pair, the server's public key pinned; sends
/// "Hello" and reads "World" as the example does.
const IRONHOUSE_CLIENT_PY: &str = r#"
import sys  # test
import zmq

endpoint, server_public, requests = sys.argv[1], sys.argv[2].encode(), int(sys.argv[3])  # test
ctx = zmq.Context.instance()
client = ctx.socket(zmq.REQ)
if len(sys.argv) > 5:  # test: the key pair given (ironhouse loads it from client.key_secret)
    client_public, client_secret = sys.argv[4].encode(), sys.argv[5].encode()
else:  # test: a client the server does not know
    client_public, client_secret = zmq.curve_keypair()
client.curve_secretkey = client_secret
client.curve_publickey = client_public
client.curve_serverkey = server_public
client.rcvtimeo = 3000  # test: a refused client must not hang the test
client.connect(endpoint)
try:
    for n in range(requests):
        client.send(b"Hello")
        print("Received reply", n, client.recv().decode())
except zmq.Again:  # test
    print("no reply: refused")
    sys.exit(1)
client.setsockopt(zmq.LINGER, 0)
client.close()
ctx.term()
"#;

#[test]
fn curve_client_talks_to_the_python_ironhouse_server() {
    if !have_python("curve_client_talks_to_the_python_ironhouse_server") {
        return;
    }
    let mut server = python(IRONHOUSE_SERVER_PY, &["tcp://127.0.0.1:*", "3"], "ironhouse server");
    let line = server.wait_for("bound to");
    let (server_key, client_secret, endpoint) =
        (word_after(&line, "public"), word_after(&line, "secret"), word_after(&line, "to"));
    let out = rust_example("curve_client", &[&endpoint, &server_key, "3", &client_secret]).success();
    assert!(out.contains("curve_client admitted by"), "{out}");
    assert_eq!(out.matches(": World").count(), 3, "{out}");
    let client_public = word_after(out.lines().next().unwrap_or_default(), "key");
    let out = server.success();
    // pyzmq's authenticator names the client by its key: the one the oxmq client proved.
    assert_eq!(out.matches(&format!("Received Hello from {client_public}")).count(), 3, "{out}");
    // A client pinning the same server with a key of its own making is refused.
    let mut server = python(IRONHOUSE_SERVER_PY, &["tcp://127.0.0.1:*", "1"], "ironhouse server");
    let line = server.wait_for("bound to");
    let (server_key, endpoint) = (word_after(&line, "public"), word_after(&line, "to"));
    let (status, out) = rust_example("curve_client", &[&endpoint, &server_key, "1"]).finish();
    assert_eq!(status.code(), Some(1), "{out}");
    drop(server);
}

#[test]
fn curve_server_serves_a_python_ironhouse_client_it_knows() {
    if !have_python("curve_server_serves_a_python_ironhouse_client_it_knows") {
        return;
    }
    let (client_public, client_secret) = oxmq::curve_keypair().unwrap();
    let mut server = rust_example("curve_server", &["tcp://127.0.0.1:*", "2", &client_public]);
    let server_key = word_after(&server.wait_for("curve_server public key"), "key");
    let endpoint = word_after(&server.wait_for("curve_server listening on"), "on");
    // A client the server does not know gets no reply (first, while the server runs).
    let (status, out) = python(IRONHOUSE_CLIENT_PY, &[&endpoint, &server_key, "1"], "unknown client").finish();
    assert_eq!(status.code(), Some(1), "{out}");
    assert!(out.contains("no reply: refused"), "{out}");
    let args = [&endpoint[..], &server_key, "2", &client_public, &client_secret];
    let out = python(IRONHOUSE_CLIENT_PY, &args, "ironhouse client").success();
    assert_eq!(out.matches("Received reply").count(), 2, "{out}");
    assert!(out.lines().all(|l| !l.starts_with("Received reply") || l.ends_with(" World")), "{out}");
    let out = server.success();
    // Only the known client's requests arrived (the server ran all along: it ends after them).
    assert_eq!(out.matches("Received Hello from").count(), 2, "{out}");
    assert_eq!(out.matches(&format!("Received Hello from {client_public}")).count(), 2, "{out}");
}
