//! Interop tests, proxies mixing implementations (zmq_proxy(3)):
//! * oxmq REQ clients -> libzmq ROUTER/DEALER proxy -> oxmq REP workers;
//! * oxmq PUB -> libzmq XSUB/XPUB proxy -> oxmq SUBs;
//! * libzmq PUB -> oxmq XSUB/XPUB proxy (`oxmq::proxy_steerable`) -> libzmq
//!   SUBs;
//! * libzmq REQ clients -> oxmq ROUTER/DEALER broker -> libzmq REP workers.
//!
//! In the pub-sub chains the subscriptions flow upstream through the proxy
//! to the publisher, which filters by them. The libzmq proxy is
//! `zmq_proxy_steerable` in a python thread (`peers/zmq_proxy.py`).
//! Harness: `interop/mod.rs`.

mod common;
mod interop;

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use interop::*;
use oxmq::{Context, SocketType};

/// Deadline for "eventually" loops (subscriptions reaching a publisher
/// through the proxy, every worker getting work).
const DEADLINE: Duration = Duration::from_secs(10);

/// Messages of a request: several frames, empty ones included (only the REQ
/// envelope's delimiter may be taken off, not these).
fn request(client: usize, i: usize) -> Vec<Vec<u8>> {
    vec![format!("client {client} request {i}").into_bytes(), Vec::new(), b"tail".to_vec(), Vec::new()]
}

/// oxmq REP workers in threads: each answers a request with the request
/// plus a frame naming the worker, until `stop`.
fn start_workers(
    ctx: &Context,
    endpoint: &str,
    count: usize,
    stop: &Arc<AtomicBool>,
) -> Vec<std::thread::JoinHandle<()>> {
    (0..count)
        .map(|w| {
            let rep = oxmq_socket(ctx, SocketType::Rep);
            rep.set_rcvtimeo(50).unwrap();
            rep.connect(endpoint).unwrap_or_else(|e| panic!("oxmq REP connect {endpoint}: {e:?}"));
            let stop = Arc::clone(stop);
            std::thread::spawn(move || {
                loop {
                    match rep.recv_multipart() {
                        Ok(req) => {
                            let mut reply: Vec<Vec<u8>> = req.iter().map(|f| f.to_vec()).collect();
                            reply.push(format!("worker {w}").into_bytes());
                            rep.send_multipart(reply).unwrap_or_else(|e| panic!("worker {w}: send reply: {e:?}"));
                        }
                        Err(oxmq::Error::Again) if stop.load(Ordering::Relaxed) => return,
                        Err(oxmq::Error::Again) => {}
                        Err(e) => panic!("worker {w}: recv: {e:?}"),
                    }
                }
            })
        })
        .collect()
}

/// Three oxmq REQ clients and two oxmq REP workers around a libzmq
/// ROUTER/DEALER proxy (frontend tcp, backend ipc): every reply matches its
/// request frame for frame, and both workers get work.
#[test]
fn oxmq_req_rep_through_libzmq_proxy() {
    run_test(|| {
        let ipc = IpcFile::new();
        let (proxy, backend) = Peer::spawn_proxy(&args(&[
            "--frontend",
            "ROUTER",
            "--frontend-bind",
            "tcp://127.0.0.1:*",
            "--backend",
            "DEALER",
            "--backend-bind",
            &ipc.endpoint(),
        ]));
        let frontend = proxy.endpoint.clone();
        let ctx = Context::new();
        let stop = Arc::new(AtomicBool::new(false));
        let workers = start_workers(&ctx, &backend, 2, &stop);

        let clients: Vec<_> = (0..3)
            .map(|c| {
                let req = oxmq_socket(&ctx, SocketType::Req);
                req.connect(&frontend).unwrap();
                std::thread::spawn(move || {
                    let mut served = BTreeMap::new();
                    for i in 0..10 {
                        let sent = request(c, i);
                        req.send_multipart(sent.clone()).unwrap_or_else(|e| panic!("client {c}: send {i}: {e:?}"));
                        let reply = req.recv_multipart().unwrap_or_else(|e| panic!("client {c}: reply {i}: {e:?}"));
                        let (worker, body) = reply.split_last().expect("a reply has frames");
                        let body: Vec<Vec<u8>> = body.iter().map(|f| f.to_vec()).collect();
                        assert_eq!(body, sent, "client {c}: reply {i} must carry the request back");
                        *served.entry(String::from_utf8_lossy(worker).to_string()).or_insert(0) += 1;
                    }
                    (req, served)
                })
            })
            .collect();
        let mut served: BTreeMap<String, usize> = BTreeMap::new();
        let mut reqs = Vec::new();
        for client in clients {
            let (req, counts) = client.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
            for (w, n) in counts {
                *served.entry(w).or_insert(0) += n;
            }
            reqs.push(req);
        }
        // DEALER load-balances over the workers it is connected to; keep
        // asking until both have answered (a worker may connect late).
        let deadline = Instant::now() + DEADLINE;
        let mut i = 10;
        while served.len() < 2 {
            assert!(Instant::now() < deadline, "only {served:?} answered within {DEADLINE:?}");
            reqs[0].send_multipart(request(0, i)).unwrap();
            let reply = reqs[0].recv_multipart().unwrap();
            *served.entry(String::from_utf8_lossy(reply.last().unwrap()).to_string()).or_insert(0) += 1;
            i += 1;
        }
        assert_eq!(served.keys().cloned().collect::<Vec<_>>(), ["worker 0", "worker 1"], "workers that answered");
        stop.store(true, Ordering::Relaxed);
        for w in workers {
            w.join().unwrap_or_else(|p| std::panic::resume_unwind(p));
        }
        drop(proxy);
    });
}

/// oxmq PUB -> libzmq XSUB/XPUB proxy -> two oxmq SUBs. Subscriptions
/// travel SUB -> XPUB -> (proxy) -> XSUB -> PUB; the PUB filters by them.
#[test]
fn oxmq_pubsub_through_libzmq_proxy() {
    run_test(|| {
        let ipc = IpcFile::new();
        let (proxy, backend) = Peer::spawn_proxy(&args(&[
            "--frontend",
            "XSUB",
            "--frontend-bind",
            &ipc.endpoint(),
            "--backend",
            "XPUB",
            "--backend-bind",
            "tcp://127.0.0.1:*",
        ]));
        let ctx = Context::new();
        let publisher = oxmq_socket(&ctx, SocketType::Pub);
        publisher.connect(&proxy.endpoint).unwrap();
        let subs: Vec<_> = (0..2).map(|_| oxmq_socket(&ctx, SocketType::Sub)).collect();
        subs[0].subscribe("a").unwrap();
        subs[1].subscribe("b").unwrap();
        for s in &subs {
            s.connect(&backend).unwrap();
        }
        // Publish probes until each SUB gets its own.
        for (s, probe) in subs.iter().zip([&b"a-probe"[..], b"b-probe"]) {
            let deadline = Instant::now() + DEADLINE;
            loop {
                oxmq_send(&publisher, &m(&[probe]));
                if oxmq_try_recv(s, 20).is_some() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "subscription for {probe:?} never reached the PUB through the proxy"
                );
            }
        }
        // Fence each SUB: everything published lands before its own fence
        // (probes left over from the loops above may come first).
        let check = |msgs: &[&[&[u8]]], fences: [&[u8]; 2], want: [&[&[&[u8]]]; 2], what: &str| {
            for msg in msgs {
                oxmq_send(&publisher, &m(msg));
            }
            for fence in fences {
                oxmq_send(&publisher, &m(&[fence]));
            }
            for (k, (s, fence)) in subs.iter().zip(fences).enumerate() {
                let mut got = Vec::new();
                loop {
                    let msg = oxmq_try_recv(s, TIMEO_MS).unwrap_or_else(|| panic!("{what}: SUB {k}: no fence"));
                    if msg[0].as_ref() == fence {
                        break;
                    }
                    if got.is_empty() && msg.len() == 1 && msg[0].ends_with(b"-probe") {
                        continue;
                    }
                    got.push(describe_msg(&msg));
                }
                let want: Vec<Vec<String>> = want[k].iter().map(|w| describe_msg(w)).collect();
                assert_eq!(got, want, "{what}: SUB {k}");
            }
        };
        check(
            &[&[b"a1"], &[b"b1", b"x", b""], &[b"c1"], &[b"ab"]],
            [b"a-fence", b"b-fence"],
            [&[&[b"a1"], &[b"ab"]], &[&[b"b1", b"x", b""]]],
            "after subscribing",
        );
        // Change subscriptions: they must travel through the proxy again.
        subs[0].unsubscribe("a").unwrap();
        subs[0].subscribe("c").unwrap();
        let deadline = Instant::now() + DEADLINE;
        loop {
            oxmq_send(&publisher, &m(&[b"c-probe"]));
            if oxmq_try_recv(&subs[0], 20).is_some() {
                break;
            }
            assert!(Instant::now() < deadline, "subscription \"c\" never reached the PUB through the proxy");
        }
        check(
            &[&[b"a2"], &[b"c2"], &[b"b2"]],
            [b"c-fence", b"b-fence"],
            [&[&[b"c2"]], &[&[b"b2"]]],
            "after the first SUB swapped \"a\" for \"c\"",
        );
        drop(proxy);
    });
}

// ---------------------------------------------------------------------------
// oxmq's proxy between libzmq peers
// ---------------------------------------------------------------------------

/// `oxmq::proxy_steerable` between `frontend` and `backend` on its own
/// thread; dropping the handle sends TERMINATE on the control PAIR and
/// joins the thread (checking the proxy returned Ok).
struct OxProxy {
    control: oxmq::Socket,
    thread: Option<std::thread::JoinHandle<oxmq::Result<()>>>,
}

impl OxProxy {
    fn start(ctx: &Context, frontend: oxmq::Socket, backend: oxmq::Socket) -> OxProxy {
        static N: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
        let ep = format!("inproc://interop-proxy-control-{}", N.fetch_add(1, Ordering::Relaxed));
        let theirs = oxmq_socket(ctx, SocketType::Pair);
        theirs.bind(&ep).unwrap();
        let control = oxmq_socket(ctx, SocketType::Pair);
        control.connect(&ep).unwrap();
        let thread = std::thread::spawn(move || oxmq::proxy_steerable(&frontend, &backend, None, &theirs));
        OxProxy { control, thread: Some(thread) }
    }
}

impl Drop for OxProxy {
    fn drop(&mut self) {
        let _ = self.control.send("TERMINATE");
        if let Some(thread) = self.thread.take() {
            let result = thread.join();
            if !std::thread::panicking() {
                match result {
                    Ok(Ok(())) => {}
                    other => panic!("oxmq proxy_steerable after TERMINATE: {other:?}"),
                }
            }
        }
    }
}

/// libzmq PUB -> oxmq XSUB/XPUB proxy -> two libzmq SUBs. The SUBs'
/// subscriptions go up through the proxy (XPUB hands them to the proxy,
/// which sends them out of the XSUB) to the libzmq PUB, which filters by
/// them; changes made later travel the same way.
#[test]
fn libzmq_pubsub_through_oxmq_proxy() {
    run_test(|| {
        let ctx = Context::new();
        let xsub = oxmq_socket(&ctx, SocketType::XSub);
        xsub.bind("tcp://127.0.0.1:*").unwrap();
        let ipc = IpcFile::new();
        let xpub = oxmq_socket(&ctx, SocketType::XPub);
        xpub.bind(&ipc.endpoint()).unwrap();
        let mut publisher = Peer::spawn("PUB", &args(&["--connect", &xsub.last_endpoint().unwrap()]));
        let _proxy = OxProxy::start(&ctx, xsub, xpub);
        let mut subs: Vec<Peer> = ["a", "b"]
            .iter()
            .map(|topic| Peer::spawn("SUB", &args(&["--connect", &ipc.endpoint(), "--subscribe", topic])))
            .collect();

        // Publish each SUB's probe until it arrives, then drain with a fence.
        let await_probe = |publisher: &mut Peer, sub: &mut Peer, probe: &[u8], fence: &[u8]| {
            let deadline = Instant::now() + DEADLINE;
            loop {
                publisher.send(&m(&[probe]));
                if sub.try_recv(20).is_some() {
                    break;
                }
                assert!(
                    Instant::now() < deadline,
                    "subscription for {probe:?} never reached the PUB through the proxy"
                );
            }
            publisher.send(&m(&[fence]));
            for got in sub.collect(fence) {
                assert_eq!(got, describe_msg(&[probe]), "only probes before the fence");
            }
        };
        await_probe(&mut publisher, &mut subs[0], b"a-probe", b"a-fence0");
        await_probe(&mut publisher, &mut subs[1], b"b-probe", b"b-fence0");
        let check = |publisher: &mut Peer,
                     subs: &mut [Peer],
                     msgs: &[&[&[u8]]],
                     fences: [&[u8]; 2],
                     want: [&[&[&[u8]]]; 2],
                     what: &str| {
            for msg in msgs {
                publisher.send(&m(msg));
            }
            for fence in fences {
                publisher.send(&m(&[fence]));
            }
            for (k, sub) in subs.iter_mut().enumerate() {
                let want: Vec<Vec<String>> = want[k].iter().map(|w| describe_msg(w)).collect();
                assert_eq!(sub.collect(fences[k]), want, "{what}: libzmq SUB {k}");
            }
        };
        check(
            &mut publisher,
            &mut subs,
            &[&[b"a1"], &[b"b1", b"", b"x"], &[b"c1"], &[b"ab"]],
            [b"a-fence1", b"b-fence1"],
            [&[&[b"a1"], &[b"ab"]], &[&[b"b1", b"", b"x"]]],
            "after subscribing",
        );
        // The first SUB swaps "a" for "c": the new subscription and the
        // cancel both go up through the proxy ("a2" must not arrive).
        subs[0].setsockopt_bytes("UNSUBSCRIBE", b"a");
        subs[0].setsockopt_bytes("SUBSCRIBE", b"c");
        await_probe(&mut publisher, &mut subs[0], b"c-probe", b"c-fence0");
        check(
            &mut publisher,
            &mut subs,
            &[&[b"a2"], &[b"c2"], &[b"b2"]],
            [b"c-fence1", b"b-fence2"],
            [&[&[b"c2"]], &[&[b"b2"]]],
            "after the first SUB swapped \"a\" for \"c\"",
        );
    });
}

/// Three libzmq REQ clients -> oxmq ROUTER/DEALER broker -> two libzmq REP
/// workers: every reply carries its request back (envelopes intact through
/// the oxmq proxy) and both workers get work.
#[test]
fn libzmq_req_rep_through_oxmq_broker() {
    run_test(|| {
        let ctx = Context::new();
        let router = oxmq_socket(&ctx, SocketType::Router);
        router.bind("tcp://127.0.0.1:*").unwrap();
        let ipc = IpcFile::new();
        let dealer = oxmq_socket(&ctx, SocketType::Dealer);
        dealer.bind(&ipc.endpoint()).unwrap();
        let frontend = router.last_endpoint().unwrap();
        let _proxy = OxProxy::start(&ctx, router, dealer);

        let mut workers: Vec<Peer> =
            (0..2).map(|_| Peer::spawn("REP", &args(&["--connect", &ipc.endpoint()]))).collect();
        for (w, worker) in workers.iter_mut().enumerate() {
            let suffix = Part::Data(format!("worker {w}").into_bytes()).json();
            worker.write(&format!(r#"{{"cmd":"serve","suffix":{suffix},"idle_ms":20000}}"#));
        }
        let mut clients: Vec<Peer> = (0..3).map(|_| Peer::spawn("REQ", &args(&["--connect", &frontend]))).collect();
        let mut served = BTreeMap::new();
        let round = |clients: &mut [Peer], i: usize, served: &mut BTreeMap<String, usize>| {
            let reqs: Vec<Vec<Part>> =
                (0..clients.len()).map(|c| request(c, i).into_iter().map(Part::Data).collect()).collect();
            for (client, req) in clients.iter_mut().zip(&reqs) {
                client.write(&format!(r#"{{"cmd":"send","parts":{}}}"#, parts_json(req)));
            }
            for client in clients.iter_mut() {
                assert_eq!(client.read_line(), "ok");
                client.write(r#"{"cmd":"recv","timeout_ms":5000}"#);
            }
            for (c, (client, req)) in clients.iter_mut().zip(&reqs).enumerate() {
                let reply = client.read_msg();
                let (worker, body) = reply.split_last().expect("a reply has frames");
                assert_eq!(body, describe_parts(req), "client {c}: reply {i} must carry the request back");
                *served.entry(render(worker)).or_insert(0) += 1;
            }
        };
        for i in 0..10 {
            round(&mut clients, i, &mut served);
        }
        let deadline = Instant::now() + DEADLINE;
        let mut i = 10;
        while served.len() < 2 {
            assert!(Instant::now() < deadline, "only {served:?} answered within {DEADLINE:?}");
            round(&mut clients[..1], i, &mut served);
            i += 1;
        }
        assert_eq!(
            served.keys().cloned().collect::<Vec<_>>(),
            ["b\"worker 0\"", "b\"worker 1\""],
            "workers that answered"
        );
    });
}
