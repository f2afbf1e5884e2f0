//! rzmq on its standard tokio backend (multi-thread runtime, as its benches), with the two
//! settings its README's throughput figures name: TCP_CORK on the sending socket of the
//! throughput runs and the adaptive I/O throttle off. Not its io_uring backend: that needs
//! the `io-uring` feature, a process-wide `initialize_uring_backend` and per-socket options,
//! and its README reports it ahead of the standard backend only with several senders.
//! LINGER is -1 on the sending sockets, so that closing delivers every message.

use crate::{Args, check_size, fail, print_lat_header, print_lat_result, print_thr_header, print_thr_result};
use rzmq::socket::options::{ADAPTIVE_THROTTLE, LINGER, TCP_CORK};
use rzmq::{Context, Msg, Socket, SocketType};
use std::time::Duration;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().enable_all().build().unwrap_or_else(|e| fail("tokio runtime", e))
}

fn sleep(d: Duration) -> std::pin::Pin<Box<dyn std::future::Future<Output = ()>>> {
    Box::pin(tokio::time::sleep(d))
}

async fn socket(ctx: &Context, ty: SocketType, cork: bool) -> Socket {
    let s = ctx.socket(ty).unwrap_or_else(|e| fail("socket", e));
    s.set_option(ADAPTIVE_THROTTLE, 0i32).await.unwrap_or_else(|e| fail("ADAPTIVE_THROTTLE", e));
    s.set_option(LINGER, -1i32).await.unwrap_or_else(|e| fail("LINGER", e));
    if cork {
        s.set_option(TCP_CORK, 1i32).await.unwrap_or_else(|e| fail("TCP_CORK", e));
    }
    s
}

async fn end(ctx: Context, s: Socket) {
    s.close().await.unwrap_or_else(|e| fail("close", e));
    ctx.term().await.unwrap_or_else(|e| fail("term", e));
}

pub fn local_thr(a: Args) {
    let count = a.count.max(1);
    runtime().block_on(async {
        let ctx = Context::new().unwrap_or_else(|e| fail("context", e));
        let s = socket(&ctx, SocketType::Pull, false).await;
        s.bind(&a.endpoint).await.unwrap_or_else(|e| fail("bind", e));
        let first = s.recv().await.unwrap_or_else(|e| fail("recv", e));
        check_size(first.size(), a.size);
        let start = std::time::Instant::now();
        for _ in 1..count {
            let m = s.recv().await.unwrap_or_else(|e| fail("recv", e));
            check_size(m.size(), a.size);
        }
        let elapsed = start.elapsed();
        print_thr_header(a.size, count);
        print_thr_result(a.size, count, elapsed);
        end(ctx, s).await;
    });
}

pub fn remote_thr(a: Args) {
    runtime().block_on(async {
        let ctx = Context::new().unwrap_or_else(|e| fail("context", e));
        let s = socket(&ctx, SocketType::Push, a.endpoint.starts_with("tcp://")).await;
        crate::retry("connect", || s.connect(&a.endpoint), sleep).await;
        for _ in 0..a.count {
            s.send(Msg::from_vec(crate::zeroed_body(a.size))).await.unwrap_or_else(|e| fail("send", e));
        }
        end(ctx, s).await;
    });
}

pub fn local_lat(a: Args) {
    runtime().block_on(async {
        let ctx = Context::new().unwrap_or_else(|e| fail("context", e));
        let s = socket(&ctx, SocketType::Rep, false).await;
        s.bind(&a.endpoint).await.unwrap_or_else(|e| fail("bind", e));
        for _ in 0..a.count {
            let m = s.recv().await.unwrap_or_else(|e| fail("recv", e));
            check_size(m.size(), a.size);
            s.send(m).await.unwrap_or_else(|e| fail("send", e));
        }
        end(ctx, s).await;
    });
}

pub fn remote_lat(a: Args) {
    runtime().block_on(async {
        let ctx = Context::new().unwrap_or_else(|e| fail("context", e));
        let s = socket(&ctx, SocketType::Req, false).await;
        crate::retry("connect", || s.connect(&a.endpoint), sleep).await;
        let mut msg = Msg::from_vec(vec![0u8; a.size]);
        let start = std::time::Instant::now();
        for _ in 0..a.count {
            s.send(msg).await.unwrap_or_else(|e| fail("send", e));
            msg = s.recv().await.unwrap_or_else(|e| fail("recv", e));
            check_size(msg.size(), a.size);
        }
        let elapsed = start.elapsed();
        print_lat_header(a.size, a.count);
        print_lat_result(a.count, elapsed);
        end(ctx, s).await;
    });
}
