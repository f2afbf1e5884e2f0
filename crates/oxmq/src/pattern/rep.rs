//! REP: receive a request, then send its reply, strictly in turn.
//!
//! The request's envelope (every frame up to and including the empty delimiter) is kept and
//! put in front of the reply, which goes back to the peer the request came from. Requests
//! without a delimiter are dropped. A reply whose peer is gone or full is dropped.

use rustc_hash::FxHashMap;

use super::{FairQueue, Outgoing, Pattern, SendError};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};

pub(crate) struct Rep {
    fq: FairQueue,
    pipes: FxHashMap<PipeId, Pipe>,
    sending_reply: bool,
    request_begins: bool,
    envelope: Vec<Msg>,
    reply_pipe: Option<PipeId>,
    /// Where the rest of the reply being sent goes, once its first frame is sent.
    reply_out: Outgoing,
}

impl Default for Rep {
    fn default() -> Self {
        Rep {
            fq: FairQueue::default(),
            pipes: FxHashMap::default(),
            sending_reply: false,
            request_begins: true,
            envelope: Vec::new(),
            reply_pipe: None,
            reply_out: Outgoing::Idle,
        }
    }
}

impl Rep {
    /// Read frames up to the delimiter; false if the message had none (it is then consumed).
    fn read_envelope(&mut self, first: Msg) -> bool {
        self.envelope.clear();
        let mut frame = first;
        loop {
            if !frame.more() {
                self.envelope.clear();
                return false;
            }
            let bottom = frame.data.is_empty();
            self.envelope.push(frame);
            if bottom {
                return true;
            }
            frame = self.fq.recv().expect("rest of a complete message").0;
        }
    }

    /// Drop queued requests without an envelope until one has one; true once a request's
    /// envelope has been read (its body is then queued behind it).
    fn find_request(&mut self) -> bool {
        while self.request_begins {
            let Some((first, from)) = self.fq.recv() else { return false };
            if self.read_envelope(first) {
                self.reply_pipe = Some(from);
                self.request_begins = false;
            }
        }
        true
    }
}

impl Pattern for Rep {
    fn attach(&mut self, pipe: Pipe, _: PeerInfo, _: &Options) -> bool {
        self.pipes.insert(pipe.id, pipe.clone());
        self.fq.attach(pipe);
        true
    }

    fn detach(&mut self, id: PipeId, _: &Options) {
        self.pipes.remove(&id);
        self.fq.detach(id);
    }

    fn send(&mut self, msg: Msg, _: &Options) -> Result<(), SendError> {
        if !self.sending_reply {
            return Err(SendError::Fatal(Error::State("REP: receive a request before sending a reply"), msg));
        }
        let more = msg.more();
        if !self.reply_out.in_progress() {
            let pipe = self.reply_pipe.and_then(|id| self.pipes.get(&id)).filter(|p| p.out.can_push());
            self.reply_out = match pipe {
                Some(p) => {
                    for frame in self.envelope.drain(..) {
                        let _ = p.out.push(frame);
                    }
                    Outgoing::To(p.clone())
                }
                None => Outgoing::Dropped,
            };
        }
        self.reply_out.push(msg);
        if !more {
            self.sending_reply = false;
            self.envelope.clear();
        }
        Ok(())
    }

    fn recv(&mut self, _: &Options) -> Result<Msg, Error> {
        if self.sending_reply {
            return Err(Error::State("REP: send the reply before receiving the next request"));
        }
        if !self.find_request() {
            return Err(Error::Again);
        }
        let (msg, _) = self.fq.recv().expect("a request's body follows its envelope");
        if !msg.more() {
            self.sending_reply = true;
            self.request_begins = true;
        }
        Ok(msg)
    }

    fn last_peer(&self) -> Option<&Pipe> {
        self.fq.last_peer()
    }

    fn last_peer_id(&self) -> Option<PipeId> {
        self.fq.last_peer_id()
    }

    fn has_in(&mut self, _: &Options) -> bool {
        // Requests a recv would drop (no envelope) are dropped here first.
        !self.sending_reply && self.find_request()
    }

    fn has_out(&mut self, _: &Options) -> bool {
        // A reply never waits: one whose peer is gone or full is dropped.
        self.sending_reply
    }
}
