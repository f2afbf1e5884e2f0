//! monocoque (`monocoque-rs`) on its default runtime, compio (io_uring), one single-threaded
//! `LocalRuntime` per tool as its README shows. The PUSH runs with write coalescing, the
//! setting its README gives for small-message throughput (messages gather in a 64 KiB buffer,
//! written in one syscall; a `flush` at the end sends the rest); REQ/REP runs in the default
//! eager mode, one write per message, the mode it recommends for latency.
//!
//! monocoque's sockets are one connection each: the binding side accepts one peer (which
//! is all these tools need), and a connect fails at once when nothing listens yet, so the
//! connecters retry for a while.

use crate::{Args, Endpoint, check_size, fail, first_len, print_lat_header, print_lat_result};
use crate::{print_thr_header, print_thr_result};
use bytes::Bytes;
use monocoque::zmq::{PullSocket, PushSocket, RepSocket, ReqSocket, SocketOptions, ipc};
use std::time::Duration;

fn block_on<F: std::future::Future<Output = ()>>(f: F) {
    let rt = monocoque::rt::LocalRuntime::new().unwrap_or_else(|e| fail("runtime", e));
    rt.block_on(f);
}

fn sleep(d: Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    Box::pin(monocoque::rt::sleep(d))
}

/// Receives `count` messages of `size` bytes and prints local_thr's lines.
macro_rules! local_thr_body {
    ($s:expr, $a:expr, $count:expr) => {{
        let mut s = $s;
        let mut next = async || match s.recv().await {
            Ok(Some(m)) => first_len(&m),
            Ok(None) => fail("recv", "the peer closed the connection"),
            Err(e) => fail("recv", e),
        };
        check_size(next().await, $a.size);
        let start = std::time::Instant::now();
        for _ in 1..$count {
            check_size(next().await, $a.size);
        }
        let elapsed = start.elapsed();
        print_thr_header($a.size, $count);
        print_thr_result($a.size, $count, elapsed);
    }};
}

pub fn local_thr(a: Args) {
    let count = a.count.max(1);
    block_on(async {
        match Endpoint::parse(&a.endpoint) {
            Endpoint::Tcp(addr) => {
                let (_listener, s) = PullSocket::bind(addr).await.unwrap_or_else(|e| fail("bind", e));
                local_thr_body!(s, a, count);
            }
            Endpoint::Ipc(path) => {
                let listener = ipc::bind(path).await.unwrap_or_else(|e| fail("bind", e));
                let stream = ipc::accept(&listener).await.unwrap_or_else(|e| fail("accept", e));
                let s = PullSocket::from_unix_stream(stream).await.unwrap_or_else(|e| fail("handshake", e));
                local_thr_body!(s, a, count);
            }
        }
    });
}

macro_rules! remote_thr_body {
    ($s:expr, $a:expr) => {{
        let mut s = $s;
        for _ in 0..$a.count {
            s.send_one(Bytes::from(crate::zeroed_body($a.size))).await.unwrap_or_else(|e| fail("send", e));
        }
        s.flush().await.unwrap_or_else(|e| fail("flush", e));
    }};
}

pub fn remote_thr(a: Args) {
    let options = SocketOptions::default().with_write_coalescing(true);
    block_on(async {
        match Endpoint::parse(&a.endpoint) {
            Endpoint::Tcp(addr) => {
                let s =
                    crate::retry("connect", || PushSocket::connect_with_options(addr, options.clone()), sleep).await;
                remote_thr_body!(s, a);
            }
            Endpoint::Ipc(path) => {
                let stream = crate::retry("connect", || ipc::connect(path), sleep).await;
                let s = PushSocket::from_unix_stream_with_options(stream, options.clone())
                    .await
                    .unwrap_or_else(|e| fail("handshake", e));
                remote_thr_body!(s, a);
            }
        }
    });
}

macro_rules! local_lat_body {
    ($s:expr, $a:expr) => {{
        let mut s = $s;
        for _ in 0..$a.count {
            let m = match s.recv().await {
                Ok(Some(m)) => m,
                Ok(None) => fail("recv", "the peer closed the connection"),
                Err(e) => fail("recv", e),
            };
            check_size(first_len(&m), $a.size);
            s.send(m).await.unwrap_or_else(|e| fail("send", e));
        }
    }};
}

pub fn local_lat(a: Args) {
    block_on(async {
        match Endpoint::parse(&a.endpoint) {
            Endpoint::Tcp(addr) => {
                let (_listener, s) = RepSocket::bind(addr).await.unwrap_or_else(|e| fail("bind", e));
                local_lat_body!(s, a);
            }
            Endpoint::Ipc(path) => {
                let listener = ipc::bind(path).await.unwrap_or_else(|e| fail("bind", e));
                let stream = ipc::accept(&listener).await.unwrap_or_else(|e| fail("accept", e));
                let s = RepSocket::from_unix_stream(stream).await.unwrap_or_else(|e| fail("handshake", e));
                local_lat_body!(s, a);
            }
        }
    });
}

macro_rules! remote_lat_body {
    ($s:expr, $a:expr) => {{
        let mut s = $s;
        let mut msg = vec![Bytes::from(vec![0u8; $a.size])];
        let start = std::time::Instant::now();
        for _ in 0..$a.count {
            s.send(msg).await.unwrap_or_else(|e| fail("send", e));
            msg = match s.recv().await {
                Ok(Some(m)) => m,
                Ok(None) => fail("recv", "the peer closed the connection"),
                Err(e) => fail("recv", e),
            };
            check_size(first_len(&msg), $a.size);
        }
        let elapsed = start.elapsed();
        print_lat_header($a.size, $a.count);
        print_lat_result($a.count, elapsed);
    }};
}

pub fn remote_lat(a: Args) {
    block_on(async {
        match Endpoint::parse(&a.endpoint) {
            Endpoint::Tcp(_) => {
                let s = crate::retry("connect", || ReqSocket::connect(&a.endpoint), sleep).await;
                remote_lat_body!(s, a);
            }
            Endpoint::Ipc(_) => {
                let s = crate::retry("connect", || ReqSocket::connect_ipc(&a.endpoint), sleep).await;
                remote_lat_body!(s, a);
            }
        }
    });
}
