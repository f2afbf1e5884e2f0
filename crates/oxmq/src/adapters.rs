//! The futures ecosystem's [`Stream`] and [`Sink`] over a socket's whole messages.
//!
//! [`RecvStream`] yields each received multipart message; [`SendSink`] sends each message fed
//! to it. Both wrap a reference or smart pointer to a socket (`&Sub`, `Arc<Push>`,
//! `Box<Socket>`...), so a stream can borrow its socket or share ownership of it with a spawned
//! task. Both wait on the socket's wake-up signal like the other async calls: any executor,
//! no thread per socket, and a dropped stream or sink leaves no waker behind.
//!
//! ```no_run
//! # async fn demo() -> oxmq::Result<()> {
//! use futures_util::{SinkExt, StreamExt};
//! let ctx = oxmq::Context::new();
//! let pull = oxmq::Pull::new(&ctx)?;
//! pull.bind("tcp://127.0.0.1:5557")?;
//! let push = oxmq::Push::new(&ctx)?;
//! push.connect("tcp://127.0.0.1:5557")?;
//! let mut sink = oxmq::SendSink::new(&push);
//! sink.send(vec!["job", "42"]).await?;
//! let mut messages = oxmq::RecvStream::new(&pull);
//! let msg = messages.next().await.expect("the stream ends only after an error")?;
//! assert_eq!(msg, ["job", "42"]);
//! # Ok(())
//! # }
//! ```

use std::ops::Deref;
use std::pin::Pin;
use std::task::{Context, Poll};

use bytes::Bytes;
use futures_core::Stream;
use futures_sink::Sink;

use crate::error::{Error, Result};
use crate::frame::IntoFrame;
use crate::pipe::Msg;
use crate::signal::WakerKey;
use crate::socket::{SocketBase, frames, message};

/// The messages a socket receives, as a [`Stream`] of multipart messages.
///
/// An error (for example [`Error::ContextTerminated`], or receiving on a type that cannot)
/// is yielded once, and then the stream ends. Dropping the stream between messages loses
/// nothing: a message is taken from the socket only when it is yielded.
pub struct RecvStream<S: Deref<Target: AsRef<SocketBase>>> {
    socket: S,
    key: Option<WakerKey>,
    done: bool,
}

impl<S: Deref<Target: AsRef<SocketBase>>> RecvStream<S> {
    /// A stream of the messages `socket` receives.
    pub fn new(socket: S) -> RecvStream<S> {
        RecvStream { socket, key: None, done: false }
    }
}

impl<S: Deref<Target: AsRef<SocketBase>> + Unpin> Stream for RecvStream<S> {
    type Item = Result<Vec<Bytes>>;

    fn poll_next(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Self::Item>> {
        let this = self.get_mut();
        if this.done {
            return Poll::Ready(None);
        }
        let socket: &SocketBase = (*this.socket).as_ref();
        loop {
            let seen = socket.signal().seq();
            let mut rest = Vec::new();
            let item = match socket.try_recv_parts(Some(&mut rest)) {
                Ok(Some(first)) => Ok(frames(first, rest)),
                Ok(None) => {
                    if socket.signal().register(cx.waker(), seen, &mut this.key) {
                        return Poll::Pending;
                    }
                    continue;
                }
                Err(e) => {
                    this.done = true;
                    Err(e)
                }
            };
            socket.signal().unregister(&mut this.key);
            return Poll::Ready(Some(item));
        }
    }
}

impl<S: Deref<Target: AsRef<SocketBase>>> Drop for RecvStream<S> {
    fn drop(&mut self) {
        (*self.socket).as_ref().signal().unregister(&mut self.key);
    }
}

/// A [`Sink`] of whole messages into a socket: each item is a message's frames (anything
/// [`send_multipart`](crate::Push::send_multipart) takes).
///
/// As sinks do, it holds one message: `feed`/`start_send` takes it, and readiness or a flush
/// waits until the socket has queued it (the socket's HWM is the back-pressure). A message is
/// sent whole or not at all; dropping the sink with a message still held drops that message.
pub struct SendSink<S: Deref<Target: AsRef<SocketBase>>> {
    socket: S,
    pending: Option<(Msg, Vec<Msg>)>,
    key: Option<WakerKey>,
}

impl<S: Deref<Target: AsRef<SocketBase>>> SendSink<S> {
    /// A sink of messages for `socket` to send.
    pub fn new(socket: S) -> SendSink<S> {
        SendSink { socket, pending: None, key: None }
    }

    /// Hand the held message (if any) to the socket, waiting for room.
    fn poll_pending(&mut self, cx: &mut Context<'_>) -> Poll<Result<()>> {
        let socket: &SocketBase = (*self.socket).as_ref();
        while let Some((first, mut rest)) = self.pending.take() {
            let seen = socket.signal().seq();
            match socket.try_send_parts(first, &mut rest) {
                Ok(None) => {}
                Ok(Some(first)) => {
                    self.pending = Some((first, rest));
                    if socket.signal().register(cx.waker(), seen, &mut self.key) {
                        return Poll::Pending;
                    }
                }
                Err(e) => {
                    socket.signal().unregister(&mut self.key);
                    return Poll::Ready(Err(e));
                }
            }
        }
        socket.signal().unregister(&mut self.key);
        Poll::Ready(Ok(()))
    }
}

impl<S, I, T> Sink<I> for SendSink<S>
where
    S: Deref<Target: AsRef<SocketBase>> + Unpin,
    I: IntoIterator<Item = T>,
    T: IntoFrame,
{
    type Error = Error;

    fn poll_ready(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_pending(cx)
    }

    fn start_send(self: Pin<&mut Self>, item: I) -> Result<()> {
        let this = self.get_mut();
        debug_assert!(this.pending.is_none(), "start_send without poll_ready");
        this.pending = Some(message(item)?);
        Ok(())
    }

    fn poll_flush(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_pending(cx)
    }

    fn poll_close(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Result<()>> {
        self.get_mut().poll_pending(cx)
    }
}

impl<S: Deref<Target: AsRef<SocketBase>>> Drop for SendSink<S> {
    fn drop(&mut self) {
        (*self.socket).as_ref().signal().unregister(&mut self.key);
    }
}
