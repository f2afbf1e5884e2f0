//! TCP: listeners and connections, with libzmq's socket settings.

use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket as RawSocket, TcpKeepalive, Type};
use tokio::net::{TcpListener, TcpStream};

use super::endpoint::{resolve, tcp_bind_addr};
use crate::error::{Error, Result};
use crate::options::Options;

/// Bind a listener (must be called inside the runtime's context).
pub(crate) fn bind(host: &str, port: u16, opts: &Options) -> Result<(TcpListener, SocketAddr)> {
    let addr = tcp_bind_addr(host, port, opts.ipv6)?;
    let sock = RawSocket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // `*` with IPV6 on means every interface, IPv4 included.
        let _ = sock.set_only_v6(false);
    }
    sock.set_reuse_address(true)?;
    sock.bind(&addr.into()).map_err(|e| match e.kind() {
        std::io::ErrorKind::AddrInUse => Error::AddrInUse(addr.to_string()),
        std::io::ErrorKind::AddrNotAvailable => Error::AddrNotAvailable(addr.to_string()),
        _ => Error::Io(e),
    })?;
    sock.listen(opts.backlog.max(1))?;
    sock.set_nonblocking(true)?;
    let listener = TcpListener::from_std(sock.into())?;
    let local = listener.local_addr()?;
    Ok((listener, local))
}

/// Connect to the first address of `host` that answers.
pub(crate) async fn connect(host: &str, port: u16, opts: &Options) -> std::io::Result<TcpStream> {
    let addrs = match host.parse() {
        Ok(ip) => vec![SocketAddr::new(ip, port)],
        Err(_) => {
            let (h, ipv6) = (host.to_string(), opts.ipv6);
            tokio::task::spawn_blocking(move || resolve(&h, port, ipv6))
                .await
                .map_err(std::io::Error::other)?
                .map_err(std::io::Error::other)?
        }
    };
    let mut last = std::io::Error::new(std::io::ErrorKind::NotFound, format!("{host}: no address"));
    for a in addrs {
        let attempt = TcpStream::connect(a);
        let result = match opts.connect_timeout {
            0 => attempt.await,
            ms => tokio::time::timeout(Duration::from_millis(ms as u64), attempt).await.unwrap_or_else(|_| {
                Err(std::io::Error::new(
                    std::io::ErrorKind::TimedOut,
                    format!("{a}: CONNECT_TIMEOUT ({ms} ms) expired"),
                ))
            }),
        };
        match result {
            Ok(s) => {
                configure(&s, opts);
                return Ok(s);
            }
            Err(e) => last = e,
        }
    }
    Err(last)
}

/// Per-connection settings: no Nagle delay (ZeroMQ batches itself), and the keepalive options.
pub(crate) fn configure(s: &TcpStream, opts: &Options) {
    let _ = s.set_nodelay(true);
    let sock = SockRef::from(s);
    if opts.tcp_keepalive == 1 {
        let mut ka = TcpKeepalive::new();
        if opts.tcp_keepalive_idle > 0 {
            ka = ka.with_time(std::time::Duration::from_secs(opts.tcp_keepalive_idle as u64));
        }
        if opts.tcp_keepalive_intvl > 0 {
            ka = ka.with_interval(std::time::Duration::from_secs(opts.tcp_keepalive_intvl as u64));
        }
        if opts.tcp_keepalive_cnt > 0 {
            ka = ka.with_retries(opts.tcp_keepalive_cnt as u32);
        }
        if let Err(e) = sock.set_tcp_keepalive(&ka) {
            tracing::warn!("cannot set TCP keepalive: {e}");
        }
    } else if opts.tcp_keepalive == 0 {
        let _ = sock.set_keepalive(false);
    }
}
