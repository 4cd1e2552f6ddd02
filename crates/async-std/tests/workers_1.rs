//! Every task and variant on the smoke profile with one executor thread, in a test binary of
//! its own: async-std's executor is global and sized once per process, so each worker count
//! needs a process (the other test binaries use two).

mod common;

#[test]
fn every_variant_with_one_executor_thread() {
    common::smoke_every_variant(1);
}
