//! The a2a reader on any JSON or YAML value, at every version, bypassing detection: it must
//! never panic, and whatever it reads must write back and read again.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "shared/reader.rs"]
mod reader;

const VERSIONS: &[&str] = &["0.2.4", "0.2.6", "0.3.0", "1.0.0", "1.0.1"];

fuzz_target!(|data: &[u8]| reader::run(&agentry_formats::formats::a2a::A2a, VERSIONS, data));
