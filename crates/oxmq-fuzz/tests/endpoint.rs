//! The endpoint entry point's canonical formatting, on the forms the library documents.

use oxmq::fuzzing::{ParsedEndpoint, parse_endpoint};
use oxmq_fuzz::endpoint::format_endpoint;

#[test]
fn documented_endpoints_reformat_to_themselves() {
    for s in [
        "tcp://*:5555",
        "tcp://127.0.0.1:*",
        "tcp://[::1]:80",
        "tcp://localhost:1",
        "ipc:///tmp/a.sock",
        "ipc://@name",
        "ipc://*",
        "inproc://x",
    ] {
        let e = parse_endpoint(s).unwrap();
        assert_eq!(format_endpoint(&e), s);
        oxmq_fuzz::endpoint(s.as_bytes());
    }
    // Equivalent spellings parse to the same endpoint and have one canonical form.
    for (s, canonical) in [("tcp://::1:5", "tcp://[::1]:5"), ("tcp://h:0", "tcp://h:*"), ("tcp://h:+7", "tcp://h:7")] {
        let e = parse_endpoint(s).unwrap();
        assert_eq!(format_endpoint(&e), canonical, "{s}");
        assert_eq!(parse_endpoint(canonical).unwrap(), e);
        oxmq_fuzz::endpoint(s.as_bytes());
    }
    assert_eq!(parse_endpoint("tcp://[::1]:80").unwrap(), ParsedEndpoint::Tcp { host: "::1".into(), port: 80 });
}
