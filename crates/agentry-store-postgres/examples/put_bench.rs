//! 1,000 small manifest puts (one tag each, no blobs), sequential and 16 at a time, on
//! PostgreSQL (`AGENTRY_TEST_POSTGRES`, a throw-away schema) and on redb (a temp dir).
//!
//! `cargo run -p agentry-store-postgres --example put_bench`

use std::sync::Arc;
use std::time::Instant;

use agentry_store::testsuite::{manifest, repo};
use agentry_store::{MetadataStore, RedbMetadataStore};
use agentry_store_postgres::{PgMetadataStore, PgOptions};
use futures::StreamExt;

const N: usize = 1000;

async fn run<M: MetadataStore>(name: &str, m: Arc<M>) -> anyhow_free::Result {
    let r = repo("bench/puts");
    let t = Instant::now();
    for i in 0..N {
        m.put_manifest(manifest(
            &r,
            &format!("s{i}"),
            &[],
            &[],
            Some(&format!("t{i}")),
            None,
        ))
        .await
        .map_err(|e| e.to_string())?;
    }
    let seq = t.elapsed();
    let t = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..N)
        .map(|i| {
            let m = m.clone();
            let r = r.clone();
            async move {
                m.put_manifest(manifest(
                    &r,
                    &format!("c{i}"),
                    &[],
                    &[],
                    Some(&format!("c{i}")),
                    None,
                ))
                .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let conc = t.elapsed();
    if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
        return Err(e.to_string());
    }
    // 16 at a time again, each into its own repository (no shared repository row lock).
    let t = Instant::now();
    let results: Vec<_> = futures::stream::iter(0..N)
        .map(|i| {
            let m = m.clone();
            let r = repo(&format!("bench/r{}", i % 16));
            async move {
                m.put_manifest(manifest(
                    &r,
                    &format!("d{i}"),
                    &[],
                    &[],
                    Some(&format!("d{i}")),
                    None,
                ))
                .await
            }
        })
        .buffer_unordered(16)
        .collect()
        .await;
    let spread = t.elapsed();
    if let Some(Err(e)) = results.into_iter().find(|r| r.is_err()) {
        return Err(e.to_string());
    }
    println!(
        "{name:>10}: sequential {N} puts {:>7.1} ms ({:>6.0}/s, {:>5.2} ms each); 16 concurrent, one repo {:>7.1} ms ({:>6.0}/s); 16 concurrent, 16 repos {:>7.1} ms ({:>6.0}/s)",
        seq.as_secs_f64() * 1e3,
        N as f64 / seq.as_secs_f64(),
        seq.as_secs_f64() * 1e3 / N as f64,
        conc.as_secs_f64() * 1e3,
        N as f64 / conc.as_secs_f64(),
        spread.as_secs_f64() * 1e3,
        N as f64 / spread.as_secs_f64(),
    );
    Ok(())
}

mod anyhow_free {
    pub type Result = std::result::Result<(), String>;
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() -> anyhow_free::Result {
    let url = std::env::var("AGENTRY_TEST_POSTGRES")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/test".to_owned());
    let schema = format!("agentry_bench_{}", uuid::Uuid::new_v4().simple());
    let admin = sqlx::PgPool::connect(&url)
        .await
        .map_err(|e| e.to_string())?;
    sqlx::query(&format!("CREATE SCHEMA {schema}"))
        .execute(&admin)
        .await
        .map_err(|e| e.to_string())?;
    let pg = PgMetadataStore::connect_with(
        &url,
        true,
        PgOptions {
            schema: Some(schema.clone()),
            ..PgOptions::default()
        },
    )
    .await
    .map_err(|e| e.to_string())?;
    let outcome = run("postgres", Arc::new(pg)).await;
    let _ = sqlx::query(&format!("DROP SCHEMA {schema} CASCADE"))
        .execute(&admin)
        .await;
    outcome?;
    let dir = tempfile::tempdir().map_err(|e| e.to_string())?;
    let redb = RedbMetadataStore::open(dir.path().join("meta.redb")).map_err(|e| e.to_string())?;
    run("redb", Arc::new(redb)).await
}
