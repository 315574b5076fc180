//! Storage micro-benchmarks (being written; see the store engineer's report).
fn main() {}
