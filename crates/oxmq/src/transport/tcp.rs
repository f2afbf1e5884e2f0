//! TCP: listeners and connections, with libzmq's socket settings.

use std::net::SocketAddr;
use std::time::Duration;

use socket2::{Domain, Protocol, SockRef, Socket as RawSocket, TcpKeepalive, Type};
use tokio::net::{TcpListener, TcpSocket, TcpStream};

use super::endpoint::{resolve, tcp_bind_addr};
use crate::error::{Error, Result};
use crate::options::Options;

/// Bind a listener (must be called inside the runtime's context).
pub(crate) fn bind(
    host: &str,
    port: u16,
    opts: &Options,
    use_fd: Option<&std::sync::Arc<std::os::fd::OwnedFd>>,
) -> Result<(TcpListener, SocketAddr)> {
    if let Some(fd) = use_fd {
        let std = super::adopt_listener(fd, &[Domain::IPV4, Domain::IPV6])?;
        let listener = TcpListener::from_std(std::net::TcpListener::from(std))?;
        let local = listener.local_addr()?;
        return Ok((listener, local));
    }
    let addr = tcp_bind_addr(host, port, opts.ipv6)?;
    let sock = RawSocket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    if addr.is_ipv6() {
        // `*` with IPV6 on means every interface, IPv4 included.
        let _ = sock.set_only_v6(false);
    }
    sock.set_reuse_address(true)?;
    // Accepted connections inherit the buffer sizes (as in libzmq, set on the listener).
    before_bind_or_connect(&SockRef::from(&sock), addr.is_ipv6(), opts)?;
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

/// Connect to `host:port`, through the SOCKS5 proxy of SOCKS_PROXY if one is set.
pub(crate) async fn connect(host: &str, port: u16, opts: &Options) -> std::io::Result<TcpStream> {
    if opts.socks_proxy.is_empty() {
        return connect_direct(host, port, opts).await;
    }
    let (proxy_host, proxy_port) = super::socks::parse_proxy(&opts.socks_proxy)?;
    let mut s = connect_direct(&proxy_host, proxy_port, opts).await?;
    // A proxy that stops answering mid-handshake is given HANDSHAKE_IVL, as a ZMTP peer is.
    let handshake = super::socks::handshake(&mut s, host, port);
    match opts.handshake_ivl {
        0 => handshake.await?,
        ms => tokio::time::timeout(Duration::from_millis(ms as u64), handshake).await.map_err(|_| {
            std::io::Error::new(std::io::ErrorKind::TimedOut, "SOCKS5 proxy: no answer within HANDSHAKE_IVL")
        })??,
    }
    Ok(s)
}

/// Connect to the first address of `host` that answers.
async fn connect_direct(host: &str, port: u16, opts: &Options) -> std::io::Result<TcpStream> {
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
        let sock = if a.is_ipv6() { TcpSocket::new_v6()? } else { TcpSocket::new_v4()? };
        before_bind_or_connect(&SockRef::from(&sock), a.is_ipv6(), opts)?;
        let attempt = sock.connect(a);
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

/// What is set on a socket before it binds or connects, as libzmq sets it: SNDBUF and RCVBUF
/// (when >= 0; the kernel rounds them to its bounds, and a refusal is not an error, as in
/// libzmq), TOS (when not 0) and BINDTODEVICE (when set; its failure, ENODEV for an interface
/// that does not exist, fails the bind or this connect attempt).
pub(crate) fn before_bind_or_connect(sock: &SockRef<'_>, ipv6: bool, opts: &Options) -> std::io::Result<()> {
    if opts.sndbuf >= 0
        && let Err(e) = sock.set_send_buffer_size(opts.sndbuf as usize)
    {
        tracing::warn!("cannot set SNDBUF: {e}");
    }
    if opts.rcvbuf >= 0
        && let Err(e) = sock.set_recv_buffer_size(opts.rcvbuf as usize)
    {
        tracing::warn!("cannot set RCVBUF: {e}");
    }
    set_tos(sock, ipv6, opts.tos);
    if !opts.bindtodevice.is_empty() {
        sock.bind_device(Some(opts.bindtodevice.as_bytes()))?;
    }
    Ok(())
}

/// TOS: IP_TOS, and IPV6_TCLASS on an IPv6 socket (which may carry IPv4 too), when not 0.
fn set_tos(sock: &SockRef<'_>, ipv6: bool, tos: i32) {
    if tos == 0 {
        return;
    }
    let r = if ipv6 {
        // A dual-stack socket's IPv4 traffic takes IP_TOS; an IPv6-only one refuses it.
        let _ = sock.set_tos(tos as u32);
        sock.set_tclass_v6(tos as u32)
    } else {
        sock.set_tos(tos as u32)
    };
    if let Err(e) = r {
        tracing::warn!("cannot set TOS: {e}");
    }
}

/// Per-connection settings: no Nagle delay (ZeroMQ batches itself), the keepalive options,
/// TCP_MAXRT, and (on accepted connections, which do not inherit it) TOS.
pub(crate) fn configure(s: &TcpStream, opts: &Options) {
    let _ = s.set_nodelay(true);
    let sock = SockRef::from(s);
    set_tos(&sock, s.local_addr().is_ok_and(|a| a.is_ipv6()), opts.tos);
    if opts.tcp_maxrt > 0
        && let Err(e) = sock.set_tcp_user_timeout(Some(Duration::from_millis(opts.tcp_maxrt as u64)))
    {
        tracing::warn!("cannot set TCP_MAXRT: {e}");
    }
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

#[cfg(test)]
mod tests {
    use super::*;

    fn opts(f: impl FnOnce(&mut Options)) -> Options {
        let mut o = Options::default();
        f(&mut o);
        o
    }

    /// A connection made by `connect` with `o`, and the other end accepted by a listener
    /// bound with `o` too.
    async fn pair(o: &Options) -> (TcpStream, TcpStream) {
        let (listener, addr) = bind("127.0.0.1", 0, o, None).unwrap();
        let client = connect("127.0.0.1", addr.port(), o).await.unwrap();
        let (server, _) = listener.accept().await.unwrap();
        configure(&server, o);
        (client, server)
    }

    #[tokio::test]
    async fn kernel_settings_reach_both_ends_of_a_connection() {
        let o = opts(|o| {
            o.sndbuf = 8192;
            o.rcvbuf = 16384;
            o.tos = 0x28;
            o.tcp_maxrt = 4321;
        });
        let (client, server) = pair(&o).await;
        for (end, s) in [("connected", &client), ("accepted", &server)] {
            let s = SockRef::from(s);
            // Linux doubles the value given (the other half is its bookkeeping).
            assert_eq!(s.send_buffer_size().unwrap(), 2 * 8192, "{end}");
            assert_eq!(s.recv_buffer_size().unwrap(), 2 * 16384, "{end}");
            assert_eq!(s.tos().unwrap(), 0x28, "{end}");
            assert_eq!(s.tcp_user_timeout().unwrap(), Some(Duration::from_millis(4321)), "{end}");
        }
    }

    #[tokio::test]
    async fn defaults_leave_the_kernels_settings() {
        let (client, server) = pair(&Options::default()).await;
        let (plain, _) = {
            let l = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
            let c = std::net::TcpStream::connect(l.local_addr().unwrap()).unwrap();
            (c, l.accept().unwrap())
        };
        let plain = SockRef::from(&plain);
        for (end, s) in [("connected", &client), ("accepted", &server)] {
            let s = SockRef::from(s);
            assert_eq!(s.send_buffer_size().unwrap(), plain.send_buffer_size().unwrap(), "{end}");
            assert_eq!(s.tos().unwrap(), 0, "{end}");
            assert_eq!(s.tcp_user_timeout().unwrap(), None, "{end}");
            assert_eq!(s.device().unwrap(), None, "{end}");
        }
    }

    #[tokio::test]
    async fn bindtodevice_binds_both_ends_and_an_unknown_device_fails_the_bind() {
        let o = opts(|o| o.bindtodevice = "lo".into());
        let (listener, _) = match bind("127.0.0.1", 0, &o, None) {
            Ok(l) => l,
            Err(Error::Io(e)) if e.raw_os_error() == Some(1) => return, // EPERM: no CAP_NET_RAW here
            Err(e) => panic!("{e}"),
        };
        assert_eq!(SockRef::from(&listener).device().unwrap().as_deref(), Some(&b"lo"[..]));
        let (client, _) = pair(&o).await;
        assert_eq!(SockRef::from(&client).device().unwrap().as_deref(), Some(&b"lo"[..]));
        let nowhere = opts(|o| o.bindtodevice = "oxmq-none0".into());
        match bind("127.0.0.1", 0, &nowhere, None) {
            Err(Error::Io(e)) => assert_eq!(e.raw_os_error(), Some(19), "ENODEV, as libzmq: {e}"),
            other => panic!("{:?}", other.map(|_| ())),
        }
        let e = connect("127.0.0.1", 9, &nowhere).await.unwrap_err();
        assert_eq!(e.raw_os_error(), Some(19), "{e}");
    }
}
