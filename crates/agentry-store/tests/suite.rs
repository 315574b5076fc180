//! The shared storage suite, run against the embedded backends: one test per case, named
//! `<backend>::<case>` (`cargo test -p agentry-store meta_blob_repositories` runs one).

use agentry_store::testsuite::Must;
use agentry_store::{FsBlobStore, RedbMetadataStore};

fn tempdir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap_or_else(|e| panic!("tempdir: {e}"))
}

/// The filesystem blob store.
mod fs_blob {
    use super::*;

    agentry_store::blob_suite!(|| async {
        let dir = tempdir();
        let store = FsBlobStore::open(dir.path()).must("open");
        (store, dir)
    });
}

/// The redb metadata store.
mod redb_meta {
    use super::*;

    agentry_store::meta_suite!(|| async {
        let dir = tempdir();
        let store = RedbMetadataStore::open(dir.path().join("meta.redb")).must("open");
        (store, dir)
    });
}

/// Garbage collection over the two embedded stores.
mod embedded_gc {
    use super::*;

    agentry_store::gc_suite!(|| async {
        let dir = tempdir();
        let blobs = FsBlobStore::open(dir.path().join("blobs")).must("open blobs");
        let meta = RedbMetadataStore::open(dir.path().join("meta.redb")).must("open meta");
        (blobs, meta, dir)
    });
}
