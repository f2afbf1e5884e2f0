//! ROUTER: addresses peers by routing id.
//!
//! Each received message is preceded by a frame holding the routing id of the peer it came
//! from; each sent message starts with the routing id of the peer it goes to. A peer's routing
//! id is the Identity it announced (or the CONNECT_ROUTING_ID given before connecting to it),
//! else a generated 5-byte id starting with a zero byte. Messages to an unknown or full peer
//! are dropped, or, with ROUTER_MANDATORY, refused with `HostUnreachable` / `Again`.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};

use super::{FairQueue, Pattern, SendError};
use crate::error::Error;
use crate::options::Options;
use crate::pipe::{Msg, PeerInfo, Pipe, PipeId};

pub(crate) struct Router {
    fq: FairQueue,
    by_id: HashMap<Bytes, Pipe>,
    ids: HashMap<PipeId, Bytes>,
    /// Detached pipes whose last messages are still being read (their ids still needed).
    draining: HashMap<PipeId, Pipe>,
    next_id: u32,
    /// The first frame of a received message (and its pipe), held back while its routing id
    /// is returned.
    pending: Option<(Msg, PipeId)>,
    /// Mid-way through receiving a message.
    more_in: bool,
    /// Mid-way through sending a message; `None` inside means it is being dropped.
    out: Option<Option<Pipe>>,
}

impl Default for Router {
    fn default() -> Self {
        Router {
            fq: FairQueue::default(),
            by_id: HashMap::new(),
            ids: HashMap::new(),
            draining: HashMap::new(),
            // libzmq starts generated ids at a random value.
            next_id: {
                use std::hash::{BuildHasher, RandomState};
                RandomState::new().hash_one(0u8) as u32
            },
            pending: None,
            more_in: false,
            out: None,
        }
    }
}

impl Router {
    fn generate_id(&mut self) -> Bytes {
        loop {
            self.next_id = self.next_id.wrapping_add(1);
            let mut id = BytesMut::with_capacity(5);
            id.put_u8(0);
            id.put_u32(self.next_id);
            let id = id.freeze();
            if !self.by_id.contains_key(&id) {
                return id;
            }
        }
    }

    /// Forget a detached pipe's routing id once its last message has been read.
    fn forget_if_drained(&mut self, id: PipeId) {
        if self.draining.get(&id).is_some_and(|p| !p.inp.has_msg()) {
            self.draining.remove(&id);
            self.ids.remove(&id);
        }
    }
}

impl Pattern for Router {
    fn attach(&mut self, pipe: Pipe, peer: PeerInfo, _: &Options) -> bool {
        let id = match peer.routing_id {
            Some(id) if !id.is_empty() => {
                if self.by_id.contains_key(&id) {
                    tracing::warn!("ROUTER: refusing a second peer with routing id {:?}", id);
                    return false;
                }
                id
            }
            _ => self.generate_id(),
        };
        self.ids.insert(pipe.id, id.clone());
        self.by_id.insert(id, pipe.clone());
        self.fq.attach(pipe);
        true
    }

    fn detach(&mut self, id: PipeId, _: &Options) {
        if let Some(pipe) = self.ids.get(&id).and_then(|rid| self.by_id.remove(rid)) {
            self.draining.insert(id, pipe);
        }
        if let Some(Some(p)) = &self.out {
            if p.id == id {
                self.out = Some(None);
            }
        }
        self.fq.detach(id);
        self.forget_if_drained(id);
    }

    fn send(&mut self, msg: Msg, opts: &Options) -> Result<(), SendError> {
        let Some(out) = &mut self.out else {
            // The first frame names the peer.
            if !msg.more {
                return Ok(()); // A lone routing id frame is not a message: ignored, as libzmq does.
            }
            let target = match self.by_id.get(&msg.data) {
                // The peer is gone (its detach is on the way): as if unknown.
                Some(p) if p.out.is_reader_closed() && opts.router_mandatory => {
                    return Err(Error::HostUnreachable.into());
                }
                Some(p) if p.out.can_push() => Some(p.clone()),
                Some(_) if opts.router_mandatory => return Err(SendError::Again(msg)),
                None if opts.router_mandatory => return Err(Error::HostUnreachable.into()),
                _ => None,
            };
            self.out = Some(target);
            return Ok(());
        };
        let more = msg.more;
        if let Some(p) = out {
            if p.out.push(msg).is_err() {
                *out = None;
            }
        }
        if !more {
            self.out = None;
        }
        Ok(())
    }

    fn recv(&mut self, _: &Options) -> Result<Msg, Error> {
        if let Some((m, from)) = self.pending.take() {
            self.more_in = m.more;
            if !m.more {
                self.forget_if_drained(from);
            }
            return Ok(m);
        }
        let (msg, from) = self.fq.recv().ok_or(Error::Again)?;
        if self.more_in {
            self.more_in = msg.more;
            if !msg.more {
                self.forget_if_drained(from);
            }
            return Ok(msg);
        }
        let rid = self.ids.get(&from).cloned().unwrap_or_default();
        self.pending = Some((msg, from));
        self.more_in = true;
        Ok(Msg::new(rid, true))
    }

    fn has_in(&mut self, _: &Options) -> bool {
        self.pending.is_some() || self.more_in || self.fq.has_in()
    }

    fn has_out(&mut self, opts: &Options) -> bool {
        // Messages to unknown or full peers are dropped, so a ROUTER is always writable; with
        // ROUTER_MANDATORY (as libzmq) when some peer has room, as the destination is not known
        // before the message is. Mid-message, the other frames are always taken.
        self.out.is_some() || !opts.router_mandatory || self.by_id.values().any(|p| p.out.can_push())
    }
}
