//! The layout of a pod's data directory (`--data`), spelled once for every crate that opens a
//! part of it: the server, the store, the search index, the embedding model and the CLI.

use std::path::{Path, PathBuf};

/// A pod's data directory. Only joins paths: nothing here touches the file system.
///
/// ```text
/// blobs/        content-addressed blobs          uploads/   resumable upload areas
/// tmp/, trash/  in-flight writes, blobs a GC is deleting
/// meta.redb     the metadata database            search/    the discovery index
/// models/<name> embedding models              audit/     the append-only audit log
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DataDir {
    root: PathBuf,
}

impl DataDir {
    /// The data directory used when none is given (`agentry serve` without `--data`).
    pub const DEFAULT: &str = "./agentry-data";

    pub fn new(root: impl Into<PathBuf>) -> DataDir {
        DataDir { root: root.into() }
    }

    pub fn root(&self) -> &Path {
        &self.root
    }

    /// Content-addressed blobs (`blobs/sha256/ab/ab12…`).
    pub fn blobs(&self) -> PathBuf {
        self.root.join("blobs")
    }

    /// Resumable upload areas (`uploads/<uuid>/`).
    pub fn uploads(&self) -> PathBuf {
        self.root.join("uploads")
    }

    /// Blob writes in flight, renamed into `blobs/` once verified.
    pub fn tmp(&self) -> PathBuf {
        self.root.join("tmp")
    }

    /// Blobs a garbage collection is deleting (put back on start-up after a crash).
    pub fn trash(&self) -> PathBuf {
        self.root.join("trash")
    }

    /// The metadata database.
    pub fn meta_db(&self) -> PathBuf {
        self.root.join("meta.redb")
    }

    /// The discovery index (derived from the store; `agentry reindex` rebuilds it).
    pub fn search(&self) -> PathBuf {
        self.root.join("search")
    }

    /// The append-only audit log (`audit/audit.jsonl`).
    pub fn audit(&self) -> PathBuf {
        self.root.join("audit")
    }

    /// Where embedding models are installed.
    pub fn models(&self) -> PathBuf {
        self.root.join("models")
    }

    /// The directory of the model `name` (`models/all-minilm-l6-v2`).
    pub fn model(&self, name: &str) -> PathBuf {
        self.models().join(name)
    }
}

impl Default for DataDir {
    fn default() -> DataDir {
        DataDir::new(DataDir::DEFAULT)
    }
}

impl AsRef<Path> for DataDir {
    fn as_ref(&self) -> &Path {
        &self.root
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_part_lives_under_the_root() {
        let d = DataDir::new("/srv/agentry");
        assert_eq!(d.blobs(), Path::new("/srv/agentry/blobs"));
        assert_eq!(d.uploads(), Path::new("/srv/agentry/uploads"));
        assert_eq!(d.tmp(), Path::new("/srv/agentry/tmp"));
        assert_eq!(d.trash(), Path::new("/srv/agentry/trash"));
        assert_eq!(d.meta_db(), Path::new("/srv/agentry/meta.redb"));
        assert_eq!(d.search(), Path::new("/srv/agentry/search"));
        assert_eq!(
            d.model("all-minilm-l6-v2"),
            Path::new("/srv/agentry/models/all-minilm-l6-v2")
        );
        assert_eq!(DataDir::default().root(), Path::new("./agentry-data"));
    }
}
