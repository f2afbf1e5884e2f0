//! Transports: endpoints, and the byte streams behind them.
//!
//! This layer opens things and hands them up; it never sees a socket. [`endpoint`] parses
//! `tcp://`, `ipc://` and `inproc://` addresses; [`tcp`] and [`ipc`] open listeners and
//! connections with libzmq's settings, each yielding a [`Connection`]; [`inproc`] is the name
//! table through which two sockets of one context find each other. The session layer
//! ([`crate::session`]) decides what runs over a connection and attaches the peer.

pub(crate) mod endpoint;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) mod fd_stream;
pub(crate) mod inproc;
pub(crate) mod ipc;
pub(crate) mod socks;
pub(crate) mod tcp;

use std::os::fd::{AsRawFd, OwnedFd};
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncWrite};
use tokio::net::{TcpListener, UnixListener};

use crate::error::Result;
use crate::options::Options;
use endpoint::IpcAddr;
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) use fd_stream::FdStream;
/// Where there is no epoll, no stream is an [`FdStream`] (see [`into_fd_stream`]).
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) enum FdStream {}

/// The reading half of a connection (for the handshake, and for the whole life of a STREAM
/// connection or a stream that is not a tcp or ipc socket).
pub(crate) enum Reader {
    Tcp(tokio::net::tcp::OwnedReadHalf),
    Ipc(tokio::net::unix::OwnedReadHalf),
    /// Any other stream (the fuzz harness's in-memory ones).
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code, reason = "only the fuzz harness makes one"))]
    Other(Box<dyn AsyncRead + Unpin + Send>),
}

/// The writing half of a connection.
pub(crate) enum Writer {
    Tcp(tokio::net::tcp::OwnedWriteHalf),
    Ipc(tokio::net::unix::OwnedWriteHalf),
    /// Any other stream (the fuzz harness's in-memory ones).
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code, reason = "only the fuzz harness makes one"))]
    Other(Box<dyn AsyncWrite + Unpin + Send + Sync>),
}

/// What a connection's halves became for the engine to run (see [`into_fd_stream`]).
pub(crate) enum Joined {
    /// A tcp or ipc connection, one [`FdStream`] again.
    Fd(FdStream),
    /// Any other stream, or any stream where there is no [`FdStream`]: the halves as they were.
    Halves(Reader, Writer),
}

/// A tcp or ipc connection's two halves made one [`FdStream`] again, which any thread may read
/// and write (what lets sending and receiving callers drive a ZMTP connection themselves:
/// `engine::drive`, `engine::feed`). An error (no memory for an epoll set) ends the connection
/// like a failed read.
#[cfg(any(target_os = "linux", target_os = "android"))]
pub(crate) fn into_fd_stream(rd: Reader, wr: Writer) -> std::io::Result<Joined> {
    let sock = match (rd, wr) {
        (Reader::Tcp(r), Writer::Tcp(w)) => match r.reunite(w) {
            Ok(s) => fd_stream::Sock::Tcp(s.into_std()?),
            Err(e) => return Ok(Joined::Halves(Reader::Tcp(e.0), Writer::Tcp(e.1))),
        },
        (Reader::Ipc(r), Writer::Ipc(w)) => match r.reunite(w) {
            Ok(s) => fd_stream::Sock::Ipc(s.into_std()?),
            Err(e) => return Ok(Joined::Halves(Reader::Ipc(e.0), Writer::Ipc(e.1))),
        },
        (rd, wr) => return Ok(Joined::Halves(rd, wr)),
    };
    FdStream::new(sock).map(Joined::Fd)
}

/// Where there is no [`FdStream`] (no epoll), every stream stays in its halves.
#[cfg(not(any(target_os = "linux", target_os = "android")))]
pub(crate) fn into_fd_stream(rd: Reader, wr: Writer) -> std::io::Result<Joined> {
    Ok(Joined::Halves(rd, wr))
}

impl AsyncRead for Reader {
    fn poll_read(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &mut tokio::io::ReadBuf<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Reader::Tcp(r) => std::pin::Pin::new(r).poll_read(cx, buf),
            Reader::Ipc(r) => std::pin::Pin::new(r).poll_read(cx, buf),
            Reader::Other(r) => std::pin::Pin::new(r).poll_read(cx, buf),
        }
    }
}

impl AsyncWrite for Writer {
    fn poll_write(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        buf: &[u8],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Writer::Tcp(w) => std::pin::Pin::new(w).poll_write(cx, buf),
            Writer::Ipc(w) => std::pin::Pin::new(w).poll_write(cx, buf),
            Writer::Other(w) => std::pin::Pin::new(w).poll_write(cx, buf),
        }
    }

    fn poll_write_vectored(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
        bufs: &[std::io::IoSlice<'_>],
    ) -> std::task::Poll<std::io::Result<usize>> {
        match self.get_mut() {
            Writer::Tcp(w) => std::pin::Pin::new(w).poll_write_vectored(cx, bufs),
            Writer::Ipc(w) => std::pin::Pin::new(w).poll_write_vectored(cx, bufs),
            Writer::Other(w) => std::pin::Pin::new(w).poll_write_vectored(cx, bufs),
        }
    }

    fn is_write_vectored(&self) -> bool {
        match self {
            Writer::Tcp(w) => w.is_write_vectored(),
            Writer::Ipc(w) => w.is_write_vectored(),
            Writer::Other(w) => w.is_write_vectored(),
        }
    }

    fn poll_flush(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Writer::Tcp(w) => std::pin::Pin::new(w).poll_flush(cx),
            Writer::Ipc(w) => std::pin::Pin::new(w).poll_flush(cx),
            Writer::Other(w) => std::pin::Pin::new(w).poll_flush(cx),
        }
    }

    fn poll_shutdown(
        self: std::pin::Pin<&mut Self>,
        cx: &mut std::task::Context<'_>,
    ) -> std::task::Poll<std::io::Result<()>> {
        match self.get_mut() {
            Writer::Tcp(w) => std::pin::Pin::new(w).poll_shutdown(cx),
            Writer::Ipc(w) => std::pin::Pin::new(w).poll_shutdown(cx),
            Writer::Other(w) => std::pin::Pin::new(w).poll_shutdown(cx),
        }
    }
}

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
        Connection { rd: Reader::Tcp(r), wr: Writer::Tcp(w), fd, peer_address }
    }

    fn ipc(s: tokio::net::UnixStream) -> Connection {
        let fd = s.as_raw_fd() as u32;
        let peer_address = ipc::peer_address(&s);
        let (r, w) = s.into_split();
        Connection { rd: Reader::Ipc(r), wr: Writer::Ipc(w), fd, peer_address }
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
pub(crate) fn bind_tcp(host: &str, port: u16, opts: &Options, use_fd: Option<&Arc<OwnedFd>>) -> Result<Opened> {
    let (l, addr) = tcp::bind(host, port, opts, use_fd)?;
    Ok(Opened { listener: Listener::Tcp(l), resolved: endpoint::tcp_string(addr), file: None })
}

/// Bind an ipc listener (inside the runtime's context).
pub(crate) fn bind_ipc(addr: &IpcAddr, use_fd: Option<&Arc<OwnedFd>>) -> Result<Opened> {
    if let Some(fd) = use_fd {
        // The application's socket: its file is the application's to remove, not ours.
        let std = adopt_listener(fd, &[socket2::Domain::UNIX])?;
        let l = UnixListener::from_std(std::os::unix::net::UnixListener::from(std))?;
        let resolved = match l.local_addr().ok().and_then(|a| a.as_pathname().map(|p| p.display().to_string())) {
            Some(path) => format!("ipc://{path}"),
            None => match addr {
                IpcAddr::Path(p) => format!("ipc://{}", p.display()),
                IpcAddr::Abstract(name) => format!("ipc://@{name}"),
                IpcAddr::Wildcard => "ipc://*".to_string(),
            },
        };
        return Ok(Opened { listener: Listener::Ipc(l), resolved, file: None });
    }
    let (l, resolved, file) = ipc::bind(addr)?;
    Ok(Opened { listener: Listener::Ipc(l), resolved, file })
}

/// USE_FD: the listening socket handed over for a bind, once checked to be a listening stream
/// socket of one of `domains` (otherwise EINVAL).
pub(crate) fn adopt_listener(fd: &Arc<OwnedFd>, domains: &[socket2::Domain]) -> Result<socket2::Socket> {
    let invalid = |why: String| crate::error::Error::InvalidArgument(format!("USE_FD: {why}"));
    let sock = socket2::SockRef::from(&**fd);
    let domain = sock.domain().map_err(|e| invalid(format!("not a socket ({e})")))?;
    if !domains.contains(&domain) || sock.r#type().ok() != Some(socket2::Type::STREAM) {
        return Err(invalid("not a stream socket of the endpoint's transport".into()));
    }
    if !sock.is_listener().unwrap_or(false) {
        return Err(invalid("not a listening socket (bind and listen it first)".into()));
    }
    // A duplicate for the listener: the descriptor handed over is dropped (closed) once the
    // bind succeeds (SocketBase::bind lets go of it), so only the listener's stays open and
    // the socket stops listening when the listener closes.
    let owned = socket2::Socket::from(fd.try_clone()?);
    owned.set_nonblocking(true)?;
    Ok(owned)
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
            Listener::Tcp(l) => loop {
                let (s, peer) = l.accept().await?;
                // TCP_ACCEPT_FILTER: a peer from elsewhere is closed at once, as in libzmq.
                if !opts.tcp_accept_filters.is_empty()
                    && !opts.tcp_accept_filters.iter().any(|f| crate::options::accept_filter_matches(f, peer.ip()))
                {
                    tracing::debug!("TCP_ACCEPT_FILTER: closing the connection from {peer}");
                    drop(s);
                    continue;
                }
                tcp::configure(&s, opts);
                break Connection::tcp(s);
            },
            Listener::Ipc(l) => loop {
                let s = l.accept().await?.0;
                // IPC_FILTER_*: a process not listed is closed at once, as in libzmq.
                if !ipc::peer_allowed(&s, opts) {
                    tracing::debug!("IPC_FILTER: closing a connection from a process not listed");
                    drop(s);
                    continue;
                }
                break Connection::ipc(s);
            },
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
