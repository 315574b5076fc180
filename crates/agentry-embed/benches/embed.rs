//! all-MiniLM-L6-v2 speed: latency of one short query, and batched throughput (records/s) on
//! typical agent descriptions (50–120 words, 92 on average, ~130 tokens) with 1 and 2 threads and
//! several batch sizes.
//!
//! Run: `cargo bench -p agentry-embed --bench embed` (fetches the model into the shared cache
//! first if needed, like the tests). Records/s = criterion's "thrpt" in elem/s.
//!
//! Two clocks, because this machine is shared by several builds at once:
//! - `wall/...`: ordinary elapsed time; meaningful only on an otherwise idle machine.
//! - `cpu/...`: CPU time consumed by this process (all its threads, from
//!   `/proc/self/task/*/schedstat`, in ns). For a 1-thread run this is what the work costs one
//!   core, whatever else runs: records/s on that clock is the per-core throughput.

use std::time::{Duration, Instant};

use agentry_embed::{Embedder, MiniLmEmbedder, MiniLmOptions, Precision};
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};

/// The real model from the shared cache (`agentry_model::cache`), fetched on first use.
fn model_dir() -> &'static std::path::Path {
    match agentry_model::cache::shared() {
        Ok(c) => &c.model_dir,
        Err(e) => panic!("the benchmark needs the model: {e}"),
    }
}

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
    load_at(threads, batch_size, Precision::F32)
}

fn load_at(threads: usize, batch_size: usize, precision: Precision) -> MiniLmEmbedder {
    MiniLmEmbedder::load_with(
        model_dir(),
        MiniLmOptions {
            batch_size,
            threads: Some(threads),
            precision,
        },
    )
    .expect("model loads")
}

/// CPU time used so far by every thread of this process.
fn process_cpu() -> Duration {
    let mut ns: u64 = 0;
    if let Ok(tasks) = std::fs::read_dir("/proc/self/task") {
        for task in tasks.flatten() {
            if let Ok(s) = std::fs::read_to_string(task.path().join("schedstat"))
                && let Some(first) = s.split_whitespace().next()
            {
                ns += first.parse::<u64>().unwrap_or(0);
            }
        }
    }
    Duration::from_nanos(ns)
}

/// Times `iters` runs of `f` on both clocks; criterion sees the one `cpu` selects.
fn timed(iters: u64, cpu: bool, mut f: impl FnMut()) -> Duration {
    let (c0, w0) = (process_cpu(), Instant::now());
    for _ in 0..iters {
        f();
    }
    if cpu {
        process_cpu().saturating_sub(c0)
    } else {
        w0.elapsed()
    }
}

fn short_query(c: &mut Criterion) {
    let mut group = c.benchmark_group("minilm_short_query");
    group.measurement_time(Duration::from_secs(5));
    for (threads, precision) in [
        (1, Precision::F32),
        (2, Precision::F32),
        (1, Precision::Int8),
    ] {
        let e = load_at(threads, 32, precision);
        let suffix = if precision == Precision::Int8 {
            "_int8"
        } else {
            ""
        };
        for (clock, cpu) in [("wall", false), ("cpu", true)] {
            group.bench_function(
                BenchmarkId::new(clock, format!("threads{threads}{suffix}")),
                |b| {
                    b.iter_custom(|iters| {
                        timed(iters, cpu, || {
                            e.embed(&["find an agent that translates Spanish to English"])
                                .expect("embed");
                        })
                    })
                },
            );
        }
    }
    group.finish();
}

fn batched(c: &mut Criterion) {
    let descs = descriptions();
    let texts: Vec<&str> = descs.iter().map(String::as_str).collect();
    let mut group = c.benchmark_group("minilm_batch_64_descriptions");
    group.sample_size(10);
    group.warm_up_time(Duration::from_secs(1));
    group.measurement_time(Duration::from_secs(8));
    group.throughput(Throughput::Elements(texts.len() as u64));
    let (f32_, int8) = (Precision::F32, Precision::Int8);
    let configs: &[(&str, bool, usize, usize, Precision)] = &[
        ("cpu", true, 1, 1, f32_),
        ("cpu", true, 1, 8, f32_),
        ("cpu", true, 1, 16, f32_),
        ("cpu", true, 1, 32, f32_),
        ("cpu", true, 1, 64, f32_),
        ("cpu", true, 2, 32, f32_),
        ("wall", false, 1, 32, f32_),
        ("wall", false, 2, 16, f32_),
        ("wall", false, 2, 32, f32_),
        ("wall", false, 2, 64, f32_),
        ("cpu", true, 1, 16, int8),
        ("cpu", true, 1, 32, int8),
        ("wall", false, 2, 16, int8),
    ];
    for &(clock, cpu, threads, batch, precision) in configs {
        let e = load_at(threads, batch, precision);
        let suffix = if precision == int8 { "_int8" } else { "" };
        group.bench_function(
            BenchmarkId::new(
                format!("{clock}/threads{threads}{suffix}"),
                format!("batch{batch}"),
            ),
            |b| b.iter_custom(|iters| timed(iters, cpu, || drop(e.embed(&texts).expect("embed")))),
        );
    }
    // Data parallelism instead of parallel matrix products: two single-threaded embedders, each
    // taking half of the records.
    let (a, b2) = (load(1, 32), load(1, 32));
    let (left, right) = texts.split_at(texts.len() / 2);
    group.bench_function(BenchmarkId::new("wall/2x1thread_workers", "batch32"), |b| {
        b.iter_custom(|iters| {
            timed(iters, false, || {
                std::thread::scope(|s| {
                    let h = s.spawn(|| a.embed(left).expect("embed"));
                    let r = b2.embed(right).expect("embed");
                    drop((h.join().expect("worker"), r));
                })
            })
        })
    });
    group.finish();
}

criterion_group!(benches, short_query, batched);
criterion_main!(benches);
