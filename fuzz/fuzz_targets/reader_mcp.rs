//! The mcp reader on any JSON or YAML value, at every version, bypassing detection: it must
//! never panic, and whatever it reads must write back and read again.
#![no_main]
use agentry_formats::formats::mcp;
use agentry_formats::input::{Limits, parse};
use libfuzzer_sys::fuzz_target;

const VERSIONS: &[&str] = &["2025-12-11", "2025-09-29", "legacy-2025-07-02"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok((value, _)) = parse(rest, &Limits::default()) else { return };
    let version = VERSIONS[selector as usize % VERSIONS.len()];
    let mut problems = Vec::new();
    let rec = mcp::read(value, version, "", &mut problems);
    let mut warnings = Vec::new();
    if let Ok(doc) = mcp::write(&rec, version, &mut warnings) {
        let mut again = Vec::new();
        let _ = mcp::read(doc, version, "", &mut again);
    }
});
