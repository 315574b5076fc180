//! The Verified path end to end with a Sigstore stack the test builds itself (own CA in Fulcio's
//! place, own CT log, own signed append-only log in Rekor's place), published through a custom
//! trusted root and checked by the same `verify_bundle` as the public bundles.

use agentry_sigstore::testing::{Minted, Stack};
use agentry_sigstore::{ArtifactRef, Check, Identity, TrustedRoot, VerifyError, verify_bundle};
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use sha2::{Digest, Sha256};

const WHO: &str = "release@acme.example";
const ISSUER: &str = "https://issuer.acme.example";

fn setup() -> (Stack, TrustedRoot, Minted) {
    let mut stack = Stack::new(6).expect("stack");
    let root = TrustedRoot::from_json(stack.trusted_root_json().as_bytes()).expect("custom root");
    let minted = stack
        .sign(b"agent manifest sha256:0123", WHO, ISSUER)
        .expect("sign");
    (stack, root, minted)
}

fn policy() -> Identity {
    Identity::certificate(WHO, ISSUER)
}

fn verdict(minted: &Minted, root: &TrustedRoot) -> Result<agentry_sigstore::Facts, VerifyError> {
    verify_bundle(
        &minted.bytes(),
        ArtifactRef::Bytes(&minted.artifact),
        &policy(),
        root,
    )
}

#[test]
fn own_stack_bundle_verifies_with_every_check() {
    let (mut stack, root, minted) = setup();
    let facts = verdict(&minted, &root).expect("own bundle verifies");
    assert!(facts.certificate_verified, "{facts:?}");
    assert!(facts.sct_verified, "{facts:?}");
    assert!(facts.tlog_verified, "{facts:?}");
    assert_eq!(facts.identity.as_deref(), Some(WHO));
    assert_eq!(facts.issuer.as_deref(), Some(ISSUER));
    assert!(facts.integrated_time.is_some());
    assert_eq!(minted.log_index, 6);

    // The digest form verifies the same bundle.
    let digest: [u8; 32] = Sha256::digest(&minted.artifact).into();
    verify_bundle(
        &minted.bytes(),
        ArtifactRef::Sha256(digest),
        &policy(),
        &root,
    )
    .expect("digest");

    // A later entry in a bigger tree verifies too (deeper proof, new checkpoint).
    for i in 0..9 {
        stack.log.append(format!("more {i}").as_bytes());
    }
    let later = stack.sign(b"another agent", WHO, ISSUER).expect("sign");
    verdict(&later, &root).expect("later bundle verifies");
}

#[test]
fn the_public_good_root_does_not_trust_the_test_stack() {
    let (_, _, minted) = setup();
    let public = TrustedRoot::public_good().expect("root");
    let err = verdict(&minted, &public).expect_err("unknown CA and log");
    assert!(
        matches!(err.check(), Check::Certificate | Check::TransparencyLog),
        "{err}"
    );
}

#[test]
fn another_stacks_root_does_not_trust_it_either() {
    let (_, _, minted) = setup();
    let other = Stack::new(1).expect("stack");
    let other_root = TrustedRoot::from_json(other.trusted_root_json().as_bytes()).expect("root");
    assert!(verdict(&minted, &other_root).is_err());
}

fn entry(m: &mut Minted) -> &mut serde_json::Value {
    &mut m.bundle["verificationMaterial"]["tlogEntries"][0]
}

fn flip_b64(v: &mut serde_json::Value) {
    let mut bytes = B64.decode(v.as_str().expect("string")).expect("base64");
    bytes[0] ^= 1;
    *v = serde_json::Value::String(B64.encode(bytes));
}

#[test]
fn inclusion_proof_mismatch_is_refused() {
    let (_, root, minted) = setup();
    let mut m = minted.clone();
    flip_b64(&mut entry(&mut m)["inclusionProof"]["hashes"][1]);
    let err = verdict(&m, &root).expect_err("corrupted proof hash");
    assert_eq!(err.check(), Check::TransparencyLog, "{err}");

    let mut m = minted.clone();
    entry(&mut m)["inclusionProof"]["logIndex"] = "2".into();
    let err = verdict(&m, &root).expect_err("proof for another index");
    assert_eq!(err.check(), Check::TransparencyLog, "{err}");

    let mut m = minted.clone();
    let hashes = entry(&mut m)["inclusionProof"]["hashes"]
        .as_array_mut()
        .expect("hashes");
    hashes.pop();
    let err = verdict(&m, &root).expect_err("short proof");
    assert_eq!(err.check(), Check::TransparencyLog, "{err}");
}

#[test]
fn checkpoint_mismatch_is_refused() {
    let (_, root, minted) = setup();
    // A proof root that is not the checkpoint's root.
    let mut m = minted.clone();
    flip_b64(&mut entry(&mut m)["inclusionProof"]["rootHash"]);
    let err = verdict(&m, &root).expect_err("root hash mismatch");
    // sigstore-bundle already refuses this while reading the bundle.
    assert!(
        matches!(err.check(), Check::Bundle | Check::TransparencyLog),
        "{err}"
    );
    assert!(err.to_string().contains("checkpoint root hash"), "{err}");

    // A checkpoint whose signed text was edited (tree size), signature now wrong.
    let mut m = minted.clone();
    let env = entry(&mut m)["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .expect("envelope")
        .replacen("\n7\n", "\n8\n", 1);
    entry(&mut m)["inclusionProof"]["checkpoint"]["envelope"] = env.into();
    let err = verdict(&m, &root).expect_err("edited checkpoint");
    assert_eq!(err.check(), Check::TransparencyLog, "{err}");

    // The same checkpoint text signed by another log's key.
    let other = Stack::new(0).expect("stack");
    let mut m = minted.clone();
    let env = entry(&mut m)["inclusionProof"]["checkpoint"]["envelope"]
        .as_str()
        .expect("envelope")
        .to_string();
    let body = &env[..env.find("\n\n").expect("note body") + 1];
    let forged = other.log.sign_note(body).expect("sign");
    entry(&mut m)["inclusionProof"]["checkpoint"]["envelope"] = forged.into();
    let err = verdict(&m, &root).expect_err("checkpoint signed by another log");
    assert_eq!(err.check(), Check::TransparencyLog, "{err}");
    assert!(err.to_string().contains("checkpoint"), "{err}");
}

#[test]
fn signed_entry_timestamp_and_body_tampering_are_refused() {
    let (_, root, minted) = setup();
    let mut m = minted.clone();
    flip_b64(&mut entry(&mut m)["inclusionPromise"]["signedEntryTimestamp"]);
    let err = verdict(&m, &root).expect_err("bad SET");
    assert_eq!(err.check(), Check::TransparencyLog, "{err}");

    let mut m = minted.clone();
    let t: i64 = entry(&mut m)["integratedTime"]
        .as_str()
        .expect("t")
        .parse()
        .expect("int");
    entry(&mut m)["integratedTime"] = (t - 1).to_string().into();
    let err = verdict(&m, &root).expect_err("moved integrated time");
    assert_eq!(err.check(), Check::TransparencyLog, "{err}");
}

#[test]
fn wrong_identity_issuer_and_other_digest_are_refused() {
    let (_, root, minted) = setup();
    let bytes = minted.bytes();
    let err = verify_bundle(
        &bytes,
        ArtifactRef::Bytes(&minted.artifact),
        &Identity::certificate("mallory@acme.example", ISSUER),
        &root,
    )
    .expect_err("identity");
    assert_eq!(err.check(), Check::Identity, "{err}");

    let err = verify_bundle(
        &bytes,
        ArtifactRef::Bytes(&minted.artifact),
        &Identity::certificate(WHO, "https://accounts.google.com"),
        &root,
    )
    .expect_err("issuer");
    assert_eq!(err.check(), Check::Issuer, "{err}");

    let other: [u8; 32] = Sha256::digest(b"another manifest").into();
    let err =
        verify_bundle(&bytes, ArtifactRef::Sha256(other), &policy(), &root).expect_err("digest");
    assert!(
        matches!(err.check(), Check::Artifact | Check::Signature),
        "{err}"
    );

    let err = verify_bundle(&bytes, ArtifactRef::Bytes(b"tampered"), &policy(), &root)
        .expect_err("bytes");
    assert!(
        matches!(err.check(), Check::Artifact | Check::Signature),
        "{err}"
    );
}

#[test]
fn truncated_bundle_from_the_stack_is_a_bundle_verdict() {
    let (_, root, minted) = setup();
    let bytes = minted.bytes();
    for cut in [1, bytes.len() / 4, bytes.len() / 2, bytes.len() - 1] {
        let err = verify_bundle(
            &bytes[..cut],
            ArtifactRef::Bytes(&minted.artifact),
            &policy(),
            &root,
        )
        .expect_err("truncated");
        assert_eq!(err.check(), Check::Bundle, "{err}");
    }
}
