//! Ed25519 keys: PKCS#8 PEM private keys (optionally encrypted with a passphrase: PBES2,
//! scrypt + AES-256-CBC, as the `pkcs8` crate writes them) and public keys in every form a
//! publisher meets: SubjectPublicKeyInfo PEM or DER, the base64 an `_ossa-key` record's `p=`
//! holds, raw 32 bytes, or an OpenSSH `ssh-ed25519 AAAA…` line.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use ed25519_dalek::pkcs8::spki::der::pem::LineEnding;
use ed25519_dalek::pkcs8::{DecodePrivateKey, DecodePublicKey, EncodePrivateKey, EncodePublicKey};
use ed25519_dalek::{SigningKey, VerifyingKey};

/// Length of the DER SubjectPublicKeyInfo of an Ed25519 key (`MCowBQYDK2VwAyEA` + 32 bytes).
const SPKI_LEN: usize = 44;

/// A fresh key from the operating system's random source.
pub fn generate() -> SigningKey {
    SigningKey::generate(&mut rand_core::OsRng)
}

/// PKCS#8 PEM of a private key; encrypted when a passphrase is given.
pub fn private_pem(key: &SigningKey, passphrase: Option<&str>) -> Result<String, String> {
    let pem = match passphrase {
        Some(p) => key
            .to_pkcs8_encrypted_pem(&mut rand_core::OsRng, p, LineEnding::LF)
            .map_err(|e| format!("encrypting the private key failed: {e}"))?,
        None => key
            .to_pkcs8_pem(LineEnding::LF)
            .map_err(|e| format!("encoding the private key failed: {e}"))?,
    };
    Ok(pem.to_string())
}

/// SubjectPublicKeyInfo PEM of a public key.
pub fn public_pem(key: &VerifyingKey) -> Result<String, String> {
    key.to_public_key_pem(LineEnding::LF)
        .map_err(|e| format!("encoding the public key failed: {e}"))
}

/// The `p=` value of an `_ossa-key` record: base64 of the SubjectPublicKeyInfo DER, as the
/// whitepaper's example (`MCowBQYDK2VwAyEA…`) and DKIM write it.
pub fn public_spki_base64(key: &VerifyingKey) -> String {
    let mut der = Vec::with_capacity(SPKI_LEN);
    // RFC 8410: SEQUENCE { SEQUENCE { OID 1.3.101.112 } BIT STRING (0 unused bits) key }.
    der.extend_from_slice(&[
        0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
    ]);
    der.extend_from_slice(key.as_bytes());
    B64.encode(der)
}

/// A public key from SPKI DER (44 bytes) or raw (32 bytes); rejects weak (small-order) keys.
pub fn public_from_der_or_raw(bytes: &[u8]) -> Result<VerifyingKey, String> {
    let key = match bytes.len() {
        32 => {
            let mut a = [0u8; 32];
            a.copy_from_slice(bytes);
            VerifyingKey::from_bytes(&a).map_err(|_| "is not a valid Ed25519 point".to_owned())?
        }
        SPKI_LEN => VerifyingKey::from_public_key_der(bytes)
            .map_err(|e| format!("is not an Ed25519 SubjectPublicKeyInfo: {e}"))?,
        n => {
            return Err(format!(
                "decodes to {n} bytes; an Ed25519 key is 32 bytes raw or 44 as SubjectPublicKeyInfo"
            ));
        }
    };
    if key.is_weak() {
        return Err("is a weak (small-order) Ed25519 key".into());
    }
    Ok(key)
}

/// A public key from text: SPKI PEM, `ssh-ed25519 AAAA… comment`, or base64 (SPKI or raw).
pub fn parse_public(text: &str) -> Result<VerifyingKey, String> {
    let t = text.trim();
    if t.starts_with("-----BEGIN PUBLIC KEY-----") {
        return VerifyingKey::from_public_key_pem(t)
            .map_err(|e| format!("not an Ed25519 public key PEM: {e}"));
    }
    if let Some(rest) = t.strip_prefix("ssh-ed25519 ") {
        let blob = rest.split_whitespace().next().unwrap_or("");
        let bytes = B64
            .decode(blob)
            .map_err(|e| format!("OpenSSH key is not base64: {e}"))?;
        return openssh_blob(&bytes);
    }
    let bytes = B64
        .decode(t)
        .map_err(|_| "not a public key (PEM, ssh-ed25519 or base64)".to_owned())?;
    public_from_der_or_raw(&bytes).map_err(|e| format!("the key {e}"))
}

/// RFC 8709 §4: string "ssh-ed25519", string key (32 bytes).
fn openssh_blob(b: &[u8]) -> Result<VerifyingKey, String> {
    let bad = || "not an ssh-ed25519 key blob".to_owned();
    let read = |b: &[u8], at: usize| -> Option<(std::ops::Range<usize>, usize)> {
        let len = u32::from_be_bytes(b.get(at..at + 4)?.try_into().ok()?) as usize;
        let end = at.checked_add(4)?.checked_add(len)?;
        b.get(at + 4..end)?;
        Some((at + 4..end, end))
    };
    let (name, next) = read(b, 0).ok_or_else(bad)?;
    if &b[name] != b"ssh-ed25519" {
        return Err(bad());
    }
    let (key, end) = read(b, next).ok_or_else(bad)?;
    if end != b.len() {
        return Err(bad());
    }
    public_from_der_or_raw(&b[key]).map_err(|e| format!("the key {e}"))
}

/// A private key from PKCS#8 PEM (plain, or encrypted with `passphrase`).
pub fn parse_private(pem: &str, passphrase: Option<&str>) -> Result<SigningKey, String> {
    let t = pem.trim();
    if t.starts_with("-----BEGIN ENCRYPTED PRIVATE KEY-----") {
        let Some(p) = passphrase else {
            return Err("the key is encrypted; give its passphrase (--passphrase-env VAR)".into());
        };
        return SigningKey::from_pkcs8_encrypted_pem(t, p)
            .map_err(|_| "the passphrase is wrong or the key is damaged".to_owned());
    }
    if t.starts_with("-----BEGIN PRIVATE KEY-----") {
        return SigningKey::from_pkcs8_pem(t)
            .map_err(|e| format!("not an Ed25519 PKCS#8 private key: {e}"));
    }
    Err("not a private key: expected PKCS#8 PEM (-----BEGIN PRIVATE KEY----- or ENCRYPTED PRIVATE KEY), as `agentry keygen` writes".into())
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    #[test]
    fn round_trips() {
        let k = generate();
        let plain = private_pem(&k, None).unwrap();
        assert_eq!(
            parse_private(&plain, None).unwrap().to_bytes(),
            k.to_bytes()
        );
        let enc = private_pem(&k, Some("s3cret")).unwrap();
        assert!(enc.contains("ENCRYPTED PRIVATE KEY"));
        assert_eq!(
            parse_private(&enc, Some("s3cret")).unwrap().to_bytes(),
            k.to_bytes()
        );
        assert!(parse_private(&enc, Some("wrong")).is_err());
        assert!(
            parse_private(&enc, None)
                .unwrap_err()
                .contains("passphrase")
        );
        let vk = k.verifying_key();
        assert_eq!(parse_public(&public_pem(&vk).unwrap()).unwrap(), vk);
        let spki = public_spki_base64(&vk);
        assert!(spki.starts_with("MCowBQYDK2VwAyEA"));
        assert_eq!(parse_public(&spki).unwrap(), vk);
        assert_eq!(parse_public(&B64.encode(vk.as_bytes())).unwrap(), vk);
        let mut blob = Vec::new();
        blob.extend_from_slice(&11u32.to_be_bytes());
        blob.extend_from_slice(b"ssh-ed25519");
        blob.extend_from_slice(&32u32.to_be_bytes());
        blob.extend_from_slice(vk.as_bytes());
        let line = format!("ssh-ed25519 {} me@host", B64.encode(&blob));
        assert_eq!(parse_public(&line).unwrap(), vk);
    }

    #[test]
    fn refuses_garbage() {
        assert!(parse_public("hello").is_err());
        assert!(parse_public(&B64.encode([1u8; 31])).is_err());
        // The identity point is of small order.
        let mut id = [0u8; 32];
        id[0] = 1;
        assert!(public_from_der_or_raw(&id).unwrap_err().contains("weak"));
        assert!(parse_public("ssh-ed25519 AAAA").is_err());
        assert!(
            parse_private(
                "-----BEGIN PRIVATE KEY-----\nAAAA\n-----END PRIVATE KEY-----",
                None
            )
            .is_err()
        );
        assert!(parse_private("junk", None).is_err());
    }
}
