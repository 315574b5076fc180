//! Real bundles from public test data (testdata/sigstore/PROVENANCE.md), verified offline.

use std::path::{Path, PathBuf};

use agentry_sigstore::{
    ArtifactRef, BundleContent, Check, Identity, MAX_BUNDLE_BYTES, TrustedRoot, VerifyError,
    verify_bundle,
};
use sha2::{Digest, Sha256};

const DEFAULT_IDENTITY: &str = "https://github.com/sigstore-conformance/extremely-dangerous-public-oidc-beacon/.github/workflows/extremely-dangerous-oidc-beacon.yml@refs/heads/main";
const DEFAULT_ISSUER: &str = "https://token.actions.githubusercontent.com";

fn testdata() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../testdata/sigstore")
}

fn read_text(path: &Path) -> Option<String> {
    std::fs::read_to_string(path)
        .ok()
        .map(|s| s.trim().to_string())
}

struct Case {
    name: String,
    bundle: Vec<u8>,
    artifact: Vec<u8>,
    policy: Identity,
    root: TrustedRoot,
}

/// Loads one conformance case exactly as the suite's `BundleMaterials.from_dir` does.
fn load_case(dir: &Path) -> Result<Case, VerifyError> {
    let name = dir
        .file_name()
        .map(|n| n.to_string_lossy().into_owned())
        .unwrap_or_default();
    let bundle = std::fs::read(dir.join("bundle.sigstore.json")).unwrap_or_default();
    let artifact_path = if dir.join("artifact").exists() {
        dir.join("artifact")
    } else {
        dir.join("../a.txt")
    };
    let artifact = std::fs::read(artifact_path).expect("artifact");
    let policy = match read_text(&dir.join("key.pub")) {
        Some(pem) => Identity::public_key_pem(&pem)?,
        None => Identity::certificate(
            read_text(&dir.join("identity")).unwrap_or_else(|| DEFAULT_IDENTITY.into()),
            read_text(&dir.join("issuer")).unwrap_or_else(|| DEFAULT_ISSUER.into()),
        ),
    };
    let root = if dir.join("trusted_root.json").exists() {
        TrustedRoot::from_file(&dir.join("trusted_root.json"))?
    } else {
        TrustedRoot::public_good()?
    };
    Ok(Case {
        name,
        bundle,
        artifact,
        policy,
        root,
    })
}

#[test]
fn conformance_suite_offline_cases() {
    let dir = testdata().join("conformance");
    let mut dirs: Vec<PathBuf> = std::fs::read_dir(&dir)
        .expect("testdata/sigstore/conformance")
        .filter_map(|e| e.ok().map(|e| e.path()))
        .filter(|p| p.is_dir())
        .collect();
    dirs.sort();
    assert!(
        dirs.len() >= 70,
        "expected the 70 conformance cases, found {}",
        dirs.len()
    );

    let mut wrong = Vec::new();
    let (mut passed, mut refused) = (0, 0);
    for case_dir in &dirs {
        let name = case_dir
            .file_name()
            .map(|n| n.to_string_lossy().into_owned())
            .unwrap_or_default();
        let expect_fail = name.ends_with("_fail");
        let case = match load_case(case_dir) {
            Ok(case) => case,
            Err(e) => {
                // A trusted root or key the verifier cannot even load is a refusal.
                if expect_fail {
                    refused += 2;
                } else {
                    wrong.push(format!("{name}: materials refused: {e}"));
                }
                continue;
            }
        };
        let digest: [u8; 32] = Sha256::digest(&case.artifact).into();
        for (form, artifact) in [
            ("path", ArtifactRef::Bytes(&case.artifact)),
            ("digest", ArtifactRef::Sha256(digest)),
        ] {
            let verdict = verify_bundle(&case.bundle, artifact, &case.policy, &case.root);
            match (expect_fail, &verdict) {
                (false, Ok(facts)) => {
                    passed += 1;
                    assert!(
                        facts.tlog_verified || !facts.verified_times.is_empty(),
                        "{}: verified without any authenticated time: {facts:?}",
                        case.name
                    );
                }
                (true, Err(_)) => refused += 1,
                (false, Err(e)) => {
                    // The suite's own note: an Ed25519 message signature needs the message,
                    // so the digest form is refused by every conformant client.
                    if form == "digest"
                        && matches!(
                            e,
                            VerifyError::Rejected {
                                check: Check::Artifact,
                                ..
                            }
                        )
                    {
                        refused += 1;
                    } else {
                        wrong.push(format!("{name} ({form}): refused: {e}"));
                    }
                }
                (true, Ok(facts)) => wrong.push(format!("{name} ({form}): verified: {facts:?}")),
            }
        }
    }
    eprintln!("conformance: {passed} verified as expected, {refused} refused as expected");
    assert!(
        wrong.is_empty(),
        "{} verdicts differ from the suite:\n{}",
        wrong.len(),
        wrong.join("\n")
    );
}

#[test]
fn cosign_v3_blob_verifies_with_its_identity_and_nothing_else() {
    let dir = testdata().join("sigstore-verify");
    let bundle = std::fs::read(dir.join("cosign-v3-blob.sigstore.json")).expect("bundle");
    let artifact = std::fs::read(dir.join("cosign-v3-blob.txt")).expect("artifact");
    let root = TrustedRoot::public_good().expect("public-good root");
    let issuer = "https://github.com/login/oauth";
    let identity = "w.vollprecht@gmail.com";
    let facts = verify_bundle(
        &bundle,
        ArtifactRef::Bytes(&artifact),
        &Identity::certificate(identity, issuer),
        &root,
    )
    .expect("cosign v3 blob bundle verifies");
    assert_eq!(facts.identity.as_deref(), Some(identity));
    assert_eq!(facts.issuer.as_deref(), Some(issuer));
    assert_eq!(facts.content, BundleContent::MessageSignature);
    assert!(facts.certificate_verified && facts.sct_verified && facts.tlog_verified);
    assert_eq!(
        facts.verified_times.len(),
        2,
        "TSA and SET times: {facts:?}"
    );

    let err = verify_bundle(
        &bundle,
        ArtifactRef::Bytes(&artifact),
        &Identity::certificate("someone@else.example", issuer),
        &root,
    )
    .expect_err("another identity");
    assert_eq!(err.check(), Check::Identity, "{err}");

    let err = verify_bundle(
        &bundle,
        ArtifactRef::Bytes(&artifact),
        &Identity::certificate(identity, "https://accounts.google.com"),
        &root,
    )
    .expect_err("another issuer");
    assert_eq!(err.check(), Check::Issuer, "{err}");

    let mut other = artifact.clone();
    other.push(b'!');
    let err = verify_bundle(
        &bundle,
        ArtifactRef::Bytes(&other),
        &Identity::certificate(identity, issuer),
        &root,
    )
    .expect_err("another artifact");
    assert!(
        matches!(err.check(), Check::Artifact | Check::Signature),
        "{err}"
    );

    let err = verify_bundle(
        &bundle,
        ArtifactRef::Sha256([7u8; 32]),
        &Identity::certificate(identity, issuer),
        &root,
    )
    .expect_err("another digest");
    assert!(
        matches!(err.check(), Check::Artifact | Check::Signature),
        "{err}"
    );
}

#[test]
fn managed_key_bundle_verifies_with_its_key_only() {
    let dir = testdata().join("sigstore-verify/managed-key");
    let bundle = std::fs::read(dir.join("bundle.sigstore.json")).expect("bundle");
    let artifact = std::fs::read(dir.join("artifact.txt")).expect("artifact");
    let pem = std::fs::read_to_string(dir.join("key.pub")).expect("key");
    let root = TrustedRoot::public_good().expect("root");
    let facts = verify_bundle(
        &bundle,
        ArtifactRef::Bytes(&artifact),
        &Identity::public_key_pem(&pem).expect("pem"),
        &root,
    )
    .expect("managed-key bundle verifies");
    assert!(facts.tlog_verified);
    assert!(!facts.certificate_verified);
    assert_eq!(facts.identity, None);

    // Another P-256 key.
    let other = rcgen::KeyPair::generate().expect("key").public_key_pem();
    let err = verify_bundle(
        &bundle,
        ArtifactRef::Bytes(&artifact),
        &Identity::public_key_pem(&other).expect("pem"),
        &root,
    )
    .expect_err("wrong key");
    assert_eq!(err.check(), Check::Signature, "{err}");

    // A keyless policy does not accept a managed-key bundle.
    assert!(
        verify_bundle(
            &bundle,
            ArtifactRef::Bytes(&artifact),
            &Identity::certificate(DEFAULT_IDENTITY, DEFAULT_ISSUER),
            &root
        )
        .is_err()
    );
}

#[test]
fn cve_2022_36056_and_missing_log_entry_are_refused() {
    let dir = testdata().join("sigstore-verify");
    let root = TrustedRoot::public_good().expect("root");
    for (file, why) in [
        (
            "bundle_cve_2022_36056.txt.sigstore",
            "log entry for another signature",
        ),
        (
            "bundle_no_log_entry.txt.sigstore",
            "no transparency-log entry",
        ),
    ] {
        let bundle = std::fs::read(dir.join(file)).expect(file);
        let parsed = agentry_sigstore::parse_bundle(&bundle).expect("parses");
        let Some(digest) = message_digest(&parsed) else {
            panic!("{file}: no message digest");
        };
        let policy = Identity::certificate(DEFAULT_IDENTITY, DEFAULT_ISSUER);
        let err =
            verify_bundle(&bundle, ArtifactRef::Sha256(digest), &policy, &root).expect_err(why);
        eprintln!("{file}: {err}");
    }
    let bundle = std::fs::read(dir.join("bundle_invalid_version.txt.sigstore")).expect("bundle");
    let err = agentry_sigstore::parse_bundle(&bundle).expect_err("unknown bundle version");
    assert!(matches!(err, VerifyError::Malformed(_)), "{err}");
}

fn message_digest(bundle: &sigstore_verify::types::Bundle) -> Option<[u8; 32]> {
    match &bundle.content {
        sigstore_verify::types::SignatureContent::MessageSignature(sig) => {
            let d = sig.message_digest.as_ref()?;
            d.digest.as_bytes().try_into().ok()
        }
        _ => None,
    }
}

#[test]
fn truncated_garbage_and_oversized_bundles_are_clear_verdicts() {
    let root = TrustedRoot::public_good().expect("root");
    let good = std::fs::read(testdata().join("sigstore-verify/cosign-v3-blob.sigstore.json"))
        .expect("bundle");
    let policy = Identity::certificate("w.vollprecht@gmail.com", "https://github.com/login/oauth");
    let artifact = ArtifactRef::Bytes(b"x");

    for cut in [0, 1, good.len() / 3, good.len() / 2, good.len() - 2] {
        let err = verify_bundle(&good[..cut], artifact, &policy, &root).expect_err("truncated");
        assert_eq!(err.check(), Check::Bundle, "cut at {cut}: {err}");
        assert!(err.to_string().starts_with("bundle:"), "{err}");
    }
    for garbage in [
        &b"\xff\xfe\x00garbage"[..],
        b"[]",
        b"{}",
        b"null",
        b"{\"mediaType\":42}",
    ] {
        let err = verify_bundle(garbage, artifact, &policy, &root).expect_err("garbage");
        assert_eq!(err.check(), Check::Bundle, "{err}");
    }
    let huge = vec![b' '; MAX_BUNDLE_BYTES + 1];
    let err = verify_bundle(&huge, artifact, &policy, &root).expect_err("oversized");
    assert!(matches!(err, VerifyError::TooLarge { .. }), "{err}");
}

#[test]
fn digest_form_is_strict() {
    assert!(ArtifactRef::parse_digest(&format!("sha256:{}", "ab".repeat(32))).is_ok());
    for bad in [
        "sha256:abc",
        &format!("sha512:{}", "ab".repeat(32)),
        &format!("sha256:{}", "zz".repeat(32)),
        &format!("sha256:{}", "ab".repeat(33)),
        "",
    ] {
        assert!(ArtifactRef::parse_digest(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn garbage_trusted_root_is_refused_by_name() {
    let err = TrustedRoot::from_json(b"{\"mediaType\": \"nope\"").expect_err("garbage root");
    assert_eq!(err.check(), Check::TrustedRoot);
    assert!(err.to_string().contains("trusted root"), "{err}");
}
