//! The mcp reader on any JSON or YAML value, at every version, bypassing detection: it must
//! never panic, and whatever it reads must write back and read again.
#![no_main]
use libfuzzer_sys::fuzz_target;

#[path = "shared/reader.rs"]
mod reader;

const VERSIONS: &[&str] = &["2025-12-11", "2025-09-29", "legacy-2025-07-02"];

fuzz_target!(|data: &[u8]| reader::run(&agentry_formats::formats::mcp::Mcp, VERSIONS, data));
