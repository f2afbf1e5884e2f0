//! STREAM: raw TCP (or ipc) peers, with no ZMTP on the wire.
//!
//! Every message is two frames, the peer's routing id and then bytes: received, the bytes of
//! one read from the connection (with STREAM_NOTIFY, an empty one when the peer connects and
//! again when it disconnects); sent, bytes written to the peer as they are, or, if empty, the
//! request to close that connection once everything queued before has been written.
//!
//! As libzmq's STREAM (src/stream.cpp):
//! - a peer's routing id is CONNECT_ROUTING_ID for a connect that set it, else a generated
//!   5-byte id; the socket's ROUTING_ID option then reports the generated id, which is how a
//!   connecting socket learns the id of its peer right after `connect`;
//! - sending to a routing id no connection has fails with `HostUnreachable` (there is no
//!   ROUTER_MANDATORY: STREAM always reports it), and to a peer at its SNDHWM with `Again`
//!   (so a blocking send waits for room);
//! - MORE on the data frame is ignored: the data frame always ends the message;
//! - a first frame without MORE is not a routing id but a malformed message, and is dropped.
//!   (libzmq then also takes the next frame, whatever it is, as data for nobody; this drops
//!   only the stray frame, so the messages after it are not misread.)

use bytes::Bytes;

use super::{Outgoing, Pattern, RoutingTable, SendError};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};

#[derive(Default)]
pub(crate) struct Stream {
    table: RoutingTable,
    /// Where the data frame goes once a routing id frame was sent: to that peer, or dropped
    /// (the peer went away meanwhile).
    out: Outgoing,
    /// The id generated for the last peer attached, until the socket takes it.
    generated: Option<Bytes>,
}

impl Pattern for Stream {
    fn attach(&mut self, pipe: Pipe, peer: PeerInfo, _: &Options) -> bool {
        let given = peer.routing_id.filter(|id| !id.is_empty());
        let named = given.is_some();
        match self.table.attach(pipe, given) {
            Some(id) => {
                if !named {
                    self.generated = Some(id);
                }
                true
            }
            None => {
                tracing::warn!("STREAM: refusing a second connection with the same CONNECT_ROUTING_ID");
                false
            }
        }
    }

    fn detach(&mut self, id: PipeId, _: &Options) {
        self.out.detach(id);
        self.table.detach(id);
    }

    fn send(&mut self, msg: Msg, _: &Options) -> Result<(), SendError> {
        // Taken: the data frame ends the message, whatever its MORE says.
        let pipe = match std::mem::take(&mut self.out) {
            Outgoing::To(pipe) => pipe,
            Outgoing::Dropped => return Ok(()),
            Outgoing::Idle => {
                if !msg.more() {
                    return Ok(());
                }
                self.out = match self.table.get(&msg.data) {
                    // A peer whose connection ended (its detach is on the way) is as good as unknown.
                    Some(p) if p.out.is_reader_closed() => return Err(SendError::Fatal(Error::HostUnreachable, msg)),
                    Some(p) if !p.out.can_push() => return Err(SendError::Again(msg)),
                    Some(p) => Outgoing::To(p.clone()),
                    None => return Err(SendError::Fatal(Error::HostUnreachable, msg)),
                };
                return Ok(());
            }
        };
        if msg.data.is_empty() {
            // Close the connection: the engine writes what is queued, then closes it. What the
            // peer sent and was not read yet is dropped, and its id is unknown from now on.
            pipe.close();
            self.table.remove(pipe.id);
        } else {
            // Room was checked with the routing id frame; a peer gone since loses the message.
            let _ = pipe.out.push(Msg::new(msg.data, false));
        }
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

    /// As libzmq's: always, since which peer a message goes to is not known before it is sent.
    fn has_out(&mut self, _: &Options) -> bool {
        true
    }

    fn take_generated_routing_id(&mut self) -> Option<Bytes> {
        self.generated.take()
    }
}
