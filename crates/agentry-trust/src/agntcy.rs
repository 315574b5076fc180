//! The AGNTCY Directory's signature convention, read and written as the Directory stores it
//! (agntcy/dir `server/store/oci/referrers.go`, `api/sign/v1`):
//!
//! - two referrers of the record's manifest, told apart by the manifest annotation
//!   `agntcy.dir.referrer.type`: `agntcy.dir.sign.v1.PublicKey` (one layer of media type
//!   `application/vnd.agntcy.dir.sign.publickey.v1+pem`) and `agntcy.dir.sign.v1.Signature`
//!   (layer `application/vnd.agntcy.dir.sign.signature.v1+json`); the manifests' own
//!   `artifactType` is `application/vnd.oci.image.manifest.v1+json`, as oras-go packs them;
//! - each layer is a `RecordReferrer` in JSON: `{"data":{…},"record_ref":{"cid":"…"},
//!   "type":"agntcy.dir.sign.v1.…"}`, `data` being `{"key":"<SPKI PEM>"}` or
//!   `{"algorithm":"Ed25519","signature":"<base64>","signedAt":"<RFC 3339>"}`;
//! - the signature is over the record's CID string, Ed25519ph (RFC 8032 with SHA-512
//!   pre-hashing, empty context), as cosign signs a blob with an Ed25519 key. Pure Ed25519
//!   over the same string is accepted on reading too (older cosign verifiers).
//!
//! What it proves: the CID is the hash of the canonical OASF record, so the signature covers
//! the record (the description), not the other layers of the artifact. The CID is the one this
//! verifier computed from the record layer, never the one the referrer claims.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, SigningKey, VerifyingKey};
use serde_json::{Value, json};
use sha2::{Digest as _, Sha512};

pub const PUBLIC_KEY_TYPE: &str = "agntcy.dir.sign.v1.PublicKey";
pub const SIGNATURE_TYPE: &str = "agntcy.dir.sign.v1.Signature";
pub const PUBLIC_KEY_MEDIA_TYPE: &str = "application/vnd.agntcy.dir.sign.publickey.v1+pem";
pub const SIGNATURE_MEDIA_TYPE: &str = "application/vnd.agntcy.dir.sign.signature.v1+json";
/// The manifest annotation naming a referrer's type.
pub const TYPE_ANNOTATION: &str = "agntcy.dir.referrer.type";
/// The manifest annotation holding the referrer blob's CID.
pub const CID_ANNOTATION: &str = "org.agntcy.dir/cid";
/// The `artifactType` oras-go gives the Directory's referrer manifests.
pub const ARTIFACT_TYPE: &str = "application/vnd.oci.image.manifest.v1+json";

/// Largest referrer document read.
pub const MAX_REFERRER_BYTES: usize = 16 * 1024;

fn prehash(cid: &str) -> Sha512 {
    let mut h = Sha512::new();
    h.update(cid.as_bytes());
    h
}

/// The two RecordReferrer documents (public key, signature) for `cid` signed by `key`.
pub fn sign(key: &SigningKey, cid: &str, signed_at: &str) -> Result<(Vec<u8>, Vec<u8>), String> {
    let sig = key
        .sign_prehashed(prehash(cid), None)
        .map_err(|e| format!("Ed25519ph signing failed: {e}"))?;
    let pem = crate::keys::public_pem(&key.verifying_key())?;
    // Keys in sorted order, as the Directory's canonical JSON writes them.
    let public = json!({
        "data": {"key": pem},
        "record_ref": {"cid": cid},
        "type": PUBLIC_KEY_TYPE,
    });
    let signature = json!({
        "data": {
            "algorithm": "Ed25519",
            "signature": B64.encode(sig.to_bytes()),
            "signedAt": signed_at,
        },
        "record_ref": {"cid": cid},
        "type": SIGNATURE_TYPE,
    });
    Ok((
        serde_json::to_vec(&public).map_err(|e| e.to_string())?,
        serde_json::to_vec(&signature).map_err(|e| e.to_string())?,
    ))
}

fn referrer(bytes: &[u8], want: &str) -> Result<Value, String> {
    if bytes.len() > MAX_REFERRER_BYTES {
        return Err(format!(
            "AGNTCY {want} referrer: {} bytes, more than {MAX_REFERRER_BYTES}",
            bytes.len()
        ));
    }
    let v: Value = serde_json::from_slice(bytes)
        .map_err(|e| format!("AGNTCY {want} referrer: not JSON: {e}"))?;
    let ty = v.get("type").and_then(Value::as_str).unwrap_or("");
    let media = match want {
        "signature" => SIGNATURE_MEDIA_TYPE,
        _ => PUBLIC_KEY_MEDIA_TYPE,
    };
    let expected = match want {
        "signature" => SIGNATURE_TYPE,
        _ => PUBLIC_KEY_TYPE,
    };
    if ty != expected && ty != media {
        return Err(format!(
            "AGNTCY {want} referrer: type {ty:?} is not {expected}"
        ));
    }
    v.get("data")
        .cloned()
        .filter(Value::is_object)
        .ok_or_else(|| format!("AGNTCY {want} referrer: no data object"))
}

/// The public key of an `agntcy.dir.sign.v1.PublicKey` referrer document.
pub fn public_key(bytes: &[u8]) -> Result<VerifyingKey, String> {
    let data = referrer(bytes, "public key")?;
    let pem = data
        .get("key")
        .and_then(Value::as_str)
        .ok_or_else(|| "AGNTCY public key referrer: data.key missing".to_owned())?;
    crate::keys::parse_public(pem).map_err(|e| format!("AGNTCY public key referrer: data.key {e}"))
}

/// Verify an `agntcy.dir.sign.v1.Signature` referrer document over `cid` with one of
/// `keys`; the key that verified.
pub fn verify(bytes: &[u8], cid: &str, keys: &[VerifyingKey]) -> Result<VerifyingKey, String> {
    let data = referrer(bytes, "signature")?;
    let b64 = data
        .get("signature")
        .and_then(Value::as_str)
        .ok_or_else(|| "AGNTCY signature referrer: data.signature missing".to_owned())?;
    let raw = B64
        .decode(b64)
        .map_err(|_| "AGNTCY signature referrer: data.signature is not base64".to_owned())?;
    let sig = Signature::from_slice(&raw).map_err(|_| {
        format!(
            "AGNTCY signature: {} bytes, an Ed25519 signature is 64 (only Ed25519 keys are read)",
            raw.len()
        )
    })?;
    if keys.is_empty() {
        return Err("AGNTCY signature without an agntcy.dir.sign.v1.PublicKey referrer".into());
    }
    for k in keys {
        if k.verify_prehashed_strict(prehash(cid), None, &sig).is_ok()
            || k.verify_strict(cid.as_bytes(), &sig).is_ok()
        {
            return Ok(*k);
        }
    }
    Err(format!(
        "the AGNTCY signature does not verify over the record's CID {cid} with its public key(s)"
    ))
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    #[test]
    fn round_trip_and_forgeries() {
        let k = SigningKey::from_bytes(&[5; 32]);
        let cid = "baeareihdr6cnvwe3e7tqmwzdbi6aoq4hfrnjr3fzhphwhzxtxhzkbmi3nm";
        let (public, sig) = sign(&k, cid, "2026-12-07T12:00:00Z").unwrap();
        let pk = public_key(&public).unwrap();
        assert_eq!(pk, k.verifying_key());
        assert_eq!(verify(&sig, cid, &[pk]).unwrap(), pk);
        // Over another CID.
        assert!(
            verify(&sig, "bafyother", &[pk])
                .unwrap_err()
                .contains("does not verify")
        );
        // Another key.
        let other = SigningKey::from_bytes(&[6; 32]).verifying_key();
        assert!(verify(&sig, cid, &[other]).is_err());
        // Pure Ed25519 over the CID (older cosign) is read too.
        let pure = {
            use ed25519_dalek::Signer;
            let s = k.sign(cid.as_bytes());
            serde_json::to_vec(
                &json!({"type": SIGNATURE_TYPE, "data": {"signature": B64.encode(s.to_bytes())}}),
            )
            .unwrap()
        };
        assert!(verify(&pure, cid, &[pk]).is_ok());
        // The written shape.
        let v: Value = serde_json::from_slice(&sig).unwrap();
        assert_eq!(v["type"], SIGNATURE_TYPE);
        assert_eq!(v["record_ref"]["cid"], cid);
        assert_eq!(v["data"]["algorithm"], "Ed25519");
        assert!(verify(b"{}", cid, &[pk]).is_err());
        assert!(verify(&[b' '; MAX_REFERRER_BYTES + 1], cid, &[pk]).is_err());
    }
}
