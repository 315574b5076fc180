//! Storage seams of agentry.
//!
//! Two small traits hold everything a registry pod persists:
//!
//! * [`BlobStore`]: content-addressed bytes (layers, configs, record documents) and the
//!   resumable upload areas they are written through. The embedded implementation is
//!   [`FsBlobStore`] (local filesystem).
//! * [`MetadataStore`]: repositories, tags, manifests (their bytes too), referrers, blob links,
//!   upload sessions and extracted agent records, with transactional writes. The embedded
//!   implementation is [`RedbMetadataStore`].
//!
//! Every implementation must pass [`testsuite`] (feature `testsuite`). [`gc`] removes
//! unreferenced blobs and abandoned uploads through the two traits, safely while the registry
//! serves requests. Feature `fault-injection` adds hooks that make the embedded stores fail,
//! tear or crash mid-write, for tests.
//!
//! ## Invariants
//!
//! * Nothing becomes visible under a digest until its bytes were hashed by us and matched.
//! * A write that returned `Ok` survives `kill -9` immediately after (fsync before rename,
//!   durable commits). Upload chunks and upload sessions are the exception: they are not
//!   acknowledged as stored until the upload finishes.
//! * Garbage collection never removes a blob that a stored manifest names (references and
//!   link removal are decided in one transaction) nor bytes written within its grace period.
//! * A manifest, its tag, its blob references, its referrer entry and its agent record commit in
//!   one transaction: all or nothing.

pub mod blob;
pub mod error;
pub mod fs;
pub mod gc;
pub mod meta;
pub mod redb_meta;
#[cfg(feature = "testsuite")]
pub mod testsuite;

pub use blob::{BlobInfo, BlobRead, BlobStore, ByteRange, ByteStream, UploadId};
pub use error::{StoreError, StoreResult};
pub use fs::FsBlobStore;
pub use gc::{GcOptions, GcReport, collect, expire_uploads};
pub use meta::{
    ManifestMeta, ManifestPut, MetadataStore, Page, RecordEntry, StoredManifest, UploadSession,
};
pub use redb_meta::RedbMetadataStore;
