//! The `endpoint` entry point: the endpoint parser every bind and connect goes through
//! (`transport::endpoint::parse`, reached through `oxmq::fuzzing`).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use oxmq::Error;
use oxmq::fuzzing::{ParsedEndpoint, parse_endpoint, tcp_string};

/// The canonical string of a parsed endpoint: what a person would write for it.
pub fn format_endpoint(e: &ParsedEndpoint) -> String {
    match e {
        ParsedEndpoint::Tcp { host, port } => {
            let port = if *port == 0 { "*".to_string() } else { port.to_string() };
            if host.parse::<Ipv6Addr>().is_ok() {
                format!("tcp://[{host}]:{port}")
            } else {
                format!("tcp://{host}:{port}")
            }
        }
        ParsedEndpoint::IpcPath(p) => format!("ipc://{}", p.to_str().expect("parsed from a str")),
        ParsedEndpoint::IpcAbstract(name) => format!("ipc://@{name}"),
        ParsedEndpoint::IpcWildcard => "ipc://*".to_string(),
        ParsedEndpoint::Inproc(name) => format!("inproc://{name}"),
    }
}

/// The endpoint parser, on the input as UTF-8 (when it is) and as lossy UTF-8.
///
/// Checks: no panic; an error is one of the three kinds the parser reports
/// (`InvalidEndpoint`, `NotSupported`, `ProtocolNotSupported`) and names the endpoint; a
/// success has a non-empty host/path/name, a scheme of `tcp://`, `ipc://` or `inproc://`
/// that the input starts with, and re-formats ([`format_endpoint`]) to a string that parses
/// to the same endpoint; ipc and inproc endpoints re-format to the input itself; a tcp
/// endpoint whose host is an IP literal goes through LAST_ENDPOINT's formatting
/// (`tcp_string`) and back to the same address.
pub fn endpoint(data: &[u8]) {
    crate::alloc_scope(data.len(), || {
        if let Ok(s) = std::str::from_utf8(data) {
            endpoint_str(s);
        }
        endpoint_str(&String::from_utf8_lossy(data));
    });
}

fn endpoint_str(s: &str) {
    let e = match parse_endpoint(s) {
        Ok(e) => e,
        Err(Error::InvalidEndpoint(why) | Error::NotSupported(why) | Error::ProtocolNotSupported(why)) => {
            assert!(why.starts_with(&format!("{s:?}")), "the error does not name the endpoint: {why}");
            return;
        }
        Err(other) => panic!("{s:?}: unexpected error kind {other:?}"),
    };
    let again = format_endpoint(&e);
    assert_eq!(parse_endpoint(&again).ok().as_ref(), Some(&e), "{s:?} re-formatted as {again:?}");
    match &e {
        ParsedEndpoint::Tcp { host, port } => {
            assert!(s.starts_with("tcp://"));
            assert!(!host.is_empty() && !s.contains(';'));
            if let Ok(ip) = host.parse::<IpAddr>() {
                let last = tcp_string(SocketAddr::new(ip, *port));
                match parse_endpoint(&last) {
                    Ok(ParsedEndpoint::Tcp { host: h, port: p }) => {
                        assert_eq!((h.parse::<IpAddr>().ok(), p), (Some(ip), *port), "{last:?}")
                    }
                    other => panic!("LAST_ENDPOINT {last:?} parses to {other:?}"),
                }
            }
        }
        ParsedEndpoint::IpcPath(p) => {
            assert!(!p.as_os_str().is_empty());
            assert_eq!(again, s);
        }
        ParsedEndpoint::IpcAbstract(_) | ParsedEndpoint::IpcWildcard => assert_eq!(again, s),
        ParsedEndpoint::Inproc(name) => {
            assert!(!name.is_empty());
            assert_eq!(again, s);
        }
    }
}
