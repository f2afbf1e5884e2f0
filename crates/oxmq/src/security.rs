//! Security utilities, as libzmq's: Z85 (`zmq_z85_encode`/`zmq_z85_decode`, RFC 32), CURVE
//! key pairs (`zmq_curve_keypair`, `zmq_curve_public`), `zmq_has` and `zmq_version`. The mechanisms
//! themselves are in `oxmq_wire`; their options are the socket's (`set_curve_server`, ...).

use zeroize::Zeroizing;

use crate::error::{Error, Result};

/// Z85-encode `data`, whose length must be a multiple of 4 (as libzmq's `zmq_z85_encode`).
pub fn z85_encode(data: &[u8]) -> Result<String> {
    oxmq_wire::z85_encode(data).map_err(|e| Error::InvalidArgument(format!("Z85: {e}")))
}

/// Decode Z85 `text`, whose length must be a multiple of 5 (as libzmq's `zmq_z85_decode`).
pub fn z85_decode(text: &str) -> Result<Vec<u8>> {
    oxmq_wire::z85_decode(text).map_err(|e| Error::InvalidArgument(format!("Z85: {e}")))
}

/// A new CURVE key pair from the OS random source, as 40 Z85 characters each: the public
/// key, then the secret key (zeroized when dropped).
pub fn curve_keypair() -> Result<(String, Zeroizing<String>)> {
    oxmq_wire::curve_keypair().map_err(|e| Error::Io(std::io::Error::other(e.to_string())))
}

/// The public key (Z85) of the secret key `secret` (Z85), as `zmq_curve_public`.
pub fn curve_public(secret: &str) -> Result<String> {
    oxmq_wire::curve_public(secret).map_err(|e| Error::InvalidArgument(format!("CURVE secret key: {e}")))
}

/// The libzmq API version oxmq implements, as `zmq_version` reports it: (major, minor,
/// patch) = (4, 3, 5). The protocol (ZMTP 3.1), the options and the behaviour follow that
/// libzmq; oxmq's own crate version is `env!("CARGO_PKG_VERSION")` of the crate.
pub fn version() -> (i32, i32, i32) {
    (4, 3, 5)
}

/// Does this build have `capability`, as libzmq's `zmq_has`? Transports: `ipc` (yes); `pgm`,
/// `tipc`, `norm` (no). Security: `curve` (yes), `gssapi` (no). `draft`: no.
pub fn has(capability: &str) -> bool {
    matches!(capability, "ipc" | "curve")
}
