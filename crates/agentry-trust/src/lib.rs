//! agentry's trust engine (whitepaper §2.4–§2.5): what an agent's signatures, its publisher's
//! DNS records and its referrers prove, as one of the tiers `none < basic < standard <
//! verified`.
//!
//! Embedded-first and mostly sans-I/O: [`evaluate()`] turns [`Evidence`] into a
//! [`TrustReport`] without touching the network; DNS goes through the [`TxtResolver`] seam
//! (hickory-resolver behind the `resolver` feature) and the [`AnchorCache`] that keeps parsed
//! answers for their TTL; the Verified tier's Sigstore check goes through [`BundleVerifier`],
//! implemented elsewhere.
//!
//! - [`keys`]: Ed25519 keys (PKCS#8 PEM, optional passphrase; SPKI, raw, OpenSSH public keys).
//! - [`signature`]: the OSSA signature referrer's envelope, signing and verifying.
//! - [`dns`]: `_ossa-registry`, `_ossa-key`, `_ossa-policy` parsing and writing.
//! - [`domain`]: the publisher domain, strictly parsed.
//! - [`evaluate`]: the checks and tiers.
//! - [`referrers`]: which referrer artifact types count as which evidence.
//! - [`agntcy`]: the AGNTCY Directory's signature referrers (Ed25519ph over the record CID).
//! - [`x509`]: the Standard tier's signing certificate chained to the organisation's CA.
//! - [`attest`]: SBOM, provenance and compliance documents, bound to the manifest.
//! - [`sigstore`]: the Verified tier's [`BundleVerifier`] (agentry-sigstore, offline).

pub mod agntcy;
pub mod attest;
pub mod dns;
pub mod domain;
pub mod evaluate;
pub mod keys;
pub mod referrers;
pub mod resolver;
pub mod signature;
pub mod sigstore;
#[cfg(feature = "test-dns")]
pub mod testdns;
#[cfg(feature = "test-pki")]
pub mod testpki;
pub mod x509;

pub use agentry_types::TrustTier;
pub use domain::Domain;
pub use evaluate::{
    BundleFacts, BundleVerifier, Check, CheckStatus, DnsEvidence, Evidence, TrustReport,
    capability_schemas, evaluate,
};
#[cfg(feature = "resolver")]
pub use resolver::HickoryTxtResolver;
pub use resolver::{AnchorCache, TxtAnswer, TxtError, TxtResolver};
pub use sigstore::{IdentityRule, SigstoreVerifier};
pub use x509::OrgCas;
