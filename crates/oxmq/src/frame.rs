//! What can be sent as a frame.

use bytes::{Bytes, BytesMut};

/// A value that can be sent as one frame of a message.
///
/// Owned buffers (`Bytes`, `BytesMut`, `Vec<u8>`, `String`, `Box<[u8]>`) are taken over
/// without copying; borrowed ones (`&[u8]`, `&str`, `&Vec<u8>`, `&String`, arrays) are copied
/// once. For a borrowed `'static` buffer that should not be copied, pass
/// `Bytes::from_static(..)`.
pub trait IntoFrame {
    /// The frame's bytes.
    fn into_frame(self) -> Bytes;
}

macro_rules! owned {
    ($($t:ty),*) => {$(
        impl IntoFrame for $t {
            fn into_frame(self) -> Bytes {
                Bytes::from(self)
            }
        }
    )*};
}
owned!(Bytes, Vec<u8>, String, Box<[u8]>);

impl IntoFrame for BytesMut {
    fn into_frame(self) -> Bytes {
        self.freeze()
    }
}

impl IntoFrame for &[u8] {
    fn into_frame(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl IntoFrame for &str {
    fn into_frame(self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}

impl IntoFrame for &Vec<u8> {
    fn into_frame(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

impl IntoFrame for &String {
    fn into_frame(self) -> Bytes {
        Bytes::copy_from_slice(self.as_bytes())
    }
}

impl IntoFrame for &Bytes {
    fn into_frame(self) -> Bytes {
        self.clone()
    }
}

impl<const N: usize> IntoFrame for [u8; N] {
    fn into_frame(self) -> Bytes {
        Bytes::copy_from_slice(&self)
    }
}

impl<const N: usize> IntoFrame for &[u8; N] {
    fn into_frame(self) -> Bytes {
        Bytes::copy_from_slice(self)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn owned_buffers_are_not_copied() {
        let v = vec![1u8; 100];
        let p = v.as_ptr();
        assert_eq!(v.into_frame().as_ptr(), p);
        let b = Bytes::from(vec![2u8; 100]);
        let p = b.as_ptr();
        assert_eq!(b.into_frame().as_ptr(), p);
    }

    #[test]
    fn borrowed_buffers_are_copied() {
        let v = vec![1u8, 2, 3];
        assert_eq!((&v[..]).into_frame(), v);
        assert_eq!("hi".into_frame(), "hi");
        assert_eq!((&String::from("s")).into_frame(), "s");
        assert_eq!([1u8, 2].into_frame(), vec![1, 2]);
    }
}
