//! The pipeline pattern and what every message must survive, as libzmq defines them
//! (zmq_socket(3), tests/test_spec_pushpull, test_hwm): PUSH round-robins and skips a full PULL,
//! PULL fair-queues, the high-water marks; frames of every size, empty and multi-frame messages
//! arrive whole and in order; blocked calls wake; inproc names, connect-before-bind and
//! zero-copy. Over inproc, tcp and ipc.

mod common;

use std::collections::BTreeSet;
use std::time::{Duration, Instant};

use common::{
    QUIET_MS, TRANSPORTS, Transport, bind, count_until_full, drain, expect_msg, expect_nothing, expect_nothing_before,
    recv_msg, send_when_routable, show, socket, unique_name,
};
use oxmq::{Bytes, Context, Error, SocketType};

use SocketType::{Dealer, Pair, Pull, Push, Router};

// ---------------------------------------------------------------------------------------------
// PUSH / PULL
// ---------------------------------------------------------------------------------------------

#[test]
fn push_round_robins_over_pulls_each_getting_its_share_in_order() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let pulls: Vec<_> = (0..3).map(|_| socket(&ctx, Pull)).collect();
        let push = socket(&ctx, Push);
        for p in &pulls {
            push.connect(&bind(p, tr)).unwrap();
        }
        for i in 0..9 {
            push.send(format!("m{i}")).unwrap();
        }
        for (k, p) in pulls.iter().enumerate() {
            for round in 0..3 {
                expect_msg(p, &[format!("m{}", k + 3 * round)]);
            }
        }
    }
}

#[test]
fn bound_push_round_robins_over_connected_inproc_pulls() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    let ep = bind(&push, Transport::Inproc);
    let pulls: Vec<_> = (0..3).map(|_| socket(&ctx, Pull)).collect();
    for p in &pulls {
        p.connect(&ep).unwrap();
    }
    for word in ["ABC", "DEF"] {
        for k in 0..3 {
            push.send(format!("{word}{k}")).unwrap();
        }
    }
    for (k, p) in pulls.iter().enumerate() {
        expect_msg(p, &[format!("ABC{k}")]);
        expect_msg(p, &[format!("DEF{k}")]);
    }
}

#[test]
fn pull_fair_queues_one_message_from_each_push_in_turn() {
    // test_spec_pushpull's order: with every message queued, a PULL takes one from each peer
    // before it takes a second from any.
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let ep = bind(&pull, Transport::Inproc);
    let pushes: Vec<_> = (0..3).map(|_| socket(&ctx, Push)).collect();
    for p in &pushes {
        p.connect(&ep).unwrap();
    }
    for (k, p) in pushes.iter().enumerate() {
        p.send(format!("first-{k}")).unwrap();
        p.send(format!("second-{k}")).unwrap();
    }
    let take3 = || (0..3).map(|_| show(&recv_msg(&pull)).concat()).collect::<BTreeSet<_>>();
    let want = |half: &str| (0..3).map(|k| format!("{half}-{k}")).collect::<BTreeSet<_>>();
    assert_eq!(take3(), want("first"));
    assert_eq!(take3(), want("second"));
    expect_nothing(&pull, QUIET_MS);
    // A marker from each PUSH (a PULL fair-queues between them): the next three.
    for (k, p) in pushes.iter().enumerate() {
        p.send(format!("marker-{k}")).unwrap();
    }
    assert_eq!(take3(), want("marker"));
}

#[test]
fn pull_receives_every_message_of_several_pushes_in_per_peer_order() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let pull = socket(&ctx, Pull);
        let ep = bind(&pull, tr);
        let pushes: Vec<_> = (0..3).map(|_| socket(&ctx, Push)).collect();
        for p in &pushes {
            p.connect(&ep).unwrap();
        }
        for i in 0..20 {
            for (k, p) in pushes.iter().enumerate() {
                p.send(format!("{k}:{i}")).unwrap();
            }
        }
        let mut next = [0; 3];
        for _ in 0..60 {
            let m = show(&recv_msg(&pull)).concat();
            let (k, i) = m.split_once(':').unwrap();
            let (k, i): (usize, usize) = (k.parse().unwrap(), i.parse().unwrap());
            assert_eq!(i, next[k], "{tr:?}: peer {k}'s messages out of order");
            next[k] += 1;
        }
        assert_eq!(next, [20; 3]);
    }
}

#[test]
fn push_without_peers_would_block() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    assert!(matches!(push.try_send("x", false), Err(Error::Again)));
    push.set_sndtimeo(0).unwrap();
    assert!(matches!(push.send("x"), Err(Error::Again)));
    push.set_sndtimeo(50).unwrap();
    let start = Instant::now();
    assert!(matches!(push.send("x"), Err(Error::Again)));
    let took = start.elapsed();
    assert!(took >= Duration::from_millis(45), "SNDTIMEO 50 returned after {took:?}");
    assert!(took < Duration::from_millis(1000), "SNDTIMEO 50 returned after {took:?}");
}

#[test]
fn push_skips_a_full_pull_and_feeds_the_others() {
    let ctx = Context::new();
    let slow = socket(&ctx, Pull);
    slow.set_rcvhwm(1).unwrap();
    let fast = socket(&ctx, Pull);
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect(&bind(&slow, Transport::Inproc)).unwrap();
    push.connect(&bind(&fast, Transport::Inproc)).unwrap();
    for i in 0..10 {
        push.try_send(format!("{i}"), false).unwrap();
    }
    // The slow PULL's pipe holds 1 + 1; everything else went to the fast one.
    assert_eq!(drain(&slow), 2);
    assert_eq!(drain(&fast), 8);
}

/// Fill an inproc PUSH->PULL pipe; returns how many messages it took.
fn fill(push: &oxmq::Socket) -> usize {
    count_until_full(100_000, || push.try_send(Bytes::new(), false))
}

#[test]
fn inproc_hwm_is_sndhwm_plus_rcvhwm_when_pull_binds_first() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(7).unwrap();
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.set_sndhwm(5).unwrap();
    push.connect(&ep).unwrap();
    assert_eq!(fill(&push), 12);
    push.set_sndtimeo(50).unwrap();
    assert!(matches!(push.send("x"), Err(Error::Again)), "a full PUSH blocks until SNDTIMEO");
    // Once the PULL has read everything, the pipe takes as many again.
    assert_eq!(drain(&pull), 12);
    assert_eq!(fill(&push), 12);
    assert_eq!(drain(&pull), 12);
}

#[test]
fn inproc_hwm_is_sndhwm_plus_rcvhwm_when_push_binds_first() {
    let ctx = Context::new();
    let push = socket(&ctx, Push);
    push.set_sndhwm(5).unwrap();
    let ep = bind(&push, Transport::Inproc);
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(7).unwrap();
    pull.connect(&ep).unwrap();
    assert_eq!(fill(&push), 12);
    assert_eq!(drain(&pull), 12);
    assert_eq!(fill(&push), 12);
}

#[test]
fn inproc_hwm_defaults_to_2000() {
    // test_hwm's test_defaults: 1000 + 1000.
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.connect(&ep).unwrap();
    assert_eq!(fill(&push), 2000);
    assert_eq!(drain(&pull), 2000);
}

#[test]
fn inproc_hwm_zero_means_no_limit() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(0).unwrap();
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect(&ep).unwrap();
    assert_eq!(count_until_full(10_000, || push.try_send("x", false)), 10_000);
}

#[test]
fn inproc_hwm_is_sndhwm_plus_rcvhwm_when_push_connects_before_the_bind() {
    // test_hwm's test_inproc_connect_first: the HWMs are settled when the bind arrives.
    let ctx = Context::new();
    let name = format!("inproc://{}", unique_name("hwm-connect-first"));
    let push = socket(&ctx, Push);
    push.set_sndhwm(5).unwrap();
    push.connect(&name).unwrap();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(7).unwrap();
    pull.bind(&name).unwrap();
    assert_eq!(fill(&push), 12);
    assert_eq!(drain(&pull), 12);
}

#[test]
fn inproc_hwm_before_any_bind_is_the_sndhwm() {
    // test_hwm's test_inproc_connect_and_close_first: with nobody bound yet, a connected PUSH
    // queues SNDHWM messages; they are delivered once a PULL binds.
    let ctx = Context::new();
    let name = format!("inproc://{}", unique_name("hwm-before-bind"));
    let push = socket(&ctx, Push);
    push.set_sndhwm(5).unwrap();
    push.connect(&name).unwrap();
    assert_eq!(fill(&push), 5);
    let pull = socket(&ctx, Pull);
    pull.bind(&name).unwrap();
    for _ in 0..5 {
        expect_msg(&pull, &[""]);
    }
}

#[test]
fn inproc_hwm_counts_messages_not_frames() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(1).unwrap();
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect(&ep).unwrap();
    let sent = count_until_full(100, || {
        push.try_send("a", true)?;
        push.try_send("b", true)?;
        push.try_send("c", false)
    });
    assert_eq!(sent, 2);
    expect_msg(&pull, &["a", "b", "c"]);
    expect_msg(&pull, &["a", "b", "c"]);
}

#[test]
fn tcp_push_blocks_at_the_hwm_and_resumes_once_the_pull_reads() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(10).unwrap();
    let ep = bind(&pull, Transport::Tcp);
    let push = socket(&ctx, Push);
    push.set_sndhwm(10).unwrap();
    push.set_sndtimeo(300).unwrap();
    push.connect(&ep).unwrap();
    // Large messages so the kernel's socket buffers fill quickly too.
    let body = Bytes::from(vec![7u8; 64 * 1024]);
    let sent = count_until_full(5_000, || push.send(body.clone()));
    assert!(sent < 5_000, "a PUSH whose peer does not read never blocked");
    assert!(sent >= 20, "blocked after {sent} messages, before even SNDHWM + RCVHWM");
    for _ in 0..sent {
        assert_eq!(recv_msg(&pull), vec![body.clone()]);
    }
    push.send("again").unwrap();
    expect_msg(&pull, &["again"]);
}

// ---------------------------------------------------------------------------------------------
// Messages
// ---------------------------------------------------------------------------------------------

/// A bound PULL and a PUSH connected to it.
fn pipeline(ctx: &Context, tr: Transport) -> (oxmq::Socket, oxmq::Socket) {
    let pull = socket(ctx, Pull);
    let ep = bind(&pull, tr);
    let push = socket(ctx, Push);
    push.connect(&ep).unwrap();
    (push, pull)
}

fn pattern(len: usize) -> Vec<u8> {
    (0..len).map(|i| (i % 251) as u8).collect()
}

#[test]
fn frames_of_every_size_class_arrive_intact() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        for len in [0, 1, 254, 255, 256, 257, 65535, 65536, 65537] {
            push.send(pattern(len)).unwrap();
            let got = recv_msg(&pull);
            assert_eq!(got.len(), 1);
            assert!(got[0] == pattern(len), "{tr:?}: a {len}-byte frame came back as {} bytes", got[0].len());
        }
    }
}

/// A one-way stream (thousands of sends, nothing back) is where a ZMTP sender packs small
/// one-frame messages into their wire form instead of queueing them (`engine::drive`,
/// "Packing"), and queues the rest: empty and multi-frame messages, and bodies of 16 KiB or
/// more. Every size class around the frame-header and packing limits, mixed with multi-frame
/// messages, arrives whole and in the order sent.
#[test]
fn a_one_way_stream_of_mixed_sizes_and_multipart_messages_arrives_whole_and_in_order() {
    const SIZES: [usize; 9] = [0, 1, 64, 255, 256, 16 * 1024 - 1, 16 * 1024, 70_000, 64];
    let body = |i: usize| {
        let mut b = pattern(SIZES[i % SIZES.len()]);
        if b.len() >= 4 {
            b[..4].copy_from_slice(&(i as u32).to_be_bytes());
        }
        b
    };
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        pull.set_rcvtimeo(5_000).unwrap();
        let sender = std::thread::spawn(move || {
            for i in 0..3_000 {
                if i % 97 == 0 {
                    push.send_multipart([Bytes::from(body(i)), Bytes::from_static(b"tail")]).unwrap();
                } else {
                    push.send(body(i)).unwrap();
                }
            }
            push
        });
        for i in 0..3_000 {
            let got = recv_msg(&pull);
            let want = if i % 97 == 0 {
                vec![Bytes::from(body(i)), Bytes::from_static(b"tail")]
            } else {
                vec![Bytes::from(body(i))]
            };
            assert!(got == want, "{tr:?}: message {i} came as {:?}", got.iter().map(|f| f.len()).collect::<Vec<_>>());
        }
        drop(sender.join().unwrap());
    }
}

/// A stream of small messages whose receiver starts late: the kernel's buffer fills, writes
/// are partial, and each batch is packed into a buffer an earlier batch was written from
/// (`oxmq_wire::Transmit::append_encoded`). Every message arrives, in order, as sent.
#[test]
fn a_stream_held_up_by_a_late_receiver_arrives_intact_and_in_order() {
    const COUNT: u32 = 20_000;
    let body = |i: u32| {
        let mut b = pattern(1000 + (i % 48) as usize);
        b[..4].copy_from_slice(&i.to_be_bytes());
        b
    };
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        push.set_sndhwm(0).unwrap();
        pull.set_rcvhwm(0).unwrap();
        pull.set_rcvtimeo(10_000).unwrap();
        let sender = std::thread::spawn(move || {
            for i in 0..COUNT {
                push.send(body(i)).unwrap();
            }
            push
        });
        std::thread::sleep(Duration::from_millis(200));
        for i in 0..COUNT {
            let got = pull.recv().unwrap();
            assert!(got[..] == body(i)[..], "{tr:?}: message {i} came as {} bytes", got.len());
        }
        drop(sender.join().unwrap());
    }
}

#[test]
fn a_16_mib_frame_arrives_intact() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        let big = Bytes::from(pattern(16 << 20));
        push.send_multipart([Bytes::from_static(b"head"), big.clone(), Bytes::from_static(b"tail")]).unwrap();
        push.send("next").unwrap();
        let got = recv_msg(&pull);
        assert_eq!(got.len(), 3, "{tr:?}");
        assert_eq!(got[0], "head");
        assert!(got[1] == big, "{tr:?}: 16 MiB frame corrupted ({} bytes)", got[1].len());
        assert_eq!(got[2], "tail");
        expect_msg(&pull, &["next"]);
    }
}

#[test]
fn a_hundred_frame_message_arrives_whole_and_in_order() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        let parts: Vec<Vec<u8>> = (0..100).map(|i| if i % 10 == 0 { vec![] } else { pattern(i * 37) }).collect();
        push.send_multipart(parts.clone()).unwrap();
        push.send("after").unwrap();
        // Frame by frame, with RCVMORE on all but the last.
        for (i, p) in parts.iter().enumerate() {
            let f = pull.recv().unwrap();
            assert!(f == *p, "{tr:?}: frame {i}");
            assert_eq!(pull.rcvmore(), i < 99, "{tr:?}: RCVMORE after frame {i}");
        }
        expect_msg(&pull, &["after"]);
    }
}

#[test]
fn empty_messages_and_empty_frames() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        push.send("").unwrap();
        push.send_multipart(["", ""]).unwrap();
        push.send_more(Vec::new()).unwrap();
        push.send("x").unwrap();
        expect_msg(&pull, &[""]);
        expect_msg(&pull, &["", ""]);
        expect_msg(&pull, &["", "x"]);
    }
}

#[test]
fn send_accepts_every_kind_of_buffer() {
    let ctx = Context::new();
    let (push, pull) = pipeline(&ctx, Transport::Tcp);
    push.send(Bytes::from_static(b"bytes")).unwrap();
    push.send(b"vec".to_vec()).unwrap();
    push.send("static str").unwrap();
    push.send(String::from("string")).unwrap();
    push.send(&b"slice"[..]).unwrap();
    push.send(*b"array").unwrap();
    let borrowed = String::from("&string");
    push.send(&borrowed).unwrap();
    push.send(vec![1u8, 2].into_boxed_slice()).unwrap();
    for want in ["bytes", "vec", "static str", "string", "slice", "array", &borrowed] {
        expect_msg(&pull, &[want]);
    }
    expect_msg(&pull, &[[1u8, 2]]);
}

#[test]
fn send_multipart_of_nothing_is_invalid() {
    let ctx = Context::new();
    let (push, _pull) = pipeline(&ctx, Transport::Inproc);
    assert!(matches!(push.send_multipart(Vec::<Bytes>::new()), Err(Error::InvalidArgument(_))));
}

#[test]
fn inproc_moves_the_buffer_without_copying() {
    let ctx = Context::new();
    let (push, pull) = pipeline(&ctx, Transport::Inproc);
    let data = Bytes::from(pattern(100_000));
    let ptr = data.as_ptr();
    push.send(data).unwrap();
    let got = pull.recv().unwrap();
    assert_eq!(got.as_ptr(), ptr, "the received Bytes is not the one sent");
    assert!(got == pattern(100_000));
    // Also for a small buffer and across a PAIR.
    let a = socket(&ctx, Pair);
    let ep = bind(&a, Transport::Inproc);
    let b = socket(&ctx, Pair);
    b.connect(&ep).unwrap();
    let small = Bytes::from(b"tiny".to_vec());
    let ptr = small.as_ptr();
    b.send(small).unwrap();
    assert_eq!(a.recv().unwrap().as_ptr(), ptr);
}

#[test]
fn multipart_messages_are_never_split_or_interleaved() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        // Fan out: whole messages round-robin over the PULLs.
        let pulls: Vec<_> = (0..2).map(|_| socket(&ctx, Pull)).collect();
        let push = socket(&ctx, Push);
        for p in &pulls {
            push.connect(&bind(p, tr)).unwrap();
        }
        for i in 0..4 {
            push.send_multipart([format!("{i}a"), format!("{i}b"), format!("{i}c")]).unwrap();
        }
        for (k, p) in pulls.iter().enumerate() {
            for i in [k, k + 2] {
                expect_msg(p, &[format!("{i}a"), format!("{i}b"), format!("{i}c")]);
            }
        }
        // Fan in: frames of messages from several peers do not interleave.
        let sink = socket(&ctx, Pull);
        let ep = bind(&sink, tr);
        let pushes: Vec<_> = (0..3).map(|_| socket(&ctx, Push)).collect();
        for p in &pushes {
            p.connect(&ep).unwrap();
        }
        for i in 0..10 {
            for (k, p) in pushes.iter().enumerate() {
                p.send_multipart((0..5).map(|f| format!("{k}-{i}-{f}"))).unwrap();
            }
        }
        for _ in 0..30 {
            let m = show(&recv_msg(&sink));
            assert_eq!(m.len(), 5, "{tr:?}: {m:?}");
            let prefix = m[0].strip_suffix("-0").unwrap().to_string();
            for (f, part) in m.iter().enumerate() {
                assert_eq!(*part, format!("{prefix}-{f}"), "{tr:?}: interleaved frames in {m:?}");
            }
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Blocking, waking and inproc names
// ---------------------------------------------------------------------------------------------

#[test]
fn a_blocked_receive_wakes_when_a_message_arrives() {
    for tr in TRANSPORTS {
        let ctx = Context::new();
        let (push, pull) = pipeline(&ctx, tr);
        std::thread::scope(|s| {
            let reader = s.spawn(|| recv_msg(&pull));
            // The reader may or may not be blocked yet; either way it must get the message.
            push.send("wake up").unwrap();
            assert_eq!(show(&reader.join().unwrap()), ["wake up"], "{tr:?}");
        });
    }
}

#[test]
fn a_blocked_send_wakes_when_the_peer_reads() {
    let ctx = Context::new();
    let pull = socket(&ctx, Pull);
    pull.set_rcvhwm(1).unwrap();
    let ep = bind(&pull, Transport::Inproc);
    let push = socket(&ctx, Push);
    push.set_sndhwm(1).unwrap();
    push.connect(&ep).unwrap();
    assert_eq!(count_until_full(10, || push.try_send("x", false)), 2);
    push.set_sndtimeo(5000).unwrap();
    std::thread::scope(|s| {
        let sender = s.spawn(|| push.send("third"));
        expect_msg(&pull, &["x"]);
        expect_msg(&pull, &["x"]);
        expect_msg(&pull, &["third"]);
        sender.join().unwrap().unwrap();
    });
}

#[test]
fn inproc_connect_before_bind_queues_until_the_bind() {
    let ctx = Context::new();
    // PUSH -> PULL.
    let name = format!("inproc://{}", unique_name("early"));
    let push = socket(&ctx, Push);
    push.connect(&name).unwrap();
    push.send_multipart(["early", "bird"]).unwrap();
    let pull = socket(&ctx, Pull);
    pull.bind(&name).unwrap();
    expect_msg(&pull, &["early", "bird"]);
    push.send("later").unwrap();
    expect_msg(&pull, &["later"]);

    // DEALER -> ROUTER: the ROUTER learns the dealer's routing id.
    let name = format!("inproc://{}", unique_name("early"));
    let dealer = socket(&ctx, Dealer);
    dealer.set_routing_id(b"early-dealer").unwrap();
    dealer.connect(&name).unwrap();
    dealer.send("hi").unwrap();
    let router = socket(&ctx, Router);
    router.bind(&name).unwrap();
    expect_msg(&router, &["early-dealer", "hi"]);
    router.send_multipart(["early-dealer", "ho"]).unwrap();
    expect_msg(&dealer, &["ho"]);

    // ROUTER connecting before a DEALER binds: it addresses the DEALER by its routing id.
    let name = format!("inproc://{}", unique_name("early"));
    let router = socket(&ctx, Router);
    router.set_router_mandatory(true).unwrap();
    router.connect(&name).unwrap();
    assert!(matches!(router.send_more("server"), Err(Error::HostUnreachable)));
    let server = socket(&ctx, Dealer);
    server.set_routing_id(b"server").unwrap();
    server.bind(&name).unwrap();
    send_when_routable(&router, &["server", "hello"]);
    expect_msg(&server, &["hello"]);
}

#[test]
fn inproc_names_belong_to_their_context() {
    let ctx1 = Context::new();
    let ctx2 = Context::new();
    let name = format!("inproc://{}", unique_name("per-context"));
    let pull1 = socket(&ctx1, Pull);
    pull1.bind(&name).unwrap();
    let pull2 = socket(&ctx2, Pull);
    pull2.bind(&name).unwrap();
    let push2 = socket(&ctx2, Push);
    push2.connect(&name).unwrap();
    let push1 = socket(&ctx1, Push);
    push1.connect(&name).unwrap();
    push2.send("ctx2").unwrap();
    expect_msg(&pull2, &["ctx2"]);
    // ctx1's own PUSH to the name: its message must be the first pull1 gets.
    expect_nothing_before(&pull1, || push1.send("ctx1").unwrap(), &["ctx1"]);
}
