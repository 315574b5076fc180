//! Issue 14's "Done when", end to end with the built binary, real pods, a real DNS server
//! (hickory-server in this process), real X.509 (an rcgen organisation CA) and a Sigstore
//! stack built by the test (own CA in Fulcio's place, own CT log, own Rekor-style log with
//! inclusion proofs and checkpoints) published through a custom trusted root:
//!
//! keygen → TXT records into the DNS server → `push --sign-key --cert` → Basic → SBOM attached
//! → Standard → Sigstore bundle + SLSA provenance + compliance attached → Verified; the pod's
//! `GET /api/v1/trust` agrees check by check; bad certificates, bundles and attestations say
//! why; a `--trust-min-tier standard` pod refuses an unsigned agent naming what is missing; an
//! `_ossa-policy` with `require-sig` refuses unsigned pushes for its domain; AGNTCY Directory
//! signatures are written and read.

#![allow(clippy::unwrap_used)] // a panic is a test's failure report

#[allow(dead_code)]
mod cli_support;

use std::path::Path;

use agentry_sigstore::testing::Stack;
use agentry_trust::testpki::{Leaf, TestCa};
use cli_support::{Backend, Registry, User, write};

const WHO: &str = "release@acme.test";
const ISSUER: &str = "https://issuer.acme.test";

const AGENT: &str = "apiVersion: ossa.ai/v1
kind: Agent
metadata:
  name: analyst
  namespace: acme-corp
  version: 1.0.0
  description: Analyses filings
spec:
  publisher:
    organization: Acme
    domain: acme.test
  capabilities:
    skills:
      - name: analyse
        description: Analyse a filing
        input-schema:
          type: object
";

fn folder(version: &str, domain: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap();
    write(
        d.path(),
        "manifest.yaml",
        AGENT
            .replace("1.0.0", version)
            .replace("acme.test", domain)
            .as_bytes(),
    );
    d
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

fn status(report: &serde_json::Value, name: &str) -> String {
    check(report, name)["status"].as_str().unwrap().to_owned()
}

fn reason(report: &serde_json::Value, name: &str) -> String {
    check(report, name)["reason"].as_str().unwrap().to_owned()
}

fn p(path: &Path) -> &str {
    path.to_str().unwrap()
}

/// keygen + the printed TXT records published in `dns` for `domain`; the key's path.
async fn publisher(
    user: &User,
    dir: &Path,
    dns: &agentry_trust::testdns::TestDnsServer,
    domain: &str,
    pod: &str,
) -> std::path::PathBuf {
    let key = dir.join(format!("{domain}.key"));
    user.run(&["keygen", "--out", p(&key)]).ok();
    let records = user
        .run(&[
            "trust",
            "dns-records",
            domain,
            "--key",
            &format!("{}.pub", p(&key)),
            "--pod",
            pod,
            "--json",
        ])
        .ok()
        .json();
    for r in records.as_array().unwrap() {
        dns.set_txt_text(r["name"].as_str().unwrap(), &[r["value"].as_str().unwrap()])
            .await
            .unwrap();
    }
    key
}

fn statement(digest: &str, predicate_type: &str, predicate: serde_json::Value) -> Vec<u8> {
    serde_json::to_vec(&serde_json::json!({
        "_type": "https://in-toto.io/Statement/v1",
        "subject": [{"name": "acme-corp/analyst", "digest": {"sha256": digest.trim_start_matches("sha256:")}}],
        "predicateType": predicate_type,
        "predicate": predicate,
    }))
    .unwrap()
}

async fn manifest_bytes(addr: &str, repo: &str, digest: &str) -> Vec<u8> {
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/v2/{repo}/manifests/{digest}"))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    r.bytes().await.unwrap().to_vec()
}

async fn api_trust(addr: &str, digest: &str) -> serde_json::Value {
    reqwest::get(format!("http://{addr}/api/v1/trust/{digest}"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn basic_then_standard_then_verified() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dns = agentry_trust::testdns::TestDnsServer::start("test.")
        .await
        .unwrap();
    let dns_addr = dns.addr.to_string();
    let user = User::new();
    let dir = tempfile::tempdir().unwrap();
    let key = publisher(&user, dir.path(), &dns, "acme.test", "127.0.0.1:5000").await;

    // The organisation CA (name-constrained to acme.test) and a code-signing certificate
    // for the publisher's key.
    let ca = TestCa::new("Acme Test CA", &["acme.test"]).unwrap();
    let ca_file = dir.path().join("acme-ca.pem");
    std::fs::write(&ca_file, &ca.cert_pem).unwrap();
    let public = agentry_trust::keys::parse_public(
        &std::fs::read_to_string(format!("{}.pub", p(&key))).unwrap(),
    )
    .unwrap();
    let cert = |leaf: &Leaf, name: &str| {
        let f = dir.path().join(name);
        std::fs::write(&f, ca.issue(&public, leaf).unwrap()).unwrap();
        f
    };
    let chain = cert(&Leaf::for_domain("acme.test"), "chain.pem");

    // The Sigstore stack and its trusted root.
    let mut stack = Stack::new(4).unwrap();
    let root_file = dir.path().join("trusted_root.json");
    std::fs::write(&root_file, stack.trusted_root_json()).unwrap();
    let identity = format!("acme.test={WHO},{ISSUER}");
    let trust: Vec<&str> = vec![
        "--dns-server",
        &dns_addr,
        "--trust-org-ca",
        p(&ca_file),
        "--trusted-root",
        p(&root_file),
        "--trust-sigstore-identity",
        &identity,
    ];
    let reg = Registry::start_with(Backend::Agentry, None, &trust);
    let verify = |r: &str, extra: &[&str]| {
        let mut a = vec!["verify", r];
        a.extend(&trust);
        a.extend(extra);
        user.run(&a)
    };

    // Sign as part of the push, with the certificate: Basic (no SBOM yet).
    let f = folder("1.0.0", "acme.test");
    let reference = format!("{}/acme-corp/analyst:1.0.0", reg.addr);
    let pushed = user
        .run(&[
            "push",
            p(f.path()),
            &reference,
            "--sign-key",
            p(&key),
            "--cert",
            p(&chain),
            "--json",
        ])
        .ok()
        .json();
    let digest = pushed["digest"].as_str().unwrap().to_owned();
    assert!(pushed["signature"].is_string(), "{pushed}");
    let v = verify(&reference, &["--json"]).ok().json();
    assert_eq!(v["tier"], "basic", "{v}");
    assert_eq!(status(&v, "cert_chain"), "pass", "{v}");
    assert!(reason(&v, "cert_chain").contains("chains to the organisation CA"));
    assert_eq!(status(&v, "capability_schemas"), "pass");
    assert_eq!(status(&v, "sbom"), "fail");
    let below = verify(&reference, &["--min-tier", "standard"]);
    assert_eq!(below.code, 1, "{below:?}");

    // + SBOM: Standard, on the client and on the pod, check by check.
    let sbom = dir.path().join("sbom.spdx.json");
    std::fs::write(
        &sbom,
        br#"{"spdxVersion":"SPDX-2.3","dataLicense":"CC0-1.0","SPDXID":"SPDXRef-DOCUMENT","name":"analyst","documentNamespace":"https://acme.test/spdx/analyst-1.0.0","creationInfo":{"created":"2026-12-07T00:00:00Z","creators":["Tool: agentry"]},"packages":[{"name":"analyst","SPDXID":"SPDXRef-analyst","versionInfo":"1.0.0","downloadLocation":"NOASSERTION"}]}"#,
    )
    .unwrap();
    let attach = |r: &str, t: &str, file: &Path| {
        user.run(&["attach", r, p(file), "--artifact-type", t, "--json"])
            .ok()
    };
    attach(&reference, "application/spdx+json", &sbom);
    let v = verify(&reference, &["--json", "--min-tier", "standard"])
        .ok()
        .json();
    assert_eq!(v["tier"], "standard", "{v}");
    assert!(reason(&v, "sbom").contains("SPDX-2.3"), "{v}");
    let api = api_trust(&reg.addr, &digest).await;
    assert_eq!(api["tier"], "standard", "{api}");
    assert_eq!(
        api["checks"], v["checks"],
        "the pod and the CLI judge alike"
    );

    // + Sigstore bundle over the manifest, SLSA provenance, compliance: Verified.
    let manifest = manifest_bytes(&reg.addr, "acme-corp/analyst", &digest).await;
    let bundle = dir.path().join("manifest.sigstore.json");
    std::fs::write(&bundle, stack.sign(&manifest, WHO, ISSUER).unwrap().bytes()).unwrap();
    attach(
        &reference,
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        &bundle,
    );
    let v = verify(&reference, &["--json"]).ok().json();
    assert_eq!(status(&v, "transparency_log"), "pass", "{v}");
    assert!(reason(&v, "transparency_log").contains(WHO), "{v}");
    assert_eq!(v["tier"], "standard", "no provenance yet: {v}");
    let prov = dir.path().join("provenance.json");
    std::fs::write(
        &prov,
        statement(
            &digest,
            "https://slsa.dev/provenance/v1",
            serde_json::json!({"buildDefinition": {"buildType": "https://acme.test/ci/v1", "externalParameters": {}}, "runDetails": {"builder": {"id": "https://ci.acme.test"}}}),
        ),
    )
    .unwrap();
    attach(&reference, "application/vnd.in-toto+json", &prov);
    let comp = dir.path().join("compliance.json");
    std::fs::write(
        &comp,
        statement(
            &digest,
            "https://ossa.ai/compliance/v1",
            serde_json::json!({"framework": "SOC 2", "status": "compliant"}),
        ),
    )
    .unwrap();
    attach(&reference, "application/vnd.ossa.compliance.v1+json", &comp);
    let v = verify(&reference, &["--json", "--min-tier", "verified"])
        .ok()
        .json();
    assert_eq!(v["tier"], "verified", "{v}");
    for c in v["checks"].as_array().unwrap() {
        assert_eq!(c["status"], "pass", "{c}");
    }
    let text = verify(&reference, &["--min-tier", "verified"]).ok().stdout;
    assert!(text.contains("tier: verified"), "{text}");
    for name in [
        "digest",
        "signature",
        "dns_key",
        "cert_chain",
        "sbom",
        "provenance",
        "transparency_log",
        "compliance",
    ] {
        assert!(
            text.lines()
                .any(|l| l.contains(name) && l.trim_start().starts_with("pass")),
            "{name}: {text}"
        );
    }
    let api = api_trust(&reg.addr, &digest).await;
    assert_eq!(api["tier"], "verified", "{api}");
    assert_eq!(api["checks"], v["checks"]);
    let found: serde_json::Value = reqwest::get(format!(
        "http://{}/api/v1/agents?q=filings&min_trust=verified",
        reg.addr
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        found["items"][0]["trust_tier"], "verified",
        "re-judged as each referrer arrived: {found}"
    );

    // A reindex judges again: the tier survives it (it used to be reset to none).
    let r = reqwest::Client::new()
        .post(format!("http://{}/api/v1/admin/reindex", reg.addr))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success(), "{}", r.status());
    let found: serde_json::Value = reqwest::get(format!(
        "http://{}/api/v1/agents?q=filings&min_trust=verified",
        reg.addr
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    assert_eq!(
        found["items"][0]["trust_tier"], "verified",
        "after reindex: {found}"
    );

    // Bad input: each says why and earns no more than it proves.
    let bad = |version: &str, leaf: Leaf, name: &str| {
        let f = folder(version, "acme.test");
        let r = format!("{}/acme-corp/analyst:{version}", reg.addr);
        let c = cert(&leaf, name);
        user.run(&[
            "push",
            p(f.path()),
            &r,
            "--sign-key",
            p(&key),
            "--cert",
            p(&c),
        ])
        .ok();
        attach(&r, "application/spdx+json", &sbom);
        let v = verify(&r, &["--json"]).json();
        assert_eq!(v["tier"], "basic", "{name}: {v}");
        reason(&v, "cert_chain")
    };
    let why = bad(
        "2.0.0",
        Leaf::for_domain("acme.test").expired(),
        "expired.pem",
    );
    assert!(why.contains("expired"), "{why}");
    let why = bad(
        "2.0.1",
        Leaf {
            extended: vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth],
            ..Leaf::for_domain("acme.test")
        },
        "server-auth.pem",
    );
    assert!(why.contains("codeSigning"), "{why}");
    let why = bad(
        "2.0.2",
        Leaf {
            key_usages: vec![rcgen::KeyUsagePurpose::KeyEncipherment],
            ..Leaf::for_domain("acme.test")
        },
        "no-digital-signature.pem",
    );
    assert!(why.contains("digitalSignature"), "{why}");
    let why = bad("2.0.3", Leaf::for_domain("evil.test"), "wrong-name.pem");
    assert!(
        why.contains("name constraints") || why.contains("does not name"),
        "{why}"
    );

    // A bundle over other bytes, provenance about another manifest: not Verified, and why.
    let f = folder("3.0.0", "acme.test");
    let r3 = format!("{}/acme-corp/analyst:3.0.0", reg.addr);
    user.run(&[
        "push",
        p(f.path()),
        &r3,
        "--sign-key",
        p(&key),
        "--cert",
        p(&chain),
    ])
    .ok();
    attach(&r3, "application/spdx+json", &sbom);
    let other = dir.path().join("other.sigstore.json");
    std::fs::write(
        &other,
        stack
            .sign(b"some other manifest", WHO, ISSUER)
            .unwrap()
            .bytes(),
    )
    .unwrap();
    attach(&r3, "application/vnd.dev.sigstore.bundle.v0.3+json", &other);
    attach(&r3, "application/vnd.in-toto+json", &prov);
    attach(&r3, "application/vnd.ossa.compliance.v1+json", &comp);
    let v = verify(&r3, &["--json"]).json();
    assert_eq!(v["tier"], "standard", "{v}");
    assert_eq!(status(&v, "transparency_log"), "fail");
    assert!(reason(&v, "provenance").contains("does not list"), "{v}");
    // Another identity than the one configured for acme.test.
    let f = folder("3.0.1", "acme.test");
    let r4 = format!("{}/acme-corp/analyst:3.0.1", reg.addr);
    let d4 = user
        .run(&["push", p(f.path()), &r4, "--sign-key", p(&key), "--json"])
        .ok()
        .json()["digest"]
        .as_str()
        .unwrap()
        .to_owned();
    let m4 = manifest_bytes(&reg.addr, "acme-corp/analyst", &d4).await;
    let stranger = dir.path().join("stranger.sigstore.json");
    std::fs::write(
        &stranger,
        stack
            .sign(&m4, "someone@elsewhere.test", ISSUER)
            .unwrap()
            .bytes(),
    )
    .unwrap();
    attach(
        &r4,
        "application/vnd.dev.sigstore.bundle.v0.3+json",
        &stranger,
    );
    let v = verify(&r4, &["--json"]).json();
    assert_eq!(status(&v, "transparency_log"), "fail", "{v}");
    assert!(reason(&v, "transparency_log").contains("identity"), "{v}");

    // A pod that requires Standard refuses an unsigned agent and says exactly what is missing.
    let mut strict_args = trust.clone();
    strict_args.extend(["--trust-min-tier", "standard"]);
    let strict = Registry::start_with(Backend::Agentry, None, &strict_args);
    let refused = user.run(&[
        "push",
        p(folder("1.0.0", "acme.test").path()),
        &format!("{}/acme-corp/analyst:1.0.0", strict.addr),
    ]);
    assert_ne!(refused.code, 0, "{refused:?}");
    for missing in [
        "trust tier standard",
        "signature:",
        "dns_key:",
        "cert_chain:",
        "sbom:",
    ] {
        assert!(refused.stderr.contains(missing), "{missing}: {refused:?}");
    }
    // Signed with a certificate but no SBOM: only the SBOM is missing.
    let refused = user.run(&[
        "push",
        p(folder("1.0.0", "acme.test").path()),
        &format!("{}/acme-corp/analyst:1.0.0", strict.addr),
        "--sign-key",
        p(&key),
        "--cert",
        p(&chain),
    ]);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(refused.stderr.contains("sbom:"), "{refused:?}");
    assert!(!refused.stderr.contains("signature:"), "{refused:?}");
    assert!(!refused.stderr.contains("cert_chain:"), "{refused:?}");

    // A pod that requires Basic takes `push --sign-key`.
    let basic = Registry::start_with(
        Backend::Agentry,
        None,
        &["--dns-server", &dns_addr, "--trust-min-tier", "basic"],
    );
    user.run(&[
        "push",
        p(folder("1.0.0", "acme.test").path()),
        &format!("{}/acme-corp/analyst:1.0.0", basic.addr),
        "--sign-key",
        p(&key),
    ])
    .ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn require_sig_policy_and_agntcy_signatures() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dns = agentry_trust::testdns::TestDnsServer::start("test.")
        .await
        .unwrap();
    let dns_addr = dns.addr.to_string();
    let user = User::new();
    let dir = tempfile::tempdir().unwrap();
    let key = publisher(&user, dir.path(), &dns, "strict.test", "127.0.0.1:5000").await;
    dns.set_txt_text(
        "_ossa-policy.strict.test.",
        &["v=ossa1; federation=open; require-sig"],
    )
    .await
    .unwrap();
    let reg = Registry::start_with(Backend::Agentry, None, &["--dns-server", &dns_addr]);

    // The pod's own minimum is none, but strict.test's policy asks for a signature.
    let r = format!("{}/acme-corp/analyst:1.0.0", reg.addr);
    let refused = user.run(&["push", p(folder("1.0.0", "strict.test").path()), &r]);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused.stderr.contains("require-sig") && refused.stderr.contains("signature:"),
        "{refused:?}"
    );
    user.run(&[
        "push",
        p(folder("1.0.0", "strict.test").path()),
        &r,
        "--sign-key",
        p(&key),
    ])
    .ok();
    // Another domain without a policy is unaffected.
    user.run(&[
        "push",
        p(folder("1.0.0", "other.test").path()),
        &format!("{}/acme-corp/other:1.0.0", reg.addr),
    ])
    .ok();

    // AGNTCY Directory signatures: written by `sign --agntcy`, read as a signature.
    let oasf = Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../testdata/real/oasf/examples/oasf-sdk/valid_1.0.0_record.json");
    let r = format!("{}/acme-corp/oasf-agent:1.0.0", reg.addr);
    let pushed = user.run(&["push", p(&oasf), &r, "--json"]).ok().json();
    let cid = pushed["cid"].as_str().unwrap().to_owned();
    let signed = user
        .run(&["sign", &r, "--key", p(&key), "--agntcy", "--json"])
        .ok()
        .json();
    assert_eq!(signed["cid"], cid.as_str(), "{signed}");
    let digest = pushed["digest"].as_str().unwrap();
    let refs: serde_json::Value = reqwest::get(format!(
        "http://{}/v2/acme-corp/oasf-agent/referrers/{digest}",
        reg.addr
    ))
    .await
    .unwrap()
    .json()
    .await
    .unwrap();
    let types: Vec<&str> = refs["manifests"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|m| m["annotations"]["agntcy.dir.referrer.type"].as_str())
        .collect();
    assert!(types.contains(&"agntcy.dir.sign.v1.Signature"), "{refs}");
    assert!(types.contains(&"agntcy.dir.sign.v1.PublicKey"), "{refs}");
    let v = user
        .run(&[
            "verify",
            &r,
            "--dns-server",
            &dns_addr,
            "--json",
            "--min-tier",
            "none",
        ])
        .ok()
        .json();
    assert_eq!(status(&v, "signature"), "pass", "{v}");
    assert!(reason(&v, "signature").contains(&cid), "{v}");
    // An OASF record names no publisher.domain: no DNS anchor, so no tier above none.
    assert_eq!(v["tier"], "none", "{v}");
    assert_eq!(status(&v, "dns"), "fail");
}

/// The tier of the first search hit for `q`, if any.
async fn indexed_tier(addr: &str, q: &str) -> Option<String> {
    let found: serde_json::Value = reqwest::get(format!("http://{addr}/api/v1/agents?q={q}"))
        .await
        .ok()?
        .json()
        .await
        .ok()?;
    found["items"][0]["trust_tier"].as_str().map(str::to_owned)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_key_removed_from_dns_demotes_once_its_ttl_expires() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dns = agentry_trust::testdns::TestDnsServer::start("test.")
        .await
        .unwrap();
    let dns_addr = dns.addr.to_string();
    let user = User::new();
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("ttl.key");
    user.run(&["keygen", "--out", p(&key)]).ok();
    let records = user
        .run(&[
            "trust",
            "dns-records",
            "ttl.test",
            "--key",
            &format!("{}.pub", p(&key)),
            "--pod",
            "127.0.0.1:5000",
            "--json",
        ])
        .ok()
        .json();
    // Answers valid for 5 s (the cache's floor).
    for r in records.as_array().unwrap() {
        dns.set_txt_text_ttl(
            r["name"].as_str().unwrap(),
            &[r["value"].as_str().unwrap()],
            5,
        )
        .await
        .unwrap();
    }
    let reg = Registry::start_with(
        Backend::Agentry,
        None,
        &["--dns-server", &dns_addr, "--trust-reverify-interval", "1"],
    );
    user.run(&[
        "push",
        p(folder("1.0.0", "ttl.test").path()),
        &format!("{}/acme-corp/analyst:1.0.0", reg.addr),
        "--sign-key",
        p(&key),
    ])
    .ok();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(60);
    while indexed_tier(&reg.addr, "filings").await.as_deref() != Some("basic") {
        assert!(
            std::time::Instant::now() < deadline,
            "never indexed at basic"
        );
        tokio::time::sleep(std::time::Duration::from_millis(200)).await;
    }

    // The publisher rotates to another key: the old one is no longer in DNS.
    let other = dir.path().join("other.key");
    user.run(&["keygen", "--out", p(&other)]).ok();
    let pem = std::fs::read_to_string(format!("{}.pub", p(&other))).unwrap();
    let rotated = format!(
        "v=ossa1; k=ed25519; p={}",
        agentry_trust::keys::public_spki_base64(&agentry_trust::keys::parse_public(&pem).unwrap())
    );
    dns.set_txt_text_ttl("_ossa-key.ttl.test.", &[&rotated], 5)
        .await
        .unwrap();
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(90);
    while indexed_tier(&reg.addr, "filings").await.as_deref() != Some("none") {
        assert!(
            std::time::Instant::now() < deadline,
            "still {:?} long after the TTL expired",
            indexed_tier(&reg.addr, "filings").await
        );
        tokio::time::sleep(std::time::Duration::from_millis(500)).await;
    }
    let v = api_trust(
        &reg.addr,
        user.run(&[
            "verify",
            &format!("{}/acme-corp/analyst:1.0.0", reg.addr),
            "--dns-server",
            &dns_addr,
            "--json",
            "--min-tier",
            "none",
        ])
        .ok()
        .json()["digest"]
            .as_str()
            .unwrap(),
    )
    .await;
    assert!(
        reason(&v, "dns_key").contains("no signing key is published"),
        "{v}"
    );
}
