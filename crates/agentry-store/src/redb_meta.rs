//! The embedded metadata store on [redb](https://docs.rs/redb): one file, ACID transactions,
//! MVCC reads that never wait for the writer.
//!
//! ## Tables (keys are tuples of strings, so related rows sort together)
//!
//! | table | key | value |
//! |---|---|---|
//! | `schema` | `"version"` | layout version of the whole database |
//! | `repositories` | repo | created_at |
//! | `tags` | (repo, tag) | manifest digest |
//! | `tags_by_manifest` | (repo, manifest, tag) | marker (to delete a manifest's tags) |
//! | `manifests` | (repo, manifest) | meta JSON + manifest bytes |
//! | `manifest_blobs` | (repo, manifest) | blobs it references (to drop its references) |
//! | `blob_links` | (blob, repo) | size, linked_at |
//! | `blob_refs` | (blob, repo, manifest) | marker: the blob is referenced (for GC) |
//! | `referrers` | (repo, subject, manifest) | marker |
//! | `uploads` | upload id | session JSON |
//! | `records` | (repo, manifest) | agent record JSON |
//!
//! Every value starts with a layout version byte ([`VALUE_V1`]), and the `schema` table holds
//! the layout version of the database; `migrate` upgrades an older database on open, so a
//! later layout can change any table without losing data.
//!
//! ## Durability and speed
//!
//! Writes go to one writer thread, which folds every request waiting for it into one write
//! transaction (group commit: one fsync for many clients; see `writer_loop`). Commits are
//! durable (`Durability::Immediate`, fsync before the call returns) except those holding only
//! upload-session changes, which use `Durability::None` (kept in memory, persisted by the next
//! durable commit): an upload is not acknowledged as stored until it finishes, and losing a
//! session in a crash only makes the client start over.
//!
//! Reads run inline on the caller's task: a redb read transaction costs microseconds when the
//! pages are cached, a fraction of a hop to the blocking pool (the `store` benchmark measures
//! both: ~19 µs inline against ~70 µs through `spawn_blocking` on a loaded 2-core machine).

use std::collections::BTreeSet;
use std::fmt::Display;
use std::ops::Bound;
use std::path::Path;
use std::sync::{Arc, mpsc};
use std::time::{SystemTime, UNIX_EPOCH};

use agentry_types::{AgentRecord, Digest, ManifestRef, RepoName, Tag};
use async_trait::async_trait;
use bytes::Bytes;
use redb::{
    Database, Durability, ReadTransaction, ReadableDatabase, ReadableTable, TableDefinition,
    WriteTransaction,
};

use crate::blob::UploadId;
use crate::error::{StoreError, StoreResult};
use crate::meta::{
    ManifestMeta, ManifestPut, MetadataStore, Page, RecordEntry, StoredManifest, UploadSession,
};

/// Layout version of the database as a whole, recorded in the `schema` table.
pub const SCHEMA_VERSION: u64 = 1;
/// Version byte every stored value starts with.
pub const VALUE_V1: u8 = 1;

type Key2<'a> = (&'a str, &'a str);
type Key3<'a> = (&'a str, &'a str, &'a str);

const SCHEMA: TableDefinition<&str, u64> = TableDefinition::new("schema");
const REPOS: TableDefinition<&str, &[u8]> = TableDefinition::new("repositories");
const TAGS: TableDefinition<Key2, &[u8]> = TableDefinition::new("tags");
const TAGS_BY_MANIFEST: TableDefinition<Key3, &[u8]> = TableDefinition::new("tags_by_manifest");
const MANIFESTS: TableDefinition<Key2, &[u8]> = TableDefinition::new("manifests");
const MANIFEST_BLOBS: TableDefinition<Key2, &[u8]> = TableDefinition::new("manifest_blobs");
const LINKS: TableDefinition<Key2, &[u8]> = TableDefinition::new("blob_links");
const BLOB_REFS: TableDefinition<Key3, &[u8]> = TableDefinition::new("blob_refs");
const REFERRERS: TableDefinition<Key3, &[u8]> = TableDefinition::new("referrers");
const UPLOADS: TableDefinition<&str, &[u8]> = TableDefinition::new("uploads");
const RECORDS: TableDefinition<Key2, &[u8]> = TableDefinition::new("records");

const MARKER: &[u8] = &[VALUE_V1];

fn db_err(e: impl Display) -> StoreError {
    StoreError::Database(e.to_string())
}

fn corrupt(what: &str, e: impl Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

// ---- value codecs: version byte first, then the layout of that version ----

fn body<'a>(table: &str, v: &'a [u8]) -> StoreResult<&'a [u8]> {
    match v.split_first() {
        Some((&VALUE_V1, rest)) => Ok(rest),
        Some((other, _)) => Err(StoreError::Corrupt(format!(
            "{table}: value layout version {other} is unknown to this build"
        ))),
        None => Err(StoreError::Corrupt(format!("{table}: empty value"))),
    }
}

fn enc_json<T: serde::Serialize>(value: &T) -> StoreResult<Vec<u8>> {
    let mut v = vec![VALUE_V1];
    serde_json::to_writer(&mut v, value).map_err(|e| corrupt("encoding", e))?;
    Ok(v)
}

fn dec_json<T: serde::de::DeserializeOwned>(table: &str, v: &[u8]) -> StoreResult<T> {
    serde_json::from_slice(body(table, v)?).map_err(|e| corrupt(table, e))
}

fn enc_manifest(meta: &ManifestMeta, bytes: &[u8]) -> StoreResult<Vec<u8>> {
    let m = serde_json::to_vec(meta).map_err(|e| corrupt("encoding", e))?;
    let mut v = Vec::with_capacity(5 + m.len() + bytes.len());
    v.push(VALUE_V1);
    v.extend_from_slice(&(m.len() as u32).to_le_bytes());
    v.extend_from_slice(&m);
    v.extend_from_slice(bytes);
    Ok(v)
}

/// Splits a manifest value into its meta JSON and its bytes.
fn split_manifest(v: &[u8]) -> StoreResult<(&[u8], &[u8])> {
    let rest = body("manifests", v)?;
    let (len, rest) = rest
        .split_first_chunk::<4>()
        .ok_or_else(|| corrupt("manifests", "truncated value"))?;
    let len = u32::from_le_bytes(*len) as usize;
    if rest.len() < len {
        return Err(corrupt("manifests", "truncated meta"));
    }
    Ok(rest.split_at(len))
}

fn dec_manifest_meta(v: &[u8]) -> StoreResult<ManifestMeta> {
    let (meta, _) = split_manifest(v)?;
    serde_json::from_slice(meta).map_err(|e| corrupt("manifests", e))
}

fn enc_link(size: u64, linked_at: i64) -> [u8; 17] {
    let mut v = [0u8; 17];
    v[0] = VALUE_V1;
    v[1..9].copy_from_slice(&size.to_le_bytes());
    v[9..17].copy_from_slice(&linked_at.to_le_bytes());
    v
}

fn dec_link(v: &[u8]) -> StoreResult<(u64, i64)> {
    let b = body("blob_links", v)?;
    let (size, rest) = b
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("blob_links", "truncated value"))?;
    let (at, _) = rest
        .split_first_chunk::<8>()
        .ok_or_else(|| corrupt("blob_links", "truncated value"))?;
    Ok((u64::from_le_bytes(*size), i64::from_le_bytes(*at)))
}

fn enc_i64(x: i64) -> [u8; 9] {
    let mut v = [0u8; 9];
    v[0] = VALUE_V1;
    v[1..].copy_from_slice(&x.to_le_bytes());
    v
}

fn enc_str(s: &str) -> Vec<u8> {
    let mut v = Vec::with_capacity(1 + s.len());
    v.push(VALUE_V1);
    v.extend_from_slice(s.as_bytes());
    v
}

fn dec_digest(table: &str, v: &[u8]) -> StoreResult<Digest> {
    let s = std::str::from_utf8(body(table, v)?).map_err(|e| corrupt(table, e))?;
    s.parse().map_err(|e| corrupt(table, e))
}

fn parse_key_digest(table: &str, s: &str) -> StoreResult<Digest> {
    s.parse().map_err(|e| corrupt(table, e))
}

/// One migration step: rewrites the tables of layout `.0` into layout `.0 + 1`.
type MigrationStep = (u64, fn(&WriteTransaction) -> StoreResult<()>);

/// The migration chain. Each future layout adds one step here (rewrite the affected tables
/// and their value version bytes); layout 1 is the only one so far, so the chain is empty.
const MIGRATIONS: &[MigrationStep] = &[];

/// Upgrade a database of layout `from` to [`SCHEMA_VERSION`], inside the opening transaction
/// (all or nothing), then record the new layout.
fn migrate(txn: &WriteTransaction, from: u64) -> StoreResult<()> {
    let mut version = from;
    while version < SCHEMA_VERSION {
        let (_, step) = MIGRATIONS
            .iter()
            .find(|(v, _)| *v == version)
            .ok_or_else(|| {
                StoreError::Corrupt(format!("no migration from metadata layout {version}"))
            })?;
        step(txn)?;
        version += 1;
    }
    let mut schema = txn.open_table(SCHEMA).map_err(db_err)?;
    schema.insert("version", SCHEMA_VERSION).map_err(db_err)?;
    Ok(())
}

/// Page cache of the metadata database unless configured otherwise: 64 MiB.
pub const DEFAULT_CACHE_BYTES: usize = 64 << 20;

/// Metadata in one redb file. Cheap to clone; the last clone dropped stops the writer thread
/// and closes the file.
#[derive(Clone)]
pub struct RedbMetadataStore {
    shared: Arc<Shared>,
}

struct Shared {
    db: Arc<Database>,
    jobs: Option<mpsc::Sender<Job>>,
    writer: Option<std::thread::JoinHandle<()>>,
}

impl Drop for Shared {
    fn drop(&mut self) {
        // Closing the channel ends the writer loop; joining it means the file is closed when
        // the store is gone (a reopen right after must not find it locked).
        self.jobs.take();
        if let Some(w) = self.writer.take()
            && w.join().is_err()
        {
            tracing::error!("metadata writer thread panicked");
        }
    }
}

/// Most write requests folded into one transaction (and one fsync).
const MAX_BATCH: usize = 128;

/// One write request for the writer thread. `op` may run twice (see [`run_batch`]), so it is
/// `Fn`; it stashes its result for `done`, which delivers it once the commit outcome is known.
struct Job {
    durable: bool,
    op: WriteOp,
    done: Box<dyn FnOnce(StoreResult<()>) + Send>,
}

/// Applies one request inside a transaction; `Ok(true)` when it wrote something.
type WriteOp = Box<dyn Fn(&WriteTransaction) -> StoreResult<bool> + Send>;

/// Errors a write closure returns *before* writing anything (they are validation failures of
/// its input), so the transaction it ran in is still clean for the other requests.
fn is_clean(e: &StoreError) -> bool {
    matches!(
        e,
        StoreError::BlobUnknown(_)
            | StoreError::DigestMismatch { .. }
            | StoreError::SizeMismatch { .. }
    )
}

fn begin(db: &Database, durable: bool) -> StoreResult<WriteTransaction> {
    let mut txn = db.begin_write().map_err(db_err)?;
    if !durable {
        txn.set_durability(Durability::None).map_err(db_err)?;
    }
    Ok(txn)
}

/// Group commit: every request waiting when the writer becomes free goes into one write
/// transaction, committed (and fsynced) once. Requests are applied in arrival order and see
/// each other's writes, exactly as if run one after another. A request failing validation
/// is answered at once and leaves no trace (it wrote nothing); any other failure aborts the
/// batch, and its requests are re-run one transaction each, so one request's fault is never
/// another's.
fn writer_loop(db: Arc<Database>, jobs: mpsc::Receiver<Job>) {
    while let Ok(first) = jobs.recv() {
        let mut batch = vec![first];
        while batch.len() < MAX_BATCH {
            match jobs.try_recv() {
                Ok(j) => batch.push(j),
                Err(_) => break,
            }
        }
        run_batch(&db, batch);
    }
}

fn run_batch(db: &Database, batch: Vec<Job>) {
    if batch.len() == 1 {
        for job in batch {
            run_single(db, job);
        }
        return;
    }
    let durable = batch.iter().any(|j| j.durable);
    let txn = match begin(db, durable) {
        Ok(t) => t,
        Err(e) => {
            let msg = e.to_string();
            for job in batch {
                (job.done)(Err(StoreError::Database(msg.clone())));
            }
            return;
        }
    };
    let mut applied = Vec::with_capacity(batch.len());
    let mut changed = false;
    let mut jobs = batch.into_iter();
    let mut dirty = false;
    for job in jobs.by_ref() {
        match (job.op)(&txn) {
            Ok(c) => {
                changed |= c;
                applied.push(job);
            }
            Err(e) if is_clean(&e) => (job.done)(Err(e)),
            Err(e) => {
                tracing::warn!(error = %e, "write batch aborted; retrying its requests one by one");
                dirty = true;
                applied.push(job);
                break;
            }
        }
    }
    if dirty {
        let _ = txn.abort();
        for job in applied.into_iter().chain(jobs) {
            run_single(db, job);
        }
        return;
    }
    let outcome = if changed {
        txn.commit().map_err(db_err)
    } else {
        txn.abort().map_err(db_err)
    };
    match outcome {
        Ok(()) => {
            for job in applied {
                (job.done)(Ok(()));
            }
        }
        Err(e) => {
            let msg = e.to_string();
            for job in applied {
                (job.done)(Err(StoreError::Database(msg.clone())));
            }
        }
    }
}

fn run_single(db: &Database, job: Job) {
    let result = begin(db, job.durable).and_then(|txn| match (job.op)(&txn) {
        Ok(true) => txn.commit().map_err(db_err),
        Ok(false) => txn.abort().map_err(db_err),
        Err(e) => {
            let _ = txn.abort();
            Err(e)
        }
    });
    (job.done)(result);
}

impl RedbMetadataStore {
    /// Open (creating if needed) the database file at `path`. The file is locked: one process
    /// at a time (a second open, such as an out-of-process `agentry gc` while the server runs,
    /// fails with a `Database` error rather than corrupting anything).
    pub fn open(path: impl AsRef<Path>) -> StoreResult<RedbMetadataStore> {
        Self::open_with_cache(path, DEFAULT_CACHE_BYTES)
    }

    /// [`open`](Self::open) with a page cache of `cache_bytes` (redb's own default is 1 GiB,
    /// which a pod would grow into as its metadata grows; the OS page cache still holds the
    /// file, so a small cache costs little on reads).
    pub fn open_with_cache(
        path: impl AsRef<Path>,
        cache_bytes: usize,
    ) -> StoreResult<RedbMetadataStore> {
        let path = path.as_ref();
        if let Some(parent) = path.parent()
            && !parent.as_os_str().is_empty()
        {
            std::fs::create_dir_all(parent)?;
        }
        let db = redb::Builder::new()
            .set_cache_size(cache_bytes)
            .create(path)
            .map_err(db_err)?;
        Self::init(db)
    }

    /// Open on a custom redb storage backend (fault-injection tests tear its writes).
    #[cfg(feature = "fault-injection")]
    pub fn open_with_backend(
        backend: impl redb::StorageBackend + 'static,
    ) -> StoreResult<RedbMetadataStore> {
        let db = redb::Builder::new()
            .create_with_backend(backend)
            .map_err(db_err)?;
        Self::init(db)
    }

    fn init(db: Database) -> StoreResult<RedbMetadataStore> {
        let txn = db.begin_write().map_err(db_err)?;
        let up_to_date = {
            // Create every table, so read transactions never meet a missing one.
            txn.open_table(REPOS).map_err(db_err)?;
            txn.open_table(TAGS).map_err(db_err)?;
            txn.open_table(TAGS_BY_MANIFEST).map_err(db_err)?;
            txn.open_table(MANIFESTS).map_err(db_err)?;
            txn.open_table(MANIFEST_BLOBS).map_err(db_err)?;
            txn.open_table(LINKS).map_err(db_err)?;
            txn.open_table(BLOB_REFS).map_err(db_err)?;
            txn.open_table(REFERRERS).map_err(db_err)?;
            txn.open_table(UPLOADS).map_err(db_err)?;
            txn.open_table(RECORDS).map_err(db_err)?;
            let stored = txn
                .open_table(SCHEMA)
                .map_err(db_err)?
                .get("version")
                .map_err(db_err)?
                .map(|g| g.value());
            match stored {
                None => {
                    migrate(&txn, SCHEMA_VERSION)?;
                    false
                }
                // Up to date (its tables were created with the version): write nothing.
                Some(v) if v == SCHEMA_VERSION => true,
                Some(v) if v < SCHEMA_VERSION => {
                    migrate(&txn, v)?;
                    false
                }
                Some(v) => {
                    return Err(StoreError::Corrupt(format!(
                        "metadata layout {v} is newer than this build ({SCHEMA_VERSION})"
                    )));
                }
            }
        };
        if up_to_date {
            txn.abort().map_err(db_err)?;
        } else {
            txn.commit().map_err(db_err)?;
        }
        let db = Arc::new(db);
        let (tx, rx) = mpsc::channel();
        let writer_db = db.clone();
        let writer = std::thread::Builder::new()
            .name("agentry-meta-writer".into())
            .spawn(move || writer_loop(writer_db, rx))?;
        Ok(RedbMetadataStore {
            shared: Arc::new(Shared {
                db,
                jobs: Some(tx),
                writer: Some(writer),
            }),
        })
    }

    /// Run `f` in a write transaction on the writer thread, possibly together with other
    /// requests (group commit); it counts as committed when it returns `Ok(_, true)` and the
    /// batch commits. `f` must return its validation errors before writing anything.
    async fn write<T: Send + 'static>(
        &self,
        durable: bool,
        f: impl Fn(&WriteTransaction) -> StoreResult<(T, bool)> + Send + 'static,
    ) -> StoreResult<T> {
        let slot: Arc<std::sync::Mutex<Option<T>>> = Arc::new(std::sync::Mutex::new(None));
        let (reply, answer) = tokio::sync::oneshot::channel();
        let op_slot = slot.clone();
        let job = Job {
            durable,
            op: Box::new(move |txn| {
                let (value, changed) = f(txn)?;
                *op_slot.lock().unwrap_or_else(|e| e.into_inner()) = Some(value);
                Ok(changed)
            }),
            done: Box::new(move |result| {
                let out = result.and_then(|()| {
                    slot.lock()
                        .unwrap_or_else(|e| e.into_inner())
                        .take()
                        .ok_or_else(|| StoreError::Database("write produced no result".into()))
                });
                let _ = reply.send(out);
            }),
        };
        let gone = || StoreError::Database("metadata writer thread is gone".into());
        self.shared
            .jobs
            .as_ref()
            .ok_or_else(gone)?
            .send(job)
            .map_err(|_| gone())?;
        answer.await.map_err(|_| gone())?
    }

    fn read<T>(&self, f: impl FnOnce(&ReadTransaction) -> StoreResult<T>) -> StoreResult<T> {
        let txn = self.shared.db.begin_read().map_err(db_err)?;
        f(&txn)
    }

    /// Like [`Self::read`] on the blocking pool, for scans whose size the caller controls.
    async fn read_blocking<T: Send + 'static>(
        &self,
        f: impl FnOnce(&ReadTransaction) -> StoreResult<T> + Send + 'static,
    ) -> StoreResult<T> {
        let db = self.shared.db.clone();
        tokio::task::spawn_blocking(move || {
            let txn = db.begin_read().map_err(db_err)?;
            f(&txn)
        })
        .await
        .map_err(|e| StoreError::Database(format!("read task failed: {e}")))?
    }
}

/// Resolve a reference to a digest within a read or write transaction's tag table.
fn resolve(
    tags: &impl ReadableTable<Key2<'static>, &'static [u8]>,
    repo: &str,
    reference: &ManifestRef,
) -> StoreResult<Option<Digest>> {
    match reference {
        ManifestRef::Digest(d) => Ok(Some(d.clone())),
        ManifestRef::Tag(t) => match tags.get((repo, t.as_str())).map_err(db_err)? {
            Some(v) => Ok(Some(dec_digest("tags", v.value())?)),
            None => Ok(None),
        },
    }
}

/// Is `digest` referenced by a manifest, or linked at or after `linked_before`?
fn in_use(
    refs: &impl ReadableTable<Key3<'static>, &'static [u8]>,
    links: &impl ReadableTable<Key2<'static>, &'static [u8]>,
    digest: &str,
    linked_before: i64,
) -> StoreResult<bool> {
    let referenced = match refs.range((digest, "", "")..).map_err(db_err)?.next() {
        Some(entry) => entry.map_err(db_err)?.0.value().0 == digest,
        None => false,
    };
    if referenced {
        return Ok(true);
    }
    for entry in links.range((digest, "")..).map_err(db_err)? {
        let (k, v) = entry.map_err(db_err)?;
        if k.value().0 != digest {
            break;
        }
        if dec_link(v.value())?.1 >= linked_before {
            return Ok(true);
        }
    }
    Ok(false)
}

/// Keys of a string-keyed range, strictly after `after`, at most `n`, plus whether more follow.
fn page_after<'a, I>(iter: I, n: usize) -> StoreResult<Page<String>>
where
    I: Iterator<Item = StoreResult<Option<String>>> + 'a,
{
    let mut items = Vec::new();
    let mut more = false;
    for item in iter {
        let Some(s) = item? else { break };
        if items.len() == n {
            more = true;
            break;
        }
        items.push(s);
    }
    Ok(Page { items, more })
}

#[async_trait]
impl MetadataStore for RedbMetadataStore {
    async fn link_blob(&self, repo: &RepoName, digest: &Digest, size: u64) -> StoreResult<()> {
        let (repo, digest) = (repo.to_string(), digest.to_string());
        self.write(true, move |txn| {
            let mut links = txn.open_table(LINKS).map_err(db_err)?;
            links
                .insert(
                    (digest.as_str(), repo.as_str()),
                    &enc_link(size, now_unix())[..],
                )
                .map_err(db_err)?;
            Ok(((), true))
        })
        .await
    }

    async fn mount_blob(
        &self,
        from: &RepoName,
        to: &RepoName,
        digest: &Digest,
    ) -> StoreResult<Option<u64>> {
        let (from, to, digest) = (from.to_string(), to.to_string(), digest.to_string());
        self.write(true, move |txn| {
            let mut links = txn.open_table(LINKS).map_err(db_err)?;
            let size = match links
                .get((digest.as_str(), from.as_str()))
                .map_err(db_err)?
            {
                Some(v) => dec_link(v.value())?.0,
                None => return Ok((None, false)),
            };
            links
                .insert(
                    (digest.as_str(), to.as_str()),
                    &enc_link(size, now_unix())[..],
                )
                .map_err(db_err)?;
            Ok((Some(size), true))
        })
        .await
    }

    async fn blob_repositories(&self, digest: &Digest, n: usize) -> StoreResult<Vec<RepoName>> {
        self.read(|txn| {
            let links = txn.open_table(LINKS).map_err(db_err)?;
            let d = digest.to_string();
            let mut out = Vec::new();
            for entry in links.range((d.as_str(), "")..).map_err(db_err)? {
                let (k, _) = entry.map_err(db_err)?;
                let (kd, r) = k.value();
                if kd != d || out.len() >= n {
                    break;
                }
                out.push(RepoName::parse(r).map_err(|e| corrupt("blob_links", e))?);
            }
            Ok(out)
        })
    }

    async fn blob_link(&self, repo: &RepoName, digest: &Digest) -> StoreResult<Option<u64>> {
        self.read(|txn| {
            let links = txn.open_table(LINKS).map_err(db_err)?;
            let d = digest.to_string();
            match links.get((d.as_str(), repo.as_str())).map_err(db_err)? {
                Some(v) => Ok(Some(dec_link(v.value())?.0)),
                None => Ok(None),
            }
        })
    }

    async fn unlink_blob(&self, repo: &RepoName, digest: &Digest) -> StoreResult<bool> {
        let (repo, digest) = (repo.to_string(), digest.to_string());
        self.write(true, move |txn| {
            let mut links = txn.open_table(LINKS).map_err(db_err)?;
            let existed = links
                .remove((digest.as_str(), repo.as_str()))
                .map_err(db_err)?
                .is_some();
            Ok((existed, existed))
        })
        .await
    }

    async fn put_manifest(&self, put: ManifestPut) -> StoreResult<()> {
        // Verify the bytes before queueing for the writer (hashing a 4 MiB manifest must not
        // hold up everyone else's commit); large ones hash on the blocking pool.
        if put.meta.size != put.bytes.len() as u64 {
            return Err(StoreError::SizeMismatch {
                expected: put.meta.size,
                actual: put.bytes.len() as u64,
            });
        }
        let (alg, bytes) = (put.meta.digest.algorithm(), put.bytes.clone());
        let actual = if bytes.len() > 64 * 1024 {
            tokio::task::spawn_blocking(move || Digest::of(alg, &bytes))
                .await
                .map_err(|e| StoreError::Database(format!("hashing task failed: {e}")))?
        } else {
            Digest::of(alg, &bytes)
        };
        if actual != put.meta.digest {
            return Err(StoreError::DigestMismatch {
                expected: put.meta.digest.clone(),
                actual,
            });
        }
        self.write(true, move |txn| {
            // Validate before anything is written (see `is_clean`).
            let repo = put.repo.as_str();
            let digest = put.meta.digest.to_string();
            let blobs: BTreeSet<&Digest> = put.blobs.iter().collect();
            {
                let links = txn.open_table(LINKS).map_err(db_err)?;
                for b in &put.blobs {
                    let b_str = b.to_string();
                    if links.get((b_str.as_str(), repo)).map_err(db_err)?.is_none() {
                        return Err(StoreError::BlobUnknown(b.clone()));
                    }
                }
            }
            let mut manifests = txn.open_table(MANIFESTS).map_err(db_err)?;
            for m in &put.manifests {
                let m_str = m.to_string();
                if manifests
                    .get((repo, m_str.as_str()))
                    .map_err(db_err)?
                    .is_none()
                {
                    return Err(StoreError::BlobUnknown(m.clone()));
                }
            }
            let mut meta = put.meta.clone();
            if let Some(old) = manifests.get((repo, digest.as_str())).map_err(db_err)? {
                meta.created_at = dec_manifest_meta(old.value())?.created_at;
            }
            manifests
                .insert(
                    (repo, digest.as_str()),
                    &enc_manifest(&meta, &put.bytes)?[..],
                )
                .map_err(db_err)?;
            let blob_list: Vec<&Digest> = blobs.iter().copied().collect();
            txn.open_table(MANIFEST_BLOBS)
                .map_err(db_err)?
                .insert((repo, digest.as_str()), &enc_json(&blob_list)?[..])
                .map_err(db_err)?;
            {
                let mut refs = txn.open_table(BLOB_REFS).map_err(db_err)?;
                for b in &blobs {
                    let b_str = b.to_string();
                    refs.insert((b_str.as_str(), repo, digest.as_str()), MARKER)
                        .map_err(db_err)?;
                }
            }
            if let Some(subject) = &meta.subject {
                let s = subject.to_string();
                txn.open_table(REFERRERS)
                    .map_err(db_err)?
                    .insert((repo, s.as_str(), digest.as_str()), MARKER)
                    .map_err(db_err)?;
            }
            if let Some(tag) = &put.tag {
                let mut tags = txn.open_table(TAGS).map_err(db_err)?;
                let mut by_manifest = txn.open_table(TAGS_BY_MANIFEST).map_err(db_err)?;
                let old = tags
                    .insert((repo, tag.as_str()), &enc_str(&digest)[..])
                    .map_err(db_err)?
                    .map(|v| dec_digest("tags", v.value()))
                    .transpose()?;
                if let Some(old) = old {
                    let old = old.to_string();
                    if old != digest {
                        by_manifest
                            .remove((repo, old.as_str(), tag.as_str()))
                            .map_err(db_err)?;
                    }
                }
                by_manifest
                    .insert((repo, digest.as_str(), tag.as_str()), MARKER)
                    .map_err(db_err)?;
            }
            if let Some(record) = &put.record {
                txn.open_table(RECORDS)
                    .map_err(db_err)?
                    .insert((repo, digest.as_str()), &enc_json(record)?[..])
                    .map_err(db_err)?;
            }
            let mut repos = txn.open_table(REPOS).map_err(db_err)?;
            if repos.get(repo).map_err(db_err)?.is_none() {
                repos
                    .insert(repo, &enc_i64(meta.created_at)[..])
                    .map_err(db_err)?;
            }
            Ok(((), true))
        })
        .await
    }

    async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> StoreResult<Option<StoredManifest>> {
        self.read(|txn| {
            let tags = txn.open_table(TAGS).map_err(db_err)?;
            let Some(digest) = resolve(&tags, repo.as_str(), reference)? else {
                return Ok(None);
            };
            let manifests = txn.open_table(MANIFESTS).map_err(db_err)?;
            let d = digest.to_string();
            let Some(v) = manifests.get((repo.as_str(), d.as_str())).map_err(db_err)? else {
                return Ok(None);
            };
            let (meta, bytes) = split_manifest(v.value())?;
            Ok(Some(StoredManifest {
                meta: serde_json::from_slice(meta).map_err(|e| corrupt("manifests", e))?,
                bytes: Bytes::copy_from_slice(bytes),
            }))
        })
    }

    async fn manifest_meta(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> StoreResult<Option<ManifestMeta>> {
        self.read(|txn| {
            let tags = txn.open_table(TAGS).map_err(db_err)?;
            let Some(digest) = resolve(&tags, repo.as_str(), reference)? else {
                return Ok(None);
            };
            let manifests = txn.open_table(MANIFESTS).map_err(db_err)?;
            let d = digest.to_string();
            match manifests.get((repo.as_str(), d.as_str())).map_err(db_err)? {
                Some(v) => Ok(Some(dec_manifest_meta(v.value())?)),
                None => Ok(None),
            }
        })
    }

    async fn delete_manifest(&self, repo: &RepoName, digest: &Digest) -> StoreResult<bool> {
        let (repo, digest) = (repo.to_string(), digest.to_string());
        self.write(true, move |txn| {
            let (repo, digest) = (repo.as_str(), digest.as_str());
            let mut manifests = txn.open_table(MANIFESTS).map_err(db_err)?;
            let meta = match manifests.remove((repo, digest)).map_err(db_err)? {
                Some(v) => dec_manifest_meta(v.value())?,
                None => return Ok((false, false)),
            };
            {
                let mut by_manifest = txn.open_table(TAGS_BY_MANIFEST).map_err(db_err)?;
                let mut tags = txn.open_table(TAGS).map_err(db_err)?;
                let mut names = Vec::new();
                for entry in by_manifest.range((repo, digest, "")..).map_err(db_err)? {
                    let (k, _) = entry.map_err(db_err)?;
                    let (r, m, t) = k.value();
                    if r != repo || m != digest {
                        break;
                    }
                    names.push(t.to_owned());
                }
                for t in &names {
                    by_manifest
                        .remove((repo, digest, t.as_str()))
                        .map_err(db_err)?;
                    tags.remove((repo, t.as_str())).map_err(db_err)?;
                }
            }
            let blobs: Vec<Digest> = match txn
                .open_table(MANIFEST_BLOBS)
                .map_err(db_err)?
                .remove((repo, digest))
                .map_err(db_err)?
            {
                Some(v) => dec_json("manifest_blobs", v.value())?,
                None => Vec::new(),
            };
            {
                let mut refs = txn.open_table(BLOB_REFS).map_err(db_err)?;
                for b in &blobs {
                    let b = b.to_string();
                    refs.remove((b.as_str(), repo, digest)).map_err(db_err)?;
                }
            }
            if let Some(subject) = &meta.subject {
                let s = subject.to_string();
                txn.open_table(REFERRERS)
                    .map_err(db_err)?
                    .remove((repo, s.as_str(), digest))
                    .map_err(db_err)?;
            }
            txn.open_table(RECORDS)
                .map_err(db_err)?
                .remove((repo, digest))
                .map_err(db_err)?;
            let repo_empty = match manifests.range((repo, "")..).map_err(db_err)?.next() {
                Some(entry) => entry.map_err(db_err)?.0.value().0 != repo,
                None => true,
            };
            if repo_empty {
                txn.open_table(REPOS)
                    .map_err(db_err)?
                    .remove(repo)
                    .map_err(db_err)?;
            }
            Ok((true, true))
        })
        .await
    }

    async fn delete_tag(&self, repo: &RepoName, tag: &Tag) -> StoreResult<bool> {
        let (repo, tag) = (repo.to_string(), tag.to_string());
        self.write(true, move |txn| {
            let mut tags = txn.open_table(TAGS).map_err(db_err)?;
            let Some(old) = tags
                .remove((repo.as_str(), tag.as_str()))
                .map_err(db_err)?
                .map(|v| dec_digest("tags", v.value()))
                .transpose()?
            else {
                return Ok((false, false));
            };
            let old = old.to_string();
            txn.open_table(TAGS_BY_MANIFEST)
                .map_err(db_err)?
                .remove((repo.as_str(), old.as_str(), tag.as_str()))
                .map_err(db_err)?;
            Ok((true, true))
        })
        .await
    }

    async fn list_tags(
        &self,
        repo: &RepoName,
        last: Option<&str>,
        n: usize,
    ) -> StoreResult<Option<Page<String>>> {
        self.read(|txn| {
            let repos = txn.open_table(REPOS).map_err(db_err)?;
            if repos.get(repo.as_str()).map_err(db_err)?.is_none() {
                return Ok(None);
            }
            let tags = txn.open_table(TAGS).map_err(db_err)?;
            let r = repo.as_str();
            let start = match last {
                Some(l) => Bound::Excluded((r, l)),
                None => Bound::Included((r, "")),
            };
            let iter = tags
                .range::<Key2>((start, Bound::Unbounded))
                .map_err(db_err)?
                .map(|entry| {
                    let (k, _) = entry.map_err(db_err)?;
                    let (kr, t) = k.value();
                    Ok((kr == r).then(|| t.to_owned()))
                });
            page_after(iter, n).map(Some)
        })
    }

    async fn list_repositories(&self, last: Option<&str>, n: usize) -> StoreResult<Page<String>> {
        self.read(|txn| {
            let repos = txn.open_table(REPOS).map_err(db_err)?;
            let start = match last {
                Some(l) => Bound::Excluded(l),
                None => Bound::Unbounded,
            };
            let iter = repos
                .range::<&str>((start, Bound::Unbounded))
                .map_err(db_err)?
                .map(|entry| {
                    let (k, _) = entry.map_err(db_err)?;
                    Ok(Some(k.value().to_owned()))
                });
            page_after(iter, n)
        })
    }

    async fn referrers(&self, repo: &RepoName, subject: &Digest) -> StoreResult<Vec<ManifestMeta>> {
        self.read(|txn| {
            let referrers = txn.open_table(REFERRERS).map_err(db_err)?;
            let manifests = txn.open_table(MANIFESTS).map_err(db_err)?;
            let (r, s) = (repo.as_str(), subject.to_string());
            let mut out = Vec::new();
            for entry in referrers.range((r, s.as_str(), "")..).map_err(db_err)? {
                let (k, _) = entry.map_err(db_err)?;
                let (kr, ks, m) = k.value();
                if kr != r || ks != s {
                    break;
                }
                if let Some(v) = manifests.get((r, m)).map_err(db_err)? {
                    out.push(dec_manifest_meta(v.value())?);
                }
            }
            Ok(out)
        })
    }

    async fn upload_create(&self, session: &UploadSession) -> StoreResult<()> {
        let value = enc_json(session)?;
        let id = session.id.clone();
        self.write(false, move |txn| {
            txn.open_table(UPLOADS)
                .map_err(db_err)?
                .insert(id.as_str(), &value[..])
                .map_err(db_err)?;
            Ok(((), true))
        })
        .await
    }

    async fn upload_get(&self, id: &UploadId) -> StoreResult<Option<UploadSession>> {
        self.read(|txn| {
            let uploads = txn.open_table(UPLOADS).map_err(db_err)?;
            match uploads.get(id.as_str()).map_err(db_err)? {
                Some(v) => Ok(Some(dec_json("uploads", v.value())?)),
                None => Ok(None),
            }
        })
    }

    async fn upload_remove(&self, id: &UploadId) -> StoreResult<()> {
        let id = id.to_string();
        self.write(false, move |txn| {
            let existed = txn
                .open_table(UPLOADS)
                .map_err(db_err)?
                .remove(id.as_str())
                .map_err(db_err)?
                .is_some();
            Ok(((), existed))
        })
        .await
    }

    async fn uploads_started_before(&self, before: i64) -> StoreResult<Vec<UploadSession>> {
        self.read_blocking(move |txn| {
            let uploads = txn.open_table(UPLOADS).map_err(db_err)?;
            let mut out = Vec::new();
            for entry in uploads.iter().map_err(db_err)? {
                let (_, v) = entry.map_err(db_err)?;
                let s: UploadSession = dec_json("uploads", v.value())?;
                if s.started_at < before {
                    out.push(s);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn record_json(&self, repo: &RepoName, digest: &Digest) -> StoreResult<Option<Bytes>> {
        self.read(|txn| {
            let records = txn.open_table(RECORDS).map_err(db_err)?;
            let d = digest.to_string();
            match records.get((repo.as_str(), d.as_str())).map_err(db_err)? {
                Some(v) => Ok(Some(Bytes::copy_from_slice(body("records", v.value())?))),
                None => Ok(None),
            }
        })
    }

    async fn record(&self, repo: &RepoName, digest: &Digest) -> StoreResult<Option<RecordEntry>> {
        self.read(|txn| {
            let records = txn.open_table(RECORDS).map_err(db_err)?;
            let d = digest.to_string();
            match records.get((repo.as_str(), d.as_str())).map_err(db_err)? {
                Some(v) => Ok(Some(RecordEntry {
                    repo: repo.clone(),
                    manifest_digest: digest.clone(),
                    record: dec_json::<AgentRecord>("records", v.value())?,
                })),
                None => Ok(None),
            }
        })
    }

    async fn records(
        &self,
        after: Option<(&RepoName, &Digest)>,
        n: usize,
    ) -> StoreResult<Page<RecordEntry>> {
        let after = after.map(|(r, d)| (r.to_string(), d.to_string()));
        self.read_blocking(move |txn| {
            let records = txn.open_table(RECORDS).map_err(db_err)?;
            let start = match &after {
                Some((r, d)) => Bound::Excluded((r.as_str(), d.as_str())),
                None => Bound::Unbounded,
            };
            let mut items = Vec::new();
            let mut more = false;
            for entry in records
                .range::<Key2>((start, Bound::Unbounded))
                .map_err(db_err)?
            {
                if items.len() == n {
                    more = true;
                    break;
                }
                let (k, v) = entry.map_err(db_err)?;
                let (r, d) = k.value();
                items.push(RecordEntry {
                    repo: RepoName::parse(r).map_err(|e| corrupt("records", e))?,
                    manifest_digest: parse_key_digest("records", d)?,
                    record: dec_json("records", v.value())?,
                });
            }
            Ok(Page { items, more })
        })
        .await
    }

    async fn unused_blobs(
        &self,
        candidates: &[Digest],
        linked_before: i64,
    ) -> StoreResult<Vec<Digest>> {
        let candidates = candidates.to_vec();
        self.read_blocking(move |txn| {
            let refs = txn.open_table(BLOB_REFS).map_err(db_err)?;
            let links = txn.open_table(LINKS).map_err(db_err)?;
            let mut out = Vec::new();
            for d in candidates {
                if !in_use(&refs, &links, &d.to_string(), linked_before)? {
                    out.push(d);
                }
            }
            Ok(out)
        })
        .await
    }

    async fn release_blobs(
        &self,
        candidates: &[Digest],
        linked_before: i64,
    ) -> StoreResult<Vec<Digest>> {
        let candidates = candidates.to_vec();
        self.write(true, move |txn| {
            let refs = txn.open_table(BLOB_REFS).map_err(db_err)?;
            let mut links = txn.open_table(LINKS).map_err(db_err)?;
            let mut released = Vec::new();
            let mut changed = false;
            for d in &candidates {
                let ds = d.to_string();
                if in_use(&refs, &links, &ds, linked_before)? {
                    continue;
                }
                let mut repos = Vec::new();
                for entry in links.range((ds.as_str(), "")..).map_err(db_err)? {
                    let (k, _) = entry.map_err(db_err)?;
                    let (kd, r) = k.value();
                    if kd != ds {
                        break;
                    }
                    repos.push(r.to_owned());
                }
                for r in &repos {
                    links.remove((ds.as_str(), r.as_str())).map_err(db_err)?;
                    changed = true;
                }
                released.push(d.clone());
            }
            Ok((released, changed))
        })
        .await
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const T: TableDefinition<&str, u64> = TableDefinition::new("test");

    fn job(
        op: impl Fn(&WriteTransaction) -> StoreResult<bool> + Send + 'static,
    ) -> (Job, std::sync::mpsc::Receiver<StoreResult<()>>) {
        let (tx, rx) = std::sync::mpsc::channel();
        (
            Job {
                durable: true,
                op: Box::new(op),
                done: Box::new(move |r| {
                    let _ = tx.send(r);
                }),
            },
            rx,
        )
    }

    fn write_key(key: &'static str) -> impl Fn(&WriteTransaction) -> StoreResult<bool> {
        move |txn| {
            txn.open_table(T)
                .map_err(db_err)?
                .insert(key, 1)
                .map_err(db_err)?;
            Ok(true)
        }
    }

    fn result(rx: &std::sync::mpsc::Receiver<StoreResult<()>>) -> StoreResult<()> {
        rx.recv()
            .unwrap_or_else(|e| panic!("no answer delivered: {e}"))
    }

    /// A batch with a clean validation failure and a fault after writing: the others commit,
    /// the faulty one's writes are gone, and every request gets its own answer.
    #[test]
    fn group_commit_isolates_failures() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = Database::create(dir.path().join("t.redb")).unwrap_or_else(|e| panic!("{e}"));
        let (a, ra) = job(write_key("a"));
        let (b, rb) = job(|txn| {
            write_key("b")(txn)?;
            Err(StoreError::Corrupt("fault after writing".into()))
        });
        let (c, rc) = job(|_| Err(StoreError::BlobUnknown(Digest::sha256(b"x"))));
        let (d, rd) = job(write_key("d"));
        run_batch(&db, vec![a, b, c, d]);
        assert!(result(&ra).is_ok());
        assert!(matches!(result(&rb), Err(StoreError::Corrupt(_))));
        assert!(matches!(result(&rc), Err(StoreError::BlobUnknown(_))));
        assert!(result(&rd).is_ok());
        let txn = db.begin_read().unwrap_or_else(|e| panic!("{e}"));
        let t = txn.open_table(T).unwrap_or_else(|e| panic!("{e}"));
        let has = |k: &str| t.get(k).map(|v| v.is_some()).unwrap_or(false);
        assert!(has("a") && has("d"), "the healthy requests committed");
        assert!(!has("b"), "the faulty request's writes were rolled back");
    }

    /// Requests in one batch see each other's writes, in order.
    #[test]
    fn group_commit_applies_requests_in_order() {
        let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("{e}"));
        let db = Database::create(dir.path().join("t.redb")).unwrap_or_else(|e| panic!("{e}"));
        let (a, ra) = job(write_key("k"));
        let (b, rb) = job(|txn| {
            let seen = txn
                .open_table(T)
                .map_err(db_err)?
                .get("k")
                .map_err(db_err)?
                .is_some();
            if seen {
                Ok(false)
            } else {
                Err(StoreError::BlobUnknown(Digest::sha256(b"k")))
            }
        });
        run_batch(&db, vec![a, b]);
        assert!(result(&ra).is_ok());
        assert!(
            result(&rb).is_ok(),
            "the second request saw the first one's write"
        );
    }
}
