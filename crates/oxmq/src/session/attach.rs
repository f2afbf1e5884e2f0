//! Attaching a peer: the one place where a new peer's pipe is made and handed to a socket.
//!
//! Every peer becomes a socket's peer the same way, whatever its transport:
//! - [`new_pipe`] makes the pipe pair: HWMs (the socket's own for a tcp or ipc peer; the
//!   sender's SNDHWM plus the receiver's RCVHWM between two inproc sockets, as libzmq) and
//!   CONFLATE (either side's, for inproc, which shares one pair of queues);
//! - [`attach`] sends the socket's PROBE_ROUTER message on its end (so it leaves now, not at
//!   the socket's next call) and posts the end to the socket's mailbox with the peer's routing
//!   id; the socket's pattern takes it from there;
//! - [`PeerGuard`] holds the I/O side's end of a tcp or ipc peer's pipe, and closes it and
//!   tells the socket when the connection or connecter that owns it ends, however it ends.
//!
//! An inproc connect to a name nobody has bound yet makes its pipe at once (messages queue);
//! [`complete_inproc`] hands the waiting end to the binder when the bind comes.

use std::sync::{Arc, Weak};

use bytes::Bytes;
use oxmq_wire::SocketType;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::pattern::{conflates, send_probe};
use crate::pipe::{PeerInfo, Pipe, hwm};
use crate::signal::Signal;
use crate::socket::mailbox::{Command, SocketShared};
use crate::transport::inproc::{PendingConnect, Side};

/// Who drives the other end of a new pipe.
pub(crate) enum Remote<'a> {
    /// An engine, over a tcp or ipc connection, woken by this signal.
    Engine(Arc<Signal>),
    /// Another socket of this context (inproc).
    Socket(&'a Side),
    /// An inproc connect's binder, not known yet: the other end waits, woken by this socket,
    /// until [`complete_inproc`] hands it over.
    NotYetBound,
}

/// libzmq's inproc HWM: the sender's SNDHWM plus the receiver's RCVHWM (0 if either is 0).
fn combined_hwm(snd: i32, rcv: i32) -> usize {
    if snd == 0 || rcv == 0 { 0 } else { (snd.max(0) + rcv.max(0)) as usize }
}

/// A new peer's pipe for the socket `local` with options `opts`: the socket's end first, the
/// other end second.
pub(crate) fn new_pipe(local: &Arc<SocketShared>, opts: &Options, remote: &Remote<'_>) -> (Pipe, Pipe) {
    let ours = conflates(local.socket_type, opts);
    let (signal, out_hwm, in_hwm, conflate) = match remote {
        Remote::Engine(signal) => (signal.clone(), hwm(opts.sndhwm), hwm(opts.rcvhwm), ours),
        Remote::NotYetBound => (local.signal.clone(), hwm(opts.sndhwm), hwm(opts.rcvhwm), ours),
        Remote::Socket(peer) => (
            peer.shared.signal.clone(),
            combined_hwm(opts.sndhwm, peer.options.rcvhwm),
            combined_hwm(peer.options.sndhwm, opts.rcvhwm),
            ours || conflates(peer.shared.socket_type, &peer.options),
        ),
    };
    let (mine, theirs) = Pipe::pair(local.signal.clone(), signal, out_hwm, in_hwm);
    if conflate {
        mine.set_conflate();
    }
    (mine, theirs)
}

/// Hand `end` to the socket `to` (options `opts`) as the peer `peer`; `inproc_peer` is the
/// socket at the other end of an inproc pipe, told when this socket closes it.
pub(crate) fn attach(
    to: &SocketShared,
    opts: &Options,
    end: Pipe,
    peer: PeerInfo,
    inproc_peer: Option<Weak<SocketShared>>,
) {
    send_probe(&end, opts);
    to.post(Command::Attach(end, peer, inproc_peer));
}

/// A peer known by its routing id (if any).
pub(crate) fn named(routing_id: Option<Bytes>) -> PeerInfo {
    PeerInfo { routing_id }
}

/// The I/O side's end of a tcp or ipc peer's pipe: closed, and the socket told, when this is
/// dropped (the connection ended, or the connecter of a pipe that outlives connections did).
pub(crate) struct PeerGuard {
    pub pipe: Pipe,
    pub signal: Arc<Signal>,
    socket: Arc<SocketShared>,
}

impl PeerGuard {
    pub fn new(pipe: Pipe, signal: Arc<Signal>, socket: Arc<SocketShared>) -> PeerGuard {
        PeerGuard { pipe, signal, socket }
    }
}

impl Drop for PeerGuard {
    fn drop(&mut self) {
        self.pipe.close();
        self.socket.post(Command::Detach(self.pipe.id));
    }
}

/// Can sockets of these types talk to each other?
pub(crate) fn check_compatible(a: SocketType, b: SocketType) -> Result<()> {
    if a.is_compatible(b) {
        Ok(())
    } else {
        Err(Error::IncompatibleProtocol(format!("{} cannot talk to {}", a.as_str(), b.as_str())))
    }
}

/// The bind a waiting inproc connect `p` was made for has come: hand its far end to `binder`
/// (its HWMs now both sides', woken by the binder), and attach the connector's end if it was
/// waiting to learn the binder's routing id.
pub(crate) fn complete_inproc(name: &str, binder: &Side, p: PendingConnect) {
    let connector = &p.connector;
    if let Err(e) = check_compatible(connector.shared.socket_type, binder.shared.socket_type) {
        tracing::warn!("inproc://{name}: {e}; dropping that connection");
        p.binder_end.close();
        match p.connector_end {
            Some(end) => end.close(),
            None => connector.shared.post(Command::Detach(p.binder_end.id)),
        }
        return;
    }
    let (c, b) = (&connector.options, &binder.options);
    p.binder_end.inp.set_hwm(combined_hwm(c.sndhwm, b.rcvhwm));
    p.binder_end.out.set_hwm(combined_hwm(b.sndhwm, c.rcvhwm));
    p.binder_end.rebind_signal(binder.shared.signal.clone());
    let binder_weak = Arc::downgrade(&binder.shared);
    match p.connector_end {
        Some(end) => {
            let routing_id = p.connect_routing_id.or(b.routing_id.clone());
            attach(&connector.shared, c, end, named(routing_id), Some(binder_weak));
        }
        None => connector.shared.post(Command::InprocPeer(p.binder_end.id, binder_weak)),
    }
    let routing_id = c.routing_id.clone();
    attach(&binder.shared, b, p.binder_end, named(routing_id), Some(Arc::downgrade(&connector.shared)));
}
