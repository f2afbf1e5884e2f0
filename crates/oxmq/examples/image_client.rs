//! Zero-copy image processing client (REQ/REP; the server is `image_server`), the pyzmq notes'
//! `process_client`: it sends a 480x640x4 `uint8` image followed by its bounding box (4
//! `uint16`, the machine's byte order) as ONE frame, takes the reply (the image, `255 - arr`)
//! as its next image plus one, `(data + 1) % 256`, and goes again. With RCVTIMEO (5 s) a
//! server that does not answer is retried as the notes do: a new socket, the request sent
//! again, up to 5 times.
//!
//! Where it differs from the notes' program (their slips, see `../shared/seeds/README.md`): the
//! retry sends the image AND the box (the notes resend the image alone, which their server
//! rejects); `(data + 1) % 256` is computed on bytes, without numpy 2's overflow; and it stops
//! after `rounds` round trips instead of running forever.
//!
//! Every reply is checked: each byte is `255 - ` the byte sent. From zeros, each round trip
//! gives 255s, and plus one, zeros again.
//!
//! Where the bytes are (not) copied: `Bytes::from(vec)` takes the `Vec`'s buffer over, and
//! `send` writes the frame to the socket straight from it.
//!
//! Arguments: `[endpoint] [rounds] [timeout-ms]` (default `tcp://localhost:15555`, 3, 5000).

use oxmq::Bytes;

const IMAGE_CHUNK_SIZE: usize = 480 * 640 * 4;
const MAX_TRY: u32 = 5;

fn connect(ctx: &oxmq::Context, endpoint: &str, timeout_ms: i32) -> oxmq::Result<oxmq::Req> {
    let socket = oxmq::Req::new(ctx)?;
    socket.set_rcvtimeo(timeout_ms)?;
    socket.set_linger(0)?;
    socket.connect(endpoint)?;
    Ok(socket)
}

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:15555".to_string());
    let rounds: u32 = args.next().map_or(3, |n| n.parse().expect("rounds: a number"));
    let timeout_ms: i32 = args.next().map_or(5000, |n| n.parse().expect("timeout: milliseconds"));

    let ctx = oxmq::Context::new();
    let mut socket = connect(&ctx, &endpoint, timeout_ms)?;
    let mut data = vec![0u8; IMAGE_CHUNK_SIZE];
    let bbox: [u16; 4] = [1, 2, 3, 4];
    let mut tried = 0;
    let mut round = 0;
    while round < rounds {
        let mut msg = Vec::with_capacity(IMAGE_CHUNK_SIZE + 8);
        msg.extend_from_slice(&data);
        for v in bbox {
            msg.extend_from_slice(&v.to_ne_bytes());
        }
        socket.send(Bytes::from(msg))?;
        match socket.recv() {
            Ok(reply) => {
                tried = 0;
                assert_eq!(reply.len(), IMAGE_CHUNK_SIZE, "a reply of {} bytes", reply.len());
                assert!(data.iter().zip(reply.iter()).all(|(d, r)| *r == 255 - d), "the reply is not 255 - image");
                round += 1;
                println!("round {round}: a reply of {} bytes, 255 - image", reply.len());
                data = reply.iter().map(|b| b.wrapping_add(1)).collect();
            }
            Err(oxmq::Error::Again) => {
                // Two sends in a row are an error on REQ: a new socket, as the notes do.
                drop(socket);
                socket = connect(&ctx, &endpoint, timeout_ms)?;
                if tried >= MAX_TRY {
                    println!("max_try count reached, stop trying");
                    std::process::exit(1);
                }
                println!("Timeout, retrying...");
                tried += 1;
            }
            Err(e) => return Err(e),
        }
    }
    println!("image_client: {rounds} round trips verified");
    Ok(())
}
