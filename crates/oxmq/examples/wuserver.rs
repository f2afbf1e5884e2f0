//! Weather update server: a PUB socket publishes random weather updates as the zguide's
//! `wuserver` does, `"%05d %d %d"`: a five-digit zip code, a temperature (-80 to 134) and a
//! relative humidity (10 to 59), e.g. `"10001 -12 34"`.
//!
//! Subscribers (`wuclient`, or the zguide's `wuclient.py`) pick their zip code with a topic
//! filter: a PUB sends each update only to the subscribers whose subscription is a prefix of it.
//!
//! Arguments: `[endpoint] [zipcodes] [updates]`: publish on `endpoint` (default `tcp://*:5556`)
//! zip codes drawn from `zipcodes`, either a count N for 00000 to N-1 (default 100000, as the
//! zguide: a client then waits a while for its zip code) or a range `FIRST-LAST` such as
//! `10000-10009`, `updates` times (default: until killed).

use std::time::Duration;

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://*:5556".to_string());
    let (first_zip, zipcodes) = match args.next() {
        None => (0, 100_000),
        Some(arg) => match arg.split_once('-') {
            Some((first, last)) => {
                let first: u32 = first.parse().expect("zipcodes: FIRST-LAST");
                let last: u32 = last.parse().expect("zipcodes: FIRST-LAST");
                assert!(first <= last && last < 100_000, "zipcodes: FIRST-LAST, five digits at most");
                (first, last - first + 1)
            }
            None => (0, arg.parse::<u32>().expect("zipcodes: a number").clamp(1, 100_000)),
        },
    };
    let updates: Option<u64> = args.next().map(|n| n.parse().expect("updates: a number"));

    let ctx = oxmq::Context::new();
    let publisher = oxmq::Pub::new(&ctx)?;
    publisher.bind(&endpoint)?;
    println!("wuserver publishing on {}", publisher.last_endpoint()?);

    let mut rng = XorShift(0x2545_f491_4f6c_dd1d);
    let mut sent = 0u64;
    while updates.is_none_or(|n| sent < n) {
        let zipcode = first_zip + rng.below(zipcodes);
        let temperature = rng.below(215) as i32 - 80;
        let relhumidity = rng.below(50) + 10;
        // A PUB never blocks: with no subscriber (or a slow one) the update is dropped.
        publisher.send(format!("{zipcode:05} {temperature} {relhumidity}"))?;
        sent += 1;
        if sent % 100 == 0 {
            // Be nice to the machine: at most ~100k updates a second.
            std::thread::sleep(Duration::from_millis(1));
        }
    }
    println!("wuserver sent {sent} updates");
    Ok(())
}

/// A tiny pseudo-random generator (xorshift64), so the example needs no `rand` crate.
struct XorShift(u64);

impl XorShift {
    fn below(&mut self, n: u32) -> u32 {
        self.0 ^= self.0 << 13;
        self.0 ^= self.0 >> 7;
        self.0 ^= self.0 << 17;
        (self.0 % u64::from(n.max(1))) as u32
    }
}
