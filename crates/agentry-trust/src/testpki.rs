//! An organisation CA for tests and benchmarks (feature `test-pki`): rcgen-made CA and leaf
//! certificates for Ed25519 signing keys — good ones, expired ones, wrong-usage ones,
//! wrong-name ones — so the Standard tier is exercised with real X.509. Never used by a pod.

use ed25519_dalek::VerifyingKey;
use rcgen::{
    BasicConstraints, CertificateParams, DnType, ExtendedKeyUsagePurpose, GeneralSubtree, IsCa,
    Issuer, KeyPair, KeyUsagePurpose, NameConstraints, PublicKeyData, SignatureAlgorithm,
};
use time::{Duration, OffsetDateTime};

/// An Ed25519 public key as rcgen wants it.
struct EdKey([u8; 32]);

impl PublicKeyData for EdKey {
    fn der_bytes(&self) -> &[u8] {
        &self.0
    }
    fn algorithm(&self) -> &'static SignatureAlgorithm {
        &rcgen::PKCS_ED25519
    }
}

/// How a leaf is made.
#[derive(Debug, Clone)]
pub struct Leaf {
    /// DNS names (SANs).
    pub names: Vec<String>,
    /// Key usages; `digitalSignature` by default.
    pub key_usages: Vec<KeyUsagePurpose>,
    /// Extended key usages; `codeSigning` by default.
    pub extended: Vec<ExtendedKeyUsagePurpose>,
    pub not_before: OffsetDateTime,
    pub not_after: OffsetDateTime,
}

impl Leaf {
    /// A valid code-signing leaf for `domain`, from yesterday to a year from now.
    pub fn for_domain(domain: &str) -> Leaf {
        let now = OffsetDateTime::now_utc();
        Leaf {
            names: vec![domain.to_owned()],
            key_usages: vec![KeyUsagePurpose::DigitalSignature],
            extended: vec![ExtendedKeyUsagePurpose::CodeSigning],
            not_before: now - Duration::days(1),
            not_after: now + Duration::days(365),
        }
    }

    /// Expired yesterday.
    pub fn expired(mut self) -> Leaf {
        let now = OffsetDateTime::now_utc();
        self.not_before = now - Duration::days(30);
        self.not_after = now - Duration::days(1);
        self
    }
}

/// A CA: its certificate (PEM) and key.
pub struct TestCa {
    pub cert_pem: String,
    issuer: Issuer<'static, KeyPair>,
}

impl TestCa {
    /// A CA named `name`; with `permitted`, name constraints limit it to those DNS subtrees.
    pub fn new(name: &str, permitted: &[&str]) -> Result<TestCa, rcgen::Error> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name.push(DnType::CommonName, name);
        p.distinguished_name
            .push(DnType::OrganizationName, format!("{name} org"));
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![
            KeyUsagePurpose::KeyCertSign,
            KeyUsagePurpose::CrlSign,
            KeyUsagePurpose::DigitalSignature,
        ];
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::days(2);
        p.not_after = now + Duration::days(3650);
        if !permitted.is_empty() {
            p.name_constraints = Some(NameConstraints {
                permitted_subtrees: permitted
                    .iter()
                    .map(|d| GeneralSubtree::DnsName((*d).to_owned()))
                    .collect(),
                excluded_subtrees: vec![],
            });
        }
        let cert = p.self_signed(&key)?;
        Ok(TestCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(p, key),
        })
    }

    /// A leaf certifying `key` as `leaf` says; PEM.
    pub fn issue(&self, key: &VerifyingKey, leaf: &Leaf) -> Result<String, rcgen::Error> {
        let mut p = CertificateParams::new(leaf.names.clone())?;
        p.distinguished_name.push(
            DnType::CommonName,
            leaf.names.first().cloned().unwrap_or_default(),
        );
        p.is_ca = IsCa::ExplicitNoCa;
        p.key_usages = leaf.key_usages.clone();
        p.extended_key_usages = leaf.extended.clone();
        p.not_before = leaf.not_before;
        p.not_after = leaf.not_after;
        let cert = p.signed_by(&EdKey(key.to_bytes()), &self.issuer)?;
        Ok(cert.pem())
    }

    /// An intermediate CA signed by this one (its certificate PEM is its `cert_pem`).
    pub fn intermediate(&self, name: &str) -> Result<TestCa, rcgen::Error> {
        let key = KeyPair::generate_for(&rcgen::PKCS_ECDSA_P256_SHA256)?;
        let mut p = CertificateParams::new(Vec::<String>::new())?;
        p.distinguished_name.push(DnType::CommonName, name);
        p.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        p.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        let now = OffsetDateTime::now_utc();
        p.not_before = now - Duration::days(1);
        p.not_after = now + Duration::days(1000);
        let cert = p.signed_by(&key, &self.issuer)?;
        Ok(TestCa {
            cert_pem: cert.pem(),
            issuer: Issuer::new(p, key),
        })
    }
}
