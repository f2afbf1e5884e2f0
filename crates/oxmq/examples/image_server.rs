//! Zero-copy image processing server (REQ/REP; the client is `image_client`), speaking what the
//! pyzmq notes' `process_server` speaks, so that either side can be the Python program:
//!
//! - each request is ONE frame: a 480x640x4 `uint8` image (1,228,800 bytes) followed by its
//!   bounding box, 4 `uint16` (8 bytes, the machine's byte order as numpy's `tobytes`);
//! - the reply is ONE frame: the processed image, `255 - arr` for every byte (1,228,800 bytes).
//!
//! A request of any other size gets an empty reply (a REP must answer before it can receive
//! again) and a line on stderr; the Python server asserts instead, and stops.
//!
//! Where the bytes are (not) copied:
//! - receiving: the kernel copies the message once into the connection's read buffer; the frame
//!   handed to us is a `Bytes` slice of that buffer, not a copy;
//! - processing: `Bytes::try_into_mut` turns the frame into a mutable `BytesMut` without copying
//!   when nothing else shares its allocation; otherwise (the read buffer still holds a part of
//!   it) we copy it once, as any in-place edit of shared bytes must;
//! - replying: `truncate` drops the box without moving the image, `BytesMut::freeze` gives a
//!   `Bytes` again (no copy), and sending it writes the frame to the socket from that buffer.
//!
//! Arguments: `[endpoint] [requests]` (default `tcp://*:15555` as the notes, serve forever).

use oxmq::Bytes;

const IMAGE_CHUNK_SIZE: usize = 480 * 640 * 4;
const BOUNDING_BOX_CHUNK_SIZE: usize = 4 * 2;

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:15555".to_string());
    let requests: Option<u64> = args.next().map(|n| n.parse().expect("requests: a number"));

    let ctx = oxmq::Context::new();
    let server = oxmq::Rep::new(&ctx)?;
    server.bind(&endpoint)?;
    println!("image_server listening on {}", server.last_endpoint()?);

    let mut served = 0;
    while requests.is_none_or(|n| served < n) {
        let msg = server.recv()?;
        println!("received msg size: {}", msg.len());
        let reply = match process(msg) {
            Ok(image) => image,
            Err(why) => {
                eprintln!("bad request: {why}");
                Bytes::new()
            }
        };
        // A `Bytes` is sent as it is: no copy.
        server.send(reply)?;
        served += 1;
    }
    println!("image_server done after {served} requests");
    Ok(())
}

/// `255 - arr` over the image part of a request; the box is read and printed.
fn process(msg: Bytes) -> Result<Bytes, String> {
    if msg.len() != IMAGE_CHUNK_SIZE + BOUNDING_BOX_CHUNK_SIZE {
        return Err(format!(
            "{} bytes, not an image of {IMAGE_CHUNK_SIZE} and a box of {BOUNDING_BOX_CHUNK_SIZE}",
            msg.len()
        ));
    }
    let bbox: Vec<u16> = msg[IMAGE_CHUNK_SIZE..].chunks_exact(2).map(|b| u16::from_ne_bytes([b[0], b[1]])).collect();
    // Take the message over for editing: no copy if we hold the only reference to its buffer.
    let mut pixels = match msg.try_into_mut() {
        Ok(unique) => {
            println!("processing in place (no copy)");
            unique
        }
        Err(shared) => {
            println!("buffer shared with the read buffer: one copy to edit it");
            Bytes::copy_from_slice(&shared).try_into_mut().expect("a fresh copy is unique")
        }
    };
    pixels.truncate(IMAGE_CHUNK_SIZE);
    for b in pixels.iter_mut() {
        *b = 255 - *b;
    }
    println!("Received and processed data: (480, 640, 4) (4,)\n{bbox:?}...");
    Ok(pixels.freeze())
}
