//! The embedded blob store: content-addressed files on the local filesystem.
//!
//! Layout under the store's directory:
//!
//! ```text
//! blobs/sha256/ab/abcdef…   one file per blob, named by its digest
//! uploads/<uuid>/data        one resumable upload in progress
//! tmp/<uuid>                 monolithic puts being written (removed on failure)
//! trash/<…>                  blobs garbage collection is in the middle of deleting
//! ```
//!
//! Every blob write goes temp file → hash while streaming → fsync file → rename → fsync
//! directory, and the digest is compared before the rename, so a blob path only ever holds
//! complete, verified content. A crash at any point leaves at worst a stray temp file (removed
//! on a later open) or an upload that resumes shorter than it was.

use std::collections::HashMap;
use std::fs::{self, File, OpenOptions};
use std::io::{self, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex as StdMutex, MutexGuard as StdMutexGuard};
use std::time::{Duration, SystemTime};

use agentry_types::{Digest, DigestAlgorithm, Hasher};
use async_trait::async_trait;
use bytes::Bytes;
use futures::StreamExt;
use futures::stream::{self, BoxStream};
use tokio::io::AsyncReadExt;
use tokio::sync::{Mutex as AsyncMutex, OwnedMutexGuard};

use crate::blob::{BlobInfo, BlobRead, BlobStore, ByteRange, ByteStream, UploadId};
use crate::error::{StoreError, StoreResult};

/// Bytes gathered from the request body before one blocking write + hash step. Bounds memory
/// per request while keeping the number of thread-pool hops low.
const WRITE_BATCH: usize = 1 << 20;
/// Read buffer for streaming blobs out.
const READ_CHUNK: usize = 256 << 10;
/// Temp files untouched for this long are leftovers of a crash (an active write touches its
/// file with every batch) and are removed when a store is opened.
const STALE_TEMP: Duration = Duration::from_secs(3600);

const ALGORITHMS: [DigestAlgorithm; 2] = [DigestAlgorithm::Sha256, DigestAlgorithm::Sha512];

/// Where a write can be made to fail or crash, for fault-injection tests.
#[cfg(feature = "fault-injection")]
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum FaultPoint {
    /// Before writing a chunk of a blob or upload at `offset` (relative to the write's start).
    /// An error here *tears* the write: half of the chunk is written before the error returns.
    Write { offset: u64 },
    /// After the content is written and verified, before it is fsynced.
    BeforeSync,
    /// After fsync, before the rename that makes the blob visible.
    BeforeRename,
    /// After the rename, before the directory fsync.
    BeforeDirSync,
}

/// A fault hook: return an error to fail the operation at that point, or call
/// `std::process::abort()` to simulate a crash there.
#[cfg(feature = "fault-injection")]
pub type FaultHook = Arc<dyn Fn(FaultPoint) -> io::Result<()> + Send + Sync>;

macro_rules! fault {
    ($inner:expr, $point:expr) => {{
        #[cfg(feature = "fault-injection")]
        {
            $inner.inject($point)
        }
        #[cfg(not(feature = "fault-injection"))]
        {
            io::Result::<()>::Ok(())
        }
    }};
}

/// Content-addressed blobs in a local directory. Cheap to clone (shared state).
#[derive(Clone)]
pub struct FsBlobStore {
    inner: Arc<Inner>,
}

struct Inner {
    blobs: PathBuf,
    uploads: PathBuf,
    tmp: PathBuf,
    trash: PathBuf,
    /// One lock and running state per upload touched since start.
    sessions: StdMutex<HashMap<UploadId, Arc<AsyncMutex<UploadState>>>>,
    #[cfg(feature = "fault-injection")]
    faults: Option<FaultHook>,
}

#[derive(Default)]
struct UploadState {
    /// Set once the upload finished or was aborted; a caller that waited on the lock of a
    /// removed upload must not resurrect it.
    removed: bool,
    /// Bytes stored so far and, when known, sha256 over exactly those bytes (lost on restart;
    /// then `upload_finish` re-hashes the file).
    size: u64,
    hasher: Option<Hasher>,
}

/// A file being written from async code in blocking steps. `dead` is set when the writing
/// future gave up (error or cancellation): a step still queued on the thread pool must then
/// not write, or it would undo the rollback.
struct Target {
    file: File,
    dead: bool,
}

type SharedTarget = Arc<StdMutex<Target>>;

fn lock<T>(m: &StdMutex<T>) -> StdMutexGuard<'_, T> {
    // A poisoned lock only means a panic elsewhere while it was held; the data it guards (a
    // file handle, a map of upload locks) stays consistent, so carry on.
    m.lock().unwrap_or_else(|e| e.into_inner())
}

fn join_error(e: tokio::task::JoinError) -> StoreError {
    StoreError::Io(io::Error::other(format!("blocking task failed: {e}")))
}

async fn blocking<T: Send + 'static>(
    f: impl FnOnce() -> StoreResult<T> + Send + 'static,
) -> StoreResult<T> {
    tokio::task::spawn_blocking(f).await.map_err(join_error)?
}

fn fsync_dir(dir: &Path) -> io::Result<()> {
    File::open(dir)?.sync_all()
}

fn not_found(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound
}

impl FsBlobStore {
    /// Open (creating if needed) a store in `dir`. Removes temp files a crash left behind and
    /// puts back blobs a crashed garbage collection had moved aside.
    pub fn open(dir: impl AsRef<Path>) -> StoreResult<FsBlobStore> {
        Self::open_inner(
            dir.as_ref(),
            #[cfg(feature = "fault-injection")]
            None,
        )
    }

    /// Like [`FsBlobStore::open`], calling `hook` at every [`FaultPoint`].
    #[cfg(feature = "fault-injection")]
    pub fn open_with_faults(dir: impl AsRef<Path>, hook: FaultHook) -> StoreResult<FsBlobStore> {
        Self::open_inner(dir.as_ref(), Some(hook))
    }

    fn open_inner(
        dir: &Path,
        #[cfg(feature = "fault-injection")] faults: Option<FaultHook>,
    ) -> StoreResult<FsBlobStore> {
        let layout = agentry_types::DataDir::new(dir);
        let inner = Inner {
            blobs: layout.blobs(),
            uploads: layout.uploads(),
            tmp: layout.tmp(),
            trash: layout.trash(),
            sessions: StdMutex::new(HashMap::new()),
            #[cfg(feature = "fault-injection")]
            faults,
        };
        fs::create_dir_all(dir)?;
        for d in [&inner.blobs, &inner.uploads, &inner.tmp, &inner.trash] {
            fs::create_dir_all(d)?;
        }
        // Prefix directories (`blobs/sha256/ab`) are created on first use: making all 512 up
        // front costs seconds on slow disks.
        for alg in ALGORITHMS {
            fs::create_dir_all(inner.blobs.join(alg.as_str()))?;
        }
        fsync_dir(&inner.blobs)?;
        fsync_dir(dir)?;
        inner.remove_stale_temps()?;
        inner.restore_trash()?;
        Ok(FsBlobStore {
            inner: Arc::new(inner),
        })
    }

    async fn lock_upload(&self, id: &UploadId) -> StoreResult<OwnedMutexGuard<UploadState>> {
        let cell = lock(&self.inner.sessions)
            .entry(id.clone())
            .or_default()
            .clone();
        let mut state = cell.lock_owned().await;
        if state.removed {
            return Err(StoreError::UploadUnknown);
        }
        // The disk is the truth: the state may be new (first touch since start) or stale
        // (another process expired the upload).
        match fs::metadata(self.inner.upload_data(id)) {
            Ok(m) => {
                if m.len() != state.size {
                    state.size = m.len();
                    state.hasher = None;
                }
                Ok(state)
            }
            Err(e) if not_found(&e) => {
                state.removed = true;
                self.forget(id);
                Err(StoreError::UploadUnknown)
            }
            Err(e) => Err(e.into()),
        }
    }

    fn forget(&self, id: &UploadId) {
        lock(&self.inner.sessions).remove(id);
    }
}

impl Inner {
    #[cfg(feature = "fault-injection")]
    fn inject(&self, point: FaultPoint) -> io::Result<()> {
        match &self.faults {
            Some(hook) => hook(point),
            None => Ok(()),
        }
    }

    fn blob_path(&self, d: &Digest) -> PathBuf {
        let hex = d.hex();
        self.blobs
            .join(d.algorithm().as_str())
            .join(&hex[..2])
            .join(hex)
    }

    fn upload_dir(&self, id: &UploadId) -> PathBuf {
        self.uploads.join(id.as_str())
    }

    fn upload_data(&self, id: &UploadId) -> PathBuf {
        self.upload_dir(id).join("data")
    }

    fn remove_stale_temps(&self) -> io::Result<()> {
        let cutoff = SystemTime::now()
            .checked_sub(STALE_TEMP)
            .unwrap_or(SystemTime::UNIX_EPOCH);
        for entry in fs::read_dir(&self.tmp)? {
            let entry = entry?;
            let stale = entry
                .metadata()
                .and_then(|m| m.modified())
                .map(|t| t < cutoff)
                .unwrap_or(false);
            if stale {
                match fs::remove_file(entry.path()) {
                    Err(e) if !not_found(&e) => return Err(e),
                    _ => {}
                }
            }
        }
        Ok(())
    }

    /// Blobs in `trash/` are complete and verified (garbage collection moved them there and
    /// crashed before deciding). Putting them back is always safe: a later collection removes
    /// them again if they are still unused.
    fn restore_trash(&self) -> io::Result<()> {
        for entry in fs::read_dir(&self.trash)? {
            let entry = entry?;
            let name = entry.file_name();
            let digest = name
                .to_str()
                .and_then(|n| n.split_once('.'))
                .and_then(|(d, _)| d.replacen('-', ":", 1).parse::<Digest>().ok());
            match digest {
                Some(d) => {
                    let dest = self.blob_path(&d);
                    self.rename_into_place(&entry.path(), &dest)?;
                    if let Some(parent) = dest.parent() {
                        fsync_dir(parent)?;
                    }
                }
                None => tracing::warn!(
                    path = %entry.path().display(),
                    "ignoring unexpected file in blob trash"
                ),
            }
        }
        Ok(())
    }

    /// Write `batch` at the file's current position, hashing it; honours `dead`. `offset`
    /// (relative to the write's start) only feeds the fault hooks.
    #[cfg_attr(
        not(feature = "fault-injection"),
        allow(unused_variables, unused_assignments)
    )]
    fn write_batch(
        &self,
        target: &SharedTarget,
        batch: Vec<Bytes>,
        mut hasher: Option<Hasher>,
        mut offset: u64,
    ) -> StoreResult<Option<Hasher>> {
        let mut t = lock(target);
        if t.dead {
            return Err(StoreError::Io(io::Error::other("write abandoned")));
        }
        for chunk in &batch {
            if let Err(e) = fault!(self, FaultPoint::Write { offset }) {
                // Tear the write: part of the chunk reaches the file.
                let _ = t.file.write_all(&chunk[..chunk.len() / 2]);
                return Err(e.into());
            }
            t.file.write_all(chunk)?;
            if let Some(h) = hasher.as_mut() {
                h.update(chunk);
            }
            offset += chunk.len() as u64;
        }
        Ok(hasher)
    }

    /// Hash a whole file (the fallback when no running hash survived).
    fn hash_file(file: &mut File, algorithm: DigestAlgorithm) -> io::Result<Digest> {
        file.seek(SeekFrom::Start(0))?;
        let mut hasher = algorithm.hasher();
        let mut buf = vec![0u8; WRITE_BATCH];
        loop {
            let n = file.read(&mut buf)?;
            if n == 0 {
                break;
            }
            hasher.update(&buf[..n]);
        }
        Ok(hasher.finish())
    }

    /// fsync `file`, mark it freshly written, and rename it to the blob path durably.
    fn commit_file(&self, file: &File, from: &Path, digest: &Digest) -> StoreResult<()> {
        // A re-put of existing content must look fresh to `delete_if_stale`, and an upload's
        // last chunk may be older than the grace period of a concurrent collection.
        file.set_modified(SystemTime::now())?;
        fault!(self, FaultPoint::BeforeSync)?;
        file.sync_all()?;
        fault!(self, FaultPoint::BeforeRename)?;
        let dest = self.blob_path(digest);
        self.rename_into_place(from, &dest)?;
        fault!(self, FaultPoint::BeforeDirSync)?;
        if let Some(parent) = dest.parent() {
            fsync_dir(parent)?;
        }
        Ok(())
    }

    /// Rename `from` to the blob path `dest`, creating (durably) its prefix directory on
    /// first use.
    fn rename_into_place(&self, from: &Path, dest: &Path) -> io::Result<()> {
        match fs::rename(from, dest) {
            Err(e) if not_found(&e) && from.exists() => {
                let parent = dest
                    .parent()
                    .ok_or_else(|| io::Error::other("blob path without a parent"))?;
                fs::create_dir_all(parent)?;
                if let Some(alg_dir) = parent.parent() {
                    fsync_dir(alg_dir)?;
                }
                fs::rename(from, dest)
            }
            other => other,
        }
    }
}

/// Removes a temp file unless disarmed (error, cancellation).
struct TempGuard {
    path: Option<PathBuf>,
    target: Option<SharedTarget>,
}

impl Drop for TempGuard {
    fn drop(&mut self) {
        if let Some(t) = &self.target {
            lock(t).dead = true;
        }
        if let Some(p) = self.path.take() {
            let _ = fs::remove_file(p);
        }
    }
}

/// Truncates an upload back to its previous size unless disarmed (error, cancellation).
/// Taking the target's lock waits for a write step already running on the thread pool; the
/// `dead` flag stops one still queued.
struct RollbackGuard {
    target: SharedTarget,
    len: u64,
    armed: bool,
}

impl RollbackGuard {
    fn rollback(&mut self) -> io::Result<()> {
        if !self.armed {
            return Ok(());
        }
        self.armed = false;
        let mut t = lock(&self.target);
        t.dead = true;
        t.file.set_len(self.len)
    }
}

impl Drop for RollbackGuard {
    fn drop(&mut self) {
        if let Err(e) = self.rollback() {
            tracing::error!(error = %e, "could not truncate a failed upload chunk");
        }
    }
}

/// Stream `body` into `target` (positioned at `start`), enforcing `expected_len` and the
/// total `limit`; returns the bytes written and the updated hasher.
async fn pump(
    inner: &Arc<Inner>,
    target: &SharedTarget,
    mut hasher: Option<Hasher>,
    mut body: ByteStream,
    start: u64,
    expected_len: Option<u64>,
    limit: u64,
) -> StoreResult<(u64, Option<Hasher>)> {
    if let Some(n) = expected_len
        && start.saturating_add(n) > limit
    {
        return Err(StoreError::TooLarge { limit });
    }
    let mut flushed = 0u64;
    let mut batch: Vec<Bytes> = Vec::new();
    let mut batch_len = 0u64;
    loop {
        let chunk = match body.next().await {
            Some(Ok(c)) => c,
            Some(Err(e)) => return Err(StoreError::Body(e.to_string())),
            None => break,
        };
        if chunk.is_empty() {
            continue;
        }
        let total = flushed + batch_len + chunk.len() as u64;
        if start.saturating_add(total) > limit {
            return Err(StoreError::TooLarge { limit });
        }
        if let Some(n) = expected_len
            && total > n
        {
            return Err(StoreError::SizeMismatch {
                expected: n,
                actual: total,
            });
        }
        batch_len += chunk.len() as u64;
        batch.push(chunk);
        if batch_len >= WRITE_BATCH as u64 {
            let (i, t, b) = (inner.clone(), target.clone(), std::mem::take(&mut batch));
            let h = hasher.take();
            hasher = blocking(move || i.write_batch(&t, b, h, flushed)).await?;
            flushed += batch_len;
            batch_len = 0;
        }
    }
    if let Some(n) = expected_len
        && flushed + batch_len != n
    {
        return Err(StoreError::SizeMismatch {
            expected: n,
            actual: flushed + batch_len,
        });
    }
    if !batch.is_empty() {
        let (i, t) = (inner.clone(), target.clone());
        let h = hasher.take();
        hasher = blocking(move || i.write_batch(&t, batch, h, flushed)).await?;
        flushed += batch_len;
    }
    Ok((flushed, hasher))
}

fn list_prefix(alg: DigestAlgorithm, dir: &Path) -> Vec<StoreResult<BlobInfo>> {
    let entries = match fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if not_found(&e) => return Vec::new(),
        Err(e) => return vec![Err(e.into())],
    };
    let mut out = Vec::new();
    for entry in entries {
        let entry = match entry {
            Ok(e) => e,
            Err(e) => {
                out.push(Err(e.into()));
                continue;
            }
        };
        let name = entry.file_name();
        let Some(digest) = name
            .to_str()
            .and_then(|n| format!("{}:{n}", alg.as_str()).parse::<Digest>().ok())
        else {
            tracing::warn!(path = %entry.path().display(), "ignoring unexpected file in blob store");
            continue;
        };
        match entry.metadata() {
            Ok(m) => out.push(Ok(BlobInfo {
                digest,
                size: m.len(),
                modified: m.modified().unwrap_or(SystemTime::UNIX_EPOCH),
            })),
            // Deleted while we listed.
            Err(e) if not_found(&e) => {}
            Err(e) => out.push(Err(e.into())),
        }
    }
    out
}

#[async_trait]
impl BlobStore for FsBlobStore {
    async fn stat(&self, digest: &Digest) -> StoreResult<Option<u64>> {
        // A plain stat of a local, usually cached, path costs about a microsecond: cheaper
        // than a hop to the blocking pool, and HEAD requests are frequent.
        match fs::metadata(self.inner.blob_path(digest)) {
            Ok(m) => Ok(Some(m.len())),
            Err(e) if not_found(&e) => Ok(None),
            Err(e) => Err(e.into()),
        }
    }

    async fn read(
        &self,
        digest: &Digest,
        range: Option<ByteRange>,
    ) -> StoreResult<Option<BlobRead>> {
        let path = self.inner.blob_path(digest);
        let opened = blocking(move || {
            let mut file = match File::open(&path) {
                Ok(f) => f,
                Err(e) if not_found(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            };
            let size = file.metadata()?.len();
            let (start, end) = match range {
                None => (0, size),
                Some(r) => (r.first.min(size), r.last.saturating_add(1).min(size)),
            };
            file.seek(SeekFrom::Start(start))?;
            Ok(Some((file, size, end.saturating_sub(start))))
        })
        .await?;
        Ok(opened.map(|(file, size, len)| {
            let reader = tokio::fs::File::from_std(file).take(len);
            BlobRead {
                size,
                stream: Box::pin(tokio_util::io::ReaderStream::with_capacity(
                    reader, READ_CHUNK,
                )),
            }
        }))
    }

    async fn put(
        &self,
        expected: &Digest,
        body: ByteStream,
        expected_len: Option<u64>,
        limit: u64,
    ) -> StoreResult<u64> {
        let inner = self.inner.clone();
        let tmp_path = inner.tmp.join(uuid::Uuid::new_v4().to_string());
        let mut guard = TempGuard {
            path: Some(tmp_path.clone()),
            target: None,
        };
        let p = tmp_path.clone();
        let file = blocking(move || {
            Ok(OpenOptions::new()
                .read(true)
                .write(true)
                .create_new(true)
                .open(p)?)
        })
        .await?;
        let target = Arc::new(StdMutex::new(Target { file, dead: false }));
        guard.target = Some(target.clone());
        let (size, hasher) = pump(
            &inner,
            &target,
            Some(expected.algorithm().hasher()),
            body,
            0,
            expected_len,
            limit,
        )
        .await?;
        let actual = hasher
            .map(Hasher::finish)
            .ok_or_else(|| StoreError::Io(io::Error::other("hasher lost")))?;
        if actual != *expected {
            return Err(StoreError::DigestMismatch {
                expected: expected.clone(),
                actual,
            });
        }
        let digest = expected.clone();
        blocking(move || {
            let t = lock(&target);
            inner.commit_file(&t.file, &tmp_path, &digest)
        })
        .await?;
        guard.path = None;
        Ok(size)
    }

    async fn delete(&self, digest: &Digest) -> StoreResult<bool> {
        let path = self.inner.blob_path(digest);
        blocking(move || match fs::remove_file(&path) {
            Ok(()) => {
                if let Some(parent) = path.parent() {
                    fsync_dir(parent)?;
                }
                Ok(true)
            }
            Err(e) if not_found(&e) => Ok(false),
            Err(e) => Err(e.into()),
        })
        .await
    }

    async fn delete_if_stale(
        &self,
        digest: &Digest,
        written_before: SystemTime,
    ) -> StoreResult<Option<u64>> {
        let inner = self.inner.clone();
        let digest = digest.clone();
        blocking(move || {
            // Move the blob aside atomically, then judge the copy we hold: a writer that
            // renamed fresh content into place before our rename shows up in its mtime (and we
            // put it back); one that renames after ours simply recreates the blob.
            let path = inner.blob_path(&digest);
            let parent = path.parent().map(Path::to_path_buf);
            let aside = inner.trash.join(format!(
                "{}-{}.{}",
                digest.algorithm().as_str(),
                digest.hex(),
                uuid::Uuid::new_v4()
            ));
            match fs::rename(&path, &aside) {
                Ok(()) => {}
                Err(e) if not_found(&e) => return Ok(None),
                Err(e) => return Err(e.into()),
            }
            let meta = fs::metadata(&aside)?;
            if meta.modified()? >= written_before {
                // Same digest, same content: overwriting a concurrent copy is harmless.
                inner.rename_into_place(&aside, &path)?;
                if let Some(p) = &parent {
                    fsync_dir(p)?;
                }
                return Ok(None);
            }
            fs::remove_file(&aside)?;
            if let Some(p) = &parent {
                fsync_dir(p)?;
            }
            Ok(Some(meta.len()))
        })
        .await
    }

    fn list(&self) -> BoxStream<'static, StoreResult<BlobInfo>> {
        let blobs = self.inner.blobs.clone();
        let dirs: Vec<(DigestAlgorithm, PathBuf)> = ALGORITHMS
            .iter()
            .flat_map(|&alg| {
                let base = blobs.join(alg.as_str());
                (0..=255u8).map(move |p| (alg, base.join(format!("{p:02x}"))))
            })
            .collect();
        stream::iter(dirs)
            .then(|(alg, dir)| async move {
                match tokio::task::spawn_blocking(move || list_prefix(alg, &dir)).await {
                    Ok(v) => v,
                    Err(e) => vec![Err(join_error(e))],
                }
            })
            .flat_map(stream::iter)
            .boxed()
    }

    async fn upload_start(&self, id: &UploadId) -> StoreResult<()> {
        let dir = self.inner.upload_dir(id);
        let data = self.inner.upload_data(id);
        blocking(move || {
            fs::create_dir(&dir)?;
            File::create_new(&data)?;
            Ok(())
        })
        .await?;
        let cell = lock(&self.inner.sessions)
            .entry(id.clone())
            .or_default()
            .clone();
        let mut state = cell.lock().await;
        *state = UploadState {
            removed: false,
            size: 0,
            hasher: Some(DigestAlgorithm::Sha256.hasher()),
        };
        Ok(())
    }

    async fn upload_append(
        &self,
        id: &UploadId,
        offset: u64,
        body: ByteStream,
        expected_len: Option<u64>,
        limit: u64,
    ) -> StoreResult<u64> {
        let mut state = self.lock_upload(id).await?;
        let len = state.size;
        if offset != len {
            return Err(StoreError::RangeMismatch {
                expected: len,
                got: offset,
            });
        }
        let data = self.inner.upload_data(id);
        let file = blocking(move || {
            let mut f = OpenOptions::new().write(true).open(&data)?;
            f.seek(SeekFrom::Start(len))?;
            Ok(f)
        })
        .await
        .map_err(|e| match e {
            StoreError::Io(io) if not_found(&io) => StoreError::UploadUnknown,
            other => other,
        })?;
        let target = Arc::new(StdMutex::new(Target { file, dead: false }));
        let mut rollback = RollbackGuard {
            target: target.clone(),
            len,
            armed: true,
        };
        let result = pump(
            &self.inner,
            &target,
            state.hasher.clone(),
            body,
            len,
            expected_len,
            limit,
        )
        .await;
        match result {
            Ok((n, hasher)) => {
                rollback.armed = false;
                state.size = len + n;
                state.hasher = hasher;
                Ok(state.size)
            }
            Err(e) => {
                blocking(move || Ok(rollback.rollback()?)).await?;
                Err(e)
            }
        }
    }

    async fn upload_size(&self, id: &UploadId) -> StoreResult<Option<u64>> {
        match self.lock_upload(id).await {
            Ok(state) => Ok(Some(state.size)),
            Err(StoreError::UploadUnknown) => Ok(None),
            Err(e) => Err(e),
        }
    }

    async fn upload_finish(&self, id: &UploadId, expected: &Digest) -> StoreResult<u64> {
        let mut state = self.lock_upload(id).await?;
        let known = match (&state.hasher, expected.algorithm()) {
            (Some(h), DigestAlgorithm::Sha256) => Some((h.clone().finish(), state.size)),
            _ => None,
        };
        let inner = self.inner.clone();
        let (dir, data) = (inner.upload_dir(id), inner.upload_data(id));
        let expected = expected.clone();
        let result = blocking(move || {
            let mut file = OpenOptions::new().read(true).write(true).open(&data)?;
            let len = file.metadata()?.len();
            let actual = match known {
                Some((d, size)) if size == len => d,
                _ => Inner::hash_file(&mut file, expected.algorithm())?,
            };
            if actual != expected {
                fs::remove_dir_all(&dir)?;
                return Err(StoreError::DigestMismatch { expected, actual });
            }
            inner.commit_file(&file, &data, &expected)?;
            drop(file);
            fs::remove_dir_all(&dir)?;
            Ok(len)
        })
        .await;
        match &result {
            Ok(_) | Err(StoreError::DigestMismatch { .. }) => {
                state.removed = true;
                self.forget(id);
            }
            Err(_) => {}
        }
        result
    }

    async fn upload_abort(&self, id: &UploadId) -> StoreResult<()> {
        let state = self.lock_upload(id).await;
        let dir = self.inner.upload_dir(id);
        blocking(move || match fs::remove_dir_all(&dir) {
            Err(e) if !not_found(&e) => Err(e.into()),
            _ => Ok(()),
        })
        .await?;
        if let Ok(mut state) = state {
            state.removed = true;
        }
        self.forget(id);
        Ok(())
    }

    async fn upload_list(&self) -> StoreResult<Vec<(UploadId, SystemTime)>> {
        let uploads = self.inner.uploads.clone();
        blocking(move || {
            let mut out = Vec::new();
            for entry in fs::read_dir(&uploads)? {
                let entry = entry?;
                let Some(id) = entry.file_name().to_str().and_then(UploadId::parse) else {
                    tracing::warn!(path = %entry.path().display(), "ignoring unexpected entry in uploads");
                    continue;
                };
                // The data file's mtime moves with every chunk; a crash during start may have
                // left the directory alone.
                let modified = fs::metadata(entry.path().join("data"))
                    .or_else(|_| entry.metadata())
                    .and_then(|m| m.modified());
                match modified {
                    Ok(t) => out.push((id, t)),
                    Err(e) if not_found(&e) => {}
                    Err(e) => return Err(e.into()),
                }
            }
            Ok(out)
        })
        .await
    }
}
