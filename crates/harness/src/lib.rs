//! The measuring half of shootout: plans cells, runs each in a process of its own, verifies,
//! records and summarises. The `shootout` binary (`main.rs`) is a thin CLI over this library;
//! the criterion benches use its [`registry`] so that they run exactly the backends the CLI runs.

pub mod calibration;
pub mod cell;
pub mod compare;
pub mod fingerprint;
pub mod metrics;
pub mod plan;
pub mod plots;
pub mod publish;
pub mod record;
pub mod registry;
pub mod report;
pub mod run;
pub mod stats;
pub mod summary;
pub mod table;
