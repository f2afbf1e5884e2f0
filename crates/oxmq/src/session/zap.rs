//! ZAP (RFC 27): asking the handler an application bound at `inproc://zeromq.zap.01` whether a
//! peer may in, for the handshakes of a PLAIN or CURVE server (or NULL with a ZAP_DOMAIN).
//!
//! Each question is one pipe to the handler's socket (REP or ROUTER, as with libzmq), made
//! and attached the one way every peer is ([`super::attach`]): the request goes out as a REQ
//! would send it (an empty delimiter, then the request's frames), the reply comes back on the
//! same pipe, and the pipe is closed. Which handshakes ask is decided here, as libzmq
//! decides it; the asking itself is the ZMTP engine's ([`crate::engine::ZapAsk`]).

use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Weak};

use bytes::Bytes;
use oxmq_wire::{Mechanism, ZapConfig, ZapRequest};

use super::attach::{attach, named};
use crate::context::ContextInner;
use crate::engine::ZapAsk;
use crate::options::Security;
use crate::pipe::{Msg, Pipe, ReaderCache};
use crate::signal::Signal;
use crate::socket::mailbox::Command;
use crate::transport::inproc::Side;

/// The inproc name of the ZAP handler.
pub(crate) const ZAP_ENDPOINT: &str = "zeromq.zap.01";

/// A context's ZAP handler, as the session reaches it.
pub(crate) struct ZapClient {
    /// Weak: a connection never keeps its context alive.
    ctx: Weak<ContextInner>,
}

impl ZapClient {
    pub fn new(ctx: &Arc<ContextInner>) -> ZapClient {
        ZapClient { ctx: Arc::downgrade(ctx) }
    }

    /// One that finds no handler (for connections driven outside a context, as the fuzz
    /// harness's).
    #[cfg_attr(not(feature = "fuzzing"), allow(dead_code))]
    pub fn none() -> ZapClient {
        ZapClient { ctx: Weak::new() }
    }

    fn handler(&self) -> Option<Side> {
        self.ctx.upgrade()?.inproc.bound(ZAP_ENDPOINT)
    }

    /// Whether the handshake of a socket with `security` asks a handler, and what it tells it:
    /// as libzmq 4.3.5, a PLAIN server always asks (and is refused with no handler bound), a
    /// CURVE server asks when a handler is bound (refused without one only with
    /// ZAP_ENFORCE_DOMAIN), NULL asks when a handler is bound and ZAP_DOMAIN is set.
    pub fn config(&self, security: &Security, peer_address: Option<&str>) -> Option<ZapConfig> {
        let bound = || self.handler().is_some();
        let asks = match security.mechanism {
            Mechanism::Plain => security.as_server,
            Mechanism::Curve => security.as_server && (security.zap_enforce_domain || bound()),
            Mechanism::Null => !security.zap_domain.is_empty() && bound(),
        };
        asks.then(|| ZapConfig {
            domain: Bytes::copy_from_slice(security.zap_domain.as_bytes()),
            address: Bytes::copy_from_slice(peer_address.unwrap_or_default().as_bytes()),
        })
    }

    async fn ask_handler(&self, request: ZapRequest) -> Option<Vec<Bytes>> {
        let handler = self.handler()?;
        let signal = Arc::new(Signal::new());
        let (mine, theirs) = Pipe::pair(signal.clone(), handler.shared.signal.clone(), 0, 0);
        let id = mine.id;
        attach(&handler.shared, &handler.options, theirs, named(None), None);
        let frames = std::iter::once(Bytes::new()).chain(request.frames());
        let mut frames = frames.peekable();
        while let Some(f) = frames.next() {
            if mine.out.push(Msg::new(f, frames.peek().is_some())).is_err() {
                break;
            }
        }
        let reply = read_reply(&mine, &signal).await;
        mine.close();
        handler.shared.post(Command::Detach(id));
        // Without the empty delimiter a REQ-style reply starts with.
        let mut reply = reply?;
        if reply.first().is_some_and(Bytes::is_empty) {
            reply.remove(0);
        }
        Some(reply)
    }
}

/// The handler's whole reply, or `None` if it closed the pipe first.
async fn read_reply(pipe: &Pipe, signal: &Signal) -> Option<Vec<Bytes>> {
    let mut frames = Vec::new();
    let mut cache = ReaderCache::default();
    loop {
        let seen = signal.seq();
        match pipe.inp.pop(&mut cache) {
            Some(m) => {
                let (data, more) = m.into_parts();
                frames.push(data);
                if !more {
                    return Some(frames);
                }
            }
            None if pipe.inp.is_finished() => return None,
            None => signal.changed(seen).await,
        }
    }
}

impl ZapAsk for ZapClient {
    fn ask(&self, request: ZapRequest) -> Pin<Box<dyn Future<Output = Option<Vec<Bytes>>> + Send + '_>> {
        Box::pin(self.ask_handler(request))
    }
}
