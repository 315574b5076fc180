//! The tier computation: evidence in, a report out, no I/O.
//!
//! Tiers are additive (whitepaper Table 3). Each requirement is one [`Check`]; a tier is
//! reached when every check of it and of the tiers below passes. A check that could not be
//! decided (DNS timeout, SERVFAIL) is `unknown`, which never counts as a pass.

use agentry_types::{Digest, TrustTier};
use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use crate::dns::{PolicyRecord, RecordError, TrustAnchors};
use crate::signature::Envelope;

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "lowercase")]
pub enum CheckStatus {
    Pass,
    Fail,
    /// Could not be decided (a DNS timeout or SERVFAIL): never trusted.
    Unknown,
}

/// One requirement and its outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    pub name: &'static str,
    /// The lowest tier that needs this check.
    pub tier: TrustTier,
    pub status: CheckStatus,
    pub reason: String,
}

/// Every check, in the order they are printed, with the tier that needs it.
pub const CHECKS: &[(&str, TrustTier)] = &[
    ("digest", TrustTier::Basic),
    ("dns", TrustTier::Basic),
    ("signature", TrustTier::Basic),
    ("dns_key", TrustTier::Basic),
    ("cert_chain", TrustTier::Standard),
    ("capability_schemas", TrustTier::Standard),
    ("sbom", TrustTier::Standard),
    ("transparency_log", TrustTier::Verified),
    ("provenance", TrustTier::Verified),
    ("compliance", TrustTier::Verified),
];

/// What the DNS said about the publisher's domain.
#[derive(Debug, Clone)]
pub enum DnsEvidence {
    /// The record names no `publisher.domain`.
    NoDomain,
    /// `publisher.domain` is not a domain name.
    BadDomain(String),
    /// The records were found and parsed.
    Anchors(std::sync::Arc<TrustAnchors>),
    /// The records are malformed (or `_ossa-key` is absent).
    Invalid(RecordError),
    /// No answer could be had (timeout, SERVFAIL, network): undecided.
    Unknown(String),
}

/// The facts a verified Sigstore bundle establishes.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct BundleFacts {
    /// The certificate identity (SAN) or key that signed.
    pub signer: String,
    /// Transparency-log integration time (Unix seconds), when the bundle has one.
    pub integrated_time: Option<i64>,
    pub log_index: Option<u64>,
}

/// The Verified tier's offline Sigstore check, provided by another crate (the engine knows
/// only this seam). Without one, the Verified tier is unreachable and said to be so.
pub trait BundleVerifier: Send + Sync {
    fn verify(&self, bundle: &[u8], digest: &Digest) -> Result<BundleFacts, String>;
}

/// The signing certificate check's outcome (see [`crate::x509`]).
#[derive(Debug, Clone, Default)]
pub enum CertEvidence {
    /// No certificate referrer, or no organisation CA configured.
    #[default]
    Absent,
    Checked(Result<String, String>),
}

/// Everything the engine needs to judge one manifest.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The registry hashed the content itself (always true for what a pod stores).
    pub digest_verified: bool,
    pub dns: Option<DnsEvidence>,
    /// The envelopes of the OSSA signature referrers.
    pub signatures: Vec<Vec<u8>>,
    /// Keys in the operator's revocation list.
    pub revoked_keys: Vec<VerifyingKey>,
    pub certificate: CertEvidence,
    /// The record declares skills, each with an input schema.
    pub capability_schemas: Option<Result<(), String>>,
    /// Artifact type of the SBOM referrer found (SPDX or CycloneDX JSON).
    pub sbom: Option<String>,
    /// Sigstore bundle referrers' bytes.
    pub bundles: Vec<Vec<u8>>,
    pub provenance: Option<String>,
    pub compliance: Option<String>,
}

/// The verdict: every check with its reason, and the tier they add up to.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct TrustReport {
    pub digest: String,
    pub tier: TrustTier,
    pub domain: Option<String>,
    pub checks: Vec<Check>,
    /// The publisher's `_ossa-policy`, when it has one.
    pub policy: Option<PolicyRecord>,
    /// Keys (SPKI base64) whose signatures verified and are published in DNS.
    pub signed_by: Vec<String>,
}

impl TrustReport {
    /// What keeps this artifact from `target`: one line per failing check of that tier or
    /// below, `name: reason`. Empty when `target` is reached.
    pub fn missing_for(&self, target: TrustTier) -> Vec<String> {
        self.checks
            .iter()
            .filter(|c| c.tier <= target && c.status != CheckStatus::Pass)
            .map(|c| format!("{}: {}", c.name, c.reason))
            .collect()
    }

    pub fn check(&self, name: &str) -> Option<&Check> {
        self.checks.iter().find(|c| c.name == name)
    }
}

fn tier_of(name: &str) -> TrustTier {
    CHECKS
        .iter()
        .find(|(n, _)| *n == name)
        .map_or(TrustTier::Verified, |(_, t)| *t)
}

fn pass(name: &'static str, reason: impl Into<String>) -> Check {
    Check {
        name,
        tier: tier_of(name),
        status: CheckStatus::Pass,
        reason: reason.into(),
    }
}

fn fail(name: &'static str, reason: impl Into<String>) -> Check {
    Check {
        name,
        tier: tier_of(name),
        status: CheckStatus::Fail,
        reason: reason.into(),
    }
}

fn unknown(name: &'static str, reason: impl Into<String>) -> Check {
    Check {
        name,
        tier: tier_of(name),
        status: CheckStatus::Unknown,
        reason: reason.into(),
    }
}

/// Judge one manifest digest.
pub fn evaluate(
    digest: &Digest,
    domain: Option<&str>,
    ev: &Evidence,
    bundle_verifier: Option<&dyn BundleVerifier>,
) -> TrustReport {
    let mut checks = Vec::with_capacity(CHECKS.len());
    checks.push(if ev.digest_verified {
        pass(
            "digest",
            format!("content hashed by the registry matches {digest}"),
        )
    } else {
        fail("digest", "the content was not hashed against its digest")
    });

    // DNS anchors.
    let mut anchors: Option<&TrustAnchors> = None;
    let mut policy = None;
    match &ev.dns {
        None | Some(DnsEvidence::NoDomain) => checks.push(fail(
            "dns",
            "the record names no publisher.domain, so no DNS trust anchor applies",
        )),
        Some(DnsEvidence::BadDomain(e)) => checks.push(fail("dns", e.clone())),
        Some(DnsEvidence::Invalid(e)) => checks.push(fail("dns", e.to_string())),
        Some(DnsEvidence::Unknown(e)) => checks.push(unknown("dns", e.clone())),
        Some(DnsEvidence::Anchors(a)) => {
            anchors = Some(a);
            policy = a.policy.clone();
            checks.push(pass(
                "dns",
                format!(
                    "_ossa-key.{} lists {} key(s){}",
                    domain.unwrap_or(""),
                    a.keys.len(),
                    if a.revoked > 0 {
                        format!(", {} withdrawn", a.revoked)
                    } else {
                        String::new()
                    }
                ),
            ))
        }
    }

    // Signatures.
    let mut good: Vec<VerifyingKey> = Vec::new();
    let mut sig_errors: Vec<String> = Vec::new();
    for raw in &ev.signatures {
        match Envelope::parse(raw).and_then(|e| e.verify(digest)) {
            Ok(k) => good.push(k),
            Err(e) => sig_errors.push(e),
        }
    }
    if good.is_empty() {
        checks.push(fail(
            "signature",
            if ev.signatures.is_empty() {
                "no signature refers to this manifest (agentry sign)".to_owned()
            } else {
                sig_errors.join("; ")
            },
        ));
    } else {
        checks.push(pass(
            "signature",
            format!("{} valid Ed25519 signature(s) over {digest}", good.len()),
        ));
    }

    let mut signed_by = Vec::new();
    let key_check = match (&ev.dns, anchors) {
        (Some(DnsEvidence::Unknown(e)), _) => unknown("dns_key", format!("DNS undecided: {e}")),
        (_, None) => fail("dns_key", "no DNS keys to match the signature against"),
        (_, Some(_)) if good.is_empty() => fail("dns_key", "no valid signature to match"),
        (_, Some(a)) => {
            let mut revoked = false;
            for k in &good {
                if ev.revoked_keys.contains(k) {
                    revoked = true;
                    continue;
                }
                if a.keys.contains(k) {
                    signed_by.push(crate::keys::public_spki_base64(k));
                }
            }
            if !signed_by.is_empty() {
                pass(
                    "dns_key",
                    format!(
                        "signed by a key published in _ossa-key.{}",
                        domain.unwrap_or("")
                    ),
                )
            } else if revoked {
                fail(
                    "dns_key",
                    "the signing key is in this pod's revocation list",
                )
            } else {
                fail(
                    "dns_key",
                    format!(
                        "no signing key is published in _ossa-key.{} (another domain's key, or removed from DNS)",
                        domain.unwrap_or("")
                    ),
                )
            }
        }
    };
    checks.push(key_check);

    // Standard.
    checks.push(match &ev.certificate {
        CertEvidence::Absent => fail(
            "cert_chain",
            "no signing certificate chained to the organisation's CA",
        ),
        CertEvidence::Checked(Ok(s)) => pass("cert_chain", s.clone()),
        CertEvidence::Checked(Err(e)) => fail("cert_chain", e.clone()),
    });
    checks.push(match &ev.capability_schemas {
        Some(Ok(())) => pass("capability_schemas", "every skill declares an input schema"),
        Some(Err(e)) => fail("capability_schemas", e.clone()),
        None => fail("capability_schemas", "the record declares no skills"),
    });
    checks.push(match &ev.sbom {
        Some(t) => pass("sbom", format!("SBOM referrer {t}")),
        None => fail("sbom", "no SBOM (SPDX or CycloneDX JSON) referrer"),
    });

    // Verified.
    checks.push(match (bundle_verifier, ev.bundles.is_empty()) {
        (_, true) => fail("transparency_log", "no Sigstore bundle referrer"),
        (None, false) => fail(
            "transparency_log",
            "this pod has no Sigstore bundle verifier, so the bundle is not checked",
        ),
        (Some(v), false) => {
            let mut errs = Vec::new();
            let mut ok = None;
            for b in &ev.bundles {
                match v.verify(b, digest) {
                    Ok(f) => {
                        ok = Some(f);
                        break;
                    }
                    Err(e) => errs.push(e),
                }
            }
            match ok {
                Some(f) => pass(
                    "transparency_log",
                    format!(
                        "Sigstore bundle verified offline, signed by {}{}",
                        f.signer,
                        f.log_index
                            .map(|i| format!(", log index {i}"))
                            .unwrap_or_default()
                    ),
                ),
                None => fail("transparency_log", errs.join("; ")),
            }
        }
    });
    checks.push(match &ev.provenance {
        Some(t) => pass(
            "provenance",
            format!("in-toto SLSA provenance referrer {t}"),
        ),
        None => fail("provenance", "no in-toto SLSA provenance referrer"),
    });
    checks.push(match &ev.compliance {
        Some(t) => pass("compliance", format!("compliance attestation referrer {t}")),
        None => fail("compliance", "no compliance attestation referrer"),
    });

    let mut tier = TrustTier::None;
    for t in [TrustTier::Basic, TrustTier::Standard, TrustTier::Verified] {
        if checks
            .iter()
            .filter(|c| c.tier <= t)
            .all(|c| c.status == CheckStatus::Pass)
        {
            tier = t;
        } else {
            break;
        }
    }
    TrustReport {
        digest: digest.to_string(),
        tier,
        domain: domain.map(str::to_owned),
        checks,
        policy,
        signed_by,
    }
}

#[cfg(test)]
#[allow(clippy::unwrap_used)] // a panic is a test's failure report
mod tests {
    use std::sync::Arc;

    use ed25519_dalek::SigningKey;

    use super::*;

    fn anchors(keys: Vec<VerifyingKey>) -> Option<DnsEvidence> {
        Some(DnsEvidence::Anchors(Arc::new(TrustAnchors {
            keys,
            ..Default::default()
        })))
    }

    #[test]
    fn basic_needs_dns_key_and_signature() {
        let k = SigningKey::from_bytes(&[1; 32]);
        let d = Digest::sha256(b"m");
        let mut ev = Evidence {
            digest_verified: true,
            dns: anchors(vec![k.verifying_key()]),
            signatures: vec![Envelope::sign(&k, &d).to_json()],
            ..Default::default()
        };
        let r = evaluate(&d, Some("acme.com"), &ev, None);
        assert_eq!(r.tier, TrustTier::Basic, "{:#?}", r.checks);
        assert!(r.missing_for(TrustTier::Basic).is_empty());
        assert!(
            r.missing_for(TrustTier::Standard)
                .iter()
                .any(|m| m.starts_with("sbom:"))
        );

        // Unsigned.
        let unsigned = Evidence {
            signatures: vec![],
            ..ev.clone()
        };
        let r = evaluate(&d, Some("acme.com"), &unsigned, None);
        assert_eq!(r.tier, TrustTier::None);
        assert_eq!(
            r.check("signature").map(|c| c.status),
            Some(CheckStatus::Fail)
        );

        // Another domain's key.
        let other = SigningKey::from_bytes(&[2; 32]);
        let r = evaluate(
            &d,
            Some("acme.com"),
            &Evidence {
                dns: anchors(vec![other.verifying_key()]),
                ..ev.clone()
            },
            None,
        );
        assert_eq!(r.tier, TrustTier::None);
        assert!(
            r.check("dns_key")
                .unwrap()
                .reason
                .contains("no signing key")
        );

        // Over another digest.
        let r = evaluate(&Digest::sha256(b"x"), Some("acme.com"), &ev, None);
        assert_eq!(r.tier, TrustTier::None);

        // Timeout: unknown, never trusted.
        let r = evaluate(
            &d,
            Some("acme.com"),
            &Evidence {
                dns: Some(DnsEvidence::Unknown("timed out".into())),
                ..ev.clone()
            },
            None,
        );
        assert_eq!(r.tier, TrustTier::None);
        assert_eq!(r.check("dns").unwrap().status, CheckStatus::Unknown);
        assert_eq!(r.check("dns_key").unwrap().status, CheckStatus::Unknown);

        // Revoked in config.
        ev.revoked_keys = vec![k.verifying_key()];
        let r = evaluate(&d, Some("acme.com"), &ev, None);
        assert_eq!(r.tier, TrustTier::None);
        assert!(r.check("dns_key").unwrap().reason.contains("revocation"));
    }

    struct AlwaysOk;
    impl BundleVerifier for AlwaysOk {
        fn verify(&self, _: &[u8], _: &Digest) -> Result<BundleFacts, String> {
            Ok(BundleFacts {
                signer: "ci@acme.com".into(),
                integrated_time: None,
                log_index: Some(1),
            })
        }
    }

    #[test]
    fn tiers_are_additive() {
        let k = SigningKey::from_bytes(&[1; 32]);
        let d = Digest::sha256(b"m");
        let full = Evidence {
            digest_verified: true,
            dns: anchors(vec![k.verifying_key()]),
            signatures: vec![Envelope::sign(&k, &d).to_json()],
            certificate: CertEvidence::Checked(Ok("chained".into())),
            capability_schemas: Some(Ok(())),
            sbom: Some("application/spdx+json".into()),
            bundles: vec![b"{}".to_vec()],
            provenance: Some("https://slsa.dev/provenance/v1".into()),
            compliance: Some("x".into()),
            ..Default::default()
        };
        assert_eq!(
            evaluate(&d, Some("acme.com"), &full, Some(&AlwaysOk)).tier,
            TrustTier::Verified
        );
        // Without a verifier, Verified is never claimed.
        assert_eq!(
            evaluate(&d, Some("acme.com"), &full, None).tier,
            TrustTier::Standard
        );
        // Everything above Basic but no signature: none.
        let r = evaluate(
            &d,
            Some("acme.com"),
            &Evidence {
                signatures: vec![],
                ..full.clone()
            },
            Some(&AlwaysOk),
        );
        assert_eq!(r.tier, TrustTier::None);
    }
}
