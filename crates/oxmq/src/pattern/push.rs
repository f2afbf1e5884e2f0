//! PUSH: load-balances messages over its PULL peers; blocks when all are at their HWM.

use oxmq_wire::SocketType;

use super::{LoadBalancer, Pattern, SendError, not_supported};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};

#[derive(Default)]
pub(crate) struct Push {
    lb: LoadBalancer,
}

impl Pattern for Push {
    fn attach(&mut self, pipe: Pipe, _: PeerInfo, _: &Options) -> bool {
        self.lb.attach(pipe);
        true
    }
    fn detach(&mut self, id: PipeId, _: &Options) {
        self.lb.detach(id);
    }
    fn send(&mut self, msg: Msg, _: &Options) -> Result<(), SendError> {
        self.lb.send(msg).map(drop)
    }
    fn recv(&mut self, _: &Options) -> Result<Msg, Error> {
        Err(not_supported(SocketType::Push, "receive"))
    }
    fn has_in(&mut self, _: &Options) -> bool {
        false
    }
    fn has_out(&mut self, _: &Options) -> bool {
        // No peer (no pipe) means not writable, as libzmq's lb.
        self.lb.has_out()
    }
}
