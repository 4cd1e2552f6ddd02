//! Every task and variant on the smoke profile with three executor threads, in a test binary of
//! its own: async-std's executor is global and sized once per process, so each worker count
//! needs a process (the other test binaries use two).

mod common;

#[test]
fn every_variant_with_three_executor_threads() {
    common::smoke_every_variant(3);
}
