//! The body every `reader_*` target shares: one codec's reader on any JSON or YAML value, at
//! the version the first byte selects, bypassing detection. It must never panic, and whatever
//! it reads must write back and read again.

use agentry_formats::Codec;
use agentry_formats::input::{Limits, parse};

pub fn run(codec: &dyn Codec, versions: &[&str], data: &[u8]) {
    let Some((&selector, rest)) = data.split_first() else { return };
    let Ok((value, _)) = parse(rest, &Limits::default()) else { return };
    let version = versions[selector as usize % versions.len()];
    let mut problems = Vec::new();
    let rec = codec.read(value, version, &mut problems);
    let mut warnings = Vec::new();
    if let Ok(doc) = codec.write(&rec, version, &mut warnings) {
        let mut again = Vec::new();
        let _ = codec.read(doc, version, &mut again);
    }
}
