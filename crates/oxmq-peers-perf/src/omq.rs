//! omq.rs (`omq-tokio`): its blocking API, the one its own bench peer
//! (`omq_bench_peer_blocking`) measures with: a context that owns one tokio I/O thread
//! (`OMQ_IO_THREADS`, default 1, as there), default options (arena encoding of small
//! messages), `try_send` falling back to a blocking `send`, and receives that drain
//! what is queued with `try_recv` before blocking. LINGER is forever on the sending side
//! (omq's default is 0, libzmq's forever) so that closing delivers every message.

use crate::{Args, check_size, fail, print_lat_header, print_lat_result, print_thr_header, print_thr_result};
use bytes::Bytes;
use omq_tokio::{Context, ContextConfig, Message, Options, SocketType, TrySendError, blocking};

fn context() -> Context {
    Context::with_config(ContextConfig::from_env())
}

fn recv(s: &blocking::Socket) -> Message {
    match s.try_recv() {
        Ok(m) => m,
        Err(omq_tokio::Error::WouldBlock) => s.recv().unwrap_or_else(|e| fail("recv", e)),
        Err(e) => fail("try_recv", e),
    }
}

fn send(s: &blocking::Socket, msg: Message) {
    match s.try_send(msg) {
        Ok(()) => {}
        Err(TrySendError::Full(msg)) => s.send(msg).unwrap_or_else(|e| fail("send", e)),
        Err(e) => fail("try_send", e),
    }
}

pub fn local_thr(a: Args) {
    let count = a.count.max(1);
    let ctx = context();
    let s = ctx.blocking_socket(SocketType::Pull, Options::default());
    s.bind(a.endpoint.as_str()).unwrap_or_else(|e| fail("bind", e));
    let elapsed = crate::time_receives(a.size, count, || recv(&s).byte_len());
    print_thr_header(a.size, count);
    print_thr_result(a.size, count, elapsed);
}

pub fn remote_thr(a: Args) {
    let ctx = context();
    let s = ctx.blocking_socket(SocketType::Push, Options::default().linger_forever());
    s.connect(a.endpoint.as_str()).unwrap_or_else(|e| fail("connect", e));
    for _ in 0..a.count {
        send(&s, Message::single(Bytes::from(crate::zeroed_body(a.size))));
    }
    s.close().unwrap_or_else(|e| fail("close", e));
}

pub fn local_lat(a: Args) {
    let ctx = context();
    let s = ctx.blocking_socket(SocketType::Rep, Options::default().linger_forever());
    s.bind(a.endpoint.as_str()).unwrap_or_else(|e| fail("bind", e));
    for _ in 0..a.count {
        let msg = s.recv().unwrap_or_else(|e| fail("recv", e));
        check_size(msg.byte_len(), a.size);
        s.send(msg).unwrap_or_else(|e| fail("send", e));
    }
    s.close().unwrap_or_else(|e| fail("close", e));
}

pub fn remote_lat(a: Args) {
    let ctx = context();
    let s = ctx.blocking_socket(SocketType::Req, Options::default());
    s.connect(a.endpoint.as_str()).unwrap_or_else(|e| fail("connect", e));
    let mut msg = Message::single(Bytes::from(vec![0u8; a.size]));
    let elapsed = crate::time_roundtrips(a.size, a.count, || {
        s.send(std::mem::take(&mut msg)).unwrap_or_else(|e| fail("send", e));
        msg = s.recv().unwrap_or_else(|e| fail("recv", e));
        msg.byte_len()
    });
    print_lat_header(a.size, a.count);
    print_lat_result(a.count, elapsed);
}
