//! The socket's mailbox: the part of a socket the I/O side shares with it.
//!
//! Sessions (accept loops, connecters), inproc peers and the monitor reach a socket only
//! through [`SocketShared`]: they post [`Command`]s (a peer to attach, a peer gone), read
//! whether it is closed, and report events to its monitor slot. The socket processes its
//! mail under its own lock, at its next call. Nothing here knows the public API.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Weak};

use oxmq_wire::SocketType;
use parking_lot::Mutex;

use crate::monitor::MonitorSlot;
use crate::pipe::{PeerInfo, Pipe, PipeId};
use crate::signal::Signal;

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
    /// A new socket's shared part, with no mail.
    pub fn new(socket_type: SocketType, signal: Arc<Signal>) -> SocketShared {
        SocketShared {
            socket_type,
            signal,
            mailbox: Mutex::new(Vec::new()),
            has_mail: AtomicBool::new(false),
            closed: AtomicBool::new(false),
            monitor: MonitorSlot::default(),
        }
    }

    /// The commands posted since the last call, if any (one atomic load when there are none).
    #[inline]
    pub fn take_mail(&self) -> Option<Vec<Command>> {
        if !self.has_mail.load(Ordering::SeqCst) || !self.has_mail.swap(false, Ordering::SeqCst) {
            return None;
        }
        Some(std::mem::take(&mut *self.mailbox.lock()))
    }

    /// The socket closes: from now on an Attach is refused. Returns every command posted
    /// before, so the socket can close the pipes they carry like its others.
    pub fn close(&self) -> Vec<Command> {
        let mut mb = self.mailbox.lock();
        self.closed.store(true, Ordering::SeqCst);
        self.has_mail.store(false, Ordering::SeqCst);
        std::mem::take(&mut *mb)
    }

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

/// An inproc peer socket learns at once that this side closed the pipe, as a tcp peer does
/// from the connection closing.
pub(crate) fn tell_closed(id: PipeId, inproc_peer: Option<&Weak<SocketShared>>) {
    if let Some(peer) = inproc_peer.and_then(Weak::upgrade) {
        peer.post(Command::Detach(id));
    }
}
