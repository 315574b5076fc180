//! The metadata-store seam: repositories, tags, manifests, referrers, blob links, upload
//! sessions and agent records.

use std::collections::BTreeMap;

use agentry_types::{AgentRecord, Digest, ManifestRef, RepoName, Tag};
use async_trait::async_trait;
use bytes::Bytes;
use serde::{Deserialize, Serialize};

use crate::blob::UploadId;
use crate::error::StoreResult;

/// What is known about a stored manifest, without its bytes.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ManifestMeta {
    pub digest: Digest,
    /// The manifest's own media type (`application/vnd.oci.image.manifest.v1+json`, …).
    pub media_type: String,
    pub size: u64,
    /// `artifactType`, or for image manifests without one the config media type, as the
    /// referrers API reports it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub artifact_type: Option<String>,
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub subject: Option<Digest>,
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub annotations: BTreeMap<String, String>,
    /// Unix seconds when this manifest was first stored in this repository.
    pub created_at: i64,
}

/// A manifest with its exact bytes.
#[derive(Debug, Clone)]
pub struct StoredManifest {
    pub meta: ManifestMeta,
    pub bytes: Bytes,
}

/// An agent record extracted from a manifest, stored in the same transaction.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct RecordEntry {
    pub repo: RepoName,
    pub manifest_digest: Digest,
    pub record: AgentRecord,
}

/// Everything `put_manifest` commits atomically.
#[derive(Debug, Clone)]
pub struct ManifestPut {
    pub repo: RepoName,
    pub meta: ManifestMeta,
    pub bytes: Bytes,
    /// Blobs the manifest references (config, layers). Each must be linked into `repo`,
    /// otherwise the put fails with `StoreError::BlobUnknown(first missing)`.
    pub blobs: Vec<Digest>,
    /// Manifests an index references. Each must exist in `repo` (else `BlobUnknown`).
    pub manifests: Vec<Digest>,
    /// Tag to point at this manifest (`None` for a push by digest).
    pub tag: Option<Tag>,
    /// Extracted agent record, replacing any earlier record of this manifest.
    pub record: Option<AgentRecord>,
}

/// A resumable upload in progress.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct UploadSession {
    pub id: String,
    pub repo: RepoName,
    /// Unix seconds.
    pub started_at: i64,
}

impl UploadSession {
    pub fn upload_id(&self) -> Option<UploadId> {
        UploadId::parse(&self.id)
    }
}

/// A page of a lexically ordered listing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    pub items: Vec<T>,
    /// True when more items follow the last one returned.
    pub more: bool,
}

/// Transactional metadata. Writes that return `Ok` are durable.
#[async_trait]
pub trait MetadataStore: Send + Sync + 'static {
    // ---- blob links: which repository may serve which blob ----

    /// Record that `digest` (already in the blob store) belongs to `repo`. Linking again
    /// refreshes the link's time, which protects the blob from garbage collection for the
    /// grace period (a client that just uploaded it is about to reference it).
    async fn link_blob(&self, repo: &RepoName, digest: &Digest, size: u64) -> StoreResult<()>;
    /// Cross-repository mount, in one transaction: if `digest` is linked into `from`, link it
    /// into `to` (as `link_blob` would) and return its size; otherwise change nothing and
    /// return `None`. One transaction because a separate check-then-link could link a blob
    /// that garbage collection releases in between.
    async fn mount_blob(
        &self,
        from: &RepoName,
        to: &RepoName,
        digest: &Digest,
    ) -> StoreResult<Option<u64>>;
    /// Repositories `digest` is linked into, in lexical order, at most `n`: where a mount
    /// without `from` can take the blob from.
    async fn blob_repositories(&self, digest: &Digest, n: usize) -> StoreResult<Vec<RepoName>>;
    /// Size of the blob if it is linked into `repo`.
    async fn blob_link(&self, repo: &RepoName, digest: &Digest) -> StoreResult<Option<u64>>;
    /// Remove the link. Returns whether it existed.
    async fn unlink_blob(&self, repo: &RepoName, digest: &Digest) -> StoreResult<bool>;

    // ---- manifests and tags ----

    /// Commit a manifest with its tag, references, referrer entry and record, atomically.
    ///
    /// Fails, changing nothing, with `DigestMismatch` when `put.bytes` do not hash to
    /// `put.meta.digest` or `SizeMismatch` when `put.meta.size` is not their length, and with
    /// `BlobUnknown(first missing)` when a blob is not linked into the repository or an index
    /// child is not stored in it. Putting a manifest that is already stored is idempotent
    /// (its `created_at` stays the first one); the tag moves to it, and the record is replaced.
    async fn put_manifest(&self, put: ManifestPut) -> StoreResult<()>;
    /// The manifest a tag or digest names in `repo`.
    async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> StoreResult<Option<StoredManifest>>;
    /// Like `get_manifest` without the bytes.
    async fn manifest_meta(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> StoreResult<Option<ManifestMeta>>;
    /// Delete a manifest from `repo` with every tag pointing at it, its references, its
    /// referrer entry and its record. Returns whether it existed.
    async fn delete_manifest(&self, repo: &RepoName, digest: &Digest) -> StoreResult<bool>;
    /// Delete one tag (the manifest stays). Returns whether it existed.
    async fn delete_tag(&self, repo: &RepoName, tag: &Tag) -> StoreResult<bool>;
    /// Tags of `repo` in lexical (byte) order, strictly after `last`, at most `n`. `None` when
    /// the repository does not exist (holds no manifest); `Some` with no items when it holds
    /// only untagged manifests.
    async fn list_tags(
        &self,
        repo: &RepoName,
        last: Option<&str>,
        n: usize,
    ) -> StoreResult<Option<Page<String>>>;
    /// Repositories holding at least one manifest, lexical order, strictly after `last`.
    async fn list_repositories(&self, last: Option<&str>, n: usize) -> StoreResult<Page<String>>;
    /// Manifests in `repo` whose `subject` is `subject`, ordered by digest. The subject need
    /// not exist.
    async fn referrers(&self, repo: &RepoName, subject: &Digest) -> StoreResult<Vec<ManifestMeta>>;

    // ---- upload sessions ----
    //
    // Sessions may be committed without fsync: an upload is not acknowledged as stored until
    // it finishes, and after a crash a lost session just means the client starts again.

    /// Record a new session (replacing one with the same id).
    async fn upload_create(&self, session: &UploadSession) -> StoreResult<()>;
    async fn upload_get(&self, id: &UploadId) -> StoreResult<Option<UploadSession>>;
    /// Forget the session (no error when already gone).
    async fn upload_remove(&self, id: &UploadId) -> StoreResult<()>;
    /// Sessions started before `before` (unix seconds).
    async fn uploads_started_before(&self, before: i64) -> StoreResult<Vec<UploadSession>>;

    // ---- agent records ----

    /// The record extracted from the manifest `digest` in `repo`.
    async fn record(&self, repo: &RepoName, digest: &Digest) -> StoreResult<Option<RecordEntry>>;
    /// The same record as its stored JSON serialisation, not decoded: the discovery API
    /// answers it as is (decoding and re-encoding a record with its skills' JSON Schemas
    /// costs ten times more than the rest of the lookup).
    async fn record_json(&self, repo: &RepoName, digest: &Digest) -> StoreResult<Option<Bytes>>;
    /// All records, ordered by (repo, manifest digest), strictly after `after`, at most `n`:
    /// the feed `agentry reindex` rebuilds the search index from.
    async fn records(
        &self,
        after: Option<(&RepoName, &Digest)>,
        n: usize,
    ) -> StoreResult<Page<RecordEntry>>;

    // ---- garbage collection ----

    //
    // A blob is *in use* when some manifest references it (config, layer) or some repository
    // linked it at or after `linked_before` (unix seconds): the grace period that covers a
    // client between uploading blobs and putting the manifest naming them. Both calls take a
    // batch, so collecting millions of blobs needs neither one transaction per blob nor the
    // whole live set in memory.

    /// The digests of `candidates` that are not in use (read-only; for a dry run and to
    /// skip write transactions for blobs that are plainly live).
    async fn unused_blobs(
        &self,
        candidates: &[Digest],
        linked_before: i64,
    ) -> StoreResult<Vec<Digest>>;
    /// In one transaction: for each of `candidates` not in use, remove every link to it. Returns
    /// those released; the caller then deletes their bytes. A `put_manifest` or `mount_blob`
    /// racing with this either commits first (and the blob stays in use) or fails with
    /// `BlobUnknown` / `None`.
    async fn release_blobs(
        &self,
        candidates: &[Digest],
        linked_before: i64,
    ) -> StoreResult<Vec<Digest>>;

    // ---- readiness ----

    /// Cheap check that the store answers (the pod's `/ready`). Backends on a network
    /// service override it with a bounded, cached probe.
    async fn ping(&self) -> StoreResult<()> {
        self.list_repositories(None, 1).await.map(|_| ())
    }
}
