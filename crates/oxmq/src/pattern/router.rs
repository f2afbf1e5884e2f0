//! ROUTER: addresses peers by routing id.
//!
//! Each received message is preceded by a frame holding the routing id of the peer it came
//! from; each sent message starts with the routing id of the peer it goes to. The peers and
//! their ids are a [`RoutingTable`] (a peer's id is the Identity it announced, or the
//! CONNECT_ROUTING_ID given before connecting to it, else a generated one). Messages to an
//! unknown or full peer are dropped, or, with ROUTER_MANDATORY, refused with
//! `HostUnreachable` / `Again`. A peer arriving with a routing id another peer has is refused,
//! or, with ROUTER_HANDOVER, takes the id over and the other peer's connection is closed.
//!
//! With ROUTER_RAW (deprecated in libzmq) the tcp and ipc peers speak raw bytes, no ZMTP, as a
//! STREAM socket's do (the session runs the raw engine): each read arrives as `[id, bytes]`,
//! with `[id, ""]` when a peer connects and when it goes; a data frame sent ends its message
//! whatever its MORE says, and an empty one closes that connection, as zmq_setsockopt(3)
//! says. (libzmq 4.3.5 itself leaves the connection open then.) Unknown ids are dropped, or
//! refused with ROUTER_MANDATORY, as for any ROUTER.

use super::{Outgoing, Pattern, RoutingTable, SendError};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};

#[derive(Default)]
pub(crate) struct Router {
    table: RoutingTable,
    /// Where the rest of the message being sent goes, once its routing id frame is sent.
    out: Outgoing,
    /// The peer whose routing id the peer attached last took over (ROUTER_HANDOVER), for the
    /// socket to close.
    evicted: Option<PipeId>,
}

impl Pattern for Router {
    fn attach(&mut self, pipe: Pipe, peer: PeerInfo, opts: &Options) -> bool {
        let given = peer.routing_id;
        if opts.router_handover {
            self.evicted = self.table.attach_handover(pipe, given);
            return true;
        }
        if self.table.attach(pipe, given.clone()).is_none() {
            tracing::warn!("ROUTER: refusing a second peer with routing id {:?}", given);
            return false;
        }
        true
    }

    fn take_evicted(&mut self) -> Option<PipeId> {
        self.evicted.take()
    }

    fn detach(&mut self, id: PipeId, _: &Options) {
        self.out.detach(id);
        self.table.detach(id);
    }

    fn send(&mut self, msg: Msg, opts: &Options) -> Result<(), SendError> {
        if !self.out.in_progress() {
            // The first frame names the peer.
            if !msg.more() {
                return Ok(()); // A lone routing id frame is not a message: ignored, as libzmq does.
            }
            self.out = match self.table.get(&msg.data) {
                // The peer is gone (its detach is on the way): as if unknown.
                Some(p) if p.out.is_reader_closed() && opts.router_mandatory => {
                    return Err(SendError::Fatal(Error::HostUnreachable, msg));
                }
                Some(p) if p.out.can_push() => Outgoing::To(p.clone()),
                Some(_) if opts.router_mandatory => return Err(SendError::Again(msg)),
                None if opts.router_mandatory => return Err(SendError::Fatal(Error::HostUnreachable, msg)),
                _ => Outgoing::Dropped,
            };
            return Ok(());
        }
        if opts.raw_socket {
            // ROUTER_RAW, as STREAM: the data frame ends the message whatever its MORE says,
            // and an empty one closes the connection once what is queued has been written.
            if let Outgoing::To(pipe) = std::mem::take(&mut self.out) {
                if msg.data.is_empty() {
                    pipe.close();
                    self.table.remove(pipe.id);
                } else {
                    let _ = pipe.out.push(Msg::new(msg.data, false));
                }
            }
            return Ok(());
        }
        self.out.push(msg);
        Ok(())
    }

    fn recv(&mut self, _: &Options) -> Result<Msg, Error> {
        self.table.recv()
    }

    fn last_peer(&self) -> Option<&Pipe> {
        self.table.last_peer()
    }

    fn last_peer_id(&self) -> Option<PipeId> {
        self.table.last_peer_id()
    }

    fn has_in(&mut self, _: &Options) -> bool {
        self.table.has_in()
    }

    fn peer_writable(&self, id: &[u8]) -> Option<Option<bool>> {
        Some(self.table.get(id).map(|p| p.out.can_push()))
    }

    fn has_out(&mut self, opts: &Options) -> bool {
        // Messages to unknown or full peers are dropped, so a ROUTER is always writable; with
        // ROUTER_MANDATORY (as libzmq) when some peer has room, as the destination is not known
        // before the message is. Mid-message, the other frames are always taken.
        self.out.in_progress() || !opts.router_mandatory || self.table.pipes().any(|p| p.out.can_push())
    }
}
