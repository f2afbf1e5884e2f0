//! Message properties (libzmq's `zmq_msg_gets`): what a received message can tell about the
//! connection it came over.
//!
//! One [`Properties`] is built per connection, once its handshake is done, and shared by
//! reference: a message costs nothing for it, and only [`recv_message`] looks it up (by the
//! pipe the message came from). inproc peers have none, as with libzmq.
//!
//! [`recv_message`]: crate::Socket::recv_message

use std::sync::Arc;

use bytes::Bytes;
use oxmq_wire::{Metadata, PeerInfo};

/// The properties of the connection a message came over: the peer's own (`Socket-Type`,
/// `Identity` when its type sends one, and any `X-` property it set), `Peer-Address` (a tcp
/// peer's IP address; for ipc, libzmq's `localhost:<uid>:<gid>:<pid>` of the peer process)
/// and, once a security mechanism authenticated the peer, `User-Id`. Names are compared
/// without regard to case.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Properties(Arc<Metadata>);

impl Properties {
    /// The very same properties (one connection's, not merely equal ones)?
    pub(crate) fn is_same(&self, other: &Properties) -> bool {
        Arc::ptr_eq(&self.0, &other.0)
    }

    /// Property names libzmq adds to what the peer announced.
    pub const PEER_ADDRESS: &'static str = "Peer-Address";
    /// The user id a ZAP handler gave the peer.
    pub const USER_ID: &'static str = "User-Id";

    /// The peer's announced properties, then what the ZAP handler said of it (its User-Id and
    /// metadata), then `Peer-Address` when known.
    pub(crate) fn new(peer: &PeerInfo, peer_address: Option<&str>) -> Properties {
        let mut all = peer.metadata.clone();
        // What the handler and this side say override what the peer claims.
        for (name, value) in peer.zap_metadata.iter() {
            all.insert(name, value.clone());
        }
        if let Some(user) = &peer.user_id {
            all.insert(Properties::USER_ID, user.clone());
        }
        if let Some(addr) = peer_address {
            all.insert(Properties::PEER_ADDRESS, Bytes::copy_from_slice(addr.as_bytes()));
        }
        Properties(Arc::new(all))
    }

    /// The value of the property `name`, if the connection has it.
    pub fn get(&self, name: &str) -> Option<&[u8]> {
        self.0.get(name).map(|v| &v[..])
    }

    /// Every property, in the order the peer announced them (ours after).
    pub fn iter(&self) -> impl Iterator<Item = (&str, &[u8])> {
        self.0.iter().map(|(n, v)| (n, &v[..]))
    }
}

/// A whole received message and the properties of the connection it came over
/// ([`Socket::recv_message`](crate::Socket::recv_message)).
#[derive(Clone, Debug)]
pub struct Message {
    frames: Vec<Bytes>,
    properties: Option<Properties>,
}

impl Message {
    pub(crate) fn new(frames: Vec<Bytes>, properties: Option<Properties>) -> Message {
        Message { frames, properties }
    }

    /// The message's frames.
    pub fn frames(&self) -> &[Bytes] {
        &self.frames
    }

    /// The frames, by value.
    pub fn into_frames(self) -> Vec<Bytes> {
        self.frames
    }

    /// The connection's properties; `None` for a message from an inproc peer (which has none,
    /// as with libzmq) or whose connection's pipe had already gone.
    pub fn properties(&self) -> Option<&Properties> {
        self.properties.as_ref()
    }

    /// One property of the connection (`"Socket-Type"`, `"Peer-Address"`, `"User-Id"`, an
    /// `X-` property...), as libzmq's `zmq_msg_gets`.
    pub fn property(&self, name: &str) -> Option<&[u8]> {
        self.properties.as_ref()?.get(name)
    }
}
