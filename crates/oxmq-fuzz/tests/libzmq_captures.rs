//! The libzmq bytes in `captures/` (and the corpus seeds made from them) are real libzmq
//! traffic: this test starts pyzmq sockets that connect to raw TCP listeners, which send a
//! ZMTP 3.1 greeting and READY and record everything libzmq sends until it closes, and
//! compares the recordings with the committed captures.
//!
//! What may vary between recordings, and is checked loosely:
//! - `libzmq_pair_heartbeat`: the number of PINGs libzmq sends (HEARTBEAT_IVL 100 ms) before
//!   its HEARTBEAT_TIMEOUT closes the connection: at least one, each identical to the
//!   committed one;
//! - `libzmq_rep_bad_type`: our raw side reads libzmq's greeting and READY before it claims to
//!   be a PUB; libzmq then hangs up with our READY unread, and the reset can destroy what it
//!   sent after its READY: that tail only has to be a prefix of the committed one.
//!
//! Everything else (greetings, READY properties, messages, subscriptions) must be identical.
//! With `OXMQ_FUZZ_WRITE_CAPTURES=1` the recordings are written to `captures/` instead (then
//! run `python3 make_corpus.py`). Without python3 or pyzmq the test says so and passes.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

/// The pyzmq side: one scenario per port, in order; each socket connects, does its part,
/// and is closed after half a second (LINGER 0).
const PEERS: &str = r#"
import sys, time, zmq
ports = [int(p) for p in sys.argv[1:]]
ctx = zmq.Context()
def run(port, ztype, setup, after):
    z = ctx.socket(ztype)
    z.setsockopt(zmq.LINGER, 0)
    setup(z)
    z.connect("tcp://127.0.0.1:%d" % port)
    after(z)
    time.sleep(0.5)
    z.close()
def dealer_setup(z): z.setsockopt(zmq.ROUTING_ID, b"dealer-id")
def dealer_after(z): z.send_multipart([b"", b"hello", b"y" * 1000])
def sub_setup(z):
    z.setsockopt(zmq.SUBSCRIBE, b"topic")
    z.setsockopt(zmq.SUBSCRIBE, b"")
def hb_setup(z):
    z.setsockopt(zmq.HEARTBEAT_IVL, 100)
    z.setsockopt(zmq.HEARTBEAT_TTL, 2000)
nop = lambda z: None
run(ports[0], zmq.DEALER, dealer_setup, dealer_after)
run(ports[1], zmq.SUB, sub_setup, nop)
run(ports[2], zmq.PAIR, hb_setup, nop)
run(ports[3], zmq.REP, nop, nop)
print(zmq.zmq_version())
"#;

/// READY properties: (name, value).
type Props = &'static [(&'static [u8], &'static [u8])];

/// (capture name, the socket type our raw side announces, extra READY properties)
const SCENARIOS: [(&str, &[u8], Props); 4] = [
    ("libzmq_dealer_to_router", b"ROUTER", &[(b"Identity", b"peer")]),
    ("libzmq_sub_to_pub", b"PUB", &[]),
    ("libzmq_pair_heartbeat", b"PAIR", &[]),
    ("libzmq_rep_bad_type", b"PUB", &[]),
];

fn captures_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("captures")
}

/// Our greeting (ZMTP 3.1, NULL, client) and READY.
fn hello(socket_type: &[u8], props: &[(&[u8], &[u8])]) -> Vec<u8> {
    let mut g = vec![0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1];
    g.extend_from_slice(b"NULL");
    g.resize(64, 0);
    let mut body = b"\x05READY".to_vec();
    for (k, v) in [(&b"Socket-Type"[..], socket_type)].into_iter().chain(props.iter().copied()) {
        body.push(k.len() as u8);
        body.extend_from_slice(k);
        body.extend_from_slice(&(v.len() as u32).to_be_bytes());
        body.extend_from_slice(v);
    }
    assert!(body.len() < 256);
    g.extend_from_slice(&[0x04, body.len() as u8]);
    g.extend_from_slice(&body);
    g
}

fn have_pyzmq() -> bool {
    Command::new("python3")
        .args(["-c", "import zmq"])
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|s| s.success())
}

/// Record every scenario: accept libzmq's connection, send our greeting and READY, read
/// until libzmq closes.
fn record() -> Vec<Vec<u8>> {
    let listeners: Vec<TcpListener> = SCENARIOS.iter().map(|_| TcpListener::bind("127.0.0.1:0").unwrap()).collect();
    let ports: Vec<String> = listeners.iter().map(|l| l.local_addr().unwrap().port().to_string()).collect();
    let mut py = Command::new("python3")
        .arg("-c")
        .arg(PEERS)
        .args(&ports)
        .stdout(Stdio::piped())
        .spawn()
        .expect("start python3");
    let mut out = Vec::new();
    for (listener, (name, our_type, props)) in listeners.iter().zip(SCENARIOS) {
        let (mut s, _) = listener.accept().unwrap();
        // An upper bound only: libzmq closes after half a second.
        s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
        let ours = hello(our_type, props);
        let mut data = Vec::new();
        if name == "libzmq_rep_bad_type" {
            // Greeting first, then libzmq's greeting and READY are read before ours goes out:
            // libzmq hangs up on our READY with our bytes unread, and the reset that makes
            // would destroy whatever of its bytes we had not read yet.
            s.write_all(&ours[..64]).unwrap();
            data.resize(64 + 2, 0);
            s.read_exact(&mut data).unwrap();
            let mut ready = vec![0; data[65] as usize];
            s.read_exact(&mut ready).unwrap();
            data.extend_from_slice(&ready);
            s.write_all(&ours[64..]).unwrap();
        } else {
            s.write_all(&ours).unwrap();
        }
        match s.read_to_end(&mut data) {
            Ok(_) => {}
            // libzmq may reset rather than close (LINGER 0 with our READY unread).
            Err(e) if e.kind() == std::io::ErrorKind::ConnectionReset => {}
            Err(e) => panic!("{name}: reading libzmq's bytes: {e}"),
        }
        out.push(data);
    }
    let status = py.wait().unwrap();
    assert!(status.success(), "the pyzmq peers failed: {status}");
    let mut version = String::new();
    py.stdout.take().unwrap().read_to_string(&mut version).unwrap();
    eprintln!("recorded libzmq {}", version.trim());
    out
}

/// Split a byte stream after the 64-byte greeting into ZMTP frames (flags, body).
fn frames(mut b: &[u8]) -> Vec<(u8, Vec<u8>)> {
    let mut v = Vec::new();
    while b.len() >= 2 {
        let (len, h) = if b[0] & 2 != 0 {
            (u64::from_be_bytes(b[1..9].try_into().unwrap()) as usize, 9)
        } else {
            (b[1] as usize, 2)
        };
        v.push((b[0], b[h..h + len].to_vec()));
        b = &b[h + len..];
    }
    assert!(b.is_empty(), "a partial frame");
    v
}

fn compare(name: &str, live: &[u8], committed: &[u8]) {
    match name {
        "libzmq_pair_heartbeat" => {
            // Greeting and READY identical; then one or more PINGs, each the committed one.
            let (g, f) = (&live[..64.min(live.len())], frames(&live[64..]));
            let committed_frames = frames(&committed[64..]);
            assert_eq!(g, &committed[..64], "{name}: greeting");
            assert_eq!(f[0], committed_frames[0], "{name}: READY");
            let ping = &committed_frames[1];
            assert!(f.len() >= 2, "{name}: no PING");
            for p in &f[1..] {
                assert_eq!(p, ping, "{name}: a PING differs");
            }
        }
        "libzmq_rep_bad_type" => {
            // Greeting and READY identical; then libzmq hangs up (anything it sends after its
            // READY may be lost to the reset, so it must only be a prefix of the committed).
            let head = 64 + 2 + committed[65] as usize;
            assert_eq!(&live[..head.min(live.len())], &committed[..head], "{name}: greeting and READY");
            assert!(committed[head..].starts_with(&live[head..]), "{name}: after READY: {:02x?}", &live[head..]);
        }
        _ => assert!(live == committed, "{name}: libzmq sent\n{live:02x?}\nthe capture holds\n{committed:02x?}"),
    }
}

/// The corpus seeds built from captures hold them byte for byte (after the control bytes).
fn check_corpus_seeds() {
    let corpus = Path::new(env!("CARGO_MANIFEST_DIR")).join("corpus");
    let cap = |n: &str| std::fs::read(captures_dir().join(format!("{n}.bin"))).unwrap();
    let seed = |t: &str, n: &str| std::fs::read(corpus.join(t).join(n)).unwrap_or_else(|e| panic!("{t}/{n}: {e}"));
    for (target, name, capture) in [
        ("handshake", "router_vs_libzmq_dealer", "libzmq_dealer_to_router"),
        ("handshake", "pub_vs_libzmq_sub", "libzmq_sub_to_pub"),
        ("handshake", "pair_vs_libzmq_pair_ping", "libzmq_pair_heartbeat"),
        ("handshake", "pub_vs_libzmq_rep_refusing", "libzmq_rep_bad_type"),
        ("engine", "router_libzmq_dealer", "libzmq_dealer_to_router"),
        ("engine", "pub_libzmq_sub", "libzmq_sub_to_pub"),
        ("engine", "pair_libzmq_pair_heartbeat", "libzmq_pair_heartbeat"),
        ("engine", "req_libzmq_rep_refusing", "libzmq_rep_bad_type"),
    ] {
        assert_eq!(seed(target, name)[4..], cap(capture)[..], "corpus/{target}/{name} is not captures/{capture}.bin");
    }
    let dealer = cap("libzmq_dealer_to_router");
    assert_eq!(seed("greeting", "libzmq_routing_id_pad"), dealer[..64]);
    assert_eq!(seed("command", "libzmq_ready_dealer"), dealer[66..66 + 50]);
    assert_eq!(seed("decoder", "libzmq_dealer_frames_nolimit")[9..], dealer[64..]);
    assert_eq!(seed("decoder", "libzmq_pair_ping_nolimit")[9..], cap("libzmq_pair_heartbeat")[64..]);
}

#[test]
fn captures_are_what_libzmq_sends() {
    let write = std::env::var_os("OXMQ_FUZZ_WRITE_CAPTURES").is_some();
    if !write {
        check_corpus_seeds();
    }
    if !have_pyzmq() {
        eprintln!("SKIPPED: python3 with pyzmq is not installed (pip install pyzmq), so libzmq cannot be recorded");
        return;
    }
    let live = record();
    for ((name, ..), data) in SCENARIOS.iter().zip(&live) {
        let path = captures_dir().join(format!("{name}.bin"));
        if write {
            std::fs::write(&path, data).unwrap();
            eprintln!("wrote {} ({} bytes)", path.display(), data.len());
        } else {
            compare(name, data, &std::fs::read(&path).unwrap());
        }
    }
}
