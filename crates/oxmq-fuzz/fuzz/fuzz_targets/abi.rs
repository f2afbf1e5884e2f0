#![no_main]

use libfuzzer_sys::fuzz_target;

#[global_allocator]
static ALLOC: oxmq_fuzz::BoundedAlloc = oxmq_fuzz::BoundedAlloc;

fuzz_target!(|data: &[u8]| oxmq_fuzz::abi(data));
