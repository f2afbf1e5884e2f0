//! Engines: what runs over one tcp or ipc connection once it is made.
//!
//! - [`zmtp`]: the ZMTP engine (libzmq's "stream engine"): it drives an
//!   [`oxmq_wire::Connection`] (greeting, mechanism handshake, then messages, commands,
//!   heartbeats) over a byte stream;
//! - [`raw`]: the raw engine of STREAM sockets, whose peers speak no ZMTP;
//! - [`drive`]: who writes a ZMTP connection, its engine or the caller that sends (the rule,
//!   and the corking of streams);
//! - [`feed`]: who reads a ZMTP connection, its engine or the caller that receives (the rule,
//!   and the read steps both take).
//!
//! An engine moves bytes between a connection and one end of a pipe; it knows nothing of
//! sockets, sessions or monitors. The session ([`crate::session`]) picks the engine for the
//! socket type, attaches the peer and reports events. This file holds what both engines share.

pub(crate) mod drive;
pub(crate) mod feed;
pub(crate) mod raw;
pub(crate) mod zmtp;

use std::collections::VecDeque;
use std::future::Future;
use std::io::IoSlice;
use std::pin::Pin;
use std::sync::Arc;

use bytes::{Buf, Bytes};
use oxmq_wire::{SocketType, ZapRequest};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use crate::options::Options;
use crate::transport::{Reader, Writer};

/// What an engine needs to know about its socket, fixed when the bind/connect was made.
pub(crate) struct EngineConfig {
    pub socket_type: SocketType,
    pub options: Options,
    /// The endpoint, for the logs.
    pub endpoint: String,
    /// Set when the socket unbinds or disconnects the endpoint: its engines are being dropped,
    /// and from now on no receiving caller hands over what it reads from their connections
    /// (`feed`), as a dropped engine reads nothing more.
    pub stopped: Arc<std::sync::atomic::AtomicBool>,
}

/// Where a handshake that must ask a ZAP handler sends its request (the session's
/// `session::zap`; the engine knows no sockets).
pub(crate) trait ZapAsk: Send + Sync {
    /// The handler's reply frames (after its empty delimiter), or `None` when no handler is
    /// bound or it went away without answering.
    fn ask(&self, request: ZapRequest) -> Pin<Box<dyn Future<Output = Option<Vec<Bytes>>> + Send + '_>>;
}

/// Why an engine stopped.
#[derive(Debug)]
#[allow(dead_code)] // the reasons are read through Debug, in the logs
pub(crate) enum End {
    /// The peer broke the protocol (or is of an incompatible type): not worth reconnecting to.
    Protocol(String),
    /// The peer broke the protocol after the handshake in a way libzmq reports with a
    /// HANDSHAKE_FAILED_PROTOCOL event all the same (a CURVE MESSAGE refused): as
    /// [`End::Protocol`], and the session reports `event` with `value` before DISCONNECTED.
    Refused { why: String, event: crate::monitor::Event, value: u32 },
    /// The connection closed or failed: reconnect.
    Disconnected(String),
    /// The socket closed the pipe and everything queued was written.
    Finished,
}

/// Read and drop until the peer's end of the stream.
pub(crate) async fn discard(rd: &mut Reader) -> std::io::Result<()> {
    let mut scratch = vec![0u8; 8 * 1024];
    while rd.read(&mut scratch).await? > 0 {}
    Ok(())
}

/// Write every chunk, with as few calls as the kernel allows.
pub(crate) async fn write_chunks(wr: &mut Writer, chunks: &mut VecDeque<Bytes>) -> std::io::Result<()> {
    while !chunks.is_empty() {
        let slices: Vec<IoSlice<'_>> = chunks.iter().take(128).map(|c| IoSlice::new(c)).collect();
        let mut n = wr.write_vectored(&slices).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        while n > 0 {
            let front = chunks.front_mut().expect("written bytes come from queued chunks");
            if n >= front.len() {
                n -= front.len();
                chunks.pop_front();
            } else {
                front.advance(n);
                n = 0;
            }
        }
    }
    Ok(())
}
