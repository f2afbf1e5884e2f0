//! REP: receive a request, then send its reply, strictly in turn.
//!
//! The request's envelope (every frame up to and including the empty delimiter) is kept and
//! put in front of the reply, which goes back to the peer the request came from. Requests
//! without a delimiter are dropped. A reply whose peer is gone or full is dropped.

use rustc_hash::FxHashMap;

use super::{FairQueue, Pattern, SendError};
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
    /// Mid-reply; `None` inside means the reply is being dropped.
    reply_out: Option<Option<Pipe>>,
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
            reply_out: None,
        }
    }
}

impl Rep {
    /// Read frames up to the delimiter; false if the message had none (it is then consumed).
    fn read_envelope(&mut self, first: Msg) -> bool {
        self.envelope.clear();
        let mut frame = first;
        loop {
            if !frame.more {
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
            return Err(Error::State("REP: receive a request before sending a reply").into());
        }
        let more = msg.more;
        let out = self.reply_out.get_or_insert_with(|| {
            let pipe = self.reply_pipe.and_then(|id| self.pipes.get(&id)).filter(|p| p.out.can_push());
            if let Some(p) = pipe {
                for frame in self.envelope.drain(..) {
                    let _ = p.out.push(frame);
                }
            }
            pipe.cloned()
        });
        if let Some(p) = out {
            if p.out.push(msg).is_err() {
                *out = None;
            }
        }
        if !more {
            self.reply_out = None;
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
        if !msg.more {
            self.sending_reply = true;
            self.request_begins = true;
        }
        Ok(msg)
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
