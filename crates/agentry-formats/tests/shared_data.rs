//! Walks every document of the real-record collection (`testdata/real/` in this repository)
//! under the one rule (ARCHITECTURE.md, "What refuses a record"): each record is accepted —
//! then it round-trips through its own format, converts to every other, and carries every
//! warning it was accepted with — or refused with a reason that names the field, for being not
//! an agent description at all, not having its format's shape, or lacking a usable identity.
//! Nothing is dropped in silence: the counts are printed, and every record is one of the three.
//! Nothing here names a file: the collection may hold records this code has never seen.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use agentry_formats::{
    Format, ProblemSource, ReadOptions, Severity, Target, comparable, read_document, write,
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
    clean: usize,
    warned: usize,
    refused: usize,
}

/// A refusal must be for something the rule refuses, with a reason: the bytes or the format
/// (parse, detect), the shape (a type, a required member, no fitting alternative, a taxonomy
/// class OASF does not have), or the identity (a name outside its format's grammar; semantic
/// rules on name, version, safety).
fn refusal_is_explained(errors: &[agentry_formats::Problem]) -> bool {
    const SHAPE: [&str; 10] = [
        "is not of type",
        "must follow its format's grammar",
        "is a required property",
        "is not valid under any of the schemas",
        "required attribute",
        "must be",
        "class",
        "unknown skill",
        "unknown domain",
        "needs a name or an id",
    ];
    !errors.is_empty()
        && errors.iter().all(|e| {
            !e.reason.is_empty()
                && e.severity == Severity::Error
                && match e.source {
                    ProblemSource::Parse | ProblemSource::Detect | ProblemSource::Semantic => true,
                    ProblemSource::Schema => SHAPE.iter().any(|m| e.reason.contains(m)),
                    _ => false,
                }
        })
}

#[test]
fn every_real_record_is_accepted_with_its_warnings_or_refused_for_a_named_reason() {
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
    let verbose = std::env::var_os("AGENTRY_WALK_VERBOSE").is_some();
    let opts = ReadOptions::default();
    let mut tally: BTreeMap<String, Tally> = BTreeMap::new();
    let mut kinds: BTreeMap<String, usize> = BTreeMap::new();
    let mut failures = Vec::new();
    let (mut seen, mut classified) = (0usize, 0usize);
    for path in &files {
        let rel = path
            .strip_prefix(&dir)
            .unwrap_or(path)
            .display()
            .to_string();
        let bytes = std::fs::read(path).unwrap_or_default();
        let records = match read_document(&bytes, &opts) {
            Ok(r) => r,
            Err(report) => {
                // Refused as bytes: must be a parse problem with a reason.
                seen += 1;
                if report
                    .errors
                    .iter()
                    .any(|e| e.source != ProblemSource::Parse || e.reason.is_empty())
                {
                    failures.push(format!("{rel}: refusal without a parse reason: {report}"));
                } else {
                    classified += 1;
                }
                if verbose {
                    println!("UNPARSEABLE {rel}: {report}");
                }
                tally.entry("(unparseable)".into()).or_default().refused += 1;
                continue;
            }
        };
        for r in &records {
            seen += 1;
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
                if verbose {
                    for e in r.report.errors.iter().take(3) {
                        println!("REFUSED {at}: {e}");
                    }
                }
                if refusal_is_explained(&r.report.errors) {
                    classified += 1;
                } else {
                    failures.push(format!(
                        "{at}: refused without a reason the rule gives: {}",
                        r.report
                    ));
                }
                continue;
            }
            classified += 1;
            // Accepted: every warning but Formula 2's advice is stored with the record.
            let stored: Vec<(&str, &str)> = r
                .record
                .provenance
                .warnings
                .iter()
                .map(|w| (w.pointer.as_str(), w.reason.as_str()))
                .collect();
            let reported: Vec<(&str, &str)> = r
                .report
                .warnings
                .iter()
                .filter(|w| w.source != ProblemSource::Context)
                .map(|w| (w.pointer.as_str(), w.reason.as_str()))
                .collect();
            if stored != reported {
                failures.push(format!(
                    "{at}: stored warnings {stored:?} differ from the report's {reported:?}"
                ));
            }
            if stored.is_empty() {
                t.clean += 1;
            } else {
                t.warned += 1;
                for w in &r.record.provenance.warnings {
                    *kinds.entry(warning_kind(&w.reason)).or_default() += 1;
                    if verbose {
                        println!("WARNED {at}: {}: {}", w.pointer, w.reason);
                    }
                }
            }
            check_round_trip(&r.record, &at, &opts, &mut failures);
        }
    }
    println!(
        "{:<40} {:>8} {:>14} {:>8}",
        "format@version", "accepted", "with warnings", "refused"
    );
    let mut sum = Tally::default();
    for (k, t) in &tally {
        println!("{k:<40} {:>8} {:>14} {:>8}", t.clean, t.warned, t.refused);
        sum.clean += t.clean;
        sum.warned += t.warned;
        sum.refused += t.refused;
    }
    println!(
        "{:<40} {:>8} {:>14} {:>8}",
        "total", sum.clean, sum.warned, sum.refused
    );
    println!("warnings by kind:");
    for (k, n) in &kinds {
        println!("  {n:>6}  {k}");
    }
    assert_eq!(
        seen, classified,
        "a record was neither accepted nor refused for a reason"
    );
    assert_eq!(seen, sum.clean + sum.warned + sum.refused);
    assert!(
        failures.is_empty(),
        "{} failure(s):\n{}",
        failures.len(),
        failures.join("\n")
    );
}

/// The kind of a stored warning, for the printed tally.
fn warning_kind(reason: &str) -> String {
    if let Some((_, why)) = reason.rsplit_once("; accepted: ") {
        return why.to_owned();
    }
    for (needle, kind) in [
        (
            "does not define this field",
            "a field the version does not define, kept in extensions",
        ),
        (
            "value_hint",
            "a positional argument without value_hint (later versions allow it)",
        ),
        ("is not a semantic version", "a version that is not semver"),
        ("wraps the record", "a wrapper member outside the record"),
        ("not a registry name", "a name that is not a registry name"),
        ("URL", "a URL that is not one"),
        (
            "is not defined by the OASF",
            "an OASF attribute the version does not define",
        ),
        (
            "recommended attribute",
            "a recommended OASF attribute missing",
        ),
        (
            "no JSON Schema is published",
            "an OASF version without a published schema",
        ),
        ("is not a digest", "a digest that is not one"),
    ] {
        if reason.contains(needle) {
            return kind.to_owned();
        }
    }
    reason.chars().take(60).collect()
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
