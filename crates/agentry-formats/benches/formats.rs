//! Throughput of parse + validate + canonicalise (read into the record and serialise it) per
//! format on the sample data, one core, and of the AGNTCY Directory CID.
//!
//! Samples: the repository's `testdata/real/` (set AGENTRY_SHARED_DATA to point elsewhere);
//! only documents that validate are used, each record as its own document (the MCP seed file's
//! 471 entries are split). Run: `cargo bench -p agentry-formats --bench formats`.

use std::hint::black_box;
use std::path::{Path, PathBuf};

use agentry_formats::{Format, ReadOptions, read_document};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use serde_json::Value;

fn data_dir() -> PathBuf {
    std::env::var("AGENTRY_SHARED_DATA")
        .map(PathBuf::from)
        .unwrap_or_else(|_| Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/real"))
}

fn files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(rd) = std::fs::read_dir(dir) else {
        return;
    };
    for e in rd.flatten() {
        let p = e.path();
        let name = p
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_owned();
        if p.is_dir() {
            if !["schema", "jsonschema", "schema-source", "taxonomy-derived"]
                .contains(&name.as_str())
            {
                files(&p, out);
            }
        } else if name.ends_with(".json") || name.ends_with(".yaml") || name.ends_with(".yml") {
            out.push(p);
        }
    }
}

/// Valid single-record documents per format.
fn corpus() -> Vec<(Format, Vec<Vec<u8>>)> {
    let mut paths = Vec::new();
    files(&data_dir(), &mut paths);
    let fixtures = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    files(&fixtures, &mut paths);
    let mut by: Vec<(Format, Vec<Vec<u8>>)> =
        Format::ALL.iter().map(|f| (*f, Vec::new())).collect();
    let opts = ReadOptions::default();
    for p in paths {
        let Ok(bytes) = std::fs::read(&p) else {
            continue;
        };
        // Split JSON arrays (the MCP seed) into one document per record.
        let docs: Vec<Vec<u8>> = match serde_json::from_slice::<Value>(&bytes) {
            Ok(Value::Array(items)) => items
                .iter()
                .filter_map(|i| serde_json::to_vec(i).ok())
                .collect(),
            _ => vec![bytes],
        };
        for d in docs {
            if let Ok(recs) = read_document(&d, &opts)
                && recs.len() == 1
                && recs[0].report.valid
            {
                let f = recs[0].record.provenance.source_format;
                if let Some((_, v)) = by.iter_mut().find(|(g, _)| *g == f) {
                    v.push(d);
                }
            }
        }
    }
    // The simple format has no public samples: Figure 5's entry, varied.
    if let Some((_, v)) = by.iter_mut().find(|(f, _)| *f == Format::Simple) {
        for i in 0..16 {
            v.push(
                format!(
                    r#"{{"agent_id": "mbta-alerts-{i}", "endpoint": "http://alerts-agent:800{i}/", "description": "Monitors MBTA service alerts, delays, and disruptions for all transit lines", "capabilities": ["service_alerts", "delays", "disruptions"], "protocols": ["A2A", "SLIM"]}}"#
                )
                .into_bytes(),
            );
        }
    }
    by.retain(|(_, v)| !v.is_empty());
    by
}

fn bench(c: &mut Criterion) {
    let corpus = corpus();
    let opts = ReadOptions::default();
    let mut g = c.benchmark_group("read_validate_canonicalise");
    for (format, docs) in &corpus {
        // Warm the compiled schemas outside the measurement.
        for d in docs {
            let _ = read_document(d, &opts);
        }
        g.throughput(Throughput::Elements(docs.len() as u64));
        g.bench_function(format.as_str(), |b| {
            b.iter(|| {
                for d in docs {
                    let recs = read_document(black_box(d), &opts).unwrap_or_default();
                    for r in &recs {
                        black_box(serde_json::to_vec(&r.record).unwrap_or_default());
                    }
                }
            })
        });
    }
    g.finish();

    let oasf: Vec<Value> = corpus
        .iter()
        .filter(|(f, _)| *f == Format::Oasf)
        .flat_map(|(_, d)| d.iter().filter_map(|b| serde_json::from_slice(b).ok()))
        .collect();
    if !oasf.is_empty() {
        let mut g = c.benchmark_group("oasf_cid");
        g.throughput(Throughput::Elements(oasf.len() as u64));
        g.bench_function("record_cid", |b| {
            b.iter(|| {
                for v in &oasf {
                    black_box(agentry_formats::cid::record_cid(black_box(v)));
                }
            })
        });
        g.finish();
    }
    for (format, docs) in &corpus {
        eprintln!("corpus {}: {} records", format.as_str(), docs.len());
    }
}

criterion_group! {
    name = benches;
    config = Criterion::default().sample_size(20).measurement_time(std::time::Duration::from_secs(4));
    targets = bench
}
criterion_main!(benches);
