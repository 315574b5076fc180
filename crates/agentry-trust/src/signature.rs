//! The OSSA signature referrer: an OCI artifact whose `subject` is the signed manifest, whose
//! `artifactType` and single layer are [`agentry_types::media::OSSA_SIGNATURE`], and whose
//! layer is this JSON envelope:
//!
//! ```json
//! { "v": "ossa1", "alg": "ed25519", "subject": "sha256:…",
//!   "publicKey": "<base64 SPKI DER, as in _ossa-key p=>", "signature": "<base64, 64 bytes>" }
//! ```
//!
//! The signature is Ed25519 (RFC 8032, pure) over [`signed_message`]: the fixed context
//! `ossa1-manifest-signature\n` followed by the manifest digest string (`sha256:…`). The
//! context keeps a signature from being replayed as any other Ed25519-signed message. The
//! envelope's `subject` must equal the manifest being verified — a signature over another
//! digest never counts, whatever its `subject` descriptor says.

use agentry_types::Digest;
use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::{Signature, Signer, SigningKey, VerifyingKey};
use serde::{Deserialize, Serialize};

/// Largest envelope read.
pub const MAX_ENVELOPE_BYTES: usize = 16 * 1024;

const CONTEXT: &[u8] = b"ossa1-manifest-signature\n";

/// The bytes that are signed for a manifest digest.
pub fn signed_message(digest: &Digest) -> Vec<u8> {
    let d = digest.to_string();
    let mut m = Vec::with_capacity(CONTEXT.len() + d.len());
    m.extend_from_slice(CONTEXT);
    m.extend_from_slice(d.as_bytes());
    m
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Envelope {
    pub v: String,
    pub alg: String,
    pub subject: String,
    #[serde(rename = "publicKey")]
    pub public_key: String,
    pub signature: String,
}

impl Envelope {
    /// Sign `digest` with `key`.
    pub fn sign(key: &SigningKey, digest: &Digest) -> Envelope {
        let sig = key.sign(&signed_message(digest));
        Envelope {
            v: "ossa1".into(),
            alg: "ed25519".into(),
            subject: digest.to_string(),
            public_key: crate::keys::public_spki_base64(&key.verifying_key()),
            signature: B64.encode(sig.to_bytes()),
        }
    }

    pub fn to_json(&self) -> Vec<u8> {
        serde_json::to_vec(self).unwrap_or_default()
    }

    pub fn parse(bytes: &[u8]) -> Result<Envelope, String> {
        if bytes.len() > MAX_ENVELOPE_BYTES {
            return Err(format!(
                "signature envelope is {} bytes; at most {MAX_ENVELOPE_BYTES} are read",
                bytes.len()
            ));
        }
        let e: Envelope = serde_json::from_slice(bytes)
            .map_err(|e| format!("signature envelope is not valid: {e}"))?;
        if e.v != "ossa1" {
            return Err(format!("signature envelope v: {:?} is not ossa1", e.v));
        }
        if e.alg != "ed25519" {
            return Err(format!(
                "signature envelope alg: {:?} is not ed25519",
                e.alg
            ));
        }
        Ok(e)
    }

    /// Check the envelope against the manifest digest; the key that signed it on success.
    pub fn verify(&self, digest: &Digest) -> Result<VerifyingKey, String> {
        if self.subject != digest.to_string() {
            return Err(format!(
                "the signature is over {}, not this manifest ({digest})",
                self.subject
            ));
        }
        let key_bytes = B64
            .decode(&self.public_key)
            .map_err(|_| "signature envelope publicKey: not base64".to_owned())?;
        let key = crate::keys::public_from_der_or_raw(&key_bytes)
            .map_err(|e| format!("signature envelope publicKey {e}"))?;
        let sig_bytes = B64
            .decode(&self.signature)
            .map_err(|_| "signature envelope signature: not base64".to_owned())?;
        let sig = Signature::from_slice(&sig_bytes).map_err(|_| {
            format!(
                "signature envelope signature: {} bytes, an Ed25519 signature is 64",
                sig_bytes.len()
            )
        })?;
        key.verify_strict(&signed_message(digest), &sig)
            .map_err(|_| {
                "the signature does not verify with its key (forged or damaged)".to_owned()
            })?;
        Ok(key)
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    #[test]
    fn sign_verify_and_forgeries() {
        let k = SigningKey::from_bytes(&[3; 32]);
        let d = Digest::sha256(b"manifest");
        let other = Digest::sha256(b"other");
        let e = Envelope::sign(&k, &d);
        let parsed = Envelope::parse(&e.to_json()).unwrap();
        assert_eq!(parsed.verify(&d).unwrap(), k.verifying_key());
        // Over another digest.
        assert!(
            parsed
                .verify(&other)
                .unwrap_err()
                .contains("not this manifest")
        );
        // Subject rewritten to the target but signature over another digest.
        let mut forged = Envelope::sign(&k, &other);
        forged.subject = d.to_string();
        assert!(forged.verify(&d).unwrap_err().contains("forged"));
        // Truncated signature.
        let mut short = e.clone();
        short.signature = B64.encode([0u8; 63]);
        assert!(short.verify(&d).unwrap_err().contains("64"));
        // Someone else's key swapped in.
        let mut swapped = e.clone();
        swapped.public_key =
            crate::keys::public_spki_base64(&SigningKey::from_bytes(&[4; 32]).verifying_key());
        assert!(swapped.verify(&d).is_err());
        assert!(Envelope::parse(b"{}").is_err());
        assert!(Envelope::parse(&vec![b' '; MAX_ENVELOPE_BYTES + 1]).is_err());
    }
}
