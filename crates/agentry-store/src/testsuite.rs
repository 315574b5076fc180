//! The one test suite every storage backend must pass (feature `testsuite`).
//!
//! The cases are listed once, in the macros [`blob_suite!`](crate::blob_suite),
//! [`meta_suite!`](crate::meta_suite) and [`gc_suite!`](crate::gc_suite). A backend's test file
//! invokes them with a factory that returns a fresh, empty store plus a guard kept alive for
//! the case (a temp dir, a test database); each expands to one `#[tokio::test]` per case,
//! named after it, so every case passes or fails on its own and can be run alone
//! (`cargo test -p agentry-store meta_blob_repositories`):
//!
//! ```ignore
//! agentry_store::blob_suite!(|| async {
//!     let dir = tempfile::tempdir().unwrap();
//!     (FsBlobStore::open(dir.path()).unwrap(), dir)
//! });
//! ```
//!
//! The case functions are public so the macros can name them from another crate; a failing
//! case panics with what went wrong. Nothing here depends on timing:
//! concurrency cases assert invariants that hold under every interleaving.

use std::io;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentry_types::record::Identity;
use agentry_types::{AgentRecord, Digest, DigestAlgorithm, ManifestRef, RepoName, Tag};
use bytes::Bytes;
use futures::stream::{self, StreamExt};

use crate::blob::{BlobStore, ByteRange, ByteStream, UploadId};
use crate::error::{StoreError, StoreResult};
use crate::gc::{self, GcOptions};
use crate::meta::{ManifestMeta, ManifestPut, MetadataStore, UploadSession};

/// A generous limit for cases that are not about limits.
pub const LIMIT: u64 = 1 << 30;

// ---------------------------------------------------------------------------------------------
// helpers (public: backend-specific tests use them too)

/// Unwrap with the case's context in the panic message.
pub trait Must<T> {
    fn must(self, what: &str) -> T;
}

impl<T> Must<T> for StoreResult<T> {
    #[track_caller]
    fn must(self, what: &str) -> T {
        self.unwrap_or_else(|e| panic!("{what}: unexpected error: {e}"))
    }
}

/// Deterministic, non-repeating-looking test bytes.
pub fn pattern(len: usize, seed: u64) -> Vec<u8> {
    let mut x = seed.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    (0..len)
        .map(|_| {
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            (x >> 24) as u8
        })
        .collect()
}

/// `data` as a body stream of `chunk`-sized pieces (with an empty piece in between, which
/// real HTTP bodies produce too).
pub fn body_of(data: &[u8], chunk: usize) -> ByteStream {
    let mut pieces: Vec<io::Result<Bytes>> = Vec::new();
    for (i, c) in data.chunks(chunk.max(1)).enumerate() {
        pieces.push(Ok(Bytes::copy_from_slice(c)));
        if i == 1 {
            pieces.push(Ok(Bytes::new()));
        }
    }
    Box::pin(stream::iter(pieces))
}

/// A body that yields `data` and then fails, as when a client disconnects.
pub fn failing_body(data: &[u8]) -> ByteStream {
    let items: Vec<io::Result<Bytes>> = vec![
        Ok(Bytes::copy_from_slice(&data[..data.len() / 2])),
        Ok(Bytes::copy_from_slice(&data[data.len() / 2..])),
        Err(io::Error::new(
            io::ErrorKind::ConnectionReset,
            "client went away",
        )),
    ];
    Box::pin(stream::iter(items))
}

/// A body that yields `data`, then signals `reached` and never ends: the request is still
/// in flight when the test cancels it.
pub fn stalling_body(data: Vec<u8>, reached: tokio::sync::oneshot::Sender<()>) -> ByteStream {
    let first = stream::once(async move { Ok(Bytes::from(data)) });
    let rest = stream::once(async move {
        let _ = reached.send(());
        futures::future::pending::<io::Result<Bytes>>().await
    });
    Box::pin(first.chain(rest))
}

/// Read a blob (or a range of it) whole: `(total size, bytes)`.
pub async fn read_all<S: BlobStore + ?Sized>(
    s: &S,
    d: &Digest,
    range: Option<ByteRange>,
) -> Option<(u64, Vec<u8>)> {
    let r = s.read(d, range).await.must("read")?;
    let mut out = Vec::new();
    let mut stream = r.stream;
    while let Some(chunk) = stream.next().await {
        out.extend_from_slice(&chunk.unwrap_or_else(|e| panic!("read stream failed: {e}")));
    }
    Some((r.size, out))
}

async fn put_bytes<S: BlobStore + ?Sized>(s: &S, data: &[u8]) -> Digest {
    let d = Digest::sha256(data);
    s.put(&d, body_of(data, 4096), Some(data.len() as u64), LIMIT)
        .await
        .must("put");
    d
}

/// Current unix time in seconds.
pub fn unix_now() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

pub fn repo(s: &str) -> RepoName {
    RepoName::parse(s).unwrap_or_else(|e| panic!("test repo name {s}: {e}"))
}

pub fn tag(s: &str) -> Tag {
    Tag::parse(s).unwrap_or_else(|e| panic!("test tag {s}: {e}"))
}

/// A record with a recognisable name.
pub fn record(name: &str) -> AgentRecord {
    AgentRecord {
        identity: Identity {
            namespace: "acme".into(),
            name: name.into(),
            version: "1.0.0".into(),
            ..Default::default()
        },
        description: format!("the {name} agent"),
        ..Default::default()
    }
}

/// A manifest naming `blobs` (and `children`, making it an index), with `salt` making its
/// digest unique.
pub fn manifest(
    repo_name: &RepoName,
    salt: &str,
    blobs: &[Digest],
    children: &[Digest],
    tag_name: Option<&str>,
    subject: Option<&Digest>,
) -> ManifestPut {
    let layers: Vec<String> = blobs.iter().map(|d| format!("\"{d}\"")).collect();
    let kids: Vec<String> = children.iter().map(|d| format!("\"{d}\"")).collect();
    let bytes = Bytes::from(format!(
        "{{\"schemaVersion\":2,\"salt\":\"{salt}\",\"layers\":[{}],\"manifests\":[{}]}}",
        layers.join(","),
        kids.join(",")
    ));
    let media_type = if children.is_empty() {
        "application/vnd.oci.image.manifest.v1+json"
    } else {
        "application/vnd.oci.image.index.v1+json"
    };
    ManifestPut {
        repo: repo_name.clone(),
        meta: ManifestMeta {
            digest: Digest::sha256(&bytes),
            media_type: media_type.into(),
            size: bytes.len() as u64,
            artifact_type: Some(format!("application/vnd.test.{salt}")),
            subject: subject.cloned(),
            annotations: [("salt".to_owned(), salt.to_owned())].into(),
            created_at: unix_now(),
        },
        bytes,
        blobs: blobs.to_vec(),
        manifests: children.to_vec(),
        tag: tag_name.map(tag),
        record: None,
    }
}

fn by_tag(t: &str) -> ManifestRef {
    ManifestRef::Tag(tag(t))
}

fn by_digest(d: &Digest) -> ManifestRef {
    ManifestRef::Digest(d.clone())
}

/// One test per case for a single store (`blob_suite!`, `meta_suite!`).
#[doc(hidden)]
#[macro_export]
macro_rules! __store_suite_tests {
    ($make:expr; $($case:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (store, guard) = ($make)().await;
                $crate::testsuite::$case(::std::sync::Arc::new(store)).await;
                drop(guard);
            }
        )*
    };
}

/// One test per case for a blob store and a metadata store together (`gc_suite!`).
#[doc(hidden)]
#[macro_export]
macro_rules! __store_pair_suite_tests {
    ($make:expr; $($case:ident,)*) => {
        $(
            #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
            async fn $case() {
                let (blobs, meta, guard) = ($make)().await;
                $crate::testsuite::$case(
                    ::std::sync::Arc::new(blobs),
                    ::std::sync::Arc::new(meta),
                )
                .await;
                drop(guard);
            }
        )*
    };
}

// ---------------------------------------------------------------------------------------------
// blob store

/// Runs every [`BlobStore`] case as its own `#[tokio::test]` (named after the case), against
/// the store `make` returns: `make` is an expression callable as `make().await` that yields a
/// fresh, empty store and a guard kept alive for the case (a temp dir, a test database).
///
/// ```ignore
/// agentry_store::blob_suite!(|| async {
///     let dir = tempfile::tempdir().unwrap();
///     (FsBlobStore::open(dir.path()).unwrap(), dir)
/// });
/// ```
///
/// The invoking crate needs `tokio` (with `macros` and `rt-multi-thread`) among its
/// dev-dependencies.
#[macro_export]
macro_rules! blob_suite {
    ($make:expr $(,)?) => {
        $crate::__store_suite_tests! {
            $make;
            blob_put_read_stat,
            blob_put_streams_many_batches,
            blob_put_empty,
            blob_put_sha512,
            blob_put_digest_mismatch_stores_nothing,
            blob_put_size_mismatch_stores_nothing,
            blob_put_limits,
            blob_put_stops_reading_past_limit,
            blob_put_body_error_stores_nothing,
            blob_put_cancelled_stores_nothing,
            blob_put_is_idempotent,
            blob_range_reads,
            blob_delete,
            blob_delete_if_stale,
            blob_list,
            upload_lifecycle,
            upload_empty,
            upload_sha512_finish,
            upload_rejects_out_of_order_and_overlap,
            upload_body_error_keeps_previous_size,
            upload_size_mismatch_keeps_previous_size,
            upload_limit_covers_whole_upload,
            upload_cancelled_append_keeps_previous_size,
            upload_finish_digest_mismatch_discards,
            upload_unknown,
            upload_abort,
            upload_list,
            upload_concurrent_appends_do_not_interleave,
        }
    };
}

pub async fn blob_put_read_stat<S: BlobStore>(s: Arc<S>) {
    let data = pattern(100_000, 1);
    let d = Digest::sha256(&data);
    let n = s
        .put(&d, body_of(&data, 7_000), Some(data.len() as u64), LIMIT)
        .await
        .must("put");
    assert_eq!(n, data.len() as u64);
    assert_eq!(s.stat(&d).await.must("stat"), Some(n));
    assert_eq!(read_all(&*s, &d, None).await, Some((n, data)));
    let absent = Digest::sha256(b"absent");
    assert_eq!(s.stat(&absent).await.must("stat absent"), None);
    assert!(s.read(&absent, None).await.must("read absent").is_none());
}

pub async fn blob_put_streams_many_batches<S: BlobStore>(s: Arc<S>) {
    // Crosses internal batch sizes, unknown length.
    let data = pattern(3 * 1024 * 1024 + 17, 2);
    let d = Digest::sha256(&data);
    let n = s
        .put(&d, body_of(&data, 65_536), None, LIMIT)
        .await
        .must("put");
    assert_eq!(n, data.len() as u64);
    assert_eq!(read_all(&*s, &d, None).await, Some((n, data)));
}

pub async fn blob_put_empty<S: BlobStore>(s: Arc<S>) {
    let d = Digest::sha256(b"");
    let n = s
        .put(&d, Box::pin(stream::empty()), Some(0), LIMIT)
        .await
        .must("put empty");
    assert_eq!(n, 0);
    assert_eq!(s.stat(&d).await.must("stat"), Some(0));
    assert_eq!(read_all(&*s, &d, None).await, Some((0, Vec::new())));
}

pub async fn blob_put_sha512<S: BlobStore>(s: Arc<S>) {
    let data = pattern(5000, 3);
    let d = Digest::of(DigestAlgorithm::Sha512, &data);
    s.put(&d, body_of(&data, 1000), None, LIMIT)
        .await
        .must("put sha512");
    assert_eq!(read_all(&*s, &d, None).await, Some((5000, data)));
}

pub async fn blob_put_digest_mismatch_stores_nothing<S: BlobStore>(s: Arc<S>) {
    let data = pattern(10_000, 4);
    let claimed = Digest::sha256(b"something else");
    let err = s
        .put(&claimed, body_of(&data, 3000), None, LIMIT)
        .await
        .expect_err("a body that does not match its digest must be refused");
    match err {
        StoreError::DigestMismatch { expected, actual } => {
            assert_eq!(expected, claimed);
            assert_eq!(actual, Digest::sha256(&data));
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    assert_eq!(s.stat(&claimed).await.must("stat"), None);
    assert_eq!(s.stat(&Digest::sha256(&data)).await.must("stat"), None);
    assert_eq!(s.list().count().await, 0, "nothing may be stored");
}

pub async fn blob_put_size_mismatch_stores_nothing<S: BlobStore>(s: Arc<S>) {
    let data = pattern(1000, 5);
    let d = Digest::sha256(&data);
    for announced in [999u64, 1001, 0] {
        match s.put(&d, body_of(&data, 100), Some(announced), LIMIT).await {
            Err(StoreError::SizeMismatch { expected, .. }) => assert_eq!(expected, announced),
            other => panic!("announced {announced}: expected SizeMismatch, got {other:?}"),
        }
    }
    assert_eq!(s.stat(&d).await.must("stat"), None);
    assert_eq!(s.list().count().await, 0, "nothing may be stored");
}

pub async fn blob_put_limits<S: BlobStore>(s: Arc<S>) {
    let data = pattern(1000, 6);
    let d = Digest::sha256(&data);
    match s.put(&d, body_of(&data, 64), None, 999).await {
        Err(StoreError::TooLarge { limit }) => assert_eq!(limit, 999),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert_eq!(s.stat(&d).await.must("stat"), None);
    // An announced length over the limit is refused before the body is read at all.
    let poisoned: ByteStream = Box::pin(stream::once(async {
        Err(io::Error::other("the body must not be read"))
    }));
    match s.put(&d, poisoned, Some(5000), 1000).await {
        Err(StoreError::TooLarge { limit }) => assert_eq!(limit, 1000),
        other => panic!("expected TooLarge before reading, got {other:?}"),
    }
    // Exactly at the limit is fine.
    s.put(&d, body_of(&data, 64), Some(1000), 1000)
        .await
        .must("put at the limit");
    assert_eq!(s.stat(&d).await.must("stat"), Some(1000));
}

pub async fn blob_put_stops_reading_past_limit<S: BlobStore>(s: Arc<S>) {
    // An endless body: the store must stop at the limit instead of reading on (or buffering).
    const CHUNK: usize = 64 * 1024;
    const LIM: u64 = 1024 * 1024;
    let handed_out = Arc::new(AtomicU64::new(0));
    let counter = handed_out.clone();
    let chunk = Bytes::from(pattern(CHUNK, 7));
    let endless: ByteStream = Box::pin(stream::repeat(()).map(move |_| {
        let total = counter.fetch_add(CHUNK as u64, Ordering::SeqCst) + CHUNK as u64;
        if total > LIM + 64 * CHUNK as u64 {
            Err(io::Error::other("the store read far past its limit"))
        } else {
            Ok(chunk.clone())
        }
    }));
    let d = Digest::sha256(b"never");
    match s.put(&d, endless, None, LIM).await {
        Err(StoreError::TooLarge { limit }) => assert_eq!(limit, LIM),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    assert!(handed_out.load(Ordering::SeqCst) <= LIM + CHUNK as u64);
    assert_eq!(s.list().count().await, 0);
}

pub async fn blob_put_body_error_stores_nothing<S: BlobStore>(s: Arc<S>) {
    let data = pattern(50_000, 8);
    let d = Digest::sha256(&data);
    match s.put(&d, failing_body(&data), None, LIMIT).await {
        Err(StoreError::Body(_)) => {}
        other => panic!("expected Body, got {other:?}"),
    }
    assert_eq!(s.stat(&d).await.must("stat"), None);
    assert_eq!(s.list().count().await, 0);
    // The store stays usable.
    put_bytes(&*s, &data).await;
    assert_eq!(s.stat(&d).await.must("stat"), Some(50_000));
}

pub async fn blob_put_cancelled_stores_nothing<S: BlobStore>(s: Arc<S>) {
    let data = pattern(2 * 1024 * 1024, 9);
    let d = Digest::sha256(b"cancelled");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let st = s.clone();
    let task = tokio::spawn(async move { st.put(&d, stalling_body(data, tx), None, LIMIT).await });
    rx.await
        .unwrap_or_else(|_| panic!("the put ended before stalling"));
    task.abort();
    assert!(task.await.is_err(), "the put was cancelled");
    assert_eq!(s.list().count().await, 0, "a cancelled put stores nothing");
}

pub async fn blob_put_is_idempotent<S: BlobStore>(s: Arc<S>) {
    let data = pattern(30_000, 10);
    let d = put_bytes(&*s, &data).await;
    let again = s
        .put(&d, body_of(&data, 999), None, LIMIT)
        .await
        .must("second put");
    assert_eq!(again, 30_000);
    // Even a re-put is verified.
    assert!(matches!(
        s.put(&d, body_of(b"wrong", 2), None, LIMIT).await,
        Err(StoreError::DigestMismatch { .. })
    ));
    assert_eq!(read_all(&*s, &d, None).await, Some((30_000, data)));
    let listed: Vec<_> = s.list().collect().await;
    assert_eq!(listed.len(), 1);
}

pub async fn blob_range_reads<S: BlobStore>(s: Arc<S>) {
    let data = pattern(1000, 11);
    let d = put_bytes(&*s, &data).await;
    let r = |first, last| Some(ByteRange { first, last });
    let cases: [(Option<ByteRange>, &[u8]); 6] = [
        (None, &data[..]),
        (r(0, 0), &data[0..1]),
        (r(10, 19), &data[10..20]),
        (r(0, 999), &data[..]),
        (r(990, 5000), &data[990..]),
        (r(1000, 1005), &[]),
    ];
    for (range, want) in cases {
        let (size, got) = read_all(&*s, &d, range)
            .await
            .unwrap_or_else(|| panic!("blob vanished"));
        assert_eq!(size, 1000, "size is the whole blob's for {range:?}");
        assert_eq!(got, want, "bytes for {range:?}");
    }
}

pub async fn blob_delete<S: BlobStore>(s: Arc<S>) {
    let d = put_bytes(&*s, b"to delete").await;
    assert!(s.delete(&d).await.must("delete"));
    assert_eq!(s.stat(&d).await.must("stat"), None);
    assert!(s.read(&d, None).await.must("read").is_none());
    assert!(!s.delete(&d).await.must("delete again"));
}

pub async fn blob_delete_if_stale<S: BlobStore>(s: Arc<S>) {
    let d = put_bytes(&*s, b"maybe stale").await;
    let hour = Duration::from_secs(3600);
    let past = SystemTime::now() - hour;
    assert_eq!(
        s.delete_if_stale(&d, past)
            .await
            .must("delete_if_stale (fresh)"),
        None,
        "a blob written after the cutoff stays"
    );
    assert_eq!(s.stat(&d).await.must("stat"), Some(11));
    assert_eq!(
        read_all(&*s, &d, None).await,
        Some((11, b"maybe stale".to_vec()))
    );
    let future = SystemTime::now() + hour;
    assert_eq!(
        s.delete_if_stale(&d, future)
            .await
            .must("delete_if_stale (stale)"),
        Some(11)
    );
    assert_eq!(s.stat(&d).await.must("stat"), None);
    assert_eq!(
        s.delete_if_stale(&d, future)
            .await
            .must("delete_if_stale (absent)"),
        None
    );
    // A re-put makes old content fresh again.
    let d2 = put_bytes(&*s, b"rewritten").await;
    let between = SystemTime::now();
    tokio::time::sleep(Duration::from_millis(20)).await;
    put_bytes(&*s, b"rewritten").await;
    assert_eq!(
        s.delete_if_stale(&d2, between).await.must("after re-put"),
        None
    );
    assert_eq!(s.stat(&d2).await.must("stat"), Some(9));
}

pub async fn blob_list<S: BlobStore>(s: Arc<S>) {
    let before = SystemTime::now() - Duration::from_secs(5);
    let a = put_bytes(&*s, b"alpha").await;
    let b = put_bytes(&*s, &pattern(4321, 12)).await;
    let c_data = pattern(77, 13);
    let c = Digest::of(DigestAlgorithm::Sha512, &c_data);
    s.put(&c, body_of(&c_data, 10), None, LIMIT)
        .await
        .must("put sha512");
    let mut listed: Vec<(Digest, u64)> = s
        .list()
        .map(|r| {
            let info = r.must("list");
            assert!(info.modified >= before, "modified time is plausible");
            assert!(info.modified <= SystemTime::now() + Duration::from_secs(5));
            (info.digest, info.size)
        })
        .collect()
        .await;
    listed.sort();
    let mut want = vec![(a.clone(), 5), (b, 4321), (c, 77)];
    want.sort();
    assert_eq!(listed, want);
    s.delete(&a).await.must("delete");
    assert!(
        !s.list()
            .any(|r| futures::future::ready(r.must("list").digest == a))
            .await
    );
}

async fn append<S: BlobStore + ?Sized>(
    s: &S,
    id: &UploadId,
    offset: u64,
    data: &[u8],
) -> StoreResult<u64> {
    s.upload_append(
        id,
        offset,
        body_of(data, 8192),
        Some(data.len() as u64),
        LIMIT,
    )
    .await
}

pub async fn upload_lifecycle<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    assert_eq!(s.upload_size(&id).await.must("size"), Some(0));
    let c1 = pattern(1_500_000, 20);
    let c2 = pattern(700_000, 21);
    let c3 = b"tail bytes".to_vec();
    let mut offset = 0;
    for c in [&c1, &c2, &c3] {
        let n = append(&*s, &id, offset, c).await.must("append");
        offset += c.len() as u64;
        assert_eq!(n, offset);
        assert_eq!(s.upload_size(&id).await.must("size"), Some(offset));
    }
    // Unknown length is fine too.
    let c4 = pattern(3000, 22);
    let n = s
        .upload_append(&id, offset, body_of(&c4, 1000), None, LIMIT)
        .await
        .must("append without length");
    offset += 3000;
    assert_eq!(n, offset);
    let all: Vec<u8> = [c1, c2, c3, c4].concat();
    let d = Digest::sha256(&all);
    assert_eq!(
        s.stat(&d).await.must("stat"),
        None,
        "invisible until finished"
    );
    assert_eq!(s.upload_finish(&id, &d).await.must("finish"), offset);
    assert_eq!(read_all(&*s, &d, None).await, Some((offset, all)));
    assert_eq!(s.upload_size(&id).await.must("size"), None);
    assert!(s.upload_list().await.must("list").is_empty());
}

pub async fn upload_empty<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    let d = Digest::sha256(b"");
    assert_eq!(s.upload_finish(&id, &d).await.must("finish"), 0);
    assert_eq!(s.stat(&d).await.must("stat"), Some(0));
}

pub async fn upload_sha512_finish<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    let data = pattern(200_000, 23);
    append(&*s, &id, 0, &data).await.must("append");
    let d = Digest::of(DigestAlgorithm::Sha512, &data);
    assert_eq!(s.upload_finish(&id, &d).await.must("finish"), 200_000);
    assert_eq!(read_all(&*s, &d, None).await, Some((200_000, data)));
}

pub async fn upload_rejects_out_of_order_and_overlap<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    let c1 = pattern(100, 24);
    let c2 = pattern(100, 25);
    append(&*s, &id, 0, &c1).await.must("first chunk");
    for bad in [150u64, 50, 0, 101] {
        match append(&*s, &id, bad, &c2).await {
            Err(StoreError::RangeMismatch { expected, got }) => {
                assert_eq!((expected, got), (100, bad));
            }
            other => panic!("offset {bad}: expected RangeMismatch, got {other:?}"),
        }
        assert_eq!(s.upload_size(&id).await.must("size"), Some(100));
    }
    append(&*s, &id, 100, &c2).await.must("in-order chunk");
    let all = [c1, c2].concat();
    let d = Digest::sha256(&all);
    s.upload_finish(&id, &d).await.must("finish");
    assert_eq!(read_all(&*s, &d, None).await, Some((200, all)));
}

pub async fn upload_body_error_keeps_previous_size<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    let c1 = pattern(5000, 26);
    let torn = pattern(1_500_000, 27);
    let c2 = pattern(6000, 28);
    append(&*s, &id, 0, &c1).await.must("first chunk");
    match s
        .upload_append(&id, 5000, failing_body(&torn), None, LIMIT)
        .await
    {
        Err(StoreError::Body(_)) => {}
        other => panic!("expected Body, got {other:?}"),
    }
    assert_eq!(s.upload_size(&id).await.must("size"), Some(5000));
    append(&*s, &id, 5000, &c2).await.must("retry");
    let all = [c1, c2].concat();
    let d = Digest::sha256(&all);
    assert_eq!(s.upload_finish(&id, &d).await.must("finish"), 11_000);
    assert_eq!(read_all(&*s, &d, None).await, Some((11_000, all)));
}

pub async fn upload_size_mismatch_keeps_previous_size<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    let c1 = pattern(300, 29);
    append(&*s, &id, 0, &c1).await.must("first chunk");
    for announced in [299u64, 301] {
        match s
            .upload_append(&id, 300, body_of(&c1, 50), Some(announced), LIMIT)
            .await
        {
            Err(StoreError::SizeMismatch { expected, .. }) => assert_eq!(expected, announced),
            other => panic!("expected SizeMismatch, got {other:?}"),
        }
        assert_eq!(s.upload_size(&id).await.must("size"), Some(300));
    }
    let d = Digest::sha256(&c1);
    assert_eq!(s.upload_finish(&id, &d).await.must("finish"), 300);
}

pub async fn upload_limit_covers_whole_upload<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    let a = pattern(600, 30);
    let b = pattern(500, 31);
    let c = pattern(400, 32);
    s.upload_append(&id, 0, body_of(&a, 100), None, 1000)
        .await
        .must("within limit");
    match s
        .upload_append(&id, 600, body_of(&b, 100), None, 1000)
        .await
    {
        Err(StoreError::TooLarge { limit }) => assert_eq!(limit, 1000),
        other => panic!("expected TooLarge, got {other:?}"),
    }
    match s
        .upload_append(&id, 600, body_of(&b, 100), Some(500), 1000)
        .await
    {
        Err(StoreError::TooLarge { .. }) => {}
        other => panic!("expected TooLarge (announced), got {other:?}"),
    }
    assert_eq!(s.upload_size(&id).await.must("size"), Some(600));
    s.upload_append(&id, 600, body_of(&c, 100), None, 1000)
        .await
        .must("up to the limit");
    let all = [a, c].concat();
    let d = Digest::sha256(&all);
    assert_eq!(s.upload_finish(&id, &d).await.must("finish"), 1000);
}

pub async fn upload_cancelled_append_keeps_previous_size<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    let c1 = pattern(1000, 33);
    append(&*s, &id, 0, &c1).await.must("first chunk");
    let (tx, rx) = tokio::sync::oneshot::channel();
    let (st, tid) = (s.clone(), id.clone());
    let big = pattern(2 * 1024 * 1024, 34);
    let task = tokio::spawn(async move {
        st.upload_append(&tid, 1000, stalling_body(big, tx), None, LIMIT)
            .await
    });
    rx.await
        .unwrap_or_else(|_| panic!("the append ended before stalling"));
    task.abort();
    assert!(task.await.is_err(), "the append was cancelled");
    assert_eq!(s.upload_size(&id).await.must("size"), Some(1000));
    let c2 = pattern(10, 35);
    append(&*s, &id, 1000, &c2)
        .await
        .must("append after cancel");
    let all = [c1, c2].concat();
    let d = Digest::sha256(&all);
    assert_eq!(s.upload_finish(&id, &d).await.must("finish"), 1010);
    assert_eq!(read_all(&*s, &d, None).await, Some((1010, all)));
}

pub async fn upload_finish_digest_mismatch_discards<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    let data = pattern(4000, 36);
    append(&*s, &id, 0, &data).await.must("append");
    let wrong = Digest::sha256(b"not it");
    match s.upload_finish(&id, &wrong).await {
        Err(StoreError::DigestMismatch { expected, actual }) => {
            assert_eq!(expected, wrong);
            assert_eq!(actual, Digest::sha256(&data));
        }
        other => panic!("expected DigestMismatch, got {other:?}"),
    }
    assert_eq!(s.upload_size(&id).await.must("size"), None);
    assert_eq!(s.stat(&wrong).await.must("stat"), None);
    assert_eq!(s.stat(&Digest::sha256(&data)).await.must("stat"), None);
    assert_eq!(s.list().count().await, 0);
    assert!(s.upload_list().await.must("list").is_empty());
}

pub async fn upload_unknown<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    assert!(matches!(
        append(&*s, &id, 0, b"x").await,
        Err(StoreError::UploadUnknown)
    ));
    assert!(matches!(
        s.upload_finish(&id, &Digest::sha256(b"")).await,
        Err(StoreError::UploadUnknown)
    ));
    assert_eq!(s.upload_size(&id).await.must("size"), None);
    s.upload_abort(&id).await.must("abort of unknown upload");
    assert!(s.upload_list().await.must("list").is_empty());
}

pub async fn upload_abort<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    append(&*s, &id, 0, b"some bytes").await.must("append");
    s.upload_abort(&id).await.must("abort");
    assert_eq!(s.upload_size(&id).await.must("size"), None);
    assert!(s.upload_list().await.must("list").is_empty());
    assert!(matches!(
        append(&*s, &id, 10, b"more").await,
        Err(StoreError::UploadUnknown)
    ));
    s.upload_abort(&id).await.must("second abort");
}

pub async fn upload_list<S: BlobStore>(s: Arc<S>) {
    let before = SystemTime::now() - Duration::from_secs(5);
    let (a, b) = (UploadId::new(), UploadId::new());
    s.upload_start(&a).await.must("start a");
    s.upload_start(&b).await.must("start b");
    append(&*s, &b, 0, b"data").await.must("append");
    let mut listed = s.upload_list().await.must("list");
    listed.sort_by(|x, y| x.0.cmp(&y.0));
    let mut want = vec![a, b];
    want.sort();
    assert_eq!(
        listed.iter().map(|(id, _)| id.clone()).collect::<Vec<_>>(),
        want
    );
    assert!(listed.iter().all(|(_, t)| *t >= before));
}

pub async fn upload_concurrent_appends_do_not_interleave<S: BlobStore>(s: Arc<S>) {
    let id = UploadId::new();
    s.upload_start(&id).await.must("start");
    let a = pattern(3 * 1024 * 1024, 37);
    let b = pattern(3 * 1024 * 1024, 38);
    let slow = |data: Vec<u8>| -> ByteStream {
        let chunks: Vec<Bytes> = data
            .chunks(256 * 1024)
            .map(Bytes::copy_from_slice)
            .collect();
        Box::pin(stream::iter(chunks).then(|c| async move {
            tokio::task::yield_now().await;
            Ok(c)
        }))
    };
    let (s1, s2, i1, i2) = (s.clone(), s.clone(), id.clone(), id.clone());
    let (ba, bb) = (slow(a.clone()), slow(b.clone()));
    let t1 = tokio::spawn(async move { s1.upload_append(&i1, 0, ba, None, LIMIT).await });
    let t2 = tokio::spawn(async move { s2.upload_append(&i2, 0, bb, None, LIMIT).await });
    let r1 = t1.await.unwrap_or_else(|e| panic!("task: {e}"));
    let r2 = t2.await.unwrap_or_else(|e| panic!("task: {e}"));
    let len = a.len() as u64;
    let winner = match (&r1, &r2) {
        (Ok(n), Err(StoreError::RangeMismatch { expected, got: 0 })) if *n == len => {
            assert_eq!(*expected, len);
            a
        }
        (Err(StoreError::RangeMismatch { expected, got: 0 }), Ok(n)) if *n == len => {
            assert_eq!(*expected, len);
            b
        }
        other => panic!("exactly one append must win, got {other:?}"),
    };
    let d = Digest::sha256(&winner);
    assert_eq!(s.upload_finish(&id, &d).await.must("finish"), len);
}

// ---------------------------------------------------------------------------------------------
// metadata store

/// Runs every [`MetadataStore`] case as its own `#[tokio::test]`, like [`blob_suite!`]: `make`
/// yields a fresh, empty metadata store and a guard.
#[macro_export]
macro_rules! meta_suite {
    ($make:expr $(,)?) => {
        $crate::__store_suite_tests! {
            $make;
            meta_links,
            meta_mount,
            meta_blob_repositories,
            meta_put_and_get_manifest,
            meta_put_missing_blob_is_atomic,
            meta_put_index_needs_children,
            meta_put_verifies_digest_and_size,
            meta_put_is_idempotent_and_moves_tags,
            meta_delete_tag,
            meta_delete_manifest_cascades,
            meta_tag_pagination,
            meta_repository_pagination,
            meta_referrers,
            meta_upload_sessions,
            meta_records,
            meta_unused_and_release,
            meta_concurrent_puts,
            meta_concurrent_failures_are_isolated,
        }
    };
}

/// Link fresh digests (metadata only: the blob store is not involved) into `r`.
async fn linked<M: MetadataStore + ?Sized>(m: &M, r: &RepoName, names: &[&str]) -> Vec<Digest> {
    let mut out = Vec::new();
    for n in names {
        let d = Digest::sha256(n.as_bytes());
        m.link_blob(r, &d, n.len() as u64).await.must("link");
        out.push(d);
    }
    out
}

pub async fn meta_links<M: MetadataStore>(m: Arc<M>) {
    let (r, other) = (repo("acme/agent"), repo("acme/other"));
    let d = Digest::sha256(b"blob");
    assert_eq!(m.blob_link(&r, &d).await.must("blob_link"), None);
    m.link_blob(&r, &d, 4).await.must("link");
    assert_eq!(m.blob_link(&r, &d).await.must("blob_link"), Some(4));
    assert_eq!(m.blob_link(&other, &d).await.must("other repo"), None);
    m.link_blob(&r, &d, 4).await.must("link again");
    assert!(m.unlink_blob(&r, &d).await.must("unlink"));
    assert!(!m.unlink_blob(&r, &d).await.must("unlink again"));
    assert_eq!(m.blob_link(&r, &d).await.must("blob_link"), None);
    // A link alone does not make a repository.
    m.link_blob(&r, &d, 4).await.must("link");
    assert!(
        m.list_repositories(None, 100)
            .await
            .must("catalog")
            .items
            .is_empty()
    );
    assert_eq!(m.list_tags(&r, None, 100).await.must("tags"), None);
}

pub async fn meta_mount<M: MetadataStore>(m: Arc<M>) {
    let (from, to) = (repo("a/src"), repo("b/dst"));
    let d = Digest::sha256(b"mounted");
    assert_eq!(m.mount_blob(&from, &to, &d).await.must("mount"), None);
    assert_eq!(m.blob_link(&to, &d).await.must("link"), None);
    m.link_blob(&from, &d, 7).await.must("link");
    assert_eq!(m.mount_blob(&from, &to, &d).await.must("mount"), Some(7));
    assert_eq!(m.blob_link(&to, &d).await.must("link"), Some(7));
}

/// Where a mount without `from` looks: every repository linking the digest, in lexical
/// order, at most `n`, and none after the link is gone.
pub async fn meta_blob_repositories<M: MetadataStore>(m: Arc<M>) {
    let (from, to) = (repo("a/src"), repo("b/dst"));
    let d = Digest::sha256(b"mounted");
    m.link_blob(&to, &d, 7).await.must("link");
    m.link_blob(&from, &d, 7).await.must("link");
    let other = Digest::sha256(b"elsewhere");
    m.link_blob(&from, &other, 9).await.must("link other");
    m.link_blob(&repo("c/other"), &other, 9)
        .await
        .must("link other");
    assert_eq!(
        m.blob_repositories(&d, 10).await.must("repositories"),
        vec![from.clone(), to.clone()]
    );
    assert_eq!(
        m.blob_repositories(&d, 1).await.must("repositories"),
        vec![from.clone()]
    );
    assert!(
        m.blob_repositories(&Digest::sha256(b"nowhere"), 10)
            .await
            .must("repositories")
            .is_empty()
    );
    assert!(m.unlink_blob(&from, &d).await.must("unlink"));
    assert_eq!(
        m.blob_repositories(&d, 10).await.must("repositories"),
        vec![to.clone()]
    );
}

pub async fn meta_put_and_get_manifest<M: MetadataStore>(m: Arc<M>) {
    let r = repo("acme/analyst");
    let blobs = linked(&*m, &r, &["config", "layer1", "layer2"]).await;
    let mut put = manifest(&r, "m1", &blobs, &[], Some("1.0"), None);
    put.record = Some(record("analyst"));
    let digest = put.meta.digest.clone();
    m.put_manifest(put.clone()).await.must("put");
    for reference in [by_tag("1.0"), by_digest(&digest)] {
        let got = m
            .get_manifest(&r, &reference)
            .await
            .must("get")
            .unwrap_or_else(|| panic!("manifest by {reference}"));
        assert_eq!(got.bytes, put.bytes);
        assert_eq!(got.meta, put.meta);
        let meta = m.manifest_meta(&r, &reference).await.must("meta");
        assert_eq!(meta.as_ref(), Some(&put.meta));
    }
    assert!(
        m.get_manifest(&r, &by_tag("2.0"))
            .await
            .must("get")
            .is_none()
    );
    assert!(
        m.get_manifest(&repo("acme/other"), &by_digest(&digest))
            .await
            .must("other repo")
            .is_none(),
        "manifests are per repository"
    );
    assert!(
        m.manifest_meta(&r, &by_digest(&Digest::sha256(b"nope")))
            .await
            .must("meta")
            .is_none()
    );
    assert_eq!(
        m.list_tags(&r, None, 10)
            .await
            .must("tags")
            .map(|p| p.items),
        Some(vec!["1.0".to_owned()])
    );
    assert_eq!(
        m.list_repositories(None, 10).await.must("catalog").items,
        vec!["acme/analyst".to_owned()]
    );
    let rec = m.record(&r, &digest).await.must("record");
    assert_eq!(rec.map(|e| e.record), Some(record("analyst")));
    // The undecoded form is the same record's JSON.
    let raw = m.record_json(&r, &digest).await.must("record json");
    let decoded: Option<AgentRecord> = raw.map(|b| {
        serde_json::from_slice(&b).unwrap_or_else(|e| panic!("record_json is not the record: {e}"))
    });
    assert_eq!(decoded, Some(record("analyst")));
    assert!(
        m.record_json(&r, &Digest::sha256(b"other"))
            .await
            .must("record json")
            .is_none()
    );
}

pub async fn meta_put_missing_blob_is_atomic<M: MetadataStore>(m: Arc<M>) {
    let r = repo("acme/atomic");
    let present = linked(&*m, &r, &["present"]).await;
    let missing = Digest::sha256(b"missing");
    let also_missing = Digest::sha256(b"also missing");
    let subject = Digest::sha256(b"subject");
    let mut put = manifest(
        &r,
        "atomic",
        &[present[0].clone(), missing.clone(), also_missing],
        &[],
        Some("latest"),
        Some(&subject),
    );
    put.record = Some(record("atomic"));
    let digest = put.meta.digest.clone();
    match m.put_manifest(put.clone()).await {
        Err(StoreError::BlobUnknown(d)) => assert_eq!(d, missing, "the first missing blob"),
        other => panic!("expected BlobUnknown, got {other:?}"),
    }
    // Nothing of it is visible.
    assert!(
        m.get_manifest(&r, &by_digest(&digest))
            .await
            .must("get")
            .is_none()
    );
    assert!(
        m.get_manifest(&r, &by_tag("latest"))
            .await
            .must("get")
            .is_none()
    );
    assert_eq!(m.list_tags(&r, None, 10).await.must("tags"), None);
    assert!(
        m.list_repositories(None, 10)
            .await
            .must("catalog")
            .items
            .is_empty()
    );
    assert!(m.referrers(&r, &subject).await.must("referrers").is_empty());
    assert!(m.record(&r, &digest).await.must("record").is_none());
    assert!(
        m.record_json(&r, &digest)
            .await
            .must("record json")
            .is_none()
    );
    // The present blob gained no reference: it is unused once its link is stale.
    assert_eq!(
        m.unused_blobs(&present, i64::MAX).await.must("unused"),
        present
    );
    // A blob linked into another repository does not count.
    let elsewhere = repo("acme/elsewhere");
    m.link_blob(&elsewhere, &missing, 7)
        .await
        .must("link elsewhere");
    assert!(matches!(
        m.put_manifest(put.clone()).await,
        Err(StoreError::BlobUnknown(_))
    ));
}

pub async fn meta_put_index_needs_children<M: MetadataStore>(m: Arc<M>) {
    let r = repo("acme/index");
    let blobs = linked(&*m, &r, &["c"]).await;
    let child = manifest(&r, "child", &blobs, &[], None, None);
    let absent_child = Digest::sha256(b"absent child");
    let index = manifest(
        &r,
        "index",
        &[],
        &[child.meta.digest.clone(), absent_child.clone()],
        Some("multi"),
        None,
    );
    m.put_manifest(child.clone()).await.must("child");
    match m.put_manifest(index).await {
        Err(StoreError::BlobUnknown(d)) => assert_eq!(d, absent_child),
        other => panic!("expected BlobUnknown for the child, got {other:?}"),
    }
    let index = manifest(
        &r,
        "index2",
        &[],
        std::slice::from_ref(&child.meta.digest),
        Some("multi"),
        None,
    );
    m.put_manifest(index.clone()).await.must("index");
    let got = m
        .get_manifest(&r, &by_tag("multi"))
        .await
        .must("get")
        .unwrap_or_else(|| panic!("index missing"));
    assert_eq!(got.meta.digest, index.meta.digest);
}

pub async fn meta_put_verifies_digest_and_size<M: MetadataStore>(m: Arc<M>) {
    let r = repo("acme/verify");
    let mut put = manifest(&r, "v", &[], &[], Some("t"), None);
    put.meta.digest = Digest::sha256(b"another manifest");
    assert!(matches!(
        m.put_manifest(put).await,
        Err(StoreError::DigestMismatch { .. })
    ));
    let mut put = manifest(&r, "v", &[], &[], Some("t"), None);
    put.meta.size += 1;
    assert!(matches!(
        m.put_manifest(put).await,
        Err(StoreError::SizeMismatch { .. })
    ));
    assert_eq!(m.list_tags(&r, None, 10).await.must("tags"), None);
}

pub async fn meta_put_is_idempotent_and_moves_tags<M: MetadataStore>(m: Arc<M>) {
    let r = repo("acme/idem");
    let blobs = linked(&*m, &r, &["x"]).await;
    let mut first = manifest(&r, "one", &blobs, &[], Some("latest"), None);
    first.meta.created_at = 1000;
    m.put_manifest(first.clone()).await.must("put");
    let mut again = first.clone();
    again.meta.created_at = 2000;
    again.tag = Some(tag("stable"));
    m.put_manifest(again).await.must("put again");
    let meta = m
        .manifest_meta(&r, &by_digest(&first.meta.digest))
        .await
        .must("meta")
        .unwrap_or_else(|| panic!("manifest missing"));
    assert_eq!(meta.created_at, 1000, "created_at is the first store's");
    let tags = |m: Arc<M>| async move {
        m.list_tags(&repo("acme/idem"), None, 10)
            .await
            .must("tags")
            .map(|p| p.items)
            .unwrap_or_default()
    };
    assert_eq!(tags(m.clone()).await, vec!["latest", "stable"]);
    // Move `latest` to a second manifest.
    let second = manifest(&r, "two", &blobs, &[], Some("latest"), None);
    m.put_manifest(second.clone()).await.must("second");
    let got = m
        .manifest_meta(&r, &by_tag("latest"))
        .await
        .must("meta")
        .unwrap_or_else(|| panic!("latest missing"));
    assert_eq!(got.digest, second.meta.digest);
    assert_eq!(tags(m.clone()).await, vec!["latest", "stable"]);
    // The first manifest is still there by digest and `stable`; deleting it must not take
    // `latest` (which moved) with it.
    assert!(
        m.delete_manifest(&r, &first.meta.digest)
            .await
            .must("delete")
    );
    assert_eq!(tags(m.clone()).await, vec!["latest"]);
    let got = m
        .manifest_meta(&r, &by_tag("latest"))
        .await
        .must("meta")
        .unwrap_or_else(|| panic!("latest missing after deleting the old manifest"));
    assert_eq!(got.digest, second.meta.digest);
}

pub async fn meta_delete_tag<M: MetadataStore>(m: Arc<M>) {
    let r = repo("acme/deltag");
    let put = manifest(&r, "d", &[], &[], Some("v1"), None);
    m.put_manifest(put.clone()).await.must("put");
    assert!(m.delete_tag(&r, &tag("v1")).await.must("delete tag"));
    assert!(!m.delete_tag(&r, &tag("v1")).await.must("again"));
    assert!(!m.delete_tag(&r, &tag("never")).await.must("unknown"));
    assert!(
        m.get_manifest(&r, &by_tag("v1"))
            .await
            .must("get")
            .is_none()
    );
    assert!(
        m.get_manifest(&r, &by_digest(&put.meta.digest))
            .await
            .must("get")
            .is_some(),
        "the manifest stays"
    );
    assert_eq!(
        m.list_tags(&r, None, 10).await.must("tags"),
        Some(crate::meta::Page {
            items: vec![],
            more: false
        }),
        "the repository still exists, without tags"
    );
    // Deleting the manifest later still works (its tag index is consistent).
    assert!(m.delete_manifest(&r, &put.meta.digest).await.must("delete"));
}

pub async fn meta_delete_manifest_cascades<M: MetadataStore>(m: Arc<M>) {
    let r = repo("acme/cascade");
    let other = repo("acme/keep");
    let blobs = linked(&*m, &r, &["cfg", "layer"]).await;
    let subject = manifest(&r, "subject", &blobs, &[], Some("subj"), None);
    m.put_manifest(subject.clone()).await.must("subject");
    let mut referrer = manifest(
        &r,
        "sig",
        &blobs[..1],
        &[],
        Some("sig"),
        Some(&subject.meta.digest),
    );
    referrer.record = Some(record("sig"));
    let rd = referrer.meta.digest.clone();
    m.put_manifest(referrer).await.must("referrer");
    m.put_manifest(manifest(&other, "other", &[], &[], Some("x"), None))
        .await
        .must("other repo");
    // Tag the referrer twice more.
    let mut retag = manifest(
        &r,
        "sig",
        &blobs[..1],
        &[],
        Some("sig2"),
        Some(&subject.meta.digest),
    );
    retag.tag = Some(tag("sig2"));
    m.put_manifest(retag).await.must("retag");
    assert_eq!(
        m.referrers(&r, &subject.meta.digest)
            .await
            .must("referrers")
            .len(),
        1
    );

    assert!(m.delete_manifest(&r, &rd).await.must("delete referrer"));
    assert!(!m.delete_manifest(&r, &rd).await.must("delete again"));
    assert!(
        m.get_manifest(&r, &by_digest(&rd))
            .await
            .must("get")
            .is_none()
    );
    assert!(
        m.get_manifest(&r, &by_tag("sig"))
            .await
            .must("get")
            .is_none()
    );
    assert!(
        m.get_manifest(&r, &by_tag("sig2"))
            .await
            .must("get")
            .is_none()
    );
    assert_eq!(
        m.list_tags(&r, None, 10)
            .await
            .must("tags")
            .map(|p| p.items),
        Some(vec!["subj".to_owned()])
    );
    assert!(
        m.referrers(&r, &subject.meta.digest)
            .await
            .must("referrers")
            .is_empty()
    );
    assert!(m.record(&r, &rd).await.must("record").is_none());
    // blobs[0] is still referenced by the subject; nothing references blobs[1] once the
    // subject goes.
    assert!(
        m.unused_blobs(&blobs, i64::MAX)
            .await
            .must("unused")
            .is_empty()
    );
    assert!(
        m.delete_manifest(&r, &subject.meta.digest)
            .await
            .must("delete subject")
    );
    assert_eq!(
        m.unused_blobs(&blobs, i64::MAX).await.must("unused"),
        blobs,
        "no references remain"
    );
    // The last manifest is gone: so is the repository, and only it.
    assert_eq!(m.list_tags(&r, None, 10).await.must("tags"), None);
    assert_eq!(
        m.list_repositories(None, 10).await.must("catalog").items,
        vec!["acme/keep".to_owned()]
    );
    assert!(
        !m.delete_manifest(&r, &Digest::sha256(b"never"))
            .await
            .must("delete unknown")
    );
}

pub async fn meta_tag_pagination<M: MetadataStore>(m: Arc<M>) {
    let r = repo("acme/pages");
    // Byte order: digits < upper case < '_' < lower case.
    let names = ["1.0", "10", "2", "B", "_x", "a", "latest"];
    for (i, t) in names.iter().rev().enumerate() {
        m.put_manifest(manifest(&r, &format!("p{i}"), &[], &[], Some(t), None))
            .await
            .must("put");
    }
    let page = |last: Option<&'static str>, n: usize| {
        let m = m.clone();
        async move {
            m.list_tags(&repo("acme/pages"), last, n)
                .await
                .must("list_tags")
                .unwrap_or_else(|| panic!("repository missing"))
        }
    };
    let all = page(None, 100).await;
    assert_eq!(all.items, names);
    assert!(!all.more);
    let p1 = page(None, 3).await;
    assert_eq!(p1.items, names[..3]);
    assert!(p1.more);
    let p2 = page(Some("2"), 3).await;
    assert_eq!(p2.items, names[3..6]);
    assert!(p2.more);
    let p3 = page(Some("a"), 3).await;
    assert_eq!(p3.items, names[6..]);
    assert!(!p3.more);
    let exact = page(Some("_x"), 2).await;
    assert_eq!(exact.items, names[5..]);
    assert!(!exact.more);
    assert_eq!(page(Some("latest"), 3).await.items, Vec::<String>::new());
    assert_eq!(page(Some("zzz"), 3).await.items, Vec::<String>::new());
    // `last` need not be an existing tag.
    assert_eq!(page(Some("11"), 2).await.items, vec!["2", "B"]);
    let zero = page(None, 0).await;
    assert!(zero.items.is_empty());
    assert!(zero.more);
    // Tags of another repository with a shared prefix do not leak in.
    m.put_manifest(manifest(
        &repo("acme/pages2"),
        "q",
        &[],
        &[],
        Some("zz"),
        None,
    ))
    .await
    .must("put");
    m.put_manifest(manifest(&repo("acme/page"), "q", &[], &[], Some("0"), None))
        .await
        .must("put");
    assert_eq!(page(None, 100).await.items, names);
}

pub async fn meta_repository_pagination<M: MetadataStore>(m: Arc<M>) {
    let names = ["a", "a/b", "a-c", "b", "b/a/c", "c"];
    for (i, n) in names.iter().rev().enumerate() {
        m.put_manifest(manifest(&repo(n), &format!("r{i}"), &[], &[], None, None))
            .await
            .must("put");
    }
    let mut sorted = names.to_vec();
    sorted.sort();
    let all = m.list_repositories(None, 100).await.must("catalog");
    assert_eq!(all.items, sorted[..]);
    assert!(!all.more);
    let mut got = Vec::new();
    let mut last: Option<String> = None;
    loop {
        let p = m
            .list_repositories(last.as_deref(), 2)
            .await
            .must("catalog page");
        assert!(p.items.len() <= 2);
        got.extend(p.items.iter().cloned());
        last = p.items.last().cloned();
        if !p.more {
            break;
        }
    }
    assert_eq!(got, sorted);
    let zero = m.list_repositories(None, 0).await.must("n=0");
    assert!(zero.items.is_empty() && zero.more);
    let end = m.list_repositories(Some("c"), 5).await.must("past end");
    assert!(end.items.is_empty() && !end.more);
}

pub async fn meta_referrers<M: MetadataStore>(m: Arc<M>) {
    let r = repo("acme/refs");
    let subject = Digest::sha256(b"not stored anywhere");
    let sig = manifest(&r, "sig", &[], &[], None, Some(&subject));
    let sbom = manifest(&r, "sbom", &[], &[], Some("sbom"), Some(&subject));
    let unrelated = manifest(&r, "plain", &[], &[], Some("plain"), None);
    let elsewhere = manifest(&repo("acme/else"), "sig", &[], &[], None, Some(&subject));
    for p in [&sig, &sbom, &unrelated, &elsewhere] {
        m.put_manifest(p.clone()).await.must("put");
    }
    let mut got = m.referrers(&r, &subject).await.must("referrers");
    got.sort_by(|a, b| a.digest.cmp(&b.digest));
    let mut want = vec![sig.meta.clone(), sbom.meta.clone()];
    want.sort_by(|a, b| a.digest.cmp(&b.digest));
    assert_eq!(got, want, "same repository only, with artifact types");
    assert!(
        m.referrers(&r, &Digest::sha256(b"other"))
            .await
            .must("referrers")
            .is_empty()
    );
}

pub async fn meta_upload_sessions<M: MetadataStore>(m: Arc<M>) {
    let now = unix_now();
    let old = UploadSession {
        id: UploadId::new().to_string(),
        repo: repo("acme/up"),
        started_at: now - 7200,
    };
    let new = UploadSession {
        id: UploadId::new().to_string(),
        repo: repo("acme/up"),
        started_at: now,
    };
    m.upload_create(&old).await.must("create");
    m.upload_create(&new).await.must("create");
    let old_id = old.upload_id().unwrap_or_else(|| panic!("id"));
    assert_eq!(m.upload_get(&old_id).await.must("get"), Some(old.clone()));
    assert_eq!(
        m.uploads_started_before(now - 3600).await.must("before"),
        vec![old.clone()]
    );
    m.upload_remove(&old_id).await.must("remove");
    m.upload_remove(&old_id).await.must("remove again");
    assert_eq!(m.upload_get(&old_id).await.must("get"), None);
    assert!(
        m.uploads_started_before(now - 3600)
            .await
            .must("before")
            .is_empty()
    );
    assert_eq!(
        m.uploads_started_before(now + 1).await.must("before"),
        vec![new]
    );
}

pub async fn meta_records<M: MetadataStore>(m: Arc<M>) {
    let mut want = Vec::new();
    for (ri, rname) in ["b/agent", "a/agent", "a/zeta"].iter().enumerate() {
        let r = repo(rname);
        for i in 0..3 {
            let mut p = manifest(&r, &format!("rec{ri}-{i}"), &[], &[], None, None);
            p.record = Some(record(&format!("{rname}-{i}")));
            want.push((
                r.clone(),
                p.meta.digest.clone(),
                p.record.clone().unwrap_or_default(),
            ));
            m.put_manifest(p).await.must("put");
        }
        // A manifest without a record adds none.
        m.put_manifest(manifest(&r, &format!("norec{ri}"), &[], &[], None, None))
            .await
            .must("put");
    }
    want.sort_by(|a, b| (a.0.as_str(), &a.1).cmp(&(b.0.as_str(), &b.1)));
    let mut got = Vec::new();
    let mut after: Option<(RepoName, Digest)> = None;
    loop {
        let page = m
            .records(after.as_ref().map(|(r, d)| (r, d)), 4)
            .await
            .must("records");
        assert!(page.items.len() <= 4);
        for e in &page.items {
            got.push((e.repo.clone(), e.manifest_digest.clone(), e.record.clone()));
        }
        after = page
            .items
            .last()
            .map(|e| (e.repo.clone(), e.manifest_digest.clone()));
        if !page.more {
            break;
        }
    }
    assert_eq!(got, want);
    // Re-putting with a new record replaces it; without one leaves it.
    let (r, d, _) = &want[0];
    let stored = m
        .get_manifest(r, &by_digest(d))
        .await
        .must("get")
        .unwrap_or_else(|| panic!("manifest"));
    let mut p = ManifestPut {
        repo: r.clone(),
        meta: stored.meta.clone(),
        bytes: stored.bytes.clone(),
        blobs: vec![],
        manifests: vec![],
        tag: None,
        record: Some(record("replaced")),
    };
    m.put_manifest(p.clone()).await.must("re-put");
    let got = m.record(r, d).await.must("record").map(|e| e.record);
    assert_eq!(got, Some(record("replaced")));
    p.record = None;
    m.put_manifest(p).await.must("re-put without record");
    let got = m.record(r, d).await.must("record").map(|e| e.record);
    assert_eq!(got, Some(record("replaced")));
}

pub async fn meta_unused_and_release<M: MetadataStore>(m: Arc<M>) {
    let r = repo("acme/gc");
    let ds = linked(&*m, &r, &["referenced", "stale", "fresh"]).await;
    let (referenced, stale, fresh) = (ds[0].clone(), ds[1].clone(), ds[2].clone());
    let orphan = Digest::sha256(b"never linked");
    m.put_manifest(manifest(
        &r,
        "uses",
        std::slice::from_ref(&referenced),
        &[],
        None,
        None,
    ))
    .await
    .must("put");
    let all = vec![
        referenced.clone(),
        stale.clone(),
        fresh.clone(),
        orphan.clone(),
    ];
    let now = unix_now();
    // Links made now protect against a cutoff in the past ...
    let mut unused = m.unused_blobs(&all, now - 3600).await.must("unused");
    unused.sort();
    assert_eq!(unused, vec![orphan.clone()]);
    // ... and do not against one in the future; references always protect.
    let mut unused = m.unused_blobs(&all, now + 3600).await.must("unused");
    unused.sort();
    let mut want = vec![stale.clone(), fresh.clone(), orphan.clone()];
    want.sort();
    assert_eq!(unused, want);
    // Refresh `fresh`'s link: release with a cutoff of now keeps it.
    m.link_blob(&r, &fresh, 5).await.must("relink");
    let mut released = m.release_blobs(&all, now + 3600).await.must("release");
    released.sort();
    assert_eq!(released, want);
    assert_eq!(m.blob_link(&r, &stale).await.must("link"), None);
    assert_eq!(m.blob_link(&r, &fresh).await.must("link"), None);
    assert_eq!(
        m.blob_link(&r, &referenced).await.must("link"),
        Some(10),
        "a referenced blob keeps its links"
    );
    m.link_blob(&r, &fresh, 5).await.must("relink");
    assert!(
        m.release_blobs(std::slice::from_ref(&fresh), now - 3600)
            .await
            .must("release")
            .is_empty()
    );
    assert_eq!(m.blob_link(&r, &fresh).await.must("link"), Some(5));
}

pub async fn meta_concurrent_puts<M: MetadataStore>(m: Arc<M>) {
    let mut tasks = Vec::new();
    for t in 0..8 {
        let m = m.clone();
        tasks.push(tokio::spawn(async move {
            let r = repo(&format!("conc/r{}", t % 3));
            let mut digests = Vec::new();
            for i in 0..10 {
                let b = Digest::sha256(format!("blob{t}-{i}").as_bytes());
                m.link_blob(&r, &b, 1).await.must("link");
                let p = manifest(
                    &r,
                    &format!("c{t}-{i}"),
                    &[b],
                    &[],
                    Some(&format!("t{t}-{i}")),
                    None,
                );
                digests.push((r.clone(), p.meta.digest.clone()));
                m.put_manifest(p).await.must("put");
            }
            digests
        }));
    }
    for t in tasks {
        for (r, d) in t.await.unwrap_or_else(|e| panic!("task: {e}")) {
            assert!(
                m.get_manifest(&r, &by_digest(&d))
                    .await
                    .must("get")
                    .is_some()
            );
        }
    }
    let mut tags = 0;
    for i in 0..3 {
        tags += m
            .list_tags(&repo(&format!("conc/r{i}")), None, 1000)
            .await
            .must("tags")
            .map(|p| p.items.len())
            .unwrap_or(0);
    }
    assert_eq!(tags, 80);
}

/// Concurrent puts where every other one names a missing blob: the failures leave no trace
/// and do not affect the puts that were valid (backends that batch commits must keep them
/// apart).
pub async fn meta_concurrent_failures_are_isolated<M: MetadataStore>(m: Arc<M>) {
    let r = repo("conc/mixed");
    let good_blob = linked(&*m, &r, &["good"]).await.remove(0);
    let mut tasks = Vec::new();
    for t in 0..16 {
        let (m, r, good_blob) = (m.clone(), r.clone(), good_blob.clone());
        tasks.push(tokio::spawn(async move {
            let blob = if t % 2 == 0 {
                good_blob
            } else {
                Digest::sha256(format!("missing {t}").as_bytes())
            };
            let mut p = manifest(
                &r,
                &format!("mixed{t}"),
                &[blob],
                &[],
                Some(&format!("t{t}")),
                None,
            );
            p.record = Some(record("mixed"));
            let result = m.put_manifest(p.clone()).await;
            (t, p, result)
        }));
    }
    for task in tasks {
        let (t, p, result) = task.await.unwrap_or_else(|e| panic!("task: {e}"));
        let visible = m
            .get_manifest(&r, &by_digest(&p.meta.digest))
            .await
            .must("get")
            .is_some();
        let tagged = m
            .get_manifest(&r, &by_tag(&format!("t{t}")))
            .await
            .must("get")
            .is_some();
        let recorded = m.record(&r, &p.meta.digest).await.must("record").is_some();
        if t % 2 == 0 {
            assert!(result.is_ok(), "valid put {t} failed: {result:?}");
            assert!(visible && tagged && recorded, "valid put {t} incomplete");
        } else {
            assert!(
                matches!(result, Err(StoreError::BlobUnknown(_))),
                "put {t}: {result:?}"
            );
            assert!(
                !visible && !tagged && !recorded,
                "failed put {t} left a trace"
            );
        }
    }
}

// ---------------------------------------------------------------------------------------------
// garbage collection over a pair of stores

/// Runs every garbage-collection case as its own `#[tokio::test]` on a blob store and a
/// metadata store together: `make` yields `(blob store, metadata store, guard)`, fresh and
/// empty.
#[macro_export]
macro_rules! gc_suite {
    ($make:expr $(,)?) => {
        $crate::__store_pair_suite_tests! {
            $make;
            gc_removes_only_unused,
            gc_races_with_pushes,
            gc_expires_uploads,
        }
    };
}

async fn stored_and_linked<S: BlobStore, M: MetadataStore>(
    s: &S,
    m: &M,
    r: &RepoName,
    data: &[u8],
) -> Digest {
    let d = put_bytes(s, data).await;
    m.link_blob(r, &d, data.len() as u64).await.must("link");
    d
}

fn later(hours: u64) -> GcOptions {
    GcOptions {
        dry_run: false,
        grace: Duration::from_secs(3600),
        now: SystemTime::now() + Duration::from_secs(3600 * hours),
    }
}

pub async fn gc_removes_only_unused<S: BlobStore, M: MetadataStore>(s: Arc<S>, m: Arc<M>) {
    let r = repo("acme/gc");
    let used = stored_and_linked(&*s, &*m, &r, b"referenced blob").await;
    let unused = stored_and_linked(&*s, &*m, &r, b"unreferenced blob").await;
    let orphan = put_bytes(&*s, b"never linked").await;
    let put = manifest(&r, "gc", std::slice::from_ref(&used), &[], Some("v1"), None);
    m.put_manifest(put.clone()).await.must("put");

    // Everything is younger than the grace period.
    let report = gc::collect(&*s, &*m, GcOptions::default())
        .await
        .must("gc now");
    assert_eq!(
        (report.examined, report.removed.len(), report.kept),
        (3, 0, 3)
    );

    // Two hours later, as a dry run: reported, not removed.
    let dry = gc::collect(
        &*s,
        &*m,
        GcOptions {
            dry_run: true,
            ..later(2)
        },
    )
    .await
    .must("dry run");
    let mut removed: Vec<Digest> = dry.removed.iter().map(|(d, _)| d.clone()).collect();
    removed.sort();
    let mut want = vec![unused.clone(), orphan.clone()];
    want.sort();
    assert_eq!(removed, want);
    assert_eq!(dry.bytes_freed, 17 + 12);
    assert_eq!(dry.kept, 1);
    assert!(s.stat(&unused).await.must("stat").is_some());
    assert!(m.blob_link(&r, &unused).await.must("link").is_some());

    let real = gc::collect(&*s, &*m, later(2)).await.must("gc");
    let mut removed_real: Vec<(Digest, u64)> = real.removed.clone();
    removed_real.sort();
    let mut dry_removed = dry.removed.clone();
    dry_removed.sort();
    assert_eq!(
        removed_real, dry_removed,
        "the dry run predicted the real run"
    );
    assert_eq!(real.bytes_freed, 29);
    assert_eq!(s.stat(&unused).await.must("stat"), None);
    assert_eq!(s.stat(&orphan).await.must("stat"), None);
    assert_eq!(m.blob_link(&r, &unused).await.must("link"), None);
    assert_eq!(s.stat(&used).await.must("stat"), Some(15));
    assert_eq!(m.blob_link(&r, &used).await.must("link"), Some(15));

    // Once the manifest is deleted its blob goes too.
    m.delete_manifest(&r, &put.meta.digest).await.must("delete");
    let last = gc::collect(&*s, &*m, later(2)).await.must("gc");
    assert_eq!(last.removed, vec![(used.clone(), 15)]);
    assert_eq!(s.list().count().await, 0);
}

/// GC runs in a loop while two clients push: one naming old blobs it linked earlier, one
/// re-uploading old content before naming it. Whatever the interleaving, every manifest
/// whose put succeeded must have all its blobs readable afterwards.
pub async fn gc_races_with_pushes<S: BlobStore, M: MetadataStore>(s: Arc<S>, m: Arc<M>) {
    let r = repo("acme/race");
    let mut old = Vec::new();
    for i in 0..24 {
        old.push((
            stored_and_linked(&*s, &*m, &r, format!("old blob {i}").as_bytes()).await,
            format!("old blob {i}"),
        ));
    }
    let mut garbage = Vec::new();
    for i in 0..8 {
        garbage.push(stored_and_linked(&*s, &*m, &r, format!("garbage {i}").as_bytes()).await);
    }
    // Everything above is "old": collections during the race use a cutoff taken now (after
    // the wall clock has left the second the setup links were stamped in), so the setup's
    // blobs are fair game and anything written or linked during the race is fresh, as it
    // would be with a real grace period.
    let stamped = unix_now();
    while unix_now() == stamped {
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let cutoff = SystemTime::now();

    let done = Arc::new(AtomicBool::new(false));
    let gc_task = {
        let (s, m, done) = (s.clone(), m.clone(), done.clone());
        tokio::spawn(async move {
            let mut removed = 0;
            while !done.load(Ordering::SeqCst) {
                let opts = GcOptions {
                    dry_run: false,
                    grace: Duration::ZERO,
                    now: cutoff,
                };
                removed += gc::collect(&*s, &*m, opts).await.must("gc").removed.len();
                tokio::task::yield_now().await;
            }
            removed
        })
    };
    let namer = {
        let (m, old, r) = (m.clone(), old.clone(), r.clone());
        tokio::spawn(async move {
            let mut ok = Vec::new();
            for i in 0..40 {
                let blobs = [old[i % 12].0.clone(), old[(i + 5) % 12].0.clone()];
                let p = manifest(
                    &r,
                    &format!("namer{i}"),
                    &blobs,
                    &[],
                    Some(&format!("n{i}")),
                    None,
                );
                match m.put_manifest(p.clone()).await {
                    Ok(()) => ok.push(p),
                    Err(StoreError::BlobUnknown(_)) => {}
                    Err(e) => panic!("put_manifest: {e}"),
                }
                tokio::task::yield_now().await;
            }
            ok
        })
    };
    let reuploader = {
        let (s, m, old, r) = (s.clone(), m.clone(), old.clone(), r.clone());
        tokio::spawn(async move {
            let mut ok = Vec::new();
            for i in 0..40 {
                let (d, text) = &old[12 + i % 12];
                put_bytes(&*s, text.as_bytes()).await;
                m.link_blob(&r, d, text.len() as u64).await.must("link");
                let p = manifest(
                    &r,
                    &format!("re{i}"),
                    std::slice::from_ref(d),
                    &[],
                    None,
                    None,
                );
                match m.put_manifest(p.clone()).await {
                    Ok(()) => ok.push(p),
                    Err(StoreError::BlobUnknown(_)) => {}
                    Err(e) => panic!("put_manifest: {e}"),
                }
            }
            ok
        })
    };
    let mut ok = namer.await.unwrap_or_else(|e| panic!("namer: {e}"));
    ok.extend(
        reuploader
            .await
            .unwrap_or_else(|e| panic!("reuploader: {e}")),
    );
    done.store(true, Ordering::SeqCst);
    let removed = gc_task.await.unwrap_or_else(|e| panic!("gc: {e}"));
    assert!(
        removed >= garbage.len(),
        "the collections during the race did remove garbage"
    );
    // Then once more with everything old: references alone must keep the named blobs.
    gc::collect(&*s, &*m, later(2)).await.must("final gc");

    assert!(!ok.is_empty(), "some pushes succeed");
    for p in &ok {
        assert!(
            m.get_manifest(&r, &by_digest(&p.meta.digest))
                .await
                .must("get")
                .is_some()
        );
        for b in &p.blobs {
            let (_, bytes) = read_all(&*s, b, None).await.unwrap_or_else(|| {
                panic!("manifest {} names {b}, which GC removed", p.meta.digest)
            });
            assert!(b.verifies(&bytes), "blob {b} intact");
        }
    }
    for g in &garbage {
        assert_eq!(s.stat(g).await.must("stat"), None, "garbage {g} collected");
    }
}

pub async fn gc_expires_uploads<S: BlobStore, M: MetadataStore>(s: Arc<S>, m: Arc<M>) {
    let now = SystemTime::now();
    let r = repo("acme/uploads");
    let session = |started_at: i64| UploadSession {
        id: UploadId::new().to_string(),
        repo: r.clone(),
        started_at,
    };
    let id_of = |s: &UploadSession| s.upload_id().unwrap_or_else(|| panic!("id"));
    // An old session still receiving data, a recent one, an orphan area, an area-less session.
    let active = session(unix_now() - 7200);
    let recent = session(unix_now());
    let arealess = session(unix_now() - 7200);
    let orphan = UploadId::new();
    for sess in [&active, &recent] {
        m.upload_create(sess).await.must("create");
        s.upload_start(&id_of(sess)).await.must("start");
        append(&*s, &id_of(sess), 0, b"chunk").await.must("append");
    }
    m.upload_create(&arealess).await.must("create");
    s.upload_start(&orphan).await.must("start orphan");

    let hour = Duration::from_secs(3600);
    // Cutoff an hour ago: only the area-less session qualifies (the old session's area was
    // written just now).
    let n = gc::expire_uploads(&*s, &*m, now - hour)
        .await
        .must("expire");
    assert_eq!(n, 1);
    assert!(m.upload_get(&id_of(&arealess)).await.must("get").is_none());
    assert!(m.upload_get(&id_of(&active)).await.must("get").is_some());
    assert_eq!(s.upload_size(&id_of(&active)).await.must("size"), Some(5));
    assert_eq!(s.upload_size(&orphan).await.must("size"), Some(0));

    // An hour from now, everything is abandoned.
    let n = gc::expire_uploads(&*s, &*m, now + hour)
        .await
        .must("expire");
    assert_eq!(n, 3);
    for id in [id_of(&active), id_of(&recent), orphan] {
        assert_eq!(s.upload_size(&id).await.must("size"), None);
        assert!(m.upload_get(&id).await.must("get").is_none());
    }
    assert!(s.upload_list().await.must("list").is_empty());
    assert_eq!(
        gc::expire_uploads(&*s, &*m, now + hour).await.must("again"),
        0
    );
}
