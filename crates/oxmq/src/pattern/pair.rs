//! PAIR: exactly one peer at a time; further peers are refused while it is there.

use super::{Pattern, SendError};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId, PushError, ReaderCache};

#[derive(Default)]
pub(crate) struct Pair {
    pipe: Option<Pipe>,
    /// This reader's cache of the pipe's input (a new one with each pipe).
    cache: ReaderCache,
    /// The peer went away; the pipe stays until its last messages are read.
    detached: bool,
    /// The peer went away mid-message: drop the rest of the message being sent.
    dropping: bool,
    /// Mid-message on the current pipe.
    more_out: bool,
}

impl Pattern for Pair {
    fn attach(&mut self, pipe: Pipe, _: PeerInfo, _: &Options) -> bool {
        if self.pipe.is_some() && !self.detached {
            return false;
        }
        self.pipe = Some(pipe);
        self.cache = ReaderCache::default();
        self.detached = false;
        true
    }
    fn detach(&mut self, id: PipeId, _: &Options) {
        let Some(p) = &self.pipe else { return };
        if p.id != id {
            return;
        }
        self.detached = true;
        self.dropping = self.more_out;
        self.more_out = false;
        if !p.inp.has_msg(&self.cache) {
            self.pipe = None;
        }
    }
    fn send(&mut self, msg: Msg, _: &Options) -> Result<(), SendError> {
        let more = msg.more();
        if self.dropping {
            self.dropping = more;
            return Ok(());
        }
        let pipe = match &self.pipe {
            Some(p) if !self.detached => p,
            _ => return Err(SendError::Again(msg)),
        };
        match pipe.out.push(msg) {
            Ok(()) => {
                self.more_out = more;
                Ok(())
            }
            // The peer went away mid-message (its detach is on the way): the rest of the
            // message goes with it, and the next one waits for a new peer.
            Err(PushError::Closed(_)) if self.more_out => {
                self.more_out = false;
                self.dropping = more;
                Ok(())
            }
            Err(PushError::Full(m) | PushError::Closed(m)) => Err(SendError::Again(m)),
        }
    }
    fn recv(&mut self, _: &Options) -> Result<Msg, Error> {
        let Some(pipe) = &self.pipe else { return Err(Error::Again) };
        match pipe.inp.pop(&mut self.cache) {
            Some(m) => Ok(m),
            None => {
                if self.detached {
                    self.pipe = None;
                }
                Err(Error::Again)
            }
        }
    }
    fn last_peer(&self) -> Option<&Pipe> {
        self.pipe.as_ref()
    }

    fn has_in(&mut self, _: &Options) -> bool {
        // A detached peer's last messages are still readable.
        self.pipe.as_ref().is_some_and(|p| p.inp.has_msg(&self.cache))
    }
    fn has_out(&mut self, _: &Options) -> bool {
        // Mid-message the other frames are always taken (or dropped with their gone peer).
        self.dropping || self.more_out || self.pipe.as_ref().is_some_and(|p| !self.detached && p.out.can_push())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::signal::Signal;
    use std::sync::Arc;

    fn pipe() -> (Pipe, Pipe) {
        Pipe::pair(Arc::new(Signal::new()), Arc::new(Signal::new()), 0, 0)
    }

    #[test]
    fn a_peer_gone_mid_message_takes_the_rest_of_it_and_not_the_next_message() {
        let opts = Options::default();
        let mut pair = Pair::default();
        let (a, peer_a) = pipe();
        let aid = a.id;
        assert!(pair.attach(a, PeerInfo::default(), &opts));
        pair.send(Msg::new("1a", true), &opts).unwrap();
        // The peer closes before its detach is processed.
        peer_a.close();
        assert!(pair.send(Msg::new("1b", true), &opts).is_ok(), "the rest of the message is dropped");
        assert!(pair.send(Msg::new("1c", false), &opts).is_ok());
        pair.detach(aid, &opts);
        let (b, peer_b) = pipe();
        assert!(pair.attach(b, PeerInfo::default(), &opts));
        pair.send(Msg::new("2", false), &opts).unwrap();
        assert_eq!(peer_b.inp.test_pop().map(|m| m.data), Some("2".into()), "the next message reaches the new peer");
        assert!(peer_b.inp.test_pop().is_none());
    }
}
