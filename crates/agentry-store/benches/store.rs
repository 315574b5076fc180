//! Storage micro-benchmarks: manifest GET by tag (inline vs on the blocking pool, and two
//! tasks in parallel), durable `put_manifest` (one at a time and 8 concurrent), blob put and
//! read throughput.
//!
//! Run: `cargo bench -p agentry-store --bench store`.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use agentry_store::testsuite::{LIMIT, body_of, manifest, pattern, repo};
use agentry_store::{BlobStore, FsBlobStore, MetadataStore, RedbMetadataStore, UploadId};
use agentry_types::{DataDir, Digest, ManifestRef, Tag};
use criterion::{BatchSize, Criterion, Throughput, criterion_group, criterion_main};
use futures::StreamExt;

const MANIFESTS: usize = 10_000;

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap_or_else(|e| panic!("runtime: {e}"))
}

fn ok<T, E: std::fmt::Display>(r: Result<T, E>) -> T {
    r.unwrap_or_else(|e| panic!("{e}"))
}

/// A metadata store holding `MANIFESTS` tagged ~2 KB manifests in 100 repositories.
fn populated(rt: &tokio::runtime::Runtime, dir: &std::path::Path) -> Arc<RedbMetadataStore> {
    let m = Arc::new(ok(RedbMetadataStore::open(DataDir::new(dir).meta_db())));
    rt.block_on(async {
        let pad = "x".repeat(1800);
        let mut tasks = Vec::new();
        for w in 0..8 {
            let m = m.clone();
            let pad = pad.clone();
            tasks.push(tokio::spawn(async move {
                for i in (w..MANIFESTS).step_by(8) {
                    let r = repo(&format!("bench/agent{}", i % 100));
                    let p = manifest(
                        &r,
                        &format!("{i}{pad}"),
                        &[],
                        &[],
                        Some(&format!("v{i}")),
                        None,
                    );
                    ok(m.put_manifest(p).await);
                }
            }));
        }
        for t in tasks {
            ok(t.await);
        }
    });
    m
}

fn tag_ref(i: usize) -> (agentry_types::RepoName, ManifestRef) {
    let t = ok(Tag::parse(&format!("v{i}")));
    (
        repo(&format!("bench/agent{}", i % 100)),
        ManifestRef::Tag(t),
    )
}

fn manifest_get(c: &mut Criterion) {
    let rt = runtime();
    let dir = ok(tempfile::tempdir());
    let m = populated(&rt, dir.path());
    let refs: Arc<Vec<_>> = Arc::new((0..MANIFESTS).map(tag_ref).collect());
    let mut g = c.benchmark_group("manifest_get_by_tag");
    g.throughput(Throughput::Elements(1));
    let next = AtomicU64::new(0);
    g.bench_function("inline", |b| {
        b.iter(|| {
            let i = next.fetch_add(7919, Ordering::Relaxed) as usize % MANIFESTS;
            let (r, t) = &refs[i];
            let got = rt.block_on(m.get_manifest(r, t));
            assert!(ok(got).is_some());
        })
    });
    g.bench_function("spawn_blocking", |b| {
        b.iter(|| {
            let i = next.fetch_add(7919, Ordering::Relaxed) as usize % MANIFESTS;
            let (m, refs) = (m.clone(), refs.clone());
            let got = rt.block_on(async move {
                ok(tokio::task::spawn_blocking(move || {
                    let (r, t) = &refs[i];
                    futures::executor::block_on(m.get_manifest(r, t))
                })
                .await)
            });
            assert!(ok(got).is_some());
        })
    });
    // Two tasks on two workers: what the server can do on 2 cores, storage part only.
    g.bench_function("inline_2_tasks", |b| {
        b.iter_custom(|iters| {
            let start = Instant::now();
            rt.block_on(async {
                let mut tasks = Vec::new();
                for w in 0..2u64 {
                    let (m, refs) = (m.clone(), refs.clone());
                    tasks.push(tokio::spawn(async move {
                        for k in 0..iters.div_ceil(2) {
                            let i = ((k * 2 + w) * 7919) as usize % MANIFESTS;
                            let (r, t) = &refs[i];
                            assert!(ok(m.get_manifest(r, t).await).is_some());
                        }
                    }));
                }
                for t in tasks {
                    ok(t.await);
                }
            });
            start.elapsed()
        })
    });
    g.finish();
}

fn manifest_put(c: &mut Criterion) {
    let rt = runtime();
    let dir = ok(tempfile::tempdir());
    let m = Arc::new(ok(RedbMetadataStore::open(
        DataDir::new(dir.path()).meta_db(),
    )));
    let r = repo("bench/put");
    let blob = Digest::sha256(b"layer");
    rt.block_on(async { ok(m.link_blob(&r, &blob, 5).await) });
    let counter = Arc::new(AtomicU64::new(0));
    let pad = "y".repeat(1800);
    let mut g = c.benchmark_group("put_manifest_durable");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    g.throughput(Throughput::Elements(1));
    g.bench_function("sequential", |b| {
        b.iter(|| {
            let i = counter.fetch_add(1, Ordering::Relaxed);
            let p = manifest(
                &r,
                &format!("s{i}{pad}"),
                std::slice::from_ref(&blob),
                &[],
                Some(&format!("s{i}")),
                None,
            );
            ok(rt.block_on(m.put_manifest(p)));
        })
    });
    // Group commit: concurrent writers share transactions (and fsyncs).
    for writers in [8u64, 32] {
        g.bench_function(format!("{writers}_concurrent"), |b| {
            b.iter_custom(|iters| {
                let start = Instant::now();
                rt.block_on(async {
                    let mut tasks = Vec::new();
                    for _ in 0..writers {
                        let (m, r, blob, counter, pad) = (
                            m.clone(),
                            r.clone(),
                            blob.clone(),
                            counter.clone(),
                            pad.clone(),
                        );
                        tasks.push(tokio::spawn(async move {
                            for _ in 0..iters.div_ceil(writers) {
                                let i = counter.fetch_add(1, Ordering::Relaxed);
                                let p = manifest(
                                    &r,
                                    &format!("c{i}{pad}"),
                                    std::slice::from_ref(&blob),
                                    &[],
                                    Some(&format!("c{i}")),
                                    None,
                                );
                                ok(m.put_manifest(p).await);
                            }
                        }));
                    }
                    for t in tasks {
                        ok(t.await);
                    }
                });
                start.elapsed()
            })
        });
    }
    g.finish();
}

fn blobs(c: &mut Criterion) {
    let rt = runtime();
    let dir = ok(tempfile::tempdir());
    let s = Arc::new(ok(FsBlobStore::open(dir.path())));
    let counter = AtomicU64::new(0);
    let mut g = c.benchmark_group("blob");
    g.sample_size(10).measurement_time(Duration::from_secs(10));
    for (name, size) in [
        ("20KB", 20_000usize),
        ("1MiB", 1 << 20),
        ("64MiB", 64 << 20),
    ] {
        // Distinct content per iteration (a re-put would measure the same path anyway).
        let base = pattern(size, 1);
        g.throughput(Throughput::Bytes(size as u64));
        let fresh = || {
            let mut data = base.clone();
            let i = counter.fetch_add(1, Ordering::Relaxed);
            data[..8].copy_from_slice(&i.to_le_bytes());
            let d = Digest::sha256(&data);
            (body_of(&data, 64 * 1024), d)
        };
        g.bench_function(format!("put_{name}"), |b| {
            b.iter_batched(
                fresh,
                |(body, d)| ok(rt.block_on(s.put(&d, body, Some(size as u64), LIMIT))),
                BatchSize::PerIteration,
            )
        });
        let d = Digest::sha256(&base);
        ok(rt.block_on(s.put(&d, body_of(&base, 64 * 1024), None, LIMIT)));
        g.bench_function(format!("read_{name}"), |b| {
            b.iter(|| {
                let n = rt.block_on(async {
                    let r = ok(s.read(&d, None).await).unwrap_or_else(|| panic!("blob"));
                    let mut n = 0;
                    let mut st = r.stream;
                    while let Some(chunk) = st.next().await {
                        n += ok(chunk).len();
                    }
                    n
                });
                assert_eq!(n, size);
            })
        });
    }
    // A 64 MiB upload in 4 chunks, then finish (uses the running hash).
    let size = 64usize << 20;
    let base = pattern(size, 2);
    g.throughput(Throughput::Bytes(size as u64));
    g.bench_function("chunked_upload_64MiB", |b| {
        b.iter_batched(
            || {
                let mut data = base.clone();
                let i = counter.fetch_add(1, Ordering::Relaxed);
                data[..8].copy_from_slice(&i.to_le_bytes());
                let d = Digest::sha256(&data);
                let bodies: Vec<_> = data
                    .chunks(16 << 20)
                    .map(|c| body_of(c, 64 * 1024))
                    .collect();
                (bodies, d)
            },
            |(bodies, d)| {
                rt.block_on(async {
                    let id = UploadId::new();
                    ok(s.upload_start(&id).await);
                    let mut off = 0u64;
                    for body in bodies {
                        off = ok(s.upload_append(&id, off, body, None, LIMIT).await);
                    }
                    ok(s.upload_finish(&id, &d).await);
                });
            },
            BatchSize::PerIteration,
        )
    });
    g.finish();
}

criterion_group!(benches, manifest_get, manifest_put, blobs);
criterion_main!(benches);
