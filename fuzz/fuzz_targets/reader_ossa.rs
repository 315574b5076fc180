//! The ossa reader on any JSON or YAML value, at every version, bypassing detection: it must
//! never panic, and whatever it reads must write back and read again.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "shared/reader.rs"]
mod reader;

const VERSIONS: &[&str] = &["ossa.ai/v1", "ossa/v0.2.9", "ossa/v0.3.6", "ossa/v0.4.6", "ossa/v0.5", "ossa/v1"];

fuzz_target!(|data: &[u8]| reader::run(&agentry_formats::formats::ossa::Ossa, VERSIONS, data));
