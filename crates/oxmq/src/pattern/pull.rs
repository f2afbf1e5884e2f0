//! PULL: fair-queues messages from its PUSH peers.

use oxmq_wire::SocketType;

use super::{FairQueue, Pattern, SendError, not_supported};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};

#[derive(Default)]
pub(crate) struct Pull {
    fq: FairQueue,
}

impl Pattern for Pull {
    fn attach(&mut self, pipe: Pipe, _: PeerInfo, _: &Options) -> bool {
        self.fq.attach(pipe);
        true
    }
    fn detach(&mut self, id: PipeId, _: &Options) {
        self.fq.detach(id);
    }
    fn send(&mut self, msg: Msg, _: &Options) -> Result<(), SendError> {
        Err(SendError::Fatal(not_supported(SocketType::Pull, "send"), msg))
    }
    fn recv(&mut self, _: &Options) -> Result<Msg, Error> {
        self.fq.recv_or_again().map(|(m, _)| m)
    }
    fn last_peer(&self) -> Option<&Pipe> {
        self.fq.last_peer()
    }

    fn last_peer_id(&self) -> Option<PipeId> {
        self.fq.last_peer_id()
    }

    fn has_in(&mut self, _: &Options) -> bool {
        self.fq.has_in()
    }
    fn has_out(&mut self, _: &Options) -> bool {
        false
    }
}
