//! Garbage collection of unreferenced blobs and abandoned uploads, safe while the registry
//! serves requests.
//!
//! ## Why it is safe online
//!
//! A blob is removed in three steps, each guarding against one race:
//!
//! 1. Its file must be older than the grace period (`BlobInfo::modified`): content written
//!    recently belongs to a push in progress.
//! 2. [`MetadataStore::release_blobs`] removes its links *in one transaction* only if no
//!    manifest references it and no repository linked it within the grace period. A concurrent
//!    `put_manifest` naming it either commits first (the blob is then referenced and kept) or
//!    finds the link gone and fails with `BlobUnknown`, so no stored manifest ever names a
//!    released blob. `mount_blob` is atomic for the same reason.
//! 3. [`BlobStore::delete_if_stale`] deletes the bytes unless a client re-uploaded the same
//!    content after the cutoff (a re-put marks the blob freshly written), so an upload that
//!    raced with step 2 keeps its bytes, and links them afresh.
//!
//! The one assumption: a client links a blob (the registry does this right after storing it)
//! sooner than `grace` after writing it. The default grace is an hour.

use std::collections::HashMap;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use agentry_types::Digest;
use futures::StreamExt;

use crate::blob::{BlobInfo, BlobStore};
use crate::error::StoreResult;
use crate::meta::MetadataStore;

/// Blobs examined per metadata transaction.
const BATCH: usize = 512;

/// How a collection runs.
#[derive(Debug, Clone)]
pub struct GcOptions {
    /// Report what would be removed, remove nothing.
    pub dry_run: bool,
    /// Blobs written or linked more recently than `now - grace` are kept whatever the
    /// references say: they belong to pushes in progress.
    pub grace: Duration,
    /// The collection's notion of the current time (tests move it forward; production passes
    /// `SystemTime::now()`).
    pub now: SystemTime,
}

impl Default for GcOptions {
    /// A real run with a one-hour grace period, now.
    fn default() -> Self {
        GcOptions {
            dry_run: false,
            grace: Duration::from_secs(3600),
            now: SystemTime::now(),
        }
    }
}

/// What a collection did (or, in a dry run, would do).
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct GcReport {
    /// Blobs looked at.
    pub examined: u64,
    /// Blobs removed, with their sizes (in a dry run: the ones that would be).
    pub removed: Vec<(Digest, u64)>,
    /// Sum of the sizes in `removed`.
    pub bytes_freed: u64,
    /// Blobs kept (`examined - removed.len()`).
    pub kept: u64,
}

fn unix_secs(t: SystemTime) -> i64 {
    t.duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

/// Remove every blob that no manifest references and no recent write or link protects.
pub async fn collect(
    blobs: &dyn BlobStore,
    meta: &dyn MetadataStore,
    opts: GcOptions,
) -> StoreResult<GcReport> {
    let cutoff = opts.now.checked_sub(opts.grace).unwrap_or(UNIX_EPOCH);
    // Links are stamped in whole seconds; rounding the cutoff down keeps a link made in the
    // cutoff's own second.
    let linked_before = unix_secs(cutoff);
    let mut report = GcReport::default();
    let mut listing = blobs.list();
    let mut batch: Vec<BlobInfo> = Vec::with_capacity(BATCH);
    while let Some(info) = listing.next().await {
        let info = info?;
        report.examined += 1;
        if info.modified >= cutoff {
            continue;
        }
        batch.push(info);
        if batch.len() == BATCH {
            collect_batch(
                blobs,
                meta,
                &opts,
                cutoff,
                linked_before,
                &batch,
                &mut report,
            )
            .await?;
            batch.clear();
        }
    }
    if !batch.is_empty() {
        collect_batch(
            blobs,
            meta,
            &opts,
            cutoff,
            linked_before,
            &batch,
            &mut report,
        )
        .await?;
    }
    report.bytes_freed = report.removed.iter().map(|(_, s)| s).sum();
    report.kept = report.examined - report.removed.len() as u64;
    Ok(report)
}

async fn collect_batch(
    blobs: &dyn BlobStore,
    meta: &dyn MetadataStore,
    opts: &GcOptions,
    cutoff: SystemTime,
    linked_before: i64,
    batch: &[BlobInfo],
    report: &mut GcReport,
) -> StoreResult<()> {
    let digests: Vec<Digest> = batch.iter().map(|b| b.digest.clone()).collect();
    // A read-only pass first: most blobs of a healthy registry are live, and this keeps the
    // write transaction (and its fsync) for the few that are not.
    let unused = meta.unused_blobs(&digests, linked_before).await?;
    if unused.is_empty() {
        return Ok(());
    }
    if opts.dry_run {
        let sizes: HashMap<&Digest, u64> = batch.iter().map(|b| (&b.digest, b.size)).collect();
        for d in unused {
            let size = sizes.get(&d).copied().unwrap_or(0);
            report.removed.push((d, size));
        }
        return Ok(());
    }
    for d in meta.release_blobs(&unused, linked_before).await? {
        if let Some(size) = blobs.delete_if_stale(&d, cutoff).await? {
            tracing::debug!(digest = %d, size, "garbage-collected blob");
            report.removed.push((d, size));
        }
    }
    Ok(())
}

/// Remove upload sessions started before `older_than` whose upload area has not been written
/// to since then (a long upload still receiving chunks is kept), sessions whose area is gone,
/// and upload areas without any session (left by a crash). Returns how many uploads were
/// removed.
pub async fn expire_uploads(
    blobs: &dyn BlobStore,
    meta: &dyn MetadataStore,
    older_than: SystemTime,
) -> StoreResult<usize> {
    let areas: HashMap<_, _> = blobs.upload_list().await?.into_iter().collect();
    let mut done = std::collections::HashSet::new();
    for session in meta.uploads_started_before(unix_secs(older_than)).await? {
        let Some(id) = session.upload_id() else {
            tracing::warn!(id = %session.id, "upload session with an invalid id; skipping");
            continue;
        };
        if areas.get(&id).is_some_and(|t| *t >= older_than) {
            continue;
        }
        blobs.upload_abort(&id).await?;
        meta.upload_remove(&id).await?;
        done.insert(id);
    }
    for (id, modified) in areas {
        if modified < older_than && !done.contains(&id) && meta.upload_get(&id).await?.is_none() {
            blobs.upload_abort(&id).await?;
            done.insert(id);
        }
    }
    Ok(done.len())
}
