//! `oxmq keygen`: a new CURVE key pair, as libzmq's `zmq_curve_keypair` makes it.

use std::io::Write;

use super::{CmdResult, Exit};

/// Print a new key pair: the public key on the first line, the secret key on the second, both
/// in Z85 (40 characters), and nothing else on stdout.
pub fn keygen() -> CmdResult {
    let (public, secret) = oxmq::curve_keypair().map_err(|e| Exit::setup(format!("cannot make a key pair: {e}")))?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "{public}\n{}", secret.as_str()).map_err(|e| Exit::setup(format!("cannot write the keys: {e}")))?;
    Ok(())
}
