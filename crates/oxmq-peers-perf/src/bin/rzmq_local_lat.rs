//! `rzmq_local_lat`: libzmq's `local_lat` over rzmq (see src/rzmq.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("rzmq_local_lat <endpoint> <message-size> <count>");
    oxmq_peers_perf::rzmq::local_lat(a);
}
