//! Hooks for the fuzz targets in `crates/oxmq-fuzz` (cargo feature `fuzzing`): crate-private
//! machinery made reachable from outside, unchanged. Not an API: no stability, no docs on
//! docs.rs, and nothing here is compiled without the feature.
//!
//! - [`run_engine`]: the real connection (`session::connection::serve`: handshake, attach,
//!   engine) over any byte stream, as an accepted connection is (a pipe made after the
//!   handshake);
//! - [`socket_seq`] / [`socket_changed`]: wait for the socket's signal, as its own async
//!   receive does, so a driver can drain a socket that cannot receive (PUB) with
//!   [`SocketBase::events`];
//! - [`parse_endpoint`], [`tcp_string`]: the endpoint parser and the LAST_ENDPOINT formatter.

use std::net::SocketAddr;
use std::path::PathBuf;

use tokio::io::{AsyncRead, AsyncWrite};

use crate::engine::{End, EngineConfig};
use crate::error::Result;
use crate::session::connection::{EndpointConfig, serve};
use crate::socket::SocketBase;
use crate::transport::Connection;
use crate::transport::endpoint::{self, Endpoint, IpcAddr};

/// How [`run_engine`] ended (the engine's own reasons, made public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum EngineEnd {
    /// The peer broke the protocol, or is of an incompatible type.
    Protocol(String),
    /// The connection closed or failed.
    Disconnected(String),
    /// The socket closed the pipe and everything queued was written.
    Finished,
}

/// Run the engine `socket` would run for a connection accepted on `endpoint`, over `rd`/`wr`,
/// with the socket's options as they are now. Returns when the engine ends.
pub async fn run_engine<R, W>(socket: &SocketBase, rd: R, wr: W, endpoint: &str) -> EngineEnd
where
    R: AsyncRead + Unpin + Send + 'static,
    W: AsyncWrite + Unpin + Send + Sync + 'static,
{
    let (shared, options) = socket.engine_parts();
    let ep = EndpointConfig {
        engine: EngineConfig {
            socket_type: shared.socket_type,
            options,
            endpoint: endpoint.to_string(),
            stopped: Default::default(),
        },
        socket: shared,
        routing_id_override: None,
        zap: crate::session::zap::ZapClient::none(),
    };
    let conn = Connection {
        rd: crate::transport::Reader::Other(Box::new(rd)),
        wr: crate::transport::Writer::Other(Box::new(wr)),
        fd: 0,
        peer_address: None,
    };
    match serve(conn, &ep, None).await {
        End::Protocol(why) | End::Refused { why, .. } => EngineEnd::Protocol(why),
        End::Disconnected(why) => EngineEnd::Disconnected(why),
        End::Finished => EngineEnd::Finished,
    }
}

/// The socket's signal sequence number: read it before looking at the socket, then
/// [`socket_changed`] waits for anything that happened since.
pub fn socket_seq(socket: &SocketBase) -> u64 {
    socket.signal().seq()
}

/// Completes once the socket's signal has moved past `seen` (a pipe attached or detached, a
/// message arrived, ...).
pub async fn socket_changed(socket: &SocketBase, seen: u64) {
    socket.signal().changed(seen).await
}

/// A parsed endpoint (`transport::endpoint`'s, made public).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ParsedEndpoint {
    /// `host` is `*`, an IP literal (IPv6 without brackets) or a host name; port 0 = any.
    Tcp {
        host: String,
        port: u16,
    },
    IpcPath(PathBuf),
    IpcAbstract(String),
    IpcWildcard,
    Inproc(String),
}

/// The endpoint parser every bind and connect goes through.
pub fn parse_endpoint(s: &str) -> Result<ParsedEndpoint> {
    Ok(match endpoint::parse(s)? {
        Endpoint::Tcp { host, port } => ParsedEndpoint::Tcp { host, port },
        Endpoint::Ipc(IpcAddr::Path(p)) => ParsedEndpoint::IpcPath(p),
        Endpoint::Ipc(IpcAddr::Abstract(name)) => ParsedEndpoint::IpcAbstract(name),
        Endpoint::Ipc(IpcAddr::Wildcard) => ParsedEndpoint::IpcWildcard,
        Endpoint::Inproc(name) => ParsedEndpoint::Inproc(name),
    })
}

/// How LAST_ENDPOINT shows a bound tcp address.
pub fn tcp_string(addr: SocketAddr) -> String {
    endpoint::tcp_string(addr)
}
