//! The public socket types: the dynamic [`Socket`] (type chosen at run time) and one typed
//! socket per ZeroMQ type, which offers only the calls valid for that type (no `recv` on a
//! [`Push`], no `send` on a [`Pull`]). All of them dereference to [`SocketBase`] for bind,
//! connect and options.

use std::ops::Deref;

use bytes::Bytes;
use oxmq_wire::SocketType;

use super::SocketBase;
use crate::context::Context;
use crate::error::Result;
use crate::frame::IntoFrame;
use crate::options::opt;

macro_rules! sends {
    ($t:ty) => {
        impl $t {
            /// Send `data` as the last (or only) frame of a message.
            pub fn send(&self, data: impl IntoFrame) -> Result<()> {
                self.0.send(data)
            }
            /// Send `data` as a frame that more frames of the same message follow.
            pub fn send_more(&self, data: impl IntoFrame) -> Result<()> {
                self.0.send_more(data)
            }
            /// Send a frame without blocking: [`Error::Again`](crate::Error::Again) if it cannot be queued now.
            pub fn try_send(&self, data: impl IntoFrame, more: bool) -> Result<()> {
                self.0.try_send(data, more)
            }
            /// Send a whole multipart message; a peer receives all of it or none.
            pub fn send_multipart<I, T>(&self, parts: I) -> Result<()>
            where
                I: IntoIterator<Item = T>,
                T: IntoFrame,
            {
                self.0.send_multipart(parts)
            }
            /// Send `data` as a one-frame message, awaiting room (any executor; no SNDTIMEO:
            /// wrap it in your runtime's timeout). Dropping the future sends nothing.
            pub async fn send_async(&self, data: impl IntoFrame) -> Result<()> {
                self.0.send_async(data).await
            }
            /// Send a whole multipart message, awaiting room. Dropping the future before it
            /// completes sends none of the message.
            pub async fn send_multipart_async<I, T>(&self, parts: I) -> Result<()>
            where
                I: IntoIterator<Item = T>,
                T: IntoFrame,
            {
                self.0.send_multipart_async(parts).await
            }
        }
    };
}

macro_rules! receives {
    ($t:ty) => {
        impl $t {
            /// Receive one frame; [`rcvmore`](Self::rcvmore) then tells whether more follow.
            pub fn recv(&self) -> Result<Bytes> {
                self.0.recv()
            }
            /// Receive one frame without blocking: [`Error::Again`](crate::Error::Again) if none is ready.
            pub fn try_recv(&self) -> Result<Bytes> {
                self.0.try_recv()
            }
            /// Receive one frame as text (pyzmq's and rust-zmq's `recv_string`): `Ok(text)`
            /// if it is UTF-8, else `Err(bytes)`, so that a frame that is not text is not lost.
            pub fn recv_string(&self) -> Result<std::result::Result<String, Bytes>> {
                let frame = self.0.recv()?;
                Ok(match std::str::from_utf8(&frame) {
                    Ok(text) => Ok(text.to_string()),
                    Err(_) => Err(frame),
                })
            }
            /// Receive a whole multipart message.
            pub fn recv_multipart(&self) -> Result<Vec<Bytes>> {
                self.0.recv_multipart()
            }
            /// Receive one frame, awaiting it (any executor; no RCVTIMEO: wrap it in your
            /// runtime's timeout). Dropping the future takes nothing.
            pub async fn recv_async(&self) -> Result<Bytes> {
                self.0.recv_async().await
            }
            /// Receive a whole multipart message, awaiting it. Dropping the future before it
            /// completes takes nothing.
            pub async fn recv_multipart_async(&self) -> Result<Vec<Bytes>> {
                self.0.recv_multipart_async().await
            }
            /// Receive a whole message with the properties of the connection it came over
            /// (`Socket-Type`, `Identity`, `Peer-Address`, `User-Id`, the peer's `X-`
            /// properties; libzmq's `zmq_msg_gets`). Blocks, within RCVTIMEO.
            pub fn recv_message(&self) -> Result<crate::Message> {
                self.0.recv_message()
            }
            /// [`recv_message`](Self::recv_message) without blocking:
            /// [`Error::Again`](crate::Error::Again) if no message is ready.
            pub fn try_recv_message(&self) -> Result<crate::Message> {
                self.0.try_recv_message()
            }
            /// [`recv_message`](Self::recv_message), awaiting it. Dropping the future before
            /// it completes takes nothing.
            pub async fn recv_message_async(&self) -> Result<crate::Message> {
                self.0.recv_message_async().await
            }
            /// After a receive: do more frames of the same message follow? (RCVMORE)
            pub fn rcvmore(&self) -> bool {
                self.0.rcvmore()
            }
        }
    };
}

macro_rules! subscribes {
    ($t:ty) => {
        impl $t {
            /// Subscribe to messages whose first frame starts with `topic` (empty: every
            /// message). SUB only, or XPUB with XPUB_MANUAL (for the last subscriber heard).
            pub fn subscribe(&self, topic: impl AsRef<[u8]>) -> Result<()> {
                self.set_option_raw(opt::SUBSCRIBE, topic.as_ref())
            }
            /// Cancel one [`subscribe`](Self::subscribe) of `topic`.
            pub fn unsubscribe(&self, topic: impl AsRef<[u8]>) -> Result<()> {
                self.set_option_raw(opt::UNSUBSCRIBE, topic.as_ref())
            }
        }
    };
}

macro_rules! deref_base {
    ($t:ty) => {
        impl Deref for $t {
            type Target = SocketBase;
            fn deref(&self) -> &SocketBase {
                &self.0
            }
        }

        impl AsRef<SocketBase> for $t {
            fn as_ref(&self) -> &SocketBase {
                &self.0
            }
        }
    };
}

impl Context {
    /// Create a socket of type `t`.
    pub fn socket(&self, t: SocketType) -> Result<Socket> {
        Socket::new(self, t)
    }
}

/// A socket whose type is chosen at run time. Calls its type does not support return
/// [`Error::NotSupported`](crate::Error::NotSupported).
pub struct Socket(SocketBase);

impl Socket {
    /// A new socket of type `t` in `ctx`.
    pub fn new(ctx: &Context, t: SocketType) -> Result<Socket> {
        Ok(Socket(SocketBase::new(ctx, t)?))
    }
}
deref_base!(Socket);
sends!(Socket);
receives!(Socket);
subscribes!(Socket);

macro_rules! typed {
    ($(#[$doc:meta])* $name:ident, $kind:ident, [$($cap:ident),*]) => {
        $(#[$doc])*
        pub struct $name(SocketBase);

        impl $name {
            #[doc = concat!("A new ", stringify!($kind), " socket in `ctx`.")]
            pub fn new(ctx: &Context) -> Result<$name> {
                Ok($name(SocketBase::new(ctx, SocketType::$kind)?))
            }

            /// This socket as a dynamically typed [`Socket`].
            pub fn into_dynamic(self) -> Socket {
                Socket(self.0)
            }
        }
        deref_base!($name);
        $($cap!($name);)*
    };
}

typed!(
    /// PAIR: an exclusive connection to one other PAIR.
    Pair, Pair, [sends, receives]);
typed!(
    /// PUSH: sends messages round-robin to its PULL peers; blocks when all are full.
    Push, Push, [sends]);
typed!(
    /// PULL: receives messages fair-queued from its PUSH peers.
    Pull, Pull, [receives]);
typed!(
    /// REQ: sends a request, then receives its reply, in strict turn.
    Req, Req, [sends, receives]);
typed!(
    /// REP: receives a request, then sends its reply, in strict turn.
    Rep, Rep, [sends, receives]);
typed!(
    /// DEALER: round-robin out, fair-queue in, no envelopes; talks to REP and ROUTER.
    Dealer, Dealer, [sends, receives]);
typed!(
    /// ROUTER: each message carries its peer's routing id as the first frame.
    Router, Router, [sends, receives]);
typed!(
    /// PUB: sends each message to the subscribers whose topics match its first frame; drops
    /// it for a subscriber whose queue is full (never blocks, unless XPUB_NODROP).
    Pub, Pub, [sends]);
typed!(
    /// SUB: receives the messages of the topics it subscribed to.
    Sub, Sub, [receives, subscribes]);
typed!(
    /// XPUB: a PUB that also receives its subscribers' subscriptions as messages.
    XPub, XPub, [sends, receives, subscribes]);
typed!(
    /// XSUB: a SUB that subscribes by sending `0x01`+topic (and `0x00`+topic) messages.
    XSub, XSub, [sends, receives]);
typed!(
    /// STREAM: talks to peers that speak raw TCP or ipc, not ZMTP (an HTTP client, netcat).
    ///
    /// Every message is two frames, the peer's routing id and the data. Received data is what
    /// one read from the connection returned (a message boundary means nothing to the peer:
    /// concatenate); with STREAM_NOTIFY (on by default) an empty data frame also arrives when
    /// a peer connects and when it disconnects. Sent data is written to the peer as it is; an
    /// empty data frame closes that connection once what was queued before has been written.
    /// Sending to a routing id with no connection fails with
    /// [`Error::HostUnreachable`](crate::Error::HostUnreachable). After `connect`, the socket's
    /// [`routing_id`](SocketBase::routing_id) is the id of that connection's peer (or set
    /// [`set_connect_routing_id`](SocketBase::set_connect_routing_id) first); the connection
    /// is made again after it is lost, under the same id, until the socket closes it.
    ///
    /// ```no_run
    /// # fn main() -> oxmq::Result<()> {
    /// let ctx = oxmq::Context::new();
    /// let server = oxmq::Stream::new(&ctx)?;
    /// server.bind("tcp://127.0.0.1:8080")?;
    /// loop {
    ///     let msg = server.recv_multipart()?; // [id, bytes]
    ///     if msg[1].is_empty() {
    ///         continue; // a peer connected or disconnected
    ///     }
    ///     let reply = oxmq::Bytes::from_static(b"HTTP/1.0 200 OK\r\n\r\nHello");
    ///     server.send_multipart([msg[0].clone(), reply])?;
    ///     server.send_multipart([msg[0].clone(), oxmq::Bytes::new()])?; // close the connection
    /// }
    /// # }
    /// ```
    Stream, Stream, [sends, receives]);
