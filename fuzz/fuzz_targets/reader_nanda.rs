//! The nanda reader on any JSON or YAML value, at every version, bypassing detection: it must
//! never panic, and whatever it reads must write back and read again.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "shared/reader.rs"]
mod reader;

const VERSIONS: &[&str] = &["agentfacts-v1"];

fuzz_target!(|data: &[u8]| reader::run(&agentry_formats::formats::nanda::Nanda, VERSIONS, data));
