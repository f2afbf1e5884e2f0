//! `zeromqrs_local_lat`: libzmq's `local_lat` over zeromqrs (see src/zeromqrs.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("zeromqrs_local_lat <endpoint> <message-size> <count>");
    oxmq_peers_perf::zeromqrs::local_lat(a);
}
