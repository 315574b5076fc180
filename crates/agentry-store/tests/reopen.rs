//! Write, drop, reopen: everything acknowledged is still there.

use agentry_store::testsuite::{LIMIT, Must, body_of, manifest, pattern, read_all, record, repo};
use agentry_store::{
    BlobStore, FsBlobStore, MetadataStore, RedbMetadataStore, UploadId, UploadSession,
};
use agentry_types::{Digest, DigestAlgorithm, ManifestRef, Tag};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn blob_store_survives_reopen_including_uploads_in_progress() {
    let dir = tempdir();
    let small = pattern(20_000, 1);
    let big = pattern(3 << 20, 2);
    let (d_small, d_big) = (Digest::sha256(&small), Digest::sha256(&big));
    let first = pattern(1 << 20, 3);
    let second = pattern(777_777, 4);
    let pending = UploadId::new();
    {
        let s = FsBlobStore::open(dir.path()).must("open");
        s.put(&d_small, body_of(&small, 4096), None, LIMIT)
            .await
            .must("put");
        let id = UploadId::new();
        s.upload_start(&id).await.must("start");
        s.upload_append(&id, 0, body_of(&big, 65536), None, LIMIT)
            .await
            .must("append");
        s.upload_finish(&id, &d_big).await.must("finish");
        s.upload_start(&pending).await.must("start pending");
        s.upload_append(&pending, 0, body_of(&first, 65536), None, LIMIT)
            .await
            .must("append pending");
    }
    let s = FsBlobStore::open(dir.path()).must("reopen");
    assert_eq!(read_all(&s, &d_small, None).await, Some((20_000, small)));
    assert_eq!(read_all(&s, &d_big, None).await, Some((3 << 20, big)));
    // The upload resumes where it was; finishing re-hashes what the running hash lost.
    assert_eq!(s.upload_size(&pending).await.must("size"), Some(1 << 20));
    s.upload_append(&pending, 1 << 20, body_of(&second, 65536), None, LIMIT)
        .await
        .must("resume");
    let all = [first, second].concat();
    for alg in [DigestAlgorithm::Sha256] {
        let d = Digest::of(alg, &all);
        assert_eq!(
            s.upload_finish(&pending, &d)
                .await
                .must("finish after reopen"),
            all.len() as u64
        );
        assert_eq!(
            read_all(&s, &d, None).await,
            Some((all.len() as u64, all.clone()))
        );
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn metadata_store_survives_reopen() {
    let dir = tempdir();
    let path = dir.path().join("meta.redb");
    let r = repo("acme/reopen");
    let blob = Digest::sha256(b"layer");
    let subject = manifest(&r, "subject", &[], &[], Some("1.0"), None);
    let mut referrer = manifest(
        &r,
        "referrer",
        std::slice::from_ref(&blob),
        &[],
        Some("sig"),
        Some(&subject.meta.digest),
    );
    referrer.record = Some(record("reopened"));
    let session = UploadSession {
        id: UploadId::new().to_string(),
        repo: r.clone(),
        started_at: 42,
    };
    {
        let m = RedbMetadataStore::open(&path).must("open");
        m.upload_create(&session).await.must("session");
        m.link_blob(&r, &blob, 5).await.must("link");
        m.put_manifest(subject.clone()).await.must("subject");
        m.put_manifest(referrer.clone()).await.must("referrer");
    }
    let m = RedbMetadataStore::open(&path).must("reopen");
    let t = |s: &str| ManifestRef::Tag(Tag::parse(s).unwrap_or_else(|e| panic!("{e}")));
    let got = m
        .get_manifest(&r, &t("sig"))
        .await
        .must("get")
        .unwrap_or_else(|| panic!("referrer lost"));
    assert_eq!(got.bytes, referrer.bytes);
    assert_eq!(got.meta, referrer.meta);
    assert!(m.get_manifest(&r, &t("1.0")).await.must("get").is_some());
    assert_eq!(m.blob_link(&r, &blob).await.must("link"), Some(5));
    assert_eq!(
        m.referrers(&r, &subject.meta.digest)
            .await
            .must("referrers"),
        vec![referrer.meta.clone()]
    );
    assert_eq!(
        m.record(&r, &referrer.meta.digest)
            .await
            .must("record")
            .map(|e| e.record),
        Some(record("reopened"))
    );
    assert_eq!(
        m.list_tags(&r, None, 10)
            .await
            .must("tags")
            .map(|p| p.items),
        Some(vec!["1.0".to_owned(), "sig".to_owned()])
    );
    // The session was committed without fsync, then carried to disk by the durable commits
    // after it.
    let id = session.upload_id().unwrap_or_else(|| panic!("id"));
    assert_eq!(m.upload_get(&id).await.must("session"), Some(session));
    // The blob stays referenced across the reopen.
    assert!(
        m.unused_blobs(std::slice::from_ref(&blob), i64::MAX)
            .await
            .must("unused")
            .is_empty()
    );
}

#[tokio::test]
async fn a_database_from_a_newer_build_is_refused() {
    let dir = tempdir();
    let path = dir.path().join("meta.redb");
    drop(RedbMetadataStore::open(&path).must("create"));
    {
        let db = redb::Database::create(&path).unwrap_or_else(|e| panic!("{e}"));
        let txn = db.begin_write().unwrap_or_else(|e| panic!("{e}"));
        {
            let mut t = txn
                .open_table(redb::TableDefinition::<&str, u64>::new("schema"))
                .unwrap_or_else(|e| panic!("{e}"));
            t.insert("version", 99).unwrap_or_else(|e| panic!("{e}"));
        }
        txn.commit().unwrap_or_else(|e| panic!("{e}"));
    }
    match RedbMetadataStore::open(&path) {
        Err(agentry_store::StoreError::Corrupt(msg)) => assert!(msg.contains("99"), "{msg}"),
        Err(e) => panic!("expected Corrupt, got {e}"),
        Ok(_) => panic!("a newer layout must be refused"),
    }
}
