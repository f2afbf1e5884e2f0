//! The one error type of the library, with libzmq's errno meaning behind each variant.

use std::io;

/// Everything that can go wrong in an oxmq call.
///
/// Each variant maps to the libzmq errno a C program would see ([`Error::errno`]), so the
/// future C ABI can report it unchanged.
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// The call would block (non-blocking call, or SNDTIMEO/RCVTIMEO expired). `EAGAIN`.
    #[error("resource temporarily unavailable: the call would block or its timeout expired")]
    Again,
    /// The socket type's state machine forbids this call now, e.g. a REQ socket sending twice
    /// without receiving the reply. `EFSM`.
    #[error("operation cannot be accomplished in the socket's current state: {0}")]
    State(&'static str),
    /// The context was terminated; close the socket. `ETERM`.
    #[error("the context was terminated")]
    ContextTerminated,
    /// No connected peer has that routing id (a ROUTER with ROUTER_MANDATORY set, or a
    /// STREAM). `EHOSTUNREACH`.
    #[error("no route to the peer with that routing id (ROUTER_MANDATORY, or STREAM)")]
    HostUnreachable,
    /// `EADDRINUSE`.
    #[error("address already in use: {0}")]
    AddrInUse(String),
    /// `EADDRNOTAVAIL`: no such local interface or address.
    #[error("address not available: {0}")]
    AddrNotAvailable(String),
    /// The endpoint string could not be parsed. `EINVAL`.
    #[error("invalid endpoint: {0}")]
    InvalidEndpoint(String),
    /// The transport in the endpoint is not supported. `EPROTONOSUPPORT`.
    #[error("transport not supported: {0}")]
    ProtocolNotSupported(String),
    /// The two socket types cannot talk to each other (e.g. inproc REQ to REQ). `ENOCOMPATPROTO`.
    #[error("socket types are not compatible: {0}")]
    IncompatibleProtocol(String),
    /// A message exceeds MAXMSGSIZE. `EMSGSIZE`.
    #[error("message too large")]
    MessageTooLarge,
    /// A bad argument, e.g. an out-of-range option value. `EINVAL`.
    #[error("invalid argument: {0}")]
    InvalidArgument(String),
    /// The operation is not supported by this socket type (e.g. recv on PUSH). `ENOTSUP`.
    #[error("operation not supported: {0}")]
    NotSupported(String),
    /// unbind/disconnect of an endpoint that was never bound/connected. `ENOENT`.
    #[error("endpoint not found: {0}")]
    EndpointNotFound(String),
    /// Any other operating-system error.
    #[error("I/O error: {0}")]
    Io(#[from] io::Error),
}

/// libzmq's own errno values for the errors POSIX does not have.
mod zmq_errno {
    const HAUSNUMERO: i32 = 156_384_712;
    pub const EFSM: i32 = HAUSNUMERO + 51;
    pub const ENOCOMPATPROTO: i32 = HAUSNUMERO + 52;
    pub const ETERM: i32 = HAUSNUMERO + 53;
}

impl Error {
    /// The errno libzmq would set for this error.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Again => 11,                 // EAGAIN
            Error::State(_) => zmq_errno::EFSM, // EFSM
            Error::ContextTerminated => zmq_errno::ETERM,
            Error::HostUnreachable => 113, // EHOSTUNREACH
            Error::AddrInUse(_) => 98,     // EADDRINUSE
            Error::AddrNotAvailable(_) => 99,
            Error::InvalidEndpoint(_) | Error::InvalidArgument(_) => 22, // EINVAL
            Error::ProtocolNotSupported(_) => 93,                        // EPROTONOSUPPORT
            Error::IncompatibleProtocol(_) => zmq_errno::ENOCOMPATPROTO,
            Error::MessageTooLarge => 90,    // EMSGSIZE
            Error::NotSupported(_) => 95,    // ENOTSUP
            Error::EndpointNotFound(_) => 2, // ENOENT
            Error::Io(e) => e.raw_os_error().unwrap_or(5),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
