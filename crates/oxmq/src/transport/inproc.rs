//! inproc: sockets of one context connected by pipes alone, no bytes serialised.
//!
//! Bind and connect may come in either order: a connect to a name nobody has bound yet
//! creates its pipe at once (so messages queue, as with any connect) and waits in the registry
//! until the bind arrives.

use std::collections::HashMap;
use std::sync::Arc;

use bytes::Bytes;
use oxmq_wire::SocketType;
use parking_lot::Mutex;

use crate::error::{Error, Result};
use crate::options::Options;
use crate::pattern::send_probe;
use crate::pipe::{PeerInfo, Pipe, PipeId, conflates, hwm};
use crate::socket::{Command, Core, SocketShared};

#[derive(Default)]
pub(crate) struct InprocRegistry {
    names: Mutex<HashMap<String, Entry>>,
}

enum Entry {
    Bound(Box<Peer>),
    /// Connects waiting for a bind.
    Pending(Vec<PendingConnect>),
}

/// What one side of an inproc connection tells the other.
#[derive(Clone)]
pub(crate) struct Peer {
    pub shared: Arc<SocketShared>,
    pub routing_id: Option<Bytes>,
    pub sndhwm: i32,
    pub rcvhwm: i32,
    pub options: Options,
}

impl Peer {
    /// Queue this side's PROBE_ROUTER message on its new pipe end, if it sends one.
    fn probe(&self, end: &Pipe) {
        send_probe(end, &self.options);
    }
}

struct PendingConnect {
    connector: Peer,
    binder_end: Pipe,
    /// The connector's end, when it could not be attached before the binder was known
    /// (a ROUTER must know its peer's routing id first).
    connector_end: Option<Pipe>,
    connect_routing_id: Option<Bytes>,
}

/// libzmq's inproc HWM: the sender's SNDHWM plus the receiver's RCVHWM (0 if either is 0).
fn combined_hwm(snd: i32, rcv: i32) -> usize {
    if snd == 0 || rcv == 0 { 0 } else { (snd.max(0) + rcv.max(0)) as usize }
}

fn check_compatible(a: SocketType, b: SocketType) -> Result<()> {
    if a.is_compatible(b) {
        Ok(())
    } else {
        Err(Error::IncompatibleProtocol(format!("{} cannot talk to {}", a.as_str(), b.as_str())))
    }
}

impl InprocRegistry {
    pub fn bind(&self, name: &str, binder: Peer, core: &mut Core) -> Result<()> {
        let mut names = self.names.lock();
        let pending = match names.remove(name) {
            Some(Entry::Bound(b)) => {
                names.insert(name.to_string(), Entry::Bound(b));
                return Err(Error::AddrInUse(format!("inproc://{name}")));
            }
            Some(Entry::Pending(p)) => p,
            None => Vec::new(),
        };
        names.insert(name.to_string(), Entry::Bound(Box::new(binder.clone())));
        drop(names);
        let binder_weak = Arc::downgrade(&binder.shared);
        for p in pending {
            let connector = &p.connector;
            let connector_weak = Arc::downgrade(&connector.shared);
            if let Err(e) = check_compatible(connector.shared.socket_type, binder.shared.socket_type) {
                tracing::warn!("inproc://{name}: {e}; dropping that connection");
                p.binder_end.close();
                match p.connector_end {
                    Some(end) => end.close(),
                    None => connector.shared.post(Command::Detach(p.binder_end.id)),
                }
                continue;
            }
            // Now both sides are known: each direction gets the sender's SNDHWM plus the
            // receiver's RCVHWM, and the binder's end wakes the binder.
            p.binder_end.inp.set_hwm(combined_hwm(connector.sndhwm, binder.rcvhwm));
            p.binder_end.out.set_hwm(combined_hwm(binder.sndhwm, connector.rcvhwm));
            p.binder_end.rebind_signal(binder.shared.signal.clone());
            binder.probe(&p.binder_end);
            let info = PeerInfo { routing_id: connector.routing_id.clone() };
            match p.connector_end {
                Some(end) => {
                    connector.probe(&end);
                    let routing_id = p.connect_routing_id.or(binder.routing_id.clone());
                    let info = PeerInfo { routing_id };
                    connector.shared.post(Command::Attach(end, info, Some(binder_weak.clone())));
                }
                None => connector.shared.post(Command::InprocPeer(p.binder_end.id, binder_weak.clone())),
            }
            core.attach(p.binder_end, info, Some(connector_weak));
        }
        Ok(())
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

    /// Connect; returns the id of the new pipe.
    pub fn connect(
        &self,
        name: &str,
        connector: Peer,
        connect_routing_id: Option<Bytes>,
        core: &mut Core,
    ) -> Result<PipeId> {
        let mut names = self.names.lock();
        let ct = connector.shared.socket_type;
        match names.get_mut(name) {
            Some(Entry::Bound(binder)) => {
                check_compatible(ct, binder.shared.socket_type)?;
                let (mine, theirs) = Pipe::pair(
                    connector.shared.signal.clone(),
                    binder.shared.signal.clone(),
                    combined_hwm(connector.sndhwm, binder.rcvhwm),
                    combined_hwm(binder.sndhwm, connector.rcvhwm),
                );
                // Either side's CONFLATE applies to the one pair of queues they share.
                if conflates(ct, &connector.options) || conflates(binder.shared.socket_type, &binder.options) {
                    mine.set_conflate();
                }
                let id = mine.id;
                binder.probe(&theirs);
                connector.probe(&mine);
                let info = PeerInfo { routing_id: connector.routing_id.clone() };
                binder.shared.post(Command::Attach(theirs, info, Some(Arc::downgrade(&connector.shared))));
                let binder_weak = Arc::downgrade(&binder.shared);
                let routing_id = connect_routing_id.or(binder.routing_id.clone());
                drop(names);
                core.attach(mine, PeerInfo { routing_id }, Some(binder_weak));
                Ok(id)
            }
            _ => {
                // Nobody bound yet: queue to a pipe bounded by our own HWMs until someone does.
                let (mine, theirs) = Pipe::pair(
                    connector.shared.signal.clone(),
                    connector.shared.signal.clone(),
                    hwm(connector.sndhwm),
                    hwm(connector.rcvhwm),
                );
                if conflates(ct, &connector.options) {
                    mine.set_conflate();
                }
                let id = mine.id;
                let defer = ct == SocketType::Router;
                if !defer {
                    connector.probe(&mine);
                }
                let pending = PendingConnect {
                    connector,
                    binder_end: theirs,
                    connector_end: defer.then(|| mine.clone()),
                    connect_routing_id,
                };
                match names.entry(name.to_string()).or_insert_with(|| Entry::Pending(Vec::new())) {
                    Entry::Pending(v) => v.push(pending),
                    Entry::Bound(_) => unreachable!("checked above under the same lock"),
                }
                drop(names);
                if !defer {
                    core.attach(mine, PeerInfo::default(), None);
                }
                Ok(id)
            }
        }
    }
}
