//! Fault injection: writes that fail or tear at chosen points must leave nothing half-written
//! visible, and the stores must stay usable.

use std::fs::File;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

use agentry_store::fs::{FaultHook, FaultPoint};
use agentry_store::testsuite::{LIMIT, Must, body_of, manifest, pattern, read_all, record, repo};
use agentry_store::{
    BlobStore, FsBlobStore, ManifestPut, MetadataStore, RedbMetadataStore, StoreError, UploadId,
};
use agentry_types::{Digest, ManifestRef};
use futures::StreamExt;

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

/// A hook that fails at `point` (matched by kind; writes from `min_offset` on) while armed.
struct Switch {
    armed: AtomicBool,
    hits: AtomicU64,
}

fn hook(switch: Arc<Switch>, want: fn(FaultPoint) -> bool) -> FaultHook {
    Arc::new(move |p| {
        if switch.armed.load(Ordering::SeqCst) && want(p) {
            switch.hits.fetch_add(1, Ordering::SeqCst);
            Err(std::io::Error::other(format!("injected fault at {p:?}")))
        } else {
            Ok(())
        }
    })
}

fn switch() -> Arc<Switch> {
    Arc::new(Switch {
        armed: AtomicBool::new(true),
        hits: AtomicU64::new(0),
    })
}

fn dir_is_empty(p: &Path) -> bool {
    std::fs::read_dir(p)
        .map(|mut d| d.next().is_none())
        .unwrap_or(false)
}

async fn put_fails_and_leaves_nothing(want: fn(FaultPoint) -> bool) {
    let dir = tempdir();
    let sw = switch();
    let store = FsBlobStore::open_with_faults(dir.path(), hook(sw.clone(), want)).must("open");
    let data = pattern(3 * 1024 * 1024, 1);
    let d = Digest::sha256(&data);
    match store.put(&d, body_of(&data, 65536), None, LIMIT).await {
        Err(StoreError::Io(_)) => {}
        other => panic!("expected the injected I/O error, got {other:?}"),
    }
    assert!(sw.hits.load(Ordering::SeqCst) > 0, "the fault was hit");
    assert_eq!(store.stat(&d).await.must("stat"), None);
    assert_eq!(store.list().count().await, 0);
    assert!(dir_is_empty(&dir.path().join("tmp")), "temp file removed");
    // Still usable once the fault is gone.
    sw.armed.store(false, Ordering::SeqCst);
    store
        .put(&d, body_of(&data, 65536), None, LIMIT)
        .await
        .must("put after the fault");
    assert_eq!(
        read_all(&store, &d, None).await,
        Some((data.len() as u64, data))
    );
    // And a reopened store agrees.
    drop(store);
    let store = FsBlobStore::open(dir.path()).must("reopen");
    assert_eq!(store.stat(&d).await.must("stat"), Some(3 * 1024 * 1024));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_write_during_put_leaves_nothing_visible() {
    put_fails_and_leaves_nothing(
        |p| matches!(p, FaultPoint::Write { offset } if offset >= 1 << 20),
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_fsync_during_put_leaves_nothing_visible() {
    put_fails_and_leaves_nothing(|p| p == FaultPoint::BeforeSync).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_before_rename_leaves_nothing_visible() {
    put_fails_and_leaves_nothing(|p| p == FaultPoint::BeforeRename).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failure_after_rename_leaves_only_complete_content() {
    let dir = tempdir();
    let sw = switch();
    let store = FsBlobStore::open_with_faults(
        dir.path(),
        hook(sw.clone(), |p| p == FaultPoint::BeforeDirSync),
    )
    .must("open");
    let data = pattern(100_000, 2);
    let d = Digest::sha256(&data);
    assert!(
        store
            .put(&d, body_of(&data, 4096), None, LIMIT)
            .await
            .is_err()
    );
    // The rename happened, so the blob may be visible: then it must be whole and verified.
    if let Some((size, bytes)) = read_all(&store, &d, None).await {
        assert_eq!(size, 100_000);
        assert!(d.verifies(&bytes));
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn torn_append_rolls_back_and_the_upload_continues() {
    let dir = tempdir();
    let sw = switch();
    sw.armed.store(false, Ordering::SeqCst);
    let store = FsBlobStore::open_with_faults(
        dir.path(),
        hook(
            sw.clone(),
            |p| matches!(p, FaultPoint::Write { offset } if offset >= 1 << 20),
        ),
    )
    .must("open");
    let id = UploadId::new();
    store.upload_start(&id).await.must("start");
    let first = pattern(100_000, 3);
    store
        .upload_append(&id, 0, body_of(&first, 8192), None, LIMIT)
        .await
        .must("first chunk");
    sw.armed.store(true, Ordering::SeqCst);
    let second = pattern(3 * 1024 * 1024, 4);
    assert!(matches!(
        store
            .upload_append(&id, 100_000, body_of(&second, 65536), None, LIMIT)
            .await,
        Err(StoreError::Io(_))
    ));
    assert!(sw.hits.load(Ordering::SeqCst) > 0);
    assert_eq!(store.upload_size(&id).await.must("size"), Some(100_000));
    let on_disk = std::fs::metadata(dir.path().join("uploads").join(id.as_str()).join("data"))
        .map(|m| m.len())
        .must_io("stat data");
    assert_eq!(on_disk, 100_000, "the torn bytes were truncated away");
    sw.armed.store(false, Ordering::SeqCst);
    store
        .upload_append(&id, 100_000, body_of(&second, 65536), None, LIMIT)
        .await
        .must("retry");
    let all = [first, second].concat();
    let d = Digest::sha256(&all);
    store.upload_finish(&id, &d).await.must("finish");
    assert_eq!(
        read_all(&store, &d, None).await.map(|(s, _)| s),
        Some(all.len() as u64)
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn failed_finish_keeps_the_upload_for_a_retry() {
    let dir = tempdir();
    let sw = switch();
    sw.armed.store(false, Ordering::SeqCst);
    let store = FsBlobStore::open_with_faults(
        dir.path(),
        hook(sw.clone(), |p| p == FaultPoint::BeforeRename),
    )
    .must("open");
    let id = UploadId::new();
    store.upload_start(&id).await.must("start");
    let data = pattern(50_000, 5);
    store
        .upload_append(&id, 0, body_of(&data, 8192), None, LIMIT)
        .await
        .must("append");
    let d = Digest::sha256(&data);
    sw.armed.store(true, Ordering::SeqCst);
    assert!(matches!(
        store.upload_finish(&id, &d).await,
        Err(StoreError::Io(_))
    ));
    assert_eq!(store.stat(&d).await.must("stat"), None);
    assert_eq!(store.upload_size(&id).await.must("size"), Some(50_000));
    sw.armed.store(false, Ordering::SeqCst);
    assert_eq!(store.upload_finish(&id, &d).await.must("retry"), 50_000);
    assert_eq!(read_all(&store, &d, None).await, Some((50_000, data)));
}

trait MustIo<T> {
    fn must_io(self, what: &str) -> T;
}

impl<T> MustIo<T> for std::io::Result<T> {
    fn must_io(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what}: {e}"))
    }
}

// ---- redb under a storage backend that tears writes ----

/// Shared switch of a [`TearingBackend`]: once armed with `k`, the k-th write after arming is
/// torn (half written, then an error), and syncs fail from then on.
#[derive(Debug, Default)]
struct Tear {
    armed: AtomicBool,
    countdown: AtomicU64,
    torn: AtomicBool,
}

impl Tear {
    fn arm(&self, k: u64) {
        self.countdown.store(k, Ordering::SeqCst);
        self.armed.store(true, Ordering::SeqCst);
    }
}

#[derive(Debug)]
struct TearingBackend {
    inner: redb::backends::FileBackend,
    tear: Arc<Tear>,
}

impl TearingBackend {
    fn open(path: &Path, tear: Arc<Tear>) -> TearingBackend {
        let file = File::options()
            .read(true)
            .write(true)
            .create(true)
            .truncate(false)
            .open(path)
            .must_io("open db file");
        TearingBackend {
            inner: redb::backends::FileBackend::new(file).unwrap_or_else(|e| panic!("{e}")),
            tear,
        }
    }
}

impl redb::StorageBackend for TearingBackend {
    fn len(&self) -> Result<u64, std::io::Error> {
        self.inner.len()
    }
    fn read(&self, offset: u64, out: &mut [u8]) -> Result<(), std::io::Error> {
        self.inner.read(offset, out)
    }
    fn set_len(&self, len: u64) -> Result<(), std::io::Error> {
        self.inner.set_len(len)
    }
    fn sync_data(&self) -> Result<(), std::io::Error> {
        if self.tear.torn.load(Ordering::SeqCst) {
            return Err(std::io::Error::other("injected: sync after a torn write"));
        }
        self.inner.sync_data()
    }
    fn write(&self, offset: u64, data: &[u8]) -> Result<(), std::io::Error> {
        let t = &self.tear;
        if t.armed.load(Ordering::SeqCst) && !t.torn.load(Ordering::SeqCst) {
            if t.countdown.load(Ordering::SeqCst) == 0 {
                t.torn.store(true, Ordering::SeqCst);
                let _ = self.inner.write(offset, &data[..data.len() / 2]);
                return Err(std::io::Error::other("injected: torn write"));
            }
            t.countdown.fetch_sub(1, Ordering::SeqCst);
        }
        self.inner.write(offset, data)
    }
    fn close(&self) -> Result<(), std::io::Error> {
        self.inner.close()
    }
    fn try_lock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_range(start, end)
    }
    fn try_lock_shared_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<bool, redb::BackendError> {
        self.inner.try_lock_shared_range(start, end)
    }
    fn lock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.inner.lock_range(start, end)
    }
    fn lock_shared_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.inner.lock_shared_range(start, end)
    }
    fn unlock_range(
        &self,
        start: std::ops::Bound<u64>,
        end: std::ops::Bound<u64>,
    ) -> Result<(), redb::BackendError> {
        self.inner.unlock_range(start, end)
    }
}

async fn fully_present(m: &RedbMetadataStore, p: &ManifestPut) -> bool {
    let r = &p.repo;
    let by_digest = m
        .get_manifest(r, &ManifestRef::Digest(p.meta.digest.clone()))
        .await
        .must("get");
    let by_tag = match &p.tag {
        Some(t) => m
            .get_manifest(r, &ManifestRef::Tag(t.clone()))
            .await
            .must("get by tag")
            .map(|s| s.meta.digest),
        None => None,
    };
    let rec = m.record(r, &p.meta.digest).await.must("record");
    match (by_digest, by_tag, rec) {
        (Some(s), Some(td), Some(_)) => {
            assert_eq!(s.bytes, p.bytes, "stored bytes are exact");
            assert_eq!(td, p.meta.digest);
            true
        }
        (None, None, None) => false,
        (a, b, c) => panic!(
            "manifest half-committed: by digest {}, by tag {b:?}, record {}",
            a.is_some(),
            c.is_some()
        ),
    }
}

/// Tear the k-th write of a `put_manifest` commit, for every k until a commit gets through:
/// after reopening, the manifest is all there or not at all, earlier data is intact, and the
/// database takes new writes.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_commit_torn_at_every_write_is_all_or_nothing() {
    let dir = tempdir();
    let path = dir.path().join("meta.redb");
    let r = repo("acme/torn");
    let mut base = manifest(&r, "base", &[], &[], Some("base"), None);
    base.record = Some(record("base"));
    {
        let m = RedbMetadataStore::open(&path).must("open");
        m.put_manifest(base.clone()).await.must("base");
    }
    let mut tore_something = false;
    for k in 0..64u64 {
        let mut p = manifest(
            &r,
            &format!("torn{k}"),
            &[],
            &[],
            Some(&format!("t{k}")),
            None,
        );
        p.record = Some(record("torn"));
        let tear = Arc::new(Tear::default());
        let result = {
            let m = RedbMetadataStore::open_with_backend(TearingBackend::open(&path, tear.clone()))
                .must("open faulty");
            tear.arm(k);
            m.put_manifest(p.clone()).await
        };
        let m = RedbMetadataStore::open(&path).must("reopen after fault");
        assert!(
            fully_present(&m, &base).await,
            "earlier data intact (k={k})"
        );
        let present = fully_present(&m, &p).await;
        eprintln!(
            "tear at write {k}: put {}, torn {}, visible after reopen {present}",
            if result.is_ok() { "ok" } else { "failed" },
            tear.torn.load(Ordering::SeqCst)
        );
        match result {
            Ok(()) if !tear.torn.load(Ordering::SeqCst) => {
                assert!(present, "an acknowledged put survives (k={k})");
                // The countdown outlived the commit: every write of it has been torn once.
                assert!(tore_something, "at least one commit was torn");
                return;
            }
            Ok(()) => {
                // The tear hit a write after the commit point (closing the database).
                assert!(present, "an acknowledged put survives (k={k})");
            }
            Err(e) => {
                assert!(
                    e.is_server_fault(),
                    "a storage fault is a server fault: {e}"
                );
                tore_something = true;
            }
        }
        // Usable after the fault.
        let next = manifest(&r, &format!("after{k}"), &[], &[], None, None);
        m.put_manifest(next).await.must("put after reopen");
    }
    panic!("no commit got through 64 writes");
}
