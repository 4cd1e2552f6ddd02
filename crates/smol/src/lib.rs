//! The suite on smol: async-executor driven by N threads, async-io, async-channel, async-lock.
