//! agentry's metadata store on PostgreSQL: the [`MetadataStore`] of the shared layout, where
//! several stateless pods use one database.
//!
//! ## Schema
//!
//! Versioned migrations in `migrations/` (embedded with `sqlx::migrate!`, recorded by sqlx in
//! `_sqlx_migrations` of the connection's `search_path` schema). Tables mirror the embedded
//! store's (`agentry_store::redb_meta`): `repositories`, `manifests` (meta columns + bytes),
//! `tags`, `manifest_blobs` (what GC must keep), `blob_links`, `uploads`, `records`. Text keys
//! use `COLLATE "C"` so listings are in byte order. Tags, blob references and records have
//! foreign keys to their manifest with `ON DELETE CASCADE`: deleting a manifest cannot leave
//! any of them behind.
//!
//! ## Transactions (READ COMMITTED, explicit row locks)
//!
//! * `put_manifest` and `delete_manifest` first lock their repository's row (an upsert, or
//!   `SELECT … FOR UPDATE`): writes of manifests within one repository are serialised, so tag
//!   moves and "last manifest gone, repository gone" never race. Different repositories
//!   write in parallel.
//! * `put_manifest` locks the blob links it needs `FOR SHARE`, in digest order;
//!   `release_blobs` locks the candidates' links `FOR UPDATE`, in the same order, and only
//!   then looks for references. Whichever commits first wins, as in the embedded store: a
//!   put that waited finds the links gone (`BlobUnknown`), a release that waited sees the
//!   put's references and keeps the blob. `mount_blob` locks the source link the same way.
//! * Every write is one transaction; nothing is visible before `COMMIT`, so a connection lost
//!   mid-put leaves nothing (PostgreSQL rolls the transaction back). Deadlock and
//!   serialisation failures (which the lock order should prevent) are retried a few times.
//!
//! ## Migrations at start
//!
//! [`PgMetadataStore::connect`] with `migrate = true` applies pending migrations (sqlx takes
//! an advisory lock, so pods starting together apply them once). With `migrate = false`
//! (`--no-migrate`) it refuses to start, naming `agentry db migrate`, when the schema is
//! missing or older than this build, and when it is newer.

use std::collections::{BTreeMap, BTreeSet, HashSet};
use std::str::FromStr;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use agentry_store::{
    ManifestMeta, ManifestPut, MetadataStore, Page, RecordEntry, StoreError, StoreResult,
    StoredManifest, UploadId, UploadSession,
};
use agentry_types::{AgentRecord, Digest, ManifestRef, RepoName, Tag};
use async_trait::async_trait;
use bytes::Bytes;
use sqlx::postgres::{PgConnectOptions, PgPool, PgPoolOptions};
use sqlx::{Postgres, Row, Transaction};

/// The connection pool type (so callers need not depend on sqlx).
pub use sqlx::PgPool as Pool;

/// The embedded migrations of this build.
pub static MIGRATOR: sqlx::migrate::Migrator = sqlx::migrate!("./migrations");

/// How long a request waits for a pooled connection before failing (a database that is
/// down must fail pushes promptly, not after sqlx's default 30 s).
pub const ACQUIRE_TIMEOUT: Duration = Duration::from_secs(5);
/// Connections per pod unless configured otherwise.
pub const DEFAULT_MAX_CONNECTIONS: u32 = 16;
/// How long a readiness answer is reused.
const PING_CACHE: Duration = Duration::from_secs(1);
/// Longest wait for the readiness query.
const PING_TIMEOUT: Duration = Duration::from_secs(2);
/// Attempts for a write that hits a deadlock or serialisation failure.
const WRITE_ATTEMPTS: usize = 4;

/// Connection settings beyond the URL.
#[derive(Debug, Clone)]
pub struct PgOptions {
    pub max_connections: u32,
    pub acquire_timeout: Duration,
    /// Schema to use (`SET search_path` on every connection); the URL's default otherwise.
    pub schema: Option<String>,
}

impl Default for PgOptions {
    fn default() -> Self {
        PgOptions {
            max_connections: DEFAULT_MAX_CONNECTIONS,
            acquire_timeout: ACQUIRE_TIMEOUT,
            schema: None,
        }
    }
}

/// True when `s` names a PostgreSQL database (`postgres://` or `postgresql://`).
pub fn is_postgres_url(s: &str) -> bool {
    let lower = s.trim_start().to_ascii_lowercase();
    lower.starts_with("postgres://") || lower.starts_with("postgresql://")
}

/// `url` with its password (if any) replaced by `***`: the form logs and errors may show.
/// A string that does not parse as a URL is reduced to its scheme.
pub fn redact_url(url: &str) -> String {
    match url::Url::parse(url) {
        Ok(mut u) => {
            if u.password().is_some() {
                let _ = u.set_password(Some("***"));
            }
            // Query parameters may carry `password=` too.
            let pairs: Vec<(String, String)> = u
                .query_pairs()
                .map(|(k, v)| {
                    let v = if k.eq_ignore_ascii_case("password") {
                        "***".to_owned()
                    } else {
                        v.into_owned()
                    };
                    (k.into_owned(), v)
                })
                .collect();
            if !pairs.is_empty() {
                u.query_pairs_mut().clear().extend_pairs(pairs);
            }
            u.to_string()
        }
        Err(_) => match url.split_once("://") {
            Some((scheme, _)) => format!("{scheme}://(unparseable URL)"),
            None => "(unparseable URL)".to_owned(),
        },
    }
}

fn db_err(e: sqlx::Error) -> StoreError {
    StoreError::Database(e.to_string())
}

fn corrupt(what: &str, e: impl std::fmt::Display) -> StoreError {
    StoreError::Corrupt(format!("{what}: {e}"))
}

/// Deadlock (`40P01`) or serialisation failure (`40001`): worth running again.
fn is_retryable(e: &sqlx::Error) -> bool {
    match e {
        sqlx::Error::Database(d) => matches!(d.code().as_deref(), Some("40P01" | "40001")),
        _ => false,
    }
}

fn now_unix() -> i64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs() as i64)
        .unwrap_or(0)
}

fn to_i64(what: &str, v: u64) -> StoreResult<i64> {
    i64::try_from(v).map_err(|_| StoreError::Database(format!("{what} {v} exceeds 2^63-1")))
}

fn to_u64(what: &str, v: i64) -> StoreResult<u64> {
    u64::try_from(v).map_err(|_| corrupt(what, format!("negative value {v}")))
}

fn parse_digest(table: &str, s: &str) -> StoreResult<Digest> {
    Digest::from_str(s).map_err(|e| corrupt(table, e))
}

fn parse_repo(table: &str, s: &str) -> StoreResult<RepoName> {
    RepoName::parse(s).map_err(|e| corrupt(table, e))
}

/// What the schema looks like against this build's migrations.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SchemaStatus {
    /// Migrations of this build, in order, with whether each is applied.
    pub migrations: Vec<MigrationState>,
    /// Versions recorded in the database that this build does not know (a newer build ran).
    pub unknown_applied: Vec<i64>,
}

#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct MigrationState {
    pub version: i64,
    pub description: String,
    pub applied: bool,
    /// Applied, but from a file whose checksum differs from this build's.
    pub checksum_mismatch: bool,
}

impl SchemaStatus {
    pub fn pending(&self) -> impl Iterator<Item = &MigrationState> {
        self.migrations.iter().filter(|m| !m.applied)
    }

    pub fn up_to_date(&self) -> bool {
        self.unknown_applied.is_empty()
            && self
                .migrations
                .iter()
                .all(|m| m.applied && !m.checksum_mismatch)
    }
}

#[cfg(feature = "fault-injection")]
pub type FaultHook = Arc<dyn Fn(i32) -> futures::future::BoxFuture<'static, ()> + Send + Sync>;

/// The last readiness answer and when it was taken.
type PingAnswer = (Instant, Result<(), String>);

/// Metadata in PostgreSQL. Cheap to clone (the pool is shared).
#[derive(Clone)]
pub struct PgMetadataStore {
    pool: PgPool,
    ping: Arc<tokio::sync::Mutex<Option<PingAnswer>>>,
    #[cfg(feature = "fault-injection")]
    fault: Arc<std::sync::Mutex<Option<FaultHook>>>,
}

impl std::fmt::Debug for PgMetadataStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PgMetadataStore").finish_non_exhaustive()
    }
}

/// Parse a `postgres://` URL into connect options, with `schema` as the search path.
fn connect_options(url: &str, schema: Option<&str>) -> StoreResult<PgConnectOptions> {
    let mut opts = PgConnectOptions::from_str(url).map_err(|e| {
        StoreError::Database(format!(
            "metadata: invalid PostgreSQL URL {}: {e}",
            redact_url(url)
        ))
    })?;
    if let Some(s) = schema {
        opts = opts.options([("search_path", s)]);
    }
    Ok(opts)
}

/// A pool on `url` (no query run yet).
pub fn pool(url: &str, options: &PgOptions) -> StoreResult<PgPool> {
    let connect = connect_options(url, options.schema.as_deref())?;
    Ok(PgPoolOptions::new()
        .max_connections(options.max_connections.max(1))
        .acquire_timeout(options.acquire_timeout)
        .connect_lazy_with(connect))
}

/// Apply the pending migrations on `pool`; returns the versions applied now.
pub async fn migrate(pool: &PgPool) -> StoreResult<Vec<i64>> {
    let before = schema_status(pool).await?;
    MIGRATOR
        .run(pool)
        .await
        .map_err(|e| StoreError::Database(format!("metadata migration failed: {e}")))?;
    Ok(before.pending().map(|m| m.version).collect())
}

/// Applied and pending migrations (read-only; works on an empty schema).
pub async fn schema_status(pool: &PgPool) -> StoreResult<SchemaStatus> {
    let exists: bool = sqlx::query_scalar("SELECT to_regclass('_sqlx_migrations') IS NOT NULL")
        .fetch_one(pool)
        .await
        .map_err(db_err)?;
    let applied: Vec<(i64, Vec<u8>)> = if exists {
        sqlx::query_as("SELECT version, checksum FROM _sqlx_migrations WHERE success")
            .fetch_all(pool)
            .await
            .map_err(db_err)?
    } else {
        Vec::new()
    };
    let applied_map: BTreeMap<i64, Vec<u8>> = applied.into_iter().collect();
    let known: BTreeSet<i64> = MIGRATOR.iter().map(|m| m.version).collect();
    let migrations = MIGRATOR
        .iter()
        .filter(|m| !m.migration_type.is_down_migration())
        .map(|m| {
            let stored = applied_map.get(&m.version);
            MigrationState {
                version: m.version,
                description: m.description.to_string(),
                applied: stored.is_some(),
                checksum_mismatch: stored.is_some_and(|c| c[..] != m.checksum[..]),
            }
        })
        .collect();
    let unknown_applied = applied_map
        .keys()
        .filter(|v| !known.contains(v))
        .copied()
        .collect();
    Ok(SchemaStatus {
        migrations,
        unknown_applied,
    })
}

impl PgMetadataStore {
    /// Connect to `url`. With `migrate`, apply pending migrations first; without, refuse when
    /// the schema is not exactly this build's.
    pub async fn connect(url: &str, migrate: bool) -> StoreResult<PgMetadataStore> {
        Self::connect_with(url, migrate, PgOptions::default()).await
    }

    pub async fn connect_with(
        url: &str,
        migrate: bool,
        options: PgOptions,
    ) -> StoreResult<PgMetadataStore> {
        let pool = pool(url, &options)?;
        let shown = redact_url(url);
        let status = schema_status(&pool).await.map_err(|e| {
            StoreError::Database(format!("cannot reach PostgreSQL at {shown}: {e}"))
        })?;
        if !status.unknown_applied.is_empty() {
            return Err(StoreError::Database(format!(
                "the metadata schema at {shown} has migrations {:?} that this build does not know: it was migrated by a newer agentry",
                status.unknown_applied
            )));
        }
        if let Some(m) = status.migrations.iter().find(|m| m.checksum_mismatch) {
            return Err(StoreError::Database(format!(
                "the metadata schema at {shown} applied migration {} ({}) from a different file than this build's",
                m.version, m.description
            )));
        }
        let pending: Vec<i64> = status.pending().map(|m| m.version).collect();
        if !pending.is_empty() {
            if !migrate {
                let what = if pending.len() == status.migrations.len() {
                    "has no agentry schema".to_owned()
                } else {
                    format!("is older than this build (pending migrations {pending:?})")
                };
                return Err(StoreError::Database(format!(
                    "the metadata database {shown} {what} and --no-migrate is set: run `agentry db migrate --metadata URL` first, or start without --no-migrate"
                )));
            }
            let applied = self::migrate(&pool).await?;
            tracing::info!(database = %shown, applied = ?applied, "metadata migrations applied");
        }
        Ok(PgMetadataStore {
            pool,
            ping: Arc::new(tokio::sync::Mutex::new(None)),
            #[cfg(feature = "fault-injection")]
            fault: Arc::new(std::sync::Mutex::new(None)),
        })
    }

    /// The connection pool (tests and `agentry db` use it).
    pub fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Run `hook(backend pid)` inside every later `put_manifest`, after the manifest row is
    /// written and before its tag, references and record are: the place to kill the
    /// connection in a test.
    #[cfg(feature = "fault-injection")]
    pub fn set_fault_hook(&self, hook: Option<FaultHook>) {
        *self.fault.lock().unwrap_or_else(|e| e.into_inner()) = hook;
    }

    #[cfg(feature = "fault-injection")]
    async fn fault_point(
        &self,
        tx: &mut Transaction<'static, Postgres>,
    ) -> Result<(), sqlx::Error> {
        let hook = self.fault.lock().unwrap_or_else(|e| e.into_inner()).clone();
        if let Some(hook) = hook {
            let pid: i32 = sqlx::query_scalar("SELECT pg_backend_pid()")
                .fetch_one(&mut **tx)
                .await?;
            hook(pid).await;
        }
        Ok(())
    }

    async fn begin(&self) -> Result<Transaction<'static, Postgres>, sqlx::Error> {
        self.pool.begin().await
    }

    async fn put_once(&self, put: &ManifestPut) -> Result<StoreResult<()>, sqlx::Error> {
        let repo = put.repo.as_str();
        let digest = put.meta.digest.to_string();
        let mut tx = self.begin().await?;
        // The repository row: created if new, and locked either way (see the module docs).
        sqlx::query(
            "INSERT INTO repositories (name, created_at) VALUES ($1, $2)
             ON CONFLICT (name) DO UPDATE SET name = EXCLUDED.name",
        )
        .bind(repo)
        .bind(put.meta.created_at)
        .execute(&mut *tx)
        .await?;
        let blobs: BTreeSet<String> = put.blobs.iter().map(|d| d.to_string()).collect();
        let blob_list: Vec<String> = blobs.iter().cloned().collect();
        if !blob_list.is_empty() {
            let found: HashSet<String> = sqlx::query_scalar(
                "SELECT digest FROM blob_links WHERE repo = $1 AND digest = ANY($2)
                 ORDER BY digest FOR SHARE",
            )
            .bind(repo)
            .bind(&blob_list)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            if let Some(missing) = put.blobs.iter().find(|b| !found.contains(&b.to_string())) {
                tx.rollback().await?;
                return Ok(Err(StoreError::BlobUnknown(missing.clone())));
            }
        }
        if !put.manifests.is_empty() {
            let children: Vec<String> = put.manifests.iter().map(|d| d.to_string()).collect();
            let found: HashSet<String> = sqlx::query_scalar(
                "SELECT digest FROM manifests WHERE repo = $1 AND digest = ANY($2)",
            )
            .bind(repo)
            .bind(&children)
            .fetch_all(&mut *tx)
            .await?
            .into_iter()
            .collect();
            if let Some(missing) = put
                .manifests
                .iter()
                .find(|m| !found.contains(&m.to_string()))
            {
                tx.rollback().await?;
                return Ok(Err(StoreError::BlobUnknown(missing.clone())));
            }
        }
        let annotations = match serde_json::to_string(&put.meta.annotations) {
            Ok(a) => a,
            Err(e) => return Ok(Err(corrupt("encoding annotations", e))),
        };
        let size = match to_i64("manifest size", put.meta.size) {
            Ok(s) => s,
            Err(e) => return Ok(Err(e)),
        };
        // Stored again: the meta is replaced, the first `created_at` stays.
        sqlx::query(
            "INSERT INTO manifests
                (repo, digest, media_type, size, artifact_type, subject, annotations, created_at, bytes)
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9)
             ON CONFLICT (repo, digest) DO UPDATE SET
                media_type = EXCLUDED.media_type, size = EXCLUDED.size,
                artifact_type = EXCLUDED.artifact_type, subject = EXCLUDED.subject,
                annotations = EXCLUDED.annotations, bytes = EXCLUDED.bytes",
        )
        .bind(repo)
        .bind(&digest)
        .bind(&put.meta.media_type)
        .bind(size)
        .bind(&put.meta.artifact_type)
        .bind(put.meta.subject.as_ref().map(|s| s.to_string()))
        .bind(&annotations)
        .bind(put.meta.created_at)
        .bind(&put.bytes[..])
        .execute(&mut *tx)
        .await?;
        #[cfg(feature = "fault-injection")]
        self.fault_point(&mut tx).await?;
        if !blob_list.is_empty() {
            sqlx::query(
                "INSERT INTO manifest_blobs (blob, repo, manifest)
                 SELECT b, $1, $2 FROM unnest($3::text[]) AS b
                 ON CONFLICT DO NOTHING",
            )
            .bind(repo)
            .bind(&digest)
            .bind(&blob_list)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(tag) = &put.tag {
            sqlx::query(
                "INSERT INTO tags (repo, tag, digest) VALUES ($1, $2, $3)
                 ON CONFLICT (repo, tag) DO UPDATE SET digest = EXCLUDED.digest",
            )
            .bind(repo)
            .bind(tag.as_str())
            .bind(&digest)
            .execute(&mut *tx)
            .await?;
        }
        if let Some(record) = &put.record {
            let json = match serde_json::to_string(record) {
                Ok(j) => j,
                Err(e) => return Ok(Err(corrupt("encoding record", e))),
            };
            sqlx::query(
                "INSERT INTO records (repo, manifest, record) VALUES ($1, $2, $3)
                 ON CONFLICT (repo, manifest) DO UPDATE SET record = EXCLUDED.record",
            )
            .bind(repo)
            .bind(&digest)
            .bind(&json)
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await?;
        Ok(Ok(()))
    }

    async fn delete_manifest_once(&self, repo: &str, digest: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.begin().await?;
        let locked: Option<String> =
            sqlx::query_scalar("SELECT name FROM repositories WHERE name = $1 FOR UPDATE")
                .bind(repo)
                .fetch_optional(&mut *tx)
                .await?;
        if locked.is_none() {
            tx.rollback().await?;
            return Ok(false);
        }
        // Tags, blob references and the record go with it (ON DELETE CASCADE).
        let deleted = sqlx::query("DELETE FROM manifests WHERE repo = $1 AND digest = $2")
            .bind(repo)
            .bind(digest)
            .execute(&mut *tx)
            .await?
            .rows_affected();
        if deleted == 0 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(
            "DELETE FROM repositories WHERE name = $1
             AND NOT EXISTS (SELECT 1 FROM manifests WHERE repo = $1)",
        )
        .bind(repo)
        .execute(&mut *tx)
        .await?;
        tx.commit().await?;
        Ok(true)
    }

    async fn release_once(
        &self,
        candidates: &[String],
        linked_before: i64,
    ) -> Result<Vec<String>, sqlx::Error> {
        let mut tx = self.begin().await?;
        // Lock every link of the candidates first (same order as `put_manifest`), then decide
        // on what is committed by then.
        sqlx::query(
            "SELECT 1 FROM blob_links WHERE digest = ANY($1) ORDER BY digest, repo FOR UPDATE",
        )
        .bind(candidates)
        .execute(&mut *tx)
        .await?;
        let unused: Vec<String> = sqlx::query_scalar(UNUSED_SQL)
            .bind(candidates)
            .bind(linked_before)
            .fetch_all(&mut *tx)
            .await?;
        if !unused.is_empty() {
            sqlx::query("DELETE FROM blob_links WHERE digest = ANY($1)")
                .bind(&unused)
                .execute(&mut *tx)
                .await?;
        }
        tx.commit().await?;
        Ok(unused)
    }
}

/// The candidates (`$1`, in their order) that no manifest references and no link of at or
/// after `$2` protects.
const UNUSED_SQL: &str = "SELECT c FROM unnest($1::text[]) WITH ORDINALITY AS t(c, i)
     WHERE NOT EXISTS (SELECT 1 FROM manifest_blobs WHERE blob = t.c)
       AND NOT EXISTS (SELECT 1 FROM blob_links WHERE digest = t.c AND linked_at >= $2)
     ORDER BY t.i";

/// Run `op` again after a deadlock or serialisation failure.
async fn retrying<T, F, Fut>(what: &str, mut op: F) -> StoreResult<T>
where
    F: FnMut() -> Fut,
    Fut: std::future::Future<Output = Result<T, sqlx::Error>>,
{
    let mut attempt = 1;
    loop {
        match op().await {
            Ok(v) => return Ok(v),
            Err(e) if is_retryable(&e) && attempt < WRITE_ATTEMPTS => {
                tracing::debug!(error = %e, attempt, "{what}: retrying after a transaction conflict");
                attempt += 1;
            }
            Err(e) => return Err(db_err(e)),
        }
    }
}

type ManifestRow = (
    String,
    String,
    i64,
    Option<String>,
    Option<String>,
    String,
    i64,
);

const META_COLUMNS: &str =
    "m.digest, m.media_type, m.size, m.artifact_type, m.subject, m.annotations, m.created_at";

fn meta_of(row: ManifestRow) -> StoreResult<ManifestMeta> {
    let (digest, media_type, size, artifact_type, subject, annotations, created_at) = row;
    Ok(ManifestMeta {
        digest: parse_digest("manifests", &digest)?,
        media_type,
        size: to_u64("manifests.size", size)?,
        artifact_type,
        subject: subject
            .map(|s| parse_digest("manifests.subject", &s))
            .transpose()?,
        annotations: serde_json::from_str(&annotations)
            .map_err(|e| corrupt("manifests.annotations", e))?,
        created_at,
    })
}

fn meta_from_row(row: &sqlx::postgres::PgRow) -> StoreResult<ManifestMeta> {
    let get = |e: sqlx::Error| corrupt("manifests", e);
    meta_of((
        row.try_get(0).map_err(get)?,
        row.try_get(1).map_err(get)?,
        row.try_get(2).map_err(get)?,
        row.try_get(3).map_err(get)?,
        row.try_get(4).map_err(get)?,
        row.try_get(5).map_err(get)?,
        row.try_get(6).map_err(get)?,
    ))
}

/// Rows of a `LIMIT n + 1` query as a page.
fn page_of<T>(mut items: Vec<T>, n: usize) -> Page<T> {
    let more = items.len() > n;
    items.truncate(n);
    Page { items, more }
}

fn limit_plus_one(n: usize) -> i64 {
    i64::try_from(n).unwrap_or(i64::MAX - 1).saturating_add(1)
}

impl PgMetadataStore {
    /// The manifest `reference` names in `repo`: its meta row, with the bytes when asked.
    async fn find_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
        with_bytes: bool,
    ) -> StoreResult<Option<(ManifestMeta, Option<Vec<u8>>)>> {
        let bytes_col = if with_bytes { ", m.bytes" } else { "" };
        let row = match reference {
            ManifestRef::Digest(d) => {
                sqlx::query(&format!(
                    "SELECT {META_COLUMNS}{bytes_col} FROM manifests m
                     WHERE m.repo = $1 AND m.digest = $2"
                ))
                .bind(repo.as_str())
                .bind(d.to_string())
                .fetch_optional(&self.pool)
                .await
            }
            ManifestRef::Tag(t) => {
                sqlx::query(&format!(
                    "SELECT {META_COLUMNS}{bytes_col} FROM tags t
                     JOIN manifests m ON m.repo = t.repo AND m.digest = t.digest
                     WHERE t.repo = $1 AND t.tag = $2"
                ))
                .bind(repo.as_str())
                .bind(t.as_str())
                .fetch_optional(&self.pool)
                .await
            }
        }
        .map_err(db_err)?;
        let Some(row) = row else { return Ok(None) };
        let meta = meta_from_row(&row)?;
        let bytes = if with_bytes {
            Some(
                row.try_get::<Vec<u8>, _>(7)
                    .map_err(|e| corrupt("manifests", e))?,
            )
        } else {
            None
        };
        Ok(Some((meta, bytes)))
    }
}

#[async_trait]
impl MetadataStore for PgMetadataStore {
    async fn link_blob(&self, repo: &RepoName, digest: &Digest, size: u64) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO blob_links (digest, repo, size, linked_at) VALUES ($1, $2, $3, $4)
             ON CONFLICT (digest, repo) DO UPDATE SET size = EXCLUDED.size, linked_at = EXCLUDED.linked_at",
        )
        .bind(digest.to_string())
        .bind(repo.as_str())
        .bind(to_i64("blob size", size)?)
        .bind(now_unix())
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn mount_blob(
        &self,
        from: &RepoName,
        to: &RepoName,
        digest: &Digest,
    ) -> StoreResult<Option<u64>> {
        let d = digest.to_string();
        let size = retrying("mount", || async {
            let mut tx = self.begin().await?;
            let size: Option<i64> = sqlx::query_scalar(
                "SELECT size FROM blob_links WHERE digest = $1 AND repo = $2 FOR SHARE",
            )
            .bind(&d)
            .bind(from.as_str())
            .fetch_optional(&mut *tx)
            .await?;
            let Some(size) = size else {
                tx.rollback().await?;
                return Ok(None);
            };
            sqlx::query(
                "INSERT INTO blob_links (digest, repo, size, linked_at) VALUES ($1, $2, $3, $4)
                 ON CONFLICT (digest, repo) DO UPDATE SET size = EXCLUDED.size, linked_at = EXCLUDED.linked_at",
            )
            .bind(&d)
            .bind(to.as_str())
            .bind(size)
            .bind(now_unix())
            .execute(&mut *tx)
            .await?;
            tx.commit().await?;
            Ok(Some(size))
        })
        .await?;
        size.map(|s| to_u64("blob_links.size", s)).transpose()
    }

    async fn blob_repositories(&self, digest: &Digest, n: usize) -> StoreResult<Vec<RepoName>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT repo FROM blob_links WHERE digest = $1 ORDER BY repo LIMIT $2",
        )
        .bind(digest.to_string())
        .bind(i64::try_from(n).unwrap_or(i64::MAX))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(|r| parse_repo("blob_links", r)).collect()
    }

    async fn blob_link(&self, repo: &RepoName, digest: &Digest) -> StoreResult<Option<u64>> {
        let size: Option<i64> =
            sqlx::query_scalar("SELECT size FROM blob_links WHERE digest = $1 AND repo = $2")
                .bind(digest.to_string())
                .bind(repo.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        size.map(|s| to_u64("blob_links.size", s)).transpose()
    }

    async fn unlink_blob(&self, repo: &RepoName, digest: &Digest) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM blob_links WHERE digest = $1 AND repo = $2")
            .bind(digest.to_string())
            .bind(repo.as_str())
            .execute(&self.pool)
            .await
            .map_err(db_err)?
            .rows_affected();
        Ok(n > 0)
    }

    async fn put_manifest(&self, put: ManifestPut) -> StoreResult<()> {
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
        retrying("put_manifest", || self.put_once(&put)).await?
    }

    async fn get_manifest(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> StoreResult<Option<StoredManifest>> {
        Ok(self
            .find_manifest(repo, reference, true)
            .await?
            .map(|(meta, bytes)| StoredManifest {
                meta,
                bytes: Bytes::from(bytes.unwrap_or_default()),
            }))
    }

    async fn manifest_meta(
        &self,
        repo: &RepoName,
        reference: &ManifestRef,
    ) -> StoreResult<Option<ManifestMeta>> {
        Ok(self
            .find_manifest(repo, reference, false)
            .await?
            .map(|(meta, _)| meta))
    }

    async fn delete_manifest(&self, repo: &RepoName, digest: &Digest) -> StoreResult<bool> {
        let d = digest.to_string();
        retrying("delete_manifest", || {
            self.delete_manifest_once(repo.as_str(), &d)
        })
        .await
    }

    async fn delete_tag(&self, repo: &RepoName, tag: &Tag) -> StoreResult<bool> {
        let n = sqlx::query("DELETE FROM tags WHERE repo = $1 AND tag = $2")
            .bind(repo.as_str())
            .bind(tag.as_str())
            .execute(&self.pool)
            .await
            .map_err(db_err)?
            .rows_affected();
        Ok(n > 0)
    }

    async fn list_tags(
        &self,
        repo: &RepoName,
        last: Option<&str>,
        n: usize,
    ) -> StoreResult<Option<Page<String>>> {
        // One statement, one snapshot: the repository check and its tags agree.
        let rows: Vec<(bool, Option<String>)> = sqlx::query_as(
            "SELECT true, t.tag FROM repositories r
             LEFT JOIN LATERAL (
                SELECT tag FROM tags WHERE repo = r.name AND ($2::text IS NULL OR tag > $2)
                ORDER BY tag LIMIT $3
             ) t ON true
             WHERE r.name = $1",
        )
        .bind(repo.as_str())
        .bind(last)
        .bind(limit_plus_one(n))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        if rows.is_empty() {
            return Ok(None);
        }
        let tags: Vec<String> = rows.into_iter().filter_map(|(_, t)| t).collect();
        Ok(Some(page_of(tags, n)))
    }

    async fn list_repositories(&self, last: Option<&str>, n: usize) -> StoreResult<Page<String>> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM repositories WHERE ($1::text IS NULL OR name > $1)
             ORDER BY name LIMIT $2",
        )
        .bind(last)
        .bind(limit_plus_one(n))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(page_of(rows, n))
    }

    async fn referrers(&self, repo: &RepoName, subject: &Digest) -> StoreResult<Vec<ManifestMeta>> {
        let rows = sqlx::query(&format!(
            "SELECT {META_COLUMNS} FROM manifests m WHERE m.repo = $1 AND m.subject = $2
             ORDER BY m.digest"
        ))
        .bind(repo.as_str())
        .bind(subject.to_string())
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.iter().map(meta_from_row).collect()
    }

    async fn upload_create(&self, session: &UploadSession) -> StoreResult<()> {
        sqlx::query(
            "INSERT INTO uploads (id, repo, started_at) VALUES ($1, $2, $3)
             ON CONFLICT (id) DO UPDATE SET repo = EXCLUDED.repo, started_at = EXCLUDED.started_at",
        )
        .bind(&session.id)
        .bind(session.repo.as_str())
        .bind(session.started_at)
        .execute(&self.pool)
        .await
        .map_err(db_err)?;
        Ok(())
    }

    async fn upload_get(&self, id: &UploadId) -> StoreResult<Option<UploadSession>> {
        let row: Option<(String, String, i64)> =
            sqlx::query_as("SELECT id, repo, started_at FROM uploads WHERE id = $1")
                .bind(id.as_str())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        row.map(|(id, repo, started_at)| {
            Ok(UploadSession {
                id,
                repo: parse_repo("uploads", &repo)?,
                started_at,
            })
        })
        .transpose()
    }

    async fn upload_remove(&self, id: &UploadId) -> StoreResult<()> {
        sqlx::query("DELETE FROM uploads WHERE id = $1")
            .bind(id.as_str())
            .execute(&self.pool)
            .await
            .map_err(db_err)?;
        Ok(())
    }

    async fn uploads_started_before(&self, before: i64) -> StoreResult<Vec<UploadSession>> {
        let rows: Vec<(String, String, i64)> = sqlx::query_as(
            "SELECT id, repo, started_at FROM uploads WHERE started_at < $1 ORDER BY id",
        )
        .bind(before)
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        rows.into_iter()
            .map(|(id, repo, started_at)| {
                Ok(UploadSession {
                    id,
                    repo: parse_repo("uploads", &repo)?,
                    started_at,
                })
            })
            .collect()
    }

    async fn record(&self, repo: &RepoName, digest: &Digest) -> StoreResult<Option<RecordEntry>> {
        let Some(json) = self.record_json(repo, digest).await? else {
            return Ok(None);
        };
        let record: AgentRecord =
            serde_json::from_slice(&json).map_err(|e| corrupt("records", e))?;
        Ok(Some(RecordEntry {
            repo: repo.clone(),
            manifest_digest: digest.clone(),
            record,
        }))
    }

    async fn record_json(&self, repo: &RepoName, digest: &Digest) -> StoreResult<Option<Bytes>> {
        let json: Option<String> =
            sqlx::query_scalar("SELECT record FROM records WHERE repo = $1 AND manifest = $2")
                .bind(repo.as_str())
                .bind(digest.to_string())
                .fetch_optional(&self.pool)
                .await
                .map_err(db_err)?;
        Ok(json.map(Bytes::from))
    }

    async fn records(
        &self,
        after: Option<(&RepoName, &Digest)>,
        n: usize,
    ) -> StoreResult<Page<RecordEntry>> {
        let (after_repo, after_digest) = match after {
            Some((r, d)) => (Some(r.as_str().to_owned()), Some(d.to_string())),
            None => (None, None),
        };
        let rows: Vec<(String, String, String)> = sqlx::query_as(
            "SELECT repo, manifest, record FROM records
             WHERE $1::text IS NULL OR (repo, manifest) > ($1 COLLATE \"C\", $2 COLLATE \"C\")
             ORDER BY repo, manifest LIMIT $3",
        )
        .bind(after_repo)
        .bind(after_digest)
        .bind(limit_plus_one(n))
        .fetch_all(&self.pool)
        .await
        .map_err(db_err)?;
        let page = page_of(rows, n);
        let items = page
            .items
            .into_iter()
            .map(|(repo, manifest, record)| {
                Ok(RecordEntry {
                    repo: parse_repo("records", &repo)?,
                    manifest_digest: parse_digest("records", &manifest)?,
                    record: serde_json::from_str(&record).map_err(|e| corrupt("records", e))?,
                })
            })
            .collect::<StoreResult<Vec<_>>>()?;
        Ok(Page {
            items,
            more: page.more,
        })
    }

    async fn unused_blobs(
        &self,
        candidates: &[Digest],
        linked_before: i64,
    ) -> StoreResult<Vec<Digest>> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = candidates.iter().map(|d| d.to_string()).collect();
        let rows: Vec<String> = sqlx::query_scalar(UNUSED_SQL)
            .bind(&list)
            .bind(linked_before)
            .fetch_all(&self.pool)
            .await
            .map_err(db_err)?;
        rows.iter().map(|d| parse_digest("candidates", d)).collect()
    }

    async fn release_blobs(
        &self,
        candidates: &[Digest],
        linked_before: i64,
    ) -> StoreResult<Vec<Digest>> {
        if candidates.is_empty() {
            return Ok(Vec::new());
        }
        let list: Vec<String> = candidates.iter().map(|d| d.to_string()).collect();
        let released =
            retrying("release_blobs", || self.release_once(&list, linked_before)).await?;
        released
            .iter()
            .map(|d| parse_digest("candidates", d))
            .collect()
    }

    async fn ping(&self) -> StoreResult<()> {
        let mut cached = self.ping.lock().await;
        if let Some((at, result)) = cached.as_ref()
            && at.elapsed() < PING_CACHE
        {
            return result.clone().map_err(StoreError::Database);
        }
        let result = match tokio::time::timeout(
            PING_TIMEOUT,
            sqlx::query_scalar::<_, i32>("SELECT 1").fetch_one(&self.pool),
        )
        .await
        {
            Ok(Ok(_)) => Ok(()),
            Ok(Err(e)) => Err(format!("PostgreSQL: {e}")),
            Err(_) => Err(format!(
                "PostgreSQL did not answer within {} s",
                PING_TIMEOUT.as_secs()
            )),
        };
        *cached = Some((Instant::now(), result.clone()));
        result.map_err(StoreError::Database)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn redacts_passwords() {
        assert_eq!(
            redact_url("postgres://agentry:s3cret@db.example:5432/reg"),
            "postgres://agentry:***@db.example:5432/reg"
        );
        assert_eq!(
            redact_url("postgres://db/reg?user=a&password=s3cret"),
            "postgres://db/reg?user=a&password=***"
        );
        assert_eq!(
            redact_url("postgres://postgres@127.0.0.1/test"),
            "postgres://postgres@127.0.0.1/test"
        );
        assert!(!redact_url("postgres://a:s3cret@c:notaport/x").contains("s3cret"));
    }

    #[test]
    fn recognises_urls() {
        assert!(is_postgres_url("postgres://x/y"));
        assert!(is_postgres_url("PostgreSQL://x/y"));
        assert!(!is_postgres_url("/var/lib/agentry"));
        assert!(!is_postgres_url("redis://x"));
    }
}
