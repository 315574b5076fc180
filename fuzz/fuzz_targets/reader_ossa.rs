//! The ossa reader on any JSON or YAML value, at every version, bypassing detection: it must
//! never panic, and whatever it reads must write back and read again.
#![no_main]
use agentry_formats::formats::ossa;
use agentry_formats::input::{Limits, parse};
use libfuzzer_sys::fuzz_target;

const VERSIONS: &[&str] = &["ossa.ai/v1", "ossa/v0.2.9", "ossa/v0.3.6", "ossa/v0.4.6", "ossa/v0.5", "ossa/v1"];

fuzz_target!(|data: &[u8]| {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok((value, _)) = parse(rest, &Limits::default()) else { return };
    let version = VERSIONS[selector as usize % VERSIONS.len()];
    let mut problems = Vec::new();
    let rec = ossa::read(value, version, "", &mut problems);
    let mut warnings = Vec::new();
    if let Ok(doc) = ossa::write(&rec, version, &mut warnings) {
        let mut again = Vec::new();
        let _ = ossa::read(doc, version, "", &mut again);
    }
});
