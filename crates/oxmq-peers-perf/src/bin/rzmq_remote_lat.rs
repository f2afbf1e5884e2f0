//! `rzmq_remote_lat`: libzmq's `remote_lat` over rzmq (see src/rzmq.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("rzmq_remote_lat <endpoint> <message-size> <count>");
    oxmq_peers_perf::rzmq::remote_lat(a);
}
