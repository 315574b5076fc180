//! A Sigstore stack built in-process for tests.
