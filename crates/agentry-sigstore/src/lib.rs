//! Offline Sigstore bundle verification for agentry's Verified tier.
//!
//! The cryptography is `sigstore-verify` (the sigstore-rust project): certificate chain to a
//! Fulcio authority, SCT, transparency-log inclusion proof against a signed checkpoint, signed
//! entry timestamp, RFC 3161 timestamps, signature over the artifact or DSSE envelope, and the
//! log entry's consistency with the rest of the bundle. This crate does not re-implement any of
//! it; it gives agentry one plain call with bounded input and verdicts that name the check that
//! failed:
//!
//! ```no_run
//! use agentry_sigstore::{verify_bundle, ArtifactRef, Identity, TrustedRoot};
//! # fn main() -> Result<(), Box<dyn std::error::Error>> {
//! let root = TrustedRoot::public_good()?;
//! let bundle = std::fs::read("artifact.sigstore.json")?;
//! let artifact = std::fs::read("artifact")?;
//! let policy = Identity::certificate("user@example.com", "https://accounts.google.com");
//! let facts = verify_bundle(&bundle, ArtifactRef::Bytes(&artifact), &policy, &root)?;
//! assert!(facts.tlog_verified);
//! # Ok(()) }
//! ```
//!
//! Nothing here touches the network: the trusted root is the Sigstore public-good root embedded
//! at build time, or a `trusted_root.json` the caller loads (`--trusted-root FILE`).

use std::fmt;
use std::path::Path;

use sigstore_verify::types::{Bundle, DerPublicKey, Sha256Hash, SignatureContent};
use sigstore_verify::{PublicKeyVerificationPolicy, VerificationPolicy, Verifier};

#[cfg(feature = "testing")]
pub mod testing;

/// The OCI `artifactType` of a Sigstore bundle attached as a referrer (cosign's bundle format).
pub const BUNDLE_ARTIFACT_TYPE: &str = "application/vnd.dev.sigstore.bundle.v0.3+json";

/// Largest bundle accepted, in bytes. Real bundles are a few kilobytes (a DSSE attestation a few
/// hundred); anything bigger is refused before it is parsed.
pub const MAX_BUNDLE_BYTES: usize = 4 * 1024 * 1024;

/// Largest trusted root accepted, in bytes (the public-good root is about 10 KB).
pub const MAX_TRUSTED_ROOT_BYTES: usize = 4 * 1024 * 1024;

/// What the bundle is checked against: the artifact itself, or its SHA-256 digest.
///
/// A digest cannot verify every bundle: an Ed25519 signature over a message needs the message
/// itself, and a DSSE bundle is matched against the subjects of its in-toto statement.
#[derive(Debug, Clone, Copy)]
pub enum ArtifactRef<'a> {
    /// The artifact's bytes.
    Bytes(&'a [u8]),
    /// The artifact's SHA-256 digest.
    Sha256([u8; 32]),
}

impl ArtifactRef<'static> {
    /// Parses `sha256:<64 hex digits>` (the sigstore-conformance digest form).
    pub fn parse_digest(text: &str) -> Result<Self, VerifyError> {
        let hex_part = text.strip_prefix("sha256:").ok_or_else(|| {
            VerifyError::Input(format!("digest {text:?} does not start with \"sha256:\""))
        })?;
        if hex_part.len() != 64 {
            return Err(VerifyError::Input(format!(
                "digest {text:?}: expected 64 hex digits after \"sha256:\", found {}",
                hex_part.len()
            )));
        }
        let mut out = [0u8; 32];
        hex::decode_to_slice(hex_part, &mut out)
            .map_err(|e| VerifyError::Input(format!("digest {text:?}: {e}")))?;
        Ok(ArtifactRef::Sha256(out))
    }
}

/// Who must have signed: a Fulcio-style certificate identity, or a managed public key.
#[derive(Debug, Clone)]
pub enum Identity {
    /// Keyless: the signing certificate's SAN must equal `identity` and its OIDC issuer
    /// extension must equal `issuer`; the certificate must chain to the trusted root.
    Certificate {
        /// Expected SAN (an e-mail address or a URI).
        identity: String,
        /// Expected OIDC issuer URL.
        issuer: String,
    },
    /// Managed key: the bundle's signature must verify with this DER SubjectPublicKeyInfo.
    PublicKey(Vec<u8>),
}

impl Identity {
    /// A certificate identity and OIDC issuer.
    pub fn certificate(identity: impl Into<String>, issuer: impl Into<String>) -> Self {
        Identity::Certificate {
            identity: identity.into(),
            issuer: issuer.into(),
        }
    }

    /// A managed public key from its PEM (`-----BEGIN PUBLIC KEY-----`).
    pub fn public_key_pem(pem: &str) -> Result<Self, VerifyError> {
        let key = DerPublicKey::from_pem(pem)
            .map_err(|e| VerifyError::Input(format!("key: not a PEM public key: {e}")))?;
        Ok(Identity::PublicKey(key.as_bytes().to_vec()))
    }
}

/// The roots of trust (Fulcio CAs, Rekor logs, CT logs, timestamp authorities), prepared once.
///
/// Preparation parses every key and certificate; keep one `TrustedRoot` and verify many bundles
/// with it.
pub struct TrustedRoot {
    verifier: Verifier,
    source: String,
}

impl fmt::Debug for TrustedRoot {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("TrustedRoot")
            .field("source", &self.source)
            .finish_non_exhaustive()
    }
}

impl TrustedRoot {
    /// The Sigstore public-good instance's trusted root, embedded at build time (no TUF, no
    /// network). It changes when Sigstore rotates keys; `--trusted-root FILE` overrides it.
    pub fn public_good() -> Result<Self, VerifyError> {
        Self::parse(
            sigstore_trust_root::SIGSTORE_PRODUCTION_TRUSTED_ROOT,
            "embedded Sigstore public-good root",
        )
    }

    /// The Sigstore staging instance's trusted root, embedded at build time (`--staging`).
    pub fn staging() -> Result<Self, VerifyError> {
        Self::parse(
            sigstore_trust_root::SIGSTORE_STAGING_TRUSTED_ROOT,
            "embedded Sigstore staging root",
        )
    }

    /// A `trusted_root.json` (media type `application/vnd.dev.sigstore.trustedroot+json`).
    pub fn from_json(json: &[u8]) -> Result<Self, VerifyError> {
        Self::from_json_named(json, "trusted root")
    }

    /// A `trusted_root.json` read from a file.
    pub fn from_file(path: &Path) -> Result<Self, VerifyError> {
        let name = format!("trusted root {}", path.display());
        let meta = std::fs::metadata(path)
            .map_err(|e| VerifyError::TrustedRoot(format!("{name}: {e}")))?;
        if meta.len() > MAX_TRUSTED_ROOT_BYTES as u64 {
            return Err(VerifyError::TrustedRoot(format!(
                "{name}: {} bytes, more than the {MAX_TRUSTED_ROOT_BYTES}-byte limit",
                meta.len()
            )));
        }
        let bytes =
            std::fs::read(path).map_err(|e| VerifyError::TrustedRoot(format!("{name}: {e}")))?;
        Self::from_json_named(&bytes, &name)
    }

    fn from_json_named(json: &[u8], name: &str) -> Result<Self, VerifyError> {
        if json.len() > MAX_TRUSTED_ROOT_BYTES {
            return Err(VerifyError::TrustedRoot(format!(
                "{name}: {} bytes, more than the {MAX_TRUSTED_ROOT_BYTES}-byte limit",
                json.len()
            )));
        }
        let text = std::str::from_utf8(json)
            .map_err(|e| VerifyError::TrustedRoot(format!("{name}: not UTF-8: {e}")))?;
        Self::parse(text, name)
    }

    fn parse(text: &str, name: &str) -> Result<Self, VerifyError> {
        let root = sigstore_trust_root::TrustedRoot::from_json(text)
            .map_err(|e| VerifyError::TrustedRoot(format!("{name}: {e}")))?;
        let verifier =
            Verifier::new(&root).map_err(|e| VerifyError::TrustedRoot(format!("{name}: {e}")))?;
        Ok(TrustedRoot {
            verifier,
            source: name.to_string(),
        })
    }

    /// Where this root came from (for messages).
    pub fn source(&self) -> &str {
        &self.source
    }
}

/// What kind of signature the bundle carried.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BundleContent {
    /// A signature over the artifact (hashedrekord).
    MessageSignature,
    /// A DSSE envelope around an in-toto statement whose subject is the artifact.
    Dsse,
    /// Content a later bundle version added (sigstore-verify accepted it).
    Other,
}

/// What a successful verification established.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Facts {
    /// The bundle's media type (`application/vnd.dev.sigstore.bundle…`).
    pub media_type: String,
    /// Message signature or DSSE envelope.
    pub content: BundleContent,
    /// The signing certificate's SAN, when the bundle was keyless.
    pub identity: Option<String>,
    /// The signing certificate's OIDC issuer, when the bundle was keyless.
    pub issuer: Option<String>,
    /// The signing certificate chained to a trusted Fulcio authority at the signing time.
    pub certificate_verified: bool,
    /// The certificate's signed certificate timestamp verified against a trusted CT log.
    pub sct_verified: bool,
    /// The log entry's inclusion proof verified against a signed checkpoint.
    pub tlog_verified: bool,
    /// Rekor v1 integrated time, seconds since the Unix epoch, when authenticated.
    pub integrated_time: Option<i64>,
    /// Every authenticated signing time used (integrated times, RFC 3161 timestamps), in
    /// seconds since the Unix epoch.
    pub verified_times: Vec<i64>,
}

/// Which part of the verification refused the bundle.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Check {
    /// The bundle is not a well-formed Sigstore bundle (or uses something unsupported).
    Bundle,
    /// The certificate's SAN is not the expected identity.
    Identity,
    /// The certificate's OIDC issuer is not the expected issuer.
    Issuer,
    /// The signature does not verify with the certificate's or the given key.
    Signature,
    /// The bundle is about another artifact (digest or in-toto subject mismatch).
    Artifact,
    /// The certificate chain, validity, usage or SCT was rejected.
    Certificate,
    /// The transparency-log entry, inclusion proof, checkpoint or promise was rejected.
    TransparencyLog,
    /// An RFC 3161 timestamp was rejected, or no trusted signing time exists.
    Timestamp,
    /// The trusted root cannot verify this bundle.
    TrustedRoot,
}

impl fmt::Display for Check {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Check::Bundle => "bundle",
            Check::Identity => "certificate identity",
            Check::Issuer => "certificate OIDC issuer",
            Check::Signature => "signature",
            Check::Artifact => "artifact",
            Check::Certificate => "certificate",
            Check::TransparencyLog => "transparency log",
            Check::Timestamp => "timestamp",
            Check::TrustedRoot => "trusted root",
        })
    }
}

/// Why a bundle was not verified. Every variant is a verdict, never a panic.
#[derive(Debug, thiserror::Error)]
pub enum VerifyError {
    /// The bundle is larger than [`MAX_BUNDLE_BYTES`].
    #[error("bundle: {size} bytes, more than the {limit}-byte limit")]
    TooLarge {
        /// Size offered.
        size: usize,
        /// The limit.
        limit: usize,
    },
    /// The bundle is not JSON, not UTF-8 or not a Sigstore bundle.
    #[error("bundle: not a Sigstore bundle: {0}")]
    Malformed(String),
    /// A caller-supplied input (digest, key) is unusable.
    #[error("{0}")]
    Input(String),
    /// The trusted root could not be loaded.
    #[error("{0}")]
    TrustedRoot(String),
    /// The bundle was parsed and one of its checks failed.
    #[error("{check}: {reason}")]
    Rejected {
        /// The check that failed.
        check: Check,
        /// sigstore-verify's explanation.
        reason: String,
    },
}

impl VerifyError {
    /// The check that failed, for [`VerifyError::Rejected`]; `Bundle` for unreadable bundles.
    pub fn check(&self) -> Check {
        match self {
            VerifyError::TooLarge { .. } | VerifyError::Malformed(_) => Check::Bundle,
            VerifyError::Input(_) => Check::Artifact,
            VerifyError::TrustedRoot(_) => Check::TrustedRoot,
            VerifyError::Rejected { check, .. } => *check,
        }
    }
}

fn classify(err: sigstore_verify::Error) -> VerifyError {
    use sigstore_verify::Error as E;
    let reason = err.to_string();
    let check = match &err {
        E::IdentityMismatch { .. } => Check::Identity,
        E::IssuerMismatch { .. } => Check::Issuer,
        E::SignatureInvalid(_) | E::Crypto(_) => Check::Signature,
        E::ArtifactMismatch(_) | E::UnsupportedArtifact(_) | E::ArtifactRead(_) => Check::Artifact,
        E::Certificate(_) => Check::Certificate,
        E::TransparencyLog(_) => Check::TransparencyLog,
        E::Timestamp(_) => Check::Timestamp,
        E::InvalidTrustRoot(_) | E::TrustRoot(_) | E::TrustedCertificate(_) => Check::TrustedRoot,
        _ => Check::Bundle,
    };
    VerifyError::Rejected { check, reason }
}

/// Parses a bundle with the size limit applied (for callers that want to inspect one).
pub fn parse_bundle(bundle: &[u8]) -> Result<Bundle, VerifyError> {
    if bundle.len() > MAX_BUNDLE_BYTES {
        return Err(VerifyError::TooLarge {
            size: bundle.len(),
            limit: MAX_BUNDLE_BYTES,
        });
    }
    let text = std::str::from_utf8(bundle)
        .map_err(|e| VerifyError::Malformed(format!("not UTF-8: {e}")))?;
    Bundle::from_json(text).map_err(|e| VerifyError::Malformed(e.to_string()))
}

/// Verifies a Sigstore bundle offline.
///
/// `Ok` only when every check sigstore-verify makes for this kind of bundle passed and the
/// signer is `policy`. The facts say which evidence the bundle carried and what was verified.
pub fn verify_bundle(
    bundle: &[u8],
    artifact: ArtifactRef<'_>,
    policy: &Identity,
    root: &TrustedRoot,
) -> Result<Facts, VerifyError> {
    let bundle = parse_bundle(bundle)?;
    verify_parsed(&bundle, artifact, policy, root)
}

/// [`verify_bundle`] for an already parsed bundle.
pub fn verify_parsed(
    bundle: &Bundle,
    artifact: ArtifactRef<'_>,
    policy: &Identity,
    root: &TrustedRoot,
) -> Result<Facts, VerifyError> {
    let verifier = &root.verifier;
    let result = match (policy, artifact) {
        (Identity::Certificate { identity, issuer }, artifact) => {
            let policy = VerificationPolicy::new(identity.as_str(), issuer.as_str());
            match artifact {
                ArtifactRef::Bytes(bytes) => verifier.verify(bytes, bundle, &policy),
                ArtifactRef::Sha256(d) => verifier.verify(sha256(d)?, bundle, &policy),
            }
        }
        (Identity::PublicKey(der), artifact) => {
            let policy = PublicKeyVerificationPolicy::new(DerPublicKey::from_bytes(der));
            match artifact {
                ArtifactRef::Bytes(bytes) => verifier.verify(bytes, bundle, &policy),
                ArtifactRef::Sha256(d) => verifier.verify(sha256(d)?, bundle, &policy),
            }
        }
    }
    .map_err(classify)?;
    Ok(Facts {
        media_type: bundle.media_type().as_str().to_string(),
        content: match bundle.content {
            SignatureContent::MessageSignature(_) => BundleContent::MessageSignature,
            SignatureContent::DsseEnvelope(_) => BundleContent::Dsse,
            _ => BundleContent::Other,
        },
        identity: result.identity().map(|id| id.as_str().to_string()),
        issuer: result.issuer().map(str::to_string),
        certificate_verified: result.certificate_verified(),
        sct_verified: result.sct_verified(),
        tlog_verified: result.tlog_verified(),
        integrated_time: result.integrated_time().map(|t| t.as_second()),
        verified_times: result
            .verified_timestamps()
            .iter()
            .map(|t| t.as_second())
            .collect(),
    })
}

fn sha256(d: [u8; 32]) -> Result<Sha256Hash, VerifyError> {
    Sha256Hash::from_hex(&hex::encode(d)).map_err(|e| VerifyError::Input(format!("digest: {e}")))
}
