//! PUB and XPUB: publish to the subscribers whose topics match.
//!
//! Filtering happens here, on the publisher's side: each peer's subscriptions (`0x01` +
//! topic messages, or `0x00` + topic to cancel, whatever form they crossed the wire in; see
//! the engine) go into a [`MultiTrie`], and a message goes to the pipes with a topic that its
//! first frame starts with. A subscriber whose pipe is full misses the message ([`Dist`]);
//! with XPUB_NODROP the send waits instead.
//!
//! PUB keeps subscriptions to itself and cannot receive. XPUB also hands them to the
//! application as messages: new topics only, or every one with XPUB_VERBOSE, and cancels of
//! a topic's last subscriber (every cancel with XPUB_VERBOSER); with XPUB_MANUAL every one,
//! and the application decides what the last sender is subscribed to with SUBSCRIBE and
//! UNSUBSCRIBE. XPUB also passes up the other messages its peers (XSUB) send.

use std::collections::VecDeque;
use std::sync::Arc;

use bytes::{BufMut, BytesMut};

use super::trie::{MultiTrie, Removed};
use super::{Dist, Pattern, SendError};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId, ReaderCache};
use crate::signal::Signal;
use rustc_hash::FxHashMap;

pub(crate) struct XPub {
    /// PUB rather than XPUB.
    public: bool,
    dist: Dist,
    inbox: Inbox,
    /// The socket's signal: pipes wake it when a subscription arrives.
    signal: Arc<Signal>,
    /// The signal's value when every pipe was last read to its end; `None` after an attach.
    drained_at: Option<u64>,
    /// This reader's cache of each pipe's input (see `ReaderCache`).
    caches: FxHashMap<PipeId, ReaderCache>,
}

/// What the peers sent: the subscription tries and the messages for the application.
#[derive(Default)]
struct Inbox {
    subs: MultiTrie,
    /// XPUB_MANUAL: what each peer asked for, to cancel when it leaves.
    asked: MultiTrie,
    /// Messages for the application, with the pipe of each subscription.
    pending: VecDeque<(Msg, Option<PipeId>)>,
    /// XPUB_MANUAL: the pipe of the last subscription the application received.
    last_pipe: Option<PipeId>,
}

fn notification(subscribe: bool, topic: &[u8]) -> Msg {
    let mut b = BytesMut::with_capacity(topic.len() + 1);
    b.put_u8(subscribe as u8);
    b.extend_from_slice(topic);
    Msg::new(b.freeze(), false)
}

impl Inbox {
    /// One whole message from a peer.
    fn take(&mut self, public: bool, from: PipeId, mut frames: Vec<Msg>, opts: &Options) {
        let subscription = match frames.as_slice() {
            [only] => only.data.first().filter(|&&b| b <= 1).map(|&b| b == 1),
            _ => None,
        };
        let Some(subscribe) = subscription else {
            // A message sent upstream by an XSUB: for the application; PUB has none.
            if !public {
                self.pending.extend(frames.into_iter().map(|m| (m, None)));
            }
            return;
        };
        let msg = frames.pop().expect("one frame");
        let topic = &msg.data[1..];
        let notify = if opts.xpub_manual {
            if subscribe {
                self.asked.add(topic, from);
            } else {
                self.asked.rm(topic, from);
            }
            true
        } else if subscribe {
            self.subs.add(topic, from) || opts.xpub_verbose_subs
        } else {
            self.subs.rm(topic, from) != Removed::OthersRemain || opts.xpub_verbose_unsubs
        };
        if !public && notify {
            self.pending.push_back((msg, Some(from)));
        }
    }

    /// A peer left: its subscriptions go, and the application hears of the topics no one
    /// subscribes to any more (every one of the peer's, with XPUB_VERBOSER or XPUB_MANUAL).
    fn forget(&mut self, public: bool, pipe: PipeId, opts: &Options) {
        let mut cancelled = Vec::new();
        if opts.xpub_manual {
            self.asked.rm_pipe(pipe, |topic, _| cancelled.push(notification(false, topic)));
            self.subs.rm_pipe(pipe, |_, _| {});
        } else {
            self.subs.rm_pipe(pipe, |topic, last| {
                if last || opts.xpub_verbose_unsubs {
                    cancelled.push(notification(false, topic));
                }
            });
        }
        if !public {
            self.pending.extend(cancelled.into_iter().map(|m| (m, None)));
        }
        if self.last_pipe == Some(pipe) {
            self.last_pipe = None;
        }
    }
}

impl XPub {
    pub fn new(public: bool, signal: Arc<Signal>) -> XPub {
        XPub {
            public,
            dist: Dist::default(),
            inbox: Inbox::default(),
            signal,
            drained_at: None,
            caches: FxHashMap::default(),
        }
    }

    /// Read every pipe to its end, unless nothing arrived since the last time: a pipe wakes
    /// the socket's signal when it goes from empty to holding a message, so an unchanged
    /// signal means no pipe has anything new, and a send to many subscribers does not look
    /// at each of them for subscriptions.
    fn drain(&mut self, opts: &Options) {
        let seq = self.signal.seq();
        if self.drained_at == Some(seq) {
            return;
        }
        self.drained_at = Some(seq);
        for pipe in self.dist.pipes() {
            let cache = self.caches.entry(pipe.id).or_default();
            while let Some(first) = pipe.inp.pop(cache) {
                let mut frames = vec![first];
                while frames.last().is_some_and(|m| m.more()) {
                    // A reader sees only complete messages: the rest is there.
                    frames.push(pipe.inp.pop(cache).expect("rest of a complete message"));
                }
                self.inbox.take(self.public, pipe.id, frames, opts);
            }
        }
    }
}

impl Pattern for XPub {
    fn attach(&mut self, pipe: Pipe, _: PeerInfo, opts: &Options) -> bool {
        if let Some(welcome) = &opts.xpub_welcome_msg {
            let _ = pipe.out.push(Msg::new(welcome.clone(), false));
        }
        self.caches.insert(pipe.id, ReaderCache::default());
        self.dist.attach(pipe);
        // Its subscriptions may have arrived before it was attached.
        self.drained_at = None;
        true
    }

    fn detach(&mut self, id: PipeId, opts: &Options) {
        self.dist.detach(id);
        self.caches.remove(&id);
        self.inbox.forget(self.public, id, opts);
    }

    fn send(&mut self, msg: Msg, opts: &Options) -> Result<(), SendError> {
        self.drain(opts);
        if !self.dist.in_message() {
            let subs = &self.inbox.subs;
            let invert = opts.invert_matching;
            self.dist.select(|pipes, targets| {
                subs.matches(&msg.data, targets);
                if invert {
                    targets.sort_unstable();
                    let matched = std::mem::take(targets);
                    targets.extend(pipes.keys().filter(|id| matched.binary_search(id).is_err()));
                }
            });
            if opts.xpub_nodrop {
                return self.dist.send_first_to_all_or_none(msg).map_err(SendError::Again);
            }
        }
        self.dist.send(msg);
        Ok(())
    }

    fn recv(&mut self, opts: &Options) -> Result<Msg, Error> {
        if self.public {
            return Err(Error::NotSupported("PUB sockets cannot receive".into()));
        }
        self.drain(opts);
        let Some((msg, from)) = self.inbox.pending.pop_front() else { return Err(Error::Again) };
        if from.is_some() {
            self.inbox.last_pipe = from;
        }
        Ok(msg)
    }

    fn has_in(&mut self, opts: &Options) -> bool {
        if self.public {
            return false;
        }
        self.drain(opts);
        !self.inbox.pending.is_empty()
    }

    /// Always (a full subscriber misses the message), except with XPUB_NODROP: then only when
    /// every subscriber has room, as which ones a message goes to is not known before it is.
    ///
    /// Asking also takes in what the peers sent (as libzmq's EVENTS does): a PUB that is polled
    /// but has not sent yet must still read its subscribers, or more than RCVHWM messages from
    /// one of them stop its connection for good.
    fn has_out(&mut self, opts: &Options) -> bool {
        self.drain(opts);
        !opts.xpub_nodrop || self.dist.pipes().all(|p| p.out.can_push() || p.out.is_reader_closed())
    }

    fn subscribe(&mut self, topic: &[u8], on: bool, opts: &Options) -> Result<(), Error> {
        if self.public || !opts.xpub_manual {
            return Err(Error::InvalidArgument(
                "SUBSCRIBE/UNSUBSCRIBE apply to SUB sockets, and to XPUB sockets with XPUB_MANUAL".into(),
            ));
        }
        // The subscription is for the peer whose subscription was received last.
        let Some(pipe) = self.inbox.last_pipe else { return Ok(()) };
        if on {
            self.inbox.subs.add(topic, pipe);
        } else {
            self.inbox.subs.rm(topic, pipe);
        }
        Ok(())
    }
}
