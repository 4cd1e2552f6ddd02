//! The suite on tokio's multi-thread runtime (and current-thread where it teaches something).
