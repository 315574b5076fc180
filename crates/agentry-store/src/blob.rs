//! The blob-store seam: content-addressed bytes and resumable uploads.

use std::fmt;
use std::pin::Pin;
use std::time::SystemTime;

use agentry_types::Digest;
use async_trait::async_trait;
use bytes::Bytes;
use futures::Stream;
use futures::stream::BoxStream;

use crate::error::StoreResult;

/// A stream of bytes: request bodies going in, blob contents coming out.
pub type ByteStream = Pin<Box<dyn Stream<Item = std::io::Result<Bytes>> + Send>>;

/// Server-generated upload session id (a UUID). Parsing rejects anything else, so an id taken
/// from a URL is safe as a file name.
#[derive(Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct UploadId(String);

impl UploadId {
    pub fn new() -> UploadId {
        UploadId(uuid::Uuid::new_v4().to_string())
    }

    /// `None` for anything that is not a UUID in its hyphenated lowercase form.
    pub fn parse(s: &str) -> Option<UploadId> {
        let u = uuid::Uuid::try_parse(s).ok()?;
        let canonical = u.hyphenated().to_string();
        (canonical == s).then_some(UploadId(canonical))
    }

    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl Default for UploadId {
    fn default() -> Self {
        UploadId::new()
    }
}

impl fmt::Display for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl fmt::Debug for UploadId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "UploadId({})", self.0)
    }
}

/// An inclusive byte range `first..=last`, as in HTTP `Range: bytes=first-last`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ByteRange {
    pub first: u64,
    pub last: u64,
}

impl ByteRange {
    pub fn len(&self) -> u64 {
        self.last - self.first + 1
    }

    pub fn is_empty(&self) -> bool {
        false
    }
}

/// An open blob: its total size and a stream over the requested bytes.
pub struct BlobRead {
    pub size: u64,
    pub stream: ByteStream,
}

/// One stored blob, as listed for garbage collection.
#[derive(Debug, Clone)]
pub struct BlobInfo {
    pub digest: Digest,
    pub size: u64,
    pub modified: SystemTime,
}

/// Content-addressed blob storage.
///
/// Implementations must hash every byte they store themselves and refuse to make content
/// visible under a digest it does not match. Writes that return `Ok` must be durable.
#[async_trait]
pub trait BlobStore: Send + Sync + 'static {
    /// Size of the blob, or `None` when absent.
    async fn stat(&self, digest: &Digest) -> StoreResult<Option<u64>>;

    /// Open the blob, the whole of it or `range` (already checked against the size by the
    /// caller via [`BlobStore::stat`]; a range reaching past the end is clamped to the end, one
    /// starting at or past the end yields no bytes). `None` when the blob is absent. The
    /// stream reads from disk as it is polled: large blobs are never loaded whole.
    async fn read(
        &self,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> StoreResult<Option<BlobRead>>;

    /// Store `body` under `expected`, streaming (never buffering the whole body). When
    /// `expected_len` is given, a body of another length fails with `SizeMismatch`; bodies
    /// over `limit` fail with `TooLarge` (reading stops at the first byte past the limit). A
    /// body that does not hash to `expected` fails with `DigestMismatch`. On any error nothing
    /// is stored. Idempotent for content already present: the body is still read and verified,
    /// and the stored copy counts as freshly written afterwards (so a concurrent
    /// [`BlobStore::delete_if_stale`] cannot remove content a client was just told is stored).
    /// Returns the size.
    async fn put(
        &self,
        expected: &Digest,
        body: ByteStream,
        expected_len: Option<u64>,
        limit: u64,
    ) -> StoreResult<u64>;

    /// Remove the blob unconditionally. Returns whether it existed. Garbage collection uses
    /// [`BlobStore::delete_if_stale`] instead, which is safe against concurrent uploads.
    async fn delete(&self, digest: &Digest) -> StoreResult<bool>;

    /// Remove the blob unless it was written (by `put`, `upload_finish`, or an idempotent
    /// re-put of the same content) at or after `written_before`, even when such a write races
    /// with this call. Returns the size freed, or `None` when the blob was absent or fresh.
    ///
    /// Why: garbage collection decides a blob is unused from the metadata, then deletes its
    /// bytes; a client re-uploading the same content in between must not lose it.
    async fn delete_if_stale(
        &self,
        digest: &Digest,
        written_before: SystemTime,
    ) -> StoreResult<Option<u64>>;

    /// Every stored blob, as a stream (a pod may hold millions; garbage collection processes
    /// them in batches instead of holding one list). Order is unspecified.
    fn list(&self) -> BoxStream<'static, StoreResult<BlobInfo>>;

    /// Open an empty upload area.
    async fn upload_start(&self, id: &UploadId) -> StoreResult<()>;

    /// Append `body` at `offset`, which must equal the current upload size (otherwise
    /// `RangeMismatch`, and nothing is written). `expected_len` and `limit` as for
    /// [`BlobStore::put`], `limit` applying to the whole upload. Returns the new upload size.
    /// On any error (including the body failing mid-way, or the call being cancelled) the
    /// upload keeps its previous size and content. Concurrent appends to one upload are
    /// serialised, never interleaved; `UploadUnknown` when the upload does not exist.
    ///
    /// Appended chunks become durable only when the upload finishes: after a crash an upload
    /// may resume shorter than acknowledged (or be gone), never silently wrong, because
    /// [`BlobStore::upload_finish`] verifies the digest.
    async fn upload_append(
        &self,
        id: &UploadId,
        offset: u64,
        body: ByteStream,
        expected_len: Option<u64>,
        limit: u64,
    ) -> StoreResult<u64>;

    /// Current size of the upload, or `None` when the upload is unknown.
    async fn upload_size(&self, id: &UploadId) -> StoreResult<Option<u64>>;

    /// Verify the upload against `expected` and move it into the store (durably). On a digest
    /// mismatch the upload is discarded and `DigestMismatch` returned; `UploadUnknown` when
    /// the upload does not exist. Returns the size.
    async fn upload_finish(&self, id: &UploadId, expected: &Digest) -> StoreResult<u64>;

    /// Discard the upload area (no error when already gone).
    async fn upload_abort(&self, id: &UploadId) -> StoreResult<()>;

    /// Upload areas present, with their last modification time (for expiring abandoned ones,
    /// including any a crash left behind without a session record).
    async fn upload_list(&self) -> StoreResult<Vec<(UploadId, SystemTime)>>;
}
