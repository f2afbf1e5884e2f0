//! `zeromqrs_remote_lat`: libzmq's `remote_lat` over zeromqrs (see src/zeromqrs.rs for its configuration).

fn main() {
    let a = oxmq_peers_perf::args("zeromqrs_remote_lat <endpoint> <message-size> <count>");
    oxmq_peers_perf::zeromqrs::remote_lat(a);
}
