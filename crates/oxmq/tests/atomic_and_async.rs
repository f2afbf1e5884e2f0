//! Whole messages, whatever the caller: threads sharing one socket never interleave two
//! messages' frames, and async calls (under tokio's runtimes) that are dropped mid-way have
//! moved a whole message or nothing.

use std::sync::Arc;
use std::time::Duration;

use oxmq::{Context, Pull, Push, Rep, Req};

fn pipeline(ctx: &Context, endpoint: &str) -> (Push, Pull) {
    let pull = Pull::new(ctx).unwrap();
    pull.set_rcvtimeo(10_000).unwrap();
    pull.bind(endpoint).unwrap();
    let push = Push::new(ctx).unwrap();
    push.set_linger(0).unwrap();
    push.connect(&pull.last_endpoint().unwrap()).unwrap();
    (push, pull)
}

#[test]
fn threads_sharing_a_socket_never_interleave_frames() {
    let ctx = Context::new();
    let (push, pull) = pipeline(&ctx, "inproc://no-interleave");
    let push = Arc::new(push);
    let senders: Vec<_> = (0..3u8)
        .map(|t| {
            let push = push.clone();
            std::thread::spawn(move || {
                for i in 0..2000u32 {
                    let tag = [t];
                    push.send_multipart([&tag[..], &i.to_be_bytes(), &tag[..]]).unwrap();
                }
            })
        })
        .collect();
    let mut next = [0u32; 3];
    for _ in 0..6000 {
        let m = pull.recv_multipart().unwrap();
        assert_eq!(m.len(), 3, "a whole message");
        let t = m[0][0] as usize;
        assert_eq!(m[2][0] as usize, t, "frames of one sender's message");
        assert_eq!(m[1].as_ref(), next[t].to_be_bytes(), "in order per sender");
        next[t] += 1;
    }
    for s in senders {
        s.join().unwrap();
    }
}

#[tokio::test(flavor = "current_thread")]
async fn async_req_rep_on_a_current_thread_runtime() {
    let ctx = Context::new();
    let rep = Rep::new(&ctx).unwrap();
    rep.bind("tcp://127.0.0.1:*").unwrap();
    let req = Req::new(&ctx).unwrap();
    req.connect(&rep.last_endpoint().unwrap()).unwrap();
    let server = async {
        for _ in 0..100 {
            let m = rep.recv_multipart_async().await.unwrap();
            rep.send_multipart_async(m).await.unwrap();
        }
    };
    let client = async {
        for i in 0..100u32 {
            req.send_multipart_async(["n", &i.to_string()]).await.unwrap();
            assert_eq!(req.recv_multipart_async().await.unwrap(), vec!["n".to_string(), i.to_string()]);
        }
    };
    tokio::time::timeout(Duration::from_secs(20), async { tokio::join!(server, client) }).await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn async_tasks_on_a_multi_thread_runtime() {
    let ctx = Context::new();
    let (push, pull) = pipeline(&ctx, "tcp://127.0.0.1:*");
    let receiver = tokio::spawn(async move {
        for i in 0..5000u32 {
            assert_eq!(pull.recv_async().await.unwrap(), i.to_be_bytes().to_vec());
        }
    });
    for i in 0..5000u32 {
        push.send_async(i.to_be_bytes().to_vec()).await.unwrap();
    }
    tokio::time::timeout(Duration::from_secs(20), receiver).await.unwrap().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_recv_futures_lose_and_duplicate_nothing() {
    let ctx = Context::new();
    let (push, pull) = pipeline(&ctx, "inproc://cancel-recv");
    let sender = std::thread::spawn(move || {
        for i in 0..3000u32 {
            push.send_multipart([&b"head"[..], &i.to_be_bytes()]).unwrap();
        }
        push
    });
    let mut next = 0u32;
    let mut cancelled = 0;
    while next < 3000 {
        // Race every receive against an immediate wake-up, so many are dropped mid-wait.
        tokio::select! {
            m = pull.recv_multipart_async() => {
                let m = m.unwrap();
                assert_eq!(m.len(), 2);
                assert_eq!(m[1].as_ref(), next.to_be_bytes(), "no loss, no duplicate");
                next += 1;
            }
            () = tokio::task::yield_now() => cancelled += 1,
        }
    }
    assert!(pull.try_recv().is_err(), "nothing extra");
    drop(sender.join().unwrap());
    eprintln!("{cancelled} receive futures dropped before completing");
}

#[tokio::test(flavor = "current_thread")]
async fn a_dropped_send_future_sends_none_of_its_message() {
    let ctx = Context::new();
    let push = Push::new(&ctx).unwrap();
    push.set_sndhwm(1).unwrap();
    push.set_linger(0).unwrap();
    let pull = Pull::new(&ctx).unwrap();
    pull.set_rcvhwm(1).unwrap();
    pull.set_rcvtimeo(5000).unwrap();
    pull.bind("inproc://cancel-send").unwrap();
    push.connect("inproc://cancel-send").unwrap();
    // Fill the pipe (inproc HWM = SNDHWM + RCVHWM = 2).
    push.send("1").unwrap();
    push.send("2").unwrap();
    let blocked = tokio::time::timeout(Duration::from_millis(50), push.send_multipart_async(["x", "y"])).await;
    assert!(blocked.is_err(), "the send waits for room");
    assert_eq!(pull.recv().unwrap(), "1");
    assert_eq!(pull.recv().unwrap(), "2");
    push.send("3").unwrap();
    assert_eq!(pull.recv_multipart().unwrap(), vec!["3"], "no part of the dropped message was sent");
}

/// A minimal executor (no tokio): poll on this thread, park until woken.
fn block_on<F: std::future::Future>(fut: F) -> F::Output {
    use std::task::{Context as TaskContext, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = TaskContext::from_waker(&waker);
    let mut fut = std::pin::pin!(fut);
    loop {
        if let Poll::Ready(v) = fut.as_mut().poll(&mut cx) {
            return v;
        }
        std::thread::park();
    }
}

#[test]
fn async_calls_run_under_another_executor_and_mix_with_blocking_ones() {
    let ctx = Context::new();
    let (push, pull) = pipeline(&ctx, "tcp://127.0.0.1:*");
    let sender = std::thread::spawn(move || {
        for i in 0..1000u32 {
            if i % 2 == 0 {
                push.send(i.to_be_bytes().to_vec()).unwrap();
            } else {
                block_on(push.send_async(i.to_be_bytes().to_vec())).unwrap();
            }
        }
        push
    });
    for i in 0..1000u32 {
        let m = if i % 3 == 0 { pull.recv().unwrap() } else { block_on(pull.recv_async()).unwrap() };
        assert_eq!(m.as_ref(), i.to_be_bytes());
    }
    drop(sender.join().unwrap());
}
