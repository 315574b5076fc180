//! The Standard tier's signing certificate: an X.509 chain from the organisation's CA to a
//! leaf that certifies the very Ed25519 key that signed the manifest.
//!
//! How it travels: the chain (PEM, leaf first, then any intermediates) is a second layer of
//! the OSSA signature referrer, media type [`crate::referrers::CERTIFICATE`]
//! (`agentry sign --cert CHAIN.pem`), so it is bound to that one signature.
//!
//! How the CA is configured: the pod (`--trust-org-ca FILE`, repeatable; `trust-org-ca` in
//! `[serve]`) and `agentry verify` (`--trust-org-ca FILE`) are given the organisation CAs they
//! accept as trust anchors. Which organisation a leaf speaks for is its DNS name: the leaf must
//! name the record's `publisher.domain` (a `dNSName` SAN; `*.acme.com` covers one label below,
//! never `acme.com` itself), and any name constraints of the CAs on the path apply, so an
//! operator who trusts several organisations' CAs can constrain each to its own domain.
//!
//! The chain checks are rustls-webpki's (path building to an anchor, signatures, validity at
//! `now`, basic constraints, name constraints, any extended key usage on the path allowing
//! `codeSigning`);
//! this module adds what webpki leaves to the caller: the leaf's key usage
//! (`digitalSignature` required, no `keyCertSign`/`cRLSign`), its `codeSigning` extended key
//! usage (required on the leaf), that it is not a CA, and that its
//! public key is the signing key.

use ed25519_dalek::VerifyingKey;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

/// Longest chain file read.
pub const MAX_CHAIN_BYTES: usize = 64 * 1024;
/// Most certificates in one chain.
pub const MAX_CHAIN_CERTS: usize = 8;

/// `id-kp-codeSigning` (1.3.6.1.5.5.7.3.3), DER content octets.
const EKU_CODE_SIGNING: &[u8] = &[0x2b, 0x06, 0x01, 0x05, 0x05, 0x07, 0x03, 0x03];

/// The SubjectPublicKeyInfo DER prefix of an Ed25519 key (RFC 8410), before its 32 bytes.
const ED25519_SPKI_PREFIX: &[u8] = &[
    0x30, 0x2a, 0x30, 0x05, 0x06, 0x03, 0x2b, 0x65, 0x70, 0x03, 0x21, 0x00,
];

/// The organisation CAs a verifier accepts.
#[derive(Debug, Clone, Default)]
pub struct OrgCas {
    roots: Vec<CertificateDer<'static>>,
    /// Where each came from, for messages.
    sources: Vec<String>,
}

fn pem_certs(pem: &[u8], what: &str) -> Result<Vec<CertificateDer<'static>>, String> {
    use rustls_pki_types::pem::PemObject;
    let mut out = Vec::new();
    for item in CertificateDer::pem_slice_iter(pem) {
        let c = item.map_err(|e| format!("{what}: not PEM certificates: {e}"))?;
        out.push(c);
        if out.len() > MAX_CHAIN_CERTS {
            return Err(format!("{what}: more than {MAX_CHAIN_CERTS} certificates"));
        }
    }
    if out.is_empty() {
        return Err(format!("{what}: no CERTIFICATE block"));
    }
    Ok(out)
}

impl OrgCas {
    pub fn new() -> OrgCas {
        OrgCas::default()
    }

    pub fn is_empty(&self) -> bool {
        self.roots.is_empty()
    }

    /// Add the CA certificates of a PEM document (`source` names it in errors).
    pub fn add_pem(&mut self, pem: &[u8], source: &str) -> Result<(), String> {
        if pem.len() > MAX_CHAIN_BYTES {
            return Err(format!(
                "{source}: {} bytes, more than {MAX_CHAIN_BYTES}",
                pem.len()
            ));
        }
        for c in pem_certs(pem, source)? {
            webpki::anchor_from_trusted_cert(&c)
                .map_err(|e| format!("{source}: unusable CA certificate: {e:?}"))?;
            self.roots.push(c);
            self.sources.push(source.to_owned());
        }
        Ok(())
    }

    /// Add the CA certificates of a PEM file.
    pub fn add_pem_file(&mut self, path: &std::path::Path) -> Result<(), String> {
        let name = path.display().to_string();
        let meta = std::fs::metadata(path).map_err(|e| format!("{name}: {e}"))?;
        if meta.len() > MAX_CHAIN_BYTES as u64 {
            return Err(format!(
                "{name}: {} bytes, more than {MAX_CHAIN_BYTES}",
                meta.len()
            ));
        }
        let pem = std::fs::read(path).map_err(|e| format!("{name}: {e}"))?;
        self.add_pem(&pem, &name)
    }

    /// Check `chain_pem` (leaf first) for `signer` speaking for `domain` at `now` (Unix
    /// seconds). On success, a sentence saying what was verified.
    pub fn verify(
        &self,
        chain_pem: &[u8],
        signer: &VerifyingKey,
        domain: &str,
        now: u64,
    ) -> Result<String, String> {
        if self.roots.is_empty() {
            return Err(
                "no organisation CA is configured here (--trust-org-ca), so no certificate can chain"
                    .into(),
            );
        }
        if chain_pem.len() > MAX_CHAIN_BYTES {
            return Err(format!(
                "certificate chain: {} bytes, more than {MAX_CHAIN_BYTES}",
                chain_pem.len()
            ));
        }
        let chain = pem_certs(chain_pem, "certificate chain")?;
        let (leaf, intermediates) = chain
            .split_first()
            .ok_or_else(|| "certificate chain: empty".to_owned())?;
        let subject = leaf_rules(leaf, signer)?;
        let anchors: Vec<_> = self
            .roots
            .iter()
            .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
            .collect();
        let ee = webpki::EndEntityCert::try_from(leaf)
            .map_err(|e| format!("signing certificate does not parse: {e:?}"))?;
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            intermediates,
            UnixTime::since_unix_epoch(std::time::Duration::from_secs(now)),
            // Intermediates without an EKU extension are fine; with one it must allow codeSigning.
            // The leaf must have it: checked in `leaf_rules`.
            webpki::KeyUsage::required_if_present(EKU_CODE_SIGNING),
            None,
            None,
        )
        .map_err(|e| chain_error(&e))?;
        let name = ServerName::try_from(domain.to_owned())
            .map_err(|_| format!("publisher.domain {domain:?} is not a DNS name"))?;
        ee.verify_is_valid_for_subject_name(&name).map_err(|_| {
            format!(
                "the signing certificate ({subject}) does not name {domain}, the publisher's domain"
            )
        })?;
        Ok(format!(
            "signing certificate {subject} for {domain} chains to the organisation CA, valid now, codeSigning"
        ))
    }
}

/// What webpki leaves to the caller: the leaf is not a CA, may sign (digitalSignature), may
/// not sign certificates, and certifies the signing key. Returns the leaf's subject.
fn leaf_rules(leaf: &CertificateDer<'_>, signer: &VerifyingKey) -> Result<String, String> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(leaf.as_ref())
        .map_err(|e| format!("signing certificate does not parse: {e}"))?;
    let subject = cert.subject().to_string();
    if let Ok(Some(bc)) = cert.basic_constraints()
        && bc.value.ca
    {
        return Err(format!(
            "the signing certificate ({subject}) is a CA certificate, not a signer's"
        ));
    }
    match cert.key_usage() {
        Ok(Some(ku)) => {
            if !ku.value.digital_signature() {
                return Err(format!(
                    "the signing certificate ({subject}) lacks the digitalSignature key usage"
                ));
            }
            if ku.value.key_cert_sign() || ku.value.crl_sign() {
                return Err(format!(
                    "the signing certificate ({subject}) may sign certificates or CRLs (wrong key usage)"
                ));
            }
        }
        Ok(None) => {
            return Err(format!(
                "the signing certificate ({subject}) has no key usage extension (digitalSignature is required)"
            ));
        }
        Err(e) => return Err(format!("signing certificate key usage: {e}")),
    }
    match cert.extended_key_usage() {
        Ok(Some(eku)) if eku.value.code_signing => {}
        Ok(_) => {
            return Err(format!(
                "the signing certificate ({subject}) lacks the codeSigning extended key usage (wrong usage)"
            ));
        }
        Err(e) => return Err(format!("signing certificate extended key usage: {e}")),
    }
    let mut expected = ED25519_SPKI_PREFIX.to_vec();
    expected.extend_from_slice(signer.as_bytes());
    if cert.public_key().raw != expected.as_slice() {
        return Err(format!(
            "the signing certificate ({subject}) certifies another key, not the one that signed"
        ));
    }
    Ok(subject)
}

fn chain_error(e: &webpki::Error) -> String {
    use webpki::Error as E;
    match e {
        E::CertExpired { .. } => "the signing certificate has expired".into(),
        E::CertNotValidYet { .. } => "the signing certificate is not valid yet".into(),
        E::UnknownIssuer => {
            "the signing certificate does not chain to a configured organisation CA".into()
        }
        E::RequiredEkuNotFoundContext(_) => {
            "the signing certificate lacks the codeSigning extended key usage (wrong usage)".into()
        }
        E::NameConstraintViolation => {
            "the signing certificate's names violate its CA's name constraints".into()
        }
        E::CaUsedAsEndEntity => "the signing certificate is a CA certificate".into(),
        other => format!("the signing certificate chain is invalid: {other:?}"),
    }
}

/// The current Unix time in seconds.
pub fn now_unix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
