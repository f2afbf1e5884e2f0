//! zmq.rs (the `zeromq` crate) on tokio, its default runtime. zmq.rs documents no tuning
//! knobs for throughput; each tool runs one current-thread tokio runtime, as the process
//! is pinned to one core by `oxmq bench` anyway.
//!
//! zmq.rs has no LINGER: the runtime's end cancels the task that writes a connection's queue,
//! and what it still holds is lost. So the side that sends last (the PUSH of the throughput
//! runs, the REP of the latency runs) drops its socket once it has sent everything, which ends
//! the queue, and keeps the runtime going until every task has ended (the writer ends once its
//! queue is written), for at most 60 s. The measurement is the receiving side's, unchanged.

use crate::{
    Args, check_size, fail, first_len, print_lat_header, print_lat_result, print_thr_header, print_thr_result,
};
use bytes::Bytes;
use std::time::Duration;
use zeromq::prelude::*;
use zeromq::{PullSocket, PushSocket, RepSocket, ReqSocket, ZmqMessage};

/// How long the last sender waits for its writers to finish.
const PEER_DONE: Duration = Duration::from_secs(60);

/// Drops `s` and waits until the runtime's tasks (the connection's writer) have ended: the
/// LINGER zmq.rs does not have (see the module's note).
async fn linger(s: impl Socket) {
    drop(s);
    let metrics = tokio::runtime::Handle::current().metrics();
    let deadline = std::time::Instant::now() + PEER_DONE;
    while metrics.num_alive_tasks() > 0 {
        if std::time::Instant::now() > deadline {
            fail(
                "close",
                format!("{} tasks still running 60 s after the socket was dropped", metrics.num_alive_tasks()),
            );
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap_or_else(|e| fail("tokio runtime", e))
}

/// Connects, retrying for a while: zmq.rs's connect fails when nothing listens yet.
async fn connect(s: &mut impl Socket, endpoint: &str) {
    let deadline = std::time::Instant::now() + crate::CONNECT_RETRY;
    loop {
        match s.connect(endpoint).await {
            Ok(()) => return,
            Err(e) if std::time::Instant::now() > deadline => fail("connect", e),
            Err(_) => tokio::time::sleep(Duration::from_millis(10)).await,
        }
    }
}

fn len(m: &ZmqMessage) -> usize {
    first_len(&m.iter().collect::<Vec<_>>())
}

pub fn local_thr(a: Args) {
    let count = a.count.max(1);
    runtime().block_on(async {
        let mut s = PullSocket::new();
        s.bind(&a.endpoint).await.unwrap_or_else(|e| fail("bind", e));
        let first = s.recv().await.unwrap_or_else(|e| fail("recv", e));
        check_size(len(&first), a.size);
        let start = std::time::Instant::now();
        for _ in 1..count {
            let m = s.recv().await.unwrap_or_else(|e| fail("recv", e));
            check_size(len(&m), a.size);
        }
        let elapsed = start.elapsed();
        print_thr_header(a.size, count);
        print_thr_result(a.size, count, elapsed);
        s.close().await;
    });
}

pub fn remote_thr(a: Args) {
    runtime().block_on(async {
        let mut s = PushSocket::new();
        connect(&mut s, &a.endpoint).await;
        for _ in 0..a.count {
            let m = ZmqMessage::from(Bytes::from(crate::zeroed_body(a.size)));
            s.send(m).await.unwrap_or_else(|e| fail("send", e));
        }
        linger(s).await;
    });
}

pub fn local_lat(a: Args) {
    runtime().block_on(async {
        let mut s = RepSocket::new();
        s.bind(&a.endpoint).await.unwrap_or_else(|e| fail("bind", e));
        for _ in 0..a.count {
            let m = s.recv().await.unwrap_or_else(|e| fail("recv", e));
            check_size(len(&m), a.size);
            s.send(m).await.unwrap_or_else(|e| fail("send", e));
        }
        linger(s).await;
    });
}

pub fn remote_lat(a: Args) {
    runtime().block_on(async {
        let mut s = ReqSocket::new();
        connect(&mut s, &a.endpoint).await;
        let mut msg = ZmqMessage::from(Bytes::from(vec![0u8; a.size]));
        let start = std::time::Instant::now();
        for _ in 0..a.count {
            s.send(msg).await.unwrap_or_else(|e| fail("send", e));
            msg = s.recv().await.unwrap_or_else(|e| fail("recv", e));
            check_size(len(&msg), a.size);
        }
        let elapsed = start.elapsed();
        print_lat_header(a.size, a.count);
        print_lat_result(a.count, elapsed);
    });
}
