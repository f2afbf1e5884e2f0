//! The socket: the public API, and the core that turns a pattern's "would block" into waiting.
//!
//! The socket's state lives in [`Core`] behind a mutex that is never held while waiting, so a
//! `Socket` may be shared between threads (`Send + Sync`); the I/O side talks to it only
//! through pipes and the [`SocketShared`] mailbox (new peer, peer gone), both of which wake the
//! socket's one [`Signal`].

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};
use std::time::Instant;

use bytes::Bytes;
use oxmq_wire::SocketType;
use parking_lot::Mutex;

use crate::context::{Context, Registry};
use crate::error::{Error, Result};
use crate::frame::IntoFrame;
use crate::monitor::{self, EventMask, Monitor, MonitorSlot};
use crate::options::{self, Options, opt};
use crate::pattern::{self, Pattern, SendError};
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};
use crate::poll::PollEvents;
use crate::signal::Signal;
use crate::sockets::Pair;
use crate::transport::endpoint::{self, Endpoint};
use crate::transport::{self, Bound};

/// What the I/O side tells a socket.
pub(crate) enum Command {
    /// A peer completed its handshake (or an inproc peer connected): here is its pipe, and,
    /// for inproc, the peer socket to tell when this socket closes the pipe.
    Attach(Pipe, PeerInfo, Option<Weak<SocketShared>>),
    /// The peer behind this pipe is gone.
    Detach(PipeId),
    /// The inproc peer of a pipe attached before the peer existed (connect before bind).
    InprocPeer(PipeId, Weak<SocketShared>),
    /// A pipe that outlives connections has a new peer (a reconnect): see
    /// [`Pattern::hiccup`](crate::pattern::Pattern::hiccup).
    Hiccup(PipeId),
}

/// The part of a socket the I/O side shares.
pub(crate) struct SocketShared {
    pub socket_type: SocketType,
    pub signal: Arc<Signal>,
    mailbox: Mutex<Vec<Command>>,
    has_mail: AtomicBool,
    /// Set once the socket is closed: new pipes are refused, connecters stop.
    closed: AtomicBool,
    /// Where this socket's events go (see [`crate::monitor`]).
    pub monitor: MonitorSlot,
}

impl SocketShared {
    /// Hand a command to the socket. After close, an Attach is refused by closing its pipe.
    pub fn post(&self, cmd: Command) {
        {
            let mut mb = self.mailbox.lock();
            if self.closed.load(Ordering::SeqCst) {
                if let Command::Attach(pipe, _, inproc_peer) = cmd {
                    tell_closed(pipe.id, inproc_peer.as_ref());
                    pipe.close();
                }
                return;
            }
            mb.push(cmd);
            self.has_mail.store(true, Ordering::SeqCst);
        }
        self.signal.notify();
    }

    pub fn is_closed(&self) -> bool {
        self.closed.load(Ordering::SeqCst)
    }
}

/// A socket's state, owned by whoever holds its lock.
pub(crate) struct Core {
    pub pattern: Box<dyn Pattern>,
    pub options: Options,
    /// Every attached pipe, to close them when the socket closes; with the inproc peer socket
    /// to tell when this socket closes the pipe (an engine learns it from the pipe itself).
    pipes: HashMap<PipeId, (Pipe, Option<Weak<SocketShared>>)>,
    endpoints: Vec<Bound>,
    last_endpoint: String,
    rcvmore: bool,
    /// The PAIR socket of [`SocketBase::monitor_endpoint`] and the endpoint it is bound to.
    monitor_pair: Option<(Arc<Pair>, String)>,
}

impl Core {
    fn process_commands(&mut self, shared: &SocketShared) {
        if !shared.has_mail.load(Ordering::SeqCst) || !shared.has_mail.swap(false, Ordering::SeqCst) {
            return;
        }
        let cmds = std::mem::take(&mut *shared.mailbox.lock());
        for cmd in cmds {
            match cmd {
                Command::Attach(pipe, peer, inproc_peer) => {
                    self.attach(pipe, peer, inproc_peer);
                }
                Command::Detach(id) => {
                    if self.pipes.remove(&id).is_some() {
                        self.pattern.detach(id, &self.options);
                    }
                }
                Command::InprocPeer(id, peer) => {
                    if let Some(entry) = self.pipes.get_mut(&id) {
                        entry.1 = Some(peer);
                    }
                }
                Command::Hiccup(id) => {
                    if self.pipes.contains_key(&id) {
                        self.pattern.hiccup(id);
                    }
                }
            }
        }
    }

    /// Hand a peer's pipe to the pattern; false if it refused it (the pipe is then closed).
    pub fn attach(&mut self, pipe: Pipe, peer: PeerInfo, inproc_peer: Option<Weak<SocketShared>>) -> bool {
        if self.pattern.attach(pipe.clone(), peer, &self.options) {
            // As libzmq does, a STREAM socket's ROUTING_ID reports the id it generated last, so
            // the id of a connect's peer can be read right after `connect`.
            if let Some(id) = self.pattern.take_generated_routing_id() {
                self.options.routing_id = Some(id);
            }
            self.pipes.insert(pipe.id, (pipe, inproc_peer));
            true
        } else {
            pipe.close();
            tell_closed(pipe.id, inproc_peer.as_ref());
            false
        }
    }

    /// This socket is done with a pipe (disconnect, unbind): close it and tell the peer.
    pub fn detach(&mut self, id: PipeId) {
        if let Some((p, inproc_peer)) = self.pipes.remove(&id) {
            p.close();
            tell_closed(id, inproc_peer.as_ref());
            self.pattern.detach(id, &self.options);
        }
    }

    fn close_all(&mut self) {
        for (id, (pipe, inproc_peer)) in self.pipes.drain() {
            pipe.close();
            tell_closed(id, inproc_peer.as_ref());
        }
    }
}

/// An inproc peer socket learns at once that this side closed the pipe, as a tcp peer does
/// from the connection closing.
fn tell_closed(id: PipeId, inproc_peer: Option<&Weak<SocketShared>>) {
    if let Some(peer) = inproc_peer.and_then(Weak::upgrade) {
        peer.post(Command::Detach(id));
    }
}

/// What every socket has, whatever its type: bind, connect, options, close.
///
/// [`Socket`](crate::Socket) and the typed sockets ([`crate::Push`], [`crate::Req`], ...) dereference to it
/// and add the send and receive calls their type allows. All methods take `&self`; a socket
/// may be used from several threads, though, as with libzmq, one thread per socket is the
/// usual design. Dropping the socket closes it: queued outgoing messages are still flushed
/// for up to LINGER milliseconds (forever by default).
pub struct SocketBase {
    core: Mutex<Core>,
    shared: Arc<SocketShared>,
    id: u64,
    ctx: Context,
}

impl SocketBase {
    /// A new socket of type `t` in `ctx`.
    pub(crate) fn new(ctx: &Context, t: SocketType) -> Result<SocketBase> {
        if ctx.is_terminated() {
            return Err(Error::ContextTerminated);
        }
        let signal = Arc::new(Signal::new());
        let pattern = pattern::for_type(t, &signal);
        let shared = Arc::new(SocketShared {
            socket_type: t,
            signal,
            mailbox: Mutex::new(Vec::new()),
            has_mail: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            monitor: MonitorSlot::default(),
        });
        let registry = &ctx.inner.registry;
        let id = registry.next_socket_id();
        registry.add(id, &shared);
        Ok(SocketBase {
            core: Mutex::new(Core {
                pattern,
                options: Options::default(),
                pipes: HashMap::new(),
                endpoints: Vec::new(),
                last_endpoint: String::new(),
                rcvmore: false,
                monitor_pair: None,
            }),
            shared,
            id,
            ctx: ctx.clone(),
        })
    }

    /// The socket's type.
    pub fn socket_type(&self) -> SocketType {
        self.shared.socket_type
    }

    /// The signal woken on every change that may make the socket readable or writable.
    pub(crate) fn signal(&self) -> &Signal {
        &self.shared.signal
    }

    /// Is the socket readable ([`PollEvents::IN`]: a receive would return a message now) and
    /// writable ([`PollEvents::OUT`]: a message sent now would not block)? The option
    /// ZMQ_EVENTS; the answer [`poll`](crate::poll()) waits on.
    ///
    /// Exact, and follows the socket type's state: a REQ is writable only when it may send a
    /// request (and a peer has room) and readable only when that request's reply has arrived; a
    /// REP the other way round; a PUSH, DEALER or PAIR with no peer is not writable; a ROUTER is
    /// always writable (it drops what it cannot route), with ROUTER_MANDATORY when some peer
    /// has room. A socket that cannot receive (or send) at all is never readable (writable).
    pub fn events(&self) -> Result<PollEvents> {
        self.check_term()?;
        let mut core = self.core.lock();
        core.process_commands(&self.shared);
        let core = &mut *core;
        let mut ev = PollEvents::empty();
        if core.pattern.has_in(&core.options) {
            ev |= PollEvents::IN;
        }
        if core.pattern.has_out(&core.options) {
            ev |= PollEvents::OUT;
        }
        Ok(ev)
    }

    fn check_term(&self) -> Result<()> {
        if self.ctx.is_terminated() { Err(Error::ContextTerminated) } else { Ok(()) }
    }

    fn registry(&self) -> &Arc<Registry> {
        &self.ctx.inner.registry
    }

    /// Accept connections on `endpoint` (`tcp://*:5555`, `tcp://127.0.0.1:*`, `ipc:///path`,
    /// `ipc://@abstract`, `inproc://name`).
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        let mut core = self.core.lock();
        let bound = transport::bind(&self.ctx, &self.shared, &mut core, endpoint)?;
        core.last_endpoint = bound.resolved.clone();
        core.endpoints.push(bound);
        Ok(())
    }

    /// Connect to `endpoint`, now and again whenever the connection is lost. The peer need
    /// not exist yet: messages queue until it does (unless IMMEDIATE is set).
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        self.check_term()?;
        let mut core = self.core.lock();
        let bound = transport::connect(&self.ctx, &self.shared, &mut core, endpoint)?;
        core.options.connect_routing_id = None;
        core.last_endpoint = bound.resolved.clone();
        core.endpoints.push(bound);
        Ok(())
    }

    /// Stop accepting on an endpoint given to [`bind`](Self::bind) (or the endpoint it resolved
    /// to, as LAST_ENDPOINT reports it), closing the connections accepted there.
    pub fn unbind(&self, endpoint: &str) -> Result<()> {
        self.remove_endpoint(endpoint, true)
    }

    /// Stop connecting to an endpoint given to [`connect`](Self::connect).
    pub fn disconnect(&self, endpoint: &str) -> Result<()> {
        self.remove_endpoint(endpoint, false)
    }

    fn remove_endpoint(&self, endpoint: &str, bound: bool) -> Result<()> {
        self.check_term()?;
        let mut core = self.core.lock();
        let i = core
            .endpoints
            .iter()
            .position(|b| b.is_listener() == bound && b.matches(endpoint))
            .ok_or_else(|| Error::EndpointNotFound(endpoint.to_string()))?;
        let b = core.endpoints.remove(i);
        b.shutdown(&self.ctx, &self.shared, &mut core);
        Ok(())
    }

    /// The endpoint of the last bind or connect, with wildcards resolved
    /// (e.g. `tcp://127.0.0.1:41345` after binding `tcp://127.0.0.1:*`).
    pub fn last_endpoint(&self) -> Result<String> {
        self.check_term()?;
        Ok(self.core.lock().last_endpoint.clone())
    }

    // ---- monitoring ----

    /// Watch this socket's connections: the returned [`Monitor`] receives the `events` that
    /// happen from now on (bind, accept, connect, handshake, disconnect, close; see
    /// [`Event`](crate::Event)), with libzmq's values and endpoints.
    ///
    /// A socket has one monitor at a time, as with libzmq: this replaces a monitor started
    /// before (by this call or [`monitor_endpoint`](Self::monitor_endpoint)), which receives
    /// [`Event::MonitorStopped`](crate::Event::MonitorStopped) if it asked for it. Monitoring
    /// never slows the socket down: a monitor 1000 events behind misses the newer ones.
    /// inproc connections report no events (libzmq reports none either).
    ///
    /// ```
    /// use oxmq::{Context, Event, Pull};
    /// let ctx = Context::new();
    /// let pull = Pull::new(&ctx)?;
    /// let monitor = pull.monitor(Event::Listening | Event::Accepted)?;
    /// pull.bind("tcp://127.0.0.1:*")?;
    /// let ev = monitor.recv().unwrap();
    /// assert_eq!(ev.event, Event::Listening);
    /// assert_eq!(ev.endpoint, pull.last_endpoint()?);
    /// # Ok::<(), oxmq::Error>(())
    /// ```
    pub fn monitor(&self, events: impl Into<EventMask>) -> Result<Monitor> {
        self.check_term()?;
        let mut core = self.core.lock();
        self.stop_monitor_locked(&mut core);
        Ok(Monitor::start(&self.shared, events.into()))
    }

    /// libzmq's `zmq_socket_monitor`: publish this socket's `events` (libzmq's `ZMQ_EVENT_*`
    /// bits, at most 0xFFFF) from a PAIR socket bound to the inproc `endpoint`. A PAIR socket
    /// that connects there receives each event as two frames in libzmq's version-1 format:
    /// the event number (native-endian u16) followed by its value (native-endian u32), then
    /// the endpoint string; [`MonitorEvent::from_frames`](crate::MonitorEvent::from_frames)
    /// decodes them. Events that happen before the reader connects wait for it (up to 1000;
    /// libzmq would block the socket instead).
    ///
    /// An empty `endpoint` stops monitoring, as libzmq's NULL does: the reader then receives
    /// MONITOR_STOPPED (if it is in `events`). A socket has one monitor at a time; this
    /// replaces one started before, as [`monitor`](Self::monitor) does.
    ///
    /// Errors as libzmq's: [`Error::ProtocolNotSupported`] for a transport other than
    /// inproc, [`Error::InvalidEndpoint`]/[`Error::InvalidArgument`] for a bad endpoint or
    /// event bits above 0xFFFF, [`Error::AddrInUse`] if the name is bound already.
    pub fn monitor_endpoint(&self, endpoint: &str, events: u32) -> Result<()> {
        self.check_term()?;
        if events >> 16 != 0 {
            return Err(Error::InvalidArgument(format!(
                "monitor events {events:#x}: the version-1 event format carries 16 event bits only"
            )));
        }
        let mut core = self.core.lock();
        if endpoint.is_empty() {
            self.stop_monitor_locked(&mut core);
            return Ok(());
        }
        if !matches!(endpoint::parse(endpoint)?, Endpoint::Inproc(_)) {
            return Err(Error::ProtocolNotSupported(format!("{endpoint:?}: monitor endpoints must be inproc://")));
        }
        self.stop_monitor_locked(&mut core);
        let pair = Pair::new(&self.ctx)?;
        // Never hold up the context on undelivered events; the final sends never wait.
        pair.set_linger(0)?;
        pair.set_sndtimeo(0)?;
        pair.bind(endpoint)?;
        let pair = Arc::new(pair);
        let mon = Monitor::start(&self.shared, EventMask::from_bits(events));
        core.monitor_pair = Some((pair.clone(), endpoint.to_string()));
        self.ctx.inner.handle.spawn(monitor::forward(mon, pair));
        Ok(())
    }

    /// Stop monitoring this socket (started by [`monitor`](Self::monitor) or
    /// [`monitor_endpoint`](Self::monitor_endpoint)); the monitor receives
    /// [`Event::MonitorStopped`](crate::Event::MonitorStopped) if it asked for it. Nothing
    /// happens if the socket is not monitored.
    pub fn stop_monitor(&self) -> Result<()> {
        self.check_term()?;
        let mut core = self.core.lock();
        self.stop_monitor_locked(&mut core);
        Ok(())
    }

    fn stop_monitor_locked(&self, core: &mut Core) {
        self.shared.monitor.stop(true);
        // The name is free again at once; the PAIR itself closes once its last events are
        // handed to the reader.
        if let Some((pair, endpoint)) = core.monitor_pair.take() {
            let _ = pair.unbind(&endpoint);
        }
    }

    // ---- sending ----
    //
    // Every send and receive goes through one attempt that moves a whole message (or one
    // frame, for the frame-by-frame calls) under one lock: once a message's first frame is
    // accepted its other frames always are, and a reader only ever sees complete messages. So
    // a socket shared between threads never interleaves two messages' frames, and an async
    // call that is dropped has moved a whole message or nothing. Blocking calls wait on the
    // socket's signal with SNDTIMEO/RCVTIMEO; async calls await the same signal.

    /// Send `data` as the last (or only) frame of a message.
    pub(crate) fn send(&self, data: impl IntoFrame) -> Result<()> {
        self.send_parts(Msg::new(data.into_frame(), false), Vec::new(), true)
    }

    /// Send `data` as a frame that more frames of the same message follow.
    pub(crate) fn send_more(&self, data: impl IntoFrame) -> Result<()> {
        self.send_parts(Msg::new(data.into_frame(), true), Vec::new(), true)
    }

    /// Send a frame without blocking: [`Error::Again`] if it cannot be queued now.
    pub(crate) fn try_send(&self, data: impl IntoFrame, more: bool) -> Result<()> {
        self.send_parts(Msg::new(data.into_frame(), more), Vec::new(), false)
    }

    /// Send a whole multipart message. Messages are atomic: a peer receives all of it or none.
    pub(crate) fn send_multipart<I, T>(&self, parts: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: IntoFrame,
    {
        let (first, rest) = message(parts)?;
        self.send_parts(first, rest, true)
    }

    /// Async [`send`](Self::send): completes once the frame is queued.
    pub(crate) async fn send_async(&self, data: impl IntoFrame) -> Result<()> {
        self.send_parts_async(Msg::new(data.into_frame(), false), Vec::new()).await
    }

    /// Async [`send_multipart`](Self::send_multipart). Dropping the future before it completes
    /// sends none of the message.
    pub(crate) async fn send_multipart_async<I, T>(&self, parts: I) -> Result<()>
    where
        I: IntoIterator<Item = T>,
        T: IntoFrame,
    {
        let (first, rest) = message(parts)?;
        self.send_parts_async(first, rest).await
    }

    /// One attempt to send `first` and then `rest` (empty for a single frame, so no
    /// allocation): `Ok(None)` when sent, the frames handed back when it would block.
    #[inline]
    pub(crate) fn try_send_parts(&self, first: Msg, rest: Vec<Msg>) -> Result<Option<(Msg, Vec<Msg>)>> {
        self.check_term()?;
        let mut core = self.core.lock();
        core.process_commands(&self.shared);
        let core = &mut *core;
        match core.pattern.send(first, &core.options) {
            Ok(()) => {}
            Err(SendError::Again(m)) => return Ok(Some((m, rest))),
            Err(SendError::Fatal(e)) => return Err(e),
        }
        // The rest of a started message is always accepted (or dropped with it, if its peer
        // went away meanwhile).
        for m in rest {
            if let Err(SendError::Fatal(e)) = core.pattern.send(m, &core.options) {
                return Err(e);
            }
        }
        Ok(None)
    }

    #[inline]
    pub(crate) fn send_parts(&self, first: Msg, rest: Vec<Msg>, block: bool) -> Result<()> {
        let mut parts = (first, rest);
        let mut deadline: Option<Option<Instant>> = None;
        loop {
            let seen = self.shared.signal.seq();
            match self.try_send_parts(parts.0, parts.1)? {
                None => return Ok(()),
                Some(p) => parts = p,
            }
            let timeo = self.core.lock().options.sndtimeo;
            self.wait(seen, block, timeo, &mut deadline)?;
        }
    }

    async fn send_parts_async(&self, first: Msg, rest: Vec<Msg>) -> Result<()> {
        let mut parts = (first, rest);
        loop {
            let seen = self.shared.signal.seq();
            match self.try_send_parts(parts.0, parts.1)? {
                None => return Ok(()),
                Some(p) => parts = p,
            }
            self.shared.signal.changed(seen).await;
        }
    }

    /// Wait for the socket's signal to move past `seen`, within SNDTIMEO/RCVTIMEO `timeo`.
    fn wait(&self, seen: u64, block: bool, timeo: i32, deadline: &mut Option<Option<Instant>>) -> Result<()> {
        if !block || timeo == 0 {
            return Err(Error::Again);
        }
        let deadline = *deadline.get_or_insert_with(|| options::ms(timeo).map(|d| Instant::now() + d));
        if self.shared.signal.wait(seen, deadline) { Ok(()) } else { Err(Error::Again) }
    }

    // ---- receiving ----

    /// Receive one frame; [`rcvmore`](Self::rcvmore) then tells whether more frames of the
    /// same message follow.
    pub(crate) fn recv(&self) -> Result<Bytes> {
        self.recv_parts(NO_REST, true).map(|m| m.data)
    }

    /// Receive one frame without blocking: [`Error::Again`] if none is ready.
    pub(crate) fn try_recv(&self) -> Result<Bytes> {
        self.recv_parts(NO_REST, false).map(|m| m.data)
    }

    /// Receive a whole multipart message (or the rest of one whose first frames were taken
    /// with [`recv`](Self::recv)).
    pub(crate) fn recv_multipart(&self) -> Result<Vec<Bytes>> {
        let mut rest = Vec::new();
        let first = self.recv_parts(Some(&mut rest), true)?;
        Ok(frames(first, rest))
    }

    /// Async [`recv`](Self::recv). Dropping the future before it completes takes nothing.
    pub(crate) async fn recv_async(&self) -> Result<Bytes> {
        self.recv_parts_async(NO_REST).await.map(|m| m.data)
    }

    /// Async [`recv_multipart`](Self::recv_multipart). Dropping the future before it completes
    /// takes nothing.
    pub(crate) async fn recv_multipart_async(&self) -> Result<Vec<Bytes>> {
        let mut rest = Vec::new();
        let first = self.recv_parts_async(Some(&mut rest)).await?;
        Ok(frames(first, rest))
    }

    /// After a receive: do more frames of the same message follow?
    pub(crate) fn rcvmore(&self) -> bool {
        self.core.lock().rcvmore
    }

    /// One attempt: the next frame and, given `rest`, every remaining frame of its message
    /// appended there; `Ok(None)` when nothing is ready.
    pub(crate) fn try_recv_parts<T: From<Msg>>(&self, mut rest: Option<&mut Vec<T>>) -> Result<Option<Msg>> {
        self.check_term()?;
        let mut core = self.core.lock();
        core.process_commands(&self.shared);
        let core = &mut *core;
        let first = match core.pattern.recv(&core.options) {
            Ok(m) => m,
            Err(Error::Again) => return Ok(None),
            Err(e) => return Err(e),
        };
        let mut more = first.more;
        if let Some(rest) = rest.as_mut() {
            // The rest of a message is queued once its first frame is readable.
            while more {
                let m = core.pattern.recv(&core.options)?;
                more = m.more;
                rest.push(m.into());
            }
        }
        core.rcvmore = more;
        Ok(Some(first))
    }

    fn recv_parts(&self, mut rest: Option<&mut Vec<Bytes>>, block: bool) -> Result<Msg> {
        let mut deadline: Option<Option<Instant>> = None;
        loop {
            let seen = self.shared.signal.seq();
            if let Some(first) = self.try_recv_parts(rest.as_deref_mut())? {
                return Ok(first);
            }
            let timeo = self.core.lock().options.rcvtimeo;
            self.wait(seen, block, timeo, &mut deadline)?;
        }
    }

    async fn recv_parts_async(&self, mut rest: Option<&mut Vec<Bytes>>) -> Result<Msg> {
        loop {
            let seen = self.shared.signal.seq();
            if let Some(first) = self.try_recv_parts(rest.as_deref_mut())? {
                return Ok(first);
            }
            self.shared.signal.changed(seen).await;
        }
    }

    // ---- options ----

    fn with_options<T>(&self, f: impl FnOnce(&mut Options) -> Result<T>) -> Result<T> {
        f(&mut self.core.lock().options)
    }

    /// Set an option by libzmq's numeric id (see [`crate::opt`]), with the value encoded as
    /// `zmq_setsockopt` takes it (native-endian ints).
    pub fn set_option_raw(&self, id: i32, v: &[u8]) -> Result<()> {
        use options::{check_ms, check_non_negative, check_routing_id, raw_bool, raw_i32, raw_i64};
        self.check_term()?;
        let t = self.shared.socket_type;
        if id == opt::SUBSCRIBE || id == opt::UNSUBSCRIBE {
            // Not a setting but an action of the pattern's.
            let mut core = self.core.lock();
            core.process_commands(&self.shared);
            let core = &mut *core;
            return core.pattern.subscribe(v, id == opt::SUBSCRIBE, &core.options);
        }
        // Options of one socket type's behaviour: EINVAL on other types, and (as libzmq's
        // socket types read them) any value >= 0, non-zero meaning on.
        let type_flag = |name: &str, types: &[SocketType]| -> Result<bool> {
            if !types.contains(&t) {
                return Err(Error::InvalidArgument(format!("{name} does not apply to {} sockets", t.as_str())));
            }
            let n = raw_i32(id, v)?;
            if n < 0 {
                return Err(Error::InvalidArgument(format!("{name} must be >= 0, got {n}")));
            }
            Ok(n != 0)
        };
        self.with_options(|o| {
            match id {
                opt::SNDHWM => o.sndhwm = check_non_negative("SNDHWM", raw_i32(id, v)?)?,
                opt::RCVHWM => o.rcvhwm = check_non_negative("RCVHWM", raw_i32(id, v)?)?,
                opt::SNDTIMEO => o.sndtimeo = check_ms("SNDTIMEO", raw_i32(id, v)?)?,
                opt::RCVTIMEO => o.rcvtimeo = check_ms("RCVTIMEO", raw_i32(id, v)?)?,
                opt::LINGER => o.linger = check_ms("LINGER", raw_i32(id, v)?)?,
                opt::ROUTING_ID => o.routing_id = Some(check_routing_id("ROUTING_ID", v)?),
                opt::CONNECT_ROUTING_ID => o.connect_routing_id = Some(check_routing_id("CONNECT_ROUTING_ID", v)?),
                opt::RECONNECT_IVL => o.reconnect_ivl = check_ms("RECONNECT_IVL", raw_i32(id, v)?)?,
                opt::RECONNECT_IVL_MAX => {
                    o.reconnect_ivl_max = check_non_negative("RECONNECT_IVL_MAX", raw_i32(id, v)?)?
                }
                opt::BACKLOG => o.backlog = check_non_negative("BACKLOG", raw_i32(id, v)?)?,
                opt::IMMEDIATE => o.immediate = raw_bool(id, v)?,
                opt::MAXMSGSIZE => {
                    let n = raw_i64(id, v)?;
                    if n < -1 {
                        return Err(Error::InvalidArgument(format!("MAXMSGSIZE must be -1 or >= 0, got {n}")));
                    }
                    o.maxmsgsize = n;
                }
                opt::HANDSHAKE_IVL => o.handshake_ivl = check_non_negative("HANDSHAKE_IVL", raw_i32(id, v)?)?,
                opt::CONNECT_TIMEOUT => o.connect_timeout = check_non_negative("CONNECT_TIMEOUT", raw_i32(id, v)?)?,
                opt::TCP_KEEPALIVE => {
                    let n = raw_i32(id, v)?;
                    if !(-1..=1).contains(&n) {
                        return Err(Error::InvalidArgument(format!("TCP_KEEPALIVE must be -1, 0 or 1, got {n}")));
                    }
                    o.tcp_keepalive = n;
                }
                opt::TCP_KEEPALIVE_CNT => o.tcp_keepalive_cnt = check_ms("TCP_KEEPALIVE_CNT", raw_i32(id, v)?)?,
                opt::TCP_KEEPALIVE_IDLE => o.tcp_keepalive_idle = check_ms("TCP_KEEPALIVE_IDLE", raw_i32(id, v)?)?,
                opt::TCP_KEEPALIVE_INTVL => o.tcp_keepalive_intvl = check_ms("TCP_KEEPALIVE_INTVL", raw_i32(id, v)?)?,
                opt::IPV6 => o.ipv6 = raw_bool(id, v)?,
                opt::ROUTER_MANDATORY => o.router_mandatory = type_flag("ROUTER_MANDATORY", &[SocketType::Router])?,
                opt::PROBE_ROUTER => {
                    o.probe_router =
                        type_flag("PROBE_ROUTER", &[SocketType::Router, SocketType::Dealer, SocketType::Req])?
                }
                opt::REQ_RELAXED => o.req_relaxed = type_flag("REQ_RELAXED", &[SocketType::Req])?,
                opt::REQ_CORRELATE => o.req_correlate = type_flag("REQ_CORRELATE", &[SocketType::Req])?,
                opt::CONFLATE => o.conflate = raw_bool(id, v)?,
                opt::INVERT_MATCHING => o.invert_matching = raw_bool(id, v)?,
                // XPUB's options apply to PUB too (libzmq's PUB is an XPUB).
                opt::XPUB_VERBOSE => {
                    o.xpub_verbose_subs = type_flag("XPUB_VERBOSE", &[SocketType::XPub, SocketType::Pub])?;
                    o.xpub_verbose_unsubs = false;
                }
                opt::XPUB_VERBOSER => {
                    o.xpub_verbose_subs = type_flag("XPUB_VERBOSER", &[SocketType::XPub, SocketType::Pub])?;
                    o.xpub_verbose_unsubs = o.xpub_verbose_subs;
                }
                opt::XPUB_MANUAL => o.xpub_manual = type_flag("XPUB_MANUAL", &[SocketType::XPub])?,
                opt::XPUB_NODROP => o.xpub_nodrop = type_flag("XPUB_NODROP", &[SocketType::XPub, SocketType::Pub])?,
                opt::XPUB_WELCOME_MSG => {
                    if !matches!(t, SocketType::XPub | SocketType::Pub) {
                        return Err(Error::InvalidArgument(format!(
                            "XPUB_WELCOME_MSG does not apply to {} sockets",
                            t.as_str()
                        )));
                    }
                    o.xpub_welcome_msg = (!v.is_empty()).then(|| Bytes::copy_from_slice(v));
                }
                opt::HEARTBEAT_IVL => o.heartbeat_ivl = check_non_negative("HEARTBEAT_IVL", raw_i32(id, v)?)?,
                opt::HEARTBEAT_TIMEOUT => o.heartbeat_timeout = check_ms("HEARTBEAT_TIMEOUT", raw_i32(id, v)?)?,
                opt::HEARTBEAT_TTL => {
                    // Sent to peers in deciseconds as a u16.
                    let n = raw_i32(id, v)?;
                    if !(0..=u16::MAX as i32 * 100).contains(&n) {
                        return Err(Error::InvalidArgument(format!("HEARTBEAT_TTL must be 0 to 6553500 ms, got {n}")));
                    }
                    o.heartbeat_ttl = n / 100 * 100;
                }
                opt::STREAM_NOTIFY => {
                    // libzmq takes exactly 0 or 1 here, and only on STREAM sockets.
                    if t != SocketType::Stream {
                        return Err(Error::InvalidArgument(format!(
                            "STREAM_NOTIFY does not apply to {} sockets",
                            t.as_str()
                        )));
                    }
                    o.stream_notify = raw_bool(id, v)?;
                }
                opt::TYPE | opt::RCVMORE | opt::LAST_ENDPOINT | opt::EVENTS => {
                    return Err(Error::InvalidArgument(format!("option {id} is read-only")));
                }
                _ => return Err(Error::InvalidArgument(format!("unknown or unsupported socket option {id}"))),
            }
            Ok(())
        })
    }

    /// Get an option by libzmq's numeric id, encoded as `zmq_getsockopt` returns it.
    pub fn get_option_raw(&self, id: i32) -> Result<Vec<u8>> {
        if id == opt::EVENTS {
            return Ok(i32::from(self.events()?.bits()).to_ne_bytes().to_vec());
        }
        self.check_term()?;
        let core = self.core.lock();
        let o = &core.options;
        let int = |v: i32| Ok(v.to_ne_bytes().to_vec());
        let flag = |v: bool| int(v as i32);
        match id {
            opt::SNDHWM => int(o.sndhwm),
            opt::RCVHWM => int(o.rcvhwm),
            opt::SNDTIMEO => int(o.sndtimeo),
            opt::RCVTIMEO => int(o.rcvtimeo),
            opt::LINGER => int(o.linger),
            opt::ROUTING_ID => Ok(o.routing_id.as_deref().unwrap_or_default().to_vec()),
            opt::RECONNECT_IVL => int(o.reconnect_ivl),
            opt::RECONNECT_IVL_MAX => int(o.reconnect_ivl_max),
            opt::BACKLOG => int(o.backlog),
            opt::IMMEDIATE => flag(o.immediate),
            opt::MAXMSGSIZE => Ok(o.maxmsgsize.to_ne_bytes().to_vec()),
            opt::HANDSHAKE_IVL => int(o.handshake_ivl),
            opt::CONNECT_TIMEOUT => int(o.connect_timeout),
            opt::TCP_KEEPALIVE => int(o.tcp_keepalive),
            opt::TCP_KEEPALIVE_CNT => int(o.tcp_keepalive_cnt),
            opt::TCP_KEEPALIVE_IDLE => int(o.tcp_keepalive_idle),
            opt::TCP_KEEPALIVE_INTVL => int(o.tcp_keepalive_intvl),
            opt::IPV6 => flag(o.ipv6),
            opt::ROUTER_MANDATORY => flag(o.router_mandatory),
            opt::PROBE_ROUTER => flag(o.probe_router),
            opt::REQ_RELAXED => flag(o.req_relaxed),
            opt::REQ_CORRELATE => flag(o.req_correlate),
            opt::CONFLATE => flag(o.conflate),
            opt::INVERT_MATCHING => flag(o.invert_matching),
            opt::HEARTBEAT_IVL => int(o.heartbeat_ivl),
            opt::HEARTBEAT_TTL => int(o.heartbeat_ttl),
            opt::HEARTBEAT_TIMEOUT => int(o.heartbeat_timeout),
            opt::STREAM_NOTIFY => flag(o.stream_notify),
            opt::TYPE => int(self.shared.socket_type.zmq_type()),
            opt::RCVMORE => flag(core.rcvmore),
            opt::LAST_ENDPOINT => {
                // zmq_getsockopt returns it NUL-terminated.
                let mut v = core.last_endpoint.clone().into_bytes();
                v.push(0);
                Ok(v)
            }
            _ => Err(Error::InvalidArgument(format!("unknown or unsupported socket option {id}"))),
        }
    }
}

/// The frames of a message to send, as its first frame and the rest; MORE on all but the last.
pub(crate) fn message<I, T>(parts: I) -> Result<(Msg, Vec<Msg>)>
where
    I: IntoIterator<Item = T>,
    T: IntoFrame,
{
    let mut it = parts.into_iter().map(|p| Msg::new(p.into_frame(), true));
    let first = it.next().ok_or_else(|| Error::InvalidArgument("a message needs at least one frame".into()))?;
    let mut rest: Vec<Msg> = it.collect();
    match rest.last_mut() {
        Some(last) => last.more = false,
        None => return Ok((Msg { more: false, ..first }, rest)),
    }
    Ok((first, rest))
}

/// For a receive of one frame: no place for the rest of its message.
const NO_REST: Option<&mut Vec<Bytes>> = None;

/// A received message's frames in one `Vec`: the rest were gathered in `rest`, so the first goes
/// in front (a shift of a few pointers in the allocation that already holds them, rather than a
/// second `Vec`).
pub(crate) fn frames(first: Msg, mut rest: Vec<Bytes>) -> Vec<Bytes> {
    rest.insert(0, first.data);
    rest
}

macro_rules! int_options {
    ($($(#[$doc:meta])* $set:ident, $get:ident, $id:expr;)*) => {
        impl SocketBase {
            $(
                $(#[$doc])*
                pub fn $set(&self, v: i32) -> Result<()> {
                    self.set_option_raw($id, &v.to_ne_bytes())
                }
                $(#[$doc])*
                pub fn $get(&self) -> Result<i32> {
                    let v = self.get_option_raw($id)?;
                    Ok(i32::from_ne_bytes(v[..4].try_into().expect("4 bytes")))
                }
            )*
        }
    };
}

macro_rules! bool_options {
    ($($(#[$doc:meta])* $set:ident, $get:ident, $id:expr;)*) => {
        impl SocketBase {
            $(
                $(#[$doc])*
                pub fn $set(&self, on: bool) -> Result<()> {
                    self.set_option_raw($id, &(on as i32).to_ne_bytes())
                }
                $(#[$doc])*
                pub fn $get(&self) -> Result<bool> {
                    Ok(self.get_option_raw($id)?[0] != 0)
                }
            )*
        }
    };
}

int_options! {
    /// SNDHWM: outgoing messages queued per peer before sends block or drop (0 = no limit).
    set_sndhwm, sndhwm, opt::SNDHWM;
    /// RCVHWM: incoming messages queued per peer before the peer is pushed back (0 = no limit).
    set_rcvhwm, rcvhwm, opt::RCVHWM;
    /// SNDTIMEO in ms: how long a send blocks before `Error::Again` (-1 = forever).
    set_sndtimeo, sndtimeo, opt::SNDTIMEO;
    /// RCVTIMEO in ms: how long a receive blocks before `Error::Again` (-1 = forever).
    set_rcvtimeo, rcvtimeo, opt::RCVTIMEO;
    /// LINGER in ms: how long queued messages are still flushed after close (-1 = forever).
    set_linger, linger, opt::LINGER;
    /// RECONNECT_IVL in ms between reconnection attempts (-1 = never reconnect).
    set_reconnect_ivl, reconnect_ivl, opt::RECONNECT_IVL;
    /// RECONNECT_IVL_MAX in ms: the interval doubles per failed attempt up to this (0 = fixed).
    set_reconnect_ivl_max, reconnect_ivl_max, opt::RECONNECT_IVL_MAX;
    /// BACKLOG: pending connections the listener queues.
    set_backlog, backlog, opt::BACKLOG;
    /// HANDSHAKE_IVL in ms: a peer must finish its handshake in this time (0 = no limit).
    set_handshake_ivl, handshake_ivl, opt::HANDSHAKE_IVL;
    /// CONNECT_TIMEOUT in ms: a tcp connect that has not completed in this time is given up
    /// and retried after RECONNECT_IVL, as a refused one is (0 = wait as long as the kernel
    /// does, which can be minutes when the peer's host drops the attempt). A host name with
    /// several addresses gets this long for each address it tries.
    set_connect_timeout, connect_timeout, opt::CONNECT_TIMEOUT;
    /// TCP_KEEPALIVE: -1 system default, 0 off, 1 on.
    set_tcp_keepalive, tcp_keepalive, opt::TCP_KEEPALIVE;
    /// TCP_KEEPALIVE_CNT (-1 = system default).
    set_tcp_keepalive_cnt, tcp_keepalive_cnt, opt::TCP_KEEPALIVE_CNT;
    /// TCP_KEEPALIVE_IDLE in seconds (-1 = system default).
    set_tcp_keepalive_idle, tcp_keepalive_idle, opt::TCP_KEEPALIVE_IDLE;
    /// TCP_KEEPALIVE_INTVL in seconds (-1 = system default).
    set_tcp_keepalive_intvl, tcp_keepalive_intvl, opt::TCP_KEEPALIVE_INTVL;
    /// HEARTBEAT_IVL in ms: send a ZMTP PING this often (0 = no heartbeats).
    set_heartbeat_ivl, heartbeat_ivl, opt::HEARTBEAT_IVL;
    /// HEARTBEAT_TTL in ms (rounded down to 100 ms), sent in each PING: how long the peer
    /// should wait for traffic from us after a PING before giving up on the connection.
    set_heartbeat_ttl, heartbeat_ttl, opt::HEARTBEAT_TTL;
    /// HEARTBEAT_TIMEOUT in ms: close the connection when nothing arrives this long after a
    /// PING (-1 = HEARTBEAT_IVL, 0 = never). The connection is then reconnected as usual.
    set_heartbeat_timeout, heartbeat_timeout, opt::HEARTBEAT_TIMEOUT;
}

bool_options! {
    /// IMMEDIATE: queue messages only to peers whose connection is complete.
    set_immediate, immediate, opt::IMMEDIATE;
    /// IPV6: bind `*` to IPv6 (dual-stack) and resolve host names to IPv6 too.
    set_ipv6, ipv6, opt::IPV6;
    /// ROUTER_MANDATORY: report unroutable messages (`HostUnreachable`, `Again`) instead of dropping them.
    set_router_mandatory, router_mandatory, opt::ROUTER_MANDATORY;
    /// PROBE_ROUTER: send an empty message to each new peer so a ROUTER learns our routing id.
    set_probe_router, probe_router, opt::PROBE_ROUTER;
    /// REQ_RELAXED: a REQ may send a new request before the reply to the last one.
    set_req_relaxed, req_relaxed, opt::REQ_RELAXED;
    /// REQ_CORRELATE: a REQ tags requests with an id and accepts only the matching reply.
    set_req_correlate, req_correlate, opt::REQ_CORRELATE;
    /// CONFLATE: keep only the latest message in each queue (single-frame messages only).
    set_conflate, conflate, opt::CONFLATE;
    /// INVERT_MATCHING: PUB/XPUB send to the subscribers that do *not* match, SUB receives
    /// the messages that match none of its topics.
    set_invert_matching, invert_matching, opt::INVERT_MATCHING;
    /// STREAM_NOTIFY (STREAM only, on by default): receive `[id, ""]` when a peer connects and
    /// when it disconnects.
    set_stream_notify, stream_notify, opt::STREAM_NOTIFY;
}

impl SocketBase {
    /// XPUB_VERBOSE (PUB, XPUB): pass every subscription to the application, not only new
    /// topics.
    pub fn set_xpub_verbose(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::XPUB_VERBOSE, &(on as i32).to_ne_bytes())
    }
    /// XPUB_VERBOSER (PUB, XPUB): pass every subscription and every cancel to the application.
    pub fn set_xpub_verboser(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::XPUB_VERBOSER, &(on as i32).to_ne_bytes())
    }
    /// XPUB_MANUAL (XPUB): the application decides subscriptions, with SUBSCRIBE/UNSUBSCRIBE
    /// for the peer whose subscription it received last.
    pub fn set_xpub_manual(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::XPUB_MANUAL, &(on as i32).to_ne_bytes())
    }
    /// XPUB_NODROP (PUB, XPUB): a send to a full subscriber waits (or fails with
    /// `Error::Again`) instead of dropping the message.
    pub fn set_xpub_nodrop(&self, on: bool) -> Result<()> {
        self.set_option_raw(opt::XPUB_NODROP, &(on as i32).to_ne_bytes())
    }
    /// XPUB_WELCOME_MSG (PUB, XPUB): a message sent to each new subscriber (empty: none).
    pub fn set_xpub_welcome_msg(&self, msg: &[u8]) -> Result<()> {
        self.set_option_raw(opt::XPUB_WELCOME_MSG, msg)
    }
}

impl SocketBase {
    /// MAXMSGSIZE in bytes: a peer sending a larger frame is disconnected (-1 = no limit).
    pub fn set_maxmsgsize(&self, v: i64) -> Result<()> {
        self.set_option_raw(opt::MAXMSGSIZE, &v.to_ne_bytes())
    }
    /// MAXMSGSIZE in bytes.
    pub fn maxmsgsize(&self) -> Result<i64> {
        self.check_term()?;
        Ok(self.core.lock().options.maxmsgsize)
    }
    /// ROUTING_ID: the identity this socket announces to its peers (1-255 bytes).
    pub fn set_routing_id(&self, id: &[u8]) -> Result<()> {
        self.set_option_raw(opt::ROUTING_ID, id)
    }
    /// ROUTING_ID.
    pub fn routing_id(&self) -> Result<Vec<u8>> {
        self.get_option_raw(opt::ROUTING_ID)
    }
    /// CONNECT_ROUTING_ID: the routing id this ROUTER or STREAM gives the peer of the next
    /// `connect`.
    pub fn set_connect_routing_id(&self, id: &[u8]) -> Result<()> {
        self.set_option_raw(opt::CONNECT_ROUTING_ID, id)
    }
}

#[cfg(feature = "fuzzing")]
impl SocketBase {
    /// What an engine for this socket is configured from (for [`crate::fuzzing::run_engine`]).
    pub(crate) fn engine_parts(&self) -> (Arc<SocketShared>, Options) {
        (self.shared.clone(), self.core.lock().options.clone())
    }
}

impl AsRef<SocketBase> for SocketBase {
    fn as_ref(&self) -> &SocketBase {
        self
    }
}

impl Drop for SocketBase {
    fn drop(&mut self) {
        let mut core = self.core.lock();
        {
            let _mb = self.shared.mailbox.lock();
            self.shared.closed.store(true, Ordering::SeqCst);
        }
        // Connections still in their handshake give up.
        self.shared.signal.notify();
        // Pipes handed over before the close flag was set are closed like the others.
        self.shared.has_mail.store(true, Ordering::SeqCst);
        core.process_commands(&self.shared);
        core.close_all();
        let endpoints = std::mem::take(&mut core.endpoints);
        let linger = options::ms(core.options.linger);
        let monitor_pair = core.monitor_pair.take();
        drop(core);
        // Lingering starts before the socket leaves the registry, so `term` never sees neither.
        transport::linger_and_reap(&self.ctx, &self.shared, endpoints, linger);
        // After the listeners' CLOSED events, as libzmq.
        self.shared.monitor.stop(true);
        if let Some((pair, endpoint)) = monitor_pair {
            let _ = pair.unbind(&endpoint);
        }
        self.registry().closed(self.id);
    }
}
