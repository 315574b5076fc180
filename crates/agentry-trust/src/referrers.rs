//! Which referrer artifact types count as which evidence.

/// The OSSA signature referrer (its one layer is a [`crate::signature::Envelope`]).
pub const SIGNATURE: &str = agentry_types::media::OSSA_SIGNATURE;

/// Sigstore bundles as cosign attaches them.
pub const SIGSTORE_BUNDLE: &[&str] = &[
    "application/vnd.dev.sigstore.bundle.v0.3+json",
    "application/vnd.dev.sigstore.bundle+json;version=0.3",
];

/// SBOM documents (SPDX or CycloneDX, JSON).
pub const SBOM: &[&str] = &[
    "application/spdx+json",
    "application/vnd.cyclonedx+json",
    "text/spdx+json",
];

/// in-toto SLSA provenance.
pub const PROVENANCE: &[&str] = &[
    "application/vnd.in-toto+json",
    "application/vnd.in-toto.provenance+json",
    "https://slsa.dev/provenance/v1",
    "application/vnd.slsa.provenance+json",
];

/// A compliance attestation.
pub const COMPLIANCE: &[&str] = &["application/vnd.ossa.compliance.v1+json"];

/// The organisation certificate chain of the signing key (PEM, leaf first).
pub const CERTIFICATE: &str = "application/vnd.ossa.certificate-chain.v1+pem";

/// What a referrer's artifact type is evidence of.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Signature,
    Bundle,
    Sbom,
    Provenance,
    Compliance,
    Certificate,
    /// `agntcy.dir.sign.v1.Signature` (see [`crate::agntcy`]).
    AgntcySignature,
    /// `agntcy.dir.sign.v1.PublicKey`.
    AgntcyPublicKey,
}

/// What a referrer is evidence of, from its artifact type and its manifest annotations (the
/// AGNTCY Directory's referrers are told apart by `agntcy.dir.referrer.type` only).
pub fn classify_referrer(
    artifact_type: Option<&str>,
    annotations: &std::collections::BTreeMap<String, String>,
) -> Option<Kind> {
    match annotations
        .get(crate::agntcy::TYPE_ANNOTATION)
        .map(String::as_str)
    {
        Some(crate::agntcy::SIGNATURE_TYPE) => return Some(Kind::AgntcySignature),
        Some(crate::agntcy::PUBLIC_KEY_TYPE) => return Some(Kind::AgntcyPublicKey),
        _ => {}
    }
    artifact_type.and_then(classify)
}

pub fn classify(artifact_type: &str) -> Option<Kind> {
    let base = artifact_type.trim();
    let is = |list: &[&str]| list.iter().any(|t| base.eq_ignore_ascii_case(t));
    if base.eq_ignore_ascii_case(SIGNATURE) {
        Some(Kind::Signature)
    } else if is(SIGSTORE_BUNDLE) {
        Some(Kind::Bundle)
    } else if is(SBOM) {
        Some(Kind::Sbom)
    } else if is(PROVENANCE) {
        Some(Kind::Provenance)
    } else if is(COMPLIANCE) {
        Some(Kind::Compliance)
    } else if base.eq_ignore_ascii_case(CERTIFICATE) {
        Some(Kind::Certificate)
    } else {
        None
    }
}
