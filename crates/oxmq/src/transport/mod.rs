//! Transports: how a bind or connect to an endpoint turns into pipes for the socket.
//!
//! tcp and ipc endpoints get a session ([`crate::session`]) running engines over byte
//! streams; inproc endpoints connect two sockets' pipes directly ([`inproc`]).

pub(crate) mod endpoint;
pub(crate) mod inproc;
pub(crate) mod ipc;
pub(crate) mod tcp;

use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use tokio::task::JoinHandle;

use crate::context::{Context, Registry};
use crate::engine::EngineConfig;
use crate::error::{Error, Result};
use crate::monitor::Event;
use crate::options;
use crate::pattern::send_probe;
use crate::pipe::{self, PeerInfo, Pipe, PipeId};
use crate::session::{self, Listener, Target, Tasks};
use crate::signal::Signal;
use crate::socket::{Core, SocketShared};
use endpoint::{Endpoint, IpcAddr};
use oxmq_wire::SocketType;

/// One endpoint a socket is bound or connected to.
pub(crate) struct Bound {
    /// As the user gave it.
    pub given: String,
    /// With wildcards resolved (LAST_ENDPOINT).
    pub resolved: String,
    kind: Kind,
}

enum Kind {
    /// `fd`: the listening socket's, for the monitor's CLOSED event.
    Listener {
        accept: JoinHandle<()>,
        engines: Arc<Tasks>,
        file: Option<ipc::SocketFile>,
        fd: u32,
    },
    Connecter {
        task: JoinHandle<()>,
        pipe: Option<PipeId>,
    },
    InprocBound {
        name: String,
        socket: Arc<SocketShared>,
    },
    InprocConnected {
        pipe: PipeId,
    },
}

impl Bound {
    /// Does `endpoint` name this one? The resolved form always does; the given form only if
    /// it has no wildcard to resolve (libzmq refuses to unbind `tcp://host:*` or `ipc://*`).
    pub fn matches(&self, endpoint: &str) -> bool {
        let wildcard = self.given.ends_with(":*") || self.given.ends_with(":0") || self.given == "ipc://*";
        endpoint == self.resolved || (endpoint == self.given && !wildcard)
    }

    pub fn is_listener(&self) -> bool {
        matches!(self.kind, Kind::Listener { .. } | Kind::InprocBound { .. })
    }

    /// unbind / disconnect: stop at once, closing this endpoint's connections.
    pub fn shutdown(self, ctx: &Context, shared: &SocketShared, core: &mut Core) {
        match self.kind {
            Kind::Listener { accept, engines, file, fd } => {
                close_listener(accept);
                engines.abort_all();
                listener_closed(shared, file, fd, &self.resolved);
            }
            // A pipe that outlives connections still flushes what was queued on it, for up to
            // LINGER, as on close; the others end with the connecter.
            Kind::Connecter { task, pipe: Some(id) } => {
                core.detach(id);
                reap(ctx, vec![task], options::ms(core.options.linger));
            }
            Kind::Connecter { task, pipe: None } => task.abort(),
            Kind::InprocBound { name, socket } => ctx.inner.inproc.unbind(&name, &socket),
            Kind::InprocConnected { pipe } => core.detach(pipe),
        }
    }
}

/// Stop an accept loop and wait (briefly) until its listening socket is closed, so that the
/// address can be bound again as soon as unbind or close returns, as with libzmq.
fn close_listener(accept: JoinHandle<()>) {
    accept.abort();
    // On one of the runtime's own threads, waiting could hold up the very thread that must
    // drop the task; the socket then closes a moment later instead.
    if tokio::runtime::Handle::try_current().is_ok() {
        return;
    }
    let deadline = std::time::Instant::now() + Duration::from_secs(1);
    while !accept.is_finished() && std::time::Instant::now() < deadline {
        std::thread::sleep(Duration::from_micros(50));
    }
}

/// A listener is closed: remove its socket file (ipc), and tell the monitor CLOSED, or
/// CLOSE_FAILED if the file could not be removed (as libzmq's ipc listener).
fn listener_closed(shared: &SocketShared, file: Option<ipc::SocketFile>, fd: u32, endpoint: &str) {
    if let Some(Err(e)) = file.map(|f| f.remove()) {
        let errno = e.raw_os_error().unwrap_or(crate::monitor::errno::EIO) as u32;
        shared.monitor.emit(Event::CloseFailed, errno, endpoint);
        return;
    }
    shared.monitor.emit(Event::Closed, fd, endpoint);
}

fn engine_config(shared: &Arc<SocketShared>, core: &Core, endpoint: &str) -> Arc<EngineConfig> {
    Arc::new(EngineConfig {
        socket: shared.clone(),
        socket_type: shared.socket_type,
        options: core.options.clone(),
        endpoint: endpoint.to_string(),
        routing_id_override: None,
    })
}

fn inproc_peer(shared: &Arc<SocketShared>, core: &Core) -> inproc::Peer {
    inproc::Peer {
        shared: shared.clone(),
        routing_id: core.options.routing_id.clone(),
        sndhwm: core.options.sndhwm,
        rcvhwm: core.options.rcvhwm,
        options: core.options.clone(),
    }
}

/// STREAM talks to raw byte-stream peers, which inproc has none of. (libzmq lets the call
/// through and leaves the socket to misbehave; refusing it says what is wrong.)
fn check_inproc(t: SocketType) -> Result<()> {
    if t == SocketType::Stream {
        return Err(Error::IncompatibleProtocol(
            "STREAM sockets talk to raw tcp or ipc peers; inproc has no byte stream to carry".into(),
        ));
    }
    Ok(())
}

pub(crate) fn bind(ctx: &Context, shared: &Arc<SocketShared>, core: &mut Core, given: &str) -> Result<Bound> {
    let rt = &ctx.inner.handle;
    let (listener, resolved, file) = match endpoint::parse(given)? {
        Endpoint::Inproc(name) => {
            check_inproc(shared.socket_type)?;
            ctx.inner.inproc.bind(&name, inproc_peer(shared, core), core)?;
            return Ok(Bound {
                given: given.to_string(),
                resolved: given.to_string(),
                kind: Kind::InprocBound { name, socket: shared.clone() },
            });
        }
        Endpoint::Tcp { host, port } => {
            let _in_runtime = rt.enter();
            let (l, addr) = tcp::bind(&host, port, &core.options).inspect_err(|e| bind_failed(shared, given, e))?;
            (Listener::Tcp(l), endpoint::tcp_string(addr), None)
        }
        Endpoint::Ipc(addr) => {
            let _in_runtime = rt.enter();
            let (l, resolved, file) = ipc::bind(&addr).inspect_err(|e| bind_failed(shared, given, e))?;
            (Listener::Ipc(l), resolved, file)
        }
    };
    let fd = match &listener {
        Listener::Tcp(l) => l.as_raw_fd(),
        Listener::Ipc(l) => l.as_raw_fd(),
    } as u32;
    shared.monitor.emit(Event::Listening, fd, &resolved);
    let cfg = engine_config(shared, core, &resolved);
    let engines = Arc::new(Tasks::default());
    let accept = rt.spawn(session::accept_loop(listener, shared.clone(), cfg, engines.clone(), rt.clone()));
    Ok(Bound { given: given.to_string(), resolved, kind: Kind::Listener { accept, engines, file, fd } })
}

/// BIND_FAILED, with libzmq's endpoint for it: the address without its `tcp://` or `ipc://`.
fn bind_failed(shared: &SocketShared, given: &str, e: &Error) {
    let address = given.split_once("://").map_or(given, |(_, a)| a);
    shared.monitor.emit(Event::BindFailed, e.errno() as u32, address);
}

pub(crate) fn connect(ctx: &Context, shared: &Arc<SocketShared>, core: &mut Core, given: &str) -> Result<Bound> {
    let bad = |why: &str| Error::InvalidEndpoint(format!("{given:?}: {why}"));
    let target = match endpoint::parse(given)? {
        Endpoint::Inproc(name) => {
            check_inproc(shared.socket_type)?;
            let peer = inproc_peer(shared, core);
            let rid = core.options.connect_routing_id.clone();
            let pipe = ctx.inner.inproc.connect(&name, peer, rid, core)?;
            return Ok(Bound {
                given: given.to_string(),
                resolved: given.to_string(),
                kind: Kind::InprocConnected { pipe },
            });
        }
        Endpoint::Tcp { host, .. } if host == "*" => return Err(bad("connect needs a host, not *")),
        Endpoint::Tcp { port: 0, .. } => return Err(bad("connect needs a port, not * or 0")),
        Endpoint::Tcp { host, port } => Target::Tcp { host, port },
        Endpoint::Ipc(IpcAddr::Wildcard) => return Err(bad("ipc://* is for bind only")),
        Endpoint::Ipc(addr) => Target::Ipc(addr),
    };
    let mut cfg = engine_config(shared, core, given);
    Arc::get_mut(&mut cfg).expect("fresh").routing_id_override = core.options.connect_routing_id.clone();
    // Unless IMMEDIATE, the pipe exists from now on so messages queue before the peer does.
    // A ROUTER needs the peer's routing id to route to it, so it always waits for the peer.
    // A STREAM names its peers itself, so it has one too, as libzmq's: the peer's id is known
    // at once, and the pipe outlives the connection, so the id survives reconnections.
    let early = if core.options.immediate || shared.socket_type == SocketType::Router {
        None
    } else {
        let signal = Arc::new(Signal::new());
        let (mine, theirs) = Pipe::pair(
            shared.signal.clone(),
            signal.clone(),
            pipe::hwm(core.options.sndhwm),
            pipe::hwm(core.options.rcvhwm),
        );
        if pipe::conflates(shared.socket_type, &core.options) {
            mine.set_conflate();
        }
        send_probe(&mine, &core.options);
        let attached = core.attach(mine, PeerInfo { routing_id: cfg.routing_id_override.clone() }, None);
        if !attached && shared.socket_type == SocketType::Stream {
            // It already has a peer under this CONNECT_ROUTING_ID (libzmq asserts). (A PAIR
            // refusing a second peer is no error: its connecter gives up by itself.)
            return Err(Error::InvalidArgument(format!(
                "{given:?}: CONNECT_ROUTING_ID {:?} already names a peer of this socket",
                cfg.routing_id_override.as_deref().unwrap_or_default()
            )));
        }
        Some((theirs, signal))
    };
    let pipe = early.as_ref().map(|(p, _)| p.id);
    let task = ctx.inner.handle.spawn(session::connecter(target, shared.clone(), cfg, early));
    Ok(Bound { given: given.to_string(), resolved: given.to_string(), kind: Kind::Connecter { task, pipe } })
}

/// After close: stop listening at once; let connections flush their queued messages for up
/// to `linger` (forever if `None`), then stop them.
pub(crate) fn linger_and_reap(ctx: &Context, shared: &SocketShared, endpoints: Vec<Bound>, linger: Option<Duration>) {
    let mut handles = Vec::new();
    for b in endpoints {
        match b.kind {
            Kind::Listener { accept, engines, file, fd } => {
                close_listener(accept);
                handles.extend(engines.take());
                listener_closed(shared, file, fd, &b.resolved);
            }
            Kind::Connecter { task, .. } => handles.push(task),
            Kind::InprocBound { name, socket } => ctx.inner.inproc.unbind(&name, &socket),
            Kind::InprocConnected { .. } => {}
        }
    }
    reap(ctx, handles, linger);
}

/// Wait for `handles` to finish for up to `linger` (forever if `None`), then abort them.
/// `Context::term` waits for this.
fn reap(ctx: &Context, handles: Vec<JoinHandle<()>>, linger: Option<Duration>) {
    let registry: Arc<Registry> = ctx.inner.registry.clone();
    registry.linger_begin();
    ctx.inner.handle.spawn(async move {
        let aborts: Vec<_> = handles.iter().map(|h| h.abort_handle()).collect();
        let all_done = async {
            for h in handles {
                let _ = h.await;
            }
        };
        match linger {
            Some(d) => {
                if tokio::time::timeout(d, all_done).await.is_err() {
                    for a in aborts {
                        a.abort();
                    }
                }
            }
            None => all_done.await,
        }
        registry.linger_done();
    });
}
