//! Two network namespaces joined by a veth pair, made and torn down by a test, and a way to
//! cut and restore the traffic between them.
//!
//! Nothing is added to the test machine's own namespace: both veth ends are created straight
//! inside the two namespaces, so the addresses (10.99.0.1 and 10.99.0.2) cannot clash with
//! the host's networks or with another test's pair. Dropping the [`NetPair`] deletes both
//! namespaces, which deletes the veth ends in them; it runs on panic too.
//!
//! Cutting: `tc ... netem loss 100%` on both ends when the kernel has netem, otherwise
//! `ip link set DEV down` on one end (its peer then has no carrier: nothing passes either way).

use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};

/// How the traffic is cut.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Cut {
    /// netem drops every packet leaving either end.
    Netem,
    /// One end is down.
    LinkDown,
}

pub struct NetPair {
    /// The namespaces, `[server side, client side]`.
    pub ns: [String; 2],
    /// The veth end in each namespace.
    pub dev: [String; 2],
    /// The address in each namespace.
    pub addr: [&'static str; 2],
    pub cut_by: Cut,
}

fn run(args: &[&str]) -> Result<(), String> {
    match Command::new(args[0]).args(&args[1..]).output() {
        Ok(o) if o.status.success() => Ok(()),
        Ok(o) => Err(format!("`{}` failed: {}", args.join(" "), String::from_utf8_lossy(&o.stderr).trim())),
        Err(e) => Err(format!("cannot run `{}`: {e}", args.join(" "))),
    }
}

impl NetPair {
    /// Make the pair; `Err(why)` if this machine or user cannot (not root, no `ip`, no netns).
    pub fn create() -> Result<NetPair, String> {
        static N: AtomicUsize = AtomicUsize::new(0);
        // Unique across test processes (pid) and within one (counter); interface names must
        // stay within 15 bytes: "oxf" + pid (up to 7 digits) + counter + "a".
        let base = format!("oxf{}{}", std::process::id(), N.fetch_add(1, Ordering::Relaxed));
        let mut pair = NetPair {
            ns: [format!("{base}s"), format!("{base}c")],
            dev: [format!("{base}s"), format!("{base}c")],
            addr: ["10.99.0.1", "10.99.0.2"],
            cut_by: Cut::LinkDown,
        };
        run(&["ip", "netns", "add", &pair.ns[0]])?;
        // From here on, Drop cleans up whatever was made.
        let [s, c] = [&pair.ns[0], &pair.ns[1]];
        let [ds, dc] = [&pair.dev[0], &pair.dev[1]];
        run(&["ip", "netns", "add", c])?;
        // Running a program inside needs more rights than making the namespace.
        run(&["ip", "netns", "exec", c, "true"])?;
        run(&["ip", "link", "add", "name", ds, "netns", s, "type", "veth", "peer", "name", dc, "netns", c])?;
        for (ns, dev, addr) in [(s, ds, pair.addr[0]), (c, dc, pair.addr[1])] {
            run(&["ip", "-n", ns, "addr", "add", &format!("{addr}/24"), "dev", dev])?;
            run(&["ip", "-n", ns, "link", "set", dev, "up"])?;
            run(&["ip", "-n", ns, "link", "set", "lo", "up"])?;
        }
        let netem = run(&["ip", "netns", "exec", s, "tc", "qdisc", "add", "dev", ds, "root", "netem", "loss", "0%"])
            .and_then(|()| {
                run(&["ip", "netns", "exec", c, "tc", "qdisc", "add", "dev", dc, "root", "netem", "loss", "0%"])
            });
        pair.cut_by = match netem {
            Ok(()) => Cut::Netem,
            Err(why) => {
                eprintln!("netem unavailable ({why}): cutting traffic with `ip link set down`");
                Cut::LinkDown
            }
        };
        Ok(pair)
    }

    /// Stop all traffic between the two namespaces (connections stay open, packets vanish).
    pub fn cut(&self) {
        self.set(true).unwrap_or_else(|e| panic!("cut: {e}"));
    }

    /// Let traffic through again.
    pub fn restore(&self) {
        self.set(false).unwrap_or_else(|e| panic!("restore: {e}"));
    }

    fn set(&self, cut: bool) -> Result<(), String> {
        match self.cut_by {
            Cut::Netem => {
                let loss = if cut { "100%" } else { "0%" };
                for (ns, dev) in self.ns.iter().zip(&self.dev) {
                    run(&[
                        "ip", "netns", "exec", ns, "tc", "qdisc", "change", "dev", dev, "root", "netem", "loss", loss,
                    ])?;
                }
                Ok(())
            }
            Cut::LinkDown => {
                run(&["ip", "-n", &self.ns[1], "link", "set", &self.dev[1], if cut { "down" } else { "up" }])
            }
        }
    }
}

impl Drop for NetPair {
    fn drop(&mut self) {
        // Deleting a namespace deletes the veth end in it (and with it the other end).
        for ns in &self.ns {
            let _ = run(&["ip", "netns", "del", ns]);
        }
    }
}
