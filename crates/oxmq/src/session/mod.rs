//! Sessions: what keeps a socket's peers coming, for each endpoint it binds or connects.
//!
//! This layer sits between the socket and the I/O: the socket asks it to [`bind`] or
//! [`connect`] and gets back a [`Bound`] to stop later; it never sees a listener, a
//! connection or an engine. Below, transports open listeners and connections and hand them
//! up; the session runs them ([`connection`]) and attaches each peer to the socket through
//! its mailbox, the same way for tcp, ipc and inproc ([`attach`]).

pub(crate) mod attach;
pub(crate) mod backoff;
pub(crate) mod connection;
pub(crate) mod zap;

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;
use std::sync::atomic::Ordering::SeqCst;
use std::time::Duration;

use oxmq_wire::SocketType;
use parking_lot::Mutex;
use tokio::task::JoinHandle;

use crate::context::{Context, Registry};
use crate::engine::EngineConfig;
use crate::error::{Error, Result};
use crate::monitor::Event;
use crate::options::Options;
use crate::pipe::PipeId;
use crate::signal::Signal;
use crate::socket::mailbox::SocketShared;
use crate::transport::endpoint::{self, Endpoint, IpcAddr};
use crate::transport::inproc::{Lookup, PendingConnect, Side};
use crate::transport::{self, Target, ipc};
use attach::{PeerGuard, Remote, attach, check_compatible, complete_inproc, named, new_pipe};
use connection::EndpointConfig;

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
        /// The engines' `EngineConfig::stopped`.
        stopped: Arc<AtomicBool>,
    },
    Connecter {
        task: JoinHandle<()>,
        pipe: Option<PipeId>,
        stopped: Arc<AtomicBool>,
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

    /// The pipe that stands for this endpoint's peer in the socket, when there is one and only
    /// one whatever the connections (a connect's early pipe, an inproc connect's pipe).
    pub fn pipe(&self) -> Option<PipeId> {
        match self.kind {
            Kind::Connecter { pipe, .. } => pipe,
            Kind::InprocConnected { pipe } => Some(pipe),
            _ => None,
        }
    }

    /// unbind / disconnect: stop at once, closing this endpoint's connections. A connect's
    /// pipe that outlives connections still flushes what was queued on it, for up to
    /// `linger`, as on close (the socket closes its end: see [`Bound::pipe`]).
    pub fn shutdown(self, ctx: &Context, shared: &SocketShared, linger: Option<Duration>) {
        match self.kind {
            Kind::Listener { accept, engines, file, fd, stopped } => {
                stopped.store(true, SeqCst);
                close_listener(accept);
                engines.abort_all();
                listener_closed(shared, file, fd, &self.resolved);
            }
            Kind::Connecter { task, pipe: Some(_), .. } => reap(ctx, vec![task], linger),
            Kind::Connecter { task, pipe: None, stopped } => {
                stopped.store(true, SeqCst);
                task.abort()
            }
            Kind::InprocBound { name, socket } => ctx.inner.inproc.unbind(&name, &socket),
            Kind::InprocConnected { .. } => {}
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
        let errno = e.raw_os_error().unwrap_or(crate::error::errno::EIO) as u32;
        shared.monitor.emit(Event::CloseFailed, errno, endpoint);
        return;
    }
    shared.monitor.emit(Event::Closed, fd, endpoint);
}

fn endpoint_config(ctx: &Context, shared: &Arc<SocketShared>, options: &Options, endpoint: &str) -> EndpointConfig {
    EndpointConfig {
        zap: zap::ZapClient::new(&ctx.inner),
        socket: shared.clone(),
        engine: EngineConfig {
            socket_type: shared.socket_type,
            options: options.clone(),
            endpoint: endpoint.to_string(),
            stopped: Default::default(),
        },
        routing_id_override: None,
    }
}

/// STREAM talks to raw byte-stream peers, which inproc has none of. (libzmq lets the call
/// through and leaves the socket to misbehave; refusing it says what is wrong.)
fn check_inproc(t: SocketType, options: &Options) -> Result<()> {
    if options.raw_socket {
        return Err(Error::IncompatibleProtocol(
            "a ROUTER_RAW socket talks to raw tcp or ipc peers; inproc has no byte stream to carry".into(),
        ));
    }
    if t == SocketType::Stream {
        return Err(Error::IncompatibleProtocol(
            "STREAM sockets talk to raw tcp or ipc peers; inproc has no byte stream to carry".into(),
        ));
    }
    Ok(())
}

/// Bind the socket `shared` (with `options` as they are now) to `given`. Peers arrive in the
/// socket's mailbox.
pub(crate) fn bind(ctx: &Context, shared: &Arc<SocketShared>, options: &Options, given: &str) -> Result<Bound> {
    let rt = &ctx.inner.handle;
    // USE_FD's listener is the bind's alone: the copy of the options the endpoint keeps does
    // not hold it (it would keep the socket listening after the listener closes).
    let mut options = options.clone();
    let use_fd = options.use_fd.take();
    let options = &options;
    let opened = match endpoint::parse(given)? {
        Endpoint::Inproc(name) => {
            check_inproc(shared.socket_type, options)?;
            let binder = Side { shared: shared.clone(), options: options.clone() };
            for pending in ctx.inner.inproc.bind(&name, binder.clone())? {
                complete_inproc(&name, &binder, pending);
            }
            return Ok(Bound {
                given: given.to_string(),
                resolved: given.to_string(),
                kind: Kind::InprocBound { name, socket: shared.clone() },
            });
        }
        Endpoint::Tcp { host, port } => {
            let _in_runtime = rt.enter();
            transport::bind_tcp(&host, port, options, use_fd.as_ref()).inspect_err(|e| bind_failed(shared, given, e))?
        }
        Endpoint::Ipc(addr) => {
            let _in_runtime = rt.enter();
            transport::bind_ipc(&addr, use_fd.as_ref()).inspect_err(|e| bind_failed(shared, given, e))?
        }
    };
    let fd = opened.listener.fd();
    shared.monitor.emit(Event::Listening, fd, &opened.resolved);
    let ep = Arc::new(endpoint_config(ctx, shared, options, &opened.resolved));
    let stopped = ep.engine.stopped.clone();
    let engines = Arc::new(Tasks::default());
    let accept = rt.spawn(connection::accept_loop(opened.listener, ep, engines.clone(), rt.clone()));
    let kind = Kind::Listener { accept, engines, file: opened.file, fd, stopped };
    Ok(Bound { given: given.to_string(), resolved: opened.resolved, kind })
}

/// BIND_FAILED, with libzmq's endpoint for it: the address without its `tcp://` or `ipc://`.
fn bind_failed(shared: &SocketShared, given: &str, e: &Error) {
    let address = given.split_once("://").map_or(given, |(_, a)| a);
    shared.monitor.emit(Event::BindFailed, e.errno() as u32, address);
}

/// Connect the socket `shared` (with `options` as they are now) to `given`. Peers arrive in
/// the socket's mailbox; a connect that queues before its peer exists posts its pipe at once.
pub(crate) fn connect(ctx: &Context, shared: &Arc<SocketShared>, options: &Options, given: &str) -> Result<Bound> {
    // A connection keeps a copy of the options: not of USE_FD's listener, which is for a bind
    // (held here, it would keep that socket open after its listener closes).
    let mut options = options.clone();
    options.use_fd = None;
    let options = &options;
    let bad = |why: &str| Error::InvalidEndpoint(format!("{given:?}: {why}"));
    let target = match endpoint::parse(given)? {
        Endpoint::Inproc(name) => {
            check_inproc(shared.socket_type, options)?;
            let pipe = connect_inproc(ctx, shared, options, &name)?;
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
        Endpoint::Ipc(addr) => {
            // An address the kernel cannot take (a name too long) fails now, as libzmq's.
            ipc::check(&addr)?;
            Target::Ipc(addr)
        }
    };
    let mut ep = endpoint_config(ctx, shared, options, given);
    ep.routing_id_override = options.connect_routing_id.clone();
    // Unless IMMEDIATE, the pipe exists from now on so messages queue before the peer does.
    // A ROUTER needs the peer's routing id to route to it, so it always waits for the peer.
    // A STREAM names its peers itself, so it has one too, as libzmq's: the peer's id is known
    // at once, and the pipe outlives the connection, so the id survives reconnections.
    let early = if options.immediate || shared.socket_type == SocketType::Router {
        None
    } else {
        let signal = Arc::new(Signal::new());
        let (mine, theirs) = new_pipe(shared, options, &Remote::Engine(signal.clone()));
        attach(shared, options, mine, named(ep.routing_id_override.clone()), None);
        Some(PeerGuard::new(theirs, signal, shared.clone()))
    };
    let pipe = early.as_ref().map(|g| g.pipe.id);
    let stopped = ep.engine.stopped.clone();
    let task = ctx.inner.handle.spawn(connection::connecter(target, Arc::new(ep), early));
    Ok(Bound { given: given.to_string(), resolved: given.to_string(), kind: Kind::Connecter { task, pipe, stopped } })
}

/// An inproc connect: to the binder if there is one, else a pipe that queues until the bind.
fn connect_inproc(ctx: &Context, shared: &Arc<SocketShared>, options: &Options, name: &str) -> Result<PipeId> {
    let me = Side { shared: shared.clone(), options: options.clone() };
    let rid = options.connect_routing_id.clone();
    let mut queued = None;
    let lookup = ctx.inner.inproc.connect(name, || {
        let (mine, theirs) = new_pipe(shared, options, &Remote::NotYetBound);
        // A ROUTER must know its peer's routing id before it can take the pipe.
        let defer = shared.socket_type == SocketType::Router;
        queued = Some((mine.clone(), defer));
        PendingConnect {
            connector: me.clone(),
            binder_end: theirs,
            connector_end: defer.then_some(mine),
            connect_routing_id: rid.clone(),
        }
    });
    match lookup {
        Lookup::Bound(binder) => {
            check_compatible(shared.socket_type, binder.shared.socket_type)?;
            let (mine, theirs) = new_pipe(shared, options, &Remote::Socket(&binder));
            let id = mine.id;
            let theirs_peer = named(options.routing_id.clone());
            attach(&binder.shared, &binder.options, theirs, theirs_peer, Some(Arc::downgrade(shared)));
            let routing_id = rid.or(binder.options.routing_id.clone());
            attach(shared, options, mine, named(routing_id), Some(Arc::downgrade(&binder.shared)));
            Ok(id)
        }
        Lookup::Queued => {
            let (mine, defer) = queued.expect("the pending connect was made");
            let id = mine.id;
            if !defer {
                attach(shared, options, mine, named(None), None);
            }
            Ok(id)
        }
    }
}

/// After close: stop listening at once; let connections flush their queued messages for up
/// to `linger` (forever if `None`), then stop them.
pub(crate) fn linger_and_reap(ctx: &Context, shared: &SocketShared, endpoints: Vec<Bound>, linger: Option<Duration>) {
    let mut handles = Vec::new();
    for b in endpoints {
        match b.kind {
            Kind::Listener { accept, engines, file, fd, .. } => {
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
