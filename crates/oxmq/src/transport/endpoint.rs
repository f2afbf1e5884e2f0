//! Endpoint strings: `tcp://host:port`, `ipc://path`, `ipc://@abstract`, `inproc://name`.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, ToSocketAddrs};
use std::path::PathBuf;

use crate::error::{Error, Result};

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Endpoint {
    /// `host` is `*`, an IP literal (IPv6 without brackets) or a host name; port 0 = any.
    Tcp {
        host: String,
        port: u16,
    },
    Ipc(IpcAddr),
    Inproc(String),
}

#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum IpcAddr {
    Path(PathBuf),
    /// Linux abstract namespace (`ipc://@name`).
    Abstract(String),
    /// `ipc://*`: bind to a fresh path of our choosing.
    Wildcard,
}

pub(crate) fn parse(s: &str) -> Result<Endpoint> {
    let bad = |why: &str| Error::InvalidEndpoint(format!("{s:?}: {why}"));
    let (scheme, rest) =
        s.split_once("://").ok_or_else(|| bad("expected transport://address, e.g. tcp://127.0.0.1:5555"))?;
    match scheme {
        "tcp" => {
            if rest.contains(';') {
                return Err(Error::NotSupported(format!("{s:?}: source addresses (src;dst) are not supported yet")));
            }
            let (host, port) = rest.rsplit_once(':').ok_or_else(|| bad("a tcp endpoint needs host:port"))?;
            let port = match port {
                "*" | "0" => 0,
                p => p.parse::<u16>().map_err(|_| bad("the port must be a number from 1 to 65535, or *"))?,
            };
            let host = if let Some(h) = host.strip_prefix('[') {
                let h = h.strip_suffix(']').ok_or_else(|| bad("unbalanced [ in IPv6 address"))?;
                h.parse::<Ipv6Addr>().map_err(|_| bad("not an IPv6 address inside [ ]"))?;
                h.to_string()
            } else {
                host.to_string()
            };
            if host.is_empty() {
                return Err(bad("the host is empty (use * to bind every interface)"));
            }
            Ok(Endpoint::Tcp { host, port })
        }
        "ipc" => {
            if rest.is_empty() {
                return Err(bad("the ipc path is empty"));
            }
            Ok(Endpoint::Ipc(if rest == "*" {
                IpcAddr::Wildcard
            } else if let Some(name) = rest.strip_prefix('@') {
                IpcAddr::Abstract(name.to_string())
            } else {
                IpcAddr::Path(PathBuf::from(rest))
            }))
        }
        "inproc" => {
            if rest.is_empty() {
                return Err(bad("the inproc name is empty"));
            }
            Ok(Endpoint::Inproc(rest.to_string()))
        }
        "pgm" | "epgm" | "norm" | "udp" | "ws" | "wss" | "tipc" | "vmci" => {
            Err(Error::ProtocolNotSupported(format!("{s:?}: transport {scheme} is not supported yet")))
        }
        _ => Err(Error::ProtocolNotSupported(format!("{s:?}: unknown transport {scheme:?}"))),
    }
}

/// The local address to bind a tcp endpoint to.
pub(crate) fn tcp_bind_addr(host: &str, port: u16, ipv6: bool) -> Result<SocketAddr> {
    if host == "*" {
        let ip = if ipv6 { IpAddr::V6(Ipv6Addr::UNSPECIFIED) } else { IpAddr::V4(Ipv4Addr::UNSPECIFIED) };
        return Ok(SocketAddr::new(ip, port));
    }
    if let Ok(ip) = host.parse::<IpAddr>() {
        return Ok(SocketAddr::new(ip, port));
    }
    resolve(host, port, ipv6)?.into_iter().next().ok_or_else(|| {
        Error::AddrNotAvailable(format!("{host}: no address to bind (interface names are not supported)"))
    })
}

/// Resolve a host name, IPv4 addresses first unless IPv6 is preferred.
pub(crate) fn resolve(host: &str, port: u16, ipv6: bool) -> Result<Vec<SocketAddr>> {
    let mut addrs: Vec<SocketAddr> = (host, port)
        .to_socket_addrs()
        .map_err(|e| Error::AddrNotAvailable(format!("{host}: cannot resolve: {e}")))?
        .collect();
    addrs.sort_by_key(|a| a.is_ipv6() != ipv6);
    Ok(addrs)
}

/// How LAST_ENDPOINT shows a tcp address.
pub(crate) fn tcp_string(addr: SocketAddr) -> String {
    match addr {
        SocketAddr::V4(a) => format!("tcp://{}:{}", a.ip(), a.port()),
        SocketAddr::V6(a) => format!("tcp://[{}]:{}", a.ip(), a.port()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_tcp_forms() {
        assert_eq!(parse("tcp://*:5555").unwrap(), Endpoint::Tcp { host: "*".into(), port: 5555 });
        assert_eq!(parse("tcp://127.0.0.1:*").unwrap(), Endpoint::Tcp { host: "127.0.0.1".into(), port: 0 });
        assert_eq!(parse("tcp://[::1]:80").unwrap(), Endpoint::Tcp { host: "::1".into(), port: 80 });
        assert_eq!(parse("tcp://localhost:1").unwrap(), Endpoint::Tcp { host: "localhost".into(), port: 1 });
    }

    #[test]
    fn parses_ipc_and_inproc() {
        assert_eq!(parse("ipc:///tmp/a.sock").unwrap(), Endpoint::Ipc(IpcAddr::Path("/tmp/a.sock".into())));
        assert_eq!(parse("ipc://@name").unwrap(), Endpoint::Ipc(IpcAddr::Abstract("name".into())));
        assert_eq!(parse("ipc://*").unwrap(), Endpoint::Ipc(IpcAddr::Wildcard));
        assert_eq!(parse("inproc://x").unwrap(), Endpoint::Inproc("x".into()));
    }

    #[test]
    fn refuses_bad_endpoints_with_a_reason() {
        for bad in [
            "",
            "tcp:/x",
            "tcp://host",
            "tcp://h:99999",
            "tcp://h:abc",
            "tcp://:5",
            "tcp://[::1:5",
            "inproc://",
            "ipc://",
        ] {
            assert!(matches!(parse(bad), Err(Error::InvalidEndpoint(_))), "{bad}");
        }
        assert!(matches!(parse("foo://x"), Err(Error::ProtocolNotSupported(_))));
        assert!(matches!(parse("pgm://x"), Err(Error::ProtocolNotSupported(_))));
    }

    #[test]
    fn formats_last_endpoint() {
        assert_eq!(tcp_string("127.0.0.1:5".parse().unwrap()), "tcp://127.0.0.1:5");
        assert_eq!(tcp_string("[::1]:5".parse().unwrap()), "tcp://[::1]:5");
    }
}
