//! The raw engine of STREAM sockets: one connection to a peer that speaks no ZMTP (an HTTP
//! client, netcat), as libzmq's raw engine drives it.
//!
//! No handshake: the pipe is there from the start. Each read from the connection becomes one
//! single-frame message, handed to the pipe as it was read (at the pipe's RCVHWM the engine
//! stops reading, and TCP pushes back on the peer). The writer writes every message waiting in
//! the pipe as it is, with vectored writes straight from the messages' buffers.
//!
//! With STREAM_NOTIFY, an empty message goes to the socket when the connection is made and
//! again when it is lost (the peer closed it or it failed); none when the socket closed the
//! pipe itself. As in libzmq, the end of the peer's data (EOF) ends the connection: there is
//! no half-closed state.
//!
//! The socket closing its end of the pipe (a STREAM message with empty data, or the socket
//! closing) ends the connection once everything queued before has been written: the writer
//! flushes and shuts the connection down, and the engine returns [`End::Finished`] once the
//! peer closed its side too (or after [`CLOSE_DRAIN`]), so that our last bytes are not lost to
//! a reset (what the peer sends meanwhile is dropped).

use std::collections::VecDeque;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

use super::{End, EngineConfig, discard, write_chunks};
use crate::pipe::{Msg, Pipe, PushError, ReaderCache};
use crate::signal::Signal;
use crate::transport::{Reader, Writer};

/// Room the reader makes for one read.
const READ_CHUNK: usize = 64 * 1024;
/// Below this much room left in the read buffer, a fresh chunk is reserved.
const MIN_READ_ROOM: usize = 4 * 1024;
/// How much the writer takes from the pipe per write.
const WRITE_BATCH: usize = 512 * 1024;
/// After the socket closed a connection and everything was written, how long the peer may take
/// to close its side before the connection is closed all the same.
const CLOSE_DRAIN: Duration = Duration::from_secs(2);

/// Run the connection until it ends: what the peer sends into `pipe`, what the socket sends
/// out of it. `own_pipe`: the pipe was made for this connection (it ends with it), rather than
/// held by the socket across reconnections.
pub(crate) async fn run(
    rd: &mut Reader,
    wr: Writer,
    pipe: &Pipe,
    signal: &Signal,
    cfg: &EngineConfig,
    own_pipe: bool,
) -> End {
    let notify = cfg.options.stream_notify;
    let end = tokio::select! {
        end = read_loop(rd, pipe, signal, notify) => end,
        end = write_loop(wr, pipe, signal) => end,
    };
    tracing::debug!("{}: raw connection ended: {end:?}", cfg.endpoint);
    if matches!(end, End::Finished) {
        // Closing a socket with unread bytes in it makes the kernel reset the connection,
        // and the reset can destroy what the peer had not read yet of our last bytes. Our side
        // is shut down now, so a peer that sees the end closes too: wait for that, a while.
        let _ = tokio::time::timeout(CLOSE_DRAIN, discard(rd)).await;
    }
    if own_pipe {
        // The peer's id stops routing before the socket can see the disconnection.
        pipe.inp.close_reader();
    }
    if notify && matches!(end, End::Disconnected(_)) {
        push_waiting(pipe, signal, Msg::new(Bytes::new(), false)).await;
    }
    end
}

/// Push one message, waiting for room at the HWM. Returns false if the socket closed its end.
async fn push_waiting(pipe: &Pipe, signal: &Signal, mut msg: Msg) -> bool {
    loop {
        let seen = signal.seq();
        match pipe.out.push(msg) {
            Ok(()) => return true,
            Err(PushError::Closed(_)) => return false,
            Err(PushError::Full(m)) => {
                msg = m;
                signal.changed(seen).await;
            }
        }
    }
}

async fn read_loop(rd: &mut Reader, pipe: &Pipe, signal: &Signal, notify: bool) -> End {
    if notify && !push_waiting(pipe, signal, Msg::new(Bytes::new(), false)).await {
        return discard_while_flushing(rd).await;
    }
    let mut buf = BytesMut::new();
    loop {
        if buf.capacity() < MIN_READ_ROOM {
            buf.reserve(READ_CHUNK);
        }
        match rd.read_buf(&mut buf).await {
            Ok(0) => return End::Disconnected("peer closed the connection".into()),
            Ok(_) => {}
            Err(e) => return End::Disconnected(e.to_string()),
        }
        // What follows in the buffer is the next read's room; this read is one message.
        let msg = Msg::new(buf.split().freeze(), false);
        if !push_waiting(pipe, signal, msg).await {
            return discard_while_flushing(rd).await;
        }
    }
}

/// The socket closed its end: while the writer flushes what was queued and then ends the
/// connection, drop what the peer still sends (see [`discard`]).
async fn discard_while_flushing(rd: &mut Reader) -> End {
    match discard(rd).await {
        Ok(()) => std::future::pending().await,
        Err(e) => End::Disconnected(e.to_string()),
    }
}

async fn write_loop(mut wr: Writer, pipe: &Pipe, signal: &Signal) -> End {
    let mut batch: VecDeque<Msg> = VecDeque::new();
    let mut chunks: VecDeque<Bytes> = VecDeque::new();
    let mut cache = ReaderCache::default();
    loop {
        let seen = signal.seq();
        pipe.inp.pop_batch(&mut cache, &mut batch, WRITE_BATCH);
        if batch.is_empty() {
            if pipe.inp.is_finished() {
                let _ = wr.flush().await;
                let _ = wr.shutdown().await;
                return End::Finished;
            }
            signal.changed(seen).await;
            continue;
        }
        chunks.extend(batch.drain(..).map(|m| m.data).filter(|d| !d.is_empty()));
        if let Err(e) = write_chunks(&mut wr, &mut chunks).await {
            return End::Disconnected(e.to_string());
        }
    }
}
