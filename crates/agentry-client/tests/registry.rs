//! The client against a real registry: Debian's docker-registry (distribution 2.8).

mod support;

use std::sync::Arc;

use agentry_client::{
    BlobOutcome, BlobSource, Client, ClientOptions, Credentials, Descriptor, Error, ErrorKind,
    NoProgress,
};
use agentry_oci::media;
use agentry_oci::{ImageIndex, ImageManifest};
use agentry_types::{Digest, DigestAlgorithm, ManifestRef, RepoName, Tag};
use bytes::Bytes;
use support::{Direction, FaultProxy, Registry};

fn repo(s: &str) -> RepoName {
    RepoName::parse(s).unwrap_or_else(|e| panic!("{e}"))
}

fn tag(s: &str) -> ManifestRef {
    ManifestRef::Tag(Tag::parse(s).unwrap_or_else(|e| panic!("{e}")))
}

fn client(addr: &str, opts: ClientOptions) -> Client {
    Client::new(addr, opts).unwrap_or_else(|e| panic!("{e}"))
}

/// Deterministic pseudo-random bytes (xorshift), so large blobs do not compress to nothing.
fn noise(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed | 1;
    let mut out = Vec::with_capacity(len);
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.extend_from_slice(&x.to_le_bytes());
    }
    out.truncate(len);
    out
}

async fn push_bytes(c: &Client, r: &RepoName, bytes: &[u8]) -> (Digest, BlobOutcome) {
    let d = Digest::sha256(bytes);
    let o = c
        .push_blob(
            r,
            &d,
            &BlobSource::Bytes(Bytes::copy_from_slice(bytes)),
            Arc::new(NoProgress),
        )
        .await
        .unwrap_or_else(|e| panic!("push blob: {e}"));
    (d, o)
}

fn manifest_with(config: (&Digest, u64), layers: &[(&Digest, u64, &str)]) -> Bytes {
    let mut m = ImageManifest {
        schema_version: 2,
        media_type: Some(media::OCI_MANIFEST.into()),
        artifact_type: Some(media::OSSA_AGENT_ARTIFACT.into()),
        config: Descriptor::new(media::OSSA_AGENT_CONFIG, config.0.clone(), config.1),
        layers: Vec::new(),
        subject: None,
        annotations: Default::default(),
    };
    for (d, size, title) in layers {
        let mut l = Descriptor::new("application/octet-stream", (*d).clone(), *size);
        l.annotations
            .insert(media::ANNOTATION_TITLE.into(), (*title).into());
        m.layers.push(l);
    }
    Bytes::from(serde_json::to_vec(&m).unwrap_or_else(|e| panic!("{e}")))
}

#[tokio::test]
async fn blobs_push_head_first_and_pull_verified() {
    let reg = Registry::docker(None);
    let c = client(&reg.addr, ClientOptions::default());
    c.ping().await.unwrap_or_else(|e| panic!("ping: {e}"));
    let r = repo("acme/blobs");
    let data = noise(100_000, 1);
    let (d, o) = push_bytes(&c, &r, &data).await;
    assert_eq!(o, BlobOutcome::Uploaded);
    // Second push: the HEAD finds it, nothing is sent.
    let (_, o) = push_bytes(&c, &r, &data).await;
    assert_eq!(o, BlobOutcome::Existed);
    assert_eq!(
        c.blob_exists(&r, &d)
            .await
            .unwrap_or_else(|e| panic!("{e}")),
        Some(100_000)
    );

    let out = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = out.path().join("blob");
    c.pull_blob_to_file(&r, &d, data.len() as u64, &dest, Arc::new(NoProgress))
        .await
        .unwrap_or_else(|e| panic!("pull: {e}"));
    assert_eq!(std::fs::read(&dest).unwrap_or_default(), data);

    // A descriptor that lies about the size: refused, and nothing is left at the destination.
    let dest2 = out.path().join("short");
    let err = c
        .pull_blob_to_file(&r, &d, 10, &dest2, Arc::new(NoProgress))
        .await
        .err()
        .unwrap_or_else(|| panic!("oversized blob accepted"));
    assert!(matches!(err, Error::SizeMismatch { .. }), "{err}");
    assert!(!dest2.exists());
    let names: Vec<_> = std::fs::read_dir(out.path())
        .map(|rd| rd.filter_map(|e| e.ok()).map(|e| e.file_name()).collect())
        .unwrap_or_default();
    assert_eq!(names.len(), 1, "temp files left behind: {names:?}");

    // In-memory pull with the digest checked.
    let b = c
        .pull_blob_bytes(&r, &d, 1 << 20)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(&b[..], &data[..]);
    let err = c.pull_blob_bytes(&r, &d, 1000).await.err();
    assert!(matches!(err, Some(Error::TooLarge { .. })), "{err:?}");

    // Unknown blob: a typed not-found.
    let missing = Digest::sha256(b"never pushed");
    assert_eq!(c.blob_exists(&r, &missing).await.ok(), Some(None));
    let err = c
        .pull_blob_bytes(&r, &missing, 1000)
        .await
        .err()
        .unwrap_or_else(|| panic!("missing blob pulled"));
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.oci_code(), Some("BLOB_UNKNOWN"));
}

#[tokio::test]
async fn large_blobs_go_in_chunks_and_sha512_works() {
    let reg = Registry::docker(None);
    let c = client(
        &reg.addr,
        ClientOptions {
            monolithic_max: 1 << 20,
            chunk_size: 1 << 20,
            ..ClientOptions::default()
        },
    );
    let r = repo("acme/large");
    let data = noise(5 * (1 << 20) + 12345, 2);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path().join("src");
    std::fs::write(&src, &data).unwrap_or_else(|e| panic!("{e}"));
    for alg in [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512] {
        let (d, size) = agentry_client::digest_file(&src, alg)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(d, Digest::of(alg, &data));
        let o = c
            .push_blob(
                &r,
                &d,
                &BlobSource::File {
                    path: src.clone(),
                    size,
                },
                Arc::new(NoProgress),
            )
            .await;
        match (alg, o) {
            (_, Ok(o)) => {
                assert_eq!(o, BlobOutcome::UploadedChunked);
                let dest = dir.path().join(format!("back-{}", alg.as_str()));
                c.pull_blob_to_file(&r, &d, size, &dest, Arc::new(NoProgress))
                    .await
                    .unwrap_or_else(|e| panic!("{e}"));
                assert!(std::fs::read(&dest).unwrap_or_default() == data);
            }
            // distribution 2.8 verifies a sha512 upload but files it under its sha256 and says
            // so in Docker-Content-Digest: the client reports that instead of believing the
            // blob is reachable by the digest it asked for.
            (DigestAlgorithm::Sha512, Err(e)) => {
                assert_eq!(e.kind(), ErrorKind::Integrity, "{e}");
                assert!(e.to_string().contains("stored the blob as sha256:"), "{e}");
            }
            (_, Err(e)) => panic!("{e}"),
        }
    }
}

#[tokio::test]
async fn a_chunked_upload_resumes_after_the_connection_breaks() {
    let reg = Registry::docker(None);
    // Cut the client→registry stream 2.5 MiB in: in the middle of the third 1 MiB chunk.
    let proxy = FaultProxy::start(reg.addr.clone(), Direction::Up, 2 * (1 << 20) + (1 << 19)).await;
    let c = client(
        &proxy.addr,
        ClientOptions {
            monolithic_max: 1 << 20,
            chunk_size: 1 << 20,
            ..ClientOptions::default()
        },
    );
    let r = repo("acme/resume");
    let data = noise(6 * (1 << 20), 3);
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let src = dir.path().join("src");
    std::fs::write(&src, &data).unwrap_or_else(|e| panic!("{e}"));
    let d = Digest::sha256(&data);
    let o = c
        .push_blob(
            &r,
            &d,
            &BlobSource::File {
                path: src,
                size: data.len() as u64,
            },
            Arc::new(NoProgress),
        )
        .await
        .unwrap_or_else(|e| panic!("upload did not survive the cut: {e}"));
    assert_eq!(o, BlobOutcome::UploadedChunked);
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    // What the registry stored is exactly the file (it verified the digest on the final PUT,
    // and we pull it back directly, bypassing the proxy).
    let direct = client(&reg.addr, ClientOptions::default());
    let back = direct
        .pull_blob_bytes(&r, &d, 1 << 30)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(back[..] == data[..]);
}

#[tokio::test]
async fn a_download_resumes_with_range_after_the_connection_breaks() {
    let reg = Registry::docker(None);
    let direct = client(&reg.addr, ClientOptions::default());
    let r = repo("acme/dl");
    let data = noise(3 * (1 << 20), 4);
    let (d, _) = push_bytes(&direct, &r, &data).await;
    let proxy = FaultProxy::start(reg.addr.clone(), Direction::Down, 1 << 20).await;
    let c = client(&proxy.addr, ClientOptions::default());
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
    let dest = dir.path().join("blob");
    c.pull_blob_to_file(&r, &d, data.len() as u64, &dest, Arc::new(NoProgress))
        .await
        .unwrap_or_else(|e| panic!("download did not survive the cut: {e}"));
    assert_eq!(proxy.cuts.load(std::sync::atomic::Ordering::SeqCst), 1);
    assert!(std::fs::read(&dest).unwrap_or_default() == data);
}

#[tokio::test]
async fn a_blob_pushed_to_another_repository_is_mounted() {
    let reg = Registry::docker(None);
    let c = client(&reg.addr, ClientOptions::default());
    let data = noise(50_000, 5);
    let (d, _) = push_bytes(&c, &repo("team/a"), &data).await;
    // Same client: it remembers where the blob is and mounts it.
    let (_, o) = push_bytes(&c, &repo("team/b"), &data).await;
    assert_eq!(o, BlobOutcome::Mounted);
    // A fresh client can copy it too.
    let fresh = client(&reg.addr, ClientOptions::default());
    let o = fresh
        .copy_blob(
            &repo("team/a"),
            &repo("team/c"),
            &d,
            50_000,
            Arc::new(NoProgress),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(o, BlobOutcome::Mounted);
    assert!(
        fresh
            .blob_exists(&repo("team/c"), &d)
            .await
            .unwrap_or_default()
            .is_some()
    );
}

#[tokio::test]
async fn manifests_tags_catalog_and_referrers() {
    let reg = Registry::docker(None);
    let c = client(&reg.addr, ClientOptions::default());
    let r = repo("acme/agent");
    let (cfg, _) = push_bytes(&c, &r, b"{}").await;
    let (layer, _) = push_bytes(&c, &r, b"kind: Agent\n").await;
    let bytes = manifest_with((&cfg, 2), &[(&layer, 12, "manifest.yaml")]);
    let pushed = c
        .put_manifest(&r, &tag("1.0"), media::OCI_MANIFEST, bytes.clone())
        .await
        .unwrap_or_else(|e| panic!("put: {e}"));
    assert_eq!(pushed.digest, Digest::sha256(&bytes));

    let got = c
        .get_manifest(&r, &tag("1.0"))
        .await
        .unwrap_or_else(|e| panic!("get: {e}"));
    assert_eq!(got.bytes, bytes);
    assert_eq!(got.media_type, media::OCI_MANIFEST);
    let by_digest = c
        .get_manifest(&r, &ManifestRef::Digest(pushed.digest.clone()))
        .await
        .unwrap_or_else(|e| panic!("get by digest: {e}"));
    assert_eq!(by_digest.digest, pushed.digest);
    let info = c
        .head_manifest(&r, &tag("1.0"))
        .await
        .unwrap_or_else(|e| panic!("{e}"))
        .unwrap_or_else(|| panic!("head found nothing"));
    assert_eq!(info.digest.as_ref(), Some(&pushed.digest));
    assert!(
        c.head_manifest(&r, &tag("nope"))
            .await
            .unwrap_or_default()
            .is_none()
    );

    // A manifest naming a missing blob: the registry's own error code reaches the caller.
    let missing = Digest::sha256(b"missing");
    let bad = manifest_with((&cfg, 2), &[(&missing, 7, "x")]);
    let err = c
        .put_manifest(&r, &tag("bad"), media::OCI_MANIFEST, bad)
        .await
        .err()
        .unwrap_or_else(|| panic!("manifest with a missing blob accepted"));
    assert_eq!(err.oci_code(), Some("MANIFEST_BLOB_UNKNOWN"), "{err}");
    assert_eq!(err.kind(), ErrorKind::Invalid);
    let err = c
        .get_manifest(&r, &tag("nope"))
        .await
        .err()
        .unwrap_or_else(|| panic!("missing manifest found"));
    assert_eq!(err.kind(), ErrorKind::NotFound);
    assert_eq!(err.oci_code(), Some("MANIFEST_UNKNOWN"));

    // Tags and catalog, across pages.
    for t in ["1.1", "1.2", "2.0", "latest"] {
        c.put_manifest(&r, &tag(t), media::OCI_MANIFEST, bytes.clone())
            .await
            .unwrap_or_else(|e| panic!("{e}"));
    }
    let mut tags = c.list_tags(&r).await.unwrap_or_else(|e| panic!("{e}"));
    tags.sort();
    assert_eq!(tags, ["1.0", "1.1", "1.2", "2.0", "latest"]);
    for name in ["acme/zeta", "acme/beta", "other/x"] {
        push_bytes(&c, &repo(name), b"{}").await;
        c.put_manifest(&repo(name), &tag("v1"), media::OCI_MANIFEST, {
            let cfg = Digest::sha256(b"{}");
            manifest_with((&cfg, 2), &[])
        })
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    }
    let first = c
        .catalog_page(Some(2), None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(first.items.len(), 2);
    assert!(
        first.next.is_some(),
        "distribution sends a Link header for the next page"
    );
    let all = c.catalog().await.unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(all, ["acme/agent", "acme/beta", "acme/zeta", "other/x"]);

    // Referrers: distribution 2.8 has no referrers API; the client falls back to the tag
    // schema and finds nothing, then finds what is pushed under `sha256-<hex>`.
    let refs = c
        .referrers(&r, &pushed.digest, None)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(refs.via_tag_schema);
    assert!(refs.index.manifests.is_empty());
    let mut sig = Descriptor::new(
        media::OCI_MANIFEST,
        pushed.digest.clone(),
        bytes.len() as u64,
    );
    sig.artifact_type = Some("application/vnd.example.signature".into());
    let mut idx = ImageIndex::empty();
    idx.manifests.push(sig);
    let idx_bytes = Bytes::from(serde_json::to_vec(&idx).unwrap_or_default());
    let fallback_tag = format!("sha256-{}", pushed.digest.hex());
    c.put_manifest(&r, &tag(&fallback_tag), media::OCI_INDEX, idx_bytes)
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let refs = c
        .referrers(
            &r,
            &pushed.digest,
            Some("application/vnd.example.signature"),
        )
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(refs.index.manifests.len(), 1);
    let refs = c
        .referrers(&r, &pushed.digest, Some("application/other"))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    assert!(refs.index.manifests.is_empty());

    // Delete by digest: gone.
    c.delete_manifest(&r, &ManifestRef::Digest(pushed.digest.clone()))
        .await
        .unwrap_or_else(|e| panic!("{e}"));
    let err = c.get_manifest(&r, &tag("1.0")).await.err();
    assert_eq!(err.map(|e| e.kind()), Some(ErrorKind::NotFound));
}

#[tokio::test]
async fn basic_auth_challenges_are_answered_with_stored_credentials() {
    let reg = Registry::docker(Some(("alice", "s3cret")));
    let anon = client(&reg.addr, ClientOptions::default());
    let err = anon
        .ping()
        .await
        .err()
        .unwrap_or_else(|| panic!("no challenge"));
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                had_credentials: false,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Auth);

    let wrong = client(
        &reg.addr,
        ClientOptions {
            credentials: Some(Credentials::new("alice", "wrong")),
            ..ClientOptions::default()
        },
    );
    let err = wrong
        .ping()
        .await
        .err()
        .unwrap_or_else(|| panic!("wrong password accepted"));
    assert!(
        matches!(
            err,
            Error::Unauthorized {
                had_credentials: true,
                ..
            }
        ),
        "{err}"
    );

    let ok = client(
        &reg.addr,
        ClientOptions {
            credentials: Some(Credentials::new("alice", "s3cret")),
            monolithic_max: 1 << 20,
            chunk_size: 1 << 20,
            ..ClientOptions::default()
        },
    );
    ok.ping().await.unwrap_or_else(|e| panic!("{e}"));
    let r = repo("secure/agent");
    let (d, o) = push_bytes(&ok, &r, &noise(3 << 20, 6)).await;
    assert_eq!(o, BlobOutcome::UploadedChunked);
    assert!(ok.blob_exists(&r, &d).await.unwrap_or_default().is_some());
}

#[tokio::test]
async fn an_unreachable_registry_is_a_network_error() {
    let port = support::free_port();
    let c = client(&format!("127.0.0.1:{port}"), ClientOptions::default());
    let err = c
        .ping()
        .await
        .err()
        .unwrap_or_else(|| panic!("nothing listens there"));
    assert_eq!(err.kind(), ErrorKind::Network);
    assert!(err.is_transient());
}
