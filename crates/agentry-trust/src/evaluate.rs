//! The tier computation: evidence in, a report out, no I/O.
//!
//! Tiers are additive (whitepaper Table 3). Each requirement is one [`Check`]; a tier is
//! reached when every check of it and of the tiers below passes. A check that could not be
//! decided (DNS timeout, SERVFAIL) is `unknown`, which never counts as a pass.

use agentry_types::{Digest, TrustTier};
use ed25519_dalek::VerifyingKey;
use serde::Serialize;

use std::sync::Arc;

use crate::dns::{PolicyRecord, RecordError, TrustAnchors};
use crate::referrers::{self, Kind};
use crate::signature::Envelope;
use crate::x509::OrgCas;

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
/// only this seam; [`crate::sigstore::SigstoreVerifier`] is agentry's). Without one, the
/// Verified tier is unreachable and said to be so. `domain` is the publisher's, whose
/// expected signing identity the verifier applies.
pub trait BundleVerifier: Send + Sync {
    fn verify(
        &self,
        bundle: &[u8],
        digest: &Digest,
        domain: Option<&str>,
    ) -> Result<BundleFacts, String>;
}

/// Everything the engine needs to judge one manifest.
#[derive(Debug, Clone, Default)]
pub struct Evidence {
    /// The registry hashed the content itself (always true for what a pod stores).
    pub digest_verified: bool,
    pub dns: Option<DnsEvidence>,
    /// The envelopes of the OSSA signature referrers.
    pub signatures: Vec<Vec<u8>>,
    /// Certificate chains (PEM, leaf first) carried by the signature referrers.
    pub cert_chains: Vec<Vec<u8>>,
    /// The organisation CAs the chains must lead to; none configured = no Standard tier.
    pub org_cas: Option<Arc<OrgCas>>,
    /// The time certificates are judged at (Unix seconds); the clock's when `None`.
    pub now: Option<u64>,
    /// Keys in the operator's revocation list.
    pub revoked_keys: Vec<VerifyingKey>,
    /// The record declares skills, each with an input schema.
    pub capability_schemas: Option<Result<(), String>>,
    /// SBOM referrers: (artifact type, document).
    pub sboms: Vec<(String, Vec<u8>)>,
    /// Sigstore bundle referrers' bytes.
    pub bundles: Vec<Vec<u8>>,
    /// In-toto provenance referrers' documents.
    pub provenance: Vec<Vec<u8>>,
    /// Compliance attestation referrers' documents.
    pub compliance: Vec<Vec<u8>>,
    /// AGNTCY Directory `agntcy.dir.sign.v1.Signature` referrers' documents.
    pub agntcy_signatures: Vec<Vec<u8>>,
    /// AGNTCY Directory `agntcy.dir.sign.v1.PublicKey` referrers' documents.
    pub agntcy_public_keys: Vec<Vec<u8>>,
    /// The record's CID as the AGNTCY Directory computes it (OASF records), computed by the
    /// verifier from the record layer.
    pub record_cid: Option<String>,
}

impl Evidence {
    /// File one referrer's layers (media type, bytes) as the evidence its artifact type says
    /// it is. Returns false for a referrer that is no trust evidence.
    pub fn add_referrer(
        &mut self,
        artifact_type: Option<&str>,
        annotations: &std::collections::BTreeMap<String, String>,
        layers: Vec<(String, Vec<u8>)>,
    ) -> bool {
        let Some(kind) = referrers::classify_referrer(artifact_type, annotations) else {
            return false;
        };
        let artifact_type = artifact_type.unwrap_or("");
        for (media_type, bytes) in layers {
            match kind {
                Kind::Signature if media_type == referrers::SIGNATURE => {
                    self.signatures.push(bytes)
                }
                Kind::Signature if media_type == referrers::CERTIFICATE => {
                    self.cert_chains.push(bytes)
                }
                Kind::Signature | Kind::Certificate => {}
                Kind::Bundle => self.bundles.push(bytes),
                Kind::Sbom => self.sboms.push((artifact_type.to_owned(), bytes)),
                Kind::Provenance => self.provenance.push(bytes),
                Kind::Compliance => self.compliance.push(bytes),
                Kind::AgntcySignature if media_type == crate::agntcy::SIGNATURE_MEDIA_TYPE => {
                    self.agntcy_signatures.push(bytes)
                }
                Kind::AgntcyPublicKey if media_type == crate::agntcy::PUBLIC_KEY_MEDIA_TYPE => {
                    self.agntcy_public_keys.push(bytes)
                }
                Kind::AgntcySignature | Kind::AgntcyPublicKey => {}
            }
        }
        true
    }
}

/// The Standard tier's `capability_schemas` evidence for `record`.
pub fn capability_schemas(record: &agentry_types::AgentRecord) -> Option<Result<(), String>> {
    if record.skills.is_empty() {
        return None;
    }
    let missing: Vec<&str> = record
        .skills
        .iter()
        .filter(|s| s.input_schema.is_none())
        .map(|s| s.name.as_str())
        .collect();
    Some(if missing.is_empty() {
        Ok(())
    } else {
        Err(format!(
            "skills without an input schema: {}",
            missing.join(", ")
        ))
    })
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

/// Pass with the first success of `outcomes`, else fail with every error (or `none` when
/// there was nothing to judge).
fn first_ok(
    name: &'static str,
    none: &str,
    outcomes: impl Iterator<Item = Result<String, String>>,
) -> Check {
    let mut errors = Vec::new();
    for o in outcomes {
        match o {
            Ok(reason) => return pass(name, reason),
            Err(e) => errors.push(e),
        }
    }
    if errors.is_empty() {
        fail(name, none)
    } else {
        fail(name, errors.join("; "))
    }
}

/// `cert_chain`: a carried chain certifies a key that signed this manifest and is published
/// in DNS, and leads to a configured organisation CA.
fn cert_check(
    ev: &Evidence,
    good: &[VerifyingKey],
    signed_by: &[String],
    domain: Option<&str>,
) -> Check {
    if ev.cert_chains.is_empty() {
        return fail(
            "cert_chain",
            "no signing certificate travels with the signature (agentry sign --cert CHAIN.pem)",
        );
    }
    let Some(cas) = ev.org_cas.as_deref().filter(|c| !c.is_empty()) else {
        return fail(
            "cert_chain",
            "no organisation CA is configured here (--trust-org-ca), so the certificate cannot chain",
        );
    };
    let Some(domain) = domain else {
        return fail("cert_chain", "the record names no publisher.domain");
    };
    let published: Vec<&VerifyingKey> = good
        .iter()
        .filter(|k| signed_by.contains(&crate::keys::public_spki_base64(k)))
        .collect();
    if published.is_empty() {
        return fail(
            "cert_chain",
            "no signature by a key published in DNS for the certificate to certify",
        );
    }
    let now = ev.now.unwrap_or_else(crate::x509::now_unix);
    first_ok(
        "cert_chain",
        "",
        ev.cert_chains.iter().map(|chain| {
            let mut last = Err(String::new());
            for k in &published {
                last = cas.verify(chain, k, domain, now);
                if last.is_ok() {
                    break;
                }
            }
            last
        }),
    )
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
    let ossa_good = good.len();
    let mut agntcy_good = 0;
    if !ev.agntcy_signatures.is_empty() {
        let keys: Vec<VerifyingKey> = ev
            .agntcy_public_keys
            .iter()
            .filter_map(|b| crate::agntcy::public_key(b).ok())
            .collect();
        match &ev.record_cid {
            None => sig_errors.push(
                "an AGNTCY signature refers to this manifest, but its record has no CID (not an OASF record)"
                    .into(),
            ),
            Some(cid) => {
                for s in &ev.agntcy_signatures {
                    match crate::agntcy::verify(s, cid, &keys) {
                        Ok(k) => {
                            agntcy_good += 1;
                            if !good.contains(&k) {
                                good.push(k);
                            }
                        }
                        Err(e) => sig_errors.push(e),
                    }
                }
            }
        }
    }
    if good.is_empty() {
        checks.push(fail(
            "signature",
            if ev.signatures.is_empty() && ev.agntcy_signatures.is_empty() {
                "no signature refers to this manifest (agentry sign)".to_owned()
            } else {
                sig_errors.join("; ")
            },
        ));
    } else {
        let mut parts = Vec::new();
        if ossa_good > 0 {
            parts.push(format!(
                "{ossa_good} valid Ed25519 signature(s) over {digest}"
            ));
        }
        if agntcy_good > 0 {
            parts.push(format!(
                "{agntcy_good} valid AGNTCY Ed25519ph signature(s) over the record's CID {}",
                ev.record_cid.as_deref().unwrap_or("")
            ));
        }
        checks.push(pass("signature", parts.join("; ")));
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
    checks.push(cert_check(ev, &good, &signed_by, domain));
    checks.push(match &ev.capability_schemas {
        Some(Ok(())) => pass("capability_schemas", "every skill declares an input schema"),
        Some(Err(e)) => fail("capability_schemas", e.clone()),
        None => fail("capability_schemas", "the record declares no skills"),
    });
    checks.push(first_ok(
        "sbom",
        "no SBOM (SPDX or CycloneDX JSON) referrer",
        ev.sboms.iter().map(|(t, b)| {
            crate::attest::sbom_format(b).map(|f| format!("SBOM referrer {t} ({f})"))
        }),
    ));

    // Verified.
    checks.push(match (bundle_verifier, ev.bundles.is_empty()) {
        (_, true) => fail("transparency_log", "no Sigstore bundle referrer"),
        (None, false) => fail(
            "transparency_log",
            "this verifier has no Sigstore trusted root, so the bundle is not checked",
        ),
        (Some(v), false) => first_ok(
            "transparency_log",
            "",
            ev.bundles.iter().map(|b| {
                v.verify(b, digest, domain).map(|f| {
                    format!(
                        "Sigstore bundle verified offline (certificate chain, SCT, inclusion proof, checkpoint), signed by {}{}",
                        f.signer,
                        f.integrated_time
                            .map(|t| format!(", logged at {t}"))
                            .unwrap_or_default()
                    )
                })
            }),
        ),
    });
    checks.push(first_ok(
        "provenance",
        "no in-toto SLSA provenance referrer",
        ev.provenance.iter().map(|b| {
            crate::attest::provenance(b, digest)
                .map(|pt| format!("in-toto statement about this manifest, predicate {pt}"))
        }),
    ));
    checks.push(first_ok(
        "compliance",
        "no compliance attestation referrer",
        ev.compliance.iter().map(|b| {
            crate::attest::compliance(b, digest)
                .map(|pt| format!("compliance statement about this manifest, predicate {pt}"))
        }),
    ));

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
    use crate::testpki::{Leaf, TestCa};

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
        fn verify(&self, _: &[u8], _: &Digest, _: Option<&str>) -> Result<BundleFacts, String> {
            Ok(BundleFacts {
                signer: "ci@acme.com".into(),
                integrated_time: None,
                log_index: Some(1),
            })
        }
    }

    fn statement(d: &Digest, pt: &str) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({
            "_type": "https://in-toto.io/Statement/v1",
            "subject": [{"name": "agent", "digest": {"sha256": &d.to_string()[7..]}}],
            "predicateType": pt,
            "predicate": {},
        }))
        .unwrap()
    }

    fn standard_evidence(k: &SigningKey, d: &Digest, ca: &TestCa, chain: String) -> Evidence {
        let mut cas = OrgCas::new();
        cas.add_pem(ca.cert_pem.as_bytes(), "test CA").unwrap();
        Evidence {
            digest_verified: true,
            dns: anchors(vec![k.verifying_key()]),
            signatures: vec![Envelope::sign(k, d).to_json()],
            cert_chains: vec![chain.into_bytes()],
            org_cas: Some(Arc::new(cas)),
            capability_schemas: Some(Ok(())),
            sboms: vec![(
                "application/spdx+json".into(),
                br#"{"spdxVersion":"SPDX-2.3","name":"agent"}"#.to_vec(),
            )],
            ..Default::default()
        }
    }

    #[test]
    fn tiers_are_additive() {
        let k = SigningKey::from_bytes(&[1; 32]);
        let d = Digest::sha256(b"m");
        let ca = TestCa::new("Acme CA", &[]).unwrap();
        let chain = ca
            .issue(&k.verifying_key(), &Leaf::for_domain("acme.com"))
            .unwrap();
        let mut full = standard_evidence(&k, &d, &ca, chain);
        let r = evaluate(&d, Some("acme.com"), &full, None);
        assert_eq!(r.tier, TrustTier::Standard, "{:#?}", r.checks);
        full.bundles = vec![b"{}".to_vec()];
        full.provenance = vec![statement(&d, "https://slsa.dev/provenance/v1")];
        full.compliance = vec![statement(&d, "https://acme.example/soc2")];
        assert_eq!(
            evaluate(&d, Some("acme.com"), &full, Some(&AlwaysOk)).tier,
            TrustTier::Verified
        );
        // Without a verifier, Verified is never claimed.
        assert_eq!(
            evaluate(&d, Some("acme.com"), &full, None).tier,
            TrustTier::Standard
        );
        // Provenance about another manifest does not count.
        let other = Digest::sha256(b"other");
        let r = evaluate(
            &d,
            Some("acme.com"),
            &Evidence {
                provenance: vec![statement(&other, "https://slsa.dev/provenance/v1")],
                ..full.clone()
            },
            Some(&AlwaysOk),
        );
        assert_eq!(r.tier, TrustTier::Standard);
        assert!(
            r.check("provenance")
                .unwrap()
                .reason
                .contains("does not list")
        );
        // A "SBOM" that is not one.
        let r = evaluate(
            &d,
            Some("acme.com"),
            &Evidence {
                sboms: vec![("application/spdx+json".into(), b"{}".to_vec())],
                ..full.clone()
            },
            Some(&AlwaysOk),
        );
        assert_eq!(r.tier, TrustTier::Basic);
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

    #[test]
    fn standard_refuses_bad_certificates_with_their_reason() {
        let k = SigningKey::from_bytes(&[1; 32]);
        let d = Digest::sha256(b"m");
        let ca = TestCa::new("Acme CA", &["acme.com"]).unwrap();
        let judge = |chain: String, domain: &str| {
            let r = evaluate(
                &d,
                Some(domain),
                &standard_evidence(&k, &d, &ca, chain),
                None,
            );
            let c = r.check("cert_chain").unwrap().clone();
            (r.tier, c.reason)
        };
        let leaf = Leaf::for_domain("acme.com");
        let good = ca.issue(&k.verifying_key(), &leaf).unwrap();
        assert_eq!(judge(good.clone(), "acme.com").0, TrustTier::Standard);

        // Through an intermediate, chain leaf first.
        let inter = ca.intermediate("Acme Signing CA").unwrap();
        let via = inter.issue(&k.verifying_key(), &leaf).unwrap();
        let (t, why) = judge(format!("{via}{}", inter.cert_pem), "acme.com");
        assert_eq!(t, TrustTier::Standard, "{why}");
        // ... but not without the intermediate.
        let (t, why) = judge(via, "acme.com");
        assert_eq!(t, TrustTier::Basic);
        assert!(why.contains("does not chain"), "{why}");

        let cases: Vec<(String, &str, &str)> = vec![
            (
                ca.issue(&k.verifying_key(), &leaf.clone().expired())
                    .unwrap(),
                "acme.com",
                "expired",
            ),
            (
                ca.issue(
                    &k.verifying_key(),
                    &Leaf {
                        extended: vec![rcgen::ExtendedKeyUsagePurpose::ServerAuth],
                        ..leaf.clone()
                    },
                )
                .unwrap(),
                "acme.com",
                "codeSigning",
            ),
            (
                ca.issue(
                    &k.verifying_key(),
                    &Leaf {
                        key_usages: vec![rcgen::KeyUsagePurpose::KeyEncipherment],
                        ..leaf.clone()
                    },
                )
                .unwrap(),
                "acme.com",
                "digitalSignature",
            ),
            // Certifies another key.
            (
                ca.issue(&SigningKey::from_bytes(&[7; 32]).verifying_key(), &leaf)
                    .unwrap(),
                "acme.com",
                "another key",
            ),
            // Names another domain than the publisher's.
            (
                ca.issue(&k.verifying_key(), &Leaf::for_domain("sub.acme.com"))
                    .unwrap(),
                "acme.com",
                "does not name acme.com",
            ),
            // Outside the CA's name constraints.
            (
                ca.issue(&k.verifying_key(), &Leaf::for_domain("evil.example"))
                    .unwrap(),
                "evil.example",
                "name constraints",
            ),
            // Another organisation's CA.
            (
                TestCa::new("Other CA", &[])
                    .unwrap()
                    .issue(&k.verifying_key(), &leaf)
                    .unwrap(),
                "acme.com",
                "does not chain",
            ),
            ("garbage".into(), "acme.com", "no CERTIFICATE"),
        ];
        for (chain, domain, want) in cases {
            let (t, why) = judge(chain, domain);
            assert!(t < TrustTier::Standard, "{want}: {why}");
            assert!(why.contains(want), "wanted {want:?} in {why:?}");
        }

        // No CA configured: said so.
        let mut ev = standard_evidence(&k, &d, &ca, good);
        ev.org_cas = None;
        let r = evaluate(&d, Some("acme.com"), &ev, None);
        assert_eq!(r.tier, TrustTier::Basic);
        assert!(
            r.check("cert_chain")
                .unwrap()
                .reason
                .contains("--trust-org-ca")
        );
    }
}
