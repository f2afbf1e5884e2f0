//! The SOCKS5 client of SOCKS_PROXY (RFC 1928): no authentication, the CONNECT command. Every
//! byte the proxy sends is checked; anything but the expected answer costs the connection (the
//! connecter then retries after RECONNECT_IVL, as after a refused connect).

use std::io::{Error, ErrorKind};
use std::net::IpAddr;

use tokio::io::{AsyncReadExt, AsyncWriteExt};

const VERSION: u8 = 5;
const NO_AUTH: u8 = 0;
const NO_ACCEPTABLE: u8 = 0xff;
const CONNECT: u8 = 1;
const ATYP_V4: u8 = 1;
const ATYP_DOMAIN: u8 = 3;
const ATYP_V6: u8 = 4;

fn bad(why: impl Into<String>) -> Error {
    Error::new(ErrorKind::InvalidData, format!("SOCKS5 proxy: {}", why.into()))
}

/// A SOCKS_PROXY value: `host:port` or `[v6]:port`.
pub(crate) fn parse_proxy(proxy: &str) -> std::io::Result<(String, u16)> {
    let invalid = || Error::new(ErrorKind::InvalidInput, format!("SOCKS_PROXY {proxy:?} is not host:port"));
    let (host, port) = proxy.rsplit_once(':').ok_or_else(invalid)?;
    let host = match host.strip_prefix('[') {
        Some(h) => h.strip_suffix(']').ok_or_else(invalid)?,
        None => host,
    };
    if host.is_empty() || port.is_empty() || !port.bytes().all(|b| b.is_ascii_digit()) {
        return Err(invalid());
    }
    let port = port.parse().map_err(|_| invalid())?;
    Ok((host.to_string(), port))
}

/// The CONNECT request for `host:port`: an IP address as one, any other name as a domain name
/// for the proxy to resolve.
fn connect_request(host: &str, port: u16) -> std::io::Result<Vec<u8>> {
    let mut req = vec![VERSION, CONNECT, 0];
    match host.parse::<IpAddr>() {
        Ok(IpAddr::V4(a)) => {
            req.push(ATYP_V4);
            req.extend_from_slice(&a.octets());
        }
        Ok(IpAddr::V6(a)) => {
            req.push(ATYP_V6);
            req.extend_from_slice(&a.octets());
        }
        Err(_) => {
            let name = host.as_bytes();
            if name.is_empty() || name.len() > 255 {
                return Err(Error::new(ErrorKind::InvalidInput, "SOCKS5: a host name is 1 to 255 bytes"));
            }
            req.push(ATYP_DOMAIN);
            req.push(name.len() as u8);
            req.extend_from_slice(name);
        }
    }
    req.extend_from_slice(&port.to_be_bytes());
    Ok(req)
}

/// RFC 1928's reply codes, for the error.
fn reply_text(code: u8) -> &'static str {
    match code {
        1 => "general SOCKS server failure",
        2 => "connection not allowed by ruleset",
        3 => "network unreachable",
        4 => "host unreachable",
        5 => "connection refused",
        6 => "TTL expired",
        7 => "command not supported",
        8 => "address type not supported",
        _ => "unknown reply code",
    }
}

/// Ask the proxy at the other end of `s` to connect to `host:port`; on success `s` carries
/// the target's bytes from here on.
pub(crate) async fn handshake<S: AsyncReadExt + AsyncWriteExt + Unpin>(
    s: &mut S,
    host: &str,
    port: u16,
) -> std::io::Result<()> {
    let request = connect_request(host, port)?;
    s.write_all(&[VERSION, 1, NO_AUTH]).await?;
    let mut choice = [0u8; 2];
    s.read_exact(&mut choice).await?;
    match choice {
        [VERSION, NO_AUTH] => {}
        [VERSION, NO_ACCEPTABLE] => return Err(bad("it requires authentication")),
        [VERSION, m] => return Err(bad(format!("it chose method {m}, which was not offered"))),
        [v, _] => return Err(bad(format!("it answered with version {v}"))),
    }
    s.write_all(&request).await?;
    let mut head = [0u8; 4];
    s.read_exact(&mut head).await?;
    let [ver, rep, rsv, atyp] = head;
    if ver != VERSION {
        return Err(bad(format!("it answered with version {ver}")));
    }
    if rep != 0 {
        return Err(Error::new(
            ErrorKind::ConnectionRefused,
            format!("SOCKS5 proxy: {} (reply {rep})", reply_text(rep)),
        ));
    }
    if rsv != 0 {
        return Err(bad("a reply with a non-zero reserved byte"));
    }
    // The bound address, which a client has no use for, then the port.
    let len = match atyp {
        ATYP_V4 => 4,
        ATYP_V6 => 16,
        ATYP_DOMAIN => {
            let n = s.read_u8().await?;
            if n == 0 {
                return Err(bad("an empty bound host name"));
            }
            n as usize
        }
        other => return Err(bad(format!("address type {other}"))),
    };
    let mut rest = vec![0u8; len + 2];
    s.read_exact(&mut rest).await?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    async fn against(reply: &[u8], host: &str) -> (std::io::Result<()>, Vec<u8>) {
        let (mut client, mut proxy) = tokio::io::duplex(1024);
        proxy.write_all(reply).await.unwrap();
        // All the proxy says: a reply cut short ends in end-of-file.
        proxy.shutdown().await.unwrap();
        let r = handshake(&mut client, host, 5555).await;
        drop(client);
        let mut sent = Vec::new();
        proxy.read_to_end(&mut sent).await.unwrap();
        (r, sent)
    }

    #[tokio::test]
    async fn a_domain_name_is_sent_for_the_proxy_to_resolve_and_an_ip_as_one() {
        let ok_v4 = [5, 0, 5, 0, 0, 1, 127, 0, 0, 1, 0x1f, 0x90];
        let (r, sent) = against(&ok_v4, "example.org").await;
        r.unwrap();
        let mut want = vec![5, 1, 0, 5, 1, 0, 3, 11];
        want.extend_from_slice(b"example.org");
        want.extend_from_slice(&5555u16.to_be_bytes());
        assert_eq!(sent, want);
        let (r, sent) = against(&ok_v4, "10.1.2.3").await;
        r.unwrap();
        assert_eq!(sent, [5, 1, 0, 5, 1, 0, 1, 10, 1, 2, 3, 0x15, 0xb3]);
        let (r, sent) = against(&ok_v4, "::1").await;
        r.unwrap();
        assert_eq!(sent[6], ATYP_V6);
        assert_eq!(sent.len(), 6 + 1 + 16 + 2);
        // A reply naming a domain as the bound address is read whole.
        let mut domain = vec![5, 0, 5, 0, 0, 3, 4];
        domain.extend_from_slice(b"host\x00\x01");
        against(&domain, "x").await.0.unwrap();
    }

    #[tokio::test]
    async fn anything_but_the_expected_answer_is_an_error() {
        for (reply, what) in [
            (&[4u8, 0][..], "version"),
            (&[5, 0xff], "authentication"),
            (&[5, 2], "method 2"),
            (&[5, 0, 5, 5, 0, 1, 0, 0, 0, 0, 0, 0], "connection refused"),
            (&[5, 0, 4, 0, 0, 1, 0, 0, 0, 0, 0, 0], "version 4"),
            (&[5, 0, 5, 0, 1, 1, 0, 0, 0, 0, 0, 0], "reserved"),
            (&[5, 0, 5, 0, 0, 9, 0, 0, 0, 0, 0, 0], "address type 9"),
            (&[5, 0, 5, 0, 0, 3, 0], "empty bound host"),
            // Cut short: the proxy closed the connection mid-reply.
            (&[5, 0, 5, 0, 0, 1, 127], "eof"),
            (&[5], "eof"),
        ] {
            let err = against(reply, "example.org").await.0.unwrap_err().to_string();
            let expected = if what == "eof" { "eof" } else { what };
            assert!(err.to_lowercase().contains(expected), "{reply:?}: {err}");
        }
    }

    #[test]
    fn proxy_addresses_are_host_and_port() {
        assert_eq!(parse_proxy("127.0.0.1:1080").unwrap(), ("127.0.0.1".into(), 1080));
        assert_eq!(parse_proxy("proxy.example:9050").unwrap(), ("proxy.example".into(), 9050));
        assert_eq!(parse_proxy("[::1]:1080").unwrap(), ("::1".into(), 1080));
        for bad in ["", "host", "host:", ":1080", "host:port", "host:70000", "[::1:1080", "host:+1"] {
            assert!(parse_proxy(bad).is_err(), "{bad}");
        }
    }
}
