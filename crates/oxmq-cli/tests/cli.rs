//! End-to-end tests of the `oxmq` messaging commands: each runs the real binary in separate
//! processes, the way a user would.
//! The helpers (`Proc`, `run`, `start_bound`, ...) are in `common/`.

mod common;
use common::*;

#[test]
fn send_recv_multipart_over_tcp() {
    let (recv, ep) = start_bound(&["recv", "-n", "3", "-s", "|"], "tcp://127.0.0.1:*");
    assert!(ep.starts_with("tcp://127.0.0.1:") && !ep.ends_with('*'), "{ep}");
    let sent = run(&["send", "-c", &ep, "-s", "|", "a|b|c", "d", "||"]);
    assert_success(&sent);
    let got = recv.finish();
    assert_success(&got);
    assert_eq!(got.stdout(), "a|b|c\nd\n||\n");
}

#[test]
fn each_output_format_over_ipc() {
    // From stdin, so that a frame can be other than UTF-8: frames "h\xffi", "x y", "" and "\"q\"".
    let input: &[u8] = b"h\xffi|x y||\"q\"\nplain\n";
    for (format, want) in [
        ("text", &b"h\xffi\tx y\t\t\"q\"\nplain\n"[..]),
        ("hex", b"68ff69\t782079\t\t227122\n706c61696e\n"),
        ("json", b"[{\"hex\":\"68ff69\"},\"x y\",\"\",\"\\\"q\\\"\"]\n[\"plain\"]\n"),
    ] {
        let (recv, ep) = start_bound(&["recv", "-n", "2", "-f", format], &ipc(format));
        let sent = run_with_stdin(&["send", "-c", &ep, "-s", "|"], input);
        assert_success(&sent);
        let got = recv.finish();
        assert_success(&got);
        assert_eq!(got.stdout, want, "--format {format}: {}", got.stdout());
    }
}

#[test]
fn router_shows_the_routing_id_frame() {
    let (recv, ep) = start_bound(&["recv", "-t", "router", "-n", "1", "-f", "hex", "-s", " "], &ipc("router"));
    let sent = run(&["send", "-t", "DEALER", "--routing-id", "peer", "-c", &ep, "-s", "|", "a|b"]);
    assert_success(&sent);
    let got = recv.finish();
    assert_success(&got);
    assert_eq!(got.stdout(), "70656572 61 62\n");
}

#[test]
fn send_count_repeats_the_arguments() {
    let (recv, ep) = start_bound(&["recv", "-n", "5"], &ipc("count"));
    assert_success(&run(&["send", "-c", &ep, "-n", "5", "x", "y"]));
    let got = recv.finish();
    assert_success(&got);
    assert_eq!(got.stdout(), "x\ny\nx\ny\nx\n");
}

#[test]
fn pub_sub_with_a_topic_filter() {
    // The SUB binds first; the PUB connects and waits (--delay) for the subscription to
    // reach it before publishing.
    let (sub, ep) = start_bound(&["sub", "--subscribe", "weather", "-n", "2"], "tcp://127.0.0.1:*");
    let published = run(&["pub", "-c", &ep, "-d", "1000", "sport 1", "weather 2", "sport 3", "weather 4"]);
    assert_success(&published);
    let got = sub.finish();
    assert_success(&got);
    assert_eq!(got.stdout(), "weather 2\nweather 4\n");
}

#[test]
fn xsub_subscribes_by_message() {
    let (sub, ep) = start_bound(&["recv", "-t", "xsub", "--subscribe", "b", "-n", "1"], &ipc("xsub"));
    assert_success(&run(&["send", "-t", "xpub", "-c", &ep, "-d", "1000", "a", "b"]));
    let got = sub.finish();
    assert_success(&got);
    assert_eq!(got.stdout(), "b\n");
}

#[test]
fn req_rep_echo() {
    let (rep, ep) = start_bound(&["rep", "-n", "2"], "tcp://127.0.0.1:*");
    let req = run(&["req", "-c", &ep, "hello", "world"]);
    assert_success(&req);
    assert_eq!(req.stdout(), "hello\nworld\n");
    let rep = rep.finish();
    assert_success(&rep);
    assert_eq!(rep.stdout(), "hello\nworld\n", "rep prints the requests");
}

#[test]
fn rep_exec_replies_with_the_command_output() {
    let (rep, ep) = start_bound(&["rep", "-q", "-n", "3", "-s", "|", "--exec", "tr a-z A-Z"], &ipc("exec"));
    let req = run_with_stdin(&["req", "-c", &ep, "-s", "|"], b"hello\ntwo|frames\n\n");
    assert_success(&req);
    assert_eq!(req.stdout(), "HELLO\nTWO|FRAMES\n\n");
    let rep = rep.finish();
    assert_success(&rep);
    assert_eq!(rep.stdout(), "", "-q prints nothing");
}

#[test]
fn recv_timeout_exits_1() {
    let o = run(&["recv", "-b", &ipc("timeout"), "--timeout", "200"]);
    assert_eq!(o.code, Some(1), "{o:?}");
    assert!(o.stdout.is_empty());
    assert!(o.stderr.contains("oxmq recv: timed out"), "{}", o.stderr);

    // Fewer than --count messages: exit 1 too, after printing what came.
    let (recv, ep) = start_bound(&["recv", "-n", "2", "--timeout", "1500"], &ipc("timeout2"));
    assert_success(&run(&["send", "-c", &ep, "only"]));
    let o = recv.finish();
    assert_eq!(o.code, Some(1), "{o:?}");
    assert_eq!(o.stdout(), "only\n");
    assert!(o.stderr.contains("received 1 of 2"), "{}", o.stderr);
}

#[test]
fn req_without_reply_times_out() {
    let o = run(&["req", "-c", &ipc("nobody"), "--timeout", "200", "ping"]);
    assert_eq!(o.code, Some(1), "{o:?}");
    assert!(o.stderr.contains("no reply to request 1"), "{}", o.stderr);
}

#[test]
fn setup_errors_exit_2_with_a_clear_message() {
    for (args, want) in [
        (&["recv", "-b", "bogus://x"][..], "oxmq recv: cannot bind to \"bogus://x\""),
        (&["send", "-c", "tcp://no-port"], "oxmq send: cannot connect to \"tcp://no-port\""),
        (&["recv", "-t", "ruoter", "-b", "ipc://@x"], "unknown socket type \"ruoter\""),
        (&["recv"], "--bind <ENDPOINT>|--connect <ENDPOINT>"),
        (&["send", "-t", "pull", "-c", "ipc://@x"], "a PULL socket cannot send"),
        (&["recv", "-t", "push", "-c", "ipc://@x"], "a PUSH socket cannot receive"),
        (&["recv", "--subscribe", "x", "-c", "ipc://@x"], "--subscribe needs a SUB or XSUB socket"),
        (&["send", "-s", "", "-c", "ipc://@x"], "the separator must not be empty"),
        (&["recv", "-f", "xml", "-c", "ipc://@x"], "invalid value 'xml'"),
    ] {
        let o = run(args);
        assert_eq!(o.code, Some(2), "{args:?}: {o:?}");
        assert!(o.stderr.contains(want), "{args:?}: {}", o.stderr);
    }

    // A port in use.
    let (holder, ep) = start_bound(&["recv", "-n", "1"], "tcp://127.0.0.1:*");
    let o = run(&["recv", "-b", &ep]);
    assert_eq!(o.code, Some(2), "{o:?}");
    assert!(o.stderr.contains("address already in use"), "{}", o.stderr);
    assert_success(&run(&["send", "-c", &ep, "bye"]));
    assert_success(&holder.finish());
}

#[test]
fn help_has_examples_and_exit_codes() {
    let o = run(&["--help"]);
    assert_success(&o);
    let help = o.stdout();
    assert!(help.contains("Examples:") && help.contains("Exit codes:"), "{help}");
    for cmd in ["send", "recv", "pub", "sub", "req", "rep", "proxy", "monitor"] {
        let o = run(&[cmd, "--help"]);
        assert_success(&o);
        assert!(o.stdout().contains("Examples:"), "oxmq {cmd} --help: {}", o.stdout());
    }
}

#[test]
fn proxy_brokers_requests_with_capture_and_control() {
    let (proxy, eps) = Proc::start(
        &[
            "proxy",
            "router@tcp://127.0.0.1:*",
            "dealer@tcp://127.0.0.1:*",
            "--capture",
            &format!("push@{}", ipc("capture")),
            "--control",
            &format!("rep@{}", ipc("control")),
            "-v",
        ],
        None,
        4,
    );
    let [front, back, capture, control] = <[String; 4]>::try_from(eps).unwrap();
    // The capture PUSH holds messages until this reader connects.
    let (captured, _) = Proc::start(&["recv", "-c", &capture, "-n", "4", "-s", "|"], None, 0);
    let (rep, _) = Proc::start(&["rep", "-c", &back, "-q", "-n", "2", "--exec", "tr a-z A-Z"], None, 0);
    let req = run(&["req", "-c", &front, "--routing-id", "client", "hello", "world"]);
    assert_success(&req);
    assert_eq!(req.stdout(), "HELLO\nWORLD\n");
    assert_success(&rep.finish());
    // Each request and each reply, with the ROUTER's envelope (routing id, empty delimiter).
    let captured = captured.finish();
    assert_success(&captured);
    assert_eq!(captured.stdout(), "client||hello\nclient||HELLO\nclient||world\nclient||WORLD\n");
    // TERMINATE on the control socket ends the proxy with exit 0.
    let stop = run(&["req", "-c", &control, "TERMINATE"]);
    assert_success(&stop);
    assert_success(&proxy.finish());
}

#[test]
fn proxy_spec_errors_exit_2() {
    for (args, want) in [
        (&["proxy", "router:tcp://*:1", "dealer@ipc://@x"][..], "bad socket spec \"router:tcp://*:1\""),
        (&["proxy", "router@ipc://@x", "bogus@ipc://@y"], "unknown socket type \"bogus\""),
        (&["proxy", "router@ipc://@x", "dealer@ipc://@y", "--capture", "pull@ipc://@z"], "capture socket"),
        (&["proxy", "router@bogus://x", "dealer@ipc://@y"], "frontend: cannot bind to \"bogus://x\""),
    ] {
        let o = run(args);
        assert_eq!(o.code, Some(2), "{args:?}: {o:?}");
        assert!(o.stderr.contains(want), "{args:?}: {}", o.stderr);
    }
}

#[test]
fn monitor_prints_the_events_of_a_connection() {
    let (monitor, ep) = start_bound(&["monitor", "-t", "pull", "-n", "4", "--timeout", "20000"], "tcp://127.0.0.1:*");
    assert_success(&run(&["send", "-c", &ep, "hi"]));
    let o = monitor.finish();
    assert_success(&o);
    let lines: Vec<Vec<String>> = o.stdout().lines().map(|l| l.split('\t').map(str::to_string).collect()).collect();
    let names: Vec<&str> = lines.iter().map(|f| f[0].as_str()).collect();
    assert_eq!(names, ["LISTENING", "ACCEPTED", "HANDSHAKE_SUCCEEDED", "DISCONNECTED"], "{}", o.stdout());
    for f in &lines {
        assert_eq!(f.len(), 3, "{f:?}");
        assert!(f[1].parse::<u32>().is_ok(), "{f:?}");
        assert_eq!(f[2], ep);
    }
    assert_eq!(lines[2][1], "0", "HANDSHAKE_SUCCEEDED has value 0");
}

#[test]
fn monitor_json_with_an_event_filter() {
    // Nobody listens there: the connect fails and is retried after RECONNECT_IVL (100 ms) plus
    // a random part below it.
    let ep = ipc("nobody-listens");
    let o = run(&["monitor", "-t", "push", "-c", &ep, "-e", "connect_retried", "-f", "json", "-n", "2"]);
    assert_success(&o);
    let out = o.stdout();
    let lines: Vec<&str> = out.lines().collect();
    assert_eq!(lines.len(), 2, "{out}");
    for line in lines {
        let v: serde_json::Value = serde_json::from_str(line).unwrap();
        assert_eq!(v["event"], "CONNECT_RETRIED", "{line}");
        assert_eq!(v["endpoint"], ep.as_str(), "{line}");
        let ivl = v["value"].as_u64().unwrap();
        assert!((100..200).contains(&ivl), "{line}");
        assert_eq!(v.as_object().unwrap().len(), 3, "{line}");
    }

    let o = run(&["monitor", "-t", "pull", "-b", &ipc("quiet"), "-e", "accepted", "--timeout", "200"]);
    assert_eq!(o.code, Some(1), "{o:?}");
    assert!(o.stderr.contains("oxmq monitor: timed out"), "{}", o.stderr);
    let o = run(&["monitor", "-t", "pull", "-b", &ipc("x"), "-e", "bogus"]);
    assert_eq!(o.code, Some(2), "{o:?}");
    assert!(o.stderr.contains("unknown event \"bogus\""), "{}", o.stderr);
}
