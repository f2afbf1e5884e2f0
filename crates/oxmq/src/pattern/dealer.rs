//! DEALER: load-balances outgoing messages, fair-queues incoming ones; no envelopes.

use super::{FairQueue, LoadBalancer, Pattern, SendError};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};

#[derive(Default)]
pub(crate) struct Dealer {
    lb: LoadBalancer,
    fq: FairQueue,
}

impl Pattern for Dealer {
    fn attach(&mut self, pipe: Pipe, _: PeerInfo, _: &Options) -> bool {
        self.lb.attach(pipe.clone());
        self.fq.attach(pipe);
        true
    }
    fn detach(&mut self, id: PipeId, _: &Options) {
        self.lb.detach(id);
        self.fq.detach(id);
    }
    fn send(&mut self, msg: Msg, _: &Options) -> Result<(), SendError> {
        self.lb.send(msg).map(drop)
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
        self.lb.has_out()
    }
}
