//! A routing table: a socket's peers by routing id, and fair-queued receiving that puts the
//! sending peer's routing id in front of each message.
//!
//! A peer's routing id is the one it comes with (CONNECT_ROUTING_ID, or the Identity it
//! announced) or else a generated one: 5 bytes, a zero byte then a 32-bit counter that starts
//! at a random value, as libzmq generates them. A detached peer's id stops routing at once but
//! is remembered until its last messages have been read, so they still arrive with it.

use std::collections::HashMap;

use bytes::{BufMut, Bytes, BytesMut};
use rustc_hash::FxHashMap;

use super::FairQueue;
use crate::error::Error;
use crate::pipe::{Msg, Pipe, PipeId};

pub(crate) struct RoutingTable {
    fq: FairQueue,
    /// Keyed by what peers announce, so std's keyed hash (an id chosen to collide costs the
    /// peer nothing else).
    by_id: HashMap<Bytes, Pipe>,
    /// Keyed by our own pipe ids, looked up for every message received: a cheap hash.
    ids: FxHashMap<PipeId, Bytes>,
    /// Detached pipes whose last messages are still to be read.
    draining: FxHashMap<PipeId, Pipe>,
    next_id: u32,
    /// The first frame of a received message (and its pipe), held back while the routing id
    /// is returned.
    pending: Option<(Msg, PipeId)>,
    /// Mid-way through receiving a message.
    more_in: bool,
}

impl Default for RoutingTable {
    fn default() -> Self {
        RoutingTable {
            fq: FairQueue::default(),
            by_id: HashMap::new(),
            ids: FxHashMap::default(),
            draining: FxHashMap::default(),
            next_id: {
                use std::hash::{BuildHasher, RandomState};
                RandomState::new().hash_one(0u8) as u32
            },
            pending: None,
            more_in: false,
        }
    }
}

impl RoutingTable {
    /// Add a peer under `given` (if non-empty) or a generated id. Returns its id, or `None`
    /// if another peer already has `given` (the caller then refuses the pipe).
    pub fn attach(&mut self, pipe: Pipe, given: Option<Bytes>) -> Option<Bytes> {
        let id = match given {
            Some(id) if !id.is_empty() => {
                if self.by_id.contains_key(&id) {
                    return None;
                }
                id
            }
            _ => self.generate_id(),
        };
        self.ids.insert(pipe.id, id.clone());
        self.by_id.insert(id.clone(), pipe.clone());
        self.fq.attach(pipe);
        Some(id)
    }

    /// ROUTER_HANDOVER's attach: as [`RoutingTable::attach`], but a peer already holding
    /// `given` hands it over: it is renamed to a generated id (so that a detach of it cannot
    /// touch the new peer's entry) and returned for the caller to close.
    pub fn attach_handover(&mut self, pipe: Pipe, given: Option<Bytes>) -> Option<PipeId> {
        let old = match &given {
            Some(id) if !id.is_empty() => self.by_id.remove(id),
            _ => None,
        };
        let old = old.map(|old| {
            let renamed = self.generate_id();
            self.ids.insert(old.id, renamed.clone());
            self.by_id.insert(renamed, old.clone());
            old.id
        });
        self.attach(pipe, given).expect("the id was made free");
        old
    }

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

    /// The peer behind `id`'s connection is gone: its id no longer routes; what it sent is
    /// still received.
    pub fn detach(&mut self, id: PipeId) {
        if let Some(pipe) = self.ids.get(&id).and_then(|rid| self.by_id.remove(rid)) {
            self.draining.insert(id, pipe);
        }
        self.fq.detach(id);
        self.forget_if_drained(id);
    }

    /// Forget a peer at once, along with what it sent and was not read yet (the socket closed
    /// its pipe itself).
    pub fn remove(&mut self, id: PipeId) {
        if let Some(rid) = self.ids.remove(&id) {
            self.by_id.remove(&rid);
        }
        self.draining.remove(&id);
        self.fq.detach(id);
    }

    /// Every peer's pipe.
    pub fn pipes(&self) -> impl Iterator<Item = &Pipe> {
        self.by_id.values()
    }

    /// The pipe of the peer with routing id `rid`.
    pub fn get(&self, rid: &[u8]) -> Option<&Pipe> {
        self.by_id.get(rid)
    }

    /// Forget a detached pipe's routing id once its last message has been read.
    fn forget_if_drained(&mut self, id: PipeId) {
        if self.draining.get(&id).is_some_and(|p| !p.inp.has_unread()) {
            self.draining.remove(&id);
            self.ids.remove(&id);
        }
    }

    /// The pipe the last frame received came from (a routing id frame's is its message's).
    pub fn last_peer(&self) -> Option<&Pipe> {
        match &self.pending {
            Some((_, from)) => self.fq.pipe(*from),
            None => self.fq.last_peer(),
        }
    }

    /// The id of [`last_peer`](Self::last_peer)'s pipe.
    pub fn last_peer_id(&self) -> Option<PipeId> {
        match &self.pending {
            Some((_, from)) => Some(*from),
            None => self.fq.last_peer_id(),
        }
    }

    /// Is a frame ready to be read?
    pub fn has_in(&self) -> bool {
        self.pending.is_some() || self.fq.has_in()
    }

    /// Receive one frame: first the routing id of the peer a message came from (with MORE),
    /// then the message's frames.
    pub fn recv(&mut self) -> Result<Msg, Error> {
        if let Some((m, from)) = self.pending.take() {
            self.more_in = m.more();
            if !m.more() {
                self.forget_if_drained(from);
            }
            return Ok(m);
        }
        let (msg, from) = self.fq.recv_or_again()?;
        if self.more_in {
            self.more_in = msg.more();
            if !msg.more() {
                self.forget_if_drained(from);
            }
            return Ok(msg);
        }
        let rid = self.ids.get(&from).cloned().unwrap_or_default();
        self.pending = Some((msg, from));
        self.more_in = true;
        Ok(Msg::new(rid, true))
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
    fn generated_ids_are_five_bytes_starting_with_zero_and_given_ids_are_unique() {
        let mut t = RoutingTable::default();
        let (a, _pa) = pipe();
        let (b, _pb) = pipe();
        let (c, _pc) = pipe();
        let ga = t.attach(a, None).unwrap();
        assert_eq!((ga.len(), ga[0]), (5, 0));
        assert_eq!(t.attach(b, Some(Bytes::from_static(b"x"))).unwrap(), "x");
        assert!(t.attach(c, Some(Bytes::from_static(b"x"))).is_none(), "a second peer named x");
        assert!(t.get(b"x").is_some());
        assert!(t.get(&ga).is_some());
    }

    #[test]
    fn a_detached_peer_stops_routing_but_its_last_message_keeps_its_id() {
        let mut t = RoutingTable::default();
        let (a, pa) = pipe();
        let id = a.id;
        t.attach(a, Some(Bytes::from_static(b"a")));
        pa.out.push(Msg::new("last", false)).unwrap();
        pa.close();
        t.detach(id);
        assert!(t.get(b"a").is_none());
        assert_eq!(t.recv().unwrap(), Msg::new("a", true));
        assert_eq!(t.recv().unwrap(), Msg::new("last", false));
        assert!(matches!(t.recv(), Err(Error::Again)));
        assert!(t.ids.is_empty() && t.draining.is_empty());
    }

    #[test]
    fn a_removed_peer_is_forgotten_with_its_unread_messages() {
        let mut t = RoutingTable::default();
        let (a, pa) = pipe();
        let id = a.id;
        t.attach(a.clone(), Some(Bytes::from_static(b"a")));
        pa.out.push(Msg::new("unread", false)).unwrap();
        a.close();
        t.remove(id);
        assert!(t.get(b"a").is_none());
        assert!(matches!(t.recv(), Err(Error::Again)));
    }
}
