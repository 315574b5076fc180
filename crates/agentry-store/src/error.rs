//! The one error type of the storage layer. Callers (the OCI handlers) map each variant to a
//! spec error code; `Io`, `Database` and `Corrupt` are the only ones that mean "server fault".

use agentry_types::Digest;

pub type StoreResult<T> = Result<T, StoreError>;

#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    #[error("blob {0} is unknown")]
    BlobUnknown(Digest),
    #[error("upload session is unknown")]
    UploadUnknown,
    #[error("content digest {actual} does not match the expected digest {expected}")]
    DigestMismatch { expected: Digest, actual: Digest },
    /// A chunk did not start where the upload currently ends (out-of-order or overlapping).
    #[error("chunk starts at offset {got} but the upload is {expected} bytes long")]
    RangeMismatch { expected: u64, got: u64 },
    /// The body was shorter or longer than announced. For a longer body, `actual` counts the
    /// bytes received before the store stopped reading (it does not read on to the end).
    #[error("body is {actual} bytes but {expected} were announced")]
    SizeMismatch { expected: u64, actual: u64 },
    #[error("content exceeds the limit of {limit} bytes")]
    TooLarge { limit: u64 },
    /// The client's request body stream failed (disconnect, timeout): not a server fault.
    #[error("request body failed: {0}")]
    Body(String),
    #[error("I/O error: {0}")]
    Io(#[from] std::io::Error),
    #[error("metadata database error: {0}")]
    Database(String),
    #[error("stored data is corrupt: {0}")]
    Corrupt(String),
}

impl StoreError {
    /// True when the error is the server's fault (maps to HTTP 500), false when it describes
    /// bad input.
    pub fn is_server_fault(&self) -> bool {
        matches!(
            self,
            StoreError::Io(_) | StoreError::Database(_) | StoreError::Corrupt(_)
        )
    }
}
