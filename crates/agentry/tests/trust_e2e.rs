//! The trust path end to end with the built binary, a real pod and a real DNS server
//! (hickory-server in this test process, on loopback): keygen → dns-records published into
//! the zone → push → sign → verify reaches Basic; unsigned is none; a forged signature and
//! a signature over another digest are none with their reason; a pod with
//! `--trust-min-tier basic` refuses an unsigned agent and says what is missing.

#![allow(clippy::unwrap_used)] // a panic is a test's failure report

#[allow(dead_code)]
mod cli_support;

use cli_support::{Backend, Registry, User, write};

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

fn folder(version: &str) -> tempfile::TempDir {
    let d = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    write(
        d.path(),
        "manifest.yaml",
        AGENT.replace("1.0.0", version).as_bytes(),
    );
    d
}

fn check<'a>(report: &'a serde_json::Value, name: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .and_then(|c| c.iter().find(|c| c["name"] == name))
        .unwrap_or_else(|| panic!("no check {name}: {report}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn keygen_dns_push_sign_verify() {
    let _ = rustls::crypto::ring::default_provider().install_default();
    let dns = agentry_trust::testdns::TestDnsServer::start("test.")
        .await
        .unwrap();
    let dns_addr = dns.addr.to_string();
    let reg = Registry::start_with(Backend::Agentry, None, &["--dns-server", &dns_addr]);
    let user = User::new();
    let keys = tempfile::tempdir().unwrap();
    let key = keys.path().join("acme.key");
    let key_s = key.to_str().unwrap();

    // keygen: 0600 private key and FILE.pub.
    let generated = user.run(&["keygen", "--out", key_s, "--json"]).ok().json();
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key).unwrap().permissions().mode() & 0o777;
        assert_eq!(mode, 0o600);
    }
    let pub_file = format!("{key_s}.pub");
    assert!(std::path::Path::new(&pub_file).exists(), "{generated}");

    // dns-records → the test zone.
    let records = user
        .run(&[
            "trust",
            "dns-records",
            "acme.test",
            "--key",
            &pub_file,
            "--pod",
            &reg.addr,
            "--json",
        ])
        .ok()
        .json();
    let records = records.as_array().unwrap().clone();
    assert_eq!(records.len(), 2, "{records:?}");
    for r in &records {
        let name = r["name"].as_str().unwrap();
        dns.set_txt_text(name, &[r["value"].as_str().unwrap()])
            .await
            .unwrap();
    }
    let text = user
        .run(&["trust", "dns-records", "acme.test", "--key", &pub_file])
        .ok()
        .stdout;
    assert!(
        text.contains("_ossa-key.acme.test. 3600 IN TXT \"v=ossa1; k=ed25519; p=MCowBQYDK2VwAyEA"),
        "{text}"
    );

    // push (unsigned): tier none, with the reason.
    let f = folder("1.0.0");
    let reference = format!("{}/acme-corp/analyst:1.0.0", reg.addr);
    user.run(&["push", f.path().to_str().unwrap(), &reference])
        .ok();
    let verify = |r: &str| user.run(&["verify", r, "--dns-server", &dns_addr, "--json"]);
    let unsigned = verify(&reference);
    assert_eq!(unsigned.code, 1, "{unsigned:?}");
    let v = unsigned.json();
    assert_eq!(v["tier"], "none", "{v}");
    assert_eq!(check(&v, "signature")["status"], "fail");
    assert_eq!(check(&v, "digest")["status"], "pass");

    // sign → Basic, on the client and on the pod.
    user.run(&["sign", &reference, "--key", key_s]).ok();
    let signed = verify(&reference);
    assert_eq!(signed.code, 0, "{signed:?}");
    let v = signed.json();
    assert_eq!(v["tier"], "basic", "{v}");
    for c in ["digest", "dns", "signature", "dns_key"] {
        assert_eq!(check(&v, c)["status"], "pass", "{c}: {v}");
    }
    assert_eq!(check(&v, "sbom")["status"], "fail");
    let text = user
        .run(&["verify", &reference, "--dns-server", &dns_addr])
        .ok()
        .stdout;
    assert!(text.contains("tier: basic"), "{text}");
    let standard = user.run(&[
        "verify",
        &reference,
        "--dns-server",
        &dns_addr,
        "--min-tier",
        "standard",
    ]);
    assert_eq!(standard.code, 1, "{standard:?}");
    let digest = v["digest"].as_str().unwrap().to_owned();
    let api = reqwest::get(format!("http://{}/api/v1/trust/{digest}", reg.addr))
        .await
        .unwrap();
    let api: serde_json::Value = api.json().await.unwrap();
    assert_eq!(api["tier"], "basic", "{api}");
    assert_eq!(
        api["checks"], v["checks"],
        "the pod and the CLI judge alike"
    );
    let found = reqwest::get(format!(
        "http://{}/api/v1/agents?q=filings&min_trust=basic",
        reg.addr
    ))
    .await
    .unwrap();
    let found: serde_json::Value = found.json().await.unwrap();
    assert_eq!(
        found["items"][0]["trust_tier"], "basic",
        "re-verified when the signature arrived: {found}"
    );

    // Another key, not in DNS: none, and the reason says so.
    let other = keys.path().join("other.key");
    user.run(&["keygen", "--out", other.to_str().unwrap()]).ok();
    let f2 = folder("2.0.0");
    let ref2 = format!("{}/acme-corp/analyst:2.0.0", reg.addr);
    user.run(&["push", f2.path().to_str().unwrap(), &ref2]).ok();
    user.run(&["sign", &ref2, "--key", other.to_str().unwrap()])
        .ok();
    let v = verify(&ref2).json();
    assert_eq!(v["tier"], "none", "{v}");
    assert_eq!(check(&v, "signature")["status"], "pass");
    assert!(
        check(&v, "dns_key")["reason"]
            .as_str()
            .unwrap()
            .contains("no signing key is published"),
        "{v}"
    );

    // A signature over another digest, attached to this one: none, with the reason.
    let f3 = folder("3.0.0");
    let ref3 = format!("{}/acme-corp/analyst:3.0.0", reg.addr);
    user.run(&["push", f3.path().to_str().unwrap(), &ref3]).ok();
    push_misdirected_signature(&reg.addr, &key, "acme-corp/analyst", "3.0.0").await;
    let v = verify(&ref3).json();
    assert_eq!(v["tier"], "none", "{v}");
    assert!(
        check(&v, "signature")["reason"]
            .as_str()
            .unwrap()
            .contains("not this manifest"),
        "{v}"
    );

    // A pod that requires Basic refuses the unsigned agent and names what is missing.
    let strict = Registry::start_with(
        Backend::Agentry,
        None,
        &["--dns-server", &dns_addr, "--trust-min-tier", "basic"],
    );
    let refused = user.run(&[
        "push",
        f.path().to_str().unwrap(),
        &format!("{}/acme-corp/analyst:1.0.0", strict.addr),
    ]);
    assert_ne!(refused.code, 0, "{refused:?}");
    assert!(
        refused.stderr.contains("trust tier basic") && refused.stderr.contains("signature:"),
        "{refused:?}"
    );
}

/// Sign the digest of some other content and attach that envelope to `tag`'s manifest.
async fn push_misdirected_signature(addr: &str, key: &std::path::Path, repo: &str, tag: &str) {
    use sha2::Digest as _;
    let pem = std::fs::read_to_string(key).unwrap();
    let sk = agentry_trust::keys::parse_private(&pem, None).unwrap();
    let http = reqwest::Client::new();
    let resp = http
        .get(format!("http://{addr}/v2/{repo}/manifests/{tag}"))
        .header("accept", "application/vnd.oci.image.manifest.v1+json")
        .send()
        .await
        .unwrap();
    let subject_bytes = resp.bytes().await.unwrap();
    let subject = format!("sha256:{}", hex(&sha2::Sha256::digest(&subject_bytes)));
    let other: agentry_types::Digest = agentry_types::Digest::sha256(b"another manifest");
    let envelope = agentry_trust::signature::Envelope::sign(&sk, &other).to_json();
    let env_digest = format!("sha256:{}", hex(&sha2::Sha256::digest(&envelope)));
    for (bytes, digest) in [
        (
            b"{}".to_vec(),
            format!("sha256:{}", hex(&sha2::Sha256::digest(b"{}"))),
        ),
        (envelope.clone(), env_digest.clone()),
    ] {
        let r = http
            .post(format!(
                "http://{addr}/v2/{repo}/blobs/uploads/?digest={digest}"
            ))
            .header("content-type", "application/octet-stream")
            .body(bytes)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "{}", r.status());
    }
    let manifest = serde_json::json!({
        "schemaVersion": 2,
        "mediaType": "application/vnd.oci.image.manifest.v1+json",
        "artifactType": "application/vnd.ossa.signature.v1+json",
        "config": {"mediaType": "application/vnd.oci.empty.v1+json", "digest": format!("sha256:{}", hex(&sha2::Sha256::digest(b"{}"))), "size": 2},
        "layers": [{"mediaType": "application/vnd.ossa.signature.v1+json", "digest": env_digest, "size": envelope.len()}],
        "subject": {"mediaType": "application/vnd.oci.image.manifest.v1+json", "digest": subject, "size": subject_bytes.len()},
    });
    let body = serde_json::to_vec(&manifest).unwrap();
    let d = format!("sha256:{}", hex(&sha2::Sha256::digest(&body)));
    let r = http
        .put(format!("http://{addr}/v2/{repo}/manifests/{d}"))
        .header("content-type", "application/vnd.oci.image.manifest.v1+json")
        .body(body)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status().as_u16(), 201);
}

fn hex(b: &[u8]) -> String {
    b.iter().map(|x| format!("{x:02x}")).collect()
}
