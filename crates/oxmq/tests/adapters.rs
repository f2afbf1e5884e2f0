//! The futures `Stream`/`Sink` adapters, and async use at scale: many sockets in one tokio
//! runtime need no thread each.

mod common;

use std::sync::Arc;
use std::time::Duration;

use futures_util::{SinkExt, StreamExt};
use oxmq::{Context, Error, Pair, Pull, Push, RecvStream, SendSink};

const LONG: Duration = Duration::from_secs(20);

fn pipeline(ctx: &Context, endpoint: &str) -> (Push, Pull) {
    let pull = Pull::new(ctx).unwrap();
    pull.bind(endpoint).unwrap();
    let push = Push::new(ctx).unwrap();
    push.set_linger(0).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    (push, pull)
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread().worker_threads(2).enable_all().build().unwrap()
}

#[test]
fn a_sink_feeds_a_stream_in_order_with_back_pressure() {
    let ctx = Context::new();
    let (push, pull) = pipeline(&ctx, "tcp://127.0.0.1:*");
    // Small HWMs, so the sink must wait for the stream to make room many times.
    push.set_sndhwm(10).unwrap();
    pull.set_rcvhwm(10).unwrap();
    const N: u32 = 5000;
    runtime().block_on(async {
        let push = Arc::new(push);
        let sender = tokio::spawn(async move {
            let mut sink = SendSink::new(push.clone());
            let mut messages =
                futures_util::stream::iter((0..N).map(|i| Ok(vec![i.to_be_bytes().to_vec(), b"x".to_vec()])));
            sink.send_all(&mut messages).await.unwrap();
            SinkExt::<Vec<Vec<u8>>>::close(&mut sink).await.unwrap();
        });
        let mut stream = RecvStream::new(&pull);
        for i in 0..N {
            let m = tokio::time::timeout(LONG, stream.next()).await.expect("message in time").unwrap().unwrap();
            assert_eq!(m.len(), 2, "whole messages");
            assert_eq!(m[0].as_ref(), i.to_be_bytes(), "in order");
        }
        sender.await.unwrap();
    });
}

#[test]
fn a_stream_ends_after_yielding_the_error_that_stopped_it() {
    let ctx = Context::new();
    let pull = Pull::new(&ctx).unwrap();
    pull.bind("inproc://stream-end").unwrap();
    let ctx2 = ctx.clone();
    runtime().block_on(async {
        let mut stream = RecvStream::new(&pull);
        let term = std::thread::spawn(move || {
            std::thread::sleep(Duration::from_millis(50));
            ctx2.term();
        });
        let first = tokio::time::timeout(LONG, stream.next()).await.unwrap();
        assert!(matches!(first, Some(Err(Error::ContextTerminated))), "{first:?}");
        assert!(stream.next().await.is_none(), "then the stream ends");
        drop(stream);
        drop(pull);
        term.join().unwrap();
    });
    // A stream over a socket that cannot receive says so.
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    let first = runtime().block_on(RecvStream::new(&push).next());
    assert!(matches!(first, Some(Err(Error::NotSupported(_)))), "{first:?}");
}

#[test]
fn a_stream_dropped_while_waiting_takes_nothing() {
    let ctx = Context::new();
    let (push, pull) = pipeline(&ctx, "inproc://stream-drop");
    pull.set_rcvtimeo(10_000).unwrap();
    runtime().block_on(async {
        let mut stream = RecvStream::new(&pull);
        // Waits (nothing was sent), then is dropped by the timeout.
        assert!(tokio::time::timeout(Duration::from_millis(20), stream.next()).await.is_err());
    });
    push.send("after").unwrap();
    assert_eq!(pull.recv().unwrap(), "after");
}

/// Threads of this process, from /proc.
fn threads() -> u64 {
    common::proc_self("status", "Threads")
}

#[test]
fn thousands_of_sockets_in_one_runtime_need_no_thread_each() {
    // The other tests here start threads of their own: count in a process of its own.
    if !common::in_a_process_of_its_own("thousands_of_sockets_in_one_runtime_need_no_thread_each") {
        return;
    }
    const PAIRS: usize = 2000;
    let ctx = Context::new();
    let pairs: Vec<(Arc<Pair>, Arc<Pair>)> = (0..PAIRS)
        .map(|i| {
            let a = Pair::new(&ctx).unwrap();
            let b = Pair::new(&ctx).unwrap();
            a.bind(&format!("inproc://many-{i}")).unwrap();
            b.connect(&format!("inproc://many-{i}")).unwrap();
            (Arc::new(a), Arc::new(b))
        })
        .collect();
    let before = threads();
    // One thread runs every task: 2000 sockets waiting at once, then answered one by one.
    let rt = tokio::runtime::Builder::new_current_thread().enable_all().build().unwrap();
    rt.block_on(async {
        let waiting: Vec<_> = pairs
            .iter()
            .map(|(a, _)| {
                let a = a.clone();
                tokio::spawn(async move { a.recv_async().await.unwrap() })
            })
            .collect();
        // Every task is parked on its socket now.
        tokio::task::yield_now().await;
        assert!(threads() <= before + 2, "waiting added threads: {} -> {}", before, threads());
        for (i, (_, b)) in pairs.iter().enumerate() {
            b.send_async(format!("{i}")).await.unwrap();
        }
        for (i, t) in waiting.into_iter().enumerate() {
            let got = tokio::time::timeout(LONG, t).await.unwrap().unwrap();
            assert_eq!(got, format!("{i}").as_str());
        }
    });
}
