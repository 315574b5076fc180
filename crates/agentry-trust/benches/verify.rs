//! Basic-tier verification speed (BENCHMARKS.md §trust).
//!
//! - `basic_warm`: one full Basic judgement — DNS evidence from a warm [`AnchorCache`] plus
//!   `evaluate` (envelope parse, Ed25519 strict verify, key match, every other check) — on
//!   one thread.
//! - `standard_warm`: the same plus the Standard checks: the signing certificate chain
//!   (rustls-webpki path to the organisation CA, validity, name constraints, codeSigning, key
//!   usage and key match via x509-parser), capability schemas and the SBOM document parsed.
//! - `dns_cold`: the three `_ossa-*` lookups and their parsing against the in-process
//!   hickory-server on loopback, cache cleared each time.
//!
//! `cargo bench -p agentry-trust --bench verify`

#![allow(clippy::unwrap_used)] // a panic is a test's failure report

use std::sync::Arc;
use std::time::Duration;

use agentry_trust::testdns::TestDnsServer;
use agentry_trust::{AnchorCache, DnsEvidence, Evidence, HickoryTxtResolver, TrustTier, keys};
use agentry_types::Digest;
use criterion::{Criterion, Throughput, criterion_group, criterion_main};

fn bench(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    let key = ed25519_dalek::SigningKey::from_bytes(&[9; 32]);
    let dns = rt.block_on(async {
        let dns = TestDnsServer::start("test.").await.expect("dns server");
        let rec = format!(
            "v=ossa1; k=ed25519; p={}",
            keys::public_spki_base64(&key.verifying_key())
        );
        dns.set_txt_text("_ossa-key.acme.test.", &[&rec])
            .await
            .expect("zone");
        dns.set_txt_text(
            "_ossa-registry.acme.test.",
            &["v=ossa1; pod=registry.acme.test:5000"],
        )
        .await
        .expect("zone");
        dns
    });
    let resolver =
        HickoryTxtResolver::new(Some(dns.addr), Duration::from_secs(2)).expect("resolver");
    let cache = AnchorCache::new(Arc::new(resolver));
    let digest = Digest::sha256(b"an agent manifest");
    let envelope = agentry_trust::signature::Envelope::sign(&key, &digest).to_json();
    assert!(matches!(
        rt.block_on(cache.evidence(Some("acme.test"))),
        DnsEvidence::Anchors(_)
    ));

    let mut g = c.benchmark_group("trust");
    g.throughput(Throughput::Elements(1));
    g.bench_function("basic_warm", |b| {
        b.iter(|| {
            let dns = rt.block_on(cache.evidence(Some("acme.test")));
            let ev = Evidence {
                digest_verified: true,
                dns: Some(dns),
                signatures: vec![envelope.clone()],
                ..Default::default()
            };
            let r = agentry_trust::evaluate(&digest, Some("acme.test"), &ev, None);
            assert_eq!(r.tier, TrustTier::Basic);
        })
    });
    // Standard: Basic + an X.509 chain (rcgen CA → Ed25519 leaf) checked by rustls-webpki, a
    // capability-schema check and an SPDX document parsed.
    let ca = agentry_trust::testpki::TestCa::new("Acme CA", &["acme.test"]).expect("ca");
    let chain = ca
        .issue(
            &key.verifying_key(),
            &agentry_trust::testpki::Leaf::for_domain("acme.test"),
        )
        .expect("leaf");
    let mut cas = agentry_trust::OrgCas::new();
    cas.add_pem(ca.cert_pem.as_bytes(), "bench CA").expect("ca");
    let cas = Arc::new(cas);
    let sbom = br#"{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"analyst","packages":[{"name":"analyst","SPDXID":"SPDXRef-analyst","versionInfo":"1.0.0"}]}"#.to_vec();
    g.bench_function("standard_warm", |b| {
        b.iter(|| {
            let dns = rt.block_on(cache.evidence(Some("acme.test")));
            let ev = Evidence {
                digest_verified: true,
                dns: Some(dns),
                signatures: vec![envelope.clone()],
                cert_chains: vec![chain.clone().into_bytes()],
                org_cas: Some(cas.clone()),
                capability_schemas: Some(Ok(())),
                sboms: vec![("application/spdx+json".into(), sbom.clone())],
                ..Default::default()
            };
            let r = agentry_trust::evaluate(&digest, Some("acme.test"), &ev, None);
            assert_eq!(r.tier, TrustTier::Standard);
        })
    });
    g.bench_function("dns_cold", |b| {
        b.iter(|| {
            cache.clear();
            let e = rt.block_on(cache.evidence(Some("acme.test")));
            assert!(matches!(e, DnsEvidence::Anchors(_)));
        })
    });
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
