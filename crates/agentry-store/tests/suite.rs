//! The shared storage suite, run against the embedded backends.

use agentry_store::testsuite::{self, Must};
use agentry_store::{FsBlobStore, RedbMetadataStore};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn fs_blob_store_passes_the_blob_suite() {
    testsuite::run_blob_suite(|| async {
        let dir = tempdir();
        let store = FsBlobStore::open(dir.path()).must("open");
        (store, dir)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn redb_metadata_store_passes_the_meta_suite() {
    testsuite::run_meta_suite(|| async {
        let dir = tempdir();
        let store = RedbMetadataStore::open(dir.path().join("meta.redb")).must("open");
        (store, dir)
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gc_passes_the_gc_suite_on_the_embedded_stores() {
    testsuite::run_gc_suite(|| async {
        let dir = tempdir();
        let blobs = FsBlobStore::open(dir.path().join("blobs")).must("open blobs");
        let meta = RedbMetadataStore::open(dir.path().join("meta.redb")).must("open meta");
        (blobs, meta, dir)
    })
    .await;
}
