//! The shared store suite (every `meta_*` and `gc_*` case) against the real PostgreSQL at
//! `postgres://postgres@127.0.0.1:5432/test` (override with `AGENTRY_TEST_POSTGRES`), each
//! case in its own fresh schema, plus cases only PostgreSQL has (migrations, a connection
//! killed mid-put).

use std::sync::Arc;

use agentry_store::testsuite::{Must, manifest, record, repo};
use agentry_store::{FsBlobStore, MetadataStore};
use agentry_store_postgres::{PgMetadataStore, PgOptions, schema_status};
use agentry_types::{Digest, ManifestRef};
use sqlx::postgres::PgPoolOptions;

fn base_url() -> String {
    std::env::var("AGENTRY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned())
}

/// A schema created for one case and dropped when the case ends.
struct Schema {
    name: String,
    admin: sqlx::PgPool,
}

impl Schema {
    async fn new() -> Schema {
        let url = base_url();
        let admin = PgPoolOptions::new()
            .max_connections(2)
            .acquire_timeout(std::time::Duration::from_secs(5))
            .connect(&url)
            .await
            .unwrap_or_else(|e| {
                panic!(
                    "PostgreSQL is not reachable at {} ({e}). These tests need a real server: \
                     start it (e.g. `service postgresql start`; trust auth for 127.0.0.1, \
                     database `test`) or point AGENTRY_TEST_POSTGRES at one",
                    agentry_store_postgres::redact_url(&url)
                )
            });
        let name = format!("agentry_t_{}", uuid::Uuid::new_v4().simple());
        sqlx::query(&format!("CREATE SCHEMA {name}"))
            .execute(&admin)
            .await
            .unwrap_or_else(|e| panic!("create schema {name}: {e}"));
        Schema { name, admin }
    }

    fn options(&self) -> PgOptions {
        PgOptions {
            schema: Some(self.name.clone()),
            max_connections: 4,
            ..PgOptions::default()
        }
    }

    async fn store(&self, migrate: bool) -> agentry_store::StoreResult<PgMetadataStore> {
        PgMetadataStore::connect_with(&base_url(), migrate, self.options()).await
    }
}

impl Drop for Schema {
    fn drop(&mut self) {
        // Drop the schema on a thread of its own: the test's runtime is shutting down.
        let (name, url) = (self.name.clone(), base_url());
        let admin = self.admin.clone();
        let done = std::thread::spawn(move || {
            let rt = match tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
            {
                Ok(rt) => rt,
                Err(e) => {
                    eprintln!("cannot drop schema {name}: {e}");
                    return;
                }
            };
            rt.block_on(async move {
                drop(admin);
                match sqlx::PgPool::connect(&url).await {
                    Ok(pool) => {
                        if let Err(e) = sqlx::query(&format!("DROP SCHEMA {name} CASCADE"))
                            .execute(&pool)
                            .await
                        {
                            eprintln!("cannot drop schema {name}: {e}");
                        }
                        pool.close().await;
                    }
                    Err(e) => eprintln!("cannot drop schema {name}: {e}"),
                }
            });
        });
        let _ = done.join();
    }
}

async fn fresh() -> (PgMetadataStore, Schema) {
    let schema = Schema::new().await;
    let store = schema.store(true).await.must("connect and migrate");
    (store, schema)
}

agentry_store::meta_suite!(fresh);

agentry_store::gc_suite!(|| async {
    let dir = tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"));
    let blobs = FsBlobStore::open(dir.path()).unwrap_or_else(|e| panic!("blob store: {e}"));
    let (meta, schema) = fresh().await;
    (blobs, meta, (schema, dir))
});

#[tokio::test]
async fn migrating_twice_is_a_no_op() {
    let schema = Schema::new().await;
    let first = schema.store(true).await.must("first start");
    let status = schema_status(first.pool()).await.must("status");
    assert!(status.up_to_date(), "{status:?}");
    let applied_at: Vec<(i64, String)> = sqlx::query_as(&format!(
        "SELECT version, installed_on::text FROM {}._sqlx_migrations ORDER BY version",
        schema.name
    ))
    .fetch_all(&schema.admin)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(applied_at.len(), status.migrations.len());
    let again = agentry_store_postgres::migrate(first.pool())
        .await
        .must("migrate again");
    assert!(
        again.is_empty(),
        "nothing pending the second time: {again:?}"
    );
    let second = schema.store(true).await.must("second start");
    let after: Vec<(i64, String)> = sqlx::query_as(&format!(
        "SELECT version, installed_on::text FROM {}._sqlx_migrations ORDER BY version",
        schema.name
    ))
    .fetch_all(&schema.admin)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(applied_at, after, "no migration ran again");
    // And `--no-migrate` accepts the up-to-date schema.
    let third = schema.store(false).await.must("start with --no-migrate");
    third
        .list_repositories(None, 1)
        .await
        .must("query after migrations");
    drop((second, third));
}

#[tokio::test]
async fn no_migrate_on_an_empty_schema_says_what_to_do() {
    let schema = Schema::new().await;
    let err = schema
        .store(false)
        .await
        .err()
        .unwrap_or_else(|| panic!("an empty schema must be refused with --no-migrate"));
    let msg = err.to_string();
    assert!(msg.contains("has no agentry schema"), "{msg}");
    assert!(msg.contains("agentry db migrate"), "{msg}");
    assert!(msg.contains("--no-migrate"), "{msg}");
    // Nothing was created.
    let tables: i64 = sqlx::query_scalar(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = $1",
    )
    .bind(&schema.name)
    .fetch_one(&schema.admin)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(tables, 0, "--no-migrate must not create anything");
}

#[tokio::test]
async fn no_migrate_on_an_older_schema_is_refused() {
    let schema = Schema::new().await;
    let store = schema.store(true).await.must("migrate");
    // Pretend the newest migration was never applied.
    sqlx::query(&format!(
        "DELETE FROM {}._sqlx_migrations WHERE version = (SELECT max(version) FROM {}._sqlx_migrations)",
        schema.name, schema.name
    ))
    .execute(&schema.admin)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    drop(store);
    let err = schema
        .store(false)
        .await
        .err()
        .unwrap_or_else(|| panic!("an older schema must be refused with --no-migrate"));
    let msg = err.to_string();
    assert!(
        msg.contains("agentry db migrate") && msg.contains("--no-migrate"),
        "{msg}"
    );
    // A newer schema (a version this build does not know) is refused even with migrations on.
    sqlx::query(&format!(
        "INSERT INTO {}._sqlx_migrations (version, description, success, checksum, execution_time)
         VALUES (99990101000000, 'from the future', true, '\\x00', 0)",
        schema.name
    ))
    .execute(&schema.admin)
    .await
    .unwrap_or_else(|e| panic!("{e}"));
    let err = schema
        .store(true)
        .await
        .err()
        .unwrap_or_else(|| panic!("a newer schema must be refused"));
    assert!(err.to_string().contains("newer agentry"), "{err}");
}

#[tokio::test]
async fn unreachable_server_fails_clearly_and_hides_the_password() {
    // A port nothing listens on (bound then released).
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or_else(|e| panic!("{e}"));
    let url = format!("postgres://agentry:hunter2@127.0.0.1:{port}/test");
    let opts = PgOptions {
        acquire_timeout: std::time::Duration::from_secs(2),
        ..PgOptions::default()
    };
    let started = std::time::Instant::now();
    let err = PgMetadataStore::connect_with(&url, true, opts)
        .await
        .err()
        .unwrap_or_else(|| panic!("nothing listens on {port}"));
    let msg = err.to_string();
    assert!(msg.contains("cannot reach PostgreSQL"), "{msg}");
    assert!(!msg.contains("hunter2"), "password leaked: {msg}");
    assert!(started.elapsed() < std::time::Duration::from_secs(10));
}

/// The connection dies after the manifest row is written and before its tag, blob references
/// and record are: PostgreSQL rolls the transaction back, the put fails, nothing of it is
/// visible, and the next put succeeds on a fresh connection.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn connection_killed_mid_put_leaves_nothing() {
    let (store, schema) = fresh().await;
    let r = repo("acme/killed");
    let blob = Digest::sha256(b"layer");
    store.link_blob(&r, &blob, 5).await.must("link");
    let mut put = manifest(&r, "k", std::slice::from_ref(&blob), &[], Some("v1"), None);
    put.record = Some(record("killed"));
    let admin = schema.admin.clone();
    let killed = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = killed.clone();
    store.set_fault_hook(Some(Arc::new(move |pid| {
        let admin = admin.clone();
        let flag = flag.clone();
        Box::pin(async move {
            let ok: bool = sqlx::query_scalar("SELECT pg_terminate_backend($1)")
                .bind(pid)
                .fetch_one(&admin)
                .await
                .unwrap_or_else(|e| panic!("terminate backend: {e}"));
            flag.store(ok, std::sync::atomic::Ordering::SeqCst);
        })
    })));
    let err = store
        .put_manifest(put.clone())
        .await
        .err()
        .unwrap_or_else(|| panic!("the put must fail when its connection dies"));
    assert!(killed.load(std::sync::atomic::Ordering::SeqCst));
    assert!(err.is_server_fault(), "{err}");
    store.set_fault_hook(None);
    let d = put.meta.digest.clone();
    assert!(
        store
            .get_manifest(&r, &ManifestRef::Digest(d.clone()))
            .await
            .must("get")
            .is_none()
    );
    assert!(store.record(&r, &d).await.must("record").is_none());
    assert_eq!(store.list_tags(&r, None, 10).await.must("tags"), None);
    assert!(
        store
            .list_repositories(None, 10)
            .await
            .must("catalog")
            .items
            .is_empty()
    );
    for table in [
        "manifests",
        "tags",
        "manifest_blobs",
        "records",
        "repositories",
    ] {
        let n: i64 = sqlx::query_scalar(&format!("SELECT count(*) FROM {}.{table}", schema.name))
            .fetch_one(&schema.admin)
            .await
            .unwrap_or_else(|e| panic!("{e}"));
        assert_eq!(n, 0, "{table} kept a row of the killed put");
    }
    // The unused blob is still collectable, and the same put works now.
    store.put_manifest(put.clone()).await.must("put again");
    assert!(
        store
            .get_manifest(&r, &ManifestRef::Tag(agentry_store::testsuite::tag("v1")))
            .await
            .must("get")
            .is_some()
    );
}

#[tokio::test]
async fn ping_reports_a_dead_pool() {
    let (store, _schema) = fresh().await;
    store.ping().await.must("ping");
    store.pool().close().await;
    // The cached answer lasts about a second.
    tokio::time::sleep(std::time::Duration::from_millis(1100)).await;
    assert!(store.ping().await.is_err(), "a closed pool is not ready");
}
