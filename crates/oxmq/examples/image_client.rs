//! Zero-copy image processing client (REQ/REP; the server is `image_server`).
//!
//! Sends ONE message of two frames, a 640x480 RGBA image and a bounding box (4 little-endian
//! `u16`: x, y, width, height), and checks that the reply is the image with the colours inside
//! the box inverted.
//!
//! Where the bytes are (not) copied:
//! - `Bytes::from(vec)` takes the `Vec`'s buffer over: no copy (checked below);
//! - `image.clone()` is a reference count increment, not a copy: we keep the original to check
//!   the reply against;
//! - `send_multipart` takes the `Bytes` as they are, and the large image frame is written to the
//!   socket straight from its buffer.
//!
//! Arguments: `[endpoint] [x y width height]` (default `tcp://localhost:5565`, box 100 50 200 150).

use oxmq::Bytes;

const WIDTH: usize = 640;
const HEIGHT: usize = 480;
const BYTES_PER_PIXEL: usize = 4;

fn main() -> oxmq::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let endpoint = args.first().cloned().unwrap_or_else(|| "tcp://localhost:5565".to_string());
    let bbox: [u16; 4] = match &args[1.min(args.len())..] {
        [] => [100, 50, 200, 150],
        [x, y, w, h] => [x, y, w, h].map(|v| v.parse().expect("the box: 4 numbers")),
        _ => panic!("usage: image_client [endpoint] [x y width height]"),
    };

    // A test image: every pixel a colour made of its coordinates, alpha opaque.
    let mut pixels = Vec::with_capacity(WIDTH * HEIGHT * BYTES_PER_PIXEL);
    for y in 0..HEIGHT {
        for x in 0..WIDTH {
            pixels.extend_from_slice(&[x as u8, y as u8, (x + y) as u8, 255]);
        }
    }
    let buffer_address = pixels.as_ptr();
    // Zero copy #1: the Vec's heap buffer becomes the frame.
    let image = Bytes::from(pixels);
    assert_eq!(image.as_ptr(), buffer_address, "Bytes::from(Vec) does not copy");

    let mut bbox_frame = Vec::with_capacity(8);
    for v in bbox {
        bbox_frame.extend_from_slice(&v.to_le_bytes());
    }

    let ctx = oxmq::Context::new();
    let client = oxmq::Req::new(&ctx)?;
    client.connect(&endpoint)?;
    // Zero copy #2: `image.clone()` shares the buffer; both frames go out as one message.
    client.send_multipart([image.clone(), Bytes::from(bbox_frame)])?;
    let reply = client.recv()?;
    println!("received a reply of {} bytes", reply.len());

    // Check every byte of the reply.
    let [bx, by, bw, bh] = bbox.map(usize::from);
    assert_eq!(reply.len(), image.len(), "reply: {:?}", String::from_utf8_lossy(&reply[..reply.len().min(80)]));
    let mut inverted = 0;
    for (i, (orig, got)) in image.chunks_exact(BYTES_PER_PIXEL).zip(reply.chunks_exact(BYTES_PER_PIXEL)).enumerate() {
        let (x, y) = (i % WIDTH, i / WIDTH);
        let inside = (bx..bx + bw).contains(&x) && (by..by + bh).contains(&y);
        let want =
            if inside { [255 - orig[0], 255 - orig[1], 255 - orig[2], orig[3]] } else { orig.try_into().unwrap() };
        assert_eq!(got, want, "pixel {x},{y}");
        inverted += usize::from(inside);
    }
    println!("reply verified: {inverted} pixels inverted inside the box {bx},{by} {bw}x{bh}");
    Ok(())
}
