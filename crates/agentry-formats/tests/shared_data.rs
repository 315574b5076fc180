//! Walks every document of the real-record collection (`testdata/real/` in this repository):
//! each record either validates — and then round-trips through its own format and converts to
//! every other — or is refused by its own project's schema (or is not an agent description at
//! all). Nothing here names a file: the collection may hold records this code has never seen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agentry_formats::{
    Format, ProblemSource, ReadOptions, Strictness, Target, comparable, read_document, write,
};

fn data_dir() -> PathBuf {
    if let Ok(d) = std::env::var("AGENTRY_SHARED_DATA") {
        return PathBuf::from(d);
    }
    // crates/agentry-formats → the repository root.
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real")
}

/// Directories holding schemas and taxonomies rather than documents.
const NOT_DOCUMENTS: [&str; 4] = ["schema", "jsonschema", "schema-source", "taxonomy-derived"];

fn documents(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    let mut entries: Vec<_> = rd.filter_map(Result::ok).map(|e| e.path()).collect();
    entries.sort();
    for p in entries {
        let name = p.file_name().and_then(|n| n.to_str()).unwrap_or("");
        if p.is_dir() {
            if !NOT_DOCUMENTS.contains(&name) {
                documents(&p, out);
            }
        } else if [".json", ".yaml", ".yml"].iter().any(|e| name.ends_with(e)) {
            out.push(p);
        }
    }
}

#[derive(Default)]
struct Tally {
    valid: usize,
    refused: usize,
    lenient_read: usize,
}

#[test]
fn every_shared_document_validates_round_trips_and_converts_or_is_refused_by_its_schema() {
    let dir = data_dir();
    assert!(
        dir.is_dir(),
        "real-record collection not found at {} (set AGENTRY_SHARED_DATA)",
        dir.display()
    );
    let mut files = Vec::new();
    documents(&dir, &mut files);
    assert!(
        files.len() > 300,
        "only {} documents found under {}",
        files.len(),
        dir.display()
    );
    let strict = ReadOptions::default();
    let lenient = ReadOptions {
        strictness: Strictness::Lenient,
        ..ReadOptions::default()
    };
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    let mut failures = Vec::new();
    for path in &files {
        let rel = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        let bytes = std::fs::read(path).unwrap_or_default();
        let records = match read_document(&bytes, &strict) {
            Ok(r) => r,
            Err(report) => {
                // Refused as bytes: must be a parse problem with a reason.
                if report
                    .errors
                    .iter()
                    .any(|e| e.source != ProblemSource::Parse || e.reason.is_empty())
                {
                    failures.push(format!("{rel}: refusal without a parse reason: {report}"));
                }
                if std::env::var_os("AGENTRY_WALK_VERBOSE").is_some() {
                    println!("UNPARSEABLE {rel}: {report}");
                }
                tally.entry("(unparseable)".into()).or_default().refused += 1;
                continue;
            }
        };
        let lenient_records = read_document(&bytes, &lenient).unwrap_or_default();
        for (i, r) in records.iter().enumerate() {
            let key = r
                .report
                .format
                .as_ref()
                .map(|f| f.to_string())
                .unwrap_or_else(|| "(not an agent description)".into());
            let t = tally.entry(key).or_default();
            let at = format!("{rel}{}", r.report.record_pointer);
            if !r.report.valid {
                t.refused += 1;
                if std::env::var_os("AGENTRY_WALK_VERBOSE").is_some() {
                    for e in r.report.errors.iter().take(3) {
                        println!("REFUSED {at}: {e}");
                    }
                }
                // Refused: by the format's schema, because it is not an agent description, or
                // for a semantic rule the schema also states (a name, an agent kind).
                let reasons_ok = r.report.errors.iter().all(|e| {
                    !e.reason.is_empty()
                        && matches!(
                            e.source,
                            ProblemSource::Schema | ProblemSource::Detect | ProblemSource::Semantic
                        )
                }) && r
                    .report
                    .errors
                    .iter()
                    .any(|e| matches!(e.source, ProblemSource::Schema | ProblemSource::Detect));
                if !reasons_ok {
                    failures.push(format!(
                        "{at}: refused without a schema reason: {}",
                        r.report
                    ));
                }
                // Leniently, a record refused only by its schema must still be readable.
                if let Some(l) = lenient_records.get(i)
                    && l.report.valid
                {
                    if let Some(t) = tally.get_mut(&key_of(l)) {
                        t.lenient_read += 1;
                    }
                    check_round_trip(&l.record, &at, &lenient, &mut failures);
                }
                continue;
            }
            t.valid += 1;
            check_round_trip(&r.record, &at, &strict, &mut failures);
        }
    }
    println!(
        "{:<40} {:>6} {:>8} {:>14}",
        "format@version", "valid", "refused", "lenient-read"
    );
    for (k, t) in &tally {
        println!(
            "{k:<40} {:>6} {:>8} {:>14}",
            t.valid, t.refused, t.lenient_read
        );
    }
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

fn key_of(r: &agentry_formats::ReadRecord) -> String {
    r.report
        .format
        .as_ref()
        .map(|f| f.to_string())
        .unwrap_or_default()
}

/// Same format and version: write, read back, compare; then every other format: the writer
/// must produce a document (warnings allowed).
fn check_round_trip(
    rec: &agentry_types::AgentRecord,
    at: &str,
    opts: &ReadOptions,
    failures: &mut Vec<String>,
) {
    let own = Target {
        format: rec.provenance.source_format,
        version: rec.provenance.source_version.clone(),
    };
    let written = match write(rec, &own) {
        Ok(w) => w,
        Err(e) => {
            failures.push(format!("{at}: cannot write back as {own:?}: {e}"));
            return;
        }
    };
    match read_document(written.text.as_bytes(), opts) {
        Ok(back) if back.len() == 1 => {
            let b = &back[0];
            if !b.report.valid {
                failures.push(format!(
                    "{at}: rewritten document is invalid: {}\n{}",
                    b.report, written.text
                ));
            } else if comparable(&b.record) != comparable(rec) {
                failures.push(format!(
                    "{at}: round trip changed the record\n before: {}\n after:  {}",
                    serde_json::to_string(&comparable(rec)).unwrap_or_default(),
                    serde_json::to_string(&comparable(&b.record)).unwrap_or_default()
                ));
            }
        }
        Ok(back) => failures.push(format!(
            "{at}: rewritten document holds {} records",
            back.len()
        )),
        Err(e) => failures.push(format!(
            "{at}: rewritten document does not parse: {e}\n{}",
            written.text
        )),
    }
    for f in Format::ALL {
        if f == rec.provenance.source_format {
            continue;
        }
        if let Err(e) = write(
            rec,
            &Target {
                format: f,
                version: None,
            },
        ) {
            failures.push(format!("{at}: cannot convert to {}: {e}", f.as_str()));
        }
    }
}
