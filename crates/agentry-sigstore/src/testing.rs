//! A Sigstore stack built in-process, for tests and benchmarks (feature `testing`).
//!
//! The public Sigstore services are unreachable from agentry's test machines, so the Verified
//! path is exercised end to end with stand-ins for each of them, published to the verifier
//! through a custom trusted root — the same [`crate::verify_bundle`] that checks public bundles
//! checks these:
//!
//! - **Fulcio**: an rcgen-made ECDSA P-256 CA issuing short-lived code-signing certificates with
//!   the signer's e-mail as SAN and the Fulcio OIDC-issuer extension (OID 1.3.6.1.4.1.57264.1.8).
//! - **CT log**: an ECDSA key that signs an RFC 6962 precertificate SCT, embedded in the
//!   certificate (the SCT covers the certificate's TBS without the SCT extension).
//! - **Rekor**: an append-only log of hashedrekord v0.0.1 entries whose RFC 6962 Merkle tree
//!   yields inclusion proofs, a signed checkpoint (C2SP signed-note format) and a signed entry
//!   timestamp over each entry.
//!
//! Not built: an RFC 3161 timestamp authority. Rekor v1 entries carry their authenticated time in
//! the signed entry timestamp, which is what these bundles use.

use base64::Engine;
use base64::engine::general_purpose::STANDARD as B64;
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, CustomExtension, DnType,
    ExtendedKeyUsagePurpose, IsCa, KeyPair as RcKey, KeyUsagePurpose, SanType, SerialNumber,
};
use sha2::{Digest, Sha256};
use sigstore_verify::crypto::signing::KeyPair;

/// OID of Fulcio's OIDC issuer extension (v2, DER UTF8String).
const OIDC_ISSUER_V2: &[u64] = &[1, 3, 6, 1, 4, 1, 57264, 1, 8];
/// OID of the embedded SCT list (RFC 6962 §3.3).
const SCT_LIST: &[u64] = &[1, 3, 6, 1, 4, 1, 11129, 2, 4, 2];

/// Errors of the test stack (it is test code, but it still says what failed).
#[derive(Debug, thiserror::Error)]
#[error("test sigstore stack: {0}")]
pub struct StackError(String);

/// A P-256 key usable both by rcgen (certificates) and by sigstore-crypto (signatures).
struct DualKey {
    rc: RcKey,
    sig: KeyPair,
    spki: Vec<u8>,
}

impl DualKey {
    fn generate() -> Result<Self, StackError> {
        let rc = RcKey::generate().map_err(|e| StackError(format!("key: {e}")))?;
        let sig = KeyPair::from_pkcs8_der(&rc.serialize_der())
            .map_err(|e| StackError(format!("key: {e}")))?;
        let spki = rcgen::PublicKeyData::subject_public_key_info(&rc);
        Ok(DualKey { rc, sig, spki })
    }

    fn sign(&self, data: &[u8]) -> Result<Vec<u8>, StackError> {
        self.sig
            .sign(data)
            .map(|s| s.as_bytes().to_vec())
            .map_err(|e| StackError(format!("sign: {e}")))
    }

    fn key_id(&self) -> [u8; 32] {
        Sha256::digest(&self.spki).into()
    }
}

/// RFC 6962 leaf hash.
pub fn leaf_hash(data: &[u8]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([0u8]);
    h.update(data);
    h.finalize().into()
}

fn node_hash(left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Sha256::new();
    h.update([1u8]);
    h.update(left);
    h.update(right);
    h.finalize().into()
}

/// Largest power of two smaller than `n` (n ≥ 2).
fn split(n: usize) -> usize {
    let mut k = 1;
    while k << 1 < n {
        k <<= 1;
    }
    k
}

/// RFC 6962 §2.1 Merkle tree hash of `leaves` (already leaf-hashed).
fn tree_hash(leaves: &[[u8; 32]]) -> [u8; 32] {
    match leaves.len() {
        0 => Sha256::digest([]).into(),
        1 => leaves[0],
        n => {
            let k = split(n);
            node_hash(&tree_hash(&leaves[..k]), &tree_hash(&leaves[k..]))
        }
    }
}

/// RFC 6962 §2.1.1 audit path for leaf `m`.
fn audit_path(m: usize, leaves: &[[u8; 32]]) -> Vec<[u8; 32]> {
    let n = leaves.len();
    if n <= 1 {
        return Vec::new();
    }
    let k = split(n);
    if m < k {
        let mut p = audit_path(m, &leaves[..k]);
        p.push(tree_hash(&leaves[k..]));
        p
    } else {
        let mut p = audit_path(m - k, &leaves[k..]);
        p.push(tree_hash(&leaves[..k]));
        p
    }
}

/// A signed append-only log in Rekor's place.
pub struct Log {
    key: DualKey,
    origin: String,
    leaves: Vec<[u8; 32]>,
}

impl Log {
    fn new(origin: &str) -> Result<Self, StackError> {
        Ok(Log {
            key: DualKey::generate()?,
            origin: origin.to_string(),
            leaves: Vec::new(),
        })
    }

    /// Appends an entry body, returns its index.
    pub fn append(&mut self, body: &[u8]) -> usize {
        self.leaves.push(leaf_hash(body));
        self.leaves.len() - 1
    }

    /// Number of entries.
    pub fn size(&self) -> usize {
        self.leaves.len()
    }

    /// The checkpoint (signed note) over the current tree.
    fn checkpoint(&self) -> Result<(String, [u8; 32]), StackError> {
        let root = tree_hash(&self.leaves);
        let body = format!(
            "{}\n{}\n{}\n",
            self.origin,
            self.leaves.len(),
            B64.encode(root)
        );
        Ok((self.sign_note(&body)?, root))
    }

    /// Signs a note body (`origin\nsize\nroot\n`) with this log's key: the signed-note
    /// envelope a checkpoint is. Negative tests use it to sign another log's checkpoint text.
    pub fn sign_note(&self, body: &str) -> Result<String, StackError> {
        let sig = self.key.sign(body.as_bytes())?;
        let mut signed = self.key.key_id()[..4].to_vec();
        signed.extend_from_slice(&sig);
        let name = self.origin.split(' ').next().unwrap_or("log");
        Ok(format!("{body}\n\u{2014} {name} {}\n", B64.encode(signed)))
    }
}

/// The whole stack: CA, CT log, transparency log.
pub struct Stack {
    ca_key: DualKey,
    ca: CertifiedIssuer<'static, RcKey>,
    ct: DualKey,
    /// The transparency log (append unrelated entries to grow the tree).
    pub log: Log,
    serial: u64,
}

/// A bundle the stack minted, with what it signed.
#[derive(Debug, Clone)]
pub struct Minted {
    /// The bundle (v0.3 JSON), editable by negative tests.
    pub bundle: serde_json::Value,
    /// The artifact that was signed.
    pub artifact: Vec<u8>,
    /// Its log index.
    pub log_index: usize,
}

impl Minted {
    /// The bundle as bytes.
    pub fn bytes(&self) -> Vec<u8> {
        serde_json::to_vec(&self.bundle).unwrap_or_default()
    }
}

impl Stack {
    /// A fresh stack with new keys; the log starts with `prior_entries` unrelated entries so
    /// inclusion proofs have several levels.
    pub fn new(prior_entries: usize) -> Result<Self, StackError> {
        let ca_key = DualKey::generate()?;
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(|e| StackError(e.to_string()))?;
        params
            .distinguished_name
            .push(DnType::OrganizationName, "agentry-test");
        params
            .distinguished_name
            .push(DnType::CommonName, "agentry test fulcio");
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = time::OffsetDateTime::now_utc();
        params.not_before = now - time::Duration::days(1);
        params.not_after = now + time::Duration::days(365);
        // The CA's own copy of the key (CertifiedIssuer keeps it).
        let rc = RcKey::try_from(ca_key.rc.serialize_der().as_slice())
            .map_err(|e| StackError(format!("ca key: {e}")))?;
        let ca =
            CertifiedIssuer::self_signed(params, rc).map_err(|e| StackError(format!("ca: {e}")))?;
        let mut log = Log::new("agentry-test-rekor - 1")?;
        for i in 0..prior_entries {
            log.append(format!("unrelated entry {i}").as_bytes());
        }
        Ok(Stack {
            ca_key,
            ca,
            ct: DualKey::generate()?,
            log,
            serial: 1,
        })
    }

    /// The trusted root JSON publishing this stack's CA, log and CT log keys.
    pub fn trusted_root_json(&self) -> String {
        let start = "2020-01-01T00:00:00.000Z";
        serde_json::json!({
            "mediaType": "application/vnd.dev.sigstore.trustedroot+json;version=0.1",
            "tlogs": [{
                "baseUrl": "https://rekor.agentry.test",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(&self.log.key.spki),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": { "start": start }
                },
                "logId": { "keyId": B64.encode(self.log.key.key_id()) }
            }],
            "certificateAuthorities": [{
                "subject": { "organization": "agentry-test", "commonName": "agentry test fulcio" },
                "uri": "https://fulcio.agentry.test",
                "certChain": { "certificates": [{ "rawBytes": B64.encode(self.ca.der()) }] },
                "validFor": { "start": start }
            }],
            "ctlogs": [{
                "baseUrl": "https://ct.agentry.test",
                "hashAlgorithm": "SHA2_256",
                "publicKey": {
                    "rawBytes": B64.encode(&self.ct.spki),
                    "keyDetails": "PKIX_ECDSA_P256_SHA_256",
                    "validFor": { "start": start }
                },
                "logId": { "keyId": B64.encode(self.ct.key_id()) }
            }],
            "timestampAuthorities": []
        })
        .to_string()
    }

    /// Issues a certificate to `identity` (e-mail) from `issuer`, signs `artifact`, logs it and
    /// returns the bundle.
    pub fn sign(
        &mut self,
        artifact: &[u8],
        identity: &str,
        issuer: &str,
    ) -> Result<Minted, StackError> {
        let signer = DualKey::generate()?;
        let now = time::OffsetDateTime::now_utc();
        let mut params =
            CertificateParams::new(Vec::<String>::new()).map_err(|e| StackError(e.to_string()))?;
        self.serial += 1;
        params.serial_number = Some(SerialNumber::from(self.serial.to_be_bytes().to_vec()));
        params.not_before = now - time::Duration::minutes(2);
        params.not_after = now + time::Duration::minutes(10);
        params.subject_alt_names = vec![SanType::Rfc822Name(
            identity
                .try_into()
                .map_err(|e| StackError(format!("identity: {e}")))?,
        )];
        params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
        params.extended_key_usages = vec![ExtendedKeyUsagePurpose::CodeSigning];
        params.custom_extensions = vec![CustomExtension::from_oid_content(
            OIDC_ISSUER_V2,
            der_utf8(issuer),
        )];

        // The precertificate: the same TBS without the SCT list.
        let pre = params
            .signed_by(&signer.rc, &self.ca)
            .map_err(|e| StackError(format!("precert: {e}")))?;
        let tbs = first_element(pre.der()).ok_or_else(|| StackError("precert: no TBS".into()))?;
        let sct_time =
            u64::try_from((now - time::Duration::minutes(1)).unix_timestamp()).unwrap_or(0) * 1000;
        let issuer_key_hash: [u8; 32] = Sha256::digest(&self.ca_key.spki).into();
        let mut signed = vec![0u8, 0u8]; // v1, certificate_timestamp
        signed.extend_from_slice(&sct_time.to_be_bytes());
        signed.extend_from_slice(&1u16.to_be_bytes()); // precert_entry
        signed.extend_from_slice(&issuer_key_hash);
        signed.extend_from_slice(&u24(tbs.len())?);
        signed.extend_from_slice(tbs);
        signed.extend_from_slice(&0u16.to_be_bytes()); // no extensions
        let sct_sig = self.ct.sign(&signed)?;
        let mut sct = vec![0u8];
        sct.extend_from_slice(&self.ct.key_id());
        sct.extend_from_slice(&sct_time.to_be_bytes());
        sct.extend_from_slice(&0u16.to_be_bytes());
        sct.extend_from_slice(&[4, 3]); // sha256, ecdsa
        sct.extend_from_slice(&u16_len(sct_sig.len())?);
        sct.extend_from_slice(&sct_sig);
        let mut list = u16_len(sct.len() + 2)?.to_vec();
        list.extend_from_slice(&u16_len(sct.len())?);
        list.extend_from_slice(&sct);
        params
            .custom_extensions
            .push(CustomExtension::from_oid_content(
                SCT_LIST,
                der_octets(&list),
            ));
        let cert = params
            .signed_by(&signer.rc, &self.ca)
            .map_err(|e| StackError(format!("certificate: {e}")))?;
        let cert_der = cert.der().to_vec();

        // The signature and its hashedrekord entry.
        let digest: [u8; 32] = Sha256::digest(artifact).into();
        let signature = signer.sign(artifact)?;
        let cert_pem = cert.pem();
        let body = format!(
            r#"{{"apiVersion":"0.0.1","kind":"hashedrekord","spec":{{"data":{{"hash":{{"algorithm":"sha256","value":"{}"}}}},"signature":{{"content":"{}","publicKey":{{"content":"{}"}}}}}}}}"#,
            hex::encode(digest),
            B64.encode(&signature),
            B64.encode(cert_pem.as_bytes())
        );
        let index = self.log.append(body.as_bytes());
        let integrated_time = (now - time::Duration::seconds(30)).unix_timestamp();
        let log_id_hex = hex::encode(self.log.key.key_id());
        let set_payload = format!(
            r#"{{"body":"{}","integratedTime":{integrated_time},"logID":"{log_id_hex}","logIndex":{index}}}"#,
            B64.encode(body.as_bytes())
        );
        let set = self.log.key.sign(set_payload.as_bytes())?;
        let (checkpoint, root) = self.log.checkpoint()?;
        let path: Vec<String> = audit_path(index, &self.log.leaves)
            .iter()
            .map(|h| B64.encode(h))
            .collect();

        let bundle = serde_json::json!({
            "mediaType": crate::BUNDLE_ARTIFACT_TYPE,
            "verificationMaterial": {
                "certificate": { "rawBytes": B64.encode(&cert_der) },
                "tlogEntries": [{
                    "logIndex": index.to_string(),
                    "logId": { "keyId": B64.encode(self.log.key.key_id()) },
                    "kindVersion": { "kind": "hashedrekord", "version": "0.0.1" },
                    "integratedTime": integrated_time.to_string(),
                    "inclusionPromise": { "signedEntryTimestamp": B64.encode(&set) },
                    "inclusionProof": {
                        "logIndex": index.to_string(),
                        "rootHash": B64.encode(root),
                        "treeSize": self.log.size().to_string(),
                        "hashes": path,
                        "checkpoint": { "envelope": checkpoint }
                    },
                    "canonicalizedBody": B64.encode(body.as_bytes())
                }]
            },
            "messageSignature": {
                "messageDigest": { "algorithm": "SHA2_256", "digest": B64.encode(digest) },
                "signature": B64.encode(&signature)
            }
        });
        Ok(Minted {
            bundle,
            artifact: artifact.to_vec(),
            log_index: index,
        })
    }
}

fn u24(n: usize) -> Result<[u8; 3], StackError> {
    if n >= 1 << 24 {
        return Err(StackError("TBS too long".into()));
    }
    Ok([(n >> 16) as u8, (n >> 8) as u8, n as u8])
}

fn u16_len(n: usize) -> Result<[u8; 2], StackError> {
    u16::try_from(n)
        .map(u16::to_be_bytes)
        .map_err(|_| StackError("SCT too long".into()))
}

fn der_len(n: usize) -> Vec<u8> {
    if n < 0x80 {
        vec![n as u8]
    } else if n < 0x100 {
        vec![0x81, n as u8]
    } else {
        vec![0x82, (n >> 8) as u8, n as u8]
    }
}

fn der_utf8(s: &str) -> Vec<u8> {
    let mut v = vec![0x0c];
    v.extend(der_len(s.len()));
    v.extend_from_slice(s.as_bytes());
    v
}

fn der_octets(b: &[u8]) -> Vec<u8> {
    let mut v = vec![0x04];
    v.extend(der_len(b.len()));
    v.extend_from_slice(b);
    v
}

/// The first element (with its tag and length) inside a DER SEQUENCE: a certificate's TBS.
fn first_element(der: &[u8]) -> Option<&[u8]> {
    fn header(b: &[u8]) -> Option<(usize, usize)> {
        let first = *b.get(1)?;
        if first < 0x80 {
            return Some((2, first as usize));
        }
        let n = (first & 0x7f) as usize;
        let mut len = 0usize;
        for i in 0..n {
            len = (len << 8) | *b.get(2 + i)? as usize;
        }
        Some((2 + n, len))
    }
    let (outer_hdr, _) = header(der)?;
    let inner = der.get(outer_hdr..)?;
    let (hdr, len) = header(inner)?;
    inner.get(..hdr + len)
}

impl Stack {
    /// The CA certificate (DER).
    pub fn ca_der(&self) -> Vec<u8> {
        self.ca.der().to_vec()
    }
}
