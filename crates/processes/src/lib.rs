//! The suite on OS processes: worker pools, pipes, Unix sockets, shared memory.
