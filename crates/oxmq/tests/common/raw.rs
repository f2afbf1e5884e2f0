//! A tiny hand-written ZMTP 3.1 peer over a raw `TcpStream` (greeting, READY, frames) for talking
//! to oxmq byte by byte, and the frame builders and parser it uses.

use std::io::{ErrorKind, Read, Write};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use super::{SOON, tcp_addr};

pub const FLAG_MORE: u8 = 0x01;
pub const FLAG_LONG: u8 = 0x02;
pub const FLAG_COMMAND: u8 = 0x04;

/// A ZMTP 3.1 NULL greeting, as libzmq sends it (as-server 0).
pub fn greeting() -> [u8; 64] {
    let mut g = [0u8; 64];
    g[0] = 0xFF;
    g[8] = 0x01;
    g[9] = 0x7F;
    g[10] = 3;
    g[11] = 1;
    g[12..16].copy_from_slice(b"NULL");
    g
}

/// One frame, with a short or long header as its size needs.
pub fn frame(flags: u8, body: &[u8]) -> Vec<u8> {
    let mut f = Vec::with_capacity(body.len() + 9);
    if body.len() > 255 {
        f.push(flags | FLAG_LONG);
        f.extend_from_slice(&(body.len() as u64).to_be_bytes());
    } else {
        f.push(flags);
        f.push(body.len() as u8);
    }
    f.extend_from_slice(body);
    f
}

/// A command frame: name-length, name, data.
pub fn command(name: &str, data: &[u8]) -> Vec<u8> {
    let mut body = vec![name.len() as u8];
    body.extend_from_slice(name.as_bytes());
    body.extend_from_slice(data);
    frame(FLAG_COMMAND, &body)
}

/// A READY command with the given properties (name-len u8, name, value-len u32 BE, value).
pub fn ready(props: &[(&str, &[u8])]) -> Vec<u8> {
    let mut data = Vec::new();
    for (name, value) in props {
        data.push(name.len() as u8);
        data.extend_from_slice(name.as_bytes());
        data.extend_from_slice(&(value.len() as u32).to_be_bytes());
        data.extend_from_slice(value);
    }
    command("READY", &data)
}

/// READY with just a Socket-Type.
pub fn ready_as(socket_type: &str) -> Vec<u8> {
    ready(&[("Socket-Type", socket_type.as_bytes())])
}

/// A PING command (TTL in deciseconds, then the context).
pub fn ping(ttl: u16, context: &[u8]) -> Vec<u8> {
    let mut data = ttl.to_be_bytes().to_vec();
    data.extend_from_slice(context);
    command("PING", &data)
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RawFrame {
    pub flags: u8,
    pub body: Vec<u8>,
}

impl RawFrame {
    pub fn is_command(&self) -> bool {
        self.flags & FLAG_COMMAND != 0
    }

    /// The command name, if this is a command frame.
    pub fn command_name(&self) -> Option<&str> {
        if !self.is_command() {
            return None;
        }
        let n = *self.body.first()? as usize;
        std::str::from_utf8(self.body.get(1..1 + n)?).ok()
    }

    /// The command data after the name.
    pub fn command_data(&self) -> &[u8] {
        let n = self.body[0] as usize;
        &self.body[1 + n..]
    }

    /// The properties of a READY command.
    pub fn properties(&self) -> Vec<(String, Vec<u8>)> {
        let mut out = Vec::new();
        let mut d = self.command_data();
        while !d.is_empty() {
            let n = d[0] as usize;
            let name = String::from_utf8_lossy(&d[1..1 + n]).into_owned();
            d = &d[1 + n..];
            let len = u32::from_be_bytes(d[..4].try_into().unwrap()) as usize;
            out.push((name, d[4..4 + len].to_vec()));
            d = &d[4 + len..];
        }
        out
    }
}

/// Split a byte stream (after the greeting) into complete frames; a trailing partial frame is
/// ignored.
pub fn parse_frames(mut b: &[u8]) -> Vec<RawFrame> {
    let mut out = Vec::new();
    while let Some(&flags) = b.first() {
        let (hdr, len) = if flags & FLAG_LONG != 0 {
            if b.len() < 9 {
                break;
            }
            (9, u64::from_be_bytes(b[1..9].try_into().unwrap()) as usize)
        } else {
            if b.len() < 2 {
                break;
            }
            (2, b[1] as usize)
        };
        if b.len() < hdr + len {
            break;
        }
        out.push(RawFrame { flags, body: b[hdr..hdr + len].to_vec() });
        b = &b[hdr + len..];
    }
    out
}

/// A hand-driven ZMTP peer on a raw TCP connection.
pub struct RawPeer {
    pub stream: TcpStream,
}

impl RawPeer {
    /// Connect to a `tcp://` endpoint; reads time out after [`SOON`].
    pub fn connect(endpoint: &str) -> RawPeer {
        let stream = TcpStream::connect(tcp_addr(endpoint)).unwrap();
        stream.set_read_timeout(Some(SOON)).unwrap();
        stream.set_nodelay(true).unwrap();
        RawPeer { stream }
    }

    /// Write bytes; errors are returned, not fatal (the other side may have closed already).
    pub fn write(&mut self, bytes: &[u8]) -> std::io::Result<()> {
        self.stream.write_all(bytes)
    }

    pub fn read_exact(&mut self, n: usize) -> Vec<u8> {
        let mut b = vec![0u8; n];
        self.stream.read_exact(&mut b).unwrap_or_else(|e| panic!("reading {n} bytes from oxmq: {e}"));
        b
    }

    /// Read oxmq's 64-byte greeting and check it is ZMTP 3.1 NULL.
    pub fn read_greeting(&mut self) -> Vec<u8> {
        let g = self.read_exact(64);
        assert_eq!(&g[..12], &[0xFF, 0, 0, 0, 0, 0, 0, 0, 1, 0x7F, 3, 1], "oxmq's greeting signature and version");
        assert_eq!(&g[12..16], b"NULL");
        g
    }

    /// Read one frame.
    pub fn read_frame(&mut self) -> RawFrame {
        let h = self.read_exact(2);
        let flags = h[0];
        let len = if flags & FLAG_LONG != 0 {
            let mut l = vec![h[1]];
            l.extend(self.read_exact(7));
            u64::from_be_bytes(l.try_into().unwrap()) as usize
        } else {
            h[1] as usize
        };
        let body = self.read_exact(len);
        RawFrame { flags, body }
    }

    /// Full NULL handshake as `socket_type`: send our greeting and READY, read oxmq's greeting
    /// and READY. Returns oxmq's READY properties.
    pub fn handshake(&mut self, socket_type: &str) -> Vec<(String, Vec<u8>)> {
        self.write(&greeting()).unwrap();
        self.write(&ready_as(socket_type)).unwrap();
        self.read_greeting();
        let r = self.read_frame();
        assert_eq!(r.command_name(), Some("READY"), "oxmq's first command is READY: {r:?}");
        r.properties()
    }

    /// The rest of a handshake whose greeting from oxmq was already read: send our greeting
    /// and READY, read oxmq's READY.
    pub fn handshake_after_greeting(&mut self, socket_type: &str) -> Vec<(String, Vec<u8>)> {
        self.stream.set_read_timeout(Some(SOON)).unwrap();
        self.write(&greeting()).unwrap();
        self.write(&ready_as(socket_type)).unwrap();
        let r = self.read_frame();
        assert_eq!(r.command_name(), Some("READY"), "oxmq's first command is READY: {r:?}");
        r.properties()
    }

    /// Read until oxmq closes the connection (EOF or reset) and return everything read;
    /// panics if it is still open after `within`.
    pub fn expect_closed(&mut self, within: Duration) -> Vec<u8> {
        let deadline = Instant::now() + within;
        let mut got = Vec::new();
        let mut buf = [0u8; 4096];
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            if left.is_zero() {
                panic!("oxmq did not close the connection within {within:?} (read {} bytes)", got.len());
            }
            self.stream.set_read_timeout(Some(left)).unwrap();
            match self.stream.read(&mut buf) {
                Ok(0) => return got,
                Ok(n) => got.extend_from_slice(&buf[..n]),
                Err(e) if matches!(e.kind(), ErrorKind::ConnectionReset | ErrorKind::ConnectionAborted) => {
                    return got;
                }
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    panic!("oxmq did not close the connection within {within:?} (read {} bytes)", got.len())
                }
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) => panic!("unexpected read error: {e}"),
            }
        }
    }

    /// True if nothing arrives and the connection stays open for `quiet`.
    pub fn stays_open_and_silent(&mut self, quiet: Duration) -> bool {
        self.stream.set_read_timeout(Some(quiet)).unwrap();
        let mut b = [0u8; 1];
        let r = self.stream.read(&mut b);
        matches!(r, Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut))
    }

    /// The raw-peer side of `expect_nothing_before`: the connection stays open and oxmq sends
    /// nothing for `quiet` (else fail with `what`), and then a marker: a PING without TTL, whose
    /// PONG must be the very next frame oxmq sends (the window alone proves little: an unwanted
    /// frame may just be late). Any ZMTP 3.1 socket answers a PING, whatever its type.
    #[track_caller]
    pub fn expect_silent_before_pong(&mut self, quiet: Duration, what: &str) {
        assert!(self.stays_open_and_silent(quiet), "{what}");
        self.stream.set_read_timeout(Some(SOON)).unwrap();
        self.write(&ping(0, b"marker")).unwrap();
        let marker = parse_frames(&command("PONG", b"marker")).remove(0);
        assert_eq!(self.read_frame(), marker, "{what}: the marker PONG must be the next frame");
    }
}
