//! Zero-copy image processing server (REQ/REP; the client is `image_client`).
//!
//! Each request is ONE message of two frames: a 640x480 RGBA image (4 bytes a pixel) and a
//! bounding box of 4 little-endian `u16` (x, y, width, height). The server inverts the colours
//! of the pixels inside the box and replies with the processed image.
//!
//! Where the bytes are (not) copied:
//! - receiving: the kernel copies the image once into the connection's read buffer; the frame
//!   handed to us is a `Bytes` slice of that buffer, not a copy;
//! - processing: `Bytes::try_into_mut` turns the frame into a mutable `BytesMut` without copying
//!   when nothing else shares its allocation; otherwise (the read buffer still holds a part of
//!   it) we copy it once, as any in-place edit of shared bytes must;
//! - replying: `BytesMut::freeze` gives a `Bytes` again (no copy), and sending it writes the
//!   frame to the socket straight from that buffer.
//!
//! Between two threads of one process (`inproc://`) there is no copy at all: the server gets
//! the very buffer the client's `Vec` allocated (and can edit it in place if the client kept
//! no reference to it).
//!
//! Arguments: `[endpoint] [requests]` (default `tcp://*:5565`, serve forever).

use oxmq::Bytes;

const WIDTH: usize = 640;
const HEIGHT: usize = 480;
const BYTES_PER_PIXEL: usize = 4;

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5565".to_string());
    let requests: Option<u64> = args.next().map(|n| n.parse().expect("requests: a number"));

    let ctx = oxmq::Context::new();
    let server = oxmq::Rep::new(&ctx)?;
    server.bind(&endpoint)?;
    println!("image_server listening on {}", server.last_endpoint()?);

    let mut served = 0;
    while requests.is_none_or(|n| served < n) {
        // The whole message at once: both frames, as `Bytes`.
        let frames = server.recv_multipart()?;
        let reply = match process(frames) {
            Ok(image) => image,
            Err(why) => {
                eprintln!("bad request: {why}");
                Bytes::from(format!("ERROR {why}"))
            }
        };
        // A `Bytes` is sent as it is: no copy.
        server.send(reply)?;
        served += 1;
    }
    println!("image_server done after {served} requests");
    Ok(())
}

/// Invert the RGB channels (not alpha) of the pixels inside the bounding box.
fn process(frames: Vec<Bytes>) -> Result<Bytes, String> {
    let [image, bbox]: [Bytes; 2] = frames.try_into().map_err(|f: Vec<_>| format!("{} frames, not 2", f.len()))?;
    if image.len() != WIDTH * HEIGHT * BYTES_PER_PIXEL {
        return Err(format!("image of {} bytes, not {WIDTH}x{HEIGHT}x{BYTES_PER_PIXEL}", image.len()));
    }
    let bbox: [u8; 8] = bbox[..].try_into().map_err(|_| format!("bounding box of {} bytes, not 8", bbox.len()))?;
    let field = |i: usize| usize::from(u16::from_le_bytes([bbox[2 * i], bbox[2 * i + 1]]));
    let (x, y, w, h) = (field(0), field(1), field(2), field(3));
    if x + w > WIDTH || y + h > HEIGHT {
        return Err(format!("bounding box {x},{y} {w}x{h} outside the image"));
    }

    // Take the image over for editing: no copy if we hold the only reference to its buffer.
    let mut pixels = match image.try_into_mut() {
        Ok(unique) => {
            println!("processing in place (no copy)");
            unique
        }
        Err(shared) => {
            println!("buffer shared with the read buffer: one copy to edit it");
            Bytes::copy_from_slice(&shared).try_into_mut().expect("a fresh copy is unique")
        }
    };
    for row in y..y + h {
        let start = (row * WIDTH + x) * BYTES_PER_PIXEL;
        for pixel in pixels[start..start + w * BYTES_PER_PIXEL].chunks_exact_mut(BYTES_PER_PIXEL) {
            for channel in &mut pixel[..3] {
                *channel = 255 - *channel;
            }
        }
    }
    Ok(pixels.freeze())
}
