//! The socket layer: the public API, and the core that turns a pattern's "would block" into
//! waiting.
//!
//! The socket's state lives in [`Core`] behind a mutex that is never held while waiting, so a
//! `Socket` may be shared between threads (`Send + Sync`); the I/O side talks to it only
//! through pipes and its [`mailbox`] (new peer, peer gone), both of which wake the socket's
//! one [`Signal`](crate::signal::Signal).
//!
//! - this file: [`SocketBase`] (bind, connect, send, receive, close) and its [`Core`];
//! - [`mailbox`]: what the I/O side shares with the socket (low: sessions import it);
//! - [`sockopt`]: options by libzmq id, their validation, and the typed setters;
//! - [`monitor`]: the [`Monitor`](crate::Monitor) handle and `zmq_socket_monitor`'s PAIR;
//! - [`typed`]: the typed sockets ([`crate::Push`], ...) and [`crate::Socket`].

pub(crate) mod mailbox;
mod monitor;
mod sockopt;
pub(crate) mod typed;

pub use monitor::Monitor;

use std::collections::HashMap;
use std::os::fd::BorrowedFd;
use std::sync::{Arc, Weak};
use std::task::Waker;
use std::time::Instant;

use bytes::Bytes;
use oxmq_wire::SocketType;

use crate::context::{Context, Registry};
use crate::error::{Error, Result};
use crate::frame::IntoFrame;
use crate::options::{self, Options};
use crate::pattern::{self, Pattern, SendError};
use crate::pipe::{self, Msg, PeerInfo, Pipe, PipeId};
use crate::poll::events::PollEvents;
use crate::properties::{Message, Properties};
use crate::session::{self, Bound};
use crate::signal::Signal;
use crate::socket::mailbox::{Command, SocketShared, tell_closed};
use crate::socket::typed::Socket;

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
    monitor_pair: Option<(Arc<Socket>, String)>,
    /// The last connection a receiving caller read itself, which it may have left lent to the
    /// callers (`engine::feed`, rule 5): given back before the socket waits for messages any
    /// other way.
    borrowed: Option<PipeId>,
    /// The properties of the pipe a frame was last received from, kept for the next frames
    /// ([`Core::fill_peer_properties`]).
    peer_properties: Option<PeerProperties>,
}

/// A copy of a pipe's properties, with the pipe's count of changes when it was taken.
struct PeerProperties {
    id: PipeId,
    source: Arc<pipe::ConnectionProperties>,
    seen: u64,
    value: Option<Properties>,
}

impl Core {
    /// Put the properties of the connection the last frame received came over in `slot`,
    /// unless it holds those already (the C ABI's receive into a message that held the last
    /// frame: no reference taken, none dropped). A copy is kept while its pipe's properties
    /// do not change, so that a caller who wants them with every frame pays an atomic read,
    /// not the pipe's lock nor a look-up of the pipe, per frame.
    #[inline]
    fn fill_peer_properties(&mut self, slot: &mut Option<Properties>) {
        let id = self.pattern.last_peer_id();
        match &self.peer_properties {
            Some(kept) if Some(kept.id) == id && kept.seen == kept.source.changes() => {
                let same = match (&*slot, &kept.value) {
                    (Some(held), Some(now)) => held.is_same(now),
                    (None, None) => true,
                    _ => false,
                };
                if !same {
                    slot.clone_from(&kept.value);
                }
            }
            _ => self.refill_peer_properties(slot),
        }
    }

    /// [`fill_peer_properties`](Self::fill_peer_properties) from another pipe than the last
    /// frame's, or one whose properties changed: read them from the pipe, and keep them.
    #[inline(never)]
    fn refill_peer_properties(&mut self, slot: &mut Option<Properties>) {
        let Some(pipe) = self.pattern.last_peer() else {
            *slot = None;
            return;
        };
        let source = pipe.properties().clone();
        // The count first: properties read after it are at least that recent.
        let seen = source.changes();
        let value = source.value();
        slot.clone_from(&value);
        self.peer_properties = Some(PeerProperties { id: pipe.id, source, seen, value });
    }

    /// The socket's one peer's connection, when a receiving caller may read it itself
    /// (`pipe::Feed`), with the queue it reads into. Only with one peer: with several, the
    /// caller waits for whichever has a message first, which the engines tell it.
    fn sole_feed(&mut self) -> Option<(Arc<dyn pipe::Feed>, Arc<pipe::Queue>)> {
        if self.pipes.len() != 1 {
            return None;
        }
        let (pipe, _) = self.pipes.values().next()?;
        let feed = pipe.inp.feed()?;
        self.borrowed = Some(pipe.id);
        Some((feed, pipe.inp.clone()))
    }

    /// Before the socket waits for, or reports, readable messages some other way than a
    /// caller reading its connection: the connection a caller may have left lent goes back to
    /// its engine, which reads it again (`engine::feed`, rule 5). True if what arrived
    /// meanwhile, read on the way, put a message in the queue.
    fn give_back(&mut self, signal: &Signal) -> bool {
        if let Some(id) = self.borrowed.take()
            && let Some((pipe, _)) = self.pipes.get(&id)
            && let Some(feed) = pipe.inp.feed()
        {
            return feed.give_back(&pipe.inp, signal);
        }
        false
    }

    /// Act on what the I/O side posted since the last call (one atomic load when nothing).
    #[inline]
    fn process_commands(&mut self, shared: &SocketShared) {
        if let Some(cmds) = shared.take_mail() {
            self.run_commands(cmds);
        }
    }

    /// [`process_commands`](Self::process_commands) in a call that then looks at the state
    /// for the application (ZMQ_EVENTS, a send, a receive), which cleared the readiness
    /// descriptor before: acting on the mail can notify this socket's own signal (a pipe
    /// handed over with messages in it), a change the look that follows sees, so it must not
    /// leave the descriptor readable behind it. (Only there: a bind, say, that cleared the
    /// descriptor would hide a change from an application that has not looked yet.)
    #[inline]
    fn process_commands_before_look(&mut self, shared: &SocketShared) {
        if let Some(cmds) = shared.take_mail() {
            self.run_commands(cmds);
            shared.signal.drain_fd();
        }
    }

    fn run_commands(&mut self, cmds: Vec<Command>) {
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

    /// Hand a peer's pipe to the pattern; if it refuses it, the pipe is closed.
    fn attach(&mut self, pipe: Pipe, peer: PeerInfo, inproc_peer: Option<Weak<SocketShared>>) {
        if self.pattern.attach(pipe.clone(), peer, &self.options) {
            // As libzmq does, a STREAM socket's ROUTING_ID reports the id it generated last, so
            // the id of a connect's peer can be read right after `connect`.
            if let Some(id) = self.pattern.take_generated_routing_id() {
                self.options.routing_id = Some(id);
            }
            self.pipes.insert(pipe.id, (pipe, inproc_peer));
            // ROUTER_HANDOVER: the peer that held the new one's routing id is let go.
            if let Some(old) = self.pattern.take_evicted() {
                self.detach(old);
            }
        } else {
            pipe.close();
            tell_closed(pipe.id, inproc_peer.as_ref());
        }
    }

    /// This socket is done with a pipe (disconnect, unbind): close it and tell the peer.
    fn detach(&mut self, id: PipeId) {
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

/// What every socket has, whatever its type: bind, connect, options, close.
///
/// [`Socket`](crate::Socket) and the typed sockets ([`crate::Push`], [`crate::Req`], ...) dereference to it
/// and add the send and receive calls their type allows. All methods take `&self`; a socket
/// may be used from several threads, though, as with libzmq, one thread per socket is the
/// usual design. Dropping the socket closes it: queued outgoing messages are still flushed
/// for up to LINGER milliseconds (forever by default).
pub struct SocketBase {
    core: crate::sync::SpinMutex<Core>,
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
        let shared = Arc::new(SocketShared::new(t, signal));
        let registry = &ctx.inner.registry;
        let id = registry.next_socket_id();
        registry.add(id, &shared);
        Ok(SocketBase {
            core: crate::sync::SpinMutex::new(Core {
                pattern,
                options: Options::default(),
                pipes: HashMap::new(),
                endpoints: Vec::new(),
                last_endpoint: String::new(),
                rcvmore: false,
                monitor_pair: None,
                borrowed: None,
                peer_properties: None,
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
    ///
    /// Reading it clears the socket's [`fd`](Self::fd) (before the answer is computed).
    pub fn events(&self) -> Result<PollEvents> {
        // `look` clears the descriptor first, also after `term`: a loop woken by it to read
        // ETERM here must not find it readable again forever.
        let mut core = self.look()?;
        let core = &mut *core;
        core.give_back(&self.shared.signal);
        let mut ev = PollEvents::empty();
        if core.pattern.has_in(&core.options) {
            ev |= PollEvents::IN;
        }
        if core.pattern.has_out(&core.options) {
            ev |= PollEvents::OUT;
        }
        Ok(ev)
    }

    /// A ROUTER's peer by routing id, as libzmq's `zmq_socket_get_peer_state`:
    /// [`PollEvents::OUT`] if a message to it would be queued now, empty if its queue is full
    /// (at SNDHWM); [`Error::HostUnreachable`] if no peer has that routing id;
    /// [`Error::NotSupported`] on the other socket types.
    pub fn peer_state(&self, routing_id: &[u8]) -> Result<PollEvents> {
        let mut core = self.open_core()?;
        core.process_commands_before_look(&self.shared);
        match core.pattern.peer_writable(routing_id) {
            None => Err(crate::pattern::not_supported(self.socket_type(), "report a peer's state")),
            Some(None) => Err(Error::HostUnreachable),
            Some(Some(true)) => Ok(PollEvents::OUT),
            Some(Some(false)) => Ok(PollEvents::empty()),
        }
    }

    /// [`events`](Self::events), and `waker` woken once the next time the answer may change
    /// (at once, if it may have changed already while it was being computed): libzmq's ZMQ_FD
    /// protocol, where reading ZMQ_EVENTS re-arms the descriptor. `key` names the
    /// registration (start with `None` and pass the same one each time): a call replaces the
    /// waker the last one stored, if no change has woken it since, instead of adding one.
    pub fn events_then_wake(&self, waker: &Waker, key: &mut Option<u64>) -> Result<PollEvents> {
        let seen = self.shared.signal.seq();
        let ev = self.events()?;
        if !self.shared.signal.register(waker, seen, key) {
            waker.wake_by_ref();
        }
        Ok(ev)
    }

    /// Spin about a microsecond for something to happen on the socket (what
    /// [`events`](Self::events) reports may have changed); true if it did. For a blocking call
    /// made outside this crate (the C ABI's) before it registers a waker and sleeps: a peer
    /// thread mid-batch usually gets there first, and then nobody sleeps or writes a wake-up.
    pub fn changed_shortly(&self) -> bool {
        let signal = &self.shared.signal;
        signal.spin(signal.seq())
    }

    /// Withdraw the waker [`events_then_wake`](Self::events_then_wake) stored under `key`, if
    /// no change has woken it yet, and clear `key`.
    pub fn stop_waking(&self, key: &mut Option<u64>) {
        self.shared.signal.unregister(key);
    }

    /// The socket's readiness descriptor, ZMQ_FD: for event loops (asyncio, tornado, epoll,
    /// ...) that wait on file descriptors. It is a signal that [`events`](Self::events) may
    /// have changed, not a level: wait for it to become readable (never write to it or read
    /// from it), then read [`events`](Self::events) and act on what it says.
    ///
    /// As libzmq's, it is edge-triggered:
    /// - it becomes readable when something happened that may change
    ///   [`events`](Self::events) (a message arrived for a socket that had read all it had, a
    ///   peer's queue has room again after refusing a message, a peer connected or left), and
    ///   stays readable until the socket next reads its events or sends or receives;
    /// - it does **not** stay readable while messages are waiting: reading
    ///   [`events`](Self::events), a send and a receive clear it. So after the descriptor
    ///   fires, and after each send or receive, read [`events`](Self::events) and keep
    ///   receiving (sending) without blocking while it says [`PollEvents::IN`]
    ///   ([`PollEvents::OUT`]); wait on the descriptor only once it says neither of what you
    ///   want;
    /// - read [`events`](Self::events) once before the first wait, too: messages may have
    ///   arrived before the descriptor was asked for. (It is made readable when first asked
    ///   for, so a loop that waits first still looks once, but do not rely on that.)
    ///
    /// It may fire with nothing new (a change that [`events`](Self::events) has already
    /// reported); it never stays readable when nothing happens. The descriptor belongs to the
    /// socket, which closes it; it lives as long as the socket (hence the borrow), and no
    /// longer: take it out of the event loop before dropping the socket. The first call makes
    /// it (an eventfd on Linux, a pipe elsewhere); sockets that never ask pay nothing.
    pub fn fd(&self) -> Result<BorrowedFd<'_>> {
        self.check_term()?;
        // An event loop waits on it from now on: the engine reads the connection.
        self.core.lock().give_back(&self.shared.signal);
        Ok(self.shared.signal.readiness_fd()?)
    }

    fn check_term(&self) -> Result<()> {
        if self.ctx.is_terminated() {
            Err(Error::ContextTerminated)
        } else if self.shared.is_closed() {
            Err(Error::Closed)
        } else {
            Ok(())
        }
    }

    /// The socket's state, for a call that may add to it (an endpoint, a monitor) or take
    /// from it: refused once the context is terminated or the socket closed, the latter
    /// checked under the lock that [`close`](Self::close) holds, so nothing is added to a
    /// socket after its close has taken everything away.
    fn open_core(&self) -> Result<crate::sync::SpinMutexGuard<'_, Core>> {
        if self.ctx.is_terminated() {
            return Err(Error::ContextTerminated);
        }
        let core = self.core.lock();
        if self.shared.is_closed() {
            return Err(Error::Closed);
        }
        Ok(core)
    }

    fn registry(&self) -> &Arc<Registry> {
        &self.ctx.inner.registry
    }

    /// Accept connections on `endpoint` (`tcp://*:5555`, `tcp://127.0.0.1:*`, `ipc:///path`,
    /// `ipc://@abstract`, `inproc://name`).
    pub fn bind(&self, endpoint: &str) -> Result<()> {
        let mut core = self.open_core()?;
        let bound = session::bind(&self.ctx, &self.shared, &core.options, endpoint)?;
        // USE_FD is used up by the bind that took it (an inproc bind leaves it for the next).
        if !endpoint.starts_with("inproc://") {
            core.options.use_fd = None;
        }
        // Peers already waiting (inproc connects made before this bind) are attached now.
        core.process_commands(&self.shared);
        core.last_endpoint = bound.resolved.clone();
        core.endpoints.push(bound);
        Ok(())
    }

    /// Connect to `endpoint`, now and again whenever the connection is lost. The peer need
    /// not exist yet: messages queue until it does (unless IMMEDIATE is set).
    pub fn connect(&self, endpoint: &str) -> Result<()> {
        let mut core = self.open_core()?;
        let bound = session::connect(&self.ctx, &self.shared, &core.options, endpoint)?;
        // The pipe of a connect that queues before its peer exists (and an inproc peer's) is
        // attached now, so the next call sees it.
        core.process_commands(&self.shared);
        if let Some(id) = bound.pipe()
            && !core.pipes.contains_key(&id)
            && self.shared.socket_type == SocketType::Stream
        {
            // The pattern refused it: it already has a peer under this CONNECT_ROUTING_ID
            // (libzmq asserts). (A PAIR refusing a second peer is no error: its connecter
            // gives up by itself.)
            let linger = options::ms(core.options.linger);
            bound.shutdown(&self.ctx, &self.shared, linger);
            let id = core.options.connect_routing_id.take().unwrap_or_default();
            return Err(Error::InvalidArgument(format!(
                "{endpoint:?}: CONNECT_ROUTING_ID {id:?} already names a peer of this socket"
            )));
        }
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
        let mut core = self.open_core()?;
        let i = core
            .endpoints
            .iter()
            .position(|b| b.is_listener() == bound && b.matches(endpoint))
            .ok_or_else(|| Error::EndpointNotFound(endpoint.to_string()))?;
        let b = core.endpoints.remove(i);
        if let Some(id) = b.pipe() {
            core.detach(id);
        }
        b.shutdown(&self.ctx, &self.shared, options::ms(core.options.linger));
        Ok(())
    }

    /// The endpoint of the last bind or connect, with wildcards resolved
    /// (e.g. `tcp://127.0.0.1:41345` after binding `tcp://127.0.0.1:*`).
    pub fn last_endpoint(&self) -> Result<String> {
        self.check_term()?;
        Ok(self.core.lock().last_endpoint.clone())
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
    /// allocation): `Ok(None)` when sent (`rest` is then empty), `first` handed back when it
    /// would block (`rest` untouched). (`rest` is borrowed, not moved in and out: a moved empty
    /// vector was copied through memory in other widths than it was written, a stall on
    /// every single-frame send.)
    #[inline]
    pub(crate) fn try_send_parts(&self, first: Msg, rest: &mut Vec<Msg>) -> Result<Option<Msg>> {
        let mut core = self.look()?;
        let core = &mut *core;
        match core.pattern.send(first, &core.options) {
            Ok(()) => {}
            Err(SendError::Again(m)) => return Ok(Some(m)),
            Err(SendError::Fatal(e, _)) => return Err(e),
        }
        if rest.is_empty() {
            return Ok(None);
        }
        // The rest of a started message is always accepted (or dropped with it, if its peer
        // went away meanwhile).
        for m in rest.drain(..) {
            if let Err(SendError::Fatal(e, _)) = core.pattern.send(m, &core.options) {
                return Err(e);
            }
        }
        Ok(None)
    }

    #[inline]
    pub(crate) fn send_parts(&self, mut first: Msg, mut rest: Vec<Msg>, block: bool) -> Result<()> {
        let mut deadline = Deadline::NotYet;
        loop {
            let seen = self.shared.signal.seq();
            match self.try_send_parts(first, &mut rest)? {
                None => return Ok(()),
                Some(m) => first = m,
            }
            let timeo = self.core.lock().options.sndtimeo;
            self.wait(seen, block, timeo, &mut deadline)?;
        }
    }

    async fn send_parts_async(&self, mut first: Msg, mut rest: Vec<Msg>) -> Result<()> {
        loop {
            let seen = self.shared.signal.seq();
            match self.try_send_parts(first, &mut rest)? {
                None => return Ok(()),
                Some(m) => first = m,
            }
            self.shared.signal.changed(seen).await;
        }
    }

    /// The socket's state, for a look on the application's behalf (ZMQ_EVENTS, a send, a
    /// receive): the readiness descriptor cleared first (see `fd`), ETERM after `term`, the
    /// I/O side's mail acted on.
    fn look(&self) -> Result<crate::sync::SpinMutexGuard<'_, Core>> {
        self.shared.signal.drain_fd();
        let mut core = self.open_core()?;
        core.process_commands_before_look(&self.shared);
        Ok(core)
    }

    /// Read the socket's one connection on this thread until something happens or
    /// `deadline` passes, if it has one a caller may read now (`engine::feed`); `None` if not.
    /// `seen`: the signal's number before the receive that found nothing.
    fn read_connection(&self, seen: u64, deadline: Option<Instant>) -> Option<pipe::Fed> {
        let (feed, queue) = self.core.lock().sole_feed()?;
        feed.feed(&queue, &self.shared.signal, seen, deadline)
    }

    /// Wait for the socket's signal to move past `seen`, within SNDTIMEO/RCVTIMEO `timeo`.
    fn wait(&self, seen: u64, block: bool, timeo: i32, deadline: &mut Deadline) -> Result<()> {
        if !block || timeo == 0 {
            return Err(Error::Again);
        }
        if self.shared.signal.wait(seen, deadline.get(timeo)) { Ok(()) } else { Err(Error::Again) }
    }

    /// One attempt to send one frame without blocking, the frame handed back whenever it was
    /// not taken: with [`Error::Again`] when no peer has room now, and with any other error
    /// (ETERM, EFSM, ENOTSUP, EHOSTUNREACH). For callers that must keep what they failed to
    /// send without keeping a copy of it: the C ABI's `zmq_msg_send` (whose message stays the
    /// caller's, whole, when the send fails) sends its frame by move.
    pub fn try_send_frame(&self, data: Bytes, more: bool) -> std::result::Result<(), (Error, Bytes)> {
        let mut core = match self.look() {
            Ok(core) => core,
            Err(e) => return Err((e, data)),
        };
        let core = &mut *core;
        match core.pattern.send(Msg::new(data, more), &core.options) {
            Ok(()) => Ok(()),
            Err(SendError::Again(m)) => Err((Error::Again, m.data)),
            Err(SendError::Fatal(e, m)) => Err((e, m.data)),
        }
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
        self.recv_parts_async(NO_REST, None).await.map(|m| m.data)
    }

    /// Async [`recv_multipart`](Self::recv_multipart). Dropping the future before it completes
    /// takes nothing.
    pub(crate) async fn recv_multipart_async(&self) -> Result<Vec<Bytes>> {
        let mut rest = Vec::new();
        let first = self.recv_parts_async(Some(&mut rest), None).await?;
        Ok(frames(first, rest))
    }

    /// Receive a whole message (or the rest of one whose first frames were taken with
    /// [`recv`](Self::recv)) with the properties of the connection it came over.
    pub(crate) fn recv_message(&self) -> Result<Message> {
        self.recv_message_with(true)
    }

    /// [`recv_message`](Self::recv_message) without blocking: [`Error::Again`] if none is ready.
    pub(crate) fn try_recv_message(&self) -> Result<Message> {
        self.recv_message_with(false)
    }

    fn recv_message_with(&self, block: bool) -> Result<Message> {
        let (mut rest, mut properties) = (Vec::new(), None);
        let first = self.recv_parts_with(Some(&mut rest), Some(&mut properties), block)?;
        Ok(Message::new(frames(first, rest), properties))
    }

    /// Async [`recv_message`](Self::recv_message). Dropping the future before it completes
    /// takes nothing.
    pub(crate) async fn recv_message_async(&self) -> Result<Message> {
        let (mut rest, mut properties) = (Vec::new(), None);
        let first = self.recv_parts_async(Some(&mut rest), Some(&mut properties)).await?;
        Ok(Message::new(frames(first, rest), properties))
    }

    /// Receive one frame (blocking within RCVTIMEO, or not at all): its bytes, whether more
    /// frames of the same message follow, and, given `properties`, the properties of the
    /// connection it came over put there (`None` for inproc; left as they are if they are
    /// those already). The C ABI's `zmq_msg_recv`, which keeps all three in the message.
    pub fn recv_frame(&self, block: bool, properties: Option<&mut Option<Properties>>) -> Result<ReceivedFrame> {
        let msg = self.recv_parts_with(NO_REST, properties, block)?;
        Ok(ReceivedFrame { msg })
    }

    /// One attempt to receive a frame without blocking, `None` when nothing is queued, for a
    /// caller that then blocks with [`recv_frame_reading`](Self::recv_frame_reading): unlike
    /// a non-blocking [`recv_frame`](Self::recv_frame), it leaves the connection a caller's
    /// last receive read (`engine::feed`) lent to the next one.
    #[inline]
    pub fn recv_frame_now(&self, properties: Option<&mut Option<Properties>>) -> Result<Option<ReceivedFrame>> {
        Ok(self.try_recv_with(NO_REST, properties)?.map(|msg| ReceivedFrame { msg }))
    }

    /// One attempt to receive a frame that, when nothing is queued and the socket's one peer
    /// is a tcp or ipc connection nobody else reads, reads that connection on this thread
    /// until something happens or `deadline` passes (`engine::feed`). The C ABI's blocking
    /// receive, which must report a signal handler's run (EINTR) as libzmq's does.
    pub fn recv_frame_reading(
        &self,
        deadline: Option<Instant>,
        properties: Option<&mut Option<Properties>>,
    ) -> Result<ReadFrame> {
        let seen = self.shared.signal.seq();
        if let Some(frame) = self.recv_frame_now(properties)? {
            return Ok(ReadFrame::Frame(frame));
        }
        Ok(match self.read_connection(seen, deadline) {
            None => ReadFrame::Wait,
            Some(pipe::Fed::Again) => ReadFrame::Again,
            Some(pipe::Fed::TimedOut) => ReadFrame::TimedOut,
            Some(pipe::Fed::Interrupted) => ReadFrame::Interrupted,
        })
    }

    /// After a receive: do more frames of the same message follow?
    pub(crate) fn rcvmore(&self) -> bool {
        self.core.lock().rcvmore
    }

    /// One attempt: the next frame and, given `rest`, every remaining frame of its message
    /// appended there; `Ok(None)` when nothing is ready.
    #[inline]
    pub(crate) fn try_recv_parts<T: From<Msg>>(&self, rest: Option<&mut Vec<T>>) -> Result<Option<Msg>> {
        self.try_recv_with(rest, None)
    }

    /// [`try_recv_parts`](Self::try_recv_parts), and, given `properties`, the properties of
    /// the connection the message came over put there (only callers who ask pay for it).
    #[inline]
    fn try_recv_with<T: From<Msg>>(
        &self,
        mut rest: Option<&mut Vec<T>>,
        properties: Option<&mut Option<Properties>>,
    ) -> Result<Option<Msg>> {
        let mut core = self.look()?;
        let core = &mut *core;
        let first = match core.pattern.recv(&core.options) {
            Ok(m) => m,
            Err(Error::Again) => return Ok(None),
            Err(e) => return Err(e),
        };
        if let Some(props) = properties {
            core.fill_peer_properties(props);
        }
        let mut more = first.more();
        if let Some(rest) = rest.as_mut() {
            // The rest of a message is queued once its first frame is readable.
            while more {
                let m = core.pattern.recv(&core.options)?;
                more = m.more();
                rest.push(m.into());
            }
        }
        core.rcvmore = more;
        Ok(Some(first))
    }

    fn recv_parts(&self, rest: Option<&mut Vec<Bytes>>, block: bool) -> Result<Msg> {
        self.recv_parts_with(rest, None, block)
    }

    fn recv_parts_with(
        &self,
        mut rest: Option<&mut Vec<Bytes>>,
        mut properties: Option<&mut Option<Properties>>,
        block: bool,
    ) -> Result<Msg> {
        let mut deadline = Deadline::NotYet;
        loop {
            let seen = self.shared.signal.seq();
            if let Some(first) = self.try_recv_with(rest.as_deref_mut(), properties.as_deref_mut())? {
                return Ok(first);
            }
            let timeo = self.core.lock().options.rcvtimeo;
            // Nothing queued: read the connection on this thread rather than wait for the I/O
            // thread to (`engine::feed`), when it is the socket's only one and free to.
            if block && timeo != 0 {
                match self.read_connection(seen, deadline.get(timeo)) {
                    // (No EINTR in this API: a signal handler's run is one more look.)
                    Some(pipe::Fed::Again | pipe::Fed::Interrupted) => continue,
                    Some(pipe::Fed::TimedOut) => return Err(Error::Again),
                    None => {}
                }
            }
            if self.core.lock().give_back(&self.shared.signal) {
                // What had arrived is queued now: take it rather than say "again".
                continue;
            }
            self.wait(seen, block, timeo, &mut deadline)?;
        }
    }

    async fn recv_parts_async(
        &self,
        mut rest: Option<&mut Vec<Bytes>>,
        mut properties: Option<&mut Option<Properties>>,
    ) -> Result<Msg> {
        loop {
            let seen = self.shared.signal.seq();
            if let Some(first) = self.try_recv_with(rest.as_deref_mut(), properties.as_deref_mut())? {
                return Ok(first);
            }
            if self.core.lock().give_back(&self.shared.signal) {
                continue;
            }
            self.shared.signal.changed(seen).await;
        }
    }
}

/// What [`SocketBase::recv_frame_reading`] came to.
#[derive(Debug)]
pub enum ReadFrame {
    /// A frame (as [`SocketBase::recv_frame`]).
    Frame(ReceivedFrame),
    /// Nothing queued, and no connection this thread may read: wait for the socket to be
    /// readable the usual way (through [`SocketBase::events`], which also gives a connection
    /// this thread's last receive kept back to the I/O thread), then try again.
    Wait,
    /// Nothing yet, but something happened: try again.
    Again,
    /// The deadline passed.
    TimedOut,
    /// A signal handler ran while it waited (EINTR).
    Interrupted,
}

/// One received frame, as the C ABI keeps it in a message: its bytes and whether more frames
/// of its message follow (the properties of the connection it came over go where the caller
/// said).
///
/// Unlike a `(Bytes, bool)`, it has no padding to copy between layers (see `pipe::Msg`).
#[derive(Debug)]
pub struct ReceivedFrame {
    msg: Msg,
}

impl ReceivedFrame {
    /// The frame's bytes.
    #[inline]
    pub fn data(&self) -> &Bytes {
        &self.msg.data
    }

    /// Do more frames of the same message follow?
    #[inline]
    pub fn more(&self) -> bool {
        self.msg.more()
    }

    /// The bytes and the MORE flag.
    #[inline]
    pub fn into_parts(self) -> (Bytes, bool) {
        self.msg.into_parts()
    }
}

/// When a blocking send or receive gives up, set at its first wait from SNDTIMEO/RCVTIMEO.
#[derive(Clone, Copy)]
enum Deadline {
    /// Not computed yet: the call has not waited so far.
    NotYet,
    /// No timeout: wait as long as it takes.
    Never,
    /// Give up at this instant.
    At(Instant),
}

impl Deadline {
    /// The instant to give up at (`None`: never), computed from the timeout `timeo` (ms, -1
    /// for none) the first time.
    fn get(&mut self, timeo: i32) -> Option<Instant> {
        if let Deadline::NotYet = self {
            *self = match options::ms(timeo) {
                Some(d) => Deadline::At(Instant::now() + d),
                None => Deadline::Never,
            };
        }
        match *self {
            Deadline::At(t) => Some(t),
            Deadline::NotYet | Deadline::Never => None,
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
        Some(last) => last.set_more(false),
        None => return Ok((Msg::new(first.data, false), rest)),
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
        self.close();
    }
}

impl SocketBase {
    /// Close the socket now, as dropping it does: its connections and endpoints go, queued
    /// outgoing messages are still flushed for up to LINGER milliseconds, and every later
    /// call on it fails with [`Error::Closed`] (a call blocked in it returns with that
    /// error). For a socket shared with other threads (the C ABI's `zmq_close`); closing
    /// twice does nothing.
    pub fn close(&self) {
        let mut core = self.core.lock();
        if self.shared.is_closed() {
            return;
        }
        let pending = self.shared.close();
        // Connections still in their handshake give up.
        self.shared.signal.notify();
        // Pipes handed over before the close flag was set are closed like the others.
        core.run_commands(pending);
        core.close_all();
        let endpoints = std::mem::take(&mut core.endpoints);
        let linger = options::ms(core.options.linger);
        let monitor_pair = core.monitor_pair.take();
        drop(core);
        // Lingering starts before the socket leaves the registry, so `term` never sees neither.
        session::linger_and_reap(&self.ctx, &self.shared, endpoints, linger);
        // After the listeners' CLOSED events, as libzmq.
        self.shared.monitor.stop(true);
        if let Some((pair, endpoint)) = monitor_pair {
            let _ = pair.unbind(&endpoint);
        }
        self.registry().closed(self.id);
    }
}
