//! SUB and XSUB: receive what publishers send, for the topics subscribed to.
//!
//! A subscription is a message upstream, `0x01` + topic (`0x00` + topic cancels), sent to
//! every publisher and, since the publisher filters, re-sent to each new publisher and after
//! each reconnect ([`Pattern::hiccup`]). The topics are counted in a [`Trie`]: a topic
//! subscribed twice is cancelled upstream only by its second unsubscribe.
//!
//! SUB subscribes with the SUBSCRIBE/UNSUBSCRIBE options, sends nothing else, and filters what
//! it receives too (a publisher may send before it has seen a cancel). XSUB subscribes by
//! sending the subscription messages itself, may send other messages upstream, and receives
//! unfiltered.

use bytes::{BufMut, BytesMut};

use super::trie::Trie;
use super::{Dist, FairQueue, Pattern, SendError, not_supported};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};
use oxmq_wire::SocketType;

pub(crate) struct XSub {
    /// SUB rather than XSUB.
    filter: bool,
    subs: Trie,
    fq: FairQueue,
    dist: Dist,
    /// The first frame of a matching message, taken by `has_in` for the next recv.
    prefetched: Option<Msg>,
    /// Inside a received message.
    more_in: bool,
    /// Dropping the rest of an outgoing message (a cancel of a topic still subscribed).
    dropping: bool,
}

impl XSub {
    pub fn new(filter: bool) -> XSub {
        XSub {
            filter,
            subs: Trie::default(),
            fq: FairQueue::default(),
            dist: Dist::default(),
            prefetched: None,
            more_in: false,
            dropping: false,
        }
    }

    fn socket_type(&self) -> SocketType {
        if self.filter { SocketType::Sub } else { SocketType::XSub }
    }

    /// Send every topic subscribed to one pipe (a new publisher, or one reconnected).
    fn send_all_topics(&self, pipe: &Pipe) {
        for topic in self.subs.topics() {
            let _ = pipe.out.push(subscription(true, &topic));
        }
    }

    /// The next whole message upstream, from the application (XSUB) or an option (SUB).
    fn send_upstream(&mut self, msg: Msg) {
        if self.dist.in_message() || self.dropping {
            self.dropping &= msg.more();
            if !self.dropping {
                self.dist.send(msg);
            }
            return;
        }
        let forward = match msg.data.first() {
            Some(1) => {
                self.subs.add(&msg.data[1..]);
                true
            }
            // Cancelled upstream only when no subscription to the topic is left.
            Some(0) => self.subs.rm(&msg.data[1..]),
            _ => true,
        };
        if forward {
            self.dist.select_all();
            self.dist.send(msg);
        } else {
            self.dropping = msg.more();
        }
    }

    fn wanted(&self, msg: &Msg, opts: &Options) -> bool {
        !self.filter || self.subs.check(&msg.data) != opts.invert_matching
    }
}

fn subscription(subscribe: bool, topic: &[u8]) -> Msg {
    let mut b = BytesMut::with_capacity(topic.len() + 1);
    b.put_u8(subscribe as u8);
    b.extend_from_slice(topic);
    Msg::new(b.freeze(), false)
}

impl Pattern for XSub {
    fn attach(&mut self, pipe: Pipe, _: PeerInfo, _: &Options) -> bool {
        self.send_all_topics(&pipe);
        self.fq.attach(pipe.clone());
        self.dist.attach(pipe);
        true
    }

    fn detach(&mut self, id: PipeId, _: &Options) {
        self.fq.detach(id);
        self.dist.detach(id);
    }

    fn hiccup(&mut self, id: PipeId) {
        if let Some(pipe) = self.dist.get(id) {
            self.send_all_topics(pipe);
        }
    }

    fn send(&mut self, msg: Msg, _: &Options) -> Result<(), SendError> {
        if self.filter {
            return Err(SendError::Fatal(
                not_supported(SocketType::Sub, "send (subscribe with SUBSCRIBE instead)"),
                msg,
            ));
        }
        self.send_upstream(msg);
        Ok(())
    }

    fn recv(&mut self, opts: &Options) -> Result<Msg, Error> {
        if let Some(m) = self.prefetched.take() {
            self.more_in = m.more();
            return Ok(m);
        }
        loop {
            let (msg, _) = self.fq.recv_or_again()?;
            if self.more_in || self.wanted(&msg, opts) {
                self.more_in = msg.more();
                return Ok(msg);
            }
            if msg.more() {
                self.fq.discard_rest();
            }
        }
    }

    /// Exact: a message that does not match is dropped here, and the first frame of one that
    /// does is kept for the next `recv`.
    fn last_peer(&self) -> Option<&Pipe> {
        self.fq.last_peer()
    }

    fn last_peer_id(&self) -> Option<PipeId> {
        self.fq.last_peer_id()
    }

    fn has_in(&mut self, opts: &Options) -> bool {
        if self.more_in || self.prefetched.is_some() {
            return true;
        }
        while let Some((msg, _)) = self.fq.recv() {
            if self.wanted(&msg, opts) {
                self.prefetched = Some(msg);
                return true;
            }
            if msg.more() {
                self.fq.discard_rest();
            }
        }
        false
    }

    /// XSUB always (subscriptions and messages upstream are never refused); SUB never sends.
    fn has_out(&mut self, _: &Options) -> bool {
        !self.filter
    }

    fn subscribe(&mut self, topic: &[u8], on: bool, _: &Options) -> Result<(), Error> {
        if !self.filter {
            return Err(Error::InvalidArgument(format!(
                "{} sockets subscribe by sending 0x01+topic messages, not with SUBSCRIBE",
                self.socket_type().as_str()
            )));
        }
        self.send_upstream(subscription(on, topic));
        Ok(())
    }
}
