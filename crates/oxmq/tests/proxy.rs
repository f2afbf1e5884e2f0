//! `proxy` and `proxy_steerable` (zmq_proxy, zmq_proxy_steerable): a request-reply broker, a
//! streamer with a capture socket, back-pressure through a full backend, and the PAUSE,
//! RESUME, STATISTICS and TERMINATE commands on REP and PAIR control sockets.

mod common;

use std::sync::mpsc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use common::{
    QUIET_MS, SOON, TIMEO_MS, Transport, bind, expect_msg, expect_nothing_before, in_a_process_of_its_own, process_cpu,
    socket, unique_name,
};
use oxmq::{Context, Error, Result, Socket, SocketType};

use SocketType::{Dealer, Pair, Pull, Push, Rep, Req, Router};

const TRANSPORTS: [Transport; 2] = [Transport::Inproc, Transport::Tcp];

/// A proxy running on its own thread; its result arrives on the channel.
struct Running {
    result: mpsc::Receiver<Result<()>>,
    thread: JoinHandle<()>,
}

impl Running {
    fn start(f: impl FnOnce() -> Result<()> + Send + 'static) -> Running {
        let (tx, result) = mpsc::channel();
        let thread = std::thread::spawn(move || tx.send(f()).unwrap());
        Running { result, thread }
    }

    /// The proxy's result, which must come within [`SOON`].
    #[track_caller]
    fn finish(self) -> Result<()> {
        let r = self.result.recv_timeout(SOON).expect("the proxy did not return");
        self.thread.join().unwrap();
        r
    }

    /// Check that the proxy is still running.
    #[track_caller]
    fn assert_running(&self) {
        assert!(self.result.try_recv().is_err(), "the proxy returned early");
    }
}

/// Terminate `ctx` (every socket must be dropped or owned by a thread that will drop it).
fn term(ctx: Context) {
    let (tx, rx) = mpsc::channel();
    std::thread::spawn(move || {
        ctx.term();
        tx.send(()).unwrap();
    });
    rx.recv_timeout(SOON).expect("Context::term did not return");
}

#[test]
fn router_dealer_broker_returns_every_reply_to_its_own_client() {
    const CLIENTS: usize = 4;
    const WORKERS: usize = 3;
    const REQUESTS: usize = 50;
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let frontend = socket(&ctx, Router);
        let backend = socket(&ctx, Dealer);
        let (fe, be) = (bind(&frontend, tr), bind(&backend, tr));
        let proxy = Running::start(move || oxmq::proxy(&frontend, &backend, None));
        let workers: Vec<_> = (0..WORKERS)
            .map(|w| {
                let rep = socket(&ctx, Rep);
                rep.connect(&be).unwrap();
                std::thread::spawn(move || {
                    loop {
                        match rep.recv() {
                            Ok(req) => rep.send(format!("{} by w{w}", String::from_utf8_lossy(&req))).unwrap(),
                            Err(Error::Again) => continue,
                            Err(Error::ContextTerminated) => return,
                            Err(e) => panic!("worker {w}: {e}"),
                        }
                    }
                })
            })
            .collect();
        let clients: Vec<_> = (0..CLIENTS)
            .map(|c| {
                let req = socket(&ctx, Req);
                req.connect(&fe).unwrap();
                std::thread::spawn(move || {
                    for i in 0..REQUESTS {
                        let body = format!("c{c}-{i}");
                        req.send(&body).unwrap();
                        let reply = String::from_utf8(req.recv().unwrap().to_vec()).unwrap();
                        assert!(reply.starts_with(&format!("{body} by w")), "{tr:?}: {body} got {reply}");
                    }
                })
            })
            .collect();
        for c in clients {
            c.join().unwrap();
        }
        proxy.assert_running();
        term(ctx);
        for w in workers {
            w.join().unwrap();
        }
        assert!(matches!(proxy.finish(), Err(Error::ContextTerminated)), "{tr:?}");
    }
}

#[test]
fn streamer_delivers_every_message_and_capture_sees_every_frame() {
    const N: usize = 500;
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let frontend = socket(&ctx, Pull);
        let backend = socket(&ctx, Push);
        let capture = socket(&ctx, Push);
        let (fe, be) = (bind(&frontend, tr), bind(&backend, tr));
        let sink = socket(&ctx, Pull);
        capture.connect(&bind(&sink, tr)).unwrap();
        let proxy = Running::start(move || oxmq::proxy(&frontend, &backend, Some(&capture)));
        let producer = socket(&ctx, Push);
        producer.connect(&fe).unwrap();
        let consumer = socket(&ctx, Pull);
        consumer.connect(&be).unwrap();
        for i in 0..N {
            producer.send_multipart(["head".to_string(), format!("{i}")]).unwrap();
        }
        for i in 0..N {
            expect_msg(&consumer, &["head".to_string(), format!("{i}")]);
        }
        for i in 0..N {
            expect_msg(&sink, &["head".to_string(), format!("{i}")]);
        }
        drop((producer, consumer, sink));
        term(ctx);
        assert!(matches!(proxy.finish(), Err(Error::ContextTerminated)), "{tr:?}");
    }
}

#[test]
fn one_router_as_frontend_and_backend_echoes_to_each_sender() {
    // The ROUTER reads [sender, body] and sends it out again as-is: to the sender.
    let ctx = Context::new();
    let router = socket(&ctx, Router);
    let ep = bind(&router, Transport::Inproc);
    let proxy = Running::start(move || oxmq::proxy(&router, &router, None));
    let peers: Vec<_> = (0..3).map(|_| socket(&ctx, Dealer)).collect();
    for p in &peers {
        p.connect(&ep).unwrap();
    }
    for (k, p) in peers.iter().enumerate() {
        p.send_multipart([format!("ping {k}"), "more".into()]).unwrap();
    }
    for (k, p) in peers.iter().enumerate() {
        expect_msg(p, &[format!("ping {k}"), "more".into()]);
    }
    drop(peers);
    term(ctx);
    assert!(matches!(proxy.finish(), Err(Error::ContextTerminated)));
}

/// DEALER client -> DEALER frontend | proxy | DEALER backend -> DEALER worker, with small
/// HWMs; the client sends until back-pressure stops it (the worker not reading). Returns the
/// client, the worker, the control end of a PAIR control socket, the proxy, the context, and
/// how many messages the client got in.
fn fill_a_backend(tr: Transport) -> (Socket, Socket, Socket, Running, Context, usize) {
    let ctx = Context::new();
    let (frontend, backend) = (socket(&ctx, Dealer), socket(&ctx, Dealer));
    let control = socket(&ctx, Pair);
    let steer = socket(&ctx, Pair);
    let cep = format!("inproc://{}", unique_name("control"));
    control.bind(&cep).unwrap();
    steer.connect(&cep).unwrap();
    for s in [&frontend, &backend] {
        s.set_sndhwm(2).unwrap();
        s.set_rcvhwm(2).unwrap();
    }
    let (fe, be) = (bind(&frontend, tr), bind(&backend, tr));
    let client = socket(&ctx, Dealer);
    let worker = socket(&ctx, Dealer);
    for s in [&client, &worker] {
        s.set_sndhwm(2).unwrap();
        s.set_rcvhwm(2).unwrap();
    }
    client.connect(&fe).unwrap();
    worker.connect(&be).unwrap();
    let proxy = Running::start(move || oxmq::proxy_steerable(&frontend, &backend, None, &control));
    // Big messages, so that tcp's socket buffers fill soon too.
    client.set_sndtimeo(300).unwrap();
    let mut accepted = 0;
    loop {
        match client.send_multipart([format!("{accepted}"), ".".repeat(64 * 1024)]) {
            Ok(()) => accepted += 1,
            Err(Error::Again) => break,
            Err(e) => panic!("{e}"),
        }
        assert!(accepted < 100_000, "{tr:?}: back-pressure never reached the client");
    }
    (client, worker, steer, proxy, ctx, accepted)
}

fn statistics(steer: &Socket) -> Vec<u64> {
    steer.send("STATISTICS").unwrap();
    let reply = steer.recv_multipart().unwrap();
    reply.iter().map(|f| u64::from_ne_bytes(f.as_ref().try_into().expect("8-byte values"))).collect()
}

#[test]
fn a_full_backend_pushes_back_loses_nothing_and_stops_nothing_else() {
    for tr in TRANSPORTS {
        let (client, worker, steer, proxy, ctx, accepted) = fill_a_backend(tr);
        assert!(accepted > 0, "{tr:?}");
        // The proxy is not stuck in a send: the other direction and the control socket work.
        worker.send("the other way").unwrap();
        expect_msg(&client, &["the other way"]);
        let stats = statistics(&steer);
        assert_eq!(stats.len(), 8, "{tr:?}");
        assert_eq!(stats[4..6], [1, 13], "{tr:?}: backend received one 13-byte frame");
        // Every message the client got in arrives, in order, and nothing else.
        for i in 0..accepted {
            let m = worker.recv_multipart().unwrap_or_else(|e| panic!("{tr:?}: message {i} of {accepted}: {e}"));
            assert_eq!(m[0], format!("{i}"), "{tr:?}");
        }
        // The marker: one more message from the client, down the same pipes, comes next.
        expect_nothing_before(&worker, || client.send("marker").unwrap(), &["marker"]);
        steer.send("TERMINATE").unwrap();
        proxy.finish().unwrap();
        drop((client, worker, steer));
        term(ctx);
    }
}

#[test]
fn a_proxy_blocked_by_a_full_backend_uses_no_cpu() {
    // Other tests run in this process at the same time: measure in a process of its own.
    if !in_a_process_of_its_own("a_proxy_blocked_by_a_full_backend_uses_no_cpu") {
        return;
    }
    let (client, worker, steer, proxy, ctx, _) = fill_a_backend(Transport::Tcp);
    // The frontend has input the proxy cannot move (libzmq 4.3's proxy spins here).
    let cpu = process_cpu();
    let t = Instant::now();
    std::thread::sleep(Duration::from_secs(1));
    let (cpu, wall) = (process_cpu() - cpu, t.elapsed());
    println!("a blocked proxy used {cpu:?} of CPU in {wall:?}");
    assert!(cpu < Duration::from_millis(100), "a blocked proxy used {cpu:?} of CPU in {wall:?}");
    steer.send("TERMINATE").unwrap();
    proxy.finish().unwrap();
    drop((client, worker, steer));
    term(ctx);
}

#[test]
fn steerable_pause_resume_statistics_terminate_with_a_rep_control_socket() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (frontend, backend) = (socket(&ctx, Pull), socket(&ctx, Push));
        let (fe, be) = (bind(&frontend, tr), bind(&backend, tr));
        let control = socket(&ctx, Rep);
        let steer = socket(&ctx, Req);
        steer.connect(&bind(&control, tr)).unwrap();
        let proxy = Running::start(move || oxmq::proxy_steerable(&frontend, &backend, None, &control));
        let producer = socket(&ctx, Push);
        producer.connect(&fe).unwrap();
        let consumer = socket(&ctx, Pull);
        consumer.connect(&be).unwrap();
        let msg = |i: usize| ["key".to_string(), format!("value-{i}")];
        let command = |c: &str| {
            steer.send(c).unwrap();
            assert_eq!(steer.recv().unwrap(), "", "{tr:?}: REP control acknowledges {c} with an empty message");
        };
        for i in 0..5 {
            producer.send_multipart(msg(i)).unwrap();
        }
        for i in 0..5 {
            expect_msg(&consumer, &msg(i));
        }
        command("PAUSE");
        for i in 5..8 {
            producer.send_multipart(msg(i)).unwrap();
        }
        // No marker through the proxy: paused, it forwards none, and once resumed 5..8 rightly
        // come first. The STATISTICS reply below, asked after the window, shows none was taken.
        consumer.set_rcvtimeo(QUIET_MS).unwrap();
        assert!(matches!(consumer.recv(), Err(Error::Again)), "{tr:?}: forwarded while paused");
        consumer.set_rcvtimeo(TIMEO_MS).unwrap();
        // 5 messages of 2 frames, 3 + 7 bytes each, in at the frontend and out at the backend.
        assert_eq!(statistics(&steer), [10, 50, 0, 0, 0, 0, 10, 50], "{tr:?}");
        command("RESUME");
        for i in 5..8 {
            expect_msg(&consumer, &msg(i));
        }
        assert_eq!(statistics(&steer), [16, 80, 0, 0, 0, 0, 16, 80], "{tr:?}");
        command("NONSENSE");
        proxy.assert_running();
        command("TERMINATE");
        proxy.finish().unwrap();
        drop((producer, consumer, steer));
        term(ctx);
    }
}

#[test]
fn steerable_statistics_count_frames_and_bytes_both_ways_with_a_pair_control_socket() {
    const N: u64 = 10;
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (frontend, backend) = (socket(&ctx, Router), socket(&ctx, Dealer));
        let (fe, be) = (bind(&frontend, tr), bind(&backend, tr));
        let control = socket(&ctx, Pair);
        let steer = socket(&ctx, Pair);
        steer.connect(&bind(&control, tr)).unwrap();
        let proxy = Running::start(move || oxmq::proxy_steerable(&frontend, &backend, None, &control));
        let worker = socket(&ctx, Rep);
        worker.connect(&be).unwrap();
        let worker = std::thread::spawn(move || {
            for _ in 0..N {
                assert_eq!(worker.recv().unwrap(), "hello");
                worker.send("hi!").unwrap();
            }
            worker
        });
        let client = socket(&ctx, Req);
        client.set_routing_id(b"c1").unwrap();
        client.connect(&fe).unwrap();
        for _ in 0..N {
            client.send("hello").unwrap();
            assert_eq!(client.recv().unwrap(), "hi!");
        }
        let worker = worker.join().unwrap();
        // A PAIR gets no answer to PAUSE: the next thing it receives is the STATISTICS reply.
        steer.send("PAUSE").unwrap();
        // Requests ["c1", "", "hello"] (3 frames, 7 bytes) in at the frontend and out at the
        // backend; replies ["c1", "", "hi!"] (3 frames, 5 bytes) the other way.
        let (n, rq, rp) = (3 * N, 7 * N, 5 * N);
        let stats = [n, rq, n, rp, n, rp, n, rq];
        assert_eq!(statistics(&steer), stats, "{tr:?}");
        steer.send("RESUME").unwrap();
        // Nor to RESUME: the marker, a STATISTICS reply (the same counts), is the next message.
        expect_nothing_before(&steer, || steer.send("STATISTICS").unwrap(), &stats.map(u64::to_ne_bytes));
        steer.send("TERMINATE").unwrap();
        proxy.finish().unwrap();
        // No marker after TERMINATE: the proxy has returned, and its control socket with it.
        steer.set_rcvtimeo(QUIET_MS).unwrap();
        assert!(matches!(steer.recv(), Err(Error::Again)), "{tr:?}: a PAIR control socket got an answer");
        drop((client, worker, steer));
        term(ctx);
    }
}

#[test]
fn a_proxy_returns_the_error_of_a_socket_that_cannot_do_its_part() {
    // A frontend that cannot receive (PUSH) is simply never readable; a control socket that
    // cannot receive is an error (as libzmq's, which fails its recv).
    let ctx = Context::new();
    let (frontend, backend, control) = (socket(&ctx, Pull), socket(&ctx, Push), socket(&ctx, Push));
    let r = oxmq::proxy_steerable(&frontend, &backend, None, &control);
    assert!(matches!(r, Err(Error::NotSupported(_))), "{r:?}");
}

#[test]
fn xsub_xpub_forwarder_carries_subscriptions_up_and_messages_down() {
    use oxmq::SocketType::{Pub, Sub, XPub, XSub};
    let ctx = Context::new();
    let frontend = ctx.socket(XSub).unwrap();
    frontend.bind("inproc://fwd-front").unwrap();
    let backend = ctx.socket(XPub).unwrap();
    backend.bind("tcp://127.0.0.1:*").unwrap();
    let back_ep = backend.last_endpoint().unwrap();
    let publisher = ctx.socket(Pub).unwrap();
    publisher.connect("inproc://fwd-front").unwrap();
    frontend.set_linger(0).unwrap();
    backend.set_linger(0).unwrap();
    let proxy = std::thread::spawn(move || oxmq::proxy(&frontend, &backend, None));
    let sub = ctx.socket(Sub).unwrap();
    sub.set_rcvtimeo(50).unwrap();
    sub.subscribe("a").unwrap();
    sub.connect(&back_ep).unwrap();
    // Publish until the subscription has travelled through the proxy to the publisher.
    let deadline = Instant::now() + Duration::from_secs(10);
    loop {
        publisher.send("b ignored").unwrap();
        publisher.send("a probe").unwrap();
        if let Ok(m) = sub.recv() {
            assert_eq!(m, "a probe", "only the subscribed topic comes through");
            break;
        }
        assert!(Instant::now() < deadline, "the subscription never reached the publisher");
    }
    sub.set_linger(0).unwrap();
    publisher.set_linger(0).unwrap();
    drop((sub, publisher));
    // Terminating the context ends the proxy (which then drops its sockets, letting term end).
    ctx.term();
    assert!(matches!(proxy.join().unwrap(), Err(oxmq::Error::ContextTerminated)));
}
