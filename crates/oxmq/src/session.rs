//! Sessions: what keeps connections going for one endpoint.
//!
//! A bound endpoint runs an accept loop that starts an engine per connection; a connected
//! endpoint runs a connecter that connects, runs the engine, and after the connection ends
//! waits RECONNECT_IVL (doubling up to RECONNECT_IVL_MAX) and connects again.
//!
//! Both report to the socket's monitor as libzmq's listener, connecter and session do:
//! ACCEPTED / ACCEPT_FAILED; CONNECT_DELAYED (tcp), CONNECTED, CONNECT_RETRIED with the
//! interval before each new attempt; DISCONNECTED when a connection ends other than by the
//! socket's own doing (the engine reports the handshake events).

use std::future::Future;
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use oxmq_wire::SocketType;
use parking_lot::Mutex;
use tokio::net::{TcpListener, UnixListener};
use tokio::task::JoinHandle;

use crate::engine::{self, Attach, End, EngineConfig, Reader, Writer};
use crate::monitor::{Event, errno};
use crate::pipe::Pipe;
use crate::signal::Signal;
use crate::socket::{Command, SocketShared};
use crate::transport::endpoint::IpcAddr;
use crate::transport::{ipc, tcp};

/// The tasks started for one endpoint.
#[derive(Default)]
pub(crate) struct Tasks {
    handles: Mutex<Vec<JoinHandle<()>>>,
}

impl Tasks {
    pub fn spawn(&self, rt: &tokio::runtime::Handle, f: impl Future<Output = ()> + Send + 'static) {
        let h = rt.spawn(f);
        let mut v = self.handles.lock();
        v.retain(|h| !h.is_finished());
        v.push(h);
    }

    pub fn abort_all(&self) {
        for h in self.handles.lock().drain(..) {
            h.abort();
        }
    }

    pub fn take(&self) -> Vec<JoinHandle<()>> {
        std::mem::take(&mut *self.handles.lock())
    }
}

pub(crate) enum Listener {
    Tcp(TcpListener),
    Ipc(UnixListener),
}

/// A new connection: its two halves and its file descriptor (for the monitor).
type Connection = (Reader, Writer, u32);

impl Listener {
    async fn accept(&self, cfg: &EngineConfig) -> std::io::Result<Connection> {
        Ok(match self {
            Listener::Tcp(l) => {
                let (s, _) = l.accept().await?;
                tcp::configure(&s, &cfg.options);
                let fd = s.as_raw_fd() as u32;
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w), fd)
            }
            Listener::Ipc(l) => {
                let (s, _) = l.accept().await?;
                let fd = s.as_raw_fd() as u32;
                let (r, w) = s.into_split();
                (Box::new(r), Box::new(w), fd)
            }
        })
    }
}

/// A connection's engine ended: DISCONNECTED, unless the socket itself ended it.
fn report_end(socket: &SocketShared, cfg: &EngineConfig, fd: u32, end: &End) {
    if !matches!(end, End::Finished) {
        socket.monitor.emit(Event::Disconnected, fd, &cfg.endpoint);
    }
}

pub(crate) async fn accept_loop(
    listener: Listener,
    socket: Arc<SocketShared>,
    cfg: Arc<EngineConfig>,
    engines: Arc<Tasks>,
    rt: tokio::runtime::Handle,
) {
    loop {
        match listener.accept(&cfg).await {
            Ok((rd, wr, fd)) => {
                socket.monitor.emit(Event::Accepted, fd, &cfg.endpoint);
                let (socket, cfg) = (socket.clone(), cfg.clone());
                engines.spawn(&rt, async move {
                    let end = engine::run(rd, wr, &cfg, Attach::New(&socket)).await;
                    report_end(&socket, &cfg, fd, &end);
                });
            }
            Err(e) => {
                // Out of file descriptors and the like: keep the listener, try again shortly.
                tracing::warn!("{}: accept failed: {e}", cfg.endpoint);
                let errno = e.raw_os_error().unwrap_or(errno::EIO) as u32;
                socket.monitor.emit(Event::AcceptFailed, errno, &cfg.endpoint);
                tokio::time::sleep(Duration::from_millis(100)).await;
            }
        }
    }
}

/// Where a connecter connects to.
pub(crate) enum Target {
    Tcp { host: String, port: u16 },
    Ipc(IpcAddr),
}

async fn open(target: &Target, cfg: &EngineConfig) -> std::io::Result<Connection> {
    Ok(match target {
        Target::Tcp { host, port } => {
            let s = tcp::connect(host, *port, &cfg.options).await?;
            let fd = s.as_raw_fd() as u32;
            let (r, w) = s.into_split();
            (Box::new(r), Box::new(w), fd)
        }
        Target::Ipc(addr) => {
            let s = ipc::connect(addr).await?;
            let fd = s.as_raw_fd() as u32;
            let (r, w) = s.into_split();
            (Box::new(r), Box::new(w), fd)
        }
    })
}

/// The socket's end of a connect-time pipe is closed, and the socket told, when the connecter
/// ends for good (including being aborted by disconnect or close).
struct EarlyPipe {
    pipe: Pipe,
    signal: Arc<Signal>,
    socket: Arc<SocketShared>,
}

impl Drop for EarlyPipe {
    fn drop(&mut self) {
        self.pipe.close();
        self.socket.post(Command::Detach(self.pipe.id));
    }
}

/// Connect, run the engine, reconnect, until the socket is done with this endpoint.
/// `early` is the engine's end of a pipe the socket already holds (see [`Attach::Existing`]).
pub(crate) async fn connecter(
    target: Target,
    socket: Arc<SocketShared>,
    cfg: Arc<EngineConfig>,
    early: Option<(Pipe, Arc<Signal>)>,
) {
    let early = early.map(|(pipe, signal)| EarlyPipe { pipe, signal, socket: socket.clone() });
    let base = cfg.options.reconnect_ivl;
    let mut ivl = base;
    // The socket closed and, for an early pipe, every queued message has been written.
    let unwanted = || {
        let attach = match &early {
            Some(e) => Attach::Existing { pipe: &e.pipe, signal: &e.signal, hiccup: None },
            None => Attach::New(&socket),
        };
        async move { engine::unwanted(&attach).await }
    };
    // A connection was made before: the next one is a hiccup for an early pipe.
    let mut connected_before = false;
    loop {
        // A tcp connect is asynchronous (libzmq reports its EINPROGRESS); a local one is not.
        if let Target::Tcp { .. } = target {
            socket.monitor.emit(Event::ConnectDelayed, errno::EINPROGRESS as u32, &cfg.endpoint);
        }
        let opened = tokio::select! {
            r = open(&target, &cfg) => r,
            () = unwanted() => return,
        };
        match opened {
            Ok((rd, wr, fd)) => {
                socket.monitor.emit(Event::Connected, fd, &cfg.endpoint);
                ivl = base;
                let attach = match &early {
                    Some(e) => Attach::Existing {
                        pipe: &e.pipe,
                        signal: &e.signal,
                        hiccup: connected_before.then_some(&*socket),
                    },
                    None => Attach::New(&socket),
                };
                connected_before = true;
                let end = engine::run(rd, wr, &cfg, attach).await;
                report_end(&socket, &cfg, fd, &end);
                match end {
                    // The socket is done with this peer (a STREAM closes a connection for good).
                    End::Finished if early.is_some() || cfg.socket_type == SocketType::Stream => return,
                    End::Protocol(_) => return,
                    End::Finished | End::Disconnected(_) => {}
                }
            }
            Err(e) => tracing::debug!("{}: connect failed: {e}", cfg.endpoint),
        }
        if base < 0 {
            tracing::debug!("{}: RECONNECT_IVL is -1: not reconnecting", cfg.endpoint);
            return;
        }
        socket.monitor.emit(Event::ConnectRetried, ivl.max(0) as u32, &cfg.endpoint);
        tokio::select! {
            () = tokio::time::sleep(Duration::from_millis(ivl.max(1) as u64)) => {}
            () = unwanted() => return,
        }
        let max = cfg.options.reconnect_ivl_max;
        if max > ivl {
            ivl = ivl.saturating_mul(2).min(max);
        }
    }
}
