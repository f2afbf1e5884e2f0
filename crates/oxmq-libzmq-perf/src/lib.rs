//! Argument parsing and result printing for the libzmq perf tools: the very functions the oxmq
//! tools of `oxmq-cli` use, so both sides take libzmq's `perf/` arguments and print its lines
//! identically and pair across processes in either direction.

pub use oxmq_cli::{
    args, check_size, fail, number, print_lat_header, print_lat_result, print_thr_header, print_thr_result,
    time_receives, time_roundtrips,
};
