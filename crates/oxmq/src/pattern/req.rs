//! REQ: send a request, then receive its reply, strictly in turn.
//!
//! Each request is prefixed with an empty delimiter frame (and, with REQ_CORRELATE, a request
//! id frame before it) and goes to one peer, load-balanced; only a reply from that same peer,
//! carrying the same envelope, is delivered. Everything else is dropped. REQ_RELAXED lets a new
//! request be sent while a reply is outstanding (the old reply will then be dropped).

use bytes::Bytes;

use super::{FairQueue, LoadBalancer, Pattern, SendError};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};

pub(crate) struct Req {
    lb: LoadBalancer,
    fq: FairQueue,
    /// A request was sent and its reply not yet received.
    receiving_reply: bool,
    /// The next frame sent starts a new request.
    request_begins: bool,
    /// The next frame received starts a reply (its envelope must be checked).
    reply_begins: bool,
    reply_pipe: Option<PipeId>,
    request_id: u32,
}

impl Default for Req {
    fn default() -> Self {
        Req {
            lb: LoadBalancer::default(),
            fq: FairQueue::default(),
            receiving_reply: false,
            request_begins: true,
            reply_begins: true,
            reply_pipe: None,
            request_id: random_u32(),
        }
    }
}

fn random_u32() -> u32 {
    use std::hash::{BuildHasher, RandomState};
    RandomState::new().hash_one(std::time::Instant::now()) as u32
}

impl Req {
    /// Send the envelope (request id if correlating, then the empty delimiter) to the next
    /// peer. Returns false when no peer can take a message now.
    fn send_envelope(&mut self, opts: &Options) -> bool {
        let first = if opts.req_correlate {
            Msg::new(Bytes::copy_from_slice(&self.request_id.wrapping_add(1).to_ne_bytes()), true)
        } else {
            Msg::new(Bytes::new(), true)
        };
        let Ok(pipe) = self.lb.send(first) else { return false };
        if opts.req_correlate {
            self.request_id = self.request_id.wrapping_add(1);
            let _ = self.lb.send(Msg::new(Bytes::new(), true));
        }
        self.reply_pipe = Some(pipe);
        true
    }

    /// Read a reply's envelope; false (and the message dropped) if it is not the reply to the
    /// outstanding request.
    fn accept_envelope(&mut self, first: Msg, from: PipeId, opts: &Options) -> bool {
        let mut frame = first;
        let ok = 'check: {
            if Some(from) != self.reply_pipe {
                break 'check false;
            }
            if opts.req_correlate {
                if !frame.more() || frame.data.as_ref() != self.request_id.to_ne_bytes() {
                    break 'check false;
                }
                frame = self.fq.recv().expect("rest of a complete message").0;
            }
            frame.more() && frame.data.is_empty()
        };
        if !ok && frame.more() {
            self.fq.discard_rest();
        }
        ok
    }

    /// Drop queued messages that are not the reply to the outstanding request until one is;
    /// true once that reply's envelope has been read (its body is then queued behind it).
    fn find_reply(&mut self, opts: &Options) -> bool {
        while self.reply_begins {
            let Some((first, from)) = self.fq.recv() else { return false };
            if self.accept_envelope(first, from, opts) {
                self.reply_begins = false;
            }
        }
        true
    }
}

impl Pattern for Req {
    fn attach(&mut self, pipe: Pipe, _: PeerInfo, _: &Options) -> bool {
        self.lb.attach(pipe.clone());
        self.fq.attach(pipe);
        true
    }

    fn detach(&mut self, id: PipeId, _: &Options) {
        // `reply_pipe` keeps the id: a reply already queued on the pipe is still read (the fair
        // queue drains a detached pipe), and ids are never reused.
        self.lb.detach(id);
        self.fq.detach(id);
    }

    fn send(&mut self, msg: Msg, opts: &Options) -> Result<(), SendError> {
        if self.request_begins {
            if self.receiving_reply {
                if !opts.req_relaxed {
                    return Err(SendError::Fatal(
                        Error::State("REQ: a request is outstanding; receive its reply first (or set REQ_RELAXED)"),
                        msg,
                    ));
                }
                self.receiving_reply = false;
                self.reply_begins = true;
            }
            if !self.send_envelope(opts) {
                return Err(SendError::Again(msg));
            }
            self.request_begins = false;
        }
        let more = msg.more();
        self.lb.send(msg)?;
        if !more {
            self.request_begins = true;
            self.receiving_reply = true;
            self.reply_begins = true;
        }
        Ok(())
    }

    fn recv(&mut self, opts: &Options) -> Result<Msg, Error> {
        if !self.receiving_reply {
            return Err(Error::State("REQ: no request outstanding; send a request before receiving"));
        }
        if !self.find_reply(opts) {
            return Err(Error::Again);
        }
        let (msg, _) = self.fq.recv_or_again()?;
        if !msg.more() {
            self.receiving_reply = false;
            self.reply_begins = true;
        }
        Ok(msg)
    }

    fn last_peer(&self) -> Option<&Pipe> {
        self.fq.last_peer()
    }

    fn last_peer_id(&self) -> Option<PipeId> {
        self.fq.last_peer_id()
    }

    fn has_in(&mut self, opts: &Options) -> bool {
        // Stale or foreign replies, which a recv would drop, are dropped here so that "readable"
        // means a reply is there.
        self.receiving_reply && self.find_reply(opts)
    }

    fn has_out(&mut self, opts: &Options) -> bool {
        if !self.request_begins {
            return true; // the rest of a request under way is always taken
        }
        if self.receiving_reply && !opts.req_relaxed {
            return false; // a send now is a state error, not something to wait for
        }
        self.lb.has_out()
    }
}
