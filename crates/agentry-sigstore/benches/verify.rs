//! Sigstore bundle verifications per second (BENCHMARKS.md): a real public-good cosign v3 bundle
//! (chain, SCT, Rekor inclusion proof + checkpoint + SET, RFC 3161 timestamp) and a bundle of the
//! in-process test stack (chain, SCT, inclusion proof + checkpoint + SET), each parsed and
//! verified from bytes per iteration, with the trusted root prepared once.

use std::hint::black_box;
use std::path::Path;

use agentry_sigstore::{ArtifactRef, Identity, TrustedRoot, verify_bundle};
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sigstore/sigstore-verify");
    let bundle = std::fs::read(dir.join("cosign-v3-blob.sigstore.json")).expect("bundle");
    let artifact = std::fs::read(dir.join("cosign-v3-blob.txt")).expect("artifact");
    let public = TrustedRoot::public_good().expect("root");
    let policy = Identity::certificate("w.vollprecht@gmail.com", "https://github.com/login/oauth");
    verify_bundle(&bundle, ArtifactRef::Bytes(&artifact), &policy, &public).expect("verifies");

    let mut stack = agentry_sigstore::testing::Stack::new(1000).expect("stack");
    let own_root = TrustedRoot::from_json(stack.trusted_root_json().as_bytes()).expect("root");
    let minted = stack
        .sign(
            b"agent manifest",
            "ci@acme.example",
            "https://issuer.acme.example",
        )
        .expect("sign");
    let own_bundle = minted.bytes();
    let own_policy = Identity::certificate("ci@acme.example", "https://issuer.acme.example");
    verify_bundle(
        &own_bundle,
        ArtifactRef::Bytes(&minted.artifact),
        &own_policy,
        &own_root,
    )
    .expect("verifies");

    let mut g = c.benchmark_group("sigstore_verify_bundle");
    g.throughput(Throughput::Elements(1));
    g.bench_function("public_good_cosign_v3_blob", |b| {
        b.iter(|| {
            verify_bundle(
                black_box(&bundle),
                ArtifactRef::Bytes(&artifact),
                &policy,
                &public,
            )
        })
    });
    g.bench_function("test_stack_tree_1001", |b| {
        b.iter(|| {
            verify_bundle(
                black_box(&own_bundle),
                ArtifactRef::Bytes(&minted.artifact),
                &own_policy,
                &own_root,
            )
        })
    });
    g.finish();

    c.bench_function("sigstore_trusted_root_prepare_public_good", |b| {
        b.iter(TrustedRoot::public_good)
    });
}

criterion_group!(benches, bench);
criterion_main!(benches);
