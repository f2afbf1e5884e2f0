//! inproc: the name table through which sockets of one context find each other.
//!
//! An inproc connection is a pipe between two sockets, no bytes serialised; the session layer
//! makes and attaches it ([`crate::session`]). This table only remembers who bound which
//! name, and the connects made to a name nobody has bound yet (bind and connect may come in
//! either order: such a connect has its pipe already, so messages queue, and waits here until
//! the bind arrives).

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::pipe::Pipe;
use crate::socket::mailbox::SocketShared;

/// One side of an inproc connection: its socket, and its options as of the bind or connect
/// (HWMs, CONFLATE, PROBE_ROUTER and ROUTING_ID matter to the other side).
#[derive(Clone)]
pub(crate) struct Side {
    pub shared: Arc<SocketShared>,
    pub options: Options,
}

/// A connect waiting for its bind.
pub(crate) struct PendingConnect {
    pub connector: Side,
    /// The end the binder will get.
    pub binder_end: Pipe,
    /// The connector's end, when it could not be attached before the binder was known
    /// (a ROUTER must know its peer's routing id first).
    pub connector_end: Option<Pipe>,
    /// The connector's CONNECT_ROUTING_ID for this peer.
    pub connect_routing_id: Option<Bytes>,
}

enum Entry {
    Bound(Box<Side>),
    Pending(Vec<PendingConnect>),
}

/// What a connect found under its name.
pub(crate) enum Lookup {
    /// Bound: connect to this side.
    Bound(Box<Side>),
    /// Nobody bound yet: the connect was queued for the bind.
    Queued,
}

#[derive(Default)]
pub(crate) struct InprocRegistry {
    names: Mutex<HashMap<String, Entry>>,
}

impl InprocRegistry {
    /// Register `binder` under `name`; returns the connects that were waiting for it.
    pub fn bind(&self, name: &str, binder: Side) -> Result<Vec<PendingConnect>> {
        let mut names = self.names.lock();
        let pending = match names.remove(name) {
            Some(Entry::Bound(b)) => {
                names.insert(name.to_string(), Entry::Bound(b));
                return Err(Error::AddrInUse(format!("inproc://{name}")));
            }
            Some(Entry::Pending(p)) => p,
            None => Vec::new(),
        };
        names.insert(name.to_string(), Entry::Bound(Box::new(binder)));
        Ok(pending)
    }

    /// Who bound `name`, if anyone.
    pub fn bound(&self, name: &str) -> Option<Side> {
        match self.names.lock().get(name) {
            Some(Entry::Bound(side)) => Some(Side::clone(side)),
            _ => None,
        }
    }

    /// Forget a bind (existing connections stay).
    pub fn unbind(&self, name: &str, shared: &Arc<SocketShared>) {
        let mut names = self.names.lock();
        if let Some(Entry::Bound(b)) = names.get(name) {
            if Arc::ptr_eq(&b.shared, shared) {
                names.remove(name);
            }
        }
    }

    /// Find who bound `name`; if nobody has, queue the connect `pending` makes (under the
    /// table's lock, so a bind cannot slip in between and miss it).
    pub fn connect(&self, name: &str, pending: impl FnOnce() -> PendingConnect) -> Lookup {
        let mut names = self.names.lock();
        match names.entry(name.to_string()).or_insert_with(|| Entry::Pending(Vec::new())) {
            Entry::Bound(binder) => Lookup::Bound(binder.clone()),
            Entry::Pending(v) => {
                v.push(pending());
                Lookup::Queued
            }
        }
    }
}
