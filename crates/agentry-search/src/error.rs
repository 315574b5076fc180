//! Errors of the discovery engine.

/// A query parameter that was refused, named as the client spelled it, so the API can answer
/// `400 application/problem+json` pointing at it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid parameter `{param}`: {message}")]
pub struct ParamError {
    pub param: String,
    pub message: String,
}

impl ParamError {
    pub fn new(param: impl Into<String>, message: impl Into<String>) -> ParamError {
        ParamError {
            param: param.into(),
            message: message.into(),
        }
    }
}

/// Why a search or an index operation failed.
#[derive(Debug, thiserror::Error)]
pub enum SearchError {
    /// The query is malformed; the client must change it.
    #[error(transparent)]
    Param(#[from] ParamError),
    /// Semantic or hybrid search was asked for but no embedding model is loaded. Never answered
    /// with a lexical substitute: the caller must tell the client.
    #[error("semantic search unavailable: {0}")]
    SemanticUnavailable(String),
    /// The query ran past its deadline and was abandoned.
    #[error("query exceeded its deadline of {0} ms")]
    Timeout(u64),
    /// Embedding the query (or a record) failed.
    #[error("embedding failed: {0}")]
    Embed(String),
    /// The on-disk index is unreadable or from an incompatible layout.
    #[error("search index corrupt or incompatible: {0}")]
    Corrupt(String),
    /// The group commit this write joined failed; nothing of it was stored.
    #[error("index commit failed: {0}")]
    Commit(String),
    #[error("full-text index: {0}")]
    Text(#[from] tantivy::TantivyError),
    #[error("vector index: {0}")]
    Vector(String),
    #[error("i/o: {0}")]
    Io(#[from] std::io::Error),
}

impl From<tantivy::directory::error::OpenDirectoryError> for SearchError {
    fn from(e: tantivy::directory::error::OpenDirectoryError) -> Self {
        SearchError::Text(e.into())
    }
}

impl From<tantivy::query::QueryParserError> for SearchError {
    fn from(e: tantivy::query::QueryParserError) -> Self {
        SearchError::Param(ParamError::new("q", e.to_string()))
    }
}

pub type SearchResult<T> = Result<T, SearchError>;
