//! SPIFFE identities for agentry pods and agents.
//!
//! - [`SpiffeId`] / [`TrustDomain`] (from the `spiffe` crate: parsing and validation as the
//!   SPIFFE ID specification says) and the whitepaper's two shapes, [`pod_id`]
//!   (`spiffe://acme.com/registry-pod/us-west-2/pod-0`) and [`agent_id`]
//!   (`spiffe://acme.com/agent/financial-analyst/v2.4.1`).
//! - [`Bundles`]: the X.509 trust bundle of each trust domain this pod federates with, loaded from
//!   PEM files (exchanged once, out of band, as SPIRE federation does).
//! - [`Bundles::verify_svid`]: an X.509-SVID verified as the X.509-SVID specification asks: one
//!   SPIFFE URI SAN, a leaf that is not a CA and has `digitalSignature`, and a chain (checked by
//!   rustls-webpki: signatures, validity, CA flags, key usage, name constraints) to the bundle
//!   **of the SVID's own trust domain** — a CA of `partner.org` cannot vouch for `acme.com`.
//! - [`SpiffeClientVerifier`] and [`SpiffeServerVerifier`]: rustls verifiers for pod-to-pod
//!   mTLS. Names are SPIFFE IDs, not DNS names: the server name a client dials is not checked;
//!   the peer's SPIFFE ID is, against an [`Authorizer`].

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::{WebPkiSupportedAlgorithms, verify_tls12_signature, verify_tls13_signature};
use rustls::server::danger::{ClientCertVerified, ClientCertVerifier};
use rustls::{DigitallySignedStruct, DistinguishedName, SignatureScheme};
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};

pub use spiffe::{SpiffeId, SpiffeIdError, TrustDomain};

/// Largest bundle file accepted, in bytes.
pub const MAX_BUNDLE_FILE_BYTES: u64 = 1024 * 1024;

/// `spiffe://<trust domain>/registry-pod/<region>/<pod>`.
pub fn pod_id(trust_domain: &str, region: &str, pod: &str) -> Result<SpiffeId, SpiffeError> {
    let td = self::trust_domain(trust_domain)?;
    SpiffeId::from_segments(td, &["registry-pod", region, pod])
        .map_err(|e| SpiffeError::Id(format!("pod id in {trust_domain}: {e}")))
}

/// `spiffe://<trust domain>/agent/<name>/<version>`.
pub fn agent_id(trust_domain: &str, name: &str, version: &str) -> Result<SpiffeId, SpiffeError> {
    let td = self::trust_domain(trust_domain)?;
    SpiffeId::from_segments(td, &["agent", name, version])
        .map_err(|e| SpiffeError::Id(format!("agent id in {trust_domain}: {e}")))
}

/// Parses a SPIFFE ID (`spiffe://trust-domain/path`), with the field named in the error.
///
/// Strict: the text must already be in canonical form (a lowercase trust domain, as the SPIFFE
/// ID specification requires); the `spiffe` crate alone would fold `ACME.com` to `acme.com`.
pub fn parse_id(text: &str) -> Result<SpiffeId, SpiffeError> {
    let id =
        SpiffeId::new(text).map_err(|e| SpiffeError::Id(format!("SPIFFE ID {text:?}: {e}")))?;
    if id.to_string() != text {
        return Err(SpiffeError::Id(format!(
            "SPIFFE ID {text:?}: not in canonical form (trust domain must be lowercase; canonical {id})"
        )));
    }
    Ok(id)
}

fn trust_domain(name: &str) -> Result<TrustDomain, SpiffeError> {
    let td = TrustDomain::new(name)
        .map_err(|e| SpiffeError::Id(format!("trust domain {name:?}: {e}")))?;
    if td.as_str() != name {
        return Err(SpiffeError::Id(format!(
            "trust domain {name:?}: must be lowercase"
        )));
    }
    Ok(td)
}

/// Why an identity, bundle or SVID was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SpiffeError {
    /// A malformed SPIFFE ID or trust domain.
    #[error("{0}")]
    Id(String),
    /// A bundle file could not be read or holds no usable CA certificate.
    #[error("bundle: {0}")]
    Bundle(String),
    /// The peer sent no certificate.
    #[error("no X.509-SVID presented")]
    NoCertificate,
    /// The leaf is not an X.509-SVID (no or several SPIFFE IDs, a CA leaf, wrong key usage…).
    #[error("not an X.509-SVID: {0}")]
    NotAnSvid(String),
    /// The SVID's trust domain is not one this pod has a bundle for.
    #[error("trust domain {0} is not federated with this pod (no bundle)")]
    UnknownTrustDomain(String),
    /// The chain does not verify against the bundle of the SVID's trust domain.
    #[error("SVID {id} does not chain to the {trust_domain} bundle: {reason}")]
    Chain {
        /// The ID the SVID claimed.
        id: String,
        /// Its trust domain.
        trust_domain: String,
        /// rustls-webpki's reason.
        reason: String,
    },
    /// The SVID verified but the authorizer does not accept this ID.
    #[error("SPIFFE ID {0} is not authorised here")]
    NotAuthorised(String),
}

/// The CA certificates of each federated trust domain.
#[derive(Debug, Clone, Default)]
pub struct Bundles {
    domains: BTreeMap<String, Vec<CertificateDer<'static>>>,
}

impl Bundles {
    /// No trust domain at all: every SVID is refused.
    pub fn new() -> Self {
        Self::default()
    }

    /// Adds (or extends) the bundle of `trust_domain` with PEM `CERTIFICATE` blocks.
    pub fn add_pem(&mut self, trust_domain: &str, pem: &[u8]) -> Result<(), SpiffeError> {
        let td = self::trust_domain(trust_domain)?;
        let mut certs = Vec::new();
        for item in rustls_pki_types::pem::PemObject::pem_slice_iter(pem) {
            let cert: CertificateDer<'static> =
                item.map_err(|e| SpiffeError::Bundle(format!("{td}: not PEM certificates: {e}")))?;
            // Each authority must be usable as a webpki trust anchor.
            webpki::anchor_from_trusted_cert(&cert)
                .map_err(|e| SpiffeError::Bundle(format!("{td}: unusable CA certificate: {e}")))?;
            certs.push(cert);
        }
        if certs.is_empty() {
            return Err(SpiffeError::Bundle(format!("{td}: no CERTIFICATE block")));
        }
        self.domains
            .entry(td.to_string())
            .or_default()
            .extend(certs);
        Ok(())
    }

    /// Adds the bundle of `trust_domain` from a PEM file.
    pub fn add_pem_file(&mut self, trust_domain: &str, path: &Path) -> Result<(), SpiffeError> {
        let meta = std::fs::metadata(path)
            .map_err(|e| SpiffeError::Bundle(format!("{}: {e}", path.display())))?;
        if meta.len() > MAX_BUNDLE_FILE_BYTES {
            return Err(SpiffeError::Bundle(format!(
                "{}: {} bytes, more than {MAX_BUNDLE_FILE_BYTES}",
                path.display(),
                meta.len()
            )));
        }
        let pem = std::fs::read(path)
            .map_err(|e| SpiffeError::Bundle(format!("{}: {e}", path.display())))?;
        self.add_pem(trust_domain, &pem)
    }

    /// Adds a DER CA certificate to `trust_domain`'s bundle.
    pub fn add_der(&mut self, trust_domain: &str, der: &[u8]) -> Result<(), SpiffeError> {
        let td = self::trust_domain(trust_domain)?;
        let cert = CertificateDer::from(der.to_vec());
        webpki::anchor_from_trusted_cert(&cert)
            .map_err(|e| SpiffeError::Bundle(format!("{td}: unusable CA certificate: {e}")))?;
        self.domains.entry(td.to_string()).or_default().push(cert);
        Ok(())
    }

    /// The federated trust domains.
    pub fn trust_domains(&self) -> impl Iterator<Item = &str> {
        self.domains.keys().map(String::as_str)
    }

    /// Verifies an X.509-SVID chain (leaf first) at `now` for `usage`, and returns its ID.
    pub fn verify_svid(
        &self,
        chain: &[CertificateDer<'_>],
        now: UnixTime,
        usage: Usage,
    ) -> Result<SpiffeId, SpiffeError> {
        let (leaf, intermediates) = chain.split_first().ok_or(SpiffeError::NoCertificate)?;
        let id = svid_id(leaf)?;
        let td = id.trust_domain_name().to_string();
        let authorities = self
            .domains
            .get(&td)
            .ok_or_else(|| SpiffeError::UnknownTrustDomain(td.clone()))?;
        let anchors: Vec<_> = authorities
            .iter()
            .filter_map(|c| webpki::anchor_from_trusted_cert(c).ok())
            .collect();
        let ee = webpki::EndEntityCert::try_from(leaf)
            .map_err(|e| SpiffeError::NotAnSvid(format!("leaf does not parse: {e}")))?;
        ee.verify_for_usage(
            webpki::ALL_VERIFICATION_ALGS,
            &anchors,
            intermediates,
            now,
            match usage {
                Usage::Client => webpki::KeyUsage::client_auth(),
                Usage::Server => webpki::KeyUsage::server_auth(),
            },
            None,
            None,
        )
        .map_err(|e| SpiffeError::Chain {
            id: id.to_string(),
            trust_domain: td.clone(),
            reason: format!("{e:?}"),
        })?;
        Ok(id)
    }
}

/// What the SVID is presented for (its extended key usage is checked when it has one).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Usage {
    /// A TLS client (the dialling pod).
    Client,
    /// A TLS server (the dialled pod).
    Server,
}

/// The SPIFFE ID of an X.509-SVID leaf, after the leaf rules of the X.509-SVID specification.
pub fn svid_id(leaf: &CertificateDer<'_>) -> Result<SpiffeId, SpiffeError> {
    use x509_parser::prelude::{FromDer, X509Certificate};
    let (_, cert) = X509Certificate::from_der(leaf.as_ref())
        .map_err(|e| SpiffeError::NotAnSvid(format!("leaf does not parse: {e}")))?;
    if let Ok(Some(bc)) = cert.basic_constraints()
        && bc.value.ca
    {
        return Err(SpiffeError::NotAnSvid("leaf has the CA flag".into()));
    }
    match cert.key_usage() {
        Ok(Some(ku)) => {
            if !ku.value.digital_signature() {
                return Err(SpiffeError::NotAnSvid(
                    "leaf lacks digitalSignature key usage".into(),
                ));
            }
            if ku.value.key_cert_sign() || ku.value.crl_sign() {
                return Err(SpiffeError::NotAnSvid(
                    "leaf may sign certificates or CRLs".into(),
                ));
            }
        }
        Ok(None) => {}
        Err(e) => return Err(SpiffeError::NotAnSvid(format!("key usage: {e}"))),
    }
    let id = spiffe::cert::spiffe_id_from_der(leaf.as_ref())
        .map_err(|e| SpiffeError::NotAnSvid(e.to_string()))?;
    if id.path().is_empty() {
        return Err(SpiffeError::NotAnSvid(format!(
            "{id} names a trust domain, not a workload"
        )));
    }
    Ok(id)
}

/// The SPIFFE ID of the peer of an established rustls connection, when it presented a valid
/// SVID (the verifiers below have already checked it).
pub fn peer_id(conn: &rustls::CommonState) -> Option<SpiffeId> {
    conn.peer_certificates()?
        .first()
        .and_then(|c| svid_id(c).ok())
}

/// Which verified SPIFFE IDs may connect.
#[derive(Debug, Clone)]
pub enum Authorizer {
    /// Any ID of any federated trust domain (a bundle is the federation agreement).
    AnyFederated,
    /// IDs of these trust domains only.
    TrustDomains(Vec<String>),
    /// Exactly these IDs.
    Ids(Vec<String>),
}

impl Authorizer {
    fn check(&self, id: &SpiffeId) -> Result<(), SpiffeError> {
        let ok = match self {
            Authorizer::AnyFederated => true,
            Authorizer::TrustDomains(tds) => tds.iter().any(|t| t == id.trust_domain_name()),
            Authorizer::Ids(ids) => ids.iter().any(|i| *i == id.to_string()),
        };
        if ok {
            Ok(())
        } else {
            Err(SpiffeError::NotAuthorised(id.to_string()))
        }
    }
}

fn tls_error(e: SpiffeError) -> rustls::Error {
    match e {
        SpiffeError::NoCertificate => rustls::Error::NoCertificatesPresented,
        other => rustls::Error::InvalidCertificate(rustls::CertificateError::Other(
            rustls::OtherError(Arc::new(other)),
        )),
    }
}

fn algorithms() -> WebPkiSupportedAlgorithms {
    rustls::crypto::ring::default_provider().signature_verification_algorithms
}

/// What both sides of pod-to-pod mTLS check: the peer's chain as an SVID of a federated
/// trust domain (for `usage`), then its SPIFFE ID against the authorizer; and the handshake
/// signatures with ring's algorithms.
#[derive(Debug)]
struct SvidPolicy {
    bundles: Bundles,
    authorizer: Authorizer,
    algs: WebPkiSupportedAlgorithms,
}

impl SvidPolicy {
    fn new(bundles: Bundles, authorizer: Authorizer) -> SvidPolicy {
        SvidPolicy {
            bundles,
            authorizer,
            algs: algorithms(),
        }
    }

    fn check_peer(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
        usage: Usage,
    ) -> Result<(), rustls::Error> {
        let mut chain = vec![end_entity.clone()];
        chain.extend(intermediates.iter().cloned());
        let id = self
            .bundles
            .verify_svid(&chain, now, usage)
            .map_err(tls_error)?;
        self.authorizer.check(&id).map_err(tls_error)
    }

    fn tls12(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls12_signature(message, cert, dss, &self.algs)
    }

    fn tls13(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        verify_tls13_signature(message, cert, dss, &self.algs)
    }
}

/// Server side of pod-to-pod mTLS: requires a client SVID of a federated trust domain.
#[derive(Debug)]
pub struct SpiffeClientVerifier(SvidPolicy);

impl SpiffeClientVerifier {
    /// Verifies client SVIDs against `bundles`, then `authorizer`.
    pub fn new(bundles: Bundles, authorizer: Authorizer) -> Arc<Self> {
        Arc::new(Self(SvidPolicy::new(bundles, authorizer)))
    }
}

impl ClientCertVerifier for SpiffeClientVerifier {
    fn root_hint_subjects(&self) -> &[DistinguishedName] {
        &[]
    }

    fn verify_client_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        now: UnixTime,
    ) -> Result<ClientCertVerified, rustls::Error> {
        self.0
            .check_peer(end_entity, intermediates, now, Usage::Client)?;
        Ok(ClientCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.algs.supported_schemes()
    }
}

/// Client side of pod-to-pod mTLS: requires the server's SVID of a federated trust domain.
/// The DNS name dialled is not checked; the SPIFFE ID is, against the authorizer.
#[derive(Debug)]
pub struct SpiffeServerVerifier(SvidPolicy);

impl SpiffeServerVerifier {
    /// Verifies server SVIDs against `bundles`, then `authorizer`.
    pub fn new(bundles: Bundles, authorizer: Authorizer) -> Arc<Self> {
        Arc::new(Self(SvidPolicy::new(bundles, authorizer)))
    }
}

impl ServerCertVerifier for SpiffeServerVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        self.0
            .check_peer(end_entity, intermediates, now, Usage::Server)?;
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls12(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.0.tls13(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.algs.supported_schemes()
    }
}
