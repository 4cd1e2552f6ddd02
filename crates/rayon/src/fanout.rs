//! Fan-out on rayon: not applicable, and why.
//!
//! The fan-out tasks are IO-bound: thousands of requests waiting on a server, with almost no
//! CPU work. Rayon's pool has a few threads, normally one per core, and no IO readiness: a
//! rayon job cannot wait for a socket without blocking the worker that runs it. A worker
//! blocked in `read` is a core's worth of the pool doing nothing. The pool would need as many
//! threads as requests in flight, and then it is the `threads` backend with work stealing that
//! has nothing to steal. Rayon says as much in the "Warning about blocking I/O" of
//! `rayon::join`: its jobs are assumed to be CPU-bound, and blocking in them makes performance
//! poor and waiting on another job can deadlock.
//!
//! IO fan-out belongs to threads (one per connection) or to an async runtime (tokio, smol,
//! async-std), which this suite measures. The file exists so that every backend has the same
//! files.

/// Why rayon does not run `fanout/scatter` and `fanout/crawl`.
pub const NOT_APPLICABLE: &str = "rayon's pool is for CPU-bound work: blocking IO stalls its \
     few workers and it has no IO readiness (rayon::join's docs warn against blocking I/O); \
     use threads or an async runtime";
