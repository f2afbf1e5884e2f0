//! The examples against the pyzmq programs of the notes they show (`../shared/seeds/`): each
//! example pairs with its Python counterpart, run as the note has it but for the endpoint (a
//! free port instead of a fixed one), a bounded loop instead of `while True`, and the slips
//! the seeds' README lists (marked `# test:` in the scripts below).
//!
//! Needs python3 with pyzmq and numpy: without them the tests are skipped, saying so; in CI
//! (`CI` set), where .ci/run installs them, their absence fails the tests instead.

use std::io::{BufRead, BufReader, Read};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::OnceLock;
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

/// The example binaries, built on first use (as tests/examples.rs does).
fn example(name: &str) -> PathBuf {
    static DIR: OnceLock<PathBuf> = OnceLock::new();
    DIR.get_or_init(|| {
        let exe = std::env::current_exe().expect("the test binary's path");
        let profile_dir = exe.parent().and_then(Path::parent).expect("the profile directory");
        let target_dir = profile_dir.parent().expect("the target directory");
        let profile = match profile_dir.file_name().and_then(|n| n.to_str()) {
            Some("debug") => "dev",
            Some(other) => other,
            None => panic!("unexpected test binary path {}", exe.display()),
        };
        let status = Command::new(env!("CARGO"))
            .args(["build", "--quiet", "-p", "oxmq", "--examples", "--profile", profile, "--target-dir"])
            .arg(target_dir)
            .status()
            .expect("cannot run cargo");
        assert!(status.success(), "building the examples failed: {status}");
        profile_dir.join("examples")
    })
    .join(name)
}

/// A running process whose stdout lines are read as they come; killed when dropped.
struct Running {
    what: String,
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    seen: Vec<String>,
}

impl Running {
    fn start(mut cmd: Command, what: &str) -> Running {
        let mut child = cmd
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit())
            .spawn()
            .unwrap_or_else(|e| panic!("cannot start {what}: {e}"));
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
    fn success(mut self) -> String {
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
        let out = self.seen.join("\n");
        assert!(status.success(), "{} failed ({status}); it printed:\n{out}", self.what);
        out
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
    let mut cmd = Command::new("python3");
    cmd.arg("-u").arg("-c").arg(script).args(args);
    Running::start(cmd, what)
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
