//! What the smol-rs based backends (smol and async-std) share. Being filled in.
