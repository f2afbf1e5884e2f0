//! What each socket type does with its pipes.
//!
//! A socket type is a small composition of strategies: [`LoadBalancer`] (round-robin out),
//! [`FairQueue`] (round-robin in), [`Dist`] (one message to many, for publish-subscribe, with
//! the subscription tries in `trie`), and [`RoutingTable`] (peers by routing id, for ROUTER
//! and STREAM). Each type's whole behaviour lives in one file here; PUB and XPUB share
//! `xpub.rs`, SUB and XSUB `xsub.rs` (each pair differs by a flag).
//! The socket core ([`crate::socket`]) calls a pattern without locks held by anyone else and
//! never blocks inside it: a pattern answers at once, and "would block" is an
//! [`SendError::Again`] / [`Error::Again`] that the core turns into waiting.

mod dist;
mod fq;
mod lb;
mod routing;
mod trie;

mod dealer;
mod pair;
mod pull;
mod push;
mod rep;
mod req;
mod router;
mod stream;
mod xpub;
mod xsub;

pub(crate) use dist::Dist;
pub(crate) use fq::FairQueue;
pub(crate) use lb::LoadBalancer;
pub(crate) use routing::RoutingTable;

/// The index after `i` among `len` pipes, wrapping (a compare instead of a division per
/// message): the round-robin step of [`FairQueue`] and [`LoadBalancer`].
#[inline]
fn next(i: usize, len: usize) -> usize {
    if i + 1 >= len { 0 } else { i + 1 }
}

use std::sync::Arc;

use bytes::Bytes;
use oxmq_wire::SocketType;

use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};
use crate::signal::Signal;

/// Why a send did not happen.
#[derive(Debug)]
pub(crate) enum SendError {
    /// No pipe can take the message now; it is handed back so the caller can wait and retry.
    Again(Msg),
    /// A hard error for this message, which is handed back untouched: a caller that must keep
    /// a message it failed to send (the C ABI's `zmq_msg_send`, whose message stays the
    /// caller's on any failure) gets it back without having kept a copy of it.
    Fatal(Error, Msg),
}

/// Where the frames of a message being sent go, for the types whose first frames pick its
/// peer (ROUTER and STREAM by routing id, REP by the request's envelope).
#[derive(Default)]
pub(crate) enum Outgoing {
    /// No message in progress: the next frame starts one.
    #[default]
    Idle,
    /// The rest of this message goes to this pipe.
    To(Pipe),
    /// The rest of this message is dropped (its peer is unknown, full or gone).
    Dropped,
}

impl Outgoing {
    /// Mid-way through a message?
    pub fn in_progress(&self) -> bool {
        !matches!(self, Outgoing::Idle)
    }

    /// The pipe `id` is gone: a message in progress to it is dropped from now on.
    pub fn detach(&mut self, id: PipeId) {
        if let Outgoing::To(p) = self
            && p.id == id
        {
            *self = Outgoing::Dropped;
        }
    }

    /// One more frame of the message in progress: pushed to its pipe (if that refuses it, the
    /// rest of the message is dropped), or dropped. The last frame ends the message.
    pub fn push(&mut self, msg: Msg) {
        let more = msg.more();
        if let Outgoing::To(p) = self
            && p.out.push(msg).is_err()
        {
            *self = Outgoing::Dropped;
        }
        if !more {
            *self = Outgoing::Idle;
        }
    }
}

/// The behaviour of one socket type.
pub(crate) trait Pattern: Send {
    /// A peer's pipe is ready. Returns false if the pattern refuses it (PAIR already has a
    /// peer, ROUTER already has that routing id); the caller then closes it.
    fn attach(&mut self, pipe: Pipe, peer: PeerInfo, opts: &Options) -> bool;
    /// The peer an attach displaced (ROUTER_HANDOVER), once: the socket closes its pipe.
    fn take_evicted(&mut self) -> Option<PipeId> {
        None
    }
    /// The peer's connection is gone. Messages it completed may still be read.
    fn detach(&mut self, id: PipeId, opts: &Options);
    /// A pipe that outlives connections (a connect's) reaches a new peer after a reconnect:
    /// re-send whatever the peer must know (SUB's subscriptions). Nothing for most types.
    fn hiccup(&mut self, _id: PipeId) {}
    /// Send one frame.
    fn send(&mut self, msg: Msg, opts: &Options) -> Result<(), SendError>;
    /// Receive one frame; `Error::Again` when none is ready.
    fn recv(&mut self, opts: &Options) -> Result<Msg, Error>;
    /// The SUBSCRIBE (`on`) or UNSUBSCRIBE option (SUB; XPUB with XPUB_MANUAL).
    fn subscribe(&mut self, _topic: &[u8], _on: bool, _opts: &Options) -> Result<(), Error> {
        Err(Error::InvalidArgument("SUBSCRIBE/UNSUBSCRIBE apply to SUB and XPUB sockets only".into()))
    }
    /// The pipe the frame received last came from, for its message's properties. Asked only
    /// by callers who want them, right after a receive. (XPUB's subscription messages have
    /// none.)
    fn last_peer(&self) -> Option<&Pipe> {
        None
    }
    /// The id of [`last_peer`](Self::last_peer)'s pipe, for a caller who keeps that pipe's
    /// properties and checks, per frame, that it is still the same pipe (fair-queued types
    /// answer without looking the pipe up).
    fn last_peer_id(&self) -> Option<PipeId> {
        self.last_peer().map(|p| p.id)
    }
    /// The routing id the pattern generated for the peer it attached last, once. STREAM
    /// reports it as the socket's ROUTING_ID, as libzmq does.
    fn take_generated_routing_id(&mut self) -> Option<Bytes> {
        None
    }
    /// ZMQ_POLLIN: would [`recv`](Pattern::recv) return a frame now? Exact: true means the
    /// next `recv` succeeds (a pattern that drops some messages, like REQ's stale replies,
    /// drops them here first). False when the socket's state forbids receiving (REQ before its
    /// request, REP owing a reply) or the type cannot receive.
    ///
    /// Whoever makes this false must arrange a wake of the socket's signal when it turns true:
    /// a pipe's reader is woken by its first complete message, so asking the pipes is enough.
    fn has_in(&mut self, opts: &Options) -> bool;
    /// ZMQ_POLLOUT: would a message [`send`](Pattern::send) now go without `SendError::Again`?
    /// Exact, except where the destination is not known before the message is (ROUTER with
    /// ROUTER_MANDATORY: some peer has room). False when the socket's state forbids sending
    /// (REQ awaiting its reply, REP before a request) or the type cannot send.
    ///
    /// A full pipe must be asked with [`Queue::can_push`](crate::pipe::Queue::can_push), which
    /// arranges the wake-up when it drains.
    fn has_out(&mut self, opts: &Options) -> bool;
    /// Whether the peer with routing id `id` would take a message now (`Some(None)`: there
    /// is no such peer); `None` for the types that do not know their peers by routing id
    /// (all but ROUTER).
    fn peer_writable(&self, _id: &[u8]) -> Option<Option<bool>> {
        None
    }
}

/// The pattern for a socket type; `signal` is the socket's (PUB and XPUB watch it to learn
/// that subscriptions arrived).
pub(crate) fn for_type(t: SocketType, signal: &Arc<Signal>) -> Box<dyn Pattern> {
    match t {
        SocketType::Pair => Box::new(pair::Pair::default()),
        SocketType::Push => Box::new(push::Push::default()),
        SocketType::Pull => Box::new(pull::Pull::default()),
        SocketType::Req => Box::new(req::Req::default()),
        SocketType::Rep => Box::new(rep::Rep::default()),
        SocketType::Dealer => Box::new(dealer::Dealer::default()),
        SocketType::Router => Box::new(router::Router::default()),
        SocketType::Pub => Box::new(xpub::XPub::new(true, signal.clone())),
        SocketType::XPub => Box::new(xpub::XPub::new(false, signal.clone())),
        SocketType::Sub => Box::new(xsub::XSub::new(true)),
        SocketType::XSub => Box::new(xsub::XSub::new(false)),
        SocketType::Stream => Box::new(stream::Stream::default()),
    }
}

pub(crate) fn not_supported(t: SocketType, what: &str) -> Error {
    Error::NotSupported(format!("{} sockets cannot {what}", t.as_str()))
}

/// Does a socket of type `t` with options `o` conflate its queues? libzmq applies CONFLATE to
/// the types whose messages are independent updates.
pub(crate) fn conflates(t: SocketType, o: &Options) -> bool {
    use SocketType::*;
    o.conflate && matches!(t, Dealer | Pull | Push | Pub | Sub)
}

/// PROBE_ROUTER: a DEALER/REQ/ROUTER sends an empty message to each new peer so the ROUTER
/// at the other end learns its routing id at once. The session sends it when it attaches a
/// peer (`session::attach`), so the probe leaves at once rather than at the socket's next call.
pub(crate) fn send_probe(pipe: &Pipe, opts: &Options) {
    // Only ROUTER, DEALER and REQ accept the option (see `SocketBase::set_option_raw`).
    if opts.probe_router {
        let _ = pipe.out.push(Msg::new(bytes::Bytes::new(), false));
    }
}
