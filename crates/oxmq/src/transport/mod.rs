//! Transports: endpoints, and the byte streams behind them.
//!
//! This layer opens things and hands them up; it never sees a socket. [`endpoint`] parses
//! `tcp://`, `ipc://` and `inproc://` addresses; [`tcp`] and [`ipc`] open listeners and
//! connections with libzmq's settings, each yielding a [`Connection`]; [`inproc`] is the name
//! table through which two sockets of one context find each other. The session layer
//! ([`crate::session`]) decides what runs over a connection and attaches the peer.

pub(crate) mod endpoint;
pub(crate) mod inproc;
pub(crate) mod ipc;
pub(crate) mod tcp;

use std::os::fd::AsRawFd;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

use crate::error::Result;
use crate::options::Options;
use endpoint::IpcAddr;

/// The reading half of a connection.
pub(crate) type Reader = Box<dyn AsyncRead + Unpin + Send>;
/// The writing half of a connection.
pub(crate) type Writer = Box<dyn AsyncWrite + Unpin + Send>;

/// A new connection: its two halves, its file descriptor (the monitor's value for it) and
/// the peer's address as libzmq's `Peer-Address` property gives it.
pub(crate) struct Connection {
    pub rd: Reader,
    pub wr: Writer,
    pub fd: u32,
    pub peer_address: Option<String>,
}

impl Connection {
    fn tcp(s: tokio::net::TcpStream) -> Connection {
        let fd = s.as_raw_fd() as u32;
        // libzmq gives the IP address alone.
        let peer_address = s.peer_addr().ok().map(|a| a.ip().to_string());
        let (r, w) = s.into_split();
        Connection { rd: Box::new(r), wr: Box::new(w), fd, peer_address }
    }

    fn ipc(s: tokio::net::UnixStream) -> Connection {
        let fd = s.as_raw_fd() as u32;
        let peer_address = ipc::peer_address(&s);
        let (r, w) = s.into_split();
        Connection { rd: Box::new(r), wr: Box::new(w), fd, peer_address }
    }
}

/// A bound tcp or ipc endpoint, accepting connections.
pub(crate) enum Listener {
    Tcp(TcpListener),
    Ipc(UnixListener),
}

/// What a bind opened: the listener, the endpoint with wildcards resolved (LAST_ENDPOINT) and,
/// for an ipc path, the socket file to remove when the listener closes.
pub(crate) struct Opened {
    pub listener: Listener,
    pub resolved: String,
    pub file: Option<ipc::SocketFile>,
}

/// Where a connecter connects to (tcp or ipc; inproc has no byte stream).
pub(crate) enum Target {
    Tcp { host: String, port: u16 },
    Ipc(IpcAddr),
}

/// Bind a tcp listener (inside the runtime's context).
pub(crate) fn bind_tcp(host: &str, port: u16, opts: &Options) -> Result<Opened> {
    let (l, addr) = tcp::bind(host, port, opts)?;
    Ok(Opened { listener: Listener::Tcp(l), resolved: endpoint::tcp_string(addr), file: None })
}

/// Bind an ipc listener (inside the runtime's context).
pub(crate) fn bind_ipc(addr: &IpcAddr) -> Result<Opened> {
    let (l, resolved, file) = ipc::bind(addr)?;
    Ok(Opened { listener: Listener::Ipc(l), resolved, file })
}

impl Listener {
    /// The listening socket's file descriptor (the monitor's value for LISTENING and CLOSED).
    pub fn fd(&self) -> u32 {
        (match self {
            Listener::Tcp(l) => l.as_raw_fd(),
            Listener::Ipc(l) => l.as_raw_fd(),
        }) as u32
    }

    /// The next connection, configured with the socket's options.
    pub async fn accept(&self, opts: &Options) -> std::io::Result<Connection> {
        Ok(match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                tcp::configure(&s, opts);
                Connection::tcp(s)
            }
            Listener::Ipc(l) => Connection::ipc(l.accept().await?.0),
        })
    }
}

/// Connect to `target` once.
pub(crate) async fn open(target: &Target, opts: &Options) -> std::io::Result<Connection> {
    Ok(match target {
        Target::Tcp { host, port } => Connection::tcp(tcp::connect(host, *port, opts).await?),
        Target::Ipc(addr) => Connection::ipc(ipc::connect(addr).await?),
    })
}
