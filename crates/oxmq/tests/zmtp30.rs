//! A hand-written ZMTP 3.0 peer (greeting minor version 0), as old libzmq 4.0/4.1 and other
//! 3.0-only implementations send: oxmq must talk 3.0 back, both directions.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use oxmq::{Context, Pull, Push};

fn greeting_30() -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xFF;
    g[8] = 0x01;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 0; // ZMTP 3.0
    g[12..16].copy_from_slice(b"NULL");
    g
}

fn ready(socket_type: &str) -> Vec<u8> {
    let mut body = vec![5];
    body.extend_from_slice(b"READY");
    body.push(11);
    body.extend_from_slice(b"Socket-Type");
    body.extend_from_slice(&(socket_type.len() as u32).to_be_bytes());
    body.extend_from_slice(socket_type.as_bytes());
    let mut frame = vec![0x04, body.len() as u8];
    frame.extend_from_slice(&body);
    frame
}

/// Read the peer's greeting and its READY command; returns the greeting.
fn read_handshake(s: &mut TcpStream) -> [u8; 64] {
    let mut g = [0u8; 64];
    s.read_exact(&mut g).unwrap();
    let mut hdr = [0u8; 2];
    s.read_exact(&mut hdr).unwrap();
    assert_eq!(hdr[0], 0x04, "a short COMMAND frame (READY) follows the greeting");
    let mut body = vec![0u8; hdr[1] as usize];
    s.read_exact(&mut body).unwrap();
    assert_eq!(&body[..6], b"\x05READY");
    g
}

fn peer(endpoint: &str) -> TcpStream {
    let addr = endpoint.trim_start_matches("tcp://");
    let s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
    s
}

#[test]
fn oxmq_pull_receives_from_a_zmtp_30_push() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind("tcp://127.0.0.1:*").unwrap();
    let mut s = peer(&pull.last_endpoint().unwrap());
    s.write_all(&greeting_30()).unwrap();
    s.write_all(&ready("PUSH")).unwrap();
    let ours = read_handshake(&mut s);
    assert_eq!(&ours[..12], &[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1], "oxmq announces 3.1");
    // A two-frame message, then a long (> 255 byte) frame.
    s.write_all(&[0x01, 1, b'a', 0x00, 1, b'b']).unwrap();
    let mut long = vec![0x02];
    long.extend_from_slice(&300u64.to_be_bytes());
    long.extend_from_slice(&[7u8; 300]);
    s.write_all(&long).unwrap();
    assert_eq!(pull.recv_multipart().unwrap(), vec!["a", "b"]);
    assert_eq!(pull.recv().unwrap(), vec![7u8; 300]);
}

#[test]
fn oxmq_push_sends_to_a_zmtp_30_pull() {
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    push.set_linger(0).unwrap();
    push.bind("tcp://127.0.0.1:*").unwrap();
    let mut s = peer(&push.last_endpoint().unwrap());
    s.write_all(&greeting_30()).unwrap();
    s.write_all(&ready("PULL")).unwrap();
    read_handshake(&mut s);
    push.send_multipart(["x", ""]).unwrap();
    let mut got = [0u8; 5];
    s.read_exact(&mut got).unwrap();
    assert_eq!(got, [0x01, 1, b'x', 0x00, 0], "frame x with MORE, then an empty last frame");
}
