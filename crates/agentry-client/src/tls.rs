//! TLS for `--ca-file`: the file's certificates are trusted as CAs *and* pinned as server
//! certificates.
//!
//! A certificate made the usual way for a test or private registry (`openssl req -x509
//! -newkey rsa:2048 -nodes …`) marks itself a CA (`basicConstraints CA:TRUE`). WebPKI refuses
//! a CA certificate as a server's own (`CaUsedAsEndEntity`), while curl and skopeo accept it
//! when it is the trusted file itself. [`PinningVerifier`] does the same: a server certificate
//! byte-identical to one in the file is accepted when it is within its validity dates and
//! names the host; the handshake signature is still checked with its key. Any other
//! certificate goes to the platform's verifier with the file's certificates as extra roots,
//! as reqwest itself would build it.

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{CertificateError, DigitallySignedStruct, DistinguishedName, SignatureScheme};
use x509_cert::der::Decode;

use crate::error::{Error, Result};

/// The certificates of a PEM file, refusing a file with none.
pub(crate) fn read_certificates(path: &Path) -> Result<Vec<CertificateDer<'static>>> {
    let pem = std::fs::read(path).map_err(|e| Error::io("reading", path, e))?;
    let certs = CertificateDer::pem_slice_iter(&pem)
        .collect::<std::result::Result<Vec<_>, _>>()
        .map_err(|e| Error::Invalid(format!("CA certificates in {}: {e}", path.display())))?;
    if certs.is_empty() {
        return Err(Error::Invalid(format!(
            "CA certificates in {}: no PEM certificate found",
            path.display()
        )));
    }
    Ok(certs)
}

/// A rustls client configuration trusting `certs` as roots and as pinned server certificates,
/// with the ALPN protocols reqwest offers by default (h2, http/1.1).
pub(crate) fn client_config(certs: Vec<CertificateDer<'static>>) -> Result<rustls::ClientConfig> {
    let provider = CryptoProvider::get_default()
        .cloned()
        .unwrap_or_else(|| Arc::new(rustls::crypto::ring::default_provider()));
    let verifier = PinningVerifier::new(certs, provider.clone())?;
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| Error::Invalid(format!("TLS configuration: {e}")))?
        .dangerous()
        .with_custom_certificate_verifier(Arc::new(verifier))
        .with_no_client_auth();
    config.alpn_protocols = vec![b"h2".to_vec(), b"http/1.1".to_vec()];
    Ok(config)
}

/// Accepts a server certificate that is one of the pinned ones (see the module docs), else
/// asks the platform verifier.
#[derive(Debug)]
pub(crate) struct PinningVerifier {
    pinned: Vec<CertificateDer<'static>>,
    inner: rustls_platform_verifier::Verifier,
}

impl PinningVerifier {
    pub(crate) fn new(
        pinned: Vec<CertificateDer<'static>>,
        provider: Arc<CryptoProvider>,
    ) -> Result<PinningVerifier> {
        let inner = rustls_platform_verifier::Verifier::new_with_extra_roots(
            pinned.iter().cloned(),
            provider,
        )
        .map_err(|e| Error::Invalid(format!("CA certificates: {e}")))?;
        Ok(PinningVerifier { pinned, inner })
    }
}

/// `now` within the certificate's validity dates, or the error rustls would give.
fn check_validity(cert: &CertificateDer<'_>, now: UnixTime) -> Result<(), rustls::Error> {
    let parsed = x509_cert::Certificate::from_der(cert.as_ref())
        .map_err(|_| rustls::Error::InvalidCertificate(CertificateError::BadEncoding))?;
    let validity = &parsed.tbs_certificate.validity;
    let not_before = UnixTime::since_unix_epoch(validity.not_before.to_unix_duration());
    let not_after = UnixTime::since_unix_epoch(validity.not_after.to_unix_duration());
    if now.as_secs() < not_before.as_secs() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::NotValidYetContext {
                time: now,
                not_before,
            },
        ));
    }
    if now.as_secs() > not_after.as_secs() {
        return Err(rustls::Error::InvalidCertificate(
            CertificateError::ExpiredContext {
                time: now,
                not_after,
            },
        ));
    }
    Ok(())
}

impl ServerCertVerifier for PinningVerifier {
    fn verify_server_cert(
        &self,
        end_entity: &CertificateDer<'_>,
        intermediates: &[CertificateDer<'_>],
        server_name: &ServerName<'_>,
        ocsp_response: &[u8],
        now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        if self
            .pinned
            .iter()
            .any(|p| p.as_ref() == end_entity.as_ref())
        {
            check_validity(end_entity, now)?;
            let parsed = rustls::server::ParsedCertificate::try_from(end_entity)?;
            rustls::client::verify_server_name(&parsed, server_name)?;
            return Ok(ServerCertVerified::assertion());
        }
        self.inner
            .verify_server_cert(end_entity, intermediates, server_name, ocsp_response, now)
    }

    // The handshake signatures are checked against the presented certificate's own key by
    // the platform verifier, pinned or not: a server holding a copy of the certificate but
    // not its key fails here.
    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls12_signature(message, cert, dss)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        self.inner.verify_tls13_signature(message, cert, dss)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.inner.supported_verify_schemes()
    }

    fn root_hint_subjects(&self) -> Option<&[DistinguishedName]> {
        self.inner.root_hint_subjects()
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    /// A certificate of `testdata/` (see its README: CA certificates as `openssl req -x509`
    /// makes them) and its validity dates.
    fn testdata(file: &str) -> (CertificateDer<'static>, u64, u64) {
        let path = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("testdata")
            .join(file);
        let cert = read_certificates(&path)
            .unwrap_or_else(|e| panic!("{e}"))
            .remove(0);
        let parsed =
            x509_cert::Certificate::from_der(cert.as_ref()).unwrap_or_else(|e| panic!("{e}"));
        let v = &parsed.tbs_certificate.validity;
        let (from, to) = (
            v.not_before.to_unix_duration(),
            v.not_after.to_unix_duration(),
        );
        (cert, from.as_secs(), to.as_secs())
    }

    fn at(secs: u64) -> UnixTime {
        UnixTime::since_unix_epoch(Duration::from_secs(secs))
    }

    fn name(s: &str) -> ServerName<'static> {
        ServerName::try_from(s.to_owned()).unwrap_or_else(|e| panic!("{e}"))
    }

    fn cert_error(r: Result<ServerCertVerified, rustls::Error>) -> CertificateError {
        match r {
            Err(rustls::Error::InvalidCertificate(c)) => c,
            other => panic!("expected a certificate error, got {other:?}"),
        }
    }

    #[test]
    fn a_pinned_ca_certificate_is_accepted_only_in_its_dates_and_for_its_names() {
        let (pinned, from, to) = testdata("pinned.crt");
        let (other, other_from, _) = testdata("other.crt");
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let v =
            PinningVerifier::new(vec![pinned.clone()], provider).unwrap_or_else(|e| panic!("{e}"));
        let verify = |cert: &CertificateDer<'_>, host: &str, now: UnixTime| {
            v.verify_server_cert(cert, &[], &name(host), &[], now)
        };
        let day = 86_400;

        assert!(verify(&pinned, "127.0.0.1", at(from + day)).is_ok());
        assert!(verify(&pinned, "localhost", at(to - day)).is_ok());
        assert!(matches!(
            cert_error(verify(&pinned, "registry.example", at(from + day))),
            CertificateError::NotValidForName | CertificateError::NotValidForNameContext { .. }
        ));
        assert!(matches!(
            cert_error(verify(&pinned, "127.0.0.1", at(to + 1))),
            CertificateError::ExpiredContext { .. }
        ));
        assert!(matches!(
            cert_error(verify(&pinned, "127.0.0.1", at(from - 1))),
            CertificateError::NotValidYetContext { .. }
        ));
        // Not pinned: WebPKI decides, and refuses a self-signed CA as a server certificate.
        assert!(verify(&other, "127.0.0.1", at(other_from + day)).is_err());
    }

    #[test]
    fn a_file_without_certificates_is_refused_by_name() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let f = dir.path().join("ca.pem");
        std::fs::write(&f, "not a certificate\n").unwrap_or_else(|e| panic!("{e}"));
        let e = read_certificates(&f)
            .err()
            .unwrap_or_else(|| panic!("accepted"));
        assert!(
            e.to_string().contains("ca.pem: no PEM certificate found"),
            "{e}"
        );
    }
}
