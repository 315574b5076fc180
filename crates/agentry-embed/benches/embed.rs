//! all-MiniLM-L6-v2 speed on this machine: latency of one short query, and batched throughput
//! (records/s) on typical agent descriptions (50–120 words, ~92 on average) with 1 and 2 threads
//! and several batch sizes.
//!
//! Run: `cargo bench -p agentry-embed --bench embed` (fetches the model into the shared cache
//! first if needed, like the tests). Records/s = criterion's "thrpt" in elem/s.

#[path = "../tests/common/mod.rs"]
mod common;

use std::time::Duration;

use agentry_embed::{Embedder, MiniLmEmbedder, MiniLmOptions};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

fn descriptions() -> Vec<String> {
    #[derive(serde::Deserialize)]
    struct File {
        descriptions: Vec<String>,
    }
    let file: File = serde_json::from_str(include_str!("agent_descriptions.json"))
        .expect("bench fixture parses");
    file.descriptions
}

fn load(threads: usize, batch_size: usize) -> MiniLmEmbedder {
    MiniLmEmbedder::load_with(
        &common::model_dir(),
        MiniLmOptions {
            batch_size,
            threads: Some(threads),
        },
    )
    .expect("model loads")
}

fn short_query(c: &mut Criterion) {
    let mut group = c.benchmark_group("minilm_short_query");
    group.measurement_time(Duration::from_secs(5));
    for threads in [1, 2] {
        let e = load(threads, 32);
        group.bench_function(BenchmarkId::new("threads", threads), |b| {
            b.iter(|| {
                e.embed(&["find an agent that translates Spanish to English"])
                    .expect("embed")
            })
        });
    }
    group.finish();
}

fn batched(c: &mut Criterion) {
    let descs = descriptions();
    let texts: Vec<&str> = descs.iter().map(String::as_str).collect();
    let mut group = c.benchmark_group("minilm_batch_64_descriptions");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(2));
    group.measurement_time(Duration::from_secs(10));
    group.throughput(Throughput::Elements(texts.len() as u64));
    for (threads, batch) in [
        (1, 1),
        (1, 8),
        (1, 16),
        (1, 32),
        (1, 64),
        (2, 8),
        (2, 16),
        (2, 32),
        (2, 64),
    ] {
        let e = load(threads, batch);
        group.bench_function(
            BenchmarkId::new(format!("threads{threads}"), format!("batch{batch}")),
            |b| b.iter(|| e.embed(&texts).expect("embed")),
        );
    }
    // Data parallelism instead of parallel matrix products: two single-threaded embedders, each
    // taking half of the records.
    for batch in [16, 32] {
        let (a, b2) = (load(1, batch), load(1, batch));
        let (left, right) = texts.split_at(texts.len() / 2);
        group.bench_function(
            BenchmarkId::new("2x1thread_workers", format!("batch{batch}")),
            |b| {
                b.iter(|| {
                    std::thread::scope(|s| {
                        let h = s.spawn(|| a.embed(left).expect("embed"));
                        let r = b2.embed(right).expect("embed");
                        (h.join().expect("worker"), r)
                    })
                })
            },
        );
    }
    group.finish();
}

criterion_group!(benches, short_query, batched);
criterion_main!(benches);
