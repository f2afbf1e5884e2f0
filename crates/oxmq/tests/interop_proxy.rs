//! Interop tests, proxies mixing implementations (zmq_proxy(3)):
//! * oxmq REQ clients -> libzmq ROUTER/DEALER proxy -> oxmq REP workers;
//! * oxmq PUB -> libzmq XSUB/XPUB proxy -> oxmq SUB, subscriptions flowing
//!   upstream through the proxy.
//!
//! The libzmq proxy is `zmq_proxy_steerable` in a python thread
//! (`peers/zmq_proxy.py`). Harness: `interop/mod.rs`.

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
                    let msg = oxmq_try_recv(s, OX_TIMEOUT_MS).unwrap_or_else(|| panic!("{what}: SUB {k}: no fence"));
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
