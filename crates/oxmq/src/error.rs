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
    /// The socket was closed ([`SocketBase::close`](crate::SocketBase::close)) by another
    /// call. `ENOTSOCK`.
    #[error("the socket was closed")]
    Closed,
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

/// The errno values libzmq reports, in calls ([`Error::errno`]) and in monitor events: POSIX's
/// (Linux numbering) and libzmq's own for the errors POSIX does not have. The one table.
pub(crate) mod errno {
    pub const ENOENT: i32 = 2;
    pub const EIO: i32 = 5;
    pub const EFAULT: i32 = 14;
    pub const EAGAIN: i32 = 11;
    pub const EINVAL: i32 = 22;
    pub const EPIPE: i32 = 32;
    pub const ENOTSOCK: i32 = 88;
    pub const EMSGSIZE: i32 = 90;
    pub const EPROTONOSUPPORT: i32 = 93;
    pub const ENOTSUP: i32 = 95;
    pub const EADDRINUSE: i32 = 98;
    pub const EADDRNOTAVAIL: i32 = 99;
    pub const EHOSTUNREACH: i32 = 113;
    pub const EINPROGRESS: i32 = 115;
    /// libzmq's base for its own errno values.
    const HAUSNUMERO: i32 = 156_384_712;
    pub const EFSM: i32 = HAUSNUMERO + 51;
    pub const ENOCOMPATPROTO: i32 = HAUSNUMERO + 52;
    pub const ETERM: i32 = HAUSNUMERO + 53;
}

impl Error {
    /// The errno libzmq would set for this error.
    pub fn errno(&self) -> i32 {
        match self {
            Error::Again => errno::EAGAIN,
            Error::State(_) => errno::EFSM,
            Error::ContextTerminated => errno::ETERM,
            Error::Closed => errno::ENOTSOCK,
            Error::HostUnreachable => errno::EHOSTUNREACH,
            Error::AddrInUse(_) => errno::EADDRINUSE,
            Error::AddrNotAvailable(_) => errno::EADDRNOTAVAIL,
            Error::InvalidEndpoint(_) | Error::InvalidArgument(_) => errno::EINVAL,
            Error::ProtocolNotSupported(_) => errno::EPROTONOSUPPORT,
            Error::IncompatibleProtocol(_) => errno::ENOCOMPATPROTO,
            Error::MessageTooLarge => errno::EMSGSIZE,
            Error::NotSupported(_) => errno::ENOTSUP,
            Error::EndpointNotFound(_) => errno::ENOENT,
            Error::Io(e) => e.raw_os_error().unwrap_or(errno::EIO),
        }
    }
}

/// `Result` with [`Error`].
pub type Result<T> = std::result::Result<T, Error>;
