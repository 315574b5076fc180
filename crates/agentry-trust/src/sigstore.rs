//! The Verified tier's [`BundleVerifier`]: agentry-sigstore (sigstore-verify) checking a
//! bundle offline against a trusted root, for the identity the publisher's domain is expected
//! to sign with.
//!
//! The bundle signs the agent manifest (its bytes; `cosign sign-blob --bundle` over the
//! manifest, or `cosign sign` with `--new-bundle-format`), so it is checked against the
//! manifest digest. Which certificate identity counts is the verifier's policy, configured per
//! publisher domain (`--trust-sigstore-identity DOMAIN=IDENTITY,ISSUER`, repeatable;
//! `trust-sigstore-identity` in `[serve]`): a keyless certificate is only as good as the
//! identity it names, and a bundle from anyone's Fulcio certificate must not lift an agent of
//! `acme.com`. A domain with no configured identity never reaches Verified, and says so.

use agentry_sigstore::{ArtifactRef, Identity, TrustedRoot, verify_bundle};
use agentry_types::Digest;

use crate::evaluate::{BundleFacts, BundleVerifier};

/// One domain's expected signer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IdentityRule {
    pub domain: String,
    pub identity: String,
    pub issuer: String,
}

impl IdentityRule {
    /// `DOMAIN=IDENTITY,ISSUER` (the identity is the certificate's SAN: an e-mail address or
    /// URI; the issuer the OIDC issuer URL).
    pub fn parse(text: &str) -> Result<IdentityRule, String> {
        let usage = "expected DOMAIN=IDENTITY,ISSUER (e.g. acme.com=release@acme.com,https://accounts.google.com)";
        let (domain, rest) = text
            .split_once('=')
            .ok_or_else(|| format!("{text:?}: {usage}"))?;
        let (identity, issuer) = rest
            .rsplit_once(',')
            .ok_or_else(|| format!("{text:?}: {usage}"))?;
        let domain =
            crate::Domain::parse(domain.trim()).map_err(|e| format!("{text:?}: domain: {e}"))?;
        let (identity, issuer) = (identity.trim(), issuer.trim());
        if identity.is_empty() || issuer.is_empty() {
            return Err(format!("{text:?}: {usage}"));
        }
        Ok(IdentityRule {
            domain: domain.as_str().to_owned(),
            identity: identity.to_owned(),
            issuer: issuer.to_owned(),
        })
    }
}

/// A trusted root plus the per-domain identity policy.
pub struct SigstoreVerifier {
    root: TrustedRoot,
    rules: Vec<IdentityRule>,
}

impl SigstoreVerifier {
    pub fn new(root: TrustedRoot, rules: Vec<IdentityRule>) -> SigstoreVerifier {
        SigstoreVerifier { root, rules }
    }

    /// The embedded public-good root, or `trusted_root` (a `trusted_root.json`).
    pub fn from_config(
        trusted_root: Option<&std::path::Path>,
        rules: Vec<IdentityRule>,
    ) -> Result<SigstoreVerifier, String> {
        let root = match trusted_root {
            Some(p) => TrustedRoot::from_file(p),
            None => TrustedRoot::public_good(),
        }
        .map_err(|e| e.to_string())?;
        Ok(SigstoreVerifier::new(root, rules))
    }

    pub fn root_source(&self) -> &str {
        self.root.source()
    }
}

impl BundleVerifier for SigstoreVerifier {
    fn verify(
        &self,
        bundle: &[u8],
        digest: &Digest,
        domain: Option<&str>,
    ) -> Result<BundleFacts, String> {
        let domain = domain.ok_or_else(|| {
            "the record names no publisher.domain, so no Sigstore identity applies".to_owned()
        })?;
        let rules: Vec<&IdentityRule> = self.rules.iter().filter(|r| r.domain == domain).collect();
        if rules.is_empty() {
            return Err(format!(
                "no Sigstore identity is configured for {domain} (--trust-sigstore-identity {domain}=IDENTITY,ISSUER)"
            ));
        }
        let artifact = ArtifactRef::parse_digest(&digest.to_string()).map_err(|e| {
            format!("{e} (Sigstore bundles are checked against sha256 manifest digests)")
        })?;
        let mut errors = Vec::new();
        for r in rules {
            let policy = Identity::certificate(&r.identity, &r.issuer);
            match verify_bundle(bundle, artifact, &policy, &self.root) {
                Ok(f) if f.tlog_verified => {
                    return Ok(BundleFacts {
                        signer: format!("{} ({})", r.identity, r.issuer),
                        integrated_time: f.integrated_time,
                        log_index: None,
                    });
                }
                Ok(_) => errors.push(format!(
                    "the bundle signed by {} has no verified transparency-log entry",
                    r.identity
                )),
                Err(e) => errors.push(format!("{e} (expected {}, {})", r.identity, r.issuer)),
            }
        }
        Err(format!(
            "Sigstore bundle against {}: {}",
            self.root.source(),
            errors.join("; ")
        ))
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use super::*;

    #[test]
    fn identity_rules_parse_strictly() {
        let r = IdentityRule::parse("acme.com=release@acme.com,https://issuer.acme.com").unwrap();
        assert_eq!(r.domain, "acme.com");
        assert_eq!(r.identity, "release@acme.com");
        assert_eq!(r.issuer, "https://issuer.acme.com");
        assert!(IdentityRule::parse("acme.com").is_err());
        assert!(IdentityRule::parse("acme.com=release@acme.com").is_err());
        assert!(IdentityRule::parse("not a domain=a,b").is_err());
        assert!(IdentityRule::parse("acme.com=,b").is_err());
    }
}
