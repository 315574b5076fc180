//! Two pods in different trust domains, real TLS over loopback (tokio-rustls), SVIDs minted with
//! rcgen. Federation = each side loaded the other's bundle from a file.

use std::sync::Arc;

use agentry_spiffe::{
    Authorizer, Bundles, SpiffeClientVerifier, SpiffeError, SpiffeServerVerifier, Usage, agent_id,
    parse_id, peer_id, pod_id, svid_id,
};
use rcgen::{
    BasicConstraints, CertificateParams, CertifiedIssuer, DnType, ExtendedKeyUsagePurpose, IsCa,
    KeyPair, KeyUsagePurpose, SanType,
};
use rustls::pki_types::{CertificateDer, PrivateKeyDer, PrivatePkcs8KeyDer, ServerName, UnixTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

struct Ca {
    issuer: CertifiedIssuer<'static, KeyPair>,
}

impl Ca {
    fn new(trust_domain: &str) -> Ca {
        let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
        params
            .distinguished_name
            .push(DnType::CommonName, format!("{trust_domain} SPIFFE CA"));
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages = vec![KeyUsagePurpose::KeyCertSign, KeyUsagePurpose::CrlSign];
        params.subject_alt_names = vec![SanType::URI(
            format!("spiffe://{trust_domain}").try_into().expect("uri"),
        )];
        let key = KeyPair::generate().expect("key");
        Ca {
            issuer: CertifiedIssuer::self_signed(params, key).expect("ca"),
        }
    }

    fn pem(&self) -> String {
        self.issuer.pem()
    }
}

struct Svid {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

#[derive(Clone, Copy)]
enum Leaf {
    Good,
    Expired,
    CaFlag,
    TwoIds,
}

fn mint(ca: &Ca, ids: &[&str], kind: Leaf) -> Svid {
    let mut params = CertificateParams::new(Vec::<String>::new()).expect("params");
    params.subject_alt_names = ids
        .iter()
        .map(|id| SanType::URI((*id).try_into().expect("uri")))
        .collect();
    if let Leaf::TwoIds = kind {
        params.subject_alt_names.push(SanType::URI(
            "spiffe://acme.com/registry-pod/eu/pod-9"
                .try_into()
                .expect("uri"),
        ));
    }
    params.key_usages = vec![KeyUsagePurpose::DigitalSignature];
    params.extended_key_usages = vec![
        ExtendedKeyUsagePurpose::ServerAuth,
        ExtendedKeyUsagePurpose::ClientAuth,
    ];
    let now = time::OffsetDateTime::now_utc();
    match kind {
        Leaf::Expired => {
            params.not_before = now - time::Duration::days(30);
            params.not_after = now - time::Duration::days(1);
        }
        _ => {
            params.not_before = now - time::Duration::minutes(5);
            params.not_after = now + time::Duration::hours(1);
        }
    }
    if let Leaf::CaFlag = kind {
        params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
        params.key_usages.push(KeyUsagePurpose::KeyCertSign);
    }
    let key = KeyPair::generate().expect("key");
    let cert = params.signed_by(&key, &ca.issuer).expect("svid");
    Svid {
        chain: vec![cert.der().clone()],
        key: PrivateKeyDer::Pkcs8(PrivatePkcs8KeyDer::from(key.serialize_der())),
    }
}

fn bundles(entries: &[(&str, &Ca)]) -> Bundles {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = Bundles::new();
    for (td, ca) in entries {
        let path = dir.path().join(format!("{td}.pem"));
        std::fs::write(&path, ca.pem()).expect("write bundle");
        b.add_pem_file(td, &path).expect("bundle loads");
    }
    b
}

fn provider() -> Arc<rustls::crypto::CryptoProvider> {
    Arc::new(rustls::crypto::ring::default_provider())
}

/// Runs one mTLS exchange; returns (what the server saw, what the client saw) or the errors.
async fn exchange(
    server_svid: Svid,
    server_bundles: Bundles,
    client_svid: Svid,
    client_bundles: Bundles,
) -> Result<(String, String), String> {
    let server_cfg = rustls::ServerConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .with_client_cert_verifier(SpiffeClientVerifier::new(
            server_bundles,
            Authorizer::AnyFederated,
        ))
        .with_single_cert(server_svid.chain, server_svid.key)
        .expect("server cert");
    let client_cfg = rustls::ClientConfig::builder_with_provider(provider())
        .with_safe_default_protocol_versions()
        .expect("versions")
        .dangerous()
        .with_custom_certificate_verifier(SpiffeServerVerifier::new(
            client_bundles,
            Authorizer::AnyFederated,
        ))
        .with_client_auth_cert(client_svid.chain, client_svid.key)
        .expect("client cert");

    let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
    let addr = listener.local_addr().expect("addr");
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(server_cfg));
    let server = tokio::spawn(async move {
        let (tcp, _) = listener.accept().await.map_err(|e| e.to_string())?;
        let mut tls = acceptor
            .accept(tcp)
            .await
            .map_err(|e| format!("server: {e}"))?;
        let peer = peer_id(tls.get_ref().1)
            .map(|id| id.to_string())
            .unwrap_or_default();
        let mut buf = [0u8; 4];
        tls.read_exact(&mut buf)
            .await
            .map_err(|e| format!("server read: {e}"))?;
        tls.write_all(b"pong")
            .await
            .map_err(|e| format!("server write: {e}"))?;
        tls.shutdown().await.ok();
        Ok::<_, String>(peer)
    });

    let connector = tokio_rustls::TlsConnector::from(Arc::new(client_cfg));
    let client = async {
        let tcp = TcpStream::connect(addr).await.map_err(|e| e.to_string())?;
        let name = ServerName::try_from("pod.invalid").expect("name");
        let mut tls = connector
            .connect(name, tcp)
            .await
            .map_err(|e| format!("client: {e}"))?;
        let peer = peer_id(tls.get_ref().1)
            .map(|id| id.to_string())
            .unwrap_or_default();
        tls.write_all(b"ping")
            .await
            .map_err(|e| format!("client write: {e}"))?;
        let mut buf = [0u8; 4];
        // TLS 1.3: a client certificate refused by the server surfaces at the first read.
        tls.read_exact(&mut buf)
            .await
            .map_err(|e| format!("client read: {e}"))?;
        Ok::<_, String>(peer)
    };
    let client_result = client.await;
    let server_result = server.await.map_err(|e| e.to_string())?;
    match (server_result, client_result) {
        (Ok(s), Ok(c)) => Ok((s, c)),
        (s, c) => Err(format!("server: {s:?}; client: {c:?}")),
    }
}

const ACME_POD: &str = "spiffe://acme.com/registry-pod/us-west-2/pod-0";
const PARTNER_POD: &str = "spiffe://partner.org/registry-pod/eu-central-1/pod-3";

#[tokio::test]
async fn federated_pods_authenticate_each_other() {
    let acme = Ca::new("acme.com");
    let partner = Ca::new("partner.org");
    let (server_seen, client_seen) = exchange(
        mint(&acme, &[ACME_POD], Leaf::Good),
        bundles(&[("acme.com", &acme), ("partner.org", &partner)]),
        mint(&partner, &[PARTNER_POD], Leaf::Good),
        bundles(&[("partner.org", &partner), ("acme.com", &acme)]),
    )
    .await
    .expect("mTLS between federated trust domains");
    assert_eq!(server_seen, PARTNER_POD);
    assert_eq!(client_seen, ACME_POD);
}

#[tokio::test]
async fn pod_outside_the_federation_is_refused() {
    let acme = Ca::new("acme.com");
    let partner = Ca::new("partner.org");
    let evil = Ca::new("evil.net");
    let err = exchange(
        mint(&acme, &[ACME_POD], Leaf::Good),
        bundles(&[("acme.com", &acme), ("partner.org", &partner)]),
        mint(
            &evil,
            &["spiffe://evil.net/registry-pod/x/pod-0"],
            Leaf::Good,
        ),
        bundles(&[("acme.com", &acme)]),
    )
    .await
    .expect_err("unknown trust domain");
    assert!(err.contains(r#"UnknownTrustDomain(\"evil.net\")"#), "{err}");
}

#[tokio::test]
async fn svid_claiming_another_trust_domain_is_refused() {
    // evil.net's CA mints an SVID that claims to be a partner.org pod.
    let acme = Ca::new("acme.com");
    let partner = Ca::new("partner.org");
    let evil = Ca::new("evil.net");
    let err = exchange(
        mint(&acme, &[ACME_POD], Leaf::Good),
        bundles(&[
            ("acme.com", &acme),
            ("partner.org", &partner),
            ("evil.net", &evil),
        ]),
        mint(&evil, &[PARTNER_POD], Leaf::Good),
        bundles(&[("acme.com", &acme)]),
    )
    .await
    .expect_err("partner.org ID signed by the evil.net CA");
    assert!(
        err.contains(r#"trust_domain: \"partner.org\", reason: \"UnknownIssuer\""#),
        "{err}"
    );
}

#[tokio::test]
async fn client_refuses_a_server_it_has_no_bundle_for() {
    let acme = Ca::new("acme.com");
    let partner = Ca::new("partner.org");
    let err = exchange(
        mint(&acme, &[ACME_POD], Leaf::Good),
        bundles(&[("partner.org", &partner)]),
        mint(&partner, &[PARTNER_POD], Leaf::Good),
        bundles(&[("partner.org", &partner)]),
    )
    .await
    .expect_err("client has no acme.com bundle");
    assert!(err.contains("client:"), "{err}");
}

#[test]
fn leaf_rules_of_the_x509_svid_spec() {
    let acme = Ca::new("acme.com");
    let b = bundles(&[("acme.com", &acme)]);
    let now = UnixTime::now();

    let good = mint(&acme, &[ACME_POD], Leaf::Good);
    assert_eq!(
        b.verify_svid(&good.chain, now, Usage::Client)
            .expect("good")
            .to_string(),
        ACME_POD
    );
    assert_eq!(
        b.verify_svid(&good.chain, now, Usage::Server)
            .expect("good")
            .to_string(),
        ACME_POD
    );

    let expired = mint(&acme, &[ACME_POD], Leaf::Expired);
    let err = b
        .verify_svid(&expired.chain, now, Usage::Client)
        .expect_err("expired");
    assert!(
        matches!(err, SpiffeError::Chain { .. }) && err.to_string().contains("Expired"),
        "{err}"
    );

    let ca_leaf = mint(&acme, &[ACME_POD], Leaf::CaFlag);
    let err = b
        .verify_svid(&ca_leaf.chain, now, Usage::Client)
        .expect_err("CA leaf");
    assert!(matches!(err, SpiffeError::NotAnSvid(_)), "{err}");

    let two = mint(&acme, &[ACME_POD], Leaf::TwoIds);
    let err = b
        .verify_svid(&two.chain, now, Usage::Client)
        .expect_err("two IDs");
    assert!(matches!(err, SpiffeError::NotAnSvid(_)), "{err}");

    let td_only = mint(&acme, &["spiffe://acme.com"], Leaf::Good);
    let err = svid_id(&td_only.chain[0]).expect_err("no path");
    assert!(matches!(err, SpiffeError::NotAnSvid(_)), "{err}");

    assert_eq!(
        b.verify_svid(&[], now, Usage::Client),
        Err(SpiffeError::NoCertificate)
    );
    let garbage = CertificateDer::from(vec![0x30, 0x03, 0x02, 0x01, 0x00]);
    assert!(matches!(
        b.verify_svid(&[garbage], now, Usage::Client),
        Err(SpiffeError::NotAnSvid(_))
    ));
}

#[test]
fn whitepaper_ids_parse_and_bad_ones_are_named() {
    assert_eq!(
        pod_id("acme.com", "us-west-2", "pod-0")
            .expect("pod")
            .to_string(),
        ACME_POD
    );
    assert_eq!(
        agent_id("acme.com", "financial-analyst", "v2.4.1")
            .expect("agent")
            .to_string(),
        "spiffe://acme.com/agent/financial-analyst/v2.4.1"
    );
    let id = parse_id(ACME_POD).expect("parse");
    assert_eq!(id.trust_domain_name(), "acme.com");
    assert_eq!(id.path(), "/registry-pod/us-west-2/pod-0");
    for bad in [
        "https://acme.com/pod",
        "spiffe://ACME.com/pod",
        "spiffe://acme.com/pod/",
        "spiffe://acme.com/a//b",
        "spiffe://acme.com/a/../b",
        "spiffe:///pod",
        "spiffe://user@acme.com/pod",
        "spiffe://acme.com:8443/pod",
        "",
    ] {
        let err = parse_id(bad).expect_err(bad);
        assert!(err.to_string().contains("SPIFFE ID"), "{bad}: {err}");
    }
    assert!(pod_id("acme.com", "us/west", "pod-0").is_err());
    assert!(pod_id("Acme.com", "us-west-2", "pod-0").is_err());
}

#[test]
fn bad_bundle_files_are_refused_by_name() {
    let dir = tempfile::tempdir().expect("tempdir");
    let mut b = Bundles::new();
    let empty = dir.path().join("empty.pem");
    std::fs::write(&empty, "no certificates here\n").expect("write");
    let err = b.add_pem_file("acme.com", &empty).expect_err("empty");
    assert!(
        err.to_string().contains("acme.com: no CERTIFICATE block"),
        "{err}"
    );
    let err = b
        .add_pem_file("acme.com", &dir.path().join("missing.pem"))
        .expect_err("missing");
    assert!(err.to_string().contains("missing.pem"), "{err}");
    let ca = Ca::new("acme.com");
    let err = b
        .add_pem("not a domain!", ca.pem().as_bytes())
        .expect_err("bad td");
    assert!(err.to_string().contains("trust domain"), "{err}");
    assert_eq!(b.trust_domains().count(), 0, "nothing half-loaded");
}
