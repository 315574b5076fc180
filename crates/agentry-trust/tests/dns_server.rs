//! The resolver and the anchor cache against a real DNS server (hickory-server on loopback).

#![allow(clippy::unwrap_used)] // a panic is a test's failure report

use std::sync::Arc;
use std::time::Duration;

use agentry_trust::testdns::{TestDnsServer, servfail_server, silent_server};
use agentry_trust::{AnchorCache, DnsEvidence, HickoryTxtResolver, TxtError, TxtResolver, keys};

fn key_record(k: &ed25519_dalek::SigningKey) -> String {
    format!(
        "v=ossa1; k=ed25519; p={}",
        keys::public_spki_base64(&k.verifying_key())
    )
}

async fn cache_for(addr: std::net::SocketAddr) -> AnchorCache {
    let r = HickoryTxtResolver::new(Some(addr), Duration::from_millis(500)).unwrap();
    AnchorCache::new(Arc::new(r))
}

#[tokio::test]
async fn anchors_from_a_real_zone() {
    let dns = TestDnsServer::start("test.").await.unwrap();
    let k1 = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    let k2 = ed25519_dalek::SigningKey::from_bytes(&[2; 32]);
    dns.set_txt_text(
        "_ossa-key.acme.test.",
        &[&key_record(&k1), &key_record(&k2)],
    )
    .await
    .unwrap();
    dns.set_txt_text(
        "_ossa-registry.acme.test.",
        &["v=ossa1; pod=registry.acme.test:5000; fallback=hub.ossa.test"],
    )
    .await
    .unwrap();
    dns.set_txt_text(
        "_ossa-policy.acme.test.",
        &["v=ossa1; federation=restricted; require-sig=true; min-trust=basic"],
    )
    .await
    .unwrap();
    // A record split into several strings at arbitrary points.
    let text = key_record(&k1);
    let parts: Vec<Vec<u8>> = text.as_bytes().chunks(10).map(<[u8]>::to_vec).collect();
    dns.set_txt("_ossa-key.split.test.", &[parts])
        .await
        .unwrap();

    let cache = cache_for(dns.addr).await;
    match cache.evidence(Some("ACME.test")).await {
        DnsEvidence::Anchors(a) => {
            assert_eq!(a.keys.len(), 2, "rotation: both keys count");
            assert_eq!(
                a.registry.as_ref().unwrap().pods,
                vec!["registry.acme.test:5000"]
            );
            assert!(a.policy.as_ref().unwrap().require_sig);
        }
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(cache.evidence(Some("split.test")).await, DnsEvidence::Anchors(a) if a.keys.len() == 1)
    );
    // A subdomain is not its parent; a look-alike is another name.
    for other in ["sub.acme.test", "acme.test.attacker.test", "acme-test.test"] {
        match cache.evidence(Some(other)).await {
            DnsEvidence::Invalid(e) => assert_eq!(e.record, "_ossa-key", "{other}"),
            e => panic!("{other}: {e:?}"),
        }
    }
    assert!(matches!(cache.evidence(None).await, DnsEvidence::NoDomain));
    assert!(matches!(
        cache.evidence(Some("not a domain")).await,
        DnsEvidence::BadDomain(_)
    ));
}

#[tokio::test]
async fn garbage_and_oversized_records_are_invalid_not_trusted() {
    let dns = TestDnsServer::start("test.").await.unwrap();
    dns.set_txt_text("_ossa-key.garbage.test.", &["v=ossa1; k=ed25519; p=%%%"])
        .await
        .unwrap();
    dns.set_txt_text("_ossa-key.binary.test.", &[])
        .await
        .unwrap();
    dns.set_txt("_ossa-key.binary.test.", &[vec![vec![0xff, 0xfe, 0x00]]])
        .await
        .unwrap();
    // 3000 bytes: more than a UDP answer holds (resolver retries over TCP) and more than read.
    let huge = format!("v=ossa1; k=ed25519; p={}", "A".repeat(3000));
    dns.set_txt_text("_ossa-key.huge.test.", &[&huge])
        .await
        .unwrap();
    let cache = cache_for(dns.addr).await;
    for (d, field) in [
        ("garbage.test", "p"),
        ("binary.test", "record"),
        ("huge.test", "record"),
    ] {
        match cache.evidence(Some(d)).await {
            DnsEvidence::Invalid(e) => assert_eq!(e.field, field, "{d}: {e}"),
            other => panic!("{d}: {other:?}"),
        }
    }
}

#[tokio::test]
async fn servfail_and_timeout_are_unknown() {
    let sf = servfail_server().await.unwrap();
    let r = HickoryTxtResolver::new(Some(sf), Duration::from_millis(300)).unwrap();
    assert!(matches!(
        r.txt("_ossa-key.acme.test.").await,
        Err(TxtError::Failed(_))
    ));
    let cache = AnchorCache::new(Arc::new(r));
    assert!(matches!(
        cache.evidence(Some("acme.test")).await,
        DnsEvidence::Unknown(_)
    ));

    let silent = silent_server().await.unwrap();
    let cache = cache_for(silent).await;
    let started = std::time::Instant::now();
    match cache.evidence(Some("acme.test")).await {
        DnsEvidence::Unknown(e) => assert!(!e.is_empty()),
        other => panic!("{other:?}"),
    }
    assert!(started.elapsed() < Duration::from_secs(10));
}

#[tokio::test]
async fn answers_are_cached_for_their_ttl() {
    let dns = TestDnsServer::start("test.").await.unwrap();
    let k1 = ed25519_dalek::SigningKey::from_bytes(&[1; 32]);
    dns.set_txt_text("_ossa-key.acme.test.", &[&key_record(&k1)])
        .await
        .unwrap();
    let cache = cache_for(dns.addr).await;
    assert!(matches!(
        cache.evidence(Some("acme.test")).await,
        DnsEvidence::Anchors(_)
    ));
    // The key is removed from DNS: the cached answer (TTL 60 s) still holds…
    dns.set_txt("_ossa-key.acme.test.", &[]).await.unwrap();
    assert!(matches!(
        cache.evidence(Some("acme.test")).await,
        DnsEvidence::Anchors(_)
    ));
    // …until it expires (here: forgotten), then the removal is seen.
    cache.clear();
    assert!(matches!(
        cache.evidence(Some("acme.test")).await,
        DnsEvidence::Invalid(_)
    ));
}
