//! The whole pipeline on arbitrary bytes: parse, detect, validate, read, write back.
#![no_main]
use agentry_formats::{ReadOptions, Target, read_document, write};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    if let Ok(recs) = read_document(data, &ReadOptions::default()) {
        for r in recs {
            assert!(r.report.valid == r.report.errors.is_empty());
            if r.report.valid {
                let own = Target { format: r.record.provenance.source_format, version: r.record.provenance.source_version.clone() };
                let _ = write(&r.record, &own);
            }
        }
    }
});
