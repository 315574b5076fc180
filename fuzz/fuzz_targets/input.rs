//! The defensive parser: any bytes give a value or a clear error, never a panic, and what it
//! accepts respects the limits.
#![no_main]
use agentry_formats::input::{Limits, parse_stream};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let limits = Limits { max_bytes: 64 * 1024, max_depth: 32, max_nodes: 100_000 };
    if let Ok((docs, _)) = parse_stream(data, &limits) {
        for d in &docs {
            assert!(depth(d) <= limits.max_depth + 1);
        }
    }
});

fn depth(v: &serde_json::Value) -> usize {
    match v {
        serde_json::Value::Array(a) => 1 + a.iter().map(depth).max().unwrap_or(0),
        serde_json::Value::Object(m) => 1 + m.values().map(depth).max().unwrap_or(0),
        _ => 0,
    }
}
