//! The suite on async-std (discontinued upstream in favour of smol; kept for comparison).
