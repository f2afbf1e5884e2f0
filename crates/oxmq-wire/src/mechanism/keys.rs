//! CURVE keys (Curve25519, 32 bytes; 40 characters in Z85) and the OS
//! random source they come from.

use crypto_box::aead::rand_core::RngCore;
use subtle::ConstantTimeEq;
use zeroize::Zeroizing;

use crate::WireError;
use crate::z85::{Z85Error, z85_decode, z85_encode};

/// Length of a CURVE key in bytes.
pub const CURVE_KEY_LEN: usize = 32;
/// Length of a CURVE key in Z85 characters.
pub const CURVE_KEY_Z85_LEN: usize = 40;

/// `N` bytes from the operating system's random source.
pub(crate) fn random<const N: usize>() -> Result<Zeroizing<[u8; N]>, WireError> {
    let mut out = Zeroizing::new([0u8; N]);
    crypto_box::aead::OsRng
        .try_fill_bytes(&mut out[..])
        .map_err(|_| WireError::Cryptographic("the operating system's random source failed"))?;
    Ok(out)
}

fn key_from_z85(text: &str) -> Result<[u8; CURVE_KEY_LEN], Z85Error> {
    if text.len() != CURVE_KEY_Z85_LEN {
        return Err(Z85Error::TextLength(text.len()));
    }
    let bytes = z85_decode(text)?;
    Ok(bytes.try_into().expect("40 Z85 characters are 32 bytes"))
}

/// A CURVE public key.
#[derive(Clone, Copy, PartialEq, Eq, Hash)]
pub struct CurvePublicKey(pub [u8; CURVE_KEY_LEN]);

impl CurvePublicKey {
    /// The key from its 40 Z85 characters.
    pub fn from_z85(text: &str) -> Result<CurvePublicKey, Z85Error> {
        key_from_z85(text).map(CurvePublicKey)
    }

    /// The 40 Z85 characters of the key.
    pub fn to_z85(&self) -> String {
        z85_encode(&self.0).expect("32 bytes")
    }

    /// The 32 bytes of the key.
    pub fn as_bytes(&self) -> &[u8; CURVE_KEY_LEN] {
        &self.0
    }

    /// Constant-time comparison (the keys a handshake checks come from the peer).
    pub fn ct_eq(&self, other: &CurvePublicKey) -> bool {
        self.0.ct_eq(&other.0).into()
    }
}

impl From<[u8; CURVE_KEY_LEN]> for CurvePublicKey {
    fn from(bytes: [u8; CURVE_KEY_LEN]) -> CurvePublicKey {
        CurvePublicKey(bytes)
    }
}

impl std::fmt::Debug for CurvePublicKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "CurvePublicKey({})", self.to_z85())
    }
}

/// A CURVE secret key: zeroized when dropped, never printed.
#[derive(Clone)]
pub struct CurveSecretKey(Zeroizing<[u8; CURVE_KEY_LEN]>);

impl CurveSecretKey {
    /// The key from its 32 bytes.
    pub fn from_bytes(bytes: [u8; CURVE_KEY_LEN]) -> CurveSecretKey {
        CurveSecretKey(Zeroizing::new(bytes))
    }

    /// The key from its 40 Z85 characters.
    pub fn from_z85(text: &str) -> Result<CurveSecretKey, Z85Error> {
        key_from_z85(text).map(CurveSecretKey::from_bytes)
    }

    /// The 40 Z85 characters of the key (a copy of the secret: handle with care).
    pub fn to_z85(&self) -> Zeroizing<String> {
        Zeroizing::new(z85_encode(&self.0[..]).expect("32 bytes"))
    }

    /// The 32 bytes of the key.
    pub fn as_bytes(&self) -> &[u8; CURVE_KEY_LEN] {
        &self.0
    }

    /// The public key that goes with this secret key (libzmq's `zmq_curve_public`).
    pub fn public_key(&self) -> CurvePublicKey {
        CurvePublicKey(self.to_crypto().public_key().to_bytes())
    }

    /// The key as `crypto_box` uses it (zeroized on drop as well).
    pub(crate) fn to_crypto(&self) -> crypto_box::SecretKey {
        crypto_box::SecretKey::from(*self.0)
    }
}

impl std::fmt::Debug for CurveSecretKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("CurveSecretKey(..)")
    }
}

/// A CURVE key pair, as libzmq's `zmq_curve_keypair` makes them.
#[derive(Debug, Clone)]
pub struct CurveKeyPair {
    /// The public key (given to peers).
    pub public: CurvePublicKey,
    /// The secret key.
    pub secret: CurveSecretKey,
}

impl CurveKeyPair {
    /// A new random key pair from the operating system's random source.
    pub fn generate() -> Result<CurveKeyPair, WireError> {
        Ok(CurveKeyPair::from_secret(CurveSecretKey::from_bytes(*random::<CURVE_KEY_LEN>()?)))
    }

    /// The pair for a secret key.
    pub fn from_secret(secret: CurveSecretKey) -> CurveKeyPair {
        CurveKeyPair { public: secret.public_key(), secret }
    }
}

/// A new CURVE key pair as 40 Z85 characters each, `(public, secret)`: libzmq's
/// `zmq_curve_keypair`.
pub fn curve_keypair() -> Result<(String, Zeroizing<String>), WireError> {
    let pair = CurveKeyPair::generate()?;
    Ok((pair.public.to_z85(), pair.secret.to_z85()))
}

/// The Z85 public key for a Z85 secret key: libzmq's `zmq_curve_public`.
pub fn curve_public(secret_z85: &str) -> Result<String, Z85Error> {
    Ok(CurveSecretKey::from_z85(secret_z85)?.public_key().to_z85())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keypair_is_consistent() {
        let (public, secret) = curve_keypair().unwrap();
        assert_eq!(public.len(), 40);
        assert_eq!(secret.len(), 40);
        assert_eq!(curve_public(&secret).unwrap(), public);
        assert_ne!(curve_keypair().unwrap().0, public);
    }

    /// Keys made by pyzmq 26.4.0 (`zmq.curve_keypair()`, `zmq.curve_public`).
    #[test]
    fn public_from_secret_matches_libzmq() {
        let secret = "D:)Q[IlAW!ahhC2ac:9*A}h:p?([4%wOTJ%JR%cs";
        let public = "Yne@$w-vo<fVvi]a<NY6T1ed:M$fCG*[IaLV{hID";
        assert_eq!(curve_public(secret).unwrap(), public);
        assert!(format!("{:?}", CurveSecretKey::from_z85(secret).unwrap()).ends_with("(..)"));
    }

    #[test]
    fn z85_key_lengths() {
        assert_eq!(CurvePublicKey::from_z85("HelloWorld"), Err(Z85Error::TextLength(10)));
        let k = CurvePublicKey([7; 32]);
        assert_eq!(CurvePublicKey::from_z85(&k.to_z85()), Ok(k));
        assert!(k.ct_eq(&k) && !k.ct_eq(&CurvePublicKey([8; 32])));
    }
}
