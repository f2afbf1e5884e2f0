//! Weather update client: a SUB socket subscribes to one zip code and averages the
//! temperature over a number of updates from `wuserver` (or the zguide's `wuserver.py`):
//! `"<zipcode> <temperature> <relhumidity>"`, anything else is an error.
//!
//! Arguments: `[endpoint] [zipcode] [updates]` (default `tcp://localhost:5556`, `10001`, 100).

fn main() -> oxmq::Result<()> {
    let mut args = std::env::args().skip(1);
    let endpoint = args.next().unwrap_or_else(|| "tcp://localhost:5556".to_string());
    let zipcode = args.next().unwrap_or_else(|| "10001".to_string());
    let updates: u32 = args.next().map_or(100, |n| n.parse().expect("updates: a number"));

    let ctx = oxmq::Context::new();
    println!("Collecting updates from weather server at {endpoint}...");
    let subscriber = oxmq::Sub::new(&ctx)?;
    subscriber.connect(&endpoint)?;
    // The filter is a prefix of the message: "10001 " (with the space) so that an update for
    // a longer zip code such as 100010 would not match too (wuclient.py subscribes to "10001";
    // with five-digit zip codes the two match the same updates). The PUB side does the
    // filtering: other updates never cross the network.
    let filter = format!("{zipcode} ");
    subscriber.subscribe(&filter)?;

    let mut total_temp = 0i64;
    for _ in 0..updates {
        let update = subscriber.recv()?;
        let update = std::str::from_utf8(&update).expect("updates are text");
        assert!(update.starts_with(&filter), "update {update:?} does not match the filter");
        // "<zipcode> <temperature> <relhumidity>", as the zguide's wuclient.py unpacks it.
        let fields: Vec<&str> = update.split_whitespace().collect();
        let [_zipcode, temperature, relhumidity] = fields[..] else {
            panic!("update {update:?} is not \"<zipcode> <temperature> <relhumidity>\"")
        };
        let temperature: i64 = temperature.parse().expect("a temperature");
        let _: i64 = relhumidity.parse().expect("a relative humidity");
        total_temp += temperature;
    }
    println!(
        "Average temperature for zipcode '{zipcode}' was {}F over {updates} updates",
        total_temp / i64::from(updates)
    );
    Ok(())
}
